//! An idle pool: W6 (how fast a parked pool wakes up) and W7 (what it costs
//! while it waits), run on every [`TaskPool`].

use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{
    compare, cores, cpu_time_by_thread, current_tid, fresh, leak, percentile, Latch, Measured,
    Sample, Table,
};
use crate::peers::{every_task_pool, run_tasks, TaskPool, TaskWorkload};

fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        thread::sleep(deadline - now);
    }
}

// ------------------------------------------------------------ W6

/// Samples per peer over the whole run (split across the rounds).
const W6_SAMPLES: usize = 2000;
const W6_IDLE: Duration = Duration::from_millis(5);

/// W6: after 5 ms idle, submit one task; time from submit to its start.
struct WakeUp {
    samples_per_round: usize,
}

impl TaskWorkload for WakeUp {
    fn measure<P: TaskPool>(&self) -> Sample {
        fresh(
            || P::build(cores()),
            |pool| {
                run_tasks(pool, 1000, || {});
                let (sender, started) = crossbeam_channel::unbounded::<Duration>();
                let sender = leak(sender);
                let mut micros = Vec::with_capacity(self.samples_per_round);
                for _ in 0..self.samples_per_round {
                    thread::sleep(W6_IDLE);
                    let submitted = Instant::now();
                    pool.execute(move || {
                        let _ = sender.send(submitted.elapsed());
                    });
                    let latency = started.recv().expect("the task reports its start");
                    micros.push(latency.as_secs_f64() * 1e6);
                }
                Sample::with_extra(percentile(&micros, 50.0), percentile(&micros, 99.0))
            },
            P::shutdown,
        )
    }
}

pub fn w6_wake_up(reps: usize) -> Measured {
    let table = Table {
        id: "W6",
        title: "wake-up latency: one task submitted after 5 ms idle, submit to start",
        unit: "p50 us",
        extra: Some("p99 us"),
        baseline: None,
        note: "2000 samples per peer in all, split over the rounds; min and median are of \
               the rounds' p50s, p99 is the median of the rounds' p99s",
    };
    let workload = WakeUp {
        samples_per_round: W6_SAMPLES.div_ceil(reps),
    };
    compare(&table, reps, every_task_pool(&workload))
}

// ------------------------------------------------------------ W7

const W7_THREADS: usize = 2;
const W7_TICK: Duration = Duration::from_millis(10);
const W7_TICKS: u32 = 100;

fn tiny() {
    std::hint::black_box((0..100u64).sum::<u64>());
}

/// W7: a 2-thread pool receiving one tiny task every 10 ms for 1 s.
struct IdleCpu;

impl TaskWorkload for IdleCpu {
    fn measure<P: TaskPool>(&self) -> Sample {
        fresh(
            || P::build(W7_THREADS),
            |pool| {
                run_tasks(pool, 100, tiny);
                let caller = current_tid();
                let before = cpu_time_by_thread();
                let start = Instant::now();
                let latch = Latch::leaked(W7_TICKS as usize);
                for tick in 1..=W7_TICKS {
                    pool.execute(move || {
                        tiny();
                        latch.count_down();
                    });
                    sleep_until(start + W7_TICK * tick);
                }
                latch.wait();
                let wall = start.elapsed().as_nanos() as f64;
                let after = cpu_time_by_thread();
                let (Some(before), Some(after)) = (before, after) else {
                    return Sample::with_extra(f64::NAN, f64::NAN);
                };
                let (mut pool_ns, mut process_ns) = (0u64, 0u64);
                for (tid, ns) in after {
                    let earlier = before
                        .iter()
                        .find(|(t, _)| *t == tid)
                        .map_or(0, |(_, ns)| *ns);
                    let used = ns.saturating_sub(earlier);
                    process_ns += used;
                    if Some(tid) != caller {
                        pool_ns += used;
                    }
                }
                let percent = |ns: u64| ns as f64 / wall * 100.0;
                Sample::with_extra(percent(pool_ns), percent(process_ns))
            },
            P::shutdown,
        )
    }
}

pub fn w7_idle_cpu(reps: usize) -> Measured {
    let table = Table {
        id: "W7",
        title: "idle CPU: 2-thread pool, one tiny task every 10 ms for 1 s",
        unit: "% of a core, pool threads",
        extra: Some("process %"),
        baseline: None,
        note: "CPU time from /proc/self/task/*/schedstat over wall time; \"process\" adds the \
               submitting thread, the same for every peer",
    };
    compare(&table, reps, every_task_pool(&IdleCpu))
}
