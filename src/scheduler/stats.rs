//! Counting tasks without a shared counter on the hot path.
//!
//! Every worker owns a [`SlotStats`] that only its own thread writes (plain
//! load + store, no read-modify-write), padded to its own cache line. Outside
//! submissions are counted by the pool's admission word (`shared.rs`), which
//! only submitters write. A snapshot sums them.
//!
//! Per task the events happen in the order *submitted → started → finished*
//! (or *submitted → cancelled*), and each counter only grows. Reading the
//! later events first (finished, then started and cancelled, then submitted)
//! therefore never sees more of a later event than of an earlier one:
//! `running = started - finished` and `queued = submitted - started -
//! cancelled` are never negative, and exact when nothing starts or finishes
//! during the read.

use crossbeam_utils::CachePadded;

use crate::scheduler::timings::{SlotTimings, Timings};
use crate::sync::{AtomicU64, Ordering};

/// A counter written by one thread at a time, read by any.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds one. Only the owning worker thread calls this.
    pub(crate) fn bump(&self) {
        // Release: a reader that sees the new value also sees the events this
        // thread recorded before it (see the module docs).
        self.0
            .store(self.0.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    /// Adds `n`. Only the owning worker thread calls this.
    pub(crate) fn add(&self, n: u64) {
        // Release: as in `bump`.
        self.0.store(
            self.0.load(Ordering::Relaxed).saturating_add(n),
            Ordering::Release,
        );
    }

    /// Raises the value to `n` if it is lower. Only the owning worker
    /// thread calls this.
    pub(crate) fn raise_to(&self, n: u64) {
        if n > self.0.load(Ordering::Relaxed) {
            self.0.store(n, Ordering::Release);
        }
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// The counters of one worker index. A later thread that reuses the index
/// keeps counting on the same slot, so nothing is lost when threads exit.
#[derive(Default)]
pub(crate) struct SlotStats {
    /// Counted tasks this worker pushed to its own deque (or ran unqueued).
    pub(crate) spawned: CachePadded<Counter>,
    pub(crate) started: Counter,
    pub(crate) finished: Counter,
    /// Panics caught in tasks run by this worker.
    pub(crate) panicked: Counter,
    /// How long the tasks it ran waited in the queue (timed pools only).
    pub(crate) queue_wait: SlotTimings,
    /// How long they ran (timed pools only).
    pub(crate) run_time: SlotTimings,
}

/// A snapshot of a pool's threads and tasks, from [`Pool::stats`](crate::Pool::stats).
///
/// `queued`, `running` and the totals are exact whenever no task is starting
/// or finishing at that instant (for example while the running tasks are
/// blocked, or after [`Pool::join`](crate::Pool::join)), and never negative.
/// A task counts as running until its result is published and its
/// `on_complete` callback has returned, so right after a
/// [`TaskHandle::join`](crate::TaskHandle::join) returns, `completed` may not
/// include that task for a moment; after `Pool::join` it does.
///
/// Marked `#[non_exhaustive]`: fields are added as the pool learns to
/// report more; read the ones you need.
///
/// # Examples
///
/// ```
/// let pool = workcrew::Pool::new(2);
/// let handles: Vec<_> = (0..5).map(|i| pool.spawn(move || i)).collect();
/// workcrew::wait_all(&handles);
/// pool.join();
/// let stats = pool.stats();
/// assert_eq!(stats.completed, 5);
/// assert_eq!(stats.queued + stats.running, 0);
/// assert!(stats.idle_threads <= stats.threads);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Live worker threads.
    pub threads: usize,
    /// Worker threads waiting for work (searching or parked).
    pub idle_threads: usize,
    /// Tasks waiting in a queue.
    pub queued: usize,
    /// Tasks running now.
    pub running: usize,
    /// Tasks that ran to the end, returning or panicking.
    pub completed: u64,
    /// Panics the pool caught: in tasks, hooks and `on_complete` callbacks.
    pub panicked: u64,
    /// Tasks cancelled before they started (including queued tasks whose
    /// deadline passed).
    pub cancelled: u64,
    /// Tasks whose deadline passed before they finished: queued ones never
    /// ran, running ones were asked to stop (see
    /// [`TaskBuilder::timeout`](crate::TaskBuilder::timeout)); and items of
    /// [`Pool::map_with_timeout`](crate::Pool::map_with_timeout) and its
    /// `imap` siblings that ran past their own deadline.
    pub timed_out: u64,
    /// Results (or panics) of timed-out tasks (and items) that finished
    /// anyway, dropped by the pool since nobody could receive them.
    pub discarded: u64,
    /// How long tasks waited in the queue before a thread took them
    /// (measured only with [`PoolBuilder::task_timings`](crate::PoolBuilder::task_timings)).
    pub queue_wait: Timings,
    /// How long tasks ran (measured likewise).
    pub run_time: Timings,
}

/// Totals read in the order the module docs require.
pub(crate) struct Totals {
    pub(crate) submitted: u64,
    pub(crate) started: u64,
    pub(crate) finished: u64,
    pub(crate) cancelled: u64,
    pub(crate) panicked: u64,
}

impl Totals {
    pub(crate) fn queued(&self) -> usize {
        self.submitted.saturating_sub(self.started + self.cancelled) as usize
    }

    pub(crate) fn running(&self) -> usize {
        self.started.saturating_sub(self.finished) as usize
    }
}
