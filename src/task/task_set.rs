//! Waiting for many tasks: [`TaskSet`], results in completion order
//! (`wait_any` and `wait_all`, over slices of handles, are in wait.rs).
//!
//! Every wait here costs no CPU: a completing task wakes the waiter through
//! a waker registered once per task, so waiting on n tasks is O(n) work in
//! total, not per wake-up. Like `TaskHandle::join`, a waiter that is a worker
//! of the tasks' pool first takes back a task that is still queued and runs
//! it inline, so none of these waits can deadlock a one-thread pool.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::error::Timeout;
use crate::scheduler::deadline_after;
use crate::scheduler::shared::Shared;
use crate::scheduler::submit::WhenFull;
use crate::scheduler::worker::Worker;
use crate::sync::{lock, Condvar, Mutex};
use crate::task::cell::{Registered, TaskRef};
use crate::task::error::TaskError;
use crate::task::handle::{may_take_back, Handle};
use crate::task::spawn::submit_static;
use crate::task::state::Stage;
use crate::Arc;

/// Identifies a task of a [`TaskSet`]; ids grow in spawn order. Returned
/// by [`TaskSet::spawn`], handed back with the result by
/// [`TaskSet::join_next_with_id`] (whose example maps ids to names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task#{}", self.0)
    }
}

/// A task's id and outcome, as the set hands them out.
type Joined<T> = (TaskId, Result<T, TaskError>);

/// Ids of finished tasks, in the order they finished, and who waits.
struct Ready {
    list: Mutex<ReadyList>,
    /// Signalled on every push, for a blocked `join_next`.
    changed: Condvar,
}

#[derive(Default)]
struct ReadyList {
    ids: VecDeque<u64>,
    /// The waker of a pending `poll_join_next`, woken once by the next push.
    waker: Option<Waker>,
}

impl Ready {
    fn push(&self, id: u64) {
        let waker = {
            let mut list = lock(&self.list);
            list.ids.push_back(id);
            list.waker.take()
        };
        self.changed.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn pop(&self) -> Option<u64> {
        lock(&self.list).ids.pop_front()
    }
}

/// Registered on one task: reports its id to the set when it finishes.
struct ReportTo {
    id: u64,
    ready: Arc<Ready>,
}

impl Wake for ReportTo {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.id);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.id);
    }
}

/// A group of tasks whose results come out in the order they finish, like
/// Python's `concurrent.futures.as_completed`.
///
/// Dropping a set detaches the tasks still in it: they keep running and
/// their results are dropped.
///
/// `TaskSet<T>` is `Send + Sync` when `T: Send`, and `UnwindSafe +
/// RefUnwindSafe` for every `T`, for the reason given at [`TaskHandle`](crate::TaskHandle):
/// results come out whole, and the set's own bookkeeping is never left
/// half-updated by a panic.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = workcrew::Pool::new(3);
/// let mut set = pool.task_set();
/// for ms in [30u64, 10, 20] {
///     set.spawn(move || {
///         std::thread::sleep(Duration::from_millis(ms));
///         ms
///     });
/// }
/// let mut order = Vec::new();
/// while let Some(result) = set.join_next() {
///     order.push(result.unwrap());
/// }
/// assert_eq!(order.len(), 3);
/// ```
#[must_use = "dropping a TaskSet detaches its tasks; join them with `join_next` or `join_all`"]
pub struct TaskSet<T> {
    pool: Arc<Shared>,
    /// Tasks not taken out yet, by id (ascending = spawn order).
    tasks: BTreeMap<u64, Handle<'static, T>>,
    ready: Arc<Ready>,
    next_id: u64,
    /// Tasks with a lower id are past `Queued` (stages only move forward),
    /// so taking one back never looks at them again: `join_all` from a
    /// worker stays linear.
    take_back_from: u64,
    /// Ask the others to stop once one fails (`fail_fast`).
    fail_fast: bool,
}

impl<T> TaskSet<T> {
    /// An empty set spawning on `pool`.
    pub(crate) fn new(pool: Arc<Shared>) -> Self {
        TaskSet {
            pool,
            tasks: BTreeMap::new(),
            take_back_from: 0,
            ready: Arc::new(Ready {
                list: Mutex::new(ReadyList::default()),
                changed: Condvar::new(),
            }),
            next_id: 0,
            fail_fast: false,
        }
    }

