//! [`Pool::scope`]: tasks that borrow from the caller's stack.
//!
//! Invariant: `Pool::scope` does not return (or unwind) before every task
//! cell spawned into the scope has been **dropped**, not merely finished.
//! Each cell carries a [`ScopeLink`] that counts it in `live` until the cell
//! is dropped, after its closure and outcome; so nothing a scoped task
//! borrowed is touched once `scope` returns. That is the whole soundness
//! argument for erasing the `'scope` lifetime of the queue entries.
//!
//! While it waits, the scope's thread runs this scope's tasks that are still
//! queued on its own deque (never other work), then blocks; if it is a worker
//! it counts as blocked, so the pool may start a compensating thread for the
//! scope's tasks queued elsewhere.

use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};

use crate::pool::Pool;
use crate::scheduler::ambient::Ambient;
use crate::scheduler::shared::{panic_closed, Shared};
use crate::scheduler::submit::WhenFull;
use crate::scheduler::worker::{Blocked, Worker};
use crate::task::error::TaskError;
use crate::task::handle::{spin_until, Handle};
use crate::task::scope_link::ScopeState;
use crate::task::spawn::submit_task;
use crate::Arc;

/// A scope to spawn borrowing tasks into; see [`Pool::scope`].
///
/// The `'scope` lifetime is invariant: a scoped task can borrow anything that
/// outlives the `scope` call, but nothing created inside the scope's closure:
///
/// ```compile_fail
/// let pool = workcrew::Pool::new(1);
/// pool.scope(|s| {
///     let local = String::from("dies at the end of the closure");
///     s.spawn(|| local.len()); // error: `local` does not live long enough
/// });
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    state: Arc<ScopeState>,
    pool: Arc<Shared>,
    /// Invariant in `'scope`, as in `std::thread::Scope`, so the borrow
    /// checker cannot shrink it to let a task capture a shorter borrow.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// A task spawned into a [`Scope`]. Dropping it is fine: the scope still
/// waits for the task, and resumes its panic if nobody joined it.
///
/// # Examples
///
/// ```
/// let pool = workcrew::Pool::new(2);
/// let data = [1, 2, 3, 4];
/// let (left, right) = data.split_at(2);
/// let sum = pool.scope(|s| {
///     let left = s.spawn(|| left.iter().sum::<i32>());
///     let right = s.spawn(|| right.iter().sum::<i32>());
///     left.join().unwrap() + right.join().unwrap()
/// });
/// assert_eq!(sum, 10);
/// ```
pub struct ScopedHandle<'scope, T> {
    inner: Handle<'scope, T>,
}

impl<T> ScopedHandle<'_, T> {
    /// Waits for the task and returns its value, or why there is none. A
    /// panic returned here is handled: the scope will not resume it.
    ///
    /// # Errors
    ///
    /// [`TaskError::Panicked`] if the task panicked, [`TaskError::Cancelled`]
    /// if `shutdown_now` cancelled it before it started.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let name = String::from("scoped");
    /// pool.scope(|s| {
    ///     let failing = s.spawn(|| -> usize { panic!("handled here") });
    ///     let fine = s.spawn(|| name.len());
    ///     assert!(failing.join().unwrap_err().is_panic()); // joined: scope does not resume it
    ///     assert_eq!(fine.join().unwrap(), 6);
    /// });
    /// ```
    pub fn join(self) -> Result<T, TaskError> {
        self.inner.join()
    }

    /// True once the task completed, panicked or was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// pool.scope(|s| {
    ///     let handle = s.spawn(|| 1 + 1);
    ///     while !handle.is_finished() {
    ///         std::thread::yield_now();
    ///     }
    ///     assert_eq!(handle.join().unwrap(), 2);
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

impl<T> fmt::Debug for ScopedHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedHandle")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("live_tasks", &self.state.live_tasks())
            .finish_non_exhaustive()
    }
}

impl<'scope> Scope<'scope, '_> {
    /// Spawns a task that may borrow anything that outlives the scope. It
    /// starts right away, while the scope's closure is still running.
    ///
    /// # Panics
    ///
    /// If the pool is closed.
    ///
    /// # Examples
    ///
    /// Scoped tasks may spawn more tasks into the same scope:
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let pool = workcrew::Pool::new(2);
    /// let visited = AtomicUsize::new(0);
    /// pool.scope(|s| {
    ///     for _ in 0..3 {
    ///         s.spawn(|| {
    ///             visited.fetch_add(1, Ordering::Relaxed);
    ///             s.spawn(|| visited.fetch_add(1, Ordering::Relaxed));
    ///         });
    ///     }
    /// }); // returns once all six have run
    /// assert_eq!(visited.load(Ordering::Relaxed), 6);
    /// ```
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let link = self.state.link();
        // SAFETY: `Pool::scope` waits until every cell linked to this scope
        // is dropped (module docs), so what `f` and `T` borrow outlives every
        // use of the task.
        let spawned = unsafe {
            submit_task(
                &self.pool,
                f,
                WhenFull::Wait(None),
                None,
                Some(link),
                Ambient::NONE,
                None,
            )
        };
        match spawned {
            Ok(task) => ScopedHandle {
                inner: Handle::new(task, self.pool.clone()),
            },
            Err(refusal) => self.pool.panic_refused("Scope::spawn", refusal),
        }
    }

    /// Blocks until every cell of the scope is dropped.
    fn wait_all(&self) {
        let tag = self.state.tag();
        let all_dropped = || self.state.all_dropped();
        loop {
            if all_dropped() {
                return;
            }
            let ran = Worker::with_current_in(&self.pool, |worker| {
                worker.is_some_and(|worker| worker.run_own_tagged(tag))
            });
            if !ran {
                break;
            }
        }
        if spin_until(all_dropped) {
            return;
        }
        let _blocked = Blocked::current();
        self.state.wait_all_dropped();
    }
}

impl Pool {
    /// Runs `f` with a [`Scope`] whose tasks may borrow from the caller's
    /// stack, and returns once every one of them has finished.
    ///
    /// Works inside a task of the pool too, even on a one-thread pool: the
    /// waiting thread runs the scope's own queued tasks itself.
    ///
    /// # Panics
    ///
    /// If `f` panics, its panic resumes after all scoped tasks finished. If a
    /// scoped task panicked and its handle was not joined, that panic resumes
    /// once all finished. Also panics if the pool is closed, or if
    /// `shutdown_now` cancelled a task whose handle was not joined.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let words = vec!["a", "bb", "ccc"];
    /// let mut total = 0;
    /// pool.scope(|s| {
    ///     let lengths: Vec<_> = words.iter().map(|w| s.spawn(move || w.len())).collect();
    ///     total = lengths.into_iter().map(|h| h.join().unwrap()).sum();
    /// });
    /// assert_eq!(total, 6);
    /// ```
    pub fn scope<'env, F, R>(&self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        if self.shared.refuses_submissions() {
            panic_closed("Pool::scope");
        }
        let scope = Scope {
            state: ScopeState::new(Ambient::current()),
            pool: self.shared.clone(),
            scope: PhantomData,
            env: PhantomData,
        };
        let body = panic::catch_unwind(AssertUnwindSafe(|| f(&scope)));
        scope.wait_all();
        let task_panic = scope.state.take_first_panic();
        match body {
            Err(payload) => panic::resume_unwind(payload),
            Ok(value) => {
                if let Some(payload) = task_panic {
                    panic::resume_unwind(payload);
                }
                if scope.state.was_cancelled() {
                    panic!("workcrew: Pool::scope: a scoped task was cancelled by shutdown_now before it ran");
                }
                value
            }
        }
    }
}
