//! The adaptors: each a small struct that is both the parallel iterator
//! (over a parallel iterator) and, over a producer, the producer that wraps
//! the sequential iterator of each piece (plumbing.rs).
//!
//! Invariant: an adaptor is `EXACT` (one item per base index, in order)
//! exactly when it keeps its base's items one for one (`map`, `enumerate`,
//! `zip`, `copied`, `cloned`, `inspect`, `map_init`, the length bounds);
//! `filter`, `filter_map`, `flat_map_iter` and `fold` are not, and are not
//! indexed.

use std::ops::Range;

use crate::iter::plumbing::{cheap, Producer};
use crate::iter::{IndexedParallelIterator, ParallelIterator};

/// Forwards the length bounds and the drained flag to `base`.
macro_rules! forward_bounds {
    () => {
        fn min_len(&self) -> usize {
            self.base.min_len()
        }
        fn max_len(&self) -> usize {
            self.base.max_len()
        }
        fn is_drained(&self) -> bool {
            self.base.is_drained()
        }
    };
}

/// Implements `ParallelIterator` (and `IndexedParallelIterator` when the
/// adaptor keeps items one for one) by turning the base into its producer.
macro_rules! parallel_over_base {
    ($name:ident { $($field:ident),* } indexed) => {
        parallel_over_base!($name { $($field),* });
        impl<I: IndexedParallelIterator $(, $field)*> IndexedParallelIterator for $name<I $(, $field)*>
        where
            $name<I $(, $field)*>: ParallelIterator,
        {
            fn len(&self) -> usize {
                self.base.len()
            }
        }
    };
    ($name:ident { $($field:ident),* }) => {};
}

/// The iterator of [`ParallelIterator::map`].
#[derive(Clone, Debug)]
pub struct Map<I, F> {
    pub(crate) base: I,
    pub(crate) f: F,
}

impl<I, F, R> ParallelIterator for Map<I, F>
where
    I: ParallelIterator,
    F: Fn(I::Item) -> R + Sync + Send,
    R: Send,
{
    type Item = R;
    type Producer = Map<I::Producer, F>;
    fn into_producer(self) -> Self::Producer {
        Map {
            base: self.base.into_producer(),
            f: self.f,
        }
    }
}
parallel_over_base!(Map { F } indexed);

impl<P, F, R> Producer for Map<P, F>
where
    P: Producer,
    F: Fn(P::Item) -> R + Sync + Send,
{
    type Item = R;
    type Local = P::Local;
    type Piece<'p>
        = std::iter::Map<P::Piece<'p>, &'p F>
    where
        Self: 'p;
    const EXACT: bool = P::EXACT;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.base.piece(local, range) }.map(&self.f)
    }
    forward_bounds!();
}

/// The iterator of [`ParallelIterator::inspect`].
#[derive(Clone, Debug)]
pub struct Inspect<I, F> {
    pub(crate) base: I,
    pub(crate) f: F,
}

impl<I, F> ParallelIterator for Inspect<I, F>
where
    I: ParallelIterator,
    F: Fn(&I::Item) + Sync + Send,
{
    type Item = I::Item;
    type Producer = Inspect<I::Producer, F>;
    fn into_producer(self) -> Self::Producer {
        Inspect {
            base: self.base.into_producer(),
            f: self.f,
        }
    }
}
parallel_over_base!(Inspect { F } indexed);

impl<P, F> Producer for Inspect<P, F>
where
    P: Producer,
    F: Fn(&P::Item) + Sync + Send,
{
    type Item = P::Item;
    type Local = P::Local;
    type Piece<'p>
        = std::iter::Inspect<P::Piece<'p>, &'p F>
    where
        Self: 'p;
    const EXACT: bool = P::EXACT;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.base.piece(local, range) }.inspect(&self.f)
    }
    forward_bounds!();
}

/// The iterator of [`ParallelIterator::filter`].
#[derive(Clone, Debug)]
pub struct Filter<I, F> {
    pub(crate) base: I,
    pub(crate) f: F,
}

impl<I, F> ParallelIterator for Filter<I, F>
where
    I: ParallelIterator,
    F: Fn(&I::Item) -> bool + Sync + Send,
{
    type Item = I::Item;
    type Producer = Filter<I::Producer, F>;
    fn into_producer(self) -> Self::Producer {
        Filter {
            base: self.base.into_producer(),
            f: self.f,
        }
    }
}

