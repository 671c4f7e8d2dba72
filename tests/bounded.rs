//! Bounded queues (`queue_capacity`): `try_spawn` refuses with the closure,
//! `spawn_timeout` waits up to its timeout, `spawn` waits for room, and a
//! worker that would have to wait runs the task inline instead.

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{with_deadline, Counter, Gate, LIMIT};
use workcrew::{Pool, SpawnError};

fn bounded(threads: usize, capacity: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .queue_capacity(capacity)
        .build()
        .unwrap()
}

#[test]
fn try_spawn_on_a_full_queue_returns_full_with_the_closure() {
    with_deadline(LIMIT, || {
        let pool = bounded(1, 1);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        let queued = pool.try_spawn(|| "queued").unwrap();
        let owned = String::from("given back");
        let refused = pool.try_spawn(move || owned).unwrap_err();
        assert!(refused.is_full());
        assert!(!refused.is_closed());
        assert!(refused.to_string().contains("full"), "{refused}");
        assert_eq!(format!("{refused:?}"), "Full(..)");
        assert_eq!(refused.into_inner()(), "given back");
        gate.open();
        assert_eq!(queued.join().unwrap(), "queued");
        busy.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn the_capacity_counts_queued_tasks_not_running_ones() {
    with_deadline(LIMIT, || {
        let pool = bounded(2, 2);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 2, &gate);
        let first = pool.try_spawn(|| 1).expect("one slot of two used");
        let second = pool.try_spawn(|| 2).expect("two slots of two used");
        assert!(pool.try_spawn(|| 3).unwrap_err().is_full());
        gate.open();
        assert_eq!(first.join().unwrap() + second.join().unwrap(), 3);
        busy.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(pool.try_spawn(|| 4).unwrap().join().unwrap(), 4);
    });
}

#[test]
fn spawn_timeout_on_a_full_queue_gives_up_with_full() {
    with_deadline(LIMIT, || {
        let pool = bounded(1, 1);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| ());
        let timeout = Duration::from_millis(30);
        let asked = Instant::now();
        let refused = pool.spawn_timeout(|| 5, timeout).unwrap_err();
        assert!(asked.elapsed() >= timeout, "gave up before the timeout");
        assert!(matches!(refused, SpawnError::Full(_)));
        assert_eq!(refused.into_inner()(), 5);
        gate.open();
        queued.join().unwrap();
        busy.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn spawn_timeout_succeeds_when_room_appears_in_time() {
    with_deadline(LIMIT, || {
        let pool = bounded(1, 1);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| ());
        let opener = {
            let gate = gate.clone();
            thread::spawn(move || gate.open())
        };
        let late = pool
            .spawn_timeout(|| 6, LIMIT)
            .expect("room appeared but spawn_timeout gave up");
        assert_eq!(late.join().unwrap(), 6);
        queued.join().unwrap();
        busy.into_iter().for_each(|h| h.join().unwrap());
        opener.join().unwrap();
    });
}

#[test]
fn spawn_on_a_full_queue_waits_for_room() {
    with_deadline(LIMIT, || {
        let pool = bounded(1, 1);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| ());
        let (returned_tx, returned_rx) = mpsc::channel();
        let submitter = {
            let pool = pool.clone();
            thread::spawn(move || {
                let handle = pool.spawn(|| 7);
                returned_tx.send(()).unwrap();
                handle.join().unwrap()
            })
        };
        assert!(
            returned_rx.recv_timeout(Duration::from_millis(50)).is_err(),
            "spawn returned although the queue was full"
        );
        gate.open();
        returned_rx
            .recv_timeout(LIMIT)
            .expect("spawn never got the room freed by a starting task");
        assert_eq!(submitter.join().unwrap(), 7);
        queued.join().unwrap();
        busy.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn execute_on_a_full_queue_waits_for_room_too() {
    with_deadline(LIMIT, || {
        let pool = bounded(1, 1);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        let ran = Counter::new();
        let seen = ran.clone();
        pool.execute(move || seen.inc());
        let submitter = {
            let (pool, ran) = (pool.clone(), ran.clone());
            thread::spawn(move || pool.execute(move || ran.inc()))
        };
        gate.open();
        submitter.join().unwrap();
        pool.join();
        assert_eq!(ran.get(), 2);
        busy.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn a_cancelled_task_frees_its_queue_slot() {
    with_deadline(LIMIT, || {
        let pool = bounded(1, 1);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| ());
        assert!(pool.try_spawn(|| ()).unwrap_err().is_full());
        assert!(queued.cancel());
        let next = pool
            .try_spawn(|| 8)
            .expect("the cancelled task still holds its slot");
        gate.open();
        assert_eq!(next.join().unwrap(), 8);
        busy.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn spawn_from_a_worker_with_a_full_queue_runs_the_task_inline() {
    with_deadline(LIMIT, || {
        let pool = bounded(1, 1);
        let inner = pool.clone();
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = order.clone();
        let outcome = pool
            .spawn(move || {
                let here = thread::current().id();
                let (a, b) = (log.clone(), log.clone());
                // Takes the only slot.
                let queued = inner.spawn(move || a.lock().unwrap().push("queued"));
                // No room, and waiting here could deadlock: runs right now.
                let inline = inner.spawn(move || {
                    b.lock().unwrap().push("inline");
                    thread::current().id()
                });
                assert!(
                    inline.is_finished(),
                    "the inline task had not run when spawn returned"
                );
                let inline_thread = inline.join().unwrap();
                let refused = inner.try_spawn(|| ()).unwrap_err().is_full();
                queued.join().unwrap();
                (inline_thread == here, refused)
            })
            .join()
            .unwrap();
        assert_eq!(
            outcome,
            (true, true),
            "(ran on the spawning worker, try_spawn refused)"
        );
        assert_eq!(*order.lock().unwrap(), ["inline", "queued"]);
        // The task its spawner took back to run freed its slot too.
        pool.join();
        assert_eq!(pool.stats().queued, 0);
        assert!(pool.try_spawn(|| ()).is_ok());
    });
}

#[test]
fn execute_from_a_worker_with_a_full_queue_runs_the_task_inline() {
    with_deadline(LIMIT, || {
        let pool = bounded(1, 1);
        let inner = pool.clone();
        let ran = Counter::new();
        let seen = ran.clone();
        let ran_before_return = pool
            .spawn(move || {
                let blocker = inner.spawn(|| ());
                let counted = seen.clone();
                inner.execute(move || counted.inc());
                let ran_before_return = seen.get() == 1;
                blocker.join().unwrap();
                ran_before_return
            })
            .join()
            .unwrap();
        assert!(ran_before_return);
        assert_eq!(ran.get(), 1);
    });
}

#[test]
fn a_submitter_waiting_for_room_is_refused_when_the_pool_closes() {
    with_deadline(LIMIT, || {
        let pool = bounded(1, 1);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| ());
        let (waiting_tx, waiting_rx) = mpsc::channel();
        let submitter = {
            let pool = pool.clone();
            thread::spawn(move || {
                waiting_tx.send(()).unwrap();
                pool.spawn_timeout(|| 9, LIMIT)
                    .map(|_| ())
                    .map_err(|e| (e.is_closed(), e.into_inner()()))
            })
        };
        waiting_rx.recv_timeout(LIMIT).unwrap();
        pool.shutdown_now();
        assert_eq!(submitter.join().unwrap(), Err((true, 9)));
        assert!(queued.join().unwrap_err().is_cancelled());
        common::release(&gate, busy);
    });
}

#[test]
fn many_submitters_through_a_small_queue_lose_nothing() {
    with_deadline(LIMIT, || {
        let pool = bounded(2, 4);
        let ran = Counter::new();
        let per_submitter = common::stress(500);
        thread::scope(|s| {
            for _ in 0..4 {
                let (pool, ran) = (&pool, &ran);
                s.spawn(move || {
                    for _ in 0..per_submitter {
                        let ran = ran.clone();
                        pool.execute(move || ran.inc());
                    }
                });
            }
        });
        pool.join();
        assert_eq!(ran.get(), 4 * per_submitter);
        assert_eq!(pool.stats().queued, 0);
    });
}
