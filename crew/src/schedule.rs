//! The scheduler: job slots, the `-k` window, pacing, halting and the
//! tallies that make crew's exit status.
//!
//! Protocol (one mutex, one condvar):
//! - The dispatcher calls [`Scheduler::acquire`] before starting each job.
//!   It gets a free slot once (a) one is free, (b) with `-k`, the job's order
//!   number is inside the reorder window, (c) pacing allows a start, and
//!   (d) nothing has stopped crew; otherwise it waits on the condvar.
//! - A finishing job calls [`Scheduler::finish`] (tallies, halt rule), then
//!   [`Scheduler::release`] once its output is out or parked; both notify.
//! - [`Scheduler::stop`] (halt, signal, broken stdout, crew error) is
//!   sticky: every later `acquire` fails, so the dispatcher stops reading
//!   input, and waiting dispatchers wake at once.
//!
//! Invariants: `running` equals the slots handed out and not released, so
//! at most `slots` jobs ever run; a job's tallies are counted exactly once;
//! the first stop reason wins, except that a signal overrides a halt (the
//! user's interrupt is what the exit status should say).

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::exec::Ending;
use crate::order::Reorder;
use crate::pacing::{Pacing, Verdict};
use crate::units::{HaltCounts, HaltRule, Threshold, Urgency};

/// Why crew stopped starting jobs early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `--halt` fired; crew exits with this status.
    Halt { status: i32, urgency: Urgency },
    /// A stop signal arrived.
    Signal(i32),
    /// Whoever read crew's stdout went away.
    BrokenPipe,
    /// crew itself failed (an input file, the joblog, a lost output ...).
    Fatal,
    /// crew's stdout or stderr cannot be written (the message is printed).
    OutputFailed,
}

/// What a finished job means for `--halt` (GNU tells each counted job).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct HaltNews {
    /// The rule counts this job: GNU says "This job failed" (succeeded,
    /// finished). `None` also for a job crew killed after a `now` halt.
    pub counts: Option<HaltCounts>,
    /// The rule is met (with this job or before).
    pub is_met: bool,
    /// The rule fired with this job.
    pub fired: Option<Urgency>,
    /// The rule is `soon` (running jobs may finish).
    pub is_soon: bool,
    /// Jobs still running besides this one.
    pub others: usize,
}

/// What the run came to.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    /// Jobs finished.
    pub done: u64,
    /// Jobs that failed (after their retries).
    pub failed: u64,
    /// Jobs that succeeded.
    pub succeeded: u64,
}

struct State {
    free_slots: Vec<usize>,
    running: usize,
    /// Slots the dispatcher holds while it waits for its next input (a
    /// slot is taken before the input is read, as GNU does): no job runs
    /// in them, so waiting for the jobs to end does not wait for these.
    reading: usize,
    tally: Tally,
    /// Jobs counted by [`Scheduler::finish`] whose slot is not back yet:
    /// they no longer run (GNU's count of running jobs leaves them out).
    finished_holding: usize,
    stop: Option<Stop>,
}

/// Slots, window, halting and tallies behind one lock.
pub struct Scheduler {
    state: Mutex<State>,
    changed: Condvar,
    halt: Option<HaltRule>,
}

