//! The scheduler: worker threads, their queues, the jobs they carry, how
//! work is admitted, counted and waited for. It knows nothing of the layers
//! built on it (tasks with handles, the pool's face, data parallelism); they
//! reach it through a narrow interface:
//!
//! * [`shared::Shared::submit`] queues one counted job (built by the caller)
//!   after admission, and [`job`]'s traits say what a job is to the pool;
//! * [`worker::Worker`] is the running worker (`with_current`), with its
//!   deque, `run_task_then` (hooks, counters, panic capture) and the blocking
//!   guard that lets the pool compensate for a waiting worker;
//! * [`part`] runs the pieces of a running task (`fork_join_on`,
//!   `run_with_helpers`) and waits for them without running unrelated work.
//!
//! Protocols, each documented where it lives: waking and growth
//! (`registry.rs`), admission and closing (`shared.rs`), queue entries and
//! stack jobs (`job.rs`), counting (`stats.rs`), helping (`part.rs`),
//! recording and promoting `fork_join` halves (`frames.rs`), who asks for
//! them and when (`heartbeat.rs`), and the fences that keep a join cheap
//! (`fence.rs`).

use std::time::{Duration, Instant};

pub(crate) mod ambient;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod fence;
pub(crate) mod frames;
pub(crate) mod guard;
pub(crate) mod heartbeat;
#[cfg(loom)]
pub mod hooks;
pub(crate) mod inline;
pub(crate) mod job;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
pub(crate) mod part;
pub(crate) mod queue;
pub(crate) mod registry;
pub(crate) mod room;
pub(crate) mod shared;
pub(crate) mod spare;
pub(crate) mod spawn;
pub(crate) mod stats;
pub(crate) mod submit;
pub(crate) mod timings;
pub(crate) mod worker;

/// `now + timeout`, saturating far in the future instead of overflowing.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(60 * 60 * 24 * 365 * 30))
}
