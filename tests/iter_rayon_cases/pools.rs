//! Bridges, pools and joins: par_bridge, install across pools,
//! current_num_threads, join's panics, panics in iterators (rayon:
//! tests/par_bridge_recursion.rs, tests/cross-pool.rs,
//! tests/iter_panic.rs, rayon-core join and thread_pool tests).

use super::*;

// rayon: src/iter/par_bridge.rs's documented behaviour (the items, not
// their order) and tests/par_bridge_recursion.rs (parallel work inside the
// bridged iterator's `next`, called under the bridge's lock, must not
// deadlock)
#[test]
fn par_bridge_yields_every_item_even_with_joins_inside_next() {
    on_pool(|| {
        let mut items: Vec<u64> = (0..10_000u64).par_bridge().map(spin).collect();
        items.sort_unstable();
        let mut expected: Vec<u64> = (0..10_000u64).map(spin).collect();
        expected.sort_unstable();
        assert_eq!(items, expected);

        let n = 5_000;
        let mut par: Vec<(usize, String)> = (0..n)
            .map(|i| workcrew::join(move || i, move || i.to_string()))
            .par_bridge()
            .collect();
        par.par_sort_unstable();
        let seq: Vec<(usize, String)> = (0..n).map(|i| (i, i.to_string())).collect();
        assert_eq!(par, seq);
    });
}

// rayon: tests/cross-pool.rs cross_pool_busy
#[test]
fn items_that_install_on_another_pool_finish() {
    with_deadline(LIMIT, || {
        let pool1 = Pool::new(1);
        let pool2 = Pool::new(1);
        let n = 100;
        let sum: i32 = pool1.install(|| {
            (1..=n)
                .into_par_iter()
                .map(|i| pool2.install(move || i))
                .sum()
        });
        assert_eq!(sum, n * (n + 1) / 2);
    });
}

// rayon-core: src/thread_pool/test.rs self_install, mutual_install
#[test]
fn nested_installs_on_one_thread_pools_finish() {
    with_deadline(LIMIT, || {
        let pool1 = Pool::new(1);
        let pool2 = Pool::new(1);
        assert!(pool1.install(|| pool1.install(|| true)));
        let ok = pool1.install(|| pool2.install(|| pool1.install(|| true)));
        assert!(ok);
    });
}

// rayon-core: src/test.rs and src/thread_pool/test.rs (the pool's size
// inside `install`)
#[test]
fn current_num_threads_is_the_installed_pools_size() {
    with_deadline(LIMIT, || {
        for threads in [1, 3] {
            let pool = Pool::new(threads);
            assert_eq!(pool.install(workcrew::current_num_threads), threads);
            let inner = pool.install(|| {
                let v: Vec<usize> = (0..4)
                    .into_par_iter()
                    .map(|_| workcrew::current_num_threads())
                    .collect();
                v
            });
            assert!(inner.iter().all(|&t| t == threads));
        }
        assert!(workcrew::current_num_threads() >= 1);
    });
}

fn quick_sort<T: PartialOrd + Send>(v: &mut [T]) {
    if v.len() <= 1 {
        return;
    }
    let last = v.len() - 1;
    let mut store = 0;
    for i in 0..last {
        if v[i] <= v[last] {
            v.swap(store, i);
            store += 1;
        }
    }
    v.swap(store, last);
    let (low, high) = v.split_at_mut(store);
    workcrew::join(|| quick_sort(low), || quick_sort(&mut high[1..]));
}

// rayon-core: src/join/test.rs sort, sort_in_pool
#[test]
fn a_quicksort_on_join_sorts_outside_and_inside_a_pool() {
    with_deadline(LIMIT, || {
        let mut data = numbers(6 * 1024, 21);
        let mut expected = data.clone();
        expected.sort();
        quick_sort(&mut data);
        assert_eq!(data, expected);

        let mut data = numbers(12 * 1024, 22);
        let mut expected = data.clone();
        expected.sort();
        let data = pool().install(move || {
            quick_sort(&mut data);
            data
        });
        assert_eq!(data, expected);
    });
}

