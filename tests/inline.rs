//! Inline mode (`PoolBuilder::inline`, `WORKCREW_INLINE=1`): every public
//! operation gives the same results and the same panics as on threads, and
//! runs on the calling thread, at submit, in order.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;

use common::{payload_text, with_deadline, LIMIT};
use workcrew::{Pool, TaskError};

/// What a call did: its value, or the text of its panic.
fn outcome<R: std::fmt::Debug>(call: impl FnOnce() -> R) -> String {
    match panic::catch_unwind(AssertUnwindSafe(call)) {
        Ok(value) => format!("{value:?}"),
        Err(payload) => format!("panicked: {}", payload_text(payload.as_ref())),
    }
}

fn joined<T: std::fmt::Debug>(result: Result<T, TaskError>) -> String {
    match result {
        Ok(value) => format!("Ok({value:?})"),
        Err(error) => format!("Err({error})"),
    }
}

/// Every public operation, run on `pool`; the record of what each gave.
fn exercise(pool: &Pool) -> Vec<String> {
    let mut record = Vec::new();
    record.push(joined(pool.spawn(|| 6 * 7).join()));
    record.push(joined(
        pool.spawn(|| -> u8 { panic!("spawned task failed") })
            .join(),
    ));
    record.push(joined(
        pool.task_builder()
            .name("named")
            .spawn(|| "named ran")
            .join(),
    ));
    let inner = pool.clone();
    record.push(joined(
        pool.spawn(move || inner.spawn(|| 1).join().unwrap() + 1)
            .join(),
    ));
    record.push(outcome(|| pool.apply(|| "applied")));
    record.push(outcome(|| pool.apply(|| -> u8 { panic!("apply failed") })));
    let words = ["a", "bb", "ccc"];
    record.push(outcome(|| pool.map(&words, |w| w.len())));
    record.push(outcome(|| {
        pool.map(0..10, |i| if i == 7 { panic!("map item 7") } else { i })
    }));
    record.push(outcome(|| {
        pool.try_map(["1", "x", "3"], |s| {
            s.parse::<u8>().map_err(|e| e.to_string())
        })
    }));
    record.push(outcome(|| {
        pool.imap(0..5u32, |i| i * i).collect::<Vec<_>>()
    }));
    record.push(outcome(|| {
        let mut all: Vec<_> = pool.imap_unordered(0..5u32, |i| i + 1).collect();
        all.sort();
        all
    }));
    record.push(outcome(|| {
        pool.imap(0..5u32, |i| if i == 3 { panic!("imap item 3") } else { i })
            .collect::<Vec<_>>()
    }));
    record.push(outcome(|| {
        pool.map_with_timeout(0..4u32, std::time::Duration::from_secs(3600), |i| {
            if i == 2 {
                panic!("timed item 2")
            }
            i
        })
        .into_iter()
        .map(joined)
        .collect::<Vec<_>>()
    }));
    let finished = AtomicUsize::new(0);
    record.push(outcome(|| {
        pool.map_progress(
            0..6u32,
            |i| i * 3,
            |p| {
                finished.fetch_max(p.done, SeqCst);
            },
        )
    }));
    record.push(format!("progress reached {}", finished.load(SeqCst)));
    record.push(outcome(|| pool.fork_join(|| 1, || "two")));
    record.push(outcome(|| {
        pool.fork_join(|| 1, || -> u8 { panic!("second half") })
    }));
    let total = AtomicUsize::new(0);
    pool.for_each_range(1000, |range| {
        total.fetch_add(range.len(), SeqCst);
    });
    record.push(format!("range covered {}", total.load(SeqCst)));
    let mut squares = vec![0u64; 100];
    pool.for_each_chunk_mut(&mut squares, |offset, chunk| {
        for (i, slot) in chunk.iter_mut().enumerate() {
            *slot = ((offset + i) * (offset + i)) as u64;
        }
    });
    record.push(format!("chunks {}", squares.iter().sum::<u64>()));
    let mut borrowed = 0;
    pool.scope(|s| {
        let a = s.spawn(|| 20);
        let b = s.spawn(|| 22);
        borrowed = a.join().unwrap() + b.join().unwrap();
    });
    record.push(format!("scope {borrowed}"));
    record.push(outcome(|| {
        pool.scope(|s| {
            s.spawn(|| -> u8 { panic!("unjoined scoped task") });
        })
    }));
    let mirrors =
        ["a", "b", "c"].map(|host| move || if host == "b" { Ok(host) } else { Err(host) });
    record.push(outcome(|| pool.race(mirrors)));
    let mut set = pool.task_set();
    for i in 0..4u32 {
        set.spawn(move || i * 10);
    }
    let mut results: Vec<_> = set.join_all().into_iter().map(joined).collect();
    results.sort();
    record.push(format!("set {results:?}"));
    let handles = vec![pool.spawn(|| 1), pool.spawn(|| 2)];
    workcrew::wait_all(&handles);
    record.push(format!(
        "wait_all {}",
        handles.iter().all(|h| h.is_finished())
    ));
    let counted = Arc::new(AtomicUsize::new(0));
    let c = counted.clone();
    pool.execute(move || {
        c.fetch_add(1, SeqCst);
    });
    pool.execute(|| panic!("executed task failed"));
    pool.join();
    record.push(format!("executed {}", counted.load(SeqCst)));
    // `completed` may differ: threads compute `imap` items ahead of the
    // reader, inline each as it is read (so a panic at item 3 spawns fewer).
    let stats = pool.stats();
    record.push(format!(
        "stats: panicked {} cancelled {} queued {} running {}",
        stats.panicked, stats.cancelled, stats.queued, stats.running
    ));
    record
}