    /// Makes the set fail fast: once a task's result comes out of the set
    /// as a panic or a timeout, every other task in it is asked to stop (as
    /// by [`request_cancel_all`](Self::request_cancel_all)). Nothing keeps
    /// running that nobody will read.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let mut set = pool.task_set().fail_fast();
    /// set.spawn(|| -> u32 { panic!("one part failed") });
    /// set.spawn(|| {
    ///     let mut polls = 0;
    ///     while !workcrew::is_cancelled() {
    ///         polls += 1;
    ///         std::thread::yield_now();
    ///     }
    ///     polls
    /// });
    /// let outcomes = set.join_all();
    /// assert!(outcomes.iter().any(|outcome| outcome.as_ref().is_err_and(|e| e.is_panic())));
    /// assert_eq!(outcomes.len(), 2, "the spinning task was asked to stop and returned");
    /// ```
    pub fn fail_fast(mut self) -> Self {
        self.fail_fast = true;
        self
    }

    /// Asks every task of the set to stop without cancelling any: running
    /// ones see [`is_cancelled`](crate::is_cancelled) turn true, queued ones
    /// still start and see it from their first check (`race`'s losers).
    pub(crate) fn ask_all_to_stop(&self) {
        for handle in self.tasks.values() {
            handle.task.control().request();
        }
    }

    /// Cancels every task that has not started (they never run, and come out
    /// of the set as [`TaskError::Cancelled`]) and asks every running one to
    /// stop (see [`TaskHandle::request_cancel`](crate::TaskHandle::request_cancel)). Returns how many queued
    /// tasks it cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let mut set = pool.task_set();
    /// let (started_tx, started_rx) = std::sync::mpsc::channel();
    /// set.spawn(move || {
    ///     started_tx.send(()).unwrap();
    ///     while !workcrew::is_cancelled() {
    ///         std::thread::yield_now();
    ///     }
    ///     "stopped when asked"
    /// });
    /// started_rx.recv().unwrap();
    /// set.spawn(|| "never runs");
    /// assert_eq!(set.request_cancel_all(), 1);
    /// let outcomes = set.join_all();
    /// assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    /// ```
    pub fn request_cancel_all(&mut self) -> usize {
        // The queued ones first: a running task that stops at once would
        // free its thread for a queued one before the request reached it.
        let cancelled = self.tasks.values().filter(|handle| handle.cancel()).count();
        for handle in self.tasks.values() {
            handle.request_cancel();
        }
        cancelled
    }
}

