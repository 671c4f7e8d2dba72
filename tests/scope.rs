//! `Pool::scope`: tasks that borrow from the caller's stack, a scope that
//! returns only after all its tasks finished, panics of unjoined tasks that
//! resume after all finished, nested spawns, one-thread pools, and
//! `ScopedHandle::is_finished`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{occupy, panic_text_of, wait_until, with_deadline, Counter, Gate, LIMIT};
use workcrew::{Pool, Scope};

/// How long a helper thread watches for a scope that returned too early
/// before it releases the tasks the scope should have waited for. Not used
/// to synchronise: a correct pool passes whatever this is.
const EARLY_RETURN_WINDOW: Duration = Duration::from_millis(100);

/// A thread that, once `trigger` fires (or after two seconds), waits out the
/// window, opens `gate` and reports whether `returned` was already set.
fn opener(
    trigger: mpsc::Receiver<()>,
    gate: Gate,
    returned: Arc<AtomicBool>,
) -> thread::JoinHandle<bool> {
    thread::spawn(move || {
        let _ = trigger.recv_timeout(Duration::from_secs(2));
        thread::sleep(EARLY_RETURN_WINDOW);
        let early = returned.load(Ordering::SeqCst);
        gate.open();
        early
    })
}

// ---------------------------------------------------------------- borrowing

#[test]
fn scoped_tasks_borrow_from_the_callers_stack() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let words = vec!["alpha", "beta", "gamma", "delta"];
        let mut lengths = vec![0; words.len()];
        let total = AtomicUsize::new(0);
        let answer = pool.scope(|s| {
            for (slot, word) in lengths.iter_mut().zip(&words) {
                let total = &total;
                s.spawn(move || {
                    *slot = word.len();
                    total.fetch_add(word.len(), Ordering::SeqCst);
                });
            }
            "the scope's value"
        });
        assert_eq!(answer, "the scope's value");
        assert_eq!(lengths, [5, 4, 5, 5]);
        assert_eq!(total.into_inner(), 19);
    });
}

#[test]
fn scoped_handles_join_with_their_values() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let data: Vec<u64> = (1..=100).collect();
        let sum = pool.scope(|s| {
            let handles: Vec<_> = data
                .chunks(10)
                .map(|c| s.spawn(move || c.iter().sum::<u64>()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        assert_eq!(sum, 5050);
    });
}

#[test]
fn an_empty_scope_returns_its_value() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        assert_eq!(pool.scope(|_| 7), 7);
    });
}

// ---------------------------------------------------------------- waiting

#[test]
fn scope_returns_only_after_all_its_tasks_finished() {
    with_deadline(LIMIT, || {
        const TASKS: usize = 6;
        let pool = Pool::new(3);
        let gate = Gate::new();
        let returned = Arc::new(AtomicBool::new(false));
        let (all_started_tx, all_started_rx) = mpsc::channel();
        let opener = opener(all_started_rx, gate.clone(), returned.clone());
        let started = AtomicUsize::new(0);
        let finished = AtomicUsize::new(0);
        pool.scope(|s| {
            for _ in 0..TASKS {
                let (gate, started, finished, all_started) =
                    (&gate, &started, &finished, all_started_tx.clone());
                s.spawn(move || {
                    if started.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                        let _ = all_started.send(());
                    }
                    gate.wait();
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            // The body returns at once; the scope must still wait.
        });
        let finished_at_return = finished.load(Ordering::SeqCst);
        returned.store(true, Ordering::SeqCst);
        assert!(
            !opener.join().unwrap(),
            "scope returned while its tasks were held"
        );
        assert_eq!(finished_at_return, TASKS);
    });
}

#[test]
fn scoped_tasks_start_while_the_body_is_still_running() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        pool.scope(|s| {
            let (tx, rx) = mpsc::channel();
            s.spawn(move || tx.send("started").unwrap());
            // Blocks the body until the task ran: a scope that only started
            // its tasks after the body would never get here.
            assert_eq!(rx.recv_timeout(LIMIT), Ok("started"));
        });
    });
}

// ---------------------------------------------------------------- panics

