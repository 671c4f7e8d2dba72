//! Property tests (proptest) of the data-parallel helpers: for any input
//! size, part count and thread count,
//!
//! * `split_evenly(len, parts)` yields exactly `parts` ranges that tile
//!   `0..len` in order, sizes differing by at most one, the longer first
//!   (numpy.array_split);
//! * `Pool::for_each_range(len, f)` calls `f` with disjoint, non-empty
//!   ranges that cover `0..len` exactly once;
//! * `Pool::map` and `Pool::imap` keep order and length (any `chunk_size`
//!   and `buffer`), `imap_unordered` yields the same multiset;
//! * `thread_job(size, count, target)` calls `target` once per subjob with
//!   spacepy's bounds (`start(i) = int(i * size / count + 0.5)`), so the calls
//!   tile `0..size` with sizes differing by at most one; a negative count
//!   runs them in order on the calling thread.
//!
//! Case counts are kept moderate (the whole file runs in a few seconds);
//! `PROPTEST_CASES` raises them for a deeper run. Every property runs under
//! a deadline, so a hang fails instead of blocking CI.

mod common;

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use workcrew::{split_evenly, thread_job, Pool};

/// How long one property (all its cases) may take.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs `property` on `cases` inputs drawn from `strategy` (or
/// `PROPTEST_CASES` of them), under [`LIMIT`]. A failure reports the
/// shrunk input.
fn check<S>(
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError> + Send + Sync + 'static,
) where
    S: Strategy + Send + 'static,
    S::Value: std::fmt::Debug,
{
    common::with_deadline(LIMIT, move || {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(cases);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(error) = runner.run(&strategy, property) {
            panic!("{error}");
        }
    });
}

/// Checks that `pieces` tile `0..len` exactly: sorted by start, each begins
/// where the previous ended.
fn assert_tiles(len: usize, mut pieces: Vec<Range<usize>>) -> Result<(), TestCaseError> {
    pieces.sort_by_key(|piece| (piece.start, piece.end));
    let mut next = 0;
    for piece in &pieces {
        prop_assert!(piece.start <= piece.end, "reversed range {:?}", piece);
        prop_assert_eq!(
            piece.start,
            next,
            "gap or overlap at {:?} in {:?}",
            piece,
            pieces
        );
        next = piece.end;
    }
    prop_assert_eq!(next, len, "the pieces stop short of {}: {:?}", len, pieces);
    Ok(())
}

fn pool(threads: usize) -> Pool {
    Pool::new(threads)
}

// ---------------------------------------------------------------- split_evenly

#[test]
fn split_evenly_tiles_the_range_with_sizes_differing_by_at_most_one() {
    check(2_000, (0usize..10_000, 1usize..200), |(len, parts)| {
        let pieces: Vec<_> = split_evenly(len, parts).collect();
        prop_assert_eq!(pieces.len(), parts);
        // In order, no gaps, no overlaps.
        let mut next = 0;
        for piece in &pieces {
            prop_assert_eq!(piece.start, next);
            next = piece.end;
        }
        prop_assert_eq!(next, len);
        let sizes: Vec<usize> = pieces.iter().map(|piece| piece.len()).collect();
        let (smallest, largest) = (*sizes.iter().min().unwrap(), *sizes.iter().max().unwrap());
        prop_assert!(largest - smallest <= 1, "sizes {:?}", sizes);
        // numpy.array_split: the first `len % parts` are the longer ones.
        for (index, size) in sizes.iter().enumerate() {
            prop_assert_eq!(*size, len / parts + usize::from(index < len % parts));
        }
        // The iterator is exact-size and double-ended, both consistent.
        prop_assert_eq!(split_evenly(len, parts).len(), parts);
        let backwards: Vec<_> = split_evenly(len, parts).rev().collect();
        prop_assert!(backwards.iter().rev().eq(pieces.iter()));
        Ok(())
    });
}

// ---------------------------------------------------------------- for_each_range

#[test]
fn for_each_range_covers_every_index_exactly_once_in_pieces_differing_by_at_most_one() {
    check(500, (0usize..5_000, 1usize..6), |(len, threads)| {
        let pool = pool(threads);
        let pieces = Mutex::new(Vec::new());
        let touched: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(0)).collect();
        pool.for_each_range(len, |range| {
            for index in range.clone() {
                touched[index].fetch_add(1, Ordering::Relaxed);
            }
            pieces.lock().unwrap().push(range);
        });
        pool.shutdown();
        let pieces = pieces.into_inner().unwrap();
        prop_assert!(
            pieces.iter().all(|piece| !piece.is_empty()),
            "an empty range was handed out: {:?}",
            pieces
        );
        if let (Some(smallest), Some(largest)) = (
            pieces.iter().map(|piece| piece.len()).min(),
            pieces.iter().map(|piece| piece.len()).max(),
        ) {
            prop_assert!(
                largest - smallest <= 1,
                "sizes differ by more than one: {:?}",
                pieces
            );
        }
        // Sized for all threads: at least one piece each while len allows.
        prop_assert!(
            pieces.len() >= len.min(threads),
            "{} pieces for {} threads",
            pieces.len(),
            threads
        );
        for (index, count) in touched.iter().enumerate() {
            prop_assert_eq!(
                count.load(Ordering::Relaxed),
                1,
                "index {} of {}",
                index,
                len
            );
        }
        assert_tiles(len, pieces)
    });
}

