//! `--joblog` in GNU parallel's format, and `--resume` / `--resume-failed`
//! after crew was killed.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Stdio;

use common::{crew, crew_path, scratch, sorted_lines, stdout_of};
use std::ffi::OsStr;
use std::process::Output;

fn seqs(log: &Path) -> Vec<u64> {
    let mut seqs: Vec<u64> = std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap().parse().unwrap())
        .collect();
    seqs.sort();
    seqs
}

#[test]
fn the_joblog_has_gnu_parallels_columns() {
    let dir = scratch();
    let log = dir.path().join("log");
    let output = crew([
        "-k".as_ref(),
        "--joblog".as_ref(),
        log.as_os_str(),
        "printf %s {}; exit {}".as_ref(),
        ":::".as_ref(),
        "0".as_ref(),
        "3".as_ref(),
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand"
    );
    let mut rows: Vec<Vec<String>> = lines
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    rows.sort();
    assert_eq!(rows.len(), 2);
    for (row, (seq, exitval)) in rows.iter().zip([("1", "0"), ("2", "3")]) {
        assert_eq!(row.len(), 9, "{row:?}");
        assert_eq!(row[0], seq);
        assert_eq!(row[1], ":");
        assert!(
            row[2].parse::<f64>().unwrap() > 1.6e9,
            "start is epoch seconds: {row:?}"
        );
        assert_eq!(row[3].len(), 10, "runtime is %10.3f: {row:?}");
        assert_eq!(
            (row[4].as_str(), row[5].as_str()),
            ("0", "1"),
            "send/receive bytes: {row:?}"
        );
        assert_eq!(row[6], exitval);
        assert_eq!(row[7], "0");
        assert_eq!(row[8], format!("printf %s {exitval}; exit {exitval}"));
    }
}

/// Starts crew on jobs 1..=10 (-j1); job 4 reports its pid through a FIFO
/// and then blocks, so when the test has read the pid, jobs 1-3 are done
/// and logged and job 4 is running.
fn start_and_reach_job_four(dir: &Path, log: &Path) -> (std::process::Child, i32) {
    let fifo = dir.join("gate");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let template = format!(
        "if [ {{}} = 4 ]; then echo $$ > {}; exec sleep 30; fi; echo {{}}",
        fifo.display()
    );
    let mut args: Vec<String> = vec![
        "-j1".into(),
        "--joblog".into(),
        log.display().to_string(),
        template,
        ":::".into(),
    ];
    args.extend((1..=10).map(|i| i.to_string()));
    let child = std::process::Command::new(crew_path())
        .args(&args)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut pid = String::new();
    std::fs::File::open(&fifo)
        .unwrap()
        .read_to_string(&mut pid)
        .unwrap();
    (child, pid.trim().parse().unwrap())
}

fn resume_args(log: &Path, mode: &str) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "-k".into(),
        "--joblog".into(),
        log.display().to_string(),
        mode.into(),
        "echo".into(),
        ":::".into(),
    ];
    args.extend((1..=10).map(|i| i.to_string()));
    args
}

#[test]
fn resume_after_sigkill_runs_only_the_jobs_not_logged() {
    let dir = scratch();
    let log = dir.path().join("log");
    let (mut child, job_pid) = start_and_reach_job_four(dir.path(), &log);
    child.kill().unwrap();
    child.wait().unwrap();
    // SAFETY: 1. kill has no memory-safety preconditions; 2. the pid is the
    // orphaned job's, which is still running (it blocks for 30 s).
    unsafe {
        libc::kill(job_pid, libc::SIGKILL);
    }
    assert_eq!(seqs(&log), [1, 2, 3], "only finished jobs are logged");
    let out = stdout_of(resume_args(&log, "--resume"));
    assert_eq!(out, "4\n5\n6\n7\n8\n9\n10\n");
    assert_eq!(seqs(&log), (1..=10).collect::<Vec<_>>());
    assert_eq!(
        stdout_of(resume_args(&log, "--resume")),
        "",
        "nothing is left to run"
    );
}