impl Scheduler {
    /// `slots` job slots (numbered 1..=slots), halting by `halt`.
    pub fn new(slots: usize, halt: Option<HaltRule>) -> Scheduler {
        Scheduler {
            state: Mutex::new(State {
                free_slots: (1..=slots).rev().collect(),
                running: 0,
                reading: 0,
                tally: Tally::default(),
                finished_holding: 0,
                stop: None,
            }),
            changed: Condvar::new(),
            halt,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until job `order` may start and returns its slot, or why
    /// crew stopped. `window` is the `-k` reorder window.
    pub fn acquire(
        &self,
        order: u64,
        window: Option<(&Reorder, u64)>,
        pacing: &mut Pacing,
    ) -> Result<usize, Stop> {
        let mut state = self.lock();
        loop {
            if let Some(stop) = state.stop {
                return Err(stop);
            }
            let is_in_window =
                window.is_none_or(|(reorder, size)| order < reorder.released() + size);
            let mut recheck = None;
            if !state.free_slots.is_empty() && is_in_window {
                match pacing.check(state.running) {
                    Verdict::Go => {
                        let slot = state.free_slots.pop().expect("checked non-empty");
                        state.running += 1;
                        pacing.started();
                        return Ok(slot);
                    }
                    Verdict::Wait(wait) => recheck = Some(wait),
                }
            }
            state = match recheck {
                None => self.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(wait) => {
                    self.changed
                        .wait_timeout(state, wait.max(Duration::from_micros(100)))
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Counts a finished job and applies the halt rule; says what GNU
    /// would tell about it (the caller kills running jobs when the rule
    /// fired with `now`).
    pub fn finish(&self, ending: &Ending) -> HaltNews {
        let mut state = self.lock();
        state.finished_holding += 1;
        let tally = &mut state.tally;
        tally.done += 1;
        if ending.is_success() {
            tally.succeeded += 1;
        } else {
            tally.failed += 1;
        }
        let mut news = HaltNews::default();
        let Some(rule) = self.halt else {
            return news;
        };
        let tally = *tally;
        if let Some(Stop::Halt {
            urgency: Urgency::Now,
            ..
        }) = state.stop
        {
            // Killed by crew after a `now` halt: GNU has exited already.
            return news;
        }
        let counted = match rule.counts {
            HaltCounts::Failures if !ending.is_success() => tally.failed,
            HaltCounts::Successes if ending.is_success() => tally.succeeded,
            HaltCounts::Done => tally.done,
            _ => return news,
        };
        news.counts = Some(rule.counts);
        news.is_soon = rule.urgency == Urgency::Soon;
        news.others = state
            .running
            .saturating_sub(state.reading + state.finished_holding);
        if !rule.is_met(counted, tally.done) {
            return news;
        }
        news.is_met = true;
        if matches!(state.stop, Some(Stop::Halt { .. })) {
            return news;
        }
        // GNU's status: a count of 1 gives the job's own status, a larger
        // count how many failed (at most 101), `success` 0.
        let own = match ending.shell_status() {
            status if status < 0 => status & 255,
            status => status,
        };
        let status = match (rule.counts, rule.threshold) {
            (HaltCounts::Successes, _) => 0,
            (HaltCounts::Failures, Threshold::Percent(_)) => own.clamp(1, 255),
            (_, Threshold::Count(1)) => own,
            _ => tally.failed.min(101) as i32,
        };
        state.stop = Some(Stop::Halt {
            status,
            urgency: rule.urgency,
        });
        self.changed.notify_all();
        news.fired = Some(rule.urgency);
        news
    }

    /// A finished job returns its `slot`.
    pub fn release_finished(&self, slot: usize) {
        {
            let mut state = self.lock();
            state.finished_holding = state.finished_holding.saturating_sub(1);
        }
        self.release(slot);
    }

    /// Returns `slot` to the free list.
    pub fn release(&self, slot: usize) {
        let mut state = self.lock();
        state.running -= 1;
        state.free_slots.push(slot);
        self.changed.notify_all();
    }

    /// Wakes the dispatcher (the reorder window moved).
    pub fn nudge(&self) {
        let _state = self.lock();
        self.changed.notify_all();
    }

    /// Stops crew from starting jobs.
    pub fn stop(&self, reason: Stop) {
        let mut state = self.lock();
        match state.stop {
            None | Some(Stop::Halt { .. }) if matches!(reason, Stop::Signal(_)) => {
                state.stop = Some(reason)
            }
            None => state.stop = Some(reason),
            Some(_) => {}
        }
        self.changed.notify_all();
    }

    /// Whether a `--halt now` rule (or a perl `exit`) stopped crew.
    pub fn is_halted_now(&self) -> bool {
        matches!(
            self.lock().stop,
            Some(Stop::Halt {
                urgency: Urgency::Now,
                ..
            })
        )
    }

    /// Whether crew is stopping.
    pub fn is_stopping(&self) -> bool {
        self.lock().stop.is_some()
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        self.lock().running
    }

    /// The dispatcher holds a slot and is about to wait for input (`true`),
    /// or has its input (`false`); see `State::reading`.
    pub fn reading_input(&self, reading: bool) {
        let mut state = self.lock();
        if reading {
            state.reading += 1;
        } else {
            state.reading -= 1;
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Waits until no job runs (a slot held while the dispatcher waits for
    /// input is no job); returns the tally and the stop reason.
    pub fn wait_idle(&self) -> (Tally, Option<Stop>) {
        let mut state = self.lock();
        while state.running > state.reading {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        (state.tally, state.stop)
    }

    /// Waits up to `limit` until no job runs; returns whether none does.
    pub fn wait_idle_for(&self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        let mut state = self.lock();
        while state.running > state.reading {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// The tally so far.
    pub fn tally(&self) -> Tally {
        self.lock().tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{parse_halt, Urgency};

    #[test]
    fn slots_run_out_and_come_back() {
        let scheduler = Scheduler::new(2, None);
        let mut pacing = Pacing::default();
        let a = scheduler.acquire(0, None, &mut pacing).unwrap();
        let b = scheduler.acquire(1, None, &mut pacing).unwrap();
        assert_ne!(a, b);
        assert_eq!(scheduler.running(), 2);
        scheduler.release(a);
        assert_eq!(scheduler.acquire(2, None, &mut pacing).unwrap(), a);
    }

    #[test]
    fn a_halt_rule_stops_further_starts() {
        let scheduler = Scheduler::new(1, parse_halt("now,fail=2").unwrap());
        assert_eq!(scheduler.finish(&Ending::Exited(3)).fired, None);
        assert_eq!(
            scheduler.finish(&Ending::Exited(4)).fired,
            Some(Urgency::Now)
        );
        let mut pacing = Pacing::default();
        assert_eq!(
            scheduler.acquire(0, None, &mut pacing),
            Err(Stop::Halt {
                status: 2,
                urgency: Urgency::Now
            })
        );
    }

    #[test]
    fn a_signal_overrides_a_halt() {
        let scheduler = Scheduler::new(1, None);
        scheduler.stop(Stop::Halt {
            status: 1,
            urgency: Urgency::Soon,
        });
        scheduler.stop(Stop::Signal(2));
        scheduler.stop(Stop::BrokenPipe);
        assert_eq!(scheduler.wait_idle().1, Some(Stop::Signal(2)));
    }
}
