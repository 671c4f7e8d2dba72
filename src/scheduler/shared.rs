//! [`Shared`]: the state every handle and worker of one pool points to, and
//! the bookkeeping around it: admission and closing, the bounded queue,
//! `join`'s quiescence, task counts and caught panics.
//!
//! # Admission
//!
//! Outside submissions pass through one atomic word, `admission`: its low
//! bit is `CLOSED`, the rest counts admitted tasks. A submitter adds itself
//! with a compare-exchange that fails if `CLOSED` is set, and `shutdown` sets
//! `CLOSED` with a read-modify-write on the same word. So every submission is
//! ordered against the close: it was admitted before (and `shutdown` waits
//! for it, because it is counted), or it is refused with its closure handed
//! back. Nothing falls in between (`[shutdown-vs-submit]`).
//!
//! Submissions from a worker of the pool (a task spawning more work) are still
//! accepted while the pool drains after `shutdown`, because shutdown promised
//! to finish the running tasks and they may need that work; after
//! `shutdown_now` they are refused too.

use std::time::Instant;

use crossbeam_utils::CachePadded;

use crate::scheduler::config::Config;
use crate::scheduler::queue::{Injector, Steal};
use crate::scheduler::registry::Registry;
use crate::scheduler::room::Room;
use crate::scheduler::spare::Spares;
use crate::scheduler::stats::Totals;
use crate::scheduler::timings::Timings;
use crate::scheduler::worker::Worker;
use crate::sync::{fence, lock, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering};
use crate::Arc;

const CLOSED: u64 = 1;
pub(super) const ONE_ADMITTED: u64 = 2;

impl Drop for Shared {
    fn drop(&mut self) {
        // Workers consume every entry (stale ones included) before they
        // exit, so the injector is empty here; should anything remain, cancel
        // it rather than drop it unconsumed, so no handle waits forever.
        while let Some(job) = Steal::until_settled(|| self.injector.steal()) {
            job.cancel(self);
        }
        // The hooks and closures of the config are user values too
        // (guard.rs): dropped inside the guard, the hooks while the
        // `panic_handler` can still receive their panics, the handler last.
        let config = &mut self.config;
        let hooks = [
            config.on_thread_start.take(),
            config.on_thread_stop.take(),
            config.before_task.take(),
            config.after_task.take(),
        ];
        let name = config.thread_name.take();
        // One at a time: a second panic while the first unwinds would abort.
        for hook in hooks {
            self.drop_guarded(hook);
        }
        self.drop_guarded(name);
        let handler = self.config.panic_handler.take();
        self.drop_guarded(handler);
    }
}

/// Panics for a submission to a closed pool, naming the call.
#[cold]
#[track_caller]
pub(crate) fn panic_closed(what: &str) -> ! {
    panic!("workcrew: {what}: {CLOSED_MESSAGE}")
}

const CLOSED_MESSAGE: &str =
    "the pool is closed (shut down, or its last Pool handle was dropped) and takes no new work";

/// Threads blocked in `join` until the pool is quiet.
struct Quiet {
    waiting: AtomicUsize,
    lock: Mutex<()>,
    reached: Condvar,
}

