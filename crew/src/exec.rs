//! Running one command: spawn it in its own process group, wait for it
//! (with a deadline for `--timeout`), kill its whole group when asked.
//!
//! Invariants:
//! - Every job is the leader of a new process group, so a timeout, a halt
//!   or a forwarded Ctrl-C reaches everything it started (`sh -c 'a | b'`).
//! - A job's pid is in [`RunningJobs`] from spawn until it has exited, and
//!   it is reaped only after it left the table: the exit is first observed
//!   with `WNOWAIT` (the zombie keeps its pid), then the entry is removed
//!   under the table lock, then the child is reaped. So a signal sent through
//!   the table can never hit a recycled pid.
//! - Spawning goes through `std::process::Command` with no `pre_exec`, so std
//!   uses `posix_spawn` (vfork-like, cheap) with `POSIX_SPAWN_SETPGROUP`.
//! - Runtimes and timeouts are measured from just before the spawn and enforced with a pidfd and
//!   `ppoll`, so a job is signalled within about a millisecond of its
//!   deadline: TERM to the group, KILL to the group 200 ms later if the
//!   leader is still alive, and KILL to any stragglers once it is gone.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::template::CommandLine;

/// How long a job being stopped gets between one signal and the next
/// (SIGTERM, then SIGKILL).
pub const KILL_GRACE: Duration = Duration::from_millis(200);

/// How a job ended.
#[derive(Debug)]
pub enum Ending {
    /// It exited with this status.
    Exited(i32),
    /// It was killed by this signal (not by crew's timeout).
    Signaled(i32),
    /// crew killed it at its `--timeout`; the leader died of this signal.
    TimedOut(i32),
    /// It could not be started.
    NotStarted(io::Error),
    /// It ran, but its output could not be kept whole (a full filesystem,
    /// see [`crate::spool`]): a failure, exit value 255.
    OutputLost,
}

impl Ending {
    /// Whether the job succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, Ending::Exited(0))
    }

    /// GNU parallel's joblog `Exitval` (-1 when killed by a signal).
    pub fn exitval(&self) -> i32 {
        match self {
            Ending::Exited(code) => *code,
            Ending::Signaled(_) | Ending::TimedOut(_) => -1,
            Ending::NotStarted(error) if error.kind() == io::ErrorKind::NotFound => 127,
            Ending::NotStarted(_) => 126,
            Ending::OutputLost => 255,
        }
    }

    /// GNU parallel's joblog `Signal` (0 when none).
    pub fn signal(&self) -> i32 {
        match self {
            Ending::Signaled(signal) | Ending::TimedOut(signal) => *signal,
            Ending::Exited(_) | Ending::NotStarted(_) | Ending::OutputLost => 0,
        }
    }

    /// The status a shell would report: the exit code or 128 + signal.
    pub fn shell_status(&self) -> i32 {
        match self.signal() {
            0 => self.exitval(),
            signal => 128 + signal,
        }
    }
}

/// Where one of a job's standard streams goes.
#[derive(Clone, Copy)]
pub enum Sink<'a> {
    /// Into this (spool or results) file.
    File(&'a File),
    /// Straight to crew's own stream (`--ungroup`).
    Inherit,
    /// Into a pipe crew reads (`--line-buffer`).
    Pipe,
}

impl Sink<'_> {
    fn stdio(&self) -> io::Result<Stdio> {
        Ok(match self {
            Sink::File(file) => Stdio::from(file.try_clone()?),
            Sink::Inherit => Stdio::inherit(),
            Sink::Pipe => Stdio::piped(),
        })
    }
}

/// Finds programs in `PATH` once per name instead of once per job.
///
/// `posix_spawnp` tries every `PATH` directory in turn, one failed `execve`
/// each; with a long `PATH` that is a good part of a short job's cost. The
/// cache resolves a name the way `execvp` does (first executable regular
/// file on `PATH`) and the job runs that path with `argv[0]` unchanged. A
/// name not found stays unresolved, so the spawn reports it as usual.
#[derive(Debug, Default)]
pub struct ProgramCache {
    found: HashMap<Vec<u8>, Option<PathBuf>>,
    path: Option<Vec<PathBuf>>,
}

impl ProgramCache {
    /// The full path for `name`, if it is a bare name found on `PATH`.
    pub fn resolve(&mut self, name: &[u8]) -> Option<PathBuf> {
        if name.is_empty() || name.contains(&b'/') {
            return None;
        }
        if let Some(found) = self.found.get(name) {
            return found.clone();
        }
        let dirs = self.path.get_or_insert_with(|| {
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default()
        });
        let found = dirs
            .iter()
            .map(|dir| dir.join(OsStr::from_bytes(name)))
            .find(|candidate| {
                std::fs::metadata(candidate)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            });
        self.found.insert(name.to_vec(), found.clone());
        found
    }
}

