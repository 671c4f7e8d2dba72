//! Sections 1–5: the Python programs workcrew replaces (spacepy's squares, the URL fetcher of the multiprocessing.dummy tutorials, threadpool's requests, thread_job, thread_map).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use workcrew::{Pool, TaskError};

use crate::helpers::*;

// ------------------------------------------------------------------ 1. squares

/// spacepy's `thread_job` example squares 100 million numbers; 20 million
/// keep the tour quick and are still far larger than any cache.
const SQUARES: usize = 20_000_000;

fn random_digits(len: usize) -> Vec<i64> {
    let mut rng = Lcg(8_675_301);
    (0..len).map(|_| (rng.next() % 100) as i64).collect()
}

/// The loop every side of section 1 runs. Not inlined, so the sequential
/// and the parallel callers run the same machine code.
#[inline(never)]
fn square_into(src: &[i64], dst: &mut [i64]) {
    for (out, x) in dst.iter_mut().zip(src) {
        *out = x * x;
    }
}

/// The same square, with the work split across all cores, three ways.
pub(crate) fn squares(cores: usize) {
    header(
        "1. squares of 20,000,000 i64 (the loop of spacepy's thread_job example)",
        "b[i] = a[i]²: one loop, the loop split by hand over std threads, pool.for_each_chunk_mut",
    );
    let a = random_digits(SQUARES);
    let mut b = vec![0i64; SQUARES];
    let pool = Pool::new(0);
    let threads = pool.max_threads();

    let one_loop = |b: &mut Vec<i64>| time(|| square_into(&a, b));
    let by_hand = |b: &mut Vec<i64>| {
        let per_thread = SQUARES.div_ceil(cores);
        time(|| {
            std::thread::scope(|s| {
                for (src, dst) in a.chunks(per_thread).zip(b.chunks_mut(per_thread)) {
                    s.spawn(move || square_into(src, dst));
                }
            })
        })
    };
    let with_pool = |b: &mut Vec<i64>| {
        time(|| {
            pool.for_each_chunk_mut(b, |offset, chunk| {
                square_into(&a[offset..offset + chunk.len()], chunk)
            })
        })
    };
    let times = interleaved(&mut b, &[&one_loop, &by_hand, &with_pool]);
    assert!(b.iter().zip(&a).all(|(square, x)| *square == x * x));

    let (one, hand, pooled) = (times[0], times[1], times[2]);
    let by_hand = one.as_secs_f64() / hand.as_secs_f64();
    println!("   first five: {:?}", &b[..5]);
    println!("   {:<40} {:>9}", "one loop", secs(one));
    println!(
        "   {:<40} {:>9}   {}",
        format!("split by hand, {cores} std threads"),
        secs(hand),
        speedup(one, hand, Limit::Cores(cores))
    );
    println!(
        "   {:<40} {:>9}   {}",
        format!("pool.for_each_chunk_mut ({threads} threads)"),
        secs(pooled),
        speedup(one, pooled, Limit::Memory { cores, by_hand })
    );
    println!();
}

// ------------------------------------------------------------------ 2. fetch

/// The URL fetcher of the `multiprocessing.dummy` tutorials: `pool.map`
/// over a list of URLs on pools of growing size. Each "fetch" is a 10–30 ms
/// sleep (the tutorials' pages take 100–300 ms; a tenth keeps the tour
/// quick). Sleeps need no CPU, so many threads overlap them on few cores.
pub(crate) fn fetch_urls() {
    header(
        "2. fetching 40 URLs (multiprocessing.dummy's example; each fetch a 10–30 ms sleep)",
        "pool.map(urls, fetch) on pools of 1, 4, 8 and 13 threads",
    );
    let mut rng = Lcg(40);
    let urls: Vec<(String, u64)> = (0..40)
        .map(|i| {
            (
                format!("https://example.org/page/{i}"),
                10 + rng.next() % 21,
            )
        })
        .collect();
    let fetch = |(url, ms): &(String, u64)| {
        std::thread::sleep(Duration::from_millis(*ms));
        format!("{url}: {} bytes", ms * 370)
    };
    let total: u64 = urls.iter().map(|(_, ms)| ms).sum();
    let longest = urls.iter().map(|(_, ms)| *ms).max().unwrap_or(1);
    let mut one_thread = None;
    println!("   {:>7}  {:>9}  speed-up", "threads", "time");
    for threads in [1, 4, 8, 13] {
        let pool = Pool::new(threads);
        let (pages, took) = timed(|| pool.map(&urls, fetch));
        assert_eq!(pages.len(), urls.len());
        let base = *one_thread.get_or_insert(took);
        // No schedule beats the longest sleep, nor the sum shared out evenly.
        let shortest = (longest as f64).max(total as f64 / threads as f64);
        println!(
            "   {threads:>7}  {:>9}  {}",
            secs(took),
            speedup(base, took, Limit::Waits(total as f64 / shortest))
        );
    }
    println!(
        "   (1 thread is the sequential version: the sum of the sleeps, {} ms)\n",
        total
    );
}

