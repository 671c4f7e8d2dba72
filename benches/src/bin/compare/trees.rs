//! Tree sums with a join at every node (issue 14), against rayon::join,
//! chili and the plain sequential recursion.
//!
//! | id   | workload                                                       |
//! |------|----------------------------------------------------------------|
//! | W9r  | 2^20 - 1 nodes, 2 threads, every peer right child first (ms)   |
//! | W10  | 2^10 - 1 nodes, one tree (µs), inside the pool                 |
//! | W11  | 2^24 - 1 nodes, 2 threads (ms)                                 |
//! | W11r | 2^24 - 1 nodes, 2 threads, every peer right child first (ms)   |
//! | W12  | 2^20 - 1 nodes on a ONE-thread pool: the join's cost           |
//!
//! W9 (forkjoin.rs) is the 2^20-node tree walked left child first. The
//! walk order matters on big trees: `Node::tree` allocates a node after its
//! subtrees, so walking right first reads memory in reverse allocation
//! order, a stream the hardware prefetches, and walking left first does not.
//! Every peer walks in the same order in each workload (chili through
//! `chili_join`); the `r` workloads show the other order.

use crate::forkjoin::{chili_join, Node};
use crate::harness::{compare, cores, Measured};
use crate::joins::{four_peers, many_us, once_ms, table, Join, JoinWork};

/// The child a walk visits first (`right`) or second.
#[inline(always)]
fn child(node: &Node, right: bool) -> Option<&Node> {
    if right {
        node.right.as_deref()
    } else {
        node.left.as_deref()
    }
}

/// The sum of the tree's values, a join at every node; `RIGHT_FIRST`: the
/// right subtree is the join's first half (run first, on the caller).
pub fn tree_sum<J: Join, const RIGHT_FIRST: bool>(j: J, node: &Node) -> u64 {
    let (a, b) = j.join(
        || child(node, RIGHT_FIRST).map_or(0, |n| tree_sum::<J, RIGHT_FIRST>(j, n)),
        || child(node, !RIGHT_FIRST).map_or(0, |n| tree_sum::<J, RIGHT_FIRST>(j, n)),
    );
    node.value + a + b
}

/// [`tree_sum`] for chili (whose join takes a scope).
pub fn tree_sum_chili<const RIGHT_FIRST: bool>(s: &mut chili::Scope<'_>, node: &Node) -> u64 {
    let (a, b) = chili_join(
        s,
        |s| child(node, RIGHT_FIRST).map_or(0, |n| tree_sum_chili::<RIGHT_FIRST>(s, n)),
        |s| child(node, !RIGHT_FIRST).map_or(0, |n| tree_sum_chili::<RIGHT_FIRST>(s, n)),
    );
    node.value + a + b
}

fn checked_tree(
    tree: &Node,
    depth: u32,
    right_first: bool,
) -> impl Fn(&dyn JoinWork) + Copy + Send + Sync + '_ {
    move |work| {
        let sum = work.tree_sum(std::hint::black_box(tree), right_first);
        assert_eq!(sum, (1u64 << depth) - 1, "tree sum");
    }
}

pub fn w9r_tree_right_first(reps: usize) -> Measured {
    let tree = Node::tree(20);
    let t = table(
        "W9r",
        "sum over a 2^20 - 1 node tree, fork-join at every node, 2 threads, right child first",
        "ms",
        "W9 in the tree's reverse allocation order (a prefetched stream) for every peer; \
         \"vs sequential\" is the speed-up",
    );
    compare(
        &t,
        reps,
        four_peers(cores(), once_ms, checked_tree(&tree, 20, true)),
    )
}

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
        four_peers(cores(), many_us(20_000), checked_tree(&tree, 10, false)),
    )
}

pub fn w11_big_tree(reps: usize) -> Measured {
    let tree = Node::tree(24);
    let t = table(
        "W11",
        "sum over a 2^24 - 1 node tree, fork-join at every node, 2 threads",
        "ms",
        "16.7M joins, left child first; \"vs sequential\" is the speed-up",
    );
    compare(
        &t,
        reps,
        four_peers(cores(), once_ms, checked_tree(&tree, 24, false)),
    )
}

pub fn w11r_big_tree_right_first(reps: usize) -> Measured {
    let tree = Node::tree(24);
    let t = table(
        "W11r",
        "sum over a 2^24 - 1 node tree, fork-join at every node, 2 threads, right child first",
        "ms",
        "W11 in the tree's reverse allocation order (a prefetched stream) for every peer; \
         \"vs sequential\" is the speed-up",
    );
    compare(
        &t,
        reps,
        four_peers(cores(), once_ms, checked_tree(&tree, 24, true)),
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
    compare(
        &t,
        reps,
        four_peers(1, once_ms, checked_tree(&tree, 20, false)),
    )
}
