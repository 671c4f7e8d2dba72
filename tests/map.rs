//! `Pool::map` and `Pool::try_map`: results in input order, closures that
//! borrow, work spread over the pool's threads without a task per item,
//! panics that resume in the caller once the other items have settled, and
//! inputs that lie about their length.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{
    occupy, panic_text_of, shutdown_now_once_queued, with_deadline, Counter, Gate, LIMIT,
};
use workcrew::Pool;

/// How long a helper thread watches for a call that returned too early
/// before it releases the items the call should have waited for. Not used to
/// synchronise: a correct pool passes whatever this is, a broken one is
/// caught only if it returns within the window.
const EARLY_RETURN_WINDOW: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------- order

#[test]
fn map_returns_results_in_input_order() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        let doubled = pool.map(0..10_000u64, |x| x * 2);
        assert_eq!(doubled, (0..10_000u64).map(|x| x * 2).collect::<Vec<_>>());
    });
}

#[test]
fn map_keeps_input_order_when_later_items_finish_first() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        // Early items do the most work, so they tend to finish last.
        let results = pool.map((0..64u64).rev(), |spin| {
            let mut x = spin;
            for _ in 0..spin * 10_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            (spin, x)
        });
        let spins: Vec<u64> = results.iter().map(|(spin, _)| *spin).collect();
        assert_eq!(spins, (0..64u64).rev().collect::<Vec<_>>());
    });
}

#[test]
fn map_accepts_any_into_iterator() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        assert_eq!(pool.map([1, 2, 3], |x| x + 1), [2, 3, 4]);
        let words = vec![String::from("a"), String::from("bb")];
        assert_eq!(pool.map(words, |w| w.len()), [1, 2]);
        let odd = (0..20).filter(|x| x % 2 == 1);
        assert_eq!(pool.map(odd, |x| x), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    });
}

// ---------------------------------------------------------------- borrowing

#[test]
fn map_closure_may_borrow_local_data() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let names = vec!["ada", "grace", "edsger", "barbara"];
        let prefix = String::from("dr. ");
        let titled = pool.map(0..names.len(), |i| format!("{prefix}{}", names[i]));
        assert_eq!(
            titled,
            ["dr. ada", "dr. grace", "dr. edsger", "dr. barbara"]
        );
        // The items themselves may be borrows too.
        let lengths = pool.map(&names, |name| name.len());
        assert_eq!(lengths, [3, 5, 6, 7]);
        // Still ours afterwards.
        assert_eq!(names.len(), 4);
    });
}

// ---------------------------------------------------------------- empty input

#[test]
fn map_of_an_empty_input_returns_an_empty_vec_without_calling_f() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let calls = AtomicUsize::new(0);
        let out: Vec<u8> = pool.map(Vec::<u8>::new(), |x| {
            calls.fetch_add(1, Ordering::SeqCst);
            x
        });
        assert!(out.is_empty());
        let out: Result<Vec<u8>, ()> = pool.try_map(0..0u8, |x| {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(x)
        });
        assert_eq!(out, Ok(vec![]));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    });
}

// ---------------------------------------------------------------- spreading

#[test]
fn a_thousand_10ms_sleeps_on_a_hundred_threads_take_well_under_a_second() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(100);
        let started = Instant::now();
        let out = pool.map(0..1000, |i| {
            thread::sleep(Duration::from_millis(10));
            i
        });
        let took = started.elapsed();
        assert_eq!(out, (0..1000).collect::<Vec<_>>());
        // Ideal is 100 ms (10 s sequentially); the bound only catches a map
        // that does not spread blocking items over all the threads.
        assert!(
            took < Duration::from_secs(1),
            "1000 × 10 ms on 100 threads took {took:?}"
        );
    });
}

