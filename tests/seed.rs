//! The seed-shaped helpers: spacepy's `thread_job` and `thread_map`, and
//! `split_evenly` (numpy.array_split).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;

use common::{panic_text_of, with_deadline, LIMIT};
use workcrew::{split_evenly, thread_job, thread_map};

/// spacepy's subjob starts, computed exactly: subjob `i` of `n` over
/// `size` items starts at `floor(i * size / n + 0.5)`; the last ends at
/// `size`. Returns `(start, count)` per subjob.
fn spacepy_subjobs(size: usize, n: usize) -> Vec<(usize, usize)> {
    let start = |i: usize| {
        if i == n {
            size
        } else {
            (2 * i * size + n) / (2 * n)
        }
    };
    (0..n)
        .map(|i| (start(i), start(i + 1) - start(i)))
        .collect()
}

/// Runs `thread_job` and returns its `(start, count)` calls in call order.
fn calls_of(job_size: usize, thread_count: isize) -> Vec<(usize, usize)> {
    let calls = Mutex::new(Vec::new());
    thread_job(job_size, thread_count, |start, count| {
        calls.lock().unwrap().push((start, count));
    });
    calls.into_inner().unwrap()
}

fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

// ---------------------------------------------------------------- thread_job splits

#[test]
fn thread_job_splits_ten_over_three_like_spacepy() {
    with_deadline(LIMIT, || {
        let mut calls = calls_of(10, 3);
        calls.sort_unstable();
        assert_eq!(calls, [(0, 3), (3, 4), (7, 3)]);
        // The same split, in order, in the sequential mode.
        assert_eq!(calls_of(10, -3), [(0, 3), (3, 4), (7, 3)]);
    });
}

#[test]
fn thread_job_follows_spacepys_rounding() {
    with_deadline(LIMIT, || {
        // Hand-checked: int(i * size / n + 0.5).
        assert_eq!(calls_of(7, -2), [(0, 4), (4, 3)]);
        assert_eq!(calls_of(5, -4), [(0, 1), (1, 2), (3, 1), (4, 1)]);
        assert_eq!(calls_of(2, -5), [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]);
        assert_eq!(calls_of(1, -1), [(0, 1)]);
        for size in [0, 1, 2, 3, 7, 10, 64, 99, 100, 1001] {
            for n in 1..=12usize {
                assert_eq!(
                    calls_of(size, -(n as isize)),
                    spacepy_subjobs(size, n),
                    "job {size} in {n}"
                );
            }
        }
    });
}

#[test]
fn thread_job_subjob_sizes_differ_by_at_most_one_and_cover_the_job() {
    with_deadline(LIMIT, || {
        for size in [0, 1, 5, 17, 100, 12345] {
            for n in [1isize, 2, 3, 4, 7, 16, 33] {
                let mut calls = calls_of(size, n);
                calls.sort_unstable();
                assert_eq!(
                    calls.len(),
                    n as usize,
                    "job {size} in {n}: one call per subjob"
                );
                let mut next = 0;
                for &(start, count) in &calls {
                    assert_eq!(start, next, "job {size} in {n}: {calls:?}");
                    next += count;
                }
                assert_eq!(next, size);
                let smallest = calls.iter().map(|c| c.1).min().unwrap();
                let largest = calls.iter().map(|c| c.1).max().unwrap();
                assert!(largest - smallest <= 1, "job {size} in {n}: {calls:?}");
                assert_eq!(calls, spacepy_subjobs(size, n as usize));
            }
        }
    });
}

#[test]
fn thread_job_calls_the_target_once_per_subjob_including_empty_ones() {
    with_deadline(LIMIT, || {
        let mut calls = calls_of(2, 5);
        calls.sort_unstable();
        assert_eq!(calls, [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]);
        assert_eq!(calls_of(0, 3), [(0, 0); 3]);
        assert_eq!(calls_of(0, -2), [(0, 0); 2]);
    });
}

#[test]
fn thread_job_with_zero_threads_makes_one_subjob_per_core() {
    with_deadline(LIMIT, || {
        let mut calls = calls_of(1000, 0);
        calls.sort_unstable();
        assert_eq!(calls, spacepy_subjobs(1000, cores()));
    });
}