impl<T: Send + 'static> TaskSet<T> {
    /// Spawns `f` into the set, like [`Pool::spawn`](crate::Pool::spawn) (it waits for room in a
    /// full bounded queue, or runs inline from a task of the pool).
    ///
    /// # Panics
    ///
    /// If the pool is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let mut set = pool.task_set();
    /// let id = set.spawn(|| 7);
    /// assert_eq!(set.len(), 1);
    /// let (joined, result) = set.join_next_with_id().unwrap();
    /// assert_eq!((joined, result.unwrap()), (id, 7));
    /// ```
    pub fn spawn<F>(&mut self, f: F) -> TaskId
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let spawned = submit_static(&self.pool, f, WhenFull::Wait(None), None, None);
        let task: Arc<dyn TaskRef<T>> = match spawned {
            Ok(cell) => cell,
            Err(refusal) => self.pool.panic_refused("TaskSet::spawn", refusal),
        };
        let id = self.next_id;
        self.next_id += 1;
        let waker = Waker::from(Arc::new(ReportTo {
            id,
            ready: self.ready.clone(),
        }));
        if let Registered::AlreadyFinal = task.register(&waker) {
            self.ready.push(id);
        }
        self.tasks.insert(id, Handle::new(task, self.pool.clone()));
        TaskId(id)
    }

    /// Waits for the next task to finish and returns its result; `None` once
    /// the set is empty.
    ///
    /// # Examples
    ///
    /// Python's `for f in as_completed(fs): f.result()`:
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let mut set = pool.task_set();
    /// for word in ["one", "three", "seven"] {
    ///     set.spawn(move || word.len());
    /// }
    /// let mut lengths = Vec::new();
    /// while let Some(result) = set.join_next() {
    ///     lengths.push(result.unwrap());
    /// }
    /// lengths.sort();
    /// assert_eq!(lengths, [3, 5, 5]);
    /// assert!(set.join_next().is_none() && set.is_empty());
    /// ```
    pub fn join_next(&mut self) -> Option<Result<T, TaskError>> {
        self.join_next_with_id().map(|(_, result)| result)
    }

    /// Like [`join_next`](Self::join_next), with the finished task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let pool = workcrew::Pool::new(2);
    /// let mut set = pool.task_set();
    /// let mut names = HashMap::new();
    /// for name in ["alpha", "beta"] {
    ///     names.insert(set.spawn(move || name.len()), name);
    /// }
    /// while let Some((id, result)) = set.join_next_with_id() {
    ///     println!("{} -> {}", names[&id], result.unwrap());
    /// }
    /// ```
    pub fn join_next_with_id(&mut self) -> Option<Joined<T>> {
        match self.next_finished(None) {
            Ok(next) => next,
            Err(Timeout) => unreachable!("no deadline"),
        }
    }

    /// The next finished task's result if one is ready now; never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    /// let mut set = pool.task_set();
    /// set.spawn(move || release_rx.recv().unwrap());
    /// assert!(set.try_join_next().is_none(), "nothing finished yet");
    /// release_tx.send(()).unwrap();
    /// loop {
    ///     if let Some(result) = set.try_join_next() {
    ///         result.unwrap();
    ///         break;
    ///     }
    ///     std::thread::yield_now(); // or do other work between polls
    /// }
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, TaskError>> {
        let id = self.ready.pop()?;
        Some(self.take(id).1)
    }

    /// Polls for the next finished task, for async code: `Ready(None)` once
    /// the set is empty; `Pending` (waking `cx`'s waker when a task finishes)
    /// otherwise. Never blocks the thread, so a tokio or smol task can await
    /// a set without holding a runtime thread; see
    /// [`join_next_async`](Self::join_next_async).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// let pool = workcrew::Pool::new(1);
    /// let mut set = pool.task_set();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(matches!(set.poll_join_next(&mut cx), Poll::Ready(None)), "empty");
    /// set.spawn(|| 5);
    /// let result = loop {
    ///     match set.poll_join_next(&mut cx) {
    ///         Poll::Ready(next) => break next,
    ///         Poll::Pending => std::thread::yield_now(), // an executor would sleep
    ///     }
    /// };
    /// assert_eq!(result.unwrap().unwrap(), 5);
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, TaskError>>> {
        if self.tasks.is_empty() {
            return Poll::Ready(None);
        }
        let ready = {
            let mut list = lock(&self.ready.list);
            let ready = list.ids.pop_front();
            if ready.is_none() {
                list.waker = Some(cx.waker().clone());
            }
            ready
        };
        match ready {
            Some(id) => Poll::Ready(Some(self.take(id).1)),
            None => Poll::Pending,
        }
    }

    /// The next finished task's result, as a future (see
    /// [`poll_join_next`](Self::poll_join_next)); `None` once the set is empty.
    ///
    /// # Examples
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
    /// let mut set = pool.task_set();
    /// for n in 1..=3u64 {
    ///     set.spawn(move || n * n);
    /// }
    /// let total = block_on(async {
    ///     let mut total = 0;
    ///     while let Some(result) = set.join_next_async().await {
    ///         total += result.unwrap();
    ///     }
    ///     total
    /// });
    /// assert_eq!(total, 14);
    /// ```
    pub fn join_next_async(
        &mut self,
    ) -> impl Future<Output = Option<Result<T, TaskError>>> + Send + '_
    where
        T: Send,
    {
        std::future::poll_fn(move |cx| self.poll_join_next(cx))
    }

    /// Like [`join_next`](Self::join_next), but waits at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Timeout`] if no task finished in time; every task stays in the set.
    /// Like every timed wait, it runs a queued task inline only when the
    /// pool could not run it otherwise (see [`TaskHandle::wait_timeout`](crate::TaskHandle::wait_timeout)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = workcrew::Pool::new(1);
    /// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    /// let mut set = pool.task_set();
    /// set.spawn(move || release_rx.recv().unwrap());
    /// assert!(set.join_next_timeout(Duration::from_millis(20)).is_err(), "timed out");
    /// assert_eq!(set.len(), 1, "nothing lost");
    /// release_tx.send(()).unwrap();
    /// let next = set.join_next_timeout(Duration::from_secs(10)).expect("in time");
    /// assert!(next.unwrap().is_ok());
    /// assert!(matches!(set.join_next_timeout(Duration::ZERO), Ok(None)), "empty");
    /// ```
    pub fn join_next_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<Result<T, TaskError>>, Timeout> {
        let next = self.next_finished(Some(deadline_after(timeout)))?;
        Ok(next.map(|(_, result)| result))
    }

    /// Waits for every task and returns all results in completion order.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let mut set = pool.task_set();
    /// for n in 0..5u32 {
    ///     set.spawn(move || if n == 3 { panic!("three") } else { n });
    /// }
    /// let outcomes = set.join_all();
    /// assert_eq!(outcomes.len(), 5);
    /// assert_eq!(outcomes.iter().filter(|outcome| outcome.is_err()).count(), 1);
    /// ```
    pub fn join_all(mut self) -> Vec<Result<T, TaskError>> {
        let mut results = Vec::with_capacity(self.tasks.len());
        while let Some(result) = self.join_next() {
            results.push(result);
        }
        results
    }

    fn take(&mut self, id: u64) -> Joined<T> {
        let handle = self
            .tasks
            .remove(&id)
            .expect("a finished id belongs to a task still in the set");
        let result = handle.join();
        if self.fail_fast && matches!(result, Err(TaskError::Panicked(_) | TaskError::TimedOut)) {
            self.request_cancel_all();
        }
        (TaskId(id), result)
    }

    fn next_finished(&mut self, deadline: Option<Instant>) -> Result<Option<Joined<T>>, Timeout> {
        loop {
            if self.tasks.is_empty() {
                return Ok(None);
            }
            let ready = self.ready.pop();
            if let Some(id) = ready {
                return Ok(Some(self.take(id)));
            }
            // From a worker of the pool: run a queued task of ours instead of
            // waiting for a thread that may never come (timed waits only when
            // the pool could not run it: handle.rs, "Take back").
            if may_take_back(deadline) && self.take_back_one() {
                continue;
            }
            let mut list = lock(&self.ready.list);
            let _blocked = crate::scheduler::worker::Blocked::current();
            while list.ids.is_empty() {
                list = match deadline {
                    None => crate::sync::wait(&self.ready.changed, list),
                    Some(deadline) => {
                        let now = Instant::now();
                        if now >= deadline {
                            return Err(Timeout);
                        }
                        crate::sync::wait_timeout(&self.ready.changed, list, deadline - now)
                    }
                };
            }
        }
    }
}

