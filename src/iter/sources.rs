//! Where items come from: slices (shared and mutable), vectors by value,
//! integer ranges, and any `Iterator` (`par_bridge`). Each source is both
//! the parallel iterator and its own producer (plumbing.rs).
//!
//! Invariants: a slice's base index is its element index; a piece of a
//! mutable slice is a `&mut` sub-slice, sound because the driver hands each
//! index out once; a vector moves each element out at most once (its piece)
//! and drops the rest itself: the elements at or past the highest piece end
//! (the claimed indices are a prefix, drive.rs), and a piece drops what it
//! did not yield.

use std::marker::PhantomData;
use std::ops::Range;

use crate::iter::plumbing::Producer;
use crate::iter::{IndexedParallelIterator, IntoParallelIterator, ParallelIterator};
use crate::sync::{lock, AtomicBool, AtomicUsize, Mutex, Ordering};

/// Implements `ParallelIterator` + `IndexedParallelIterator` for a source
/// that is its own producer.
macro_rules! own_producer {
    (impl[$($generics:tt)*] $ty:ty, item $item:ty, where $($bounds:tt)*) => {
        impl<$($generics)*> ParallelIterator for $ty where $($bounds)* {
            type Item = $item;
            type Producer = Self;
            fn into_producer(self) -> Self {
                self
            }
        }
        impl<$($generics)*> IndexedParallelIterator for $ty where $($bounds)* {
            fn len(&self) -> usize {
                Producer::len(self)
            }
        }
    };
}
pub(crate) use own_producer;

/// A parallel iterator over `&[T]` (`slice.par_iter()`).
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let it: workcrew::iter::Iter<_> = [1, 2, 3].par_iter();
/// assert_eq!(it.max(), Some(&3));
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    pub(crate) slice: &'a [T],
}

impl<T> Clone for Iter<'_, T> {
    fn clone(&self) -> Self {
        Iter { slice: self.slice }
    }
}

own_producer!(impl['a, T] Iter<'a, T>, item &'a T, where T: Sync + 'a);

impl<'a, T: Sync + 'a> Producer for Iter<'a, T> {
    type Item = &'a T;
    type Local = ();
    type Piece<'p>
        = std::slice::Iter<'a, T>
    where
        Self: 'p;
    const EXACT: bool = true;
    const CHEAP: bool = true;
    fn len(&self) -> usize {
        self.slice.len()
    }
    fn local(&self) {}
    unsafe fn piece<'p>(&'p self, _: &'p mut (), range: Range<usize>) -> Self::Piece<'p> {
        self.slice[range].iter()
    }
}

/// A parallel iterator over `&mut [T]` (`slice.par_iter_mut()`).
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let mut v = [1, 2, 3];
/// let it: workcrew::iter::IterMut<_> = v.par_iter_mut();
/// it.for_each(|x| *x *= 10);
/// assert_eq!(v, [10, 20, 30]);
/// ```
#[derive(Debug)]
pub struct IterMut<'a, T> {
    base: *mut T,
    len: usize,
    _slice: PhantomData<&'a mut [T]>,
}

impl<'a, T> IterMut<'a, T> {
    pub(crate) fn new(slice: &'a mut [T]) -> Self {
        IterMut {
            base: slice.as_mut_ptr(),
            len: slice.len(),
            _slice: PhantomData,
        }
    }
}

// SAFETY: it stands for the `&mut [T]` it was made from, which is `Send`
// when `T: Send`.
unsafe impl<T: Send> Send for IterMut<'_, T> {}
// SAFETY: shared, it only hands out disjoint `&mut` pieces (the driver
// passes each index once), which other threads may use when `T: Send`.
unsafe impl<T: Send> Sync for IterMut<'_, T> {}

own_producer!(impl['a, T] IterMut<'a, T>, item &'a mut T, where T: Send + 'a);

impl<'a, T: Send + 'a> Producer for IterMut<'a, T> {
    type Item = &'a mut T;
    type Local = ();
    type Piece<'p>
        = std::slice::IterMut<'a, T>
    where
        Self: 'p;
    const EXACT: bool = true;
    const CHEAP: bool = true;
    fn len(&self) -> usize {
        self.len
    }
    fn local(&self) {}
    unsafe fn piece<'p>(&'p self, _: &'p mut (), range: Range<usize>) -> Self::Piece<'p> {
        assert!(range.start <= range.end && range.end <= self.len);
        // SAFETY: 1. in bounds (asserted); 2. no other piece covers `range`
        // (the caller's contract) and the slice stays borrowed for `'a`.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(range.start), range.len()) }
            .iter_mut()
    }
}

