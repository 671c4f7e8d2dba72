//! Sorts: rayon's sort inputs, stability, inconsistent and panicking
//! comparisons (rayon: src/slice/test.rs, tests/sort-panic-safe.rs).

use super::*;

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
