//! Slice sources beyond elements: [`ParallelSlice`] (`par_chunks`,
//! `par_chunks_exact`, `par_windows`) and [`ParallelSliceMut`]
//! (`par_chunks_mut`, `par_chunks_exact_mut`, and the sorts of `sort.rs`).
//!
//! Invariant: the base index of a chunk or a window is its number, so
//! every one of these is indexed; chunk `i` of size `n` covers elements
//! `i*n .. min((i+1)*n, len)`, and a piece of chunks `a..b` is the
//! sub-slice those chunks cover, chunked again by the standard library. A
//! mutable piece is sound because the driver hands each chunk out once.

use std::marker::PhantomData;
use std::ops::Range;

use crate::iter::plumbing::Producer;
use crate::iter::sources::own_producer;
use crate::iter::{IndexedParallelIterator, ParallelIterator};

/// Parallel views of a shared slice, as rayon's `ParallelSlice`.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let samples = [1.0, 3.0, 2.0, 4.0];
/// let means: Vec<f64> = samples.par_chunks(2).map(|c| c.iter().sum::<f64>() / 2.0).collect();
/// assert_eq!(means, [2.0, 3.0]);
/// ```
pub trait ParallelSlice<T: Sync> {
    /// The slice itself.
    fn as_parallel_slice(&self) -> &[T];

    /// Chunks of `chunk_size` elements (the last may be shorter).
    ///
    /// # Panics
    ///
    /// If `chunk_size` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let sums: Vec<i32> = [1, 2, 3, 4, 5].par_chunks(2).map(|c| c.iter().sum()).collect();
    /// assert_eq!(sums, [3, 7, 5]);
    /// ```
    fn par_chunks(&self, chunk_size: usize) -> Chunks<'_, T> {
        assert!(chunk_size != 0, "chunk_size must not be zero");
        Chunks {
            slice: self.as_parallel_slice(),
            size: chunk_size,
        }
    }

    /// Chunks of exactly `chunk_size` elements; the rest is
    /// [`ChunksExact::remainder`].
    ///
    /// # Panics
    ///
    /// If `chunk_size` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let chunks = [1, 2, 3, 4, 5].par_chunks_exact(2);
    /// assert_eq!(chunks.remainder(), &[5]);
    /// assert_eq!(chunks.count(), 2);
    /// ```
    fn par_chunks_exact(&self, chunk_size: usize) -> ChunksExact<'_, T> {
        assert!(chunk_size != 0, "chunk_size must not be zero");
        ChunksExact {
            slice: self.as_parallel_slice(),
            size: chunk_size,
        }
    }

    /// Overlapping windows of `window_size` elements.
    ///
    /// # Panics
    ///
    /// If `window_size` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let rising = [1, 2, 5, 3].par_windows(2).filter(|w| w[0] < w[1]).count();
    /// assert_eq!(rising, 2);
    /// ```
    fn par_windows(&self, window_size: usize) -> Windows<'_, T> {
        assert!(window_size != 0, "window_size must not be zero");
        Windows {
            slice: self.as_parallel_slice(),
            size: window_size,
        }
    }
}

impl<T: Sync> ParallelSlice<T> for [T] {
    fn as_parallel_slice(&self) -> &[T] {
        self
    }
}

/// Parallel views of a mutable slice, as rayon's `ParallelSliceMut`:
/// mutable chunks and the parallel sorts.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let mut v = vec![4, 2, 3, 1];
/// v.par_chunks_mut(2).for_each(|c| c.reverse());
/// v.par_sort_unstable();
/// assert_eq!(v, [1, 2, 3, 4]);
/// ```
pub trait ParallelSliceMut<T: Send> {
    /// The slice itself.
    fn as_parallel_slice_mut(&mut self) -> &mut [T];

