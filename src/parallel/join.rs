//! `fork_join` as a method of [`Pool`] and as a free function; the
//! protocol of the two halves lives in `scheduler/part.rs`.

use crate::parallel::seed::global;
use crate::pool::Pool;
use crate::scheduler::part::fork_join_on;
use crate::scheduler::worker::Worker;

impl Pool {
    /// Runs `a` and `b`, possibly in parallel, and returns both results.
    ///
    /// `a` runs on the calling thread while `b` waits on the worker's deque
    /// where an idle worker may steal it; if nobody did, the caller runs `b`
    /// after `a`. Cheap enough for recursive divide and conquer with a small
    /// sequential cutoff. Called from outside the pool, the whole call runs
    /// as one task on a worker while the caller waits.
    ///
    /// While waiting for a stolen `b`, the caller only helps with work that
    /// `b` itself spawned, never with unrelated tasks, so holding a lock
    /// across `fork_join` cannot deadlock the way rayon's `join` can.
    ///
    /// A `fork_join` inside a running task is part of that task: if
    /// [`shutdown_now`](Self::shutdown_now) empties the deques while `b`
    /// waits there, `b` is handed back and runs on the caller.
    ///
    /// # Panics
    ///
    /// If `a` or `b` panics, the panic resumes here after both have ended.
    /// Also if the pool is closed (from outside the pool), or if
    /// `shutdown_now` cancels the task that runs the call from outside.
    ///
    /// # Examples
    ///
    /// ```
    /// fn fib(pool: &workcrew::Pool, n: u64) -> u64 {
    ///     if n < 12 {
    ///         return (1..=n).fold((0, 1), |(a, b), _| (b, a + b)).0;
    ///     }
    ///     let (x, y) = pool.fork_join(|| fib(pool, n - 1), || fib(pool, n - 2));
    ///     x + y
    /// }
    /// let pool = workcrew::Pool::new(2);
    /// assert_eq!(fib(&pool, 25), 75_025);
    /// ```
    pub fn fork_join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        self.on_worker("fork_join", move |worker| fork_join_on(worker, a, b))
    }
}

/// Runs `a` and `b`, possibly in parallel: on the current worker's pool when
/// called from a task, else on the [`global`] pool. See [`Pool::fork_join`].
///
/// # Panics
///
/// If `a` or `b` panics, the panic resumes here after both have ended (if
/// both panic, `a`'s). Called from a task of a pool that
/// `shutdown_now` is emptying, `b` is handed back and runs on the caller,
/// so both halves still run. From outside any pool, also when the global
/// pool cannot be built (see [`global`]).
///
/// # Examples
///
/// ```
/// fn sum(values: &[u64]) -> u64 {
///     if values.len() <= 1024 {
///         return values.iter().sum();
///     }
///     let (left, right) = values.split_at(values.len() / 2);
///     let (a, b) = workcrew::fork_join(|| sum(left), || sum(right));
///     a + b
/// }
/// let values: Vec<u64> = (1..=100_000).collect();
/// assert_eq!(sum(&values), 5_000_050_000);
/// ```
#[inline]
pub fn fork_join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    Worker::with_current(move |worker| match worker {
        Some(worker) => fork_join_on(worker, a, b),
        None => outside(a, b),
    })
}

/// [`fork_join`] from a thread outside every pool: on the global pool.
#[cold]
#[inline(never)]
fn outside<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    global().fork_join(a, b)
}
