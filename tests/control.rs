//! Control of running work: cooperative cancellation (`request_cancel`,
//! `is_cancelled`, `checkpoint`), what it reaches (scoped tasks, map pieces,
//! task sets, the whole pool, a dropped `Imap`), fail-fast siblings,
//! deadlines, and the one-outcome rule when a request races a completion.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{stress, with_deadline, Counter, LIMIT};
use workcrew::{Pool, TaskError};

/// A task that signals it started, then spins until asked to stop and
/// returns how many rounds it spun.
fn spinner(started: mpsc::Sender<()>) -> impl FnOnce() -> u64 + Send + 'static {
    move || {
        started.send(()).unwrap();
        let mut rounds = 0;
        while !workcrew::is_cancelled() {
            rounds += 1;
            std::thread::yield_now();
        }
        rounds
    }
}

// ---------------------------------------------------------------- the basics

#[test]
fn is_cancelled_is_false_outside_any_task_and_in_a_task_nobody_asked() {
    assert!(!workcrew::is_cancelled());
    workcrew::checkpoint();
    assert_eq!(workcrew::time_left(), None);
    let pool = Pool::new(1);
    assert!(!pool.spawn(workcrew::is_cancelled).join().unwrap());
    pool.shutdown();
}

#[test]
fn a_request_reaches_a_running_task_which_returns_its_own_value() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let (started_tx, started_rx) = mpsc::channel();
        let handle = pool.spawn(spinner(started_tx));
        started_rx.recv().unwrap();
        assert!(handle.is_running());
        handle.request_cancel();
        assert!(
            handle.join().is_ok(),
            "a task that returns reports its own outcome"
        );
        assert_eq!(
            pool.stats().cancelled,
            0,
            "it ran: it is not a cancelled task"
        );
        pool.shutdown();
    });
}

#[test]
fn a_checkpoint_ends_an_asked_task_as_cancelled_without_counting_a_panic() {
    with_deadline(LIMIT, || {
        let reports = common::fault::Reports::new();
        let pool = reports.on(Pool::builder().threads(1)).build().unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let dropped = Arc::new(AtomicBool::new(false));
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, SeqCst);
            }
        }
        let guard = SetOnDrop(dropped.clone());
        let handle = pool.spawn(move || {
            let _guard = guard;
            started_tx.send(()).unwrap();
            loop {
                workcrew::checkpoint();
                std::thread::yield_now();
            }
        });
        started_rx.recv().unwrap();
        handle.request_cancel();
        assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
        assert!(
            dropped.load(SeqCst),
            "the task's destructors ran at the checkpoint"
        );
        pool.join();
        let stats = pool.stats();
        assert_eq!((stats.panicked, stats.completed), (0, 1));
        assert!(
            reports.texts().is_empty(),
            "a stop is not handed to the panic_handler"
        );
        pool.shutdown();
    });
}

#[test]
fn a_request_to_a_queued_task_cancels_it_and_it_never_runs() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = common::Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        let ran = Counter::new();
        let counted = ran.clone();
        let queued = pool.spawn(move || counted.inc());
        assert!(!queued.is_running());
        queued.request_cancel();
        assert!(queued.is_finished());
        assert!(matches!(queued.join(), Err(TaskError::Cancelled)));
        common::release(&gate, busy);
        pool.join();
        assert_eq!(ran.get(), 0);
        assert_eq!(pool.stats().cancelled, 1);
        pool.shutdown();
    });
}

