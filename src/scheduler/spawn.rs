//! Starting and joining worker threads, and what happens when the OS (or
//! a `thread_name` closure) refuses one.
//!
//! # Invariants
//!
//! * `counts.threads` and `Registry::live` are raised *before* the thread is
//!   spawned, under the `idle` lock, and rolled back exactly if the spawn
//!   fails or std's spawn panics: no phantom thread is ever counted as
//!   searching (a phantom searcher would make every submitter skip waking
//!   anyone, and work would wait for ever).
//! * `Registry::live` counts OS threads that have not finished
//!   `worker::main` (a retiring worker still running `on_thread_stop`
//!   counts); it is what `Pool::threads` reports, so `threads()` always equals
//!   the worker threads that exist.
//!
//! # When the OS refuses a thread
//!
//! A failed spawn (pids limit, `ulimit -u`, no memory for a stack) sets
//! `growth_refused`; the next successful spawn clears it. The pool keeps
//! running on the threads it has:
//!
//! * `build` fails with a `BuildError` only if no worker at all could start
//!   (`Registry::start_core`).
//! * A waiter that counted on a compensating thread asks
//!   [`Registry::can_compensate`], which says no while growth is refused and
//!   no thread is idle, so the waiter takes its queued task back and runs it
//!   itself (task/handle.rs, "Take back"): `[refused-compensation]`.
//! * A submission that finds no thread at all and cannot start one is
//!   refused before its task is queued (shared.rs, "Admission").
//!
//! A name with a NUL byte (which std's spawn rejects by panicking) is a
//! `BuildError` for the threads `build` starts; a thread started later gets
//! the default name and the bad name is reported like a panicking
//! `thread_name` (guard.rs).

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use crate::scheduler::config::default_thread_name;
use crate::scheduler::guard::panic_message;
use crate::scheduler::registry::{Idle, Registry, SlotEntry, ONE_SEARCHING, ONE_THREAD};
use crate::scheduler::shared::Shared;
use crate::scheduler::stats::SlotStats;
use crate::scheduler::worker;
use crate::sync::{thread, Ordering};
use crate::Arc;

/// Why a worker thread did not start.
#[derive(Debug)]
pub(crate) enum StartError {
    /// The OS refused the thread.
    Os(io::Error),
    /// `thread_name` returned this name, which has a NUL byte (only when the
    /// caller asked for names to be checked strictly).
    BadName(String),
    /// `shutdown` has joined every thread; none starts again.
    Stopped,
}

impl Registry {
    /// Starts one worker thread; must be called with `idle` locked. The new
    /// thread is counted as searching from the start. With `strict_names`, a
    /// name the OS cannot take is an error; otherwise the thread gets the
    /// default name (module docs).
    pub(super) fn start_thread(
        &self,
        idle: &mut Idle,
        pool: &Arc<Shared>,
        strict_names: bool,
    ) -> Result<(), StartError> {
        if pool.config.inline {
            // An inline pool never starts a thread (inline.rs).
            return Err(StartError::Stopped);
        }
        if idle.stopped {
            // `[late-grow-vs-shutdown]`: a submission admitted just before
            // `shutdown` may try to start a thread after its task already ran
            // and `shutdown` returned; the pool is finished, nothing can need it.
            return Err(StartError::Stopped);
        }
        idle.joins.retain(|join| !crate::sync::is_finished(join));
        let index = match idle.slots.iter().position(|slot| !slot.in_use) {
            Some(index) => index,
            None => {
                idle.slots.push(SlotEntry {
                    in_use: false,
                    stats: Arc::new(SlotStats::default()),
                    peer: None,
                });
                idle.slots.len() - 1
            }
        };
        let name = match pool.thread_name(index) {
            Ok(name) => name,
            Err(bad) if strict_names => return Err(StartError::BadName(bad)),
            Err(bad) => {
                pool.record_bad_name(index, &bad);
                default_thread_name(index)
            }
        };
        idle.slots[index].in_use = true;
        let stats = idle.slots[index].stats.clone();
        self.counts
            .fetch_add(ONE_THREAD + ONE_SEARCHING, Ordering::SeqCst);
        self.live.fetch_add(1, Ordering::SeqCst);
        let mut builder = thread::Builder::new().name(name);
        if let Some(size) = pool.config.stack_size {
            builder = builder.stack_size(size);
        }
        let for_thread = pool.clone();
        // std panics (rather than returning an error) for a few inputs; a
        // panic here must roll back like an error, not leave a phantom.
        let spawned = panic::catch_unwind(AssertUnwindSafe(move || {
            builder.spawn(move || worker::main(for_thread, index, stats))
        }));
        let error = match spawned {
            Ok(Ok(join)) => {
                idle.joins.push(join);
                idle.alive += 1;
                self.growth_refused.store(false, Ordering::SeqCst);
                return Ok(());
            }
            Ok(Err(error)) => error,
            Err(payload) => io::Error::other(format!(
                "std's thread spawn panicked: {}",
                panic_message(payload.as_ref()).unwrap_or("(a non-string payload)")
            )),
        };
        // Roll back exactly what we did above.
        self.live.fetch_sub(1, Ordering::SeqCst);
        self.counts
            .fetch_sub(ONE_THREAD + ONE_SEARCHING, Ordering::SeqCst);
        idle.slots[index].in_use = false;
        self.growth_refused.store(true, Ordering::SeqCst);
        Err(StartError::Os(error))
    }

