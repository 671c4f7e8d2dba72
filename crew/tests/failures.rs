//! Failure handling: the exit status, `--retries`, `--timeout`, `--halt`.

mod common;

use std::time::{Duration, Instant};

use common::{assert_gone_within, crew, pid_in, scratch, stdout_of};

#[test]
fn the_exit_status_counts_failed_jobs() {
    let output = crew(["exit {}", ":::", "0", "1", "2", "0", "5"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
}

#[test]
fn the_exit_status_is_capped_at_101() {
    let mut args = vec!["-j4", "false", ":::"];
    let inputs: Vec<String> = (0..120).map(|i| i.to_string()).collect();
    args.extend(inputs.iter().map(String::as_str));
    assert_eq!(crew(&args).output().unwrap().status.code(), Some(101));
}

fn counting_job(dir: &std::path::Path, succeed_on: u32) -> String {
    format!(
        ": {{}}; n=$(cat {d}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {d}/count; echo attempt $n; [ $n -ge {succeed_on} ]",
        d = dir.display()
    )
}

#[test]
fn retries_run_a_failing_job_again_and_keep_the_last_output() {
    let dir = scratch();
    let out = stdout_of(["--retries", "3", &counting_job(dir.path(), 3), ":::", "x"]);
    assert_eq!(out, "attempt 3\n");
}

#[test]
fn a_job_that_fails_every_retry_counts_once() {
    let dir = scratch();
    let output = crew(["--retries", "2", &counting_job(dir.path(), 3), ":::", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "attempt 2\n");
}

#[test]
fn retries_feed_a_pipe_block_again_from_its_start() {
    let dir = scratch();
    // The first attempt reads the whole block, then fails; the retry must
    // get the whole block again, not an exhausted stdin.
    let job = format!(
        "n=$(cat {d}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {d}/count; \
         echo attempt $n; cat; [ $n -ge 2 ]",
        d = dir.path().display()
    );
    let output = crew(["--pipe", "--retries", "2", &job])
        .write_stdin("a\nb\nc\n")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "attempt 2\na\nb\nc\n"
    );
}

#[test]
fn retries_log_one_joblog_line_per_job_not_per_attempt() {
    let dir = scratch();
    let log = dir.path().join("log");
    let succeeds = scratch();
    let fails = scratch();
    for (job_dir, status) in [(&succeeds, 0), (&fails, 1)] {
        let output = crew([
            "--retries".as_ref(),
            "3".as_ref(),
            "--joblog".as_ref(),
            log.as_os_str(),
            counting_job(job_dir.path(), if status == 0 { 3 } else { 4 }).as_ref(),
            ":::".as_ref(),
            "x".as_ref(),
        ])
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(status));
        let logged = std::fs::read_to_string(&log).unwrap();
        let rows: Vec<&str> = logged.lines().skip(1).collect();
        assert_eq!(rows.len(), 1, "three attempts, one line: {logged}");
        let fields: Vec<&str> = rows[0].split('\t').collect();
        assert_eq!(
            (fields[0], fields[6]),
            ("1", &*status.to_string()),
            "{logged}"
        );
        assert_eq!(fields[5], "10", "the last attempt's output: {logged}");
    }
}

/// How long a job's killed background child may outlive crew's return.
const REAP_LIMIT: Duration = Duration::from_secs(2);

/// Runs one job that prints a line, leaves a background sleep, and blocks,
/// under `--timeout 0.2` and the given output `mode`; asserts crew stops it
/// promptly, kills its group, and keeps the line printed before.
fn assert_timeout_stops_a_job_in_mode(mode: &str) {
    let dir = scratch();
    let log = dir.path().join("log");
    let child_pid = dir.path().join("child");
    let job = format!(
        "echo before-{{}}; sleep 30 & echo $! > {}; wait; echo after-{{}}",
        child_pid.display()
    );
    let started = Instant::now();
    let output = crew([
        mode.as_ref(),
        "--timeout".as_ref(),
        "0.2".as_ref(),
        "--joblog".as_ref(),
        log.as_os_str(),
        job.as_ref(),
        ":::".as_ref(),
        "x".as_ref(),
    ])
    .output()
    .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{mode}");
    assert!(elapsed < Duration::from_secs(3), "{mode}: took {elapsed:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "before-x\n",
        "{mode}"
    );
    assert_gone_within(pid_in(&child_pid), REAP_LIMIT, "the background sleep");
    let logged = std::fs::read_to_string(log).unwrap();
    let fields: Vec<&str> = logged.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!((fields[6], fields[7]), ("-1", "15"), "{mode}: {logged}");
    let runtime: f64 = fields[3].trim().parse().unwrap();
    assert!((0.2..0.5).contains(&runtime), "{mode}: job ran {runtime} s");
}

#[test]
fn timeout_stops_an_ungrouped_job() {
    assert_timeout_stops_a_job_in_mode("-u");
}

#[test]
fn timeout_stops_a_line_buffered_job() {
    assert_timeout_stops_a_job_in_mode("--line-buffer");
}

#[test]
fn timeout_kills_the_whole_process_group_promptly() {
    let dir = scratch();
    let log = dir.path().join("log");
    let child_pid = dir.path().join("child");
    // The background sleep is not the job's leader: only a signal to the
    // whole group reaches it.
    let job = format!(
        "sleep 30 & echo $! > {}; sleep 30 | sleep 30; echo {{}}",
        child_pid.display()
    );
    let started = Instant::now();
    let output = crew([
        "--timeout".as_ref(),
        "0.2".as_ref(),
        "--joblog".as_ref(),
        log.as_os_str(),
        job.as_ref(),
        ":::".as_ref(),
        "x".as_ref(),
    ])
    .output()
    .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(1));
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_gone_within(pid_in(&child_pid), REAP_LIMIT, "the background child");
    let logged = std::fs::read_to_string(log).unwrap();
    let fields: Vec<&str> = logged.lines().nth(1).unwrap().split('\t').collect();
    let runtime: f64 = fields[3].trim().parse().unwrap();
    assert!((0.2..0.35).contains(&runtime), "job ran {runtime} s");
    assert_eq!((fields[6], fields[7]), ("-1", "15"), "{logged}");
}

