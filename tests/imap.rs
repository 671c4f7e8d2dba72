//! `Pool::imap` and `Pool::imap_unordered`: lazy, bounded streaming maps.
//! Input order versus completion order, laziness over infinite inputs,
//! backpressure from a stalled reader, `next_timeout`, panics of `f` and of
//! the input, early drops, and nesting inside a one-thread pool.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use common::{
    occupy, panic_text_of, payload_text, shutdown_now_once_queued, wait_until, with_deadline,
    Counter, Gate, LIMIT,
};
use workcrew::{Imap, Pool, Timeout};

/// A short wait that is expected to time out.
const SHORT: Duration = Duration::from_millis(20);

/// `count` closed gates.
fn gates(count: usize) -> Arc<Vec<Gate>> {
    Arc::new((0..count).map(|_| Gate::new()).collect())
}

/// Calls `next()` and returns the panic's text, or `None` with the value.
fn next_or_panic<R: Send + 'static>(imap: &mut Imap<R>) -> Result<Option<R>, String> {
    panic::catch_unwind(AssertUnwindSafe(|| imap.next()))
        .map_err(|payload| payload_text(payload.as_ref()))
}

// ---------------------------------------------------------------- order

#[test]
fn imap_yields_results_in_input_order_whatever_order_they_finish_in() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let gates = gates(3);
        let held = gates.clone();
        let mut results = pool.imap(0..3usize, move |i| {
            held[i].wait();
            i * 10
        });
        gates[2].open();
        // Item 2 is done but item 0 is not: nothing may come out yet.
        assert_eq!(results.next_timeout(SHORT), Err(Timeout));
        gates[1].open();
        assert_eq!(results.next_timeout(SHORT), Err(Timeout));
        gates[0].open();
        assert_eq!(results.next(), Some(0));
        assert_eq!(results.next(), Some(10));
        assert_eq!(results.next(), Some(20));
        assert_eq!(results.next(), None);
    });
}

#[test]
fn imap_unordered_yields_results_in_completion_order() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let gates = gates(3);
        let held = gates.clone();
        let mut results = pool.imap_unordered(0..3usize, move |i| {
            held[i].wait();
            i * 10
        });
        // The first next() starts production; nothing is done yet.
        assert_eq!(results.next_timeout(SHORT), Err(Timeout));
        gates[2].open();
        assert_eq!(results.next(), Some(20));
        gates[0].open();
        assert_eq!(results.next(), Some(0));
        gates[1].open();
        assert_eq!(results.next(), Some(10));
        assert_eq!(results.next(), None);
    });
}

#[test]
fn imap_keeps_order_over_many_items_and_chunk_sizes() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        for chunk in [1, 2, 7, 64, 5000] {
            let out: Vec<u64> = pool.imap(0..3000u64, |x| x * x).chunk_size(chunk).collect();
            let expected: Vec<u64> = (0..3000u64).map(|x| x * x).collect();
            assert_eq!(out, expected, "chunk_size {chunk}");
            let mut out: Vec<u64> = pool
                .imap_unordered(0..3000u64, |x| x * x)
                .chunk_size(chunk)
                .collect();
            out.sort_unstable();
            assert_eq!(out, expected, "unordered, chunk_size {chunk}");
        }
    });
}

#[test]
fn imap_of_nothing_yields_nothing() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        assert_eq!(pool.imap(Vec::<u8>::new(), |x| x).next(), None);
        assert_eq!(pool.imap_unordered(0..0, |x: i32| x).next(), None);
        let mut empty = pool.imap(0..0, |x: i32| x);
        assert_eq!(empty.next_timeout(LIMIT), Ok(None));
        assert_eq!(empty.next(), None);
    });
}

#[test]
fn chunk_size_groups_items_into_fewer_tasks() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let before = pool.stats().completed;
        let out: Vec<u32> = pool
            .imap(0..1000u32, |x| x + 1)
            .chunk_size(100)
            .buffer(200)
            .collect();
        assert_eq!(out, (1..=1000).collect::<Vec<_>>());
        pool.join();
        let tasks = pool.stats().completed - before;
        assert!(
            tasks <= 20,
            "1000 items in chunks of 100 took {tasks} tasks"
        );

        // A chunk larger than the buffer is cut to the buffer's size.
        let before = pool.stats().completed;
        let out: Vec<u32> = pool
            .imap(0..1000u32, |x| x + 1)
            .chunk_size(100)
            .buffer(50)
            .collect();
        assert_eq!(out, (1..=1000).collect::<Vec<_>>());
        pool.join();
        let tasks = pool.stats().completed - before;
        assert_eq!(tasks, 20, "1000 items in chunks of 100 cut to 50");
    });
}

