//! workcrew against its peers, side by side, as ratios (issue 7).
//!
//! ```text
//! cargo bench --bench compare                          # everything, ~2-4 min on 2 cores
//! cargo bench --bench compare -- --only W1,W3 --reps 9
//! cargo bench --bench compare -- --list
//! ```
//!
//! For each workload every peer is measured once per round, the rounds
//! interleave the peers (rotating who goes first), and the table shows the
//! median and the minimum over the rounds and each peer's median divided by
//! workcrew's (above 1: workcrew is faster). Every pool is built and warmed
//! outside the timing and torn down, its threads gone, before the next
//! measurement; every peer's tasks report completion the same way. See
//! `harness.rs` for the rules and `peers.rs` for the pools.
//!
//! | id | workload                                                     | module      |
//! |----|--------------------------------------------------------------|-------------|
//! | W1 | 1,000,000 empty tasks from an outside thread                 | tasks.rs    |
//! | W2 | 100,000 tasks returning a u64, collected by the caller       | tasks.rs    |
//! | W3 | fib(30), fork-join above n = 12                              | forkjoin.rs |
//! | W4 | squares of 100M i64 into a second buffer, vs memcpy          | data.rs     |
//! | W5 | 1000 × 10 ms sleeps on 100 threads                           | tasks.rs    |
//! | W6 | wake-up latency of an idle pool, p50/p99                     | idle.rs     |
//! | W7 | CPU used by an idle 2-thread pool fed a tiny task per 10 ms  | idle.rs     |
//! | W8 | map of 10M cheap items                                       | data.rs     |
//! | W9 | sum over a 2^20-node boxed tree, fork-join at every node     | forkjoin.rs |
//! | W10-W17 | fine-grained fork-join: trees of 2^10 and 2^24 nodes, one thread, fib, rayon-demo's joins, sorts, blocking halves, idle CPU after | finegrained.rs |
//!
//! `cargo test` does not build this file; `cargo test --all-targets` builds
//! it and runs it without `--bench`, which measures nothing (see
//! `Command::NotABenchRun`). `benches/python_peers.py` times the Python
//! pools on W1/W2/W5.

mod data;
mod finegrained;
mod forkjoin;
mod harness;
mod idle;
mod peers;
mod tasks;

use std::process::ExitCode;
use std::time::Instant;

use harness::{Command, Options, USAGE};

struct Workload {
    id: &'static str,
    summary: &'static str,
    /// Rounds unless `--reps` says otherwise: at least 5, more where one
    /// round takes milliseconds.
    default_reps: usize,
    run: fn(usize),
}

const WORKLOADS: &[Workload] = &[
    Workload {
        id: "W1",
        summary: "1,000,000 empty tasks (ns/task)",
        default_reps: 5,
        run: tasks::w1_empty_tasks,
    },
    Workload {
        id: "W2",
        summary: "100,000 tasks returning a u64 (ns/task)",
        default_reps: 9,
        run: tasks::w2_returning_tasks,
    },
    Workload {
        id: "W3",
        summary: "fib(30) by fork-join, cutoff 12 (ms)",
        default_reps: 15,
        run: forkjoin::w3_fib,
    },
    Workload {
        id: "W4",
        summary: "squares of 100M i64 vs memcpy (ms, GB/s)",
        default_reps: 5,
        run: data::w4_squares,
    },
    Workload {
        id: "W5",
        summary: "1000 x 10 ms sleeps on 100 threads (ms)",
        default_reps: 5,
        run: tasks::w5_sleeping_tasks,
    },
    Workload {
        id: "W6",
        summary: "wake-up latency after 5 ms idle (us)",
        default_reps: 5,
        run: idle::w6_wake_up,
    },
    Workload {
        id: "W7",
        summary: "idle CPU of a 2-thread pool (%)",
        default_reps: 5,
        run: idle::w7_idle_cpu,
    },
    Workload {
        id: "W8",
        summary: "map of 10M cheap items (ms)",
        default_reps: 9,
        run: data::w8_map,
    },
    Workload {
        id: "W9",
        summary: "tree sum, fork-join at every node (ms)",
        default_reps: 9,
        run: forkjoin::w9_tree_sum,
    },
    Workload {
        id: "W10",
        summary: "tree sum, 2^10 nodes, join at every node (us)",
        default_reps: 9,
        run: finegrained::w10_small_tree,
    },
    Workload {
        id: "W11",
        summary: "tree sum, 2^24 nodes, join at every node (ms)",
        default_reps: 5,
        run: finegrained::w11_big_tree,
    },
    Workload {
        id: "W12",
        summary: "tree sum, 2^20 nodes, ONE thread: the join's cost (ms)",
        default_reps: 9,
        run: finegrained::w12_one_thread_tree,
    },
    Workload {
        id: "W13",
        summary: "fib(27), join at every level (ms)",
        default_reps: 9,
        run: finegrained::w13_fib,
    },
    Workload {
        id: "W14",
        summary: "rayon-demo join microbenchmarks (us)",
        default_reps: 7,
        run: finegrained::w14_rayon_demo_joins,
    },
    Workload {
        id: "W15",
        summary: "quicksort and mergesort of 4M u32 by fork-join (ms)",
        default_reps: 7,
        run: finegrained::w15_sorts,
    },
    Workload {
        id: "W16",
        summary: "fork_join of two 50 ms sleeps (ms)",
        default_reps: 5,
        run: finegrained::w16_blocking_halves,
    },
    Workload {
        id: "W17",
        summary: "idle CPU right after a fork-join tree (%)",
        default_reps: 3,
        run: finegrained::w17_idle_after_fork_join,
    },
];

fn main() -> ExitCode {
    let options = match Command::parse(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::List) => {
            for workload in WORKLOADS {
                println!("{}  {}", workload.id, workload.summary);
            }
            return ExitCode::SUCCESS;
        }
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::NotABenchRun) => {
            println!(
                "compare: started without --bench (by `cargo test --all-targets`?), so nothing \
                 is measured; run `cargo bench --bench compare`"
            );
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("compare: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(unknown) = unknown_ids(&options) {
        eprintln!("compare: no workload {unknown}; --list shows them");
        return ExitCode::from(2);
    }

    print_machine();
    let started = Instant::now();
    for workload in WORKLOADS.iter().filter(|w| options.wants(w.id)) {
        (workload.run)(options.reps_or(workload.default_reps));
    }
    println!("\ntotal {:.0} s", started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}

fn unknown_ids(options: &Options) -> Option<String> {
    let ids = options.only.as_ref()?;
    let unknown: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| WORKLOADS.iter().all(|w| w.id != *id))
        .collect();
    (!unknown.is_empty()).then(|| unknown.join(", "))
}

fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".into());
    println!(
        "workcrew compare: {} cores ({cpu}), load average {load} at start",
        harness::cores()
    );
}
