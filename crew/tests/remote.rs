//! crew's remote execution against real sshd servers on loopback
//! addresses (tests/common/sshd.rs), compared with GNU parallel on the
//! same hosts where their outputs should agree.

mod common;
#[path = "common/sshd.rs"]
mod sshd;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{crew, sorted_lines, LIMIT};
use sshd::Hosts;

/// crew with `--ssh` set for these hosts, run in `dir`.
fn crew_on(hosts: &Hosts, dir: &Path) -> assert_cmd::Command {
    let mut command = crew(["--ssh", &hosts.ssh()]);
    command.current_dir(dir);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A joblog's lines as (Seq, Host, Exitval, Command).
fn joblog(path: &Path) -> Vec<(u64, String, i32, String)> {
    let log = std::fs::read_to_string(path).expect("the joblog");
    let mut lines = log.lines();
    assert_eq!(
        lines.next(),
        Some("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand")
    );
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 9, "{line}");
            (
                fields[0].parse().unwrap(),
                fields[1].to_string(),
                fields[6].parse().unwrap(),
                fields[8].to_string(),
            )
        })
        .collect()
}

#[test]
fn jobs_spread_over_two_hosts_and_this_machine() {
    let hosts = Hosts::start(2);
    let dir = hosts.scratch();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "2/h1,2/h2,1/:", "--joblog", "log", "--tag", "-k"])
        .arg("echo {%} $PARALLEL_SEQ {#}; sleep 0.2; touch ran.{#}")
        .arg(":::")
        .args((1..=10).map(|i| i.to_string()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let expected: Vec<String> = (1..=10).map(|i| format!("{i}\t")).collect();
    let lines: Vec<String> = text(&output.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 10);
    for (line, prefix) in lines.iter().zip(&expected) {
        assert!(line.starts_with(prefix.as_str()), "{line}");
        let words: Vec<&str> = line.split(['\t', ' ']).collect();
        let slot: usize = words[1].parse().unwrap();
        assert!((1..=5).contains(&slot), "{line}");
        assert_eq!(words[2], words[3], "$PARALLEL_SEQ is {{#}}: {line}");
    }
    for i in 0..2 {
        let left = hosts.host(i).wait_idle(Duration::from_secs(10));
        assert!(left.is_empty(), "crew left its connection open: {left:?}");
    }
    let log = joblog(&dir.join("log"));
    assert_eq!(log.len(), 10);
    let mut by_host: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (seq, host, exitval, _) in &log {
        assert_eq!(*exitval, 0);
        by_host.entry(host.clone()).or_default().push(*seq);
    }
    assert_eq!(
        by_host.keys().cloned().collect::<Vec<_>>(),
        [":", "h1", "h2"],
        "every host ran jobs: {by_host:?}"
    );
    // Each job's file is where it ran: on its host, or here for `:`.
    for (host, seqs) in &by_host {
        let place = match host.as_str() {
            ":" => dir.clone(),
            "h1" => hosts.host(0).home.clone(),
            _ => hosts.host(1).home.clone(),
        };
        for seq in seqs {
            assert!(
                place.join(format!("ran.{seq}")).exists(),
                "job {seq} on {host}"
            );
        }
    }
}

#[test]
fn the_command_reaches_the_remote_shell_as_gnu_sends_it() {
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    let values = ["a b", "it's", "$HOME", "\"q\"", "back\\slash", "*"];
    let crew_out = crew_on(&hosts, &dir)
        .args(["-S", "h1", "-k", "echo", "{}", ":::"])
        .args(values)
        .output()
        .unwrap();
    assert!(crew_out.status.success(), "{}", text(&crew_out.stderr));
    assert_eq!(text(&crew_out.stdout), values.join("\n") + "\n");
    let gnu = Command::new("parallel")
        .args([
            "--will-cite",
            "--ssh",
            &hosts.ssh(),
            "-S",
            "h1",
            "-k",
            "echo",
            "{}",
            ":::",
        ])
        .args(values)
        .current_dir(&dir)
        .output()
        .expect("GNU parallel (apt-get install parallel)");
    assert_eq!(text(&crew_out.stdout), text(&gnu.stdout));
    // A shell command: variables expand on the remote side, as in GNU.
    let shell = |program: &str| {
        let mut command = Command::new(program);
        if program == "parallel" {
            command.arg("--will-cite");
        } else {
            command = Command::new(common::crew_path());
        }
        let output = command
            .args(["--ssh", &hosts.ssh(), "-S", "h1", "-k", "--tag"])
            .arg("echo $HOME {} | tr a-z A-Z")
            .args([":::", "x", "y z"])
            .current_dir(&dir)
            .output()
            .unwrap();
        text(&output.stdout)
    };
    assert_eq!(shell("crew"), "x\t/ROOT X\ny z\t/ROOT Y Z\n");
    assert_eq!(shell("crew"), shell("parallel"));
}

#[test]
fn the_joblog_matches_gnu_parallel_on_the_same_hosts() {
    let hosts = Hosts::start(2);
    let dir = hosts.scratch();
    for program in ["crew", "parallel"] {
        let mut command = match program {
            "crew" => Command::new(common::crew_path()),
            _ => {
                let mut c = Command::new("parallel");
                c.arg("--will-cite");
                c
            }
        };
        let status = command
            .args(["--ssh", &hosts.ssh(), "-S", "1/h1,1/h2", "--joblog"])
            .arg(format!("{program}.log"))
            .arg("echo {}; exit {}")
            .args([":::", "0", "3"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1), "{program}: one job failed");
    }
    let strip = |log: Vec<(u64, String, i32, String)>| {
        let mut rows: Vec<(u64, i32, String)> =
            log.into_iter().map(|(s, _, e, c)| (s, e, c)).collect();
        rows.sort();
        rows
    };
    let ours = joblog(&dir.join("crew.log"));
    assert!(ours
        .iter()
        .all(|(_, host, _, _)| host == "h1" || host == "h2"));
    assert_eq!(strip(ours), strip(joblog(&dir.join("parallel.log"))));
}

#[test]
fn trc_round_trips_file_names_with_spaces_and_quotes() {
    let hosts = Hosts::start(2);
    let dir = hosts.scratch();
    let names = ["a b.txt", "it's.txt", "\"q\" $x.txt"];
    for (i, name) in names.iter().enumerate() {
        std::fs::write(dir.join(name), "x".repeat(i + 1)).unwrap();
    }
    let output = crew_on(&hosts, &dir)
        .args(["-S", "h1,h2", "--trc", "{}.out"])
        .arg("wc -c < {} > {}.out")
        .arg(":::")
        .args(names)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    for (i, name) in names.iter().enumerate() {
        let back = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
        assert_eq!(back.trim(), (i + 1).to_string(), "{name}");
    }
    // --cleanup left nothing behind on the hosts.
    for i in 0..2 {
        let left: Vec<_> = std::fs::read_dir(&hosts.host(i).home)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "h{}: {left:?}", i + 1);
    }
}

