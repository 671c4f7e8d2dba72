//! A tour of workcrew through the Python programs it replaces: the squares
//! example of spacepy's `thread_job`, the URL fetcher of the
//! `multiprocessing.dummy` tutorials, the classic `threadpool` module's
//! requests with callbacks, spacepy's `thread_map`; then what those pools
//! have no answer to: streaming with `imap`, recursive `fork_join`, `race`;
//! for rayon users, a word count written with `workcrew::prelude::*`; and
//! control of running work (a progress bar, deadlines, cancellation).
//!
//! Every timing compares like with like. Both sides run the same
//! non-inlined function on memory that is already touched; each side runs
//! once untimed, then the sides take turns for five rounds (rotating who
//! goes first) and the medians are shown. Every speed-up is printed with the
//! most its work allows: one core per thread for CPU work, what a hand-made
//! split over one std thread per core gains for a memory-bound loop, the
//! overlap of the waits for sleeps. A figure above that limit is flagged as
//! a disturbed measurement rather than shown as a speed-up.
//!
//! Run with `cargo run --release --example tour`.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use workcrew::{Pool, TaskError};

fn main() {
    // Some jobs below fail on purpose; the pool hands their panics back as
    // values, and the tour prints them itself. Keep the default hook's
    // "thread panicked" lines out of the tables.
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("workcrew tour — {cores} CPU(s){}\n", load_note(cores));

    squares(cores);
    fetch_urls();
    requests_with_callbacks();
    spacepy_thread_job(cores);
    thread_map_over_a_list(cores);
    streaming_with_imap();
    recursive_fork_join(cores);
    first_mirror_wins();
    word_count_as_in_rayon(cores);
    control_of_running_work();

    println!("tour finished in {}", secs(started.elapsed()));
}

// ------------------------------------------------------------------ helpers

fn header(title: &str, what: &str) {
    println!("== {title}");
    println!("   {what}");
}

