//! What a pool reports about itself: `pending`, `threads`, `max_threads`,
//! `stats`; the start order of outside submissions; and the trait
//! guarantees of the public types.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::error::Error;
use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use common::{with_deadline, Gate, LIMIT};
use workcrew::{BuildError, Pool, PoolStats, SpawnError, TaskError, TaskHandle, TaskId, Timeout};

// ---------------------------------------------------------------- traits

fn is_clone_debug_send_sync<T: Clone + Debug + Send + Sync>() {}
fn is_send_sync<T: Send + Sync>() {}
fn is_error<T: Debug + Display + Error>() {}
fn is_clone_debug_default_eq<T: Clone + Debug + Default + PartialEq>() {}
fn is_copy_eq_hash_ord_debug<T: Copy + Eq + Hash + Ord + Debug>() {}

#[test]
fn the_public_types_have_the_promised_traits() {
    is_clone_debug_send_sync::<Pool>();
    is_send_sync::<TaskHandle<u32>>();
    is_send_sync::<TaskHandle<Vec<String>>>();
    is_error::<TaskError>();
    is_error::<SpawnError<fn()>>();
    is_error::<SpawnError<Box<dyn FnOnce() + Send>>>();
    is_error::<BuildError>();
    is_error::<Timeout>();
    is_clone_debug_default_eq::<PoolStats>();
    is_copy_eq_hash_ord_debug::<TaskId>();
}

#[test]
fn task_ids_are_distinct_ordered_by_spawn_and_work_as_set_and_map_keys() {
    with_deadline(LIMIT, || {
        const TASKS: usize = 50;
        let pool = Pool::new(2);
        let mut set = pool.task_set();
        let spawned: Vec<TaskId> = (0..TASKS).map(|i| set.spawn(move || i)).collect();

        // Copy: an id stays usable after being passed by value.
        let first = spawned[0];
        let moved = first;
        assert_eq!(first, moved);

        // Eq + Hash: every id is distinct.
        let distinct: HashSet<TaskId> = spawned.iter().copied().collect();
        assert_eq!(distinct.len(), TASKS, "two tasks of one set share an id");

        // Ord: ids grow in spawn order.
        let ordered: BTreeSet<TaskId> = spawned.iter().rev().copied().collect();
        assert!(
            ordered.iter().copied().eq(spawned.iter().copied()),
            "ids are not ordered by spawn: {spawned:?}"
        );
        assert!(spawned.windows(2).all(|pair| pair[0] < pair[1]));

        // Debug: readable, and different for different ids.
        let (a, b) = (format!("{:?}", spawned[0]), format!("{:?}", spawned[1]));
        assert!(a.contains("TaskId"), "{a}");
        assert_ne!(a, b);

        // The ids `join_next_with_id` hands back are the spawned ones, each
        // once, with the spawning task's result.
        let by_id: HashMap<TaskId, usize> = spawned.iter().copied().zip(0..TASKS).collect();
        let mut joined = HashSet::new();
        while let Some((id, result)) = set.join_next_with_id() {
            assert_eq!(
                result.unwrap(),
                by_id[&id],
                "{id:?} came back with another task's result"
            );
            assert!(joined.insert(id), "{id:?} came back twice");
        }
        assert_eq!(joined, distinct);
    });
}

#[test]
fn a_pools_debug_form_is_readable() {
    let pool = Pool::new(2);
    let text = format!("{pool:?}");
    assert!(text.contains("Pool"), "{text}");
}

// ---------------------------------------------------------------- quiescent

#[test]
fn a_new_pool_reports_nothing_queued_running_or_counted() {
    let pool = Pool::new(3);
    let stats = pool.stats();
    assert_eq!(pool.pending(), 0);
    assert_eq!(pool.max_threads(), 3);
    assert!(pool.threads() <= 3);
    let zero = PoolStats::default();
    assert_eq!(
        (
            stats.queued,
            stats.running,
            stats.completed,
            stats.panicked,
            stats.cancelled
        ),
        (
            zero.queued,
            zero.running,
            zero.completed,
            zero.panicked,
            zero.cancelled
        )
    );
    assert_eq!((stats.timed_out, stats.discarded), (0, 0));
}

#[test]
fn stats_are_exact_once_the_pool_is_quiet() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 2, &gate);
        let cancelled = pool.spawn(|| ());
        assert!(cancelled.cancel());
        let outcomes: Vec<_> = (0..10)
            .map(|i| pool.spawn(move || assert!(i % 4 != 0, "every fourth task fails")))
            .collect();
        common::release(&gate, busy);
        let failures = outcomes
            .into_iter()
            .map(TaskHandle::join)
            .filter(Result::is_err)
            .count();
        assert_eq!(failures, 3);
        pool.join();
        let stats = pool.stats();
        assert_eq!(stats.queued, 0);
        assert_eq!(stats.running, 0);
        assert_eq!(stats.completed, 12, "10 tasks + 2 blockers ran");
        assert_eq!(stats.panicked, 3);
        assert_eq!(stats.cancelled, 1);
        assert_eq!(stats.threads, 2);
        assert_eq!(pool.pending(), 0);
        assert_eq!(pool.threads(), 2);
    });
}

#[test]
fn queued_and_running_are_exact_while_the_running_tasks_are_blocked() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let busy = common::occupy(&pool, 2, &gate);
        let queued: Vec<_> = (0..3).map(|_| pool.spawn(|| ())).collect();
        let stats = pool.stats();
        assert_eq!(stats.running, 2);
        assert_eq!(stats.queued, 3);
        assert_eq!(stats.threads, 2);
        assert_eq!(stats.idle_threads, 0);
        assert_eq!(pool.pending(), 5);
        gate.open();
        busy.into_iter()
            .chain(queued)
            .for_each(|h| h.join().unwrap());
        pool.join();
        assert_eq!(pool.pending(), 0);
    });
}

#[test]
fn counts_from_several_pools_do_not_mix() {
    with_deadline(LIMIT, || {
        let (a, b) = (Pool::new(1), Pool::new(1));
        for _ in 0..5 {
            a.spawn(|| ()).join().unwrap();
        }
        b.spawn(|| ()).join().unwrap();
        a.join();
        b.join();
        assert_eq!(a.stats().completed, 5);
        assert_eq!(b.stats().completed, 1);
    });
}

#[test]
fn max_threads_follows_set_threads() {
    let pool = Pool::builder().threads(1).max_threads(6).build().unwrap();
    assert_eq!(pool.max_threads(), 6);
    pool.set_threads(3);
    assert_eq!(pool.max_threads(), 3);
}

// ---------------------------------------------------------------- order

#[test]
fn outside_tasks_start_in_submission_order_on_a_one_thread_pool() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        // Queue everything behind a blocked task first, so the order is
        // the queue's, not the submitter's speed against the worker's.
        let busy = common::occupy(&pool, 1, &gate);
        let order = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..200)
            .map(|i| {
                let order = order.clone();
                pool.spawn(move || order.lock().unwrap().push(i))
            })
            .collect();
        gate.open();
        busy.into_iter()
            .chain(handles)
            .for_each(|h| h.join().unwrap());
        assert_eq!(*order.lock().unwrap(), (0..200).collect::<Vec<_>>());
    });
}

#[test]
fn outside_tasks_submitted_while_the_pool_runs_start_in_order_on_one_thread() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..500)
            .map(|i| {
                let order = order.clone();
                pool.spawn(move || order.lock().unwrap().push(i))
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(*order.lock().unwrap(), (0..500).collect::<Vec<_>>());
    });
}