/// A parallel iterator that moves the elements out of a `Vec<T>`
/// (`vec.into_par_iter()`). Elements it never yields (after a panic or a
/// short-circuit) are dropped with it.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let words = vec![String::from("a"), String::from("bb")];
/// let it: workcrew::iter::IntoIter<String> = words.into_par_iter();
/// assert_eq!(it.map(|w| w.len()).sum::<usize>(), 3);
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    /// The vector, with its length set to 0: the elements are ours to move.
    vec: Vec<T>,
    len: usize,
    /// Every index below this has been handed to a piece.
    claimed_to: AtomicUsize,
}

impl<T> IntoIter<T> {
    pub(crate) fn new(mut vec: Vec<T>) -> Self {
        let len = vec.len();
        // SAFETY: shrinking the length leaks nothing: `Drop` drops what no
        // piece took.
        unsafe { vec.set_len(0) };
        IntoIter {
            vec,
            len,
            claimed_to: AtomicUsize::new(0),
        }
    }
}

// SAFETY: the elements move to whichever thread claims them; `T: Send`.
unsafe impl<T: Send> Sync for IntoIter<T> {}

own_producer!(impl[T] IntoIter<T>, item T, where T: Send);

impl<T: Send> Producer for IntoIter<T> {
    type Item = T;
    type Local = ();
    type Piece<'p>
        = Drain<'p, T>
    where
        Self: 'p;
    const EXACT: bool = true;
    const CHEAP: bool = true;
    fn len(&self) -> usize {
        self.len
    }
    fn local(&self) {}
    unsafe fn piece<'p>(&'p self, _: &'p mut (), range: Range<usize>) -> Self::Piece<'p> {
        assert!(range.start <= range.end && range.end <= self.len);
        // Relaxed: read only in `drop`, after the driver's join.
        self.claimed_to.fetch_max(range.end, Ordering::Relaxed);
        Drain {
            base: self.vec.as_ptr(),
            next: range.start,
            end: range.end,
            _owner: PhantomData,
        }
    }
}

impl<T> Drop for IntoIter<T> {
    fn drop(&mut self) {
        // `&mut self`: no piece is left, so a relaxed load sees the last claim
        // (a plain load, not `get_mut`, which loom's atomics lack).
        let from = self.claimed_to.load(Ordering::Relaxed).min(self.len);
        let base = self.vec.as_mut_ptr();
        // SAFETY: indices `from..len` were never handed to a piece (the
        // claimed ones are a prefix), so they still hold live elements that
        // only we own; the vector (length 0) frees the buffer after.
        unsafe {
            std::ptr::slice_from_raw_parts_mut(base.add(from), self.len - from).drop_in_place()
        };
    }
}

/// A piece of a vector's elements, moved out one by one: the sequential
/// iterator behind [`IntoIter`]'s pieces, named only by the plumbing.
#[doc(hidden)]
pub struct Drain<'p, T> {
    base: *const T,
    next: usize,
    end: usize,
    _owner: PhantomData<&'p IntoIter<T>>,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.next == self.end {
            return None;
        }
        // SAFETY: `next` is in this piece, which alone owns it, and is read
        // once (the index advances).
        let item = unsafe { self.base.add(self.next).read() };
        self.next += 1;
        Some(item)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }
}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        let left = self.end - self.next;
        // SAFETY: the elements this piece owns and did not yield.
        unsafe {
            std::ptr::slice_from_raw_parts_mut(self.base.add(self.next).cast_mut(), left)
                .drop_in_place()
        };
    }
}

/// A parallel iterator over an integer range (`(a..b).into_par_iter()`).
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let r: workcrew::iter::RangeIter<u64> = (1..101u64).into_par_iter();
/// assert_eq!(r.sum::<u64>(), 5_050);
/// ```
#[derive(Clone, Debug)]
pub struct RangeIter<T> {
    start: T,
    len: usize,
}

/// A parallel iterator over an inclusive integer range
/// (`(a..=b).into_par_iter()`), up to the type's maximum included.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let r: workcrew::iter::RangeInclusiveIter<u8> = (250..=255u8).into_par_iter();
/// assert_eq!(r.count(), 6);
/// ```
#[derive(Clone, Debug)]
pub struct RangeInclusiveIter<T> {
    start: T,
    len: usize,
}

