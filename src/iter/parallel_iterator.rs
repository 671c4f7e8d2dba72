//! [`ParallelIterator`]: rayon's trait of the same name, its adaptors and
//! terminal methods with rayon's signatures. Each method only builds an
//! adaptor (adaptors.rs, stateful.rs) or hands the chain to the driver
//! with a consumer (consumers.rs); nothing here runs work itself.

use std::cmp::Ordering;
use std::marker::PhantomData;

use crate::iter::adaptors::{
    Cloned, Copied, Filter, FilterMap, FlatMapIter, FlattenIter, Inspect, Map,
};
use crate::iter::consumers::{
    Count, FindAny, FindFirst, ForEach, Product, Reduce, ReduceWith, Sum,
};
use crate::iter::drive::drive;
use crate::iter::indexed::{FromParallelIterator, ParallelExtend};
use crate::iter::plumbing::Producer;
use crate::iter::stateful::{Fold, MapInit};
use crate::sync::AtomicUsize;

/// A parallel iterator, as rayon's: adaptors build a description, a
/// terminal method runs it on the pool (see the [module docs](crate::iter)).
///
/// Unlike rayon's, it cannot be implemented outside this crate (its
/// required items are hidden plumbing).
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let text = "the cat and the hat";
/// let long_words = text.split(' ').collect::<Vec<_>>().par_iter().filter(|w| w.len() == 3).count();
/// assert_eq!(long_words, 5);
/// ```
pub trait ParallelIterator: Sized + Send {
    /// The items.
    type Item: Send;

    #[doc(hidden)]
    type Producer: Producer<Item = Self::Item>;

    #[doc(hidden)]
    fn into_producer(self) -> Self::Producer;

    /// Calls `op` on every item.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use workcrew::prelude::*;
    /// let total = AtomicU64::new(0);
    /// (1..=100u64).into_par_iter().for_each(|x| { total.fetch_add(x, Ordering::Relaxed); });
    /// assert_eq!(total.into_inner(), 5050);
    /// ```
    fn for_each<OP>(self, op: OP)
    where
        OP: Fn(Self::Item) + Sync + Send,
    {
        drive(self.into_producer(), ForEach(op));
    }

    /// Calls `op` on every item with a value made by `init`: `init` runs at
    /// most once per worker thread per call (rayon: once per split).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// (0..1000).into_par_iter().for_each_init(Vec::new, |scratch, x| {
    ///     scratch.clear();
    ///     scratch.push(x);
    /// });
    /// ```
    fn for_each_init<OP, INIT, T>(self, init: INIT, op: OP)
    where
        OP: Fn(&mut T, Self::Item) + Sync + Send,
        INIT: Fn() -> T + Sync + Send,
    {
        self.map_init(init, op).for_each(drop);
    }

    /// How many items there are.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!((0..1000).into_par_iter().filter(|x| x % 3 == 0).count(), 334);
    /// ```
    fn count(self) -> usize {
        drive(self.into_producer(), Count)
    }

    /// Applies `map_op` to every item.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let squares: Vec<u32> = [1, 2, 3].par_iter().map(|x| x * x).collect();
    /// assert_eq!(squares, [1, 4, 9]);
    /// ```
    fn map<F, R>(self, map_op: F) -> Map<Self, F>
    where
        F: Fn(Self::Item) -> R + Sync + Send,
        R: Send,
    {
        Map {
            base: self,
            f: map_op,
        }
    }

    /// Applies `map_op` to every item with a value made by `init`, which
    /// runs at most once per worker thread per call (rayon: once per split),
    /// so an expensive scratch buffer or generator is made a handful of
    /// times, not hundreds.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let lines: Vec<String> = (0..4).into_par_iter()
    ///     .map_init(String::new, |buf, i| {
    ///         buf.clear();
    ///         buf.push_str("line ");
    ///         buf.push_str(&i.to_string());
    ///         buf.clone()
    ///     })
    ///     .collect();
    /// assert_eq!(lines, ["line 0", "line 1", "line 2", "line 3"]);
    /// ```
    fn map_init<F, INIT, T, R>(self, init: INIT, map_op: F) -> MapInit<Self, INIT, F>
    where
        F: Fn(&mut T, Self::Item) -> R + Sync + Send,
        INIT: Fn() -> T + Sync + Send,
        R: Send,
    {
        MapInit {
            base: self,
            init,
            f: map_op,
        }
    }

