//! A tour of workcrew through the seed programs it replaces, each timed
//! against doing the same work sequentially.
//!
//! Run with `cargo run --release --example tour`.

use std::sync::atomic::{AtomicI64, Ordering};
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
    println!("workcrew tour — {cores} CPU(s)\n");

    squares();
    fetch_urls();
    requests_with_callbacks();
    spacepy_thread_job();
    thread_map_over_a_list();
    streaming_with_imap();
    recursive_fork_join();
    first_mirror_wins();

    println!("tour finished in {}", secs(started.elapsed()));
}

// ------------------------------------------------------------------ helpers

fn header(title: &str, what: &str) {
    println!("== {title}");
    println!("   {what}");
}

fn secs(d: Duration) -> String {
    if d < Duration::from_millis(10) {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

/// How many times faster `parallel` was than `sequential`, in words.
fn speedup(sequential: Duration, parallel: Duration) -> String {
    let ratio = sequential.as_secs_f64() / parallel.as_secs_f64();
    if ratio >= 1.0 {
        format!("{ratio:.2}× faster")
    } else {
        format!("{ratio:.2}× (slower: the machine is busy or the work too small)")
    }
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// The fastest of `runs` timings (the machine may be busy).
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, Duration) {
    let (mut value, mut best) = time(&mut f);
    for _ in 1..runs {
        let (v, d) = time(&mut f);
        if d < best {
            best = d;
            value = v;
        }
    }
    (value, best)
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

/// Seed: square 100 million numbers, split across all cores.
fn squares() {
    const N: usize = 100_000_000;
    header(
        "1. squares of 100,000,000 i64",
        "b[i] = a[i]² with the work split across all cores (memory bound)",
    );
    let mut rng = Lcg(8_675_301);
    let a: Vec<i64> = (0..N).map(|_| (rng.next() % 100) as i64).collect();
    let mut b = vec![0i64; N];
    let pool = Pool::new(0);

    let ((), one_loop) = best_of(3, || {
        for (out, x) in b.iter_mut().zip(&a) {
            *out = x * x;
        }
    });
    let expected: i64 = b.iter().take(1000).sum();
    b.iter_mut().for_each(|x| *x = 0);
    let ((), parallel) = best_of(3, || {
        pool.for_each_chunk_mut(&mut b, |offset, chunk| {
            let input = &a[offset..offset + chunk.len()];
            for (out, x) in chunk.iter_mut().zip(input) {
                *out = x * x;
            }
        });
    });
    assert_eq!(b.iter().take(1000).sum::<i64>(), expected);
    println!("   first five: {:?}", &b[..5]);
    println!("   {:<34} {:>10}", "one loop", secs(one_loop));
    println!(
        "   {:<34} {:>10}   {}",
        format!("pool.for_each_chunk_mut ({} threads)", pool.max_threads()),
        secs(parallel),
        speedup(one_loop, parallel)
    );
    println!();
}

// ------------------------------------------------------------------ 2. fetch

/// Seed: "fetch" 40 URLs with a pool of threads, as in the
/// multiprocessing.dummy article; each fetch is a 100–300 ms sleep.
fn fetch_urls() {
    header(
        "2. fetching 40 URLs (each a 100–300 ms sleep standing in for the network)",
        "pool.map(urls, fetch) on pools of 1, 4, 8 and 13 threads",
    );
    let mut rng = Lcg(40);
    let urls: Vec<(String, u64)> = (0..40)
        .map(|i| {
            (
                format!("https://example.org/page/{i}"),
                100 + rng.next() % 201,
            )
        })
        .collect();
    let fetch = |(url, ms): &(String, u64)| {
        std::thread::sleep(Duration::from_millis(*ms));
        format!("{url}: {} bytes", ms * 37)
    };
    let mut one_thread = None;
    println!("   {:>7}  {:>9}  {:>8}", "threads", "time", "speed-up");
    for threads in [1, 4, 8, 13] {
        let pool = Pool::new(threads);
        let (pages, took) = time(|| pool.map(&urls, fetch));
        assert_eq!(pages.len(), urls.len());
        let base = *one_thread.get_or_insert(took);
        println!(
            "   {threads:>7}  {:>9}  {:>7.1}×",
            secs(took),
            base.as_secs_f64() / took.as_secs_f64()
        );
    }
    println!("   (1 thread is the sequential version: the sum of all the sleeps)\n");
}

// ------------------------------------------------------------------ 3. requests

/// Seed: the classic `threadpool` module — requests with results and
/// callbacks, some raising errors, while the pool is resized mid-run.
fn requests_with_callbacks() {
    header(
        "3. requests with callbacks (the classic `threadpool` module)",
        "20 jobs; every 5th raises; results and errors reported by on_complete; pool resized 2 → 6 → 3",
    );
    let pool = Pool::new(2);
    let log = Arc::new(Mutex::new(Vec::new()));
    let (_, took) = time(|| {
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

/// Seed: spacepy's `thread_job` squares example, 0 / 2 / -1 threads.
fn spacepy_thread_job() {
    const N: usize = 100_000_000;
    header(
        "4. spacepy's thread_job: squares of 100,000,000 numbers",
        "thread_job(len, n, targ) calls targ(start, count) once per subjob",
    );
    let mut rng = Lcg(8_675_301);
    let a: Vec<i64> = (0..N).map(|_| (rng.next() % 100) as i64).collect();
    let b: Vec<AtomicI64> = (0..N).map(|_| AtomicI64::new(0)).collect();
    let targ = |start: usize, count: usize| {
        let range = start..start + count;
        for (out, x) in b[range.clone()].iter().zip(&a[range]) {
            out.store(x * x, Ordering::Relaxed);
        }
    };
    let mut sequential = None;
    println!(
        "   {:<32} {:<24} {:>9}  {:>8}",
        "call", "", "time", "speed-up"
    );
    for (threads, meaning) in [
        (-1isize, "1 subjob on the caller"),
        (0, "one subjob per core"),
        (2, "2 subjobs"),
    ] {
        let ((), took) = best_of(2, || workcrew::thread_job(N, threads, targ));
        let base = *sequential.get_or_insert(took);
        println!(
            "   {:<32} {:<24} {:>9}  {:>7.2}×",
            format!("thread_job(len(a), {threads}, targ)"),
            format!("# {meaning}"),
            secs(took),
            base.as_secs_f64() / took.as_secs_f64()
        );
    }
    let first: Vec<i64> = b[..5].iter().map(|x| x.load(Ordering::Relaxed)).collect();
    println!("   print(b[0:5]) -> {first:?}\n");
}

// ------------------------------------------------------------------ 5. thread_map

/// Seed: spacepy's `thread_map` — one result per array of a list.
fn thread_map_over_a_list() {
    header(
        "5. spacepy's thread_map: sums of square roots of 100 arrays",
        "thread_map(inputs, 0, root_sum) keeps the input order",
    );
    let inputs: Vec<Vec<f64>> = (0..100u32)
        .map(|i| (0..50_000).map(|x| f64::from(x % (i + 7))).collect())
        .collect();
    // Compute-bound (a square root per element), as spacepy's numpy targets are.
    let total = |array: &Vec<f64>| array.iter().map(|x| x.sqrt()).sum::<f64>().round() as u64;
    let (sequential, one) = best_of(3, || inputs.iter().map(total).collect::<Vec<_>>());
    let (parallel, many) = best_of(3, || workcrew::thread_map(&inputs, 0, total));
    assert_eq!(sequential, parallel);
    println!(
        "   root_sum[0], root_sum[50], root_sum[99] = {}, {}, {}",
        parallel[0], parallel[50], parallel[99]
    );
    println!("   {:<20} {:>10}", "sequential", secs(one));
    println!(
        "   {:<20} {:>10}   {}\n",
        "thread_map",
        secs(many),
        speedup(one, many)
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

fn fib_sequential(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_sequential(n - 1) + fib_sequential(n - 2)
    }
}

fn fib(n: u64) -> u64 {
    if n <= 20 {
        return fib_sequential(n);
    }
    let (a, b) = workcrew::fork_join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn quicksort<T: Ord + Send>(values: &mut [T]) {
    if values.len() <= 4096 {
        values.sort_unstable();
        return;
    }
    // Partition around the median, then sort both halves in parallel.
    let middle = values.len() / 2;
    let (left, _, right) = values.select_nth_unstable(middle);
    workcrew::fork_join(|| quicksort(left), || quicksort(right));
}

/// Recursive divide and conquer with fork_join.
fn recursive_fork_join() {
    header(
        "7. recursive fork_join",
        "fib(34) forking above n = 20, and a quicksort of 5,000,000 numbers",
    );
    let pool = Pool::new(0);
    let (expected, seq) = best_of(3, || fib_sequential(std::hint::black_box(34)));
    let (value, par) = best_of(3, || pool.apply(|| fib(34)));
    assert_eq!(value, expected);
    println!("   {:<28} {:>10}", "fib(34) sequential", secs(seq));
    println!(
        "   {:<28} {:>10}   {}  (= {value})",
        "fib(34) fork_join",
        secs(par),
        speedup(seq, par)
    );

    let mut rng = Lcg(7);
    let data: Vec<u64> = (0..5_000_000).map(|_| rng.next()).collect();
    let (sorted, seq) = best_of(3, || {
        let mut v = data.clone();
        v.sort_unstable();
        v
    });
    let (parallel, par) = best_of(3, || {
        let mut v = data.clone();
        pool.apply(|| quicksort(&mut v));
        v
    });
    assert_eq!(sorted, parallel);
    println!("   {:<28} {:>10}", "sort_unstable (one thread)", secs(seq));
    println!(
        "   {:<28} {:>10}   {}\n",
        "quicksort with fork_join",
        secs(par),
        speedup(seq, par)
    );
}

// ------------------------------------------------------------------ 8. race

/// "Ask every mirror, keep the first answer."
fn first_mirror_wins() {
    header(
        "8. first mirror wins (pool.race)",
        "four mirrors; the fastest one fails, the second fastest answers; the others keep running detached",
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
    let (winner, took) = time(|| pool.race(candidates));
    match winner {
        Ok(answer) => println!("   {answer}; race returned after {}", secs(took)),
        Err(errors) => println!("   every mirror failed: {errors:?}"),
    }
    let all_fail = pool.race([|| Err::<(), _>("a: timeout"), || Err("b: refused")]);
    println!("   when all fail: {:?}", all_fail.unwrap_err());
    println!("   (sequentially, trying mirrors in order would take 10 + 40 = 50 ms at best, 300 ms at worst)\n");
}
