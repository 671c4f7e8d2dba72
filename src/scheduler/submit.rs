//! Submitting one counted job: the order of the checks, what a refusal
//! hands back, and the panics of the calls that cannot return a refusal.
//!
//! # The order, from outside the pool
//!
//! 1. **Room** (bounded pools only, room.rs): refused as `Full`, or waited
//!    for; a closed pool is `Closed`.
//! 2. **Admission** (shared.rs, `[shutdown-vs-submit]`): a closed pool is
//!    `Closed`, and the room slot is given back.
//! 3. **A thread** (spawn.rs): a pool with no worker thread at all that
//!    cannot start one refuses with `NoThread` *before* the task is queued,
//!    so the closure comes back and never runs later; the admission and the
//!    room slot are given back. (A pool that has threads but cannot grow
//!    takes the task: its threads will run it.)
//! 4. **Queue** on the injector and wake a worker (registry.rs, "Waking").
//!
//! From a worker of the pool: refused (`Closed`) only after `shutdown_now`;
//! with a full bounded queue it refuses (`try_spawn`) or runs the task at
//! once instead of waiting (waiting there could deadlock); else the job goes
//! to the worker's own deque.
//!
//! A refusal that cannot be returned (`spawn`, `execute`, `scope`, ...)
//! drops the closure inside the pool's guard first, then panics with a
//! message naming the call ([`Shared::panic_refused`]).

use std::time::Instant;

use crate::error::SpawnError;
use crate::scheduler::inline::on_stand_in;
use crate::scheduler::job::JobRef;
use crate::scheduler::room::NoRoom;
use crate::scheduler::shared::{panic_closed, Shared, ONE_ADMITTED};
use crate::scheduler::worker::Worker;
use crate::sync::Ordering;
use crate::Arc;

/// What to do when the bounded queue is full.
#[derive(Clone, Copy)]
pub(crate) enum WhenFull {
    /// Refuse at once (`try_spawn`).
    Refuse,
    /// Wait for room until the deadline, if any. From a worker of the pool,
    /// run the task inline instead of waiting (waiting could deadlock).
    Wait(Option<Instant>),
}

/// A refused submission, with its closure.
pub(crate) enum Refusal<F> {
    /// The bounded queue had no room.
    Full(F),
    /// The pool is closed.
    Closed(F),
    /// The pool has no worker thread and the OS refused to start one.
    NoThread(F),
}

impl<F> Refusal<F> {
    /// The same refusal, carrying `f(closure)`.
    pub(crate) fn map<G>(self, f: impl FnOnce(F) -> G) -> Refusal<G> {
        match self {
            Refusal::Full(x) => Refusal::Full(f(x)),
            Refusal::Closed(x) => Refusal::Closed(f(x)),
            Refusal::NoThread(x) => Refusal::NoThread(f(x)),
        }
    }
}

impl<F> From<Refusal<F>> for SpawnError<F> {
    /// `NoThread` is reported as `Full`: no thread can take the task now,
    /// and a later attempt may succeed (see `SpawnError::Full`).
    fn from(refusal: Refusal<F>) -> Self {
        match refusal {
            Refusal::Full(f) | Refusal::NoThread(f) => SpawnError::Full(f),
            Refusal::Closed(f) => SpawnError::Closed(f),
        }
    }
}

impl Shared {
    /// Threads free to take a task now: idle workers plus those the pool may
    /// still start (room.rs, "The rule").
    pub(crate) fn free_takers(&self) -> usize {
        let counts = self.registry.counts();
        let idle = counts.searching() + counts.parked();
        if self.registry.growth_refused() {
            idle
        } else {
            idle + self.registry.growth_room(counts)
        }
    }

    /// Queues one counted task built from `f` by `queue`, following the
    /// order in the module docs; `inline` runs it at once on a worker when
    /// the bounded queue is full and `when_full` says to wait. On refusal
    /// `f` comes back in the error.
    pub(crate) fn submit<F, R>(
        self: &Arc<Self>,
        f: F,
        when_full: WhenFull,
        queue: impl FnOnce(F) -> (JobRef, R),
        inline: impl FnOnce(F, &Worker) -> R,
    ) -> Result<R, Refusal<F>> {
        if self.config.inline {
            // Inline mode: run it here and now (inline.rs).
            if self.refuses_submissions() {
                return Err(Refusal::Closed(f));
            }
            return Ok(on_stand_in(self, |worker| inline(f, worker)));
        }
        let takers = || self.free_takers();
        Worker::with_current_in(self, |worker| match worker {
            Some(worker) => {
                if self.is_aborted() {
                    return Err(Refusal::Closed(f));
                }
                if let Some(room) = &self.room {
                    if !room.try_take(takers) {
                        return match when_full {
                            WhenFull::Refuse => Err(Refusal::Full(f)),
                            WhenFull::Wait(_) => Ok(inline(f, worker)),
                        };
                    }
                }
                let (job, value) = queue(f);
                worker.stats().spawned.bump();
                worker.push(job);
                Ok(value)
            }
            None => {
                if let Some(room) = &self.room {
                    if self.is_closed() {
                        return Err(Refusal::Closed(f));
                    }
                    let taken = match when_full {
                        WhenFull::Refuse if room.try_take(takers) => Ok(()),
                        WhenFull::Refuse => Err(NoRoom::Full),
                        WhenFull::Wait(deadline) => {
                            room.take(deadline, takers, || self.is_closed())
                        }
                    };
                    match taken {
                        Ok(()) => {}
                        Err(NoRoom::Full) => return Err(Refusal::Full(f)),
                        Err(NoRoom::Closed) => return Err(Refusal::Closed(f)),
                    }
                }
                if !self.admit() {
                    self.release_queue_slot();
                    return Err(Refusal::Closed(f));
                }
                if self.registry.live_threads() == 0 && !self.registry.ensure_thread(self) {
                    self.unadmit();
                    return Err(Refusal::NoThread(f));
                }
                let (job, value) = queue(f);
                self.injector.push(job);
                self.registry.notify_work(self);
                Ok(value)
            }
        })
    }

    /// Takes back an admission that will not be queued (step 3).
    fn unadmit(&self) {
        self.admission.fetch_sub(ONE_ADMITTED, Ordering::SeqCst);
        self.release_queue_slot();
        // `shutdown` may have seen the admission and be waiting for it.
        self.signal_if_quiet();
    }

    /// Panics for a refusal that cannot be returned, naming the call `what`;
    /// the closure is dropped first, inside the guard.
    #[cold]
    #[track_caller]
    pub(crate) fn panic_refused<F>(&self, what: &str, refusal: Refusal<F>) -> ! {
        match refusal {
            Refusal::Closed(f) => {
                self.drop_guarded(f);
                panic_closed(what)
            }
            Refusal::NoThread(f) => {
                self.drop_guarded(f);
                panic!("workcrew: {what}: the pool has no worker thread and the OS refused to start one (a pids limit or `ulimit -u` reached?); the task was dropped without running")
            }
            Refusal::Full(f) => {
                self.drop_guarded(f);
                panic!("workcrew: {what}: the pool's bounded queue is full")
            }
        }
    }
}
