//! The parallel sorts behind `ParallelSliceMut::par_sort*`, on `join`.
//!
//! * **Stable** (`par_sort`, `_by`, `_by_key`): a merge sort. The slice is
//!   halved recursively into about two leaves per thread (never smaller
//!   than `LEAF_MIN`); leaves are sorted by the standard stable sort on the
//!   pool's threads; two sorted halves are merged by the standard stable
//!   sort again, which finds the two runs and merges them in one linear
//!   pass (and the pass is skipped when they are already in order).
//! * **Unstable** (`par_sort_unstable*`): a quicksort whose pivot is the
//!   exact median: the standard `select_nth_unstable_by` splits the slice
//!   into equal halves in linear time, which are sorted in parallel, down
//!   to one leaf per thread, sorted by `sort_unstable_by`.
//!
//! Invariants: the slice is a permutation of its input at every step, also
//! when a comparison panics (each step is a standard-library sort or
//! selection, which keeps that); the stable sorts are stable because leaves
//! are sorted stably and a merge keeps the left half's equal elements
//! before the right half's.

use std::cmp::Ordering;

use crate::iter::run::{current_num_threads, join};

/// Below this many elements, a slice is sorted on the calling thread.
const LEAF_MIN: usize = 8 * 1024;

/// Sorts `v` stably by `compare` in parallel.
pub(crate) fn stable<T, F>(v: &mut [T], compare: &F)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    if v.len() <= LEAF_MIN {
        v.sort_by(compare);
        return;
    }
    let leaf = leaf_len(v.len());
    merge_sort(v, compare, leaf, &|leaf: &mut [T]| leaf.sort_by(compare));
}

/// Sorts `v` by `compare` in parallel, not necessarily stably.
pub(crate) fn unstable<T, F>(v: &mut [T], compare: &F)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    let leaf = v.len().div_ceil(current_num_threads().max(1)).max(LEAF_MIN);
    quick_sort(v, compare, leaf);
}

fn quick_sort<T, F>(v: &mut [T], compare: &F, leaf: usize)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    if v.len() <= leaf {
        v.sort_unstable_by(compare);
        return;
    }
    let mid = v.len() / 2;
    // Everything before `mid` is at most `v[mid]`, everything after at least.
    v.select_nth_unstable_by(mid, compare);
    let (left, right) = v.split_at_mut(mid);
    join(
        || quick_sort(left, compare, leaf),
        || quick_sort(&mut right[1..], compare, leaf),
    );
}

/// About two leaves per thread, so one slow thread does not hold up the end.
fn leaf_len(len: usize) -> usize {
    len.div_ceil(2 * current_num_threads().max(1)).max(LEAF_MIN)
}

fn merge_sort<T, F, S>(v: &mut [T], compare: &F, leaf: usize, sort_leaf: &S)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
    S: Fn(&mut [T]) + Sync,
{
    if v.len() <= leaf {
        sort_leaf(v);
        return;
    }
    let mid = v.len() / 2;
    let (left, right) = v.split_at_mut(mid);
    join(
        || merge_sort(left, compare, leaf, sort_leaf),
        || merge_sort(right, compare, leaf, sort_leaf),
    );
    if compare(&v[mid - 1], &v[mid]) == Ordering::Greater {
        // Two sorted runs: the standard stable sort merges them in one pass.
        v.sort_by(compare);
    }
}
