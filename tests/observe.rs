//! Seeing inside the pool and carrying context into it: task timings, the
//! slow-task hook, task names, and context captured at submit and entered
//! around every kind of work (spawn, execute, scope, map, imap, fork_join,
//! range loops).

mod common;

use std::cell::Cell;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::{with_deadline, LIMIT};
use workcrew::Pool;

thread_local!(static REQUEST: Cell<u64> = const { Cell::new(0) });

/// A pool whose tasks run inside the submitter's `REQUEST`.
fn pool_carrying_the_request(threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .context(
            || REQUEST.with(Cell::get),
            |id: &u64, body: &mut dyn FnMut()| {
                let outer = REQUEST.with(|r| r.replace(*id));
                body();
                REQUEST.with(|r| r.set(outer));
            },
        )
        .build()
        .unwrap()
}

fn request() -> u64 {
    REQUEST.with(Cell::get)
}

#[test]
fn context_captured_at_submit_is_the_one_seen_in_every_kind_of_work() {
    with_deadline(LIMIT, || {
        let pool = pool_carrying_the_request(2);
        REQUEST.with(|r| r.set(7));
        assert_eq!(pool.spawn(request).join().unwrap(), 7, "spawn");
        let (tx, rx) = mpsc::channel();
        pool.execute(move || tx.send(request()).unwrap());
        assert_eq!(rx.recv().unwrap(), 7, "execute");
        let mut scoped = 0;
        pool.scope(|s| scoped = s.spawn(request).join().unwrap());
        assert_eq!(scoped, 7, "scope");
        assert!(
            pool.map(0..64, |_| request()).iter().all(|&id| id == 7),
            "map"
        );
        assert!(pool.imap(0..16, |_| request()).all(|id| id == 7), "imap");
        assert_eq!(pool.fork_join(request, request), (7, 7), "fork_join");
        let seen = Mutex::new(Vec::new());
        pool.for_each_range(64, |_| seen.lock().unwrap().push(request()));
        assert!(
            seen.into_inner().unwrap().iter().all(|&id| id == 7),
            "for_each_range"
        );
        // A task spawned inside a task carries the context it runs in.
        let inner = pool.clone();
        REQUEST.with(|r| r.set(9));
        let nested = pool
            .spawn(move || inner.spawn(request).join().unwrap())
            .join()
            .unwrap();
        assert_eq!(nested, 9, "a task spawned inside a task");
        REQUEST.with(|r| r.set(0));
        assert_eq!(request(), 0, "the caller's own context is left as it was");
        pool.shutdown();
    });
}

#[test]
fn map_pieces_on_other_workers_enter_the_callers_context() {
    with_deadline(LIMIT, || {
        let pool = pool_carrying_the_request(2);
        REQUEST.with(|r| r.set(11));
        let caller = std::thread::current().id();
        // Slow items, so the second worker takes some of them.
        let seen = pool.map(0..40, |_| {
            std::thread::sleep(Duration::from_millis(1));
            (std::thread::current().id(), request())
        });
        assert!(seen.iter().all(|&(_, id)| id == 11));
        assert!(
            seen.iter().any(|&(thread, _)| thread != caller),
            "every item ran on one thread"
        );
        pool.shutdown();
    });
}

#[test]
fn a_large_context_value_is_carried_too() {
    let pool = Pool::builder()
        .threads(1)
        .context(
            || [5u64; 32],
            |_big: &[u64; 32], body: &mut dyn FnMut()| body(),
        )
        .build()
        .unwrap();
    assert_eq!(pool.spawn(|| 3).join().unwrap(), 3);
    pool.shutdown();
}

#[test]
fn an_enter_hook_that_never_calls_the_body_still_runs_the_task_once() {
    let pool = Pool::builder()
        .threads(1)
        .context(|| (), |_: &(), _body: &mut dyn FnMut()| {})
        .build()
        .unwrap();
    assert_eq!(pool.spawn(|| 5).join().unwrap(), 5);
    pool.shutdown();
}

#[test]
fn task_timings_count_every_task_with_queue_wait_and_run_time() {
    with_deadline(LIMIT, || {
        let pool = Pool::builder()
            .threads(2)
            .task_timings(true)
            .build()
            .unwrap();
        let handles: Vec<_> = (0..20)
            .map(|_| pool.spawn(|| std::thread::sleep(Duration::from_millis(2))))
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        pool.join();
        let stats = pool.stats();
        assert_eq!(stats.run_time.count, 20);
        assert_eq!(stats.queue_wait.count, 20);
        assert!(stats.run_time.max >= Duration::from_millis(2));
        assert!(stats.run_time.total >= Duration::from_millis(40));
        assert!(stats.run_time.mean() >= Duration::from_millis(2));
        assert_eq!(stats.run_time.buckets.iter().sum::<u64>(), 20);
        assert!(stats.run_time.quantile_at_most(0.5) >= Duration::from_millis(2));
        pool.shutdown();
    });
}

#[test]
fn a_pool_without_timings_measures_nothing() {
    let pool = Pool::new(1);
    pool.spawn(|| ()).join().unwrap();
    pool.join();
    let stats = pool.stats();
    assert_eq!((stats.run_time.count, stats.queue_wait.count), (0, 0));
    pool.shutdown();
}

