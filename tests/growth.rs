//! How many threads a pool runs: on-demand growth up to `max_threads`,
//! idle threads first, keep-alive shrinking back to the core, `set_threads`
//! in both directions, and many blocking tasks at once.

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{wait_until, with_deadline, Gate, Peak, LIMIT};
use workcrew::Pool;

fn elastic(core: usize, max: usize, keep_alive: Duration) -> Pool {
    Pool::builder()
        .threads(core)
        .max_threads(max)
        .keep_alive(keep_alive)
        .build()
        .unwrap()
}

/// Spawns `count` tasks that each stay inside `peak` for `pause`, so that
/// any two the pool runs at once are counted as overlapping.
fn spawn_counted(
    pool: &Pool,
    peak: &Peak,
    count: usize,
    pause: Duration,
) -> Vec<workcrew::TaskHandle<()>> {
    (0..count)
        .map(|_| {
            let peak = peak.clone();
            pool.spawn(move || {
                let _inside = peak.enter();
                thread::sleep(pause);
            })
        })
        .collect()
}

/// Asserts that the tasks `peak` counted ran one at a time, then waits for
/// `pool` to shrink to one thread.
fn assert_one_at_a_time_then_one_thread(pool: &Pool, peak: &Peak) {
    assert_eq!(peak.max(), 1, "tasks ran in parallel after set_threads(1)");
    wait_until("the pool to shrink to one thread", || pool.threads() == 1);
}

/// Spawns `count` tasks that report their start and then wait on `gate`,
/// without waiting for them to start.
fn spawn_reporting(
    pool: &Pool,
    count: usize,
    gate: &Gate,
) -> (Vec<workcrew::TaskHandle<()>>, mpsc::Receiver<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let handles = (0..count)
        .map(|_| {
            let (gate, started) = (gate.clone(), started_tx.clone());
            pool.spawn(move || {
                started.send(()).unwrap();
                gate.wait();
            })
        })
        .collect();
    (handles, started_rx)
}

#[test]
fn threads_start_on_demand_up_to_max_threads() {
    with_deadline(LIMIT, || {
        let pool = elastic(1, 4, Duration::from_secs(10));
        let gate = Gate::new();
        // Four tasks can only all be running if the pool grew to four.
        let busy = common::occupy(&pool, 4, &gate);
        assert_eq!(pool.threads(), 4);
        let (queued, started) = spawn_reporting(&pool, 2, &gate);
        assert_eq!(pool.threads(), 4, "the pool grew past max_threads");
        assert_eq!(pool.stats().queued, 2);
        assert!(started.try_recv().is_err());
        gate.open();
        busy.into_iter()
            .chain(queued)
            .for_each(|h| h.join().unwrap());
        assert!(pool.threads() <= 4);
    });
}

#[test]
fn a_queued_task_starts_a_new_thread_when_none_is_idle() {
    with_deadline(LIMIT, || {
        let pool = elastic(1, 2, Duration::from_secs(10));
        let gate = Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        // The only thread is blocked: this task must get a second thread.
        let (next, started) = spawn_reporting(&pool, 1, &gate);
        started
            .recv_timeout(LIMIT)
            .expect("a queued task waited although the pool could grow");
        assert_eq!(pool.threads(), 2);
        gate.open();
        busy.into_iter().chain(next).for_each(|h| h.join().unwrap());
    });
}

#[test]
fn an_idle_thread_is_used_before_a_new_one_starts() {
    with_deadline(LIMIT, || {
        let pool = elastic(1, 4, Duration::from_secs(10));
        for i in 0..20 {
            // Submit only when every live thread is idle (searching or parked).
            wait_until("the pool's threads to become idle", || {
                let stats = pool.stats();
                stats.idle_threads == stats.threads
            });
            assert_eq!(pool.spawn(move || i).join().unwrap(), i);
            assert_eq!(pool.threads(), 1, "a new thread started while one was idle");
        }
    });
}

#[test]
fn extra_threads_exit_after_keep_alive_and_core_threads_stay() {
    with_deadline(LIMIT, || {
        let keep_alive = Duration::from_millis(20);
        let pool = elastic(2, 4, keep_alive);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 4, &gate);
        common::release(&gate, busy);
        wait_until("the pool to shrink back to its two core threads", || {
            pool.threads() == 2
        });
        // Letting several keep-alive periods pass (not synchronisation: the
        // absence of an exit can only be checked after time has passed).
        thread::sleep(keep_alive * 5);
        assert_eq!(pool.threads(), 2, "a core thread timed out");
        assert_eq!(pool.spawn(|| 1).join().unwrap(), 1);
    });
}

