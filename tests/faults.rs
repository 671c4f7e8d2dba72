//! The promises under faults that need no OS set-up: user values that panic
//! in `Drop` wherever the pool drops them, hooks that call into the pool,
//! bad thread names, the bounded queue's admission, the global pool's
//! lifecycle. (Threads refused by the OS: tests/faults_threads.rs.)
//!
//! After every fault the ledger holds: each closure ran once, or its handle
//! reports `Cancelled`, or it came back in a `SpawnError` and never ran; the
//! panic was counted in `stats().panicked` and handed to the
//! `panic_handler`; the pool still runs work and shuts down.

mod common;

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fault::{wait_for_threads, Bomb, Reports};
use common::{
    occupy, panic_text_of, release, thread_name, wait_until, with_deadline, Counter, Gate, LIMIT,
};
use workcrew::{Pool, TaskError};

/// A one-thread pool whose panic handler records into `reports`.
fn one_thread_pool(reports: &Reports) -> Pool {
    reports.on(Pool::builder().threads(1)).build().unwrap()
}

/// The pool still runs work, and shuts down with every thread gone.
fn still_works_then_shuts_down(pool: &Pool) {
    assert_eq!(
        pool.spawn(|| 41 + 1).join().unwrap(),
        42,
        "the pool stopped running work"
    );
    pool.shutdown();
    assert_eq!(pool.threads(), 0);
}

// ---------------------------------------------------------------- results

#[test]
fn a_detached_result_that_panics_on_drop_leaves_the_worker_alive() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let pool = one_thread_pool(&reports);
        drop(pool.spawn(|| Bomb("detached result")));
        reports.wait_for("bomb: detached result");
        assert_eq!(pool.stats().panicked, 1);
        still_works_then_shuts_down(&pool);
    });
}

#[test]
fn dropping_the_handle_of_a_finished_task_drops_its_result_in_the_guard() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let pool = one_thread_pool(&reports);
        let handle = pool.spawn(|| Bomb("result of a finished task"));
        handle.wait();
        // The drop happens here, on the test thread: caught all the same.
        drop(handle);
        assert_eq!(reports.count("bomb: result of a finished task"), 1);
        pool.join();
        assert_eq!(pool.stats().panicked, 1);
        still_works_then_shuts_down(&pool);
    });
}

#[test]
fn a_task_set_dropped_with_results_that_panic_on_drop_loses_nothing_else() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let pool = reports.on(Pool::builder().threads(2)).build().unwrap();
        let mut set = pool.task_set();
        for _ in 0..5 {
            set.spawn(|| Bomb("task set result"));
        }
        drop(set);
        pool.join();
        wait_until("five dropped results reported", || {
            reports.count("bomb: task set result") == 5
        });
        assert_eq!(pool.stats().panicked, 5);
        still_works_then_shuts_down(&pool);
    });
}

#[test]
fn a_scoped_result_that_panics_on_drop_is_caught_and_the_scope_returns() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let pool = reports.on(Pool::builder().threads(2)).build().unwrap();
        let value = pool.scope(|s| {
            drop(s.spawn(|| Bomb("scoped result")));
            7
        });
        assert_eq!(value, 7);
        assert_eq!(reports.count("bomb: scoped result"), 1);
        still_works_then_shuts_down(&pool);
    });
}

#[test]
fn map_results_that_panic_on_drop_after_a_failure_leave_the_first_panic_to_the_caller() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let pool = reports.on(Pool::builder().threads(2)).build().unwrap();
        let text = panic_text_of(|| {
            pool.map(0..200, |i| {
                if i == 100 {
                    panic!("the item that failed");
                }
                Bomb("map result")
            })
        });
        assert_eq!(text, "the item that failed");
        assert!(
            reports.count("bomb: map result") > 0,
            "no result was dropped in the guard"
        );
        still_works_then_shuts_down(&pool);
    });
}

// ---------------------------------------------------------------- payloads

#[test]
fn an_execute_panic_whose_payload_panics_on_drop_is_caught_without_a_handler() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        pool.execute(|| std::panic::panic_any(Bomb("payload")));
        pool.join();
        // The task's panic, and the panic of dropping its payload.
        assert_eq!(pool.stats().panicked, 2);
        still_works_then_shuts_down(&pool);
    });
}

#[test]
fn a_panic_handler_that_panics_with_a_payload_that_panics_on_drop_is_survived() {
    with_deadline(LIMIT, || {
        let pool = Pool::builder()
            .threads(1)
            .panic_handler(|_| std::panic::panic_any(Bomb("handler payload")))
            .build()
            .unwrap();
        pool.execute(|| panic!("first"));
        pool.join();
        // The task, the handler, and dropping the handler's payload.
        wait_until("three panics counted", || pool.stats().panicked == 3);
        still_works_then_shuts_down(&pool);
    });
}

