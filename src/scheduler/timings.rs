//! How long tasks waited in the queue and ran: per-worker histograms that
//! only their worker writes (like the counters in stats.rs), summed by a
//! snapshot, and the slow-task report.
//!
//! Timing is opt-in (`PoolBuilder::task_timings`, or implied by a slow-task
//! hook): a pool that does not ask reads no clock per task. A task's submit
//! instant travels inside its closure (task/instrument.rs), so timing adds
//! no allocation either.
//!
//! Buckets are powers of two of microseconds: bucket 0 holds durations
//! under 1 µs, bucket `i` those in `[2^(i-1), 2^i)` µs, and the last one
//! everything from about 1.1 hours up.

use std::fmt;
use std::time::Duration;

use crate::scheduler::stats::Counter;

/// Buckets of a [`Timings`] histogram.
pub const TIMING_BUCKETS: usize = 24;

/// The bucket of `duration` (module docs).
fn bucket(duration: Duration) -> usize {
    let micros = duration.as_micros();
    if micros == 0 {
        return 0;
    }
    let bits = (u128::BITS - micros.leading_zeros()) as usize;
    bits.min(TIMING_BUCKETS - 1)
}

/// One worker's histogram of one duration; written by that worker only.
#[derive(Default)]
pub(crate) struct SlotTimings {
    count: Counter,
    total_nanos: Counter,
    max_nanos: Counter,
    buckets: [Counter; TIMING_BUCKETS],
}

impl SlotTimings {
    /// Records one duration. Only the owning worker calls this.
    pub(crate) fn record(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.count.bump();
        self.total_nanos.add(nanos);
        self.max_nanos.raise_to(nanos);
        self.buckets[bucket(duration)].bump();
    }

    /// Adds this slot's figures into `sum`.
    pub(crate) fn add_to(&self, sum: &mut Timings) {
        sum.count += self.count.get();
        sum.total += Duration::from_nanos(self.total_nanos.get());
        sum.max = sum.max.max(Duration::from_nanos(self.max_nanos.get()));
        for (total, bucket) in sum.buckets.iter_mut().zip(&self.buckets) {
            *total += bucket.get();
        }
    }
}

/// A histogram of durations, in [`PoolStats`](crate::PoolStats): how long
/// tasks waited in the queue, or ran. Empty unless the pool measures them
/// ([`PoolBuilder::task_timings`](crate::PoolBuilder::task_timings)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = workcrew::Pool::builder().threads(2).task_timings(true).build()?;
/// for ms in [1, 2, 3] {
///     pool.execute(move || std::thread::sleep(Duration::from_millis(ms)));
/// }
/// pool.join();
/// let run_time = pool.stats().run_time;
/// assert_eq!(run_time.count, 3);
/// assert!(run_time.max >= Duration::from_millis(3));
/// assert!(run_time.mean() >= Duration::from_millis(2));
/// println!("p99 under {:?}", run_time.quantile_at_most(0.99));
/// # Ok::<(), workcrew::BuildError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timings {
    /// Tasks measured.
    pub count: u64,
    /// The sum of their durations.
    pub total: Duration,
    /// The longest.
    pub max: Duration,
    /// Counts per power of two of microseconds: `buckets[0]` under 1 µs,
    /// `buckets[i]` in `[2^(i-1), 2^i)` µs, the last one everything above.
    pub buckets: [u64; TIMING_BUCKETS],
}

impl Timings {
    /// The mean duration, or zero if nothing was measured.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(workcrew::Timings::default().mean(), std::time::Duration::ZERO);
    /// ```
    pub fn mean(&self) -> Duration {
        match u32::try_from(self.count) {
            Ok(0) => Duration::ZERO,
            Ok(count) => self.total / count,
            Err(_) => Duration::from_nanos((self.total.as_nanos() / u128::from(self.count)) as u64),
        }
    }

    /// An upper bound for the `q` quantile (0.0 to 1.0), from the buckets:
    /// the top of the bucket that holds it (so within a factor of two).
    ///
    /// See [`Timings`] for an example.
    pub fn quantile_at_most(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let wanted = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return if i + 1 == TIMING_BUCKETS {
                    self.max
                } else {
                    Duration::from_micros(1 << i).min(self.max.max(Duration::from_nanos(1)))
                };
            }
        }
        self.max
    }
}

impl fmt::Debug for Timings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timings")
            .field("count", &self.count)
            .field("mean", &self.mean())
            .field("max", &self.max)
            .field("p99_at_most", &self.quantile_at_most(0.99))
            .finish()
    }
}

/// What a slow-task hook is told about a task that ran longer than its
/// threshold ([`PoolBuilder::slow_task`](crate::PoolBuilder::slow_task)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = workcrew::Pool::builder()
///     .threads(1)
///     .slow_task(Duration::from_millis(50), |task| {
///         eprintln!(
///             "slow task {}: waited {:?}, ran {:?}",
///             task.name().unwrap_or("(unnamed)"),
///             task.queued_for(),
///             task.ran_for(),
///         );
///     })
///     .build()?;
/// pool.task_builder().name("report").spawn(|| ()).join().unwrap();
/// # Ok::<(), workcrew::BuildError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TaskInfo<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) queued_for: Duration,
    pub(crate) ran_for: Duration,
}

impl TaskInfo<'_> {
    /// The name given at submit ([`TaskBuilder::name`](crate::TaskBuilder::name)), if any.
    pub fn name(&self) -> Option<&str> {
        self.name
    }

    /// How long it waited in the queue before a thread took it.
    pub fn queued_for(&self) -> Duration {
        self.queued_for
    }

    /// How long it ran.
    pub fn ran_for(&self) -> Duration {
        self.ran_for
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two_of_microseconds() {
        assert_eq!(bucket(Duration::from_nanos(999)), 0);
        assert_eq!(bucket(Duration::from_micros(1)), 1);
        assert_eq!(bucket(Duration::from_micros(3)), 2);
        assert_eq!(bucket(Duration::from_micros(4)), 3);
        assert_eq!(bucket(Duration::from_secs(100_000)), TIMING_BUCKETS - 1);
    }

    #[test]
    fn a_slot_sums_into_timings_with_mean_max_and_a_quantile_bound() {
        let slot = SlotTimings::default();
        for micros in [1, 2, 3, 100] {
            slot.record(Duration::from_micros(micros));
        }
        let mut sum = Timings::default();
        slot.add_to(&mut sum);
        assert_eq!(sum.count, 4);
        assert_eq!(sum.total, Duration::from_micros(106));
        assert_eq!(sum.max, Duration::from_micros(100));
        assert_eq!(sum.mean(), Duration::from_nanos(26_500));
        assert!(sum.quantile_at_most(0.5) >= Duration::from_micros(2));
        assert!(sum.quantile_at_most(1.0) >= Duration::from_micros(100));
    }
}