#[test]
fn a_negative_thread_count_runs_subjobs_in_order_on_the_calling_thread() {
    with_deadline(LIMIT, || {
        let caller = thread::current().id();
        let calls = Mutex::new(Vec::new());
        thread_job(10, -4, |start, count| {
            calls
                .lock()
                .unwrap()
                .push((start, count, thread::current().id()));
        });
        let calls = calls.into_inner().unwrap();
        let expected = spacepy_subjobs(10, 4);
        assert_eq!(calls.len(), 4);
        for (&(start, count, id), &(want_start, want_count)) in calls.iter().zip(&expected) {
            assert_eq!(
                (start, count),
                (want_start, want_count),
                "out of order: {calls:?}"
            );
            assert_eq!(id, caller, "a sequential subjob ran on another thread");
        }
    });
}

#[test]
fn thread_job_target_borrows_and_squares_in_place() {
    with_deadline(LIMIT, || {
        let input: Vec<i64> = (0..100_000).collect();
        let output: Vec<std::sync::atomic::AtomicI64> =
            (0..100_000).map(|_| Default::default()).collect();
        for threads in [0, 1, 2, 3, -1, -3] {
            thread_job(input.len(), threads, |start, count| {
                for i in start..start + count {
                    output[i].store(input[i] * input[i], Ordering::Relaxed);
                }
            });
            assert!(
                output
                    .iter()
                    .enumerate()
                    .all(|(i, o)| o.load(Ordering::Relaxed) == (i * i) as i64),
                "thread_count {threads}"
            );
            output.iter().for_each(|o| o.store(0, Ordering::Relaxed));
        }
    });
}

// ---------------------------------------------------------------- parallelism

#[test]
fn thread_job_runs_its_subjobs_at_the_same_time() {
    with_deadline(LIMIT, || {
        // Each subjob waits for all the others: only works if they overlap.
        let barrier = Barrier::new(2);
        thread_job(10, 2, |_, _| {
            barrier.wait();
        });
    });
}

#[test]
fn concurrent_thread_jobs_whose_subjobs_wait_for_each_other_all_complete() {
    with_deadline(LIMIT, || {
        // Several callers at once, each with two subjobs that meet at a
        // barrier: they must not fill the global pool with first halves
        // waiting for second halves queued behind them.
        let callers = workcrew::global().max_threads() + 1;
        thread::scope(|s| {
            for _ in 0..callers {
                s.spawn(|| {
                    let barrier = Barrier::new(2);
                    thread_job(10, 2, |_, _| {
                        barrier.wait();
                    });
                });
            }
        });
    });
}

#[test]
fn more_subjobs_than_cores_still_run_at_the_same_time() {
    with_deadline(LIMIT, || {
        // spacepy starts a thread per subjob, so blocking targets overlap
        // however many there are.
        let subjobs = workcrew::global().max_threads() + 2;
        let barrier = Barrier::new(subjobs);
        thread_job(subjobs * 3, subjobs as isize, |_, _| {
            barrier.wait();
        });
    });
}

#[test]
fn thread_job_and_thread_map_nest_inside_a_subjob() {
    with_deadline(LIMIT, || {
        let total = AtomicUsize::new(0);
        thread_job(4, 2, |start, count| {
            thread_job(100, 2, |_, inner| {
                total.fetch_add(inner, Ordering::SeqCst);
            });
            let squares = thread_map(&[start, count], 2, |x| x * x);
            assert_eq!(squares, [start * start, count * count]);
        });
        assert_eq!(total.into_inner(), 200);
    });
}

// ---------------------------------------------------------------- panics

/// Runs a `thread_job` in which the subjob starting at 0 panics; returns
/// the panic text and how many other subjobs had finished.
fn panicking_job(subjobs: isize) -> (String, usize) {
    let finished = AtomicUsize::new(0);
    let text = panic_text_of(|| {
        thread_job(subjobs.unsigned_abs() * 10, subjobs, |start, _| {
            if start == 0 {
                panic!("subjob at 0 failed");
            }
            finished.fetch_add(1, Ordering::SeqCst);
        })
    });
    (text, finished.into_inner())
}

#[test]
fn a_panic_in_a_parallel_subjob_reaches_the_caller_after_the_others_finished() {
    with_deadline(LIMIT, || {
        let (text, finished) = panicking_job(2);
        assert_eq!(text, "subjob at 0 failed");
        assert_eq!(finished, 1);
        // The global pool survives.
        assert_eq!(calls_of(4, 2).len(), 2);
    });
}

#[test]
fn a_panic_in_one_of_many_subjobs_reaches_the_caller_with_its_message() {
    with_deadline(LIMIT, || {
        let subjobs = workcrew::global().max_threads() as isize + 3;
        let (text, finished) = panicking_job(subjobs);
        assert_eq!(text, "subjob at 0 failed");
        assert_eq!(finished, subjobs as usize - 1);
    });
}

