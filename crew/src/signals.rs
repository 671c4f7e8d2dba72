//! Ctrl-C and friends: SIGINT, SIGTERM and SIGHUP stop crew cleanly.
//!
//! Jobs run in their own process groups (see [`crate::exec`]), so a
//! terminal's Ctrl-C reaches only crew; crew forwards it. The first signal
//! stops new starts and is forwarded to every running job's group (and to
//! any job that manages to start afterwards). It is followed by SIGTERM
//! and then SIGKILL, [`crate::exec::KILL_GRACE`] apart, to the jobs still
//! running: `sh` starts `cmd &` children with SIGINT ignored, and a job
//! may trap the signal. A job whose leader exits while crew is stopping has
//! whatever it left in its group (`cmd &`) terminated the same way before
//! it is reaped. A second signal sends SIGKILL at once. crew then exits
//! with 128 + the signal once the jobs are gone (even if it was waiting for
//! more input), its joblog complete, so `--resume` picks up where it
//! stopped.
//!
//! Protocol (self-pipe): the handler only writes the signal number into a
//! pipe, the one async-signal-safe thing it needs; a watcher thread reads
//! the pipe and does the real work. Signals are handled, not blocked,
//! because children inherit the signal mask through `posix_spawn` (but not
//! handlers, which `exec` resets): a blocked SIGTERM would survive into
//! every job and make `--timeout` wait for SIGKILL.

use std::fs::File;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use crate::exec::{RunningJobs, KILL_GRACE};
use crate::schedule::{Scheduler, Stop};

const STOP_SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The write end of the self-pipe, or -1 before [`watch`] ran.
static PIPE_WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signal: libc::c_int) {
    // Relaxed: the fd was stored before the handler was installed, and
    // sigaction orders that store before any delivery.
    let fd = PIPE_WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = signal as u8;
        // SAFETY: 1. write is async-signal-safe; 2. `byte` lives for the
        // call; 3. a failed write (full pipe) only drops a repeat signal.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// Installs the handlers and starts the thread that turns stop signals
/// into a clean stop.
pub fn watch(scheduler: Arc<Scheduler>, jobs: Arc<RunningJobs>) {
    let mut fds = [0i32; 2];
    // SAFETY: 1. `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        eprintln!("crew: warning: cannot watch for Ctrl-C; it will stop crew abruptly");
        return;
    }
    PIPE_WRITE_FD.store(fds[1], Ordering::Relaxed);
    // SAFETY: 1. fds[0] is a new descriptor owned by nobody else.
    let mut reader = unsafe { File::from_raw_fd(fds[0]) };
    let spawned = std::thread::Builder::new()
        .name("crew-signals".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut received = 0;
            let mut byte = [0u8; 1];
            while reader.read_exact(&mut byte).is_ok() {
                let signal = i32::from(byte[0]);
                received += 1;
                if received == 1 {
                    scheduler.stop(Stop::Signal(signal));
                    jobs.signal_all(signal, true);
                    // The dispatcher may be blocked reading input that never
                    // comes (`tail -f | crew`): once the jobs are gone,
                    // nothing is left to do, so exit from here.
                    let watched = Arc::clone(&scheduler);
                    let doomed = Arc::clone(&jobs);
                    let _ = std::thread::Builder::new()
                        .stack_size(64 * 1024)
                        .spawn(move || {
                            for follow_up in [libc::SIGTERM, libc::SIGKILL] {
                                if watched.wait_idle_for(KILL_GRACE) {
                                    break;
                                }
                                doomed.signal_all(follow_up, true);
                            }
                            watched.wait_idle();
                            std::process::exit(128 + signal);
                        });
                } else {
                    jobs.signal_all(libc::SIGKILL, true);
                }
            }
        });
    if spawned.is_err() {
        eprintln!("crew: warning: cannot watch for Ctrl-C; it will stop crew abruptly");
        return;
    }
    for signal in STOP_SIGNALS {
        // SAFETY: 1. `action` is fully initialised (zeroed, then the
        // handler, an empty mask and flags); 2. `on_signal` is an
        // `extern "C" fn(c_int)` that only does async-signal-safe work.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = libc::SA_RESTART;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}
