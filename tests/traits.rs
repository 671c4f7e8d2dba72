//! The auto traits and common traits the public types promise in their
//! docs (DESIGN.md, "Traits"). Each assertion is a function call that only
//! compiles if the type implements the trait, so a change that loses one
//! fails to build this file; the test then checks a few behaviours that
//! depend on them (using a pool after a caught panic, without
//! `AssertUnwindSafe`).

use std::cell::Cell;
use std::fmt::Debug;
use std::hash::Hash;
use std::panic::{self, RefUnwindSafe, UnwindSafe};

use workcrew::{
    BuildError, Imap, Pool, PoolBuilder, PoolStats, Scope, ScopedHandle, SpawnError, TaskError,
    TaskHandle, TaskId, TaskSet, Timeout,
};

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn unwind_safe<T: UnwindSafe>() {}
fn ref_unwind_safe<T: RefUnwindSafe>() {}
fn debug<T: Debug>() {}
fn error<T: std::error::Error>() {}

/// Not `Sync` and not `RefUnwindSafe`: the weakest result type a task can
/// have, to show the handle's promises do not depend on `T`'s.
type Unshared = Cell<u32>;

#[test]
fn pool_is_clone_send_sync_debug_and_unwind_safe() {
    fn clone<T: Clone>() {}
    clone::<Pool>();
    send::<Pool>();
    sync::<Pool>();
    debug::<Pool>();
    unwind_safe::<Pool>();
    ref_unwind_safe::<Pool>();
    unwind_safe::<&Pool>();
}

#[test]
fn task_handles_and_sets_are_unwind_safe_for_every_result_type() {
    send::<TaskHandle<Unshared>>();
    sync::<TaskHandle<Unshared>>();
    unwind_safe::<TaskHandle<Unshared>>();
    ref_unwind_safe::<TaskHandle<Unshared>>();
    unwind_safe::<&TaskHandle<Unshared>>();
    debug::<TaskHandle<Unshared>>();

    send::<TaskSet<Unshared>>();
    sync::<TaskSet<Unshared>>();
    unwind_safe::<TaskSet<Unshared>>();
    ref_unwind_safe::<TaskSet<Unshared>>();
    debug::<TaskSet<Unshared>>();
}

#[test]
fn scopes_builders_and_iterators_are_debug() {
    debug::<Scope<'static, 'static>>();
    debug::<ScopedHandle<'static, Unshared>>();
    debug::<PoolBuilder>();
    debug::<Imap<u32>>();
    send::<Imap<u32>>();
    fn ordered_id<T: Copy + Eq + Hash + Ord + Debug>() {}
    ordered_id::<TaskId>();
    fn stats<T: Clone + Debug + Default + PartialEq>() {}
    stats::<PoolStats>();
}

#[test]
fn errors_are_debug_display_and_error() {
    error::<TaskError>();
    error::<SpawnError<fn()>>();
    error::<SpawnError<Box<dyn FnOnce() + Send>>>();
    error::<Timeout>();
    error::<BuildError>();
    fn sendable_error<T: std::error::Error + Send + Sync + 'static>() {}
    sendable_error::<Timeout>();
    sendable_error::<BuildError>();
}

#[test]
fn a_pool_and_a_handle_work_after_a_panic_caught_while_they_were_borrowed() {
    let pool = Pool::new(1);
    let handle = pool.spawn(|| 42);
    // No AssertUnwindSafe: the closure borrows `pool` and `handle`.
    let caught = panic::catch_unwind(|| {
        assert!(pool.max_threads() >= 1);
        handle.wait();
        panic!("the caller's own bug");
    });
    assert!(caught.is_err());
    assert_eq!(handle.join().unwrap(), 42);
    assert_eq!(pool.spawn(|| 7).join().unwrap(), 7);

    let mut set = pool.task_set();
    set.spawn(|| 1);
    let set = panic::catch_unwind(move || {
        assert_eq!(set.len(), 1);
        set
    })
    .unwrap();
    assert_eq!(set.join_all().len(), 1);
    pool.shutdown();
}
