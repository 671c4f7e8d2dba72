//! One adapter per pool for the task workloads (W1, W2, W5, W6, W7): each
//! builds its pool, submits fire-and-forget tasks from an outside thread,
//! collects `u64` results the way that pool's users would, and shuts down.
//!
//! Completion is reported the same way for every peer (the caller's
//! [`Latch`] or channel, captured by the task), so the only thing that
//! differs between adapters is the pool. [`TaskWorkload`] and
//! [`every_task_pool`] run one workload on all of them.

use std::ops::Range;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::harness::{leak, Contender, Latch, Sample};

/// A pool as the task workloads use it.
pub trait TaskPool: Sized {
    /// The row label in the tables.
    const NAME: &'static str;

    /// A pool running tasks on `threads` threads. May start them lazily:
    /// the workloads warm every pool before timing it.
    fn build(threads: usize) -> Self;

    /// Queues `task`; does not wait for it.
    fn execute(&self, task: impl FnOnce() + Send + 'static);

    /// Runs `task(i)` as one task per `i` and returns the results in order,
    /// collected the way this pool hands results back (W2).
    fn collect(&self, inputs: Range<u64>, task: fn(u64) -> u64) -> Vec<u64>;

    /// Stops the pool. The harness then waits until its threads are gone.
    fn shutdown(self);
}

/// Peers without task handles return results through one channel that every
/// task captures by reference; the caller receiving them is the wait.
fn collect_over_channel<P: TaskPool>(
    pool: &P,
    inputs: Range<u64>,
    task: fn(u64) -> u64,
) -> Vec<u64> {
    let (sender, receiver) = crossbeam_channel::unbounded::<(u64, u64)>();
    let sender: &'static Sender<(u64, u64)> = leak(sender);
    let start = inputs.start;
    let count = (inputs.end - inputs.start) as usize;
    for i in inputs {
        pool.execute(move || {
            sender
                .send((i, task(i)))
                .expect("the caller keeps the receiver");
        });
    }
    let mut results = vec![0; count];
    for _ in 0..count {
        let (i, value) = receiver.recv().expect("a task was lost");
        results[(i - start) as usize] = value;
    }
    results
}

/// A workload that runs the same way on every [`TaskPool`].
pub trait TaskWorkload {
    /// Builds a `P`, warms it, measures once and shuts it down.
    fn measure<P: TaskPool>(&self) -> Sample;
}

/// One contender per task pool, workcrew first.
pub fn every_task_pool<W: TaskWorkload>(workload: &W) -> Vec<Contender<'_>> {
    vec![
        Contender::new(Workcrew::NAME, move || workload.measure::<Workcrew>()),
        Contender::new(Rayon::NAME, move || workload.measure::<Rayon>()),
        Contender::new(Threadpool::NAME, move || workload.measure::<Threadpool>()),
        Contender::new(TokioBlocking::NAME, move || {
            workload.measure::<TokioBlocking>()
        }),
        Contender::new(Naive::NAME, move || workload.measure::<Naive>()),
    ]
}

/// Submits `count` tasks running `body` from this (outside) thread, then
/// waits for all of them on one shared latch.
pub fn run_tasks<P: TaskPool>(pool: &P, count: usize, body: impl Fn() + Copy + Send + 'static) {
    let latch = Latch::leaked(count);
    for _ in 0..count {
        pool.execute(move || {
            body();
            latch.count_down();
        });
    }
    latch.wait();
}

// ------------------------------------------------------------ workcrew

/// `Pool::execute`, and `Pool::spawn` + `TaskHandle::join` for results.
pub struct Workcrew(pub workcrew::Pool);

impl TaskPool for Workcrew {
    const NAME: &'static str = "workcrew";

    fn build(threads: usize) -> Self {
        Workcrew(workcrew::Pool::new(threads))
    }

    fn execute(&self, task: impl FnOnce() + Send + 'static) {
        self.0.execute(task);
    }

    fn collect(&self, inputs: Range<u64>, task: fn(u64) -> u64) -> Vec<u64> {
        let handles: Vec<_> = inputs.map(|i| self.0.spawn(move || task(i))).collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("task panicked"))
            .collect()
    }

    fn shutdown(self) {
        self.0.shutdown();
    }
}

/// workcrew collecting results the way the handle-less peers do: `execute`
/// plus one shared channel (W2 only). Set against [`Workcrew`] it shows what
/// a `TaskHandle` per task costs on top of the pool itself.
pub struct WorkcrewChannel(pub workcrew::Pool);

impl TaskPool for WorkcrewChannel {
    const NAME: &'static str = "workcrew execute+channel";

