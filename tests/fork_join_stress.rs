//! Randomized fork-join trees over the frame list and the heartbeat
//! (`src/scheduler/frames.rs`, `heartbeat.rs`): deep, unbalanced trees whose
//! halves sometimes panic, sometimes block, on pools of one to three
//! threads, and trees that `shutdown_now` interrupts.
//!
//! Every half of every join records that it ran, and when it ended. After
//! each tree:
//!
//! * every half ran exactly once, whatever panicked, promoted or claimed;
//! * a join whose halves panicked resumed a panic only after both halves had
//!   ended (checked where the panic is caught, by the half's parent);
//! * the panics the root saw are exactly the ones planned above it.
//!
//! Sizes scale with `WORKCREW_STRESS` (tests/common: `stress`); the seed is
//! printed and `WORKCREW_STRESS_SEED` replays it.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{stress, with_deadline, LIMIT};
use workcrew::Pool;

/// xorshift64*: small, deterministic, good enough to shape trees.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn base_seed() -> u64 {
    let seed = std::env::var("WORKCREW_STRESS_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("fork_join_stress: WORKCREW_STRESS_SEED={seed}");
    seed
}

/// One node of a planned tree: a join of two subtrees, or a leaf.
enum Plan {
    Leaf { id: usize, panics: bool, naps: bool },
    Join { left: Box<Plan>, right: Box<Plan> },
}

/// What happened to each leaf: 0 not run, 1 running, 2 ended.
struct Ledger {
    state: Vec<AtomicU8>,
    runs: Vec<AtomicUsize>,
}

impl Plan {
    fn random(rng: &mut Rng, depth: u32, next_id: &mut usize, panic_per_mille: u64) -> Plan {
        // Unbalanced: the chance to stop grows with depth, one side often
        // much deeper than the other.
        if depth == 0 || rng.below(16) < u64::from(16u32.saturating_sub(depth).min(3)) {
            let id = *next_id;
            *next_id += 1;
            return Plan::Leaf {
                id,
                panics: rng.below(1000) < panic_per_mille,
                naps: rng.below(500) == 0,
            };
        }
        let left_depth = depth - 1;
        let right_depth = if rng.below(4) == 0 {
            depth / 2
        } else {
            depth - 1
        };
        Plan::Join {
            left: Box::new(Plan::random(rng, left_depth, next_id, panic_per_mille)),
            right: Box::new(Plan::random(rng, right_depth, next_id, panic_per_mille)),
        }
    }

    /// Leaves under this node that plan a panic.
    fn planned_panics(&self) -> usize {
        match self {
            Plan::Leaf { panics, .. } => usize::from(*panics),
            Plan::Join { left, right } => left.planned_panics() + right.planned_panics(),
        }
    }

    fn leaves(&self, out: &mut Vec<usize>) {
        match self {
            Plan::Leaf { id, .. } => out.push(*id),
            Plan::Join { left, right } => {
                left.leaves(out);
                right.leaves(out);
            }
        }
    }

    /// Runs the tree with a join at every node; returns how many panics
    /// were caught below and must be counted (each join catches its
    /// children's panic so the rest of the tree still runs and can be
    /// checked, and re-panics so its own parent sees one).
    fn run(&self, ledger: &Ledger) -> usize {
        match self {
            Plan::Leaf { id, panics, naps } => {
                ledger.state[*id].store(1, Ordering::SeqCst);
                ledger.runs[*id].fetch_add(1, Ordering::SeqCst);
                if *naps {
                    // A blocking leaf: its sibling should be claimed.
                    std::thread::sleep(Duration::from_millis(1));
                }
                ledger.state[*id].store(2, Ordering::SeqCst);
                if *panics {
                    panic::panic_any(Planned);
                }
                0
            }
            Plan::Join { left, right } => {
                let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                    workcrew::fork_join(|| left.run(ledger), || right.run(ledger))
                }));
                match caught {
                    Ok((a, b)) => a + b,
                    Err(payload) => {
                        assert!(
                            payload.is::<Planned>(),
                            "an unplanned panic: {:?}",
                            common::payload_text(&*payload)
                        );
                        // [both halves ended]: every leaf below has ended.
                        let mut ids = Vec::new();
                        self.leaves(&mut ids);
                        for id in ids {
                            assert_eq!(
                                ledger.state[id].load(Ordering::SeqCst),
                                2,
                                "a panic resumed from fork_join before leaf {id} of its halves ended"
                            );
                        }
                        // A join resumes one panic however many happened
                        // below; the root compares "some" with "planned".
                        1
                    }
                }
            }
        }
    }
}

