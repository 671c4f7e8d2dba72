//! Every parallel-iterator source and adaptor against the sequential
//! `Iterator` result: proptest over random lengths (0 and 1 always among
//! them) on a four-thread pool, with items slow enough that the pool phase
//! runs (not only the caller's alone phase).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use common::{numbers, spin, with_deadline, LIMIT};
use workcrew::prelude::*;
use workcrew::Pool;

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(4))
}

/// Lengths: 0, 1, small, and up to a few thousand.
fn lengths() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0usize), Just(1usize), 2..40usize, 40..3000usize]
}

/// Runs `test` over random `(data, k)` inputs on the pool, under a deadline.
fn check(test: fn(Vec<u64>, usize) -> Result<(), TestCaseError>) {
    with_deadline(LIMIT, move || {
        let mut runner = TestRunner::new(Config {
            cases: 40,
            ..Config::default()
        });
        runner
            .run(&(lengths(), any::<u64>(), 1..20usize), |(len, seed, k)| {
                pool().install(|| test(numbers(len, seed), k))
            })
            .unwrap();
    });
}

#[test]
fn map_matches_sequential() {
    check(|v, _| {
        let par: Vec<u64> = v.par_iter().map(|&x| spin(x)).collect();
        prop_assert_eq!(par, v.iter().map(|&x| spin(x)).collect::<Vec<_>>());
        Ok(())
    });
}

#[test]
fn filter_and_filter_map_match_sequential() {
    check(|v, k| {
        let k = k as u64;
        let par: Vec<u64> = v
            .par_iter()
            .copied()
            .filter(|&x| spin(x).is_multiple_of(k))
            .collect();
        prop_assert_eq!(
            par,
            v.iter()
                .copied()
                .filter(|&x| spin(x).is_multiple_of(k))
                .collect::<Vec<_>>()
        );
        let par: Vec<u64> = v
            .par_iter()
            .filter_map(|&x| (x % k == 1).then(|| spin(x)))
            .collect();
        let seq: Vec<u64> = v
            .iter()
            .filter(|&&x| x % k == 1)
            .map(|&x| spin(x))
            .collect();
        prop_assert_eq!(par, seq);
        Ok(())
    });
}

#[test]
fn flat_map_iter_matches_sequential() {
    check(|v, k| {
        let f = |&x: &u64| (0..(x % k as u64)).map(move |i| spin(x ^ i));
        let par: Vec<u64> = v.par_iter().flat_map_iter(f).collect();
        prop_assert_eq!(par, v.iter().flat_map(f).collect::<Vec<_>>());
        Ok(())
    });
}

#[test]
fn enumerate_and_zip_match_sequential() {
    check(|v, k| {
        let par: Vec<(usize, u64)> = v.par_iter().map(|&x| spin(x)).enumerate().collect();
        prop_assert_eq!(
            par,
            v.iter().map(|&x| spin(x)).enumerate().collect::<Vec<_>>()
        );
        // Zips of unequal lengths stop at the shorter.
        let w: Vec<u64> = v.iter().skip(k).map(|x| x / 3).collect();
        let par: Vec<(u64, u64)> = v.par_iter().copied().zip(w.par_iter().copied()).collect();
        prop_assert_eq!(
            &par,
            &v.iter().copied().zip(w.iter().copied()).collect::<Vec<_>>()
        );
        let par: Vec<(u64, u64)> = w
            .par_iter()
            .copied()
            .zip(&v)
            .map(|(a, &b)| (a, spin(b)))
            .collect();
        let seq: Vec<(u64, u64)> = w
            .iter()
            .copied()
            .zip(&v)
            .map(|(a, &b)| (a, spin(b)))
            .collect();
        prop_assert_eq!(par, seq);
        Ok(())
    });
}

#[test]
fn copied_cloned_and_inspect_match_sequential() {
    check(|v, _| {
        let strings: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        let par: Vec<String> = strings.par_iter().cloned().collect();
        prop_assert_eq!(&par, &strings);
        let seen = AtomicUsize::new(0);
        let par: Vec<u64> = v
            .par_iter()
            .copied()
            .inspect(|_| {
                seen.fetch_add(1, Ordering::Relaxed);
            })
            .map(spin)
            .collect();
        prop_assert_eq!(seen.into_inner(), v.len());
        prop_assert_eq!(par, v.iter().copied().map(spin).collect::<Vec<_>>());
        Ok(())
    });
}

#[test]
fn map_init_and_length_bounds_match_sequential() {
    check(|v, k| {
        let par: Vec<u64> = v
            .par_iter()
            .map_init(Vec::new, |scratch: &mut Vec<u64>, &x| {
                scratch.clear();
                scratch.push(spin(x));
                scratch[0]
            })
            .collect();
        prop_assert_eq!(&par, &v.iter().map(|&x| spin(x)).collect::<Vec<_>>());
        let bounded: Vec<u64> = v.par_iter().map(|&x| spin(x)).with_min_len(k).collect();
        prop_assert_eq!(&bounded, &par);
        let bounded: Vec<u64> = v.par_iter().map(|&x| spin(x)).with_max_len(k).collect();
        prop_assert_eq!(&bounded, &par);
        Ok(())
    });
}