// ---------------------------------------------------------------- laziness

#[test]
fn imap_over_an_infinite_input_is_lazy() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let pulled = Counter::new();
        let counting = pulled.clone();
        let input = (0u64..).inspect(move |_| counting.inc());
        let results = pool.imap(input, |x| x * x);
        assert_eq!(pulled.get(), 0, "imap pulled input before the first next()");
        let first: Vec<u64> = results.take(100).collect();
        assert_eq!(first, (0..100u64).map(|x| x * x).collect::<Vec<_>>());
        // Only a bounded look-ahead beyond the 100 items taken.
        assert!(pulled.get() <= 100 + 2 * 2 + 2, "pulled {}", pulled.get());

        let counting = pulled.clone();
        let before = pulled.get();
        let input = (0u64..).inspect(move |_| counting.inc());
        let mut some: Vec<u64> = pool.imap_unordered(input, |x| x).take(50).collect();
        some.sort_unstable();
        assert_eq!(some.len(), 50);
        assert!(some.iter().all(|&x| x < 50 + 2 * 2 + 2));
        assert!(pulled.get() - before <= 50 + 2 * 2 + 2);
    });
}

#[test]
fn chunk_size_and_buffer_set_after_imap_apply() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let pulled = Counter::new();
        let counting = pulled.clone();
        let input = (0u64..).inspect(move |_| counting.inc());
        let mut results = pool.imap(input, |x| x).buffer(1).chunk_size(1);
        assert_eq!(results.next(), Some(0));
        pool.join();
        // One returned, at most buffer (1) + threads (2) produced ahead.
        assert!(pulled.get() <= 1 + 1 + 2, "pulled {}", pulled.get());
    });
}

// ---------------------------------------------------------------- backpressure

/// Reads `read` items from an infinite imap, stalls, and checks that the
/// input and `f` stay within `read + buffer + threads`, whatever the chunk
/// size (chunks are cut short to fit the buffer).
fn check_stalled_reader(unordered: bool, threads: usize, buffer: Option<usize>, chunk: usize) {
    let pool = Pool::new(threads);
    let pulled = Counter::new();
    let calls = Counter::new();
    let counting = pulled.clone();
    let input = (0u64..).inspect(move |_| counting.inc());
    let calling = calls.clone();
    let f = move |x: u64| {
        calling.inc();
        x
    };
    let results = if unordered {
        pool.imap_unordered(input, f)
    } else {
        pool.imap(input, f)
    };
    let results = results.chunk_size(chunk);
    let mut results = match buffer {
        Some(buffer) => results.buffer(buffer),
        None => results,
    };
    let buffer = buffer.unwrap_or(2 * threads);
    let bound = buffer + threads;
    let what = format!(
        "unordered: {unordered}, threads: {threads}, buffer: {buffer}, chunk_size: {chunk}"
    );

    let mut read = 0;
    for round in 0..3 {
        for _ in 0..5 {
            assert!(results.next().is_some());
            read += 1;
        }
        // The reader stalls here. Production must stop by itself: a pool
        // that kept computing would never become quiet (the input is
        // infinite) and the deadline would fail the test.
        pool.join();
        let ahead = pulled.get() - read;
        assert!(
            ahead <= bound,
            "round {round}: {ahead} items pulled ahead of a stalled reader, bound {bound} ({what})"
        );
        let calls_ahead = calls.get() - read;
        assert!(
            calls_ahead <= bound,
            "round {round}: f ran {calls_ahead} times ahead of a stalled reader, bound {bound} ({what})"
        );
    }
}

#[test]
fn a_stalled_reader_holds_ordered_production_at_buffer_plus_threads() {
    with_deadline(LIMIT, || {
        check_stalled_reader(false, 2, Some(3), 1);
        check_stalled_reader(false, 2, None, 1);
        check_stalled_reader(false, 1, Some(1), 1);
        check_stalled_reader(false, 3, Some(10), 4);
        check_stalled_reader(false, 2, None, 100);
        check_stalled_reader(false, 2, Some(5), 3);
    });
}

