//! workcrew against its peers, side by side, as ratios (issue 7).
//!
//! ```text
//! cargo run --release -p workcrew-benches                    # everything, ~3 min on 2 cores
//! cargo run --release -p workcrew-benches -- --only W1,W3 --reps 9
//! cargo run --release -p workcrew-benches -- --list
//! cargo run --release -p workcrew-benches -- --save run.tsv --chart performance.svg
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
//! | W18, W19 | W1 and W2 with the control/observability switches in use, one per row | control.rs |
//! | W10-W17 | fine-grained fork-join: trees of 2^10 and 2^24 nodes, one thread, fib, rayon-demo's joins, sorts, blocking halves, idle CPU after | finegrained.rs |
//! | R1-R9 | rayon-demo-shaped workloads with the parallel iterators against rayon's: nbody, matmul, life, sieve, quicksort, mergesort, n-queens (for tsp), fib, tree sum | iter_demo.rs |
//! | S1-S4 | small inputs: sum over 1,000 and 100,000 u64, map().collect() of 10M, par_sort_unstable of 10M u64 | iter_small.rs |
//!
//! `--save` writes the figures in `workcrew_benches::results`' format and
//! `--chart` draws them (`workcrew_benches::chart`); the `chart` binary does
//! the same, and prints the README's table, from a saved file.
//! `benches/python_peers.py` times the Python pools on W1/W2/W5.

mod control;
mod data;
mod finegrained;
mod forkjoin;
mod harness;
mod idle;
mod iter_demo;
mod iter_ports;
mod iter_small;
mod joins;
mod peers;
mod tasks;
mod trees;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use harness::{Command, Measured, Options, USAGE};
use workcrew_benches::results::{Run, Workload as Figures};