#[test]
fn a_detached_panic_whose_payload_panics_on_drop_is_caught() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        drop(pool.spawn(|| -> u8 { std::panic::panic_any(Bomb("detached payload")) }));
        pool.join();
        wait_until("two panics counted", || pool.stats().panicked == 2);
        still_works_then_shuts_down(&pool);
    });
}

// ---------------------------------------------------------------- cancelled closures

#[test]
fn cancelling_a_task_whose_closure_panics_on_drop_still_reports_cancelled() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let pool = one_thread_pool(&reports);
        let gate = Gate::new();
        let busy = occupy(&pool, 1, &gate);
        let bomb = Bomb("cancelled closure");
        let ran = Counter::new();
        let counted = ran.clone();
        let handle = pool.spawn(move || {
            let _keep = &bomb;
            counted.inc();
        });
        assert!(handle.cancel(), "a queued task must be cancellable");
        assert!(handle.is_finished());
        assert!(!handle.cancel(), "a second cancel must report false");
        assert_eq!(reports.count("bomb: cancelled closure"), 1);
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.cancelled, stats.panicked), (0, 1, 1));
        assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
        release(&gate, busy);
        pool.join();
        assert_eq!(ran.get(), 0, "a cancelled task ran");
        still_works_then_shuts_down(&pool);
    });
}

#[test]
fn shutdown_now_cancels_every_queued_task_whose_closure_panics_on_drop() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let pool = one_thread_pool(&reports);
        let gate = Gate::new();
        let busy = occupy(&pool, 1, &gate);
        let ran = Counter::new();
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let bomb = Bomb("queued closure");
                let ran = ran.clone();
                pool.spawn(move || {
                    let _keep = &bomb;
                    ran.inc();
                })
            })
            .collect();
        for _ in 0..5 {
            let bomb = Bomb("queued execute closure");
            let ran = ran.clone();
            pool.execute(move || {
                let _keep = &bomb;
                ran.inc();
            });
        }
        assert_eq!(pool.shutdown_now(), 15, "shutdown_now stopped partway");
        for handle in handles {
            assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
        }
        assert_eq!(reports.count("bomb: queued closure"), 10);
        assert_eq!(reports.count("bomb: queued execute closure"), 5);
        release(&gate, busy);
        pool.shutdown();
        assert_eq!(ran.get(), 0);
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.cancelled, stats.panicked), (0, 15, 15));
        assert_eq!(pool.threads(), 0);
    });
}

#[test]
fn cancel_all_of_a_task_set_whose_closures_panic_on_drop_cancels_them_all() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let pool = one_thread_pool(&reports);
        let gate = Gate::new();
        let busy = occupy(&pool, 1, &gate);
        let mut set = pool.task_set::<()>();
        for _ in 0..6 {
            let bomb = Bomb("set closure");
            set.spawn(move || {
                let _keep = &bomb;
            });
        }
        assert_eq!(set.cancel_all(), 6);
        let outcomes = set.join_all();
        assert_eq!(outcomes.len(), 6);
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, Err(TaskError::Cancelled))));
        assert_eq!(reports.count("bomb: set closure"), 6);
        release(&gate, busy);
        still_works_then_shuts_down(&pool);
    });
}

// ---------------------------------------------------------------- callbacks and hooks

#[test]
fn an_on_complete_callback_whose_captures_panic_on_drop_is_caught() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let pool = one_thread_pool(&reports);
        let (done_tx, done_rx) = mpsc::channel();
        let bomb = Bomb("callback capture");
        pool.spawn(|| 5).on_complete(move |outcome| {
            let _keep = &bomb;
            done_tx.send(outcome.unwrap()).unwrap();
        });
        assert_eq!(done_rx.recv_timeout(LIMIT).unwrap(), 5);
        pool.join();
        reports.wait_for("bomb: callback capture");
        still_works_then_shuts_down(&pool);
    });
}

#[test]
fn hooks_whose_captures_panic_on_drop_hand_the_panic_on_when_the_pool_is_freed() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let before = Bomb("before_task capture");
        let stop = Bomb("on_thread_stop capture");
        let pool = reports
            .on(Pool::builder().threads(2))
            .before_task(move || {
                let _keep = &before;
            })
            .on_thread_stop(move || {
                let _keep = &stop;
            })
            .build()
            .unwrap();
        assert_eq!(pool.spawn(|| 3).join().unwrap(), 3);
        pool.shutdown();
        drop(pool);
        reports.wait_for("bomb: before_task capture");
        reports.wait_for("bomb: on_thread_stop capture");
    });
}

