//! [`Pool::imap`] and [`Pool::imap_unordered`]: lazy, bounded streaming maps.
//!
//! The reader's own `next()` calls drive production: each call first tops
//! up the work in flight, pulling `chunk_size` items at a time from the input
//! and spawning a task for each chunk, while fewer than `buffer` results are
//! outstanding (spawned but not yet returned to the reader). So:
//!
//! * nothing is pulled before the first `next()`, and an infinite input works;
//! * a reader that stalls holds production at `buffer` items: a chunk holds
//!   at most `buffer` items, and a new one starts when it fits;
//! * results are computed ahead of the reader while it works on earlier ones.
//!
//! Ordered results wait in a queue of handles (front first); unordered ones
//! come out of a [`TaskSet`](crate::TaskSet) in completion order. The `Imap`
//! holds a [`Pool`] clone, so it keeps working after the caller drops its own.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::error::Timeout;
use crate::parallel::progress::{Observer, Progress};
use crate::pool::Pool;
use crate::scheduler::deadline_after;
use crate::scheduler::shared::panic_closed;
use crate::scheduler::worker::Worker;
use crate::task::control::stopped_or_panic;
use crate::task::error::TaskError;
use crate::task::handle::TaskHandle;
use crate::task::task_set::TaskSet;
use crate::Arc;

type Payload = Box<dyn std::any::Any + Send>;

/// What one chunk's task hands back: the results of the items it mapped,
/// in input order, and the panic of `f` on the item after the last of them,
/// if `f` panicked (the rest of the chunk is then skipped, as the `Imap`
/// finishes at that item).
struct Chunk<R> {
    values: Vec<R>,
    panic: Option<Payload>,
}

/// Where spawned chunks wait for the reader.
enum Sink<R> {
    Ordered(VecDeque<TaskHandle<Chunk<R>>>),
    Unordered(TaskSet<Chunk<R>>),
}

impl<R: Send + 'static> Sink<R> {
    fn spawn(&mut self, pool: &Pool, chunk: impl FnOnce() -> Chunk<R> + Send + 'static) {
        match self {
            Sink::Ordered(handles) => handles.push_back(pool.spawn(chunk)),
            Sink::Unordered(set) => {
                set.spawn(chunk);
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Sink::Ordered(handles) => handles.is_empty(),
            Sink::Unordered(set) => set.is_empty(),
        }
    }

    /// The next chunk's outcome, waiting until `deadline`.
    fn next(&mut self, deadline: Option<Instant>) -> Result<Result<Chunk<R>, TaskError>, Timeout> {
        match self {
            Sink::Ordered(handles) => {
                let front = handles.front().expect("checked non-empty");
                if let Some(deadline) = deadline {
                    if !front.wait_timeout(deadline.saturating_duration_since(Instant::now())) {
                        return Err(Timeout);
                    }
                }
                Ok(handles.pop_front().expect("checked non-empty").join())
            }
            Sink::Unordered(set) => {
                let next = match deadline {
                    None => set.join_next(),
                    Some(deadline) => {
                        set.join_next_timeout(deadline.saturating_duration_since(Instant::now()))?
                    }
                };
                Ok(next.expect("checked non-empty"))
            }
        }
    }
}

impl<R> Sink<R> {
    /// Cancels every chunk not started yet and asks the running ones to
    /// stop: nobody will read them.
    fn cancel_all(&mut self) {
        match self {
            Sink::Ordered(handles) => handles.iter().for_each(TaskHandle::request_cancel),
            Sink::Unordered(set) => {
                set.request_cancel_all();
            }
        }
    }
}

/// The input and the function, with their types erased.
trait Source<R>: Send {
    /// Pulls up to `n` items and spawns one task mapping them. Returns how many
    /// items it pulled, and the input's panic if it panicked.
    fn spawn_next(&mut self, n: usize, pool: &Pool, sink: &mut Sink<R>)
        -> (usize, Option<Payload>);

    /// Reports every item `f` finishes to `observer` from now on.
    fn observe(&mut self, observer: Observer);
}

struct MapSource<I, F> {
    items: I,
    f: Arc<F>,
    observer: Option<Observer>,
}

