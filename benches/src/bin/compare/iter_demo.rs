//! The parallel iterators side by side with rayon's (issue 13): nine
//! workloads shaped after rayon-demo's (nbody, matmul, life, sieve,
//! quicksort, mergesort, an n-queens count standing in for tsp, fib, a
//! tree sum), each written idiomatically twice, once per prelude, plus the
//! small-input rows of `iter_small.rs`. Our own code following the
//! algorithms; both versions are the same code with the other prelude.
//!
//! Every contender builds its pool fresh (`cores()` threads), warms it with
//! one untimed run, then times one run inside `install`; rounds interleave
//! (harness.rs). Each workload checks its answer against the sequential one.

use std::time::Duration;

use crate::harness::{compare, cores, fresh, timed, Contender, Measured, Sample, Table};

use crate::iter_ports::{on_rayon, on_workcrew};

fn workcrew_pool() -> workcrew::Pool {
    workcrew::Pool::new(cores())
}

fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(cores())
        .build()
        .expect("rayon pool")
}

/// Contenders for one workload: `setup` makes the input (untimed), `run`
/// does the work on it and returns a checksum that must equal `expected`.
pub(crate) fn side_by_side<I, C>(
    table: &Table,
    reps: usize,
    input: &I,
    expected: C,
    on_workcrew: impl Fn(I) -> C + Sync,
    on_rayon: impl Fn(I) -> C + Sync,
    sequential: Option<&(dyn Fn(I) -> C + Sync)>,
) -> Measured
where
    I: Clone + Send + Sync,
    C: PartialEq + std::fmt::Debug + Send,
{
    let checked = |(answer, elapsed): (C, Duration)| {
        assert_eq!(answer, expected, "{}: wrong answer", table.id);
        Sample::ms(elapsed)
    };
    let mut contenders = vec![
        Contender::new("workcrew", || {
            fresh(
                workcrew_pool,
                |pool| {
                    pool.install(|| on_workcrew(input.clone()));
                    let work = input.clone();
                    checked(pool.install(|| timed(|| on_workcrew(work))))
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon", || {
            fresh(
                rayon_pool,
                |pool| {
                    pool.install(|| on_rayon(input.clone()));
                    let work = input.clone();
                    checked(pool.install(|| timed(|| on_rayon(work))))
                },
                drop,
            )
        }),
    ];
    if let Some(sequential) = sequential {
        contenders.push(Contender::new("sequential", move || {
            let work = input.clone();
            checked(timed(|| sequential(work)))
        }));
    }
    compare(table, reps, contenders)
}

// ------------------------------------------------------------ workloads

fn bodies(n: usize) -> Vec<on_workcrew::Body> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 10_000) as f64 / 1000.0 - 5.0
    };
    (0..n)
        .map(|_| on_workcrew::Body {
            position: [next(), next(), next()],
            velocity: [next() / 10.0, next() / 10.0, next() / 10.0],
            mass: 1.0 + next().abs(),
        })
        .collect()
}

fn to_rayon(bodies: &[on_workcrew::Body]) -> Vec<on_rayon::Body> {
    bodies
        .iter()
        .map(|b| on_rayon::Body {
            position: b.position,
            velocity: b.velocity,
            mass: b.mass,
        })
        .collect()
}

const NBODY_BODIES: usize = 1500;
const NBODY_STEPS: usize = 3;

pub fn r1_nbody(reps: usize) -> Measured {
    let table = Table {
        id: "R1",
        title: "nbody: 1,500 bodies, 3 steps (par_iter().map().collect(), par_iter_mut().zip())",
        unit: "ms",
        extra: None,
        baseline: None,
        note: "the same code with each prelude; checksum: the kinetic energy's bits",
    };
    let input = bodies(NBODY_BODIES);
    let run_workcrew = |mut b: Vec<on_workcrew::Body>| {
        for _ in 0..NBODY_STEPS {
            on_workcrew::nbody_step(&mut b, 0.01);
        }
        (on_workcrew::energy(&b) * 1e6).round() as i64
    };
    let run_rayon = |b: Vec<on_workcrew::Body>| {
        let mut b = to_rayon(&b);
        for _ in 0..NBODY_STEPS {
            on_rayon::nbody_step(&mut b, 0.01);
        }
        (on_rayon::energy(&b) * 1e6).round() as i64
    };
    let expected = run_workcrew(input.clone());
    side_by_side(
        &table,
        reps,
        &input,
        expected,
        run_workcrew,
        run_rayon,
        None,
    )
}

