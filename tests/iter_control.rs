//! The promises of the parallel iterators: panics resume in the caller
//! after the other pieces settle (and lose no element), short-circuits stop
//! the hand-out promptly, `map_init` initialises once per worker thread, a
//! cancelled task's iterator stops, nested use on a one-thread pool does
//! not deadlock, and work runs where `install` / the current worker says.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::thread;

use common::{panic_text_of, spin, with_deadline, LIMIT};
use workcrew::prelude::*;
use workcrew::{Pool, TaskError};

#[test]
fn a_panic_resumes_in_the_caller_after_every_piece_settled() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        for bad in [0usize, 1, 777, 19_999] {
            let running = AtomicUsize::new(0);
            let text = panic_text_of(|| {
                pool.install(|| {
                    (0..20_000usize).into_par_iter().for_each(|i| {
                        running.fetch_add(1, Ordering::SeqCst);
                        spin(i as u64);
                        if i == bad {
                            running.fetch_sub(1, Ordering::SeqCst);
                            panic!("item {i} is bad");
                        }
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            });
            assert_eq!(text, format!("item {bad} is bad"));
            assert_eq!(
                running.load(Ordering::SeqCst),
                0,
                "a piece still ran after the panic resumed"
            );
        }
        // From outside any pool too (the global pool).
        let text = panic_text_of(|| {
            (0..50_000u64)
                .into_par_iter()
                .map(spin)
                .map(|x| x / (x % 7))
                .count()
        });
        assert!(text.contains("divide by zero"), "{text}");
    });
}

/// Counts drops, to check that a vector's elements are dropped exactly once.
struct Counted<'a>(&'a AtomicUsize, u64);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_panic_or_a_short_circuit_drops_every_element_of_a_vector_once() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        for len in [0usize, 1, 10, 5_000, 30_000] {
            let drops = AtomicUsize::new(0);
            let items: Vec<Counted> = (0..len as u64).map(|i| Counted(&drops, i)).collect();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.install(|| {
                    items.into_par_iter().for_each(|item| {
                        if spin(item.1) % 4099 == 17 || item.1 == len as u64 / 2 {
                            panic!("boom");
                        }
                    })
                })
            }));
            assert_eq!(outcome.is_err(), len > 0);
            assert_eq!(drops.load(Ordering::SeqCst), len, "length {len}");

            let drops = AtomicUsize::new(0);
            let items: Vec<Counted> = (0..len as u64).map(|i| Counted(&drops, i)).collect();
            let hit = pool.install(|| items.into_par_iter().map(|c| c.1).find_any(|&i| i == 3));
            assert_eq!(hit, (len > 3).then_some(3));
            assert_eq!(drops.load(Ordering::SeqCst), len, "length {len}");

            let drops = AtomicUsize::new(0);
            let items: Vec<Counted> = (0..len as u64).map(|i| Counted(&drops, i)).collect();
            let collected: Vec<Counted> =
                pool.install(|| items.into_par_iter().filter(|c| c.1 % 2 == 0).collect());
            assert_eq!(collected.len(), len.div_ceil(2));
            drop(collected);
            assert_eq!(drops.load(Ordering::SeqCst), len, "length {len}");
        }
    });
}

#[test]
fn a_panicking_collect_drops_every_item_it_made() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        // The panic hits the alone phase (index 1), the pool phase (late
        // indices), and the middle of a piece.
        for (len, bad) in [
            (10usize, 1u64),
            (5_000, 2_500),
            (40_000, 39_000),
            (40_000, 7),
        ] {
            let made = AtomicUsize::new(0);
            let drops = AtomicUsize::new(0);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.install(|| {
                    (0..len as u64)
                        .into_par_iter()
                        .map(|i| {
                            spin(i);
                            assert!(i != bad, "item {i} is bad");
                            made.fetch_add(1, Ordering::SeqCst);
                            Counted(&drops, i)
                        })
                        .collect::<Vec<Counted>>()
                })
            }));
            assert!(outcome.is_err(), "the panic resumes");
            assert_eq!(
                drops.load(Ordering::SeqCst),
                made.load(Ordering::SeqCst),
                "length {len}, bad {bad}: items made but never dropped (leaked) or dropped twice"
            );
        }
    });
}

