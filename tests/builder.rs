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

use common::{panic_text_of, thread_name, wait_until, with_deadline, Counter, Gate, LIMIT};
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
fn a_thread_name_with_a_nul_byte_is_refused_naming_thread_name() {
    let error = build_error(Pool::builder().threads(3).thread_name(|i| {
        if i == 2 {
            "bad\0name".into()
        } else {
            format!("ok-{i}")
        }
    }));
    assert_eq!(error.field(), "thread_name");
    assert!(error.to_string().contains("NUL"), "{error}");
}

#[test]
fn a_build_error_is_a_std_error_with_a_debug_form() {
    let error = build_error(Pool::builder().threads(3).max_threads(1));
    let as_error: &dyn Error = &error;
    assert!(!as_error.to_string().is_empty());
    assert!(!format!("{error:?}").is_empty());
}

/// The most threads a pool may have (src/registry.rs, `THREAD_LIMIT`): its
/// thread counts are 16-bit fields with room for compensating threads.
const THREAD_LIMIT: usize = 32_767;

#[test]
fn a_thread_count_above_the_limit_is_refused_naming_threads() {
    for threads in [usize::MAX, -1i64 as usize, THREAD_LIMIT + 1, 1 << 16] {
        let error = build_error(Pool::builder().threads(threads));
        assert_eq!(error.field(), "threads", "{error}");
        let text = error.to_string();
        assert!(text.contains("`threads`"), "{text}");
        assert!(text.contains(&threads.to_string()), "{text}");
        assert!(text.contains("32767") && text.contains("limit"), "{text}");
    }
}

#[test]
fn a_max_thread_count_above_the_limit_is_refused_naming_max_threads() {
    for max in [usize::MAX, -1i64 as usize, THREAD_LIMIT + 1] {
        let error = build_error(Pool::builder().threads(1).max_threads(max));
        assert_eq!(error.field(), "max_threads", "{error}");
        let text = error.to_string();
        assert!(text.contains("`max_threads`"), "{text}");
        assert!(text.contains("32767") && text.contains("limit"), "{text}");
    }
}

#[test]
fn max_threads_at_the_limit_is_accepted() {
    // Extra threads start on demand, so this starts one thread, not 32,767.
    let pool = Pool::builder()
        .threads(1)
        .max_threads(THREAD_LIMIT)
        .build()
        .unwrap();
    assert_eq!(pool.max_threads(), THREAD_LIMIT);
    assert_eq!(pool.spawn(|| 7).join().unwrap(), 7);
    pool.shutdown();
}

#[test]
fn a_build_errors_field_is_the_builder_method_its_display_names() {
    let cases = [
        (Pool::builder().threads(4).max_threads(2), "max_threads"),
        (Pool::builder().threads(1).max_threads(0), "max_threads"),
        (Pool::builder().threads(1).stack_size(0), "stack_size"),
        (
            Pool::builder().threads(1).thread_name(|_| "a\0b".into()),
            "thread_name",
        ),
        (Pool::builder().threads(usize::MAX), "threads"),
    ];
    for (builder, field) in cases {
        let error = build_error(builder);
        assert_eq!(error.field(), field);
        let text = error.to_string();
        assert!(text.contains(&format!("`{field}`")), "{text}");
        assert!(text.len() > field.len() + 30, "says too little: {text}");
    }
}

#[test]
fn pool_new_with_a_thread_count_above_the_limit_panics_with_a_clear_message() {
    for threads in [usize::MAX, THREAD_LIMIT + 1] {
        let text = panic_text_of(|| Pool::new(threads));
        assert!(
            text.contains("Pool::new") && text.contains("threads") && text.contains("limit"),
            "unclear message: {text}"
        );
    }
}

#[test]
fn set_threads_above_the_limit_panics_with_a_clear_message_and_changes_nothing() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        for threads in [usize::MAX, -1i64 as usize, THREAD_LIMIT + 1] {
            let text = panic_text_of(|| pool.set_threads(threads));
            assert!(
                text.contains("set_threads") && text.contains("limit"),
                "unclear message: {text}"
            );
        }
        assert_eq!(pool.max_threads(), 2);
        assert_eq!(pool.spawn(|| 5).join().unwrap(), 5);
        pool.shutdown();
    });
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

/// `keep_alive(Duration::MAX)`: an idle extra thread waits "for ever", which
/// must not overflow the deadline (`now + keep_alive`) and kill the thread
/// as it parks. Both threads go idle after the burst (with two threads
/// above one core, both park with the keep-alive deadline), so later work
/// only runs if they survived parking.
#[test]
fn an_endless_keep_alive_keeps_the_extra_thread_and_the_pool_working() {
    with_deadline(LIMIT, || {
        let (starts, stops) = (Counter::new(), Counter::new());
        let pool = {
            let (starts, stops) = (starts.clone(), stops.clone());
            Pool::builder()
                .threads(1)
                .max_threads(2)
                .keep_alive(Duration::MAX)
                .on_thread_start(move || starts.inc())
                .on_thread_stop(move || stops.inc())
                .build()
                .unwrap()
        };
        for round in 0..3 {
            // A burst that needs the extra thread (started in round 0, kept
            // since).
            let gate = Gate::new();
            common::release(&gate, common::occupy(&pool, 2, &gate));
            assert_eq!(
                starts.get(),
                2,
                "round {round}: the extra thread was replaced"
            );
            wait_until("both threads to be idle", || pool.stats().idle_threads == 2);
            // Later tasks, one at a time and from outside, after both
            // threads went idle.
            for i in 0..10 {
                assert_eq!(pool.spawn(move || i * 2).join().unwrap(), i * 2);
            }
            assert_eq!(pool.threads(), 2, "round {round}: a thread was lost");
            assert_eq!(stops.get(), 0, "round {round}: a thread exited");
        }
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
        assert_eq!(pool.stats().completed, 3 * (2 + 10));
        assert_eq!(stops.get(), 2, "both threads stopped cleanly at shutdown");
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
