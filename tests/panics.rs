//! Panics become values: a panicking task joins as `Panicked`, and panics
//! nobody can receive (in `execute` tasks, hooks, `on_complete`) go to the
//! `panic_handler`. Every one is counted; none kills a worker; the pool
//! installs no process-wide panic hook.

mod common;

use std::error::Error;
use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{payload_text, with_deadline, Counter, LIMIT};
use workcrew::{Pool, TaskError};

/// Builds `builder` with a `panic_handler` that forwards each payload's text
/// to the returned receiver.
fn pool_reporting_panics(builder: workcrew::PoolBuilder) -> (Pool, mpsc::Receiver<String>) {
    let (caught_tx, caught_rx) = mpsc::channel();
    let pool = builder
        .panic_handler(move |payload| caught_tx.send(payload_text(payload.as_ref())).unwrap())
        .build()
        .unwrap();
    (pool, caught_rx)
}

// ---------------------------------------------------------------- task panics

#[test]
fn a_task_panicking_with_a_str_joins_as_panicked_with_its_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let error = pool.spawn(|| -> u8 { panic!("boom") }).join().unwrap_err();
        assert!(error.is_panic());
        assert!(!error.is_cancelled());
        assert_eq!(error.panic_message(), Some("boom"));
        assert!(matches!(error, TaskError::Panicked(_)));
    });
}

#[test]
fn a_task_panicking_with_a_formatted_string_joins_with_that_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let code = 7;
        let error = pool
            .spawn(move || -> u8 { panic!("failed with code {code}") })
            .join()
            .unwrap_err();
        assert_eq!(error.panic_message(), Some("failed with code 7"));
        let payload = error.into_panic();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("failed with code 7")
        );
    });
}

#[test]
fn a_non_string_payload_has_no_message_but_is_handed_back_whole() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let error = pool.spawn(|| panic::panic_any(42_u32)).join().unwrap_err();
        assert!(error.is_panic());
        assert_eq!(error.panic_message(), None);
        assert_eq!(error.into_panic().downcast_ref::<u32>(), Some(&42));
    });
}

#[test]
fn a_task_error_displays_the_panic_message_and_is_an_error() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let error = pool
            .spawn(|| -> u8 { panic!("disk on fire") })
            .join()
            .unwrap_err();
        let as_error: &dyn Error = &error;
        assert!(as_error.to_string().contains("disk on fire"), "{as_error}");
        assert!(format!("{error:?}").contains("Panicked"));
        assert!(!TaskError::Cancelled.to_string().is_empty());
    });
}

#[test]
fn a_worker_survives_a_panicking_task() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let panicked_on = pool
            .spawn(|| -> thread::ThreadId { panic!("first task fails") })
            .join()
            .unwrap_err();
        assert!(panicked_on.is_panic());
        let before = pool.spawn(|| thread::current().id()).join().unwrap();
        for _ in 0..10 {
            let _ = pool.spawn(|| -> () { panic!("again") }).join();
        }
        let after = pool.spawn(|| thread::current().id()).join().unwrap();
        assert_eq!(before, after, "the one worker was replaced after panics");
        assert_eq!(pool.threads(), 1);
    });
}

#[test]
fn stats_count_every_panicking_task_as_panicked_and_completed() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let handles: Vec<_> = (0..10)
            .map(|i| {
                pool.spawn(move || {
                    if i % 3 == 0 {
                        panic!("task {i} fails");
                    }
                    i
                })
            })
            .collect();
        let failures = handles
            .into_iter()
            .map(|h| h.join())
            .filter(Result::is_err)
            .count();
        assert_eq!(failures, 4);
        pool.join();
        let stats = pool.stats();
        assert_eq!(stats.panicked, 4);
        assert_eq!(stats.completed, 10);
    });
}

// ---------------------------------------------------------------- panics nobody can receive

#[test]
fn a_panic_in_an_execute_task_goes_to_the_panic_handler_and_is_counted() {
    with_deadline(LIMIT, || {
        let (pool, caught) = pool_reporting_panics(Pool::builder().threads(1));
        pool.execute(|| panic!("fire and forget and fail"));
        assert_eq!(
            caught.recv_timeout(LIMIT).unwrap(),
            "fire and forget and fail"
        );
        pool.join();
        assert_eq!(pool.stats().panicked, 1);
        assert_eq!(pool.spawn(|| 1).join().unwrap(), 1, "the worker survived");
    });
}

