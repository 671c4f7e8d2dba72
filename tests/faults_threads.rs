//! The promises when the OS refuses new threads (a container's pids limit,
//! `ulimit -u`): `build` fails only if no worker can start, a pool that
//! cannot grow keeps running on the threads it has, a wait that counted on a
//! compensating thread takes its task back, and nothing panics where it
//! should refuse. Each test limits its own thread with a pids cgroup
//! ([`ThreadLimit`]) and fails, saying why, if it cannot.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::fault::{os_threads_named, refusals_in, wait_for_threads, ThreadLimit};
use common::{occupy, panic_text_of, release, with_deadline, Counter, Gate, LIMIT};
use workcrew::Pool;

#[test]
fn build_fails_with_a_build_error_naming_threads_when_the_os_refuses_every_thread() {
    with_deadline(LIMIT, || {
        let limit = ThreadLimit::new(0);
        let error = Pool::builder()
            .threads(2)
            .thread_name(|i| format!("refused-{i}"))
            .build()
            .unwrap_err();
        assert_eq!(error.field(), "threads");
        assert!(error.to_string().contains("OS refused"), "{error}");
        let text = panic_text_of(|| Pool::new(2));
        assert!(
            text.contains("Pool::new") && text.contains("OS refused"),
            "{text}"
        );
        assert_eq!(os_threads_named("refused-"), 0);
        drop(limit);
    });
}

#[test]
fn a_pool_that_could_start_only_some_core_threads_runs_on_them() {
    with_deadline(LIMIT, || {
        let limit = ThreadLimit::new(1);
        let pool = Pool::builder()
            .threads(3)
            .thread_name(|i| format!("partial-{i}"))
            .build()
            .unwrap();
        wait_for_threads(&pool, "partial-", 1);
        let ran = Counter::new();
        let handles: Vec<_> = (0..200)
            .map(|i| {
                let ran = ran.clone();
                pool.spawn(move || {
                    ran.inc();
                    i
                })
            })
            .collect();
        let sum: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!((ran.get(), sum), (200, (0..200).sum()));
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
        drop(limit);
    });
}

#[test]
fn submissions_to_a_pool_that_cannot_grow_never_panic_and_every_one_runs_once() {
    with_deadline(LIMIT, || {
        let limit = ThreadLimit::new(1);
        let pool = Pool::builder().threads(1).max_threads(4).build().unwrap();
        let gate = Gate::new();
        let busy = occupy(&pool, 1, &gate);
        let ran = Counter::new();
        let mut handles = Vec::new();
        for _ in 0..10 {
            let ran = ran.clone();
            let handle = pool
                .try_spawn(move || ran.inc())
                .unwrap_or_else(|_| panic!("refused although a thread exists"));
            handles.push(handle);
        }
        for _ in 0..10 {
            let ran = ran.clone();
            pool.execute(move || ran.inc());
        }
        assert_eq!(
            pool.threads(),
            1,
            "a thread started although the OS refuses them"
        );
        release(&gate, busy);
        handles.into_iter().for_each(|h| h.join().unwrap());
        pool.join();
        assert_eq!(ran.get(), 20, "every accepted closure runs exactly once");
        assert_eq!(pool.stats().cancelled, 0);
        pool.shutdown();
        drop(limit);
    });
}

#[test]
fn a_task_polling_a_timed_wait_on_a_one_thread_pool_finishes_when_no_thread_can_start() {
    with_deadline(LIMIT, || {
        let limit = ThreadLimit::new(1);
        let pool = Pool::new(1);
        let inner_pool = pool.clone();
        let outer = pool.spawn(move || {
            let inner = inner_pool.spawn(|| 5);
            let mut polls = 0;
            while !inner.wait_timeout(Duration::from_millis(10)) {
                polls += 1;
                assert!(polls < 1000, "the awaited task never ran");
            }
            inner.join().unwrap()
        });
        assert_eq!(outer.join().unwrap(), 5);
        pool.shutdown();
        drop(limit);
    });
}

