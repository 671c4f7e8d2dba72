//! The traits around [`ParallelIterator`] with rayon's names: the indexed
//! subtrait, the conversions into parallel iterators (`into_par_iter`,
//! `par_iter`, `par_iter_mut`, `par_bridge`) and the collection side
//! (`FromParallelIterator`, `ParallelExtend`; implemented in collect.rs).
//!
//! Invariant: a type is an [`IndexedParallelIterator`] only when its
//! producer is `EXACT` (one item per base index, in order), which
//! `enumerate`, `zip` and `position_*` rely on.

use crate::iter::adaptors::{Bounded, Enumerate, Zip, ZipEq};
use crate::iter::sources::{IntoIter, Iter, IterBridge, IterMut};
use crate::iter::ParallelIterator;

/// A parallel iterator that knows its length and each item's position, as
/// rayon's: slices, vectors, ranges, chunks and what `map`, `enumerate`,
/// `zip`, ... make of them.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let names = ["ada", "bob"];
/// let ages = [36, 41];
/// let found = names.par_iter().zip(ages.par_iter()).position_first(|(_, &age)| age > 40);
/// assert_eq!(found, Some(1));
/// ```
// rayon's trait has `len` and no `is_empty`; so does this one.
#[allow(clippy::len_without_is_empty)]
pub trait IndexedParallelIterator: ParallelIterator {
    /// How many items there are.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!([1, 2, 3].par_iter().map(|x| x * 2).len(), 3);
    /// ```
    fn len(&self) -> usize;

    /// Pairs each item with its position.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let v: Vec<(usize, char)> = ['a', 'b'].par_iter().copied().enumerate().collect();
    /// assert_eq!(v, [(0, 'a'), (1, 'b')]);
    /// ```
    fn enumerate(self) -> Enumerate<Self> {
        Enumerate { base: self }
    }

    /// Pairs the items of two indexed iterators, as long as the shorter.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut a = vec![1, 2, 3];
    /// let b = vec![10, 20, 30];
    /// a.par_iter_mut().zip(&b).for_each(|(x, y)| *x += y);
    /// assert_eq!(a, [11, 22, 33]);
    /// ```
    fn zip<Z>(self, zip_op: Z) -> Zip<Self, Z::Iter>
    where
        Z: IntoParallelIterator,
        Z::Iter: IndexedParallelIterator,
    {
        Zip {
            a: self,
            b: zip_op.into_par_iter(),
        }
    }

    /// Pairs the items of two indexed iterators of the same length (rayon's
    /// `zip_eq`).
    ///
    /// # Panics
    ///
    /// If the lengths differ.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let total: i32 = [1, 2].par_iter().zip_eq(&[10, 20]).map(|(a, b)| a * b).sum();
    /// assert_eq!(total, 50);
    /// ```
    fn zip_eq<Z>(self, zip_op: Z) -> ZipEq<Self, Z::Iter>
    where
        Z: IntoParallelIterator,
        Z::Iter: IndexedParallelIterator,
    {
        let b = zip_op.into_par_iter();
        let (left, right) = (self.len(), b.len());
        assert!(
            left == right,
            "workcrew: zip_eq of iterators of different lengths ({left} and {right})"
        );
        Zip { a: self, b }
    }

    /// The position of the first item for which `predicate` is true.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!([1, 5, 7, 5].par_iter().position_first(|&x| x == 5), Some(1));
    /// ```
    fn position_first<P>(self, predicate: P) -> Option<usize>
    where
        P: Fn(Self::Item) -> bool + Sync + Send,
    {
        self.map(predicate)
            .enumerate()
            .find_first(|(_, hit)| *hit)
            .map(|(i, _)| i)
    }

    /// The position of some item for which `predicate` is true.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let at = [1, 5, 7, 5].par_iter().position_any(|&x| x == 5);
    /// assert!(at == Some(1) || at == Some(3));
    /// ```
    fn position_any<P>(self, predicate: P) -> Option<usize>
    where
        P: Fn(Self::Item) -> bool + Sync + Send,
    {
        self.map(predicate)
            .enumerate()
            .find_any(|(_, hit)| *hit)
            .map(|(i, _)| i)
    }

    /// Pieces of at least `min` items (coarser work, fewer hand-outs).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let s: u64 = (0..10_000u64).into_par_iter().with_min_len(1024).sum();
    /// assert_eq!(s, 49_995_000);
    /// ```
    fn with_min_len(self, min: usize) -> Bounded<Self> {
        Bounded {
            base: self,
            min,
            max: usize::MAX,
        }
    }

