//! `TaskHandle`: `wait`, `wait_timeout`, `is_finished`, `on_complete` and the
//! `Future` impl, driven by a hand-written executor (no async runtime).

mod common;

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use common::{with_deadline, Counter, Gate, LIMIT};
use workcrew::{Pool, TaskError};

/// Wakes the thread that runs [`block_on`], and counts wake-ups.
struct ThreadWaker {
    thread: Thread,
    wakes: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

impl ThreadWaker {
    fn new() -> Arc<ThreadWaker> {
        Arc::new(ThreadWaker {
            thread: thread::current(),
            wakes: AtomicUsize::new(0),
        })
    }

    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

/// The smallest executor: poll, park until woken, poll again.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(ThreadWaker::new());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

/// Polls `future` once with `waker`.
fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Arc<ThreadWaker>) -> Poll<F::Output> {
    let waker = Waker::from(waker.clone());
    Pin::new(future).poll(&mut Context::from_waker(&waker))
}

// ---------------------------------------------------------------- waiting

#[test]
fn is_finished_is_false_while_the_task_runs_and_true_after() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let handle = common::occupy(&pool, 1, &gate).remove(0);
        assert!(!handle.is_finished());
        gate.open();
        handle.wait();
        assert!(handle.is_finished());
        handle.join().unwrap();
    });
}

#[test]
fn is_finished_is_false_while_the_task_is_queued() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| 5);
        assert!(!queued.is_finished());
        gate.open();
        assert_eq!(queued.join().unwrap(), 5);
        running.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn wait_blocks_until_the_task_is_done_without_taking_the_result() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let held = gate.clone();
        let handle = pool.spawn(move || {
            held.wait();
            "result"
        });
        let opener = thread::spawn(move || gate.open());
        handle.wait();
        assert!(handle.is_finished());
        handle.wait();
        assert_eq!(handle.join().unwrap(), "result");
        opener.join().unwrap();
    });
}

#[test]
fn wait_timeout_returns_false_while_the_task_is_blocked_and_changes_nothing() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let handle = common::occupy(&pool, 1, &gate).remove(0);
        assert!(!handle.wait_timeout(Duration::from_millis(30)));
        assert!(!handle.is_finished());
        gate.open();
        assert!(handle.wait_timeout(LIMIT));
        assert!(handle.is_finished());
        handle.join().unwrap();
    });
}

#[test]
fn wait_timeout_on_a_finished_task_returns_true_at_once() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let handle = pool.spawn(|| 1);
        handle.wait();
        assert!(handle.wait_timeout(Duration::ZERO));
        assert_eq!(handle.join().unwrap(), 1);
    });
}

#[test]
fn several_threads_may_wait_on_one_handle() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let handle = common::occupy(&pool, 1, &gate).remove(0);
        let woke = Counter::new();
        thread::scope(|s| {
            for _ in 0..4 {
                let (handle, woke) = (&handle, woke.clone());
                s.spawn(move || {
                    handle.wait();
                    woke.inc();
                });
            }
            gate.open();
        });
        assert_eq!(woke.get(), 4);
        handle.join().unwrap();
    });
}

// ---------------------------------------------------------------- on_complete

#[test]
fn on_complete_runs_with_the_value_on_the_finishing_thread() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let held = gate.clone();
        let handle = pool.spawn(move || {
            held.wait();
            (21, thread::current().id())
        });
        let (called_tx, called_rx) = mpsc::channel();
        handle.on_complete(move |outcome| {
            let (value, task_thread) = outcome.unwrap();
            called_tx
                .send((value * 2, task_thread, thread::current().id()))
                .unwrap();
        });
        gate.open();
        let (value, task_thread, callback_thread) = called_rx.recv_timeout(LIMIT).unwrap();
        assert_eq!(value, 42);
        assert_eq!(
            callback_thread, task_thread,
            "the finishing worker runs the callback"
        );
    });
}

#[test]
fn on_complete_of_an_already_finished_task_runs_at_once_in_the_caller() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let handle = pool.spawn(|| 7);
        handle.wait();
        let caller = thread::current().id();
        let (called_tx, called_rx) = mpsc::channel();
        handle.on_complete(move |outcome| {
            called_tx
                .send((outcome.unwrap(), thread::current().id()))
                .unwrap();
        });
        // It already ran: no waiting needed.
        let (value, ran_on) = called_rx
            .try_recv()
            .expect("on_complete did not run at once");
        assert_eq!(value, 7);
        assert_eq!(ran_on, caller);
    });
}

#[test]
fn on_complete_receives_the_panic_of_a_panicking_task() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let (called_tx, called_rx) = mpsc::channel();
        pool.spawn(|| -> u8 { panic!("callback sees this") })
            .on_complete(move |outcome| {
                let error = outcome.unwrap_err();
                called_tx
                    .send(error.panic_message().map(str::to_owned))
                    .unwrap();
            });
        assert_eq!(
            called_rx.recv_timeout(LIMIT).unwrap().as_deref(),
            Some("callback sees this")
        );
    });
}

