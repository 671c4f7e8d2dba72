//! `wait_any`, `wait_any_timeout`, `wait_all`, `wait_all_timeout` and
//! `Pool::race`: lowest index, timeouts that consume nothing, empty
//! inputs, many handles, and races whose fastest candidate fails or whose
//! slower candidates are still running.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{
    occupy, panic_text_of, shutdown_now_once_queued, with_deadline, Counter, Gate, LIMIT,
};
use workcrew::{
    wait_all, wait_all_timeout, wait_any, wait_any_timeout, Pool, TaskError, TaskHandle,
};

/// A short wait that is expected to time out.
const SHORT: Duration = Duration::from_millis(20);

/// Spawns a task that waits on `gate` and returns `value`.
fn held<T: Send + 'static>(pool: &Pool, gate: &Gate, value: T) -> TaskHandle<T> {
    let gate = gate.clone();
    pool.spawn(move || {
        gate.wait();
        value
    })
}

/// A three-thread pool running three tasks, each waiting on its own gate
/// and returning its index.
fn three_held() -> (Pool, [Gate; 3], Vec<TaskHandle<usize>>) {
    let pool = Pool::new(3);
    let gates = [Gate::new(), Gate::new(), Gate::new()];
    let handles = gates
        .iter()
        .enumerate()
        .map(|(i, g)| held(&pool, g, i))
        .collect();
    (pool, gates, handles)
}

/// Joins every handle in order and returns their values.
fn joined<T>(handles: Vec<TaskHandle<T>>) -> Vec<T> {
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Runs `wait` as the only task of a new one-thread pool and returns once
/// that thread is parked inside it (with the pool, which must outlive it).
///
/// How it knows: a probe task submitted to the full pool can only run on a
/// compensating thread, and the pool starts one only for a worker counted
/// as blocked, which a waiter becomes just before it parks, after it
/// registered its wake-ups (src/registry.rs, "Growth"; `park_until` in
/// src/worker.rs). No sleep: if it never blocks, this fails after [`LIMIT`].
///
/// The waited-for handles must belong to another pool, so the waiter cannot
/// take one back and run it inline instead of parking.
fn parked_waiter<R: Send + 'static>(
    wait: impl FnOnce() -> R + Send + 'static,
) -> (Pool, TaskHandle<R>) {
    let waiters = Pool::builder().threads(1).build().unwrap();
    let waiter = waiters.spawn(wait);
    let (probe_ran_tx, probe_ran_rx) = mpsc::channel();
    waiters.execute(move || probe_ran_tx.send(()).unwrap());
    probe_ran_rx.recv_timeout(LIMIT).unwrap_or_else(|_| {
        panic!("the waiter never blocked within {LIMIT:?} (no compensating thread ran the probe)")
    });
    assert!(
        !waiter.is_finished(),
        "the waiter returned before anything finished"
    );
    (waiters, waiter)
}

// ---------------------------------------------------------------- wait_any

#[test]
fn wait_any_returns_the_lowest_index_among_finished_handles() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let gate = Gate::new();
        let handles = vec![held(&pool, &gate, 0), pool.spawn(|| 1), pool.spawn(|| 2)];
        handles[1].wait();
        handles[2].wait();
        assert_eq!(wait_any(&handles), 1);
        assert_eq!(wait_any(&handles), 1, "wait_any consumed nothing");
        gate.open();
        handles[0].wait();
        assert_eq!(wait_any(&handles), 0);
        assert_eq!(joined(handles), [0, 1, 2]);
    });
}

#[test]
fn a_parked_wait_any_wakes_when_one_handle_finishes() {
    with_deadline(LIMIT, || {
        let (_pool, gates, handles) = three_held();
        let (_waiters, waiter) = parked_waiter(move || (wait_any(&handles), handles));
        gates[2].open();
        let (first, handles) = waiter.join().unwrap();
        assert_eq!(first, 2);
        assert!(!handles[0].is_finished() && !handles[1].is_finished());
        gates.iter().for_each(Gate::open);
        assert_eq!(joined(handles), [0, 1, 2]);
    });
}

/// The same from a thread outside any pool. Nothing public shows that such
/// a thread has parked, so the gate opens as the waiter is about to call
/// `wait_any`: the two race, and either order must give the same answer.
#[test]
fn wait_any_from_outside_the_pool_wakes_when_one_handle_finishes_meanwhile() {
    with_deadline(LIMIT, || {
        let (_pool, gates, handles) = three_held();
        let (about_to_wait_tx, about_to_wait_rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            about_to_wait_tx.send(()).unwrap();
            (wait_any(&handles), handles)
        });
        about_to_wait_rx.recv_timeout(LIMIT).unwrap();
        gates[2].open();
        let (first, handles) = waiter.join().unwrap();
        assert_eq!(first, 2);
        gates.iter().for_each(Gate::open);
        wait_all(&handles);
    });
}

