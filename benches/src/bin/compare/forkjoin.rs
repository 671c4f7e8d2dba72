//! Fork-join: W3 (recursive fib with a sequential cutoff) and W9 (a sum over
//! a boxed binary tree with a fork at every node), against rayon::join,
//! chili and the plain sequential recursion.

use std::num::NonZero;
use std::time::Duration;

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

/// chili counts the calling thread as one of its threads: with `cores()`
/// it starts `cores() - 1` workers (plus its heartbeat thread) and the
/// caller works too, so as many threads compute as in the other pools.
fn chili_pool() -> chili::ThreadPool {
    chili::ThreadPool::with_config(chili::Config {
        thread_count: NonZero::new(cores()),
        ..chili::Config::default()
    })
}

/// chili's `join` runs its *second* closure first on the calling thread and
/// offers the first one to other threads; `workcrew::fork_join`,
/// `rayon::join` and the plain recursion run the first closure first. The
/// benchmarks call chili through this, with the halves swapped back, so that
/// every peer runs the same half first and offers the same half to others,
/// and so touches memory in the same order. With the same code and chili's
/// own order, chili would walk a tree right child first; `Node::tree`
/// allocates children before parents, so that walk reads memory in
/// allocation order, backwards, and is 1.3 to 1.6 times faster on one thread
/// than the left-first walk of the others (2^24 nodes: 75 against 120 ms
/// sequentially) — a fact about the tree's layout, not about chili.
/// Workloads W9r and W11r walk right first for every peer.
#[inline(always)]
pub fn chili_join<A, B, RA, RB>(scope: &mut chili::Scope<'_>, a: A, b: B) -> (RA, RB)
where
    A: FnOnce(&mut chili::Scope<'_>) -> RA + Send,
    B: FnOnce(&mut chili::Scope<'_>) -> RB + Send,
    RA: Send,
    RB: Send,
{
    let (rb, ra) = scope.join(b, a);
    (ra, rb)
}

// ------------------------------------------------------------ W3

const W3_N: u64 = 30;
const W3_CUTOFF: u64 = 12;
const W3_WARM_N: u64 = 24;

fn fib_sequential(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_sequential(n - 1) + fib_sequential(n - 2)
    }
}

fn fib_workcrew(n: u64) -> u64 {
    if n <= W3_CUTOFF {
        return fib_sequential(n);
    }
    let (a, b) = workcrew::fork_join(|| fib_workcrew(n - 1), || fib_workcrew(n - 2));
    a + b
}

fn fib_rayon(n: u64) -> u64 {
    if n <= W3_CUTOFF {
        return fib_sequential(n);
    }
    let (a, b) = rayon::join(|| fib_rayon(n - 1), || fib_rayon(n - 2));
    a + b
}

fn fib_chili(scope: &mut chili::Scope<'_>, n: u64) -> u64 {
    if n <= W3_CUTOFF {
        return fib_sequential(n);
    }
    let (a, b) = chili_join(scope, |s| fib_chili(s, n - 1), |s| fib_chili(s, n - 2));
    a + b
}

/// fib(30) is 832,040.
fn checked_fib(result: (u64, Duration)) -> Sample {
    assert_eq!(result.0, 832_040, "fib(30)");
    Sample::ms(result.1)
}

pub fn w3_fib(reps: usize) -> Measured {
    let table = Table {
        id: "W3",
        title: "recursive fib(30), fork-join at every level above n = 12",
        unit: "ms",
        extra: None,
        baseline: Some("sequential"),
        note: "workcrew::fork_join inside Pool::apply, rayon::join inside ThreadPool::install, \
               chili Scope::join from the caller; \"vs sequential\" is the speed-up",
    };
    let contenders = vec![
        Contender::new("workcrew fork_join", || {
            fresh(
                workcrew_pool,
                |pool| {
                    pool.apply(|| fib_workcrew(W3_WARM_N));
                    checked_fib(timed(|| pool.apply(|| fib_workcrew(W3_N))))
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon::join", || {
            fresh(
                rayon_pool,
                |pool| {
                    pool.install(|| fib_rayon(W3_WARM_N));
                    checked_fib(timed(|| pool.install(|| fib_rayon(W3_N))))
                },
                drop,
            )
        }),
        Contender::new("chili", || {
            fresh(
                chili_pool,
                |pool| {
                    let mut scope = pool.scope();
                    fib_chili(&mut scope, W3_WARM_N);
                    checked_fib(timed(|| fib_chili(&mut scope, W3_N)))
                },
                drop,
            )
        }),
        Contender::new("sequential", || {
            fib_sequential(W3_WARM_N);
            checked_fib(timed(|| fib_sequential(W3_N)))
        }),
    ];
    compare(&table, reps, contenders)
}

// ------------------------------------------------------------ W9

const W9_DEPTH: u32 = 20;

/// A binary tree node, boxed one by one as in a real pointer-based tree.
pub struct Node {
    pub value: u64,
    pub left: Option<Box<Node>>,
    pub right: Option<Box<Node>>,
}

impl Node {
    /// A full tree of `depth` levels: 2^depth - 1 nodes, each worth 1. A
    /// node's left subtree is allocated first, then its right one, then the
    /// node (as a parser builds a syntax tree): a right-first walk reads the
    /// nodes in reverse allocation order, a left-first walk jumps around.
    pub fn tree(depth: u32) -> Node {
        Node {
            value: 1,
            left: (depth > 1).then(|| Box::new(Node::tree(depth - 1))),
            right: (depth > 1).then(|| Box::new(Node::tree(depth - 1))),
        }
    }
}

fn sum_sequential(node: &Node) -> u64 {
    let left = node.left.as_deref().map_or(0, sum_sequential);
    let right = node.right.as_deref().map_or(0, sum_sequential);
    node.value + left + right
}

fn sum_workcrew(node: &Node) -> u64 {
    let (left, right) = workcrew::fork_join(
        || node.left.as_deref().map_or(0, sum_workcrew),
        || node.right.as_deref().map_or(0, sum_workcrew),
    );
    node.value + left + right
}

fn sum_rayon(node: &Node) -> u64 {
    let (left, right) = rayon::join(
        || node.left.as_deref().map_or(0, sum_rayon),
        || node.right.as_deref().map_or(0, sum_rayon),
    );
    node.value + left + right
}

fn sum_chili(scope: &mut chili::Scope<'_>, node: &Node) -> u64 {
    let (left, right) = chili_join(
        scope,
        |s| node.left.as_deref().map_or(0, |n| sum_chili(s, n)),
        |s| node.right.as_deref().map_or(0, |n| sum_chili(s, n)),
    );
    node.value + left + right
}

fn checked_sum(result: (u64, Duration)) -> Sample {
    assert_eq!(result.0, (1 << W9_DEPTH) - 1, "tree sum");
    Sample::ms(result.1)
}

pub fn w9_tree_sum(reps: usize) -> Measured {
    let table = Table {
        id: "W9",
        title: "sum over a boxed binary tree of 2^20 - 1 nodes, fork-join at every node",
        unit: "ms",
        extra: None,
        baseline: Some("sequential"),
        note: "no cutoff: ~1M joins, the finest-grained parallelism there is; \
               \"vs sequential\" is the speed-up",
    };
    let tree = Node::tree(W9_DEPTH);
    let tree = &tree;
    let contenders = vec![
        Contender::new("workcrew fork_join", move || {
            fresh(
                workcrew_pool,
                |pool| {
                    pool.apply(|| sum_workcrew(tree));
                    checked_sum(timed(|| pool.apply(|| sum_workcrew(tree))))
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon::join", move || {
            fresh(
                rayon_pool,
                |pool| {
                    pool.install(|| sum_rayon(tree));
                    checked_sum(timed(|| pool.install(|| sum_rayon(tree))))
                },
                drop,
            )
        }),
        Contender::new("chili", move || {
            fresh(
                chili_pool,
                |pool| {
                    let mut scope = pool.scope();
                    sum_chili(&mut scope, tree);
                    checked_sum(timed(|| sum_chili(&mut scope, tree)))
                },
                drop,
            )
        }),
        Contender::new("sequential", move || {
            sum_sequential(tree);
            checked_sum(timed(|| sum_sequential(tree)))
        }),
    ];
    compare(&table, reps, contenders)
}
