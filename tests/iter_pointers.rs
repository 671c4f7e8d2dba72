//! The parallel iterators' pointer-level code, in cases small enough for
//! Miri (README, "Testing"): collecting straight into a vector's spare
//! capacity, moving a vector's elements out (all of them, or some and the
//! rest dropped), mutable slices and chunks handed to two threads, and the
//! sorts' merges. Each case also checks its answer, so the file runs as an
//! ordinary test too.

use std::sync::atomic::{AtomicUsize, Ordering};

use workcrew::prelude::*;
use workcrew::Pool;

/// Two threads, so the pieces really run on both.
fn pool() -> Pool {
    Pool::new(2)
}

/// Enough items that the caller asks for help even under Miri's slow
/// clock, few enough for Miri.
const N: usize = 300;

#[test]
fn collect_writes_every_slot_once() {
    let pool = pool();
    let v: Vec<String> = pool.install(|| (0..N).into_par_iter().map(|i| i.to_string()).collect());
    assert_eq!(v.len(), N);
    assert!(v.iter().enumerate().all(|(i, s)| *s == i.to_string()));
    let mut target = vec![String::from("old")];
    pool.install(|| {
        (0..N)
            .into_par_iter()
            .map(|i| i.to_string())
            .collect_into_vec(&mut target)
    });
    assert_eq!(target, v);
    let mut extended = vec![String::from("first")];
    pool.install(|| extended.par_extend(v.par_iter().cloned()));
    assert_eq!(extended.len(), N + 1);
    assert_eq!(extended[0], "first");
    assert_eq!(extended[1..], v[..]);
    pool.shutdown();
}

/// Counts drops, to see each moved-out element dropped exactly once.
struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn a_vector_moved_in_drops_each_element_once() {
    let pool = pool();
    let drops = AtomicUsize::new(0);
    let items: Vec<Counted> = (0..N).map(|_| Counted(&drops)).collect();
    let seen = pool.install(|| items.into_par_iter().map(drop).count());
    assert_eq!(seen, N);
    assert_eq!(drops.load(Ordering::Relaxed), N);
    // A short-circuit leaves most elements unyielded: they drop with the
    // iterator.
    let drops = AtomicUsize::new(0);
    let items: Vec<(usize, Counted)> = (0..N).map(|i| (i, Counted(&drops))).collect();
    let found = pool.install(|| items.into_par_iter().find_any(|(i, _)| *i == 3));
    assert_eq!(found.as_ref().map(|(i, _)| *i), Some(3));
    drop(found);
    assert_eq!(drops.load(Ordering::Relaxed), N);
    pool.shutdown();
}

#[test]
fn mutable_pieces_are_disjoint() {
    let pool = pool();
    let mut v: Vec<usize> = (0..N).collect();
    pool.install(|| v.par_iter_mut().for_each(|x| *x *= 2));
    assert!(v.iter().enumerate().all(|(i, &x)| x == 2 * i));
    pool.install(|| {
        v.par_chunks_mut(7)
            .enumerate()
            .for_each(|(c, chunk)| chunk.iter_mut().for_each(|x| *x = c))
    });
    assert!(v.iter().enumerate().all(|(i, &x)| x == i / 7));
    pool.shutdown();
}

#[test]
fn sorts_keep_every_element() {
    let pool = pool();
    let mut v: Vec<String> = (0..N).rev().map(|i| format!("{:03}", i % 97)).collect();
    let mut expected = v.clone();
    expected.sort();
    let mut unstable = v.clone();
    pool.install(|| v.par_sort());
    assert_eq!(v, expected);
    pool.install(|| unstable.par_sort_unstable());
    assert_eq!(unstable, expected);
    pool.shutdown();
}
