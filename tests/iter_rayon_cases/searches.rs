//! Searches and reductions: find_any/find_first, position_*, any/all,
//! min/max(_by, _by_key) with ties, sums and products (rayon:
//! src/iter/test.rs).

use super::*;

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

        // Unindexed chains: the earliest in the chain's order.
        let par = (0..1000)
            .into_par_iter()
            .filter(|x| x % 7 == 3)
            .find_first(|_| true);
        assert_eq!(par, Some(3));
        let par = (0..100u64)
            .into_par_iter()
            .flat_map_iter(|i| (0..i).map(move |j| (i, j)))
            .find_first(|&(i, j)| i + j > 50);
        let seq = (0..100u64)
            .flat_map(|i| (0..i).map(move |j| (i, j)))
            .find(|&(i, j)| i + j > 50);
        assert_eq!(par, seq);

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
