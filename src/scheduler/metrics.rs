//! The `metrics` feature: a pool's figures through the `metrics` facade.
//!
//! Handles are registered once, when the pool is built
//! (`PoolBuilder::metrics`), with whatever recorder is installed then, so
//! recording per task is one call on a handle. Per task: the
//! `<prefix>.queue_wait` and `<prefix>.run_time` histograms (seconds) and
//! the `<prefix>.tasks` / `<prefix>.panics` counters; on
//! `Pool::record_metrics`: gauges of the pool's threads and queue.

use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};

/// The handles one pool records into.
pub(crate) struct PoolMetrics {
    queue_wait: Histogram,
    run_time: Histogram,
    tasks: Counter,
    panics: Counter,
    threads: Gauge,
    idle_threads: Gauge,
    queued: Gauge,
    running: Gauge,
}

impl PoolMetrics {
    pub(crate) fn register(prefix: &str) -> PoolMetrics {
        let name = |what: &str| format!("{prefix}.{what}");
        PoolMetrics {
            queue_wait: metrics::histogram!(name("queue_wait")),
            run_time: metrics::histogram!(name("run_time")),
            tasks: metrics::counter!(name("tasks")),
            panics: metrics::counter!(name("panics")),
            threads: metrics::gauge!(name("threads")),
            idle_threads: metrics::gauge!(name("idle_threads")),
            queued: metrics::gauge!(name("queued")),
            running: metrics::gauge!(name("running")),
        }
    }

    /// One task finished after waiting `queued_for` and running `ran_for`.
    pub(crate) fn task(&self, queued_for: Duration, ran_for: Duration, panicked: bool) {
        self.queue_wait.record(queued_for.as_secs_f64());
        self.run_time.record(ran_for.as_secs_f64());
        self.tasks.increment(1);
        if panicked {
            self.panics.increment(1);
        }
    }

    /// The pool's state now.
    pub(crate) fn gauges(&self, threads: usize, idle: usize, queued: usize, running: usize) {
        self.threads.set(threads as f64);
        self.idle_threads.set(idle as f64);
        self.queued.set(queued as f64);
        self.running.set(running as f64);
    }
}
