//! Model checks of workcrew's concurrency protocols with [loom].
//!
//! Built only with `--cfg loom`, which swaps every primitive in `src/sync.rs`
//! for loom's, turns the queues into mutexes (`src/queue.rs`), models a timed
//! park as "may time out at once" and shrinks the spin counts:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --test loom -- --nocapture
//! ```
//!
//! Each model drives the pool through its public API only and ends with
//! `shutdown`, so every loom thread finishes. A lost wake-up shows up as a
//! loom deadlock (every thread blocked), a task run twice or lost as a failed
//! assertion. Each model prints how many interleavings it explored.
//!
//! The preemption bound defaults to [`PREEMPTIONS`]; `LOOM_MAX_PREEMPTIONS`
//! overrides it (higher explores more and takes much longer).
//!
//! [loom]: https://docs.rs/loom
#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use loom::sync::atomic::AtomicUsize;
use loom::sync::Arc;
use loom::thread;
use std::sync::atomic::Ordering::SeqCst;

use workcrew::{Pool, SpawnError, TaskError, TaskHandle};

/// The default preemption bound: every model finishes in seconds with it.
const PREEMPTIONS: usize = 2;

/// Explores every interleaving of `model` within the preemption bound, and
/// prints how many there were.
fn explore(name: &str, model: impl Fn() + Sync + Send + 'static) {
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(PREEMPTIONS);
    }
    let bound = builder.preemption_bound;
    let counted = runs.clone();
    let start = Instant::now();
    builder.check(move || {
        counted.fetch_add(1, SeqCst);
        model();
    });
    eprintln!(
        "loom model `{name}`: {} interleavings explored (preemption bound {bound:?}) in {:.1?}",
        runs.load(SeqCst),
        start.elapsed()
    );
}

/// A pool with one core thread (started lazily by the first submission).
fn one_thread_pool() -> Pool {
    Pool::builder().threads(1).build().expect("valid settings")
}

/// A counter shared between the model and its tasks.
#[derive(Clone, Default)]
struct Count(Arc<AtomicUsize>);

impl Count {
    fn new() -> Count {
        Count(Arc::new(AtomicUsize::new(0)))
    }

    fn bump(&self) {
        self.0.fetch_add(1, SeqCst);
    }

    fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

// ---------------------------------------------------------------- (1) park vs submit

/// [park-vs-submit], [busy-to-idle]: the second task is submitted while the
/// only worker finishes the first and goes to sleep. A lost wake-up leaves
/// the worker parked and `join` waiting: loom reports the deadlock.
#[test]
fn a_task_submitted_while_the_last_worker_parks_always_runs() {
    explore("park vs submit", || {
        let pool = one_thread_pool();
        let first = pool.spawn(|| 1);
        assert_eq!(first.join().unwrap(), 1);
        let second = pool.spawn(|| 2);
        assert_eq!(second.join().unwrap(), 2);
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
        assert_eq!(pool.stats().completed, 2);
    });
}

/// The same race with fire-and-forget tasks and `Pool::join` as the waiter,
/// which exercises the pool's "quiet" signal instead of a task's waiters.
#[test]
fn executed_tasks_run_before_pool_join_returns() {
    explore("execute + pool.join", || {
        let pool = one_thread_pool();
        let ran = Count::new();
        for _ in 0..2 {
            let ran = ran.clone();
            pool.execute(move || ran.bump());
        }
        pool.join();
        assert_eq!(ran.get(), 2);
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
    });
}

// ---------------------------------------------------------------- (2) cancel vs start

/// `cancel` races with the worker claiming the same task: exactly one of them
/// wins, and the handle, the task and the stats all agree on which.
#[test]
fn cancel_and_a_starting_worker_agree_on_one_winner() {
    explore("cancel vs start", || {
        let pool = one_thread_pool();
        let runs = Count::new();
        let handle = {
            let runs = runs.clone();
            pool.spawn(move || {
                runs.bump();
                7
            })
        };
        let cancelled = handle.cancel();
        if cancelled {
            assert!(handle.is_finished(), "a cancelled handle is finished at once");
        }
        assert!(!handle.cancel(), "a second cancel never succeeds");
        let outcome = handle.join();
        pool.shutdown();
        match outcome {
            Ok(value) => {
                assert_eq!(value, 7);
                assert!(!cancelled, "cancel returned true but the task ran");
                assert_eq!(runs.get(), 1);
            }
            Err(TaskError::Cancelled) => {
                assert!(cancelled, "the handle says cancelled but cancel returned false");
                assert_eq!(runs.get(), 0, "a cancelled task ran");
            }
            Err(TaskError::Panicked(_)) => panic!("the task cannot panic"),
        }
        let stats = pool.stats();
        assert_eq!(stats.completed + stats.cancelled, 1);
        assert_eq!(stats.cancelled, u64::from(cancelled));
        assert_eq!(pool.threads(), 0);
    });
}

// ---------------------------------------------------------------- (3) waiting vs completion

/// `on_complete` registers while the worker finishes the task: the callback
/// runs exactly once (on the worker, or at once in the caller) with the value.
#[test]
fn on_complete_racing_with_completion_runs_once() {
    explore("on_complete vs completion", || {
        let pool = one_thread_pool();
        let calls = Count::new();
        let right_value = Count::new();
        let handle = pool.spawn(|| 5);
        {
            let calls = calls.clone();
            let right_value = right_value.clone();
            handle.on_complete(move |outcome| {
                calls.bump();
                if matches!(outcome, Ok(5)) {
                    right_value.bump();
                }
            });
        }
        pool.shutdown();
        assert_eq!(calls.get(), 1, "the callback must run exactly once");
        assert_eq!(right_value.get(), 1);
        assert_eq!(pool.stats().panicked, 0);
    });
}

/// `cancel` then `on_complete`, racing with the worker: the callback sees
/// `Cancelled` exactly when `cancel` won, and runs exactly once.
#[test]
fn on_complete_after_a_racing_cancel_reports_the_winner() {
    explore("cancel + on_complete", || {
        let pool = one_thread_pool();
        let calls = Count::new();
        let saw_cancelled = Count::new();
        let handle = pool.spawn(|| 5);
        let cancelled = handle.cancel();
        {
            let calls = calls.clone();
            let saw_cancelled = saw_cancelled.clone();
            handle.on_complete(move |outcome| {
                calls.bump();
                match outcome {
                    Err(TaskError::Cancelled) => saw_cancelled.bump(),
                    Ok(5) => {}
                    _ => panic!("unexpected outcome"),
                }
            });
        }
        pool.shutdown();
        assert_eq!(calls.get(), 1, "the callback must run exactly once");
        assert_eq!(saw_cancelled.get(), usize::from(cancelled));
        assert_eq!(pool.stats().panicked, 0);
    });
}

/// Two threads wait for the same task (`join` and `wait`) while it completes:
/// both wake.
#[test]
fn every_waiter_wakes_when_the_task_completes() {
    explore("two waiters vs completion", || {
        let pool = one_thread_pool();
        let handle = Arc::new(pool.spawn(|| 3));
        let waiter = {
            let handle = handle.clone();
            thread::spawn(move || {
                handle.wait();
                assert!(handle.is_finished());
            })
        };
        handle.wait();
        assert!(handle.is_finished());
        waiter.join().unwrap();
        let handle = Arc::try_unwrap(handle).unwrap_or_else(|_| panic!("one owner left"));
        assert_eq!(handle.join().unwrap(), 3);
        pool.shutdown();
    });
}

/// A waker that counts its wake-ups and unparks the model's main thread.
struct CountingWaker {
    wakes: AtomicUsize,
    thread: thread::Thread,
}

impl CountingWaker {
    fn new() -> std::sync::Arc<CountingWaker> {
        std::sync::Arc::new(CountingWaker {
            wakes: AtomicUsize::new(0),
            thread: thread::current(),
        })
    }

