//! Waiting inside the pool never deadlocks: tasks that spawn and join other
//! tasks, or call `apply`, complete even on a one-thread pool, and a waiting
//! task never runs unrelated work (rayon's #592 deadlock).

mod common;

use std::cell::Cell;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{panic_text_of, with_deadline, Counter, Gate, LIMIT};
use workcrew::Pool;

#[test]
fn spawn_and_join_inside_a_task_completes_on_a_one_thread_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let value = pool
            .spawn(move || inner.spawn(|| 20).join().unwrap() + 22)
            .join()
            .unwrap();
        assert_eq!(value, 42);
    });
}

#[test]
fn wait_inside_a_task_on_a_queued_child_completes_on_a_one_thread_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let finished = pool
            .spawn(move || {
                let child = inner.spawn(|| 1);
                child.wait();
                child.is_finished()
            })
            .join()
            .unwrap();
        assert!(finished);
    });
}

#[test]
fn a_task_can_join_a_task_queued_from_outside_on_a_one_thread_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let (handle_tx, handle_rx) = mpsc::channel();
        let waiter = pool.spawn(move || {
            let later: workcrew::TaskHandle<u32> = handle_rx.recv().unwrap();
            later.join().unwrap() * 2
        });
        handle_tx.send(pool.spawn(|| 21)).unwrap();
        assert_eq!(waiter.join().unwrap(), 42);
    });
}

fn chain(pool: &Pool, depth: usize) -> usize {
    if depth == 0 {
        return 0;
    }
    let inner = pool.clone();
    pool.spawn(move || chain(&inner, depth - 1)).join().unwrap() + 1
}

#[test]
fn a_deep_chain_of_nested_joins_completes_on_a_one_thread_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        assert_eq!(chain(&pool, 200), 200);
    });
}

fn fib(pool: &Pool, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (left, right) = (pool.clone(), pool.clone());
    let a = pool.spawn(move || fib(&left, n - 1));
    let b = pool.spawn(move || fib(&right, n - 2));
    a.join().unwrap() + b.join().unwrap()
}

#[test]
fn a_tree_of_nested_joins_completes_on_one_and_on_two_threads() {
    with_deadline(LIMIT, || {
        for threads in [1, 2] {
            let pool = Pool::new(threads);
            let inner = pool.clone();
            assert_eq!(pool.spawn(move || fib(&inner, 15)).join().unwrap(), 610);
            assert_eq!(fib(&pool, 12), 144);
        }
    });
}

#[test]
fn apply_from_inside_a_task_runs_inline_on_the_same_thread() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let (outer, applied, total) = pool
            .spawn(move || {
                let numbers = [1, 2, 3];
                let (applied, total) =
                    inner.apply(|| (thread::current().id(), numbers.iter().sum::<i32>()));
                (thread::current().id(), applied, total)
            })
            .join()
            .unwrap();
        assert_eq!(outer, applied);
        assert_eq!(total, 6);
    });
}

#[test]
fn apply_from_outside_resumes_the_tasks_panic_in_the_caller() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let message = panic_text_of(|| pool.apply(|| -> u8 { panic!("applied and failed") }));
        assert_eq!(message, "applied and failed");
        assert_eq!(pool.apply(|| 3), 3, "the pool still works");
    });
}

#[test]
fn apply_from_inside_a_task_lets_a_panic_reach_that_task() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let error = pool
            .spawn(move || inner.apply(|| -> u8 { panic!("inner apply failed") }))
            .join()
            .unwrap_err();
        assert_eq!(error.panic_message(), Some("inner apply failed"));
    });
}

#[test]
fn a_worker_blocked_joining_a_running_task_lets_another_thread_run_queued_work() {
    with_deadline(LIMIT, || {
        // Two busy threads and room for a third: `waiter` blocks joining
        // `blocked`, which waits for `opener`, queued last. Only a thread
        // started because `waiter` is blocked can run `opener`.
        let pool = Pool::builder().threads(2).max_threads(3).build().unwrap();
        let gate = Gate::new();
        let (started_tx, started_rx) = mpsc::channel();
        let held = gate.clone();
        let blocked = pool.spawn(move || {
            started_tx.send(()).unwrap();
            held.wait();
            "blocked finished"
        });
        started_rx.recv_timeout(LIMIT).unwrap();
        let (joining_tx, joining_rx) = mpsc::channel();
        let waiter = pool.spawn(move || {
            joining_tx.send(()).unwrap();
            blocked.join().unwrap()
        });
        joining_rx.recv_timeout(LIMIT).unwrap();
        let opener = pool.spawn(move || gate.open());
        assert_eq!(waiter.join().unwrap(), "blocked finished");
        opener.join().unwrap();
    });
}

