//! Running commands: direct execution vs the shell, quoting of awkward
//! file names, job counts, and clear errors for bad invocations.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::{crew, scratch, sorted_lines, stdout_of};

/// File names built to break naive quoting; the last is not UTF-8.
const TORTURE: &[&[u8]] = &[
    b"plain",
    b"with space",
    b"it's",
    b"say \"hi\"",
    b"new\nline",
    b"$HOME",
    b"star*",
    b"back\\slash",
    b"semi;colon",
    b"  leading and trailing  ",
    b"tab\there",
    b"`tick`",
    b"latin1 caf\xe9 \xff",
];

fn os(name: &[u8]) -> &OsStr {
    OsStr::from_bytes(name)
}

/// What the file `name` holds: its name between angle brackets.
fn contents_of(name: &[u8]) -> Vec<u8> {
    [b"<", name, b">"].concat()
}

fn torture_dir() -> tempfile::TempDir {
    let dir = scratch();
    for name in TORTURE {
        std::fs::write(dir.path().join(os(name)), contents_of(name)).unwrap();
    }
    dir
}

fn null_list(dir: &Path) -> Vec<u8> {
    let mut list = Vec::new();
    for name in TORTURE {
        list.extend_from_slice(dir.join(os(name)).as_os_str().as_bytes());
        list.push(0);
    }
    list
}

fn expected_contents() -> Vec<u8> {
    TORTURE.iter().flat_map(|name| contents_of(name)).collect()
}

#[test]
fn awkward_file_names_survive_direct_execution() {
    let dir = torture_dir();
    let output = crew(["-0", "-k", "cat"])
        .write_stdin(null_list(dir.path()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout, expected_contents());
}

#[test]
fn awkward_file_names_survive_the_shell_in_every_quoting_context() {
    let dir = torture_dir();
    for template in [
        "cat {} | cat",
        "cat \"{}\" | cat",
        "cat '{}' | cat",
        "cat -- {//}/{/} && true",
    ] {
        let output = crew(["-0", "-k", template])
            .write_stdin(null_list(dir.path()))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{template}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.stdout, expected_contents(), "{template}");
    }
}

#[test]
fn awkward_names_from_argument_lists_reach_the_command_intact() {
    // A newline inside a `:::` value ends a value, as in GNU parallel.
    let expected: Vec<u8> = TORTURE
        .iter()
        .flat_map(|name| name.split(|&b| b == b'\n'))
        .flat_map(|name| [b"[", name, b"]\n"].concat())
        .collect();
    for options in [&["-k"][..], &["-k", "--shell"]] {
        let mut args: Vec<&OsStr> = options.iter().map(OsStr::new).collect();
        args.extend([
            OsStr::new("printf"),
            OsStr::new("'[%s]\\n'"),
            OsStr::new(":::"),
        ]);
        args.extend(TORTURE.iter().map(|name| os(name)));
        let output = crew(&args).output().unwrap();
        assert!(output.status.success(), "{options:?}");
        assert_eq!(output.stdout, expected, "{options:?}");
    }
}

#[test]
fn pipes_redirections_and_lists_run_through_the_shell() {
    let dir = scratch();
    let target = dir.path().join("out.txt");
    let template = format!(
        "echo {{}} | tr a-z A-Z > {}.{{#}} && cat {}.{{#}}",
        target.display(),
        target.display()
    );
    let out = stdout_of(["-k", &template, ":::", "ab", "cd"]);
    assert_eq!(out, "AB\nCD\n");
}

#[test]
fn explain_says_whether_commands_run_without_a_shell() {
    let output = crew(["--explain", "true", ":::", "x"]).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("directly"), "{stderr}");
    let output = crew(["--explain", "true | true", ":::", "x"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("pipe"), "{stderr}");
}

#[test]
fn crew_shell_picks_the_shell() {
    let output = crew(["--shell", "echo", "$0", ":::", "x"])
        .env("CREW_SHELL", "bash")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "bash x\n");
}

/// A job command that returns once `n` jobs are running at the same time:
/// a barrier built from files, so it proves real concurrency.
fn barrier(dir: &std::path::Path, n: usize) -> String {
    format!(
        "touch {d}/{{}}; while [ $(ls {d} | wc -l) -lt {n} ]; do sleep 0.01; done",
        d = dir.display()
    )
}