#[test]
fn a_million_cheap_items_do_not_create_a_task_per_item() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        let before = pool.stats().completed;
        let out = pool.map(0..1_000_000u64, |x| x ^ 0x5555);
        assert_eq!(out.len(), 1_000_000);
        assert!(out.iter().enumerate().all(|(i, &y)| y == i as u64 ^ 0x5555));
        let tasks = pool.stats().completed - before;
        assert!(
            tasks < 1000,
            "mapping 1,000,000 cheap items completed {tasks} pool tasks"
        );
    });
}

#[test]
fn map_uses_more_than_one_thread() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let threads = std::sync::Mutex::new(std::collections::HashSet::new());
        let deadline = Instant::now() + Duration::from_secs(10);
        pool.map(0..100, |_| {
            threads.lock().unwrap().insert(thread::current().id());
            // Hold every item until a second thread joined in (or give up,
            // and let the assertion below report it).
            while threads.lock().unwrap().len() < 2 && Instant::now() < deadline {
                thread::yield_now();
            }
        });
        assert_eq!(threads.into_inner().unwrap().len(), 2);
    });
}

// ---------------------------------------------------------------- panics

#[test]
fn a_panic_in_f_resumes_in_the_caller_after_the_other_items_settle() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        let release = Gate::new();
        let started = Counter::new();
        let finished = Counter::new();
        let returned = Arc::new(AtomicBool::new(false));
        let returned_early = Arc::new(AtomicBool::new(false));
        let (others_tx, others_rx) = mpsc::channel::<()>();
        let (panicking_tx, panicking_rx) = mpsc::channel::<()>();

        // Opens the gate only after the panic happened and the window passed,
        // noting whether `map` had returned while items were still held.
        let opener = {
            let release = release.clone();
            let returned = returned.clone();
            let returned_early = returned_early.clone();
            thread::spawn(move || {
                panicking_rx.recv().unwrap();
                thread::sleep(EARLY_RETURN_WINDOW);
                returned_early.store(returned.load(Ordering::SeqCst), Ordering::SeqCst);
                release.open();
            })
        };

        let others_rx = std::sync::Mutex::new(others_rx);
        let text = panic_text_of(|| {
            pool.map(0..64, |i| {
                if i == 0 {
                    // Let another thread start an item first, so one is in
                    // progress when this one panics.
                    let _ = others_rx
                        .lock()
                        .unwrap()
                        .recv_timeout(Duration::from_secs(5));
                    panicking_tx.send(()).unwrap();
                    panic!("item 0 failed");
                }
                started.inc();
                let _ = others_tx.send(());
                release.wait();
                finished.inc();
            })
        });
        returned.store(true, Ordering::SeqCst);
        opener.join().unwrap();

        assert_eq!(text, "item 0 failed");
        assert!(
            !returned_early.load(Ordering::SeqCst),
            "map resumed the panic while other items were still running"
        );
        assert!(started.get() >= 1, "no other item ran alongside item 0");
        assert_eq!(started.get(), finished.get());

        // The pool survives: same threads, still maps.
        assert_eq!(pool.map(0..10, |x| x + 1), (1..11).collect::<Vec<_>>());
        assert_eq!(pool.threads(), 4);
    });
}

#[test]
fn a_panic_in_map_drops_the_results_already_computed() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let live = Arc::new(AtomicUsize::new(0));
        struct Tracked(Arc<AtomicUsize>);
        impl Drop for Tracked {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let text = panic_text_of(|| {
            pool.map(0..10_000, |i| {
                if i == 5_000 {
                    panic!("halfway");
                }
                live.fetch_add(1, Ordering::SeqCst);
                Tracked(live.clone())
            })
        });
        assert_eq!(text, "halfway");
        assert_eq!(live.load(Ordering::SeqCst), 0, "computed results leaked");
    });
}