#[test]
fn a_stalled_reader_holds_unordered_production_at_buffer_plus_threads() {
    with_deadline(LIMIT, || {
        check_stalled_reader(true, 2, Some(3), 1);
        check_stalled_reader(true, 2, None, 1);
        check_stalled_reader(true, 1, Some(1), 1);
        check_stalled_reader(true, 3, Some(10), 4);
        check_stalled_reader(true, 2, None, 100);
        check_stalled_reader(true, 2, Some(5), 3);
    });
}

#[test]
fn results_are_computed_ahead_of_a_slow_reader() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let calls = Counter::new();
        let calling = calls.clone();
        let mut results = pool
            .imap(0..100u32, move |x| {
                calling.inc();
                x
            })
            .buffer(4);
        assert_eq!(results.next(), Some(0));
        // While the reader works on item 0, later items get computed.
        wait_until("items computed ahead of the reader", || calls.get() >= 3);
        assert_eq!(results.collect::<Vec<_>>(), (1..100).collect::<Vec<_>>());
    });
}

// ---------------------------------------------------------------- next_timeout

#[test]
fn next_timeout_times_out_without_losing_the_pending_item() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        for unordered in [false, true] {
            let gate = Gate::new();
            let held = gate.clone();
            let f = move |i: u32| {
                if i == 0 {
                    held.wait();
                }
                i
            };
            let mut results = if unordered {
                pool.imap_unordered(0..1u32, f)
            } else {
                pool.imap(0..1u32, f)
            };
            assert_eq!(results.next_timeout(SHORT), Err(Timeout));
            assert_eq!(results.next_timeout(SHORT), Err(Timeout));
            gate.open();
            assert_eq!(results.next_timeout(LIMIT), Ok(Some(0)));
            assert_eq!(results.next_timeout(LIMIT), Ok(None));
            assert_eq!(results.next(), None);
        }
    });
}

#[test]
fn next_timeout_and_next_can_be_mixed() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let held = gate.clone();
        let mut results = pool.imap(0..6u32, move |i| {
            if i == 3 {
                held.wait();
            }
            i
        });
        assert_eq!(results.next(), Some(0));
        assert_eq!(results.next_timeout(LIMIT), Ok(Some(1)));
        assert_eq!(results.next(), Some(2));
        assert_eq!(results.next_timeout(SHORT), Err(Timeout));
        gate.open();
        assert_eq!(results.collect::<Vec<_>>(), [3, 4, 5]);
    });
}

#[test]
fn timeout_is_an_error_with_a_helpful_message() {
    let text = Timeout.to_string();
    assert!(!text.is_empty());
    let _: &dyn std::error::Error = &Timeout;
}

// ---------------------------------------------------------------- bad settings

#[test]
fn chunk_size_zero_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let text = panic_text_of(|| pool.imap(0..10, |x: i32| x).chunk_size(0));
        assert!(text.contains("chunk_size"), "unclear message: {text}");
    });
}

#[test]
fn buffer_zero_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let text = panic_text_of(|| pool.imap_unordered(0..10, |x: i32| x).buffer(0));
        assert!(text.contains("buffer"), "unclear message: {text}");
    });
}

#[test]
fn imap_on_a_closed_pool_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        pool.shutdown();
        let text = panic_text_of(|| pool.imap(0..10, |x: i32| x).next());
        assert!(text.contains("closed"), "unclear message: {text}");
        let text = panic_text_of(|| pool.imap_unordered(0..10, |x: i32| x).next());
        assert!(text.contains("closed"), "unclear message: {text}");
    });
}

// ---------------------------------------------------------------- panics

#[test]
fn a_panic_in_f_resumes_at_the_next_that_would_return_its_item_then_imap_ends() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        for chunk in [1, 3, 8] {
            let mut results = pool
                .imap(0..20u32, |i| {
                    if i == 5 {
                        panic!("f failed on 5");
                    }
                    i
                })
                .chunk_size(chunk);
            let mut seen = Vec::new();
            let text = loop {
                match next_or_panic(&mut results) {
                    Ok(Some(value)) => seen.push(value),
                    Ok(None) => panic!("imap ended without resuming the panic"),
                    Err(text) => break text,
                }
            };
            assert_eq!(text, "f failed on 5");
            // With chunks of 3, item 5 shares its chunk with 3 and 4: they
            // still come out, and nothing after 5 does.
            assert_eq!(seen, [0, 1, 2, 3, 4], "chunk_size {chunk}");
            assert_eq!(results.next(), None);
            assert_eq!(results.next_timeout(LIMIT), Ok(None));
        }
    });
}

