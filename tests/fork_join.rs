//! `Pool::fork_join` and `workcrew::fork_join`: both results, panics that
//! resume after both halves ended, recursive divide and conquer, deep
//! nesting, one-thread pools, picking the current pool, and no deadlock
//! when the caller holds a lock that unrelated queued tasks need (the shape
//! of rayon #592).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, TryLockError};
use std::thread;
use std::time::Duration;

use common::{
    occupy, panic_text_of, shutdown_now_once_queued, thread_name, with_deadline, Counter, Gate,
    LIMIT,
};
use workcrew::Pool;

/// How long a helper thread watches for a call that returned too early
/// before it releases the half the call should have waited for. Not used to
/// synchronise: a correct pool passes whatever this is.
const EARLY_RETURN_WINDOW: Duration = Duration::from_millis(100);

fn named_pool(prefix: &'static str, threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .thread_name(move |i| format!("{prefix}-{i}"))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------- results

#[test]
fn fork_join_returns_both_results() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let (a, b) = pool.fork_join(|| 6 * 7, || String::from("and b"));
        assert_eq!(a, 42);
        assert_eq!(b, "and b");
    });
}

#[test]
fn fork_join_halves_may_borrow_from_the_caller() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let mut data: Vec<u64> = (1..=1000).collect();
        let (left, right) = data.split_at_mut(500);
        let (sum_left, ()) = pool.fork_join(
            || left.iter().sum::<u64>(),
            || right.iter_mut().for_each(|x| *x *= 2),
        );
        assert_eq!(sum_left, 125_250);
        assert_eq!(data[999], 2000);
        assert_eq!(data[0], 1);
    });
}

#[test]
fn both_halves_run_exactly_once_over_many_calls() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let a_runs = AtomicUsize::new(0);
        let b_runs = AtomicUsize::new(0);
        let rounds = common::stress(2000);
        for i in 0..rounds {
            let (x, y) = pool.fork_join(
                || {
                    a_runs.fetch_add(1, Ordering::Relaxed);
                    i
                },
                || {
                    b_runs.fetch_add(1, Ordering::Relaxed);
                    i + 1
                },
            );
            assert_eq!((x, y), (i, i + 1));
        }
        assert_eq!(a_runs.load(Ordering::Relaxed), rounds);
        assert_eq!(b_runs.load(Ordering::Relaxed), rounds);
    });
}

// ---------------------------------------------------------------- panics

/// Runs `fork_join(a, b)` where `panicking_half` ('a' or 'b') panics and the
/// other half is held by a gate until the panic happened and the
/// early-return window passed. Checks that the panic resumes in the caller
/// only after the other half finished.
fn check_panic_waits_for_the_other_half(pool: &Pool, panicking_half: char) {
    let release = Gate::new();
    let other_finished = Arc::new(AtomicBool::new(false));
    let returned = Arc::new(AtomicBool::new(false));
    let (panicking_tx, panicking_rx) = mpsc::channel::<()>();
    let opener = {
        let (release, returned) = (release.clone(), returned.clone());
        thread::spawn(move || {
            // If the other half runs first on the same thread (nobody stole
            // it), the panic only comes after the gate: give up waiting then.
            let _ = panicking_rx.recv_timeout(Duration::from_secs(2));
            thread::sleep(EARLY_RETURN_WINDOW);
            let early = returned.load(Ordering::SeqCst);
            release.open();
            early
        })
    };
    let panicking = move || -> u8 {
        panicking_tx.send(()).unwrap();
        panic!("the {panicking_half} half failed")
    };
    let other = || -> u8 {
        release.wait();
        other_finished.store(true, Ordering::SeqCst);
        1
    };
    let text = panic_text_of(|| match panicking_half {
        'a' => pool.fork_join(panicking, other),
        _ => pool.fork_join(other, panicking),
    });
    let other_done_at_resume = other_finished.load(Ordering::SeqCst);
    returned.store(true, Ordering::SeqCst);
    let returned_early = opener.join().unwrap();
    assert_eq!(text, format!("the {panicking_half} half failed"));
    assert!(
        !returned_early,
        "fork_join resumed the panic before the other half ended"
    );
    assert!(
        other_done_at_resume,
        "the other half had not finished when the panic resumed"
    );
}

