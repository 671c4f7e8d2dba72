//! Every terminal method of the parallel iterators against the sequential
//! `Iterator` result: proptest over random lengths (0 and 1 always among
//! them) on a four-thread pool, with items slow enough that the pool phase
//! runs.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::num::Wrapping;
use std::sync::atomic::{AtomicU64, Ordering};
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

fn lengths() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0usize), Just(1usize), 2..40usize, 40..3000usize]
}

/// Runs `test` over random `(data, k)` inputs on the pool, under a deadline.
fn check(test: fn(Vec<u64>, u64) -> Result<(), TestCaseError>) {
    with_deadline(LIMIT, move || {
        let mut runner = TestRunner::new(Config {
            cases: 40,
            ..Config::default()
        });
        runner
            .run(&(lengths(), any::<u64>(), 1..50u64), |(len, seed, k)| {
                pool().install(|| test(numbers(len, seed), k))
            })
            .unwrap();
    });
}

#[test]
fn for_each_and_for_each_init_visit_every_item_once() {
    check(|v, _| {
        let total = AtomicU64::new(0);
        v.par_iter().for_each(|&x| {
            total.fetch_add(spin(x) % 1000, Ordering::Relaxed);
        });
        let seq: u64 = v.iter().map(|&x| spin(x) % 1000).sum();
        prop_assert_eq!(total.swap(0, Ordering::Relaxed), seq);
        v.par_iter()
            .for_each_init(Vec::new, |scratch: &mut Vec<u64>, &x| {
                scratch.push(x);
                total.fetch_add(spin(x) % 1000, Ordering::Relaxed);
            });
        prop_assert_eq!(total.into_inner(), seq);
        Ok(())
    });
}

#[test]
fn collections_match_sequential() {
    check(|v, k| {
        let pairs = |x: &u64| (x % k, spin(*x));
        let par: HashMap<u64, u64> = v.par_iter().map(pairs).collect();
        prop_assert_eq!(par, v.iter().map(pairs).collect::<HashMap<_, _>>());
        let par: BTreeMap<u64, u64> = v.par_iter().map(pairs).collect();
        prop_assert_eq!(par, v.iter().map(pairs).collect::<BTreeMap<_, _>>());
        let par: HashSet<u64> = v.par_iter().map(|x| x % k).collect();
        prop_assert_eq!(par, v.iter().map(|x| x % k).collect::<HashSet<_>>());
        let letter = |x: &u64| (b'a' + (spin(*x) % 26) as u8) as char;
        let par: String = v.par_iter().map(letter).collect();
        prop_assert_eq!(&par, &v.iter().map(letter).collect::<String>());
        let words: String = v.par_iter().map(|x| format!("{x} ")).collect();
        prop_assert_eq!(words, v.iter().map(|x| format!("{x} ")).collect::<String>());
        let mut extended = vec![7u64];
        extended.par_extend(v.par_iter().map(|&x| spin(x)));
        let mut seq = vec![7u64];
        seq.extend(v.iter().map(|&x| spin(x)));
        prop_assert_eq!(extended, seq);
        Ok(())
    });
}

#[test]
fn result_and_option_collect_match_sequential() {
    check(|v, k| {
        let parse = |x: &u64| {
            if spin(*x).is_multiple_of(k * 8) {
                Err(*x)
            } else {
                Ok(x % 100)
            }
        };
        let par: Result<Vec<u64>, u64> = v.par_iter().map(parse).collect();
        let seq: Result<Vec<u64>, u64> = v.iter().map(parse).collect();
        // The same success; on failure an error (the first piece's), not
        // necessarily the first in order.
        match (&par, &seq) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(e), Err(_)) => prop_assert!(v.iter().any(|x| x == e && parse(x).is_err())),
            _ => prop_assert!(false, "{:?} against {:?}", par, seq),
        }
        let some = |x: &u64| (!spin(*x).is_multiple_of(k * 8)).then_some(*x);
        let par: Option<Vec<u64>> = v.par_iter().map(some).collect();
        prop_assert_eq!(par, v.iter().map(some).collect::<Option<Vec<u64>>>());
        Ok(())
    });
}

