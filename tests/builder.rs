//! `PoolBuilder`: every option is accepted and takes effect; nonsense gets a
//! `BuildError` that names the field.

mod common;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::error::Error;
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{thread_name, wait_until, with_deadline, Counter, Gate, LIMIT};
use workcrew::{BuildError, Pool, PoolBuilder};

fn build_error(builder: PoolBuilder) -> BuildError {
    match builder.build() {
        Ok(pool) => panic!("expected a BuildError, got {pool:?}"),
        Err(error) => error,
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn max_threads_below_threads_is_refused_naming_max_threads() {
    let error = build_error(Pool::builder().threads(4).max_threads(2));
    assert!(error.to_string().contains("max_threads"), "{error}");
}

#[test]
fn max_threads_of_zero_is_refused_naming_max_threads() {
    let error = build_error(Pool::builder().threads(1).max_threads(0));
    assert!(error.to_string().contains("max_threads"), "{error}");
}

#[test]
fn a_stack_size_of_zero_is_refused_naming_stack_size() {
    let error = build_error(Pool::builder().threads(1).stack_size(0));
    assert!(error.to_string().contains("stack_size"), "{error}");
}

#[test]
fn a_queue_capacity_of_zero_is_refused_naming_queue_capacity() {
    let error = build_error(Pool::builder().threads(1).queue_capacity(0));
    assert!(error.to_string().contains("queue_capacity"), "{error}");
}

#[test]
fn a_build_error_is_a_std_error_with_a_debug_form() {
    let error = build_error(Pool::builder().threads(3).max_threads(1));
    let as_error: &dyn Error = &error;
    assert!(!as_error.to_string().is_empty());
    assert!(!format!("{error:?}").is_empty());
}

#[test]
fn max_threads_equal_to_threads_is_fine() {
    let pool = Pool::builder().threads(3).max_threads(3).build().unwrap();
    assert_eq!(pool.max_threads(), 3);
}

// ---------------------------------------------------------------- options

#[test]
fn every_option_is_accepted_and_the_pool_works() {
    with_deadline(LIMIT, || {
        let pool = Pool::builder()
            .threads(2)
            .max_threads(4)
            .keep_alive(Duration::from_secs(1))
            .queue_capacity(100)
            .thread_name(|i| format!("every-option-{i}"))
            .stack_size(4 << 20)
            .on_thread_start(|| {})
            .on_thread_stop(|| {})
            .before_task(|| {})
            .after_task(|| {})
            .panic_handler(|_| {})
            .build()
            .unwrap();
        assert_eq!(pool.max_threads(), 4);
        let name = pool.spawn(thread_name).join().unwrap();
        assert!(name.starts_with("every-option-"), "{name}");
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
    });
}

#[test]
fn max_threads_defaults_to_threads() {
    assert_eq!(Pool::builder().threads(3).build().unwrap().max_threads(), 3);
    assert_eq!(Pool::new(5).max_threads(), 5);
}

#[test]
fn threads_zero_means_one_per_cpu() {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let pool = Pool::builder().threads(0).build().unwrap();
    assert_eq!(pool.max_threads(), cores);
}

#[test]
fn default_thread_names_are_workcrew_and_an_index() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let names = names_of_busy_threads(&pool, 2);
        assert_eq!(
            names,
            BTreeSet::from(["workcrew-0".into(), "workcrew-1".into()])
        );
    });
}

/// Occupies `count` threads of `pool` at once and returns their names.
fn names_of_busy_threads(pool: &Pool, count: usize) -> BTreeSet<String> {
    let gate = Gate::new();
    let (name_tx, name_rx) = mpsc::channel();
    let handles: Vec<_> = (0..count)
        .map(|_| {
            let (gate, name_tx) = (gate.clone(), name_tx.clone());
            pool.spawn(move || {
                name_tx.send(thread_name()).unwrap();
                gate.wait();
            })
        })
        .collect();
    let names = (0..count)
        .map(|_| {
            name_rx
                .recv_timeout(LIMIT)
                .expect("a busy task never started")
        })
        .collect();
    common::release(&gate, handles);
    names
}

thread_local! {
    /// Dropped when a worker's OS thread really ends (after the pool is done
    /// with it), so the test knows its index is free again.
    static LIFE: RefCell<Option<LifeGuard>> = const { RefCell::new(None) };
}

struct LifeGuard(Arc<Mutex<usize>>);

impl Drop for LifeGuard {
    fn drop(&mut self) {
        *self.0.lock().unwrap() -= 1;
    }
}