/// The integer types parallel ranges are offered for (`u8` to `u128`,
/// `usize`, `i8` to `i128`, `isize`). One generic impl per range kind, as
/// rayon's, so `(0..n).into_par_iter()` infers the integer type.
#[doc(hidden)]
pub trait RangeInteger: Copy + Send + Sync + 'static {
    /// `start..end` as a sequential iterator.
    type Steps: Iterator<Item = Self>;
    /// `start..=end` as a sequential iterator.
    type StepsInclusive: Iterator<Item = Self>;
    /// How many values lie in `start..end` (0 if `end <= start`).
    fn distance(start: Self, end: Self) -> usize;
    /// `start + offset`, wrapping (the offset fits the type's width).
    fn offset(start: Self, offset: usize) -> Self;
    /// `start..end`.
    fn steps(start: Self, end: Self) -> Self::Steps;
    /// `start..=end`.
    fn steps_inclusive(start: Self, end: Self) -> Self::StepsInclusive;
}

macro_rules! range_integers {
    ($distance:ident: $($t:ty),*) => {$(
        impl RangeInteger for $t {
            type Steps = Range<$t>;
            type StepsInclusive = std::ops::RangeInclusive<$t>;
            fn distance(start: $t, end: $t) -> usize {
                usize::try_from($distance!(start, end))
                    .expect("workcrew: a parallel range longer than usize::MAX")
            }
            fn offset(start: $t, offset: usize) -> $t {
                // Two's complement: wrapping adds an in-range offset right
                // for signed types too.
                start.wrapping_add(offset as $t)
            }
            fn steps(start: $t, end: $t) -> Range<$t> {
                start..end
            }
            fn steps_inclusive(start: $t, end: $t) -> std::ops::RangeInclusive<$t> {
                start..=end
            }
        }
    )*};
}

/// `end - start` (0 if negative) for types whose differences fit `i128`.
macro_rules! narrow_distance {
    ($start:expr, $end:expr) => {
        ($end as i128 - $start as i128).max(0)
    };
}

/// The same for the 128-bit types: the wrapped difference, read unsigned,
/// is the distance for signed types too (two's complement).
macro_rules! wide_distance {
    ($start:expr, $end:expr) => {
        if $end <= $start {
            0
        } else {
            $end.wrapping_sub($start) as u128
        }
    };
}

range_integers!(narrow_distance: u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);
range_integers!(wide_distance: u128, i128);

impl<T: RangeInteger> IntoParallelIterator for Range<T> {
    type Iter = RangeIter<T>;
    type Item = T;
    fn into_par_iter(self) -> RangeIter<T> {
        RangeIter {
            start: self.start,
            len: T::distance(self.start, self.end),
        }
    }
}

impl<T: RangeInteger + PartialOrd> IntoParallelIterator for std::ops::RangeInclusive<T> {
    type Iter = RangeInclusiveIter<T>;
    type Item = T;
    fn into_par_iter(self) -> RangeInclusiveIter<T> {
        let (start, end) = (*self.start(), *self.end());
        let len = if self.is_empty() {
            0
        } else {
            T::distance(start, end)
                .checked_add(1)
                .expect("workcrew: a parallel range longer than usize::MAX")
        };
        RangeInclusiveIter { start, len }
    }
}

own_producer!(impl[T] RangeIter<T>, item T, where T: RangeInteger);
own_producer!(impl[T] RangeInclusiveIter<T>, item T, where T: RangeInteger);

impl<T: RangeInteger> Producer for RangeIter<T> {
    type Item = T;
    type Local = ();
    type Piece<'p> = T::Steps;
    const EXACT: bool = true;
    const CHEAP: bool = true;
    fn len(&self) -> usize {
        self.len
    }
    fn local(&self) {}
    unsafe fn piece<'p>(&'p self, _: &'p mut (), range: Range<usize>) -> T::Steps {
        T::steps(
            T::offset(self.start, range.start),
            T::offset(self.start, range.end),
        )
    }
}

