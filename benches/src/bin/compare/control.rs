//! What the control and observability features cost on the submit path:
//! W18 is W1 (empty tasks through `execute`) and W19 is W2 (tasks
//! returning a value through `spawn` + `join`), each on a plain pool and on
//! pools using one feature at a time. The first row is the plain pool; the
//! ratio column is each variant's median over the plain one (above 1: the
//! feature costs that much). The cargo features (`tracing`, `metrics`) are
//! not compiled into this package: these rows measure the runtime switches
//! only; `cargo test -p workcrew --all-features` checks the features work.

use std::cell::Cell;
use std::time::{Duration, Instant};

use workcrew::{Pool, PoolBuilder};

use crate::harness::{compare, cores, fresh, Contender, Latch, Measured, Sample, Table};

const W18_TASKS: usize = 1_000_000;
const W19_TASKS: u64 = 100_000;

thread_local! {
    /// The "context" the context hooks carry from submitter to task.
    static REQUEST_ID: Cell<u64> = const { Cell::new(0) };
}

/// How a variant sets up its pool.
type Configure = fn(PoolBuilder) -> PoolBuilder;

/// The pools compared: a name and how to build each.
fn variants() -> Vec<(&'static str, Configure)> {
    vec![
        ("plain", |builder| builder),
        ("task_timings(true)", |builder| builder.task_timings(true)),
        ("slow_task hook (never slow)", |builder| {
            builder.slow_task(Duration::from_secs(3600), |_| {})
        }),
        ("context(capture, enter)", |builder| {
            builder.context(
                || REQUEST_ID.with(Cell::get),
                |id, run| {
                    let outer = REQUEST_ID.with(|cell| cell.replace(*id));
                    run();
                    REQUEST_ID.with(|cell| cell.set(outer));
                },
            )
        }),
    ]
}

fn build(configure: Configure) -> Pool {
    configure(Pool::builder().threads(cores()))
        .build()
        .expect("valid settings")
}

fn empty_tasks(pool: &Pool, count: usize, check: bool) {
    let latch = Latch::leaked(count);
    for _ in 0..count {
        pool.execute(move || {
            if check {
                std::hint::black_box(workcrew::is_cancelled());
            }
            latch.count_down();
        });
    }
    latch.wait();
}

fn w18_sample(configure: Configure, check: bool) -> Sample {
    fresh(
        || build(configure),
        |pool| {
            empty_tasks(pool, W18_TASKS / 10, check);
            let start = Instant::now();
            empty_tasks(pool, W18_TASKS, check);
            Sample::ns_per(start.elapsed(), W18_TASKS as u64)
        },
        |pool: Pool| pool.shutdown(),
    )
}

pub fn w18_control_empty_tasks(reps: usize) -> Measured {
    let table = Table {
        id: "W18",
        title: "W1 with control features in use: 1,000,000 empty tasks via execute",
        unit: "ns/task",
        extra: None,
        baseline: None,
        note: "ratio = variant / plain (above 1: what the feature costs); same pool size, \
               one feature per row",
    };
    let mut contenders: Vec<Contender<'_>> = variants()
        .into_iter()
        .map(|(name, configure)| Contender::new(name, move || w18_sample(configure, false)))
        .collect();
    contenders.push(Contender::new("is_cancelled() in every task", || {
        w18_sample(|builder| builder, true)
    }));
    compare(&table, reps, contenders)
}

fn odd(i: u64) -> u64 {
    2 * i + 1
}

/// How W19 submits: plainly, or through a `TaskBuilder`.
#[derive(Clone, Copy)]
enum Submit {
    Spawn,
    Named,
    Timeout,
}

fn returning_tasks(pool: &Pool, count: u64, submit: Submit) -> Vec<u64> {
    let handles: Vec<_> = (0..count)
        .map(|i| match submit {
            Submit::Spawn => pool.spawn(move || odd(i)),
            Submit::Named => pool.task_builder().name("odd").spawn(move || odd(i)),
            Submit::Timeout => pool
                .task_builder()
                .timeout(Duration::from_secs(3600))
                .spawn(move || odd(i)),
        })
        .collect();
    handles
        .into_iter()
        .map(|handle| handle.join().expect("task panicked"))
        .collect()
}

fn w19_sample(configure: Configure, submit: Submit) -> Sample {
    fresh(
        || build(configure),
        |pool| {
            returning_tasks(pool, W19_TASKS / 10, submit);
            let start = Instant::now();
            let results = returning_tasks(pool, W19_TASKS, submit);
            let elapsed = start.elapsed();
            assert!(results.iter().enumerate().all(|(i, &r)| r == odd(i as u64)));
            Sample::ns_per(elapsed, W19_TASKS)
        },
        |pool: Pool| pool.shutdown(),
    )
}

pub fn w19_control_returning_tasks(reps: usize) -> Measured {
    let table = Table {
        id: "W19",
        title: "W2 with control features in use: 100,000 tasks returning a u64 (spawn + join)",
        unit: "ns/task",
        extra: None,
        baseline: None,
        note: "ratio = variant / plain; timeout(1 h) registers every task with the \
               deadline timer (a heap push under a mutex); the process's timer thread \
               it starts lives on, so the harness warns once that a thread did not exit",
    };
    let mut contenders: Vec<Contender<'_>> = variants()
        .into_iter()
        .map(|(name, configure)| Contender::new(name, move || w19_sample(configure, Submit::Spawn)))
        .collect();
    contenders.push(Contender::new("task_builder().name(..)", || {
        w19_sample(|builder| builder, Submit::Named)
    }));
    contenders.push(Contender::new("task_builder().timeout(1 h)", || {
        w19_sample(|builder| builder, Submit::Timeout)
    }));
    compare(&table, reps, contenders)
}
