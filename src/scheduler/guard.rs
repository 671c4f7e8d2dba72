//! User code the pool runs outside a task, and user values it drops: where
//! a panic can start without a task to report it.
//!
//! # The rule
//!
//! Every user value the pool drops is a place a panic can start: a closure
//! after it ran or when it is cancelled, a detached task's result, a panic
//! payload (whose own `Drop` may panic again), a callback, a waker, a hook
//! and its captures. The pool
//!
//! 1. drops or runs it inside a guard ([`Shared::run_guarded`],
//!    [`Shared::drop_guarded`]), *after* it has published whatever outcome
//!    depends on it (a cancelled task is `Cancelled` even if dropping its
//!    closure panicked);
//! 2. counts the panic in `stats().panicked` and hands the payload to the
//!    `panic_handler` ([`Shared::caught`]);
//! 3. drops a payload nobody takes with [`Shared::drop_payload`], which
//!    guards that drop too, level after level, and leaks a payload that
//!    keeps panicking after [`NESTED_PANICS`] levels rather than loop.
//!
//! So a worker never unwinds out of its loop, every handle finishes, and the
//! counters stay exact. A panic in the `panic_handler` itself is counted and
//! its payload dropped the same way.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use crate::scheduler::config::Hook;
use crate::scheduler::shared::Shared;
use crate::sync::{lock, Ordering};

/// A panic payload.
pub(crate) type Payload = Box<dyn Any + Send>;

/// How many nested panics (a payload whose `Drop` panics with a payload
/// whose `Drop` panics ...) [`Shared::drop_payload`] follows before it leaks
/// the rest.
pub(crate) const NESTED_PANICS: usize = 8;

/// The text of a panic payload, if it is a string (as it is for
/// `panic!("...")`, with or without format arguments).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl Shared {
    /// A panic the pool caught outside any task: counted, then handed to the
    /// `panic_handler` (or dropped, guarded, without one).
    pub(crate) fn caught(&self, payload: Payload) {
        self.panics_elsewhere.fetch_add(1, Ordering::SeqCst);
        self.hand_to_panic_handler(payload);
    }

    /// Gives a panic nobody else can receive to the `panic_handler`. The
    /// caller has counted it already.
    pub(crate) fn hand_to_panic_handler(&self, payload: Payload) {
        match &self.config.panic_handler {
            Some(handler) => {
                if let Err(again) = panic::catch_unwind(AssertUnwindSafe(|| handler(payload))) {
                    // A panicking handler has nowhere left to go.
                    self.panics_elsewhere.fetch_add(1, Ordering::SeqCst);
                    self.drop_payload(again);
                }
            }
            None => self.drop_payload(payload),
        }
    }

    /// Drops a payload nobody takes; a panic in its `Drop` is counted and
    /// its own payload dropped the same way (module docs, rule 3).
    pub(crate) fn drop_payload(&self, payload: Payload) {
        let mut next = payload;
        for _ in 0..NESTED_PANICS {
            match panic::catch_unwind(AssertUnwindSafe(move || drop(next))) {
                Ok(()) => return,
                Err(again) => {
                    self.panics_elsewhere.fetch_add(1, Ordering::SeqCst);
                    next = again;
                }
            }
        }
        std::mem::forget(next);
    }

    /// Runs `f`, catching, counting and handing on a panic.
    pub(crate) fn run_guarded(&self, f: impl FnOnce()) {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
            self.caught(payload);
        }
    }

    /// Drops a user value, catching, counting and handing on a panic in its
    /// `Drop`.
    pub(crate) fn drop_guarded<V>(&self, value: V) {
        self.run_guarded(move || drop(value));
    }

    pub(crate) fn run_hook(&self, hook: &Hook) {
        self.run_guarded(|| hook());
    }

    pub(crate) fn run_callback(&self, callback: impl FnOnce()) {
        self.run_guarded(callback);
    }

    /// The name of worker `index`, or `Err` with the name the `thread_name`
    /// closure gave if the OS cannot take it (a NUL byte). A panicking
    /// closure is counted like a hook's panic and the thread gets the
    /// default name: a thread must still start for the queued work. This
    /// runs under the registry's `idle` lock, where a `panic_handler` that
    /// calls into the pool would deadlock, so the payload waits for the next
    /// thread that starts, which hands it on ([`Self::hand_on_name_panics`]).
    pub(crate) fn thread_name(&self, index: usize) -> Result<String, String> {
        match panic::catch_unwind(AssertUnwindSafe(|| self.config.thread_name(index))) {
            Ok(name) if name.contains('\0') => Err(name),
            Ok(name) => Ok(name),
            Err(payload) => {
                self.panics_elsewhere.fetch_add(1, Ordering::SeqCst);
                lock(&self.name_panics).push(payload);
                Ok(crate::scheduler::config::default_thread_name(index))
            }
        }
    }

    /// Records that `thread_name` gave worker `index` a name the OS cannot
    /// take, so the thread starts with the default name instead: counted and
    /// handed on like a panicking `thread_name` (see [`Self::thread_name`]).
    pub(crate) fn record_bad_name(&self, index: usize, name: &str) {
        self.panics_elsewhere.fetch_add(1, Ordering::SeqCst);
        let problem = format!(
            "workcrew: thread_name returned {name:?} for thread {index}: thread names cannot contain a NUL byte; the thread uses the default name"
        );
        lock(&self.name_panics).push(Box::new(problem));
    }

    /// Hands the panics of `thread_name` to the `panic_handler`; called by a
    /// starting worker, outside every lock of the pool.
    pub(crate) fn hand_on_name_panics(&self) {
        let payloads = std::mem::take(&mut *lock(&self.name_panics));
        for payload in payloads {
            self.hand_to_panic_handler(payload);
        }
    }
}