#[test]
fn a_panic_in_a_resumes_after_b_ended() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        check_panic_waits_for_the_other_half(&pool, 'a');
        // The pool survives.
        assert_eq!(pool.fork_join(|| 1, || 2), (1, 2));
        assert_eq!(pool.threads(), 2);
    });
}

#[test]
fn a_panic_in_b_resumes_after_a_ended() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        check_panic_waits_for_the_other_half(&pool, 'b');
        assert_eq!(pool.fork_join(|| 1, || 2), (1, 2));
    });
}

#[test]
fn a_panic_on_a_one_thread_pool_still_runs_the_other_half() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let b_ran = AtomicBool::new(false);
        let text = panic_text_of(|| {
            pool.fork_join(
                || -> u8 { panic!("a failed") },
                || b_ran.store(true, Ordering::SeqCst),
            )
        });
        assert_eq!(text, "a failed");
        assert!(b_ran.load(Ordering::SeqCst), "b never ran after a panicked");
    });
}

#[test]
fn when_both_halves_panic_one_of_the_panics_resumes() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let text = panic_text_of(|| {
            pool.fork_join(
                || -> u8 { panic!("a failed") },
                || -> u8 { panic!("b failed") },
            )
        });
        assert!(text == "a failed" || text == "b failed", "{text}");
        assert_eq!(pool.fork_join(|| 1, || 2), (1, 2));
    });
}

// ---------------------------------------------------------------- recursion

fn fib(pool: &Pool, n: u64) -> u64 {
    if n < 10 {
        return (0..n).fold((0, 1), |(a, b), _| (b, a + b)).0;
    }
    let (x, y) = pool.fork_join(|| fib(pool, n - 1), || fib(pool, n - 2));
    x + y
}

fn quicksort<T: Ord + Send>(pool: &Pool, items: &mut [T]) {
    if items.len() <= 32 {
        items.sort();
        return;
    }
    let pivot = items.len() / 2;
    items.swap(pivot, items.len() - 1);
    let mut store = 0;
    for i in 0..items.len() - 1 {
        if items[i] <= items[items.len() - 1] {
            items.swap(i, store);
            store += 1;
        }
    }
    let last = items.len() - 1;
    items.swap(store, last);
    let (low, high) = items.split_at_mut(store);
    pool.fork_join(|| quicksort(pool, low), || quicksort(pool, &mut high[1..]));
}

enum Tree {
    Leaf(u64),
    Node(Box<Tree>, Box<Tree>),
}

fn build(depth: u32, next: &mut u64) -> Tree {
    if depth == 0 {
        *next += 1;
        return Tree::Leaf(*next);
    }
    let left = build(depth - 1, next);
    let right = build(depth - 1, next);
    Tree::Node(Box::new(left), Box::new(right))
}

fn tree_sum(pool: &Pool, tree: &Tree) -> u64 {
    match tree {
        Tree::Leaf(value) => *value,
        Tree::Node(left, right) => {
            let (a, b) = pool.fork_join(|| tree_sum(pool, left), || tree_sum(pool, right));
            a + b
        }
    }
}

/// A deterministic pseudo-random sequence (xorshift).
fn scrambled(len: usize) -> Vec<u32> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state % 10_000
        })
        .collect()
}

#[test]
fn recursive_fib_is_correct() {
    with_deadline(LIMIT, || {
        for threads in [1, 2, 4] {
            let pool = Pool::new(threads);
            assert_eq!(fib(&pool, 25), 75_025, "{threads} threads");
        }
    });
}

#[test]
fn recursive_quicksort_sorts() {
    with_deadline(LIMIT, || {
        for threads in [1, 2, 3] {
            let pool = Pool::new(threads);
            let mut values = scrambled(50_000);
            let mut expected = values.clone();
            expected.sort();
            quicksort(&pool, &mut values);
            assert_eq!(values, expected, "{threads} threads");
        }
    });
}

#[test]
fn recursive_tree_sum_is_correct() {
    with_deadline(LIMIT, || {
        let mut next = 0;
        let tree = build(14, &mut next);
        let leaves = 1u64 << 14;
        for threads in [1, 2, 4] {
            let pool = Pool::new(threads);
            assert_eq!(
                tree_sum(&pool, &tree),
                leaves * (leaves + 1) / 2,
                "{threads} threads"
            );
        }
    });
}

// ---------------------------------------------------------------- where it runs

