//! Helpers shared by the integration tests.
//!
//! * [`with_deadline`] runs a test body on its own thread and fails the test
//!   with a clear message if it does not finish in time, so a deadlock or a
//!   lost wake-up fails CI instead of hanging it.
//! * [`Gate`] holds tasks until the test opens it: the way tests keep a
//!   worker busy for exactly as long as they need, without sleeping.
//! * [`Counter`] and [`Peak`] count events and concurrency across threads.
//! * [`occupy`] fills a pool's threads with tasks parked on a gate.
//! * [`wait_until`] polls pool state that has no event to wait on (for
//!   example `threads()` after a keep-alive ran out), with a deadline.
//! * [`shutdown_now_once_queued`] cancels a blocked caller's queued tasks
//!   from another thread, for tests of what the caller then reports.
//!
//! Each test binary uses a different subset of these, hence the
//! `dead_code` allowance.
#![allow(dead_code)]

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use workcrew::{Pool, TaskHandle};

pub mod fault;

/// The default deadline for a test body: far above what any test needs on a
/// loaded two-core machine, far below a CI timeout.
pub const LIMIT: Duration = Duration::from_secs(20);

/// How long a task parked on a [`Gate`] waits before it gives up with a
/// panic; only reached when a test already failed and left its gate closed.
const GATE_LIMIT: Duration = Duration::from_secs(60);

/// Runs `body` on a new thread and returns its result; fails the test if it
/// has not finished within `limit`.
///
/// A panic in `body` (a failed assertion) is resumed on the caller, so the
/// test fails with the body's own message.
pub fn with_deadline<T, F>(limit: Duration, body: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let name = thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned();
    // The body thread holds the sender; it is dropped when the body returns
    // or unwinds, which ends the `recv_timeout` below.
    let (finished_tx, finished_rx) = mpsc::channel::<()>();
    let runner = thread::Builder::new()
        .name(format!("{name} [body]"))
        .spawn(move || {
            let _finished = finished_tx;
            body()
        })
        .expect("could not start the test body thread");
    match finished_rx.recv_timeout(limit) {
        Err(RecvTimeoutError::Disconnected) | Ok(()) => match runner.join() {
            Ok(value) => value,
            Err(payload) => panic::resume_unwind(payload),
        },
        Err(RecvTimeoutError::Timeout) => panic!(
            "`{name}` did not finish within {limit:?}: it is probably stuck \
             (a deadlock, a lost wake-up or a task that never ran)"
        ),
    }
}

/// A one-way door: closed until [`open`](Gate::open), then open for ever.
/// Clones share the door.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Opens the gate and releases every waiter, present and future.
    pub fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().unwrap() = true;
        changed.notify_all();
    }

    pub fn is_open(&self) -> bool {
        *self.0 .0.lock().unwrap()
    }

    /// Blocks until the gate is open.
    ///
    /// # Panics
    ///
    /// After a minute, so a test that failed with its gate closed does not
    /// leave threads blocked for ever.
    pub fn wait(&self) {
        assert!(
            self.wait_timeout(GATE_LIMIT),
            "a gate stayed closed for {GATE_LIMIT:?}: the test that owns it failed or forgot to open it"
        );
    }

    /// Blocks until the gate is open or `timeout` passed; returns whether it
    /// is open.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let (open, changed) = &*self.0;
        let guard = open.lock().unwrap();
        let (guard, _) = changed
            .wait_timeout_while(guard, timeout, |open| !*open)
            .unwrap();
        *guard
    }
}

/// A shared event counter. Clones share the count.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }

    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Tracks how many threads are inside a section at once, and the most ever.
#[derive(Clone, Default)]
pub struct Peak(Arc<(AtomicUsize, AtomicUsize)>);

impl Peak {
    pub fn new() -> Peak {
        Peak::default()
    }

    /// Enters the section until the returned guard is dropped.
    pub fn enter(&self) -> PeakGuard {
        let now = self.0 .0.fetch_add(1, Ordering::SeqCst) + 1;
        self.0 .1.fetch_max(now, Ordering::SeqCst);
        PeakGuard(self.clone())
    }

