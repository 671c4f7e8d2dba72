//! `--timeout`: a fixed duration, or GNU's `N%`: N percent of the median
//! runtime of the jobs that succeeded so far.
//!
//! A percentage's limit is never below [`FLOOR`]: GNU checks its limits
//! between naps that grow to about a second, so a job of a few
//! milliseconds over a millisecond-sized limit is not killed there either.
//!
//! Invariants: a job's limit is read once, when it starts (GNU re-reads
//! the percentage's limit while the job runs; crew's limit for a job never
//! moves). Until a job has succeeded a percentage gives no limit (GNU's
//! is 1,000,000 s). Only the last [`KEPT`] successful runtimes count, so
//! memory stays flat for any number of jobs.

use std::sync::Mutex;
use std::time::Duration;

use crate::error::CrewError;
use crate::units::parse_duration;

/// The least limit a percentage gives.
const FLOOR: Duration = Duration::from_secs(1);

/// How many recent successful runtimes the median is taken over.
const KEPT: usize = 999;

/// What `--timeout` asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeoutRule {
    /// A fixed limit.
    Fixed(Duration),
    /// This fraction of the median successful runtime (`250%` is 2.5).
    OfMedian(f64),
}

impl TimeoutRule {
    /// Reads `DUR` or `N%`.
    ///
    /// # Errors
    ///
    /// Text that is neither.
    pub fn parse(text: &str) -> Result<TimeoutRule, CrewError> {
        match text.trim().strip_suffix('%') {
            Some(number) => match number.parse::<f64>() {
                Ok(percent) if percent.is_finite() && percent > 0.0 => {
                    Ok(TimeoutRule::OfMedian(percent / 100.0))
                }
                _ => Err(CrewError::usage(format!(
                    "--timeout expects a duration like 0.5, 250ms, 2s or 1m30s, \
                     or a percentage of the median runtime like 200%, got `{text}`"
                ))),
            },
            None => parse_duration("--timeout", text).map(TimeoutRule::Fixed),
        }
    }
}

/// The rule and, for a percentage, the runtimes it is taken of.
#[derive(Debug)]
pub struct Timeout {
    rule: TimeoutRule,
    /// The last [`KEPT`] successful runtimes; `next` is where the next goes.
    recent: Mutex<(Vec<Duration>, usize)>,
}

impl Timeout {
    /// A timeout following `rule`, no runtime seen yet.
    pub fn new(rule: TimeoutRule) -> Timeout {
        Timeout {
            rule,
            recent: Mutex::new((Vec::new(), 0)),
        }
    }

    /// The limit for a job starting now.
    pub fn limit(&self) -> Option<Duration> {
        match self.rule {
            TimeoutRule::Fixed(limit) => Some(limit),
            TimeoutRule::OfMedian(fraction) => {
                let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
                let mut runtimes = recent.0.clone();
                drop(recent);
                if runtimes.is_empty() {
                    return None;
                }
                runtimes.sort_unstable();
                let median = runtimes[(runtimes.len() - 1) / 2];
                Some(median.mul_f64(fraction).max(FLOOR))
            }
        }
    }

    /// Counts the runtime of a job that succeeded.
    pub fn record_success(&self, runtime: Duration) {
        if matches!(self.rule, TimeoutRule::Fixed(_)) {
            return;
        }
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let (runtimes, next) = &mut *recent;
        if runtimes.len() < KEPT {
            runtimes.push(runtime);
        } else {
            runtimes[*next] = runtime;
        }
        *next = (*next + 1) % KEPT;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentage_is_of_the_median_successful_runtime() {
        let timeout = Timeout::new(TimeoutRule::parse("200%").unwrap());
        assert_eq!(timeout.limit(), None);
        for ms in [1000, 3000, 2000] {
            timeout.record_success(Duration::from_millis(ms));
        }
        assert_eq!(timeout.limit(), Some(Duration::from_millis(4000)));
        timeout.record_success(Duration::from_millis(1));
        timeout.record_success(Duration::from_millis(1));
        timeout.record_success(Duration::from_millis(1));
        assert_eq!(timeout.limit(), Some(FLOOR));
    }

    #[test]
    fn a_duration_is_fixed_and_bad_text_is_refused() {
        let timeout = Timeout::new(TimeoutRule::parse("1.5").unwrap());
        timeout.record_success(Duration::from_secs(9));
        assert_eq!(timeout.limit(), Some(Duration::from_millis(1500)));
        assert!(TimeoutRule::parse("x%").is_err());
        assert!(TimeoutRule::parse("0%").is_err());
    }

    #[test]
    fn only_the_recent_runtimes_count() {
        let timeout = Timeout::new(TimeoutRule::OfMedian(1.0));
        for _ in 0..KEPT {
            timeout.record_success(Duration::from_secs(100));
        }
        for _ in 0..KEPT {
            timeout.record_success(Duration::from_secs(2));
        }
        assert_eq!(timeout.limit(), Some(Duration::from_secs(2)));
    }
}
