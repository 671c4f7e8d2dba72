//! The process-wide pool ([`global`], [`spawn`]) and the helpers shaped
//! after spacepy's `thread_job` and `thread_map` and numpy's `array_split`
//! ([`thread_job`], [`thread_map`], [`split_evenly`]).
//!
//! Invariant: the subjobs of a call cover `0..job_size` exactly once, in
//! spacepy's boundaries (`subjobs`), and the call returns (or resumes a
//! target's panic) only after every subjob it started has finished.

use std::ops::Range;
use std::sync::OnceLock;

use crate::pool::Pool;
use crate::sync::{lock, Mutex, Ordering};
use crate::task::handle::TaskHandle;

/// The process-wide pool, built on first use with one thread per CPU.
/// It lives as long as the process: [`Pool::shutdown`],
/// [`Pool::shutdown_now`] and [`Pool::shutdown_timeout`] on it panic with a
/// message saying so ([`Pool::join`] waits, as on any pool).
///
/// # Panics
///
/// If the OS refuses every worker thread when the pool is first built (a
/// pids limit or `ulimit -u` reached); a later call tries again.
///
/// # Examples
///
/// ```
/// let answer = workcrew::global().apply(|| 6 * 7);
/// assert_eq!(answer, 42);
/// ```
pub fn global() -> &'static Pool {
    static GLOBAL: OnceLock<Pool> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let pool = match Pool::builder().build() {
            Ok(pool) => pool,
            Err(error) => panic!("workcrew::global: could not build the global pool: {error}"),
        };
        pool.shared.is_global.store(true, Ordering::Relaxed);
        pool
    })
}

/// Spawns `f` on the [`global`] pool.
///
/// # Panics
///
/// When the global pool cannot be built (see [`global`]); it is never
/// closed, so that cause of [`Pool::spawn`]'s panic does not arise.
///
/// # Examples
///
/// ```
/// let handle = workcrew::spawn(|| "hello from the pool");
/// assert_eq!(handle.join().unwrap(), "hello from the pool");
/// ```
pub fn spawn<F, T>(f: F) -> TaskHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    global().spawn(f)
}

/// Splits `0..len` into exactly `parts` ranges the way `numpy.array_split`
/// does: sizes differ by at most one, and the first `len % parts` ranges are
/// the longer ones.
///
/// # Panics
///
/// If `parts` is 0 (numpy raises for zero sections, too).
///
/// # Examples
///
/// ```
/// let parts: Vec<_> = workcrew::split_evenly(10, 3).collect();
/// assert_eq!(parts, [0..4, 4..7, 7..10]);
/// let parts: Vec<_> = workcrew::split_evenly(2, 4).collect();
/// assert_eq!(parts, [0..1, 1..2, 2..2, 2..2]);
/// ```
#[must_use = "the ranges are computed lazily, as they are read"]
pub fn split_evenly(
    len: usize,
    parts: usize,
) -> impl ExactSizeIterator<Item = Range<usize>> + DoubleEndedIterator + Clone {
    assert!(
        parts > 0,
        "split_evenly: parts must be at least 1 (numpy.array_split raises for 0 sections)"
    );
    let base = len / parts;
    let longer = len % parts;
    (0..parts).map(move |i| {
        let start = i * base + i.min(longer);
        start..start + base + usize::from(i < longer)
    })
}

/// The subjobs of spacepy's `thread_job`: subjob `i` starts at
/// `int(i * job_size / count + 0.5)`, so sizes differ by at most one.
/// Computed exactly in integers; spacepy's floating point can move a
/// boundary that falls exactly on `.5` down by one (15 on 22: subjob 11
/// starts at 7 there, at 8 here).
fn subjobs(job_size: usize, count: usize) -> impl Iterator<Item = (usize, usize)> {
    let start = move |i: usize| -> usize {
        if i == count {
            return job_size;
        }
        let (i, size, count) = (i as u128, job_size as u128, count as u128);
        ((2 * i * size + count) / (2 * count)) as usize
    };
    (0..count).map(move |i| (start(i), start(i + 1) - start(i)))
}

/// How many subjobs, and whether to run them one after another.
fn plan(thread_count: isize) -> (usize, bool) {
    match thread_count {
        0 => (crate::scheduler::config::cores(), false),
        n if n < 0 => (n.unsigned_abs(), true),
        n => (n as usize, false),
    }
}