    fn wakes(&self) -> usize {
        self.wakes.load(SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
        self.thread.unpark();
    }
}

fn poll_with<T>(handle: &mut TaskHandle<T>, waker: &std::sync::Arc<CountingWaker>) -> Poll<Result<T, TaskError>> {
    let waker = Waker::from(waker.clone());
    let mut cx = Context::from_waker(&waker);
    Pin::new(handle).poll(&mut cx)
}

/// The handle's `Future` is polled with one waker, then another, while the
/// task completes: the waker of the last `Pending` poll is woken exactly
/// once, an earlier one at most once, and the next poll is `Ready`.
#[test]
fn the_future_wakes_its_latest_waker_exactly_once() {
    explore("future waker vs completion", || {
        let pool = one_thread_pool();
        let mut handle = pool.spawn(|| 9);
        let first = CountingWaker::new();
        let second = CountingWaker::new();
        let mut outcome = None;
        let mut last_pending = None;
        for waker in [&first, &second] {
            match poll_with(&mut handle, waker) {
                Poll::Ready(result) => {
                    outcome = Some(result);
                    break;
                }
                Poll::Pending => last_pending = Some(waker.clone()),
            }
        }
        if outcome.is_none() {
            let waker = last_pending.clone().expect("polled pending");
            while waker.wakes() == 0 {
                thread::park();
            }
            match poll_with(&mut handle, &waker) {
                Poll::Ready(result) => outcome = Some(result),
                Poll::Pending => panic!("woken, but the handle is still pending"),
            }
        }
        assert_eq!(outcome.unwrap().unwrap(), 9);
        pool.shutdown();
        assert!(first.wakes() <= 1, "a waker was woken twice");
        match &last_pending {
            Some(waker) => assert_eq!(waker.wakes(), 1, "the latest waker must be woken once"),
            None => assert_eq!(first.wakes() + second.wakes(), 0),
        }
        if last_pending.as_ref().is_some_and(|w| std::sync::Arc::ptr_eq(w, &second)) {
            assert_eq!(first.wakes(), 0, "a replaced waker was woken");
        }
    });
}

// ---------------------------------------------------------------- (4) shutdown vs submit

/// What happened to one submission.
enum Submitted<F> {
    Accepted(usize, TaskHandle<usize>),
    Refused(usize, F),
}

fn submit_two(pool: &Pool, runs: &[Count; 2]) -> Vec<Submitted<impl FnOnce() -> usize + Send>> {
    (0..2)
        .map(|id| {
            let ran = runs[id].clone();
            let task = move || {
                ran.bump();
                id
            };
            match pool.try_spawn(task) {
                Ok(handle) => Submitted::Accepted(id, handle),
                Err(SpawnError::Closed(task)) => Submitted::Refused(id, task),
                Err(SpawnError::Full(_)) => panic!("an unbounded queue is never full"),
            }
        })
        .collect()
}

/// [shutdown-vs-submit]: a thread submits two tasks while the main thread
/// shuts the pool down. Each task either ran exactly once (and its handle
/// says so) or was refused with its closure handed back; none is lost.
#[test]
fn shutdown_racing_with_submit_loses_no_task() {
    explore("shutdown vs try_spawn", || {
        let pool = one_thread_pool();
        let runs = [Count::new(), Count::new()];
        let submitter = {
            let pool = pool.clone();
            let runs = runs.clone();
            thread::spawn(move || submit_two(&pool, &runs))
        };
        pool.shutdown();
        let outcomes = submitter.join().unwrap();
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
        let mut accepted = 0;
        for outcome in outcomes {
            match outcome {
                Submitted::Accepted(id, handle) => {
                    accepted += 1;
                    assert!(handle.is_finished(), "shutdown returned before an accepted task finished");
                    assert_eq!(handle.join().unwrap(), id);
                    assert_eq!(runs[id].get(), 1);
                }
                Submitted::Refused(id, task) => {
                    assert_eq!(runs[id].get(), 0, "a refused task ran");
                    assert_eq!(task(), id, "the refused closure is the one submitted");
                }
            }
        }
        assert_eq!(pool.stats().completed, accepted);
    });
}

/// The same race with `shutdown_now`: each task ran, was cancelled (its
/// handle says `Cancelled`) or was refused with its closure back.
#[test]
fn shutdown_now_racing_with_submit_loses_no_task() {
    explore("shutdown_now vs try_spawn", || {
        let pool = one_thread_pool();
        let runs = [Count::new(), Count::new()];
        let submitter = {
            let pool = pool.clone();
            let runs = runs.clone();
            thread::spawn(move || submit_two(&pool, &runs))
        };
        let cancelled_now = pool.shutdown_now();
        let outcomes = submitter.join().unwrap();
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
        let (mut ran, mut cancelled) = (0, 0);
        for outcome in outcomes {
            match outcome {
                Submitted::Accepted(id, handle) => match handle.join() {
                    Ok(value) => {
                        assert_eq!(value, id);
                        assert_eq!(runs[id].get(), 1);
                        ran += 1;
                    }
                    Err(TaskError::Cancelled) => {
                        assert_eq!(runs[id].get(), 0, "a cancelled task ran");
                        cancelled += 1;
                    }
                    Err(TaskError::Panicked(_)) => panic!("the task cannot panic"),
                },
                Submitted::Refused(id, task) => {
                    assert_eq!(runs[id].get(), 0, "a refused task ran");
                    assert_eq!(task(), id);
                }
            }
        }
        let stats = pool.stats();
        assert_eq!(stats.completed, ran);
        assert_eq!(stats.cancelled, cancelled);
        assert!(cancelled_now as u64 <= cancelled);
    });
}

// ---------------------------------------------------------------- (5) keep-alive vs submit

/// [keep-alive-vs-submit]: with one core thread, a second thread that may
/// exit at once (`keep_alive(ZERO)`; under loom every timed park may time
/// out), the extra thread's exit races with a new submission. The task runs,
/// the pool never exceeds `max_threads`, and shutdown leaves no thread.
#[test]
fn keep_alive_exit_racing_with_submit_loses_no_task() {
    explore("keep-alive exit vs submit", || {
        let pool = Pool::builder()
            .threads(1)
            .max_threads(2)
            .keep_alive(Duration::ZERO)
            .build()
            .expect("valid settings");
        let first = pool.spawn(|| 1);
        assert_eq!(first.join().unwrap(), 1);
        assert!(pool.threads() <= 2);
        let second = pool.spawn(|| 2);
        assert_eq!(second.join().unwrap(), 2);
        assert!(pool.threads() <= 2);
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
        assert_eq!(pool.stats().completed, 2);
    });
}

#[test]
fn probe_pool_join_waits_for_handles() {
    explore("probe: pool.join vs handle", || {
        let pool = one_thread_pool();
        let handle = pool.spawn(|| 1);
        pool.join();
        assert!(handle.is_finished(), "pool.join returned before the task's handle was finished");
        pool.shutdown();
    });
}

#[test]
fn probe_pool_join_waits_for_callbacks() {
    explore("probe: pool.join vs on_complete", || {
        let pool = one_thread_pool();
        let calls = Count::new();
        let c = calls.clone();
        pool.spawn(|| 1).on_complete(move |_| c.bump());
        pool.join();
        assert_eq!(calls.get(), 1, "pool.join returned before the on_complete callback ran");
        pool.shutdown();
    });
}