#[test]
fn a_panic_in_one_of_many_subjobs_reaches_the_caller() {
    with_deadline(LIMIT, || {
        let subjobs = workcrew::global().max_threads() as isize + 3;
        let finished = AtomicUsize::new(0);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            thread_job(100, subjobs, |start, _| {
                if start == 0 {
                    panic!("subjob at 0 failed");
                }
                finished.fetch_add(1, Ordering::SeqCst);
            })
        }));
        assert!(result.is_err(), "the panic did not reach the caller");
        assert_eq!(finished.into_inner(), subjobs as usize - 1);
    });
}

#[test]
fn a_panic_in_a_sequential_subjob_reaches_the_caller() {
    with_deadline(LIMIT, || {
        let (text, _) = panicking_job(-3);
        assert_eq!(text, "subjob at 0 failed");
        let text = panic_text_of(|| {
            thread_map(
                &[1, 2, 3],
                -2,
                |&x: &i32| if x == 3 { panic!("input 3") } else { x },
            )
        });
        assert_eq!(text, "input 3");
    });
}

#[test]
fn a_panic_in_thread_map_reaches_the_caller() {
    with_deadline(LIMIT, || {
        let inputs: Vec<i32> = (0..100).collect();
        let text = panic_text_of(|| {
            thread_map(&inputs, 2, |&x| {
                if x == 70 {
                    panic!("input 70 failed");
                }
                x
            })
        });
        assert_eq!(text, "input 70 failed");
    });
}

// ---------------------------------------------------------------- thread_map

#[test]
fn thread_map_keeps_input_order_for_every_thread_count() {
    with_deadline(LIMIT, || {
        let inputs: Vec<String> = (0..101).map(|i| format!("item {i}")).collect();
        let expected: Vec<usize> = inputs.iter().map(String::len).collect();
        for threads in [0, 1, 2, 3, 7, 150, -1, -4] {
            assert_eq!(
                thread_map(&inputs, threads, String::len),
                expected,
                "thread_count {threads}"
            );
        }
        let empty: Vec<u8> = thread_map(&[], 3, |&x: &u8| x);
        assert!(empty.is_empty());
    });
}

#[test]
fn thread_map_with_a_negative_count_runs_on_the_calling_thread() {
    with_deadline(LIMIT, || {
        let caller = thread::current().id();
        let ids = thread_map(&[1, 2, 3, 4, 5], -3, |_| thread::current().id());
        assert!(ids.iter().all(|&id| id == caller));
    });
}

// ---------------------------------------------------------------- split_evenly

#[test]
fn split_evenly_matches_numpy_array_split() {
    let parts: Vec<_> = split_evenly(10, 3).collect();
    assert_eq!(parts, [0..4, 4..7, 7..10]);
    let parts: Vec<_> = split_evenly(2, 4).collect();
    assert_eq!(parts, [0..1, 1..2, 2..2, 2..2]);
    let parts: Vec<_> = split_evenly(0, 3).collect();
    assert_eq!(parts, [0..0, 0..0, 0..0]);
    let parts: Vec<_> = split_evenly(7, 7).collect();
    assert_eq!(parts, [0..1, 1..2, 2..3, 3..4, 4..5, 5..6, 6..7]);
    let parts: Vec<_> = split_evenly(5, 1).collect();
    assert_eq!(parts, vec![0..5]);
}

#[test]
fn split_evenly_gives_exactly_parts_ranges_longest_first() {
    for len in 0..60 {
        for parts in 1..20 {
            let ranges: Vec<_> = split_evenly(len, parts).collect();
            assert_eq!(ranges.len(), parts, "{len} in {parts}");
            assert_eq!(split_evenly(len, parts).len(), parts);
            let mut next = 0;
            for (i, range) in ranges.iter().enumerate() {
                assert_eq!(range.start, next, "{len} in {parts}: {ranges:?}");
                let want = len / parts + usize::from(i < len % parts);
                assert_eq!(range.len(), want, "{len} in {parts}: {ranges:?}");
                next = range.end;
            }
            assert_eq!(next, len);
        }
    }
}

#[test]
fn split_evenly_into_zero_parts_panics_with_a_clear_message() {
    let text = panic_text_of(|| split_evenly(10, 0).count());
    assert!(text.contains("parts"), "unclear message: {text}");
}