/// Everything needed to start one attempt of a job.
pub struct Launch<'a> {
    /// What to run.
    pub command: &'a CommandLine,
    /// `argv[0]` found on `PATH` by [`ProgramCache`], for direct commands.
    pub program: Option<&'a Path>,
    /// The shell for [`CommandLine::Shell`].
    pub shell: &'a OsStr,
    /// `CREW_SEQ`.
    pub seq: u64,
    /// `CREW_SLOT`, and the job's entry in [`RunningJobs`].
    pub slot: usize,
    /// `--process-slot-var`: a variable holding the slot, from 0.
    pub slot_var: Option<&'a OsStr>,
    /// The job's stdin: a `--pipe` block, else `/dev/null`.
    pub stdin: Option<&'a File>,
    /// Instead of `/dev/null`: a pipe crew holds open (a remote job's ssh,
    /// whose remote side ends the job when its stdin ends).
    pub stdin_pipe: Option<&'a std::os::fd::OwnedFd>,
    /// The job's stdout.
    pub stdout: Sink<'a>,
    /// The job's stderr.
    pub stderr: Sink<'a>,
}

/// A started job.
pub struct Running {
    /// The child; its stdout/stderr are set when they are pipes.
    pub child: Child,
    started: Instant,
}

/// Starts an attempt and enters it in `jobs`.
///
/// # Errors
///
/// The command could not be started (not executable, ...).
pub fn spawn(launch: &Launch<'_>, jobs: &RunningJobs) -> io::Result<Running> {
    match spawn_once(launch, jobs) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let CommandLine::Direct(argv) = launch.command else {
                return Err(error);
            };
            // GNU runs every command with the shell: a program that is not
            // there gets the shell's own message and status 127.
            let mut script = Vec::new();
            for (i, word) in argv.iter().enumerate() {
                if i > 0 {
                    script.push(b' ');
                }
                crate::quote::quote_into(&mut script, word, crate::quote::QuoteContext::Bare);
            }
            let command = CommandLine::Shell(script);
            let fallback = Launch {
                command: &command,
                program: None,
                ..*launch
            };
            spawn_once(&fallback, jobs)
        }
        other => other,
    }
}

fn spawn_once(launch: &Launch<'_>, jobs: &RunningJobs) -> io::Result<Running> {
    let mut command = match launch.command {
        CommandLine::Direct(argv) => {
            let mut command = match launch.program {
                Some(path) => {
                    let mut command = Command::new(path);
                    command.arg0(OsStr::from_bytes(&argv[0]));
                    command
                }
                None => Command::new(OsStr::from_bytes(&argv[0])),
            };
            command.args(argv[1..].iter().map(|a| OsStr::from_bytes(a)));
            command
        }
        CommandLine::Shell(script) => {
            let mut command = Command::new(launch.shell);
            command.arg("-c");
            if script.starts_with(b"-") || script.starts_with(b"+") {
                // A script starting like an option (an empty first word,
                // GNU's ` --x`) would be taken for one: a space keeps it
                // the shell's command.
                let mut spaced = b" ".to_vec();
                spaced.extend_from_slice(script);
                command.arg(OsStr::from_bytes(&spaced));
            } else {
                command.arg(OsStr::from_bytes(script));
            }
            command
        }
    };
    command
        .env("CREW_SEQ", launch.seq.to_string())
        .env("CREW_SLOT", launch.slot.to_string())
        .env("PARALLEL_SEQ", launch.seq.to_string())
        .env("PARALLEL_JOBSLOT", launch.slot.to_string())
        .env("PARALLEL_PID", std::process::id().to_string());
    if let Some(name) = launch.slot_var {
        // GNU's --process-slot-var counts slots from 0.
        command.env(name, (launch.slot - 1).to_string());
    }
    // A `--pipe` block reaches the job through a pipe, as in GNU parallel
    // (programs like `wc` behave differently on a regular file); a
    // feeder thread copies the block's spool file into it.
    let feed = match launch.stdin {
        Some(file) => {
            let (reader, writer) = std::io::pipe()?;
            command.stdin(Stdio::from(reader));
            Some((file.try_clone()?, writer))
        }
        None => {
            match launch.stdin_pipe {
                Some(fd) => command.stdin(Stdio::from(fd.try_clone()?)),
                None => command.stdin(Stdio::null()),
            };
            None
        }
    };
    command
        .process_group(0)
        .stdout(launch.stdout.stdio()?)
        .stderr(launch.stderr.stdio()?);
    // Read before the spawn: the job's runtime and its --timeout count
    // from the moment it was asked for, never less than it really ran.
    let started = Instant::now();
    jobs.spawning(started);
    let child = command.spawn()?;
    drop(command);
    if let Some((mut block, mut writer)) = feed {
        // A job that stops reading ends the copy with EPIPE: that is the
        // job's choice, as with GNU parallel.
        let _ = std::thread::Builder::new()
            .name("crew-feed".into())
            .stack_size(64 * 1024)
            .spawn(move || std::io::copy(&mut block, &mut writer));
    }
    jobs.enter(launch.slot, child.id() as i32);
    Ok(Running { child, started })
}

