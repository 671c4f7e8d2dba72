//! [`Pool::map_progress`]: `map` that reports each finished item.

use crate::parallel::imap::Progress;
use crate::pool::Pool;
use crate::sync::{AtomicUsize, Ordering};

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
