//! The task cell: one heap allocation holding a submitted closure, its
//! result, its life-cycle state and whoever waits for it; and [`TaskError`].
//!
//! # Life cycle
//!
//! A task's life is one atomic word, [`TaskState`] (task/state.rs, with its
//! transitions table and who owns the slot when). The cell adds the slot,
//! the waiters and the control block a running task reads to see whether it
//! has been asked to stop (task/control.rs).
//!
//! # Detaching
//!
//! Dropping a handle that still owns the outcome detaches the task, and the
//! outcome (a result whose `Drop` may panic, or a panic payload) is dropped
//! as soon as it exists, by exactly one thread, inside the pool's guard
//! (scheduler/guard.rs): `[detach-vs-publish]`. The handle sets `DETACHED`
//! with a read-modify-write; the finisher publishes with one. Whichever comes
//! second sees the other: a handle that finds the task final discards the
//! outcome itself; a finisher that finds `DETACHED` discards it after waking
//! the waiters. A scoped task's panic is not dropped but handed to its scope.
//! `on_complete` hands the outcome to its callback instead and never detaches.
//!
//! # Waking
//!
//! Waiters (parked threads, futures, a `TaskSet`, an `on_complete` callback)
//! sit in a list behind a mutex that nobody touches on the fast path. A waiter
//! locks the list, sets the `WAITING` bit and, if the task is not final yet,
//! adds itself. The finisher moves the state first and looks at the list only
//! if the bit was set, locking it, so the two cannot miss each other: either
//! the waiter saw the final state, or the finisher saw the bit and waits for
//! the waiter's lock to see its entry.

use std::panic::{self, AssertUnwindSafe};
use std::task::Waker;

use crate::scheduler::ambient::{is_stopped, Ambient};
use crate::scheduler::job::{JobHeader, Kind, QueuedJob};
use crate::scheduler::shared::Shared;
use crate::scheduler::worker::{Run, Worker};
use crate::sync::{lock, Mutex, UnsafeCell};
use crate::task::control::Control;
use crate::task::error::TaskError;
use crate::task::scope_link::ScopeLink;
use crate::task::state::{Claim, Published, Stage, TaskState};
use crate::Arc;

/// Outcome of registering interest in a task's completion.
#[must_use]
pub(crate) enum Registered {
    /// The entry is in the list and will be woken or called.
    Yes,
    /// The task was already final; nothing was registered.
    AlreadyFinal,
}

// ---------------------------------------------------------------- the cell

/// What the slot of a cell holds.
enum Slot<F, T> {
    /// The closure, until someone claims it.
    Pending(F),
    /// Claimed: being run, or dropped by a canceller.
    Taken,
    /// The outcome, until the consumer takes it.
    Finished(std::thread::Result<T>),
    /// The consumer took the outcome.
    Consumed,
}

pub(crate) type Callback<T> = Box<dyn FnOnce(Result<T, TaskError>) + Send + 'static>;

/// Everyone interested in a task's completion.
struct Waiters<T> {
    /// Parked threads, task sets, `wait_any`: each woken once.
    wakers: Vec<Waker>,
    /// The waker of the handle's own `Future::poll`, replaced on each poll.
    handle_waker: Option<Waker>,
    /// The `on_complete` callback; it consumes the outcome.
    callback: Option<Callback<T>>,
}

/// One submitted task: closure, outcome, state and waiters in one allocation.
#[repr(C)]
pub(crate) struct TaskCell<F, T> {
    /// First, so a queue entry can point at the cell (job.rs).
    header: JobHeader,
    state: TaskState,
    /// Whether the running task has been asked to stop (task/control.rs).
    control: Control,
    slot: UnsafeCell<Slot<F, T>>,
    /// Boxed on first use, so a task nobody waits for stays small.
    waiters: Mutex<Option<Box<Waiters<T>>>>,
    /// Counts the cell against its scope until it is dropped (scoped tasks
    /// only). Declared last, so it is dropped after the closure and outcome.
    scope: Option<ScopeLink>,
}