impl Running {
    /// When the job started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Waits for the job to end, killing its group at `timeout` after its
    /// start, and reaps it. Also tells whether processes the job started are
    /// still alive in its group (a `cmd &` left behind): they may still
    /// write to the job's stdout/stderr files.
    pub fn wait(
        self,
        timeout: Option<Duration>,
        slot: usize,
        jobs: &RunningJobs,
    ) -> (Ending, bool) {
        let pid = self.child.id() as i32;
        let ending = self.wait_leader(timeout, slot, jobs);
        // SAFETY: 1. kill with signal 0 only checks for existence; 2. the
        // leader is reaped, so the group exists only if members remain (a
        // recycled pid can only make this answer "yes", the safe side).
        let has_stragglers = unsafe { libc::kill(-pid, 0) } == 0;
        (ending, has_stragglers)
    }

    fn wait_leader(mut self, timeout: Option<Duration>, slot: usize, jobs: &RunningJobs) -> Ending {
        let pid = self.child.id() as i32;
        let is_timed_out = match timeout {
            None => {
                wait_exit(pid, None);
                if jobs.doom() != 0 {
                    end_stragglers(pid);
                }
                false
            }
            Some(timeout) => {
                let deadline = self.started + timeout;
                let pidfd = open_pidfd(pid);
                if wait_exit_fd(pidfd.as_ref(), pid, Some(deadline)) {
                    if jobs.doom() != 0 {
                        end_stragglers(pid);
                    }
                    false
                } else {
                    signal_group(pid, libc::SIGTERM);
                    if !wait_exit_fd(pidfd.as_ref(), pid, Some(Instant::now() + KILL_GRACE)) {
                        signal_group(pid, libc::SIGKILL);
                        wait_exit(pid, None);
                    }
                    // The leader is a zombie: its group id cannot be reused
                    // yet, so stragglers can be killed safely.
                    signal_group(pid, libc::SIGKILL);
                    true
                }
            }
        };
        jobs.leave(slot);
        let status = loop {
            match self.child.wait() {
                Ok(status) => break status,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Ending::NotStarted(error),
            }
        };
        match (status.code(), status.signal()) {
            (_, Some(signal)) if is_timed_out => Ending::TimedOut(signal),
            (Some(code), _) if is_timed_out => {
                Ending::TimedOut(if code == 0 { libc::SIGTERM } else { code })
            }
            (Some(code), _) => Ending::Exited(code),
            (None, Some(signal)) => Ending::Signaled(signal),
            (None, None) => Ending::Exited(255),
        }
    }
}