#[test]
fn fork_join_works_from_outside_the_pool_and_on_a_one_thread_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        assert_eq!(pool.fork_join(|| 1, || 2), (1, 2));
        assert_eq!(fib(&pool, 20), 6765);
        // And from inside a task of that one-thread pool.
        let inner = pool.clone();
        let handle = pool.spawn(move || fib(&inner, 20));
        assert_eq!(handle.join().unwrap(), 6765);
    });
}

#[test]
fn inside_a_task_a_runs_on_the_calling_worker_and_b_on_the_same_pool() {
    with_deadline(LIMIT, || {
        for threads in [1, 2] {
            let pool = named_pool("fj-own", threads);
            let inner = pool.clone();
            let handle = pool.spawn(move || {
                let caller = thread::current().id();
                let (a, b) = inner.fork_join(|| thread::current().id(), thread_name);
                (caller, a, b)
            });
            let (caller, a, b) = handle.join().unwrap();
            assert_eq!(a, caller, "a did not run on the calling worker");
            assert!(b.starts_with("fj-own-"), "b ran on {b:?}");
        }
    });
}

/// How long `a` waits for the signal that `b` started on another thread.
/// Far above what a steal takes; reaching it fails the test.
const STOLEN_WITHIN: Duration = Duration::from_secs(5);

/// Where each half of a fork_join ran.
struct Halves {
    a: (thread::ThreadId, String),
    b: (thread::ThreadId, String),
}

fn here() -> (thread::ThreadId, String) {
    (thread::current().id(), thread_name())
}

/// Calls `pool.fork_join(a, b)` where `a` returns only once `b` has started,
/// so it returns at all only if another thread stole `b` while `a` was
/// still running.
///
/// # Panics
///
/// In `a`, if `b` did not start within [`STOLEN_WITHIN`]: the caller then
/// runs `b` itself after `a`, and the panic resumes from `fork_join`.
fn fork_join_with_b_stolen(pool: &Pool) -> Halves {
    let (b_started_tx, b_started_rx) = mpsc::channel();
    let (a, b) =
        pool.fork_join(
            move || {
                b_started_rx.recv_timeout(STOLEN_WITHIN).unwrap_or_else(|_| {
                panic!("b did not start on another thread within {STOLEN_WITHIN:?} while a ran")
            });
                here()
            },
            move || {
                // Fails only if `a` gave up already; `a`'s panic tells why.
                let _ = b_started_tx.send(());
                here()
            },
        );
    Halves { a, b }
}

#[test]
fn inside_the_pool_b_is_stolen_and_runs_while_a_is_still_running() {
    with_deadline(LIMIT, || {
        let pool = named_pool("fj-steal-in", 2);
        let inner = pool.clone();
        let (caller, halves) = pool.apply(move || (here(), fork_join_with_b_stolen(&inner)));
        assert!(
            caller.1.starts_with("fj-steal-in-"),
            "apply ran on {:?}",
            caller.1
        );
        assert_eq!(halves.a.0, caller.0, "a did not run on the calling worker");
        assert_ne!(halves.b.0, halves.a.0, "b ran on a's thread");
        assert!(
            halves.b.1.starts_with("fj-steal-in-"),
            "b ran on {:?}",
            halves.b.1
        );
    });
}

#[test]
fn from_outside_the_pool_b_is_stolen_and_runs_beside_a_on_the_pools_threads() {
    with_deadline(LIMIT, || {
        // From outside, the whole call is one task on a worker (src/join.rs:
        // `Pool::fork_join`), so a runs on that worker and b may be stolen by
        // the other one.
        let pool = named_pool("fj-steal-out", 2);
        let caller = thread::current().id();
        let halves = fork_join_with_b_stolen(&pool);
        assert_ne!(
            halves.a.0, caller,
            "a ran on the calling thread, outside the pool"
        );
        assert!(
            halves.a.1.starts_with("fj-steal-out-"),
            "a ran on {:?}",
            halves.a.1
        );
        assert_ne!(halves.b.0, halves.a.0, "b ran on a's thread");
        assert_ne!(halves.b.0, caller, "b ran on the calling thread");
        assert!(
            halves.b.1.starts_with("fj-steal-out-"),
            "b ran on {:?}",
            halves.b.1
        );
    });
}