/// A source that yields its next item only after the previous one was
/// processed (a request and its reply): `par_bridge` must not pull ahead.
#[test]
fn par_bridge_never_pulls_ahead_of_what_is_processed() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let (done, acks) = mpsc::channel::<u64>();
        let acks = Mutex::new(acks);
        let mut next = 0u64;
        let source = std::iter::from_fn(|| {
            if next > 0 {
                // Wait for the reply to the previous item.
                let acked = acks.lock().unwrap().recv().expect("a reply");
                assert_eq!(acked, next - 1);
            }
            (next < 200).then(|| {
                next += 1;
                next - 1
            })
        });
        let done = Mutex::new(done);
        let total: u64 = pool.install(|| {
            source
                .par_bridge()
                .map(|item| {
                    done.lock().unwrap().send(item).unwrap();
                    item
                })
                .sum()
        });
        assert_eq!(total, (0..200).sum::<u64>());
    });
}

/// A source that is not fused (asking it again after its end blocks,
/// restarts or panics, all allowed by `Iterator`'s contract) is never
/// asked again once it returned `None`, whichever piece saw its end.
#[test]
fn par_bridge_never_asks_a_source_again_after_its_end() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        for round in 0..200u64 {
            let len = round % 40;
            let mut next = 0u64;
            let mut ended = false;
            let source = std::iter::from_fn(move || {
                assert!(!ended, "asked again after returning None");
                if next == len {
                    ended = true;
                    return None;
                }
                next += 1;
                Some(next - 1)
            });
            let total: u64 = pool.install(|| {
                source
                    .par_bridge()
                    .map(|item| {
                        // Pieces on several threads, so that one of them
                        // meets the end while another is still claiming.
                        thread::yield_now();
                        item
                    })
                    .sum()
            });
            assert_eq!(total, (0..len).sum::<u64>(), "round {round}");
        }
    });
}

/// A bridged source whose destructor panics, dropped at its end by
/// whichever piece saw it or at the call's end after a short-circuit: the
/// panic resumes in the caller, and the pool goes on.
#[test]
fn a_bridged_source_that_panics_on_drop_resumes_in_the_caller() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("the source's destructor");
        }
    }
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        for short_circuit in [false, true] {
            let bomb = Bomb;
            let source = (0..1_000u64).inspect(move |_| {
                let _ = &bomb;
            });
            let text = panic_text_of(|| {
                pool.install(|| {
                    let bridge = source.par_bridge();
                    if short_circuit {
                        u64::from(bridge.any(|i| i == 3))
                    } else {
                        bridge.sum::<u64>()
                    }
                })
            });
            assert_eq!(
                text, "the source's destructor",
                "short-circuit {short_circuit}"
            );
            let total: u64 = pool.install(|| (0..10u64).into_par_iter().sum());
            assert_eq!(total, 45, "the pool goes on");
        }
    });
}

#[test]
fn short_circuits_stop_handing_out_pieces() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        const LEN: u64 = 2_000_000;
        let seen = AtomicUsize::new(0);
        let look = |x: &u64| {
            seen.fetch_add(1, Ordering::Relaxed);
            spin(*x);
        };
        let found = pool.install(|| {
            (0..LEN)
                .into_par_iter()
                .inspect(look)
                .find_any(|&x| x == 1000)
        });
        assert_eq!(found, Some(1000));
        let after_find_any = seen.swap(0, Ordering::Relaxed);
        assert!(pool.install(|| (0..LEN).into_par_iter().inspect(look).any(|x| x == 1000)));
        let after_any = seen.swap(0, Ordering::Relaxed);
        assert!(!pool.install(|| (0..LEN).into_par_iter().inspect(look).all(|x| x < 1000)));
        let after_all = seen.swap(0, Ordering::Relaxed);
        let first = pool.install(|| {
            (0..LEN)
                .into_par_iter()
                .inspect(look)
                .find_first(|&x| x >= 1000)
        });
        assert_eq!(first, Some(1000));
        let after_find_first = seen.swap(0, Ordering::Relaxed);
        let parsed: Result<Vec<u64>, u64> = pool.install(|| {
            (0..LEN)
                .into_par_iter()
                .inspect(look)
                .map(|x| if x == 1000 { Err(x) } else { Ok(x) })
                .collect()
        });
        assert_eq!(parsed, Err(1000));
        let after_collect = seen.swap(0, Ordering::Relaxed);
        for (what, seen) in [
            ("find_any", after_find_any),
            ("any", after_any),
            ("all", after_all),
            ("find_first", after_find_first),
            ("Result collect", after_collect),
        ] {
            // The pieces in progress at the hit finish; nothing like the
            // whole input is looked at.
            assert!(
                seen < LEN as usize / 10,
                "{what} looked at {seen} of {LEN} items"
            );
        }
    });
}