/// The payload of a planned panic.
struct Planned;

/// A tree whose root is a join (a panicking root leaf would have nobody to
/// catch it).
fn random_tree(rng: &mut Rng, depth: u32, next_id: &mut usize, panic_per_mille: u64) -> Plan {
    Plan::Join {
        left: Box::new(Plan::random(rng, depth, next_id, panic_per_mille)),
        right: Box::new(Plan::random(rng, depth, next_id, panic_per_mille)),
    }
}

fn check_tree(pool: &Pool, rng: &mut Rng, depth: u32, panic_per_mille: u64) {
    let mut next_id = 0;
    let plan = Arc::new(random_tree(rng, depth, &mut next_id, panic_per_mille));
    let ledger = Arc::new(Ledger {
        state: (0..next_id).map(|_| AtomicU8::new(0)).collect(),
        runs: (0..next_id).map(|_| AtomicUsize::new(0)).collect(),
    });
    let (p, l) = (plan.clone(), ledger.clone());
    let caught = pool.apply(move || p.run(&l));
    for (id, runs) in ledger.runs.iter().enumerate() {
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "leaf {id} ran {runs:?} times"
        );
    }
    // A join reports at most one panic however many are below it, so the
    // root saw one if and only if something panicked.
    let planned = plan.planned_panics();
    assert_eq!(
        caught > 0,
        planned > 0,
        "{planned} planned panics, {caught} seen"
    );
}

#[test]
fn random_trees_with_panics_run_every_half_exactly_once_and_panic_after_both_ended() {
    with_deadline(LIMIT * 6, || {
        let seed = base_seed();
        for threads in 1..=3 {
            let pool = Pool::new(threads);
            let mut rng = Rng(seed ^ (threads as u64) << 32);
            for _ in 0..stress(12) {
                let depth = 8 + rng.below(10) as u32;
                let per_mille = [0, 2, 20][rng.below(3) as usize];
                check_tree(&pool, &mut rng, depth, per_mille);
            }
            pool.shutdown();
        }
    });
}

#[test]
fn a_tree_keeps_running_every_half_once_while_shutdown_now_interrupts_it() {
    with_deadline(LIMIT * 3, || {
        let seed = base_seed();
        let mut rng = Rng(seed);
        for round in 0..stress(8) {
            let pool = Pool::new(2);
            let mut next_id = 0;
            let plan = Arc::new(random_tree(&mut rng, 16, &mut next_id, 0));
            let ledger = Arc::new(Ledger {
                state: (0..next_id).map(|_| AtomicU8::new(0)).collect(),
                runs: (0..next_id).map(|_| AtomicUsize::new(0)).collect(),
            });
            let (p, l) = (plan.clone(), ledger.clone());
            let handle = pool.spawn(move || p.run(&l));
            // Interrupt at a varying point: after some leaves ran.
            let after = (rng.below(next_id as u64) as usize).max(1);
            common::wait_until("some leaves ran", || {
                ledger
                    .runs
                    .iter()
                    .filter(|r| r.load(Ordering::SeqCst) > 0)
                    .count()
                    >= after.min(next_id)
                    || handle.is_finished()
            });
            pool.shutdown_now();
            assert_eq!(handle.join().expect("the running tree finishes"), 0);
            for (id, runs) in ledger.runs.iter().enumerate() {
                assert_eq!(
                    runs.load(Ordering::SeqCst),
                    1,
                    "round {round}: leaf {id} ran {runs:?} times after shutdown_now"
                );
            }
            pool.join();
        }
    });
}
