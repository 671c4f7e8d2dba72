//! The small-input rows of the parallel iterators (issue 13): what a call
//! costs when there is little to do, and the two big cheap ones.
//!
//! | id | workload |
//! |----|----------|
//! | S1 | `par_iter().sum()` over 1,000 u64, per call, vs the sequential loop |
//! | S2 | the same over 100,000 u64 |
//! | S3 | `par_iter().map(x * 3).collect()` of 10M u64 (W8 with iterators) |
//! | S4 | `par_sort_unstable()` of 10M random u64 |
//!
//! S1 and S2 time a loop of calls made from a worker of a fresh pool
//! (inside `install`, as a call inside parallel code is), so the cost of
//! entering the pool from outside is not in the figure; the sequential
//! loop runs on the main thread.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::harness::{compare, cores, fresh, timed, Contender, Measured, Sample, Table};

fn workcrew_pool() -> workcrew::Pool {
    workcrew::Pool::new(cores())
}

fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(cores())
        .build()
        .expect("rayon pool")
}

fn per_call(calls: u32, mut f: impl FnMut() -> u64) -> Duration {
    let started = Instant::now();
    for _ in 0..calls {
        black_box(f());
    }
    started.elapsed() / calls
}

fn small_sum(id: &'static str, title: &'static str, len: u64, calls: u32, reps: usize) -> Measured {
    let table = Table {
        id,
        title,
        unit: "ns/call",
        extra: None,
        baseline: Some("sequential"),
        note: "calls from a worker (inside install), median of rounds of many calls; \
               \"vs sequential\" below 1 is slower than the plain loop",
    };
    let input: Vec<u64> = (0..len).collect();
    let input = &input;
    let expected = len * (len - 1) / 2;
    let ns = |elapsed: Duration| Sample::new(elapsed.as_nanos() as f64);
    let contenders = vec![
        Contender::new("workcrew", move || {
            fresh(
                workcrew_pool,
                |pool| {
                    use workcrew::prelude::*;
                    pool.install(|| {
                        per_call(calls / 10, || black_box(input).par_iter().sum::<u64>());
                        assert_eq!(input.par_iter().sum::<u64>(), expected);
                        ns(per_call(calls, || black_box(input).par_iter().sum::<u64>()))
                    })
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon", move || {
            fresh(
                rayon_pool,
                |pool| {
                    use rayon::prelude::*;
                    pool.install(|| {
                        per_call(calls / 10, || black_box(input).par_iter().sum::<u64>());
                        assert_eq!(input.par_iter().sum::<u64>(), expected);
                        ns(per_call(calls, || black_box(input).par_iter().sum::<u64>()))
                    })
                },
                drop,
            )
        }),
        Contender::new("sequential", move || {
            ns(per_call(calls, || black_box(input).iter().sum::<u64>()))
        }),
    ];
    compare(&table, reps, contenders)
}

pub fn s1_sum_1000(reps: usize) -> Measured {
    small_sum("S1", "sum over 1,000 u64, per call", 1_000, 20_000, reps)
}

pub fn s2_sum_100k(reps: usize) -> Measured {
    small_sum("S2", "sum over 100,000 u64, per call", 100_000, 500, reps)
}

const S3_LEN: u64 = 10_000_000;

pub fn s3_map_collect(reps: usize) -> Measured {
    let table = Table {
        id: "S3",
        title: "par_iter().map(|&x| x * 3).collect() of 10,000,000 u64",
        unit: "ms",
        extra: None,
        baseline: Some("sequential"),
        note: "inside install; an indexed chain writes straight into the output",
    };
    let input: Vec<u64> = (0..S3_LEN).collect();
    let input = &input;
    let check = |(out, elapsed): (Vec<u64>, Duration)| {
        assert_eq!(out.len(), S3_LEN as usize);
        assert!(out
            .iter()
            .step_by(997)
            .enumerate()
            .all(|(k, &v)| v == k as u64 * 997 * 3));
        Sample::ms(elapsed)
    };
    let contenders = vec![
        Contender::new("workcrew", move || {
            fresh(
                workcrew_pool,
                |pool| {
                    use workcrew::prelude::*;
                    let map = || -> Vec<u64> { input.par_iter().map(|&x| x * 3).collect() };
                    pool.install(|| input[..100_000].par_iter().map(|&x| x * 3).count());
                    check(pool.install(|| timed(map)))
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon", move || {
            fresh(
                rayon_pool,
                |pool| {
                    use rayon::prelude::*;
                    let map = || -> Vec<u64> { input.par_iter().map(|&x| x * 3).collect() };
                    pool.install(|| input[..100_000].par_iter().map(|&x| x * 3).count());
                    check(pool.install(|| timed(map)))
                },
                drop,
            )
        }),
        Contender::new("sequential", move || {
            check(timed(|| input.iter().map(|&x| x * 3).collect::<Vec<u64>>()))
        }),
    ];
    compare(&table, reps, contenders)
}

const S4_LEN: usize = 10_000_000;

pub fn s4_sort(reps: usize) -> Measured {
    let table = Table {
        id: "S4",
        title: "par_sort_unstable() of 10,000,000 random u64",
        unit: "ms",
        extra: None,
        baseline: Some("sequential"),
        note: "inside install; the copy of the input is made outside the timing",
    };
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let input: Vec<u64> = (0..S4_LEN)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        })
        .collect();
    let input = &input;
    let check = |(out, elapsed): (Vec<u64>, Duration)| {
        assert!(out.windows(2).all(|w| w[0] <= w[1]));
        Sample::ms(elapsed)
    };
    let contenders = vec![
        Contender::new("workcrew", move || {
            fresh(
                workcrew_pool,
                |pool| {
                    use workcrew::prelude::*;
                    pool.install(|| input[..100_000].to_vec().par_sort_unstable());
                    let mut v = input.clone();
                    check(pool.install(|| {
                        timed(move || {
                            v.par_sort_unstable();
                            v
                        })
                    }))
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon", move || {
            fresh(
                rayon_pool,
                |pool| {
                    use rayon::prelude::*;
                    pool.install(|| input[..100_000].to_vec().par_sort_unstable());
                    let mut v = input.clone();
                    check(pool.install(|| {
                        timed(move || {
                            v.par_sort_unstable();
                            v
                        })
                    }))
                },
                drop,
            )
        }),
        Contender::new("sequential", move || {
            let mut v = input.clone();
            check(timed(move || {
                v.sort_unstable();
                v
            }))
        }),
    ];
    compare(&table, reps, contenders)
}
