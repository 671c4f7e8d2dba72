//! Task throughput: W1 (empty tasks), W2 (tasks returning a value) and W5
//! (blocking tasks on many threads), each run on every [`TaskPool`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{compare, cores, fresh, Contender, Measured, Sample, Table};
use crate::peers::{every_task_pool, run_tasks, TaskPool, TaskWorkload, WorkcrewChannel};

// ------------------------------------------------------------ W1

const W1_TASKS: usize = 1_000_000;

/// W1: 1,000,000 empty tasks from an outside thread, then wait for all.
struct EmptyTasks;

impl TaskWorkload for EmptyTasks {
    fn measure<P: TaskPool>(&self) -> Sample {
        fresh(
            || P::build(cores()),
            |pool| {
                run_tasks(pool, W1_TASKS / 10, || {});
                let start = Instant::now();
                run_tasks(pool, W1_TASKS, || {});
                Sample::ns_per(start.elapsed(), W1_TASKS as u64)
            },
            P::shutdown,
        )
    }
}

pub fn w1_empty_tasks(reps: usize) -> Measured {
    let table = Table {
        id: "W1",
        title: "1,000,000 empty tasks submitted from an outside thread, then wait for all",
        unit: "ns/task",
        extra: None,
        baseline: None,
        note: "every task captures one shared count-down latch; pools on all cores",
    };
    compare(&table, reps, every_task_pool(&EmptyTasks))
}

// ------------------------------------------------------------ W2

const W2_TASKS: u64 = 100_000;

fn odd(i: u64) -> u64 {
    2 * i + 1
}

/// W2: 100,000 tasks that each return a `u64`, collected by the caller.
struct ReturningTasks;

impl TaskWorkload for ReturningTasks {
    fn measure<P: TaskPool>(&self) -> Sample {
        fresh(
            || P::build(cores()),
            |pool| {
                pool.collect(0..W2_TASKS / 10, odd);
                let start = Instant::now();
                let results = pool.collect(0..W2_TASKS, odd);
                let elapsed = start.elapsed();
                assert!(results.iter().enumerate().all(|(i, &r)| r == odd(i as u64)));
                Sample::ns_per(elapsed, W2_TASKS)
            },
            P::shutdown,
        )
    }
}

pub fn w2_returning_tasks(reps: usize) -> Measured {
    let table = Table {
        id: "W2",
        title: "100,000 tasks returning a u64, results collected by the caller",
        unit: "ns/task",
        extra: None,
        baseline: None,
        note: "workcrew: spawn + TaskHandle::join; tokio: JoinHandles awaited in one block_on; \
               the others send (index, value) over one shared channel",
    };
    let mut contenders = every_task_pool(&ReturningTasks);
    contenders.insert(
        1,
        Contender::new(WorkcrewChannel::NAME, || {
            ReturningTasks.measure::<WorkcrewChannel>()
        }),
    );
    compare(&table, reps, contenders)
}

// ------------------------------------------------------------ W5

const W5_TASKS: usize = 1000;
const W5_THREADS: usize = 100;
const W5_NAP: Duration = Duration::from_millis(10);

fn nap() {
    thread::sleep(W5_NAP);
}

/// W5: 1000 tasks that each sleep 10 ms, on 100 threads (ideal: 100 ms).
struct SleepingTasks;

impl TaskWorkload for SleepingTasks {
    fn measure<P: TaskPool>(&self) -> Sample {
        fresh(
            || P::build(W5_THREADS),
            |pool| {
                // Enough overlapping sleeps to start every lazily started thread.
                run_tasks(pool, 2 * W5_THREADS, || {
                    thread::sleep(Duration::from_millis(2))
                });
                let start = Instant::now();
                run_tasks(pool, W5_TASKS, nap);
                Sample::ms(start.elapsed())
            },
            P::shutdown,
        )
    }
}

/// std::thread::scope: 100 threads started inside the timed region, each
/// taking sleeps from one shared counter until none are left.
fn w5_scoped_threads() -> Sample {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..W5_THREADS {
            s.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < W5_TASKS {
                    nap();
                }
            });
        }
    });
    Sample::ms(start.elapsed())
}

pub fn w5_sleeping_tasks(reps: usize) -> Measured {
    let table = Table {
        id: "W5",
        title: "1000 tasks that each sleep 10 ms, on 100 threads (ideal 100 ms)",
        unit: "ms",
        extra: None,
        baseline: None,
        note: "std::thread::scope starts its 100 threads inside the timed region",
    };
    let mut contenders = every_task_pool(&SleepingTasks);
    contenders.push(Contender::new("std::thread::scope", w5_scoped_threads));
    compare(&table, reps, contenders)
}
