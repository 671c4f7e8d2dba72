//! Errors of submitting and waiting: [`SpawnError`] and [`Timeout`].

use std::fmt;

/// A refused submission; the closure comes back so nothing is lost.
///
/// Returned by [`Pool::try_spawn`](crate::Pool::try_spawn) and
/// [`Pool::spawn_timeout`](crate::Pool::spawn_timeout).
///
/// Marked `#[non_exhaustive]`: match it with a wildcard arm, or use
/// [`is_full`](Self::is_full), [`is_closed`](Self::is_closed) and
/// [`into_inner`](Self::into_inner), which every variant supports.
///
/// # Examples
///
/// ```
/// use workcrew::{Pool, SpawnError};
///
/// let pool = Pool::new(1);
/// pool.shutdown();
/// match pool.try_spawn(|| "late") {
///     Ok(_) => unreachable!("a closed pool takes nothing"),
///     Err(SpawnError::Closed(task)) => assert_eq!(task(), "late"), // nothing lost
///     Err(other) => panic!("unexpected: {other}"),
/// }
/// ```
#[non_exhaustive]
pub enum SpawnError<F> {
    /// No thread can take the task now: the bounded queue (see
    /// `queue_capacity`) had no room, or the pool has no worker thread left
    /// and the OS refused to start one (a pids limit or `ulimit -u`). Either
    /// way the task never ran; a later attempt may succeed.
    Full(F),
    /// The pool was shut down (or its last handle dropped) before this
    /// submission.
    Closed(F),
}

impl<F> SpawnError<F> {
    /// The closure that was not submitted.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// pool.shutdown();
    /// let refused = pool.try_spawn(|| "run me elsewhere").unwrap_err();
    /// let task = refused.into_inner();
    /// assert_eq!(task(), "run me elsewhere");
    /// ```
    pub fn into_inner(self) -> F {
        match self {
            SpawnError::Full(f) | SpawnError::Closed(f) => f,
        }
    }

    /// True if the queue was full.
    ///
    /// # Examples
    ///
    /// See [`Pool::try_spawn`](crate::Pool::try_spawn) for a full queue.
    ///
    /// ```
    /// let pool = workcrew::Pool::builder().threads(1).queue_capacity(8).build()?;
    /// let accepted = pool.try_spawn(|| 1);
    /// assert!(accepted.is_ok(), "room: not full");
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, SpawnError::Full(_))
    }

    /// True if the pool was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// pool.shutdown();
    /// let refused = pool.try_spawn(|| 1).unwrap_err();
    /// assert!(refused.is_closed() && !refused.is_full());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, SpawnError::Closed(_))
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Full(_) => f.write_str("Full(..)"),
            SpawnError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Full(_) => f.write_str(
                "no thread can take the task now: the pool's task queue is full \
                 (queue_capacity reached) or no worker thread could be started; \
                 the task was not submitted and is returned in the error",
            ),
            SpawnError::Closed(_) => f.write_str(
                "the pool is closed: it was shut down before this task was submitted; \
                 the task is returned in the error",
            ),
        }
    }
}

impl<F> std::error::Error for SpawnError<F> {}

/// A wait that ran out of time; whatever was waited for is left as it was.
///
/// Returned by [`Imap::next_timeout`](crate::Imap::next_timeout) and
/// [`TaskSet::join_next_timeout`](crate::TaskSet::join_next_timeout); the
/// other timed waits return a `bool` or an `Option`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = workcrew::Pool::new(1);
/// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
/// let mut set = pool.task_set();
/// set.spawn(move || release_rx.recv().unwrap());
/// let timeout: workcrew::Timeout = set.join_next_timeout(Duration::ZERO).unwrap_err();
/// println!("{timeout}"); // timed out before a result was ready ...
/// release_tx.send(()).unwrap();
/// assert!(set.join_next().is_some(), "nothing was lost");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Timeout;

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out before a result was ready (nothing was lost; wait again to get it)")
    }
}

impl std::error::Error for Timeout {}