#[test]
fn an_unjoined_panic_resumes_after_all_tasks_finished() {
    with_deadline(LIMIT, || {
        const OTHERS: usize = 3;
        let pool = Pool::new(4);
        let gate = Gate::new();
        let returned = Arc::new(AtomicBool::new(false));
        let (panicking_tx, panicking_rx) = mpsc::channel();
        let opener = opener(panicking_rx, gate.clone(), returned.clone());
        let finished = AtomicUsize::new(0);
        let text = panic_text_of(|| {
            pool.scope(|s| {
                for _ in 0..OTHERS {
                    let (gate, finished) = (&gate, &finished);
                    s.spawn(move || {
                        gate.wait();
                        finished.fetch_add(1, Ordering::SeqCst);
                    });
                }
                s.spawn(move || {
                    panicking_tx.send(()).unwrap();
                    panic!("a scoped task failed");
                });
                "unreachable value"
            })
        });
        let finished_at_resume = finished.load(Ordering::SeqCst);
        returned.store(true, Ordering::SeqCst);
        assert!(
            !opener.join().unwrap(),
            "the panic resumed while other tasks were held"
        );
        assert_eq!(text, "a scoped task failed");
        assert_eq!(finished_at_resume, OTHERS);
        // The pool survives.
        assert_eq!(pool.scope(|s| s.spawn(|| 5).join().unwrap()), 5);
    });
}

#[test]
fn a_joined_panic_does_not_resume() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let value = pool.scope(|s| {
            let handle = s.spawn(|| -> u8 { panic!("handled by join") });
            let error = handle.join().unwrap_err();
            assert!(error.is_panic());
            assert_eq!(error.panic_message(), Some("handled by join"));
            "scope ends normally"
        });
        assert_eq!(value, "scope ends normally");
    });
}

#[test]
fn a_panic_in_the_body_resumes_after_all_tasks_finished() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let returned = Arc::new(AtomicBool::new(false));
        let (panicking_tx, panicking_rx) = mpsc::channel();
        let opener = opener(panicking_rx, gate.clone(), returned.clone());
        let finished = AtomicBool::new(false);
        let text = panic_text_of(|| {
            pool.scope(|s| {
                let (gate, finished) = (&gate, &finished);
                s.spawn(move || {
                    gate.wait();
                    finished.store(true, Ordering::SeqCst);
                });
                panicking_tx.send(()).unwrap();
                panic!("the body failed");
            })
        });
        let finished_at_resume = finished.load(Ordering::SeqCst);
        returned.store(true, Ordering::SeqCst);
        assert!(
            !opener.join().unwrap(),
            "the body's panic resumed while a task was held"
        );
        assert_eq!(text, "the body failed");
        assert!(finished_at_resume);
    });
}

// ---------------------------------------------------------------- nesting

/// Spawns a binary tree of `depth` levels of tasks into `s`, each task
/// spawning its children from inside itself.
fn spawn_tree<'scope>(s: &'scope Scope<'scope, '_>, depth: u32, count: &'scope AtomicUsize) {
    count.fetch_add(1, Ordering::SeqCst);
    if depth == 0 {
        return;
    }
    for _ in 0..2 {
        s.spawn(move || spawn_tree(s, depth - 1, count));
    }
}

#[test]
fn scoped_tasks_may_capture_the_scope_and_spawn_more_tasks() {
    with_deadline(LIMIT, || {
        for threads in [1, 2, 4] {
            let pool = Pool::new(threads);
            let count = AtomicUsize::new(0);
            pool.scope(|s| spawn_tree(s, 8, &count));
            // 2^9 - 1 nodes, every one counted before the scope returned.
            assert_eq!(count.into_inner(), 511, "{threads} threads");
        }
    });
}

#[test]
fn nested_spawns_are_waited_for_even_after_their_parent_returned() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let finished = AtomicBool::new(false);
        let parent_done = Counter::new();
        let gate_opener = {
            let (gate, parent_done) = (gate.clone(), parent_done.clone());
            thread::spawn(move || {
                wait_until("the parent task to finish", || parent_done.get() == 1);
                gate.open();
            })
        };
        pool.scope(|s| {
            let (gate, finished, parent_done) = (&gate, &finished, &parent_done);
            s.spawn(move || {
                s.spawn(move || {
                    gate.wait();
                    finished.store(true, Ordering::SeqCst);
                });
                parent_done.inc();
            });
        });
        assert!(finished.load(Ordering::SeqCst));
        gate_opener.join().unwrap();
    });
}

