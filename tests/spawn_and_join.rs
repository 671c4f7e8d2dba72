//! Submitting work and getting its result: `spawn`, `join`, `execute`,
//! `apply`, detached handles and the global pool.

mod common;

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use common::{stress, thread_name, with_deadline, Counter, Gate, LIMIT};
use workcrew::Pool;

#[test]
fn spawn_returns_a_handle_whose_join_gives_the_value() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let handle = pool.spawn(|| 6 * 7);
        assert_eq!(handle.join().unwrap(), 42);
    });
}

#[test]
fn join_returns_each_task_its_own_value() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let handles: Vec<_> = (0..200u64).map(|i| pool.spawn(move || i * i)).collect();
        let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(squares, (0..200u64).map(|i| i * i).collect::<Vec<_>>());
    });
}

#[test]
fn tasks_run_on_the_pools_worker_threads() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let caller = thread::current().id();
        let (id, name) = pool
            .spawn(|| (thread::current().id(), thread_name()))
            .join()
            .unwrap();
        assert_ne!(id, caller);
        assert!(
            name.starts_with("workcrew-"),
            "default worker names are `workcrew-{{i}}`, got {name:?}"
        );
    });
}

#[test]
fn a_task_may_move_in_and_return_owned_values() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let words: Vec<String> = ["nothing", "is", "lost"].map(String::from).into();
        let joined = pool.spawn(move || words.join(" ")).join().unwrap();
        assert_eq!(joined, "nothing is lost");
        let unit: () = pool.spawn(|| ()).join().unwrap();
        assert_eq!(unit, ());
    });
}

#[test]
fn dropping_a_handle_detaches_the_task_which_still_runs() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let (ran_tx, ran_rx) = mpsc::channel();
        let gate = Gate::new();
        let held = gate.clone();
        drop(pool.spawn(move || {
            held.wait();
            ran_tx.send("ran").unwrap();
        }));
        gate.open();
        assert_eq!(ran_rx.recv_timeout(LIMIT), Ok("ran"));
    });
}

#[test]
fn a_detached_tasks_result_is_dropped_when_it_finishes() {
    with_deadline(LIMIT, || {
        struct SignalOnDrop(mpsc::Sender<()>);
        impl Drop for SignalOnDrop {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let pool = Pool::new(1);
        let (dropped_tx, dropped_rx) = mpsc::channel();
        drop(pool.spawn(move || SignalOnDrop(dropped_tx)));
        dropped_rx
            .recv_timeout(LIMIT)
            .expect("the result of a detached task was never dropped");
    });
}

#[test]
fn execute_runs_fire_and_forget_work() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let (done_tx, done_rx) = mpsc::channel();
        for i in 0..10 {
            let done = done_tx.clone();
            pool.execute(move || done.send(i).unwrap());
        }
        let mut seen: Vec<i32> = (0..10)
            .map(|_| done_rx.recv_timeout(LIMIT).unwrap())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    });
}

#[test]
fn execute_runs_closures_of_every_size_each_once_and_drops_what_they_own() {
    with_deadline(LIMIT, || {
        // Small closures live in the pool's recycled blocks, large ones in
        // boxes; both must run once and drop their captures once.
        let pool = Pool::new(2);
        let owned = Arc::new(());
        let (done_tx, done_rx) = mpsc::channel();
        for round in 0..stress(2_000) {
            let (done, owned) = (done_tx.clone(), owned.clone());
            if round % 2 == 0 {
                pool.execute(move || {
                    let _owned = owned;
                    done.send(round).unwrap();
                });
            } else {
                let payload = [round; 16]; // 128 bytes: too big for a block
                pool.execute(move || {
                    let _owned = owned;
                    done.send(payload.iter().sum::<usize>() / 16).unwrap();
                });
            }
        }
        let mut seen: Vec<usize> = (0..stress(2_000))
            .map(|_| done_rx.recv_timeout(LIMIT).unwrap())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..stress(2_000)).collect::<Vec<_>>());
        pool.join();
        assert_eq!(
            Arc::strong_count(&owned),
            1,
            "a closure's captures were not dropped"
        );
    });
}

#[test]
fn apply_runs_on_a_worker_and_returns_the_value() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let caller = thread::current().id();
        let (value, ran_on) = pool.apply(|| (7 * 6, thread::current().id()));
        assert_eq!(value, 42);
        assert_ne!(ran_on, caller, "apply from outside runs on a worker");
    });
}

#[test]
fn apply_may_borrow_from_the_callers_stack() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let numbers: Vec<u64> = (1..=100).collect();
        let mut total = 0;
        pool.apply(|| total = numbers.iter().sum::<u64>());
        assert_eq!(total, 5050);
        assert_eq!(numbers.len(), 100);
    });
}

#[test]
fn every_submitted_task_runs_exactly_once() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        let per_thread = stress(2_000);
        let submitters = 4;
        let seen = Arc::new(Mutex::new(Vec::new()));
        thread::scope(|s| {
            for submitter in 0..submitters {
                let pool = pool.clone();
                let seen = seen.clone();
                s.spawn(move || {
                    let handles: Vec<_> = (0..per_thread)
                        .map(|i| {
                            let seen = seen.clone();
                            let id = submitter * per_thread + i;
                            pool.spawn(move || seen.lock().unwrap().push(id))
                        })
                        .collect();
                    for handle in handles {
                        handle.join().unwrap();
                    }
                });
            }
        });
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.len(),
            submitters * per_thread,
            "some task ran twice or not at all"
        );
        let distinct: HashSet<_> = seen.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            submitters * per_thread,
            "some task ran twice"
        );
    });
}

#[test]
fn clones_of_a_pool_share_its_threads_and_work() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let clone = pool.clone();
        let gate = Gate::new();
        let handles = common::occupy(&clone, 1, &gate);
        let queued = pool.spawn(|| 1);
        assert_eq!(
            clone.pending(),
            2,
            "a clone sees the original's queued work"
        );
        gate.open();
        assert_eq!(queued.join().unwrap(), 1);
        for handle in handles {
            handle.join().unwrap();
        }
        drop(clone);
        assert!(
            !pool.is_closed(),
            "dropping one clone does not close the pool"
        );
        assert_eq!(pool.spawn(|| 2).join().unwrap(), 2);
    });
}

#[test]
fn pool_new_zero_means_one_thread_per_cpu() {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(Pool::new(0).max_threads(), cores);
}

#[test]
fn the_global_spawn_runs_on_the_global_pool() {
    with_deadline(LIMIT, || {
        assert!(std::ptr::eq(workcrew::global(), workcrew::global()));
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(workcrew::global().max_threads(), cores);
        let ran = Counter::new();
        let seen = ran.clone();
        let value = workcrew::spawn(move || {
            seen.inc();
            "hello from the pool"
        })
        .join()
        .unwrap();
        assert_eq!(value, "hello from the pool");
        assert_eq!(ran.get(), 1);
        assert_eq!(workcrew::global().apply(|| 6 * 7), 42);
    });
}