#[test]
fn a_long_timed_wait_takes_its_task_back_at_once_when_compensation_is_refused() {
    with_deadline(LIMIT, || {
        let limit = ThreadLimit::new(1);
        let pool = Pool::new(1);
        let inner_pool = pool.clone();
        // Longer than the test's deadline: only taking the task back ends it.
        let outer = pool.spawn(move || {
            let inner = inner_pool.spawn(|| 6);
            assert!(inner.wait_timeout(LIMIT * 3), "the wait timed out");
            inner.join().unwrap()
        });
        assert_eq!(outer.join().unwrap(), 6);
        pool.shutdown();
        drop(limit);
    });
}

#[test]
fn nested_waits_scopes_and_maps_inside_a_pool_that_cannot_grow_complete() {
    with_deadline(LIMIT, || {
        let limit = ThreadLimit::new(2);
        let pool = Pool::builder().threads(2).max_threads(8).build().unwrap();
        let inner = pool.clone();
        let total = pool
            .spawn(move || {
                let doubled = inner.map(0..1000u64, |x| x * 2);
                let mut scoped = 0;
                inner.scope(|s| {
                    let a = s.spawn(|| inner.spawn(|| 1).join().unwrap());
                    let b = s.spawn(|| inner.fork_join(|| 2, || 3));
                    let (x, y) = b.join().unwrap();
                    scoped = a.join().unwrap() + x + y;
                });
                doubled.iter().sum::<u64>() + scoped
            })
            .join()
            .unwrap();
        assert_eq!(total, 999_000 + 6);
        pool.shutdown();
        drop(limit);
    });
}

#[test]
fn a_pool_grows_again_once_the_os_allows_threads() {
    with_deadline(LIMIT, || {
        let limit = ThreadLimit::new(1);
        let pool = Pool::builder().threads(1).max_threads(3).build().unwrap();
        let gate = Gate::new();
        let busy = occupy(&pool, 1, &gate);
        let (started_tx, started_rx) = mpsc::channel();
        let blocked = pool.spawn(move || started_tx.send(()).unwrap());
        assert_eq!(
            pool.threads(),
            1,
            "a thread started although the OS refuses them"
        );
        limit.allow(2);
        // The next submission tries again and starts a thread.
        let next = pool.spawn(|| 7);
        assert_eq!(next.join().unwrap(), 7);
        started_rx
            .recv_timeout(LIMIT)
            .expect("the queued task ran once a thread could start");
        blocked.join().unwrap();
        release(&gate, busy);
        pool.shutdown();
        drop(limit);
    });
}

#[test]
fn thread_job_with_more_subjobs_than_threads_names_itself_when_the_os_refuses_one() {
    with_deadline(LIMIT, || {
        // The global pool first, so its threads are not the ones refused.
        workcrew::global();
        // The subjobs that start wait until the OS has refused the next
        // thread, so none can exit early and free its slot for another. A
        // watcher outside the limit opens their gate.
        let gate = Gate::new();
        let (dir_tx, dir_rx) = mpsc::channel::<(std::path::PathBuf, usize)>();
        let watcher = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                let (dir, before) = dir_rx.recv().unwrap();
                common::wait_until("the OS to refuse a subjob's thread", || {
                    refusals_in(&dir) > before
                });
                gate.open();
            })
        };
        let limit = ThreadLimit::new(2);
        dir_tx.send((limit.dir(), limit.refusals())).unwrap();
        let ran = Counter::new();
        let subjobs = (workcrew::global().max_threads() + 4) as isize;
        let text = panic_text_of(|| {
            workcrew::thread_job(100, subjobs, |_, _| {
                ran.inc();
                gate.wait();
            });
        });
        watcher.join().unwrap();
        assert!(
            text.contains("thread_job") && text.contains("OS refused"),
            "{text}"
        );
        assert_eq!(
            ran.get(),
            2,
            "the two subjobs that got a thread ran, the others did not"
        );
        drop(limit);
    });
}