    /// Mutable chunks of `chunk_size` elements (the last may be shorter).
    ///
    /// # Panics
    ///
    /// If `chunk_size` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v = vec![0u32; 5];
    /// v.par_chunks_mut(2).enumerate().for_each(|(i, c)| c.fill(i as u32));
    /// assert_eq!(v, [0, 0, 1, 1, 2]);
    /// ```
    fn par_chunks_mut(&mut self, chunk_size: usize) -> ChunksMut<'_, T> {
        assert!(chunk_size != 0, "chunk_size must not be zero");
        ChunksMut::new(self.as_parallel_slice_mut(), chunk_size, false)
    }

    /// Mutable chunks of exactly `chunk_size` elements; the rest is left out.
    ///
    /// # Panics
    ///
    /// If `chunk_size` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v = vec![1u32; 5];
    /// v.par_chunks_exact_mut(2).for_each(|c| c[0] = 0);
    /// assert_eq!(v, [0, 1, 0, 1, 1]);
    /// ```
    fn par_chunks_exact_mut(&mut self, chunk_size: usize) -> ChunksMut<'_, T> {
        assert!(chunk_size != 0, "chunk_size must not be zero");
        ChunksMut::new(self.as_parallel_slice_mut(), chunk_size, true)
    }

    /// Sorts the slice in parallel, stably; see `sort.rs`'s functions.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v = vec![5, 1, 4, 2, 3];
    /// v.par_sort();
    /// assert_eq!(v, [1, 2, 3, 4, 5]);
    /// ```
    fn par_sort(&mut self)
    where
        T: Ord,
    {
        crate::iter::sort::stable(self.as_parallel_slice_mut(), &T::cmp);
    }

    /// Sorts the slice in parallel, stably, with a comparator.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v = vec![5, 1, 4];
    /// v.par_sort_by(|a, b| b.cmp(a));
    /// assert_eq!(v, [5, 4, 1]);
    /// ```
    fn par_sort_by<F>(&mut self, compare: F)
    where
        F: Fn(&T, &T) -> std::cmp::Ordering + Sync,
    {
        crate::iter::sort::stable(self.as_parallel_slice_mut(), &compare);
    }

    /// Sorts the slice in parallel, stably, by a key.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v = vec![(2, 'a'), (1, 'b'), (2, 'c')];
    /// v.par_sort_by_key(|p| p.0);
    /// assert_eq!(v, [(1, 'b'), (2, 'a'), (2, 'c')]);
    /// ```
    fn par_sort_by_key<K, F>(&mut self, f: F)
    where
        K: Ord,
        F: Fn(&T) -> K + Sync,
    {
        crate::iter::sort::stable(self.as_parallel_slice_mut(), &|a: &T, b: &T| {
            f(a).cmp(&f(b))
        });
    }

    /// Sorts the slice in parallel, not keeping the order of equal elements.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v: Vec<u64> = (0..100_000).rev().collect();
    /// v.par_sort_unstable();
    /// assert!(v.windows(2).all(|w| w[0] <= w[1]));
    /// ```
    fn par_sort_unstable(&mut self)
    where
        T: Ord,
    {
        crate::iter::sort::unstable(self.as_parallel_slice_mut(), &T::cmp);
    }

    /// Sorts the slice in parallel with a comparator, unstably.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v = vec![1, 5, 3];
    /// v.par_sort_unstable_by(|a, b| b.cmp(a));
    /// assert_eq!(v, [5, 3, 1]);
    /// ```
    fn par_sort_unstable_by<F>(&mut self, compare: F)
    where
        F: Fn(&T, &T) -> std::cmp::Ordering + Sync,
    {
        crate::iter::sort::unstable(self.as_parallel_slice_mut(), &compare);
    }

    /// Sorts the slice in parallel by a key, unstably.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v = vec![-3i32, 1, -2];
    /// v.par_sort_unstable_by_key(|x| x.abs());
    /// assert_eq!(v, [1, -2, -3]);
    /// ```
    fn par_sort_unstable_by_key<K, F>(&mut self, f: F)
    where
        K: Ord,
        F: Fn(&T) -> K + Sync,
    {
        crate::iter::sort::unstable(self.as_parallel_slice_mut(), &|a: &T, b: &T| {
            f(a).cmp(&f(b))
        });
    }
}

impl<T: Send> ParallelSliceMut<T> for [T] {
    fn as_parallel_slice_mut(&mut self) -> &mut [T] {
        self
    }
}

/// The iterator of [`ParallelSlice::par_chunks`]: the slice in chunks of
/// `size` items (the last may be shorter).
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let c: workcrew::iter::Chunks<_> = [1, 2, 3, 4, 5].par_chunks(2);
/// assert_eq!(c.map(|c| c.len()).collect::<Vec<_>>(), [2, 2, 1]);
/// ```
#[derive(Clone, Debug)]
pub struct Chunks<'a, T> {
    slice: &'a [T],
    size: usize,
}

own_producer!(impl['a, T] Chunks<'a, T>, item &'a [T], where T: Sync + 'a);

impl<'a, T: Sync + 'a> Producer for Chunks<'a, T> {
    type Item = &'a [T];
    type Local = ();
    type Piece<'p>
        = std::slice::Chunks<'a, T>
    where
        Self: 'p;
    const EXACT: bool = true;
    const CHEAP: bool = true;
    fn len(&self) -> usize {
        self.slice.len().div_ceil(self.size)
    }
    fn local(&self) {}
    unsafe fn piece<'p>(&'p self, _: &'p mut (), range: Range<usize>) -> Self::Piece<'p> {
        let end = (range.end * self.size).min(self.slice.len());
        self.slice[range.start * self.size..end].chunks(self.size)
    }
}

/// The iterator of [`ParallelSlice::par_chunks_exact`]: only the full
/// chunks of `size` items.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let c: workcrew::iter::ChunksExact<_> = [1, 2, 3, 4, 5].par_chunks_exact(2);
/// assert_eq!(c.collect::<Vec<_>>(), [&[1, 2][..], &[3, 4]]);
/// ```
#[derive(Clone, Debug)]
pub struct ChunksExact<'a, T> {
    slice: &'a [T],
    size: usize,
}

