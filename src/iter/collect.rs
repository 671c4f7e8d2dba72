//! The collections parallel iterators collect into and extend
//! (`FromParallelIterator`, `ParallelExtend`): vectors (in order, written
//! in place when the chain is indexed), strings, hash and B-tree maps and
//! sets, `()`, `Result<C, E>` (the hand-out stops at the first error),
//! `Option<C>`, and pairs of collections (`unzip` into nested pairs).
//!
//! Invariant: every collection keeps the items' order where it has one;
//! maps and sets insert in order, so of equal keys the last item wins, as
//! with a sequential `collect`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

use crate::iter::consumers::{CollectInPlace, CollectRuns, ForEach};
use crate::iter::drive::drive;
use crate::iter::plumbing::{Produced, Producer};
use crate::iter::stateful::UntilErr;
use crate::iter::{FromParallelIterator, IntoParallelIterator, ParallelExtend, ParallelIterator};
use crate::sync::{AtomicBool, Mutex};

/// Appends the items of `par_iter` to `vec`, in order. An indexed chain
/// writes them straight into `vec`'s spare capacity; if it panics, `vec`
/// keeps the items it had.
pub(crate) fn append_vec<I: IntoParallelIterator>(vec: &mut Vec<I::Item>, par_iter: I) {
    fn run<P: Producer>(vec: &mut Vec<P::Item>, producer: P)
    where
        P::Item: Send,
    {
        if P::EXACT {
            let len = producer.len();
            drive(producer, CollectInPlace::appending(vec, len));
        } else {
            let mut more = drive(producer, CollectRuns);
            if vec.is_empty() && vec.capacity() < more.len() {
                *vec = more;
            } else {
                vec.append(&mut more);
            }
        }
    }
    run(vec, par_iter.into_par_iter().into_producer());
}

/// The items of `par_iter` in order.
fn collect_vec<I: IntoParallelIterator>(par_iter: I) -> Vec<I::Item> {
    let mut vec = Vec::new();
    append_vec(&mut vec, par_iter);
    vec
}

impl<T: Send> FromParallelIterator<T> for Vec<T> {
    fn from_par_iter<I: IntoParallelIterator<Item = T>>(par_iter: I) -> Self {
        collect_vec(par_iter)
    }
}

impl<T: Send> ParallelExtend<T> for Vec<T> {
    fn par_extend<I: IntoParallelIterator<Item = T>>(&mut self, par_iter: I) {
        append_vec(self, par_iter);
    }
}

/// Copies of the items (rayon's `Vec<T>: ParallelExtend<&T>`).
impl<'a, T: Copy + Send + Sync + 'a> ParallelExtend<&'a T> for Vec<T> {
    fn par_extend<I: IntoParallelIterator<Item = &'a T>>(&mut self, par_iter: I) {
        append_vec(self, par_iter.into_par_iter().copied());
    }
}

impl<T: Send> FromParallelIterator<T> for Box<[T]> {
    fn from_par_iter<I: IntoParallelIterator<Item = T>>(par_iter: I) -> Self {
        collect_vec(par_iter).into_boxed_slice()
    }
}

impl FromParallelIterator<()> for () {
    fn from_par_iter<I: IntoParallelIterator<Item = ()>>(par_iter: I) {
        drive(par_iter.into_par_iter().into_producer(), ForEach(drop));
    }
}

/// `FromParallelIterator` and `ParallelExtend` through an ordered vector.
macro_rules! through_vec {
    ($(impl[$($g:tt)*] $coll:ty, $item:ty, where {$($bounds:tt)*};)*) => {$(
        impl<$($g)*> FromParallelIterator<$item> for $coll where $($bounds)* {
            fn from_par_iter<I: IntoParallelIterator<Item = $item>>(par_iter: I) -> Self {
                collect_vec(par_iter).into_iter().collect()
            }
        }
        impl<$($g)*> ParallelExtend<$item> for $coll where $($bounds)* {
            fn par_extend<I: IntoParallelIterator<Item = $item>>(&mut self, par_iter: I) {
                self.extend(collect_vec(par_iter));
            }
        }
    )*};
}

through_vec! {
    impl[] String, char, where {};
    impl['a] String, &'a char, where {};
    impl[] String, Box<str>, where {};
    impl['a] String, std::borrow::Cow<'a, str>, where {};
    impl[T] std::collections::VecDeque<T>, T, where { T: Send };
    impl[T] std::collections::LinkedList<T>, T, where { T: Send };
    impl[T] std::collections::BinaryHeap<T>, T, where { T: Ord + Send };
    impl['a] String, &'a str, where {};
    impl[] String, String, where {};
    impl[K, V, S] HashMap<K, V, S>, (K, V), where { K: Eq + Hash + Send, V: Send, S: BuildHasher + Default + Send };
    impl[T, S] HashSet<T, S>, T, where { T: Eq + Hash + Send, S: BuildHasher + Default + Send };
    impl[K, V] BTreeMap<K, V>, (K, V), where { K: Ord + Send, V: Send };
    impl[T] BTreeSet<T>, T, where { T: Ord + Send };
}

impl<C, T, E> FromParallelIterator<Result<T, E>> for Result<C, E>
where
    C: FromParallelIterator<T>,
    T: Send,
    E: Send,
{
    /// Collects the `Ok` values; at an `Err`, the hand-out stops and that
    /// error is returned (the one from the earliest piece that met one).
    fn from_par_iter<I: IntoParallelIterator<Item = Result<T, E>>>(par_iter: I) -> Self {
        let error = Mutex::new(None);
        let until = UntilErr {
            base: par_iter.into_par_iter().into_producer(),
            failed: AtomicBool::new(false),
            error: &error,
        };
        let collection = C::from_par_iter(Produced(until));
        match error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some((_, error)) => Err(error),
            None => Ok(collection),
        }
    }
}

impl<C, T> FromParallelIterator<Option<T>> for Option<C>
where
    C: FromParallelIterator<T>,
    T: Send,
{
    /// Collects the `Some` values; at a `None`, the hand-out stops and the
    /// answer is `None`.
    fn from_par_iter<I: IntoParallelIterator<Item = Option<T>>>(par_iter: I) -> Self {
        let as_results = par_iter.into_par_iter().map(|item| item.ok_or(()));
        Result::<C, ()>::from_par_iter(as_results).ok()
    }
}

/// A pair of collections from pairs of items, as rayon's (so `unzip` nests:
/// `(Vec<_>, (Vec<_>, Vec<_>))`); the items are collected in order once,
/// then each side extends its collection.
impl<A, B, FromA, FromB> ParallelExtend<(A, B)> for (FromA, FromB)
where
    A: Send,
    B: Send,
    FromA: Send + ParallelExtend<A>,
    FromB: Send + ParallelExtend<B>,
{
    fn par_extend<I: IntoParallelIterator<Item = (A, B)>>(&mut self, par_iter: I) {
        let (a, b): (Vec<A>, Vec<B>) = collect_vec(par_iter).into_iter().unzip();
        self.0.par_extend(a);
        self.1.par_extend(b);
    }
}

impl<A, B, FromA, FromB> FromParallelIterator<(A, B)> for (FromA, FromB)
where
    A: Send,
    B: Send,
    FromA: Send + FromParallelIterator<A>,
    FromB: Send + FromParallelIterator<B>,
{
    fn from_par_iter<I: IntoParallelIterator<Item = (A, B)>>(par_iter: I) -> Self {
        let (a, b): (Vec<A>, Vec<B>) = collect_vec(par_iter).into_iter().unzip();
        (FromA::from_par_iter(a), FromB::from_par_iter(b))
    }
}
