//! Sources: slices, vectors and arrays by value, integer ranges to the
//! limits of their types (rayon: src/iter/test.rs, src/range.rs,
//! src/range_inclusive.rs, tests/octillion.rs, src/array.rs).

use super::*;

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
