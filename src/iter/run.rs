//! Where parallel iterators run: rayon's `join`, `current_num_threads` and
//! `ThreadPool::install`, with the same rule as `fork_join` (the current
//! worker's pool, else the global pool).

use crate::parallel::seed::global;
use crate::pool::Pool;
use crate::scheduler::worker::Worker;

/// Runs `a` and `b`, possibly in parallel, and returns both results:
/// rayon's `join`, the same as [`fork_join`](crate::fork_join). On the
/// current worker's pool when called from a task (or inside
/// [`Pool::install`]), else on the [`global`](crate::global) pool.
///
/// # Panics
///
/// If `a` or `b` panics, the panic resumes here after both have ended.
///
/// # Examples
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 15 {
///         return (1..=n).fold((0, 1), |(a, b), _| (b, a + b)).0;
///     }
///     let (x, y) = workcrew::join(|| fib(n - 1), || fib(n - 2));
///     x + y
/// }
/// assert_eq!(fib(25), 75_025);
/// ```
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    crate::parallel::join::fork_join(a, b)
}

/// How many threads parallel work started here may use: the current
/// worker's pool's [`max_threads`](Pool::max_threads), else the
/// [`global`](crate::global) pool's (rayon's `current_num_threads`).
///
/// # Examples
///
/// ```
/// let pool = workcrew::Pool::new(3);
/// assert_eq!(pool.install(workcrew::current_num_threads), 3);
/// ```
pub fn current_num_threads() -> usize {
    Worker::with_current(|worker| worker.map(|worker| worker.pool().registry.max_threads()))
        .unwrap_or_else(|| global().max_threads())
}

/// The index of the current thread in its pool (`0..max_threads`), or
/// `None` outside any pool's worker (rayon's `current_thread_index`).
/// Indices are reused: a thread that retires gives its index to the next
/// one started.
///
/// # Examples
///
/// ```
/// let pool = workcrew::Pool::new(2);
/// assert!(pool.install(workcrew::current_thread_index).is_some_and(|i| i < 2));
/// assert_eq!(workcrew::current_thread_index(), None);
/// ```
pub fn current_thread_index() -> Option<usize> {
    Worker::with_current(|worker| worker.map(Worker::index))
}

impl Pool {
    /// Runs `op` on one of this pool's threads and returns its result, so
    /// that the parallel iterators, `join`s and sorts inside it run on this
    /// pool (rayon's `ThreadPool::install`). Called from a task of this
    /// pool, it simply calls `op`.
    ///
    /// # Panics
    ///
    /// If `op` panics (the panic resumes here), or if the pool is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let pool = workcrew::Pool::new(2);
    /// let total: u64 = pool.install(|| (1..=1000u64).into_par_iter().sum());
    /// assert_eq!(total, 500_500);
    /// ```
    pub fn install<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send,
    {
        self.on_worker("install", |_worker| op())
    }
}