thread_local! {
    /// True while the task on this thread holds the shared mutex.
    static HOLDS_LOCK: Cell<bool> = const { Cell::new(false) };
}

/// A task for the #592 tests: takes `lock` unless its own thread already
/// holds it (which would mean the pool ran it inside the lock holder's
/// wait: the deadlock); in that case it counts a violation instead.
fn unrelated_task(lock: Arc<Mutex<()>>, violations: Counter) -> impl FnOnce() + Send {
    move || {
        if HOLDS_LOCK.with(Cell::get) {
            violations.inc();
            return;
        }
        let _guard = lock.lock().unwrap();
    }
}

#[test]
fn a_task_waiting_under_a_lock_never_runs_unrelated_work_from_its_own_deque() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let lock = Arc::new(Mutex::new(()));
        let violations = Counter::new();
        let inner = pool.clone();
        let (held, seen) = (lock.clone(), violations.clone());
        let unrelated = pool
            .spawn(move || {
                let _guard = held.lock().unwrap();
                HOLDS_LOCK.with(|h| h.set(true));
                let child = inner.spawn(|| 1);
                // Pushed after the child: the newest entry of this worker's
                // deque, the first a "helping" wait would pop.
                let unrelated = inner.spawn(unrelated_task(held.clone(), seen));
                let value = child.join().unwrap();
                HOLDS_LOCK.with(|h| h.set(false));
                assert_eq!(value, 1);
                unrelated
            })
            .join()
            .unwrap();
        unrelated.join().unwrap();
        assert_eq!(
            violations.get(),
            0,
            "unrelated work ran inside a waiting task"
        );
    });
}

#[test]
fn a_task_waiting_under_a_lock_never_runs_unrelated_work_queued_from_outside() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let lock = Arc::new(Mutex::new(()));
        let violations = Counter::new();
        let (locked_tx, locked_rx) = mpsc::channel();
        let (queued_tx, queued_rx) = mpsc::channel::<()>();
        let inner = pool.clone();
        let held = lock.clone();
        let holder = pool.spawn(move || {
            let _guard = held.lock().unwrap();
            HOLDS_LOCK.with(|h| h.set(true));
            locked_tx.send(()).unwrap();
            queued_rx.recv().unwrap();
            let value = inner.spawn(|| 2).join().unwrap();
            HOLDS_LOCK.with(|h| h.set(false));
            value
        });
        locked_rx.recv_timeout(LIMIT).unwrap();
        let unrelated = pool.spawn(unrelated_task(lock.clone(), violations.clone()));
        queued_tx.send(()).unwrap();
        assert_eq!(holder.join().unwrap(), 2);
        unrelated.join().unwrap();
        assert_eq!(
            violations.get(),
            0,
            "unrelated work ran inside a waiting task"
        );
    });
}

#[test]
fn a_task_blocked_under_a_lock_on_a_running_child_never_runs_unrelated_work() {
    with_deadline(LIMIT, || {
        let pool = Pool::builder().threads(2).max_threads(4).build().unwrap();
        let lock = Arc::new(Mutex::new(()));
        let violations = Counter::new();
        let gate = Gate::new();
        let (child_started_tx, child_started_rx) = mpsc::channel();
        let (joining_tx, joining_rx) = mpsc::channel();
        let inner = pool.clone();
        let (held, child_gate) = (lock.clone(), gate.clone());
        let holder = pool.spawn(move || {
            let _guard = held.lock().unwrap();
            HOLDS_LOCK.with(|h| h.set(true));
            let child = inner.spawn(move || {
                child_started_tx.send(()).unwrap();
                child_gate.wait();
                3
            });
            // Another worker steals and starts the child; then we wait on
            // a running task, with unrelated work queued meanwhile.
            child_started_rx.recv().unwrap();
            joining_tx.send(()).unwrap();
            let value = child.join().unwrap();
            HOLDS_LOCK.with(|h| h.set(false));
            value
        });
        joining_rx.recv_timeout(LIMIT).unwrap();
        let unrelated: Vec<_> = (0..4)
            .map(|_| pool.spawn(unrelated_task(lock.clone(), violations.clone())))
            .collect();
        gate.open();
        assert_eq!(holder.join().unwrap(), 3);
        unrelated.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(
            violations.get(),
            0,
            "unrelated work ran inside a waiting task"
        );
    });
}

