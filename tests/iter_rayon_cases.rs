//! rayon's own test cases for the sources, adaptors and consumers workcrew
//! offers (issue 13: "rayon's own tests for the adaptors we offer are the
//! judge of behaviour"), written anew against `workcrew::prelude`.
//!
//! Each test names the rayon tests it mirrors (`src/iter/test.rs`,
//! `src/slice/test.rs`, `src/range*.rs`, `tests/*.rs`, `rayon-core`); the
//! expected values were checked against rayon's documentation and against
//! the sequential `Iterator`. Where workcrew documents a different
//! behaviour (a panic stops the hand-out of new pieces, which rayon only
//! does under `panic_fuse`), the test asserts workcrew's and says so.
//!
//! Everything runs under [`with_deadline`]; most cases on a four-thread
//! pool (`pool().install`), a few from outside any pool (the global pool),
//! as rayon's tests do.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use common::{numbers, panic_text_of, spin, with_deadline, LIMIT};
use workcrew::prelude::*;
use workcrew::Pool;

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(4))
}

/// Runs `body` on the four-thread pool, under the deadline.
fn on_pool<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> R {
    with_deadline(LIMIT, move || pool().install(body))
}

/// Compiles only for an indexed parallel iterator.
fn is_indexed<I: IndexedParallelIterator>(_: &I) {}

/// `len` small numbers below `modulus` (many duplicates), from `seed`.
fn small_numbers(len: usize, modulus: u64, seed: u64) -> Vec<i32> {
    numbers(len, seed)
        .into_iter()
        .map(|x| (x % modulus) as i32)
        .collect()
}

// ---------------------------------------------------------------- sources

// rayon: src/iter/test.rs execute, execute_cloned, execute_range
#[test]
fn map_cloned_and_range_collect_into_vec_match_sequential() {
    on_pool(|| {
        let a: Vec<i32> = (0..1024).collect();
        let mut b = vec![];
        a.par_iter().map(|&i| i + 1).collect_into_vec(&mut b);
        assert_eq!(b, (1..1025).collect::<Vec<i32>>());

        // A target longer than the result is cut to the result.
        let mut c = vec![-1; 3000];
        a.par_iter().cloned().collect_into_vec(&mut c);
        assert_eq!(c, a);

        let mut d = vec![];
        (0i32..1024)
            .into_par_iter()
            .map(|i| i + 1)
            .collect_into_vec(&mut d);
        assert_eq!(d, b);
    });
}

// rayon: src/iter/test.rs check_map_indexed, check_slice_indexed,
// check_slice_mut_indexed, check_vec_indexed, check_range_indexed
#[test]
fn slices_vectors_ranges_and_one_for_one_adaptors_are_indexed() {
    let a = vec![1, 2, 3];
    let mut m = vec![1, 2, 3];
    let arr = [1, 2, 3, 4];

    let it = a.par_iter().map(|x| x);
    is_indexed(&it);
    assert_eq!(it.len(), 3);
    let it = m.par_iter_mut();
    is_indexed(&it);
    assert_eq!(it.len(), 3);
    let it = a.clone().into_par_iter();
    is_indexed(&it);
    assert_eq!(it.len(), 3);
    let it = (1..5).into_par_iter();
    is_indexed(&it);
    assert_eq!(it.len(), 4);
    let it = (1..=5).into_par_iter();
    is_indexed(&it);
    assert_eq!(it.len(), 5);
    assert_eq!(arr.par_iter().len(), 4);
    assert_eq!(a.par_chunks(2).len(), 2);
    assert_eq!(a.par_chunks_exact(2).len(), 1);
    assert_eq!(a.par_windows(2).len(), 2);
    assert_eq!(a.par_iter().zip(&arr).enumerate().len(), 3);
    assert_eq!(a.par_iter().copied().len(), 3);
    assert_eq!(a.par_iter().cloned().len(), 3);
    assert_eq!(a.par_iter().inspect(|_| ()).len(), 3);
    assert_eq!(a.par_iter().map_init(|| (), |_, x| x).len(), 3);
    assert_eq!(a.par_iter().with_min_len(2).with_max_len(5).len(), 3);
}

// rayon: src/iter/test.rs check_move, check_drops (the unconsumed and the
// fully consumed cases; the half-split producer is plumbing we hide)
#[test]
fn a_vector_by_value_moves_its_elements_and_drops_them_once() {
    on_pool(|| {
        let a = vec![vec![1, 2, 3]];
        let inner = a[0].as_ptr();
        let mut b = vec![];
        a.into_par_iter().collect_into_vec(&mut b);
        assert_eq!(b[0].as_ptr(), inner, "the inner vector must be moved");

        static DROPS: AtomicUsize = AtomicUsize::new(0);
        #[derive(Clone)]
        struct Counted;
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::SeqCst);
            }
        }
        let a = vec![Counted; 10];
        let mut b = vec![];
        a.clone().into_par_iter().collect_into_vec(&mut b);
        assert_eq!(DROPS.load(Ordering::SeqCst), 0);
        drop(b.into_par_iter()); // never consumed
        assert_eq!(DROPS.load(Ordering::SeqCst), 10);
        assert_eq!(a.into_par_iter().count(), 10);
        assert_eq!(DROPS.load(Ordering::SeqCst), 20);
    });
}

// rayon: src/iter/test.rs check_increment, check_slice_mut_indexed
#[test]
fn par_iter_mut_over_vectors_slices_and_arrays_writes_every_element() {
    on_pool(|| {
        let mut a: Vec<usize> = (0..1024).rev().collect();
        a.par_iter_mut().enumerate().for_each(|(i, v)| *v += i);
        assert!(a.iter().all(|&x| x == 1023));

        let mut arr = [1u64; 300];
        arr.par_iter_mut().for_each(|x| *x = spin(*x));
        assert!(arr.iter().all(|&x| x == spin(1)));

        let slice: &mut [u64] = &mut arr[100..];
        slice.par_iter_mut().for_each(|x| *x = 0);
        assert_eq!(arr.iter().filter(|&&x| x == 0).count(), 200);
    });
}

// rayon: src/range_inclusive.rs test_u32_opt_len, test_u64_opt_len;
// src/range.rs test_u64_opt_len, test_usize_i64_overflow
#[test]
fn range_lengths_at_the_edges_of_their_types() {
    assert_eq!((0..=100u32).into_par_iter().len(), 101);
    assert_eq!((0..=u32::MAX - 1).into_par_iter().len(), u32::MAX as usize);
    assert_eq!((0..=u32::MAX).into_par_iter().len(), u32::MAX as usize + 1);
    assert_eq!((0..100u64).into_par_iter().len(), 100);
    assert_eq!((0..usize::MAX as u64).into_par_iter().len(), usize::MAX);
    assert_eq!(
        (0..=usize::MAX as u64 - 1).into_par_iter().len(),
        usize::MAX
    );
    assert_eq!((-2..i64::MAX).into_par_iter().len(), i64::MAX as usize + 2);
    assert_eq!((-2..=i64::MAX).into_par_iter().len(), i64::MAX as usize + 3);
    assert_eq!((i64::MIN..i64::MAX).into_par_iter().len(), usize::MAX);
    assert_eq!((0..=u8::MAX).into_par_iter().len(), 256);
    assert_eq!((i8::MIN..=i8::MAX).into_par_iter().len(), 256);
    // Empty and reversed ranges are empty, as sequentially.
    assert_eq!((5..5).into_par_iter().len(), 0);
    let (high, low) = (5, 3);
    assert_eq!((high..low).into_par_iter().len(), 0);
    assert_eq!((high..=low).into_par_iter().count(), 0);
}

// rayon: src/range.rs test_usize_i64_overflow, check_range_split_at_overflow;
// src/range_inclusive.rs test_usize_i64_overflow
#[test]
fn ranges_yield_their_values_up_to_the_type_limits() {
    on_pool(|| {
        let all_u8: Vec<u8> = (0..=u8::MAX).into_par_iter().with_max_len(7).collect();
        assert_eq!(all_u8, (0..=u8::MAX).collect::<Vec<_>>());
        let below_max: Vec<u8> = (0..u8::MAX).into_par_iter().with_max_len(7).collect();
        assert_eq!(below_max, (0..u8::MAX).collect::<Vec<_>>());
        let all_i8: Vec<i8> = (i8::MIN..=i8::MAX)
            .into_par_iter()
            .with_max_len(3)
            .collect();
        assert_eq!(all_i8, (i8::MIN..=i8::MAX).collect::<Vec<_>>());

        // Pieces whose start lies beyond `i8::MAX` from the range's start.
        for max_len in [1, 7, 150] {
            let sum: i32 = (-100i8..100)
                .into_par_iter()
                .with_max_len(max_len)
                .map(i32::from)
                .sum();
            assert_eq!(sum, -100);
        }

        let top: Vec<i64> = (i64::MAX - 10..=i64::MAX).into_par_iter().collect();
        assert_eq!(top, (i64::MAX - 10..=i64::MAX).collect::<Vec<_>>());
        let bottom: Vec<i64> = (i64::MIN..i64::MIN + 10).into_par_iter().collect();
        assert_eq!(bottom, (i64::MIN..i64::MIN + 10).collect::<Vec<_>>());
        let top_u64: Vec<u64> = (u64::MAX - 5..=u64::MAX).into_par_iter().collect();
        assert_eq!(top_u64, (u64::MAX - 5..=u64::MAX).collect::<Vec<_>>());

        // A range longer than `i64::MAX`: the answer is at its start.
        assert_eq!(
            (-2..=i64::MAX).into_par_iter().find_first(|_| true),
            Some(-2)
        );
        // Zipped with a short slice, the pieces reach the range's end.
        let ends: Vec<(i64, &str)> = (i64::MAX - 2..=i64::MAX)
            .into_par_iter()
            .zip(["a", "b", "c", "d"].par_iter().copied())
            .collect();
        assert_eq!(
            ends,
            [(i64::MAX - 2, "a"), (i64::MAX - 1, "b"), (i64::MAX, "c")]
        );
    });
}