// SAFETY:
// 1. `slot` is only touched by its owner under the state machine in the module
//    docs (one claimant, then one consumer), with acquire/release on `state`
//    between them, so sharing `&TaskCell` never gives two threads the slot.
// 2. The closure and the outcome move between threads: `F: Send, T: Send`.
// 3. `waiters` is behind a mutex; the callback in it is `Send`.
unsafe impl<F: Send, T: Send> Sync for TaskCell<F, T> {}

impl<F, T> TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    /// A cell for `f`; a scoped task is stopped with the work that opened its
    /// scope, an awaited one (`apply`, a `map` called from outside) with the
    /// work that waits for it (`parent`).
    pub(crate) fn new(f: F, scope: Option<ScopeLink>, parent: Ambient) -> Arc<Self> {
        let parent = scope.as_ref().map_or(parent, ScopeLink::parent);
        Arc::new(TaskCell {
            header: JobHeader::for_arc::<Self>(),
            state: TaskState::new(),
            control: Control::new(parent),
            slot: UnsafeCell::new(Slot::Pending(f)),
            waiters: Mutex::new(None),
            scope,
        })
    }

    /// Takes the closure out of a task the caller has claimed.
    fn take_closure(&self) -> F {
        // SAFETY: the caller won `try_claim`, which makes it the only thread
        // touching the slot until it publishes a final stage.
        let slot = self
            .slot
            .with_mut(|slot| unsafe { std::mem::replace(&mut *slot, Slot::Taken) });
        match slot {
            Slot::Pending(f) => f,
            _ => unreachable!("a task was claimed twice"),
        }
    }

    /// Runs a task the caller has claimed, then publishes the outcome.
    fn run_claimed(&self, worker: &Worker, how: Run) {
        let f = self.take_closure();
        let pool = worker.pool();
        let control = &self.control;
        let body = move || {
            let _running = control.enter(pool.cancel_epoch());
            f()
        };
        // Publish (and run `on_complete`) before the task stops counting as
        // running, so `Pool::join` returning means every handle is final.
        worker.run_task_then(how, &mut Some(body), |outcome| {
            if self.control.deadline_passed() {
                // Finished after its deadline: timed out, whatever it
                // returned, even if the timer has not fired yet.
                if !matches!(&outcome, Err(payload) if is_stopped(payload.as_ref())) {
                    pool.discarded_after_timeout();
                }
                match outcome {
                    Ok(value) => pool.drop_guarded(value),
                    Err(payload) => pool.drop_payload(payload),
                }
                if let Published::Done { wake, .. } = self.state.publish(Stage::TimedOut) {
                    pool.task_timed_out();
                    if wake {
                        self.wake_all(pool);
                    }
                }
                return;
            }
            let (slot, stage) = match outcome {
                // Stopped at a checkpoint: an early end, reported `Cancelled`.
                Err(payload) if is_stopped(payload.as_ref()) => (Slot::Taken, Stage::Cancelled),
                outcome => (Slot::Finished(outcome), Stage::Complete),
            };
            // SAFETY: we still own the slot (claim above, and a timeout
            // leaves it to us: state.rs, "Who owns the slot"); the release in
            // `publish` hands the write to the consumer.
            self.slot.with_mut(|place| unsafe { *place = slot });
            self.finish(pool, stage);
        });
    }

    /// Publishes the final `stage` of a task whose slot the caller owns, and
    /// does what that asks for.
    fn finish(&self, pool: &Shared, stage: Stage) {
        match self.state.publish(stage) {
            Published::Done { wake, discard } => {
                if wake {
                    self.wake_all(pool);
                }
                if discard {
                    // SAFETY: the handle detached before the publish, so
                    // nobody else will consume the outcome ([detach-vs-publish]).
                    unsafe { self.discard_outcome(pool) };
                }
            }
            Published::TimedOut => {
                // [timeout-vs-publish]: the waiters already saw `TimedOut`;
                // the outcome is ours to drop.
                // SAFETY: the slot is still ours (state.rs).
                let slot = self
                    .slot
                    .with_mut(|place| unsafe { std::mem::replace(&mut *place, Slot::Consumed) });
                if let Slot::Finished(outcome) = slot {
                    pool.discarded_after_timeout();
                    match outcome {
                        Ok(value) => pool.drop_guarded(value),
                        Err(payload) => pool.drop_payload(payload),
                    }
                }
            }
        }
    }

    /// Claims the task and runs it at once on `worker`, without it ever
    /// having been queued (`spawn` from a worker when the queue is full).
    pub(crate) fn run_unqueued(&self, worker: &Worker) {
        let claim = self.state.try_claim();
        debug_assert_eq!(claim, Claim::Won);
        self.run_claimed(worker, Run::Unqueued);
    }

    /// Wakes every waiter and runs the callback; the task is final.
    fn wake_all(&self, pool: &Shared) {
        let Some(waiters) = lock(&self.waiters).take() else {
            return;
        };
        let Waiters {
            wakers,
            handle_waker,
            callback,
        } = *waiters;
        for waker in wakers.into_iter().chain(handle_waker) {
            // A waker is user code too (an executor's): guarded.
            pool.run_guarded(|| waker.wake());
        }
        if let Some(callback) = callback {
            // SAFETY: `on_complete` consumed the handle, so the callback is
            // the only consumer, and the task is final.
            let outcome = unsafe { self.take_outcome() };
            pool.run_callback(move || callback(outcome));
        }
    }

    /// Moves the outcome out of a final task.
    ///
    /// # Safety
    /// The task must be final (seen with acquire) and the caller must be its
    /// only consumer.
    unsafe fn take_outcome(&self) -> Result<T, TaskError> {
        // SAFETY: the caller guarantees the task is final, so the runner or
        // canceller is done with the slot, and that nobody else consumes it.
        match self.state.stage() {
            Stage::Cancelled => return Err(TaskError::Cancelled),
            // The slot may still be the runner's (state.rs): never touched.
            Stage::TimedOut => return Err(TaskError::TimedOut),
            _ => {}
        }
        // SAFETY: the caller guarantees the task is final (and not timed out,
        // checked above), so the runner or canceller is done with the slot,
        // and that nobody else consumes it.
        let slot = self
            .slot
            .with_mut(|slot| unsafe { std::mem::replace(&mut *slot, Slot::Consumed) });
        match slot {
            Slot::Finished(Ok(value)) => Ok(value),
            Slot::Finished(Err(payload)) => Err(TaskError::Panicked(payload)),
            Slot::Consumed => panic!("the task's result was already taken (a TaskHandle polled again after it completed)"),
            Slot::Pending(_) | Slot::Taken => unreachable!("outcome read before the task finished"),
        }
    }
}

