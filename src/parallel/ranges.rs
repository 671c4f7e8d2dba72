//! The range loops: [`Pool::for_each_range`], [`Pool::for_each_chunk_mut`]
//! and their `_sized` forms, on the pool's threads (the caller's worker,
//! else one task the caller waits for, plus helper jobs idle workers steal:
//! `run_with_helpers`).
//!
//! * The range loops cut `0..len` into `4 × threads` pieces whose sizes
//!   differ by at most one (as `split_evenly`), or into pieces of the size
//!   the caller chose (the `_sized` loops), and hand them out in order from
//!   one atomic counter: a thread that finishes early takes another.
//!
//! Invariant: every index of `0..len` is in exactly one piece, and each
//! piece is handed out once, so the `&mut` chunks never overlap; after a
//! panic nothing new is handed out, the pieces in progress finish, and the
//! panic resumes in the caller.

use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};

use crate::pool::Pool;
use crate::scheduler::ambient::Ambient;
use crate::scheduler::context::EnteredContext;
use crate::scheduler::part::run_with_helpers;
use crate::scheduler::worker::Worker;
use crate::sync::{lock, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::task::control::Control;

/// How many pieces a range loop cuts per thread: enough that a thread that
/// finishes early takes more, so uneven work still spreads.
const PIECES_PER_THREAD: usize = 4;

/// Hands out `0..len` one piece per claim, in order: disjoint, covering
/// every index once. Either `split_evenly(len, parts)` (sizes differing by
/// at most one) or, with a chosen piece size, pieces of that size (the last
/// one shorter).
struct Pieces {
    next: AtomicUsize,
    len: usize,
    parts: usize,
    /// The chosen piece size, 0 for even pieces.
    size: usize,
}

impl Pieces {
    fn new(len: usize, threads: usize) -> Self {
        Pieces {
            next: AtomicUsize::new(0),
            len,
            parts: len.min(PIECES_PER_THREAD * threads).max(1),
            size: 0,
        }
    }

    fn sized(len: usize, size: usize) -> Self {
        Pieces {
            next: AtomicUsize::new(0),
            len,
            parts: len.div_ceil(size).max(1),
            size,
        }
    }

    fn claim(&self) -> Option<Range<usize>> {
        // Relaxed: the counter only has to hand each piece out once; the
        // pieces' data is published by the join of the loop's helpers.
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= self.parts || self.len == 0 {
            return None;
        }
        if self.size != 0 {
            let start = i * self.size;
            return Some(start..(start + self.size).min(self.len));
        }
        let (base, longer) = (self.len / self.parts, self.len % self.parts);
        let start = i * base + i.min(longer);
        Some(start..start + base + usize::from(i < longer))
    }
}

/// Calls `f` on disjoint pieces covering `0..len` on the pool's threads:
/// even pieces, or pieces of `size` when it is not 0.
fn for_each_piece_on(worker: &Worker, len: usize, size: usize, f: &(dyn Fn(Range<usize>) + Sync)) {
    let threads = worker.pool().registry.max_threads().max(1);
    let pieces = if size == 0 {
        Pieces::new(len, threads)
    } else {
        Pieces::sized(len, size)
    };
    let failure = Mutex::new(None);
    let stop = AtomicBool::new(false);
    // The pieces' control block, under the caller's (task/control.rs).
    let group = Control::new(Ambient::current());
    let context = EnteredContext::current();
    let hooks = worker.pool().config.context.as_ref();
    let work = || {
        let _pieces = group.ambient().enter();
        context.run(hooks, || pieces_loop(&pieces, &stop, &group, &failure, f));
    };
    let helpers = (pieces.parts - 1).min(threads - 1);
    run_with_helpers(worker, helpers, &work);
    if let Some(payload) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        panic::resume_unwind(payload);
    }
}

/// One participant of a range loop: claims pieces until none is left or one
/// failed.
fn pieces_loop(
    pieces: &Pieces,
    stop: &AtomicBool,
    group: &Control,
    failure: &Mutex<Option<Box<dyn std::any::Any + Send>>>,
    f: &(dyn Fn(Range<usize>) + Sync),
) {
    while !stop.load(Ordering::Relaxed) {
        let Some(range) = pieces.claim() else { return };
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| f(range))) {
            stop.store(true, Ordering::Relaxed);
            group.request();
            lock(failure).get_or_insert(payload);
        }
    }
}

/// A mutable slice several threads write disjoint pieces of.
struct SharedSlice<T> {
    base: *mut T,
    len: usize,
}

// SAFETY: threads only touch disjoint ranges (`Pieces` hands each index out
// once) and `T: Send` lets the elements be reached from other threads.
unsafe impl<T: Send> Sync for SharedSlice<T> {}

impl<T> SharedSlice<T> {
    /// # Safety
    /// `range` is within `len` and no other live reference covers it.
    // Handing out `&mut` from `&self` is the point: the caller proves the
    // ranges are disjoint.
    #[allow(clippy::mut_from_ref)]
    unsafe fn piece(&self, range: Range<usize>) -> &mut [T] {
        debug_assert!(range.end <= self.len);
        // SAFETY: in bounds and exclusive, per the contract.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(range.start), range.len()) }
    }
}

