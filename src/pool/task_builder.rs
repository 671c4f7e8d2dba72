//! [`TaskBuilder`]: a task with a name or a deadline.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

use crate::error::SpawnError;
use crate::pool::Pool;
use crate::scheduler::deadline_after;
use crate::scheduler::submit::{Refusal, WhenFull};
use crate::task::deadline::watch_deadline;
use crate::task::handle::TaskHandle;
use crate::task::spawn::submit_static;

/// When a builder's deadline falls.
#[derive(Clone, Copy, Debug)]
enum Deadline {
    At(Instant),
    /// Counted from the submit.
    After(Duration),
}

/// Options for one task: a name, a deadline. Start with
/// [`Pool::task_builder`]; finish with [`spawn`](Self::spawn) or
/// [`try_spawn`](Self::try_spawn), which follow the rules of
/// [`Pool::spawn`] and [`Pool::try_spawn`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use workcrew::TaskError;
///
/// let pool = workcrew::Pool::new(2);
/// let slow = pool
///     .task_builder()
///     .name("fetch-mirror-a")
///     .timeout(Duration::from_millis(20))
///     .spawn(|| {
///         while !workcrew::is_cancelled() {
///             std::thread::sleep(Duration::from_millis(1));
///         }
///         "gave up"
///     });
/// // The handle reports the timeout as soon as the deadline passes.
/// assert!(matches!(slow.join(), Err(TaskError::TimedOut)));
/// pool.join();
/// assert_eq!(pool.stats().timed_out, 1);
/// ```
#[must_use = "a task builder does nothing until `spawn` or `try_spawn`"]
pub struct TaskBuilder<'p> {
    pool: &'p Pool,
    name: Option<Cow<'static, str>>,
    deadline: Option<Deadline>,
}

impl Pool {
    /// Starts a [`TaskBuilder`] for one task with a name or a deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let handle = pool.task_builder().name("checksum").spawn(|| 0xC0FFEE);
    /// assert_eq!(handle.join().unwrap(), 0xC0FFEE);
    /// ```
    pub fn task_builder(&self) -> TaskBuilder<'_> {
        TaskBuilder {
            pool: self,
            name: None,
            deadline: None,
        }
    }
}

impl TaskBuilder<'_> {
    /// Names the task; the name reaches the pool's slow-task hook
    /// ([`PoolBuilder::slow_task`](crate::PoolBuilder::slow_task)).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// for file in ["a.txt", "b.txt"] {
    ///     // A `String` or a `&'static str`; only the slow-task hook reads it.
    ///     let _ = pool.task_builder().name(format!("read {file}")).spawn(move || file.len());
    /// }
    /// pool.join();
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The task must be done by `at`. Past it, a queued task never runs and
    /// a running one is asked to stop ([`is_cancelled`](crate::is_cancelled)
    /// turns true); either way its handle reports
    /// [`TaskError::TimedOut`](crate::TaskError::TimedOut) at once, and what
    /// a running task returns when it finally ends is dropped (counted in
    /// [`PoolStats::discarded`](crate::PoolStats::discarded)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use workcrew::TaskError;
    /// let pool = workcrew::Pool::new(1);
    /// let batch_deadline = Instant::now() + Duration::from_millis(30);
    /// let handles: Vec<_> = (0..3)
    ///     .map(|_| {
    ///         pool.task_builder().deadline(batch_deadline).spawn(|| {
    ///             while !workcrew::is_cancelled() {
    ///                 std::thread::sleep(Duration::from_millis(1)); // work, checking in
    ///             }
    ///         })
    ///     })
    ///     .collect();
    /// for handle in handles {
    ///     assert!(matches!(handle.join(), Err(TaskError::TimedOut)));
    /// }
    /// ```
    pub fn deadline(mut self, at: Instant) -> Self {
        self.deadline = Some(Deadline::At(at));
        self
    }

    /// A [`deadline`](Self::deadline) `after` the submit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = workcrew::Pool::new(1);
    /// let quick = pool.task_builder().timeout(Duration::from_secs(10)).spawn(|| 1);
    /// assert_eq!(quick.join().unwrap(), 1, "done long before its deadline");
    /// ```
    pub fn timeout(mut self, after: Duration) -> Self {
        self.deadline = Some(Deadline::After(after));
        self
    }

    /// Submits the task as [`Pool::spawn`] does.
    ///
    /// # Panics
    ///
    /// As [`Pool::spawn`]: if the pool is closed (or has no thread and the
    /// OS refuses one).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let handle = pool.task_builder().name("answer").spawn(|| 42);
    /// assert_eq!(handle.join().unwrap(), 42);
    /// ```
    pub fn spawn<F, T>(self, f: F) -> TaskHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool;
        match self.submit(f, WhenFull::Wait(None)) {
            Ok(handle) => handle,
            Err(refusal) => pool.shared.panic_refused("TaskBuilder::spawn", refusal),
        }
    }

    /// Submits the task as [`Pool::try_spawn`] does: never blocks.
    ///
    /// # Errors
    ///
    /// As [`Pool::try_spawn`]; the closure comes back in the error.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// pool.shutdown();
    /// let refused = pool.task_builder().name("late").try_spawn(|| 1).unwrap_err();
    /// assert!(refused.is_closed());
    /// ```
    pub fn try_spawn<F, T>(self, f: F) -> Result<TaskHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(f, WhenFull::Refuse).map_err(SpawnError::from)
    }

    fn submit<F, T>(self, f: F, when_full: WhenFull) -> Result<TaskHandle<T>, Refusal<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = &self.pool.shared;
        let deadline = self.deadline.map(|deadline| match deadline {
            Deadline::At(at) => at,
            Deadline::After(after) => deadline_after(after),
        });
        let task = submit_static(shared, f, when_full, self.name, deadline)?;
        if let Some(at) = deadline {
            // An inline pool already ran it: nothing left to time out.
            if !task.stage().is_final() {
                watch_deadline(&task, at, shared);
            }
        }
        Ok(TaskHandle::new(task, shared.clone()))
    }
}

impl fmt::Debug for TaskBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskBuilder")
            .field("name", &self.name)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}
