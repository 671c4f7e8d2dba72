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
//! | run one task | [`Pool::spawn`] → [`TaskHandle`] (`join`, `wait_timeout`, `cancel`, `request_cancel`, `on_complete`, `Future`); [`Pool::try_spawn`], [`Pool::spawn_timeout`], [`Pool::execute`], [`Pool::apply`] |
//! | name a task, give it a deadline | [`Pool::task_builder`] ([`TaskBuilder`]) |
//! | stop running work | [`TaskHandle::request_cancel`], [`is_cancelled`], [`checkpoint`], [`time_left`], [`Pool::request_cancel_running`] |
//! | borrow from the stack | [`Pool::scope`] ([`Scope`], [`ScopedHandle`]) |
//! | wait for many | [`TaskSet`], [`wait_any`], [`wait_all`], [`Pool::race`] |
//! | parallel loops | [`Pool::map`], [`Pool::try_map`], [`Pool::for_each_range`], [`Pool::for_each_chunk_mut`] (and `_sized`: [`Pool::for_each_range_sized`], [`Pool::for_each_chunk_mut_sized`]) |
//! | stream results | [`Pool::imap`], [`Pool::imap_unordered`] ([`Imap`]) |
//! | divide and conquer | [`Pool::fork_join`], [`fork_join`], [`join`] |
//! | parallel iterators (rayon's names) | `use workcrew::prelude::*` ([`prelude`], [`iter`]): `par_iter`, `par_iter_mut`, `into_par_iter`, `par_chunks(_mut)`, `par_sort*`, `par_bridge`; [`Pool::install`], [`current_num_threads`] |
//! | lifecycle | [`Pool::join`], [`Pool::shutdown`], [`Pool::shutdown_now`], [`Pool::set_threads`], [`Pool::stats`] ([`PoolStats`]) |
//! | the process-wide pool, spacepy's `thread_job` and `thread_map`, numpy's `array_split` | [`global`], [`spawn`], [`thread_job`], [`thread_map`], [`split_evenly`] |
//!
//! # Coming from Python
//!
//! | Python | workcrew |
//! |---|---|
//! | `ThreadPoolExecutor(max_workers=8)` | `Pool::builder().threads(1).max_threads(8).build()?` (or `Pool::new(8)`) |
//! | `f = ex.submit(fn, x)`; `f.result()` | `let h = pool.spawn(move \|\| fn(x));` `h.join()` |
//! | `f.result(timeout=1)` | `h.wait_timeout(Duration::from_secs(1))`, then `h.join()` |
//! | `f.cancel()`, `f.done()`, `f.add_done_callback(cb)` | `h.cancel()`, `h.is_finished()`, `h.on_complete(cb)` |
//! | `ex.map(fn, xs)` (lazy, ordered) | `pool.imap(xs, fn)` |
//! | `multiprocessing.dummy.Pool(4).map(fn, xs)` | `Pool::new(4).map(xs, fn)` |
//! | `pool.imap(fn, xs, chunksize=16)` | `pool.imap(xs, fn).chunk_size(16)` |
//! | `pool.imap_unordered(fn, xs)` | `pool.imap_unordered(xs, fn)` |
//! | `pool.apply(fn)` | `pool.apply(fn)` |
//! | `wait(fs, return_when=FIRST_COMPLETED)` | `wait_any(&handles)` (or `wait_any_timeout`) |
//! | `wait(fs, return_when=ALL_COMPLETED)` | `wait_all(&handles)` (or `wait_all_timeout`) |
//! | `for f in as_completed(fs): f.result()` | `let mut set = pool.task_set(); ...; while let Some(r) = set.join_next() { .. }` |
//! | queue + threads, "first mirror to answer wins" | `pool.race(mirrors)` |
//! | `ex.shutdown(wait=True)` / `cancel_futures=True` | `pool.shutdown()` / `pool.shutdown_now()` |
//! | classic `threadpool`: `makeRequests(fn, args, callback, exc_callback)`, `putRequest`, `wait`, `createWorkers`/`dismissWorkers` | `pool.spawn(..).on_complete(..)`, `pool.join()`, `pool.set_threads(n)` |
//! | gevent `ThreadPool(10).spawn(fn)`, `.join()` | `Pool::new(10).spawn(fn)`, `pool.join()` |
//! | spacepy `thread_job(len(a), 0, targ, a, b)` | `thread_job(a.len(), 0, \|start, count\| ..)` |
//! | spacepy `thread_map(fn, xs, thread_count)` | `thread_map(&xs, thread_count, fn)` |
//! | `numpy.array_split(range(n), k)` | `split_evenly(n, k)` |
//!
//! # Coming from rayon, threadpool and tokio's `spawn_blocking`
//!
//! | | workcrew |
//! |---|---|
//! | `threadpool::ThreadPool::new(4)`, `pool.execute(f)`, `pool.join()` | `Pool::new(4)`, `pool.execute(f)`, `pool.join()` — plus handles, results and panics as values |
//! | `rayon::join(a, b)` | `workcrew::join(a, b)` (the same as `workcrew::fork_join`; or `pool.fork_join`) |
//! | `rayon::scope(\|s\| s.spawn(..))` | `pool.scope(\|s\| { s.spawn(..); })`, with joinable `ScopedHandle`s |
//! | `use rayon::prelude::*; v.par_iter().map(f).collect()` | `use workcrew::prelude::*;` and the same code (see the rayon table below); or `pool.map(&v, f)` |
//! | `v.par_chunks_mut(n).enumerate().for_each(..)` | the same; or `pool.for_each_chunk_mut_sized(&mut v, n, \|offset, chunk\| ..)` |
//! | `ThreadPool::install(f)`, `rayon::current_num_threads()` | `pool.install(f)`, `workcrew::current_num_threads()` |
//! | `tokio::task::spawn_blocking(f).await` | `pool.spawn(f).await` (any executor) |
//! | `tokio::task::JoinSet` | `TaskSet` |
//!
//! # Panics are values, and std still prints them
//!
//! A panicking task does not unwind into the pool: its handle reports
//! [`TaskError::Panicked`] with the payload, and `apply`, `map`, `scope`
//! and `fork_join` resume it in the caller. The panic is still a Rust
//! panic, though, so std's panic hook prints its message on stderr
//! (`thread 'workcrew-0' panicked at ...`) when it happens, even if the
//! program handles the error. workcrew installs no hook of its own (a hook
//! is process-wide, and that choice belongs to the program). To keep
//! expected panics quiet, wrap the default hook in your own and skip the
//! pool's threads by name (`workcrew-{index}` unless
//! [`PoolBuilder::thread_name`] says otherwise):
//!
//! ```
//! let default_hook = std::panic::take_hook();
//! std::panic::set_hook(Box::new(move |info| {
//!     let thread = std::thread::current();
//!     let on_the_pool = thread.name().is_some_and(|name| name.starts_with("quiet-"));
//!     if !on_the_pool {
//!         default_hook(info);
//!     }
//! }));
//!
//! let pool = workcrew::Pool::builder()
//!     .threads(1)
//!     .thread_name(|index| format!("quiet-{index}"))
//!     .build()?;
//! let failed = pool.spawn(|| -> u32 { panic!("expected, and not printed") });
//! assert!(failed.join().unwrap_err().is_panic());
//! # Ok::<(), workcrew::BuildError>(())
//! ```
//!
//! Code that runs on the calling thread instead (the first subjob of
//! [`thread_job`], every task of an inline pool: [`PoolBuilder::inline`],
//! `WORKCREW_INLINE=1`) panics under that thread's name.
//!
//! # Dropping the last `Pool`, and process exit
//!
//! Dropping the last clone of a [`Pool`] does not block: the pool closes
//! (new work is refused), runs what is already queued, and its threads exit
//! once they are done. That happens in the background, and **nothing waits
//! for it when the process exits**: once `main` returns (or
//! `std::process::exit` is called), queued and running tasks are abandoned
//! mid-way, as with any detached thread. To let the work finish, call
//! [`Pool::shutdown`] (runs everything queued and joins the threads) or
//! [`Pool::join`] before returning; [`Pool::shutdown_timeout`] bounds the
//! wait. The [`global`] pool is never shut down; [`Pool::join`] on it waits
//! for its work.
//!
//! ```
//! let pool = workcrew::Pool::new(2);
//! for i in 0..4 {
//!     pool.execute(move || println!("task {i} done"));
//! }
//! pool.shutdown(); // without this, main could return before the tasks ran
//! assert_eq!(pool.stats().completed, 4);
//! ```
//!
//! # Optional features
//!
//! All off by default: `tracing` (each task runs in its submitter's span),
//! `metrics` (task and pool figures for the `metrics` facade,
//! `PoolBuilder::metrics`), `stream` ([`TaskSet`] is a
//! `futures_core::Stream`), `ctrl-c` (Unix: `stop_on_ctrl_c`, the first
//! Ctrl-C stops the pool's work, the second exits with status 130).
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
pub mod __loom {
    pub use crate::scheduler::hooks::*;
    pub use crate::task::deadline::loom_hooks::*;
}

/// The README's examples, run as doctests (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use error::{SpawnError, Timeout};
pub use iter::run::{current_num_threads, current_thread_index, join};
pub use parallel::imap::Imap;
pub use parallel::join::fork_join;
pub use parallel::progress::Progress;
pub use parallel::scope::{Scope, ScopedHandle};
pub use parallel::seed::{global, spawn, split_evenly, thread_job, thread_map};
pub use pool::build_error::BuildError;
pub use pool::builder::PoolBuilder;
#[cfg(all(unix, feature = "ctrl-c"))]
pub use pool::integrations::{stop_on_ctrl_c, CtrlC};
pub use pool::task_builder::TaskBuilder;
pub use pool::Pool;
pub use scheduler::stats::PoolStats;
pub use scheduler::timings::{TaskInfo, Timings, TIMING_BUCKETS};
pub use task::control::{checkpoint, is_cancelled, time_left};
pub use task::error::TaskError;
pub use task::handle::TaskHandle;
pub use task::task_set::{TaskId, TaskSet};
pub use task::wait::{wait_all, wait_all_timeout, wait_any, wait_any_timeout};
