//! Parallel loops over items: [`Pool::map`] and [`Pool::try_map`]; the
//! range loops live in `ranges.rs`.
//!
//! All of them run on a worker (the caller, if it is one; else one task the
//! caller waits for) plus helper jobs that idle workers steal
//! (`join::run_with_helpers`), so they use the pool's threads and nothing
//! else. Each participant loops, claiming a piece of the input at a time.
//!
//! * `map` pulls items from the shared iterator in **batches** under a mutex.
//!   A batch's size adapts to the work: it doubles while a batch takes under
//!   `FAST` and halves above `SLOW`, so 10 ms items go one at a time and
//!   cheap ones in batches of up to `MAX_BATCH`; with a known length it never
//!   exceeds a fair share of what is left. Results are written straight to
//!   their index in the output vector.
//!
//! Invariant: every index of the input is claimed exactly once (the mutex or
//! the atomic counter hands it out), so the writes to the output never
//! overlap; after a panic or error, nothing new is handed out, the pieces in
//! progress finish, and exactly the written slots are dropped.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::pool::Pool;
use crate::scheduler::ambient::Ambient;
use crate::scheduler::context::EnteredContext;
use crate::scheduler::part::run_with_helpers;
use crate::scheduler::worker::Worker;
use crate::sync::{lock, AtomicBool, Mutex, Ordering};
use crate::task::control::Control;

const MAX_BATCH: usize = 4096;
const FAST: Duration = Duration::from_micros(50);
const SLOW: Duration = Duration::from_micros(500);

/// Why a loop stopped early.
enum Failure<E> {
    Panicked(Box<dyn std::any::Any + Send>),
    /// `try_map`'s first error, with the index it came from.
    Error(usize, E),
}

/// The shared iterator and how far it has been handed out.
struct Feed<I> {
    items: I,
    next_index: usize,
    exhausted: bool,
}

/// Output slots written at disjoint indices by several threads.
struct Slots<R> {
    /// Start of a buffer of `capacity` slots (a `Vec`'s spare capacity).
    base: *mut MaybeUninit<R>,
    capacity: usize,
    _owns: PhantomData<R>,
}

// SAFETY: threads write different indices (each index is handed out once, see
// the module invariant), and `R: Send` lets the values move between threads.
unsafe impl<R: Send> Sync for Slots<R> {}

impl<R> Slots<R> {
    /// Writes the result for input `index`.
    ///
    /// # Safety
    /// `index < capacity`, and no other thread writes `index`.
    unsafe fn write(&self, index: usize, value: R) {
        // SAFETY: in bounds and exclusive, per the contract.
        unsafe { (*self.base.add(index)).write(value) };
    }
}

/// Per-call state of `map` / `try_map`.
struct MapLoop<'f, I: Iterator, R, E, F> {
    feed: Mutex<Feed<I>>,
    f: &'f F,
    slots: Slots<R>,
    /// Results beyond `slots.capacity` (the iterator was longer than its
    /// size hint), as `(first index, values)` runs.
    overflow: Mutex<Vec<(usize, Vec<R>)>>,
    /// Index ranges written into `slots`.
    written: Mutex<Vec<Range<usize>>>,
    stop: AtomicBool,
    /// The items' control block, under the caller's (task/control.rs).
    group: Control,
    failure: Mutex<Option<Failure<E>>>,
    threads: usize,
}

