//! Helpers shared by crew's integration tests: the binary under test, a
//! scratch directory, and peak-memory measurement.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Every crew run in the tests is killed after this long: a hang is a
/// failure, never a stuck test suite.
pub const LIMIT: Duration = Duration::from_secs(60);

/// The crew binary built for these tests.
pub fn crew_path() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_crew"))
}

/// `crew` with the given arguments, ready to run under [`LIMIT`].
pub fn crew<I, S>(args: I) -> assert_cmd::Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = assert_cmd::Command::new(crew_path());
    command.args(args).timeout(LIMIT).env_remove("CREW_SHELL");
    command
}

/// Runs crew and returns its stdout as text, asserting success.
pub fn stdout_of<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output = crew(args).output().expect("crew runs");
    assert!(
        output.status.success(),
        "crew failed with {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// A scratch directory removed at the end of the test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// Lines of `text`, sorted, for order-insensitive comparisons.
pub fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// What a measured run produced.
pub struct Measured {
    /// Exit code.
    pub code: Option<i32>,
    /// Bytes crew wrote to stdout.
    pub stdout_bytes: u64,
    /// Peak resident memory of crew (or of its largest job, if larger), KiB,
    /// when `/usr/bin/time` is there to measure it.
    pub peak_rss_kib: Option<u64>,
    /// What crew wrote to stderr.
    pub stderr: String,
}

/// The marker `/usr/bin/time` prints before the peak RSS.
const RSS_MARKER: &str = "crew-peak-rss-kib:";

/// Runs crew with `stdin` (a file, or none), counting its stdout bytes
/// without keeping them.
///
/// The peak RSS comes from `/usr/bin/time`, a small process that forks
/// crew: measuring from the test process itself would count the test's own
/// memory, which a `posix_spawn`ed child inherits as its high-water mark
/// until it execs.
pub fn measure(args: &[&str], stdin: Option<PathBuf>) -> Measured {
    use std::io::Read;
    let time = Path::new("/usr/bin/time");
    let mut command = if time.is_file() {
        let mut command = std::process::Command::new(time);
        command
            .args(["-f", &format!("{RSS_MARKER}%M")])
            .arg(crew_path());
        command
    } else {
        eprintln!("note: /usr/bin/time is missing; peak memory is not checked");
        std::process::Command::new(crew_path())
    };
    let mut child = command
        .args(args)
        .stdin(match &stdin {
            Some(path) => Stdio::from(std::fs::File::open(path).expect("stdin file")),
            None => Stdio::null(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("crew starts");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let counter = std::thread::spawn(move || {
        let mut buffer = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            match stdout.read(&mut buffer) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n as u64,
            }
        }
    });
    let mut errors = String::new();
    let _ = stderr.read_to_string(&mut errors);
    let status = child.wait().expect("crew ends");
    let mut peak_rss_kib = None;
    let mut stderr_lines = Vec::new();
    for line in errors.lines() {
        match line.strip_prefix(RSS_MARKER) {
            Some(kib) => peak_rss_kib = kib.trim().parse().ok(),
            None if line.starts_with("Command exited with non-zero status") => {}
            None => stderr_lines.push(line),
        }
    }
    Measured {
        code: status.code(),
        stdout_bytes: counter.join().expect("counter"),
        peak_rss_kib,
        stderr: stderr_lines.join("\n"),
    }
}

/// Whether a program is on PATH.
pub fn has_program(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false)
}