#[test]
fn a_pool_shrunk_by_keep_alive_grows_again_on_demand() {
    with_deadline(LIMIT, || {
        let pool = elastic(1, 3, Duration::from_millis(10));
        for _ in 0..3 {
            let gate = Gate::new();
            let busy = common::occupy(&pool, 3, &gate);
            common::release(&gate, busy);
            wait_until("the extra threads to exit", || pool.threads() == 1);
        }
    });
}

#[test]
fn set_threads_grows_the_pool_and_starts_threads_for_queued_work() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        let (queued, started) = spawn_reporting(&pool, 3, &gate);
        assert!(started.try_recv().is_err());
        pool.set_threads(4);
        assert_eq!(pool.max_threads(), 4);
        for _ in 0..3 {
            started
                .recv_timeout(LIMIT)
                .expect("set_threads did not start threads for the queued tasks");
        }
        assert_eq!(pool.threads(), 4);
        gate.open();
        busy.into_iter()
            .chain(queued)
            .for_each(|h| h.join().unwrap());
    });
}

#[test]
fn set_threads_shrinking_never_interrupts_a_running_task() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 4, &gate);
        pool.set_threads(1);
        assert_eq!(pool.max_threads(), 1);
        assert!(busy.iter().all(|h| !h.is_finished()));
        gate.open();
        for handle in busy {
            handle
                .join()
                .expect("a task was interrupted by shrinking the pool");
        }
        wait_until("the pool to shrink to one thread", || pool.threads() == 1);
    });
}

#[test]
fn after_shrinking_a_thread_above_the_limit_takes_no_new_task() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 3, &gate);
        let peak = Peak::new();
        // Long enough for a second thread to overlap, if any still took work.
        let queued = spawn_counted(&pool, &peak, 12, Duration::from_millis(2));
        pool.set_threads(1);
        gate.open();
        busy.into_iter()
            .chain(queued)
            .for_each(|h| h.join().unwrap());
        assert_one_at_a_time_then_one_thread(&pool, &peak);
    });
}

#[test]
fn after_shrinking_an_idle_pool_its_woken_threads_take_no_new_task() {
    with_deadline(LIMIT, || {
        for _ in 0..20 {
            let pool = Pool::new(4);
            // All four threads exist and are idle.
            let gate = Gate::new();
            common::release(&gate, common::occupy(&pool, 4, &gate));
            // Shrinking wakes the idle threads so that the surplus can exit;
            // work arriving meanwhile must not be taken by them.
            pool.set_threads(1);
            let peak = Peak::new();
            let tasks = spawn_counted(&pool, &peak, 8, Duration::from_millis(1));
            tasks.into_iter().for_each(|h| h.join().unwrap());
            assert_one_at_a_time_then_one_thread(&pool, &peak);
        }
    });
}

#[test]
fn set_threads_shrinks_an_idle_pool_promptly() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 4, &gate);
        common::release(&gate, busy);
        pool.set_threads(2);
        wait_until("the idle pool to shrink to two threads", || {
            pool.threads() == 2
        });
        assert_eq!(pool.spawn(|| 3).join().unwrap(), 3);
    });
}

#[test]
fn set_threads_zero_means_one_thread_per_cpu() {
    with_deadline(LIMIT, || {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let pool = Pool::new(7);
        pool.set_threads(0);
        assert_eq!(pool.max_threads(), cores);
    });
}

#[test]
fn a_hundred_threads_run_a_thousand_sleeping_tasks_at_once() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(100);
        let peak = Peak::new();
        let started = Instant::now();
        let handles = spawn_counted(&pool, &peak, 1000, Duration::from_millis(10));
        for handle in handles {
            handle.join().unwrap();
        }
        let elapsed = started.elapsed();
        // 10 rounds of 10 ms is about 100 ms; one at a time would be 10 s.
        assert!(
            elapsed < Duration::from_secs(1),
            "1000 × 10 ms on 100 threads took {elapsed:?}"
        );
        assert!(peak.max() <= 100, "{} tasks ran at once", peak.max());
        assert!(pool.threads() <= 100);
    });
}
