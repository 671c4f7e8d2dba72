//! Pacing job starts: `--delay` (minimum gap between starts), `--load`
//! (running processes on the machine) and `--memfree` (available memory).
//!
//! `--delay` counts from the later of two instants: when the dispatcher
//! let the previous job go, and when a job was last actually spawned (a job
//! reaches its pool thread and `spawn` a little after it is let go, so the
//! joblog's start times keep the gap as long as that lag stays below the
//! delay).
//!
//! Invariant: `--load` and `--memfree` hold back a start only while at
//! least one of crew's own jobs is running, so crew always makes progress
//! (one job at a time at worst) and can never wait forever on a machine
//! that stays busy or short of memory for reasons of its own.

use std::fs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::exec::RunningJobs;

/// How often a held-back start re-reads the machine's state.
const RECHECK: Duration = Duration::from_millis(50);

/// The pacing rules and the time of the last start.
#[derive(Debug, Default)]
pub struct Pacing {
    /// `--delay`.
    pub delay: Option<Duration>,
    /// `--load`: the process count at which starts pause.
    pub max_load: Option<f64>,
    /// `--memfree`: bytes that must be available.
    pub min_free_memory: Option<u64>,
    last_start: Option<Instant>,
    previous_start: Option<Instant>,
    /// Where the jobs record their spawns, if the dispatcher said.
    spawns: Option<Arc<RunningJobs>>,
}

/// Whether a job may start now.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Yes.
    Go,
    /// Not before this long has passed (check again then).
    Wait(Duration),
}

impl Pacing {
    /// Rules with no start yet.
    pub fn new(
        delay: Option<Duration>,
        max_load: Option<f64>,
        min_free_memory: Option<u64>,
    ) -> Pacing {
        Pacing {
            delay,
            max_load,
            min_free_memory,
            last_start: None,
            previous_start: None,
            spawns: None,
        }
    }

    /// `--delay` also counts from the jobs' actual spawns, as recorded in
    /// `jobs`.
    pub fn count_from_spawns(&mut self, jobs: Arc<RunningJobs>) {
        self.spawns = Some(jobs);
    }

    /// Whether a job may start now, given how many of crew's jobs run.
    pub fn check(&self, running: usize) -> Verdict {
        let spawned = self.spawns.as_ref().and_then(|jobs| jobs.last_spawn());
        let last = match (self.last_start, spawned) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let (Some(delay), Some(last)) = (self.delay, last) {
            let next = last + delay;
            let now = Instant::now();
            if next > now {
                return Verdict::Wait(next - now);
            }
        }
        if running == 0 {
            return Verdict::Go;
        }
        if let Some(max_load) = self.max_load {
            if running_processes().is_some_and(|n| n as f64 >= max_load) {
                return Verdict::Wait(RECHECK);
            }
        }
        if let Some(min_free) = self.min_free_memory {
            if available_memory().is_some_and(|free| free < min_free) {
                return Verdict::Wait(RECHECK);
            }
        }
        Verdict::Go
    }

    /// Records that a job started now.
    pub fn started(&mut self) {
        if self.delay.is_some() {
            self.previous_start = self.last_start;
            self.last_start = Some(Instant::now());
        }
    }

    /// The last start did not happen after all (a Perl expression skipped
    /// the job): `--delay` counts from the start before it.
    pub fn cancel_start(&mut self) {
        self.last_start = self.previous_start;
    }
}

/// Runnable processes on the machine, not counting crew itself (the 4th
/// field of /proc/loadavg is `runnable/total`).
fn running_processes() -> Option<u64> {
    let text = fs::read_to_string("/proc/loadavg").ok()?;
    let runnable: u64 = text
        .split_whitespace()
        .nth(3)?
        .split('/')
        .next()?
        .parse()
        .ok()?;
    Some(runnable.saturating_sub(1))
}

/// `MemAvailable` from /proc/meminfo, in bytes.
fn available_memory() -> Option<u64> {
    let text = fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_state_is_readable() {
        assert!(running_processes().is_some());
        assert!(available_memory().is_some_and(|m| m > 0));
    }

    #[test]
    fn a_start_always_goes_when_nothing_runs() {
        let pacing = Pacing::new(None, Some(0.0), Some(u64::MAX));
        assert_eq!(pacing.check(0), Verdict::Go);
        assert_ne!(pacing.check(1), Verdict::Go);
    }

    #[test]
    fn delay_spaces_starts() {
        let mut pacing = Pacing::new(Some(Duration::from_secs(60)), None, None);
        assert_eq!(pacing.check(0), Verdict::Go);
        pacing.started();
        assert!(matches!(pacing.check(0), Verdict::Wait(d) if d > Duration::from_secs(59)));
    }
}