impl<F, T> TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    /// Queued → `stage` (Cancelled or TimedOut): the task never runs. True
    /// if this call did it.
    /// `claimed` runs once the claim is won, before waiters can see the
    /// final stage (a statistic they may read at once).
    fn cancel_as(&self, pool: &Shared, stage: Stage, claimed: fn(&Shared)) -> bool {
        if self.state.try_claim() == Claim::Lost {
            return false;
        }
        claimed(pool);
        // Drop the closure before publishing, so that a waiter who sees
        // `Cancelled` knows nothing it borrowed is still in use; a panic in
        // its `Drop` is handed on only after the task is published and
        // counted (scheduler/guard.rs, "The rule").
        let closure = self.take_closure();
        let dropped = panic::catch_unwind(AssertUnwindSafe(move || drop(closure)));
        self.finish(pool, stage);
        // Counted last, as `run_claimed` does: see there.
        pool.task_cancelled();
        if let Err(payload) = dropped {
            pool.caught(payload);
        }
        true
    }
}

impl<F, T> TaskCell<F, T> {
    /// Drops the outcome of a final task nobody will consume, inside the
    /// pool's guard; a scoped task's panic or cancellation goes to its scope
    /// instead, which reports it when the scope ends.
    ///
    /// # Safety
    /// The task must be final (seen with acquire) and the caller must be its
    /// only consumer.
    unsafe fn discard_outcome(&self, pool: &Shared) {
        if self.state.stage() == Stage::TimedOut {
            // The runner drops it (state.rs, "Who owns the slot").
            return;
        }
        // SAFETY: forwarded from the caller's contract.
        let slot = self
            .slot
            .with_mut(|slot| unsafe { std::mem::replace(&mut *slot, Slot::Consumed) });
        let cancelled = self.state.stage() == Stage::Cancelled;
        match (slot, &self.scope) {
            (Slot::Finished(Err(payload)), Some(scope)) => scope.record_panic(payload),
            (Slot::Finished(Err(payload)), None) => pool.drop_payload(payload),
            (Slot::Finished(Ok(value)), _) => pool.drop_guarded(value),
            (Slot::Taken, Some(scope)) if cancelled => scope.record_cancelled(),
            _ => {}
        }
    }
}

