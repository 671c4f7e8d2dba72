//! Fine-grained fork-join (issue 14): a join at every level of a recursion,
//! against rayon::join, chili and the plain sequential recursion.
//!
//! | id  | workload                                                        |
//! |-----|-----------------------------------------------------------------|
//! | W13 | fib(27) with a join at every level (ms)                         |
//! | W14a| rayon-demo's join_recursively(16) (µs)                          |
//! | W14b| rayon-demo's join_overhead: 70,000 empty joins in a row (µs)    |
//! | W15a| quicksort of 4M u32 by fork-join (ms)                           |
//! | W15b| mergesort of 4M u32 by fork-join (ms)                           |
//! | W16 | fork_join of two 50 ms sleeps (ms): do blocking halves overlap? |
//! | W17 | idle CPU for 1 s after a fork-join tree ran (% of a core)       |
//!
//! The tree sums are in trees.rs, W3 (fib(30) above a cutoff) in
//! forkjoin.rs. workcrew and rayon run inside their pool (`apply`,
//! `install`); chili from the caller, which is one of its threads.

use std::time::{Duration, Instant};

use crate::forkjoin::{chili_join, Node};
use crate::harness::{
    compare, cores, cpu_time_by_thread, fresh, timed, Contender, Measured, Sample, Table,
};
use crate::joins::{
    chili_pool, four_peers, many_us, once_ms, rayon_pool, table, workcrew_pool, Join, JoinWork,
    Rayon, Workcrew,
};
use crate::trees::{tree_sum, tree_sum_chili};

// ------------------------------------------------------------ recursions

pub fn fib<J: Join>(j: J, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = j.join(|| fib(j, n - 1), || fib(j, n - 2));
    a + b
}

pub fn fib_chili(s: &mut chili::Scope<'_>, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = chili_join(s, |s| fib_chili(s, n - 1), |s| fib_chili(s, n - 2));
    a + b
}

pub fn join_recursively<J: Join>(j: J, n: usize) {
    if n == 0 {
        return;
    }
    j.join(|| join_recursively(j, n - 1), || join_recursively(j, n - 1));
}

pub fn join_recursively_chili(s: &mut chili::Scope<'_>, n: usize) {
    if n == 0 {
        return;
    }
    chili_join(
        s,
        |s| join_recursively_chili(s, n - 1),
        |s| join_recursively_chili(s, n - 1),
    );
}

const EMPTY_JOINS: usize = 70_000;

pub fn empty_joins<J: Join>(j: J) {
    for _ in 0..EMPTY_JOINS {
        j.join(|| std::hint::black_box(()), || std::hint::black_box(()));
    }
}

pub fn empty_joins_chili(s: &mut chili::Scope<'_>) {
    for _ in 0..EMPTY_JOINS {
        chili_join(
            s,
            |_| std::hint::black_box(()),
            |_| std::hint::black_box(()),
        );
    }
}

/// Below this many items the sorts call the standard library's sort.
const SORT_CUTOFF: usize = 1024;

fn partition(v: &mut [u32]) -> usize {
    let mid = v.len() / 2;
    v.swap(mid, v.len() - 1);
    let pivot = v[v.len() - 1];
    let mut store = 0;
    for i in 0..v.len() - 1 {
        if v[i] < pivot {
            v.swap(i, store);
            store += 1;
        }
    }
    let last = v.len() - 1;
    v.swap(store, last);
    store
}

pub fn quicksort<J: Join>(j: J, v: &mut [u32]) {
    if v.len() <= SORT_CUTOFF {
        v.sort_unstable();
        return;
    }
    let p = partition(v);
    let (low, high) = v.split_at_mut(p);
    j.join(|| quicksort(j, low), || quicksort(j, &mut high[1..]));
}

pub fn quicksort_chili(s: &mut chili::Scope<'_>, v: &mut [u32]) {
    if v.len() <= SORT_CUTOFF {
        v.sort_unstable();
        return;
    }
    let p = partition(v);
    let (low, high) = v.split_at_mut(p);
    chili_join(
        s,
        |s| quicksort_chili(s, low),
        |s| quicksort_chili(s, &mut high[1..]),
    );
}

