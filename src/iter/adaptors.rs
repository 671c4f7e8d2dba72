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

/// An adaptor that applies a closure `f` to each piece of its base `B`
/// through a std iterator adaptor (`map`, `inspect`, `filter`, ...).
macro_rules! closure_adaptor {
    (
        $(#[$attr:meta])*
        $name:ident[$($extra:ident),*] = $std:ident[$($mid:ty),*] by $method:ident,
        item: $item:ty, exact: $exact:expr, [$($indexed:ident)?]
        where [$($bounds:tt)*] and iterator [$($iter_bounds:tt)*]
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug)]
        pub struct $name<I, F> {
            pub(crate) base: I,
            pub(crate) f: F,
        }

        impl<B, F, $($extra),*> ParallelIterator for $name<B, F>
        where
            B: ParallelIterator,
            $($bounds)*
            $($iter_bounds)*
        {
            type Item = $item;
            type Producer = $name<B::Producer, F>;
            fn into_producer(self) -> Self::Producer {
                $name {
                    base: self.base.into_producer(),
                    f: self.f,
                }
            }
        }
        parallel_over_base!($name { F } $($indexed)?);

        impl<B, F, $($extra),*> Producer for $name<B, F>
        where
            B: Producer,
            $($bounds)*
        {
            type Item = $item;
            type Local = B::Local;
            type Piece<'p>
                = std::iter::$std<B::Piece<'p>, $($mid,)* &'p F>
            where
                Self: 'p;
            const EXACT: bool = $exact;
            fn len(&self) -> usize {
                self.base.len()
            }
            fn local(&self) -> Self::Local {
                self.base.local()
            }
            unsafe fn piece<'p>(
                &'p self,
                local: &'p mut B::Local,
                range: Range<usize>,
            ) -> Self::Piece<'p> {
                // SAFETY: the caller's contract, passed on.
                unsafe { self.base.piece(local, range) }.$method(&self.f)
            }
            forward_bounds!();
        }
    };
}

closure_adaptor! {
    /// The iterator of [`ParallelIterator::map`]: `f` applied to every item.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let squares: workcrew::iter::Map<_, _> = (1..4).into_par_iter().map(|x| x * x);
    /// assert_eq!(squares.collect::<Vec<_>>(), [1, 4, 9]);
    /// ```
    Map[R] = Map[] by map,
    item: R, exact: B::EXACT, [indexed]
    where [F: Fn(B::Item) -> R + Sync + Send,] and iterator [R: Send,]
}

closure_adaptor! {
    /// The iterator of [`ParallelIterator::inspect`]: `f` sees every item
    /// by reference on its way through.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use workcrew::prelude::*;
    /// let seen = AtomicUsize::new(0);
    /// let total: i32 = [1, 2, 3]
    ///     .par_iter()
    ///     .inspect(|_| {
    ///         seen.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .sum();
    /// assert_eq!((total, seen.into_inner()), (6, 3));
    /// ```
    Inspect[] = Inspect[] by inspect,
    item: B::Item, exact: B::EXACT, [indexed]
    where [F: Fn(&B::Item) + Sync + Send,] and iterator []
}

closure_adaptor! {
    /// The iterator of [`ParallelIterator::filter`]: the items `f` accepts,
    /// in order. Not indexed (its length is known only at the end).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let even: Vec<u32> = (0..10u32).into_par_iter().filter(|x| x % 2 == 0).collect();
    /// assert_eq!(even, [0, 2, 4, 6, 8]);
    /// ```
    Filter[] = Filter[] by filter,
    item: B::Item, exact: false, []
    where [F: Fn(&B::Item) -> bool + Sync + Send,] and iterator []
}

closure_adaptor! {
    /// The iterator of [`ParallelIterator::filter_map`]: the `Some` values
    /// `f` returns, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let numbers: Vec<i32> = ["1", "x", "3"].par_iter().filter_map(|s| s.parse().ok()).collect();
    /// assert_eq!(numbers, [1, 3]);
    /// ```
    FilterMap[R] = FilterMap[] by filter_map,
    item: R, exact: false, []
    where [F: Fn(B::Item) -> Option<R> + Sync + Send,] and iterator [R: Send,]
}

closure_adaptor! {
    /// The iterator of [`ParallelIterator::flat_map_iter`]: the items of the
    /// sequential iterators `f` returns, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let pairs: Vec<u32> = (1..4u32).into_par_iter().flat_map_iter(|x| [x, 10 * x]).collect();
    /// assert_eq!(pairs, [1, 10, 2, 20, 3, 30]);
    /// ```
    FlatMapIter[SI] = FlatMap[SI] by flat_map,
    item: SI::Item, exact: false, []
    where [F: Fn(B::Item) -> SI + Sync + Send, SI: IntoIterator,] and iterator [SI::Item: Send,]
}