// rayon-core: src/join/test.rs panic_propagate_a, panic_propagate_b,
// panic_propagate_both, panic_b_still_executes
#[test]
fn a_panic_in_join_resumes_in_the_caller_after_both_ran() {
    with_deadline(LIMIT, || {
        let text = panic_text_of(|| workcrew::join(|| panic!("Hello, world!"), || ()));
        assert_eq!(text, "Hello, world!");
        let text = panic_text_of(|| workcrew::join(|| (), || panic!("Hello, world!")));
        assert_eq!(text, "Hello, world!");
        let text = panic_text_of(|| {
            workcrew::join(|| panic!("Hello, world!"), || panic!("Goodbye, world!"))
        });
        assert_eq!(text, "Hello, world!", "of two panics, `a`'s resumes");

        let mut b_ran = false;
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            workcrew::join(|| panic!("Hello, world!"), || b_ran = true)
        }));
        assert!(outcome.is_err());
        assert!(b_ran, "closure b did not run");

        let text = panic_text_of(|| {
            pool().install(|| workcrew::join(|| (), || panic!("inside the pool")))
        });
        assert_eq!(text, "inside the pool");
    });
}

// rayon: tests/iter_panic.rs iter_panic
#[test]
fn a_panic_in_for_each_resumes_in_the_caller() {
    let text = with_deadline(LIMIT, || {
        panic_text_of(|| {
            (0..0x1_0000).into_par_iter().for_each(|i| {
                if i == 0xC000 {
                    panic!("boom")
                }
            })
        })
    });
    assert_eq!(text, "boom");
}

// Intended difference (rayon: tests/iter_panic.rs iter_panic_fuse): without
// `panic_fuse`, rayon still visits every other item after a panic; workcrew
// hands out nothing new after one (as rayon with `panic_fuse`), so on a
// one-thread pool the items after the panicking one are never reached.
#[test]
fn after_a_panic_no_new_piece_is_handed_out() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        pool.install(|| {
            let count = AtomicUsize::new(0);
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                (0..0x1_0000)
                    .into_par_iter()
                    .with_max_len(1)
                    .inspect(|&i| {
                        if i == 0xC000 {
                            panic!("boom")
                        }
                    })
                    .for_each(|_| {
                        count.fetch_add(1, Ordering::Relaxed);
                    });
            }));
            assert!(outcome.is_err());
            assert_eq!(count.load(Ordering::Relaxed), 0xC000);
        });
    });
}

// rayon: src/iter/test.rs scope_mix (a parallel iterator inside a task of a
// scope, next to recursive spawning)
#[test]
fn a_parallel_iterator_inside_a_scoped_task_finishes() {
    on_pool(|| {
        let spawned = AtomicUsize::new(0);
        let result = Mutex::new(None);
        pool().scope(|s| {
            s.spawn(|| {
                (0..1024usize).into_par_iter().for_each(|_| {
                    spawned.fetch_add(1, Ordering::Relaxed);
                })
            });
            s.spawn(|| {
                let a: Vec<i32> = (0..1024).collect();
                *result.lock().unwrap() = a.par_iter().map(|&i| i + 1).reduce_with(|i, j| i + j);
            });
        });
        assert_eq!(spawned.load(Ordering::Relaxed), 1024);
        assert_eq!(*result.lock().unwrap(), Some((1..=1024).sum()));
    });
}

// rayon-core: src/registry.rs's `current_num_threads` outside any pool:
// the global pool's size
#[test]
fn current_num_threads_outside_any_pool_is_the_global_pools() {
    with_deadline(LIMIT, || {
        assert_eq!(
            workcrew::current_num_threads(),
            workcrew::global().max_threads()
        );
    });
}

// rayon: the `ParallelBridge` documentation ("it's fine to use this with
// large or even unbounded iterators"): an unbounded source can be searched.
// A difference, kept for speed: rayon pulls one item per `next` under its
// lock and buffers nothing; workcrew pulls a piece's items in one batch, so
// a source that yields its next item only after the last one was processed
// (a request/response channel) would wait for an item its own piece holds
// back. Not tested here: such a test can only hang.
#[test]
fn par_bridge_searches_unbounded_sources() {
    on_pool(|| {
        assert!((0u64..).par_bridge().any(|x| x == 50_000));
        let found = std::iter::successors(Some(1u64), |x| Some(x + 2))
            .par_bridge()
            .find_any(|x| x % 1_001 == 0);
        assert_eq!(found.map(|x| x % 1_001), Some(0));
        let first_big = std::iter::repeat_with(|| spin(3))
            .par_bridge()
            .find_any(|&x| x == spin(3));
        assert_eq!(first_big, Some(spin(3)));
    });
}
