//! Output: grouped by job, `-k` order under random delays, `--line-buffer`,
//! `-u`, `--tag`/`--tagstring`, `--results`, and flat memory for 100 MB.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use common::{crew, crew_path, measure, scratch, sorted_lines, stdout_of};

/// Deterministic pseudo-random delays (0 to 49 ms) for job `i`.
fn delay_ms(i: u64) -> u64 {
    (i.wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        >> 33)
        % 50
}

fn delayed_inputs(n: u64) -> Vec<String> {
    (1..=n)
        .map(|i| format!("{i} 0.{:03}", delay_ms(i)))
        .collect()
}

#[test]
fn keep_order_prints_in_input_order_whatever_the_delays() {
    let mut args = vec!["-k", "-j8", "--colsep", " ", "sleep {2}; echo {1}", ":::"];
    let inputs = delayed_inputs(40);
    args.extend(inputs.iter().map(String::as_str));
    let expected: String = (1..=40).map(|i| format!("{i}\n")).collect();
    assert_eq!(stdout_of(&args), expected);
}

#[test]
fn grouped_output_never_interleaves_jobs() {
    let mut args = vec![
        "-j8",
        "--colsep",
        " ",
        "echo {1}a; sleep {2}; echo {1}b >&2; echo {1}c",
        ":::",
    ];
    let inputs = delayed_inputs(24);
    args.extend(inputs.iter().map(String::as_str));
    let output = crew(&args).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 48);
    for pair in lines.chunks(2) {
        let job = pair[0].trim_end_matches('a');
        assert_eq!(pair, [format!("{job}a"), format!("{job}c")], "{stdout}");
    }
    assert_eq!(
        String::from_utf8(output.stderr).unwrap().lines().count(),
        24
    );
}

#[test]
fn without_keep_order_output_comes_in_completion_order() {
    // Job 1 cannot finish before the test has seen job 2's output and
    // opened the gate, so completion order is 2, 1 by construction.
    let dir = scratch();
    let fifo = dir.path().join("gate");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let template = format!(
        "if [ {{}} = first ]; then read x < {}; fi; echo {{}}",
        fifo.display()
    );
    let mut child = std::process::Command::new(crew_path())
        .args(["-j2", &template, ":::", "first", "second"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "second");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .unwrap()
        .write_all(b"go\n")
        .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "first");
    assert!(child.wait().unwrap().success());
}

/// Runs crew with stdout piped; proves a job's first line reaches crew's
/// stdout while the job is still running (blocked on a FIFO the test
/// controls).
fn assert_output_is_live(mode: &str) {
    let dir = scratch();
    let fifo = dir.path().join("gate");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let template = format!(
        "echo first-{{}}; read x < {}; echo second-{{}}",
        fifo.display()
    );
    let mut child = std::process::Command::new(crew_path())
        .args([mode, &template, ":::", "job"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "first-job");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .unwrap()
        .write_all(b"go\n")
        .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "second-job");
    assert!(child.wait().unwrap().success());
}

#[test]
fn line_buffer_relays_lines_while_the_job_runs() {
    assert_output_is_live("--line-buffer");
}

#[test]
fn ungroup_lets_jobs_write_straight_through() {
    assert_output_is_live("-u");
}

#[test]
fn line_buffer_keeps_lines_whole_and_tags_them() {
    let out = stdout_of([
        "--line-buffer",
        "--tag",
        "-j4",
        "printf 'x%s\\ny%s\\n' {} {}",
        ":::",
        "1",
        "2",
        "3",
    ]);
    let mut expected: Vec<String> = ["1", "2", "3"]
        .iter()
        .flat_map(|i| [format!("{i}\tx{i}"), format!("{i}\ty{i}")])
        .collect();
    expected.sort();
    assert_eq!(sorted_lines(&out), expected);
}

