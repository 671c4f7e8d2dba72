//! Fault injection for the tests in `tests/faults*.rs`.
//!
//! * [`Bomb`] is a user value whose `Drop` panics: put it in a closure, a
//!   result, a panic payload, a callback or a hook, and the pool must catch
//!   that panic wherever it drops the value.
//! * [`Reports`] is a `panic_handler` that keeps the text of every payload
//!   it receives, so a test can check that a panic was handed on.
//! * [`ThreadLimit`] makes the OS refuse new threads for the calling thread
//!   and every thread it starts (a pids cgroup with a per-thread limit). It
//!   fails the test, saying why, when it cannot set the limit up: a fault
//!   test never passes without its fault.
//! * [`os_threads_named`] counts the process's threads by name prefix, to
//!   check that `Pool::threads` reports the threads that really exist.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use workcrew::{Pool, PoolBuilder};

use super::{payload_text, wait_until};

/// A value whose `Drop` panics with `"bomb: <label>"`.
pub struct Bomb(pub &'static str);

impl Drop for Bomb {
    fn drop(&mut self) {
        // Never a second panic while one unwinds: that would abort the test
        // binary instead of testing the pool.
        if !std::thread::panicking() {
            panic!("bomb: {}", self.0);
        }
    }
}

/// A `panic_handler` that records the text of every payload it receives.
#[derive(Clone, Default)]
pub struct Reports(Arc<Mutex<Vec<String>>>);

impl Reports {
    pub fn new() -> Reports {
        Reports::default()
    }

    /// Installs this recorder as `builder`'s panic handler.
    pub fn on(&self, builder: PoolBuilder) -> PoolBuilder {
        let texts = self.0.clone();
        builder.panic_handler(move |payload| {
            let text = payload_text(payload.as_ref());
            texts.lock().unwrap().push(text);
        })
    }

    pub fn texts(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// How many recorded payloads contain `part`.
    pub fn count(&self, part: &str) -> usize {
        self.texts().iter().filter(|t| t.contains(part)).count()
    }

    /// Waits until some payload containing `part` arrived.
    pub fn wait_for(&self, part: &str) {
        wait_until(
            &format!("a panic containing {part:?} handed to the panic_handler"),
            || self.count(part) > 0,
        );
    }
}

/// The process's threads whose name starts with `prefix` (Linux names are
/// cut to 15 bytes, so keep prefixes short).
pub fn os_threads_named(prefix: &str) -> usize {
    let tasks = fs::read_dir("/proc/self/task").expect("/proc/self/task is readable");
    tasks
        .filter_map(|task| fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end().starts_with(prefix))
        .count()
}

/// Waits until [`os_threads_named`] and `pool.threads()` agree at `expected`.
pub fn wait_for_threads(pool: &Pool, prefix: &str, expected: usize) {
    wait_until(
        &format!("{expected} live threads named {prefix}* and threads() == {expected}"),
        || pool.threads() == expected && os_threads_named(prefix) == expected,
    );
}

const PIDS_ROOT: &str = "/sys/fs/cgroup/pids";

/// While alive, the calling thread and the threads it starts may have at
/// most `extra` more threads between them: the OS refuses the next one with
/// `EAGAIN`, as a container's pids limit or `ulimit -u` does.
///
/// Built on a cgroup-v1 pids controller, which limits single threads
/// (`tasks`), so the rest of the test binary keeps running normally. CI runs
/// as root and mounts the controller if needed (.ci/run).
pub struct ThreadLimit {
    dir: PathBuf,
    tid: String,
}

static LIMITS: AtomicUsize = AtomicUsize::new(0);

impl ThreadLimit {
    /// # Panics
    ///
    /// If the limit cannot be set up, or does not hold (a probe thread
    /// starts although none may): the test fails instead of passing without
    /// its fault.
    pub fn new(extra: usize) -> ThreadLimit {
        let fail = |what: &str, error: &dyn std::fmt::Display| -> ! {
            panic!(
                "could not set up the thread-limit fault ({what}: {error}); this test needs root \
                 and a cgroup-v1 pids controller at {PIDS_ROOT} (.ci/run mounts one)"
            )
        };
        let tid = fs::read_link("/proc/thread-self")
            .unwrap_or_else(|e| fail("reading /proc/thread-self", &e))
            .file_name()
            .and_then(|name| name.to_str())
            .map(str::to_owned)
            .unwrap_or_else(|| fail("reading /proc/thread-self", &"no thread id"));
        let n = LIMITS.fetch_add(1, Ordering::Relaxed);
        let dir =
            PathBuf::from(PIDS_ROOT).join(format!("workcrew-test-{}-{n}", std::process::id()));
        fs::create_dir_all(&dir).unwrap_or_else(|e| fail("creating the cgroup", &e));
        let limit = ThreadLimit { dir, tid };
        limit.write("pids.max", "1");
        limit.write("tasks", &limit.tid.clone());
        // The probe: with no thread to spare, a new one must be refused.
        if let Ok(probe) = std::thread::Builder::new().spawn(|| {}) {
            let _ = probe.join();
            fail(
                "checking the limit",
                &"a thread started although pids.max allowed none",
            );
        }
        limit.write("pids.max", &(1 + extra).to_string());
        limit
    }

    fn write(&self, file: &str, value: &str) {
        let path = self.dir.join(file);
        if let Err(error) = fs::write(&path, value) {
            panic!(
                "could not set up the thread-limit fault (writing {value} to {}: {error}); this \
                 test needs root and a cgroup-v1 pids controller at {PIDS_ROOT}",
                path.display()
            );
        }
    }

    /// How many thread starts the OS has refused under this limit so far
    /// (the probe in [`ThreadLimit::new`] is the first).
    pub fn refusals(&self) -> usize {
        refusals_in(&self.dir)
    }

    /// The cgroup's directory, for a thread outside it to watch
    /// ([`refusals_in`]).
    pub fn dir(&self) -> PathBuf {
        self.dir.clone()
    }

    /// Lets this thread start `extra` more threads from now on (counting the
    /// threads already in the group).
    pub fn allow(&self, extra: usize) {
        let current: usize = fs::read_to_string(self.dir.join("pids.current"))
            .expect("pids.current is readable")
            .trim()
            .parse()
            .expect("pids.current is a number");
        self.write("pids.max", &(current + extra).to_string());
    }
}

/// The refusals counted in the pids cgroup at `dir` (`pids.events`, "max").
pub fn refusals_in(dir: &std::path::Path) -> usize {
    let events = fs::read_to_string(dir.join("pids.events")).expect("pids.events is readable");
    events
        .lines()
        .find_map(|line| line.strip_prefix("max "))
        .and_then(|n| n.trim().parse().ok())
        .expect("pids.events has a max line")
}

impl Drop for ThreadLimit {
    fn drop(&mut self) {
        // Back to the root group; the group itself goes once the pool
        // threads started under it have exited (the test shuts its pools down).
        let _ = fs::write(PathBuf::from(PIDS_ROOT).join("tasks"), &self.tid);
        let _ = fs::write(self.dir.join("pids.max"), "max");
        let dir = self.dir.clone();
        let removed = (0..2000).any(|_| {
            if fs::remove_dir(&dir).is_ok() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
            false
        });
        if !removed && !std::thread::panicking() {
            panic!(
                "the cgroup {} still has threads: a pool started under the limit was not shut down",
                dir.display()
            );
        }
    }
}
