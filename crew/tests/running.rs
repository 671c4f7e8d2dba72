//! Progress displays, `--dry-run`, `--verbose`, pacing (`--delay`,
//! `--load`, `--memfree`) and `--help`.

mod common;

use std::time::Instant;

use common::{crew, has_program, scratch, stdout_of};

#[test]
fn progress_displays_off_a_terminal_print_gnu_parallels_status_text() {
    for (flag, marker) in [
        ("--bar", "\x1b[7m100% 2:0=0s b"),
        (
            "--eta",
            "Computers / CPU cores / Max jobs to run\n1:local / ",
        ),
        (
            "--progress",
            "Computers / CPU cores / Max jobs to run\n1:local / ",
        ),
    ] {
        let output = crew([flag, "true", ":::", "a", "b"]).output().unwrap();
        assert!(output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(marker), "{flag}: {stderr:?}");
        assert!(stderr.ends_with('\n'), "{flag}: {stderr:?}");
        assert!(output.stdout.is_empty(), "{flag}");
    }
}

#[test]
fn progress_displays_draw_on_a_terminal() {
    if !has_program("script") {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    for (flag, marker) in [
        ("--bar", "/2 jobs"),
        ("--eta", "ETA"),
        ("--progress", "jobs"),
    ] {
        let command = format!(
            "{} {flag} 'sleep 0.3' ::: a b",
            common::crew_path().display()
        );
        let output = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .unwrap();
        let screen = String::from_utf8_lossy(&output.stdout);
        assert!(screen.contains(marker), "{flag}: {screen:?}");
    }
}

#[test]
fn dry_run_prints_commands_without_running_them() {
    let dir = scratch();
    let marker = dir.path().join("ran");
    let out = stdout_of([
        "--dry-run",
        "-k",
        "touch",
        &marker.display().to_string(),
        "{}",
        ":::",
        "it's",
        "b",
    ]);
    assert_eq!(
        out,
        format!(
            "touch {} 'it'\"'\"'s'\ntouch {} b\n",
            marker.display(),
            marker.display()
        )
    );
    assert!(!marker.exists());
}

#[test]
fn dash_t_prints_each_command_on_stderr_and_dash_v_on_stdout() {
    let output = crew(["-t", "-j1", "echo", ":::", "a b"]).output().unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "a b\n");
    assert_eq!(String::from_utf8(output.stderr).unwrap(), "echo 'a b'\n");
    let output = crew(["-v", "-j1", "echo", ":::", "a b"]).output().unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "echo 'a b'\na b\n"
    );
    assert!(output.stderr.is_empty());
}

#[test]
fn delay_spaces_out_job_starts() {
    let dir = scratch();
    let log = dir.path().join("log");
    let started = Instant::now();
    let log_arg = log.display().to_string();
    stdout_of([
        "-j4", "--delay", "0.15", "--joblog", &log_arg, "true", ":::", "1", "2", "3",
    ]);
    assert!(started.elapsed().as_secs_f64() >= 0.3);
    let text = std::fs::read_to_string(&log).unwrap();
    let mut starts: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap().parse().unwrap())
        .collect();
    starts.sort_by(f64::total_cmp);
    for pair in starts.windows(2) {
        assert!(pair[1] - pair[0] >= 0.13, "job starts {starts:?}");
    }
}

/// A job that fails if any other job holding the same lock runs with it.
fn exclusive_job(lock: &std::path::Path) -> String {
    format!(
        "mkdir {l} && sleep 0.05 && rmdir {l} && echo {{}}",
        l = lock.display()
    )
}