/// The state one pool's handles and workers share.
///
/// Aligned to a cache-line pair so that the `Arc` reference counts in front
/// of it (bumped by every `TaskHandle`) never share a line with the fields
/// workers read for every task.
#[repr(align(128))]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) injector: Injector,
    pub(crate) registry: Registry,
    /// `admitted << 1 | CLOSED`; see the module docs. Written by outside
    /// submitters; workers read it only when idle.
    /// Padded: submitters write it for every task and must not share a
    /// cache line with what workers write (the registry's counts).
    pub(super) admission: CachePadded<AtomicU64>,
    /// Set by `shutdown_now`; read by workers before every job, so it lives
    /// apart from `admission`, which submitters write for every task.
    aborted: CachePadded<AtomicBool>,
    pub(crate) cancelled: AtomicU64,
    /// Bumped to ask every running task to stop (task/control.rs).
    cancel_epoch: AtomicU64,
    /// Tasks whose deadline passed before they finished.
    timed_out: AtomicU64,
    /// Results of timed-out tasks dropped when the task finally returned.
    discarded: AtomicU64,
    /// Panics caught in hooks and callbacks (task panics count per worker).
    pub(crate) panics_elsewhere: AtomicU64,
    pub(crate) room: Option<Room>,
    quiet: Quiet,
    /// Set once for `workcrew::global()`, whose `shutdown*` panic.
    pub(crate) is_global: AtomicBool,
    /// Live `Pool` values.
    pub(crate) handles: AtomicUsize,
    /// Panics of the `thread_name` closure not yet handed on.
    pub(crate) name_panics: Mutex<Vec<Box<dyn std::any::Any + Send>>>,
    /// Memory of finished `execute` jobs, for the next ones (spare.rs).
    pub(crate) spares: Spares,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Self {
        let room = config.queue_capacity.map(Room::new);
        Shared {
            registry: Registry::new(config.core_threads, config.max_threads),
            config,
            injector: Injector::new(),
            admission: CachePadded::new(AtomicU64::new(0)),
            aborted: CachePadded::new(AtomicBool::new(false)),
            cancelled: AtomicU64::new(0),
            cancel_epoch: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
            panics_elsewhere: AtomicU64::new(0),
            room,
            quiet: Quiet {
                waiting: AtomicUsize::new(0),
                lock: Mutex::new(()),
                reached: Condvar::new(),
            },
            is_global: AtomicBool::new(false),
            handles: AtomicUsize::new(1),
            name_panics: Mutex::new(Vec::new()),
            spares: Spares::new(),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.admission.load(Ordering::SeqCst) & CLOSED != 0
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Relaxed)
    }

    /// Counts one outside submission, unless the pool is closed.
    /// `[shutdown-vs-submit]`
    pub(super) fn admit(&self) -> bool {
        let mut word = self.admission.load(Ordering::Relaxed);
        loop {
            if word & CLOSED != 0 {
                return false;
            }
            match self.admission.compare_exchange_weak(
                word,
                word + ONE_ADMITTED,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => word = actual,
            }
        }
    }

    /// Closes the pool; returns whether this call closed it.
    pub(crate) fn close(&self, abort: bool) -> bool {
        if abort {
            self.aborted.store(true, Ordering::SeqCst);
        }
        let previous = self.admission.fetch_or(CLOSED, Ordering::SeqCst);
        self.registry.wake_all();
        if let Some(room) = &self.room {
            room.wake_all();
        }
        previous & CLOSED == 0
    }

    // ------------------------------------------------------------ accounting

    /// A counted task left the queue (started or cancelled): free its slot.
    pub(crate) fn release_queue_slot(&self) {
        if let Some(room) = &self.room {
            room.release();
        }
    }

    /// The epoch a running task compares its start against.
    pub(crate) fn cancel_epoch(&self) -> &AtomicU64 {
        &self.cancel_epoch
    }

    /// Asks every task running now to stop.
    pub(crate) fn request_cancel_running(&self) {
        self.cancel_epoch.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn task_timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn discarded_after_timeout(&self) {
        self.discarded.fetch_add(1, Ordering::SeqCst);
    }

    /// (timed out, discarded) so far.
    pub(crate) fn timeouts(&self) -> (u64, u64) {
        (
            self.timed_out.load(Ordering::SeqCst),
            self.discarded.load(Ordering::SeqCst),
        )
    }

    pub(crate) fn task_cancelled(&self) {
        self.cancelled.fetch_add(1, Ordering::SeqCst);
        self.release_queue_slot();
    }

    /// Reads every counter in the order `stats.rs` requires.
    pub(crate) fn totals(&self) -> Totals {
        let idle = self.registry.idle_lock();
        let slots = &idle.slots;
        let finished = slots.iter().map(|s| s.stats.finished.get()).sum();
        let panicked: u64 = slots.iter().map(|s| s.stats.panicked.get()).sum();
        let started = slots.iter().map(|s| s.stats.started.get()).sum();
        let cancelled = self.cancelled.load(Ordering::SeqCst);
        let spawned: u64 = slots.iter().map(|s| s.stats.spawned.get()).sum();
        let admitted = self.admission.load(Ordering::SeqCst) / ONE_ADMITTED;
        Totals {
            submitted: admitted + spawned,
            started,
            finished,
            cancelled,
            panicked: panicked + self.panics_elsewhere.load(Ordering::SeqCst),
        }
    }

    /// (queue wait, run time) summed over every worker slot.
    pub(crate) fn timings(&self) -> (Timings, Timings) {
        let idle = self.registry.idle_lock();
        let (mut waited, mut ran) = (Timings::default(), Timings::default());
        for slot in &idle.slots {
            slot.stats.queue_wait.add_to(&mut waited);
            slot.stats.run_time.add_to(&mut ran);
        }
        (waited, ran)
    }

    /// Nothing queued or running. A task counts as running until its result
    /// is published and its `on_complete` callback has returned.
    fn is_quiet(&self) -> bool {
        self.pending() == 0
    }

    pub(crate) fn pending(&self) -> usize {
        let totals = self.totals();
        totals.queued() + totals.running()
    }

    /// Closed and nothing left queued: idle workers may exit.
    pub(crate) fn is_drained(&self) -> bool {
        self.is_closed() && self.totals().queued() == 0
    }

    /// Whether any queue holds a job (possibly a stale one).
    pub(crate) fn has_visible_work(&self) -> bool {
        !self.injector.is_empty() || self.registry.any_stealer_has_work()
    }

    /// Wakes `join` waiters if nothing is queued or running.
    pub(crate) fn signal_if_quiet(&self) {
        // Pairs with the fence in `wait_quiet`: either we see its waiter, or
        // it sees the counters we updated before getting here.
        fence(Ordering::SeqCst);
        if self.quiet.waiting.load(Ordering::SeqCst) > 0 && self.is_quiet() {
            let _guard = lock(&self.quiet.lock);
            self.quiet.reached.notify_all();
        }
    }

    /// Waits until nothing is queued or running; false on timeout.
    pub(crate) fn wait_quiet(&self, deadline: Option<Instant>) -> bool {
        self.quiet.waiting.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let mut guard = lock(&self.quiet.lock);
        let reached = loop {
            if self.is_quiet() {
                break true;
            }
            guard = match deadline {
                None => crate::sync::wait(&self.quiet.reached, guard),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break false;
                    }
                    crate::sync::wait_timeout(&self.quiet.reached, guard, deadline - now)
                }
            };
        };
        drop(guard);
        self.quiet.waiting.fetch_sub(1, Ordering::SeqCst);
        reached
    }

    /// Whether a submission from the current thread would be refused: from
    /// outside once the pool is closed, from one of its workers only after
    /// `shutdown_now` (see the module docs).
    pub(crate) fn refuses_submissions(self: &Arc<Self>) -> bool {
        Worker::with_current_in(self, |worker| match worker {
            Some(_) => self.is_aborted(),
            None => self.is_closed(),
        })
    }

    pub(crate) fn assert_not_own_worker(&self, self_arc: &Arc<Shared>, what: &str) {
        if Worker::with_current_in(self_arc, |worker| worker.is_some()) {
            panic!("workcrew: {what} called from a task of the same pool: it waits for or stops that pool's tasks, the caller included; call it from a thread outside the pool");
        }
    }
}