impl<T: RangeInteger> Producer for RangeInclusiveIter<T> {
    type Item = T;
    type Local = ();
    type Piece<'p> = T::StepsInclusive;
    const EXACT: bool = true;
    const CHEAP: bool = true;
    fn len(&self) -> usize {
        self.len
    }
    fn local(&self) {}
    unsafe fn piece<'p>(&'p self, _: &'p mut (), range: Range<usize>) -> T::StepsInclusive {
        // Pieces are never empty, so `end - 1` is the last index (and the
        // last value never overflows, unlike `end` of an exclusive range).
        T::steps_inclusive(
            T::offset(self.start, range.start),
            T::offset(self.start, range.end - 1),
        )
    }
}

/// A parallel iterator over the items of a sequential iterator, pulled
/// under a lock as the pieces need them (`iter.par_bridge()`). Not indexed:
/// the items' order is not kept.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let lines = "3\n1\n2".lines();
/// let b: workcrew::iter::IterBridge<_> = lines.par_bridge();
/// let mut numbers: Vec<u32> = b.map(|l| l.parse::<u32>().unwrap()).collect();
/// numbers.sort();
/// assert_eq!(numbers, [1, 2, 3]);
/// ```
pub struct IterBridge<I> {
    /// `None` once the source returned `None`: it is never asked again (a
    /// source need not be fused; one that blocks or restarts after its end
    /// would hang or repeat items).
    source: Mutex<Option<I>>,
    drained: AtomicBool,
}

impl<I> std::fmt::Debug for IterBridge<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IterBridge").finish_non_exhaustive()
    }
}

impl<I: Iterator + Send> IterBridge<I>
where
    I::Item: Send,
{
    pub(crate) fn new(source: I) -> Self {
        IterBridge {
            source: Mutex::new(Some(source)),
            drained: AtomicBool::new(false),
        }
    }
}

impl<I: Iterator + Send> ParallelIterator for IterBridge<I>
where
    I::Item: Send,
{
    type Item = I::Item;
    type Producer = Self;
    fn into_producer(self) -> Self {
        self
    }
}

impl<I: Iterator + Send> Producer for IterBridge<I> {
    type Item = I::Item;
    type Local = ();
    type Piece<'p>
        = BridgePiece<'p, I>
    where
        Self: 'p;
    const EXACT: bool = false;
    fn len(&self) -> usize {
        // Unbounded: the hand-out ends when the source runs out. Half of
        // `usize::MAX`, so the cursor never overflows.
        usize::MAX / 2
    }
    fn local(&self) {}
    unsafe fn piece<'p>(&'p self, _: &'p mut (), range: Range<usize>) -> Self::Piece<'p> {
        BridgePiece {
            bridge: self,
            left: range.len(),
            pulled: std::collections::VecDeque::new(),
        }
    }
    fn is_drained(&self) -> bool {
        self.drained.load(Ordering::Relaxed)
    }
}

/// A piece of [`IterBridge`]: up to `left` items of the shared source,
/// pulled when the piece asks for them, never ahead. A source whose next
/// item waits for the previous one to be processed (a request and its
/// reply over channels) would deadlock a piece that pulled a batch first.
/// Only what the source's `size_hint` promises is there (its lower bound:
/// a vector's or a range's items) is pulled several at a time, under one
/// lock.
#[doc(hidden)]
pub struct BridgePiece<'p, I: Iterator> {
    bridge: &'p IterBridge<I>,
    left: usize,
    pulled: std::collections::VecDeque<I::Item>,
}

impl<I: Iterator> Iterator for BridgePiece<'_, I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        if let Some(item) = self.pulled.pop_front() {
            return Some(item);
        }
        if self.left == 0 {
            return None;
        }
        let mut guard = lock(&self.bridge.source);
        let Some(item) = guard.as_mut().and_then(Iterator::next) else {
            // Fused here: taken out at its end, so no later piece calls it
            // again, and dropped after the lock is released (a panicking
            // destructor then unwinds from this piece like a panic in
            // `next`).
            let ended = guard.take();
            drop(guard);
            self.left = 0;
            // Relaxed: a hint to stop claiming; a late claim finds the
            // source gone anyway.
            self.bridge.drained.store(true, Ordering::Relaxed);
            drop(ended);
            return None;
        };
        let source = guard.as_mut().expect("it just gave an item");
        self.left -= 1;
        // At most 1,024 at a time: the piece may be asked to stop early.
        let promised = source.size_hint().0.min(self.left).min(1024);
        self.pulled.extend(source.by_ref().take(promised));
        self.left -= self.pulled.len();
        Some(item)
    }
}
