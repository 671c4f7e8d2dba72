//! [`TaskError`]: why a task produced no value.

use std::any::Any;
use std::fmt;

use crate::scheduler::guard::panic_message;

/// Why a task produced no value.
///
/// Marked `#[non_exhaustive]`: match it with a wildcard arm, or use
/// [`is_panic`](Self::is_panic), [`is_cancelled`](Self::is_cancelled) and
/// [`is_timed_out`](Self::is_timed_out).
///
/// # Examples
///
/// ```
/// use workcrew::TaskError;
/// let pool = workcrew::Pool::new(1);
/// match pool.spawn(|| -> u32 { panic!("disk full") }).join() {
///     Ok(value) => println!("got {value}"),
///     Err(TaskError::Panicked(payload)) => {
///         assert_eq!(payload.downcast_ref::<&str>(), Some(&"disk full"));
///     }
///     Err(TaskError::Cancelled) => println!("cancelled"),
///     Err(other) => println!("{other}"), // TimedOut, and variants added later
/// }
/// ```
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked; this is the panic payload.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The task was cancelled: before it started (by
    /// [`TaskHandle::cancel`](crate::TaskHandle::cancel),
    /// [`TaskSet::cancel_all`](crate::TaskSet::cancel_all) or
    /// [`Pool::shutdown_now`](crate::Pool::shutdown_now)), so it never ran; or
    /// while it ran, asked to stop, it ended at a
    /// [`checkpoint`](crate::checkpoint).
    Cancelled,
    /// The task's deadline passed before it finished (see
    /// [`TaskBuilder::timeout`](crate::TaskBuilder::timeout)). A queued task
    /// then never runs; a running one is asked to stop, and whatever it
    /// returns when it does is dropped (counted in
    /// [`PoolStats::discarded`](crate::PoolStats::discarded)).
    TimedOut,
}

impl TaskError {
    /// True if the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let error = pool.spawn(|| -> u8 { panic!("oops") }).join().unwrap_err();
    /// assert!(error.is_panic() && !error.is_cancelled() && !error.is_timed_out());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// True if the task was cancelled (see [`TaskError::Cancelled`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    /// let busy = pool.spawn(move || release_rx.recv().unwrap());
    /// let queued = pool.spawn(|| 1);
    /// assert!(queued.cancel());
    /// assert!(queued.join().unwrap_err().is_cancelled());
    /// release_tx.send(()).unwrap();
    /// busy.join().unwrap();
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// True if the task's deadline passed before it finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = workcrew::Pool::new(1);
    /// let handle = pool.task_builder().timeout(Duration::from_millis(10)).spawn(|| {
    ///     while !workcrew::is_cancelled() {
    ///         std::thread::sleep(Duration::from_millis(1));
    ///     }
    /// });
    /// assert!(handle.join().unwrap_err().is_timed_out());
    /// ```
    pub fn is_timed_out(&self) -> bool {
        matches!(self, TaskError::TimedOut)
    }

    /// The panic payload, to inspect or to pass to
    /// [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the task was cancelled or timed out rather than panicking.
    ///
    /// # Examples
    ///
    /// Resume a task's panic in the caller, as if it had happened there:
    ///
    /// ```should_panic
    /// let pool = workcrew::Pool::new(1);
    /// if let Err(error) = pool.spawn(|| -> u32 { panic!("resumed in main") }).join() {
    ///     std::panic::resume_unwind(error.into_panic());
    /// }
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            TaskError::Panicked(payload) => payload,
            TaskError::Cancelled => {
                panic!("TaskError::into_panic: the task was cancelled, not panicked")
            }
            TaskError::TimedOut => {
                panic!("TaskError::into_panic: the task timed out, not panicked")
            }
        }
    }

    /// The panic message, when the payload is a string (as it is for
    /// `panic!("...")`, with or without format arguments).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let error = pool.spawn(|| -> u32 { panic!("bad input: {}", 7) }).join().unwrap_err();
    /// assert_eq!(error.panic_message(), Some("bad input: 7"));
    /// let custom = pool.spawn(|| -> u32 { std::panic::panic_any(42_i32) }).join().unwrap_err();
    /// assert_eq!(custom.panic_message(), None);
    /// assert_eq!(custom.into_panic().downcast_ref::<i32>(), Some(&42));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(payload) => panic_message(payload.as_ref()),
            TaskError::Cancelled | TaskError::TimedOut => None,
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(_) => match self.panic_message() {
                Some(message) => f.debug_tuple("Panicked").field(&message).finish(),
                None => f.write_str("Panicked(..)"),
            },
            TaskError::Cancelled => f.write_str("Cancelled"),
            TaskError::TimedOut => f.write_str("TimedOut"),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(_) => match self.panic_message() {
                Some(message) => write!(f, "task panicked: {message}"),
                None => f.write_str("task panicked (with a non-string payload)"),
            },
            TaskError::Cancelled => {
                f.write_str("task was cancelled (before it started, or it stopped when asked)")
            }
            TaskError::TimedOut => {
                f.write_str("task timed out: its deadline passed before it finished")
            }
        }
    }
}

impl std::error::Error for TaskError {}