// rayon: src/range.rs test_issue_833, src/range_inclusive.rs test_issue_833
#[test]
fn the_range_integer_type_is_inferred_from_its_use() {
    fn is_even(n: i64) -> bool {
        n % 2 == 0
    }
    let v: Vec<_> = (1..100).into_par_iter().filter(|&x| is_even(x)).collect();
    assert!(v.into_iter().eq((2..100).step_by(2)));
    let v: Vec<_> = (1..=100).into_par_iter().filter(|&x| is_even(x)).collect();
    assert!(v.into_iter().eq((2..=100).step_by(2)));

    let at = (0..100).into_par_iter().position_any(|x| x == 50i16);
    assert_eq!(at, Some(50));
    let at = (0..=100).into_par_iter().position_any(|x| x == 50i16);
    assert_eq!(at, Some(50));
    assert!((0..100)
        .into_par_iter()
        .zip(0..100)
        .all(|(a, b)| i16::eq(&a, &b)));
    assert!((0..=100)
        .into_par_iter()
        .zip(0..=100)
        .all(|(a, b)| i16::eq(&a, &b)));
}

// rayon: tests/octillion.rs (find_first_octillion, find_any_octillion,
// filter_find_any_octillion, fold_find_any_octillion_flat), on the longest
// range workcrew offers (`u64`; rayon's uses `u128`)
#[test]
fn searches_over_an_enormous_range_stop_at_the_answer() {
    on_pool(|| {
        let huge = || (0..u64::MAX).into_par_iter();
        assert_eq!(huge().find_first(|_| true), Some(0));
        assert!(huge().find_any(|_| true).is_some());
        assert_eq!(huge().position_first(|x| x == 1_000), Some(1_000));
        assert!(huge().filter(|x| x % 2 == 1).find_any(|_| true).is_some());
        assert!(huge().any(|x| x > 10));
        assert!(!huge().all(|x| x < 10));
        assert!(huge()
            .fold(|| 0u64, |count, _| count + 1)
            .find_any(|_| true)
            .is_some());
        let inclusive = (0..=u64::MAX - 1).into_par_iter();
        assert_eq!(inclusive.find_first(|&x| x >= 5), Some(5));
    });
}

// Intended difference (rayon: src/range_inclusive.rs test_u64_opt_len):
// rayon runs `0..=u64::MAX` as an unindexed iterator; workcrew's ranges are
// all indexed by `usize` and refuse a longer one with a clear panic.
#[test]
fn a_range_longer_than_usize_max_is_refused_with_a_message() {
    let message = panic_text_of(|| (0..=u64::MAX).into_par_iter().count());
    assert!(message.contains("longer than usize::MAX"), "{message}");
}

// ----------------------------------------------------------------- slices

// rayon: src/iter/test.rs check_chunks, check_chunks_mut
#[test]
fn chunks_and_mutable_chunks_match_the_standard_library() {
    on_pool(|| {
        let a: Vec<i32> = vec![1, 5, 10, 4, 100, 3, 1000, 2, 10000, 1];
        let pairs: i32 = a.par_chunks(2).map(|c| c.iter().product::<i32>()).sum();
        assert_eq!(pairs, 12345);
        assert_eq!(pairs, a.chunks(2).map(|c| c.iter().product::<i32>()).sum());
        let triples: i32 = a.par_chunks(3).map(|c| c.iter().product::<i32>()).sum();
        assert_eq!(triples, 50 + 1200 + 20_000_000 + 1);

        for size in [2, 3] {
            let mut par: Vec<i32> = (1..=10).collect();
            let mut seq = par.clone();
            par.par_chunks_mut(size).for_each(|c| c[0] = c.iter().sum());
            seq.chunks_mut(size).for_each(|c| c[0] = c.iter().sum());
            assert_eq!(par, seq);
        }
        let mut a: Vec<i32> = (1..=10).collect();
        a.par_chunks_mut(3).for_each(|c| c[0] = c.iter().sum());
        assert_eq!(a, [6, 2, 3, 15, 5, 6, 24, 8, 9, 10]);
    });
}

// rayon: src/iter/test.rs check_windows (without `chain`, not offered)
#[test]
fn windows_match_the_standard_library_even_when_longer_than_the_slice() {
    on_pool(|| {
        let a: Vec<i32> = (0..1024).collect();
        for size in [1, 2, 100, 1024, 1025, 1_000_000] {
            let par: Vec<&[i32]> = a.par_windows(size).collect();
            let seq: Vec<&[i32]> = a.windows(size).collect();
            assert_eq!(par, seq, "window size {size}");
        }
        let par: Vec<_> = a.par_windows(2).zip(a.par_windows(3)).collect();
        let seq: Vec<_> = a.windows(2).zip(a.windows(3)).collect();
        assert_eq!(par, seq);
        let empty: [i32; 0] = [];
        assert_eq!(empty.par_windows(1).count(), 0);
    });
}

// rayon: src/slice/test.rs test_par_chunks_exact_remainder,
// test_par_chunks_exact_mut_remainder (without `into_remainder` and
// `take_remainder`, which workcrew's `ChunksMut` lacks)
#[test]
fn exact_chunks_leave_the_remainder_out() {
    let v: &[i32] = &[0, 1, 2, 3, 4];
    let c = v.par_chunks_exact(2);
    assert_eq!(c.remainder(), &[4]);
    assert_eq!(c.len(), 2);
    assert_eq!(c.collect::<Vec<_>>(), [&[0, 1][..], &[2, 3]]);

    let mut w = [0, 1, 2, 3, 4];
    let c = w.par_chunks_exact_mut(2);
    assert_eq!(c.len(), 2);
    c.for_each(|chunk| chunk.swap(0, 1));
    assert_eq!(w, [1, 0, 3, 2, 4]);
}

// rayon: tests/producer_split_at.rs (slice_chunks, slice_chunks_exact,
// slice_chunks_mut, slice_chunks_exact_mut, slice_windows, range,
// range_inclusive, vec, enumerate, zip, with_max_len): every way of cutting
// a source into pieces yields the sequential items
#[test]
fn every_piece_size_yields_the_sequential_items() {
    on_pool(|| {
        for len in 0..40usize {
            let v: Vec<usize> = (0..len).collect();
            for max in [1, 2, 3, 7, 64] {
                for size in 1..6 {
                    let par: Vec<&[usize]> = v.par_chunks(size).with_max_len(max).collect();
                    assert_eq!(par, v.chunks(size).collect::<Vec<_>>());
                    let par: Vec<&[usize]> = v.par_chunks_exact(size).with_max_len(max).collect();
                    assert_eq!(par, v.chunks_exact(size).collect::<Vec<_>>());
                    let par: Vec<&[usize]> = v.par_windows(size).with_max_len(max).collect();
                    assert_eq!(par, v.windows(size).collect::<Vec<_>>());

                    let mut par = v.clone();
                    par.par_chunks_mut(size)
                        .with_max_len(max)
                        .enumerate()
                        .for_each(|(i, c)| c.iter_mut().for_each(|x| *x += i * 1000));
                    let mut seq = v.clone();
                    seq.chunks_mut(size)
                        .enumerate()
                        .for_each(|(i, c)| c.iter_mut().for_each(|x| *x += i * 1000));
                    assert_eq!(par, seq);

                    let mut par = v.clone();
                    par.par_chunks_exact_mut(size)
                        .with_max_len(max)
                        .for_each(|c| c.reverse());
                    let mut seq = v.clone();
                    seq.chunks_exact_mut(size).for_each(|c| c.reverse());
                    assert_eq!(par, seq);
                }
                let par: Vec<usize> = (0..len).into_par_iter().with_max_len(max).collect();
                assert_eq!(par, v);
                let par: Vec<usize> = (0..=len).into_par_iter().with_max_len(max).collect();
                assert_eq!(par, (0..=len).collect::<Vec<_>>());
                let par: Vec<usize> = v.clone().into_par_iter().with_max_len(max).collect();
                assert_eq!(par, v);
                let par: Vec<(usize, (&usize, usize))> = v
                    .par_iter()
                    .zip(len / 2..len * 2)
                    .with_max_len(max)
                    .enumerate()
                    .collect();
                let seq: Vec<_> = v.iter().zip(len / 2..len * 2).enumerate().collect();
                assert_eq!(par, seq);
            }
        }
    });
}