impl<I, R, E, F> MapLoop<'_, I, R, E, F>
where
    I: Iterator + Send,
    I::Item: Send,
    R: Send,
    E: Send,
    F: Fn(I::Item) -> Result<R, E> + Sync,
{
    fn fail(&self, failure: Failure<E>) {
        self.stop.store(true, Ordering::Relaxed);
        // Fail fast: items still running elsewhere are asked to stop.
        self.group.request();
        let mut slot = lock(&self.failure);
        let replace = match (&*slot, &failure) {
            (None, _) => true,
            // Report the earliest error in input order, like a sequential loop.
            (Some(Failure::Error(old, _)), Failure::Error(new, _)) => new < old,
            _ => false,
        };
        if replace {
            *slot = Some(failure);
        }
    }

    /// Claims up to `size` items; returns the index of the first one.
    fn claim(&self, size: usize, batch: &mut Vec<I::Item>) -> Option<usize> {
        let mut feed = lock(&self.feed);
        if feed.exhausted || self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let start = feed.next_index;
        let pulled = panic::catch_unwind(AssertUnwindSafe(|| {
            batch.extend(feed.items.by_ref().take(size));
        }));
        feed.next_index += batch.len();
        if batch.len() < size {
            feed.exhausted = true;
        }
        if let Err(payload) = pulled {
            feed.exhausted = true;
            drop(feed);
            self.fail(Failure::Panicked(payload));
        }
        (!batch.is_empty()).then_some(start)
    }

    fn fair_share(&self, size: usize) -> usize {
        let feed = lock(&self.feed);
        let (_, upper) = feed.items.size_hint();
        match upper {
            Some(left) => size.min(left.div_ceil(2 * self.threads).max(1)),
            None => size,
        }
    }

    /// One participant's loop.
    fn work(&self) {
        let mut batch = Vec::new();
        let mut size = 1;
        while let Some(start) = self.claim(size, &mut batch) {
            let began = Instant::now();
            let count = batch.len();
            let mut done = 0;
            let mut extra = Vec::new();
            // The first `fitting` results go straight to their slots; the rest
            // (an iterator longer than its size hint) to `extra`.
            let fitting = self.slots.capacity.saturating_sub(start).min(count);
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                let mut items = batch.drain(..);
                for (offset, item) in items.by_ref().take(fitting).enumerate() {
                    match (self.f)(item) {
                        // SAFETY: `start + offset` was handed out to this batch
                        // only, and is below the capacity (`fitting`).
                        Ok(value) => unsafe { self.slots.write(start + offset, value) },
                        Err(error) => return Err((start + offset, error)),
                    }
                    done = offset + 1;
                }
                for item in items {
                    match (self.f)(item) {
                        Ok(value) => extra.push(value),
                        Err(error) => return Err((start + done, error)),
                    }
                    done += 1;
                }
                Ok(())
            }));
            batch.clear();
            let in_slots = start.min(self.slots.capacity)..(start + done).min(self.slots.capacity);
            if !in_slots.is_empty() {
                lock(&self.written).push(in_slots);
            }
            if !extra.is_empty() {
                let first = (start + done - extra.len()).max(self.slots.capacity);
                lock(&self.overflow).push((first, extra));
            }
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err((index, error))) => return self.fail(Failure::Error(index, error)),
                Err(payload) => return self.fail(Failure::Panicked(payload)),
            }
            let took = began.elapsed();
            if took < FAST && count == size {
                size = (size * 2).min(MAX_BATCH);
            } else if took > SLOW {
                size = (size / 2).max(1);
            }
            size = self.fair_share(size);
        }
    }
}

