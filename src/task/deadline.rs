//! Deadlines: the process-wide timer that times tasks out.
//!
//! # How a deadline acts
//!
//! A task given a deadline (`TaskBuilder::deadline`/`timeout`) carries it in
//! its control block, so from the deadline on [`is_cancelled`] is true inside
//! it (no timer needed for that: the check reads the clock). The timer
//! makes the deadline visible from outside: when it passes, the timer calls
//! `TaskRef::time_out`, which
//!
//! * claims a task still queued: it never runs, and its handle reports
//!   `TimedOut`;
//! * moves a running task to `TimedOut` at once (waiters wake now, not when
//!   the task returns) and asks it to stop; what it returns later is dropped
//!   and counted (`[timeout-vs-publish]`, task/state.rs);
//! * does nothing to a finished task.
//!
//! # The timer
//!
//! One thread for the process (`workcrew-timer`), started with the first
//! deadline, sleeping on a condition variable until the earliest one; with
//! no deadline pending it sleeps without a timeout (no CPU). Entries hold
//! weak references, so a finished task's memory is not kept alive by its
//! entry's contents; entries of tasks that are gone are purged when the heap
//! has doubled since the last purge. If the OS refuses the timer thread,
//! deadlines still stop tasks that look (`is_cancelled`), but handles only
//! report the task's own end; the refusal is counted as a caught panic of
//! the pool that asked.
//!
//! [`is_cancelled`]: crate::is_cancelled

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock, Weak};
use std::time::Instant;

use crate::scheduler::shared::Shared;
use crate::Arc;

/// Something the timer can time out: a task cell, type-erased.
pub(crate) trait Expire: Send + Sync {
    /// The deadline passed; see the module docs.
    fn expire(&self, pool: &Shared);
}

struct Entry {
    at: Instant,
    seq: u64,
    task: Weak<dyn Expire>,
    pool: Weak<Shared>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[cfg_attr(loom, allow(dead_code))]
#[derive(Default)]
struct Pending {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    /// Heap size after the last purge.
    purged_at: usize,
    started: bool,
}

#[cfg_attr(loom, allow(dead_code))]
struct Timer {
    pending: Mutex<Pending>,
    changed: Condvar,
}

/// Locks the timer's state, ignoring poisoning: nothing unwinds while it
/// is held (user code runs after it is released).
#[cfg_attr(loom, allow(dead_code))]
fn locked(pending: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    pending
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The process's timer (a plain std mutex: the timer is not one of the
/// protocols the loom models explore).
#[cfg_attr(loom, allow(dead_code))]
fn timer() -> &'static Timer {
    static TIMER: OnceLock<Timer> = OnceLock::new();
    TIMER.get_or_init(|| Timer {
        pending: Mutex::new(Pending::default()),
        changed: Condvar::new(),
    })
}

/// Times `task` out at `at` (module docs).
#[cfg(not(loom))]
pub(crate) fn register(at: Instant, task: Weak<dyn Expire>, pool: &Arc<Shared>) {
    let timer = timer();
    let mut pending = locked(&timer.pending);
    if !pending.started {
        let spawned = std::thread::Builder::new()
            .name("workcrew-timer".into())
            .spawn(run_timer);
        match spawned {
            Ok(_) => pending.started = true,
            Err(error) => {
                drop(pending);
                pool.caught(Box::new(format!(
                    "workcrew: the OS refused the deadline timer's thread ({error}); deadlines only stop tasks that check is_cancelled"
                )));
                return;
            }
        }
    }
    pending.seq += 1;
    let seq = pending.seq;
    let earliest = pending.heap.peek().map(|Reverse(entry)| entry.at);
    pending.heap.push(Reverse(Entry {
        at,
        seq,
        task,
        pool: Arc::downgrade(pool),
    }));
    if pending.heap.len() > 64 && pending.heap.len() > 2 * pending.purged_at {
        let entries = std::mem::take(&mut pending.heap);
        pending.heap = entries
            .into_iter()
            .filter(|Reverse(entry)| entry.task.strong_count() > 0)
            .collect();
        pending.purged_at = pending.heap.len();
    }
    drop(pending);
    if earliest.is_none_or(|earliest| at < earliest) {
        timer.changed.notify_one();
    }
}

/// Under loom no timer thread runs (it would touch the model's atomics from
/// outside the model): deadlines wait in a list until a model thread fires
/// them all with [`loom_hooks::fire_deadlines`], whatever their time.
#[cfg(loom)]
pub(crate) fn register(at: Instant, task: Weak<dyn Expire>, pool: &Arc<Shared>) {
    loom_hooks::DUE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(Entry {
            at,
            seq: 0,
            task,
            pool: Arc::downgrade(pool),
        });
}

/// Test hooks for the loom models of deadlines (`tests/loom.rs`).
#[cfg(loom)]
pub mod loom_hooks {
    use super::Entry;

    pub(super) static DUE: std::sync::Mutex<Vec<Entry>> = std::sync::Mutex::new(Vec::new());

    /// Does what the timer thread does when every registered deadline has
    /// passed: times out each task still alive, from the calling (model)
    /// thread. Returns how many tasks it reached.
    pub fn fire_deadlines() -> usize {
        let due = std::mem::take(&mut *DUE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let mut reached = 0;
        for entry in due {
            if let (Some(task), Some(pool)) = (entry.task.upgrade(), entry.pool.upgrade()) {
                task.expire(&pool);
                reached += 1;
            }
        }
        reached
    }
}

/// The timer thread: forever, time out what is due, then sleep until the
/// next deadline.
#[cfg_attr(loom, allow(dead_code))]
fn run_timer() {
    let timer = timer();
    let mut pending = locked(&timer.pending);
    loop {
        let now = Instant::now();
        let mut due = Vec::new();
        while let Some(Reverse(entry)) = pending.heap.peek() {
            if entry.at > now {
                break;
            }
            let Some(Reverse(entry)) = pending.heap.pop() else {
                break;
            };
            due.push(entry);
        }
        if !due.is_empty() {
            drop(pending);
            for entry in due {
                if let (Some(task), Some(pool)) = (entry.task.upgrade(), entry.pool.upgrade()) {
                    // `expire` guards the user code it reaches (callbacks,
                    // wakers, the closure's drop).
                    task.expire(&pool);
                }
            }
            pending = locked(&timer.pending);
            continue;
        }
        pending = match pending.heap.peek() {
            None => timer
                .changed
                .wait(pending)
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            Some(Reverse(next)) => {
                let wait = next.at.saturating_duration_since(now);
                match timer.changed.wait_timeout(pending, wait) {
                    Ok((pending, _)) => pending,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
        };
    }
}

/// Has the timer time out a submitted task at `at` (its control block got
/// the deadline at submit, so the task itself sees `is_cancelled` from then
/// on); module docs.
pub(crate) fn watch_deadline<T: 'static>(
    task: &Arc<dyn crate::task::cell::TaskRef<T>>,
    at: Instant,
    pool: &Arc<Shared>,
) {
    let expire = task.clone().as_expire();
    register(at, Arc::downgrade(&expire), pool);
}