#[test]
fn a_panic_in_f_is_counted_in_the_pools_stats() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        for chunk in [1, 4] {
            let before = pool.stats().panicked;
            let mut results = pool
                .imap(0..8u32, |i| {
                    if i == 2 {
                        panic!("f failed on 2");
                    }
                    i
                })
                .chunk_size(chunk);
            let text = loop {
                match next_or_panic(&mut results) {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("imap ended without resuming the panic"),
                    Err(text) => break text,
                }
            };
            assert_eq!(text, "f failed on 2");
            drop(results);
            pool.join();
            assert_eq!(pool.stats().panicked - before, 1, "chunk_size {chunk}");
        }
    });
}

#[test]
fn a_buffer_shrunk_below_what_is_in_flight_keeps_the_iterator_working() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let mut results = pool.imap(0u64.., |x| x);
        assert_eq!(results.next(), Some(0));
        // More results are in flight now than the new buffer allows.
        let mut results = results.buffer(1);
        assert_eq!(results.next(), Some(1));
        assert_eq!(results.next(), Some(2));
        let rest: Vec<u64> = results.take(5).collect();
        assert_eq!(rest, [3, 4, 5, 6, 7]);
    });
}

#[test]
fn a_panic_in_f_of_imap_unordered_resumes_when_it_completes_then_imap_ends() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let mut results = pool.imap_unordered(0..20u32, |i| {
            if i == 5 {
                panic!("f failed on 5");
            }
            i
        });
        let mut seen = Vec::new();
        let text = loop {
            match next_or_panic(&mut results) {
                Ok(Some(value)) => seen.push(value),
                Ok(None) => panic!("imap_unordered ended without resuming the panic"),
                Err(text) => break text,
            }
        };
        assert_eq!(text, "f failed on 5");
        assert!(!seen.contains(&5));
        assert!(seen.len() < 20);
        assert_eq!(results.next(), None);
        pool.join();
        assert_eq!(pool.pending(), 0);
    });
}

#[test]
fn a_panic_in_the_input_resumes_after_the_items_before_it() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let input = (0..20u32).inspect(|&i| {
            if i == 5 {
                panic!("input broke at 5");
            }
        });
        let mut results = pool.imap(input, |i| i * 2);
        let mut seen = Vec::new();
        let text = loop {
            match next_or_panic(&mut results) {
                Ok(Some(value)) => seen.push(value),
                Ok(None) => panic!("imap ended without resuming the input's panic"),
                Err(text) => break text,
            }
        };
        assert_eq!(text, "input broke at 5");
        assert_eq!(seen, [0, 2, 4, 6, 8]);
        assert_eq!(results.next(), None);

        let input = (0..20u32).inspect(|&i| {
            if i == 5 {
                panic!("input broke at 5");
            }
        });
        let mut results = pool.imap_unordered(input, |i| i * 2);
        let mut seen = Vec::new();
        let text = loop {
            match next_or_panic(&mut results) {
                Ok(Some(value)) => seen.push(value),
                Ok(None) => panic!("imap_unordered ended without resuming the input's panic"),
                Err(text) => break text,
            }
        };
        assert_eq!(text, "input broke at 5");
        seen.sort_unstable();
        assert_eq!(seen, [0, 2, 4, 6, 8]);
        assert_eq!(results.next(), None);
    });
}

// ---------------------------------------------------------------- dropping