impl<'a, T> ChunksExact<'a, T> {
    /// The elements after the last whole chunk.
    pub fn remainder(&self) -> &'a [T] {
        &self.slice[self.slice.len() / self.size * self.size..]
    }
}

own_producer!(impl['a, T] ChunksExact<'a, T>, item &'a [T], where T: Sync + 'a);

impl<'a, T: Sync + 'a> Producer for ChunksExact<'a, T> {
    type Item = &'a [T];
    type Local = ();
    type Piece<'p>
        = std::slice::ChunksExact<'a, T>
    where
        Self: 'p;
    const EXACT: bool = true;
    const CHEAP: bool = true;
    fn len(&self) -> usize {
        self.slice.len() / self.size
    }
    fn local(&self) {}
    unsafe fn piece<'p>(&'p self, _: &'p mut (), range: Range<usize>) -> Self::Piece<'p> {
        self.slice[range.start * self.size..range.end * self.size].chunks_exact(self.size)
    }
}

/// The iterator of [`ParallelSlice::par_windows`]: every run of `size`
/// neighbouring items.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let w: workcrew::iter::Windows<_> = [1, 2, 3, 4].par_windows(3);
/// assert_eq!(w.map(|w| w.iter().sum::<i32>()).collect::<Vec<_>>(), [6, 9]);
/// ```
#[derive(Clone, Debug)]
pub struct Windows<'a, T> {
    slice: &'a [T],
    size: usize,
}

own_producer!(impl['a, T] Windows<'a, T>, item &'a [T], where T: Sync + 'a);

impl<'a, T: Sync + 'a> Producer for Windows<'a, T> {
    type Item = &'a [T];
    type Local = ();
    type Piece<'p>
        = std::slice::Windows<'a, T>
    where
        Self: 'p;
    const EXACT: bool = true;
    const CHEAP: bool = true;
    fn len(&self) -> usize {
        (self.slice.len() + 1).saturating_sub(self.size)
    }
    fn local(&self) {}
    unsafe fn piece<'p>(&'p self, _: &'p mut (), range: Range<usize>) -> Self::Piece<'p> {
        self.slice[range.start..range.end + self.size - 1].windows(self.size)
    }
}

/// The iterator of [`ParallelSliceMut::par_chunks_mut`] and
/// [`ParallelSliceMut::par_chunks_exact_mut`]: disjoint mutable chunks.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let mut v = [0; 5];
/// let c: workcrew::iter::ChunksMut<_> = v.par_chunks_mut(2);
/// c.enumerate().for_each(|(i, chunk)| chunk.fill(i));
/// assert_eq!(v, [0, 0, 1, 1, 2]);
/// ```
#[derive(Debug)]
pub struct ChunksMut<'a, T> {
    base: *mut T,
    /// The elements the chunks cover (without an exact chunking's rest).
    covered: usize,
    size: usize,
    _slice: PhantomData<&'a mut [T]>,
}

impl<'a, T> ChunksMut<'a, T> {
    fn new(slice: &'a mut [T], size: usize, exact: bool) -> Self {
        let covered = if exact {
            slice.len() / size * size
        } else {
            slice.len()
        };
        ChunksMut {
            base: slice.as_mut_ptr(),
            covered,
            size,
            _slice: PhantomData,
        }
    }
}

// SAFETY: it stands for the `&mut [T]` it was made from.
unsafe impl<T: Send> Send for ChunksMut<'_, T> {}
// SAFETY: shared, it only hands out disjoint `&mut` pieces (each chunk is
// handed out once), usable from other threads when `T: Send`.
unsafe impl<T: Send> Sync for ChunksMut<'_, T> {}

own_producer!(impl['a, T] ChunksMut<'a, T>, item &'a mut [T], where T: Send + 'a);

impl<'a, T: Send + 'a> Producer for ChunksMut<'a, T> {
    type Item = &'a mut [T];
    type Local = ();
    type Piece<'p>
        = std::slice::ChunksMut<'a, T>
    where
        Self: 'p;
    const EXACT: bool = true;
    const CHEAP: bool = true;
    fn len(&self) -> usize {
        self.covered.div_ceil(self.size)
    }
    fn local(&self) {}
    unsafe fn piece<'p>(&'p self, _: &'p mut (), range: Range<usize>) -> Self::Piece<'p> {
        let start = range.start * self.size;
        let end = (range.end * self.size).min(self.covered);
        assert!(start <= end && end <= self.covered);
        // SAFETY: 1. in bounds (asserted); 2. these chunks are handed out to
        // this piece only (the caller's contract), for the borrow's `'a`.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(start), end - start) }
            .chunks_mut(self.size)
    }
}