const MATMUL_N: usize = 320;

pub fn r2_matmul(reps: usize) -> Measured {
    let table = Table {
        id: "R2",
        title: "matmul: 320 x 320 f64 (par_chunks_mut(n).enumerate())",
        unit: "ms",
        extra: None,
        baseline: None,
        note: "row-major, b transposed; checksum: the sum of c",
    };
    let n = MATMUL_N;
    let a: Vec<f64> = (0..n * n).map(|i| (i % 17) as f64).collect();
    let bt: Vec<f64> = (0..n * n).map(|i| (i % 13) as f64).collect();
    let input = (a, bt);
    let workcrew_run = |(a, bt): (Vec<f64>, Vec<f64>)| {
        let mut c = vec![0.0; n * n];
        on_workcrew::matmul(&a, &bt, &mut c, n);
        c.iter().sum::<f64>() as u64
    };
    let rayon_run = |(a, bt): (Vec<f64>, Vec<f64>)| {
        let mut c = vec![0.0; n * n];
        on_rayon::matmul(&a, &bt, &mut c, n);
        c.iter().sum::<f64>() as u64
    };
    let expected = workcrew_run(input.clone());
    side_by_side(
        &table,
        reps,
        &input,
        expected,
        workcrew_run,
        rayon_run,
        None,
    )
}

const LIFE_SIDE: usize = 512;
const LIFE_GENERATIONS: usize = 30;

pub fn r3_life(reps: usize) -> Measured {
    let table = Table {
        id: "R3",
        title: "life: 512 x 512 torus, 30 generations (par_chunks_mut(w).enumerate())",
        unit: "ms",
        extra: None,
        baseline: None,
        note: "checksum: live cells at the end",
    };
    let w = LIFE_SIDE;
    let input: Vec<u8> = (0..w * w).map(|i| u8::from((i * 7919) % 11 < 4)).collect();
    let workcrew_run = |mut cells: Vec<u8>| {
        let mut next = vec![0u8; cells.len()];
        for _ in 0..LIFE_GENERATIONS {
            on_workcrew::life_step(&cells, &mut next, w);
            std::mem::swap(&mut cells, &mut next);
        }
        cells.iter().map(|&c| c as usize).sum::<usize>()
    };
    let rayon_run = |mut cells: Vec<u8>| {
        let mut next = vec![0u8; cells.len()];
        for _ in 0..LIFE_GENERATIONS {
            on_rayon::life_step(&cells, &mut next, w);
            std::mem::swap(&mut cells, &mut next);
        }
        cells.iter().map(|&c| c as usize).sum::<usize>()
    };
    let expected = workcrew_run(input.clone());
    side_by_side(
        &table,
        reps,
        &input,
        expected,
        workcrew_run,
        rayon_run,
        None,
    )
}

const SIEVE_LIMIT: usize = 20_000_000;
const SIEVE_BLOCK: usize = 100_000;

pub fn r4_sieve(reps: usize) -> Measured {
    let table = Table {
        id: "R4",
        title: "sieve: primes below 20M in 100K blocks (par_chunks_mut(100_000))",
        unit: "ms",
        extra: None,
        baseline: None,
        note: "checksum: the prime count (1,270,607)",
    };
    side_by_side(
        &table,
        reps,
        &(),
        1_270_607,
        |()| on_workcrew::count_primes(SIEVE_LIMIT, SIEVE_BLOCK),
        |()| on_rayon::count_primes(SIEVE_LIMIT, SIEVE_BLOCK),
        None,
    )
}

const SORT_LEN: usize = 4_000_000;

fn random_u32(len: usize) -> Vec<u32> {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u32
        })
        .collect()
}

fn sorted_checksum(v: &[u32]) -> u64 {
    assert!(v.windows(2).all(|w| w[0] <= w[1]), "not sorted");
    v.iter().step_by(1001).map(|&x| u64::from(x)).sum()
}

