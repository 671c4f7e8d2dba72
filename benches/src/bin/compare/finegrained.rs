//! Fine-grained fork-join (issue 14): a join at every node of a recursion,
//! against rayon::join, chili and the plain sequential recursion.
//!
//! | id  | workload                                                        |
//! |-----|-----------------------------------------------------------------|
//! | W10 | tree sum, 2^10 - 1 nodes, one tree (µs), inside the pool        |
//! | W11 | tree sum, 2^24 - 1 nodes (ms)                                   |
//! | W12 | tree sum, 2^20 - 1 nodes on a ONE-thread pool: the join's cost  |
//! | W13 | fib(27) with a join at every level (ms)                         |
//! | W14a| rayon-demo's join_recursively(16) (µs)                          |
//! | W14b| rayon-demo's join_overhead: 70,000 empty joins in a row (µs)    |
//! | W15a| quicksort of 4M u32 by fork-join (ms)                           |
//! | W15b| mergesort of 4M u32 by fork-join (ms)                           |
//! | W16 | fork_join of two 50 ms sleeps (ms): do blocking halves overlap? |
//! | W17 | idle CPU for 1 s after a fork-join tree ran (% of a core)       |
//!
//! The 2^20-node tree on two threads is W9 (forkjoin.rs), W3 is fib(30)
//! above a cutoff. workcrew and rayon run inside their pool (`apply`,
//! `install`); chili from the caller, which is one of its threads.

use std::num::NonZero;
use std::time::{Duration, Instant};

use crate::forkjoin::Node;
use crate::harness::{
    compare, cores, cpu_time_by_thread, fresh, timed, Contender, Measured, Sample, Table,
};

// ------------------------------------------------------------ pools

fn workcrew_pool(threads: usize) -> workcrew::Pool {
    workcrew::Pool::new(threads)
}

fn rayon_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool")
}

/// chili counts the calling thread as one of its threads.
fn chili_pool(threads: usize) -> chili::ThreadPool {
    chili::ThreadPool::with_config(chili::Config {
        thread_count: NonZero::new(threads),
        ..chili::Config::default()
    })
}

/// A join for the recursions below, so one generic body serves workcrew,
/// rayon and the sequential baseline (chili's join takes a scope; its
/// recursions are written out beside them).
trait Join: Copy + Send + Sync {
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send;
}

#[derive(Clone, Copy)]
struct Workcrew;
#[derive(Clone, Copy)]
struct Rayon;
#[derive(Clone, Copy)]
struct Sequential;

impl Join for Workcrew {
    #[inline]
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        workcrew::fork_join(a, b)
    }
}

impl Join for Rayon {
    #[inline]
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        rayon::join(a, b)
    }
}

impl Join for Sequential {
    #[inline]
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        (a(), b())
    }
}

// ------------------------------------------------------------ recursions

fn tree_sum<J: Join>(j: J, node: &Node) -> u64 {
    let (left, right) = j.join(
        || node.left.as_deref().map_or(0, |n| tree_sum(j, n)),
        || node.right.as_deref().map_or(0, |n| tree_sum(j, n)),
    );
    node.value + left + right
}

fn tree_sum_chili(s: &mut chili::Scope<'_>, node: &Node) -> u64 {
    let (left, right) = s.join(
        |s| node.left.as_deref().map_or(0, |n| tree_sum_chili(s, n)),
        |s| node.right.as_deref().map_or(0, |n| tree_sum_chili(s, n)),
    );
    node.value + left + right
}

fn fib<J: Join>(j: J, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = j.join(|| fib(j, n - 1), || fib(j, n - 2));
    a + b
}

fn fib_chili(s: &mut chili::Scope<'_>, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = s.join(|s| fib_chili(s, n - 1), |s| fib_chili(s, n - 2));
    a + b
}

fn join_recursively<J: Join>(j: J, n: usize) {
    if n == 0 {
        return;
    }
    j.join(|| join_recursively(j, n - 1), || join_recursively(j, n - 1));
}

fn join_recursively_chili(s: &mut chili::Scope<'_>, n: usize) {
    if n == 0 {
        return;
    }
    s.join(
        |s| join_recursively_chili(s, n - 1),
        |s| join_recursively_chili(s, n - 1),
    );
}