#[test]
fn scope_works_inside_a_task_of_a_one_thread_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let handle = pool.spawn(move || {
            let values: Vec<u32> = (1..=10).collect();
            let mut doubled = vec![0; values.len()];
            let count = AtomicUsize::new(0);
            inner.scope(|s| {
                for (slot, value) in doubled.iter_mut().zip(&values) {
                    s.spawn(move || *slot = value * 2);
                }
                let joined = s.spawn(|| 40).join().unwrap();
                assert_eq!(joined, 40);
                spawn_tree(s, 4, &count);
            });
            (doubled, count.into_inner())
        });
        let (doubled, count) = handle.join().unwrap();
        assert_eq!(doubled, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
        assert_eq!(count, 31);
    });
}

#[test]
fn scopes_nest_inside_scoped_tasks() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let total = AtomicUsize::new(0);
        pool.scope(|outer| {
            for _ in 0..3 {
                let (pool, total) = (&pool, &total);
                outer.spawn(move || {
                    pool.scope(|inner| {
                        for _ in 0..3 {
                            inner.spawn(move || total.fetch_add(1, Ordering::SeqCst));
                        }
                    })
                });
            }
        });
        assert_eq!(total.into_inner(), 9);
    });
}

// ---------------------------------------------------------------- handles

#[test]
fn is_finished_reports_a_scoped_tasks_state() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        pool.scope(|s| {
            let handle = s.spawn(|| {
                gate.wait();
                3
            });
            assert!(!handle.is_finished());
            gate.open();
            wait_until("the scoped task to finish", || handle.is_finished());
            assert!(handle.is_finished());
            assert_eq!(handle.join().unwrap(), 3);

            let failing = s.spawn(|| -> u8 { panic!("finished by panicking") });
            wait_until("the panicking task to finish", || failing.is_finished());
            assert!(failing.join().unwrap_err().is_panic());
        });
    });
}

#[test]
fn dropping_a_scoped_handle_still_waits_for_its_task() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let returned = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = mpsc::channel();
        let opener = opener(started_rx, gate.clone(), returned.clone());
        let finished = AtomicBool::new(false);
        pool.scope(|s| {
            let handle = s.spawn(|| {
                started_tx.send(()).unwrap();
                gate.wait();
                finished.store(true, Ordering::SeqCst);
            });
            drop(handle);
        });
        let finished_at_return = finished.load(Ordering::SeqCst);
        returned.store(true, Ordering::SeqCst);
        assert!(!opener.join().unwrap());
        assert!(finished_at_return);
    });
}

#[test]
fn scope_is_sync_so_tasks_can_share_it() {
    fn assert_sync<T: Sync>() {}
    assert_sync::<Scope<'_, '_>>();
}

// ---------------------------------------------------------------- closed pool

#[test]
fn scope_on_a_closed_pool_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        pool.shutdown();
        let text = panic_text_of(|| pool.scope(|s| s.spawn(|| 1).join().unwrap()));
        assert!(text.contains("closed"), "unclear message: {text}");
    });
}

#[test]
fn a_scope_whose_unjoined_task_shutdown_now_cancels_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let busy = occupy(&pool, 1, &gate);
        let ran = AtomicBool::new(false);
        let text = panic_text_of(|| {
            pool.scope(|s| {
                s.spawn(|| ran.store(true, Ordering::SeqCst));
                assert_eq!(pool.shutdown_now(), 1);
                gate.open();
            })
        });
        assert!(
            text.contains("scope") && text.contains("shutdown_now"),
            "unclear message: {text}"
        );
        assert!(!ran.load(Ordering::SeqCst));
        busy.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn a_joined_scoped_task_that_shutdown_now_cancelled_joins_as_cancelled() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let busy = occupy(&pool, 1, &gate);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.scope(|s| {
                let handle = s.spawn(|| 1);
                assert_eq!(pool.shutdown_now(), 1);
                assert!(handle.is_finished(), "a cancelled task is finished at once");
                gate.open();
                handle.join().unwrap_err().is_cancelled()
            })
        }));
        // Whether the scope then returns or panics about the cancel is left
        // open by the contract; the join itself must report it.
        match outcome {
            Ok(cancelled) => assert!(cancelled),
            Err(payload) => {
                let text = common::payload_text(payload.as_ref());
                assert!(text.contains("shutdown_now"), "unclear message: {text}");
            }
        }
        busy.into_iter().for_each(|h| h.join().unwrap());
    });
}
