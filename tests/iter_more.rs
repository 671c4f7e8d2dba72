//! The rayon names added after the first round (issue 13): `zip_eq`,
//! `flatten_iter`, 128-bit ranges, more collections to collect into and
//! extend, `current_thread_index`; each against the sequential answer.

mod common;

use std::borrow::Cow;
use std::collections::{BinaryHeap, LinkedList, VecDeque};

use common::{panic_text_of, with_deadline, LIMIT};
use workcrew::prelude::*;
use workcrew::Pool;

#[test]
fn zip_eq_pairs_equal_lengths_and_refuses_unequal_ones() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let a: Vec<u64> = (0..10_000).collect();
        let b: Vec<u64> = (0..10_000).map(|x| x * 2).collect();
        let dot: u64 = pool.install(|| a.par_iter().zip_eq(&b).map(|(x, y)| x * y).sum());
        assert_eq!(dot, a.iter().zip(&b).map(|(x, y)| x * y).sum::<u64>());
        let text = panic_text_of(|| a.par_iter().zip_eq(&b[1..]).count());
        assert!(
            text.contains("different lengths (10000 and 9999)"),
            "{text}"
        );
    });
}

#[test]
fn flatten_iter_matches_sequential_flatten() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        for len in [0usize, 1, 7, 5_000] {
            let nested: Vec<Vec<usize>> = (0..len).map(|i| (0..i % 5).collect()).collect();
            let expected: Vec<usize> = nested.iter().flatten().copied().collect();
            let flat: Vec<usize> =
                pool.install(|| nested.par_iter().flatten_iter().copied().collect());
            assert_eq!(flat, expected, "length {len}");
            let options: Vec<Option<usize>> = (0..len).map(|i| (i % 3 == 0).then_some(i)).collect();
            let some: Vec<usize> =
                pool.install(|| options.clone().into_par_iter().flatten_iter().collect());
            assert_eq!(some, options.into_iter().flatten().collect::<Vec<_>>());
        }
    });
}

#[test]
fn ranges_of_128_bit_integers_match_sequential() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        pool.install(|| {
            let top = u128::MAX - 1_000..u128::MAX;
            assert_eq!(top.clone().into_par_iter().count(), 1_000);
            assert_eq!(
                top.clone().into_par_iter().map(|x| x % 97).sum::<u128>(),
                top.map(|x| x % 97).sum::<u128>()
            );
            assert_eq!(
                (u128::MAX - 3..=u128::MAX).into_par_iter().max(),
                Some(u128::MAX)
            );
            let low = i128::MIN..i128::MIN + 500;
            let par: Vec<i128> = low.clone().into_par_iter().collect();
            assert_eq!(par, low.collect::<Vec<_>>());
            assert_eq!((-5i128..5).into_par_iter().sum::<i128>(), -5);
            assert_eq!((5u128..5).into_par_iter().count(), 0);
        });
    });
}

#[test]
fn more_collections_collect_and_extend_in_order() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        pool.install(|| {
            let v: Vec<u32> = (0..3_000).collect();
            let deque: VecDeque<u32> = v.par_iter().copied().collect();
            assert!(deque.iter().eq(v.iter()));
            let list: LinkedList<u32> = v.par_iter().copied().collect();
            assert!(list.iter().eq(v.iter()));
            let heap: BinaryHeap<u32> = v.par_iter().copied().collect();
            assert_eq!(heap.into_sorted_vec(), v);
            let boxed: Box<[u32]> = v.par_iter().map(|x| x + 1).collect();
            assert_eq!(boxed.len(), v.len());
            assert_eq!(boxed[2_999], 3_000);

            let letters = ['a', 'b', 'c'];
            let s: String = letters.par_iter().collect();
            assert_eq!(s, "abc");
            let parts: Vec<Box<str>> = vec!["x".into(), "yz".into()];
            let s: String = parts.into_par_iter().collect();
            assert_eq!(s, "xyz");
            let cows: Vec<Cow<str>> = vec![Cow::Borrowed("a"), Cow::Owned("b".to_owned())];
            let s: String = cows.into_par_iter().collect();
            assert_eq!(s, "ab");

            let mut extended = vec![7u32];
            extended.par_extend(&v);
            assert_eq!(extended.len(), 3_001);
            assert_eq!(extended[1..], v[..]);
            let mut deque = VecDeque::from([9u32]);
            deque.par_extend(v.par_iter().copied().filter(|x| x % 2 == 0));
            assert_eq!(deque.len(), 1 + 1_500);
            assert_eq!(deque[1], 0);
        });
    });
}

#[test]
fn current_thread_index_names_the_pool_thread() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        assert_eq!(workcrew::current_thread_index(), None);
        let index = pool
            .install(workcrew::current_thread_index)
            .expect("a pool thread");
        assert!(index < 3);
        let seen: Vec<usize> = pool.install(|| {
            (0..64)
                .into_par_iter()
                .map(|_| workcrew::current_thread_index().expect("inside the pool"))
                .collect()
        });
        assert!(seen.iter().all(|&i| i < 3), "{seen:?}");
    });
}