// rayon: src/iter/test.rs check_chunks_zero_size's slice counterpart (the
// slice method panics as `<[T]>::chunks` does)
#[test]
fn a_chunk_or_window_size_of_zero_panics() {
    let v = [1, 2, 3];
    assert!(panic_text_of(|| v.par_chunks(0).count()).contains("zero"));
    assert!(panic_text_of(|| v.par_chunks_exact(0).count()).contains("zero"));
    assert!(panic_text_of(|| v.par_windows(0).count()).contains("zero"));
    let mut w = [1, 2, 3];
    assert!(panic_text_of(|| w.par_chunks_mut(0).count()).contains("zero"));
}

// --------------------------------------------------------------- adaptors

// rayon: src/iter/test.rs map_sum, map_reduce, map_reduce_with
#[test]
fn map_then_sum_reduce_and_reduce_with_agree() {
    on_pool(|| {
        let a: Vec<i32> = (0..1024).collect();
        let expected: i32 = a.iter().map(|&i| i + 1).sum();
        assert_eq!(a.par_iter().map(|&i| i + 1).sum::<i32>(), expected);
        assert_eq!(
            a.par_iter().map(|&i| i + 1).reduce(|| 0, |i, j| i + j),
            expected
        );
        assert_eq!(
            a.par_iter().map(|&i| i + 1).reduce_with(|i, j| i + j),
            Some(expected)
        );
        let empty: [i32; 0] = [];
        assert_eq!(empty.par_iter().copied().reduce_with(|i, j| i + j), None);
        assert_eq!(empty.par_iter().copied().reduce(|| 7, |i, j| i + j), 7);
    });
}

// rayon: src/iter/test.rs fold_map_reduce: with `with_max_len(1)`, `fold`
// makes one accumulator per item, and `reduce_with` keeps their order
#[test]
fn fold_over_pieces_of_one_item_then_reduce_keeps_the_order() {
    on_pool(|| {
        let folded = (0_i32..32)
            .into_par_iter()
            .with_max_len(1)
            .fold(Vec::new, |mut v, e| {
                v.push(e);
                v
            })
            .map(|v| vec![v])
            .reduce_with(|mut a, b| {
                a.extend(b);
                a
            });
        let expected: Vec<Vec<i32>> = (0..32).map(|i| vec![i]).collect();
        assert_eq!(folded, Some(expected));
    });
}

// rayon: src/iter/test.rs fold_is_full: a `find_any` after `fold` does not
// fold every item
#[test]
fn find_any_after_fold_stops_before_the_end() {
    on_pool(|| {
        let visited = AtomicUsize::new(0);
        let found = (0_i32..2048)
            .into_par_iter()
            .inspect(|_| {
                visited.fetch_add(1, Ordering::SeqCst);
            })
            .fold(|| 0, |a, b| a + b)
            .find_any(|_| true);
        assert!(found.is_some());
        assert!(visited.load(Ordering::SeqCst) < 2048);
    });
}

// rayon: src/iter/test.rs check_enumerate
#[test]
fn enumerate_pairs_each_item_with_its_position() {
    on_pool(|| {
        let a: Vec<usize> = (0..1024).rev().collect();
        let mut b = vec![];
        a.par_iter()
            .enumerate()
            .map(|(i, &x)| i + x)
            .collect_into_vec(&mut b);
        assert_eq!(b.len(), 1024);
        assert!(b.iter().all(|&x| x == 1023));
        let chunks: Vec<(usize, usize)> = a
            .par_chunks(100)
            .enumerate()
            .map(|(i, c)| (i, c.len()))
            .collect();
        assert_eq!(chunks.len(), 11);
        assert_eq!(chunks[10], (10, 24));
    });
}

// rayon: src/iter/test.rs check_zip, check_zip_into_par_iter,
// check_zip_into_mut_par_iter, check_zip_range
#[test]
fn zip_with_slices_vectors_mutable_vectors_and_ranges() {
    on_pool(|| {
        let b: Vec<usize> = (0..1024).collect();
        let mut a: Vec<usize> = (0..1024).rev().collect();
        a.par_iter_mut().zip(&b[..]).for_each(|(a, &b)| *a += b);
        assert!(a.iter().all(|&x| x == 1023));

        let mut a: Vec<usize> = (0..1024).rev().collect();
        a.par_iter_mut().zip(&b).for_each(|(a, &b)| *a += b);
        assert!(a.iter().all(|&x| x == 1023));

        let a: Vec<usize> = (0..1024).rev().collect();
        let mut c = b.clone();
        a.par_iter().zip(&mut c).for_each(|(&a, c)| *c += a);
        assert!(c.iter().all(|&x| x == 1023));

        let mut a: Vec<usize> = (0..1024).rev().collect();
        a.par_iter_mut()
            .zip(0usize..1024)
            .for_each(|(a, b)| *a += b);
        assert!(a.iter().all(|&x| x == 1023));
    });
}

// rayon: the `zip` documentation ("the shorter of the two lengths")
#[test]
fn zip_of_unequal_lengths_stops_at_the_shorter() {
    on_pool(|| {
        let long: Vec<u64> = (0..1000).collect();
        let short: Vec<u64> = (0..10).collect();
        let z = long.par_iter().zip(&short);
        assert_eq!(z.len(), 10);
        let par: Vec<(&u64, &u64)> = z.collect();
        assert_eq!(par, long.iter().zip(&short).collect::<Vec<_>>());
        let par: Vec<(u64, u64)> = short
            .par_iter()
            .copied()
            .zip(long.par_iter().copied())
            .collect();
        assert_eq!(
            par,
            short
                .iter()
                .copied()
                .zip(long.iter().copied())
                .collect::<Vec<_>>()
        );
        assert_eq!(long.par_iter().zip(0..0u64).count(), 0);
    });
}

// rayon: src/iter/test.rs check_sum_filtered_ints, check_sum_filtermap_ints,
// check_count
#[test]
fn filter_and_filter_map_then_sum_or_count_match_sequential() {
    on_pool(|| {
        let a: Vec<i32> = (1..=10).collect();
        let evens: i32 = a.par_iter().filter(|&x| (x & 1) == 0).sum();
        assert_eq!(evens, 30);
        let evens: u32 = a
            .par_iter()
            .filter_map(|&x| ((x & 1) == 0).then_some(x as u32))
            .sum();
        assert_eq!(evens, 30);

        let n = 24 * 1024;
        let par = (0_u32..n).into_par_iter().filter(|i| i % 2 == 0).count();
        assert_eq!(par, (0_u32..n).filter(|i| i % 2 == 0).count());
    });
}

// rayon: src/iter/test.rs check_flat_map_nested_ranges,
// check_empty_flat_map_sum, par_iter_unindexed_flat_map,
// par_iter_collect_linked_list_flat_map_filter (with `flat_map_iter`: the
// inner iterators sequential, and into a `Vec`)
#[test]
fn flat_map_iter_matches_sequential_flat_map() {
    on_pool(|| {
        let par: i32 = (0_i32..10)
            .into_par_iter()
            .flat_map_iter(|i| (0_i32..10).map(move |j| (i, j)))
            .map(|(i, j)| i * j)
            .sum();
        let seq: i32 = (0_i32..10)
            .flat_map(|i| (0_i32..10).map(move |j| (i, j)))
            .map(|(i, j)| i * j)
            .sum();
        assert_eq!(par, seq);

        let a: Vec<i32> = (0..1024).collect();
        let empty = &a[..0];
        assert_eq!(a.par_iter().flat_map_iter(|_| empty).sum::<i32>(), 0);
        assert_eq!(empty.par_iter().flat_map_iter(|_| &a).sum::<i32>(), 0);

        let par: Vec<i64> = (0_i64..1024).into_par_iter().flat_map_iter(Some).collect();
        assert_eq!(par, (0_i64..1024).collect::<Vec<_>>());

        let par: Vec<i32> = (0_i32..1024)
            .into_par_iter()
            .flat_map_iter(|i| 0..i)
            .filter(|&i| i % 2 == 0)
            .collect();
        let seq: Vec<i32> = (0_i32..1024)
            .flat_map(|i| 0..i)
            .filter(|&i| i % 2 == 0)
            .collect();
        assert_eq!(par, seq);
    });
}

