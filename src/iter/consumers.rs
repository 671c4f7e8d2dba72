//! The consumers behind the terminal methods: each folds a piece's items
//! sequentially and puts the runs together in base-index order
//! (plumbing.rs), so an associative operation gives the sequential answer.
//!
//! Short-circuits: `FindAny` (and `any`/`all` over it) answers `Flow::Stop`
//! at its first hit and polls the driver's `Halt` between items, so other
//! pieces give up within an item; `FindFirst` keeps the lowest piece that
//! hit and stops only the pieces after it (every earlier piece was claimed
//! already, and runs to its end or to its own hit).

use std::marker::PhantomData;
use std::ops::Range;

use crate::iter::plumbing::{cheap, Consumer, Flow, Halt};
use crate::sync::{AtomicUsize, Ordering};

/// `for_each`.
pub(crate) struct ForEach<F>(pub(crate) F);

impl<T, F: Fn(T) + Sync> Consumer<T> for ForEach<F> {
    type Run = ();
    type Output = ();
    fn start(&self) {}
    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, _: &mut (), _: Range<usize>, items: I, _: &Halt) -> Flow {
        items.for_each(&self.0);
        Flow::Continue
    }
    fn finish<R: Iterator<Item = (Range<usize>, ())>>(self, _: R) {}
}

/// `reduce_with` and what is built on it (`min`, `max`, ...): `None` for no
/// items.
pub(crate) struct ReduceWith<F>(pub(crate) F);

impl<T: Send, F: Fn(T, T) -> T + Sync> Consumer<T> for ReduceWith<F> {
    type Run = Option<T>;
    type Output = Option<T>;
    fn start(&self) -> Option<T> {
        None
    }
    #[inline]
    fn fold<I: Iterator<Item = T>>(
        &self,
        run: &mut Option<T>,
        _: Range<usize>,
        items: I,
        _: &Halt,
    ) -> Flow {
        let acc = match run.take() {
            Some(acc) => Some(items.fold(acc, &self.0)),
            None => items.reduce(&self.0),
        };
        *run = acc;
        Flow::Continue
    }
    fn finish<R: Iterator<Item = (Range<usize>, Option<T>)>>(self, runs: R) -> Option<T> {
        runs.into_iter().filter_map(|(_, run)| run).reduce(&self.0)
    }
}

/// `reduce(identity, op)`.
pub(crate) struct Reduce<ID, F> {
    pub(crate) identity: ID,
    pub(crate) op: F,
}

impl<T: Send, ID: Fn() -> T + Sync, F: Fn(T, T) -> T + Sync> Consumer<T> for Reduce<ID, F> {
    type Run = Option<T>;
    type Output = T;
    fn start(&self) -> Option<T> {
        None
    }
    #[inline]
    fn fold<I: Iterator<Item = T>>(
        &self,
        run: &mut Option<T>,
        _: Range<usize>,
        items: I,
        _: &Halt,
    ) -> Flow {
        let acc = run.take().unwrap_or_else(&self.identity);
        *run = Some(items.fold(acc, &self.op));
        Flow::Continue
    }
    fn finish<R: Iterator<Item = (Range<usize>, Option<T>)>>(self, runs: R) -> T {
        runs.into_iter()
            .filter_map(|(_, run)| run)
            .fold((self.identity)(), &self.op)
    }
}