impl<T> TaskSet<T> {
    /// From a worker of the set's pool, runs the oldest still-queued task of
    /// the set inline; returns whether it ran one.
    fn take_back_one(&mut self) -> bool {
        let pool = self.pool.clone();
        Worker::with_current_in(&pool, |worker| {
            let Some(worker) = worker else { return false };
            for (&id, handle) in self.tasks.range(self.take_back_from..) {
                self.take_back_from = id + 1;
                if handle.task.stage() == Stage::Queued && handle.task.run_inline(worker) {
                    return true;
                }
            }
            false
        })
    }

    /// Cancels every task that has not started; they never run and still come
    /// out of the set as [`TaskError::Cancelled`]. Returns how many it cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::TaskError;
    /// let pool = workcrew::Pool::new(1);
    /// let (started_tx, started_rx) = std::sync::mpsc::channel();
    /// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    /// let mut set = pool.task_set();
    /// set.spawn(move || {
    ///     started_tx.send(()).unwrap();
    ///     release_rx.recv().unwrap();
    ///     "ran"
    /// });
    /// started_rx.recv().unwrap();
    /// set.spawn(|| "queued");
    /// set.spawn(|| "queued");
    /// assert_eq!(set.cancel_all(), 2);
    /// release_tx.send(()).unwrap();
    /// let outcomes = set.join_all();
    /// let cancelled = outcomes.iter().filter(|o| matches!(o, Err(TaskError::Cancelled))).count();
    /// assert_eq!(cancelled, 2);
    /// ```
    pub fn cancel_all(&mut self) -> usize {
        self.tasks.values().filter(|handle| handle.cancel()).count()
    }

    /// Tasks not yet taken out (running, queued, or finished but not joined).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let mut set = pool.task_set();
    /// assert!(set.is_empty());
    /// set.spawn(|| 1);
    /// set.spawn(|| 2);
    /// assert_eq!(set.len(), 2);
    /// set.join_next();
    /// assert_eq!(set.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True if no task is left to take out (see [`len`](Self::len)'s example).
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

// Unwind safety (see the type's docs): as for `TaskHandle`; the set's own
// bookkeeping (its map and ready list) changes under `&mut self` or under a
// lock that ignores poisoning, never half-way across a call into user code.
impl<T> UnwindSafe for TaskSet<T> {}
impl<T> RefUnwindSafe for TaskSet<T> {}

impl<T> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet")
            .field("len", &self.tasks.len())
            .field("ready", &lock(&self.ready.list).ids.len())
            .finish()
    }
}