// rayon: src/iter/test.rs check_options, check_results (with
// `flat_map_iter`), including `sum`/`product` of `Result`s
#[test]
fn options_and_results_flatten_sum_and_multiply() {
    on_pool(|| {
        let mut a = vec![None, Some(1), None, None, Some(2), Some(4)];
        assert_eq!(a.par_iter().flat_map_iter(|o| o).sum::<i32>(), 7);
        a.par_iter_mut()
            .flat_map_iter(|o| o)
            .for_each(|x| *x = *x * *x);
        assert_eq!(a.into_par_iter().flat_map_iter(|o| o).sum::<i32>(), 21);

        let mut r: Vec<Result<i32, ()>> = vec![Err(()), Ok(1), Err(()), Err(()), Ok(2), Ok(4)];
        assert_eq!(r.par_iter().flat_map_iter(|r| r).sum::<i32>(), 7);
        assert_eq!(r.par_iter().cloned().sum::<Result<i32, ()>>(), Err(()));
        assert_eq!(
            r.par_iter()
                .cloned()
                .filter(Result::is_ok)
                .sum::<Result<i32, ()>>(),
            Ok(7)
        );
        assert_eq!(r.par_iter().cloned().product::<Result<i32, ()>>(), Err(()));
        assert_eq!(
            r.par_iter()
                .cloned()
                .filter(Result::is_ok)
                .product::<Result<i32, ()>>(),
            Ok(8)
        );
        r.par_iter_mut()
            .flat_map_iter(|r| r)
            .for_each(|x| *x = *x * *x);
        assert_eq!(r.into_par_iter().flat_map_iter(|r| r).sum::<i32>(), 21);
    });
}

// rayon: src/iter/test.rs check_inspect, execute_cloned; copied/cloned as
// in tests/producer_split_at.rs cloned, copied
#[test]
fn inspect_sees_every_item_and_copied_cloned_keep_them() {
    on_pool(|| {
        let seen = AtomicUsize::new(0);
        let total: usize = (0_usize..1024)
            .into_par_iter()
            .inspect(|&i| {
                seen.fetch_add(i, Ordering::Relaxed);
            })
            .sum();
        assert_eq!(seen.load(Ordering::Relaxed), total);
        assert_eq!(total, 1023 * 1024 / 2);

        let words = vec![String::from("a"), String::from("bb"), String::from("ccc")];
        let cloned: Vec<String> = words.par_iter().cloned().collect();
        assert_eq!(cloned, words);
        let lengths: Vec<usize> = words.par_iter().map(String::len).collect();
        let copied: Vec<usize> = lengths.par_iter().copied().collect();
        assert_eq!(copied, [1, 2, 3]);
    });
}

// rayon: src/iter/test.rs check_map_with, check_for_each_with (the `_with`
// forms are not offered; their `_init` siblings are, with init at most once
// per worker thread per call, where rayon runs it once per split)
#[test]
fn map_init_and_for_each_init_see_every_item_with_few_inits() {
    on_pool(|| {
        let inits = AtomicUsize::new(0);
        let (sender, receiver) = std::sync::mpsc::channel();
        let sender = Mutex::new(sender);
        let items: Vec<u64> = (0..1024).collect();
        let expected: HashSet<u64> = items.iter().copied().collect();
        let count = items
            .par_iter()
            .copied()
            .map_init(
                || {
                    inits.fetch_add(1, Ordering::SeqCst);
                    sender.lock().unwrap().clone()
                },
                |s, i| s.send(spin(i) ^ spin(i) ^ i).unwrap(),
            )
            .count();
        assert_eq!(count, 1024);
        drop(sender);
        assert_eq!(receiver.iter().collect::<HashSet<_>>(), expected);
        let threads = workcrew::current_num_threads();
        assert!(inits.load(Ordering::SeqCst) <= threads + 1);

        let inits = AtomicUsize::new(0);
        let sum = AtomicUsize::new(0);
        (0..5000u64).into_par_iter().for_each_init(
            || {
                inits.fetch_add(1, Ordering::SeqCst);
                0u64
            },
            |seen, i| {
                *seen += 1;
                sum.fetch_add((spin(i) % 2 + i) as usize, Ordering::Relaxed);
            },
        );
        let expected: u64 = (0..5000u64).map(|i| spin(i) % 2 + i).sum();
        assert_eq!(sum.load(Ordering::Relaxed) as u64, expected);
        assert!(inits.load(Ordering::SeqCst) <= threads + 1);

        let mapped: Vec<u64> = (0..3000u64)
            .into_par_iter()
            .map_init(Vec::new, |buffer: &mut Vec<u64>, i| {
                buffer.push(i);
                spin(i)
            })
            .collect();
        assert_eq!(mapped, (0..3000u64).map(spin).collect::<Vec<_>>());
    });
}

// rayon: src/iter/test.rs check_lengths: `fold` after the length bounds
// shows the pieces handed out, each within the normalised bounds (at least
// `min` unless the whole is shorter, at most `max(max, 2 * min - 1)`)
#[test]
fn with_min_len_and_with_max_len_bound_the_pieces() {
    on_pool(|| {
        let len = 64 * 1024;
        let bounds = [0, 1, 10, 100, 1_000, 10_000, 100_000, usize::MAX];
        for &min in &bounds {
            for &max in &bounds {
                let min_check = min.max(1).min(len);
                let max_check = max.max(min_check.saturating_add(min_check - 1));
                let sizes: Vec<usize> = (0..len)
                    .into_par_iter()
                    .with_min_len(min)
                    .with_max_len(max)
                    .fold(|| 0, |count, _| count + 1)
                    .collect();
                assert_eq!(sizes.iter().sum::<usize>(), len);
                assert!(
                    sizes.iter().all(|&c| c >= min_check && c <= max_check),
                    "min {min}, max {max}: pieces {sizes:?} outside {min_check}..={max_check}"
                );
            }
        }
    });
}

// ---------------------------------------------------------------- searches

// rayon: src/iter/test.rs find_any (with position_any, any, all)
#[test]
fn find_any_position_any_any_and_all_answer_like_rayon() {
    on_pool(|| {
        let a: Vec<i32> = (0..1024).collect();
        assert!(a.par_iter().find_any(|&&x| x % 42 == 41).is_some());
        assert_eq!(
            a.par_iter().find_any(|&&x| x % 19 == 1 && x % 53 == 0),
            Some(&742)
        );
        assert_eq!(a.par_iter().find_any(|&&x| x < 0), None);
        let at = a.par_iter().position_any(|&x| x % 42 == 41).unwrap();
        assert_eq!(at % 42, 41);
        assert_eq!(
            a.par_iter().position_any(|&x| x % 19 == 1 && x % 53 == 0),
            Some(742)
        );
        assert_eq!(a.par_iter().position_any(|&x| x < 0), None);
        assert!(a.par_iter().any(|&x| x > 1000));
        assert!(!a.par_iter().any(|&x| x < 0));
        assert!(!a.par_iter().all(|&x| x > 1000));
        assert!(a.par_iter().all(|&x| x >= 0));
        let empty: [i32; 0] = [];
        assert!(!empty.par_iter().any(|_| true));
        assert!(empty.par_iter().all(|_| false));
    });
}

// rayon: src/iter/test.rs find_first_or_last (the `first` half; `find_last`
// and `position_last` are not offered)
#[test]
fn find_first_and_position_first_return_the_earliest_match() {
    on_pool(|| {
        let a: Vec<i32> = (0..1024).collect();
        assert_eq!(a.par_iter().find_first(|&&x| x % 42 == 41), Some(&41));
        assert_eq!(
            a.par_iter().find_first(|&&x| x % 19 == 1 && x % 53 == 0),
            Some(&742)
        );
        assert_eq!(a.par_iter().find_first(|&&x| x < 0), None);
        assert_eq!(a.par_iter().position_first(|&x| x % 42 == 41), Some(41));
        assert_eq!(a.par_iter().position_first(|&x| x < 0), None);

        // Slow items, many matches: still the earliest, over several threads.
        let v: Vec<u64> = (0..20_000).collect();
        let first = v
            .par_iter()
            .position_first(|&x| spin(x).is_multiple_of(97) && x > 5_000);
        let seq = v
            .iter()
            .position(|&x| spin(x).is_multiple_of(97) && x > 5_000);
        assert_eq!(first, seq);
    });
}

// rayon: src/iter/test.rs check_find_not_present, check_find_is_present
#[test]
fn find_any_visits_everything_only_when_nothing_matches() {
    on_pool(|| {
        let visited = AtomicUsize::new(0);
        let found = (0_i32..2048).into_par_iter().find_any(|&p| {
            visited.fetch_add(1, Ordering::SeqCst);
            p >= 2048
        });
        assert_eq!(found, None);
        assert_eq!(visited.load(Ordering::SeqCst), 2048);

        let visited = AtomicUsize::new(0);
        let found = (0_i32..2048).into_par_iter().find_any(|&p| {
            visited.fetch_add(1, Ordering::SeqCst);
            (1024..1096).contains(&p)
        });
        assert!((1024..1096).contains(&found.unwrap()));
        assert!(visited.load(Ordering::SeqCst) < 2048);
    });
}