#[test]
fn a_request_racing_with_completion_gives_exactly_one_outcome() {
    with_deadline(LIMIT * 2, || {
        let pool = Pool::new(2);
        let (mut returned, mut stopped) = (0, 0);
        for round in 0..stress(2000) {
            let handle = pool.spawn(move || {
                for _ in 0..(round % 50) {
                    workcrew::checkpoint();
                    std::hint::spin_loop();
                }
                round
            });
            handle.request_cancel();
            match handle.join() {
                Ok(value) => {
                    assert_eq!(value, round);
                    returned += 1;
                }
                Err(TaskError::Cancelled) => stopped += 1,
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        pool.join();
        let stats = pool.stats();
        assert_eq!(
            stats.completed + stats.cancelled,
            returned + stopped,
            "every task counted once: {stats:?}"
        );
        pool.shutdown();
    });
}

// ---------------------------------------------------------------- what it reaches

#[test]
fn scoped_tasks_see_the_cancellation_of_the_task_that_opened_the_scope() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let (started_tx, started_rx) = mpsc::channel();
        let inner = pool.clone();
        let handle = pool.spawn(move || {
            inner.scope(|s| {
                for _ in 0..2 {
                    let started = started_tx.clone();
                    s.spawn(move || spinner(started)());
                }
            });
            workcrew::is_cancelled()
        });
        started_rx.recv().unwrap();
        started_rx.recv().unwrap();
        handle.request_cancel();
        assert!(
            handle.join().unwrap(),
            "the scope returned once its tasks saw the request"
        );
        pool.shutdown();
    });
}

#[test]
fn map_pieces_see_the_cancellation_of_the_task_that_called_map() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let started = Arc::new(AtomicUsize::new(0));
        let inner = pool.clone();
        let seen = started.clone();
        let handle = pool.spawn(move || {
            let stopped = inner.map(0..4, |_| {
                seen.fetch_add(1, SeqCst);
                while !workcrew::is_cancelled() {
                    std::thread::yield_now();
                }
                true
            });
            stopped.into_iter().all(|stopped| stopped)
        });
        common::wait_until("a map piece to start", || started.load(SeqCst) > 0);
        handle.request_cancel();
        assert!(handle.join().unwrap());
        pool.shutdown();
    });
}

#[test]
fn try_map_asks_the_items_still_running_to_stop_at_the_first_error() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let spinning = Arc::new(AtomicBool::new(false));
        let flag = spinning.clone();
        let outcome: Result<Vec<u32>, String> = pool.try_map(0..2u32, |i| {
            if i == 0 {
                flag.store(true, SeqCst);
                // Runs until the sibling's error asks it to stop.
                while !workcrew::is_cancelled() {
                    std::thread::yield_now();
                }
                Ok(0)
            } else {
                while !flag.load(SeqCst) {
                    std::thread::yield_now();
                }
                Err("item 1 failed".to_owned())
            }
        });
        assert_eq!(outcome.unwrap_err(), "item 1 failed");
        pool.shutdown();
    });
}

#[test]
fn request_cancel_all_cancels_the_queued_and_asks_the_running_tasks_of_a_set() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let (started_tx, started_rx) = mpsc::channel();
        let mut set = pool.task_set();
        for _ in 0..2 {
            set.spawn(spinner(started_tx.clone()));
        }
        started_rx.recv().unwrap();
        started_rx.recv().unwrap();
        // Both threads spin: these three stay queued.
        for _ in 0..3 {
            set.spawn(|| u64::MAX);
        }
        assert_eq!(set.request_cancel_all(), 3);
        let outcomes = set.join_all();
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 2);
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| o.as_ref().is_err_and(TaskError::is_cancelled))
                .count(),
            3
        );
        pool.shutdown();
    });
}

#[test]
fn a_fail_fast_set_asks_the_others_to_stop_once_one_panics() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let (started_tx, started_rx) = mpsc::channel();
        let mut set = pool.task_set().fail_fast();
        set.spawn(spinner(started_tx.clone()));
        set.spawn(spinner(started_tx));
        started_rx.recv().unwrap();
        started_rx.recv().unwrap();
        set.spawn(|| -> u64 { panic!("one part failed") });
        let outcomes = set.join_all();
        assert_eq!(outcomes.len(), 3);
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| o.as_ref().is_err_and(TaskError::is_panic))
                .count(),
            1
        );
        pool.shutdown();
    });
}

