//! Fault injection: crew's output never disappears without a word.
//!
//! Every fault is set up by the test itself and a test that cannot set up
//! its fault fails, saying why: `/dev/full` behind stdout in every output
//! mode, a small tmpfs (mounted here; CI runs as root) behind `--tmpdir`
//! and `--results`, and SIGINT, SIGTERM and a closed stdout (SIGPIPE)
//! during a run, after which no process a job started may survive. Every
//! wait has a deadline; nothing sleeps to let things settle.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{assert_gone_within, crew, crew_path, pid_in, scratch};

/// How long crew may take to stop after a fault or signal.
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// How long a killed background child may outlive crew's return.
const REAP_LIMIT: Duration = Duration::from_secs(2);

/// crew's exit status for its own errors, a lost output among them.
const CREW_ERROR: i32 = 255;

/// A job that writes 2 MB to stdout and a line to stderr, and exits 0
/// whatever its writes did: only crew can tell that the output was cut.
const TWO_MB_JOB: &str = "yes | head -c 2000000 2>/dev/null; echo job-stderr >&2; exit 0";

/// `/dev/full`, opened for writing.
fn dev_full() -> File {
    File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full opens for writing (this test needs it)")
}

/// What a [`run`] gave.
struct Ran {
    status: ExitStatus,
    stderr: String,
}

/// Runs crew with `args`, stdout and stderr on the given files (else
/// read), under [`STOP_LIMIT`].
fn run(args: &[&str], stdout: Option<File>, stderr: Option<File>) -> Ran {
    use std::io::Read;
    let mut child = Command::new(crew_path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout.map_or_else(Stdio::piped, Stdio::from))
        .stderr(stderr.map_or_else(Stdio::piped, Stdio::from))
        .spawn()
        .expect("crew starts");
    let out = child.stdout.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = pipe.read_to_end(&mut sink);
        })
    });
    let err = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    });
    let status = wait_within(&mut child, STOP_LIMIT, &format!("{args:?}"));
    if let Some(out) = out {
        out.join().unwrap();
    }
    let stderr = err.map(|e| e.join().unwrap()).unwrap_or_default();
    Ran { status, stderr }
}

/// Runs crew with `args` and its stdout on `/dev/full`.
fn run_into_dev_full(args: &[&str]) -> (ExitStatus, String) {
    let ran = run(args, Some(dev_full()), None);
    (ran.status, ran.stderr)
}

/// Asserts a run into `/dev/full` failed loudly: status 255 and one line
/// naming standard output and the cause.
fn assert_reports_a_full_stdout(args: &[&str]) {
    let (status, stderr) = run_into_dev_full(args);
    assert_eq!(status.code(), Some(CREW_ERROR), "{args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: one line expected: {stderr}");
    assert!(
        lines[0].contains("standard output") && lines[0].contains("No space left on device"),
        "{args:?}: {stderr}"
    );
}

#[test]
fn grouped_output_into_dev_full_is_an_error() {
    assert_reports_a_full_stdout(&["echo", ":::", "a", "b"]);
}

#[test]
fn keep_order_output_into_dev_full_is_an_error() {
    assert_reports_a_full_stdout(&["-k", "echo", ":::", "a", "b"]);
}

#[test]
fn line_buffered_output_into_dev_full_is_an_error() {
    assert_reports_a_full_stdout(&["--line-buffer", "echo", ":::", "a", "b"]);
}

#[test]
fn tagged_output_into_dev_full_is_an_error() {
    assert_reports_a_full_stdout(&["--tag", "echo", ":::", "a", "b"]);
}

#[test]
fn results_into_a_dev_full_stdout_are_kept_whole() {
    // --results prints nothing (as in GNU): the outputs are in the files.
    let dir = scratch();
    let results = dir.path().join("results");
    let results = results.to_str().unwrap();
    let (status, stderr) = run_into_dev_full(&["--results", results, "echo", ":::", "a", "b"]);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let stored = std::fs::read_to_string(Path::new(results).join("1/a/stdout")).unwrap();
    assert_eq!(stored, "a\n");
}

#[test]
fn a_dry_run_into_dev_full_is_an_error() {
    assert_reports_a_full_stdout(&["--dry-run", "echo", ":::", "a", "b"]);
}

#[test]
fn help_into_dev_full_is_an_error() {
    assert_reports_a_full_stdout(&["--help"]);
}