fn secs(d: Duration) -> String {
    if d < Duration::from_millis(100) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

/// Set when the load average says other programs compete for the cores.
static IS_BUSY: AtomicBool = AtomicBool::new(false);

/// The load average, when other programs compete for the cores.
fn load_note(cores: usize) -> String {
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok());
    let is_busy = load.is_some_and(|load| load >= 0.5 * cores as f64);
    // Relaxed: read later by this same thread only.
    IS_BUSY.store(is_busy, Ordering::Relaxed);
    match load {
        Some(load) if is_busy => format!(
            ", load average {load:.2}: other programs are running, so speed-ups will be lower"
        ),
        Some(load) => format!(", load average {load:.2}"),
        None => String::new(),
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

fn time(f: impl FnOnce()) -> Duration {
    timed(f).1
}

/// Rounds each side is timed, after its untimed warm-up run.
const ROUNDS: usize = 5;

/// Runs every side once untimed (pages touched, threads started, caches
/// warm), then `ROUNDS` rounds in which every side runs once, the first
/// side rotating from round to round, so that a busy moment of the machine
/// does not land on one side only. Each side times its own run (so that
/// preparing its input stays out of the timing) and gets `state` to work
/// on. Returns each side's median.
fn interleaved<S>(state: &mut S, sides: &[&dyn Fn(&mut S) -> Duration]) -> Vec<Duration> {
    for side in sides {
        side(state);
    }
    let mut times = vec![Vec::with_capacity(ROUNDS); sides.len()];
    for round in 0..ROUNDS {
        for turn in 0..sides.len() {
            let index = (round + turn) % sides.len();
            times[index].push(sides[index](state));
        }
    }
    times
        .into_iter()
        .map(|mut runs| {
            runs.sort();
            runs[runs.len() / 2]
        })
        .collect()
}

/// The most that running some work in parallel can gain over running it
/// sequentially.
#[derive(Clone, Copy)]
enum Limit {
    /// CPU-bound work on this many threads (or cores, if fewer).
    Cores(usize),
    /// A memory-bound loop on this many cores; `by_hand` is what splitting
    /// the same loop by hand over one std thread per core gained, measured
    /// beside it: what the memory system allows, give or take the noise.
    Memory { cores: usize, by_hand: f64 },
    /// Waiting (sleeps standing in for I/O): the sum of the waits over the
    /// shortest time any schedule on this many threads can take.
    Waits(f64),
}

/// How many times faster `parallel` was than `sequential`, said with its
/// limit. A ratio above the limit is flagged, never shown as a speed-up.
fn speedup(sequential: Duration, parallel: Duration, limit: Limit) -> String {
    let ratio = sequential.as_secs_f64() / parallel.as_secs_f64();
    let most = match limit {
        Limit::Cores(n) | Limit::Memory { cores: n, .. } => n as f64,
        Limit::Waits(most) => most.max(1.0),
    };
    // 10 %: about the spread of a median of five on a shared machine.
    if ratio > most * 1.1 {
        return format!(
            "{ratio:.2}× ?  above the {most:.1}× this work allows: the timings were disturbed, \
             this is not a speed-up"
        );
    }
    if let Limit::Memory { by_hand, .. } = limit {
        return if by_hand < 1.25 && ratio < 1.25 && IS_BUSY.load(Ordering::Relaxed) {
            format!(
                "{ratio:.2}×  no speed-up measured, but the machine is busy: this does not \
                 tell what the memory allows"
            )
        } else if by_hand < 1.25 && ratio < 1.25 {
            format!(
                "{ratio:.2}×  memory-bound: one core already keeps the memory busy (the loop \
                 split by hand gets {by_hand:.2}×), so no speed-up is within reach"
            )
        } else {
            format!("{ratio:.2}×  (memory-bound; the loop split by hand gets {by_hand:.2}×)")
        };
    }
    if ratio < 0.9 {
        return format!("{ratio:.2}×  slower: the machine is busy or the work too small to split");
    }
    match limit {
        Limit::Waits(most) => format!("{ratio:.2}×  (at most {most:.1}× for these waits)"),
        _ => format!("{ratio:.2}×  (at most {most}× on {most} cores)"),
    }
}

/// A small deterministic generator, so every run of the tour is the same.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

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
fn squares(cores: usize) {
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
fn fetch_urls() {
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
fn requests_with_callbacks() {
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
fn spacepy_thread_job(cores: usize) {
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
fn thread_map_over_a_list(cores: usize) {
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

// ------------------------------------------------------------------ 6. imap

/// Streaming: results arrive in order while a slow consumer works.
fn streaming_with_imap() {
    header(
        "6. streaming with imap and a slow consumer",
        "12 items, each 40 ms of work on 4 threads; the consumer spends 20 ms per result",
    );
    let pool = Pool::new(4);
    let start = Instant::now();
    println!("   {:>4}  {:>8}  {:>10}", "item", "result", "arrived at");
    let results = pool
        .imap(0..12u64, |x| {
            std::thread::sleep(Duration::from_millis(40));
            x * 10
        })
        .buffer(4);
    for (i, value) in results.enumerate() {
        println!("   {i:>4}  {value:>8}  {:>10}", secs(start.elapsed()));
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "   total {} (sequentially: 12 × (40 + 20) ms = 720 ms)\n",
        secs(start.elapsed())
    );
}

// ------------------------------------------------------------------ 7. fork_join

/// Below the cutoff of [`fib`]: plain recursion, not inlined, so the
/// sequential and the forking runs spend their time in the same code.
#[inline(never)]
fn fib_sequential(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_sequential(n - 1) + fib_sequential(n - 2)
    }
}

/// fib(n), split in two above n = 20: with `fork_join` when `fork` is set,
/// else one half after the other. The same code either way.
fn fib(n: u64, fork: bool) -> u64 {
    if n <= 20 {
        return fib_sequential(n);
    }
    let (a, b) = if fork {
        workcrew::fork_join(|| fib(n - 1, fork), || fib(n - 2, fork))
    } else {
        (fib(n - 1, fork), fib(n - 2, fork))
    };
    a + b
}

/// Merges the sorted `left` and `right` into `out`.
fn merge<T: Copy + Ord>(left: &[T], right: &[T], out: &mut [T]) {
    let (mut i, mut j) = (0, 0);
    for slot in out.iter_mut() {
        if j == right.len() || (i < left.len() && left[i] <= right[j]) {
            *slot = left[i];
            i += 1;
        } else {
            *slot = right[j];
            j += 1;
        }
    }
}

/// Merge sort: sort both halves, in parallel with `fork_join` when `fork`
/// is set, then merge them through `scratch` (as long as `values`). The
/// same code either way.
fn merge_sort<T: Copy + Ord + Send>(values: &mut [T], scratch: &mut [T], fork: bool) {
    // Pieces of 2^18 (256 Ki) give a 2,000,000-number sort eight leaves:
    // enough to share out over a few cores, and only three merge passes.
    if values.len() <= 1 << 18 {
        values.sort_unstable();
        return;
    }
    let middle = values.len() / 2;
    {
        let (left, right) = values.split_at_mut(middle);
        let (left_scratch, right_scratch) = scratch.split_at_mut(middle);
        if fork {
            workcrew::fork_join(
                || merge_sort(left, left_scratch, fork),
                || merge_sort(right, right_scratch, fork),
            );
        } else {
            merge_sort(left, left_scratch, fork);
            merge_sort(right, right_scratch, fork);
        }
    }
    let (left, right) = values.split_at(middle);
    merge(left, right, scratch);
    values.copy_from_slice(scratch);
}

/// Numbers the merge sort sorts.
const SORTED: usize = 2_000_000;

/// Recursive divide and conquer with fork_join.
fn recursive_fork_join(cores: usize) {
    header(
        "7. recursive fork_join",
        "fib(34) forking above n = 20, and a merge sort of 2,000,000 numbers; each against the same code not forking",
    );
    let pool = Pool::new(0);
    let expected = fib_sequential(34);
    let fib_on_pool = |fork: bool| {
        let pool = &pool;
        move |_: &mut ()| {
            let (value, took) = timed(|| pool.apply(|| fib(black_box(34), black_box(fork))));
            assert_eq!(value, expected);
            took
        }
    };
    let (sequential, forking) = (fib_on_pool(false), fib_on_pool(true));
    let times = interleaved(&mut (), &[&sequential, &forking]);
    println!(
        "   {:<34} {:>9}",
        "fib(34), halves one after the other",
        secs(times[0])
    );
    println!(
        "   {:<34} {:>9}   {}  (= {expected})",
        "fib(34) with fork_join",
        secs(times[1]),
        speedup(times[0], times[1], Limit::Cores(cores))
    );

    let mut rng = Lcg(7);
    let data: Vec<u64> = (0..SORTED).map(|_| rng.next()).collect();
    let mut sorted = data.clone();
    sorted.sort_unstable();
    // Each side sorts a copy of `data` made outside its timing.
    let mut buffers = (data.clone(), data.clone());
    let std_sort = |(v, _): &mut (Vec<u64>, Vec<u64>)| {
        v.copy_from_slice(&data);
        let took = time(|| v.sort_unstable());
        assert!(*v == sorted);
        took
    };
    let merge_sort_on_pool = |fork: bool| {
        let (pool, data, sorted) = (&pool, &data, &sorted);
        move |(v, scratch): &mut (Vec<u64>, Vec<u64>)| {
            v.copy_from_slice(data);
            let took = time(|| pool.apply(|| merge_sort(v, scratch, black_box(fork))));
            assert!(v == sorted);
            took
        }
    };
    let (one_thread, forking) = (merge_sort_on_pool(false), merge_sort_on_pool(true));
    let times = interleaved(&mut buffers, &[&std_sort, &one_thread, &forking]);
    println!(
        "   {:<40} {:>9}",
        "merge sort, halves one after the other",
        secs(times[1])
    );
    println!(
        "   {:<40} {:>9}   {}",
        "merge sort with fork_join",
        secs(times[2]),
        speedup(times[1], times[2], Limit::Cores(cores))
    );
    println!(
        "   {:<40} {:>9}   (std's one-thread sort, for scale: {})\n",
        "slice::sort_unstable",
        secs(times[0]),
        versus(times[0], times[2], "the fork_join merge sort")
    );
}

/// `who` against a reference time, in words.
fn versus(reference: Duration, took: Duration, who: &str) -> String {
    let ratio = reference.as_secs_f64() / took.as_secs_f64();
    if ratio >= 1.0 {
        format!("{who} is {ratio:.2}× faster")
    } else {
        format!("{who} takes {:.2}× its time", ratio.recip())
    }
}

// ------------------------------------------------------------------ 8. race

/// "Ask every mirror, keep the first answer."
fn first_mirror_wins() {
    header(
        "8. first mirror wins (pool.race)",
        "four mirrors; the fastest one fails, the second fastest answers; the others are asked to stop",
    );
    let pool = Pool::new(4);
    let mirrors = [
        ("eu.mirror", 40u64, true),
        ("us.mirror", 90, false),
        ("asia.mirror", 160, false),
        ("fast.broken", 10, false),
    ];
    let candidates = mirrors.map(|(host, ms, healthy)| {
        move || {
            std::thread::sleep(Duration::from_millis(ms));
            if healthy {
                Ok(format!("{host} answered after {ms} ms"))
            } else {
                Err(format!("{host} failed after {ms} ms"))
            }
        }
    });
    let (winner, took) = timed(|| pool.race(candidates));
    match winner {
        Ok(answer) => println!("   {answer}; race returned after {}", secs(took)),
        Err(errors) => println!("   every mirror failed: {errors:?}"),
    }
    let all_fail = pool.race([|| Err::<(), _>("a: timeout"), || Err("b: refused")]);
    println!("   when all fail: {:?}", all_fail.unwrap_err());
    println!("   (sequentially, trying mirrors in order would take 10 + 40 = 50 ms at best, 300 ms at worst)\n");
}

// ------------------------------------------------------------------ 9. rayon's prelude

/// Words of the word count: a fixed vocabulary, so every run is the same.
const WORDS: [&str; 12] = [
    "pool", "thread", "task", "join", "fork", "queue", "steal", "park", "wake", "latch", "frame",
    "piece",
];

/// Counts one line's words into `counts` (the same code on both sides).
#[inline(never)]
fn count_words<'a>(
    mut counts: std::collections::HashMap<&'a str, usize>,
    line: &'a str,
) -> std::collections::HashMap<&'a str, usize> {
    for word in line.split_whitespace() {
        *counts.entry(word).or_default() += 1;
    }
    counts
}

/// Adds `b`'s counts into `a`.
fn merge_counts<'a>(
    mut a: std::collections::HashMap<&'a str, usize>,
    b: std::collections::HashMap<&'a str, usize>,
) -> std::collections::HashMap<&'a str, usize> {
    for (word, n) in b {
        *a.entry(word).or_default() += n;
    }
    a
}

/// A word count the way a rayon user writes it: `use workcrew::prelude::*`
/// instead of `use rayon::prelude::*`, and nothing else changes.
fn word_count_as_in_rayon(cores: usize) {
    use workcrew::prelude::*;
    header(
        "9. coming from rayon: a word count with par_iter().fold().reduce()",
        "200,000 lines of 10 words; the same fold on one thread, then with workcrew's prelude",
    );
    let mut rng = Lcg(11);
    let lines: Vec<String> = (0..200_000)
        .map(|_| {
            (0..10)
                .map(|_| WORDS[rng.next() as usize % WORDS.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let expected = lines
        .iter()
        .fold(std::collections::HashMap::new(), |c, l| count_words(c, l));
    let pool = Pool::new(0);
    let sequential = |_: &mut ()| {
        let (counts, took) = timed(|| {
            lines
                .iter()
                .fold(std::collections::HashMap::new(), |c, l| count_words(c, l))
        });
        assert_eq!(counts, expected);
        took
    };
    let parallel = |_: &mut ()| {
        let (counts, took) = timed(|| {
            pool.install(|| {
                lines
                    .par_iter()
                    .fold(std::collections::HashMap::new, |c, l| count_words(c, l))
                    .reduce(std::collections::HashMap::new, merge_counts)
            })
        });
        assert_eq!(counts, expected);
        took
    };
    let times = interleaved(&mut (), &[&sequential, &parallel]);
    let total: usize = expected.values().sum();
    println!("   {:<40} {:>9}", "lines.iter().fold(..)", secs(times[0]));
    println!(
        "   {:<40} {:>9}   {}  ({total} words, {} distinct)\n",
        "lines.par_iter().fold(..).reduce(..)",
        secs(times[1]),
        speedup(times[0], times[1], Limit::Cores(cores)),
        expected.len()
    );
}

// ------------------------------------------------------------------ 10. control

/// A progress bar on a long `imap`, per-item deadlines and stopping a
/// running task: what Python's pools cannot do to work already started.
fn control_of_running_work() {
    header(
        "10. control of running work: a progress bar, deadlines, cancellation",
        "240 items of 4 ms on 4 threads behind an indicatif bar (drawn when stderr is a terminal)",
    );
    let pool = Pool::new(4);
    let items = 240u64;
    let bar = indicatif::ProgressBar::new(items);
    let progress = bar.clone();
    let (sum, took) = timed(|| {
        pool.imap(0..items, |x| {
            std::thread::sleep(Duration::from_millis(4));
            x
        })
        // Counts finished items (on the workers), not the ones the reader
        // has taken: the bar moves while the reader is busy.
        .on_progress(move |p| progress.set_position(p.done as u64))
        .sum::<u64>()
    });
    bar.finish_and_clear();
    println!(
        "   sum {sum} in {} (sequentially 240 × 4 ms = 960 ms); the bar counted {} finished items",
        secs(took),
        bar.position()
    );

    let outcomes = pool.map_with_timeout(0..6u64, Duration::from_millis(30), |n| {
        if n == 3 {
            // A stuck item: only its deadline ends it.
            while !workcrew::is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        n * n
    });
    let shown: Vec<String> = outcomes
        .iter()
        .map(|outcome| match outcome {
            Ok(value) => value.to_string(),
            Err(error) if error.is_timed_out() => "timed out".to_string(),
            Err(error) => error.to_string(),
        })
        .collect();
    println!(
        "   map_with_timeout, 30 ms per item, item 3 stuck: [{}]",
        shown.join(", ")
    );

    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let handle = pool.spawn(move || -> u64 {
        started_tx.send(()).ok();
        loop {
            workcrew::checkpoint();
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    started_rx.recv().ok();
    let asked = Instant::now();
    handle.request_cancel();
    let outcome = handle.join();
    println!(
        "   a running task asked to stop: {} {} after the request\n",
        match outcome {
            Err(error) if error.is_cancelled() => "stopped at its checkpoint,".to_string(),
            other => format!("{other:?}"),
        },
        secs(asked.elapsed())
    );
    pool.shutdown();
}