/// Runs `run(index, start, count)` for every subjob, as [`thread_job`] says.
fn run_subjobs(
    what: &str,
    job_size: usize,
    thread_count: isize,
    run: &(dyn Fn(usize, usize, usize) + Sync),
) {
    let (count, sequential) = plan(thread_count);
    let jobs = subjobs(job_size, count);
    // An inline global pool (WORKCREW_INLINE=1) runs everything here, in
    // order, like the negative thread count.
    if sequential || global().shared.config.inline {
        for (index, (start, size)) in jobs.enumerate() {
            run(index, start, size);
        }
    } else if count <= global().max_threads() {
        // The caller runs the first subjob itself: it would only wait
        // otherwise, and two subjobs that wait for each other then need
        // just one pool thread (so concurrent calls cannot starve each other).
        global().scope(|scope| {
            let mut jobs = jobs.enumerate();
            let own = jobs.next();
            for (index, (start, size)) in jobs {
                scope.spawn(move || run(index, start, size));
            }
            if let Some((index, (start, size))) = own {
                run(index, start, size);
            }
        });
    } else {
        // More subjobs than the global pool has threads: give each its own
        // thread, as spacepy does, so that blocking targets still overlap.
        // Join them all here: an unjoined scoped thread's panic would reach
        // us as std's generic message instead of the target's own.
        // If the OS refuses a thread, the subjobs already started finish and
        // the call panics naming itself; the others never run.
        let (first_panic, refused) = std::thread::scope(|scope| {
            let mut threads = Vec::new();
            let mut refused = None;
            for (index, (start, size)) in jobs.enumerate() {
                let spawned = std::thread::Builder::new()
                    .spawn_scoped(scope, move || run(index, start, size));
                match spawned {
                    Ok(thread) => threads.push(thread),
                    Err(error) => {
                        refused = Some((index, error));
                        break;
                    }
                }
            }
            let first_panic = threads
                .into_iter()
                .filter_map(|thread| thread.join().err())
                .next();
            (first_panic, refused)
        });
        if let Some(payload) = first_panic {
            std::panic::resume_unwind(payload);
        }
        if let Some((index, error)) = refused {
            panic!("workcrew::{what}: the OS refused a thread for subjob {index} of {count} ({error}); the subjobs before it ran, the others did not");
        }
    }
}

/// spacepy's `thread_job`: splits `0..job_size` into `thread_count` subjobs
/// whose sizes differ by at most one, calls `target(start, count)` once per
/// subjob (empty ones too, as spacepy does) in parallel, and returns when all
/// are done.
///
/// * `thread_count == 0`: one subjob per CPU.
/// * `thread_count < 0`: `|thread_count|` subjobs run one after another, in
///   order, on the calling thread (spacepy's debugging mode).
///
/// The calling thread runs the first subjob and the [`global`] pool the
/// others; if there are more subjobs than the pool has threads, each gets its
/// own thread instead, as in spacepy, so blocking targets overlap. Subjobs
/// that wait for one another (a barrier) need their partners running: within
/// the pool's size that holds for one call at a time; several such calls at
/// once can fill the pool, so give them more subjobs than it has threads.
///
/// Note that `target` thus also runs on the calling thread.
///
/// # Panics
///
/// A panic in `target` resumes here, after every subjob has finished. With
/// more subjobs than the global pool has threads, also if the OS refuses one
/// of the dedicated threads (a pids limit or `ulimit -u`): the subjobs
/// already started finish first, the others never run, and the message
/// names `thread_job` and the subjob.
///
/// # Examples
///
/// Squaring numbers in place, the example in spacepy's `thread_job` docstring:
///
/// ```
/// use std::sync::atomic::{AtomicI64, Ordering};
/// let input: Vec<i64> = (0..1000).collect();
/// let output: Vec<AtomicI64> = (0..1000).map(|_| AtomicI64::new(0)).collect();
/// workcrew::thread_job(input.len(), 0, |start, count| {
///     for i in start..start + count {
///         output[i].store(input[i] * input[i], Ordering::Relaxed);
///     }
/// });
/// assert_eq!(output[999].load(Ordering::Relaxed), 998_001);
/// ```
pub fn thread_job<F>(job_size: usize, thread_count: isize, target: F)
where
    F: Fn(usize, usize) + Sync,
{
    run_subjobs("thread_job", job_size, thread_count, &|_, start, count| {
        target(start, count)
    });
}

/// spacepy's `thread_map`: `f` applied to every input, results in input
/// order, the inputs split into subjobs exactly like [`thread_job`] (same
/// `thread_count` rules).
///
/// # Panics
///
/// A panic in `f` resumes here, after every subjob has finished; and as
/// [`thread_job`] when the OS refuses a dedicated thread.
///
/// # Examples
///
/// ```
/// let arrays = vec![vec![1, 2], vec![3, 4, 5], vec![]];
/// let totals = workcrew::thread_map(&arrays, 2, |a: &Vec<i32>| a.iter().sum::<i32>());
/// assert_eq!(totals, [3, 12, 0]);
/// ```
pub fn thread_map<T, R, F>(inputs: &[T], thread_count: isize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let (count, _) = plan(thread_count);
    let pieces: Vec<Mutex<Vec<R>>> = (0..count).map(|_| Mutex::new(Vec::new())).collect();
    run_subjobs(
        "thread_map",
        inputs.len(),
        thread_count,
        &|index, start, size| {
            let results: Vec<R> = inputs[start..start + size].iter().map(&f).collect();
            *lock(&pieces[index]) = results;
        },
    );
    pieces
        .into_iter()
        .flat_map(|piece| piece.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}