#[test]
fn a_panicking_input_iterator_resumes_in_the_caller_after_handed_out_items_finish() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let started = AtomicUsize::new(0);
        let finished = AtomicUsize::new(0);
        let input = (0..1000).inspect(|&i| {
            if i == 500 {
                panic!("input broke at 500");
            }
        });
        let text = panic_text_of(|| {
            pool.map(input, |i| {
                started.fetch_add(1, Ordering::SeqCst);
                std::hint::black_box(i);
                finished.fetch_add(1, Ordering::SeqCst);
            })
        });
        assert_eq!(text, "input broke at 500");
        assert_eq!(
            started.load(Ordering::SeqCst),
            finished.load(Ordering::SeqCst)
        );
        assert!(started.load(Ordering::SeqCst) <= 500);
        // And again through try_map; the pool is still fine.
        let input = (0..10).map(|i| {
            if i == 3 {
                panic!("input broke at 3")
            } else {
                i
            }
        });
        let text = panic_text_of(|| pool.try_map(input, Ok::<i32, ()>));
        assert_eq!(text, "input broke at 3");
        assert_eq!(pool.map(0..3, |x| x), [0, 1, 2]);
    });
}

// ---------------------------------------------------------------- lying inputs

/// An iterator that reports `hint` as its size hint, whatever it yields.
struct Lying<I> {
    items: I,
    hint: (usize, Option<usize>),
}

impl<I: Iterator> Iterator for Lying<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.items.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.hint
    }
}

fn check_lying_input(len: usize, hint: (usize, Option<usize>)) {
    let pool = Pool::new(3);
    let expected: Vec<String> = (0..len).map(|i| format!("#{i}")).collect();
    let input = Lying {
        items: 0..len,
        hint,
    };
    let out = pool.map(input, |i| format!("#{i}"));
    assert_eq!(out, expected, "map of {len} items with size_hint {hint:?}");
    let input = Lying {
        items: 0..len,
        hint,
    };
    let out: Result<Vec<String>, ()> = pool.try_map(input, |i| Ok(format!("#{i}")));
    assert_eq!(
        out.as_deref(),
        Ok(&expected[..]),
        "try_map of {len} items with size_hint {hint:?}"
    );
}

#[test]
fn an_input_shorter_than_its_size_hint_still_maps_correctly() {
    with_deadline(LIMIT, || {
        check_lying_input(10, (1000, Some(1000)));
        check_lying_input(0, (50, Some(50)));
        check_lying_input(3, (0, Some(10_000)));
    });
}

#[test]
fn an_input_longer_than_its_size_hint_still_maps_correctly() {
    with_deadline(LIMIT, || {
        check_lying_input(100_000, (0, Some(0)));
        check_lying_input(1000, (3, Some(3)));
        check_lying_input(5000, (10, Some(10)));
    });
}

#[test]
fn an_input_of_unknown_length_maps_correctly() {
    with_deadline(LIMIT, || {
        check_lying_input(0, (0, None));
        check_lying_input(1, (0, None));
        check_lying_input(100_000, (0, None));
        check_lying_input(777, (500, None));
    });
}

// ---------------------------------------------------------------- try_map

#[test]
fn try_map_returns_all_results_in_order_when_nothing_fails() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let parsed: Result<Vec<u32>, _> =
            pool.try_map(["1", "20", "300"], |s: &str| s.parse::<u32>());
        assert_eq!(parsed, Ok(vec![1, 20, 300]));
    });
}

#[test]
fn try_map_returns_the_earliest_error_in_input_order() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        // Every item from 1000 on fails: the error for 1000 must win over
        // later ones that other threads may hit first.
        for _ in 0..20 {
            let out: Result<Vec<usize>, usize> =
                pool.try_map(0..100_000, |i| if i >= 1000 { Err(i) } else { Ok(i) });
            assert_eq!(out, Err(1000));
        }
    });
}

#[test]
fn try_map_stops_handing_out_work_after_the_first_error() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        let calls = AtomicUsize::new(0);
        // The error comes late enough that every thread is busy mapping.
        let out: Result<Vec<usize>, String> = pool.try_map(0..2_000_000, |i| {
            calls.fetch_add(1, Ordering::Relaxed);
            if i == 300_000 {
                Err(format!("item {i} is bad"))
            } else {
                Ok(i)
            }
        });
        assert_eq!(out, Err(String::from("item 300000 is bad")));
        let calls = calls.load(Ordering::Relaxed);
        assert!(
            calls < 1_000_000,
            "f was called {calls} times for 2,000,000 items after an error at item 300,000"
        );
    });
}