#[test]
fn without_a_panic_handler_an_execute_panic_is_counted_and_dropped() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        pool.execute(|| panic!("nobody listens"));
        pool.join();
        assert_eq!(pool.stats().panicked, 1);
        assert_eq!(pool.stats().completed, 1);
        assert_eq!(pool.spawn(|| 2).join().unwrap(), 2);
    });
}

#[test]
fn a_panic_in_before_task_is_handed_on_and_the_task_still_runs() {
    with_deadline(LIMIT, || {
        let (pool, caught) = pool_reporting_panics(
            Pool::builder()
                .threads(1)
                .before_task(|| panic!("before_task fails")),
        );
        assert_eq!(pool.spawn(|| 5).join().unwrap(), 5);
        assert_eq!(caught.recv_timeout(LIMIT).unwrap(), "before_task fails");
        pool.join();
        assert_eq!(pool.stats().panicked, 1);
        assert_eq!(pool.threads(), 1);
    });
}

#[test]
fn a_panic_in_after_task_is_handed_on_and_the_result_is_kept() {
    with_deadline(LIMIT, || {
        let (pool, caught) = pool_reporting_panics(
            Pool::builder()
                .threads(1)
                .after_task(|| panic!("after_task fails")),
        );
        assert_eq!(pool.spawn(|| 6).join().unwrap(), 6);
        assert_eq!(caught.recv_timeout(LIMIT).unwrap(), "after_task fails");
        assert_eq!(pool.spawn(|| 7).join().unwrap(), 7);
        pool.join();
        assert_eq!(pool.stats().panicked, 2);
    });
}

#[test]
fn a_panic_in_on_thread_start_is_handed_on_and_the_thread_still_works() {
    with_deadline(LIMIT, || {
        let (pool, caught) = pool_reporting_panics(
            Pool::builder()
                .threads(1)
                .on_thread_start(|| panic!("on_thread_start fails")),
        );
        assert_eq!(pool.spawn(|| 8).join().unwrap(), 8);
        assert_eq!(caught.recv_timeout(LIMIT).unwrap(), "on_thread_start fails");
        assert_eq!(pool.stats().panicked, 1);
    });
}

#[test]
fn a_panic_in_thread_name_is_handed_on_and_the_thread_starts_with_the_default_name() {
    with_deadline(LIMIT, || {
        let (pool, caught) = pool_reporting_panics(
            Pool::builder()
                .threads(1)
                .thread_name(|_| panic!("thread_name fails")),
        );
        let name = pool.spawn(common::thread_name).join().unwrap();
        assert_eq!(name, "workcrew-0");
        assert_eq!(caught.recv_timeout(LIMIT).unwrap(), "thread_name fails");
        assert_eq!(pool.stats().panicked, 1);
        pool.shutdown();
    });
}

#[test]
fn a_panic_handler_may_call_into_the_pool_when_thread_name_panics() {
    with_deadline(LIMIT, || {
        // thread_name runs while the pool starts a thread, under its thread
        // list's lock; the handler must not be called there.
        let seen: Arc<std::sync::OnceLock<Pool>> = Arc::new(std::sync::OnceLock::new());
        let (caught_tx, caught) = mpsc::channel();
        let in_handler = seen.clone();
        let pool = Pool::builder()
            .threads(1)
            .max_threads(2)
            .thread_name(|index| {
                if index == 1 {
                    panic!("thread_name fails for 1");
                }
                format!("named-{index}")
            })
            .panic_handler(move |payload| {
                let stats = in_handler.get().map(Pool::stats);
                caught_tx
                    .send((payload_text(payload.as_ref()), stats))
                    .unwrap();
            })
            .build()
            .unwrap();
        seen.set(pool.clone()).unwrap();
        let gate = common::Gate::new();
        let busy = common::occupy(&pool, 1, &gate);
        // The only thread is busy: this starts thread 1, whose name panics.
        let name = pool.spawn(common::thread_name).join().unwrap();
        assert_eq!(name, "workcrew-1");
        let (text, stats) = caught.recv_timeout(LIMIT).unwrap();
        assert_eq!(text, "thread_name fails for 1");
        assert!(stats.is_some_and(|stats| stats.panicked == 1));
        common::release(&gate, busy);
    });
}