#[test]
fn dash_j_n_runs_n_jobs_at_once_and_no_more() {
    let dir = scratch();
    let inputs: Vec<String> = (1..=3).map(|i| i.to_string()).collect();
    let mut args = vec![
        "-j3".to_string(),
        "--timeout".into(),
        "20".into(),
        barrier(dir.path(), 3),
        ":::".into(),
    ];
    args.extend(inputs);
    stdout_of(&args);

    let locks = scratch();
    let template = format!(
        "mkdir {d}/$CREW_SLOT && sleep 0.02 && rmdir {d}/$CREW_SLOT && echo {{}}",
        d = locks.path().display()
    );
    let mut args = vec!["-j2".to_string(), template, ":::".into()];
    args.extend((1..=10).map(|i| i.to_string()));
    stdout_of(&args);
}

#[test]
fn dash_j_zero_runs_everything_at_once() {
    let dir = scratch();
    let mut args = vec![
        "-j0".to_string(),
        "--timeout".into(),
        "20".into(),
        barrier(dir.path(), 30),
        ":::".into(),
    ];
    args.extend((1..=30).map(|i| i.to_string()));
    stdout_of(&args);
}

#[test]
fn dash_j_percent_scales_with_the_cores() {
    let cores = std::thread::available_parallelism().unwrap().get();
    let dir = scratch();
    let mut args = vec![
        "-j200%".to_string(),
        "--timeout".into(),
        "20".into(),
        barrier(dir.path(), cores * 2),
        ":::".into(),
    ];
    args.extend((1..=cores * 2).map(|i| i.to_string()));
    stdout_of(&args);
}

/// Runs `2 * slots` jobs with `-j spec` that each print their slot and
/// return once `slots` of them run at the same time; asserts no slot number
/// exceeds `slots`, so exactly `slots` jobs ran at once.
fn assert_dash_j_gives_slots(spec: &str, slots: usize) {
    let dir = scratch();
    let job = format!("{}; echo $CREW_SLOT", barrier(dir.path(), slots));
    let mut args = vec![
        format!("-j{spec}"),
        "--timeout".into(),
        "20".into(),
        job,
        ":::".into(),
    ];
    // The first `slots` jobs can only finish together; later ones find
    // the barrier already full.
    args.extend((1..=slots * 2).map(|i| i.to_string()));
    let out = stdout_of(&args);
    let used: Vec<usize> = out.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(used.len(), slots * 2, "{spec}: {out}");
    assert!(
        used.iter().all(|&slot| (1..=slots).contains(&slot)),
        "{spec}: {used:?}"
    );
    assert!(used.contains(&slots), "{spec}: {used:?}");
}

#[test]
fn dash_j_plus_n_adds_n_slots_to_the_cores() {
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_dash_j_gives_slots("+1", cores + 1);
}

#[test]
fn dash_j_minus_n_takes_n_slots_from_the_cores_but_leaves_one() {
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_dash_j_gives_slots("-1", (cores - 1).max(1));
    assert_dash_j_gives_slots("-1000", 1);
}

#[test]
fn a_command_that_does_not_exist_fails_each_job_with_one_line() {
    let dir = scratch();
    let log = dir.path().join("log");
    let output = crew([
        "--joblog".as_ref(),
        log.as_os_str(),
        "no-such-command-xyz".as_ref(),
        ":::".as_ref(),
        "a".as_ref(),
        "b".as_ref(),
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    // The shell's own words, as with GNU parallel (which always uses one).
    let lines = sorted_lines(&stderr);
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines
            .iter()
            .all(|l| l.ends_with("no-such-command-xyz: command not found")),
        "{stderr}"
    );
    let logged = std::fs::read_to_string(log).unwrap();
    assert_eq!(
        logged.lines().filter(|l| l.contains("\t127\t0\t")).count(),
        2,
        "{logged}"
    );
}

#[test]
fn unknown_options_are_one_line_errors() {
    for args in [
        vec!["--bogus", "echo"],
        vec!["-j", "lots", "echo"],
        vec!["--timeout", "soon", "echo"],
        vec!["--halt", "later", "echo"],
    ] {
        let output = crew(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(255), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("crew: "), "{stderr}");
    }
}

#[test]
fn unbalanced_quotes_are_one_line_errors() {
    let output = crew(["echo 'oops", ":::", "a"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unbalanced '"), "{stderr}");
}