/// `copied` and `cloned`: the items of a base of references, by value
/// (`std::iter::Copied` / `Cloned` over each piece).
macro_rules! by_value {
    ($(#[$attr:meta])* $name:ident: $bound:ident, $method:ident, cheap: $cheap:expr) => {
        $(#[$attr])*
        #[derive(Clone, Debug)]
        pub struct $name<I> {
            pub(crate) base: I,
        }

        impl<'a, T, I> ParallelIterator for $name<I>
        where
            I: ParallelIterator<Item = &'a T>,
            T: 'a + $bound + Send + Sync,
        {
            type Item = T;
            type Producer = $name<I::Producer>;
            fn into_producer(self) -> Self::Producer {
                $name {
                    base: self.base.into_producer(),
                }
            }
        }
        parallel_over_base!($name {} indexed);

        impl<'a, T, P> Producer for $name<P>
        where
            P: Producer<Item = &'a T>,
            T: 'a + $bound,
        {
            type Item = T;
            type Local = P::Local;
            type Piece<'p>
                = std::iter::$name<P::Piece<'p>>
            where
                Self: 'p;
            const EXACT: bool = P::EXACT;
            const CHEAP: bool = $cheap;
            fn len(&self) -> usize {
                self.base.len()
            }
            fn local(&self) -> Self::Local {
                self.base.local()
            }
            unsafe fn piece<'p>(
                &'p self,
                local: &'p mut P::Local,
                range: Range<usize>,
            ) -> Self::Piece<'p> {
                // SAFETY: the caller's contract, passed on.
                unsafe { self.base.piece(local, range) }.$method()
            }
            forward_bounds!();
        }
    };
}

by_value! {
    /// The iterator of [`ParallelIterator::copied`]: the items of a base of
    /// `&T`, copied.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let copied: workcrew::iter::Copied<_> = [1, 2, 3].par_iter().copied();
    /// assert_eq!(copied.sum::<i32>(), 6);
    /// ```
    Copied: Copy, copied, cheap: P::CHEAP
}

by_value! {
    /// The iterator of [`ParallelIterator::cloned`]: the items of a base of
    /// `&T`, cloned.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let words = [String::from("a"), String::from("b")];
    /// let cloned: workcrew::iter::Cloned<_> = words.par_iter().cloned();
    /// assert_eq!(cloned.collect::<Vec<String>>(), ["a", "b"]);
    /// ```
    Cloned: Clone, cloned, cheap: P::CHEAP && cheap::<T>()
}

/// The iterator of [`IndexedParallelIterator::enumerate`]: each item with
/// its position.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let e: workcrew::iter::Enumerate<_> = ['a', 'b'].par_iter().enumerate();
/// assert_eq!(e.collect::<Vec<_>>(), [(0, &'a'), (1, &'b')]);
/// ```
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

/// The iterator of [`IndexedParallelIterator::zip`]: pairs of items at the
/// same position, as long as the shorter side.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let (a, b) = ([1, 2, 3], [10, 20]);
/// let z: workcrew::iter::Zip<_, _> = a.par_iter().zip(b.par_iter());
/// assert_eq!(z.map(|(x, y)| x * y).collect::<Vec<_>>(), [10, 40]);
/// ```
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

/// The iterator of [`IndexedParallelIterator::zip_eq`]: a [`Zip`] whose
/// two sides were checked to have the same length.
pub type ZipEq<A, B> = Zip<A, B>;

/// The iterator of [`ParallelIterator::flatten_iter`]: the items of each
/// item, itself a sequential iterable, in order.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let nested = vec![vec![1, 2], vec![], vec![3]];
/// let flat: workcrew::iter::FlattenIter<_> = nested.into_par_iter().flatten_iter();
/// assert_eq!(flat.collect::<Vec<i32>>(), [1, 2, 3]);
/// ```
#[derive(Clone, Debug)]
pub struct FlattenIter<I> {
    pub(crate) base: I,
}

impl<I> ParallelIterator for FlattenIter<I>
where
    I: ParallelIterator,
    I::Item: IntoIterator,
    <I::Item as IntoIterator>::Item: Send,
{
    type Item = <I::Item as IntoIterator>::Item;
    type Producer = FlattenIter<I::Producer>;
    fn into_producer(self) -> Self::Producer {
        FlattenIter {
            base: self.base.into_producer(),
        }
    }
}

impl<P> Producer for FlattenIter<P>
where
    P: Producer,
    P::Item: IntoIterator,
{
    type Item = <P::Item as IntoIterator>::Item;
    type Local = P::Local;
    type Piece<'p>
        = std::iter::Flatten<P::Piece<'p>>
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
        unsafe { self.base.piece(local, range) }.flatten()
    }
    forward_bounds!();
}

/// The iterator of [`IndexedParallelIterator::with_min_len`] and
/// [`IndexedParallelIterator::with_max_len`]: the same items, in pieces of
/// bounded length.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let b: workcrew::iter::Bounded<_> = (0..1_000).into_par_iter().with_min_len(100);
/// assert_eq!(b.sum::<i32>(), 499_500);
/// ```
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
