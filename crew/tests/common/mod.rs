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

/// Runs crew with `args` and asserts it refuses them: status 255 and a
/// one-line message on stderr; returns that message and crew's stdout.
pub fn one_line_error<I, S>(args: I) -> (String, Vec<u8>)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let output = crew(&args).output().expect("crew runs");
    assert_eq!(output.status.code(), Some(255), "{args:?}");
    let stderr = String::from_utf8(output.stderr).expect("utf-8 errors");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    (stderr, output.stdout)
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
    /// Exit code (`None` if crew died of a signal).
    pub code: Option<i32>,
    /// Bytes crew wrote to stdout.
    pub stdout_bytes: u64,
    /// The first [`KEPT_STDOUT`] bytes of crew's stdout.
    pub stdout_start: Vec<u8>,
    /// crew's peak resident memory (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// What crew wrote to stderr.
    pub stderr: String,
}

/// How much of crew's stdout [`measure`] keeps.
pub const KEPT_STDOUT: usize = 1 << 20;

/// Runs crew with `stdin` (a file, or none), counting its stdout bytes
/// and keeping only the first [`KEPT_STDOUT`], and measures crew's peak resident memory.
///
/// The peak is crew's own `VmHWM`, read from `/proc` at the moment it exits:
/// crew runs under `ptrace` with `PTRACE_O_TRACEEXIT`, which stops it just
/// before its memory is torn down. The rusage a parent gets from `wait4` or
/// `getrusage(RUSAGE_CHILDREN)` would not do: a `posix_spawn`ed (vfork)
/// child inherits the test process's own high-water mark when it execs, and
/// a forked one starts from the test's current size, other tests' buffers
/// included. Panics if the peak cannot be measured: a memory check never
/// passes by being skipped.
pub fn measure(args: &[&str], stdin: Option<PathBuf>) -> Measured {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(crew_path());
    command
        .args(args)
        .env_remove("CREW_SHELL")
        .stdin(match &stdin {
            Some(path) => Stdio::from(std::fs::File::open(path).expect("stdin file")),
            None => Stdio::null(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: 1. the closure runs in the forked child before exec and only
    // makes one raw system call, which is async-signal-safe; 2. the null
    // pointers are the arguments PTRACE_TRACEME ignores.
    unsafe {
        command.pre_exec(|| {
            let traced = libc::ptrace(
                libc::PTRACE_TRACEME,
                0,
                std::ptr::null_mut::<libc::c_void>(),
                std::ptr::null_mut::<libc::c_void>(),
            );
            if traced == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Reaped by `trace_until_exit`: a tracee is waited for with waitpid.
    #[allow(clippy::zombie_processes)]
    let mut child = command.spawn().expect("crew starts");
    let pid = child.id() as i32;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let counter = std::thread::spawn(move || {
        let mut buffer = vec![0u8; 1 << 16];
        let (mut total, mut kept) = (0u64, Vec::new());
        loop {
            match stdout.read(&mut buffer) {
                Ok(0) | Err(_) => return (total, kept),
                Ok(n) => {
                    total += n as u64;
                    let room = KEPT_STDOUT - kept.len();
                    kept.extend_from_slice(&buffer[..n.min(room)]);
                }
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (done, watchdog) = kill_after(pid, LIMIT);
    let (code, peak) = trace_until_exit(pid);
    drop(done);
    let _ = watchdog.join();
    let (stdout_bytes, stdout_start) = counter.join().expect("counter");
    Measured {
        code,
        stdout_bytes,
        stdout_start,
        peak_rss_kib: peak.expect("crew's peak memory is read when it exits"),
        stderr: errors.join().expect("stderr reader"),
    }
}

/// A watchdog: SIGKILLs `pid` after `limit` unless the returned sender is
/// dropped first.
fn kill_after(
    pid: i32,
    limit: Duration,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
            // SAFETY: 1. kill has no memory-safety preconditions; 2. `pid`
            // is our traced child, not reaped while this thread waits.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    });
    (done, watchdog)
}

/// Runs the traced child `pid` to its end, passing on every signal it gets;
/// returns its exit code and its `VmHWM` (KiB) read at the exit stop.
fn trace_until_exit(pid: i32) -> (Option<i32>, Option<u64>) {
    let mut peak = None;
    let mut has_options = false;
    loop {
        let mut status = 0;
        // SAFETY: 1. `status` is a valid, writable int for the call.
        if unsafe { libc::waitpid(pid, &mut status, libc::__WALL) } == -1 {
            let error = std::io::Error::last_os_error();
            assert_eq!(
                error.kind(),
                std::io::ErrorKind::Interrupted,
                "waitpid: {error}"
            );
            continue;
        }
        if libc::WIFEXITED(status) {
            return (Some(libc::WEXITSTATUS(status)), peak);
        }
        if libc::WIFSIGNALED(status) {
            return (None, peak);
        }
        assert!(
            libc::WIFSTOPPED(status),
            "unexpected wait status {status:#x}"
        );
        let signal = libc::WSTOPSIG(status);
        let event = status >> 16;
        let mut pass_on = 0;
        if event == libc::PTRACE_EVENT_EXIT {
            peak = peak_rss_kib(pid);
        } else if signal == libc::SIGTRAP && !has_options {
            // The stop after exec: from now on, stop again at the exit.
            let options = libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL;
            // SAFETY: 1. `pid` is our stopped tracee; 2. the address is
            // ignored and the data is the options word.
            let set = unsafe {
                libc::ptrace(
                    libc::PTRACE_SETOPTIONS,
                    pid,
                    std::ptr::null_mut::<libc::c_void>(),
                    options as usize as *mut libc::c_void,
                )
            };
            assert_eq!(
                set,
                0,
                "PTRACE_SETOPTIONS: {}",
                std::io::Error::last_os_error()
            );
            has_options = true;
        } else {
            pass_on = signal;
        }
        // SAFETY: 1. `pid` is our stopped tracee; 2. the data is the signal
        // to deliver (0: none).
        unsafe {
            libc::ptrace(
                libc::PTRACE_CONT,
                pid,
                std::ptr::null_mut::<libc::c_void>(),
                pass_on as usize as *mut libc::c_void,
            );
        }
    }
}

/// `VmHWM` of a live (or exit-stopped) process, KiB.
fn peak_rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Whether a program is on PATH.
pub fn has_program(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false)
}

/// The pid a job wrote into `file` (`echo $! > file`).
pub fn pid_in(file: &Path) -> i32 {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("the job wrote no pid to {}: {e}", file.display()));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{}: `{text}` is not a pid: {e}", file.display()))
}

/// Whether process `pid` is gone: no such process, or a zombie that only
/// waits for its new parent to reap it.
pub fn is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state is the first field after the parenthesised name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Asserts that `pid` is gone within `within` (polling /proc), and kills it
/// if it is not, so a failing test leaves no process behind.
pub fn assert_gone_within(pid: i32, within: Duration, what: &str) {
    let deadline = std::time::Instant::now() + within;
    while !is_gone(pid) {
        if std::time::Instant::now() >= deadline {
            // SAFETY: 1. kill has no memory-safety preconditions; 2. the pid
            // is the job's straggler, still alive a moment ago.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            panic!("{what} (pid {pid}) is still alive {within:?} after crew returned");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
