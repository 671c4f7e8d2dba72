//! Memory and thread bounds, measured on the process itself (Linux
//! `/proc/self/status`):
//!
//! * a million tasks spawned and joined leave the resident set where it was
//!   after a warm-up batch: the pool keeps nothing of a finished task;
//! * the other ways a task ends (detached, fire-and-forget, `on_complete`,
//!   cancelled, awaited as a `Future`) leak nothing either;
//! * dropping the last `Pool` handle frees its threads (after running what
//!   was queued), without `shutdown`.
//!
//! The measurements are process-wide, so the tests of this file take turns
//! (one lock) and nothing else runs in this binary. Pool threads are counted
//! by name in `/proc/self/task` (the `Threads:` line of `/proc/self/status`
//! also counts the test harness's threads, which come and go).
#![cfg(target_os = "linux")]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use workcrew::{Pool, TaskHandle};

/// Growth of the resident set we tolerate over a million tasks: allocator
/// arenas and thread caches settle within it. A leak of even 24 bytes per
/// task would exceed it.
const SLACK_BYTES: u64 = 16 << 20;
/// Tasks per batch: spawned, then all joined, so a batch's live handles are
/// bounded and the same in every batch.
const BATCH: usize = 1_000;
const LIMIT: Duration = Duration::from_secs(120);

/// One test at a time: RSS and thread counts are process-wide.
static EXCLUSIVE: Mutex<()> = Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    EXCLUSIVE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A field of `/proc/self/status`, as a number (the first word after the
/// colon).
fn status_field(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
}

/// Resident set size in bytes.
fn rss_bytes() -> u64 {
    status_field("VmRSS") * 1024
}

/// Live pool threads of this process: the tasks of `/proc/self/task` whose
/// name is a default worker name (`workcrew-{i}`). Counting by name keeps the
/// test harness's own threads, which come and go, out of it.
fn pool_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("workcrew-"))
        .count()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// Spawns and joins `count` tasks in batches; each returns a small heap
/// value, so a leaked result would show as well as a leaked task.
fn spawn_and_join(pool: &Pool, count: usize) {
    let mut handles = Vec::with_capacity(BATCH);
    let mut done = 0;
    while done < count {
        let batch = BATCH.min(count - done);
        handles.extend((0..batch).map(|i| pool.spawn(move || vec![i as u8; 24])));
        for (i, handle) in handles.drain(..).enumerate() {
            assert_eq!(handle.join().unwrap()[0], i as u8);
        }
        done += batch;
    }
}

#[test]
fn a_million_spawned_and_joined_tasks_leave_memory_where_it_started() {
    let _turn = exclusive();
    common::with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        spawn_and_join(&pool, 100_000);
        let before = rss_bytes();
        spawn_and_join(&pool, 1_000_000);
        let after = rss_bytes();
        let growth = after.saturating_sub(before);
        eprintln!(
            "memory: RSS {:.1} MiB after warm-up, {:.1} MiB after 1,000,000 tasks (growth {:.2} MiB)",
            mib(before),
            mib(after),
            mib(growth)
        );
        assert!(
            growth <= SLACK_BYTES,
            "RSS grew by {:.1} MiB over a million tasks (from {:.1} to {:.1} MiB): a per-task leak",
            mib(growth),
            mib(before),
            mib(after)
        );
        // A joined task may still be finishing (counted a moment after its
        // handle is final); `Pool::join` waits for that.
        pool.join();
        assert_eq!(pool.stats().completed, 1_100_000);
        pool.shutdown();
    });
}