#[test]
fn on_complete_after_cancel_runs_at_once_with_cancelled() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        let queued = pool.spawn(|| 1);
        assert!(queued.cancel());
        let (called_tx, called_rx) = mpsc::channel();
        queued.on_complete(move |outcome| {
            called_tx
                .send(outcome.map_err(|e| e.is_cancelled()))
                .unwrap()
        });
        assert_eq!(called_rx.try_recv(), Ok(Err(true)));
        common::release(&gate, running);
    });
}

// ---------------------------------------------------------------- Future

#[test]
fn a_handle_is_a_future_that_any_executor_can_drive() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let a = pool.spawn(|| 20);
        let b = pool.spawn(|| 22);
        let sum = block_on(async move { a.await.unwrap() + b.await.unwrap() });
        assert_eq!(sum, 42);
    });
}

#[test]
fn a_pending_future_is_woken_when_the_task_completes() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let held = gate.clone();
        let mut handle = pool.spawn(move || {
            held.wait();
            "done"
        });
        let waker = ThreadWaker::new();
        assert!(poll_once(&mut handle, &waker).is_pending());
        assert_eq!(waker.wakes(), 0, "woken before the task finished");
        gate.open();
        // The task's completion must unpark us through the waker.
        while waker.wakes() == 0 {
            thread::park();
        }
        match poll_once(&mut handle, &waker) {
            Poll::Ready(outcome) => assert_eq!(outcome.unwrap(), "done"),
            Poll::Pending => panic!("pending after its waker was woken"),
        }
    });
}

/// `Future::poll` keeps only the latest waker ("until then the latest waker
/// is woken on completion", src/handle.rs): a waker replaced by a later
/// poll is never woken, the latest exactly once.
#[test]
fn the_latest_waker_is_the_one_woken() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let held = gate.clone();
        let mut handle = pool.spawn(move || held.wait());
        let first = ThreadWaker::new();
        let second = ThreadWaker::new();
        assert!(poll_once(&mut handle, &first).is_pending());
        assert!(poll_once(&mut handle, &second).is_pending());
        gate.open();
        while second.wakes() == 0 {
            thread::park();
        }
        // A task counts as running until its waiters were woken, so after
        // `Pool::join` every wake-up it would ever make has been made.
        pool.join();
        assert_eq!(first.wakes(), 0, "the replaced waker was woken");
        assert_eq!(
            second.wakes(),
            1,
            "the latest waker was not woken exactly once"
        );
        assert!(poll_once(&mut handle, &second).is_ready());
    });
}

#[test]
fn a_finished_tasks_future_is_ready_on_the_first_poll() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let mut handle = pool.spawn(|| 3);
        handle.wait();
        let waker = ThreadWaker::new();
        match poll_once(&mut handle, &waker) {
            Poll::Ready(outcome) => assert_eq!(outcome.unwrap(), 3),
            Poll::Pending => panic!("a finished task's future was pending"),
        }
    });
}

#[test]
fn the_future_of_a_panicking_task_resolves_to_panicked() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let handle = pool.spawn(|| -> u8 { panic!("future sees this") });
        let error = block_on(handle).unwrap_err();
        assert!(error.is_panic());
        assert_eq!(error.panic_message(), Some("future sees this"));
    });
}

#[test]
fn a_pending_future_is_woken_with_cancelled_when_its_task_is_cancelled() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let gate = Gate::new();
        let running = common::occupy(&pool, 1, &gate);
        let mut queued = pool.spawn(|| 1);
        let waker = ThreadWaker::new();
        assert!(poll_once(&mut queued, &waker).is_pending());
        assert!(queued.cancel());
        assert!(waker.wakes() >= 1, "cancel did not wake the future");
        match poll_once(&mut queued, &waker) {
            Poll::Ready(Err(TaskError::Cancelled)) => {}
            other => panic!("expected Ready(Err(Cancelled)), got {other:?}"),
        }
        common::release(&gate, running);
    });
}

#[test]
fn futures_can_be_awaited_from_another_thread_than_the_submitter() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let handles: Vec<_> = (0..20u32).map(|i| pool.spawn(move || i)).collect();
        let total = thread::spawn(move || {
            block_on(async move {
                let mut total = 0;
                for handle in handles {
                    total += handle.await.unwrap();
                }
                total
            })
        })
        .join()
        .unwrap();
        assert_eq!(total, (0..20).sum());
    });
}

#[test]
fn pool_join_waits_for_the_on_complete_callbacks_of_finished_tasks() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Arc::new(Gate::new());
        let reported = Arc::new(AtomicUsize::new(0));
        for _ in 0..20 {
            let (gate, reported) = (gate.clone(), reported.clone());
            let handle = pool.spawn(move || gate.wait());
            let reported_later = reported.clone();
            handle.on_complete(move |_| {
                // A slow callback: join must not return while it runs.
                thread::sleep(Duration::from_millis(2));
                reported_later.fetch_add(1, Ordering::SeqCst);
            });
            drop(reported);
        }
        gate.open();
        pool.join();
        assert_eq!(reported.load(Ordering::SeqCst), 20);
    });
}