#[test]
fn map_init_runs_init_at_most_once_per_worker_thread() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        for _ in 0..20 {
            let inits = Mutex::new(Vec::new());
            let used = Mutex::new(HashSet::new());
            let sum: u64 = pool.install(|| {
                (0..200_000u64)
                    .into_par_iter()
                    .map_init(
                        || inits.lock().unwrap().push(thread::current().id()),
                        |_, x| {
                            if x % 1024 == 0 {
                                used.lock().unwrap().insert(thread::current().id());
                            }
                            spin(x) % 2
                        },
                    )
                    .sum()
            });
            assert_eq!(sum, (0..200_000u64).map(|x| spin(x) % 2).sum::<u64>());
            let inits = inits.into_inner().unwrap();
            let distinct: HashSet<_> = inits.iter().collect();
            assert_eq!(
                distinct.len(),
                inits.len(),
                "init ran twice on one thread: {inits:?}"
            );
            assert!(
                inits.len() <= 3,
                "{} inits on a three-thread pool",
                inits.len()
            );
            assert!(!inits.is_empty());
            assert!(used.into_inner().unwrap().len() <= inits.len());
        }
    });
}

#[test]
fn big_work_spreads_over_the_pool_threads() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let threads = Mutex::new(HashSet::new());
        // Large enough that a second thread joins on any machine; each item
        // records its thread, so the check does not depend on timing.
        for _ in 0..50 {
            pool.install(|| {
                (0..100_000u64).into_par_iter().for_each(|x| {
                    spin(x);
                    if x % 512 == 0 {
                        threads.lock().unwrap().insert(thread::current().id());
                    }
                })
            });
            if threads.lock().unwrap().len() == 2 {
                return;
            }
        }
        panic!("fifty big loops on a two-thread pool all ran on one thread");
    });
}

#[test]
fn nested_iterators_inside_tasks_of_a_one_thread_pool_finish() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                pool.spawn(move || {
                    (0..300u64)
                        .into_par_iter()
                        .map(|i| {
                            (0..300u64)
                                .into_par_iter()
                                .map(|j| spin(i * j + t) % 3)
                                .sum::<u64>()
                        })
                        .sum::<u64>()
                })
            })
            .collect();
        for (t, handle) in handles.into_iter().enumerate() {
            let expected: u64 = (0..300u64)
                .flat_map(|i| (0..300u64).map(move |j| spin(i * j + t as u64) % 3))
                .sum();
            assert_eq!(handle.join().unwrap(), expected);
        }
        // Sorts and joins nest too.
        let sorted = pool.install(|| {
            let mut v: Vec<u64> = (0..100_000u64).map(spin).collect();
            v.par_sort_unstable();
            v.windows(2).all(|w| w[0] <= w[1])
        });
        assert!(sorted);
    });
}

#[test]
fn a_cancelled_task_stops_its_iterator() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let (started_tx, started_rx) = mpsc::channel();
        let seen = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let handle = pool.spawn(move || {
            let started = Mutex::new(Some(started_tx));
            (0..u32::MAX).into_par_iter().for_each(|x| {
                if let Some(tx) = started.lock().unwrap().take() {
                    tx.send(()).unwrap();
                }
                counter.fetch_add(1, Ordering::Relaxed);
                spin(u64::from(x));
            });
        });
        started_rx.recv().unwrap();
        handle.request_cancel();
        assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
        assert!(seen.load(Ordering::Relaxed) < u32::MAX as usize);
    });
}

#[test]
fn install_and_current_num_threads_pick_the_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::builder()
            .threads(3)
            .thread_name(|i| format!("iter-install-{i}"))
            .build()
            .unwrap();
        assert_eq!(pool.install(workcrew::current_num_threads), 3);
        assert!(pool.install(|| thread::current()
            .name()
            .unwrap_or("")
            .starts_with("iter-install")));
        let names = Mutex::new(HashSet::new());
        pool.install(|| {
            (0..100_000u64).into_par_iter().for_each(|x| {
                spin(x);
                if x % 4096 == 0 {
                    names
                        .lock()
                        .unwrap()
                        .insert(thread::current().name().unwrap_or("").to_owned());
                }
            })
        });
        let names = names.into_inner().unwrap();
        assert!(
            names.iter().all(|n| n.starts_with("iter-install")),
            "{names:?}"
        );
        assert_eq!(
            workcrew::current_num_threads(),
            workcrew::global().max_threads()
        );
        let (a, b) = workcrew::join(|| 1, || 2);
        assert_eq!((a, b), (1, 2));
    });
}