    /// The most threads ever inside at once.
    pub fn max(&self) -> usize {
        self.0 .1.load(Ordering::SeqCst)
    }
}

pub struct PeakGuard(Peak);

impl Drop for PeakGuard {
    fn drop(&mut self) {
        self.0 .0 .0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Spawns `count` tasks on `pool` that each park on `gate`, and returns once
/// all of them are running (so `count` threads are busy and nothing of
/// theirs is queued).
///
/// # Panics
///
/// If they do not all start within [`LIMIT`].
pub fn occupy(pool: &Pool, count: usize, gate: &Gate) -> Vec<TaskHandle<()>> {
    let (started_tx, started_rx) = mpsc::channel();
    let handles = (0..count)
        .map(|_| {
            let started = started_tx.clone();
            let gate = gate.clone();
            pool.spawn(move || {
                started.send(()).unwrap();
                gate.wait();
            })
        })
        .collect();
    for started in 0..count {
        started_rx.recv_timeout(LIMIT).unwrap_or_else(|_| {
            panic!("only {started} of {count} blocking tasks started within {LIMIT:?}")
        });
    }
    handles
}

/// Opens `gate` and joins the tasks [`occupy`] started on it.
pub fn release(gate: &Gate, occupying: Vec<TaskHandle<()>>) {
    gate.open();
    occupying.into_iter().for_each(|h| h.join().unwrap());
}

/// Polls `condition` until it holds.
///
/// For pool state that changes without an event a test could wait on. Not
/// a sleep-to-synchronise: it returns as soon as the state is reached.
///
/// # Panics
///
/// With `what` in the message, if `condition` still fails after [`LIMIT`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "waited {LIMIT:?} for {what}, but it never happened"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Starts a thread that waits until `pool` has at least `queued` tasks
/// queued, calls `shutdown_now`, then opens `gate` (which should be holding
/// the pool's threads, see [`occupy`]). Joining the thread gives what
/// `shutdown_now` returned.
///
/// For tests of a call that blocks the test thread while its tasks wait in
/// the queue (`map`, `fork_join`, `race`, an `Imap`'s `next`): the call's
/// tasks are cancelled under it, then the pool's threads are let go.
pub fn shutdown_now_once_queued(
    pool: &Pool,
    queued: usize,
    gate: &Gate,
) -> thread::JoinHandle<usize> {
    let (pool, gate) = (pool.clone(), gate.clone());
    thread::spawn(move || {
        wait_until(&format!("{queued} queued tasks"), || {
            pool.stats().queued >= queued
        });
        let cancelled = pool.shutdown_now();
        gate.open();
        cancelled
    })
}

/// `base` scaled by the `WORKCREW_STRESS` environment variable (default 1),
/// for the iteration counts of stress loops.
pub fn stress(base: usize) -> usize {
    let factor = std::env::var("WORKCREW_STRESS")
        .ok()
        .and_then(|factor| factor.parse::<usize>().ok())
        .unwrap_or(1);
    base * factor.max(1)
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// Runs `f`, which must panic, and returns the panic's message.
///
/// # Panics
///
/// If `f` returns normally.
pub fn panic_text_of<R>(f: impl FnOnce() -> R) -> String {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned normally"),
        Err(payload) => payload_text(payload.as_ref()),
    }
}

/// The current thread's name, or `""`.
pub fn thread_name() -> String {
    thread::current().name().unwrap_or("").to_owned()
}

/// A few hundred nanoseconds of work on `x` (more unoptimised), so that
/// parallel iterators in tests outgrow their alone phase and really run on
/// several threads.
pub fn spin(x: u64) -> u64 {
    let mut h = x;
    for _ in 0..64 {
        h = std::hint::black_box(
            h.wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        );
    }
    h
}

/// `len` pseudo-random numbers from `seed` (xorshift), for property tests.
pub fn numbers(len: usize, seed: u64) -> Vec<u64> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        })
        .collect()
}