fn merge(left: &[u32], right: &[u32], out: &mut [u32]) {
    let (mut i, mut k) = (0, 0);
    for slot in out.iter_mut() {
        if k >= right.len() || (i < left.len() && left[i] <= right[k]) {
            *slot = left[i];
            i += 1;
        } else {
            *slot = right[k];
            k += 1;
        }
    }
}

/// Sorts `v` using `buf` (same length) as scratch.
pub fn mergesort<J: Join>(j: J, v: &mut [u32], buf: &mut [u32]) {
    if v.len() <= SORT_CUTOFF {
        v.sort_unstable();
        return;
    }
    let mid = v.len() / 2;
    {
        let (vl, vr) = v.split_at_mut(mid);
        let (bl, br) = buf.split_at_mut(mid);
        j.join(|| mergesort(j, vl, bl), || mergesort(j, vr, br));
    }
    merge(&v[..mid], &v[mid..], buf);
    v.copy_from_slice(buf);
}

pub fn mergesort_chili(s: &mut chili::Scope<'_>, v: &mut [u32], buf: &mut [u32]) {
    if v.len() <= SORT_CUTOFF {
        v.sort_unstable();
        return;
    }
    let mid = v.len() / 2;
    {
        let (vl, vr) = v.split_at_mut(mid);
        let (bl, br) = buf.split_at_mut(mid);
        chili_join(
            s,
            |s| mergesort_chili(s, vl, bl),
            |s| mergesort_chili(s, vr, br),
        );
    }
    merge(&v[..mid], &v[mid..], buf);
    v.copy_from_slice(buf);
}

fn scrambled(len: usize) -> Vec<u32> {
    let mut x = 0x2545_F491_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        })
        .collect()
}

// ------------------------------------------------------------ workloads

pub fn w13_fib(reps: usize) -> Measured {
    let t = table(
        "W13",
        "fib(27) with a fork-join at every level, no cutoff, 2 threads",
        "ms",
        "300k joins of almost no work each; \"vs sequential\" is the speed-up",
    );
    let work = |w: &dyn JoinWork| assert_eq!(w.fib(std::hint::black_box(27)), 196_418, "fib(27)");
    compare(&t, reps, four_peers(cores(), once_ms, work))
}

pub fn w14a_join_recursively(reps: usize) -> Measured {
    let t = table(
        "W14a",
        "rayon-demo join_recursively(16): 65,535 joins of nothing, 2 threads",
        "us",
        "rayon-demo's join_microbench; mean over 200 runs inside the pool",
    );
    let work = |w: &dyn JoinWork| w.join_recursively(std::hint::black_box(16));
    compare(&t, reps, four_peers(cores(), many_us(200), work))
}

pub fn w14b_empty_joins(reps: usize) -> Measured {
    let t = table(
        "W14b",
        "rayon-demo join_overhead: 70,000 empty joins one after another, 2 threads",
        "us",
        "no recursion: every join is the only one pending; mean over 100 runs",
    );
    let work = |w: &dyn JoinWork| w.empty_joins();
    compare(&t, reps, four_peers(cores(), many_us(100), work))
}

const SORT_LEN: usize = 1 << 22;

/// The sorts' input and its sorted form.
fn sort_input() -> (Vec<u32>, Vec<u32>) {
    let input = scrambled(SORT_LEN);
    let mut expected = input.clone();
    expected.sort_unstable();
    (input, expected)
}

pub fn w15a_quicksort(reps: usize) -> Measured {
    let (input, expected) = sort_input();
    let (input, expected) = (&input, &expected);
    let t = table(
        "W15a",
        "quicksort of 4M u32 by fork-join (std sort below 1,024 items), 2 threads",
        "ms",
        "copying the input is outside the timing; \"vs sequential\" is the speed-up",
    );
    let sort = move |w: &dyn JoinWork| {
        let mut v = input.clone();
        w.quicksort(&mut v);
        assert!(v == *expected, "quicksort");
    };
    compare(&t, reps, four_peers(cores(), sort_ms(input, false), sort))
}