/// `sum` and `product`: each piece folded with the std trait, the pieces'
/// results folded again in order.
macro_rules! arithmetic {
    ($(#[$attr:meta])* $name:ident: $trait:ident, $method:ident) => {
        $(#[$attr])*
        pub(crate) struct $name<S>(pub(crate) PhantomData<fn() -> S>);

        impl<T, S: Send + std::iter::$trait<T> + std::iter::$trait<S>> Consumer<T> for $name<S> {
            type Run = Option<S>;
            type Output = S;
            const CHEAP: bool = cheap::<T>() && cheap::<S>();
            fn start(&self) -> Option<S> {
                None
            }
            #[inline]
            fn fold<I: Iterator<Item = T>>(
                &self,
                run: &mut Option<S>,
                _: Range<usize>,
                items: I,
                _: &Halt,
            ) -> Flow {
                let piece: S = items.$method();
                *run = Some(match run.take() {
                    Some(acc) => [acc, piece].into_iter().$method(),
                    None => piece,
                });
                Flow::Continue
            }
            fn finish<R: Iterator<Item = (Range<usize>, Option<S>)>>(self, runs: R) -> S {
                runs.into_iter().filter_map(|(_, run)| run).$method()
            }
        }
    };
}

arithmetic! {
    /// `sum`.
    Sum: Sum, sum
}

arithmetic! {
    /// `product`.
    Product: Product, product
}

/// `count`.
pub(crate) struct Count;

impl<T> Consumer<T> for Count {
    type Run = usize;
    type Output = usize;
    const CHEAP: bool = true;
    fn start(&self) -> usize {
        0
    }
    #[inline]
    fn fold<I: Iterator<Item = T>>(
        &self,
        run: &mut usize,
        _: Range<usize>,
        items: I,
        _: &Halt,
    ) -> Flow {
        *run += items.count();
        Flow::Continue
    }
    fn finish<R: Iterator<Item = (Range<usize>, usize)>>(self, runs: R) -> usize {
        runs.into_iter().map(|(_, run)| run).sum()
    }
}

/// `find_any` (and `any`, `all`): any item that matches.
pub(crate) struct FindAny<P>(pub(crate) P);

impl<T: Send, P: Fn(&T) -> bool + Sync> Consumer<T> for FindAny<P> {
    type Run = Option<T>;
    type Output = Option<T>;
    fn start(&self) -> Option<T> {
        None
    }
    #[inline]
    fn fold<I: Iterator<Item = T>>(
        &self,
        run: &mut Option<T>,
        _: Range<usize>,
        items: I,
        halt: &Halt,
    ) -> Flow {
        for item in items {
            if (self.0)(&item) {
                *run = Some(item);
                return Flow::Stop;
            }
            if halt.is_raised() {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }
    fn finish<R: Iterator<Item = (Range<usize>, Option<T>)>>(self, runs: R) -> Option<T> {
        runs.into_iter().find_map(|(_, run)| run)
    }
}

/// `find_first`: the first item in order that matches.
pub(crate) struct FindFirst<P> {
    pub(crate) predicate: P,
    /// The lowest start of a piece that hit (`usize::MAX`: none yet).
    pub(crate) best: AtomicUsize,
}

impl<T: Send, P: Fn(&T) -> bool + Sync> Consumer<T> for FindFirst<P> {
    type Run = Option<T>;
    type Output = Option<T>;
    fn start(&self) -> Option<T> {
        None
    }
    #[inline]
    fn fold<I: Iterator<Item = T>>(
        &self,
        run: &mut Option<T>,
        range: Range<usize>,
        items: I,
        _: &Halt,
    ) -> Flow {
        if run.is_some() {
            // This run already holds an earlier hit.
            return Flow::Stop;
        }
        for item in items {
            // Relaxed: a hint; a stale value only means more work.
            if self.best.load(Ordering::Relaxed) < range.start {
                return Flow::Continue;
            }
            if (self.predicate)(&item) {
                *run = Some(item);
                self.best.fetch_min(range.start, Ordering::Relaxed);
                // Every piece before this one has been claimed already.
                return Flow::Stop;
            }
        }
        Flow::Continue
    }
    fn finish<R: Iterator<Item = (Range<usize>, Option<T>)>>(self, runs: R) -> Option<T> {
        runs.into_iter().find_map(|(_, run)| run)
    }
}

/// Collects the runs into vectors, put together in order.
pub(crate) struct CollectRuns;

impl<T: Send> Consumer<T> for CollectRuns {
    type Run = Vec<T>;
    type Output = Vec<T>;
    // Moves items, nothing more.
    const CHEAP: bool = true;
    fn start(&self) -> Vec<T> {
        Vec::new()
    }
    #[inline]
    fn fold<I: Iterator<Item = T>>(
        &self,
        run: &mut Vec<T>,
        _: Range<usize>,
        items: I,
        _: &Halt,
    ) -> Flow {
        run.extend(items);
        Flow::Continue
    }
    fn finish<R: Iterator<Item = (Range<usize>, Vec<T>)>>(self, runs: R) -> Vec<T> {
        let mut runs = runs.into_iter().map(|(_, run)| run);
        let mut all = runs.next().unwrap_or_default();
        for run in runs {
            all.extend(run);
        }
        all
    }
}

/// Writes an exact producer's items straight into a vector's spare
/// capacity, at their base index past the items it already holds (so
/// `collect_into_vec` and `par_extend` reuse the buffer, and its pages).
///
/// A run is a [`Written`] guard over the slots it filled, so the items of
/// a call that fails (a panic in a later item, here or in another piece)
/// are dropped exactly once, as rayon's collect does, and the vector keeps
/// only the items it had.
pub(crate) struct CollectInPlace<'v, T> {
    vec: &'v mut Vec<T>,
    /// Where base index 0 goes: just past `vec`'s items.
    base: *mut T,
    len: usize,
}

// SAFETY: threads write disjoint indices (each is handed out once), and
// `T: Send` lets the values be made on other threads.
// The vector itself is only touched by `finish`, after the pieces.
unsafe impl<T: Send> Sync for CollectInPlace<'_, T> {}

impl<'v, T> CollectInPlace<'v, T> {
    /// Appends `len` items to `vec`; if the call fails, `vec` keeps the
    /// items it had.
    pub(crate) fn appending(vec: &'v mut Vec<T>, len: usize) -> Self {
        vec.reserve(len);
        // SAFETY: `reserve` made room for `len` more items past `vec.len()`.
        let base = unsafe { vec.as_mut_ptr().add(vec.len()) };
        CollectInPlace { vec, base, len }
    }
}

/// Slots past a vector's length that hold items: `len` of them from
/// `first`. Dropping it drops those items (a failed call); `finish` forgets
/// it once the vector owns them.
pub(crate) struct Written<T> {
    first: *mut T,
    len: usize,
}

// SAFETY: it owns the items in its slots (no one else reads or drops them
// until `finish` hands them to the vector), and `T: Send` lets them be
// dropped on another thread.
unsafe impl<T: Send> Send for Written<T> {}

impl<T> Drop for Written<T> {
    fn drop(&mut self) {
        // SAFETY: the `len` slots from `first` were written and nothing
        // else owns them (the vector's length stops before them), so this
        // is their only drop.
        unsafe { std::ptr::slice_from_raw_parts_mut(self.first, self.len).drop_in_place() };
    }
}

impl<T: Send> Consumer<T> for CollectInPlace<'_, T> {
    type Run = Written<T>;
    type Output = ();
    // Moves items, nothing more.
    const CHEAP: bool = true;
    fn start(&self) -> Written<T> {
        Written {
            first: self.base,
            len: 0,
        }
    }
    #[inline]
    fn fold<I: Iterator<Item = T>>(
        &self,
        run: &mut Written<T>,
        range: Range<usize>,
        items: I,
        _: &Halt,
    ) -> Flow {
        assert!(range.end <= self.len, "a piece beyond the output");
        let slots = range.len();
        // SAFETY: `range` lies below the capacity `len` (asserted).
        let first = unsafe { self.base.add(range.start) };
        // This piece's items until they join the run: dropped if an item
        // panics. Internal iteration (`fold`) keeps the count in a register.
        let mut piece = Written { first, len: 0 };
        items.for_each(|item| {
            assert!(
                piece.len < slots,
                "an exact producer yielded too many items"
            );
            // SAFETY: `piece.len` is below this piece's length (asserted),
            // and only this piece writes these slots (each index is handed
            // out once); they hold no value yet.
            unsafe { first.add(piece.len).write(item) };
            piece.len += 1;
        });
        // Fewer items would leave slots that `finish` counts as written.
        assert_eq!(piece.len, slots, "an exact producer yielded too few items");
        if run.len == 0 {
            run.first = first;
        }
        // A run's pieces are claimed back to back (plumbing.rs).
        assert_eq!(
            run.first.wrapping_add(run.len),
            first,
            "a run's pieces must be contiguous"
        );
        std::mem::forget(piece);
        run.len += slots;
        Flow::Continue
    }
    fn finish<R: Iterator<Item = (Range<usize>, Written<T>)>>(self, runs: R) {
        let runs: Vec<Written<T>> = runs.map(|(_, run)| run).collect();
        let written: usize = runs.iter().map(|run| run.len).sum();
        assert_eq!(written, self.len, "not every index was written");
        // The vector owns the items from here on.
        runs.into_iter().for_each(std::mem::forget);
        // SAFETY: the runs cover `0..len` (their lengths add up and they are
        // disjoint), every index of a finished run was written once, just
        // past the vector's own items.
        unsafe { self.vec.set_len(self.vec.len() + self.len) };
    }
}