#[test]
fn an_on_thread_stop_hook_that_submits_during_shutdown_is_refused_and_shutdown_returns() {
    with_deadline(LIMIT, || {
        let slot: Arc<Mutex<Option<Pool>>> = Arc::default();
        let answers: Arc<Mutex<Vec<bool>>> = Arc::default();
        let ran = Counter::new();
        let (hook_slot, hook_answers, hook_ran) = (slot.clone(), answers.clone(), ran.clone());
        let pool = Pool::builder()
            .threads(2)
            .on_thread_stop(move || {
                let Some(pool) = hook_slot.lock().unwrap().clone() else {
                    return;
                };
                let ran = hook_ran.clone();
                let accepted = pool.try_spawn(move || ran.inc()).is_ok();
                hook_answers.lock().unwrap().push(accepted);
                // The blocking form too: it must not hang the shutdown.
                let ran = hook_ran.clone();
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                    pool.spawn(move || ran.inc()).join()
                }));
            })
            .build()
            .unwrap();
        *slot.lock().unwrap() = Some(pool.clone());
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
        slot.lock().unwrap().take();
        let answers = answers.lock().unwrap().clone();
        assert_eq!(
            answers,
            [false, false],
            "a closed pool accepted work from a stop hook"
        );
        assert_eq!(ran.get(), 0);
        assert_eq!(pool.stats().queued, 0);
    });
}

#[test]
fn an_on_thread_stop_hook_of_a_retiring_thread_submits_to_the_open_pool_and_it_runs() {
    with_deadline(LIMIT, || {
        let (ran_tx, ran_rx) = mpsc::channel::<&'static str>();
        let slot: Arc<Mutex<Option<Pool>>> = Arc::default();
        let hook_slot = slot.clone();
        let ran_tx = Mutex::new(ran_tx);
        let pool = Pool::builder()
            .threads(1)
            .max_threads(2)
            .keep_alive(Duration::from_millis(20))
            .on_thread_stop(move || {
                if let Some(pool) = hook_slot.lock().unwrap().clone() {
                    let tx = ran_tx.lock().unwrap().clone();
                    let _ = pool.try_spawn(move || tx.send("from the stop hook"));
                }
            })
            .build()
            .unwrap();
        *slot.lock().unwrap() = Some(pool.clone());
        let gate = Gate::new();
        let busy = occupy(&pool, 2, &gate);
        release(&gate, busy);
        // The extra thread retires after keep_alive; its hook's task runs.
        assert_eq!(ran_rx.recv_timeout(LIMIT).unwrap(), "from the stop hook");
        slot.lock().unwrap().take();
        pool.shutdown();
    });
}

// ---------------------------------------------------------------- thread names

#[test]
fn a_thread_started_later_with_a_nul_in_its_name_gets_the_default_name_and_is_reported() {
    with_deadline(LIMIT, || {
        let reports = Reports::new();
        let pool = reports
            .on(Pool::builder().threads(1).max_threads(2))
            .thread_name(|i| {
                if i == 0 {
                    "nul-ok-0".into()
                } else {
                    "nul\0bad".into()
                }
            })
            .build()
            .unwrap();
        let gate = Gate::new();
        let (name_tx, name_rx) = mpsc::channel();
        let busy: Vec<_> = (0..2)
            .map(|_| {
                let (gate, name_tx) = (gate.clone(), name_tx.clone());
                pool.spawn(move || {
                    name_tx.send(thread_name()).unwrap();
                    gate.wait();
                })
            })
            .collect();
        let mut names: Vec<String> = (0..2)
            .map(|_| name_rx.recv_timeout(LIMIT).unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["nul-ok-0", "workcrew-1"],
            "the fallback name is the default one"
        );
        assert_eq!(pool.threads(), 2);
        reports.wait_for("NUL");
        assert_eq!(pool.stats().panicked, 1);
        release(&gate, busy);
        // Work is still woken and run (no phantom searching thread).
        for i in 0..50 {
            assert_eq!(pool.spawn(move || i).join().unwrap(), i);
        }
        pool.shutdown();
    });
}