    /// Copies the items out of references.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let v: Vec<u8> = [1u8, 2].par_iter().copied().collect();
    /// assert_eq!(v, [1, 2]);
    /// ```
    fn copied<'a, T>(self) -> Copied<Self>
    where
        T: 'a + Copy + Send + Sync,
        Self: ParallelIterator<Item = &'a T>,
    {
        Copied { base: self }
    }

    /// Clones the items out of references.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let names = [String::from("a"), String::from("b")];
    /// let v: Vec<String> = names.par_iter().cloned().collect();
    /// assert_eq!(v, names);
    /// ```
    fn cloned<'a, T>(self) -> Cloned<Self>
    where
        T: 'a + Clone + Send + Sync,
        Self: ParallelIterator<Item = &'a T>,
    {
        Cloned { base: self }
    }

    /// Calls `inspect_op` on a reference to every item as it passes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use workcrew::prelude::*;
    /// let seen = AtomicUsize::new(0);
    /// let n = (0..10).into_par_iter().inspect(|_| { seen.fetch_add(1, Ordering::Relaxed); }).count();
    /// assert_eq!((n, seen.into_inner()), (10, 10));
    /// ```
    fn inspect<OP>(self, inspect_op: OP) -> Inspect<Self, OP>
    where
        OP: Fn(&Self::Item) + Sync + Send,
    {
        Inspect {
            base: self,
            f: inspect_op,
        }
    }

    /// The items for which `filter_op` is true.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let even: Vec<i32> = (0..10).into_par_iter().filter(|x| x % 2 == 0).collect();
    /// assert_eq!(even, [0, 2, 4, 6, 8]);
    /// ```
    fn filter<P>(self, filter_op: P) -> Filter<Self, P>
    where
        P: Fn(&Self::Item) -> bool + Sync + Send,
    {
        Filter {
            base: self,
            f: filter_op,
        }
    }

    /// The `Some` values of `filter_op` over the items.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let numbers: Vec<u8> = ["1", "x", "3"].par_iter().filter_map(|s| s.parse().ok()).collect();
    /// assert_eq!(numbers, [1, 3]);
    /// ```
    fn filter_map<P, R>(self, filter_op: P) -> FilterMap<Self, P>
    where
        P: Fn(Self::Item) -> Option<R> + Sync + Send,
        R: Send,
    {
        FilterMap {
            base: self,
            f: filter_op,
        }
    }

    /// The items of the sequential iterators `map_op` returns, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let v: Vec<u32> = (1..4u32).into_par_iter().flat_map_iter(|n| 0..n).collect();
    /// assert_eq!(v, [0, 0, 1, 0, 1, 2]);
    /// ```
    fn flat_map_iter<F, SI>(self, map_op: F) -> FlatMapIter<Self, F>
    where
        F: Fn(Self::Item) -> SI + Sync + Send,
        SI: IntoIterator,
        SI::Item: Send,
    {
        FlatMapIter {
            base: self,
            f: map_op,
        }
    }

    /// The items of each item (a sequential iterable), in order (rayon's
    /// `flatten_iter`).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let words: Vec<char> = ["ab", "c"].par_iter().map(|w| w.chars()).flatten_iter().collect();
    /// assert_eq!(words, ['a', 'b', 'c']);
    /// ```
    fn flatten_iter(self) -> FlattenIter<Self>
    where
        Self::Item: IntoIterator,
        <Self::Item as IntoIterator>::Item: Send,
    {
        FlattenIter { base: self }
    }

    /// Combines the items with `op`, starting from `identity()` (which may
    /// be used several times): `op` must be associative; it need not be
    /// commutative (the items are combined in order).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let total = (1..=10u64).into_par_iter().reduce(|| 0, |a, b| a + b);
    /// assert_eq!(total, 55);
    /// ```
    fn reduce<OP, ID>(self, identity: ID, op: OP) -> Self::Item
    where
        OP: Fn(Self::Item, Self::Item) -> Self::Item + Sync + Send,
        ID: Fn() -> Self::Item + Sync + Send,
    {
        drive(self.into_producer(), Reduce { identity, op })
    }