#[test]
fn thread_name_gets_the_lowest_index_no_live_thread_uses() {
    with_deadline(LIMIT, || {
        let os_threads = Arc::new(Mutex::new(0_usize));
        let alive = os_threads.clone();
        let pool = Pool::builder()
            .threads(1)
            .max_threads(3)
            .keep_alive(Duration::from_millis(20))
            .thread_name(|i| format!("crew-{i}"))
            .on_thread_start(move || {
                *alive.lock().unwrap() += 1;
                LIFE.with(|life| *life.borrow_mut() = Some(LifeGuard(alive.clone())));
            })
            .build()
            .unwrap();
        let all_three: BTreeSet<String> = (0..3).map(|i| format!("crew-{i}")).collect();
        assert_eq!(names_of_busy_threads(&pool, 3), all_three);
        // The two extra threads exit after keep_alive; wait until their OS
        // threads are really gone so their indices are free.
        wait_until("the extra threads to exit", || {
            pool.threads() == 1 && *os_threads.lock().unwrap() == 1
        });
        // Growing again reuses the freed indices instead of counting on.
        assert_eq!(names_of_busy_threads(&pool, 3), all_three);
    });
}

#[test]
fn on_thread_start_and_stop_run_once_per_thread_on_the_worker_itself() {
    with_deadline(LIMIT, || {
        let started = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(Mutex::new(Vec::new()));
        let (s, t) = (started.clone(), stopped.clone());
        let pool = Pool::builder()
            .threads(2)
            .on_thread_start(move || s.lock().unwrap().push(thread_name()))
            .on_thread_stop(move || t.lock().unwrap().push(thread_name()))
            .build()
            .unwrap();
        names_of_busy_threads(&pool, 2);
        pool.shutdown();
        let mut started = started.lock().unwrap().clone();
        let mut stopped = stopped.lock().unwrap().clone();
        started.sort();
        stopped.sort();
        assert_eq!(started, ["workcrew-0", "workcrew-1"]);
        assert_eq!(
            stopped, started,
            "every started thread stops once, on itself"
        );
    });
}

#[test]
fn before_task_and_after_task_run_once_around_each_task_on_its_thread() {
    with_deadline(LIMIT, || {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (b, a) = (log.clone(), log.clone());
        let pool = Pool::builder()
            .threads(1)
            .before_task(move || b.lock().unwrap().push(("before", thread_name())))
            .after_task(move || a.lock().unwrap().push(("after", thread_name())))
            .build()
            .unwrap();
        for _ in 0..3 {
            let log = log.clone();
            pool.spawn(move || log.lock().unwrap().push(("task", thread_name())))
                .join()
                .unwrap();
        }
        let log = log.lock().unwrap();
        let events: Vec<&str> = log.iter().map(|(event, _)| *event).collect();
        assert_eq!(
            events,
            ["before", "task", "after", "before", "task", "after", "before", "task", "after"]
        );
        assert!(
            log.iter().all(|(_, thread)| thread == "workcrew-0"),
            "{log:?}"
        );
    });
}

#[test]
fn the_panic_handler_receives_the_payload() {
    with_deadline(LIMIT, || {
        let received = Counter::new();
        let seen = received.clone();
        let pool = Pool::builder()
            .threads(1)
            .panic_handler(move |payload| {
                assert_eq!(payload.downcast_ref::<&str>(), Some(&"handed over"));
                seen.inc();
            })
            .build()
            .unwrap();
        pool.execute(|| panic!("handed over"));
        wait_until("the panic handler to run", || received.get() == 1);
    });
}

// ---------------------------------------------------------------- stack size

/// Set in the child process of `stack_size_is_applied_to_worker_threads`.
const STACK_CHILD: &str = "WORKCREW_TEST_STACK_SIZE_CHILD";

/// Recurses `depth` frames of at least 4 KiB each.
fn use_stack(depth: usize) -> usize {
    let frame = std::hint::black_box([depth as u8; 4096]);
    if depth == 0 {
        return 0;
    }
    use_stack(depth - 1) + usize::from(std::hint::black_box(&frame)[17])
}

#[test]
fn stack_size_is_applied_to_worker_threads() {
    // Needs at least 32 MiB of stack, far above a spawned thread's default
    // of 2 MiB. Without the setting the thread overflows and the process
    // aborts, so that part runs in a child process of this test binary.
    const DEPTH: usize = 8 * 1024;
    if std::env::var_os(STACK_CHILD).is_some() {
        let pool = Pool::builder()
            .threads(1)
            .stack_size(128 << 20)
            .build()
            .unwrap();
        let sum = pool.spawn(|| use_stack(DEPTH)).join().unwrap();
        assert!(sum > 0);
        return;
    }
    with_deadline(LIMIT, || {
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "stack_size_is_applied_to_worker_threads",
                "--test-threads=1",
            ])
            .env(STACK_CHILD, "1")
            .output()
            .expect("could not run the test binary as a child");
        assert!(
            output.status.success(),
            "a worker built with stack_size(128 MiB) could not recurse 32 MiB deep:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("1 passed"),
            "the child did not run the test:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
    });
}