/// A waker that only counts.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// One of every way a task can end, `rounds` times.
fn every_ending(pool: &Pool, rounds: usize) {
    let waker_state = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(waker_state.clone());
    let callbacks = Arc::new(AtomicUsize::new(0));
    for _ in 0..rounds / BATCH {
        let mut futures: Vec<TaskHandle<Vec<u8>>> = Vec::with_capacity(BATCH);
        let mut to_cancel = Vec::with_capacity(BATCH);
        for i in 0..BATCH {
            // Detached: the result is dropped when the task finishes.
            drop(pool.spawn(move || vec![i as u8; 24]));
            // Fire and forget.
            let payload = vec![0u8; 24];
            pool.execute(move || drop(payload));
            // Told by callback.
            let callbacks = callbacks.clone();
            pool.spawn(move || vec![1u8; 24])
                .on_complete(move |outcome| {
                    assert_eq!(outcome.unwrap().len(), 24);
                    callbacks.fetch_add(1, Ordering::Relaxed);
                });
            // Awaited as a future (polled once now, once when finished).
            let mut future = pool.spawn(move || vec![2u8; 24]);
            let mut cx = Context::from_waker(&waker);
            if let Poll::Ready(outcome) = Pin::new(&mut future).poll(&mut cx) {
                assert_eq!(outcome.unwrap().len(), 24);
            } else {
                futures.push(future);
            }
            // Maybe cancelled before it starts.
            to_cancel.push(pool.spawn(move || vec![3u8; 24]));
        }
        for handle in &to_cancel {
            handle.cancel();
        }
        for handle in to_cancel {
            let _ = handle.join();
        }
        for mut future in futures {
            future.wait();
            let mut cx = Context::from_waker(&waker);
            match Pin::new(&mut future).poll(&mut cx) {
                Poll::Ready(outcome) => assert_eq!(outcome.unwrap().len(), 24),
                Poll::Pending => panic!("a finished handle polled pending"),
            }
        }
        pool.join();
    }
    assert_eq!(callbacks.load(Ordering::Relaxed), rounds / BATCH * BATCH);
}

#[test]
fn detached_executed_callback_future_and_cancelled_tasks_leak_nothing() {
    let _turn = exclusive();
    common::with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        every_ending(&pool, 20_000);
        let before = rss_bytes();
        every_ending(&pool, 200_000);
        let after = rss_bytes();
        let growth = after.saturating_sub(before);
        eprintln!(
            "memory: RSS {:.1} MiB after warm-up, {:.1} MiB after 200,000 rounds of every ending (growth {:.2} MiB)",
            mib(before),
            mib(after),
            mib(growth)
        );
        assert!(
            growth <= SLACK_BYTES,
            "RSS grew by {:.1} MiB over 1,000,000 tasks ending every way: a leak",
            mib(growth)
        );
        pool.shutdown();
    });
}

#[test]
fn a_dropped_pool_frees_its_threads_after_running_its_queued_work() {
    let _turn = exclusive();
    common::with_deadline(LIMIT, || {
        assert_eq!(pool_threads(), 0, "no pool thread before the test");
        let pool = Pool::new(4);
        // Make every thread start: four tasks that wait for each other.
        let all_started = Arc::new(Barrier::new(4));
        for _ in 0..4 {
            let all_started = all_started.clone();
            pool.execute(move || {
                all_started.wait();
            });
        }
        common::wait_until("the pool's four threads", || pool_threads() == 4);
        // Queue more work, then drop the only handle: the work still runs,
        // then the threads exit, and dropping did not block.
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..1_000 {
            let ran = ran.clone();
            pool.execute(move || {
                ran.fetch_add(1, Ordering::Relaxed);
            });
        }
        drop(pool);
        common::wait_until("the dropped pool's threads to exit", || pool_threads() == 0);
        assert_eq!(
            ran.load(Ordering::Relaxed),
            1_000,
            "queued work ran before the threads left"
        );
    });
}

#[test]
fn pools_built_and_dropped_in_a_loop_leave_no_threads_behind() {
    let _turn = exclusive();
    common::with_deadline(LIMIT, || {
        assert_eq!(pool_threads(), 0, "no pool thread before the test");
        for round in 0..200 {
            let pool = Pool::builder()
                .threads(1 + round % 3)
                .max_threads(4)
                .build()
                .unwrap();
            let handles: Vec<_> = (0..8).map(|i| pool.spawn(move || i)).collect();
            if round % 2 == 0 {
                drop(pool);
            } else {
                pool.shutdown();
                assert_eq!(pool.threads(), 0);
            }
            for (i, handle) in handles.into_iter().enumerate() {
                assert_eq!(handle.join().unwrap(), i);
            }
        }
        common::wait_until("every dropped pool's threads to exit", || {
            pool_threads() == 0
        });
    });
}