#[test]
fn threads_reports_the_worker_threads_that_really_exist() {
    with_deadline(LIMIT, || {
        let pool = Pool::builder()
            .threads(2)
            .max_threads(4)
            .thread_name(|i| format!("ledger-{i}"))
            .build()
            .unwrap();
        wait_for_threads(&pool, "ledger-", 2);
        let gate = Gate::new();
        let busy = occupy(&pool, 4, &gate);
        wait_for_threads(&pool, "ledger-", 4);
        release(&gate, busy);
        pool.set_threads(1);
        wait_for_threads(&pool, "ledger-", 1);
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
        // A joined thread leaves /proc a moment after `pthread_join` returns
        // (the kernel reaps it after waking the joiner).
        wait_for_threads(&pool, "ledger-", 0);
    });
}

// ---------------------------------------------------------------- building

#[test]
fn max_threads_alone_builds_on_any_machine_with_threads_at_most_max() {
    for max in [1, 2, 3] {
        let pool = Pool::builder().max_threads(max).build().unwrap();
        assert_eq!(pool.max_threads(), max);
        assert!(
            pool.threads() >= 1 && pool.threads() <= max,
            "{} threads",
            pool.threads()
        );
        pool.shutdown();
    }
}

// ---------------------------------------------------------------- bounded queue

#[test]
fn idle_threads_take_work_before_the_queue_capacity_counts() {
    with_deadline(LIMIT, || {
        let pool = Pool::builder()
            .threads(4)
            .queue_capacity(1)
            .build()
            .unwrap();
        wait_until("4 idle threads", || pool.stats().idle_threads == 4);
        let gate = Gate::new();
        let results: Vec<_> = (0..8)
            .map(|_| {
                let gate = gate.clone();
                pool.try_spawn(move || gate.wait())
            })
            .collect();
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(
            accepted, 5,
            "4 idle threads + capacity 1 should accept 5 of 8"
        );
        assert!(results
            .iter()
            .skip(5)
            .all(|r| r.as_ref().is_err_and(|e| e.is_full())));
        gate.open();
        for handle in results.into_iter().flatten() {
            handle.join().unwrap();
        }
        pool.shutdown();
    });
}

#[test]
fn a_queue_capacity_of_zero_hands_off_only_to_a_thread_that_can_take_it() {
    with_deadline(LIMIT, || {
        let pool = Pool::builder()
            .threads(2)
            .queue_capacity(0)
            .build()
            .unwrap();
        wait_until("2 idle threads", || pool.stats().idle_threads == 2);
        let gate = Gate::new();
        let busy = occupy(&pool, 2, &gate);
        let refused = pool.try_spawn(|| 1).unwrap_err();
        assert!(refused.is_full());
        assert_eq!(
            (refused.into_inner())(),
            1,
            "the refused closure comes back"
        );
        // A blocking spawn waits until a thread is free, then runs.
        let waiting = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.spawn(|| 2).join().unwrap())
        };
        release(&gate, busy);
        assert_eq!(waiting.join().unwrap(), 2);
        pool.shutdown();
    });
}

// ---------------------------------------------------------------- the global pool

#[test]
fn lifecycle_calls_on_the_global_pool_panic_naming_the_call() {
    for (what, call) in [
        (
            "Pool::shutdown",
            Box::new(|| workcrew::global().shutdown()) as Box<dyn Fn()>,
        ),
        (
            "Pool::shutdown_now",
            Box::new(|| {
                workcrew::global().shutdown_now();
            }),
        ),
        (
            "Pool::shutdown_timeout",
            Box::new(|| {
                workcrew::global().shutdown_timeout(Duration::from_secs(1));
            }),
        ),
    ] {
        let text = panic_text_of(call);
        assert!(text.contains(what) && text.contains("global"), "{text}");
    }
    assert!(!workcrew::global().is_closed());
    assert_eq!(workcrew::spawn(|| 9).join().unwrap(), 9);
    assert_eq!(workcrew::fork_join(|| 1, || 2), (1, 2));
    let mut total = std::sync::atomic::AtomicUsize::new(0);
    workcrew::thread_job(10, 2, |_, count| {
        total.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(*total.get_mut(), 10);
}

// ---------------------------------------------------------------- a randomized ledger

/// Keeps the bombs' panic messages off stderr (they are expected by the
/// thousand); every other panic still prints.
fn quiet_bombs() {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !common::payload_text(info.payload()).starts_with("bomb") {
                default(info);
            }
        }));
    });
}

/// Rides in a closure: its `Drop` panics unless the closure ran (so the
/// pool's canceller, not the body, drops a live one).
struct Fuse {
    id: usize,
    ran: Arc<Vec<std::sync::atomic::AtomicU8>>,
    defused: bool,
}