    /// Pieces of at most `max` items (finer spreading of uneven work).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let n = (0..100).into_par_iter().with_max_len(1).count();
    /// assert_eq!(n, 100);
    /// ```
    fn with_max_len(self, max: usize) -> Bounded<Self> {
        Bounded {
            base: self,
            min: 1,
            max: max.max(1),
        }
    }

    /// Collects the items into `target`, replacing what it held; its buffer
    /// is reused when it is big enough (as rayon's: no new allocation, no
    /// fresh pages to fault in).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v = vec![9];
    /// (0..3).into_par_iter().collect_into_vec(&mut v);
    /// assert_eq!(v, [0, 1, 2]);
    /// ```
    fn collect_into_vec(self, target: &mut Vec<Self::Item>) {
        target.clear();
        crate::iter::collect::append_vec(target, self);
    }
}

/// Conversion into a parallel iterator (`into_par_iter`), as rayon's:
/// vectors and arrays (by value), slices, vectors and arrays by reference,
/// integer ranges, and every parallel iterator itself.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// fn total(items: impl IntoParallelIterator<Item = u64>) -> u64 {
///     items.into_par_iter().sum()
/// }
/// assert_eq!(total(vec![1, 2, 3]), 6);
/// assert_eq!(total(1..4u64), 6);
/// ```
pub trait IntoParallelIterator {
    /// The parallel iterator.
    type Iter: ParallelIterator<Item = Self::Item>;
    /// Its items.
    type Item: Send;

    /// The parallel iterator over `self`.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let doubled: Vec<i32> = vec![1, 2].into_par_iter().map(|x| x * 2).collect();
    /// assert_eq!(doubled, [2, 4]);
    /// ```
    fn into_par_iter(self) -> Self::Iter;
}

impl<T: ParallelIterator> IntoParallelIterator for T {
    type Iter = T;
    type Item = T::Item;
    fn into_par_iter(self) -> T {
        self
    }
}

impl<'a, T: Sync + 'a> IntoParallelIterator for &'a [T] {
    type Iter = Iter<'a, T>;
    type Item = &'a T;
    fn into_par_iter(self) -> Iter<'a, T> {
        Iter { slice: self }
    }
}

impl<'a, T: Sync + 'a> IntoParallelIterator for &'a Vec<T> {
    type Iter = Iter<'a, T>;
    type Item = &'a T;
    fn into_par_iter(self) -> Iter<'a, T> {
        Iter { slice: self }
    }
}

impl<'a, T: Sync + 'a, const N: usize> IntoParallelIterator for &'a [T; N] {
    type Iter = Iter<'a, T>;
    type Item = &'a T;
    fn into_par_iter(self) -> Iter<'a, T> {
        Iter { slice: self }
    }
}

impl<'a, T: Send + 'a> IntoParallelIterator for &'a mut [T] {
    type Iter = IterMut<'a, T>;
    type Item = &'a mut T;
    fn into_par_iter(self) -> IterMut<'a, T> {
        IterMut::new(self)
    }
}

impl<'a, T: Send + 'a> IntoParallelIterator for &'a mut Vec<T> {
    type Iter = IterMut<'a, T>;
    type Item = &'a mut T;
    fn into_par_iter(self) -> IterMut<'a, T> {
        IterMut::new(self)
    }
}

impl<'a, T: Send + 'a, const N: usize> IntoParallelIterator for &'a mut [T; N] {
    type Iter = IterMut<'a, T>;
    type Item = &'a mut T;
    fn into_par_iter(self) -> IterMut<'a, T> {
        IterMut::new(self)
    }
}

impl<T: Send> IntoParallelIterator for Vec<T> {
    type Iter = IntoIter<T>;
    type Item = T;
    fn into_par_iter(self) -> IntoIter<T> {
        IntoIter::new(self)
    }
}

/// An array by value, as rayon's: its elements moved out (through a
/// vector), not references to them.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let words: Vec<String> = [String::from("a"), String::from("b")].into_par_iter().collect();
/// assert_eq!(words, ["a", "b"]);
/// ```
impl<T: Send, const N: usize> IntoParallelIterator for [T; N] {
    type Iter = IntoIter<T>;
    type Item = T;
    fn into_par_iter(self) -> IntoIter<T> {
        IntoIter::new(Vec::from(self))
    }
}