#[test]
fn load_and_memfree_limits_run_one_job_at_a_time_when_exceeded() {
    for (option, value) in [("--load", "0"), ("--memfree", "1000T")] {
        let dir = scratch();
        let job = exclusive_job(&dir.path().join("lock"));
        let output = crew(["-j4", option, value, &job, ":::", "1", "2", "3", "4", "5"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{option}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn load_and_memfree_let_jobs_run_together_when_satisfied() {
    for (option, value) in [("--load", "100000"), ("--memfree", "1k")] {
        let dir = scratch();
        let barrier = format!(
            "touch {d}/{{}}; while [ $(ls {d} | wc -l) -lt 3 ]; do sleep 0.01; done",
            d = dir.path().display()
        );
        let output = crew([
            "-j3",
            "--timeout",
            "20",
            option,
            value,
            &barrier,
            ":::",
            "1",
            "2",
            "3",
        ])
        .output()
        .unwrap();
        assert!(output.status.success(), "{option}");
    }
}

/// The options `--help` lists, each with the text of its block: a heading
/// is a line of the Options section whose trimmed start is `-` and that is
/// indented less than a description (short options at 2 spaces, long-only
/// ones at 6, descriptions at 10).
fn help_options(help: &str) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = Vec::new();
    let mut is_in_options = false;
    for line in help.lines() {
        if line == "Options:" {
            is_in_options = true;
            continue;
        }
        if !is_in_options {
            continue;
        }
        if !line.is_empty() && !line.starts_with(' ') {
            break; // the next section
        }
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('-') && indent < 10 {
            options.push((trimmed.to_string(), String::new()));
        } else if let Some((_, block)) = options.last_mut() {
            block.push_str(trimmed);
            block.push('\n');
        }
    }
    options
}

#[test]
fn help_documents_every_option_with_an_example() {
    let help = stdout_of(["--help"]);
    let options = help_options(&help);
    assert!(options.len() >= 35, "{options:?}");
    for long_only in [
        "--line-buffer",
        "--tag",
        "--tmpdir",
        "--retries",
        "--dry-run",
    ] {
        assert!(
            options.iter().any(|(name, _)| name.starts_with(long_only)),
            "{long_only} is not among the parsed options"
        );
    }
    for (name, block) in &options {
        if name.contains("--help") || name.contains("--version") {
            continue;
        }
        assert!(
            block
                .lines()
                .any(|l| l.starts_with("Example: ") && l.contains("crew ")),
            "no example for {name}:\n{block}"
        );
    }
}

#[test]
fn crew_writes_nothing_to_home_and_prints_no_citation_notice() {
    let home = scratch();
    let runs: [(&[&str], &str); 4] = [
        (&["-k", "echo", ":::", "a", "b"], ""),
        (&["--bar", "--eta", "true", ":::", "a"], ""),
        (&["--pipe", "wc", "-l"], "1\n2\n"),
        (&["-v", "--dry-run", "echo", ":::", "a"], ""),
    ];
    for (args, stdin) in runs {
        let output = crew(args)
            .env("HOME", home.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_STATE_HOME")
            .write_stdin(stdin)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let may_print = args.contains(&"-v") || args.contains(&"--bar");
        assert!(
            stderr.is_empty() || (may_print && !stderr.contains("cit")),
            "{args:?} printed on stderr: {stderr}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
    assert!(left.is_empty(), "crew wrote into $HOME: {left:?}");
}

#[test]
fn sigterm_ends_crew_even_while_it_waits_for_more_input() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let mut child = std::process::Command::new(common::crew_path())
        .args(["echo"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"first\n").unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Once the first job's output is out, crew is running and waits for
    // the next line that never comes (stdin stays open).
    assert_eq!(lines.next().unwrap().unwrap(), "first");
    // SAFETY: 1. kill has no memory-safety preconditions; 2. the pid is our
    // running child's.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    // A deadline: crew that ignores the signal fails the test, not hangs it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("crew did not exit within 20 s of SIGTERM while waiting for input");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(128 + 15));
    drop(stdin);
}

#[test]
fn the_committed_man_page_is_the_one_crew_generates() {
    let page = crew(["--man"]).output().unwrap();
    assert!(page.status.success());
    let committed = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/crew.1")).unwrap();
    assert!(
        page.stdout == committed,
        "crew/crew.1 is stale: regenerate it with `crew --man > crew/crew.1`"
    );
    assert!(String::from_utf8_lossy(&page.stdout).contains(".TH crew 1"));
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef crew"),
        ("fish", "complete -c crew"),
    ] {
        let output = crew(["--completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("keep-order"), "{shell}");
    }
    let (error, _) = common::one_line_error(["--completions", "tcsh"]);
    assert!(error.contains("tcsh"), "{error}");
}