/// Runs the loop and assembles the output vector.
fn map_on<I, R, E, F>(worker: &Worker, items: I, f: &F) -> Result<Vec<R>, E>
where
    I: Iterator + Send,
    I::Item: Send,
    R: Send,
    E: Send,
    F: Fn(I::Item) -> Result<R, E> + Sync,
{
    let threads = worker.pool().registry.max_threads().max(1);
    let (lower, upper) = items.size_hint();
    let mut output: Vec<R> = Vec::with_capacity(lower);
    let capacity = output.capacity().min(lower.max(upper.unwrap_or(0)));
    let map = MapLoop {
        feed: Mutex::new(Feed {
            items,
            next_index: 0,
            exhausted: false,
        }),
        f,
        slots: Slots {
            base: output.as_mut_ptr().cast(),
            capacity,
            _owns: PhantomData,
        },
        overflow: Mutex::new(Vec::new()),
        written: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
        group: Control::new(Ambient::current()),
        failure: Mutex::new(None),
        threads,
    };
    let helpers = match upper {
        Some(len) => len.saturating_sub(1).min(threads - 1),
        None => threads - 1,
    };
    // Helpers enter the caller's control block and context on whichever
    // worker runs them.
    let context = EnteredContext::current();
    let hooks = worker.pool().config.context.as_ref();
    run_with_helpers(worker, helpers, &|| {
        let _items = map.group.ambient().enter();
        context.run(hooks, || map.work())
    });

    let MapLoop {
        feed,
        overflow,
        written,
        failure,
        ..
    } = map;
    let feed = feed.into_inner().unwrap_or_else(|e| e.into_inner());
    let total = feed.next_index;
    // What is left of the input is the caller's, dropped inside the guard.
    worker.pool().drop_guarded(feed.items);
    let mut written = written.into_inner().unwrap_or_else(|e| e.into_inner());
    written.sort_by_key(|range| range.start);
    if let Some(failure) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        // The results computed so far are user values: each is dropped
        // inside the pool's guard, so a panicking `Drop` is counted and
        // handed on instead of replacing the failure or leaking the rest.
        let pool = worker.pool();
        let base = output.as_mut_ptr();
        for range in written {
            for index in range {
                // SAFETY: written (recorded in `written`) and not yet dropped;
                // the vector's length is still 0, so this is the only drop.
                pool.run_guarded(|| unsafe { base.add(index).drop_in_place() });
            }
        }
        let overflow = overflow.into_inner().unwrap_or_else(|e| e.into_inner());
        for value in overflow.into_iter().flat_map(|(_, values)| values) {
            pool.drop_guarded(value);
        }
        return match failure {
            Failure::Panicked(payload) => panic::resume_unwind(payload),
            Failure::Error(_, error) => Err(error),
        };
    }
    let in_slots = total.min(capacity);
    debug_assert_eq!(written.iter().map(|r| r.len()).sum::<usize>(), in_slots);
    // SAFETY: no failure, so every index below `in_slots` was written exactly
    // once (module invariant) and all writers have finished.
    unsafe { output.set_len(in_slots) };
    let mut overflow = overflow.into_inner().unwrap_or_else(|e| e.into_inner());
    overflow.sort_by_key(|(first, _)| *first);
    for (_, values) in overflow {
        output.extend(values);
    }
    Ok(output)
}

impl Pool {
    /// Applies `f` to every item on the pool's threads and returns the
    /// results in input order. `f` may borrow local data.
    ///
    /// Items are handed out in batches that adapt to how long `f` takes:
    /// 10 ms items spread one at a time over all threads, cheap ones go in
    /// batches of thousands, so a hundred million cheap items cost a few
    /// thousand hand-outs, not a hundred million tasks. Called from outside the
    /// pool, it runs as one task the caller waits for, so only pool threads
    /// call `f`.
    ///
    /// # Panics
    ///
    /// If `f` (or the input iterator) panics: no new items are handed out,
    /// the items in progress finish, and the panic resumes here. Also if the
    /// pool is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(4);
    /// let offset = 10;
    /// let shifted = pool.map(1..=5, |x| x + offset);
    /// assert_eq!(shifted, vec![11, 12, 13, 14, 15]);
    /// ```
    pub fn map<I, F, R>(&self, items: I, f: F) -> Vec<R>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: Send,
        F: Fn(I::Item) -> R + Sync,
        R: Send,
    {
        let items = items.into_iter();
        let f = |item| Ok::<R, std::convert::Infallible>(f(item));
        match self.on_worker("map", |worker| map_on(worker, items, &f)) {
            Ok(results) => results,
            Err(never) => match never {},
        }
    }

    /// Like [`map`](Self::map) for a fallible `f`: stops handing out items at
    /// the first `Err` and returns it (the one earliest in input order among
    /// those computed).
    ///
    /// # Errors
    ///
    /// The first error `f` returned; the results computed so far are dropped.
    ///
    /// # Panics
    ///
    /// As [`map`](Self::map).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let parsed: Result<Vec<u8>, _> = pool.try_map(["1", "2", "x"], |s| s.parse::<u8>());
    /// assert!(parsed.is_err());
    /// ```
    pub fn try_map<I, F, R, E>(&self, items: I, f: F) -> Result<Vec<R>, E>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: Send,
        F: Fn(I::Item) -> Result<R, E> + Sync,
        R: Send,
        E: Send,
    {
        let items = items.into_iter();
        self.on_worker("try_map", |worker| map_on(worker, items, &f))
    }
}