    /// A stats slot for an inline pool's stand-in worker (inline.rs): like a
    /// thread's, but no thread is counted.
    pub(crate) fn claim_stand_in_slot(&self) -> (usize, Arc<SlotStats>) {
        let mut idle = self.idle_lock();
        let index = match idle.slots.iter().position(|slot| !slot.in_use) {
            Some(index) => index,
            None => {
                idle.slots.push(SlotEntry {
                    in_use: false,
                    stats: Arc::new(SlotStats::default()),
                    peer: None,
                });
                idle.slots.len() - 1
            }
        };
        idle.slots[index].in_use = true;
        (index, idle.slots[index].stats.clone())
    }

    pub(crate) fn release_stand_in_slot(&self, index: usize) {
        self.idle_lock().slots[index].in_use = false;
    }

    /// Starts up to `wanted` threads while the pool may grow (used when the
    /// limit is raised with work already queued). Returns how many started.
    pub(crate) fn grow_for(&self, wanted: usize, pool: &Arc<Shared>) -> usize {
        let mut idle = self.idle_lock();
        let mut started = 0;
        while started < wanted
            && self.may_grow(self.counts())
            && self.start_thread(&mut idle, pool, false).is_ok()
        {
            started += 1;
        }
        started
    }

    /// Starts the core threads of a pool being built. Fails if a name is bad
    /// or if not even one thread could start; the caller then stops the
    /// threads that did start.
    pub(crate) fn start_core(&self, count: usize, pool: &Arc<Shared>) -> Result<(), StartError> {
        let mut idle = self.idle_lock();
        for started in 0..count {
            match self.start_thread(&mut idle, pool, true) {
                Ok(()) => {}
                Err(StartError::Os(_)) if started > 0 => return Ok(()),
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Starts a thread if the pool has none (submit.rs, step 3); false if
    /// none exists and the OS refused one.
    pub(crate) fn ensure_thread(&self, pool: &Arc<Shared>) -> bool {
        let mut idle = self.idle_lock();
        self.live_threads() > 0 || self.start_thread(&mut idle, pool, false).is_ok()
    }

    /// Whether the OS refused the last thread this pool tried to start.
    pub(crate) fn growth_refused(&self) -> bool {
        self.growth_refused.load(Ordering::SeqCst)
    }

    /// Worker threads that exist now (module docs).
    pub(crate) fn live_threads(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Called at the very end of a worker thread.
    pub(crate) fn thread_finished(&self, index: usize) {
        let mut idle = self.idle_lock();
        idle.slots[index].in_use = false;
        idle.slots[index].peer = None;
        self.stealers_epoch.fetch_add(1, Ordering::Release);
        idle.alive -= 1;
        self.live.fetch_sub(1, Ordering::SeqCst);
        self.exited.notify_all();
    }

    /// Waits until no worker thread is left, then joins them all. Returns
    /// false if `deadline` passed first.
    pub(crate) fn join_threads(&self, deadline: Option<Instant>) -> bool {
        let mut idle = self.idle_lock();
        while idle.alive > 0 {
            idle = match deadline {
                None => crate::sync::wait(&self.exited, idle),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    crate::sync::wait_timeout(&self.exited, idle, deadline - now)
                }
            };
        }
        // Under the same lock as `start_thread`: see [late-grow-vs-shutdown].
        idle.stopped = true;
        let joins = std::mem::take(&mut idle.joins);
        drop(idle);
        for join in joins {
            // Worker threads catch every panic; a join error cannot happen.
            let _ = join.join();
        }
        true
    }
}