impl<I, F, R> Source<R> for MapSource<I, F>
where
    I: Iterator + Send,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    fn spawn_next(
        &mut self,
        n: usize,
        pool: &Pool,
        sink: &mut Sink<R>,
    ) -> (usize, Option<Payload>) {
        let mut chunk = Vec::with_capacity(n.min(1024));
        let items = &mut self.items;
        let pulled = panic::catch_unwind(AssertUnwindSafe(|| chunk.extend(items.by_ref().take(n))));
        let count = chunk.len();
        if count > 0 {
            let f = self.f.clone();
            let observer = self.observer.clone();
            sink.spawn(pool, move || {
                let mut values = Vec::with_capacity(count);
                // Each item on its own, so that a panic on one keeps the
                // results before it and resumes at that item's `next()`.
                let panic = panic::catch_unwind(AssertUnwindSafe(|| {
                    values.extend(chunk.into_iter().map(|item| {
                        let value = f(item);
                        if let Some(observer) = &observer {
                            observer.item_done();
                        }
                        value
                    }));
                }))
                .err();
                if panic.is_some() {
                    // Caught here instead of by the worker: count it the same.
                    Worker::with_current(|worker| {
                        if let Some(worker) = worker {
                            worker.stats().panicked.bump();
                        }
                    });
                }
                Chunk { values, panic }
            });
        }
        (count, pulled.err())
    }

    fn observe(&mut self, observer: Observer) {
        self.observer = Some(observer);
    }
}

/// The erased source of `imap`/`imap_unordered`, and the input's length if
/// its `size_hint` is exact.
fn map_source<I, F, R>(items: I, f: F) -> (Box<dyn Source<R>>, Option<usize>)
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    let items = items.into_iter();
    let total = match items.size_hint() {
        (lower, Some(upper)) if lower == upper => Some(lower),
        _ => None,
    };
    let source = Box::new(MapSource {
        items,
        f: Arc::new(f),
        observer: None,
    });
    (source, total)
}

/// A lazy iterator over `f` applied to each input item, computed on a pool.
/// See [`Pool::imap`] and [`Pool::imap_unordered`].
///
/// Dropping it never blocks: it stops pulling input, cancels the chunks not
/// yet started, asks the running ones to stop
/// ([`is_cancelled`](crate::is_cancelled) turns true inside them) and lets
/// them finish in the background.
///
/// # Examples
///
/// ```
/// let pool = workcrew::Pool::new(4);
/// // Lazy: only what the reader takes (plus a bounded look-ahead) is computed.
/// let first_big = pool
///     .imap(1.., |n: u64| n * n)
///     .find(|square| *square > 1_000)
///     .unwrap();
/// assert_eq!(first_big, 1_024);
/// ```
#[must_use = "an Imap does nothing until iterated"]
pub struct Imap<R> {
    pool: Pool,
    /// `None` once the input is exhausted or panicked.
    source: Option<Box<dyn Source<R>>>,
    sink: Sink<R>,
    chunk_size: usize,
    buffer: usize,
    /// Results spawned and not yet returned to the reader.
    outstanding: usize,
    /// Results of a finished chunk, not yet returned.
    ready: VecDeque<R>,
    /// The panic of `f` on the item after those in `ready`.
    item_panic: Option<Payload>,
    /// The input's panic, resumed once the items before it are returned.
    input_panic: Option<Payload>,
    finished: bool,
    /// The input's length, when its `size_hint` was exact at the start.
    total: Option<usize>,
    /// Results returned to the reader so far.
    returned: usize,
}

