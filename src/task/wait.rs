//! Waiting for any or all of a slice of handles: [`wait_any`],
//! [`wait_all`] and their timed forms.
//!
//! Invariant: none of these consumes a result (join the handles for that),
//! and none can deadlock a one-thread pool: a waiter that is a worker of a
//! handle's pool first takes back a task that is still queued and runs it
//! inline (timed waits only when the pool could not run it otherwise:
//! handle.rs, "Take back"). `wait_any` registers one waker on every handle
//! and deregisters it before returning, so waiting costs O(n) per call.

use std::time::{Duration, Instant};

use crate::scheduler::deadline_after;
use crate::scheduler::shared::Shared;
use crate::scheduler::worker::{park_until, Worker};
use crate::task::cell::Registered;
use crate::task::handle::{current_thread_waker, may_take_back, Handle, TaskHandle};
use crate::task::state::Stage;
use crate::Arc;

/// If the current thread is a worker of `pool`, runs the first still-queued
/// task among `handles` inline. Returns whether it ran one.
fn take_back_one<'h, T: 'h>(
    pool: &Arc<Shared>,
    handles: impl IntoIterator<Item = &'h Handle<'static, T>>,
) -> bool {
    Worker::with_current_in(pool, |worker| {
        let Some(worker) = worker else { return false };
        handles
            .into_iter()
            .filter(|handle| Arc::ptr_eq(&handle.pool, pool))
            .any(|handle| handle.task.stage() == Stage::Queued && handle.task.run_inline(worker))
    })
}

/// The lowest index of a finished handle.
fn first_finished<T>(handles: &[TaskHandle<T>]) -> Option<usize> {
    handles.iter().position(TaskHandle::is_finished)
}

/// Waits until one of `handles` is finished and returns the lowest index
/// among the finished ones. Takes no result: join the handle to get it.
///
/// # Panics
///
/// If `handles` is empty (nothing could ever finish).
///
/// # Examples
///
/// ```
/// let pool = workcrew::Pool::new(2);
/// let handles = vec![pool.spawn(|| 1), pool.spawn(|| 2)];
/// let first = workcrew::wait_any(&handles); // Python's FIRST_COMPLETED
/// assert!(first < 2 && handles[first].is_finished());
/// ```
pub fn wait_any<T>(handles: &[TaskHandle<T>]) -> usize {
    assert!(
        !handles.is_empty(),
        "workcrew::wait_any: no handles to wait for (it would wait forever)"
    );
    wait_any_until(handles, None).expect("no deadline")
}

/// Like [`wait_any`], but gives up after `timeout` and returns `None`
/// (also at once for an empty slice). Nothing is consumed either way.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = workcrew::Pool::new(2);
/// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
/// let handles = vec![pool.spawn(move || release_rx.recv().unwrap())];
/// assert_eq!(workcrew::wait_any_timeout(&handles, Duration::from_millis(20)), None);
/// release_tx.send(()).unwrap();
/// assert_eq!(workcrew::wait_any_timeout(&handles, Duration::from_secs(10)), Some(0));
/// assert_eq!(workcrew::wait_any_timeout::<()>(&[], Duration::from_secs(10)), None);
/// ```
pub fn wait_any_timeout<T>(handles: &[TaskHandle<T>], timeout: Duration) -> Option<usize> {
    if handles.is_empty() {
        return None;
    }
    wait_any_until(handles, Some(deadline_after(timeout)))
}

fn wait_any_until<T>(handles: &[TaskHandle<T>], deadline: Option<Instant>) -> Option<usize> {
    loop {
        if let Some(index) = first_finished(handles) {
            return Some(index);
        }
        // Timed waits run a task inline only when the pool could not give
        // it a thread (handle.rs, "Take back").
        let took_back = may_take_back(deadline)
            && handles
                .iter()
                .any(|handle| take_back_one(&handle.inner().pool, [handle.inner()]));
        if !took_back {
            break;
        }
    }
    let waker = current_thread_waker();
    let mut registered = 0;
    for handle in handles {
        match handle.inner().task.register(&waker) {
            Registered::Yes => registered += 1,
            Registered::AlreadyFinal => break,
        }
    }
    park_until(|| first_finished(handles).is_some(), deadline);
    for handle in &handles[..registered] {
        handle.inner().task.deregister(&waker);
    }
    first_finished(handles)
}

/// Waits until every handle is finished (completed, panicked or cancelled).
/// Takes no result. Returns at once for an empty slice.
///
/// # Examples
///
/// Python's `wait(fs, return_when=ALL_COMPLETED)`:
///
/// ```
/// let pool = workcrew::Pool::new(2);
/// let handles: Vec<_> = (0..4).map(|i| pool.spawn(move || i * 2)).collect();
/// workcrew::wait_all(&handles);
/// assert!(handles.iter().all(|handle| handle.is_finished()));
/// let results: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
/// assert_eq!(results, [0, 2, 4, 6]);
/// ```
pub fn wait_all<T>(handles: &[TaskHandle<T>]) {
    for handle in handles {
        handle.wait();
    }
}

/// Like [`wait_all`], but gives up after `timeout`; returns whether all
/// finished. Nothing is consumed either way.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = workcrew::Pool::new(2);
/// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
/// let handles = vec![pool.spawn(|| ()), pool.spawn(move || release_rx.recv().unwrap())];
/// assert!(!workcrew::wait_all_timeout(&handles, Duration::from_millis(20)));
/// release_tx.send(()).unwrap();
/// assert!(workcrew::wait_all_timeout(&handles, Duration::from_secs(10)));
/// ```
pub fn wait_all_timeout<T>(handles: &[TaskHandle<T>], timeout: Duration) -> bool {
    let deadline = deadline_after(timeout);
    handles
        .iter()
        .all(|handle| handle.inner().wait(Some(deadline)))
}