/// The heartbeat claims a blocked worker's pending halves oldest first
/// (src/scheduler/heartbeat.rs): here the outer `b` is claimed, and then
/// the inner one that `a` is blocked waiting for, one level down.
#[test]
fn a_blocked_workers_inner_pending_half_is_claimed_after_the_outer_one() {
    with_deadline(LIMIT, || {
        let pool = named_pool("fj-claim-inner", 2);
        let inner = pool.clone();
        let (halves, outer_b) = pool.apply(move || {
            let caller = here();
            let (halves, outer_b) = inner.fork_join(|| fork_join_with_b_stolen(&inner), here);
            assert_eq!(halves.a.0, caller.0, "a ran away from its caller");
            (halves, outer_b)
        });
        assert_ne!(halves.b.0, halves.a.0, "the inner b ran on a's thread");
        assert!(
            outer_b.1.starts_with("fj-claim-inner-"),
            "outer b ran on {:?}",
            outer_b.1
        );
    });
}

/// Nests `depth` fork_joins, alternating the side that recurses, and
/// returns how many levels ran.
fn nest(pool: &Pool, depth: usize) -> usize {
    if depth == 0 {
        return 0;
    }
    let (x, y) = if depth.is_multiple_of(2) {
        pool.fork_join(|| nest(pool, depth - 1), || 1)
    } else {
        pool.fork_join(|| 1, || nest(pool, depth - 1))
    };
    x + y
}

#[test]
fn fork_join_nests_twenty_deep() {
    with_deadline(LIMIT, || {
        for threads in [1, 2] {
            let pool = Pool::new(threads);
            assert_eq!(nest(&pool, 20), 20, "{threads} threads");
            let inner = pool.clone();
            let handle = pool.spawn(move || nest(&inner, 20));
            assert_eq!(
                handle.join().unwrap(),
                20,
                "inside a task, {threads} threads"
            );
        }
    });
}

#[test]
fn free_fork_join_uses_the_current_pool_inside_a_task() {
    with_deadline(LIMIT, || {
        for threads in [1, 2] {
            let pool = named_pool("fj-current", threads);
            let handle = pool.spawn(|| workcrew::fork_join(thread_name, thread_name));
            let (a, b) = handle.join().unwrap();
            assert!(a.starts_with("fj-current-"), "a ran on {a:?}");
            assert!(b.starts_with("fj-current-"), "b ran on {b:?}");
        }
    });
}

#[test]
fn free_fork_join_uses_the_global_pool_outside_any_pool() {
    with_deadline(LIMIT, || {
        // As above: a waits for b to start, so b runs on a global thread
        // (default names; the global pool is the only pool in this call).
        let (b_started_tx, b_started_rx) = mpsc::channel();
        let b_started_rx = Mutex::new(b_started_rx);
        let ((), b) = workcrew::fork_join(
            || {
                let _ = b_started_rx
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(5));
            },
            move || {
                let _ = b_started_tx.send(());
                thread_name()
            },
        );
        let global_names: Vec<String> = (0..workcrew::global().max_threads())
            .map(|i| format!("workcrew-{i}"))
            .collect();
        assert!(global_names.contains(&b), "b ran on {b:?}");
        // And it nests there too.
        fn sum(values: &[u64]) -> u64 {
            if values.len() <= 64 {
                return values.iter().sum();
            }
            let (left, right) = values.split_at(values.len() / 2);
            let (a, b) = workcrew::fork_join(|| sum(left), || sum(right));
            a + b
        }
        let values: Vec<u64> = (1..=100_000).collect();
        assert_eq!(sum(&values), 5_000_050_000);
    });
}

thread_local! {
    /// Set by `on_thread_start` on the threads of a marked pool.
    static POOL_MARK: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

fn pool_mark() -> Option<&'static str> {
    POOL_MARK.with(|mark| mark.get())
}

#[test]
fn free_fork_join_runs_both_halves_on_the_current_pool_as_its_hook_shows() {
    with_deadline(LIMIT, || {
        let pool = Pool::builder()
            .threads(2)
            .on_thread_start(|| POOL_MARK.with(|mark| mark.set(Some("marked"))))
            .build()
            .unwrap();
        let handle = pool.spawn(|| workcrew::fork_join(pool_mark, pool_mark));
        assert_eq!(handle.join().unwrap(), (Some("marked"), Some("marked")));
        // Outside any pool it goes to the global pool, which has no mark.
        assert_eq!(workcrew::fork_join(pool_mark, pool_mark), (None, None));
        assert_eq!(pool_mark(), None);
    });
}

