//! `-k`/`--keep-order`: releases finished jobs' output in start order.
//!
//! Every started job gets the next *order number* (0, 1, 2, ...; skipped
//! `--resume` jobs get none). A finished job hands its output here as a
//! closure; the closure runs once every job with a smaller order number has
//! been released.
//!
//! Invariants:
//! - Releases happen strictly in order-number order, each exactly once.
//! - Every started job completes here exactly once (killed, failed or not
//!   started too), so the window always moves on.
//! - The scheduler starts job `n` only when `n < released() + window`, so at
//!   most `window` outputs wait here: memory and open spool files stay
//!   bounded even when job 1 is slow and a million fast jobs follow it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Output waiting for its turn.
pub type Release = Box<dyn FnOnce() + Send>;

/// Orders releases by order number.
pub struct Reorder {
    waiting: Mutex<Waiting>,
    released: AtomicU64,
}

struct Waiting {
    next: u64,
    ready: BTreeMap<u64, Release>,
}

impl Default for Reorder {
    fn default() -> Self {
        Reorder::new()
    }
}

impl Reorder {
    /// Nothing released yet; order number 0 is next.
    pub fn new() -> Reorder {
        Reorder {
            waiting: Mutex::new(Waiting {
                next: 0,
                ready: BTreeMap::new(),
            }),
            released: AtomicU64::new(0),
        }
    }

    /// How many jobs have been released (all order numbers below it).
    pub fn released(&self) -> u64 {
        // Acquire: pairs with the Release store in `complete`, so a scheduler
        // that sees the count also sees the outputs written.
        self.released.load(Ordering::Acquire)
    }

    /// Job `order` is done; `release` runs now if it is next, else when its
    /// turn comes. Returns whether anything was released.
    pub fn complete(&self, order: u64, release: Release) -> bool {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting.ready.insert(order, release);
        let before = waiting.next;
        loop {
            let next = waiting.next;
            let Some(release) = waiting.ready.remove(&next) else {
                break;
            };
            // Runs under the lock on purpose: releases must not overtake
            // each other, and each one is a write to crew's stdout anyway.
            release();
            waiting.next += 1;
        }
        // Release: see `released`.
        self.released.store(waiting.next, Ordering::Release);
        waiting.next > before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex as StdMutex};

    #[test]
    fn releases_come_out_in_order_whatever_the_completion_order() {
        let reorder = Reorder::new();
        let seen = Arc::new(StdMutex::new(Vec::new()));
        for order in [2u64, 0, 3, 1] {
            let seen = Arc::clone(&seen);
            reorder.complete(order, Box::new(move || seen.lock().unwrap().push(order)));
        }
        assert_eq!(*seen.lock().unwrap(), [0, 1, 2, 3]);
        assert_eq!(reorder.released(), 4);
    }
}