/// Terminates what is left in the group of the exited, unreaped leader
/// `pid` (crew is stopping): SIGTERM, then SIGKILL after [`KILL_GRACE`]
/// if anything survives. The zombie leader keeps the group id from being
/// reused meanwhile.
fn end_stragglers(pid: i32) {
    let deadline = Instant::now() + KILL_GRACE;
    signal_group(pid, libc::SIGTERM);
    // SAFETY: 1. signal 0 only checks that the group has members.
    while unsafe { libc::kill(-pid, 0) } == 0 {
        if Instant::now() >= deadline {
            signal_group(pid, libc::SIGKILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn signal_group(pid: i32, signal: i32) {
    // SAFETY: 1. kill has no memory-safety preconditions; 2. `pid` is an
    // unreaped child of ours (see the module invariants), so the group id
    // is ours to signal.
    unsafe {
        libc::kill(-pid, signal);
    }
}

/// Blocks until `pid` has exited or `deadline` passed, without reaping it.
/// Returns whether it exited.
fn wait_exit(pid: i32, deadline: Option<Instant>) -> bool {
    if deadline.is_some() {
        return wait_exit_fd(open_pidfd(pid).as_ref(), pid, deadline);
    }
    loop {
        // SAFETY: 1. `info` is a valid, writable siginfo_t; 2. waitid with
        // WNOWAIT leaves the child unreaped, as the module invariants need.
        let result = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if result == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return true;
        }
    }
}

fn open_pidfd(pid: i32) -> Option<OwnedFd> {
    // SAFETY: 1. pidfd_open takes two integers and returns a new fd or -1;
    // 2. a new fd is owned by nobody else, so OwnedFd may close it.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
        (fd >= 0).then(|| OwnedFd::from_raw_fd(fd as i32))
    }
}

/// Like [`wait_exit`] with a deadline, on a pidfd (polling `waitid` every
/// millisecond on kernels without pidfds).
fn wait_exit_fd(pidfd: Option<&OwnedFd>, pid: i32, deadline: Option<Instant>) -> bool {
    let Some(deadline) = deadline else {
        return wait_exit(pid, None);
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match pidfd {
            Some(fd) => {
                let mut poll = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                let timeout = libc::timespec {
                    tv_sec: left.as_secs() as libc::time_t,
                    tv_nsec: left.subsec_nanos() as libc::c_long,
                };
                // SAFETY: 1. `poll` and `timeout` are valid for the call;
                // 2. a null sigmask means the mask is unchanged.
                let ready = unsafe { libc::ppoll(&mut poll, 1, &timeout, std::ptr::null()) };
                if ready > 0 {
                    return true;
                }
                if ready == 0 {
                    return false;
                }
            }
            None => {
                // SAFETY: as in `wait_exit`, plus WNOHANG returns at once.
                let exited = unsafe {
                    let mut info: libc::siginfo_t = std::mem::zeroed();
                    let flags = libc::WEXITED | libc::WNOWAIT | libc::WNOHANG;
                    libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) == 0
                        && info.si_pid() != 0
                };
                if exited {
                    return true;
                }
                if left.is_zero() {
                    return false;
                }
                std::thread::sleep(left.min(Duration::from_millis(1)));
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
}

/// The running jobs' process groups, by slot, for forwarding signals and
/// halting.
#[derive(Debug)]
pub struct RunningJobs {
    pids: Mutex<Vec<i32>>,
    /// A signal every job entering from now on receives at once (0: none).
    doom: AtomicI32,
    /// When the latest job was spawned (`--delay` counts from it).
    last_spawn: Mutex<Option<Instant>>,
}

impl RunningJobs {
    /// Records that a job is being spawned at `now`.
    fn spawning(&self, now: Instant) {
        let mut last = self.last_spawn.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|last| last < now) {
            *last = Some(now);
        }
    }

    /// When the latest job was spawned, if any was.
    pub fn last_spawn(&self) -> Option<Instant> {
        *self.last_spawn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A table with `slots` slots, numbered from 1.
    pub fn new(slots: usize) -> RunningJobs {
        RunningJobs {
            pids: Mutex::new(vec![0; slots + 1]),
            doom: AtomicI32::new(0),
            last_spawn: Mutex::new(None),
        }
    }

    fn enter(&self, slot: usize, pid: i32) {
        let mut pids = self.pids.lock().unwrap_or_else(|e| e.into_inner());
        pids[slot] = pid;
        // Relaxed is enough: `doom` is written under this lock (`signal_all`).
        let doom = self.doom.load(Ordering::Relaxed);
        if doom != 0 {
            signal_group(pid, doom);
        }
    }

    /// The signal every job gets once crew is stopping (0: not stopping).
    fn doom(&self) -> i32 {
        // Relaxed: a job that misses a doom set at this instant is signalled
        // by `signal_all` itself, which holds the table lock it waits for.
        self.doom.load(Ordering::Relaxed)
    }

    fn leave(&self, slot: usize) {
        self.pids.lock().unwrap_or_else(|e| e.into_inner())[slot] = 0;
    }

    /// Sends `signal` to every running job's group; with `sticky`, also to
    /// every job that starts later (a job spawned while crew was halting).
    pub fn signal_all(&self, signal: i32, sticky: bool) {
        let pids = self.pids.lock().unwrap_or_else(|e| e.into_inner());
        if sticky {
            self.doom.store(signal, Ordering::Relaxed);
        }
        for &pid in pids.iter().filter(|&&pid| pid != 0) {
            signal_group(pid, signal);
        }
    }
}