pub fn w15b_mergesort(reps: usize) -> Measured {
    let (input, expected) = sort_input();
    let (input, expected) = (&input, &expected);
    let t = table(
        "W15b",
        "mergesort of 4M u32 by fork-join (std sort below 1,024 items), 2 threads",
        "ms",
        "copying the input is outside the timing; \"vs sequential\" is the speed-up",
    );
    let sort = move |w: &dyn JoinWork| {
        let mut v = input.clone();
        let mut buf = vec![0; v.len()];
        w.mergesort(&mut v, &mut buf);
        assert!(v == *expected, "mergesort");
    };
    compare(&t, reps, four_peers(cores(), sort_ms(input, true), sort))
}

/// Times one sort; the copy of the input (and the scratch buffer) made by
/// the body is timed alone first and subtracted.
fn sort_ms(
    input: &[u32],
    with_buffer: bool,
) -> impl Fn(&dyn Fn()) -> Sample + Copy + Send + Sync + '_ {
    move |body| {
        body();
        let (_, copying) = timed(|| {
            let v = std::hint::black_box(input.to_vec());
            if with_buffer {
                std::hint::black_box(vec![0u32; v.len()]);
            }
            v
        });
        let (_, total) = timed(body);
        Sample::ms(total.saturating_sub(copying))
    }
}

pub const NAP: Duration = Duration::from_millis(50);

pub fn w16_blocking_halves(reps: usize) -> Measured {
    let t = table(
        "W16",
        "fork_join of two 50 ms sleeps, 2 threads",
        "ms",
        "50 ms means the halves overlapped, 100 ms that they ran one after the other",
    );
    let work = |w: &dyn JoinWork| w.two_naps();
    compare(&t, reps, four_peers(cores(), once_ms, work))
}

const IDLE_FOR: Duration = Duration::from_secs(1);

/// CPU (% of a core) the process's threads other than the caller used
/// while the caller slept for [`IDLE_FOR`].
fn idle_cpu_percent() -> Sample {
    let caller = crate::harness::current_tid();
    let before = cpu_time_by_thread();
    let start = Instant::now();
    std::thread::sleep(IDLE_FOR);
    let wall = start.elapsed().as_nanos() as f64;
    let (Some(before), Some(after)) = (before, cpu_time_by_thread()) else {
        return Sample::new(f64::NAN);
    };
    let used: u64 = after
        .iter()
        .filter(|(tid, _)| Some(*tid) != caller)
        .map(|(tid, ns)| {
            let earlier = before
                .iter()
                .find(|(t, _)| t == tid)
                .map_or(0, |(_, ns)| *ns);
            ns.saturating_sub(earlier)
        })
        .sum();
    Sample::new(used as f64 / wall * 100.0)
}

pub fn w17_idle_after_fork_join(reps: usize) -> Measured {
    let t = Table {
        id: "W17",
        title: "idle CPU for 1 s right after a 2^16-node fork-join tree, 2 threads (chili's scope kept)",
        unit: "% of a core",
        extra: None,
        baseline: None,
        note:
            "the pool does nothing while measured: a heartbeat that outlives the work shows here \
               (chili#21)",
    };
    let tree = Node::tree(16);
    let tree = &tree;
    let contenders = vec![
        Contender::new("workcrew fork_join", move || {
            fresh(
                || workcrew_pool(cores()),
                |pool| {
                    pool.apply(|| tree_sum::<_, false>(Workcrew, tree));
                    idle_cpu_percent()
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon::join", move || {
            fresh(
                || rayon_pool(cores()),
                |pool| {
                    pool.install(|| tree_sum::<_, false>(Rayon, tree));
                    idle_cpu_percent()
                },
                drop,
            )
        }),
        Contender::new("chili", move || {
            fresh(
                || chili_pool(cores()),
                |pool| {
                    // The scope stays alive, as it does in a program that
                    // keeps one for its fork-joins (chili#21).
                    let mut scope = pool.scope();
                    tree_sum_chili::<false>(&mut scope, tree);
                    idle_cpu_percent()
                },
                drop,
            )
        }),
    ];
    compare(&t, reps, contenders)
}