#[test]
fn try_map_with_slow_items_stops_soon_after_an_error() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let calls = AtomicUsize::new(0);
        let out: Result<Vec<()>, &str> = pool.try_map(0..200, |i| {
            calls.fetch_add(1, Ordering::SeqCst);
            if i == 20 {
                return Err("item 20 fails");
            }
            // Slow items, so that both threads are mapping when 20 fails.
            thread::sleep(Duration::from_millis(1));
            Ok(())
        });
        assert_eq!(out, Err("item 20 fails"));
        let calls = calls.load(Ordering::SeqCst);
        assert!(calls < 60, "{calls} of 200 slow items were started");
    });
}

// ---------------------------------------------------------------- nesting

#[test]
fn map_and_try_map_work_inside_a_task_of_a_one_thread_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let handle = pool.spawn(move || {
            let local = [10u32, 20, 30];
            let mapped = inner.map(0..3, |i| local[i] + 1);
            let tried: Result<Vec<u32>, ()> = inner.try_map(0..1000u32, Ok);
            let failed: Result<Vec<u32>, u32> =
                inner.try_map(0..1000u32, |x| if x == 7 { Err(x) } else { Ok(x) });
            (mapped, tried.map(|v| v.len()), failed)
        });
        let (mapped, tried, failed) = handle.join().unwrap();
        assert_eq!(mapped, [11, 21, 31]);
        assert_eq!(tried, Ok(1000));
        assert_eq!(failed, Err(7));
    });
}

#[test]
fn map_nested_in_map_completes() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let sums = pool.map(0..20u64, |row| {
            pool.map(0..100u64, |col| row * col).iter().sum::<u64>()
        });
        let expected: Vec<u64> = (0..20u64).map(|row| row * 4950).collect();
        assert_eq!(sums, expected);
    });
}

// ---------------------------------------------------------------- closed pool

#[test]
fn map_and_try_map_on_a_closed_pool_panic_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        pool.shutdown();
        let text = panic_text_of(|| pool.map(0..10, |x| x));
        assert!(text.contains("closed"), "unclear message: {text}");
        let text = panic_text_of(|| pool.try_map(0..10, Ok::<i32, ()>));
        assert!(text.contains("closed"), "unclear message: {text}");
    });
}

#[test]
fn a_map_whose_task_shutdown_now_cancels_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let busy = occupy(&pool, 2, &gate);
        // From outside the pool, map waits in the queue behind the busy
        // threads; shutdown_now cancels it there.
        let shutter = shutdown_now_once_queued(&pool, 1, &gate);
        let text = panic_text_of(|| pool.map(0..100, |x| x));
        assert!(shutter.join().unwrap() >= 1);
        assert!(
            text.contains("map") && text.contains("shutdown_now"),
            "unclear message: {text}"
        );
        busy.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn a_map_already_running_when_shutdown_now_comes_never_returns_partial_results() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let shutter = {
            let (pool, gate) = (pool.clone(), gate.clone());
            thread::spawn(move || {
                started_rx.recv().unwrap();
                pool.shutdown_now();
                gate.open();
            })
        };
        let started_tx = std::sync::Mutex::new(started_tx);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.map(0..1000u32, |x| {
                if x == 0 {
                    started_tx.lock().unwrap().send(()).unwrap();
                    gate.wait();
                }
                x * 3
            })
        }));
        shutter.join().unwrap();
        match outcome {
            // Running work finishes: every result, in order...
            Ok(results) => assert_eq!(results, (0..1000).map(|x| x * 3).collect::<Vec<_>>()),
            // ...or, if part of it was cancelled, a clear panic.
            Err(payload) => {
                let text = common::payload_text(payload.as_ref());
                assert!(text.contains("shutdown_now"), "unclear message: {text}");
            }
        }
    });
}