// -------------------------------------------------------------- collecting

// rayon: src/iter/test.rs par_iter_collect_option, par_iter_collect_result
#[test]
fn collect_into_option_and_result_stops_at_none_or_err() {
    on_pool(|| {
        let seq: Option<Vec<i32>> = (0_i32..2048).map(Some).collect();
        let par: Option<Vec<i32>> = (0_i32..2048).into_par_iter().map(Some).collect();
        assert_eq!(par, seq);
        let par: Option<Vec<i32>> = (0_i32..2048)
            .into_par_iter()
            .map(|x| if x == 1234 { None } else { Some(x) })
            .collect();
        assert_eq!(par, None);

        let seq: Result<Vec<i32>, ()> = (0_i32..2048).map(Ok).collect();
        let par: Result<Vec<i32>, ()> = (0_i32..2048).into_par_iter().map(Ok).collect();
        assert_eq!(par, seq);
        let par: Result<Vec<i32>, i32> = (0_i32..2048)
            .into_par_iter()
            .map(|x| if x == 1234 { Err(x) } else { Ok(x) })
            .collect();
        assert_eq!(par, Err(1234));
        let par: Result<Vec<i32>, i32> = (0_i32..2048)
            .into_par_iter()
            .map(|x| if x % 100 == 99 { Err(x) } else { Ok(x) })
            .collect();
        assert_eq!(par.map_err(|x| x % 100), Err(99));
    });
}

// rayon: tests/issue671.rs (a long chain of maps collected into
// `Result<(), ()>`)
#[test]
fn a_long_chain_collects_into_a_result_of_unit() {
    let ok = Vec::<Result<(), ()>>::new()
        .into_par_iter()
        .map(|x| x)
        .map(|x| x)
        .map(|x| x)
        .map(|x| x)
        .map(|x| x)
        .map(|x| x)
        .collect::<Result<(), ()>>();
    assert_eq!(ok, Ok(()));
    let err = on_pool(|| {
        (0..3000)
            .into_par_iter()
            .map(|i| if i == 2999 { Err(i) } else { Ok(()) })
            .map(|x| x)
            .collect::<Result<(), i32>>()
    });
    assert_eq!(err, Err(2999));
}

// rayon: src/iter/test.rs par_iter_collect, par_iter_collect_hashmap,
// par_iter_collect_hashset, par_iter_collect_btreemap,
// par_iter_collect_btreeset
#[test]
fn collect_into_vectors_maps_and_sets() {
    on_pool(|| {
        let a: Vec<i32> = (0..1024).collect();
        let v: Vec<i32> = a.par_iter().map(|&i| i + 1).collect();
        assert_eq!(v, (1..1025).collect::<Vec<_>>());

        let m: HashMap<i32, String> = a.par_iter().map(|&i| (i, format!("{i}"))).collect();
        assert_eq!(&m[&3], "3");
        assert_eq!(m.len(), 1024);
        let s: HashSet<i32> = a.par_iter().cloned().collect();
        assert_eq!(s.len(), 1024);
        let m: BTreeMap<i32, String> = a.par_iter().map(|&i| (i, format!("{i}"))).collect();
        assert_eq!(&m[&3], "3");
        assert_eq!(m.len(), 1024);
        let s: BTreeSet<i32> = a.par_iter().cloned().collect();
        assert_eq!(s.len(), 1024);

        // Of equal keys, the last item wins, as in a sequential collect.
        let m: HashMap<i32, i32> = a.par_iter().map(|&i| (i % 10, i)).collect();
        let seq: HashMap<i32, i32> = a.iter().map(|&i| (i % 10, i)).collect();
        assert_eq!(m, seq);
        let m: BTreeMap<i32, i32> = a.par_iter().map(|&i| (i % 10, i)).collect();
        assert_eq!(
            m,
            a.iter().map(|&i| (i % 10, i)).collect::<BTreeMap<_, _>>()
        );
    });
}

// rayon: src/iter/test.rs par_iter_collect_cows (the `String` cases: from
// `char`, `&str` and `String` items)
#[test]
fn collect_into_a_string_keeps_the_order() {
    on_pool(|| {
        let text = "Fearless Concurrency with Rust".repeat(50);
        let chars: Vec<char> = text.chars().collect();
        let s: String = chars.par_iter().copied().collect();
        assert_eq!(s, text);
        let words: Vec<&str> = text.split_whitespace().collect();
        let s: String = words.par_iter().copied().collect();
        assert_eq!(s, text.split_whitespace().collect::<String>());
        let s: String = words.par_iter().map(|w| w.to_uppercase()).collect();
        assert_eq!(
            s,
            text.split_whitespace()
                .map(|w| w.to_uppercase())
                .collect::<String>()
        );
    });
}

// rayon: src/iter/test.rs check_extend_items, check_extend_pairs (the
// by-value halves; extending from references is not offered)
#[test]
fn par_extend_matches_extend_for_vectors_maps_and_sets() {
    fn check<C>()
    where
        C: Default + Eq + std::fmt::Debug + Extend<i32> + ParallelExtend<i32>,
    {
        let mut seq = C::default();
        let mut par = C::default();
        seq.extend(0..128);
        par.par_extend(0..128);
        assert_eq!(seq, par);
        seq.extend(-128..0);
        par.par_extend((-128..0).into_par_iter().map(|x| x));
        assert_eq!(seq, par);
        let v: Vec<i32> = (500..3000).collect();
        seq.extend(v.clone());
        par.par_extend(v);
        assert_eq!(seq, par);
    }
    fn check_pairs<C>()
    where
        C: Default + Eq + std::fmt::Debug + Extend<(usize, i32)> + ParallelExtend<(usize, i32)>,
    {
        let mut seq = C::default();
        let mut par = C::default();
        let v: Vec<(usize, i32)> = (-128..0).enumerate().collect();
        seq.extend(v.clone());
        par.par_extend(v);
        assert_eq!(seq, par);
        seq.extend((0..128).enumerate());
        par.par_extend((0..128).into_par_iter().enumerate());
        assert_eq!(seq, par);
    }
    on_pool(|| {
        check::<Vec<i32>>();
        check::<HashSet<i32>>();
        check::<BTreeSet<i32>>();
        check_pairs::<HashMap<usize, i32>>();
        check_pairs::<BTreeMap<usize, i32>>();
        let mut s = String::from("x");
        s.par_extend(['a', 'b'].par_iter().copied());
        s.par_extend(vec!["cd", "ef"]);
        assert_eq!(s, "xabcdef");
    });
}

// rayon: src/iter/test.rs check_unzip (indexed and unindexed sides, and an
// unindexed source)
#[test]
fn unzip_into_vectors_and_sets_matches_sequential() {
    on_pool(|| {
        let (a, b): (Vec<_>, HashSet<_>) =
            (0..1024).into_par_iter().map(|i| i * i).enumerate().unzip();
        let (c, d): (Vec<_>, HashSet<_>) = (0..1024).map(|i| i * i).enumerate().unzip();
        assert_eq!((a, b), (c, d));

        let (a, b): (HashSet<_>, Vec<_>) =
            (0..1024).into_par_iter().map(|i| i * i).enumerate().unzip();
        let (c, d): (HashSet<_>, Vec<_>) = (0..1024).map(|i| i * i).enumerate().unzip();
        assert_eq!((a, b), (c, d));

        let (a, b): (Vec<_>, Vec<_>) = (0..1024).into_par_iter().map(|i| i * i).enumerate().unzip();
        let (c, d): (Vec<_>, Vec<_>) = (0..1024).map(|i| i * i).enumerate().unzip();
        assert_eq!((a, b), (c, d));

        let (a, b): (Vec<_>, Vec<_>) = (0..1024)
            .into_par_iter()
            .filter_map(|i| Some((i, i * i)))
            .unzip();
        let (c, d): (Vec<_>, Vec<_>) = (0..1024).map(|i| (i, i * i)).unzip();
        assert_eq!((a, b), (c, d));
    });
}

// rayon: src/iter/test.rs check_partition
#[test]
fn partition_matches_sequential() {
    on_pool(|| {
        let (a, b): (Vec<_>, Vec<_>) = (0..1024).into_par_iter().partition(|&i| i % 3 == 0);
        let (c, d): (Vec<_>, Vec<_>) = (0..1024).partition(|&i| i % 3 == 0);
        assert_eq!((a, b), (c, d));
        let (a, b): (HashSet<_>, BTreeSet<_>) =
            (0..1024).into_par_iter().partition(|&i| i % 3 == 0);
        assert_eq!(a.len() + b.len(), 1024);
        assert!(a.iter().all(|i| i % 3 == 0) && b.iter().all(|i| i % 3 != 0));
    });
}

