//! `Pool::for_each_range` and `Pool::for_each_chunk_mut`: disjoint pieces
//! that cover the input exactly once for many (len, threads) pairs, correct
//! offsets, work spread over the threads, and panics that resume in the
//! caller.

mod common;

use std::collections::HashSet;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::{panic_text_of, with_deadline, LIMIT};
use workcrew::Pool;

const THREADS: [usize; 5] = [1, 2, 3, 4, 7];
const LENS: [usize; 15] = [
    0, 1, 2, 3, 5, 7, 8, 13, 63, 64, 65, 100, 1000, 4097, 100_000,
];

/// Checks that `pieces` are within `0..len` and cover it exactly once.
fn assert_exact_cover(len: usize, threads: usize, mut pieces: Vec<Range<usize>>) {
    pieces.sort_by_key(|piece| (piece.start, piece.end));
    let mut next = 0;
    for piece in pieces.iter().filter(|piece| !piece.is_empty()) {
        assert_eq!(
            piece.start, next,
            "len {len}, {threads} threads: gap or overlap at {next} ({piece:?})"
        );
        next = piece.end;
    }
    assert_eq!(
        next, len,
        "len {len}, {threads} threads: cover ends at {next}"
    );
}

// ---------------------------------------------------------------- coverage

#[test]
fn for_each_range_covers_every_index_exactly_once() {
    with_deadline(LIMIT, || {
        for threads in THREADS {
            let pool = Pool::new(threads);
            for len in LENS {
                let pieces = Mutex::new(Vec::new());
                pool.for_each_range(len, |range| pieces.lock().unwrap().push(range));
                assert_exact_cover(len, threads, pieces.into_inner().unwrap());
            }
        }
    });
}

#[test]
fn for_each_chunk_mut_covers_every_element_once_with_its_offset() {
    with_deadline(LIMIT, || {
        for threads in THREADS {
            let pool = Pool::new(threads);
            for len in LENS {
                // Each element knows its index and counts its visits.
                let mut data: Vec<(usize, u32)> = (0..len).map(|i| (i, 0)).collect();
                let pieces = Mutex::new(Vec::new());
                pool.for_each_chunk_mut(&mut data, |offset, chunk| {
                    for (j, (index, visits)) in chunk.iter_mut().enumerate() {
                        assert_eq!(*index, offset + j, "offset {offset} is wrong");
                        *visits += 1;
                    }
                    pieces.lock().unwrap().push(offset..offset + chunk.len());
                });
                assert!(
                    data.iter().all(|&(_, visits)| visits == 1),
                    "len {len}, {threads} threads: an element was visited {} times",
                    data.iter().map(|&(_, v)| v).find(|&v| v != 1).unwrap_or(1)
                );
                assert_exact_cover(len, threads, pieces.into_inner().unwrap());
            }
        }
    });
}

#[test]
fn for_each_chunk_mut_computes_squares_in_place() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let mut squares = vec![0u64; 1_000_000];
        pool.for_each_chunk_mut(&mut squares, |offset, chunk| {
            for (i, slot) in chunk.iter_mut().enumerate() {
                let x = (offset + i) as u64;
                *slot = x * x;
            }
        });
        assert!(squares
            .iter()
            .enumerate()
            .all(|(i, &s)| s == (i * i) as u64));
    });
}

#[test]
fn an_empty_input_makes_no_calls_that_cover_anything() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let covered = AtomicUsize::new(0);
        pool.for_each_range(0, |range| {
            covered.fetch_add(range.len(), Ordering::SeqCst);
        });
        pool.for_each_chunk_mut(&mut [0u8; 0], |_, chunk| {
            covered.fetch_add(chunk.len(), Ordering::SeqCst);
        });
        assert_eq!(covered.into_inner(), 0);
    });
}

// ---------------------------------------------------------------- spreading