    /// Combines the items with `op`; `None` when there are none.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let longest = ["a", "abc", "ab"].par_iter().copied()
    ///     .reduce_with(|a, b| if b.len() > a.len() { b } else { a });
    /// assert_eq!(longest, Some("abc"));
    /// ```
    fn reduce_with<OP>(self, op: OP) -> Option<Self::Item>
    where
        OP: Fn(Self::Item, Self::Item) -> Self::Item + Sync + Send,
    {
        drive(self.into_producer(), ReduceWith(op))
    }

    /// Folds the items of each piece into an accumulator from `identity()`,
    /// yielding the accumulators (how many is not specified): usually
    /// followed by `reduce` or `sum`.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let chars = (0..100).into_par_iter()
    ///     .fold(|| 0usize, |n, i: i32| n + i.to_string().len())
    ///     .sum::<usize>();
    /// assert_eq!(chars, 190);
    /// ```
    fn fold<T, ID, F>(self, identity: ID, fold_op: F) -> Fold<Self, ID, F>
    where
        F: Fn(T, Self::Item) -> T + Sync + Send,
        ID: Fn() -> T + Sync + Send,
        T: Send,
    {
        Fold {
            base: self,
            identity,
            f: fold_op,
        }
    }

    /// The sum of the items.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let v: Vec<u64> = (1..=1000).collect();
    /// assert_eq!(v.par_iter().sum::<u64>(), 500_500);
    /// ```
    fn sum<S>(self) -> S
    where
        S: Send + std::iter::Sum<Self::Item> + std::iter::Sum<S>,
    {
        drive(self.into_producer(), Sum(PhantomData))
    }

    /// The product of the items.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!((1..=10u64).into_par_iter().product::<u64>(), 3_628_800);
    /// ```
    fn product<P>(self) -> P
    where
        P: Send + std::iter::Product<Self::Item> + std::iter::Product<P>,
    {
        drive(self.into_producer(), Product(PhantomData))
    }

    /// The least item (the first of several equal ones).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!([3, 1, 2].par_iter().min(), Some(&1));
    /// ```
    fn min(self) -> Option<Self::Item>
    where
        Self::Item: Ord,
    {
        self.min_by(Ord::cmp)
    }

    /// The least item by `f` (the first of several equal ones).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!([3, 1, 2].par_iter().min_by(|a, b| b.cmp(a)), Some(&3));
    /// ```
    fn min_by<F>(self, f: F) -> Option<Self::Item>
    where
        F: Sync + Send + Fn(&Self::Item, &Self::Item) -> Ordering,
    {
        self.reduce_with(move |a, b| if f(&b, &a) == Ordering::Less { b } else { a })
    }

    /// The item with the least key (the first of several equal ones).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!([-3i32, 1, 2].par_iter().min_by_key(|x| x.abs()), Some(&1));
    /// ```
    fn min_by_key<K, F>(self, f: F) -> Option<Self::Item>
    where
        K: Ord + Send,
        F: Sync + Send + Fn(&Self::Item) -> K,
    {
        self.map(move |item| (f(&item), item))
            .reduce_with(|a, b| if b.0 < a.0 { b } else { a })
            .map(|(_, item)| item)
    }

    /// The greatest item (the last of several equal ones).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!([3, 1, 2].par_iter().max(), Some(&3));
    /// ```
    fn max(self) -> Option<Self::Item>
    where
        Self::Item: Ord,
    {
        self.max_by(Ord::cmp)
    }

    /// The greatest item by `f` (the last of several equal ones).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!([3, 1, 2].par_iter().max_by(|a, b| b.cmp(a)), Some(&1));
    /// ```
    fn max_by<F>(self, f: F) -> Option<Self::Item>
    where
        F: Sync + Send + Fn(&Self::Item, &Self::Item) -> Ordering,
    {
        self.reduce_with(move |a, b| if f(&b, &a) == Ordering::Less { a } else { b })
    }