/// Runs `timed_wait` inside a task of a one-thread pool; it gets a child
/// task blocked on a gate that opens only after `timed_wait` returned, and
/// must report (true) whether the child finished within a short timeout.
/// Run inline, the child would hold the only thread until the gate opens:
/// the report would never come.
fn timed_wait_from_a_task_returns_at_its_deadline(
    timed_wait: impl FnOnce(&Pool, Gate, Duration) -> bool + Send + 'static,
) {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let gate = Gate::new();
        let child_gate = gate.clone();
        let (report, reported) = mpsc::channel();
        let outer = pool.spawn(move || {
            let finished = timed_wait(&inner, child_gate, Duration::from_millis(20));
            report.send(finished).unwrap();
        });
        let finished = reported.recv_timeout(LIMIT);
        gate.open();
        assert_eq!(
            finished,
            Ok(false),
            "the timed wait did not return at its deadline"
        );
        outer.join().unwrap();
        pool.join();
    });
}

#[test]
fn wait_timeout_inside_a_task_keeps_its_deadline_instead_of_running_the_child_inline() {
    timed_wait_from_a_task_returns_at_its_deadline(|pool, gate, timeout| {
        let child = pool.spawn(move || gate.wait());
        child.wait_timeout(timeout)
    });
}

#[test]
fn wait_any_and_wait_all_timeout_inside_a_task_keep_their_deadline() {
    timed_wait_from_a_task_returns_at_its_deadline(|pool, gate, timeout| {
        let child = pool.spawn(move || gate.wait());
        let children = [child];
        let any = workcrew::wait_any_timeout(&children, timeout).is_some();
        let all = workcrew::wait_all_timeout(&children, timeout);
        any || all
    });
}

#[test]
fn join_next_timeout_inside_a_task_keeps_its_deadline() {
    timed_wait_from_a_task_returns_at_its_deadline(|pool, gate, timeout| {
        let mut set = pool.task_set();
        set.spawn(move || gate.wait());
        let next = set.join_next_timeout(timeout);
        // The set is dropped with its task still queued or running: it
        // detaches and runs once the gate opens.
        next.is_ok()
    });
}

#[test]
fn a_timed_wait_inside_a_task_of_a_one_thread_pool_sees_its_queued_child_finish() {
    with_deadline(LIMIT, || {
        // The waiter does not run the child itself, but it is counted as
        // blocked, so the pool starts a compensating thread for the child.
        let pool = Pool::new(1);
        let inner = pool.clone();
        let outer = pool.spawn(move || {
            let child = inner.spawn(|| 7);
            let finished = child.wait_timeout(LIMIT);
            (finished, child.join().unwrap())
        });
        assert_eq!(outer.join().unwrap(), (true, 7));
    });
}

#[test]
fn nested_timed_waits_deeper_than_the_pool_can_compensate_still_run_the_work() {
    with_deadline(LIMIT, || {
        // One thread, one compensating thread at most: the outer task waits
        // (timed, in a loop) for a child, which waits the same way for a
        // grandchild. The grandchild must still run: with no thread left to
        // start, the child's timed wait runs it inline.
        fn patiently<T>(handle: &workcrew::TaskHandle<T>) {
            while !handle.wait_timeout(Duration::from_millis(20)) {}
        }
        let pool = Pool::new(1);
        let inner = pool.clone();
        let outer = pool.spawn(move || {
            let deeper = inner.clone();
            let child = inner.spawn(move || {
                let grandchild = deeper.spawn(|| 7);
                patiently(&grandchild);
                grandchild.join().unwrap() * 6
            });
            patiently(&child);
            child.join().unwrap()
        });
        assert_eq!(outer.join().unwrap(), 42);
    });
}