#[test]
fn ungrouped_jobs_writing_into_dev_full_fail_with_their_own_message() {
    // With -u the job writes to crew's stdout itself: its own error is the
    // message, and the failed jobs make the status.
    let (status, stderr) = run_into_dev_full(&["-u", "echo", ":::", "a", "b"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
}

#[test]
fn stderr_on_dev_full_makes_the_status_non_zero() {
    // Nothing can be said when stderr itself is full; the status says it.
    let ran = run(
        &["sh", "-c", "echo {} >&2", ":::", "a"],
        None,
        Some(dev_full()),
    );
    assert_eq!(ran.status.code(), Some(CREW_ERROR));
}

#[test]
fn a_joblog_on_dev_full_is_an_error_before_any_job_runs() {
    let output = crew(["--joblog", "/dev/full", "echo", ":::", "a"])
        .output()
        .expect("crew runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(CREW_ERROR), "{stderr}");
    assert!(output.stdout.is_empty(), "a job ran: {:?}", output.stdout);
    assert!(
        stderr.contains("joblog /dev/full") && stderr.contains("No space left on device"),
        "{stderr}"
    );
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    _parent: tempfile::TempDir,
    root: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it). Panics,
    /// saying why, if it cannot: a full-disk test never passes by being
    /// skipped.
    fn mount(size: &str) -> Tmpfs {
        let parent = scratch();
        let root = parent.path().join("tmpfs");
        std::fs::create_dir(&root).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&root)
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount for the full-disk test: {e}"));
        assert!(
            output.status.success(),
            "cannot mount a tmpfs for the full-disk test (it needs root, as in CI): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Tmpfs {
            _parent: parent,
            root,
        }
    }

    fn path(&self, name: &str) -> String {
        self.root.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a straggler holding a file must not keep the mount busy.
        let _ = Command::new("umount").arg("-l").arg(&self.root).status();
    }
}

/// Asserts a run whose output did not fit failed loudly and printed none
/// of it: status 255, no stdout, and a line naming job 1 and the cause.
fn assert_output_lost_loudly(args: &[&str]) {
    let output = crew(args).output().expect("crew runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(CREW_ERROR), "{args:?}: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "{args:?}: a torn output was printed ({} bytes)",
        output.stdout.len()
    );
    assert!(
        stderr.contains("job 1 lost its output") && stderr.contains("is full"),
        "{args:?}: {stderr}"
    );
}

#[test]
fn a_spool_on_a_full_disk_loses_no_output_silently() {
    let disk = Tmpfs::mount("1m");
    let tmpdir = disk.path("");
    // The same disk holds a small output whole: the check is not a refusal.
    let fits = crew(["--tmpdir", &tmpdir, "echo", ":::", "fits"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&fits.stdout), "fits\n");
    assert!(fits.status.success());
    assert_output_lost_loudly(&["--tmpdir", &tmpdir, TWO_MB_JOB, ":::", "1"]);
}

#[test]
fn keep_order_on_a_full_spool_loses_no_output_silently() {
    let disk = Tmpfs::mount("1m");
    assert_output_lost_loudly(&["-k", "--tmpdir", &disk.path(""), TWO_MB_JOB, ":::", "1"]);
}

#[test]
fn results_on_a_full_disk_print_no_torn_output() {
    let disk = Tmpfs::mount("1m");
    let results = disk.path("results");
    assert_output_lost_loudly(&["--results", &results, TWO_MB_JOB, ":::", "1"]);
}

#[test]
fn a_job_on_a_full_spool_is_logged_as_failed() {
    let disk = Tmpfs::mount("1m");
    let dir = scratch();
    let log = dir.path().join("log");
    let output = crew([
        "--tmpdir",
        &disk.path(""),
        "--joblog",
        log.to_str().unwrap(),
        TWO_MB_JOB,
        ":::",
        "1",
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(CREW_ERROR));
    let logged = std::fs::read_to_string(&log).unwrap();
    let fields: Vec<&str> = logged.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(fields[6], "255", "Exitval of a lost output: {logged}");
}

/// Waits for `child` until `limit`; kills it and panics if it is still
/// running then.
fn wait_within(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: crew still runs {limit:?} later");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until `path` exists (a job wrote it), or panics at `limit`.
fn wait_for_file(path: &Path, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} did not appear within {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A job for [`interrupt`]: leaves a background sleep whose pid it
/// publishes atomically in `pid_file`, then waits for it.
fn job_leaving_a_sleep(pid_file: &Path, then: &str) -> String {
    let pid = pid_file.display();
    format!("sleep 47 & echo $! > {pid}.new && mv {pid}.new {pid}; {then}")
}

/// Starts crew on a job that leaves a background sleep, sends `signal`
/// once the sleep runs, and asserts crew exits with 128 + `signal` and the
/// sleep is gone.
fn interrupt(options: &[&str], signal: i32) {
    let dir = scratch();
    let pid_file = dir.path().join("pid");
    let job = job_leaving_a_sleep(&pid_file, "wait; echo {}");
    let mut child = Command::new(crew_path())
        .args(options)
        .args([job.as_str(), ":::", "1"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&pid_file, STOP_LIMIT);
    // SAFETY: 1. kill has no memory-safety preconditions; 2. the pid is
    // our running child's.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let status = wait_within(&mut child, STOP_LIMIT, "after the signal");
    assert_eq!(status.code(), Some(128 + signal), "{options:?}");
    assert_gone_within(
        pid_in(&pid_file),
        REAP_LIMIT,
        "the job's background sleep (its SIGINT is ignored by sh)",
    );
}

#[test]
fn sigint_reaches_background_children_that_ignore_it() {
    interrupt(&[], libc::SIGINT);
}

#[test]
fn sigint_reaches_background_children_in_line_buffer_mode() {
    interrupt(&["--line-buffer"], libc::SIGINT);
}

#[test]
fn sigint_reaches_background_children_of_ungrouped_jobs() {
    interrupt(&["-u"], libc::SIGINT);
}

#[test]
fn sigterm_reaches_background_children() {
    interrupt(&[], libc::SIGTERM);
}

#[test]
fn sigint_escalates_for_a_job_that_traps_it() {
    let dir = scratch();
    let pid_file = dir.path().join("pid");
    let job = job_leaving_a_sleep(&pid_file, "trap '' INT; while :; do wait; done; : {}");
    let mut child = Command::new(crew_path())
        .args([job.as_str(), ":::", "1"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&pid_file, STOP_LIMIT);
    // SAFETY: as in `interrupt`.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = wait_within(&mut child, STOP_LIMIT, "a job trapping SIGINT");
    assert_eq!(status.code(), Some(128 + libc::SIGINT));
    assert_gone_within(pid_in(&pid_file), REAP_LIMIT, "the background sleep");
}

/// Runs `-j2` jobs that record their starts: job 1 prints a lot once job
/// 2 left a background sleep and waits for it; reads one line of crew's
/// stdout and closes it. Asserts crew stops promptly with 141, no job
/// started after the close, and job 2's background sleep is gone.
fn close_stdout_after_one_line(mode: &[&str]) {
    let dir = scratch();
    let started = dir.path().join("started");
    let pid_file = dir.path().join("pid");
    let pid = pid_file.display();
    let job = format!(
        "echo {{}} >> {started}; if [ {{}} = 1 ]; then \
           while [ ! -e {pid} ]; do sleep 0.01; done; seq 1000000; \
         else {}; fi",
        job_leaving_a_sleep(&pid_file, "wait"),
        started = started.display(),
    );
    let mut child = Command::new(crew_path())
        .args(["-j2"])
        .args(mode)
        .args([job.as_str(), ":::", "1", "2", "3", "4", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "1");
    drop(lines);
    let status = wait_within(&mut child, STOP_LIMIT, "after stdout closed");
    assert_eq!(status.code(), Some(128 + libc::SIGPIPE), "{mode:?}");
    let starts = std::fs::read_to_string(&started).unwrap();
    assert_eq!(
        common::sorted_lines(&starts),
        ["1", "2"],
        "{mode:?}: jobs started after stdout closed"
    );
    assert_gone_within(pid_in(&pid_file), REAP_LIMIT, "job 2's background sleep");
}

#[test]
fn a_closed_stdout_stops_grouped_output_and_its_running_jobs() {
    close_stdout_after_one_line(&[]);
}

#[test]
fn a_closed_stdout_stops_keep_order_output_and_its_running_jobs() {
    close_stdout_after_one_line(&["-k"]);
}

#[test]
fn a_closed_stdout_stops_line_buffered_output_and_its_running_jobs() {
    close_stdout_after_one_line(&["--line-buffer"]);
}
