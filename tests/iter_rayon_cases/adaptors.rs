//! Adaptors: map, fold, enumerate, zip, filter(_map), flat_map_iter,
//! inspect, copied/cloned, map_init/for_each_init, the length bounds,
//! clones (rayon: src/iter/test.rs, tests/clones.rs).

use super::*;

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