#[test]
fn chunks_and_windows_match_sequential() {
    check(|v, k| {
        let sums = |c: &[u64]| c.iter().map(|&x| spin(x)).fold(0u64, u64::wrapping_add);
        let par: Vec<u64> = v.par_chunks(k).map(sums).collect();
        prop_assert_eq!(par, v.chunks(k).map(sums).collect::<Vec<_>>());
        let exact = v.par_chunks_exact(k);
        prop_assert_eq!(exact.remainder(), v.chunks_exact(k).remainder());
        let par: Vec<u64> = exact.map(sums).collect();
        prop_assert_eq!(par, v.chunks_exact(k).map(sums).collect::<Vec<_>>());
        let par: Vec<u64> = v.par_windows(k).map(sums).collect();
        prop_assert_eq!(par, v.windows(k).map(sums).collect::<Vec<_>>());
        Ok(())
    });
}

#[test]
fn mutable_sources_match_sequential() {
    check(|v, k| {
        let mut par = v.clone();
        par.par_iter_mut().for_each(|x| *x = spin(*x));
        let seq: Vec<u64> = v.iter().map(|&x| spin(x)).collect();
        prop_assert_eq!(&par, &seq);
        let mut par = v.clone();
        par.par_chunks_mut(k)
            .enumerate()
            .for_each(|(i, c)| c.iter_mut().for_each(|x| *x = spin(*x ^ i as u64)));
        let mut seq = v.clone();
        seq.chunks_mut(k)
            .enumerate()
            .for_each(|(i, c)| c.iter_mut().for_each(|x| *x = spin(*x ^ i as u64)));
        prop_assert_eq!(&par, &seq);
        let mut par = v.clone();
        par.par_chunks_exact_mut(k).for_each(|c| c[0] = 0);
        let mut seq = v.clone();
        seq.chunks_exact_mut(k).for_each(|c| c[0] = 0);
        prop_assert_eq!(par, seq);
        Ok(())
    });
}

#[test]
fn vectors_by_value_move_every_element_out_once() {
    check(|v, k| {
        let strings: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        let par: Vec<usize> = strings
            .clone()
            .into_par_iter()
            .map(|s| s.len() + usize::from(spin(s.len() as u64) == 1))
            .collect();
        prop_assert_eq!(par, strings.iter().map(String::len).collect::<Vec<_>>());
        // A short-circuit leaves elements unclaimed: the vector drops them.
        let hit = strings
            .clone()
            .into_par_iter()
            .find_first(|s| s.len() % k == 0);
        prop_assert_eq!(hit, strings.iter().find(|s| s.len() % k == 0).cloned());
        Ok(())
    });
}

#[test]
fn integer_ranges_match_sequential() {
    check(|v, k| {
        let n = v.len() as i64;
        let par: Vec<i64> = (-n..n / 2).into_par_iter().map(|x| x * k as i64).collect();
        prop_assert_eq!(par, (-n..n / 2).map(|x| x * k as i64).collect::<Vec<_>>());
        let par: Vec<u32> = (3..=n as u32)
            .into_par_iter()
            .filter(|x| x % k as u32 == 0)
            .collect();
        prop_assert_eq!(
            par,
            (3..=n as u32)
                .filter(|x| x % k as u32 == 0)
                .collect::<Vec<_>>()
        );
        let top: Vec<u8> = (250..=u8::MAX).into_par_iter().collect();
        prop_assert_eq!(top, (250..=u8::MAX).collect::<Vec<_>>());
        let bottom: Vec<i8> = (i8::MIN..i8::MIN + 3).into_par_iter().collect();
        prop_assert_eq!(bottom, vec![-128, -127, -126]);
        Ok(())
    });
}

#[test]
fn par_bridge_yields_the_same_items() {
    check(|v, _| {
        let mut par: Vec<u64> = v.iter().map(|&x| spin(x)).par_bridge().collect();
        let mut seq: Vec<u64> = v.iter().map(|&x| spin(x)).collect();
        par.sort_unstable();
        seq.sort_unstable();
        prop_assert_eq!(par, seq);
        Ok(())
    });
}

#[test]
fn fold_then_reduce_matches_sequential() {
    check(|v, _| {
        let par = v
            .par_iter()
            .fold(|| 0u64, |acc, &x| acc.wrapping_add(spin(x)))
            .reduce(|| 0, u64::wrapping_add);
        prop_assert_eq!(
            par,
            v.iter().fold(0u64, |acc, &x| acc.wrapping_add(spin(x)))
        );
        // A non-commutative fold: concatenation keeps the order.
        let par: String = v
            .par_iter()
            .map(|x| (b'a' + (x % 26) as u8) as char)
            .fold(String::new, |mut s, c| {
                s.push(c);
                s
            })
            .reduce(String::new, |a, b| a + &b);
        let seq: String = v.iter().map(|x| (b'a' + (x % 26) as u8) as char).collect();
        prop_assert_eq!(par, seq);
        Ok(())
    });
}