#[test]
fn a_per_job_workdir_is_made_used_and_removed() {
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    std::fs::write(dir.join("in"), "data\n").unwrap();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "h1", "--wd", "...", "--trc", "{}.pwd"])
        .arg("pwd > {}.pwd; cat {} >> {}.pwd")
        .args([":::", "in"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let back = std::fs::read_to_string(dir.join("in.pwd")).unwrap();
    assert!(back.starts_with("/root/.parallel/tmp/"), "{back}");
    assert!(back.ends_with("data\n"), "{back}");
    let tmp = hosts.host(0).home.join(".parallel/tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
    // A named workdir is made if missing; `--basefile` lands in it.
    std::fs::write(dir.join("base"), "b\n").unwrap();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "h1", "--wd", "work/here", "--basefile", "base"])
        .args(["cat base; pwd", ":::", "1"])
        .output()
        .unwrap();
    assert_eq!(
        text(&output.stdout),
        "b\n/root/work/here\n",
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn nonall_and_onall_run_on_every_host_tagged_by_host() {
    let hosts = Hosts::start(2);
    let dir = hosts.scratch();
    for program in ["crew", "parallel"] {
        let mut command = match program {
            "crew" => Command::new(common::crew_path()),
            _ => {
                let mut c = Command::new("parallel");
                c.arg("--will-cite");
                c
            }
        };
        let nonall = command
            .args(["--ssh", &hosts.ssh(), "-S", "h1,h2", "--nonall", "--tag"])
            .arg("echo $PARALLEL_SSHHOST")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        // GNU prints the hosts in the order they finish.
        assert_eq!(
            sorted_lines(&text(&nonall.stdout)),
            ["h1\th1", "h2\th2"],
            "{program}"
        );
    }
    let onall = crew_on(&hosts, &dir)
        .args(["-S", "h1,h2", "--onall", "--tag", "echo", ":::", "x", "y"])
        .output()
        .unwrap();
    assert_eq!(text(&onall.stdout), "h1\tx\nh1\ty\nh2\tx\nh2\ty\n");
}

#[test]
fn env_sends_variables_and_functions() {
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    let output = crew_on(&hosts, &dir)
        .env("GREETING", "hello 'world'")
        .env("BASH_FUNC_shout%%", "() {  echo \"$1!\"\n}")
        .args(["-S", "h1", "--env", "GREETING", "--env", "shout"])
        .args(["echo $GREETING; shout {}", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(
        text(&output.stdout),
        "hello 'world'\na!\n",
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_timeout_kills_the_remote_job_too() {
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    let started = Instant::now();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "h1", "--timeout", "1", "--joblog", "log"])
        .args(["sleep 97; echo not reached", ":::", "1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(text(&output.stdout), "");
    let left = hosts.host(0).wait_gone("sleep 97", Duration::from_secs(10));
    assert!(left.is_empty(), "remote processes left: {left:?}");
    assert_eq!(joblog(&dir.join("log")).len(), 1);
}

#[test]
fn halt_now_kills_the_remote_jobs_too() {
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "3/h1", "--halt", "now,fail=1"])
        .args([
            "if [ {} = 1 ]; then exit 1; fi; sleep 98",
            ":::",
            "1",
            "2",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let left = hosts.host(0).wait_gone("sleep 98", Duration::from_secs(10));
    assert!(left.is_empty(), "remote processes left: {left:?}");
}

#[test]
fn a_host_killed_mid_run_loses_no_job() {
    let mut hosts = Hosts::start(2);
    let dir = hosts.scratch();
    let jobs = 24;
    let child = Command::new(common::crew_path())
        .args(["--ssh", &hosts.ssh(), "-S", "2/h1,2/h2", "--joblog", "log"])
        .arg("touch started.{}; sleep 0.3; echo {}")
        .arg(":::")
        .args((1..=jobs).map(|i| i.to_string()))
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until host 1 has started some jobs, then kill it.
    let deadline = Instant::now() + LIMIT;
    let home = hosts.host(0).home.clone();
    while std::fs::read_dir(&home).unwrap().count() < 3 {
        assert!(Instant::now() < deadline, "h1 never started jobs");
        std::thread::sleep(Duration::from_millis(10));
    }
    hosts.kill(0);
    let output = wait_with_deadline(child, deadline);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("h1 stopped answering"), "{stderr}");
    let expected: Vec<String> =
        sorted_lines(&(1..=jobs).map(|i| format!("{i}\n")).collect::<String>());
    assert_eq!(sorted_lines(&text(&output.stdout)), expected);
    let log = joblog(&dir.join("log"));
    let mut seqs: Vec<u64> = log.iter().map(|(s, _, _, _)| *s).collect();
    seqs.sort();
    assert_eq!(
        seqs,
        (1..=jobs as u64).collect::<Vec<_>>(),
        "one line per job"
    );
    assert!(log.iter().all(|(_, _, exitval, _)| *exitval == 0));
}

fn wait_with_deadline(mut child: std::process::Child, deadline: Instant) -> std::process::Output {
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!("crew did not finish in time: {}", text(&output.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn filter_hosts_drops_a_host_that_is_down() {
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    let output = crew_on(&hosts, &dir)
        .args(["--filter-hosts", "-S", "h1,down", "--joblog", "log"])
        .args(["echo", ":::", "a", "b", "c"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stderr), "");
    assert_eq!(sorted_lines(&text(&output.stdout)), ["a", "b", "c"]);
    assert!(joblog(&dir.join("log"))
        .iter()
        .all(|(_, h, _, _)| h == "h1"));
    // Without --filter-hosts the host is still left out, with a warning.
    let output = crew_on(&hosts, &dir)
        .args(["-S", "h1,down", "echo", ":::", "a"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(text(&output.stderr).contains("host down does not answer"));
    // No host at all: crew's error status.
    let output = crew_on(&hosts, &dir)
        .args(["-S", "down", "echo", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
}

#[test]
fn a_job_that_exits_255_itself_fails_without_dropping_its_host() {
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "1/h1", "-k", "--joblog", "log"])
        .args(["echo {}; exit {}", ":::", "255", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "255\n0\n");
    assert!(!text(&output.stderr).contains("dropped"));
    let log = joblog(&dir.join("log"));
    assert_eq!(log.len(), 2);
}

#[test]
fn a_login_file_and_its_forms_are_read() {
    let hosts = Hosts::start(2);
    let dir = hosts.scratch();
    std::fs::write(
        dir.join("hosts"),
        "# the test hosts\n1/h1\nroot@h2 # second\n",
    )
    .unwrap();
    let output = crew_on(&hosts, &dir)
        .args(["--slf", "hosts", "--joblog", "log", "--sshdelay", "0.01"])
        .args(["echo", ":::", "a", "b", "c", "d"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut seen: Vec<String> = joblog(&dir.join("log")).into_iter().map(|r| r.1).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["h1", "root@h2"]);
    // Without a master every job connects afresh, with the same result.
    let output = crew_on(&hosts, &dir)
        .args([
            "--no-controlmaster",
            "-S",
            "h1",
            "-k",
            "echo",
            ":::",
            "x",
            "y",
        ])
        .output()
        .unwrap();
    assert_eq!(text(&output.stdout), "x\ny\n", "{}", text(&output.stderr));
}

#[test]
fn a_changed_login_file_is_read_again() {
    let hosts = Hosts::start(2);
    let dir = hosts.scratch();
    std::fs::write(dir.join("hosts"), "1/h1\n").unwrap();
    let child = Command::new(common::crew_path())
        .args(["--ssh", &hosts.ssh(), "--slf", "hosts", "--joblog", "log"])
        .arg("touch started.{}; sleep 0.3")
        .arg(":::")
        .args((1..=12).map(|i| i.to_string()))
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + LIMIT;
    while std::fs::read_dir(&hosts.host(0).home).unwrap().count() < 1 {
        assert!(Instant::now() < deadline, "h1 never started a job");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::write(dir.join("hosts"), "1/h1\n2/h2\n").unwrap();
    let output = wait_with_deadline(child, deadline);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let log = joblog(&dir.join("log"));
    assert_eq!(log.len(), 12);
    assert!(
        log.iter().any(|(_, host, _, _)| host == "h2"),
        "the added host ran jobs: {log:?}"
    );
}

#[test]
fn ctrl_c_stops_the_remote_jobs_and_the_master() {
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    let child = Command::new(common::crew_path())
        .args(["--ssh", &hosts.ssh(), "-S", "2/h1"])
        .args(["touch started.{}; sleep 96", ":::", "1", "2"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + LIMIT;
    while std::fs::read_dir(&hosts.host(0).home).unwrap().count() < 2 {
        assert!(Instant::now() < deadline, "the jobs never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: 1. kill has no memory-safety preconditions; 2. the pid is
    // our own unreaped child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let output = wait_with_deadline(child, deadline);
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    let left = hosts.host(0).wait_idle(Duration::from_secs(10));
    assert!(left.is_empty(), "left on the host: {left:?}");
}

#[test]
fn a_retry_goes_to_a_host_the_job_has_not_failed_on() {
    let hosts = Hosts::start(2);
    let dir = hosts.scratch();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "1/h1,1/h2", "--retries", "2", "--joblog", "log", "-k"])
        .arg("[ $PARALLEL_SSHHOST = h1 ] && exit 1; echo {} on $PARALLEL_SSHHOST")
        .args([":::", "a", "b", "c"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "a on h2\nb on h2\nc on h2\n");
    let log = joblog(&dir.join("log"));
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|(_, host, exitval, _)| host == "h2" && *exitval == 0));
}

#[test]
fn pipe_blocks_reach_remote_jobs() {
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "h1", "--pipe", "-N", "3", "-k", "wc", "-l"])
        .write_stdin((1..=10).map(|i| format!("{i}\n")).collect::<String>())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "3\n3\n3\n1\n");
}

#[test]
fn basefiles_are_sent_once_and_cleaned_up() {
    let hosts = Hosts::start(2);
    let dir = hosts.scratch();
    std::fs::write(dir.join("table.db"), "rows\n").unwrap();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "h1,h2", "--basefile", "table.db", "--cleanup", "-k"])
        .args(["cat table.db; : {}", ":::", "1", "2", "3"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "rows\nrows\nrows\n");
    for i in 0..2 {
        assert!(!hosts.host(i).home.join("table.db").exists(), "h{}", i + 1);
    }
    // Without --cleanup it stays there.
    let output = crew_on(&hosts, &dir)
        .args(["-S", "h1", "--basefile", "table.db", "true", ":::", "1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(hosts.host(0).home.join("table.db").exists());
}

#[test]
fn workdir_dot_is_this_dir_on_the_host() {
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "h1", "--wd", ".", "pwd", ":::", "1"])
        .output()
        .unwrap();
    // The scratch dir is not below $HOME, so its absolute path is used.
    assert_eq!(
        text(&output.stdout).trim(),
        dir.canonicalize().unwrap().display().to_string(),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_host_with_more_slots_than_sshd_sessions_gets_more_masters() {
    // The test hosts keep sshd's default MaxSessions (10).
    let hosts = Hosts::start(1);
    let dir = hosts.scratch();
    let output = crew_on(&hosts, &dir)
        .args(["-S", "25/h1", "--joblog", "log"])
        .arg("sleep 0.5; echo {}")
        .arg(":::")
        .args((1..=25).map(|i| i.to_string()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stderr), "", "no session was refused");
    assert_eq!(sorted_lines(&text(&output.stdout)).len(), 25);
    let left = hosts.host(0).wait_idle(Duration::from_secs(10));
    assert!(left.is_empty(), "every master was closed: {left:?}");
}