/// `par_iter()` on anything whose reference is [`IntoParallelIterator`],
/// as rayon's.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let v = vec![3, 1, 2];
/// assert_eq!(v.par_iter().min(), Some(&1));
/// ```
pub trait IntoParallelRefIterator<'data> {
    /// The parallel iterator.
    type Iter: ParallelIterator<Item = Self::Item>;
    /// Its items (references).
    type Item: Send + 'data;

    /// A parallel iterator over references to the elements.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let v = vec![1, 2, 3];
    /// assert_eq!(v.par_iter().sum::<i32>(), 6);
    /// ```
    fn par_iter(&'data self) -> Self::Iter;
}

impl<'data, I: 'data + ?Sized> IntoParallelRefIterator<'data> for I
where
    &'data I: IntoParallelIterator,
{
    type Iter = <&'data I as IntoParallelIterator>::Iter;
    type Item = <&'data I as IntoParallelIterator>::Item;
    fn par_iter(&'data self) -> Self::Iter {
        self.into_par_iter()
    }
}

/// `par_iter_mut()` on anything whose mutable reference is
/// [`IntoParallelIterator`], as rayon's.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let mut v = vec![1, 2, 3];
/// v.par_iter_mut().for_each(|x| *x += 1);
/// assert_eq!(v, [2, 3, 4]);
/// ```
pub trait IntoParallelRefMutIterator<'data> {
    /// The parallel iterator.
    type Iter: ParallelIterator<Item = Self::Item>;
    /// Its items (mutable references).
    type Item: Send + 'data;

    /// A parallel iterator over mutable references to the elements.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v = vec![1, 2, 3];
    /// v.par_iter_mut().for_each(|x| *x *= 10);
    /// assert_eq!(v, [10, 20, 30]);
    /// ```
    fn par_iter_mut(&'data mut self) -> Self::Iter;
}

impl<'data, I: 'data + ?Sized> IntoParallelRefMutIterator<'data> for I
where
    &'data mut I: IntoParallelIterator,
{
    type Iter = <&'data mut I as IntoParallelIterator>::Iter;
    type Item = <&'data mut I as IntoParallelIterator>::Item;
    fn par_iter_mut(&'data mut self) -> Self::Iter {
        self.into_par_iter()
    }
}

/// `par_bridge()`: a parallel iterator over any sequential `Iterator`, as
/// rayon's. Items are pulled under a lock as they are needed (never ahead,
/// so a source may wait for earlier items to be processed); their order is not
/// kept.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let longest = "a bb ccc".split(' ').par_bridge().map(str::len).max();
/// assert_eq!(longest, Some(3));
/// ```
pub trait ParallelBridge: Sized {
    /// The parallel iterator over `self`'s items.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let lines = "a\nbb\nccc".lines();
    /// assert_eq!(lines.par_bridge().map(str::len).sum::<usize>(), 6);
    /// ```
    fn par_bridge(self) -> IterBridge<Self>;
}

impl<I: Iterator + Send> ParallelBridge for I
where
    I::Item: Send,
{
    fn par_bridge(self) -> IterBridge<Self> {
        IterBridge::new(self)
    }
}

/// A collection a parallel iterator can be collected into, as rayon's:
/// `Vec` (in order), `String`, hash and B-tree maps and sets, `()`, and
/// `Result`/`Option` of those (the hand-out stops at the first error).
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use workcrew::prelude::*;
/// let squares: HashMap<u32, u32> = (1..4u32).into_par_iter().map(|x| (x, x * x)).collect();
/// assert_eq!(squares[&3], 9);
/// let parsed: Result<Vec<u8>, _> = ["1", "x"].par_iter().map(|s| s.parse::<u8>()).collect();
/// assert!(parsed.is_err());
/// ```
pub trait FromParallelIterator<T: Send> {
    /// The collection of `par_iter`'s items.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let v = Vec::from_par_iter((0..3).into_par_iter());
    /// assert_eq!(v, [0, 1, 2]);
    /// ```
    fn from_par_iter<I>(par_iter: I) -> Self
    where
        I: IntoParallelIterator<Item = T>;
}

/// A collection a parallel iterator can be appended to, as rayon's.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let mut v = vec![0];
/// v.par_extend((1..4).into_par_iter());
/// assert_eq!(v, [0, 1, 2, 3]);
/// ```
pub trait ParallelExtend<T: Send> {
    /// Appends `par_iter`'s items.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let mut v = vec![0];
    /// v.par_extend((1..3).into_par_iter());
    /// assert_eq!(v, [0, 1, 2]);
    /// ```
    fn par_extend<I>(&mut self, par_iter: I)
    where
        I: IntoParallelIterator<Item = T>;
}