impl Pool {
    /// Calls `f` with disjoint ranges that together cover `0..len` exactly
    /// once, on all the pool's threads: `4 × max_threads` ranges (fewer if
    /// `len` is smaller) whose lengths differ by at most one, handed out in
    /// order, so a thread that finishes early takes another.
    ///
    /// # Panics
    ///
    /// If `f` panics (after the pieces in progress finish), or if the pool is
    /// closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let pool = workcrew::Pool::new(2);
    /// let covered = AtomicUsize::new(0);
    /// pool.for_each_range(1000, |range| {
    ///     covered.fetch_add(range.len(), Ordering::Relaxed);
    /// });
    /// assert_eq!(covered.into_inner(), 1000);
    /// ```
    pub fn for_each_range<F>(&self, len: usize, f: F)
    where
        F: Fn(Range<usize>) + Sync,
    {
        self.range_loop("for_each_range", len, 0, &f);
    }

    /// Like [`for_each_range`](Self::for_each_range), with ranges of
    /// `piece` indices (the last one shorter): the caller chooses the grain,
    /// e.g. cache-sized blocks, where the even cut would be too coarse or
    /// too fine. Pieces are handed out in order, one per claim.
    ///
    /// # Panics
    ///
    /// If `piece` is 0, if `f` panics (after the pieces in progress finish),
    /// or if the pool is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// let pool = workcrew::Pool::new(2);
    /// let lengths = Mutex::new(Vec::new());
    /// pool.for_each_range_sized(1000, 300, |range| lengths.lock().unwrap().push(range.len()));
    /// let mut lengths = lengths.into_inner().unwrap();
    /// lengths.sort();
    /// assert_eq!(lengths, [100, 300, 300, 300]);
    /// ```
    pub fn for_each_range_sized<F>(&self, len: usize, piece: usize, f: F)
    where
        F: Fn(Range<usize>) + Sync,
    {
        assert!(
            piece != 0,
            "Pool::for_each_range_sized: the piece size must not be zero"
        );
        self.range_loop("for_each_range_sized", len, piece, &f);
    }

    fn range_loop(&self, what: &str, len: usize, piece: usize, f: &(dyn Fn(Range<usize>) + Sync)) {
        if len == 0 {
            if self.shared.refuses_submissions() {
                crate::scheduler::shared::panic_closed(&format!("Pool::{what}"));
            }
            return;
        }
        self.on_worker(what, |worker| for_each_piece_on(worker, len, piece, f));
    }

    /// Calls `f(offset, chunk)` with disjoint chunks that together cover
    /// `data` exactly once, on all the pool's threads; `offset` is the index
    /// of the chunk's first element in `data`.
    ///
    /// # Panics
    ///
    /// If `f` panics (after the chunks in progress finish), or if the pool is
    /// closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let mut squares = vec![0u64; 1000];
    /// pool.for_each_chunk_mut(&mut squares, |offset, chunk| {
    ///     for (i, slot) in chunk.iter_mut().enumerate() {
    ///         let x = (offset + i) as u64;
    ///         *slot = x * x;
    ///     }
    /// });
    /// assert_eq!(squares[999], 998_001);
    /// ```
    pub fn for_each_chunk_mut<T, F>(&self, data: &mut [T], f: F)
    where
        T: Send,
        F: Fn(usize, &mut [T]) + Sync,
    {
        self.chunk_loop("for_each_chunk_mut", data, 0, &f);
    }

    /// Like [`for_each_chunk_mut`](Self::for_each_chunk_mut), with chunks of
    /// `piece` elements (the last one shorter), as rayon's
    /// `par_chunks_mut(piece)`: e.g. a sieve's cache-sized blocks.
    ///
    /// # Panics
    ///
    /// If `piece` is 0, if `f` panics (after the chunks in progress finish),
    /// or if the pool is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let mut blocks = vec![0usize; 10];
    /// pool.for_each_chunk_mut_sized(&mut blocks, 4, |offset, chunk| chunk.fill(offset / 4));
    /// assert_eq!(blocks, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
    /// ```
    pub fn for_each_chunk_mut_sized<T, F>(&self, data: &mut [T], piece: usize, f: F)
    where
        T: Send,
        F: Fn(usize, &mut [T]) + Sync,
    {
        assert!(
            piece != 0,
            "Pool::for_each_chunk_mut_sized: the piece size must not be zero"
        );
        self.chunk_loop("for_each_chunk_mut_sized", data, piece, &f);
    }

    fn chunk_loop<T: Send>(
        &self,
        what: &str,
        data: &mut [T],
        piece: usize,
        f: &(dyn Fn(usize, &mut [T]) + Sync),
    ) {
        if data.is_empty() {
            if self.shared.refuses_submissions() {
                crate::scheduler::shared::panic_closed(&format!("Pool::{what}"));
            }
            return;
        }
        let shared = SharedSlice {
            base: data.as_mut_ptr(),
            len: data.len(),
        };
        let each = |range: Range<usize>| {
            let offset = range.start;
            // SAFETY: `for_each_piece_on` hands out disjoint ranges within
            // `0..len`, and `data` stays mutably borrowed for this whole call.
            f(offset, unsafe { shared.piece(range) })
        };
        self.on_worker(what, |worker| {
            for_each_piece_on(worker, shared.len, piece, &each)
        });
    }
}
