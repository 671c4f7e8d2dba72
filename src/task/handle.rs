//! [`TaskHandle`]: waiting for one task, cancelling it, or being told when
//! it is done.
//!
//! # Waiting never deadlocks the pool
//!
//! A thread waiting for a task goes through three steps (`Handle::wait`):
//!
//! 1. **Take back.** If the waiter is a worker of the task's pool and the task
//!    is still queued, the waiter claims it and runs it inline. This is what
//!    makes `spawn` + `join` inside a task work on a one-thread pool. It only
//!    ever runs the task being waited for, never unrelated work. Timed waits
//!    (`wait_timeout` and the other `*_timeout` calls) skip this step while
//!    the pool can still give the task a thread (an idle one, or the
//!    compensation of step 3), because running it inline could overrun the
//!    deadline; when it cannot (nested timed waits deeper than
//!    `max_threads`), they take it back like an untimed wait, so the work
//!    waited for always has a thread ([`may_take_back`]).
//! 2. **Spin** briefly, for tasks about to finish.
//! 3. **Block.** The waiter registers a waker and parks. A worker that parks
//!    here is counted as *blocked*, so its pool may start a compensating
//!    thread for queued work (registry.rs, "Growth").

use std::fmt;
use std::future::Future;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::scheduler::deadline_after;
use crate::scheduler::shared::Shared;
use crate::scheduler::worker::{backoff, park_while_blocked, Blocked, Worker};
use crate::sync::{thread, WAIT_ROUNDS};
use crate::task::cell::{Callback, Registered, TaskRef};
use crate::task::error::TaskError;
use crate::task::state::Stage;
use crate::Arc;

/// Wakes a parked thread.
struct ThreadWaker(thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A waker that unparks the current thread.
pub(crate) fn current_thread_waker() -> Waker {
    Waker::from(Arc::new(ThreadWaker(thread::current())))
}

/// Spins a little, then yields a few times, while `done()` is false;
/// returns `done()`. Yielding matters when the pool's threads and the waiter
/// share the CPUs: the thread we wait for may need this very core.
pub(crate) fn spin_until(done: impl Fn() -> bool) -> bool {
    for round in 0..WAIT_ROUNDS {
        if done() {
            return true;
        }
        backoff(round);
    }
    done()
}

/// Whether a wait with `deadline` may run a queued awaited task inline:
/// always for an untimed wait; for a timed one only when the current
/// worker's pool could not otherwise run it (see the module docs).
pub(crate) fn may_take_back(deadline: Option<Instant>) -> bool {
    deadline.is_none()
        || Worker::with_current(|worker| {
            worker.is_some_and(|worker| !worker.pool().registry.can_compensate())
        })
}

/// The handle machinery shared by [`TaskHandle`], `ScopedHandle`, `apply`
/// and the task sets.
pub(crate) struct Handle<'a, T> {
    pub(crate) task: Arc<dyn TaskRef<T> + 'a>,
    pub(crate) pool: Arc<Shared>,
    /// False once the outcome was taken or handed to an `on_complete`
    /// callback; while true, dropping the handle detaches the task
    /// (task/cell.rs, "Detaching").
    owns_outcome: bool,
}

impl<'a, T> Handle<'a, T> {
    pub(crate) fn new(task: Arc<dyn TaskRef<T> + 'a>, pool: Arc<Shared>) -> Self {
        Handle {
            task,
            pool,
            owns_outcome: true,
        }
    }

    /// Takes the outcome of a final task; the handle no longer owns it.
    ///
    /// # Safety
    /// The task must be final (seen with acquire), and this handle must not
    /// have given up the outcome (to `take_outcome` or a callback).
    pub(crate) unsafe fn take_outcome(&mut self) -> Result<T, TaskError> {
        self.owns_outcome = false;
        // SAFETY: forwarded; a handle is its task's only consumer.
        unsafe { self.task.take_outcome_erased() }
    }

    /// Hands the outcome to `callback`: at once if the task is final, else
    /// on the thread that finishes it.
    pub(crate) fn on_complete(mut self, callback: Callback<T>) {
        self.owns_outcome = false;
        if let Err(callback) = self.task.set_callback(callback) {
            // SAFETY: `set_callback` refused because the task is final, and
            // the callback is now the only consumer.
            let outcome = unsafe { self.task.take_outcome_erased() };
            self.pool.run_callback(move || callback(outcome));
        }
    }
}