impl<P, F> Producer for Filter<P, F>
where
    P: Producer,
    F: Fn(&P::Item) -> bool + Sync + Send,
{
    type Item = P::Item;
    type Local = P::Local;
    type Piece<'p>
        = std::iter::Filter<P::Piece<'p>, &'p F>
    where
        Self: 'p;
    const EXACT: bool = false;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.base.piece(local, range) }.filter(&self.f)
    }
    forward_bounds!();
}

/// The iterator of [`ParallelIterator::filter_map`].
#[derive(Clone, Debug)]
pub struct FilterMap<I, F> {
    pub(crate) base: I,
    pub(crate) f: F,
}

impl<I, F, R> ParallelIterator for FilterMap<I, F>
where
    I: ParallelIterator,
    F: Fn(I::Item) -> Option<R> + Sync + Send,
    R: Send,
{
    type Item = R;
    type Producer = FilterMap<I::Producer, F>;
    fn into_producer(self) -> Self::Producer {
        FilterMap {
            base: self.base.into_producer(),
            f: self.f,
        }
    }
}

impl<P, F, R> Producer for FilterMap<P, F>
where
    P: Producer,
    F: Fn(P::Item) -> Option<R> + Sync + Send,
{
    type Item = R;
    type Local = P::Local;
    type Piece<'p>
        = std::iter::FilterMap<P::Piece<'p>, &'p F>
    where
        Self: 'p;
    const EXACT: bool = false;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.base.piece(local, range) }.filter_map(&self.f)
    }
    forward_bounds!();
}

/// The iterator of [`ParallelIterator::flat_map_iter`].
#[derive(Clone, Debug)]
pub struct FlatMapIter<I, F> {
    pub(crate) base: I,
    pub(crate) f: F,
}

impl<I, F, SI> ParallelIterator for FlatMapIter<I, F>
where
    I: ParallelIterator,
    F: Fn(I::Item) -> SI + Sync + Send,
    SI: IntoIterator,
    SI::Item: Send,
{
    type Item = SI::Item;
    type Producer = FlatMapIter<I::Producer, F>;
    fn into_producer(self) -> Self::Producer {
        FlatMapIter {
            base: self.base.into_producer(),
            f: self.f,
        }
    }
}

impl<P, F, SI> Producer for FlatMapIter<P, F>
where
    P: Producer,
    F: Fn(P::Item) -> SI + Sync + Send,
    SI: IntoIterator,
{
    type Item = SI::Item;
    type Local = P::Local;
    type Piece<'p>
        = std::iter::FlatMap<P::Piece<'p>, SI, &'p F>
    where
        Self: 'p;
    const EXACT: bool = false;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.base.piece(local, range) }.flat_map(&self.f)
    }
    forward_bounds!();
}

/// The iterator of [`ParallelIterator::copied`].
#[derive(Clone, Debug)]
pub struct Copied<I> {
    pub(crate) base: I,
}

impl<'a, T, I> ParallelIterator for Copied<I>
where
    I: ParallelIterator<Item = &'a T>,
    T: 'a + Copy + Send + Sync,
{
    type Item = T;
    type Producer = Copied<I::Producer>;
    fn into_producer(self) -> Self::Producer {
        Copied {
            base: self.base.into_producer(),
        }
    }
}
parallel_over_base!(Copied {} indexed);

impl<'a, T, P> Producer for Copied<P>
where
    P: Producer<Item = &'a T>,
    T: 'a + Copy,
{
    type Item = T;
    type Local = P::Local;
    type Piece<'p>
        = std::iter::Copied<P::Piece<'p>>
    where
        Self: 'p;
    const EXACT: bool = P::EXACT;
    const CHEAP: bool = P::CHEAP;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.base.piece(local, range) }.copied()
    }
    forward_bounds!();
}

/// The iterator of [`ParallelIterator::cloned`].
#[derive(Clone, Debug)]
pub struct Cloned<I> {
    pub(crate) base: I,
}

impl<'a, T, I> ParallelIterator for Cloned<I>
where
    I: ParallelIterator<Item = &'a T>,
    T: 'a + Clone + Send + Sync,
{
    type Item = T;
    type Producer = Cloned<I::Producer>;
    fn into_producer(self) -> Self::Producer {
        Cloned {
            base: self.base.into_producer(),
        }
    }
}
parallel_over_base!(Cloned {} indexed);

impl<'a, T, P> Producer for Cloned<P>
where
    P: Producer<Item = &'a T>,
    T: 'a + Clone,
{
    type Item = T;
    type Local = P::Local;
    type Piece<'p>
        = std::iter::Cloned<P::Piece<'p>>
    where
        Self: 'p;
    const EXACT: bool = P::EXACT;
    const CHEAP: bool = P::CHEAP && cheap::<T>();
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.base.piece(local, range) }.cloned()
    }
    forward_bounds!();
}

