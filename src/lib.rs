//! workcrew: a thread pool that loses nothing, never deadlocks on nested
//! waits, and turns panics into values.
//!
//! It serves both kinds of work people hand to a pool: CPU-bound data
//! parallelism (split, map, fork-join) and blocking work (I/O, sleeps,
//! subprocesses) that wants many threads.
//!
//! ```
//! use std::time::Duration;
//! use workcrew::Pool;
//!
//! let pool = Pool::builder().threads(4).max_threads(16).build()?;
//!
//! // Tasks with handles; a panic comes back as a value.
//! let answer = pool.spawn(|| 6 * 7);
//! let broken = pool.spawn(|| -> u32 { panic!("out of coffee") });
//! assert_eq!(answer.join()?, 42);
//! assert_eq!(broken.join().unwrap_err().panic_message(), Some("out of coffee"));
//!
//! // Data parallelism that borrows from the stack.
//! let words = ["pool", "of", "threads"];
//! let lengths = pool.map(&words, |w| w.len());
//! assert_eq!(lengths, [4, 2, 7]);
//!
//! // Blocking work streamed back in order, computed ahead of the reader.
//! let pages: Vec<String> = pool
//!     .imap(1..=3, |id| {
//!         std::thread::sleep(Duration::from_millis(5));
//!         format!("page {id}")
//!     })
//!     .collect();
//! assert_eq!(pages, ["page 1", "page 2", "page 3"]);
//!
//! // Waiting inside the pool is safe, even on a single thread.
//! let single = Pool::new(1);
//! let inner = single.clone();
//! let nested = single.spawn(move || inner.spawn(|| 1).join().unwrap() + 1);
//! assert_eq!(nested.join()?, 2);
//!
//! pool.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Promises
//!
//! 1. **Nothing is lost.** Every submitted closure runs exactly once, or its
//!    handle reports [`TaskError::Cancelled`], or the submission is refused
//!    and the closure handed back ([`SpawnError`]). Panics become values;
//!    they never kill a worker or the pool.
//! 2. **No deadlock from waiting inside the pool.** A task may spawn and wait
//!    for other tasks, `apply`, `map`, `scope`, `fork_join`, even on a
//!    one-thread pool: a waiter runs the queued work it waits for itself, or
//!    the pool starts a compensating thread. It never "helps" by running
//!    unrelated tasks while the caller may hold a lock.
//! 3. **Fast.** One allocation per task, no lock on submit, parked workers
//!    use no CPU and wake one at a time.
//! 4. **Observable and bounded.** [`Pool::stats`], hooks, bounded queues
//!    with backpressure.
//!
//! # Map of the API
//!
//! | to ... | use |
//! |---|---|
//! | build a pool | [`Pool::new`], [`Pool::builder`] ([`PoolBuilder`]) |
//! | run one task | [`Pool::spawn`] → [`TaskHandle`] (`join`, `wait_timeout`, `cancel`, `on_complete`, `Future`); [`Pool::try_spawn`], [`Pool::spawn_timeout`], [`Pool::execute`], [`Pool::apply`] |
//! | borrow from the stack | [`Pool::scope`] ([`Scope`], [`ScopedHandle`]) |
//! | wait for many | [`TaskSet`], [`wait_any`], [`wait_all`], [`Pool::race`] |
//! | parallel loops | [`Pool::map`], [`Pool::try_map`], [`Pool::for_each_range`], [`Pool::for_each_chunk_mut`] (and `_sized`: [`Pool::for_each_range_sized`], [`Pool::for_each_chunk_mut_sized`]) |
//! | stream results | [`Pool::imap`], [`Pool::imap_unordered`] ([`Imap`]) |
//! | divide and conquer | [`Pool::fork_join`], [`fork_join`], [`join`] |
//! | parallel iterators (rayon's names) | `use workcrew::prelude::*` ([`prelude`], [`iter`]): `par_iter`, `par_iter_mut`, `into_par_iter`, `par_chunks(_mut)`, `par_sort*`, `par_bridge`; [`Pool::install`], [`current_num_threads`] |
//! | lifecycle | [`Pool::join`], [`Pool::shutdown`], [`Pool::shutdown_now`], [`Pool::set_threads`], [`Pool::stats`] |
//! | the seeds' helpers | [`global`], [`spawn`], [`thread_job`], [`thread_map`], [`split_evenly`] |
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

// The layers, each importing only from those above it in this list:
// the base (`sync`, `error`), the scheduler, tasks, the pool's face, data
// parallelism, the parallel iterators.
mod error;
mod sync;

mod scheduler;
mod task;

mod pool;

mod parallel;

pub mod iter;
pub mod prelude;

pub(crate) use sync::Arc;

/// Hooks for the loom models of `tests/loom.rs` (built under `cfg(loom)`).
#[cfg(loom)]
#[doc(hidden)]
pub use scheduler::hooks as __loom;

pub use error::{SpawnError, Timeout};
pub use iter::run::{current_num_threads, join};
pub use parallel::imap::{Imap, Progress};
pub use parallel::join::fork_join;
pub use parallel::scope::{Scope, ScopedHandle};
pub use parallel::seed::{global, spawn, split_evenly, thread_job, thread_map};
pub use pool::builder::{BuildError, PoolBuilder};
#[cfg(all(unix, feature = "ctrl-c"))]
pub use pool::integrations::{stop_on_ctrl_c, CtrlC};
pub use pool::task_builder::TaskBuilder;
pub use pool::Pool;
pub use scheduler::stats::PoolStats;
pub use scheduler::timings::{TaskInfo, Timings, TIMING_BUCKETS};
pub use task::control::{checkpoint, is_cancelled, time_left};
pub use task::error::TaskError;
pub use task::handle::TaskHandle;
pub use task::task_set::{wait_all, wait_all_timeout, wait_any, wait_any_timeout, TaskId, TaskSet};