#[test]
fn inline_mode_gives_the_same_results_and_panics_as_threads_for_every_operation() {
    with_deadline(LIMIT, || {
        let threaded = Pool::new(3);
        let inline = Pool::builder().inline(true).build().unwrap();
        let on_threads = exercise(&threaded);
        let on_the_caller = exercise(&inline);
        assert_eq!(on_threads.len(), on_the_caller.len());
        for (threads, here) in on_threads.iter().zip(&on_the_caller) {
            assert_eq!(threads, here);
        }
        assert_eq!(inline.threads(), 0, "an inline pool starts no thread");
        threaded.shutdown();
        inline.shutdown();
    });
}

#[test]
fn inline_tasks_run_on_the_calling_thread_at_submit_in_order() {
    let pool = Pool::builder().inline(true).build().unwrap();
    let caller = thread::current().id();
    let order = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..5)
        .map(|i| {
            let order = order.clone();
            pool.spawn(move || {
                assert_eq!(thread::current().id(), caller);
                order.lock().unwrap().push(i);
            })
        })
        .collect();
    assert!(
        handles.iter().all(|h| h.is_finished()),
        "each ran at submit"
    );
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
    let in_map: Vec<_> = pool.map(0..4, |_| thread::current().id() == caller);
    assert!(in_map.into_iter().all(|here| here));
    let (a, b) = pool.fork_join(|| thread::current().id(), || thread::current().id());
    assert_eq!((a, b), (caller, caller));
    pool.shutdown();
}

#[test]
fn an_inline_pool_honours_hooks_panic_handler_and_shutdown() {
    let handled = Arc::new(AtomicUsize::new(0));
    let before = Arc::new(AtomicUsize::new(0));
    let (h, b) = (handled.clone(), before.clone());
    let pool = Pool::builder()
        .inline(true)
        .before_task(move || {
            b.fetch_add(1, SeqCst);
        })
        .panic_handler(move |_| {
            h.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();
    pool.execute(|| panic!("handled"));
    pool.spawn(|| ()).join().unwrap();
    assert_eq!(handled.load(SeqCst), 1);
    assert_eq!(before.load(SeqCst), 2);
    pool.shutdown();
    assert!(pool.try_spawn(|| ()).unwrap_err().is_closed());
}

#[test]
fn workcrew_inline_in_the_environment_makes_pools_inline_unless_the_builder_says_otherwise() {
    // A child process, so the variable reaches only the pools built there.
    if std::env::var_os("WORKCREW_INLINE_CHILD").is_some() {
        let pool = Pool::new(2);
        assert_eq!(
            pool.threads(),
            0,
            "WORKCREW_INLINE=1 should make the pool inline"
        );
        let caller = thread::current().id();
        assert!(pool
            .spawn(move || thread::current().id() == caller)
            .join()
            .unwrap());
        let threaded = Pool::builder().threads(2).inline(false).build().unwrap();
        assert_eq!(threaded.threads(), 2);
        let total: u64 = workcrew::thread_map(&[1u64, 2, 3], 3, |x| *x * 2)
            .iter()
            .sum();
        assert_eq!(total, 12);
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "workcrew_inline_in_the_environment_makes_pools_inline_unless_the_builder_says_otherwise",
            "--test-threads=1",
        ])
        .env("WORKCREW_INLINE", "1")
        .env("WORKCREW_INLINE_CHILD", "1")
        .status()
        .expect("the test binary runs again as a child");
    assert!(status.success(), "the child with WORKCREW_INLINE=1 failed");
}
