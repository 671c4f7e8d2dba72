//! crew against GNU parallel, live: the same command lines run with
//! both, and their output, error output and exit status must be
//! byte-identical (after removing timing values).
//!
//! Each case is a `bash` command line that calls `parallel`: once with
//! GNU parallel first on `PATH`, once with crew installed as `parallel`
//! (a symlink, so crew prints GNU's `parallel:` prefix where GNU prints
//! one). Both run in an empty scratch directory with a scratch `$HOME`
//! holding `.parallel/will-cite` (GNU's citation notice is off), stdin
//! from `/dev/null`, and a deadline: a hang is a failure.
//!
//! - `gnu_compat/quick.txt`: one or more cases per fixed difference,
//!   run by `cargo test` (CI installs GNU parallel; without it the test
//!   fails and says so).
//! - GNU parallel's own regression command lines (ignored test): they
//!   are not stored here (they are GNU's); [`extract`] picks them at run
//!   time out of a checkout of GNU parallel's source named by
//!   `GNU_PARALLEL_SRC` (the lines that use only options crew accepts,
//!   then only those GNU prints the same way twice in a row). Run
//!
//!   ```text
//!   git clone https://git.savannah.gnu.org/git/parallel.git /tmp/gnu-parallel
//!   GNU_PARALLEL_SRC=/tmp/gnu-parallel \
//!     cargo test -p workcrew-cli --test gnu_compat -- --ignored --nocapture
//!   ```
//!
//!   to print the differing lines and the share that is byte-identical
//!   (the target is 95 %). `GNU_COMPAT_CREW=/path/to/crew` compares
//!   another crew build instead of the one just built. Without `GNU_PARALLEL_SRC` the test fails and
//!   says what to set.

mod common;
#[path = "gnu_compat/extract.rs"]
mod extract;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one run of one case may take.
const CASE_LIMIT: Duration = Duration::from_secs(20);

/// Helpers GNU's test scripts use.
const PRELUDE: &str = "stdout() { \"$@\" 2>&1; }\n\
                       stderr() { \"$@\" 2>&1 >/dev/null; }\n\
                       stdsort() { \"$@\" 2>&1 | LC_ALL=C sort; }\n\
                       export -f stdout stderr stdsort\n";

/// What one run printed.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Replaces timing values (`1.234`, the joblog's start times and run
/// times) by `N.NNN`.
fn normalize(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let timing = regex::Regex::new(r"\d+\.\d{3}\b").expect("a valid regex");
    timing.replace_all(&text, "N.NNN").into_owned()
}

/// The directories that put each `parallel` first on `PATH`.
struct Setup {
    _root: tempfile::TempDir,
    gnu_path: String,
    crew_path: String,
    home: PathBuf,
}

fn setup() -> Setup {
    let gnu = which("parallel").unwrap_or_else(|| {
        panic!("GNU parallel is not installed (apt-get install parallel): the comparison needs it")
    });
    let root = common::scratch();
    let gnu_bin = root.path().join("gnu");
    let crew_bin = root.path().join("crew");
    let home = root.path().join("home");
    for dir in [&gnu_bin, &crew_bin, &home.join(".parallel")] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(home.join(".parallel/will-cite"), "").unwrap();
    std::os::unix::fs::symlink(&gnu, gnu_bin.join("parallel")).unwrap();
    std::os::unix::fs::symlink(crew_under_test(), crew_bin.join("parallel")).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    Setup {
        gnu_path: format!("{}:{path}", gnu_bin.display()),
        crew_path: format!("{}:{path}", crew_bin.display()),
        home,
        _root: root,
    }
}

/// The crew compared: `$GNU_COMPAT_CREW` if set (another build, e.g. an
/// older one for a before/after figure), else the one just built.
fn crew_under_test() -> PathBuf {
    std::env::var_os("GNU_COMPAT_CREW")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::crew_path().to_path_buf())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .filter(|candidate| !candidate.starts_with(env!("CARGO_MANIFEST_DIR")))
}

/// Names each run in its processes' environment, so that what a run left
/// behind (a `cmd &`, or a process that left the group) can be found.
static RUN_ID: AtomicUsize = AtomicUsize::new(0);

