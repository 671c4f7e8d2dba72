//! Per-item deadlines of `map_with_timeout`, `imap_with_timeout` and
//! `imap_unordered_with_timeout`: each item's outcome is its own (value,
//! `TimedOut`, `Panicked`), an item sees its deadline through
//! `is_cancelled`/`time_left`, one that ignores it is counted as discarded,
//! and a request to stop the whole call still ends the call.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::{with_deadline, LIMIT};
use workcrew::{Pool, TaskError};

/// Long enough that no item of a test reaches it by accident.
const AMPLE: Duration = Duration::from_secs(3600);
/// Short enough that a test waiting for it stays quick.
const SHORT: Duration = Duration::from_millis(20);

/// Spins until the current item (or task) is asked to stop.
fn until_asked() {
    while !workcrew::is_cancelled() {
        std::thread::yield_now();
    }
}

#[test]
fn items_within_their_deadline_give_their_values_in_input_order() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let outcomes = pool.map_with_timeout(0..1000u32, AMPLE, |n| n * 2);
        let values: Vec<u32> = outcomes.into_iter().map(|o| o.unwrap()).collect();
        assert_eq!(values, (0..1000).map(|n| n * 2).collect::<Vec<_>>());
        let stats = pool.stats();
        assert_eq!((stats.timed_out, stats.discarded), (0, 0));
        pool.shutdown();
    });
}

#[test]
fn an_item_past_its_deadline_sees_it_and_stops_at_a_checkpoint() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let outcomes = pool.map_with_timeout(0..6u32, SHORT, |n| {
            assert!(workcrew::time_left().is_some_and(|left| left <= SHORT));
            if n % 3 == 0 {
                loop {
                    workcrew::checkpoint();
                    std::thread::yield_now();
                }
            }
            n
        });
        for (n, outcome) in outcomes.iter().enumerate() {
            match outcome {
                Err(TaskError::TimedOut) => assert_eq!(n % 3, 0, "item {n}"),
                Ok(value) => assert_eq!(*value as usize, n),
                Err(other) => panic!("item {n}: {other}"),
            }
        }
        let stats = pool.stats();
        assert_eq!(stats.timed_out, 2);
        assert_eq!(stats.discarded, 0, "a stopped item returned nothing");
        pool.shutdown();
    });
}

#[test]
fn an_item_that_ignores_its_deadline_finishes_and_its_value_is_discarded() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let drops = Arc::new(AtomicUsize::new(0));
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let outcomes = pool.map_with_timeout([()], SHORT, |()| {
            until_asked();
            Counted(drops.clone())
        });
        assert!(matches!(outcomes[..], [Err(TaskError::TimedOut)]));
        assert_eq!(drops.load(SeqCst), 1, "the late value was dropped once");
        let stats = pool.stats();
        assert_eq!((stats.timed_out, stats.discarded), (1, 1));
        pool.shutdown();
    });
}

#[test]
fn a_panicking_item_is_its_own_outcome_and_the_others_go_on() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let outcomes = pool.map_with_timeout(0..100u32, AMPLE, |n| {
            if n == 37 {
                panic!("item 37");
            }
            n
        });
        for (n, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Err(error) if n == 37 => {
                    let payload = error.into_panic();
                    assert_eq!(payload.downcast_ref::<&str>(), Some(&"item 37"));
                }
                Ok(value) => assert_eq!(value as usize, n),
                Err(other) => panic!("item {n}: {other}"),
            }
        }
        pool.shutdown();
    });
}

#[test]
fn each_item_gets_its_own_clock_from_when_it_starts() {
    with_deadline(LIMIT, || {
        // One thread: item 1 starts only after item 0 has used up its whole
        // timeout, so a clock started at the call would have run out for
        // item 1 before it began.
        let pool = Pool::new(1);
        let outcomes = pool.map_with_timeout(0..2u32, SHORT, |n| {
            if n == 0 {
                until_asked();
            } else {
                assert!(!workcrew::is_cancelled(), "item 1's clock started late");
            }
            n
        });
        assert!(
            matches!(outcomes[..], [Err(TaskError::TimedOut), Ok(1)]),
            "{outcomes:?}"
        );
        pool.shutdown();
    });
}

#[test]
fn imap_with_timeout_yields_each_outcome_in_input_order() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let outcomes: Vec<_> = pool
            .imap_with_timeout(0..10u32, SHORT, |n| {
                if n == 4 {
                    until_asked();
                }
                n
            })
            .collect();
        assert_eq!(outcomes.len(), 10);
        for (n, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Err(TaskError::TimedOut) => assert_eq!(n, 4),
                Ok(value) => assert_eq!(value as usize, n),
                Err(other) => panic!("item {n}: {other}"),
            }
        }
        pool.shutdown();
    });
}

#[test]
fn imap_unordered_with_timeout_yields_every_outcome_once() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let mut ok = Vec::new();
        let mut timed_out = 0;
        for outcome in pool.imap_unordered_with_timeout(0..20u32, SHORT, |n| {
            if n % 5 == 0 {
                until_asked();
            }
            n
        }) {
            match outcome {
                Ok(n) => ok.push(n),
                Err(error) => {
                    assert!(error.is_timed_out(), "{error}");
                    timed_out += 1;
                }
            }
        }
        ok.sort();
        let expected: Vec<u32> = (0..20).filter(|n| n % 5 != 0).collect();
        assert_eq!((ok, timed_out), (expected, 4));
        pool.shutdown();
    });
}

#[test]
fn a_request_to_stop_the_whole_call_ends_the_call_not_an_item() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let (started_tx, started_rx) = mpsc::channel();
        let inner = pool.clone();
        let handle = pool.spawn(move || {
            inner.map_with_timeout(0..4u32, AMPLE, |_| -> u32 {
                started_tx.send(()).ok();
                loop {
                    workcrew::checkpoint();
                    std::thread::yield_now();
                }
            })
        });
        started_rx.recv().unwrap();
        handle.request_cancel();
        assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
        assert_eq!(pool.stats().timed_out, 0);
        pool.shutdown();
    });
}

#[test]
fn dropping_an_imap_with_timeout_stops_its_running_items() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let (started_tx, started_rx) = mpsc::channel();
        let mut outcomes = pool.imap_with_timeout(0..2u32, AMPLE, move |n| {
            if n == 1 {
                started_tx.send(()).ok();
                until_asked();
            }
            n
        });
        assert_eq!(outcomes.next().map(|o| o.unwrap()), Some(0));
        started_rx.recv().unwrap();
        drop(outcomes);
        // The spinning item was asked to stop: the pool empties.
        pool.join();
        assert_eq!(pool.stats().timed_out, 0);
        pool.shutdown();
    });
}