// ------------------------------------------------------------------ 3. requests

/// The classic `threadpool` module's example: requests with results and
/// callbacks, some raising errors, while the pool is resized mid-run.
pub(crate) fn requests_with_callbacks() {
    header(
        "3. requests with callbacks (the classic `threadpool` module)",
        "20 jobs; every 5th raises; results and errors reported by on_complete; pool resized 2 → 6 → 3",
    );
    let pool = Pool::new(2);
    let log = Arc::new(Mutex::new(Vec::new()));
    let ((), took) = timed(|| {
        for job in 0..20u64 {
            if job == 7 {
                pool.set_threads(6);
                log.lock()
                    .unwrap()
                    .push(format!("-- resized to {} threads", pool.max_threads()));
            }
            if job == 14 {
                pool.set_threads(3);
                log.lock()
                    .unwrap()
                    .push(format!("-- resized to {} threads", pool.max_threads()));
            }
            let handle = pool.spawn(move || {
                std::thread::sleep(Duration::from_millis(20 + job * 3));
                if job % 5 == 4 {
                    panic!("job {job}: upstream returned 503");
                }
                job * job
            });
            let log = log.clone();
            handle.on_complete(move |outcome| {
                let line = match outcome {
                    Ok(value) => format!("job {job:>2} -> result {value}"),
                    Err(_) => {
                        let error = outcome_text(&outcome);
                        format!("job {job:>2} -> error: {error}")
                    }
                };
                log.lock().unwrap().push(line);
            });
        }
        pool.join();
    });
    let lines = log.lock().unwrap();
    for line in lines.iter() {
        println!("   {line}");
    }
    let stats = pool.stats();
    println!(
        "   {} completed, {} panicked (caught as values), {} threads now, {}",
        stats.completed,
        stats.panicked,
        stats.threads,
        secs(took)
    );
    println!(
        "   sequentially the jobs would take {}\n",
        secs(Duration::from_millis((0..20).map(|j| 20 + j * 3).sum()))
    );
}

fn outcome_text(outcome: &Result<u64, TaskError>) -> String {
    match outcome {
        Ok(value) => value.to_string(),
        Err(error) => error.panic_message().unwrap_or("cancelled").to_string(),
    }
}

// ------------------------------------------------------------------ 4. thread_job

/// The `targ` of spacepy's `thread_job` example: squares of `a[start..]`
/// into `b`. Not inlined, so every call of `thread_job` runs the same
/// machine code whatever its mode.
#[inline(never)]
fn square_range(a: &[i64], b: &[AtomicI64], start: usize, count: usize) {
    let range = start..start + count;
    for (out, x) in b[range.clone()].iter().zip(&a[range]) {
        out.store(x * x, Ordering::Relaxed);
    }
}