#[test]
fn sums_products_and_counts_match_sequential() {
    check(|v, k| {
        let par: Wrapping<u64> = v.par_iter().map(|&x| Wrapping(spin(x))).sum();
        prop_assert_eq!(
            par,
            v.iter().map(|&x| Wrapping(spin(x))).sum::<Wrapping<u64>>()
        );
        let par: Wrapping<u64> = v.par_iter().map(|&x| Wrapping(spin(x) | 1)).product();
        prop_assert_eq!(
            par,
            v.iter()
                .map(|&x| Wrapping(spin(x) | 1))
                .product::<Wrapping<u64>>()
        );
        let small: u64 = v.par_iter().map(|x| x % 1000).sum();
        prop_assert_eq!(small, v.iter().map(|x| x % 1000).sum::<u64>());
        let count = v.par_iter().filter(|&&x| spin(x).is_multiple_of(k)).count();
        prop_assert_eq!(
            count,
            v.iter().filter(|&&x| spin(x).is_multiple_of(k)).count()
        );
        Ok(())
    });
}

#[test]
fn min_and_max_match_sequential_with_ties() {
    check(|v, k| {
        // Keys with many ties; the item carries its position, so a tie
        // broken the wrong way shows.
        let keyed: Vec<(u64, usize)> = v.iter().enumerate().map(|(i, x)| (x % k, i)).collect();
        let by_key = |a: &&(u64, usize), b: &&(u64, usize)| a.0.cmp(&b.0);
        prop_assert_eq!(keyed.par_iter().min_by(by_key), keyed.iter().min_by(by_key));
        prop_assert_eq!(keyed.par_iter().max_by(by_key), keyed.iter().max_by(by_key));
        prop_assert_eq!(
            keyed.par_iter().min_by_key(|p| p.0),
            keyed.iter().min_by_key(|p| p.0)
        );
        prop_assert_eq!(
            keyed.par_iter().max_by_key(|p| p.0),
            keyed.iter().max_by_key(|p| p.0)
        );
        prop_assert_eq!(
            v.par_iter().map(|&x| spin(x)).min(),
            v.iter().map(|&x| spin(x)).min()
        );
        prop_assert_eq!(
            v.par_iter().map(|&x| spin(x)).max(),
            v.iter().map(|&x| spin(x)).max()
        );
        Ok(())
    });
}

#[test]
fn reduce_keeps_the_order_of_a_non_commutative_operation() {
    check(|v, _| {
        let par = v
            .par_iter()
            .map(|x| (x % 10).to_string())
            .reduce(String::new, |a, b| a + &b);
        let seq: String = v.iter().map(|x| (x % 10).to_string()).collect();
        prop_assert_eq!(par, seq.clone());
        let par = v
            .par_iter()
            .map(|x| (x % 10).to_string())
            .reduce_with(|a, b| a + &b);
        prop_assert_eq!(par, (!v.is_empty()).then_some(seq));
        Ok(())
    });
}

#[test]
fn searches_match_sequential() {
    check(|v, k| {
        let hit = |x: &u64| spin(*x).is_multiple_of(k * 4);
        prop_assert_eq!(
            v.par_iter().find_first(|x| hit(x)),
            v.iter().find(|x| hit(x))
        );
        prop_assert_eq!(v.par_iter().position_first(hit), v.iter().position(hit));
        prop_assert_eq!(v.par_iter().any(hit), v.iter().any(hit));
        prop_assert_eq!(v.par_iter().all(|x| !hit(x)), v.iter().all(|x| !hit(x)));
        match v.par_iter().find_any(|x| hit(x)) {
            Some(found) => prop_assert!(hit(found)),
            None => prop_assert!(!v.iter().any(hit)),
        }
        match v.par_iter().position_any(hit) {
            Some(at) => prop_assert!(hit(&v[at])),
            None => prop_assert!(!v.iter().any(hit)),
        }
        Ok(())
    });
}