impl<T> Drop for Handle<'_, T> {
    fn drop(&mut self) {
        if self.owns_outcome {
            self.task.detach(&self.pool);
        }
    }
}

impl<T> Handle<'_, T> {
    pub(crate) fn is_finished(&self) -> bool {
        self.task.stage().is_final()
    }

    /// Waits until the task is final or `deadline` passes; see the module
    /// docs. Returns whether the task is final.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        if self.is_finished() {
            return true;
        }
        if self.task.stage() == Stage::Queued && may_take_back(deadline) {
            let ran = Worker::with_current_in(&self.pool, |worker| {
                worker.is_some_and(|worker| self.task.run_inline(worker))
            });
            if ran {
                return true;
            }
        }
        if spin_until(|| self.is_finished()) {
            return true;
        }
        let waker = current_thread_waker();
        if let Registered::AlreadyFinal = self.task.register(&waker) {
            return true;
        }
        // Counted as blocked, the pool may start a compensating thread for
        // the queued task; if the OS refuses it, a timed wait takes the task
        // back after all ([refused-compensation], scheduler/spawn.rs).
        let mut blocked = Blocked::current();
        if deadline.is_some() && self.task.stage() == Stage::Queued {
            let refused = Worker::with_current_in(&self.pool, |worker| {
                worker.is_some_and(|worker| worker.pool().registry.refuses_compensation())
            });
            if refused {
                drop(blocked);
                let ran = Worker::with_current_in(&self.pool, |worker| {
                    worker.is_some_and(|worker| self.task.run_inline(worker))
                });
                if ran {
                    self.task.deregister(&waker);
                    return true;
                }
                blocked = Blocked::current();
            }
        }
        let done = park_while_blocked(&blocked, || self.is_finished(), deadline);
        drop(blocked);
        if !done {
            self.task.deregister(&waker);
        }
        done
    }

    /// Waits, then takes the outcome.
    pub(crate) fn join(mut self) -> Result<T, TaskError> {
        self.wait(None);
        // SAFETY: `wait(None)` returns only once the task is final, and
        // `self` by value makes this the only consumer.
        unsafe { self.take_outcome() }
    }

    /// Cancels the task if it is still queued.
    pub(crate) fn cancel(&self) -> bool {
        let cancelled = self.task.cancel_queued(&self.pool);
        if cancelled {
            self.pool.signal_if_quiet();
        }
        cancelled
    }

    /// Cancels a queued task; asks a running one to stop (task/control.rs).
    /// Returns whether the task was still queued (and is now cancelled).
    pub(crate) fn request_cancel(&self) -> bool {
        if self.cancel() {
            return true;
        }
        // Lost the claim: running (it sees the request), or final (the
        // request changes nothing).
        self.task.control().request();
        false
    }

    pub(crate) fn is_running(&self) -> bool {
        self.task.stage() == Stage::Running
    }
}

/// A spawned task: wait for it, cancel it, or be told when it is done.
///
/// Returned by [`Pool::spawn`](crate::Pool::spawn). Dropping the handle
/// detaches the task: it still runs, and its result is dropped when it
/// finishes. A handle is also a [`Future`] that works under any executor
/// (tokio, smol, `futures::executor`): awaiting it never blocks the
/// executor's thread, since the finishing worker wakes the task's waker.
///
/// `TaskHandle<T>` is `Send + Sync` when `T: Send`, and `UnwindSafe +
/// RefUnwindSafe` for every `T`: like a channel's receiver, it hands out
/// the outcome only whole (by value, from [`join`](Self::join), the future
/// or [`on_complete`](Self::on_complete)), so a panic caught while the
/// handle was borrowed cannot expose a half-built result.
///
/// # Examples
///
/// ```
/// let pool = workcrew::Pool::new(2);
/// let handle = pool.spawn(|| 6 * 7);
/// assert_eq!(handle.join().unwrap(), 42);
///
/// let failing = pool.spawn(|| -> u32 { panic!("boom") });
/// let error = failing.join().unwrap_err();
/// assert_eq!(error.panic_message(), Some("boom"));
/// ```
///
/// Awaiting a handle, here with a minimal executor (use your runtime's
/// `block_on` or `.await` inside its tasks):
///
/// ```
/// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     use std::task::{Context, Poll, Wake, Waker};
/// #     struct Unpark(std::thread::Thread);
/// #     impl Wake for Unpark { fn wake(self: std::sync::Arc<Self>) { self.0.unpark() } }
/// #     let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
/// #     let mut future = std::pin::pin!(future);
/// #     loop {
/// #         match future.as_mut().poll(&mut Context::from_waker(&waker)) {
/// #             Poll::Ready(output) => return output,
/// #             Poll::Pending => std::thread::park(),
/// #         }
/// #     }
/// # }
/// let pool = workcrew::Pool::new(2);
/// let sum = block_on(async {
///     let a = pool.spawn(|| 40);
///     let b = pool.spawn(|| 2);
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 42);
/// ```
#[must_use = "dropping a TaskHandle detaches the task; use `pool.execute` for fire-and-forget"]
pub struct TaskHandle<T> {
    inner: Handle<'static, T>,
}