// rayon: tests/collect.rs collect_drop_on_unwind: a panic in the middle of
// `collect_into_vec` drops exactly the items that were made
#[test]
fn a_panicking_collect_into_vec_drops_every_item_it_made_once() {
    struct Recorded<'a>(i64, &'a Mutex<Vec<i64>>);
    impl Drop for Recorded<'_> {
        fn drop(&mut self) {
            self.1.lock().unwrap().push(self.0);
        }
    }
    on_pool(|| {
        for will_panic in [true, false] {
            let made = Mutex::new(Vec::new());
            let dropped = Mutex::new(Vec::new());
            let mut a: Vec<i64> = (0..1024).collect();
            let b: Vec<i64> = (0..1024).collect();
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                let mut result = Vec::new();
                a.par_iter_mut()
                    .zip(&b)
                    .map(|(&mut a, &b)| {
                        if a > 740 && will_panic {
                            panic!("unwinding for test");
                        }
                        let item = a + b + spin(a as u64) as i64 % 2;
                        made.lock().unwrap().push(item);
                        Recorded(item, &dropped)
                    })
                    .collect_into_vec(&mut result);
                assert_eq!(result.len(), 1024);
            }));
            assert_eq!(outcome.is_err(), will_panic);
            let mut made = made.into_inner().unwrap();
            let mut dropped = dropped.into_inner().unwrap();
            made.sort_unstable();
            dropped.sort_unstable();
            assert_eq!(made, dropped, "the items made and the items dropped differ");
            if !will_panic {
                assert_eq!(made.len(), 1024);
            }
        }
    });
}

// rayon: tests/collect.rs collect_drop_on_unwind_zst
#[test]
fn a_panicking_collect_of_zero_sized_items_drops_each_made_once() {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    struct Empty;
    impl Drop for Empty {
        fn drop(&mut self) {
            DROPPED.fetch_add(1, Ordering::SeqCst);
        }
    }
    on_pool(|| {
        for will_panic in [true, false] {
            MADE.store(0, Ordering::SeqCst);
            DROPPED.store(0, Ordering::SeqCst);
            let a: Vec<i32> = (0..1024).collect();
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                let mut result = Vec::new();
                a.par_iter()
                    .map(|&a| {
                        if a > 740 && will_panic {
                            panic!("unwinding for test");
                        }
                        MADE.fetch_add(1, Ordering::SeqCst);
                        Empty
                    })
                    .collect_into_vec(&mut result);
                assert_eq!(result.len(), 1024);
            }));
            assert_eq!(outcome.is_err(), will_panic);
            assert_eq!(MADE.load(Ordering::SeqCst), DROPPED.load(Ordering::SeqCst));
            assert!(will_panic || DROPPED.load(Ordering::SeqCst) == 1024);
        }
    });
}

// ------------------------------------------------------- minimum, maximum

// rayon: src/iter/test.rs min_max (every prefix of random numbers)
#[test]
fn min_and_max_of_every_prefix_match_sequential() {
    on_pool(|| {
        let a: Vec<i32> = numbers(1024, 11).into_iter().map(|x| x as i32).collect();
        for i in (0..=a.len()).step_by(7).chain([1, 2, 1023, 1024]) {
            let slice = &a[..i];
            assert_eq!(slice.par_iter().min(), slice.iter().min());
            assert_eq!(slice.par_iter().max(), slice.iter().max());
        }
    });
}

// rayon: src/iter/test.rs min_max_by, min_max_by_key: with duplicate keys,
// the first minimum and the last maximum, as `Iterator`
#[test]
fn min_and_max_by_and_by_key_return_the_sequential_one_of_equal_elements() {
    on_pool(|| {
        let r: Vec<i32> = small_numbers(512, 50, 3);
        let a: Vec<(i32, u16)> = r.iter().chain(&r).copied().zip(0..).collect();
        for i in (0..=a.len()).step_by(5).chain([a.len()]) {
            let slice = &a[..i];
            assert_eq!(
                slice.par_iter().min_by(|x, y| x.0.cmp(&y.0)),
                slice.iter().min_by(|x, y| x.0.cmp(&y.0))
            );
            assert_eq!(
                slice.par_iter().max_by(|x, y| x.0.cmp(&y.0)),
                slice.iter().max_by(|x, y| x.0.cmp(&y.0))
            );
            assert_eq!(
                slice.par_iter().min_by_key(|x| x.0),
                slice.iter().min_by_key(|x| x.0)
            );
            assert_eq!(
                slice.par_iter().max_by_key(|x| x.0),
                slice.iter().max_by_key(|x| x.0)
            );
        }
        // Many equal elements spread over several threads.
        let flat: Vec<(u64, usize)> = (0..20_000).map(|i| (spin(i as u64) % 3, i)).collect();
        let key = |x: &&(u64, usize)| x.0;
        assert_eq!(flat.par_iter().min_by_key(key), flat.iter().min_by_key(key));
        assert_eq!(flat.par_iter().max_by_key(key), flat.iter().max_by_key(key));
    });
}

// ------------------------------------------------------------------ sorts

/// A comparison of two numbers, shared by the threads of a sort.
type Compare = dyn Fn(&i32, &i32) -> std::cmp::Ordering + Sync;

/// Runs `sort` (a parallel sort by a comparison) over rayon's inputs.
fn check_sort(sort: fn(&mut [i32], &Compare)) {
    let mut seed = 1;
    for len in (0..25).chain(500..501) {
        for modulus in [5, 10, 100] {
            for _ in 0..10 {
                seed += 1;
                let v = small_numbers(len, modulus, seed);
                let mut up = v.clone();
                sort(&mut up, &|a, b| a.cmp(b));
                assert!(up.is_sorted());
                let mut down = v.clone();
                sort(&mut down, &|a, b| b.cmp(a));
                assert!(down.is_sorted_by(|a, b| a >= b));
            }
        }
    }
    // Many duplicates.
    for len in [1_000, 10_000, 100_000] {
        for modulus in [5, 10, 100, 10_000] {
            seed += 1;
            let mut v = small_numbers(len, modulus, seed);
            sort(&mut v, &|a, b| a.cmp(b));
            assert!(v.is_sorted());
        }
    }
    // Many pre-sorted runs: a reversed sorted vector with a few disturbances.
    for len in [1_000, 10_000, 100_000] {
        for modulus in [5, 10, 1000, 50_000] {
            seed += 1;
            let mut v = small_numbers(len, modulus, seed);
            v.sort();
            v.reverse();
            let spots = numbers(10, seed);
            for pair in spots.chunks(2) {
                let (a, b) = (pair[0] as usize % len, pair[1] as usize % len);
                if a < b {
                    v[a..b].reverse();
                } else {
                    v.swap(a, b);
                }
            }
            sort(&mut v, &|a, b| a.cmp(b));
            assert!(v.is_sorted());
        }
    }
    // Degenerate slices.
    sort(&mut [], &|a, b| a.cmp(b));
    let mut one = [0x0DEA_DBEE];
    sort(&mut one, &|a, b| a.cmp(b));
    assert_eq!(one, [0x0DEA_DBEE]);
}

// rayon: src/slice/test.rs test_par_sort (par_sort_by)
#[test]
fn par_sort_by_sorts_rayons_inputs() {
    on_pool(|| check_sort(|v, cmp| v.par_sort_by(cmp)));
}

// rayon: src/slice/test.rs test_par_sort_unstable (par_sort_unstable_by)
#[test]
fn par_sort_unstable_by_sorts_rayons_inputs() {
    on_pool(|| check_sort(|v, cmp| v.par_sort_unstable_by(cmp)));
}

// rayon: src/slice/test.rs test_par_sort, test_par_sort_unstable (the
// zero-sized slices) and the by-key and natural-order forms
#[test]
fn every_par_sort_form_agrees_with_the_standard_library() {
    on_pool(|| {
        [(); 10].par_sort_by(|a, b| a.cmp(b));
        [(); 100].par_sort_unstable_by(|a, b| a.cmp(b));
        let mut units = [(); 20_000];
        units.par_sort();
        assert_eq!(units.len(), 20_000);

        let v: Vec<u64> = numbers(30_000, 5);
        let mut expected = v.clone();
        expected.sort();
        let mut a = v.clone();
        a.par_sort();
        assert_eq!(a, expected);
        let mut a = v.clone();
        a.par_sort_unstable();
        assert_eq!(a, expected);

        let key = |x: &u64| x % 1000;
        let mut expected = v.clone();
        expected.sort_by_key(key);
        let mut a = v.clone();
        a.par_sort_by_key(key);
        assert_eq!(a, expected, "par_sort_by_key must be stable");
        let mut a = v.clone();
        a.par_sort_unstable_by_key(key);
        assert!(a.is_sorted_by_key(key));
        a.sort();
        let mut all = v.clone();
        all.sort();
        assert_eq!(a, all, "par_sort_unstable_by_key must permute");
    });
}