const EMPTY_JOINS: usize = 70_000;

fn empty_joins<J: Join>(j: J) {
    for _ in 0..EMPTY_JOINS {
        j.join(|| std::hint::black_box(()), || std::hint::black_box(()));
    }
}

fn empty_joins_chili(s: &mut chili::Scope<'_>) {
    for _ in 0..EMPTY_JOINS {
        s.join(|_| std::hint::black_box(()), |_| std::hint::black_box(()));
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

fn quicksort<J: Join>(j: J, v: &mut [u32]) {
    if v.len() <= SORT_CUTOFF {
        v.sort_unstable();
        return;
    }
    let p = partition(v);
    let (low, high) = v.split_at_mut(p);
    j.join(|| quicksort(j, low), || quicksort(j, &mut high[1..]));
}

fn quicksort_chili(s: &mut chili::Scope<'_>, v: &mut [u32]) {
    if v.len() <= SORT_CUTOFF {
        v.sort_unstable();
        return;
    }
    let p = partition(v);
    let (low, high) = v.split_at_mut(p);
    s.join(
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
fn mergesort<J: Join>(j: J, v: &mut [u32], buf: &mut [u32]) {
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

fn mergesort_chili(s: &mut chili::Scope<'_>, v: &mut [u32], buf: &mut [u32]) {
    if v.len() <= SORT_CUTOFF {
        v.sort_unstable();
        return;
    }
    let mid = v.len() / 2;
    {
        let (vl, vr) = v.split_at_mut(mid);
        let (bl, br) = buf.split_at_mut(mid);
        s.join(
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

// ------------------------------------------------------------ contenders

/// The four peers of one recursive workload, each measured inside its pool
/// of `threads` threads: `run` times one computation and returns a sample.
fn four_peers<'a>(
    threads: usize,
    run: impl Fn(&dyn Fn()) -> Sample + Copy + Send + Sync + 'a,
    work: impl Fn(&dyn JoinWork) + Copy + Send + Sync + 'a,
) -> Vec<Contender<'a>> {
    vec![
        Contender::new("workcrew fork_join", move || {
            fresh(
                || workcrew_pool(threads),
                |pool| pool.apply(|| run(&|| work(&Workcrew))),
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon::join", move || {
            fresh(
                || rayon_pool(threads),
                |pool| pool.install(|| run(&|| work(&Rayon))),
                drop,
            )
        }),
        Contender::new("chili", move || {
            fresh(
                || chili_pool(threads),
                |pool| {
                    let mut scope = pool.scope();
                    let scope = std::cell::RefCell::new(&mut scope);
                    run(&|| work(&ChiliWork(&scope)))
                },
                drop,
            )
        }),
        Contender::new("sequential", move || run(&|| work(&Sequential))),
    ]
}

/// One recursive workload, written once per kind of join.
trait JoinWork {
    fn tree_sum(&self, node: &Node) -> u64;
    fn fib(&self, n: u64) -> u64;
    fn join_recursively(&self, n: usize);
    fn empty_joins(&self);
    fn quicksort(&self, v: &mut [u32]);
    fn mergesort(&self, v: &mut [u32], buf: &mut [u32]);
    fn two_naps(&self);
}

impl<J: Join> JoinWork for J {
    fn tree_sum(&self, node: &Node) -> u64 {
        tree_sum(*self, node)
    }
    fn fib(&self, n: u64) -> u64 {
        fib(*self, n)
    }
    fn join_recursively(&self, n: usize) {
        join_recursively(*self, n)
    }
    fn empty_joins(&self) {
        empty_joins(*self)
    }
    fn quicksort(&self, v: &mut [u32]) {
        quicksort(*self, v)
    }
    fn mergesort(&self, v: &mut [u32], buf: &mut [u32]) {
        mergesort(*self, v, buf)
    }
    fn two_naps(&self) {
        self.join(|| std::thread::sleep(NAP), || std::thread::sleep(NAP));
    }
}

struct ChiliWork<'s, 'p>(&'s std::cell::RefCell<&'s mut chili::Scope<'p>>);

impl JoinWork for ChiliWork<'_, '_> {
    fn tree_sum(&self, node: &Node) -> u64 {
        tree_sum_chili(&mut self.0.borrow_mut(), node)
    }
    fn fib(&self, n: u64) -> u64 {
        fib_chili(&mut self.0.borrow_mut(), n)
    }
    fn join_recursively(&self, n: usize) {
        join_recursively_chili(&mut self.0.borrow_mut(), n)
    }
    fn empty_joins(&self) {
        empty_joins_chili(&mut self.0.borrow_mut())
    }
    fn quicksort(&self, v: &mut [u32]) {
        quicksort_chili(&mut self.0.borrow_mut(), v)
    }
    fn mergesort(&self, v: &mut [u32], buf: &mut [u32]) {
        mergesort_chili(&mut self.0.borrow_mut(), v, buf)
    }
    fn two_naps(&self) {
        self.0
            .borrow_mut()
            .join(|_| std::thread::sleep(NAP), |_| std::thread::sleep(NAP));
    }
}

/// Warms once, then times one run.
fn once_ms(body: &dyn Fn()) -> Sample {
    body();
    Sample::ms(timed(body).1)
}

/// Warms, then times `count` runs and reports microseconds per run.
fn many_us(count: u32) -> impl Fn(&dyn Fn()) -> Sample + Copy + Send + Sync {
    move |body| {
        for _ in 0..count / 10 {
            body();
        }
        let start = Instant::now();
        for _ in 0..count {
            body();
        }
        Sample::new(start.elapsed().as_secs_f64() * 1e6 / f64::from(count))
    }
}

fn checked_tree(tree: &Node, depth: u32) -> impl Fn(&dyn JoinWork) + Copy + Send + Sync + '_ {
    move |work| {
        let sum = work.tree_sum(std::hint::black_box(tree));
        assert_eq!(sum, (1u64 << depth) - 1, "tree sum");
    }
}

fn table(id: &'static str, title: &'static str, unit: &'static str, note: &'static str) -> Table {
    Table {
        id,
        title,
        unit,
        extra: None,
        baseline: Some("sequential"),
        note,
    }
}

// ------------------------------------------------------------ workloads

pub fn w10_small_tree(reps: usize) -> Measured {
    let tree = Node::tree(10);
    let t = table(
        "W10",
        "sum over a 1,023-node tree, fork-join at every node, 2 threads",
        "us per tree",
        "mean of 20,000 trees inside the pool (the pool stays warm); \"vs sequential\" above 0.5 \
         means less than 2x the sequential time",
    );
    compare(
        &t,
        reps,
        four_peers(cores(), many_us(20_000), checked_tree(&tree, 10)),
    )
}

pub fn w11_big_tree(reps: usize) -> Measured {
    let tree = Node::tree(24);
    let t = table(
        "W11",
        "sum over a 2^24 - 1 node tree, fork-join at every node, 2 threads",
        "ms",
        "16.7M joins; \"vs sequential\" is the speed-up",
    );
    compare(
        &t,
        reps,
        four_peers(cores(), once_ms, checked_tree(&tree, 24)),
    )
}

pub fn w12_one_thread_tree(reps: usize) -> Measured {
    let tree = Node::tree(20);
    let t = table(
        "W12",
        "sum over a 2^20 - 1 node tree on ONE thread: what a join costs",
        "ms",
        "every pool with one thread; \"vs sequential\" below 1 is the join's overhead \
         (0.77 = 1.3x the sequential time)",
    );
    compare(&t, reps, four_peers(1, once_ms, checked_tree(&tree, 20)))
}

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

const NAP: Duration = Duration::from_millis(50);

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
                    pool.apply(|| tree_sum(Workcrew, tree));
                    idle_cpu_percent()
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon::join", move || {
            fresh(
                || rayon_pool(cores()),
                |pool| {
                    pool.install(|| tree_sum(Rayon, tree));
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
                    tree_sum_chili(&mut scope, tree);
                    idle_cpu_percent()
                },
                drop,
            )
        }),
    ];
    compare(&t, reps, contenders)
}