/// spacepy's `thread_job` squares example in its three modes: -1 (one
/// subjob on the caller, spacepy's debugging mode), 0 (one per core), 2.
pub(crate) fn spacepy_thread_job(cores: usize) {
    header(
        "4. spacepy's thread_job: squares of 20,000,000 numbers",
        "thread_job(len, n, targ) calls targ(start, count) once per subjob",
    );
    let a = random_digits(SQUARES);
    let b: Vec<AtomicI64> = (0..SQUARES).map(|_| AtomicI64::new(0)).collect();
    let targ = |start: usize, count: usize| square_range(&a, &b, start, count);
    let job =
        |threads: isize| move |_: &mut ()| time(|| workcrew::thread_job(SQUARES, threads, targ));
    let by_hand = |_: &mut ()| {
        time(|| {
            std::thread::scope(|s| {
                for piece in workcrew::split_evenly(SQUARES, cores) {
                    s.spawn(move || targ(piece.start, piece.len()));
                }
            })
        })
    };
    let (sequential, per_core, two) = (job(-1), job(0), job(2));
    let times = interleaved(&mut (), &[&sequential, &by_hand, &per_core, &two]);
    assert!(b
        .iter()
        .zip(&a)
        .all(|(square, x)| square.load(Ordering::Relaxed) == x * x));

    let base = times[0];
    let by_hand = base.as_secs_f64() / times[1].as_secs_f64();
    println!("   {:<32} {:<26} {:>9}  speed-up", "call", "", "time");
    let rows = [
        (
            "thread_job(len(a), -1, targ)",
            "# 1 subjob on the caller",
            times[0],
            None,
        ),
        (
            "split by hand (std threads)",
            "# one thread per core",
            times[1],
            Some(Limit::Cores(cores)),
        ),
        (
            "thread_job(len(a), 0, targ)",
            "# one subjob per core",
            times[2],
            Some(Limit::Memory { cores, by_hand }),
        ),
        (
            "thread_job(len(a), 2, targ)",
            "# 2 subjobs",
            times[3],
            Some(Limit::Memory {
                cores: cores.min(2),
                by_hand,
            }),
        ),
    ];
    for (call, meaning, took, limit) in rows {
        let verdict = limit.map_or_else(
            || "(the sequential version)".to_string(),
            |limit| speedup(base, took, limit),
        );
        println!("   {call:<32} {meaning:<26} {:>9}  {verdict}", secs(took));
    }
    let first: Vec<i64> = b[..5].iter().map(|x| x.load(Ordering::Relaxed)).collect();
    println!("   print(b[0:5]) -> {first:?}\n");
}

// ------------------------------------------------------------------ 5. thread_map

/// The work of each `thread_map` call below: a square root per element,
/// summed (compute-bound, as spacepy's numpy targets are). Not inlined, so
/// both sides run the same machine code.
#[inline(never)]
fn root_sum(array: &[f64]) -> u64 {
    array.iter().map(|x| x.sqrt()).sum::<f64>().round() as u64
}

/// spacepy's `thread_map`: one result per array of a list, in order.
pub(crate) fn thread_map_over_a_list(cores: usize) {
    header(
        "5. spacepy's thread_map: sums of square roots of 100 arrays",
        "thread_map(inputs, 0, root_sum) keeps the input order",
    );
    let inputs: Vec<Vec<f64>> = (0..100u32)
        .map(|i| (0..50_000).map(|x| f64::from(x % (i + 7))).collect())
        .collect();
    let expected: Vec<u64> = inputs.iter().map(|array| root_sum(array)).collect();
    let sequential = |_: &mut ()| {
        let (sums, took) = timed(|| {
            inputs
                .iter()
                .map(|array| root_sum(array))
                .collect::<Vec<_>>()
        });
        assert_eq!(sums, expected);
        took
    };
    let parallel = |_: &mut ()| {
        let (sums, took) = timed(|| workcrew::thread_map(&inputs, 0, |array| root_sum(array)));
        assert_eq!(sums, expected);
        took
    };
    let times = interleaved(&mut (), &[&sequential, &parallel]);
    println!(
        "   root_sum[0], root_sum[50], root_sum[99] = {}, {}, {}",
        expected[0], expected[50], expected[99]
    );
    println!("   {:<20} {:>9}", "sequential", secs(times[0]));
    println!(
        "   {:<20} {:>9}   {}\n",
        "thread_map",
        secs(times[1]),
        speedup(times[0], times[1], Limit::Cores(cores))
    );
}