#[test]
fn dropping_an_imap_early_stops_input_without_blocking_and_lets_running_items_finish() {
    with_deadline(LIMIT, || {
        for unordered in [false, true] {
            let pool = Pool::new(2);
            let gate = Gate::new();
            let pulled = Counter::new();
            let started = Counter::new();
            let finished = Counter::new();
            let counting = pulled.clone();
            let input = (0u64..).inspect(move |_| counting.inc());
            let (held, starting, finishing) = (gate.clone(), started.clone(), finished.clone());
            let f = move |i: u64| {
                if i > 0 {
                    starting.inc();
                    held.wait();
                    finishing.inc();
                }
                i
            };
            let mut results = if unordered {
                pool.imap_unordered(input, f)
            } else {
                pool.imap(input, f)
            }
            .buffer(6);
            assert_eq!(results.next(), Some(0));
            // Both threads are now inside items still held by the gate.
            wait_until("two items running", || started.get() == 2);

            drop(results); // must not wait for the gate
            let pulled_at_drop = pulled.get();
            assert!(!gate.is_open());
            gate.open();
            pool.join();

            assert_eq!(pulled.get(), pulled_at_drop, "input pulled after the drop");
            assert_eq!(started.get(), finished.get());
            assert!(
                started.get() < pulled_at_drop - 1,
                "queued items ran after the drop (unordered: {unordered})"
            );
            assert_eq!(pool.pending(), 0);
            assert_eq!(pool.threads(), 2);
            let stats = pool.stats();
            assert_eq!((stats.queued, stats.running), (0, 0));
        }
    });
}

#[test]
fn an_imap_never_iterated_pulls_nothing_and_runs_nothing() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let pulled = Counter::new();
        let counting = pulled.clone();
        let calls = Counter::new();
        let calling = calls.clone();
        let results = pool.imap((0..10).inspect(move |_| counting.inc()), move |x: i32| {
            calling.inc();
            x
        });
        drop(results);
        pool.join();
        assert_eq!((pulled.get(), calls.get()), (0, 0));
    });
}

#[test]
fn an_imap_keeps_working_after_the_pool_value_is_dropped() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let results = pool.imap(0..100u32, |x| x + 1);
        drop(pool);
        assert_eq!(results.collect::<Vec<_>>(), (1..=100).collect::<Vec<_>>());

        // Also when production already started before the drop.
        let pool = Pool::new(2);
        let mut results = pool.imap_unordered(0..100u32, |x| x + 1);
        let first = results.next().unwrap();
        drop(pool);
        let mut all: Vec<u32> = results.collect();
        all.push(first);
        all.sort_unstable();
        assert_eq!(all, (1..=100).collect::<Vec<_>>());
    });
}

// ---------------------------------------------------------------- nesting

#[test]
fn imap_works_inside_a_task_of_a_one_thread_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let handle = pool.spawn(move || {
            let ordered: Vec<u32> = inner.imap(0..50u32, |x| x * 2).collect();
            let mut unordered: Vec<u32> = inner.imap_unordered(0..50u32, |x| x * 2).collect();
            unordered.sort_unstable();
            let chunked: Vec<u32> = inner
                .imap(0..50u32, |x| x * 2)
                .chunk_size(7)
                .buffer(3)
                .collect();
            (ordered, unordered, chunked)
        });
        let (ordered, unordered, chunked) = handle.join().unwrap();
        let expected: Vec<u32> = (0..50).map(|x| x * 2).collect();
        assert_eq!(ordered, expected);
        assert_eq!(unordered, expected);
        assert_eq!(chunked, expected);
    });
}

#[test]
fn next_timeout_inside_a_task_of_a_one_thread_pool_returns_the_item() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let handle = pool.spawn(move || {
            let mut results = inner.imap(0..3u32, |x| x);
            let mut out = Vec::new();
            while let Some(x) = results
                .next_timeout(LIMIT)
                .expect("no result within the limit")
            {
                out.push(x);
            }
            out
        });
        assert_eq!(handle.join().unwrap(), [0, 1, 2]);
    });
}

#[test]
fn an_imap_whose_chunk_shutdown_now_cancels_panics_at_next_then_ends() {
    with_deadline(LIMIT, || {
        for unordered in [false, true] {
            let pool = Pool::new(1);
            let gate = Gate::new();
            let busy = occupy(&pool, 1, &gate);
            let shutter = shutdown_now_once_queued(&pool, 1, &gate);
            let results = if unordered {
                pool.imap_unordered(0..5u32, |x| x)
            } else {
                pool.imap(0..5u32, |x| x)
            };
            // One chunk in flight, so the pool closes only after it was spawned.
            let mut results = results.buffer(1);
            let text = match next_or_panic(&mut results) {
                Err(text) => text,
                Ok(value) => panic!("next() returned {value:?} for a cancelled chunk"),
            };
            assert_eq!(shutter.join().unwrap(), 1);
            assert!(
                text.contains("Imap") && text.contains("shutdown_now"),
                "unclear message: {text}"
            );
            assert_eq!(results.next(), None);
            busy.into_iter().for_each(|h| h.join().unwrap());
        }
    });
}
