//! The parallel sorts against the standard library's: the same order for
//! every length (0, 1, around the sequential cutoff and well past it), the
//! stable ones keep equal elements in order, and a panicking comparison
//! leaves a permutation of the input and resumes in the caller.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use common::{numbers, panic_text_of, with_deadline, LIMIT};
use workcrew::prelude::*;
use workcrew::Pool;

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(3))
}

fn lengths() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1usize),
        2..100usize,
        8000..9000usize,
        9000..60_000usize
    ]
}

fn check(test: fn(Vec<u64>, u64) -> Result<(), TestCaseError>) {
    with_deadline(LIMIT * 2, move || {
        let mut runner = TestRunner::new(Config {
            cases: 24,
            ..Config::default()
        });
        runner
            .run(&(lengths(), any::<u64>(), 1..1000u64), |(len, seed, k)| {
                pool().install(|| test(numbers(len, seed), k))
            })
            .unwrap();
    });
}

#[test]
fn unstable_sorts_match_the_standard_library() {
    check(|v, k| {
        let mut par = v.clone();
        par.par_sort_unstable();
        let mut seq = v.clone();
        seq.sort_unstable();
        prop_assert_eq!(&par, &seq);
        let mut par = v.clone();
        par.par_sort_unstable_by(|a, b| b.cmp(a));
        seq.reverse();
        prop_assert_eq!(&par, &seq);
        let mut par = v.clone();
        par.par_sort_unstable_by_key(|x| x % k);
        prop_assert!(par.windows(2).all(|w| w[0] % k <= w[1] % k));
        par.sort_unstable();
        let mut all = v;
        all.sort_unstable();
        prop_assert_eq!(par, all);
        Ok(())
    });
}

#[test]
fn stable_sorts_match_the_standard_library_and_keep_equal_elements_in_order() {
    check(|v, k| {
        // Few distinct keys, each element tagged with its position.
        let tagged: Vec<(u64, usize)> = v.iter().enumerate().map(|(i, x)| (x % k, i)).collect();
        let mut par = tagged.clone();
        par.par_sort_by_key(|p| p.0);
        let mut seq = tagged.clone();
        seq.sort_by_key(|p| p.0);
        prop_assert_eq!(&par, &seq);
        let mut par = tagged.clone();
        par.par_sort_by(|a, b| b.0.cmp(&a.0));
        let mut seq = tagged.clone();
        seq.sort_by_key(|p| std::cmp::Reverse(p.0));
        prop_assert_eq!(&par, &seq);
        let mut par = v.clone();
        par.par_sort();
        let mut seq = v;
        seq.sort();
        prop_assert_eq!(par, seq);
        Ok(())
    });
}

#[test]
fn a_panicking_comparison_resumes_and_leaves_a_permutation() {
    with_deadline(LIMIT, || {
        let v = numbers(50_000, 7);
        for stable in [false, true] {
            let mut data = v.clone();
            let text = panic_text_of(|| {
                pool().install(|| {
                    let cmp = |a: &u64, b: &u64| {
                        if *a % 40_000 == 123 {
                            panic!("no comparing {a}");
                        }
                        a.cmp(b)
                    };
                    if stable {
                        data.par_sort_by(cmp);
                    } else {
                        data.par_sort_unstable_by(cmp);
                    }
                })
            });
            assert!(text.starts_with("no comparing"), "{text}");
            let mut after = data.clone();
            after.sort_unstable();
            let mut before = v.clone();
            before.sort_unstable();
            assert_eq!(after, before, "the elements changed");
        }
    });
}