#[test]
fn tag_prefixes_each_line_with_the_input() {
    let out = stdout_of(["-k", "--tag", "printf 'a\\nb\\n'", ":::", "x", "y z"]);
    assert_eq!(out, "x\ta\nx\tb\ny z\ta\ny z\tb\n");
}

#[test]
fn tagstring_expands_placeholders() {
    let out = stdout_of([
        "-k",
        "--tagstring",
        "job{#}:{/.}",
        "echo",
        "hi",
        ":::",
        "d/f.txt",
    ]);
    assert_eq!(out, "job1:f\thi d/f.txt\n");
}

#[test]
fn results_keep_each_jobs_output_and_status() {
    let dir = scratch();
    let root = dir.path().join("res");
    let output = crew([
        "-k".as_ref(),
        "--results".as_ref(),
        root.as_os_str(),
        "echo out-{}; echo err-{} >&2; exit {}".as_ref(),
        ":::".as_ref(),
        "0".as_ref(),
        "3".as_ref(),
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    // GNU's layout, and nothing printed.
    assert!(output.stdout.is_empty());
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    assert_eq!(read("1/0/stdout"), "out-0\n");
    assert_eq!(read("1/3/stderr"), "err-3\n");
    assert_eq!(read("1/0/seq"), "1");
    assert_eq!(read("1/3/seq"), "2");
}

#[test]
fn a_hundred_megabytes_of_output_pass_through_in_flat_memory() {
    for order in ["-j4", "-k"] {
        // 20 jobs of 5 MB each.
        let mut args = vec![order, "head", "-c", "{}", "/dev/zero", ":::"];
        args.extend(std::iter::repeat_n("5000000", 20));
        let measured = measure(&args, None);
        assert_eq!(measured.code, Some(0), "{}", measured.stderr);
        assert_eq!(measured.stdout_bytes, 100_000_000);
        // Flat: the same jobs printing 1 byte each set the baseline (most
        // of it is the debug binary itself).
        let mut small = vec![order, "head", "-c", "{}", "/dev/zero", ":::"];
        small.extend(std::iter::repeat_n("1", 20));
        let baseline = measure(&small, None).peak_rss_kib;
        let peak = measured.peak_rss_kib;
        assert!(
            peak <= baseline + 1024,
            "{order}: peak RSS {peak} KiB for 100 MB, {baseline} KiB for 20 bytes"
        );
    }
}

#[test]
fn keep_order_holds_thousands_of_fast_jobs_behind_a_slow_first_one_in_bounded_memory() {
    const JOBS: usize = 2000;
    let dir = scratch();
    let log = dir.path().join("log");
    let inputs = dir.path().join("inputs");
    std::fs::write(
        &inputs,
        (1..=JOBS).map(|i| format!("{i}\n")).collect::<String>(),
    )
    .unwrap();
    // Job 1 finishes only after ten later jobs have finished (each leaves
    // a marker; the joblog follows the output order, as in GNU, so it
    // cannot tell), so their output must wait for it.
    let marks = dir.path().join("marks");
    std::fs::create_dir(&marks).unwrap();
    let job = format!(
        "if [ {{}} = 1 ]; then until [ $(ls {marks} | wc -l) -gt 10 ]; do sleep 0.01; done; else touch {marks}/{{}}; fi; echo {{}}",
        marks = marks.display()
    );
    let log_arg = log.display().to_string();
    let args = ["-k", "-j2", "--timeout", "20", "--joblog", &log_arg, &job];
    let measured = measure(&args, Some(inputs));
    assert_eq!(measured.code, Some(0), "{}", measured.stderr);
    let expected: String = (1..=JOBS).map(|i| format!("{i}\n")).collect();
    assert!(
        measured.stdout_start == expected.as_bytes(),
        "output is in input order"
    );
    // Bounded: the same run over 20 inputs sets the baseline.
    let few = dir.path().join("few");
    std::fs::write(&few, (1..=20).map(|i| format!("{i}\n")).collect::<String>()).unwrap();
    let log_few = dir.path().join("log-few").display().to_string();
    let baseline = measure(&["-k", "-j2", "--joblog", &log_few, "echo"], Some(few)).peak_rss_kib;
    let peak = measured.peak_rss_kib;
    assert!(
        peak <= baseline + 1024,
        "peak RSS {peak} KiB for {JOBS} jobs, {baseline} KiB for 20"
    );
}

#[test]
fn tmpdir_holds_the_spool_files_and_nothing_is_left_there() {
    let spool = scratch();
    let spool_arg = spool.path().display().to_string();
    // A job's stdout is its spool file (unlinked, so it reads `(deleted)`).
    let out = stdout_of([
        "--tmpdir",
        &spool_arg,
        "-k",
        "readlink /proc/self/fd/1 # {}",
        ":::",
        "a",
        "b",
    ]);
    assert_eq!(out.lines().count(), 2, "{out}");
    for line in out.lines() {
        assert!(line.starts_with(&format!("{spool_arg}/")), "{line}");
    }
    // A --pipe block is spooled there too, and reaches the job through a
    // pipe, as in GNU parallel.
    let output = crew([
        "--tmpdir",
        &spool_arg,
        "--pipe",
        "readlink",
        "/proc/self/fd/0",
    ])
    .write_stdin("x\n")
    .output()
    .unwrap();
    let out = String::from_utf8(output.stdout).unwrap();
    assert!(out.starts_with("pipe:"), "{out}");
    let left: Vec<_> = std::fs::read_dir(spool.path()).unwrap().collect();
    assert!(left.is_empty(), "spool files left behind: {left:?}");
}

#[test]
fn a_missing_tmpdir_is_one_error_line_not_one_per_job_slot() {
    let dir = scratch();
    let missing = dir.path().join("missing");
    let missing_arg = missing.display().to_string();
    for (args, stdin) in [
        (
            vec![
                "-j4",
                "--tmpdir",
                &missing_arg,
                "echo",
                ":::",
                "a",
                "b",
                "c",
                "d",
                "e",
            ],
            "",
        ),
        (
            vec!["-j4", "--tmpdir", &missing_arg, "--pipe", "-N1", "cat"],
            "1\n2\n3\n4\n",
        ),
    ] {
        let output = crew(&args).write_stdin(stdin).output().unwrap();
        assert_eq!(output.status.code(), Some(255), "{args:?}");
        assert!(output.stdout.is_empty(), "no job ran: {args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("crew: "), "{stderr}");
        assert!(stderr.contains(&missing_arg), "{stderr}");
        assert!(stderr.contains("--tmpdir"), "{stderr}");
    }
}

#[test]
fn a_closed_stdout_stops_crew_early() {
    let started = std::time::Instant::now();
    let mut args = vec!["-j1", "echo {}; sleep 0.2", ":::"];
    let inputs: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    args.extend(inputs.iter().map(String::as_str));
    let mut child = std::process::Command::new(crew_path())
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "1");
    drop(lines);
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(128 + 13),
        "like a process killed by SIGPIPE"
    );
    assert!(
        started.elapsed().as_secs_f64() < 3.0,
        "20 jobs of 0.2 s did not all run"
    );
}

#[test]
fn a_process_left_behind_by_a_job_never_writes_into_another_jobs_output() {
    // Job a leaves a writer behind that prints 0.2 s later, while job b
    // runs; job b must not get a's recycled output files.
    let template = "if [ {} = a ]; then (sleep 0.2; echo late-{}; echo late-{} >&2) & fi; \
                    echo now-{}; if [ {} = b ]; then sleep 0.5; fi";
    let output = crew(["-j1", "-k", template, ":::", "a", "b", "c"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "now-a\nnow-b\nnow-c\n"
    );
    assert_eq!(String::from_utf8(output.stderr).unwrap(), "");
}
