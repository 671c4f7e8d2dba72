//! Collecting and extending: Vec, Option/Result, maps, sets, String,
//! pairs, unzip, partition, and what a panicking collect drops (rayon:
//! src/iter/test.rs, tests/collect.rs, tests/issue671*.rs).

use super::*;

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