// ---------------------------------------------------------------- map, imap

fn expected(items: &[u32]) -> Vec<u64> {
    items.iter().map(|&x| u64::from(x) * 3 + 1).collect()
}

#[test]
fn map_keeps_order_and_length_for_any_input_and_thread_count() {
    check(
        400,
        (prop::collection::vec(any::<u32>(), 0..300), 1usize..6),
        |(items, threads)| {
            let pool = pool(threads);
            let results = pool.map(items.iter(), |&x| u64::from(x) * 3 + 1);
            pool.shutdown();
            prop_assert_eq!(results, expected(&items));
            Ok(())
        },
    );
}

#[test]
fn imap_keeps_order_and_length_for_any_input_chunking_and_thread_count() {
    check(
        400,
        (
            prop::collection::vec(any::<u32>(), 0..300),
            1usize..6,
            1usize..8,
            1usize..12,
        ),
        |(items, threads, chunk_size, buffer)| {
            let pool = pool(threads);
            let results: Vec<u64> = pool
                .imap(items.clone(), |x| u64::from(x) * 3 + 1)
                .chunk_size(chunk_size)
                .buffer(buffer)
                .collect();
            let mut unordered: Vec<u64> = pool
                .imap_unordered(items.clone(), |x| u64::from(x) * 3 + 1)
                .chunk_size(chunk_size)
                .buffer(buffer)
                .collect();
            pool.shutdown();
            let want = expected(&items);
            prop_assert_eq!(&results, &want);
            unordered.sort_unstable();
            let mut want_sorted = want;
            want_sorted.sort_unstable();
            prop_assert_eq!(unordered, want_sorted);
            Ok(())
        },
    );
}

// ---------------------------------------------------------------- thread_job

/// spacepy's subjob start: `int(i * size / count + 0.5)`, computed exactly.
fn spacepy_start(i: usize, size: usize, count: usize) -> usize {
    let (i, size, count) = (i as u128, size as u128, count as u128);
    ((2 * i * size + count) / (2 * count)) as usize
}

#[test]
fn thread_job_calls_target_once_per_subjob_with_spacepys_bounds() {
    check(
        400,
        (0usize..2_000, 1usize..24, any::<bool>()),
        |(size, count, sequential)| {
            let calls = Mutex::new(Vec::new());
            let caller = std::thread::current().id();
            let on_caller = AtomicUsize::new(0);
            let thread_count = if sequential {
                -(count as isize)
            } else {
                count as isize
            };
            thread_job(size, thread_count, |start, len| {
                if std::thread::current().id() == caller {
                    on_caller.fetch_add(1, Ordering::Relaxed);
                }
                calls.lock().unwrap().push((start, len));
            });
            let calls = calls.into_inner().unwrap();
            prop_assert_eq!(calls.len(), count, "one call per subjob, empty ones too");
            if sequential {
                prop_assert_eq!(
                    on_caller.load(Ordering::Relaxed),
                    count,
                    "sequential mode runs on the caller"
                );
                prop_assert!(
                    calls.windows(2).all(|pair| pair[0].0 <= pair[1].0),
                    "sequential calls in order: {:?}",
                    calls
                );
            }
            let mut sorted = calls.clone();
            sorted.sort_unstable();
            for (i, &(start, len)) in sorted.iter().enumerate() {
                prop_assert_eq!(
                    start,
                    spacepy_start(i, size, count),
                    "subjob {} of {:?}",
                    i,
                    sorted
                );
                prop_assert_eq!(
                    start + len,
                    spacepy_start(i + 1, size, count),
                    "subjob {} of {:?}",
                    i,
                    sorted
                );
            }
            let sizes: Vec<usize> = sorted.iter().map(|&(_, len)| len).collect();
            prop_assert!(
                sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
                "sizes {:?}",
                sizes
            );
            assert_tiles(
                size,
                sorted
                    .iter()
                    .map(|&(start, len)| start..start + len)
                    .collect(),
            )
        },
    );
}