struct Workload {
    id: &'static str,
    summary: &'static str,
    /// Rounds unless `--reps` says otherwise: at least 5, more where one
    /// round takes milliseconds.
    default_reps: usize,
    run: fn(usize) -> Measured,
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
        id: "W9r",
        summary: "tree sum, 2^20 nodes, right child first (ms)",
        default_reps: 9,
        run: trees::w9r_tree_right_first,
    },
    Workload {
        id: "W10",
        summary: "tree sum, 2^10 nodes, join at every node (us)",
        default_reps: 9,
        run: trees::w10_small_tree,
    },
    Workload {
        id: "W11",
        summary: "tree sum, 2^24 nodes, join at every node (ms)",
        default_reps: 5,
        run: trees::w11_big_tree,
    },
    Workload {
        id: "W11r",
        summary: "tree sum, 2^24 nodes, right child first (ms)",
        default_reps: 5,
        run: trees::w11r_big_tree_right_first,
    },
    Workload {
        id: "W12",
        summary: "tree sum, 2^20 nodes, ONE thread: the join's cost (ms)",
        default_reps: 9,
        run: trees::w12_one_thread_tree,
    },
    Workload {
        id: "W13",
        summary: "fib(27), join at every level (ms)",
        default_reps: 9,
        run: finegrained::w13_fib,
    },
    Workload {
        id: "W14a",
        summary: "rayon-demo join_recursively(16) (us)",
        default_reps: 7,
        run: finegrained::w14a_join_recursively,
    },
    Workload {
        id: "W14b",
        summary: "rayon-demo 70,000 empty joins (us)",
        default_reps: 7,
        run: finegrained::w14b_empty_joins,
    },
    Workload {
        id: "W15a",
        summary: "quicksort of 4M u32 by fork-join (ms)",
        default_reps: 7,
        run: finegrained::w15a_quicksort,
    },
    Workload {
        id: "W15b",
        summary: "mergesort of 4M u32 by fork-join (ms)",
        default_reps: 7,
        run: finegrained::w15b_mergesort,
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
    Workload {
        id: "W18",
        summary: "W1 with control features in use (ns/task)",
        default_reps: 5,
        run: control::w18_control_empty_tasks,
    },
    Workload {
        id: "W19",
        summary: "W2 with control features in use (ns/task)",
        default_reps: 9,
        run: control::w19_control_returning_tasks,
    },
    Workload {
        id: "R1",
        summary: "nbody, 1,500 bodies x 3 steps: prelude vs rayon's (ms)",
        default_reps: 7,
        run: iter_demo::r1_nbody,
    },
    Workload {
        id: "R2",
        summary: "matmul 320 x 320 f64: prelude vs rayon's (ms)",
        default_reps: 7,
        run: iter_demo::r2_matmul,
    },
    Workload {
        id: "R3",
        summary: "life 512 x 512, 30 generations: prelude vs rayon's (ms)",
        default_reps: 7,
        run: iter_demo::r3_life,
    },
    Workload {
        id: "R4",
        summary: "sieve below 20M in 100K blocks: prelude vs rayon's (ms)",
        default_reps: 7,
        run: iter_demo::r4_sieve,
    },
    Workload {
        id: "R5",
        summary: "quicksort 4M u32 by join: workcrew::join vs rayon::join (ms)",
        default_reps: 7,
        run: iter_demo::r5_quicksort,
    },
    Workload {
        id: "R6",
        summary: "mergesort 4M u32 by join: workcrew::join vs rayon::join (ms)",
        default_reps: 7,
        run: iter_demo::r6_mergesort,
    },
    Workload {
        id: "R7",
        summary: "n-queens(12) for tsp: prelude vs rayon's (ms)",
        default_reps: 7,
        run: iter_demo::r7_queens,
    },
    Workload {
        id: "R8",
        summary: "fib(27) by join at every level (ms)",
        default_reps: 7,
        run: iter_demo::r8_fib,
    },
    Workload {
        id: "R9",
        summary: "tree sum 2^20 nodes by join (ms)",
        default_reps: 7,
        run: iter_demo::r9_tree_sum,
    },
    Workload {
        id: "S1",
        summary: "par_iter().sum() over 1,000 u64 (ns/call)",
        default_reps: 9,
        run: iter_small::s1_sum_1000,
    },
    Workload {
        id: "S2",
        summary: "par_iter().sum() over 100,000 u64 (ns/call)",
        default_reps: 9,
        run: iter_small::s2_sum_100k,
    },
    Workload {
        id: "S3",
        summary: "par_iter().map().collect() of 10M u64 (ms)",
        default_reps: 9,
        run: iter_small::s3_map_collect,
    },
    Workload {
        id: "S4",
        summary: "par_sort_unstable of 10M u64 (ms)",
        default_reps: 7,
        run: iter_small::s4_sort,
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
        Err(error) => {
            eprintln!("compare: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(unknown) = unknown_ids(&options) {
        eprintln!("compare: no workload {unknown}; --list shows them");
        return ExitCode::from(2);
    }

    let mut run = Run {
        cores: harness::cores(),
        cpu: cpu_model(),
        date: utc_now(),
        load: load_average().unwrap_or_else(|| "?".into()),
        workloads: Vec::new(),
    };
    println!(
        "workcrew compare: {} cores ({}), load average {} at start, {} UTC",
        run.cores, run.cpu, run.load, run.date
    );
    let started = Instant::now();
    for workload in WORKLOADS.iter().filter(|w| options.wants(w.id)) {
        let load_before = one_minute_load();
        let cpu_before = cpu_ticks();
        let wall = Instant::now();
        let measured = (workload.run)(options.reps_or(workload.default_reps));
        let others_cpu = others_cpu(cpu_before, cpu_ticks(), wall.elapsed());
        let figures = Figures {
            id: workload.id.into(),
            summary: workload.summary.into(),
            unit: measured.unit.into(),
            extra: measured.extra.map(String::from),
            rounds: measured.rounds,
            load_before,
            load_after: one_minute_load(),
            others_cpu,
            rows: measured.rows,
        };
        if let (true, Some(others)) = (figures.was_disturbed(), figures.others_cpu) {
            println!(
                "  (disturbed: other programs used {others:.2} of the {} cores meanwhile; \
                 load average {} before, {} after)",
                run.cores,
                load_text(figures.load_before),
                load_text(figures.load_after),
            );
        }
        run.workloads.push(figures);
    }
    println!("\ntotal {:.0} s", started.elapsed().as_secs_f64());

    if let Some(path) = &options.save {
        if let Err(error) = save(&run, path) {
            eprintln!("compare: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        println!("figures written to {}", path.display());
    }
    if let Some(path) = &options.chart {
        let written = workcrew_benches::chart::svg(&run)
            .and_then(|svg| std::fs::write(path, svg).map_err(|error| error.to_string()));
        if let Err(error) = written {
            eprintln!("compare: cannot draw {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        println!("chart drawn in {}", path.display());
    }
    ExitCode::SUCCESS
}

fn save(run: &Run, path: &Path) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    run.write(&mut file)?;
    file.into_inner()?.sync_all()
}

fn unknown_ids(options: &Options) -> Option<String> {
    let ids = options.only.as_ref()?;
    let unknown: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| WORKLOADS.iter().all(|w| !w.id.eq_ignore_ascii_case(id)))
        .collect();
    (!unknown.is_empty()).then(|| unknown.join(", "))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The 1-, 5- and 15-minute load averages (`None` without /proc).
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn one_minute_load() -> Option<f64> {
    load_average()?.split_whitespace().next()?.parse().ok()
}

/// CPU time so far, in clock ticks: the whole machine's busy time (steal
/// included: a hypervisor running other guests), and this process's.
#[derive(Clone, Copy)]
struct CpuTicks {
    machine_busy: u64,
    this_process: u64,
}

/// `None` without /proc.
fn cpu_ticks() -> Option<CpuTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is already
    // inside user and nice).
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .map(|&i| fields.get(i).copied().unwrap_or(0))
        .sum();
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces), from field 3.
    let after_name: Vec<&str> = own.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = after_name.get(11)?.parse().ok()?;
    let system: u64 = after_name.get(12)?.parse().ok()?;
    Some(CpuTicks {
        machine_busy: busy,
        this_process: user + system,
    })
}

/// Cores' worth of CPU everything but this process used between the two
/// readings. Clock ticks are 1/100 s on Linux (`USER_HZ`).
fn others_cpu(
    before: Option<CpuTicks>,
    after: Option<CpuTicks>,
    wall: std::time::Duration,
) -> Option<f64> {
    let (before, after) = (before?, after?);
    let machine = after.machine_busy.saturating_sub(before.machine_busy);
    let own = after.this_process.saturating_sub(before.this_process);
    Some(machine.saturating_sub(own) as f64 / 100.0 / wall.as_secs_f64())
}

fn load_text(load: Option<f64>) -> String {
    load.map_or_else(|| "?".into(), |load| format!("{load:.2}"))
}

/// Now as `YYYY-MM-DD HH:MM` in UTC (days to a civil date: Howard Hinnant's
/// `civil_from_days`).
fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let (days, of_day) = ((seconds / 86_400) as i64, seconds % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60
    )
}
