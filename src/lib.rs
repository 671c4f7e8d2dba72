//! workcrew: a thread pool that loses nothing, never deadlocks on nested
//! waits, and turns panics into values.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod builder;
mod error;
mod handle;
mod imap;
mod job;
mod join;
mod map;
mod pool;
mod queue;
mod registry;
mod scope;
mod seed;
mod stats;
mod sync;
mod task;
mod task_set;
mod worker;

pub(crate) use sync::Arc;

pub use builder::{BuildError, PoolBuilder};
pub use error::{SpawnError, Timeout};
pub use handle::TaskHandle;
pub use imap::Imap;
pub use join::fork_join;
pub use pool::Pool;
pub use scope::{Scope, ScopedHandle};
pub use seed::{global, spawn, split_evenly, thread_job, thread_map};
pub use stats::PoolStats;
pub use task::TaskError;
pub use task_set::{wait_all, wait_all_timeout, wait_any, wait_any_timeout, TaskId, TaskSet};