impl Drop for Fuse {
    fn drop(&mut self) {
        if !self.defused && !std::thread::panicking() {
            panic!("bomb: unrun closure {}", self.id);
        }
    }
}

/// A result whose `Drop` panics; the test forgets the ones it joins.
struct Boom;

impl Drop for Boom {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("bomb: detached result");
        }
    }
}

/// Rounds of random submissions, cancels, detaches and `shutdown_now`, where
/// every closure the pool drops unrun, every detached result and every
/// panic payload is a bomb. The ledger: each task ran once, or was
/// cancelled (its handle said so), or was refused with its closure back;
/// `stats().panicked` counts exactly the panics that happened in the pool.
#[test]
fn randomized_rounds_with_bombs_everywhere_keep_the_ledger() {
    use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
    quiet_bombs();
    with_deadline(LIMIT * 3, || {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..common::stress(400) {
            let threads = 1 + (next() % 3) as usize;
            let mut builder = Pool::builder().threads(threads).max_threads(threads + 1);
            if next() % 2 == 0 {
                builder = builder.queue_capacity((next() % 3) as usize);
            }
            let pool = builder.build().unwrap();
            const TASKS: usize = 40;
            let ran: Arc<Vec<AtomicU8>> = Arc::new((0..TASKS).map(|_| AtomicU8::new(0)).collect());
            let (mut cancelled, mut refused, mut detached) = (0u64, 0, Vec::new());
            let mut planned_ids = [false; TASKS];
            let mut joined = Vec::new();
            let stop_at = (next() % (TASKS as u64 + 10)) as usize;
            let mut stopped = 0;
            for (id, planned) in planned_ids.iter_mut().enumerate() {
                if id == stop_at {
                    stopped = pool.shutdown_now() as u64;
                }
                let panics = next() % 7 == 0;
                *planned = panics;
                let fuse = Fuse {
                    id,
                    ran: ran.clone(),
                    defused: false,
                };
                let closure = move || {
                    let mut fuse = fuse;
                    fuse.ran[fuse.id].fetch_add(1, SeqCst);
                    fuse.defused = true;
                    if panics {
                        std::panic::panic_any(Boom);
                    }
                    Boom
                };
                match pool.try_spawn(closure) {
                    Err(error) => {
                        refused += 1;
                        // Defuse the closure that came back: it never runs.
                        let closure = error.into_inner();
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(move || drop(closure)));
                    }
                    Ok(handle) => match next() % 4 {
                        0 if handle.cancel() => {
                            cancelled += 1;
                            assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
                        }
                        1 => detached.push((id, handle)),
                        _ => joined.push((id, handle)),
                    },
                }
            }
            let mut detached_results = 0u64;
            let mut seen_cancelled = cancelled;
            for (id, handle) in joined {
                match handle.join() {
                    Ok(value) => std::mem::forget(value),
                    Err(TaskError::Cancelled) => {
                        seen_cancelled += 1;
                        assert_eq!(
                            ran[id].load(SeqCst),
                            0,
                            "round {round}: task {id} cancelled but ran"
                        );
                    }
                    Err(TaskError::Panicked(payload)) => std::mem::forget(payload),
                    Err(other) => panic!("round {round}: task {id}: unexpected {other:?}"),
                }
            }
            for (id, handle) in detached {
                handle.wait();
                // Dropped finished: the pool drops the result (or payload).
                if ran[id].load(SeqCst) == 1 {
                    detached_results += 1;
                }
                drop(handle);
            }
            pool.shutdown();
            let stats = pool.stats();
            let ran_total: u64 = ran.iter().map(|r| u64::from(r.load(SeqCst))).sum();
            assert!(
                ran.iter().all(|r| r.load(SeqCst) <= 1),
                "round {round}: a task ran twice"
            );
            assert_eq!(
                ran_total + stats.cancelled + refused,
                TASKS as u64,
                "round {round}: a task was lost ({stats:?})"
            );
            assert!(stats.cancelled >= seen_cancelled.max(stopped));
            // Panics in the pool, exactly: each cancelled closure's fuse,
            // each planned panic that ran, and each detached task that ran
            // (its result, or its payload, dropped by the pool).
            let planned_ran = (0..TASKS)
                .filter(|&id| planned_ids[id] && ran[id].load(SeqCst) == 1)
                .count() as u64;
            assert_eq!(
                stats.panicked,
                stats.cancelled + planned_ran + detached_results,
                "round {round}: {stats:?}, {planned_ran} planned panics ran, {detached_results} detached results"
            );
            assert_eq!((stats.queued, stats.running, pool.threads()), (0, 0, 0));
        }
    });
}