#[test]
fn the_slow_task_hook_names_the_tasks_over_the_threshold_only() {
    with_deadline(LIMIT, || {
        let slow: Arc<Mutex<Vec<(String, Duration)>>> = Arc::default();
        let seen = slow.clone();
        let pool = Pool::builder()
            .threads(1)
            .slow_task(Duration::from_millis(20), move |task| {
                let name = task.name().unwrap_or("unnamed").to_owned();
                seen.lock().unwrap().push((name, task.ran_for()));
            })
            .build()
            .unwrap();
        pool.task_builder()
            .name("quick")
            .spawn(|| ())
            .join()
            .unwrap();
        pool.task_builder()
            .name("slow one")
            .spawn(|| std::thread::sleep(Duration::from_millis(40)))
            .join()
            .unwrap();
        pool.spawn(|| std::thread::sleep(Duration::from_millis(40)))
            .join()
            .unwrap();
        pool.join();
        let slow = slow.lock().unwrap();
        let names: Vec<_> = slow.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["slow one", "unnamed"]);
        assert!(slow
            .iter()
            .all(|(_, ran)| *ran >= Duration::from_millis(40)));
        pool.shutdown();
    });
}

#[test]
fn a_panicking_slow_task_hook_is_caught_and_counted() {
    let pool = Pool::builder()
        .threads(1)
        .slow_task(Duration::ZERO, |_| panic!("the hook failed"))
        .build()
        .unwrap();
    assert_eq!(pool.spawn(|| 1).join().unwrap(), 1);
    pool.join();
    assert_eq!(pool.stats().panicked, 1);
    pool.shutdown();
}

#[test]
fn a_panicking_task_is_still_timed_and_its_panic_reaches_the_caller() {
    let pool = Pool::builder()
        .threads(1)
        .task_timings(true)
        .build()
        .unwrap();
    let error = pool
        .spawn(|| -> u8 { panic!("timed panic") })
        .join()
        .unwrap_err();
    assert_eq!(error.panic_message(), Some("timed panic"));
    pool.join();
    assert_eq!(pool.stats().run_time.count, 1);
    pool.shutdown();
}

// ---------------------------------------------------------------- sizes and progress

/// What `indicatif`'s `.progress()` asks of an iterator.
fn count_exactly<I: ExactSizeIterator>(items: I) -> (usize, usize) {
    let announced = items.len();
    (announced, items.count())
}

#[test]
fn an_imap_of_an_exact_size_input_has_an_exact_size_all_along() {
    let pool = Pool::new(2);
    let mut squares = pool.imap(0..10u32, |x| x * x);
    assert_eq!(squares.size_hint(), (10, Some(10)));
    assert_eq!(squares.next(), Some(0));
    assert_eq!(squares.len(), 9);
    assert_eq!(count_exactly(squares), (9, 9));
    let unordered = pool.imap_unordered(vec![1, 2, 3], |x: i32| x);
    assert_eq!(count_exactly(unordered), (3, 3));
    pool.shutdown();
}

#[test]
fn an_imap_of_an_input_of_unknown_length_says_so() {
    let pool = Pool::new(1);
    let evens = pool.imap((0..10u32).filter(|x| x % 2 == 0), |x| x);
    assert_eq!(evens.size_hint().1, None);
    let text = common::panic_text_of(|| evens.len());
    assert!(
        text.contains("Imap::len") && text.contains("not known"),
        "{text}"
    );
    pool.shutdown();
}

#[test]
fn imap_progress_counts_finished_items_of_the_known_total() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let reports = Arc::new(Mutex::new(Vec::new()));
        let seen = reports.clone();
        let values: Vec<u32> = pool
            .imap(0..50u32, |x| x + 1)
            .chunk_size(4)
            .on_progress(move |p| seen.lock().unwrap().push((p.done, p.total)))
            .collect();
        assert_eq!(values.len(), 50);
        let mut reports = reports.lock().unwrap().clone();
        reports.sort();
        let expected: Vec<_> = (1..=50).map(|done| (done, Some(50))).collect();
        assert_eq!(
            reports, expected,
            "one report per finished item, counting up"
        );
        pool.shutdown();
    });
}

#[test]
fn map_progress_reports_every_item_once() {
    let pool = Pool::new(2);
    let reports = Mutex::new(Vec::new());
    let total: usize = pool
        .map_progress(0..100usize, |x| x, |p| reports.lock().unwrap().push(p.done))
        .iter()
        .sum();
    assert_eq!(total, 4950);
    let mut reports = reports.into_inner().unwrap();
    reports.sort();
    assert_eq!(reports, (1..=100).collect::<Vec<_>>());
    pool.shutdown();
}

#[test]
fn a_stolen_fork_join_half_runs_in_the_callers_context() {
    with_deadline(LIMIT, || {
        let pool = pool_carrying_the_request(2);
        let inner = pool.clone();
        REQUEST.with(|r| r.set(21));
        let (_, b_request) = pool
            .spawn(move || {
                let owner = std::thread::current().id();
                let (started_tx, started_rx) = mpsc::channel();
                let (_, seen) = inner.fork_join(
                    move || started_rx.recv().unwrap(),
                    move || {
                        let seen = (std::thread::current().id(), request());
                        started_tx.send(()).unwrap();
                        seen
                    },
                );
                assert_ne!(seen.0, owner, "b ran on the owner's thread");
                seen
            })
            .join()
            .unwrap();
        assert_eq!(b_request, 21);
        pool.shutdown();
    });
}

#[test]
fn indicatifs_progress_adaptor_works_on_an_imap() {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressIterator};
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        // `.progress()` sizes its bar from `ExactSizeIterator::len`.
        let squares = pool.imap(1..=100u64, |x| x * x).progress();
        let bar: ProgressBar = squares.progress.clone();
        bar.set_draw_target(ProgressDrawTarget::hidden());
        let squares: Vec<u64> = squares.collect();
        assert_eq!(squares.len(), 100);
        assert_eq!(
            bar.length(),
            Some(100),
            "the bar took the Imap's exact length"
        );
        assert_eq!(bar.position(), 100);
        pool.shutdown();
    });
}