#[test]
fn unzip_and_partition_match_sequential() {
    check(|v, k| {
        let (a, b): (Vec<u64>, Vec<u64>) = v.par_iter().map(|&x| (x, spin(x))).unzip();
        let (sa, sb): (Vec<u64>, Vec<u64>) = v.iter().map(|&x| (x, spin(x))).unzip();
        prop_assert_eq!((a, b), (sa, sb));
        let (yes, no): (Vec<u64>, Vec<u64>) = v
            .par_iter()
            .copied()
            .partition(|x| spin(*x).is_multiple_of(k));
        let (syes, sno): (Vec<u64>, Vec<u64>) =
            v.iter().copied().partition(|x| spin(*x).is_multiple_of(k));
        prop_assert_eq!((yes, no), (syes, sno));
        Ok(())
    });
}

#[test]
fn collect_into_vec_and_par_extend_reuse_the_buffer() {
    check(|v, k| {
        let expected: Vec<u64> = v.iter().map(|&x| spin(x)).collect();
        // A buffer big enough is reused: same allocation, old items gone.
        let mut target: Vec<u64> = Vec::with_capacity(v.len() + 8);
        target.extend([1, 2, 3]);
        let buffer = target.as_ptr();
        v.par_iter().map(|&x| spin(x)).collect_into_vec(&mut target);
        prop_assert_eq!(&target, &expected);
        prop_assert_eq!(target.as_ptr(), buffer);
        // Extending in place keeps the items already there, in front.
        let mut extended: Vec<u64> = Vec::with_capacity(2 * v.len() + 1);
        extended.push(k);
        let buffer = extended.as_ptr();
        extended.par_extend(v.par_iter().map(|&x| spin(x)));
        prop_assert_eq!(extended[0], k);
        prop_assert_eq!(&extended[1..], &expected[..]);
        prop_assert_eq!(extended.as_ptr(), buffer);
        // Not indexed (a filter): collected, then appended in order.
        extended.par_extend(v.par_iter().copied().filter(|x| x % k == 0));
        let tail: Vec<u64> = v.iter().copied().filter(|x| x % k == 0).collect();
        prop_assert_eq!(&extended[1 + v.len()..], &tail[..]);
        Ok(())
    });
}

#[test]
fn a_panicking_par_extend_leaves_the_vector_as_it_was() {
    with_deadline(LIMIT, || {
        let v: Vec<u64> = (0..10_000).collect();
        let mut kept = vec![String::from("a"), String::from("b")];
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool().install(|| {
                kept.par_extend(v.par_iter().map(|&x| {
                    assert!(x != 7_777, "boom");
                    x.to_string()
                }));
            })
        }));
        assert!(outcome.is_err(), "the panic resumes in the caller");
        assert_eq!(kept, ["a", "b"]);
    });
}

/// A big indexed collect asks for transparent huge pages for its output
/// (src/iter/pages.rs): with THP in `madvise` mode, the output's mapping
/// must be marked eligible in /proc/self/smaps.
#[cfg(target_os = "linux")]
#[test]
fn a_big_collect_asks_for_huge_pages() {
    let len = 4_000_000u64; // 32 MB
    let v: Vec<u64> = (0..len).into_par_iter().map(|x| x * 3).collect();
    assert!(v.iter().enumerate().all(|(i, &x)| x == 3 * i as u64));
    let mode =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    if !mode.contains("[madvise]") {
        // `always` makes every mapping eligible and `never` none: the
        // advice is not observable there.
        eprintln!("THP mode {mode:?}: huge page advice not observable, not checked");
        return;
    }
    let inside = v.as_ptr() as usize + v.len() * 4; // the middle of the buffer
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("/proc/self/smaps");
    let mut in_mapping = false;
    let mut eligible = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((from, to)) = first.split_once('-') {
            if let (Ok(from), Ok(to)) = (
                usize::from_str_radix(from, 16),
                usize::from_str_radix(to, 16),
            ) {
                in_mapping = (from..to).contains(&inside);
                continue;
            }
        }
        if in_mapping {
            if let Some(flag) = line.strip_prefix("THPeligible:") {
                eligible = Some(flag.trim().to_owned());
            }
        }
    }
    assert_eq!(
        eligible.as_deref(),
        Some("1"),
        "the output of a 32 MB collect is not marked for huge pages"
    );
}