#[test]
fn a_panic_in_on_thread_stop_is_handed_on_and_shutdown_completes() {
    with_deadline(LIMIT, || {
        let (pool, caught) = pool_reporting_panics(
            Pool::builder()
                .threads(2)
                .on_thread_stop(|| panic!("on_thread_stop fails")),
        );
        // Two tasks that meet at a barrier need both threads.
        let both = Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let both = both.clone();
                pool.spawn(move || {
                    both.wait();
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
        let texts: Vec<String> = caught.try_iter().collect();
        assert_eq!(texts, ["on_thread_stop fails", "on_thread_stop fails"]);
        assert_eq!(pool.stats().panicked, 2);
    });
}

#[test]
fn hooks_run_around_panicking_tasks_too() {
    with_deadline(LIMIT, || {
        let (before, after) = (Counter::new(), Counter::new());
        let (b, a) = (before.clone(), after.clone());
        let pool = Pool::builder()
            .threads(2)
            .before_task(move || b.inc())
            .after_task(move || a.inc())
            .build()
            .unwrap();
        let handles: Vec<_> = (0..6)
            .map(|i| {
                pool.spawn(move || {
                    if i % 2 == 0 {
                        panic!("even fails")
                    }
                })
            })
            .collect();
        for handle in handles {
            let _ = handle.join();
        }
        pool.join();
        assert_eq!(before.get(), 6);
        assert_eq!(after.get(), 6);
    });
}

#[test]
fn a_panic_in_on_complete_on_a_worker_is_handed_on_and_counted() {
    with_deadline(LIMIT, || {
        let (pool, caught) = pool_reporting_panics(Pool::builder().threads(1));
        let gate = common::Gate::new();
        let held = gate.clone();
        pool.spawn(move || held.wait())
            .on_complete(|_| panic!("callback fails on the worker"));
        gate.open();
        assert_eq!(
            caught.recv_timeout(LIMIT).unwrap(),
            "callback fails on the worker"
        );
        pool.join();
        assert_eq!(pool.stats().panicked, 1);
        assert_eq!(pool.spawn(|| 9).join().unwrap(), 9, "the worker survived");
    });
}

#[test]
fn a_panic_in_on_complete_run_at_once_in_the_caller_does_not_reach_the_caller() {
    with_deadline(LIMIT, || {
        let (pool, caught) = pool_reporting_panics(Pool::builder().threads(1));
        let handle = pool.spawn(|| 1);
        handle.wait();
        // Already finished: the callback runs right here, and its panic must
        // be caught like any other.
        handle.on_complete(|_| panic!("callback fails in the caller"));
        assert_eq!(caught.try_recv().unwrap(), "callback fails in the caller");
        assert_eq!(pool.stats().panicked, 1);
    });
}

#[test]
fn panics_of_tasks_hooks_and_callbacks_all_add_up_in_stats() {
    with_deadline(LIMIT, || {
        let (pool, caught) = pool_reporting_panics(
            Pool::builder()
                .threads(1)
                .after_task(|| panic!("after_task fails")),
        );
        let _ = pool.spawn(|| -> () { panic!("task fails") }).join();
        pool.execute(|| panic!("execute fails"));
        pool.spawn(|| ()).on_complete(|_| panic!("callback fails"));
        pool.join();
        // 3 tasks ran, each followed by a panicking after_task hook: 3 hook
        // panics, 2 task panics, 1 callback panic.
        let mut received = Vec::new();
        while received.len() < 5 {
            received.push(caught.recv_timeout(LIMIT).unwrap());
        }
        assert_eq!(
            caught.recv_timeout(Duration::from_millis(10)).ok(),
            None,
            "a joined task's panic went to the panic_handler"
        );
        assert_eq!(pool.stats().panicked, 6);
    });
}

// ---------------------------------------------------------------- no global hook

#[test]
fn the_pool_installs_no_panic_hook() {
    const MARK: &str = "panic-hook-probe";
    with_deadline(LIMIT, || {
        let probed = Arc::new(AtomicUsize::new(0));
        let counter = probed.clone();
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if text.contains(MARK) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
        let pool = Pool::builder()
            .threads(1)
            .panic_handler(|_| {})
            .build()
            .unwrap();
        let _ = pool.spawn(|| -> () { panic!("{MARK}: task") }).join();
        pool.execute(|| panic!("{MARK}: execute"));
        pool.join();
        assert_eq!(
            probed.load(Ordering::SeqCst),
            2,
            "the process's panic hook did not see the pool's panics: the pool replaced it"
        );
        pool.shutdown();
        drop(pool);
        let _ = thread::spawn(|| panic!("{MARK}: plain thread")).join();
        assert_eq!(
            probed.load(Ordering::SeqCst),
            3,
            "the process's panic hook was replaced"
        );
    });
}