    fn build(threads: usize) -> Self {
        WorkcrewChannel(workcrew::Pool::new(threads))
    }

    fn execute(&self, task: impl FnOnce() + Send + 'static) {
        self.0.execute(task);
    }

    fn collect(&self, inputs: Range<u64>, task: fn(u64) -> u64) -> Vec<u64> {
        collect_over_channel(self, inputs, task)
    }

    fn shutdown(self) {
        self.0.shutdown();
    }
}

// ------------------------------------------------------------ rayon

/// `rayon::ThreadPool::spawn` (rayon has no task handles).
pub struct Rayon(pub rayon::ThreadPool);

impl TaskPool for Rayon {
    const NAME: &'static str = "rayon spawn";

    fn build(threads: usize) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("rayon pool");
        Rayon(pool)
    }

    fn execute(&self, task: impl FnOnce() + Send + 'static) {
        self.0.spawn(task);
    }

    fn collect(&self, inputs: Range<u64>, task: fn(u64) -> u64) -> Vec<u64> {
        collect_over_channel(self, inputs, task)
    }

    fn shutdown(self) {
        // Returns at once; the harness waits for the threads to exit.
        drop(self.0);
    }
}

// ------------------------------------------------------------ threadpool

/// The `threadpool` crate (Rust's oldest pool: one channel, no stealing).
pub struct Threadpool(pub threadpool::ThreadPool);

impl TaskPool for Threadpool {
    const NAME: &'static str = "threadpool";

    fn build(threads: usize) -> Self {
        Threadpool(threadpool::ThreadPool::new(threads))
    }

    fn execute(&self, task: impl FnOnce() + Send + 'static) {
        self.0.execute(task);
    }

    fn collect(&self, inputs: Range<u64>, task: fn(u64) -> u64) -> Vec<u64> {
        collect_over_channel(self, inputs, task)
    }

    fn shutdown(self) {
        self.0.join();
        drop(self.0);
    }
}

// ------------------------------------------------------------ tokio

/// `Runtime::spawn_blocking` on a multi-thread runtime whose blocking pool
/// has `threads` threads (and one async worker, idle throughout); results
/// come back through the `JoinHandle`s, awaited in one `block_on`.
pub struct TokioBlocking(pub tokio::runtime::Runtime);

impl TaskPool for TokioBlocking {
    const NAME: &'static str = "tokio spawn_blocking";

    fn build(threads: usize) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(threads)
            .build()
            .expect("tokio runtime");
        TokioBlocking(runtime)
    }

    fn execute(&self, task: impl FnOnce() + Send + 'static) {
        drop(self.0.spawn_blocking(task));
    }

    fn collect(&self, inputs: Range<u64>, task: fn(u64) -> u64) -> Vec<u64> {
        let handles: Vec<_> = inputs
            .map(|i| self.0.spawn_blocking(move || task(i)))
            .collect();
        self.0.block_on(async move {
            let mut results = Vec::with_capacity(handles.len());
            for handle in handles {
                results.push(handle.await.expect("task panicked"));
            }
            results
        })
    }

    fn shutdown(self) {
        self.0.shutdown_timeout(Duration::from_secs(30));
    }
}

// ------------------------------------------------------------ naive

/// The pool everyone writes first: `threads` std threads looping over one
/// crossbeam channel of boxed closures. No stealing, no panic handling, no
/// growth: the floor a general pool's overhead is measured against.
pub struct Naive {
    sender: Option<Sender<Box<dyn FnOnce() + Send>>>,
    threads: Vec<JoinHandle<()>>,
}

impl TaskPool for Naive {
    const NAME: &'static str = "naive channel pool";

    fn build(threads: usize) -> Self {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let threads = (0..threads)
            .map(|_| {
                let receiver: Receiver<Box<dyn FnOnce() + Send>> = receiver.clone();
                thread::spawn(move || {
                    while let Ok(task) = receiver.recv() {
                        task();
                    }
                })
            })
            .collect();
        Naive {
            sender: Some(sender),
            threads,
        }
    }

    fn execute(&self, task: impl FnOnce() + Send + 'static) {
        let sender = self.sender.as_ref().expect("open until shutdown");
        sender
            .send(Box::new(task))
            .expect("workers hold the receiver");
    }

    fn collect(&self, inputs: Range<u64>, task: fn(u64) -> u64) -> Vec<u64> {
        collect_over_channel(self, inputs, task)
    }

    fn shutdown(mut self) {
        // Disconnecting the channel ends every worker's loop.
        drop(self.sender.take());
        for thread in self.threads.drain(..) {
            thread.join().expect("naive worker panicked");
        }
    }
}