// ---------------------------------------------------------------- rayon #592

#[test]
fn holding_a_lock_across_fork_join_does_not_run_unrelated_tasks_that_need_it() {
    with_deadline(LIMIT, || {
        const UNRELATED: usize = 50;
        let pool = Pool::new(2);
        let shared = Arc::new(Mutex::new(0usize));
        let holder: Arc<Mutex<Option<thread::ThreadId>>> = Arc::new(Mutex::new(None));
        let reentered = Arc::new(AtomicBool::new(false));
        let b_running = Gate::new();
        let a_may_end = Gate::new();
        let b_may_end = Gate::new();

        let task = {
            let (shared, holder) = (shared.clone(), holder.clone());
            let (b_running, a_may_end, b_may_end) =
                (b_running.clone(), a_may_end.clone(), b_may_end.clone());
            let inner = pool.clone();
            pool.spawn(move || {
                let mut guard = shared.lock().unwrap();
                *holder.lock().unwrap() = Some(thread::current().id());
                let ((), ()) = inner.fork_join(
                    // a: give b time to be stolen, then end while b still
                    // runs, so this thread waits inside fork_join.
                    || {
                        if b_running.wait_timeout(Duration::from_secs(5)) {
                            a_may_end.wait();
                        }
                    },
                    || {
                        b_running.open();
                        b_may_end.wait();
                    },
                );
                *guard += 1;
                *holder.lock().unwrap() = None;
            })
        };

        // Unrelated tasks that take the same lock, queued once b was stolen
        // (the holder's thread is inside fork_join, the other one in b).
        assert!(b_running.wait_timeout(LIMIT), "b never started");
        let done = Counter::new();
        let unrelated: Vec<_> = (0..UNRELATED)
            .map(|_| {
                let (shared, holder, reentered, done) = (
                    shared.clone(),
                    holder.clone(),
                    reentered.clone(),
                    done.clone(),
                );
                pool.spawn(move || {
                    let guard = match shared.try_lock() {
                        Ok(guard) => guard,
                        Err(TryLockError::WouldBlock) => {
                            if *holder.lock().unwrap() == Some(thread::current().id()) {
                                // The lock holder's own thread picked this
                                // task up while waiting: rayon #592. Report
                                // instead of deadlocking on ourselves.
                                reentered.store(true, Ordering::SeqCst);
                                return;
                            }
                            shared.lock().unwrap()
                        }
                        Err(TryLockError::Poisoned(error)) => panic!("{error}"),
                    };
                    drop(guard);
                    done.inc();
                })
            })
            .collect();

        // Let the holder's thread reach its wait in fork_join while the
        // unrelated tasks are queued, then let everything finish.
        a_may_end.open();
        thread::sleep(EARLY_RETURN_WINDOW);
        b_may_end.open();

        task.join().unwrap();
        for handle in unrelated {
            handle.join().unwrap();
        }
        assert!(
            !reentered.load(Ordering::SeqCst),
            "the thread holding the lock ran an unrelated task while waiting in fork_join"
        );
        assert_eq!(done.get(), UNRELATED);
        assert_eq!(*shared.lock().unwrap(), 1);
    });
}

// ---------------------------------------------------------------- closed pool

#[test]
fn fork_join_on_a_closed_pool_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        pool.shutdown();
        let text = panic_text_of(|| pool.fork_join(|| 1, || 2));
        assert!(text.contains("closed"), "unclear message: {text}");
    });
}

#[test]
fn a_fork_join_whose_task_shutdown_now_cancels_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let busy = occupy(&pool, 1, &gate);
        let shutter = shutdown_now_once_queued(&pool, 1, &gate);
        let ran = AtomicUsize::new(0);
        let text = panic_text_of(|| {
            pool.fork_join(
                || ran.fetch_add(1, Ordering::SeqCst),
                || ran.fetch_add(1, Ordering::SeqCst),
            )
        });
        assert_eq!(shutter.join().unwrap(), 1);
        assert!(
            text.contains("fork_join") && text.contains("shutdown_now"),
            "unclear message: {text}"
        );
        assert_eq!(ran.into_inner(), 0);
        busy.into_iter().for_each(|h| h.join().unwrap());
    });
}