#[test]
fn timeout_escalates_to_sigkill_for_a_job_that_ignores_sigterm() {
    let dir = scratch();
    let log = dir.path().join("log");
    let child_pid = dir.path().join("child");
    // `trap '' TERM` is inherited: the sleep ignores SIGTERM too.
    let job = format!(
        "trap '' TERM; sleep 30 & echo $! > {}; wait; echo {{}}",
        child_pid.display()
    );
    let started = Instant::now();
    let output = crew([
        "--timeout".as_ref(),
        "0.2".as_ref(),
        "--joblog".as_ref(),
        log.as_os_str(),
        job.as_ref(),
        ":::".as_ref(),
        "x".as_ref(),
    ])
    .output()
    .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(1));
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert_gone_within(pid_in(&child_pid), REAP_LIMIT, "the sleep ignoring TERM");
    let logged = std::fs::read_to_string(log).unwrap();
    let fields: Vec<&str> = logged.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!((fields[6], fields[7]), ("-1", "9"), "{logged}");
    let runtime: f64 = fields[3].trim().parse().unwrap();
    assert!(
        (0.4..1.0).contains(&runtime),
        "TERM at 0.2 s, KILL 0.2 s later; ran {runtime} s"
    );
}

#[test]
fn timeout_leaves_fast_jobs_alone() {
    assert_eq!(
        stdout_of(["--timeout", "10", "echo", ":::", "quick"]),
        "quick\n"
    );
}

#[test]
fn halt_now_on_failure_stops_at_once_with_the_jobs_status() {
    let dir = scratch();
    let log = dir.path().join("log");
    let child_pid = dir.path().join("child");
    // Job 1 leaves a background sleep in its group and waits for it; job 2
    // fails once job 1's child exists, so the halt has a group to kill.
    let job = format!(
        "if [ {{#}} = 1 ]; then sleep {{}} & echo $! > {p}; wait; \
         else until [ -s {p} ]; do sleep 0.01; done; fi; exit 7",
        p = child_pid.display()
    );
    let started = Instant::now();
    let output = crew([
        "-j2".as_ref(),
        "--halt".as_ref(),
        "now,fail=1".as_ref(),
        "--joblog".as_ref(),
        log.as_os_str(),
        "--timeout".as_ref(),
        "20".as_ref(),
        job.as_ref(),
        ":::".as_ref(),
        "30".as_ref(),
        "0".as_ref(),
        "0".as_ref(),
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(7));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_gone_within(pid_in(&child_pid), REAP_LIMIT, "job 1's background sleep");
    let logged = std::fs::read_to_string(log).unwrap();
    assert_eq!(
        logged.lines().count(),
        3,
        "the sleeper is killed and logged; job 3 never starts: {logged}"
    );
    assert!(
        logged
            .lines()
            .any(|l| l.starts_with("1\t") && l.contains("\t-1\t15\t")),
        "{logged}"
    );
}

#[test]
fn halt_soon_lets_running_jobs_finish() {
    let out = crew([
        "-j2",
        "--halt",
        "soon,fail=1",
        "sleep {}; echo done {}; exit 3",
        ":::",
        "1",
        "0",
        "0",
        "0",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("done 1"),
        "the running job finished: {stdout}"
    );
    assert!(
        stdout.lines().count() <= 2,
        "no job started after the failure: {stdout}"
    );
}

/// Runs `echo CODE; exit CODE` one job at a time for each code, with
/// `--halt rule`; returns crew's exit status and what the jobs printed.
fn halt_run(rule: &str, codes: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["-j1", "--halt", rule, "echo {}; exit {}", ":::"];
    args.extend_from_slice(codes);
    let output = crew(args).output().unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn halt_on_success_stops_with_status_zero() {
    let (status, stdout) = halt_run("now,success=1", &["1", "0", "1", "1"]);
    assert_eq!(status, Some(0));
    assert_eq!(stdout, "1\n0\n");
}

#[test]
fn halt_on_a_failure_percentage_waits_for_three_jobs() {
    let (status, stdout) = halt_run("soon,fail=50%", &["1", "0", "1", "0", "0", "0"]);
    assert_eq!(status, Some(1));
    assert_eq!(stdout, "1\n0\n1\n");
}

#[test]
fn halt_when_n_jobs_are_done_stops_with_the_failure_count() {
    let (status, stdout) = halt_run("now,done=2", &["0", "3", "0", "0"]);
    assert_eq!(status, Some(1));
    assert_eq!(stdout, "0\n3\n");
}

#[test]
fn halt_on_a_success_percentage_waits_for_three_jobs() {
    // Job 2 makes 1 success of 2 (50 %), but percentages wait for three
    // finished jobs: job 3 makes 2 of 3.
    let (status, stdout) = halt_run("soon,success=50%", &["1", "0", "0", "1", "1"]);
    assert_eq!(status, Some(0));
    assert_eq!(stdout, "1\n0\n0\n");
}

#[test]
fn legacy_halt_numbers_still_work() {
    let (status, stdout) = halt_run("2", &["0", "4", "0"]);
    assert_eq!(status, Some(4));
    assert_eq!(stdout, "0\n4\n");
}