#[test]
fn sigterm_stops_crew_cleanly_and_resume_failed_reruns_the_killed_job() {
    let dir = scratch();
    let log = dir.path().join("log");
    let (child, _job_pid) = start_and_reach_job_four(dir.path(), &log);
    // SAFETY: 1. kill has no memory-safety preconditions; 2. the pid is our
    // running child's.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(128 + 15));
    assert_eq!(seqs(&log), [1, 2, 3, 4], "the interrupted job is logged");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("4\t") && l.contains("\t-1\t15\t")),
        "{text}"
    );
    let out = stdout_of(resume_args(&log, "--resume-failed"));
    assert_eq!(out, "4\n5\n6\n7\n8\n9\n10\n");
}

/// Runs `crew --joblog LOG [options] COMMAND ::: 1 2 3 4 5`.
fn one_to_five_logged(log: &std::path::Path, options: &[&str], command: &str) -> Output {
    let mut args: Vec<&OsStr> = vec![OsStr::new("--joblog"), log.as_os_str()];
    args.extend(options.iter().map(OsStr::new));
    args.push(OsStr::new(command));
    args.extend([":::", "1", "2", "3", "4", "5"].map(OsStr::new));
    crew(args).output().unwrap()
}

#[test]
fn resume_failed_reruns_only_failed_jobs() {
    let dir = scratch();
    let log = dir.path().join("log");
    let first = one_to_five_logged(&log, &[], "echo {}; [ {} != 2 ] && [ {} != 5 ]");
    assert_eq!(first.status.code(), Some(2));
    let again = one_to_five_logged(&log, &["--resume-failed"], "echo");
    assert!(again.status.success());
    assert_eq!(
        sorted_lines(&String::from_utf8(again.stdout).unwrap()),
        ["2", "5"]
    );
    let third = one_to_five_logged(&log, &["--resume-failed"], "echo");
    assert!(third.stdout.is_empty(), "the last line for a job wins");
}

#[test]
fn resume_requires_a_joblog() {
    let output = crew(["--resume", "echo", ":::", "a"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert_eq!(String::from_utf8(output.stderr).unwrap().lines().count(), 1);
}

#[test]
fn an_unwritable_joblog_is_a_one_line_error_before_any_job_runs() {
    let dir = scratch();
    let marker = dir.path().join("ran");
    let job = format!("touch {}", marker.display());
    for log in [
        dir.path().join("missing").join("log"),
        dir.path().to_path_buf(),
    ] {
        let output = crew([
            "--joblog".as_ref(),
            log.as_os_str(),
            job.as_ref(),
            ":::".as_ref(),
            "a".as_ref(),
        ])
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(255), "{}", log.display());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&*log.to_string_lossy()), "{stderr}");
        assert!(!marker.exists(), "no job ran");
    }
}

#[test]
fn dry_run_leaves_the_joblog_alone_and_shows_only_what_resume_would_run() {
    let dir = scratch();
    let log = dir.path().join("log");
    let first = one_to_five_logged(&log, &[], "[ {} != 2 ] && [ {} != 4 ]");
    assert_eq!(first.status.code(), Some(2));
    let before = std::fs::read(&log).unwrap();
    let dry = one_to_five_logged(&log, &["--dry-run", "-k", "--resume-failed"], "echo");
    assert!(dry.status.success());
    assert_eq!(String::from_utf8(dry.stdout).unwrap(), "echo 2\necho 4\n");
    assert_eq!(
        std::fs::read(&log).unwrap(),
        before,
        "the joblog is unchanged"
    );
    let fresh = dir.path().join("fresh");
    let dry = one_to_five_logged(&fresh, &["--dry-run"], "echo");
    assert!(dry.status.success());
    assert!(!fresh.exists(), "a dry run creates no joblog");
}

#[test]
fn job_runtimes_never_fall_short_of_what_the_job_slept() {
    // The start is read before the spawn, so no runtime can be shorter
    // than the sleep itself (GNU under-reports 2 of 200, crew did 15).
    let dir = scratch();
    let log = dir.path().join("log");
    let mut args = vec![
        "-j50".to_string(),
        "--joblog".to_string(),
        log.display().to_string(),
        "sleep".to_string(),
        ":::".to_string(),
    ];
    args.extend(std::iter::repeat_n("0.05".to_string(), 200));
    let output = crew(&args).output().unwrap();
    assert!(output.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let short: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|line| {
            line.split('\t')
                .nth(3)
                .unwrap()
                .trim()
                .parse::<f64>()
                .unwrap()
                < 0.05
        })
        .collect();
    assert!(short.is_empty(), "runtimes below 0.050 s: {short:?}");
}
