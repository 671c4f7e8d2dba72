//! `unzip` and `partition`: the items are collected in order (in
//! parallel), split into two vectors on the calling thread, and each
//! vector extends its collection (in parallel again where the collection
//! is a vector).
//!
//! Invariant: both sides keep the items' order, as the sequential
//! `Iterator::unzip` and `Iterator::partition` do.

use crate::iter::{ParallelExtend, ParallelIterator};

/// `ParallelIterator::unzip`.
pub(crate) fn unzip<I, A, B, FromA, FromB>(par_iter: I) -> (FromA, FromB)
where
    I: ParallelIterator<Item = (A, B)>,
    FromA: Default + Send + ParallelExtend<A>,
    FromB: Default + Send + ParallelExtend<B>,
    A: Send,
    B: Send,
{
    let pairs: Vec<(A, B)> = par_iter.collect();
    let (a, b): (Vec<A>, Vec<B>) = pairs.into_iter().unzip();
    extend_both(a, b)
}

/// `ParallelIterator::partition`.
pub(crate) fn partition<I, A, B, P>(par_iter: I, predicate: P) -> (A, B)
where
    I: ParallelIterator,
    A: Default + Send + ParallelExtend<I::Item>,
    B: Default + Send + ParallelExtend<I::Item>,
    P: Fn(&I::Item) -> bool + Sync + Send,
{
    let marked: Vec<(bool, I::Item)> = par_iter.map(move |item| (predicate(&item), item)).collect();
    let (mut yes, mut no) = (Vec::new(), Vec::new());
    for (left, item) in marked {
        if left {
            yes.push(item);
        } else {
            no.push(item);
        }
    }
    extend_both(yes, no)
}

/// Two default collections, extended with `a` and `b`.
fn extend_both<A, B, FromA, FromB>(a: Vec<A>, b: Vec<B>) -> (FromA, FromB)
where
    FromA: Default + ParallelExtend<A>,
    FromB: Default + ParallelExtend<B>,
    A: Send,
    B: Send,
{
    let (mut from_a, mut from_b) = (FromA::default(), FromB::default());
    from_a.par_extend(a);
    from_b.par_extend(b);
    (from_a, from_b)
}