impl<F, T> Drop for TaskCell<F, T> {
    fn drop(&mut self) {
        if let Some(scope) = &self.scope {
            // A scoped task whose failure nobody took from its handle: the
            // scope reports it once all its tasks are done.
            let slot = self.slot.with_mut(|slot| {
                // SAFETY: `&mut self`: nobody else can reach the cell.
                unsafe { std::mem::replace(&mut *slot, Slot::Consumed) }
            });
            match slot {
                Slot::Finished(Err(payload)) => scope.record_panic(payload),
                Slot::Taken if self.state.stage() == Stage::Cancelled => scope.record_cancelled(),
                _ => {}
            }
        }
    }
}

impl<F, T> QueuedJob for TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn header(&self) -> &JobHeader {
        &self.header
    }

    fn tag(&self) -> usize {
        self.scope.as_ref().map_or(0, ScopeLink::tag)
    }

    fn kind(&self) -> Kind {
        if self.scope.is_some() {
            Kind::Scoped
        } else {
            Kind::Detached
        }
    }

    fn run(self: Arc<Self>, worker: &Worker) {
        // Losing means it was cancelled or taken back: this entry was stale.
        if self.state.try_claim() == Claim::Won {
            self.run_claimed(worker, Run::Queued);
        }
    }

    fn cancel(self: Arc<Self>, pool: &Shared) -> bool {
        self.cancel_queued(pool)
    }
}

// ---------------------------------------------------------------- handle side

/// What a handle needs from its cell, with the closure type erased.
pub(crate) trait TaskRef<T>: Send + Sync {
    fn stage(&self) -> Stage;

    /// Takes a queued task back and runs it on `worker`, which is about to
    /// wait for it. Returns whether this call ran it.
    fn run_inline(&self, worker: &Worker) -> bool;

    /// Queued → Cancelled, waking waiters. True if this call cancelled it.
    fn cancel_queued(&self, pool: &Shared) -> bool;

    /// The deadline passed: a queued task is claimed and never runs, a
    /// running one is asked to stop and becomes final for its waiters
    /// (state.rs). True if this call timed it out.
    fn time_out(&self, pool: &Shared) -> bool;

    /// The block a running task reads to see whether to stop.
    fn control(&self) -> &Control;

    /// This task as something the deadline timer can time out.
    fn as_expire(self: Arc<Self>) -> Arc<dyn crate::task::deadline::Expire>
    where
        Self: 'static;

    /// The handle is gone without taking the outcome: discard it now if the
    /// task is final, else let the finisher do it ([detach-vs-publish]).
    /// Called once, by the only consumer.
    fn detach(&self, pool: &Shared);

    /// # Safety
    /// The task must be final and the caller its only consumer.
    unsafe fn take_outcome_erased(&self) -> Result<T, TaskError>;