    /// The item with the greatest key (the last of several equal ones).
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!([-3i32, 1, 2].par_iter().max_by_key(|x| x.abs()), Some(&-3));
    /// ```
    fn max_by_key<K, F>(self, f: F) -> Option<Self::Item>
    where
        K: Ord + Send,
        F: Sync + Send + Fn(&Self::Item) -> K,
    {
        self.map(move |item| (f(&item), item))
            .reduce_with(|a, b| if b.0 < a.0 { a } else { b })
            .map(|(_, item)| item)
    }

    /// Some item for which `predicate` is true, not necessarily the first:
    /// the hand-out stops at the first hit.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let hit = (0..1_000_000u32).into_par_iter().find_any(|x| x % 1000 == 999);
    /// assert_eq!(hit.map(|x| x % 1000), Some(999));
    /// ```
    fn find_any<P>(self, predicate: P) -> Option<Self::Item>
    where
        P: Fn(&Self::Item) -> bool + Sync + Send,
    {
        drive(self.into_producer(), FindAny(predicate))
    }

    /// The first item in order for which `predicate` is true; pieces after a
    /// hit are not handed out.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert_eq!((0..1_000_000u32).into_par_iter().find_first(|x| x % 1000 == 999), Some(999));
    /// ```
    fn find_first<P>(self, predicate: P) -> Option<Self::Item>
    where
        P: Fn(&Self::Item) -> bool + Sync + Send,
    {
        let first = FindFirst {
            predicate,
            best: AtomicUsize::new(usize::MAX),
        };
        drive(self.into_producer(), first)
    }

    /// Whether `predicate` is true for some item; stops at the first.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert!((0..100).into_par_iter().any(|x| x == 42));
    /// ```
    fn any<P>(self, predicate: P) -> bool
    where
        P: Fn(Self::Item) -> bool + Sync + Send,
    {
        self.map(predicate).find_any(|&hit| hit).is_some()
    }

    /// Whether `predicate` is true for every item; stops at the first
    /// that fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// assert!(!(0..100).into_par_iter().all(|x| x < 50));
    /// ```
    fn all<P>(self, predicate: P) -> bool
    where
        P: Fn(Self::Item) -> bool + Sync + Send,
    {
        self.map(predicate).find_any(|&ok| !ok).is_none()
    }

    /// Collects the items into `C` (in order, for the collections that
    /// have one): `Vec`, `String`, `HashMap`, `Result<C, E>`, ...
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let v: Vec<usize> = (0..5).into_par_iter().collect();
    /// assert_eq!(v, [0, 1, 2, 3, 4]);
    /// let parsed: Result<Vec<u8>, _> = ["1", "x"].par_iter().map(|s| s.parse::<u8>()).collect();
    /// assert!(parsed.is_err());
    /// ```
    fn collect<C>(self) -> C
    where
        C: FromParallelIterator<Self::Item>,
    {
        C::from_par_iter(self)
    }

    /// Splits pairs into two collections.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let (a, b): (Vec<i32>, Vec<char>) = [(1, 'a'), (2, 'b')].par_iter().copied().unzip();
    /// assert_eq!((a, b), (vec![1, 2], vec!['a', 'b']));
    /// ```
    fn unzip<A, B, FromA, FromB>(self) -> (FromA, FromB)
    where
        Self: ParallelIterator<Item = (A, B)>,
        FromA: Default + Send + ParallelExtend<A>,
        FromB: Default + Send + ParallelExtend<B>,
        A: Send,
        B: Send,
    {
        crate::iter::split::unzip(self)
    }

    /// Splits the items into those for which `predicate` is true and the
    /// rest, each in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::prelude::*;
    /// let (even, odd): (Vec<i32>, Vec<i32>) = (0..6).into_par_iter().partition(|x| x % 2 == 0);
    /// assert_eq!((even, odd), (vec![0, 2, 4], vec![1, 3, 5]));
    /// ```
    fn partition<A, B, P>(self, predicate: P) -> (A, B)
    where
        A: Default + Send + ParallelExtend<Self::Item>,
        B: Default + Send + ParallelExtend<Self::Item>,
        P: Fn(&Self::Item) -> bool + Sync + Send,
    {
        crate::iter::split::partition(self, predicate)
    }
}