#[test]
fn cancelled_and_panicked_handles_count_as_finished() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let busy = occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| 1);
        assert!(queued.cancel());
        let running_gate = Gate::new();
        let handles = vec![held(&pool, &running_gate, 0), queued];
        assert_eq!(wait_any(&handles), 1);
        gate.open();
        running_gate.open();
        busy.into_iter().for_each(|h| h.join().unwrap());

        let panicked = vec![pool.spawn(|| -> u8 { panic!("failed") })];
        assert_eq!(wait_any(&panicked), 0);
        wait_all(&handles);
        wait_all(&panicked);
        assert!(matches!(
            handles.into_iter().nth(1).unwrap().join(),
            Err(TaskError::Cancelled)
        ));
    });
}

#[test]
fn wait_any_timeout_returns_none_and_consumes_nothing() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let handles = vec![held(&pool, &gate, "a"), held(&pool, &gate, "b")];
        assert_eq!(wait_any_timeout(&handles, SHORT), None);
        assert_eq!(wait_any_timeout(&handles, Duration::ZERO), None);
        gate.open();
        let first = wait_any_timeout(&handles, LIMIT).expect("a handle finished");
        assert!(first < 2);
        assert!(handles[first].is_finished());
        assert_eq!(joined(handles), ["a", "b"]);
    });
}

// ---------------------------------------------------------------- wait_all

#[test]
fn wait_all_returns_once_every_handle_finished() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let handles: Vec<_> = (0..50)
            .map(|i| {
                pool.spawn(move || {
                    if i == 7 {
                        panic!("task 7 failed");
                    }
                    i
                })
            })
            .collect();
        wait_all(&handles);
        assert!(handles.iter().all(TaskHandle::is_finished));
        let ok = handles.into_iter().filter_map(|h| h.join().ok()).count();
        assert_eq!(ok, 49);
    });
}

#[test]
fn wait_all_timeout_is_false_while_one_runs_and_true_after() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let handles = vec![pool.spawn(|| 1), held(&pool, &gate, 2)];
        assert!(!wait_all_timeout(&handles, SHORT));
        assert!(!handles[1].is_finished());
        gate.open();
        assert!(wait_all_timeout(&handles, LIMIT));
        assert_eq!(joined(handles), [1, 2]);
    });
}

// ---------------------------------------------------------------- empty inputs

#[test]
fn waiting_on_no_handles_returns_at_once() {
    with_deadline(LIMIT, || {
        let none: &[TaskHandle<()>] = &[];
        wait_all(none);
        assert!(wait_all_timeout(none, Duration::from_secs(3600)));
        assert_eq!(wait_any_timeout(none, Duration::from_secs(3600)), None);
    });
}

#[test]
fn wait_any_of_no_handles_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let none: &[TaskHandle<()>] = &[];
        let text = panic_text_of(|| wait_any(none));
        assert!(
            text.contains("wait_any") && text.contains("no handles"),
            "unclear message: {text}"
        );
    });
}

// ---------------------------------------------------------------- many handles

#[test]
fn waiting_on_ten_thousand_handles() {
    with_deadline(LIMIT, || {
        const HANDLES: usize = 10_000;
        let pool = Pool::new(2);
        let gate = Gate::new();
        let handles: Vec<_> = (0..HANDLES).map(|i| held(&pool, &gate, i)).collect();
        assert_eq!(wait_any_timeout(&handles, SHORT), None);
        assert!(!wait_all_timeout(&handles, SHORT));
        // Parked with a wake-up registered on every one of them.
        let (_waiters, waiter) = parked_waiter(move || (wait_any(&handles), handles));
        gate.open();
        let (first, handles) = waiter.join().unwrap();
        assert!(handles[first].is_finished());
        wait_all(&handles);
        assert!(handles.iter().all(TaskHandle::is_finished));
        assert_eq!(wait_any(&handles), 0);
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, HANDLES * (HANDLES - 1) / 2);
    });
}

#[test]
fn wait_any_inside_a_task_of_a_one_thread_pool_runs_the_awaited_tasks() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let handle = pool.spawn(move || {
            let handles: Vec<_> = (0..5).map(|i| inner.spawn(move || i)).collect();
            let first = wait_any(&handles);
            wait_all(&handles);
            let all = wait_all_timeout(&handles, LIMIT);
            (
                first,
                all,
                handles.into_iter().map(|h| h.join().unwrap()).sum::<i32>(),
            )
        });
        let (first, all, sum) = handle.join().unwrap();
        assert!(first < 5);
        assert!(all);
        assert_eq!(sum, 10);
    });
}

// ---------------------------------------------------------------- race