    /// Adds `waker` to the waiters, unless the task is already final.
    fn register(&self, waker: &Waker) -> Registered;
    /// Removes `waker` (after a timeout).
    fn deregister(&self, waker: &Waker);
    /// Sets the waker of the handle's `Future`, replacing the previous one.
    fn set_handle_waker(&self, waker: &Waker) -> Registered;
    /// Stores the `on_complete` callback, or hands it back if the task is
    /// already final (the caller then runs it at once).
    fn set_callback(&self, callback: Callback<T>) -> Result<(), Callback<T>>;
}

impl<F, T> TaskRef<T> for TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn stage(&self) -> Stage {
        self.state.stage()
    }

    fn run_inline(&self, worker: &Worker) -> bool {
        if self.state.try_claim() == Claim::Lost {
            return false;
        }
        self.run_claimed(worker, Run::Queued);
        true
    }

    fn cancel_queued(&self, pool: &Shared) -> bool {
        self.cancel_as(pool, Stage::Cancelled, |_| {})
    }

    fn time_out(&self, pool: &Shared) -> bool {
        // Counted before waiters wake: one that reads `stats()` right
        // after its handle reported TimedOut must see it.
        if self.cancel_as(pool, Stage::TimedOut, Shared::task_timed_out) {
            return true;
        }
        match self.state.time_out() {
            None => false,
            Some(wake) => {
                // Running: asked to stop, and final for every waiter now; the
                // runner drops what it returns ([timeout-vs-publish]).
                pool.task_timed_out();
                self.control.request();
                if wake {
                    self.wake_all(pool);
                }
                true
            }
        }
    }

    fn control(&self) -> &Control {
        &self.control
    }

    fn as_expire(self: Arc<Self>) -> Arc<dyn crate::task::deadline::Expire>
    where
        Self: 'static,
    {
        self
    }

    fn detach(&self, pool: &Shared) {
        // A final stage seen with acquire means the finisher is done with the
        // slot and saw no `DETACHED`: the outcome is ours to discard.
        if self.state.stage().is_final() || self.state.detach().is_final() {
            // SAFETY: final, and the handle was the only consumer; it gives
            // up that role here ([detach-vs-publish]).
            unsafe { self.discard_outcome(pool) };
        }
    }

    unsafe fn take_outcome_erased(&self) -> Result<T, TaskError> {
        // SAFETY: forwarded contract.
        unsafe { self.take_outcome() }
    }

    fn register(&self, waker: &Waker) -> Registered {
        let mut waiters = lock(&self.waiters);
        if self.state.mark_waiting().is_final() {
            return Registered::AlreadyFinal;
        }
        let list = waiters.get_or_insert_with(Waiters::boxed);
        if !list.wakers.iter().any(|w| w.will_wake(waker)) {
            list.wakers.push(waker.clone());
        }
        Registered::Yes
    }

    fn deregister(&self, waker: &Waker) {
        if let Some(list) = lock(&self.waiters).as_mut() {
            list.wakers.retain(|w| !w.will_wake(waker));
        }
    }

    fn set_handle_waker(&self, waker: &Waker) -> Registered {
        let mut waiters = lock(&self.waiters);
        if self.state.mark_waiting().is_final() {
            return Registered::AlreadyFinal;
        }
        let list = waiters.get_or_insert_with(Waiters::boxed);
        match &mut list.handle_waker {
            Some(old) if old.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        Registered::Yes
    }

    fn set_callback(&self, callback: Callback<T>) -> Result<(), Callback<T>> {
        let mut waiters = lock(&self.waiters);
        if self.state.mark_waiting().is_final() {
            return Err(callback);
        }
        waiters.get_or_insert_with(Waiters::boxed).callback = Some(callback);
        Ok(())
    }
}

impl<T> Waiters<T> {
    fn boxed() -> Box<Self> {
        Box::new(Waiters {
            wakers: Vec::new(),
            handle_waker: None,
            callback: None,
        })
    }
}

impl<F, T> crate::task::deadline::Expire for TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn expire(&self, pool: &Shared) {
        if self.time_out(pool) {
            // A queued task that timed out left the queue, as a cancel does.
            pool.signal_if_quiet();
        }
    }
}