pub fn r5_quicksort(reps: usize) -> Measured {
    let table = Table {
        id: "R5",
        title: "quicksort: 4M u32, join at every partition (workcrew::join / rayon::join)",
        unit: "ms",
        extra: None,
        baseline: None,
        note: "three-way partition, sequential below 1024",
    };
    let input = random_u32(SORT_LEN);
    let mut expected = input.clone();
    expected.sort_unstable();
    let expected = sorted_checksum(&expected);
    side_by_side(
        &table,
        reps,
        &input,
        expected,
        |mut v| {
            on_workcrew::quick_sort(&mut v);
            sorted_checksum(&v)
        },
        |mut v| {
            on_rayon::quick_sort(&mut v);
            sorted_checksum(&v)
        },
        None,
    )
}

pub fn r6_mergesort(reps: usize) -> Measured {
    let table = Table {
        id: "R6",
        title: "mergesort: 4M u32, join at every split",
        unit: "ms",
        extra: None,
        baseline: None,
        note: "sequential below 1024, merges through a scratch buffer",
    };
    let input = random_u32(SORT_LEN);
    let mut expected = input.clone();
    expected.sort_unstable();
    let expected = sorted_checksum(&expected);
    side_by_side(
        &table,
        reps,
        &input,
        expected,
        |mut v| {
            let mut scratch = vec![0; v.len()];
            on_workcrew::merge_sort(&mut v, &mut scratch);
            sorted_checksum(&v)
        },
        |mut v| {
            let mut scratch = vec![0; v.len()];
            on_rayon::merge_sort(&mut v, &mut scratch);
            sorted_checksum(&v)
        },
        None,
    )
}

pub fn r7_queens(reps: usize) -> Measured {
    let table = Table {
        id: "R7",
        title: "n-queens(12) for tsp: branch and count, two rows in parallel (into_par_iter().map().sum())",
        unit: "ms",
        extra: None,
        baseline: None,
        note: "a search of uneven branches, as rayon-demo's tsp; 14,200 solutions",
    };
    side_by_side(
        &table,
        reps,
        &(),
        14_200u64,
        |()| on_workcrew::queens(12),
        |()| on_rayon::queens(12),
        None,
    )
}

pub fn r8_fib(reps: usize) -> Measured {
    let table = Table {
        id: "R8",
        title: "fib(27), join at every level",
        unit: "ms",
        extra: None,
        baseline: None,
        note: "rayon-demo's fib: no sequential cutoff",
    };
    side_by_side(
        &table,
        reps,
        &(),
        196_418u64,
        |()| on_workcrew::fib(27),
        |()| on_rayon::fib(27),
        None,
    )
}

fn tree_workcrew(depth: u32, next: &mut u64) -> on_workcrew::Tree {
    *next += 1;
    let value = *next;
    let children = (depth > 0).then(|| {
        Box::new((
            tree_workcrew(depth - 1, next),
            tree_workcrew(depth - 1, next),
        ))
    });
    on_workcrew::Tree { value, children }
}

fn tree_rayon(depth: u32, next: &mut u64) -> on_rayon::Tree {
    *next += 1;
    let value = *next;
    let children =
        (depth > 0).then(|| Box::new((tree_rayon(depth - 1, next), tree_rayon(depth - 1, next))));
    on_rayon::Tree { value, children }
}

pub fn r9_tree_sum(reps: usize) -> Measured {
    let table = Table {
        id: "R9",
        title: "tree sum: 2^20 boxed nodes, join at every node",
        unit: "ms",
        extra: None,
        baseline: None,
        note: "chili's benchmark shape; both trees built once, outside the timing",
    };
    let ours = tree_workcrew(19, &mut 0);
    let theirs = tree_rayon(19, &mut 0);
    let nodes: u64 = (1 << 20) - 1;
    let expected = nodes * (nodes + 1) / 2;
    let (ours, theirs) = (&ours, &theirs);
    side_by_side(
        &table,
        reps,
        &(),
        expected,
        |()| on_workcrew::tree_sum(ours),
        |()| on_rayon::tree_sum(theirs),
        None,
    )
}