// rayon: src/slice/test.rs test_par_sort (the random comparison: the
// elements are reordered somehow, and a real sort afterwards sorts them)
#[test]
fn a_sort_by_an_inconsistent_comparison_keeps_the_elements() {
    use std::cmp::Ordering::{Equal, Greater, Less};
    on_pool(|| {
        for stable in [true, false] {
            for len in [100, 20_000] {
                let state = AtomicUsize::new(7);
                let random = |_: &usize, _: &usize| {
                    let x = state.fetch_add(0x9E37_79B9, Ordering::Relaxed);
                    [Less, Equal, Greater][(spin(x as u64) % 3) as usize]
                };
                let mut v: Vec<usize> = (0..len).collect();
                // std's sorts may panic on a comparison that is no total
                // order (Rust 1.81+); either way the elements must remain.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                    if stable {
                        v.par_sort_by(random);
                    } else {
                        v.par_sort_unstable_by(random);
                    }
                }));
                v.par_sort_by(|a, b| a.cmp(b));
                assert!(v.iter().copied().eq(0..len), "stable {stable}, len {len}");
            }
        }
    });
}

// rayon: src/slice/test.rs test_par_sort_stability
#[test]
fn par_sort_by_keeps_equal_elements_in_order() {
    on_pool(|| {
        let mut seed = 100;
        for len in (2..25).chain(500..505).chain(50_000..50_002) {
            for _ in 0..3 {
                seed += 1;
                let mut counts = [0usize; 10];
                let mut v: Vec<(usize, usize)> = numbers(len, seed)
                    .into_iter()
                    .map(|x| {
                        let n = (x % 10) as usize;
                        counts[n] += 1;
                        (n, counts[n])
                    })
                    .collect();
                v.par_sort_by(|&(a, _), &(b, _)| a.cmp(&b));
                assert!(v.is_sorted(), "len {len}");
            }
        }
    });
}

// ------------------------------------------------- bridges, pools, joins

// rayon: src/iter/par_bridge.rs's documented behaviour (the items, not
// their order) and tests/par_bridge_recursion.rs (parallel work inside the
// bridged iterator's `next`, called under the bridge's lock, must not
// deadlock)
#[test]
fn par_bridge_yields_every_item_even_with_joins_inside_next() {
    on_pool(|| {
        let mut items: Vec<u64> = (0..10_000u64).par_bridge().map(spin).collect();
        items.sort_unstable();
        let mut expected: Vec<u64> = (0..10_000u64).map(spin).collect();
        expected.sort_unstable();
        assert_eq!(items, expected);

        let n = 5_000;
        let mut par: Vec<(usize, String)> = (0..n)
            .map(|i| workcrew::join(move || i, move || i.to_string()))
            .par_bridge()
            .collect();
        par.par_sort_unstable();
        let seq: Vec<(usize, String)> = (0..n).map(|i| (i, i.to_string())).collect();
        assert_eq!(par, seq);
    });
}

// rayon: tests/cross-pool.rs cross_pool_busy
#[test]
fn items_that_install_on_another_pool_finish() {
    with_deadline(LIMIT, || {
        let pool1 = Pool::new(1);
        let pool2 = Pool::new(1);
        let n = 100;
        let sum: i32 = pool1.install(|| {
            (1..=n)
                .into_par_iter()
                .map(|i| pool2.install(move || i))
                .sum()
        });
        assert_eq!(sum, n * (n + 1) / 2);
    });
}

// rayon-core: src/thread_pool/test.rs self_install, mutual_install
#[test]
fn nested_installs_on_one_thread_pools_finish() {
    with_deadline(LIMIT, || {
        let pool1 = Pool::new(1);
        let pool2 = Pool::new(1);
        assert!(pool1.install(|| pool1.install(|| true)));
        let ok = pool1.install(|| pool2.install(|| pool1.install(|| true)));
        assert!(ok);
    });
}

// rayon-core: src/test.rs and src/thread_pool/test.rs (the pool's size
// inside `install`)
#[test]
fn current_num_threads_is_the_installed_pools_size() {
    with_deadline(LIMIT, || {
        for threads in [1, 3] {
            let pool = Pool::new(threads);
            assert_eq!(pool.install(workcrew::current_num_threads), threads);
            let inner = pool.install(|| {
                let v: Vec<usize> = (0..4)
                    .into_par_iter()
                    .map(|_| workcrew::current_num_threads())
                    .collect();
                v
            });
            assert!(inner.iter().all(|&t| t == threads));
        }
        assert!(workcrew::current_num_threads() >= 1);
    });
}

fn quick_sort<T: PartialOrd + Send>(v: &mut [T]) {
    if v.len() <= 1 {
        return;
    }
    let last = v.len() - 1;
    let mut store = 0;
    for i in 0..last {
        if v[i] <= v[last] {
            v.swap(store, i);
            store += 1;
        }
    }
    v.swap(store, last);
    let (low, high) = v.split_at_mut(store);
    workcrew::join(|| quick_sort(low), || quick_sort(&mut high[1..]));
}

// rayon-core: src/join/test.rs sort, sort_in_pool
#[test]
fn a_quicksort_on_join_sorts_outside_and_inside_a_pool() {
    with_deadline(LIMIT, || {
        let mut data = numbers(6 * 1024, 21);
        let mut expected = data.clone();
        expected.sort();
        quick_sort(&mut data);
        assert_eq!(data, expected);

        let mut data = numbers(12 * 1024, 22);
        let mut expected = data.clone();
        expected.sort();
        let data = pool().install(move || {
            quick_sort(&mut data);
            data
        });
        assert_eq!(data, expected);
    });
}

// rayon-core: src/join/test.rs panic_propagate_a, panic_propagate_b,
// panic_propagate_both, panic_b_still_executes
#[test]
fn a_panic_in_join_resumes_in_the_caller_after_both_ran() {
    with_deadline(LIMIT, || {
        let text = panic_text_of(|| workcrew::join(|| panic!("Hello, world!"), || ()));
        assert_eq!(text, "Hello, world!");
        let text = panic_text_of(|| workcrew::join(|| (), || panic!("Hello, world!")));
        assert_eq!(text, "Hello, world!");
        let text = panic_text_of(|| {
            workcrew::join(|| panic!("Hello, world!"), || panic!("Goodbye, world!"))
        });
        assert_eq!(text, "Hello, world!", "of two panics, `a`'s resumes");

        let mut b_ran = false;
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            workcrew::join(|| panic!("Hello, world!"), || b_ran = true)
        }));
        assert!(outcome.is_err());
        assert!(b_ran, "closure b did not run");

        let text = panic_text_of(|| {
            pool().install(|| workcrew::join(|| (), || panic!("inside the pool")))
        });
        assert_eq!(text, "inside the pool");
    });
}

// rayon: tests/iter_panic.rs iter_panic
#[test]
fn a_panic_in_for_each_resumes_in_the_caller() {
    let text = with_deadline(LIMIT, || {
        panic_text_of(|| {
            (0..0x1_0000).into_par_iter().for_each(|i| {
                if i == 0xC000 {
                    panic!("boom")
                }
            })
        })
    });
    assert_eq!(text, "boom");
}

// Intended difference (rayon: tests/iter_panic.rs iter_panic_fuse): without
// `panic_fuse`, rayon still visits every other item after a panic; workcrew
// hands out nothing new after one (as rayon with `panic_fuse`), so on a
// one-thread pool the items after the panicking one are never reached.
#[test]
fn after_a_panic_no_new_piece_is_handed_out() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        pool.install(|| {
            let count = AtomicUsize::new(0);
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                (0..0x1_0000)
                    .into_par_iter()
                    .with_max_len(1)
                    .inspect(|&i| {
                        if i == 0xC000 {
                            panic!("boom")
                        }
                    })
                    .for_each(|_| {
                        count.fetch_add(1, Ordering::Relaxed);
                    });
            }));
            assert!(outcome.is_err());
            assert_eq!(count.load(Ordering::Relaxed), 0xC000);
        });
    });
}

// rayon: src/iter/test.rs scope_mix (a parallel iterator inside a task of a
// scope, next to recursive spawning)
#[test]
fn a_parallel_iterator_inside_a_scoped_task_finishes() {
    on_pool(|| {
        let spawned = AtomicUsize::new(0);
        let result = Mutex::new(None);
        pool().scope(|s| {
            s.spawn(|| {
                (0..1024usize).into_par_iter().for_each(|_| {
                    spawned.fetch_add(1, Ordering::Relaxed);
                })
            });
            s.spawn(|| {
                let a: Vec<i32> = (0..1024).collect();
                *result.lock().unwrap() = a.par_iter().map(|&i| i + 1).reduce_with(|i, j| i + j);
            });
        });
        assert_eq!(spawned.load(Ordering::Relaxed), 1024);
        assert_eq!(*result.lock().unwrap(), Some((1..=1024).sum()));
    });
}

