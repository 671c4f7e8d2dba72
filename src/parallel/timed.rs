//! Per-item timeouts for `map` and `imap` ([`Pool::map_with_timeout`],
//! [`Pool::imap_with_timeout`], [`Pool::imap_unordered_with_timeout`]).
//!
//! # How an item is timed
//!
//! Each item runs under a control block of its own (task/control.rs) on the
//! stack of the piece that maps it, whose parent is the block the piece
//! runs under (the `map` caller's group, or the `imap` chunk's task) and
//! whose deadline is the item's start plus the timeout. So inside `f`,
//! [`is_cancelled`](crate::is_cancelled) turns true when the item's time is
//! up (or when the whole call is asked to stop), and
//! [`time_left`](crate::time_left) counts down to it. No timer thread is
//! involved: the deadline is read off the clock where `f` looks, and once
//! more when `f` returns.
//!
//! # What an item yields
//!
//! * `Ok(value)`: `f` returned before its deadline;
//! * `Err(TaskError::TimedOut)`: the deadline passed before `f` returned,
//!   whether `f` stopped at a [`checkpoint`](crate::checkpoint) or ran to its
//!   end (its value is then dropped and counted in
//!   [`PoolStats::discarded`](crate::PoolStats::discarded)); counted in
//!   [`PoolStats::timed_out`](crate::PoolStats::timed_out);
//! * `Err(TaskError::Panicked(payload))`: `f` panicked; the other items go
//!   on (the panic is this item's value, as one task's panic is its
//!   handle's).
//!
//! A request to stop the whole call (the caller's task cancelled, the `Imap`
//! dropped) is not an item's outcome: a checkpoint that it triggers unwinds
//! through the item to the call, which ends as `map` and `imap` do.
//!
//! The item's clock starts when a thread starts it, not at the call: time
//! spent waiting for a free thread is not held against an item.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::parallel::imap::Imap;
use crate::pool::Pool;
use crate::scheduler::ambient::{is_stopped, Ambient};
use crate::scheduler::shared::Shared;
use crate::task::control::Control;
use crate::task::error::TaskError;
use crate::Arc;

/// Runs `f` as one timed item (module docs).
fn run_item<R>(shared: &Shared, timeout: Duration, f: impl FnOnce() -> R) -> Result<R, TaskError> {
    let block = Control::new(Ambient::current());
    block.set_deadline(Instant::now().checked_add(timeout));
    let outcome = {
        let _item = block.ambient().enter();
        panic::catch_unwind(AssertUnwindSafe(f))
    };
    match outcome {
        Ok(value) if block.deadline_passed() => {
            drop(value);
            shared.discarded_after_timeout();
            shared.task_timed_out();
            Err(TaskError::TimedOut)
        }
        Ok(value) => Ok(value),
        Err(payload) if is_stopped(payload.as_ref()) && block.deadline_passed() => {
            shared.task_timed_out();
            Err(TaskError::TimedOut)
        }
        // The whole call was asked to stop: the call ends, not the item.
        Err(payload) if is_stopped(payload.as_ref()) => panic::resume_unwind(payload),
        Err(payload) => Err(TaskError::Panicked(payload)),
    }
}

impl Pool {
    /// Like [`map`](Self::map), with a deadline for each item: `timeout`
    /// after a thread starts it. Each item yields its own outcome, in input
    /// order: `Ok` with its value, `Err(TaskError::TimedOut)` if the
    /// deadline passed before `f` returned, `Err(TaskError::Panicked)` if
    /// `f` panicked (the other items go on). Past its deadline an item sees
    /// [`is_cancelled`](crate::is_cancelled) turn true and can end at a
    /// [`checkpoint`](crate::checkpoint); one that ignores it runs to its
    /// end and its value is dropped (counted in
    /// [`PoolStats::discarded`](crate::PoolStats::discarded)).
    /// Timeouts are cooperative: nothing interrupts `f`.
    ///
    /// # Panics
    ///
    /// If the pool is closed, or the input iterator panics (as `map`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use workcrew::TaskError;
    ///
    /// let pool = workcrew::Pool::new(2);
    /// let outcomes = pool.map_with_timeout([1u64, 0, 3], Duration::from_millis(50), |n| {
    ///     if n == 0 {
    ///         // Never ends by itself: only the deadline stops it.
    ///         loop {
    ///             workcrew::checkpoint();
    ///             std::thread::yield_now();
    ///         }
    ///     }
    ///     n * 10
    /// });
    /// assert!(matches!(outcomes[0], Ok(10)));
    /// assert!(matches!(outcomes[1], Err(TaskError::TimedOut)));
    /// assert!(matches!(outcomes[2], Ok(30)));
    /// assert_eq!(pool.stats().timed_out, 1);
    /// ```
    pub fn map_with_timeout<I, F, R>(
        &self,
        items: I,
        timeout: Duration,
        f: F,
    ) -> Vec<Result<R, TaskError>>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: Send,
        F: Fn(I::Item) -> R + Sync,
        R: Send,
    {
        let shared = &*self.shared;
        self.map(items, |item| run_item(shared, timeout, || f(item)))
    }

    /// Like [`imap`](Self::imap) (results in input order), with a deadline
    /// for each item, `timeout` after a thread starts it; each item yields
    /// its own outcome, as in [`map_with_timeout`](Self::map_with_timeout).
    ///
    /// # Panics
    ///
    /// If the pool is closed. A panic of the input iterator resumes at the
    /// `next()` that would have returned its item (a panic of `f` is that
    /// item's `Err(TaskError::Panicked)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = workcrew::Pool::new(2);
    /// let timed_out = pool
    ///     .imap_with_timeout(0..4u32, Duration::from_millis(20), |n| {
    ///         if n % 2 == 1 {
    ///             while !workcrew::is_cancelled() {
    ///                 std::thread::yield_now();
    ///             }
    ///         }
    ///         n
    ///     })
    ///     .filter(|outcome| outcome.as_ref().is_err_and(|e| e.is_timed_out()))
    ///     .count();
    /// assert_eq!(timed_out, 2);
    /// ```
    pub fn imap_with_timeout<I, F, R>(
        &self,
        items: I,
        timeout: Duration,
        f: F,
    ) -> Imap<Result<R, TaskError>>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        self.imap(items, move |item| run_item(&shared, timeout, || f(item)))
    }

    /// Like [`imap_unordered`](Self::imap_unordered) (results as they
    /// complete), with a deadline for each item, as in
    /// [`imap_with_timeout`](Self::imap_with_timeout).
    ///
    /// # Panics
    ///
    /// As [`imap_with_timeout`](Self::imap_with_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = workcrew::Pool::new(2);
    /// let mut done: Vec<u32> = pool
    ///     .imap_unordered_with_timeout(1..=3u32, Duration::from_secs(60), |n| n * n)
    ///     .map(|outcome| outcome.expect("well within the deadline"))
    ///     .collect();
    /// done.sort();
    /// assert_eq!(done, [1, 4, 9]);
    /// ```
    pub fn imap_unordered_with_timeout<I, F, R>(
        &self,
        items: I,
        timeout: Duration,
        f: F,
    ) -> Imap<Result<R, TaskError>>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        self.imap_unordered(items, move |item| run_item(&shared, timeout, || f(item)))
    }
}
