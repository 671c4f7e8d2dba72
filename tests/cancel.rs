//! `TaskHandle::cancel`: only a queued task can be cancelled; it then never
//! runs, its handle is finished at once and every waiter sees `Cancelled`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;

use common::{stress, with_deadline, Counter, Gate, LIMIT};
use workcrew::{Pool, TaskError};

#[test]
fn cancel_of_a_queued_task_succeeds_and_it_never_runs() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        let ran = Counter::new();
        let seen = ran.clone();
        let queued = pool.spawn(move || seen.inc());
        assert!(queued.cancel());
        common::release(&gate, running);
        pool.join();
        assert_eq!(ran.get(), 0, "a cancelled task ran");
        assert!(matches!(queued.join(), Err(TaskError::Cancelled)));
    });
}

#[test]
fn a_cancelled_handle_is_finished_at_once_and_joins_as_cancelled() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| 1);
        assert!(queued.cancel());
        // Still blocked: the worker has not touched the cancelled task.
        assert!(queued.is_finished());
        assert!(queued.wait_timeout(std::time::Duration::ZERO));
        let error = queued.join().unwrap_err();
        assert!(error.is_cancelled());
        assert!(!error.is_panic());
        assert_eq!(error.panic_message(), None);
        common::release(&gate, running);
    });
}

#[test]
fn a_second_cancel_returns_false() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| ());
        assert!(queued.cancel());
        assert!(!queued.cancel());
        common::release(&gate, running);
        assert!(!queued.cancel());
        assert!(queued.join().unwrap_err().is_cancelled());
    });
}

#[test]
fn cancel_of_a_running_task_is_refused() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate).remove(0);
        assert!(!running.cancel());
        assert!(!running.is_finished());
        gate.open();
        running
            .join()
            .expect("a refused cancel must leave the task alone");
    });
}

#[test]
fn cancel_of_a_finished_task_is_refused_and_keeps_the_result() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let handle = pool.spawn(|| 9);
        handle.wait();
        assert!(!handle.cancel());
        assert_eq!(handle.join().unwrap(), 9);
    });
}

#[test]
fn cancel_drops_the_closure_at_once() {
    with_deadline(LIMIT, || {
        struct SignalOnDrop(Arc<AtomicBool>);
        impl Drop for SignalOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        let dropped = Arc::new(AtomicBool::new(false));
        let captured = SignalOnDrop(dropped.clone());
        let queued = pool.spawn(move || drop(captured));
        assert!(!dropped.load(Ordering::SeqCst));
        assert!(queued.cancel());
        assert!(
            dropped.load(Ordering::SeqCst),
            "the cancelled closure (and what it captured) was not dropped by cancel"
        );
        common::release(&gate, running);
    });
}

#[test]
fn cancel_wakes_every_thread_waiting_on_the_handle() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| ());
        let waiting = Barrier::new(4);
        thread::scope(|s| {
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let (queued, waiting) = (&queued, &waiting);
                    s.spawn(move || {
                        waiting.wait();
                        queued.wait();
                        queued.is_finished()
                    })
                })
                .collect();
            waiting.wait();
            assert!(queued.cancel());
            for waiter in waiters {
                assert!(waiter.join().unwrap());
            }
        });
        // The running task is still blocked: the waiters were woken by the
        // cancel, not by the pool draining.
        assert!(!gate.is_open());
        assert!(queued.join().unwrap_err().is_cancelled());
        common::release(&gate, running);
    });
}

#[test]
fn on_complete_fires_with_cancelled_when_shutdown_now_cancels_the_task() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        let (called_tx, called_rx) = mpsc::channel();
        pool.spawn(|| 1).on_complete(move |outcome| {
            called_tx
                .send(outcome.map_err(|e| e.is_cancelled()))
                .unwrap()
        });
        assert_eq!(pool.shutdown_now(), 1);
        assert_eq!(called_rx.recv_timeout(LIMIT), Ok(Err(true)));
        common::release(&gate, running);
    });
}

#[test]
fn a_cancelled_task_is_counted_in_stats_and_not_as_completed() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        let queued: Vec<_> = (0..3).map(|_| pool.spawn(|| ())).collect();
        assert_eq!(pool.pending(), 4);
        assert!(queued[1].cancel());
        assert_eq!(pool.pending(), 3, "a cancelled task is no longer pending");
        common::release(&gate, running);
        pool.join();
        let stats = pool.stats();
        assert_eq!(stats.cancelled, 1);
        assert_eq!(stats.completed, 3);
        assert_eq!(stats.queued, 0);
    });
}

#[test]
fn cancel_racing_with_the_start_has_exactly_one_winner() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let rounds = stress(1_000);
        let ran = Counter::new();
        let mut cancelled = 0;
        for round in 0..rounds {
            let ran_here = Arc::new(AtomicBool::new(false));
            let flag = ran_here.clone();
            let seen = ran.clone();
            let handle = pool.spawn(move || {
                flag.store(true, Ordering::SeqCst);
                seen.inc();
            });
            // A varying head start moves the cancel across the whole window
            // in which a worker picks the task up.
            for _ in 0..(round % 64) * 1024 {
                std::hint::spin_loop();
            }
            let won = handle.cancel();
            let outcome = handle.join();
            if won {
                cancelled += 1;
                assert!(matches!(outcome, Err(TaskError::Cancelled)));
                assert!(
                    !ran_here.load(Ordering::SeqCst),
                    "cancel won but the task ran"
                );
            } else {
                assert!(outcome.is_ok(), "cancel lost but the task did not complete");
                assert!(ran_here.load(Ordering::SeqCst));
            }
        }
        pool.join();
        assert_eq!(ran.get() + cancelled, rounds);
        let stats = pool.stats();
        assert_eq!(stats.completed as usize, ran.get());
        assert_eq!(stats.cancelled as usize, cancelled);
    });
}

#[test]
fn concurrent_cancels_of_one_queued_task_have_exactly_one_winner() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        for _ in 0..stress(200) {
            let queued = pool.spawn(|| ());
            let start = Barrier::new(4);
            let winners = thread::scope(|s| {
                let cancellers: Vec<_> = (0..4)
                    .map(|_| {
                        let (queued, start) = (&queued, &start);
                        s.spawn(move || {
                            start.wait();
                            queued.cancel()
                        })
                    })
                    .collect();
                cancellers
                    .into_iter()
                    .map(|c| c.join().unwrap())
                    .filter(|&won| won)
                    .count()
            });
            assert_eq!(winners, 1);
            assert!(queued.join().unwrap_err().is_cancelled());
        }
        common::release(&gate, running);
    });
}
