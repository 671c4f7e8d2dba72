//! Failure handling: the exit status, `--retries`, `--timeout`, `--halt`.

mod common;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Output;
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

/// Stands in a job for the file where it writes its background child's pid.
const PID_FILE: &str = "PID_FILE";

/// One crew run of a job that leaves a background child, and what it left.
struct ChildLeavingRun {
    /// Holds the pid file and the joblog until the run is dropped.
    _dir: tempfile::TempDir,
    /// The options crew ran with, for failure messages.
    options: Vec<String>,
    /// Where the job wrote its background child's pid.
    pid_file: PathBuf,
    /// crew's exit status and what it printed.
    output: Output,
    /// From starting crew to its return.
    elapsed: Duration,
    /// The joblog crew wrote.
    logged: String,
}

impl ChildLeavingRun {
    /// Asserts crew exited with `status` in less than `within`, then that
    /// the job's background child (`what`) is gone within [`REAP_LIMIT`].
    fn assert_stopped(&self, status: i32, within: Duration, what: &str) {
        let (options, elapsed) = (&self.options, self.elapsed);
        assert_eq!(self.output.status.code(), Some(status), "{options:?}");
        assert!(elapsed < within, "{options:?}: took {elapsed:?}");
        assert_gone_within(pid_in(&self.pid_file), REAP_LIMIT, what);
    }

    /// The joblog fields of the first job logged.
    fn first_logged_job(&self) -> Vec<&str> {
        self.logged.lines().nth(1).unwrap().split('\t').collect()
    }

    /// Asserts the joblog records the first job as killed by `signal`.
    fn assert_first_killed_by(&self, signal: &str) {
        let fields = self.first_logged_job();
        let (options, logged) = (&self.options, &self.logged);
        assert_eq!(
            (fields[6], fields[7]),
            ("-1", signal),
            "{options:?}: {logged}"
        );
    }

    /// The first logged job's runtime, in seconds.
    fn first_runtime(&self) -> f64 {
        self.first_logged_job()[3].trim().parse().unwrap()
    }
}

/// Runs crew with `options`, a `--joblog`, `job` and `::: inputs`, timing
/// it; the job writes its background child's pid to [`PID_FILE`].
fn run_leaving_a_child(options: &[&str], job: &str, inputs: &[&str]) -> ChildLeavingRun {
    let dir = scratch();
    let log = dir.path().join("log");
    let pid_file = dir.path().join("child");
    let job = job.replace(PID_FILE, &pid_file.display().to_string());
    let mut args: Vec<&OsStr> = options.iter().map(OsStr::new).collect();
    args.extend([
        "--joblog".as_ref(),
        log.as_os_str(),
        job.as_ref(),
        ":::".as_ref(),
    ]);
    args.extend(inputs.iter().map(OsStr::new));
    let started = Instant::now();
    let output = crew(args).output().unwrap();
    let elapsed = started.elapsed();
    let logged = std::fs::read_to_string(log).unwrap_or_else(|e| {
        panic!("crew ({:?}) left no joblog: {e}", output.status);
    });
    ChildLeavingRun {
        _dir: dir,
        options: options.iter().map(|o| o.to_string()).collect(),
        pid_file,
        output,
        elapsed,
        logged,
    }
}

/// Runs one job that prints a line, leaves a background sleep, and blocks,
/// under `--timeout 0.2` and the given output `mode`; asserts crew stops it
/// promptly, kills its group, and keeps the line printed before.
fn assert_timeout_stops_a_job_in_mode(mode: &str) {
    let run = run_leaving_a_child(
        &[mode, "--timeout", "0.2"],
        "echo before-{}; sleep 30 & echo $! > PID_FILE; wait; echo after-{}",
        &["x"],
    );
    run.assert_stopped(1, Duration::from_secs(3), "the background sleep");
    assert_eq!(
        std::str::from_utf8(&run.output.stdout).unwrap(),
        "before-x\n",
        "{mode}"
    );
    run.assert_first_killed_by("15");
    let runtime = run.first_runtime();
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
    // The background sleep is not the job's leader: only a signal to the
    // whole group reaches it.
    let job = "sleep 30 & echo $! > PID_FILE; sleep 30 | sleep 30; echo {}";
    let run = run_leaving_a_child(&["--timeout", "0.2"], job, &["x"]);
    run.assert_stopped(1, Duration::from_secs(5), "the background child");
    let runtime = run.first_runtime();
    assert!((0.2..0.35).contains(&runtime), "job ran {runtime} s");
    run.assert_first_killed_by("15");
}

#[test]
fn timeout_escalates_to_sigkill_for_a_job_that_ignores_sigterm() {
    // `trap '' TERM` is inherited: the sleep ignores SIGTERM too.
    let job = "trap '' TERM; sleep 30 & echo $! > PID_FILE; wait; echo {}";
    let run = run_leaving_a_child(&["--timeout", "0.2"], job, &["x"]);
    run.assert_stopped(1, Duration::from_secs(3), "the sleep ignoring TERM");
    run.assert_first_killed_by("9");
    let runtime = run.first_runtime();
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
    // Job 1 leaves a background sleep in its group and waits for it; job 2
    // fails once job 1's child exists, so the halt has a group to kill.
    let run = run_leaving_a_child(
        &["-j2", "--halt", "now,fail=1", "--timeout", "20"],
        "if [ {#} = 1 ]; then sleep {} & echo $! > PID_FILE; wait; \
         else until [ -s PID_FILE ]; do sleep 0.01; done; fi; exit 7",
        &["30", "0", "0"],
    );
    run.assert_stopped(7, Duration::from_secs(10), "job 1's background sleep");
    let logged = &run.logged;
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
/// `--halt rule`; asserts crew exits with `status` once the jobs printed
/// `stdout`.
fn assert_halt(rule: &str, codes: &[&str], status: i32, stdout: &str) {
    let mut args = vec!["-j1", "--halt", rule, "echo {}; exit {}", ":::"];
    args.extend_from_slice(codes);
    let output = crew(args).output().unwrap();
    assert_eq!(output.status.code(), Some(status));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), stdout);
}

#[test]
fn halt_on_success_stops_with_status_zero() {
    assert_halt("now,success=1", &["1", "0", "1", "1"], 0, "1\n0\n");
}

#[test]
fn halt_on_a_failure_percentage_waits_for_three_jobs() {
    assert_halt(
        "soon,fail=50%",
        &["1", "0", "1", "0", "0", "0"],
        1,
        "1\n0\n1\n",
    );
}

#[test]
fn halt_when_n_jobs_are_done_stops_with_the_failure_count() {
    assert_halt("now,done=2", &["0", "3", "0", "0"], 1, "0\n3\n");
}

#[test]
fn halt_on_a_success_percentage_waits_for_three_jobs() {
    // Job 2 makes 1 success of 2 (50 %), but percentages wait for three
    // finished jobs: job 3 makes 2 of 3.
    assert_halt(
        "soon,success=50%",
        &["1", "0", "0", "1", "1"],
        0,
        "1\n0\n0\n",
    );
}

#[test]
fn legacy_halt_numbers_still_work() {
    assert_halt("2", &["0", "4", "0"], 4, "0\n4\n");
}
