//! The bounded queue (`queue_capacity`): how many queued tasks no thread is
//! free to take.
//!
//! # The rule
//!
//! A submission is accepted while `queued < capacity + takers`: `queued`
//! counts accepted tasks that have neither started nor been cancelled, and
//! `takers` the threads free to take one now, that is idle workers plus the
//! threads the pool may still start (up to `max_threads`, unless the OS has
//! been refusing threads). So `t` idle threads and capacity `n` accept
//! `t + n` submissions at once, and capacity 0 is a hand-off: a task is
//! accepted only when a thread can take it now.
//!
//! `takers` is read from the registry's counts at each attempt, so the bound
//! is as exact as those counts (a worker that just found a job but has not
//! yet left the searching count still looks idle for a moment).
//!
//! # Waiting for room
//!
//! Room appears when a queued task starts or is cancelled ([`Room::release`])
//! and when a worker becomes idle ([`Room::taker_freed`]). `[room-vs-release]`:
//! a releaser changes its count (`queued` down, or the registry's `searching`
//! up), then (SeqCst) reads `waiting`; a waiter raises `waiting`, then (SeqCst
//! fence) reads both counts again in `try_take`. One of the two sees the
//! other: either the retry finds the room, or the releaser sees the waiter
//! and notifies under the lock the waiter holds until it waits. (Without the
//! fences the C11 model lets both reads be stale, store-buffering style, and
//! the waiter sleeps on a free slot; loom finds that interleaving.)

use std::time::Instant;

use crate::sync::{fence, lock, AtomicUsize, Condvar, Mutex, Ordering};

/// The bounded queue's slots.
pub(crate) struct Room {
    capacity: usize,
    queued: AtomicUsize,
    waiting: AtomicUsize,
    lock: Mutex<()>,
    freed: Condvar,
}

/// Why no room was taken.
pub(crate) enum NoRoom {
    Full,
    Closed,
}

impl Room {
    pub(crate) fn new(capacity: usize) -> Self {
        Room {
            capacity,
            queued: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            lock: Mutex::new(()),
            freed: Condvar::new(),
        }
    }

    /// Takes a slot if `queued < capacity + takers()` (module docs).
    pub(crate) fn try_take(&self, takers: impl Fn() -> usize) -> bool {
        let mut queued = self.queued.load(Ordering::Relaxed);
        loop {
            if queued >= self.capacity.saturating_add(takers()) {
                return false;
            }
            match self.queued.compare_exchange_weak(
                queued,
                queued + 1,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => queued = actual,
            }
        }
    }

    /// Waits for a slot until `deadline` (forever if `None`), or until the
    /// pool closes.
    pub(crate) fn take(
        &self,
        deadline: Option<Instant>,
        takers: impl Fn() -> usize,
        is_closed: impl Fn() -> bool,
    ) -> Result<(), NoRoom> {
        loop {
            if is_closed() {
                return Err(NoRoom::Closed);
            }
            if self.try_take(&takers) {
                return Ok(());
            }
            // [room-vs-release]
            self.waiting.fetch_add(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            let guard = lock(&self.lock);
            let outcome = if is_closed() {
                Some(Err(NoRoom::Closed))
            } else if self.try_take(&takers) {
                Some(Ok(()))
            } else {
                match deadline {
                    None => {
                        drop(crate::sync::wait(&self.freed, guard));
                        None
                    }
                    Some(deadline) => {
                        let now = Instant::now();
                        if now >= deadline {
                            Some(Err(NoRoom::Full))
                        } else {
                            drop(crate::sync::wait_timeout(
                                &self.freed,
                                guard,
                                deadline - now,
                            ));
                            None
                        }
                    }
                }
            };
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    }

    /// A queued task started or was cancelled: its slot is free.
    pub(crate) fn release(&self) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
        // [room-vs-release]: pairs with the fence in `take`.
        fence(Ordering::SeqCst);
        self.notify_one_waiter();
    }

    /// A worker became idle (the caller already counted it as searching):
    /// a waiter may now fit.
    pub(crate) fn taker_freed(&self) {
        // [room-vs-release]: the caller's SeqCst count update comes first.
        fence(Ordering::SeqCst);
        self.notify_one_waiter();
    }

    fn notify_one_waiter(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            let _guard = lock(&self.lock);
            self.freed.notify_one();
        }
    }

    pub(crate) fn wake_all(&self) {
        let _guard = lock(&self.lock);
        self.freed.notify_all();
    }
}
