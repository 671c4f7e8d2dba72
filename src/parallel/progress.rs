//! Progress reports: [`Progress`], what the observer of
//! [`Imap::on_progress`](crate::Imap::on_progress) and of [`Pool::map_progress`]
//! (`map` that reports each finished item) receives.
//!
//! Invariant: `done` counts items whose function has returned (not started
//! ones), so the last report of a complete run says `done == total`.

use crate::pool::Pool;
use crate::sync::{AtomicUsize, Ordering};
use crate::Arc;

/// A progress observer and the count of items finished so far.
#[derive(Clone)]
pub(crate) struct Observer {
    report: Arc<dyn Fn(Progress) + Send + Sync>,
    done: Arc<AtomicUsize>,
    total: Option<usize>,
}

impl Observer {
    /// An observer of `total` items (if known), none finished yet.
    pub(crate) fn new(report: Arc<dyn Fn(Progress) + Send + Sync>, total: Option<usize>) -> Self {
        Observer {
            report,
            done: Arc::new(AtomicUsize::new(0)),
            total,
        }
    }

    /// Counts one more finished item and reports the new count.
    pub(crate) fn item_done(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        (self.report)(Progress {
            done,
            total: self.total,
        });
    }
}

/// How far a streaming map has got, as told to an
/// [`Imap::on_progress`](crate::Imap::on_progress) observer (or
/// [`Pool::map_progress`]'s): items whose function has returned (finished,
/// not merely started), of how many.
///
/// Marked `#[non_exhaustive]`: read its fields, but do not build one.
///
/// # Examples
///
/// ```
/// let pool = workcrew::Pool::new(2);
/// let words = ["progress", "is", "counted"];
/// pool.map_progress(words, |w| w.len(), |progress: workcrew::Progress| {
///     if let Some(total) = progress.total {
///         eprintln!("{}/{total} done", progress.done);
///     }
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Items finished so far.
    pub done: usize,
    /// All items, when the input's length is known (an exact `size_hint`).
    pub total: Option<usize>,
}

impl Pool {
    /// Like [`map`](Self::map), and calls `observer` each time `f` finishes
    /// an item (on the thread that ran it), with how many are done and, when
    /// the input's length is known (an exact `size_hint`), of how many: a
    /// progress bar counts finished items, not started ones.
    ///
    /// # Panics
    ///
    /// As [`map`](Self::map); a panic in `observer` counts as one in `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// let pool = workcrew::Pool::new(2);
    /// let reports = Mutex::new(Vec::new());
    /// let lengths = pool.map_progress(["a", "bb", "ccc"], |w| w.len(), |p| {
    ///     reports.lock().unwrap().push((p.done, p.total));
    /// });
    /// assert_eq!(lengths, [1, 2, 3]);
    /// let mut reports = reports.into_inner().unwrap();
    /// reports.sort();
    /// assert_eq!(reports, [(1, Some(3)), (2, Some(3)), (3, Some(3))]);
    /// ```
    pub fn map_progress<I, F, R, O>(&self, items: I, f: F, observer: O) -> Vec<R>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: Send,
        F: Fn(I::Item) -> R + Sync,
        R: Send,
        O: Fn(Progress) + Sync,
    {
        let items = items.into_iter();
        let total = match items.size_hint() {
            (lower, Some(upper)) if lower == upper => Some(lower),
            _ => None,
        };
        let done = AtomicUsize::new(0);
        self.map(items, |item| {
            let value = f(item);
            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
            observer(Progress { done, total });
            value
        })
    }
}