impl<R: Send + 'static> Imap<R> {
    fn new(
        pool: &Pool,
        what: &str,
        source: Box<dyn Source<R>>,
        sink: Sink<R>,
        total: Option<usize>,
    ) -> Self {
        if pool.shared.refuses_submissions() {
            panic_closed(what);
        }
        Imap {
            // Inline, each item is computed as it is read.
            buffer: if pool.shared.config.inline {
                1
            } else {
                2 * pool.max_threads()
            },
            pool: pool.clone(),
            source: Some(source),
            sink,
            chunk_size: 1,
            outstanding: 0,
            ready: VecDeque::new(),
            item_panic: None,
            input_panic: None,
            finished: false,
            total,
            returned: 0,
        }
    }

    /// Calls `observer` each time `f` finishes an item (on the worker that
    /// ran it), with how many are done and, when the input's length is
    /// known, of how many: a progress bar then counts finished items, not
    /// started ones. Takes effect for items pulled after the call, so set it
    /// before the first `next()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let pool = workcrew::Pool::new(2);
    /// let last = Arc::new(AtomicUsize::new(0));
    /// let seen = last.clone();
    /// let squares: Vec<u64> = pool
    ///     .imap(1..=10u64, |x| x * x)
    ///     .on_progress(move |p| {
    ///         assert_eq!(p.total, Some(10));
    ///         seen.fetch_max(p.done, Ordering::Relaxed);
    ///     })
    ///     .collect();
    /// assert_eq!(squares.len(), 10);
    /// assert_eq!(last.load(Ordering::Relaxed), 10);
    /// ```
    ///
    /// Named `on_progress`, not `progress`, so that `indicatif`'s
    /// `ProgressIterator::progress()` (which advances when the reader takes
    /// an item) still works on an `Imap` by method syntax.
    pub fn on_progress(mut self, observer: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        if let Some(source) = self.source.as_mut() {
            source.observe(Observer::new(Arc::new(observer), self.total));
        }
        self
    }

    /// Items per task (default 1). Larger chunks cut the per-item cost for
    /// cheap `f`. Takes effect for chunks pulled after the call. A chunk
    /// never holds more than [`buffer`](Self::buffer) items, so raise the
    /// buffer too for chunks larger than `2 × max_threads`.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    ///
    /// # Examples
    ///
    /// Python's `pool.imap(fn, xs, chunksize=64)`:
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let total: u64 = pool.imap(0..10_000u64, |x| x % 7).chunk_size(64).sum();
    /// assert_eq!(total, (0..10_000u64).map(|x| x % 7).sum());
    /// ```
    pub fn chunk_size(mut self, n: usize) -> Self {
        assert!(
            n > 0,
            "Imap::chunk_size: 0 items per task would never make progress; use 1 or more"
        );
        self.chunk_size = n;
        self
    }

    /// How many results may be computed ahead of the reader (default
    /// `2 × max_threads`); a reader that stalls holds production there.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// // Big results: keep at most 4 computed ahead of a slow reader.
    /// for page in pool.imap(0..8, |i| vec![i as u8; 1 << 20]).buffer(4) {
    ///     assert_eq!(page.len(), 1 << 20);
    /// }
    /// ```
    pub fn buffer(mut self, n: usize) -> Self {
        assert!(
            n > 0,
            "Imap::buffer: a buffer of 0 results could never hold one; use 1 or more"
        );
        self.buffer = n;
        self
    }

    /// Like [`Iterator::next`], but waits at most `timeout` for the next
    /// result. `Ok(None)` means the iterator is done.
    ///
    /// # Errors
    ///
    /// [`Timeout`] if no result came in time; nothing is lost, the next call
    /// returns it.
    ///
    /// # Panics
    ///
    /// As `next`: a panic of `f` or of the input resumes here.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// let pool = workcrew::Pool::new(1);
    /// let gate = Arc::new(Mutex::new(()));
    /// let held = gate.lock().unwrap();
    /// let waiting = gate.clone();
    /// let mut results = pool.imap(0..2, move |i| {
    ///     drop(waiting.lock().unwrap()); // waits until the reader opens the gate
    ///     i * 10
    /// });
    /// assert!(results.next_timeout(Duration::from_millis(20)).is_err(), "not yet");
    /// drop(held);
    /// assert_eq!(results.next_timeout(Duration::from_secs(10)), Ok(Some(0)));
    /// assert_eq!(results.next_timeout(Duration::from_secs(10)), Ok(Some(10)));
    /// assert_eq!(results.next_timeout(Duration::from_secs(10)), Ok(None));
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<R>, Timeout> {
        self.advance(Some(deadline_after(timeout)))
    }

    fn top_up(&mut self) {
        let Some(source) = self.source.as_mut() else {
            return;
        };
        // Chunks never hold more than the buffer, so that a stalled reader
        // holds production at `buffer` items whatever the chunk size; a new
        // chunk waits until a whole one fits (fewer, fuller tasks).
        let wanted = self.chunk_size.min(self.buffer);
        // `buffer` may have shrunk below what is outstanding since.
        while self.buffer.saturating_sub(self.outstanding) >= wanted {
            let (count, panicked) = source.spawn_next(wanted, &self.pool, &mut self.sink);
            self.outstanding += count;
            if let Some(payload) = panicked {
                self.input_panic = Some(payload);
                self.source = None;
                return;
            }
            if count < wanted {
                self.source = None;
                return;
            }
        }
    }

    fn advance(&mut self, deadline: Option<Instant>) -> Result<Option<R>, Timeout> {
        loop {
            if let Some(value) = self.ready.pop_front() {
                self.outstanding -= 1;
                self.returned += 1;
                self.top_up();
                return Ok(Some(value));
            }
            if let Some(payload) = self.item_panic.take() {
                self.finish();
                panic::resume_unwind(payload);
            }
            if self.finished {
                return Ok(None);
            }
            self.top_up();
            if self.sink.is_empty() {
                self.finished = true;
                return match self.input_panic.take() {
                    Some(payload) => panic::resume_unwind(payload),
                    None => Ok(None),
                };
            }
            match self.sink.next(deadline)? {
                Ok(chunk) => {
                    // A chunk cut short by a panic still had its items
                    // counted as outstanding; nothing more is produced.
                    self.ready.extend(chunk.values);
                    self.item_panic = chunk.panic;
                }
                Err(error) => {
                    self.finish();
                    match error {
                        TaskError::Panicked(payload) => panic::resume_unwind(payload),
                        error => stopped_or_panic("Imap::next", &error),
                    }
                }
            }
        }
    }
}