#[test]
fn race_asks_the_losers_to_stop_once_one_wins() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let stopped = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = mpsc::channel();
        let candidates: Vec<Box<dyn FnOnce() -> Result<&'static str, ()> + Send>> = vec![
            Box::new(move || {
                started_rx.recv().unwrap();
                started_rx.recv().unwrap();
                Ok("fast")
            }),
            Box::new({
                let (stopped, started) = (stopped.clone(), started_tx.clone());
                move || {
                    started.send(()).unwrap();
                    while !workcrew::is_cancelled() {
                        std::thread::yield_now();
                    }
                    stopped.fetch_add(1, SeqCst);
                    Err(())
                }
            }),
            Box::new({
                let stopped = stopped.clone();
                move || {
                    started_tx.send(()).unwrap();
                    while !workcrew::is_cancelled() {
                        std::thread::yield_now();
                    }
                    stopped.fetch_add(1, SeqCst);
                    Err(())
                }
            }),
        ];
        assert_eq!(pool.race(candidates), Ok("fast"));
        pool.join();
        assert_eq!(
            stopped.load(SeqCst),
            2,
            "both losers saw the request and stopped"
        );
        pool.shutdown();
    });
}

#[test]
fn request_cancel_running_reaches_every_running_task_and_not_later_ones() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let (started_tx, started_rx) = mpsc::channel();
        let handles: Vec<_> = (0..2)
            .map(|_| pool.spawn(spinner(started_tx.clone())))
            .collect();
        started_rx.recv().unwrap();
        started_rx.recv().unwrap();
        pool.request_cancel_running();
        for handle in handles {
            handle.join().unwrap();
        }
        assert!(
            !pool.spawn(workcrew::is_cancelled).join().unwrap(),
            "a later task is not asked"
        );
        pool.shutdown();
    });
}

#[test]
fn shutdown_now_and_stop_running_cancels_the_queue_and_stops_the_running() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let (started_tx, started_rx) = mpsc::channel();
        let running = pool.spawn(spinner(started_tx));
        let queued: Vec<_> = (0..4).map(|i| pool.spawn(move || i)).collect();
        started_rx.recv().unwrap();
        assert_eq!(pool.shutdown_now_and_stop_running(), 4);
        assert!(running.join().is_ok());
        for handle in queued {
            assert!(handle.join().unwrap_err().is_cancelled());
        }
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
    });
}

#[test]
fn dropping_an_imap_asks_its_running_items_to_stop() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let stopped = Arc::new(AtomicUsize::new(0));
        let seen = stopped.clone();
        let mut items = pool.imap(0..100u32, move |i| {
            if i == 0 {
                return 0;
            }
            while !workcrew::is_cancelled() {
                std::thread::yield_now();
            }
            seen.fetch_add(1, SeqCst);
            i
        });
        assert_eq!(items.next(), Some(0));
        drop(items);
        pool.join();
        assert!(
            stopped.load(SeqCst) >= 1,
            "the running items saw the request"
        );
        pool.shutdown();
    });
}

#[test]
fn execute_tasks_can_be_stopped_by_the_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let (started_tx, started_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        pool.execute(move || {
            started_tx.send(()).unwrap();
            loop {
                if workcrew::is_cancelled() {
                    done_tx.send("saw the request").unwrap();
                    workcrew::checkpoint();
                }
                std::thread::yield_now();
            }
        });
        started_rx.recv().unwrap();
        pool.request_cancel_running();
        assert_eq!(done_rx.recv().unwrap(), "saw the request");
        pool.join();
        assert_eq!(pool.stats().panicked, 0);
        pool.shutdown();
    });
}

// ---------------------------------------------------------------- deadlines