#[test]
fn race_returns_the_first_ok_when_the_fastest_candidate_fails() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let failed = Gate::new();
        let never = Gate::new();
        type Candidate = Box<dyn FnOnce() -> Result<&'static str, String> + Send>;
        let candidates: Vec<Candidate> = vec![
            {
                let failed = failed.clone();
                Box::new(move || {
                    failed.open();
                    Err(String::from("mirror a is down"))
                })
            },
            {
                let failed = failed.clone();
                Box::new(move || {
                    failed.wait();
                    Ok("mirror b")
                })
            },
            {
                let never = never.clone();
                Box::new(move || {
                    never.wait();
                    Ok("mirror c")
                })
            },
        ];
        assert_eq!(pool.race(candidates), Ok("mirror b"));
        never.open();
        pool.join();
    });
}

#[test]
fn race_with_every_candidate_failing_returns_every_error() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let candidates = (0..5).map(|i| move || Err::<(), _>(format!("mirror {i} is down")));
        let mut errors = pool.race(candidates).unwrap_err();
        errors.sort();
        let expected: Vec<String> = (0..5).map(|i| format!("mirror {i} is down")).collect();
        assert_eq!(errors, expected);
    });
}

#[test]
fn race_of_no_candidates_returns_no_errors() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let none: Vec<fn() -> Result<u8, String>> = Vec::new();
        assert_eq!(pool.race(none), Err(Vec::new()));
    });
}

#[test]
fn race_returns_at_once_while_slower_candidates_still_run() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let slow_gate = Gate::new();
        let slow_done = Counter::new();
        let slow = |value: u32| {
            let (gate, done) = (slow_gate.clone(), slow_done.clone());
            Box::new(move || {
                gate.wait();
                done.inc();
                Ok::<u32, ()>(value)
            }) as Box<dyn FnOnce() -> Result<u32, ()> + Send>
        };
        let candidates = vec![slow(1), Box::new(|| Ok(2)), slow(3)];
        // The slow ones are held by a gate that only opens after race
        // returned: a race that waited for them would never return.
        assert_eq!(pool.race(candidates), Ok(2));
        assert_eq!(slow_done.get(), 0);
        slow_gate.open();
        pool.join();
        assert_eq!(
            slow_done.get(),
            2,
            "the slower candidates did not keep running"
        );
    });
}

#[test]
fn race_ignores_a_panicking_candidate_when_another_succeeds() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let failed = Gate::new();
        let first = {
            let failed = failed.clone();
            Box::new(move || -> Result<u8, ()> {
                failed.open();
                panic!("candidate crashed")
            }) as Box<dyn FnOnce() -> Result<u8, ()> + Send>
        };
        let second = Box::new(move || {
            failed.wait();
            Ok(9)
        });
        assert_eq!(pool.race(vec![first, second]), Ok(9));
    });
}

#[test]
fn race_inside_a_task_of_a_one_thread_pool_does_not_deadlock() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let handle = pool.spawn(move || {
            let candidates = (0..4).map(|i| move || if i == 3 { Ok(i) } else { Err(i) });
            inner.race(candidates)
        });
        assert_eq!(handle.join().unwrap(), Ok(3));
    });
}

#[test]
fn race_on_a_closed_pool_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        pool.shutdown();
        let text = panic_text_of(|| pool.race([|| Ok::<u8, ()>(1)]));
        assert!(text.contains("closed"), "unclear message: {text}");
    });
}

#[test]
fn handles_of_two_pools_can_be_waited_on_together() {
    with_deadline(LIMIT, || {
        let (a, b) = (Pool::new(1), Pool::new(1));
        let gate = Gate::new();
        let handles = vec![held(&a, &gate, 1), b.spawn(|| 2)];
        assert_eq!(wait_any(&handles), 1);
        gate.open();
        wait_all(&handles);
        assert_eq!(joined(handles), [1, 2]);
    });
}

#[test]
fn a_race_whose_candidates_shutdown_now_cancels_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let busy = occupy(&pool, 1, &gate);
        let shutter = shutdown_now_once_queued(&pool, 3, &gate);
        let text = panic_text_of(|| pool.race((0..3).map(|i| move || Ok::<i32, ()>(i))));
        assert_eq!(shutter.join().unwrap(), 3);
        assert!(
            text.contains("race") && text.contains("shutdown_now"),
            "unclear message: {text}"
        );
        busy.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn a_timeout_too_large_for_the_clock_waits_like_no_timeout() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let handles = vec![held(&pool, &gate, 1), held(&pool, &gate, 2)];
        gate.open();
        assert!(wait_any_timeout(&handles, Duration::MAX).is_some());
        assert!(wait_all_timeout(&handles, Duration::MAX));
        let mut set = pool.task_set();
        set.spawn(|| 3);
        assert_eq!(
            set.join_next_timeout(Duration::MAX)
                .unwrap()
                .unwrap()
                .unwrap(),
            3
        );
        let mut results = pool.imap(0..1, |x: i32| x);
        assert_eq!(results.next_timeout(Duration::MAX), Ok(Some(0)));
        assert_eq!(results.next_timeout(Duration::MAX), Ok(None));
    });
}