impl<T> TaskHandle<T> {
    pub(crate) fn new(task: Arc<dyn TaskRef<T>>, pool: Arc<Shared>) -> Self {
        TaskHandle {
            inner: Handle::new(task, pool),
        }
    }

    pub(crate) fn inner(&self) -> &Handle<'static, T> {
        &self.inner
    }

    /// Waits for the task and returns its value, or why there is none.
    ///
    /// Called from a task of the same pool while this task is still queued,
    /// it runs the task inline instead of waiting, so nested joins never
    /// deadlock, even on a one-thread pool. Everything the task did happens
    /// before `join` returns.
    ///
    /// # Errors
    ///
    /// [`TaskError::Panicked`] with the payload if the task panicked,
    /// [`TaskError::Cancelled`] if it was cancelled before it started.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let outer = pool.clone();
    /// // Nested: the inner task is still queued behind its parent on the only
    /// // thread, so `join` runs it right there instead of deadlocking.
    /// let parent = pool.spawn(move || outer.spawn(|| 20).join().unwrap() + 1);
    /// assert_eq!(parent.join()?, 21);
    /// # Ok::<(), workcrew::TaskError>(())
    /// ```
    pub fn join(self) -> Result<T, TaskError> {
        self.inner.join()
    }

    /// Blocks until the task is finished (completed, panicked or cancelled),
    /// without taking its result.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let handle = pool.spawn(|| "done");
    /// handle.wait();
    /// assert!(handle.is_finished());
    /// assert_eq!(handle.join().unwrap(), "done"); // the result is still there
    /// ```
    pub fn wait(&self) {
        self.inner.wait(None);
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout`. Returns
    /// whether the task is finished; on `false` nothing changed.
    ///
    /// Called from a task of the same pool, it does not run a queued awaited
    /// task inline (which could overrun the timeout) while the pool has an
    /// idle thread or may start a compensating one for it; only when neither
    /// is possible does it run the task itself, so the task always runs.
    ///
    /// # Examples
    ///
    /// Python's `future.result(timeout=...)`:
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = workcrew::Pool::new(1);
    /// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    /// let slow = pool.spawn(move || release_rx.recv().unwrap());
    /// assert!(!slow.wait_timeout(Duration::from_millis(20)), "not yet");
    /// release_tx.send(()).unwrap();
    /// assert!(slow.wait_timeout(Duration::from_secs(10)));
    /// slow.join().unwrap();
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.inner.wait(Some(deadline_after(timeout)))
    }

    /// True once the task completed, panicked or was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let handle = pool.spawn(|| 1);
    /// while !handle.is_finished() {
    ///     std::thread::yield_now(); // or do something useful meanwhile
    /// }
    /// assert_eq!(handle.join().unwrap(), 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Cancels the task if it has not started: it then never runs, the
    /// handle is finished at once, and every waiter sees
    /// [`TaskError::Cancelled`]. Returns false (and changes nothing) once
    /// the task is running or finished, or if it was already cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::TaskError;
    /// let pool = workcrew::Pool::new(1);
    /// let (started_tx, started_rx) = std::sync::mpsc::channel();
    /// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    /// let running = pool.spawn(move || {
    ///     started_tx.send(()).unwrap();
    ///     release_rx.recv().unwrap();
    /// });
    /// started_rx.recv().unwrap();
    /// let queued = pool.spawn(|| -> u32 { unreachable!("cancelled before it started") });
    ///
    /// assert!(queued.cancel());
    /// assert!(queued.is_finished());
    /// assert!(matches!(queued.join(), Err(TaskError::Cancelled)));
    /// assert!(!running.cancel(), "a running task is not cancelled");
    /// release_tx.send(()).unwrap();
    /// running.join().unwrap();
    /// ```
    pub fn cancel(&self) -> bool {
        self.inner.cancel()
    }

    /// Asks the task to stop. A queued task is cancelled as by
    /// [`cancel`](Self::cancel): it never runs. A running one sees
    /// [`is_cancelled`](crate::is_cancelled) return true from now on (and a
    /// [`checkpoint`](crate::checkpoint) ends it, so that its handle reports
    /// [`TaskError::Cancelled`]); a task that never looks runs to its end and
    /// reports its own outcome. A finished task is left as it is. Either way
    /// the handle reports exactly one outcome.
    ///
    /// Scoped tasks and the pieces of `map`, `scope` and parallel iterators
    /// called inside the task see the request too.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::TaskError;
    /// let pool = workcrew::Pool::new(1);
    /// let (started_tx, started_rx) = std::sync::mpsc::channel();
    /// let worker = pool.spawn(move || {
    ///     started_tx.send(()).unwrap();
    ///     let mut processed = 0;
    ///     for _ in 0..u64::MAX {
    ///         workcrew::checkpoint(); // ends the task once it is asked to stop
    ///         processed += 1;
    ///     }
    ///     processed
    /// });
    /// started_rx.recv().unwrap();
    /// worker.request_cancel();
    /// assert!(matches!(worker.join(), Err(TaskError::Cancelled)));
    /// ```
    pub fn request_cancel(&self) {
        self.inner.request_cancel();
    }

    /// True while the task runs: it has started and not finished. A request
    /// to stop ([`request_cancel`](Self::request_cancel)) can only reach a
    /// task in this state; [`cancel`](Self::cancel) only one before it.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let (started_tx, started_rx) = std::sync::mpsc::channel();
    /// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    /// let handle = pool.spawn(move || {
    ///     started_tx.send(()).unwrap();
    ///     release_rx.recv().unwrap();
    /// });
    /// started_rx.recv().unwrap();
    /// assert!(handle.is_running());
    /// release_tx.send(()).unwrap();
    /// handle.wait();
    /// assert!(!handle.is_running() && handle.is_finished());
    /// ```
    pub fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    /// Calls `callback` with the outcome once the task is finished: on the
    /// thread that finishes it, or at once on this thread if it already has.
    /// A panic in the callback is caught, counted in
    /// [`PoolStats::panicked`](crate::PoolStats) and handed to the pool's
    /// `panic_handler`.
    ///
    /// # Examples
    ///
    /// Python's `add_done_callback`, or the classic `threadpool` module's
    /// `callback`:
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let pool = workcrew::Pool::new(2);
    /// let (results_tx, results_rx) = mpsc::channel();
    /// for n in 1..=3u32 {
    ///     let results = results_tx.clone();
    ///     pool.spawn(move || n * n).on_complete(move |outcome| {
    ///         results.send(outcome.expect("no panic")).unwrap();
    ///     });
    /// }
    /// drop(results_tx);
    /// let mut squares: Vec<u32> = results_rx.iter().collect(); // ends when every callback ran
    /// squares.sort();
    /// assert_eq!(squares, [1, 4, 9]);
    /// ```
    pub fn on_complete(self, callback: impl FnOnce(Result<T, TaskError>) + Send + 'static)
    where
        T: 'static,
    {
        self.inner.on_complete(Box::new(callback));
    }
}

impl<T> Future for TaskHandle<T> {
    type Output = Result<T, TaskError>;

    /// Ready with the outcome once the task is finished; until then the
    /// latest waker is woken on completion. Polling again after `Ready`
    /// panics.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.get_mut().inner;
        if !inner.task.stage().is_final() {
            if let Registered::Yes = inner.task.set_handle_waker(cx.waker()) {
                return Poll::Pending;
            }
        }
        // SAFETY: final, and `&mut self` gives exclusive access; a second
        // poll finds the slot consumed and panics instead of reading it twice.
        Poll::Ready(unsafe { inner.take_outcome() })
    }
}

// Unwind safety (see the type's docs): a handle is a one-shot receiver of an
// outcome that is whole before it is published, and its state moves only by
// atomic transitions that a panic elsewhere cannot leave half done.
impl<T> UnwindSafe for TaskHandle<T> {}
impl<T> RefUnwindSafe for TaskHandle<T> {}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("stage", &self.inner.task.stage())
            .finish()
    }
}