impl<R> Imap<R> {
    /// Ends the iteration after a panic: no more input is pulled and the
    /// chunks not started yet are cancelled.
    fn finish(&mut self) {
        self.finished = true;
        self.source = None;
        self.ready.clear();
        self.sink.cancel_all();
    }
}

impl<R: Send + 'static> Iterator for Imap<R> {
    type Item = R;

    /// The next result (in input order for `imap`, completion order for
    /// `imap_unordered`), waiting for it if needed.
    ///
    /// # Panics
    ///
    /// If `f` panicked on this item (ordered) or on the next item to finish
    /// (unordered), or if the input panicked here; the `Imap` is then done.
    fn next(&mut self) -> Option<R> {
        match self.advance(None) {
            Ok(next) => next,
            Err(Timeout) => unreachable!("no deadline"),
        }
    }

    /// Exact when the input's length was known (its `size_hint` exact, as
    /// for any `ExactSizeIterator`): the items not yet returned. Otherwise
    /// the results already computed, with no upper bound.
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.total {
            Some(_) if self.finished => (0, Some(0)),
            Some(total) => {
                let left = total.saturating_sub(self.returned);
                (left, Some(left))
            }
            None => (self.ready.len(), None),
        }
    }
}

/// An `Imap` knows its length when its input did: so `indicatif`'s
/// `.progress()` and other `ExactSizeIterator` adaptors work on it.
impl<R: Send + 'static> ExactSizeIterator for Imap<R> {
    /// The items not yet returned.
    ///
    /// # Panics
    ///
    /// If the input's length was not known (its `size_hint` was not exact);
    /// use `size_hint` then.
    fn len(&self) -> usize {
        match self.size_hint() {
            (lower, Some(upper)) if lower == upper => lower,
            _ => panic!("Imap::len: the input's length is not known (its size_hint was not exact); use size_hint"),
        }
    }
}

impl<R> Drop for Imap<R> {
    fn drop(&mut self) {
        self.source = None;
        self.sink.cancel_all();
    }
}

impl<R> fmt::Debug for Imap<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("chunk_size", &self.chunk_size)
            .field("buffer", &self.buffer)
            .field("outstanding", &self.outstanding)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A lazy iterator of `f(item)` for each item, computed on the pool and
    /// returned in input order (Python's `Pool.imap`,
    /// `Executor.map`). Items are pulled only as results are needed, so an
    /// infinite input works; see [`Imap`] for chunking, buffering and
    /// timeouts.
    ///
    /// # Panics
    ///
    /// If the pool is closed. A panic of `f` or of the input resumes at the
    /// `next()` that would have returned that item.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let squares: Vec<u64> = pool.imap(1.., |x: u64| x * x).take(4).collect();
    /// assert_eq!(squares, [1, 4, 9, 16]);
    /// ```
    pub fn imap<I, F, R>(&self, items: I, f: F) -> Imap<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let (source, total) = map_source(items, f);
        Imap::new(
            self,
            "Pool::imap",
            source,
            Sink::Ordered(VecDeque::new()),
            total,
        )
    }

    /// Like [`imap`](Self::imap), but yields results as they complete
    /// (Python's `imap_unordered`, `as_completed`).
    ///
    /// # Panics
    ///
    /// If the pool is closed. A panic of `f` resumes at the `next()` that
    /// would have returned its item, when it completes.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let mut lengths: Vec<usize> = pool
    ///     .imap_unordered(vec!["a", "bb", "ccc"], |s: &str| s.len())
    ///     .collect();
    /// lengths.sort();
    /// assert_eq!(lengths, [1, 2, 3]);
    /// ```
    pub fn imap_unordered<I, F, R>(&self, items: I, f: F) -> Imap<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let sink = Sink::Unordered(self.task_set());
        let (source, total) = map_source(items, f);
        Imap::new(self, "Pool::imap_unordered", source, sink, total)
    }
}
