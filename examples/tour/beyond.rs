//! Sections 6–8: what those pools have no answer to: streaming with imap, recursive fork_join, race.

use std::hint::black_box;
use std::time::{Duration, Instant};

use workcrew::Pool;

use crate::helpers::*;

// ------------------------------------------------------------------ 6. imap

/// Streaming: results arrive in order while a slow consumer works.
pub(crate) fn streaming_with_imap() {
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
pub(crate) fn recursive_fork_join(cores: usize) {
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
pub(crate) fn first_mirror_wins() {
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