/// Runs `call` with a callback that records its thread and holds each piece
/// until a second thread took one too (or ten seconds passed). Returns how
/// many threads took pieces.
fn threads_taking_pieces(call: impl FnOnce(&(dyn Fn() + Sync))) -> usize {
    let threads = Mutex::new(HashSet::new());
    let give_up = Instant::now() + Duration::from_secs(10);
    call(&|| {
        threads.lock().unwrap().insert(thread::current().id());
        while threads.lock().unwrap().len() < 2 && Instant::now() < give_up {
            thread::yield_now();
        }
    });
    threads.into_inner().unwrap().len()
}

#[test]
fn pieces_are_spread_over_the_pools_threads() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let used = threads_taking_pieces(|piece| pool.for_each_range(1000, |_| piece()));
        assert_eq!(used, 2, "for_each_range used one thread");
        let mut data = vec![0u8; 1000];
        let used =
            threads_taking_pieces(|piece| pool.for_each_chunk_mut(&mut data, |_, _| piece()));
        assert_eq!(used, 2, "for_each_chunk_mut used one thread");
    });
}

// ---------------------------------------------------------------- panics

#[test]
fn a_panic_in_for_each_range_resumes_in_the_caller_after_running_pieces_end() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let started = AtomicUsize::new(0);
        let finished = AtomicUsize::new(0);
        let text = panic_text_of(|| {
            pool.for_each_range(10_000, |range| {
                if range.contains(&5000) {
                    panic!("piece with 5000 failed");
                }
                started.fetch_add(1, Ordering::SeqCst);
                std::hint::black_box(range);
                finished.fetch_add(1, Ordering::SeqCst);
            })
        });
        assert_eq!(text, "piece with 5000 failed");
        assert_eq!(started.into_inner(), finished.into_inner());
        // The pool survives.
        let covered = AtomicUsize::new(0);
        pool.for_each_range(100, |range| {
            covered.fetch_add(range.len(), Ordering::SeqCst);
        });
        assert_eq!(covered.into_inner(), 100);
    });
}

#[test]
fn a_panic_in_for_each_chunk_mut_resumes_in_the_caller() {
    with_deadline(LIMIT, || {
        for threads in [1, 2] {
            let pool = Pool::new(threads);
            let mut data = vec![0u32; 10_000];
            let text = panic_text_of(|| {
                pool.for_each_chunk_mut(&mut data, |offset, chunk| {
                    if (offset..offset + chunk.len()).contains(&9_999) {
                        panic!("last chunk failed");
                    }
                    chunk.fill(1);
                })
            });
            assert_eq!(text, "last chunk failed", "{threads} threads");
            assert!(data[9_999] == 0);
        }
    });
}

// ---------------------------------------------------------------- nesting

#[test]
fn ranges_and_chunks_work_inside_a_task_of_a_one_thread_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let handle = pool.spawn(move || {
            let pieces = Mutex::new(Vec::new());
            inner.for_each_range(1000, |range| pieces.lock().unwrap().push(range));
            let mut data = vec![0usize; 1000];
            inner.for_each_chunk_mut(&mut data, |offset, chunk| {
                for (i, slot) in chunk.iter_mut().enumerate() {
                    *slot = offset + i;
                }
            });
            (pieces.into_inner().unwrap(), data)
        });
        let (pieces, data) = handle.join().unwrap();
        assert_exact_cover(1000, 1, pieces);
        assert_eq!(data, (0..1000).collect::<Vec<_>>());
    });
}

#[test]
fn ranges_nest_inside_ranges() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let covered = AtomicUsize::new(0);
        pool.for_each_range(50, |outer| {
            for _ in outer {
                pool.for_each_range(100, |inner| {
                    covered.fetch_add(inner.len(), Ordering::Relaxed);
                });
            }
        });
        assert_eq!(covered.into_inner(), 5000);
    });
}

// ---------------------------------------------------------------- closed pool

#[test]
fn ranges_on_a_closed_pool_panic_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        pool.shutdown();
        let text = panic_text_of(|| pool.for_each_range(10, |_| {}));
        assert!(text.contains("closed"), "unclear message: {text}");
        let text = panic_text_of(|| pool.for_each_chunk_mut(&mut [1, 2, 3], |_, _| {}));
        assert!(text.contains("closed"), "unclear message: {text}");
    });
}