// rayon: tests/issue671-unzip.rs (an `unzip` into nested pairs) and the
// pair collections behind it
#[test]
fn unzip_and_collect_into_nested_pairs_of_collections() {
    on_pool(|| {
        let input = vec![1, 2, 3, 4, 5];
        let (indexes, (squares, cubes)): (Vec<_>, (Vec<_>, Vec<_>)) = input
            .par_iter()
            .map(|x| (x * x, x * x * x))
            .enumerate()
            .unzip();
        assert_eq!(indexes, [0, 1, 2, 3, 4]);
        assert_eq!(squares, [1, 4, 9, 16, 25]);
        assert_eq!(cubes, [1, 8, 27, 64, 125]);

        let (evens, names): (Vec<u32>, HashSet<String>) = (0..100u32)
            .into_par_iter()
            .map(|i| (i * 2, format!("n{}", i % 10)))
            .collect();
        assert_eq!(evens, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(names.len(), 10);

        let mut pair: (Vec<i32>, BTreeSet<i32>) = (vec![-1], BTreeSet::new());
        pair.par_extend((0..10).into_par_iter().map(|i| (i, i % 3)));
        assert_eq!(pair.0, [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(pair.1, [0, 1, 2].into_iter().collect());
    });
}

// rayon: src/array.rs (arrays by value yield their elements, not
// references: the README promises `into_par_iter` on arrays as rayon's)
#[test]
fn an_array_by_value_yields_its_elements() {
    on_pool(|| {
        let words: Vec<String> = [String::from("a"), String::from("bb"), String::from("ccc")]
            .into_par_iter()
            .collect();
        assert_eq!(words, ["a", "bb", "ccc"]);
        let doubled: Vec<i32> = [1, 2, 3].into_par_iter().map(|x: i32| x * 2).collect();
        assert_eq!(doubled, [2, 4, 6]);
        let arr = [5u64; 4];
        let by_ref: Vec<&u64> = arr.par_iter().collect();
        assert_eq!(by_ref, [&5; 4]);
        assert_eq!((&arr).into_par_iter().len(), 4);
        let zipped: Vec<(i32, char)> = [1, 2].into_par_iter().zip(['x', 'y']).collect();
        assert_eq!(zipped, [(1, 'x'), (2, 'y')]);
    });
}

// rayon: tests/clones.rs clone_vec, clone_array, clone_range,
// clone_range_inclusive, clone_adaptors (the sources and adaptors workcrew
// offers; `Vec`'s by-value iterator is not `Clone` in workcrew)
#[test]
fn cloned_iterators_yield_the_same_items() {
    fn check<I>(iter: I)
    where
        I: ParallelIterator + Clone,
        I::Item: std::fmt::Debug + PartialEq,
    {
        let a: Vec<I::Item> = iter.clone().collect();
        let b: Vec<I::Item> = iter.collect();
        assert_eq!(a, b);
    }
    on_pool(|| {
        let v: Vec<i32> = (0..1000).collect();
        check(v.par_iter());
        check(v.par_chunks(42));
        check(v.par_chunks_exact(42));
        check(v.par_windows(42));
        check((0..1000).into_par_iter());
        check((0..=1000).into_par_iter());
        let o: Vec<Option<i32>> = (0..1000).map(Some).collect();
        check(o.par_iter().cloned());
        check(o.par_iter().copied());
        check(o.par_iter().enumerate());
        check(o.par_iter().filter(|_| true));
        check(o.par_iter().filter_map(|x| *x));
        check(o.par_iter().flat_map_iter(|x| *x));
        check(o.par_iter().with_max_len(1).fold(|| 0, |x, _| x));
        check(o.par_iter().inspect(|_| ()));
        check(o.par_iter().map(|x| x));
        check(o.par_iter().map_init(|| 0, |_, x| x));
        check(o.par_iter().with_max_len(1));
        check(o.par_iter().with_min_len(1));
        check(o.par_iter().zip(&o));
    });
}

// rayon: src/iter/test.rs map_sum-like sums and products over ranges, and
// min/max of ranges (the sequential answers)
#[test]
fn sums_products_minima_and_maxima_of_ranges_match_sequential() {
    on_pool(|| {
        assert_eq!(
            (1..=20u64).into_par_iter().product::<u64>(),
            (1..=20u64).product()
        );
        assert_eq!((0..100_000u64).into_par_iter().sum::<u64>(), 4_999_950_000);
        assert_eq!((-500..500i64).into_par_iter().sum::<i64>(), -500);
        assert_eq!((3..9).into_par_iter().min(), Some(3));
        assert_eq!((3..9).into_par_iter().max(), Some(8));
        assert_eq!((3..3).into_par_iter().max(), None);
        assert_eq!((0..0u8).into_par_iter().sum::<u8>(), 0);
        assert_eq!((0..0u8).into_par_iter().product::<u8>(), 1);
        let floats: Vec<f64> = (0..1000).map(f64::from).collect();
        let total: f64 = floats.par_iter().sum();
        assert_eq!(total, 499_500.0);
    });
}

// rayon: tests/sort-panic-safe.rs sort_panic_safe: a comparison that
// panics part way leaves every element in the slice exactly once (each
// dropped once, and the ones dropped are the latest versions: no stale
// copies)
#[test]
fn a_sort_interrupted_by_a_panic_drops_every_element_once() {
    const LEN: usize = 20_000;
    static DROPS: [AtomicUsize; LEN] = [const { AtomicUsize::new(0) }; LEN];
    static VERSIONS: AtomicUsize = AtomicUsize::new(0);

    struct Counted {
        key: u64,
        id: usize,
        version: AtomicUsize,
    }
    impl Counted {
        fn compare(&self, other: &Counted) -> std::cmp::Ordering {
            self.version.fetch_add(1, Ordering::Relaxed);
            other.version.fetch_add(1, Ordering::Relaxed);
            VERSIONS.fetch_add(2, Ordering::Relaxed);
            self.key.cmp(&other.key)
        }
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS[self.id].fetch_add(1, Ordering::Relaxed);
            VERSIONS.fetch_sub(self.version.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    on_pool(|| {
        for len in [1, 2, 10, 100, 5_000, LEN] {
            for modulus in [5, 1_000, 20_000] {
                let keys: Vec<u64> = numbers(len, (len as u64) ^ modulus)
                    .into_iter()
                    .map(|x| x % modulus)
                    .collect();
                let make = || -> Vec<Counted> {
                    keys.iter()
                        .enumerate()
                        .map(|(id, &key)| Counted {
                            key,
                            id,
                            version: AtomicUsize::new(0),
                        })
                        .collect()
                };
                for stable in [true, false] {
                    let sort = |v: &mut Vec<Counted>, cmp: &(dyn Fn(&Counted, &Counted) -> std::cmp::Ordering + Sync)| {
                        if stable {
                            v.par_sort_by(cmp);
                        } else {
                            v.par_sort_unstable_by(cmp);
                        }
                    };
                    let comparisons = AtomicUsize::new(0);
                    let mut v = make();
                    sort(&mut v, &|a, b| {
                        comparisons.fetch_add(1, Ordering::Relaxed);
                        a.compare(b)
                    });
                    drop(v);
                    let total = comparisons.load(Ordering::Relaxed);
                    let step = (total / 4).max(1);
                    let mut countdown = total;
                    while countdown > 0 {
                        VERSIONS.store(0, Ordering::Relaxed);
                        DROPS.iter().for_each(|d| d.store(0, Ordering::Relaxed));
                        let left = AtomicUsize::new(countdown);
                        let mut v = make();
                        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                            sort(&mut v, &|a, b| {
                                if left.fetch_sub(1, Ordering::Relaxed) == 1 {
                                    panic!("comparison {countdown} fails");
                                }
                                a.compare(b)
                            })
                        }));
                        assert!(outcome.is_err(), "len {len}: the comparison must panic");
                        drop(v);
                        for (id, drops) in DROPS.iter().enumerate().take(len) {
                            assert_eq!(
                                drops.load(Ordering::Relaxed),
                                1,
                                "element {id} of {len} (stable {stable}) dropped wrongly"
                            );
                        }
                        assert_eq!(
                            VERSIONS.load(Ordering::Relaxed),
                            0,
                            "a stale copy was dropped"
                        );
                        countdown = countdown.saturating_sub(step);
                    }
                }
            }
        }
    });
}

// rayon-core: src/registry.rs's `current_num_threads` outside any pool:
// the global pool's size
#[test]
fn current_num_threads_outside_any_pool_is_the_global_pools() {
    with_deadline(LIMIT, || {
        assert_eq!(
            workcrew::current_num_threads(),
            workcrew::global().max_threads()
        );
    });
}