/// Kills every process whose environment holds `marker` (`KEY=VALUE`).
fn kill_marked(marker: &[u8]) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|&b| b == 0).any(|var| var == marker) {
            // SAFETY: 1. kill has no memory-safety preconditions; 2. the
            // process carries this run's marker, so it is one of ours.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Runs `case` with `path`; a run past [`CASE_LIMIT`] has its process
/// group killed and reports status `None` with `TIMEOUT` as its output.
/// Processes the run left behind are killed once it ended, either way.
fn run(case: &str, path: &str, home: &Path) -> Outcome {
    let marker = format!(
        "{}-{}",
        std::process::id(),
        // Relaxed: only a unique number.
        RUN_ID.fetch_add(1, Ordering::Relaxed)
    );
    run_marked(case, path, home, &marker)
}

fn run_marked(case: &str, path: &str, home: &Path, marker: &str) -> Outcome {
    use std::os::unix::process::CommandExt;
    let dir = common::scratch();
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("{PRELUDE}{case}"))
        .current_dir(dir.path())
        .env("PATH", path)
        .env("HOME", home)
        .env("GNU_COMPAT_RUN", marker)
        .env_remove("PARALLEL")
        .env_remove("CREW_SHELL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("bash starts");
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("piped")));
    let err = reader(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + CASE_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // SAFETY: 1. kill has no memory-safety preconditions; 2. the
            // group is the case's own (process_group(0) above).
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    // What the run left behind would hold the pipes open: it goes too.
    kill_marked(format!("GNU_COMPAT_RUN={marker}").as_bytes());
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    match status {
        None => Outcome {
            status: None,
            stdout: "TIMEOUT".into(),
            stderr: String::new(),
        },
        Some(status) => Outcome {
            status: status.code(),
            stdout: normalize(&stdout),
            stderr: normalize(&stderr),
        },
    }
}

/// The cases of a list: one command line per line, `#` comments.
fn cases(file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/gnu_compat")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Runs `work` on every case, 8 at a time (most of a case is waiting);
/// returns what it kept, in no particular order.
fn each_case<T: Send>(cases: &[String], work: impl Fn(&String) -> Option<T> + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let kept = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| loop {
                // Relaxed: only a ticket; the scope's join publishes results.
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                if let Some(result) = work(case) {
                    kept.lock().unwrap().push(result);
                }
            });
        }
    });
    kept.into_inner().unwrap()
}

/// Runs every case with both; returns the cases that differ, with both
/// outcomes.
fn compare(cases: &[String]) -> Vec<(String, Outcome, Outcome)> {
    let setup = setup();
    each_case(cases, |case| {
        let gnu = run(case, &setup.gnu_path, &setup.home);
        let crew = run(case, &setup.crew_path, &setup.home);
        (gnu != crew).then(|| (case.clone(), gnu, crew))
    })
}

fn describe(differences: &[(String, Outcome, Outcome)]) -> String {
    differences
        .iter()
        .map(|(case, gnu, crew)| format!("\n$ {case}\n  GNU:  {gnu:?}\n  crew: {crew:?}"))
        .collect()
}

#[test]
fn crew_prints_what_gnu_parallel_prints_for_each_fixed_difference() {
    let cases = cases("quick.txt");
    assert!(cases.len() >= 40, "quick.txt lost its cases");
    let differences = compare(&cases);
    assert!(
        differences.is_empty(),
        "{} of {} command lines differ from GNU parallel:{}",
        differences.len(),
        cases.len(),
        describe(&differences)
    );
}

#[test]
#[ignore = "needs GNU_PARALLEL_SRC and takes minutes: run with --ignored"]
fn gnu_parallels_own_regression_command_lines_give_the_same_output() {
    let src = std::env::var_os("GNU_PARALLEL_SRC").unwrap_or_else(|| {
        panic!(
            "set GNU_PARALLEL_SRC to a checkout of GNU parallel's source \
             (git clone https://git.savannah.gnu.org/git/parallel.git): \
             its testsuite/tests-to-run holds the command lines compared"
        )
    });
    let lines = extract::regression_lines(Path::new(&src), &crew_under_test());
    assert!(!lines.is_empty(), "no command lines found under {src:?}");
    let setup = setup();
    let mut unstable = 0;
    let mut differences = Vec::new();
    let mut compared = 0;
    for result in each_case(&lines, |case| {
        let first = run(case, &setup.gnu_path, &setup.home);
        let second = run(case, &setup.gnu_path, &setup.home);
        if first != second || first.status.is_none() {
            return Some(None);
        }
        let crew = run(case, &setup.crew_path, &setup.home);
        Some(Some((case.clone(), first, crew)))
    }) {
        match result {
            None => unstable += 1,
            Some((case, gnu, crew)) => {
                compared += 1;
                if gnu != crew {
                    differences.push((case, gnu, crew));
                }
            }
        }
    }
    differences.sort_by(|a, b| a.0.cmp(&b.0));
    let same = compared - differences.len();
    let share = same as f64 * 100.0 / compared.max(1) as f64;
    println!("{}", describe(&differences));
    println!(
        "{same} of {compared} GNU parallel regression command lines byte-identical ({share:.1} %); \
         {unstable} of {} left out (GNU parallel printed them differently twice, or did not end)",
        lines.len()
    );
    assert!(
        share >= 95.0,
        "{share:.1} % identical, below the 95 % target"
    );
}