/// The iterator of [`IndexedParallelIterator::enumerate`].
#[derive(Clone, Debug)]
pub struct Enumerate<I> {
    pub(crate) base: I,
}

impl<I: IndexedParallelIterator> ParallelIterator for Enumerate<I> {
    type Item = (usize, I::Item);
    type Producer = Enumerate<I::Producer>;
    fn into_producer(self) -> Self::Producer {
        Enumerate {
            base: self.base.into_producer(),
        }
    }
}
parallel_over_base!(Enumerate {} indexed);

impl<P: Producer> Producer for Enumerate<P> {
    type Item = (usize, P::Item);
    type Local = P::Local;
    type Piece<'p>
        = std::iter::Zip<Range<usize>, P::Piece<'p>>
    where
        Self: 'p;
    const EXACT: bool = P::EXACT;
    const CHEAP: bool = P::CHEAP;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        // An indexed base yields one item per base index, so the base index
        // is the item's position.
        // SAFETY: the caller's contract, passed on.
        range.clone().zip(unsafe { self.base.piece(local, range) })
    }
    forward_bounds!();
}

/// The iterator of [`IndexedParallelIterator::zip`].
#[derive(Clone, Debug)]
pub struct Zip<A, B> {
    pub(crate) a: A,
    pub(crate) b: B,
}

impl<A: IndexedParallelIterator, B: IndexedParallelIterator> ParallelIterator for Zip<A, B> {
    type Item = (A::Item, B::Item);
    type Producer = Zip<A::Producer, B::Producer>;
    fn into_producer(self) -> Self::Producer {
        Zip {
            a: self.a.into_producer(),
            b: self.b.into_producer(),
        }
    }
}

impl<A: IndexedParallelIterator, B: IndexedParallelIterator> IndexedParallelIterator for Zip<A, B> {
    fn len(&self) -> usize {
        self.a.len().min(self.b.len())
    }
}

impl<A: Producer, B: Producer> Producer for Zip<A, B> {
    type Item = (A::Item, B::Item);
    type Local = (A::Local, B::Local);
    type Piece<'p>
        = std::iter::Zip<A::Piece<'p>, B::Piece<'p>>
    where
        Self: 'p;
    const EXACT: bool = A::EXACT && B::EXACT;
    const CHEAP: bool = A::CHEAP && B::CHEAP;
    fn len(&self) -> usize {
        self.a.len().min(self.b.len())
    }
    fn local(&self) -> Self::Local {
        (self.a.local(), self.b.local())
    }
    unsafe fn piece<'p>(
        &'p self,
        local: &'p mut Self::Local,
        range: Range<usize>,
    ) -> Self::Piece<'p> {
        let (local_a, local_b) = local;
        // SAFETY: the caller's contract, passed on to both (`range` is within
        // the shorter length, so within each).
        unsafe {
            self.a
                .piece(local_a, range.clone())
                .zip(self.b.piece(local_b, range))
        }
    }
    fn min_len(&self) -> usize {
        self.a.min_len().max(self.b.min_len())
    }
    fn max_len(&self) -> usize {
        self.a.max_len().min(self.b.max_len())
    }
}

/// The iterator of [`IndexedParallelIterator::with_min_len`] and
/// [`IndexedParallelIterator::with_max_len`].
#[derive(Clone, Debug)]
pub struct Bounded<I> {
    pub(crate) base: I,
    pub(crate) min: usize,
    pub(crate) max: usize,
}

impl<I: IndexedParallelIterator> ParallelIterator for Bounded<I> {
    type Item = I::Item;
    type Producer = Bounded<I::Producer>;
    fn into_producer(self) -> Self::Producer {
        Bounded {
            base: self.base.into_producer(),
            min: self.min,
            max: self.max,
        }
    }
}
parallel_over_base!(Bounded {} indexed);

impl<P: Producer> Producer for Bounded<P> {
    type Item = P::Item;
    type Local = P::Local;
    type Piece<'p>
        = P::Piece<'p>
    where
        Self: 'p;
    const EXACT: bool = P::EXACT;
    const CHEAP: bool = P::CHEAP;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.base.piece(local, range) }
    }
    fn min_len(&self) -> usize {
        self.base.min_len().max(self.min)
    }
    fn max_len(&self) -> usize {
        self.base.max_len().min(self.max)
    }
    fn is_drained(&self) -> bool {
        self.base.is_drained()
    }
}