#[test]
fn a_running_task_past_its_deadline_times_out_at_once_and_its_late_result_is_discarded() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let handle = pool
            .task_builder()
            .name("ignores the request")
            .timeout(Duration::from_millis(30))
            .spawn(move || {
                // Ignores the request until released, then returns anyway.
                release_rx.recv().unwrap();
                "late"
            });
        let began = Instant::now();
        assert!(matches!(handle.join(), Err(TaskError::TimedOut)));
        assert!(
            began.elapsed() < LIMIT,
            "the handle did not wait for the task"
        );
        release_tx.send(()).unwrap();
        pool.join();
        let stats = pool.stats();
        assert_eq!(
            (stats.timed_out, stats.discarded, stats.completed),
            (1, 1, 1)
        );
        pool.shutdown();
    });
}

#[test]
fn a_queued_task_past_its_deadline_never_runs() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = common::Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        let ran = Counter::new();
        let counted = ran.clone();
        let handle = pool
            .task_builder()
            .timeout(Duration::from_millis(10))
            .spawn(move || counted.inc());
        assert!(matches!(handle.join(), Err(TaskError::TimedOut)));
        common::release(&gate, busy);
        pool.join();
        assert_eq!(ran.get(), 0);
        let stats = pool.stats();
        assert_eq!(
            (stats.timed_out, stats.cancelled, stats.discarded),
            (1, 1, 0)
        );
        pool.shutdown();
    });
}

#[test]
fn inside_a_task_with_a_deadline_time_left_counts_down_and_is_cancelled_turns_true() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let handle = pool
            .task_builder()
            .timeout(Duration::from_millis(50))
            .spawn(|| {
                let left = workcrew::time_left().expect("a deadline is set");
                assert!(left <= Duration::from_millis(50));
                while !workcrew::is_cancelled() {
                    std::thread::yield_now();
                }
                workcrew::time_left()
            });
        assert!(handle.join().unwrap_err().is_timed_out());
        pool.shutdown();
    });
}

#[test]
fn a_task_that_finishes_before_its_deadline_keeps_its_result() {
    let pool = Pool::new(1);
    let handle = pool.task_builder().timeout(LIMIT).spawn(|| 7);
    assert_eq!(handle.join().unwrap(), 7);
    pool.join();
    assert_eq!(pool.stats().timed_out, 0);
    pool.shutdown();
}

#[test]
fn try_spawn_with_a_builder_hands_the_closure_back_when_refused() {
    let pool = Pool::builder()
        .threads(1)
        .queue_capacity(0)
        .build()
        .unwrap();
    let gate = common::Gate::new();
    let busy = common::occupy(&pool, 1, &gate);
    let refused = pool.task_builder().name("x").try_spawn(|| 3).unwrap_err();
    assert!(refused.is_full());
    assert_eq!((refused.into_inner())(), 3);
    common::release(&gate, busy);
    pool.shutdown();
}

#[test]
fn a_stolen_fork_join_half_sees_the_cancellation_of_its_task() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let inner = pool.clone();
        let (started_tx, started_rx) = mpsc::channel::<std::thread::ThreadId>();
        let handle = pool.spawn(move || {
            let owner = std::thread::current().id();
            let (thread_of_b, _) = inner.fork_join(
                move || {
                    // `a` waits until `b` runs elsewhere, so `b` is a piece
                    // on another worker when the request comes.
                    let thread_of_b = started_rx.recv().unwrap();
                    assert_ne!(thread_of_b, owner);
                    while !workcrew::is_cancelled() {
                        std::thread::yield_now();
                    }
                    thread_of_b
                },
                move || {
                    started_tx.send(std::thread::current().id()).unwrap();
                    while !workcrew::is_cancelled() {
                        std::thread::yield_now();
                    }
                },
            );
            thread_of_b
        });
        common::wait_until("the halves to run", || handle.is_running());
        handle.request_cancel();
        assert!(
            handle.join().is_ok(),
            "both halves saw the request and returned"
        );
        pool.shutdown();
    });
}
