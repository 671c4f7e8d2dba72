//! A task's life cycle: one atomic word, its stages and the transitions
//! between them, each a method returning what its caller must do next.
//!
//! # The word
//!
//! Bits 0–1 are the stage; bit 2 (`WAITING`) says that someone registered
//! in the waiter list; bit 3 (`DETACHED`) that the handle is gone without
//! taking the outcome; bit 4 (`TIMED_OUT`) marks a final `Cancelled` stage
//! reached because the task's deadline passed (task/deadline.rs).
//!
//! # Transitions
//!
//! | from     | to        | who |
//! |----------|-----------|-----|
//! | Queued   | Running   | whoever claims the task ([`TaskState::try_claim`]): a worker that took it from a queue, a waiter taking it back to run inline, a canceller, or the deadline timer |
//! | Running  | Complete  | the runner, after storing the result ([`TaskState::publish`]) |
//! | Running  | Cancelled | a canceller that claimed a queued task, after dropping the closure; or the runner, when the task stopped at a checkpoint (`workcrew::checkpoint`) |
//! | Running  | TimedOut  | the deadline timer, while the closure still runs ([`TaskState::time_out`]); or a claimer of a queued task whose deadline passed |
//!
//! Complete, Cancelled and TimedOut are final. The claim is a
//! compare-exchange from `Queued`, so among a worker starting the task,
//! `cancel` and the timer exactly one wins. A request to stop a *running*
//! task (`request_cancel`) is not a transition: it is a flag in the task's
//! control block (task/control.rs), which the task reads when it likes; the
//! task's own ending (returned, panicked, stopped at a checkpoint) is the one
//! outcome, so a request racing with completion cannot give two.
//!
//! # Who owns the slot
//!
//! The claimant owns the cell's slot until it publishes a final stage with a
//! release; then the one consumer (the handle, or the `on_complete`
//! callback) reads it after an acquire load. One exception, `[timeout-vs-
//! publish]`: a task that timed out while running is final while its runner
//! still owns the slot. The runner's publish is a compare-exchange that
//! fails on a final stage, and the runner then drops its outcome itself
//! (counted as discarded); consumers of a `TimedOut` task never touch the
//! slot.

use crate::sync::{AtomicUsize, Ordering};

const STAGE: usize = 0b11;
const QUEUED: usize = 0;
const RUNNING: usize = 1;
const COMPLETE: usize = 2;
const CANCELLED: usize = 3;
/// Set once someone has registered in the waiter list; the finisher must then
/// lock the list and wake what it finds there.
const WAITING: usize = 0b100;
/// Set when the handle is dropped without taking the outcome; see
/// "Detaching" in task/cell.rs.
const DETACHED: usize = 0b1000;
/// With stage `CANCELLED`: the deadline passed.
const TIMED_OUT: usize = 0b1_0000;

/// Where a task is in its life; see the module docs for the transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    Queued,
    Running,
    Complete,
    Cancelled,
    TimedOut,
}

impl Stage {
    fn of(word: usize) -> Self {
        match word & STAGE {
            QUEUED => Stage::Queued,
            RUNNING => Stage::Running,
            COMPLETE => Stage::Complete,
            _ if word & TIMED_OUT != 0 => Stage::TimedOut,
            _ => Stage::Cancelled,
        }
    }

    pub(crate) fn is_final(self) -> bool {
        matches!(self, Stage::Complete | Stage::Cancelled | Stage::TimedOut)
    }
}

/// Outcome of trying to move a task out of `Queued`.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// This caller moved the task; it now owns the closure.
    Won,
    /// Someone else got there first (it is running, done or cancelled).
    Lost,
}

/// What a finisher must do after trying to publish a final stage.
#[must_use]
pub(crate) enum Published {
    /// The stage is published.
    Done {
        /// Someone registered in the waiter list: wake it.
        wake: bool,
        /// The handle detached first: discard the outcome
        /// (`[detach-vs-publish]`, task/cell.rs).
        discard: bool,
    },
    /// The task timed out first (`[timeout-vs-publish]`): nothing was
    /// published; the runner still owns the slot and drops its outcome.
    TimedOut,
}

/// The atomic life-cycle word of a task.
pub(crate) struct TaskState(AtomicUsize);

impl TaskState {
    pub(crate) fn new() -> Self {
        Self(AtomicUsize::new(QUEUED))
    }

    pub(crate) fn stage(&self) -> Stage {
        // Acquire: pairs with the release in `publish`, so a caller that
        // sees `Complete` also sees the stored result.
        Stage::of(self.0.load(Ordering::Acquire))
    }

    /// Queued → Running.
    pub(crate) fn try_claim(&self) -> Claim {
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            if word & STAGE != QUEUED {
                return Claim::Lost;
            }
            // Acquire: the winner sees the closure written by the submitter.
            match self.0.compare_exchange_weak(
                word,
                word | RUNNING,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Claim::Won,
                Err(actual) => word = actual,
            }
        }
    }

    /// Running → `to` (a final stage); fails only when the task timed out
    /// first (module docs, "Who owns the slot").
    pub(crate) fn publish(&self, to: Stage) -> Published {
        let bits = match to {
            Stage::Complete => COMPLETE,
            Stage::Cancelled => CANCELLED,
            Stage::TimedOut => CANCELLED | TIMED_OUT,
            Stage::Queued | Stage::Running => unreachable!("publish goes to a final stage"),
        };
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            if word & STAGE != RUNNING {
                debug_assert_eq!(Stage::of(word), Stage::TimedOut);
                return Published::TimedOut;
            }
            // Release: publishes the slot written before this call. Acquire:
            // a handle that detached before us is done with the cell.
            match self.0.compare_exchange_weak(
                word,
                (word & !STAGE) | bits,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(previous) => {
                    return Published::Done {
                        wake: previous & WAITING != 0,
                        discard: previous & DETACHED != 0,
                    }
                }
                Err(actual) => word = actual,
            }
        }
    }

    /// Running → TimedOut while the closure still runs (the deadline
    /// timer). Returns whether waiters must be woken, or `None` if the task
    /// was not running (already final, or still queued: claim it instead).
    pub(crate) fn time_out(&self) -> Option<bool> {
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            if word & STAGE != RUNNING {
                return None;
            }
            // Acquire/Release: like `publish`, for the waiters it wakes.
            match self.0.compare_exchange_weak(
                word,
                (word & !STAGE) | CANCELLED | TIMED_OUT,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(previous) => return Some(previous & WAITING != 0),
                Err(actual) => word = actual,
            }
        }
    }

    /// Sets the `WAITING` bit; must be called with the waiter list locked.
    pub(crate) fn mark_waiting(&self) -> Stage {
        Stage::of(self.0.fetch_or(WAITING, Ordering::AcqRel))
    }

    /// Sets the `DETACHED` bit (`[detach-vs-publish]`); returns the stage it
    /// found. If that stage is final, the caller discards the outcome.
    pub(crate) fn detach(&self) -> Stage {
        // AcqRel: pairs with `publish`, whichever of the two comes second
        // sees the other's writes (the outcome, or that nobody will read it).
        Stage::of(self.0.fetch_or(DETACHED, Ordering::AcqRel))
    }
}
