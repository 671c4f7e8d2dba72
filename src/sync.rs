//! The one place workcrew gets its synchronisation primitives from.
//!
//! Under `cfg(loom)` every primitive whose interleavings matter (atomics,
//! `Mutex`, `Condvar`, thread spawn/park/unpark, thread-locals, `UnsafeCell`)
//! comes from [loom], so the model checks in `tests/loom.rs` explore the
//! pool's real state machines. Everything else in the crate imports from
//! here, never from `std::sync` directly.
//!
//! `Arc` is `std`'s in both builds: loom's `Arc` cannot be unsized into a
//! trait object, and reference counting is not one of the protocols we model.
//!
//! [loom]: https://docs.rs/loom

pub(crate) use std::sync::Arc;

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};
    pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};
    pub(crate) use std::thread;
    pub(crate) use std::thread_local;

    /// Parks the current thread for at most `timeout`.
    pub(crate) fn park_timeout(timeout: std::time::Duration) {
        std::thread::park_timeout(timeout);
    }

    /// `std::cell::UnsafeCell` behind loom's closure-based API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    pub(crate) fn is_finished<T>(join: &std::thread::JoinHandle<T>) -> bool {
        join.is_finished()
    }

    /// How many rounds an idle worker looks for work before it parks: seven
    /// rounds of growing spins (about a microsecond in all), then a few
    /// `yield`s. More yields cost idle CPU for little gain (benchmark W7).
    pub(crate) const SEARCH_ROUNDS: u32 = 12;
    /// How many `backoff` rounds a waiter polls before it blocks: growing
    /// spins, then a few yields.
    pub(crate) const WAIT_ROUNDS: u32 = 11;
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};
    pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
    pub(crate) use loom::thread;
    pub(crate) use loom::thread_local;

    /// Loom has no clock: a timed park is modelled as "the timeout may fire
    /// at once", which is the interleaving the keep-alive race needs.
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::yield_now();
    }

    /// Loom's join handles cannot be polled; keep them until `shutdown`.
    pub(crate) fn is_finished<T>(_join: &loom::thread::JoinHandle<T>) -> bool {
        false
    }

    // Spinning only multiplies the interleavings loom has to explore.
    pub(crate) const SEARCH_ROUNDS: u32 = 1;
    pub(crate) const WAIT_ROUNDS: u32 = 1;
}

pub(crate) use imp::*;
pub(crate) use std::sync::atomic::Ordering;

/// Locks `mutex`, ignoring poisoning: every critical section in workcrew
/// leaves the protected state consistent before anything can unwind, and user
/// code never runs while one of our locks is held.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on `condvar` for at most `timeout`, ignoring poisoning (see [`lock`]).
pub(crate) fn wait_timeout<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: std::time::Duration,
) -> MutexGuard<'a, T> {
    match condvar.wait_timeout(guard, timeout) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}

/// Waits on `condvar` until notified, ignoring poisoning (see [`lock`]).
pub(crate) fn wait<'a, T>(condvar: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    condvar
        .wait(guard)
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
