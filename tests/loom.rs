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
//! loom deadlock (every thread blocked); a task run twice, lost, or reported
//! wrongly as a failed assertion.
//!
//! Every model prints how many interleavings it explored, and names the
//! outcomes of its race it must reach at least once: a model whose race never
//! happens proves nothing, so [`explore`] fails if one is missing.
//!
//! Each model has its own preemption bound, chosen so that the whole file
//! runs in about a minute; `LOOM_MAX_PREEMPTIONS` overrides all of them
//! (higher explores more interleavings and takes much longer).
//!
//! [loom]: https://docs.rs/loom
#![cfg(loom)]

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use loom::sync::atomic::AtomicUsize;
use loom::sync::{Arc, Mutex};
use loom::thread;
use std::sync::atomic::Ordering::SeqCst;

use workcrew::{Pool, SpawnError, TaskError, TaskHandle};

// ---------------------------------------------------------------- harness

/// Loom steps allowed in one execution (`LOOM_MAX_BRANCHES` overrides it).
const MAX_BRANCHES: usize = 10_000;

/// The outcomes of a model's race seen so far, over all its interleavings.
#[derive(Clone, Default)]
struct Seen(std::sync::Arc<std::sync::Mutex<BTreeSet<&'static str>>>);

impl Seen {
    /// Records that this interleaving ended in `outcome`.
    fn saw(&self, outcome: &'static str) {
        self.0.lock().unwrap().insert(outcome);
    }
}

/// Explores every interleaving of `model` within `bound` preemptions (or
/// `LOOM_MAX_PREEMPTIONS`), prints how many there were, and checks that
/// every outcome in `expected` was reached at least once.
fn explore(
    name: &str,
    bound: usize,
    expected: &[&'static str],
    model: impl Fn(&Seen) + Sync + Send + 'static,
) {
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Seen::default();
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(bound);
    }
    if std::env::var_os("LOOM_MAX_BRANCHES").is_none() {
        // A pool operation takes many atomic steps; loom's default of 1,000
        // per execution is too few for three threads shutting a pool down.
        builder.max_branches = MAX_BRANCHES;
    }
    let bound = builder.preemption_bound;
    let start = Instant::now();
    {
        let runs = runs.clone();
        let seen = seen.clone();
        builder.check(move || {
            runs.fetch_add(1, SeqCst);
            model(&seen);
        });
    }
    let seen = seen.0.lock().unwrap().clone();
    eprintln!(
        "loom model `{name}`: {} interleavings explored (preemption bound {bound:?}) in {:.1?}; outcomes {seen:?}",
        runs.load(SeqCst),
        start.elapsed(),
    );
    for outcome in expected {
        assert!(
            seen.contains(outcome),
            "model `{name}` never reached the outcome `{outcome}`: it does not exercise its race"
        );
    }
}

/// A pool with one core thread (started lazily by the first submission).
fn one_thread_pool() -> Pool {
    Pool::builder().threads(1).build().expect("valid settings")
}

/// A counter shared between the model and its tasks.
#[derive(Clone)]
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
///
/// The outcomes say where the worker was when the submit came, from the
/// pool's thread counts read just before it: still counted busy with the
/// first task ([busy-to-idle]), or idle. The public counts do not tell a
/// searching worker from a parked one (`idle_threads` is their sum), so
/// "idle" covers both a worker still looking and one that had committed to
/// parking ([park-vs-submit]).
#[test]
fn a_task_submitted_while_the_last_worker_parks_always_runs() {
    explore(
        "park vs submit",
        3,
        &[
            "the worker was still busy at the submit",
            "the worker was idle at the submit",
        ],
        |seen| {
            let pool = one_thread_pool();
            let first = pool.spawn(|| 1);
            assert_eq!(first.join().unwrap(), 1);
            let at_submit = pool.stats();
            assert_eq!(at_submit.threads, 1);
            seen.saw(match at_submit.idle_threads {
                0 => "the worker was still busy at the submit",
                _ => "the worker was idle at the submit",
            });
            let second = pool.spawn(|| 2);
            assert_eq!(second.join().unwrap(), 2);
            pool.shutdown();
            assert_eq!(pool.threads(), 0);
            assert_eq!(pool.stats().completed, 2);
        },
    );
}

/// The same race with fire-and-forget tasks and `Pool::join` as the waiter,
/// which exercises the pool's "quiet" signal instead of a task's waiters.
///
/// The outcomes say how many of the tasks had run when `join` began: it
/// must wait for both, for the last one, or return at once.
#[test]
fn executed_tasks_run_before_pool_join_returns() {
    explore(
        "execute + pool.join",
        3,
        &[
            "join began before either task ran",
            "join began after one task ran",
            "join began after both tasks ran",
        ],
        |seen| {
            let pool = one_thread_pool();
            let ran = Count::new();
            for _ in 0..2 {
                let ran = ran.clone();
                pool.execute(move || ran.bump());
            }
            seen.saw(match ran.get() {
                0 => "join began before either task ran",
                1 => "join began after one task ran",
                _ => "join began after both tasks ran",
            });
            pool.join();
            assert_eq!(ran.get(), 2);
            let stats = pool.stats();
            assert_eq!((stats.completed, stats.queued, stats.running), (2, 0, 0));
            pool.shutdown();
            assert_eq!(pool.threads(), 0);
        },
    );
}

/// A submitter blocked in `spawn` on a full bounded queue is woken when the
/// worker takes a task out; `try_spawn` on the full queue hands the closure
/// back.
#[test]
fn a_submitter_waiting_for_queue_room_is_woken() {
    explore(
        "bounded queue: waiting for room",
        3,
        &["full", "had room"],
        |seen| {
            let pool = Pool::builder()
                .threads(1)
                .queue_capacity(1)
                .build()
                .expect("valid settings");
            let first = pool.spawn(|| 1);
            let second = match pool.try_spawn(|| 2) {
                Ok(handle) => {
                    seen.saw("had room");
                    handle
                }
                Err(SpawnError::Full(task)) => {
                    seen.saw("full");
                    // Blocks until the worker takes `first` out of the queue.
                    pool.spawn(task)
                }
                Err(refused) => panic!("the pool is open: {refused}"),
            };
            let third = pool.spawn(|| 3);
            assert_eq!(first.join().unwrap(), 1);
            assert_eq!(second.join().unwrap(), 2);
            assert_eq!(third.join().unwrap(), 3);
            pool.shutdown();
            assert_eq!(pool.stats().completed, 3);
        },
    );
}

/// Checks one race between `cancel` and the task running: either it ran
/// once with the `expected` value and `cancel` returned false (recorded as
/// `ran`), or it never ran and `cancel` returned true ("cancel won").
fn check_one_winner<T: PartialEq + std::fmt::Debug>(
    seen: &Seen,
    ran: &'static str,
    outcome: Result<T, TaskError>,
    expected: T,
    cancelled: bool,
    runs: &Count,
) {
    match outcome {
        Ok(value) => {
            seen.saw(ran);
            assert_eq!(value, expected);
            assert!(!cancelled, "cancel returned true but the task ran");
            assert_eq!(runs.get(), 1, "the task ran more than once");
        }
        Err(TaskError::Cancelled) => {
            seen.saw("cancel won");
            assert!(
                cancelled,
                "the handle says cancelled but cancel returned false"
            );
            assert_eq!(runs.get(), 0, "a cancelled task ran");
        }
        Err(TaskError::Panicked(_)) => panic!("the task cannot panic"),
        Err(other) => panic!("unexpected outcome: {other}"),
    }
}

// ---------------------------------------------------------------- (2) cancel vs start

/// `cancel` races with the worker claiming the same task: exactly one of them
/// wins, and the handle, the task and the stats all agree on which.
#[test]
fn cancel_and_a_starting_worker_agree_on_one_winner() {
    explore(
        "cancel vs start",
        3,
        &["cancel won", "worker won"],
        |seen| {
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
                assert!(
                    handle.is_finished(),
                    "a cancelled handle is finished at once"
                );
            }
            assert!(!handle.cancel(), "a second cancel never succeeds");
            let outcome = handle.join();
            pool.shutdown();
            check_one_winner(seen, "worker won", outcome, 7, cancelled, &runs);
            let stats = pool.stats();
            assert_eq!(stats.completed + stats.cancelled, 1);
            assert_eq!(stats.cancelled, u64::from(cancelled));
            assert_eq!(pool.threads(), 0);
        },
    );
}

/// The same race seen from three threads: one thread cancels while the
/// owner waits in `join` and the worker starts the task.
#[test]
fn cancel_from_another_thread_wakes_the_joiner_with_the_truth() {
    explore(
        "cancel (other thread) vs start vs join",
        2,
        &["cancel won", "worker won"],
        |seen| {
            let pool = one_thread_pool();
            let runs = Count::new();
            let handle = {
                let runs = runs.clone();
                Arc::new(pool.spawn(move || {
                    runs.bump();
                    7
                }))
            };
            let canceller = {
                let handle = handle.clone();
                thread::spawn(move || handle.cancel())
            };
            handle.wait();
            let cancelled = canceller.join().unwrap();
            let handle = Arc::try_unwrap(handle).unwrap_or_else(|_| panic!("one owner left"));
            check_one_winner(seen, "worker won", handle.join(), 7, cancelled, &runs);
            pool.shutdown();
            let stats = pool.stats();
            assert_eq!(stats.completed + stats.cancelled, 1);
        },
    );
}

/// A task waits for a task it spawned ("take back": on a one-thread pool it
/// runs it inline) while another thread cancels that inner task. Exactly one
/// of take-back, a compensating worker, and cancel runs or drops the inner
/// closure, and both sides agree on which.
#[test]
fn take_back_racing_with_cancel_agrees_on_one_winner() {
    explore(
        "take-back vs cancel",
        2,
        &["cancel won", "inner ran"],
        |seen| {
            let pool = one_thread_pool();
            let inner_runs = Count::new();
            let slot: Arc<Mutex<Option<Arc<TaskHandle<u32>>>>> = Arc::new(Mutex::new(None));
            let outer = {
                let pool = pool.clone();
                let inner_runs = inner_runs.clone();
                let slot = slot.clone();
                pool.clone().spawn(move || {
                    let inner = Arc::new(pool.spawn(move || {
                        inner_runs.bump();
                        11
                    }));
                    *slot.lock().unwrap() = Some(inner.clone());
                    inner.wait();
                    assert!(inner.is_finished());
                    drop(pool);
                })
            };
            let inner = loop {
                if let Some(inner) = slot.lock().unwrap().take() {
                    break inner;
                }
                thread::yield_now();
            };
            let cancelled = inner.cancel();
            outer.join().unwrap();
            let inner = Arc::try_unwrap(inner).unwrap_or_else(|_| panic!("one owner left"));
            check_one_winner(seen, "inner ran", inner.join(), 11, cancelled, &inner_runs);
            pool.shutdown();
            let stats = pool.stats();
            assert_eq!(stats.completed + stats.cancelled, 2);
            assert_eq!(pool.threads(), 0);
        },
    );
}

// ---------------------------------------------------------------- (3) waiting vs completion

/// `on_complete` registers while the worker finishes the task: the callback
/// runs exactly once (on the worker, or at once in the caller) with the value.
#[test]
fn on_complete_racing_with_completion_runs_once() {
    explore(
        "on_complete vs completion",
        3,
        &["callback on the worker", "callback in the caller"],
        |seen| {
            let pool = one_thread_pool();
            let calls = Count::new();
            let right_value = Count::new();
            let in_caller = Count::new();
            let caller = thread::current().id();
            let handle = pool.spawn(|| 5);
            {
                let calls = calls.clone();
                let right_value = right_value.clone();
                let in_caller = in_caller.clone();
                handle.on_complete(move |outcome| {
                    calls.bump();
                    if matches!(outcome, Ok(5)) {
                        right_value.bump();
                    }
                    if thread::current().id() == caller {
                        in_caller.bump();
                    }
                });
            }
            pool.shutdown();
            assert_eq!(calls.get(), 1, "the callback must run exactly once");
            assert_eq!(right_value.get(), 1);
            assert_eq!(pool.stats().panicked, 0);
            seen.saw(match in_caller.get() {
                0 => "callback on the worker",
                _ => "callback in the caller",
            });
        },
    );
}

/// `cancel` then `on_complete`, racing with the worker: the callback sees
/// `Cancelled` exactly when `cancel` won, and runs exactly once.
#[test]
fn on_complete_after_a_racing_cancel_reports_the_winner() {
    explore(
        "cancel + on_complete",
        3,
        &["cancel won", "worker won"],
        |seen| {
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
            seen.saw(if cancelled {
                "cancel won"
            } else {
                "worker won"
            });
        },
    );
}

/// Waits on `handle` and returns whether the task was still unfinished when
/// the wait began.
fn wait_from_before_completion(handle: &TaskHandle<u32>) -> bool {
    let early = !handle.is_finished();
    handle.wait();
    assert!(handle.is_finished());
    early
}

/// Two threads wait for the same task (`wait` on both) while it completes:
/// both wake. The outcomes say how many waiters came while the task was
/// still unfinished (so had to be woken by its completion).
#[test]
fn every_waiter_wakes_when_the_task_completes() {
    explore(
        "two waiters vs completion",
        2,
        &[
            "both waiters came before completion",
            "one waiter came before completion",
            "both waiters came after completion",
        ],
        |seen| {
            let pool = one_thread_pool();
            let handle = Arc::new(pool.spawn(|| 3));
            let waiter = {
                let handle = handle.clone();
                thread::spawn(move || wait_from_before_completion(&handle))
            };
            let early = wait_from_before_completion(&handle);
            let other_early = waiter.join().unwrap();
            seen.saw(match (early, other_early) {
                (true, true) => "both waiters came before completion",
                (false, false) => "both waiters came after completion",
                _ => "one waiter came before completion",
            });
            let handle = Arc::try_unwrap(handle).unwrap_or_else(|_| panic!("one owner left"));
            assert_eq!(handle.join().unwrap(), 3);
            pool.shutdown();
        },
    );
}

/// A waker that counts its wake-ups and unparks the thread that made it.
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

fn poll_with<T>(
    handle: &mut TaskHandle<T>,
    waker: &std::sync::Arc<CountingWaker>,
) -> Poll<Result<T, TaskError>> {
    let waker = Waker::from(waker.clone());
    let mut cx = Context::from_waker(&waker);
    Pin::new(handle).poll(&mut cx)
}

/// The handle's `Future` is polled with one waker, then another, while the
/// task completes: the waker of the last `Pending` poll is woken exactly
/// once, a replaced one never, and the poll after the wake-up is `Ready`.
#[test]
fn the_future_wakes_its_latest_waker_exactly_once() {
    explore(
        "future waker vs completion",
        3,
        &[
            "ready at the first poll",
            "ready at the second poll",
            "ready after a wake-up",
        ],
        |seen| {
            let pool = one_thread_pool();
            let mut handle = pool.spawn(|| 9);
            let first = CountingWaker::new();
            let second = CountingWaker::new();
            let mut outcome = None;
            let mut last_pending = None;
            for (waker, ready) in [
                (&first, "ready at the first poll"),
                (&second, "ready at the second poll"),
            ] {
                match poll_with(&mut handle, waker) {
                    Poll::Ready(result) => {
                        seen.saw(ready);
                        outcome = Some(result);
                        break;
                    }
                    Poll::Pending => last_pending = Some(waker.clone()),
                }
            }
            if outcome.is_none() {
                seen.saw("ready after a wake-up");
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
            let total = first.wakes() + second.wakes();
            match &last_pending {
                None => assert_eq!(total, 0, "nobody waited, nobody may be woken"),
                Some(waker) if std::sync::Arc::ptr_eq(waker, &second) => {
                    assert_eq!(second.wakes(), 1, "the latest waker must be woken once");
                    assert_eq!(first.wakes(), 0, "a replaced waker was woken");
                }
                Some(_) => {
                    // Pending, then ready at the second poll: the first waker
                    // may or may not have been woken, but at most once.
                    assert!(first.wakes() <= 1, "a waker was woken twice");
                    assert_eq!(second.wakes(), 0);
                }
            }
        },
    );
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
                Err(refused) => panic!("an unbounded queue is never full: {refused}"),
            }
        })
        .collect()
}

/// [shutdown-vs-submit]: a thread submits two tasks while the main thread
/// shuts the pool down. Each task either ran exactly once (and its handle
/// says so) or was refused with its closure handed back; none is lost.
#[test]
fn shutdown_racing_with_submit_loses_no_task() {
    explore(
        "shutdown vs try_spawn",
        3,
        &["both accepted", "one accepted", "both refused"],
        |seen| {
            let pool = one_thread_pool();
            let runs = [Count::new(), Count::new()];
            let submitter = {
                let pool = pool.clone();
                let runs = runs.clone();
                thread::spawn(move || submit_two(&pool, &runs))
            };
            pool.shutdown();
            let outcomes = submitter.join().unwrap();
            assert_eq!(pool.threads(), 0);
            let mut accepted = 0;
            for outcome in outcomes {
                match outcome {
                    Submitted::Accepted(id, handle) => {
                        accepted += 1;
                        assert!(
                            handle.is_finished(),
                            "shutdown returned before an accepted task finished"
                        );
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
            seen.saw(["both refused", "one accepted", "both accepted"][accepted as usize]);
        },
    );
}

/// The same race with `shutdown_now`: each task ran, was cancelled (its
/// handle says `Cancelled`) or was refused with its closure back.
#[test]
fn shutdown_now_racing_with_submit_loses_no_task() {
    explore(
        "shutdown_now vs try_spawn",
        3,
        &["ran", "cancelled", "refused"],
        |seen| {
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
                            seen.saw("ran");
                            assert_eq!(value, id);
                            assert_eq!(runs[id].get(), 1);
                            ran += 1;
                        }
                        Err(TaskError::Cancelled) => {
                            seen.saw("cancelled");
                            assert_eq!(runs[id].get(), 0, "a cancelled task ran");
                            cancelled += 1;
                        }
                        Err(TaskError::Panicked(_)) => panic!("the task cannot panic"),
                        Err(other) => panic!("unexpected outcome: {other}"),
                    },
                    Submitted::Refused(id, task) => {
                        seen.saw("refused");
                        assert_eq!(runs[id].get(), 0, "a refused task ran");
                        assert_eq!(task(), id);
                    }
                }
            }
            let stats = pool.stats();
            assert_eq!(stats.completed, ran);
            assert_eq!(stats.cancelled, cancelled);
            assert!(cancelled_now as u64 <= cancelled);
        },
    );
}

// ---------------------------------------------------------------- (5) keep-alive vs submit

/// [keep-alive-vs-submit]: one core thread, and an extra one (started when
/// the second task is queued while the first runs) that may leave as soon as
/// it is idle (`keep_alive(ZERO)`; under loom every timed park may time out).
/// Its exit races with a new submission: the task runs, the pool never
/// exceeds `max_threads`, and shutdown leaves no thread (thread start and
/// stop hooks balance).
///
/// The outcomes describe the pool at the late submit, from `threads()` read
/// just before it (the count the submit's growth decision reads; an extra
/// thread leaves it under the `idle` lock, before its stop hook runs), and
/// when the extra thread was still there, which thread then ran the task:
/// the extra one (it stayed for the submit) or the core one.
#[test]
fn keep_alive_exit_racing_with_submit_loses_no_task() {
    // Three threads and two pool-growth decisions: bound 1 explores ~8,000
    // interleavings in seconds; bound 2 (`LOOM_MAX_PREEMPTIONS=2`) over a
    // million, for minutes.
    explore(
        "keep-alive exit vs submit",
        1,
        &[
            "one thread sufficed",
            "the extra thread had left before the submit",
            "the extra thread was there at the submit and ran the late task",
            "the extra thread was there at the submit; the core thread ran the late task",
        ],
        |seen| {
            let starts = Count::new();
            let stops = Count::new();
            let pool = {
                let (starts, stops) = (starts.clone(), stops.clone());
                Pool::builder()
                    .threads(1)
                    .max_threads(2)
                    .keep_alive(Duration::ZERO)
                    .on_thread_start(move || starts.bump())
                    .on_thread_stop(move || stops.bump())
                    .build()
                    .expect("valid settings")
            };
            let first = pool.spawn(|| thread::current().id());
            let second = pool.spawn(|| 2);
            let core = first.join().unwrap();
            assert_eq!(second.join().unwrap(), 2);
            // A thread runs its start hook before it can leave, so with one
            // thread counted, `starts` tells whether an extra one ever ran.
            let threads_at_submit = pool.threads();
            let started_at_submit = starts.get();
            let late = pool.spawn(|| thread::current().id());
            assert!(threads_at_submit <= 2);
            assert!(pool.threads() <= 2);
            let late_on_core = late.join().unwrap() == core;
            seen.saw(match (threads_at_submit, started_at_submit, late_on_core) {
                (2, _, false) => "the extra thread was there at the submit and ran the late task",
                (2, _, true) => {
                    "the extra thread was there at the submit; the core thread ran the late task"
                }
                (_, 1, _) => "one thread sufficed",
                _ => "the extra thread had left before the submit",
            });
            assert!(pool.threads() <= 2);
            pool.shutdown();
            assert_eq!(pool.threads(), 0);
            assert_eq!(pool.stats().completed, 3);
            assert_eq!(starts.get(), stops.get(), "every started thread stopped");
        },
    );
}

// ---------------------------------------------------------------- shrinking vs finding a job

/// `[shrink-vs-find]` (scheduler/worker/idle.rs): `set_threads(1)` while both
/// threads of a pool are idle, then two tasks. A thread that turned surplus
/// between its check and the job it found must hand the job back, not run
/// it: the two tasks never overlap, and both run.
///
/// Honest limits: at preemption bound 1 the model does not reach the
/// window itself (with the hand-back disabled it still passes); bound 2
/// runs into a loom lock-tracking panic in `any_stealer_has_work` with or
/// without the fix. The race was caught by tests/growth.rs under load; this
/// model guards the shrinking path's other outcomes.
#[test]
fn a_thread_made_surplus_while_finding_a_job_hands_it_back() {
    explore(
        "set_threads(1) vs a searching thread",
        1,
        &[
            "the surplus thread was still there",
            "the surplus thread had left",
        ],
        |seen| {
            let pool = Pool::builder().threads(2).build().expect("valid settings");
            let warm: Vec<_> = (0..2).map(|i| pool.spawn(move || i)).collect();
            warm.into_iter().for_each(|h| drop(h.join()));
            pool.set_threads(1);
            let there = pool.threads() == 2;
            let inside = Count::new();
            let overlapped = Count::new();
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let (inside, overlapped) = (inside.clone(), overlapped.clone());
                    pool.spawn(move || {
                        if inside.0.fetch_add(1, SeqCst) > 0 {
                            overlapped.bump();
                        }
                        thread::yield_now();
                        inside.0.fetch_sub(1, SeqCst);
                    })
                })
                .collect();
            tasks.into_iter().for_each(|h| h.join().expect("ran"));
            assert_eq!(
                overlapped.get(),
                0,
                "two tasks ran at once after set_threads(1)"
            );
            seen.saw(if there {
                "the surplus thread was still there"
            } else {
                "the surplus thread had left"
            });
            pool.shutdown();
            assert_eq!(pool.stats().completed, 4);
        },
    );
}

// ---------------------------------------------------------------- retiring vs pool.join

/// `set_threads` shrinks the pool while both workers run: the surplus one
/// retires right after its task. If that task was the last one, `Pool::join`
/// must still wake up (the retiring worker signals the pool's "quiet").
#[test]
fn a_worker_retiring_after_the_last_task_wakes_pool_join() {
    explore(
        "surplus retire vs pool.join",
        2,
        &["one thread ran both", "two threads ran"],
        |seen| {
            let starts = Count::new();
            let pool = {
                let starts = starts.clone();
                Pool::builder()
                    .threads(2)
                    .on_thread_start(move || starts.bump())
                    .build()
                    .expect("valid settings")
            };
            let ran = Count::new();
            for _ in 0..2 {
                let ran = ran.clone();
                pool.execute(move || ran.bump());
            }
            pool.set_threads(1);
            pool.join();
            assert_eq!(ran.get(), 2);
            seen.saw(match starts.get() {
                1 => "one thread ran both",
                _ => "two threads ran",
            });
            pool.shutdown();
            assert_eq!(pool.threads(), 0);
        },
    );
}

// ---------------------------------------------------------------- pool.join vs finishing

/// `Pool::join` waits until nothing is queued or running: afterwards every
/// task's handle is finished and its `on_complete` callback has run (a task
/// counts as running until its outcome is published and its callback
/// returned).
///
/// The outcomes say where the tasks were when `join` began; the one that
/// matters is the second task's body done but its outcome or callback not
/// yet through (`join` must still wait for it).
#[test]
fn after_pool_join_every_handle_is_finished_and_every_callback_ran() {
    explore(
        "pool.join vs publish",
        3,
        &[
            "join began before the second task ran",
            "join began between the second task's body and its callback",
            "join began after the callback ran",
        ],
        |seen| {
            let pool = one_thread_pool();
            let calls = Count::new();
            let second_ran = Count::new();
            let watched = pool.spawn(|| 1);
            {
                let calls = calls.clone();
                let second_ran = second_ran.clone();
                pool.spawn(move || second_ran.bump())
                    .on_complete(move |_| calls.bump());
            }
            seen.saw(match (second_ran.get(), calls.get()) {
                (0, _) => "join began before the second task ran",
                (_, 0) => "join began between the second task's body and its callback",
                _ => "join began after the callback ran",
            });
            pool.join();
            assert!(
                watched.is_finished(),
                "pool.join returned before a task's handle was finished"
            );
            assert_eq!(
                calls.get(),
                1,
                "pool.join returned before an on_complete callback ran"
            );
            pool.shutdown();
        },
    );
}

// ---------------------------------------------------------------- (8) faults

/// A value that counts its drops and remembers whether the dropping thread
/// was the model's own (the handle) or a worker (the finisher).
struct Tracked {
    drops: Count,
    on_model_thread: Count,
    model: thread::ThreadId,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.bump();
        if thread::current().id() == self.model {
            self.on_model_thread.bump();
        }
    }
}

/// [detach-vs-publish] (task/cell.rs): the handle is dropped while the
/// worker publishes the result. Exactly one of them drops the result, once.
#[test]
fn a_dropped_handle_and_the_finisher_drop_the_result_exactly_once() {
    explore(
        "detach vs publish",
        3,
        &[
            "the handle dropped the result",
            "the finisher dropped the result",
        ],
        |seen| {
            let pool = one_thread_pool();
            let drops = Count::new();
            let on_model_thread = Count::new();
            let model = thread::current().id();
            let handle = {
                let (drops, on_model_thread) = (drops.clone(), on_model_thread.clone());
                pool.spawn(move || Tracked {
                    drops,
                    on_model_thread,
                    model,
                })
            };
            drop(handle);
            pool.shutdown();
            assert_eq!(
                drops.get(),
                1,
                "the detached result must be dropped exactly once"
            );
            seen.saw(match on_model_thread.get() {
                0 => "the finisher dropped the result",
                _ => "the handle dropped the result",
            });
        },
    );
}

/// Silences the default panic hook for the bombs of the fault models (one
/// message per interleaving would drown the log); other panics still print.
fn quiet_bombs() {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let text = info.payload().downcast_ref::<&str>().copied().unwrap_or("");
            if !text.starts_with("bomb") {
                default(info);
            }
        }));
    });
}

/// A closure capture whose `Drop` panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("bomb");
        }
    }
}

/// Cancelling a task whose closure panics when dropped, racing with a worker
/// starting it: one winner, and a won cancel still publishes `Cancelled`
/// (the joiner wakes), counts the task and hands the panic on.
#[test]
fn a_cancel_whose_closure_panics_on_drop_still_publishes_cancelled() {
    quiet_bombs();
    explore(
        "cancel of a panicking closure vs start",
        2,
        &["cancel won", "worker won"],
        |seen| {
            let pool = one_thread_pool();
            let bomb = Bomb;
            let handle = pool.spawn(move || {
                std::mem::forget(bomb);
                5
            });
            let cancelled = handle.cancel();
            match handle.join() {
                Err(TaskError::Cancelled) => assert!(cancelled),
                Ok(5) => assert!(!cancelled),
                other => panic!("unexpected outcome {other:?}"),
            }
            pool.shutdown();
            let stats = pool.stats();
            assert_eq!(stats.cancelled, u64::from(cancelled));
            assert_eq!(stats.panicked, u64::from(cancelled));
            seen.saw(if cancelled {
                "cancel won"
            } else {
                "worker won"
            });
        },
    );
}

/// [room-vs-release] with free takers (scheduler/room.rs): on a hand-off
/// pool (capacity 0) a submitter waiting for a taker is woken when the only
/// worker becomes idle again.
#[test]
fn a_hand_off_submitter_is_woken_when_the_worker_becomes_idle() {
    explore(
        "hand-off: waiting for a taker",
        3,
        &["a taker was free", "waited for a taker"],
        |seen| {
            let pool = Pool::builder()
                .threads(1)
                .queue_capacity(0)
                .build()
                .expect("valid settings");
            let first = pool.spawn(|| 1);
            let second = match pool.try_spawn(|| 2) {
                Ok(handle) => {
                    seen.saw("a taker was free");
                    handle
                }
                Err(SpawnError::Full(task)) => {
                    seen.saw("waited for a taker");
                    pool.spawn(task)
                }
                Err(refused) => panic!("the pool is open: {refused}"),
            };
            assert_eq!(first.join().unwrap(), 1);
            assert_eq!(second.join().unwrap(), 2);
            pool.shutdown();
            assert_eq!(pool.stats().completed, 2);
        },
    );
}

// ---------------------------------------------------------------- (9) promotion of fork_join halves

/// [claim-vs-join], [stale-claim] (src/scheduler/frames.rs): the owner
/// records a frame, joins it, records a second one at the same index and
/// joins that, while another thread claims once. Each frame is run exactly
/// once: inline by the owner, or by the claimer; never both, never neither.
#[test]
fn a_claim_racing_the_owners_join_takes_each_frame_at_most_once() {
    use workcrew::__loom::{FrameList, Join};
    explore(
        "claim vs join",
        3,
        &[
            "owner ran both",
            "claimer won the first frame",
            "claimer won the second frame",
            "claimer lost to the join",
            "owner settled after the claimer backed off",
        ],
        |seen| {
            let list = Arc::new(FrameList::default());
            let runs = [Count::new(), Count::new()];
            let claimer = {
                let (list, runs) = (list.clone(), runs.clone());
                thread::spawn(move || {
                    let claim = list.claim();
                    if let Ok(id) = claim {
                        runs[id].bump();
                    }
                    claim
                })
            };
            let mut joins = Vec::new();
            for (id, ran) in runs.iter().enumerate() {
                let frame = list.record(id);
                let join = list.join(frame);
                if join != Join::Claimed {
                    ran.bump();
                } else {
                    // The claimer runs it; a real owner waits for its latch.
                    while ran.get() == 0 {
                        thread::yield_now();
                    }
                }
                joins.push(join);
            }
            let claim = claimer.join().unwrap();
            for (id, ran) in runs.iter().enumerate() {
                assert_eq!(ran.get(), 1, "frame {id} ran {} times", ran.get());
            }
            match claim {
                Ok(0) => seen.saw("claimer won the first frame"),
                Ok(_) => seen.saw("claimer won the second frame"),
                Err("lost to the join") => seen.saw("claimer lost to the join"),
                Err(_) => {}
            }
            if claim.is_err() {
                seen.saw("owner ran both");
            }
            if joins.contains(&Join::InlineAfterSettling) {
                seen.saw("owner settled after the claimer backed off");
            }
        },
    );
}

/// A fork_join whose `b` the owner promoted onto its own deque (answering a
/// request) while `shutdown_now` drains the deques: the owner takes `b`
/// back at its join, or `shutdown_now` hands it back and the owner runs it.
/// Either way `b` runs exactly once and the running task finishes.
#[test]
fn shutdown_now_racing_a_promoted_half_hands_it_back_to_run_once() {
    explore(
        "promotion vs shutdown_now",
        2,
        &["owner took it back", "shutdown_now handed it back"],
        |seen| {
            let pool = one_thread_pool();
            let b_runs = Count::new();
            let promoted = Count::new();
            let handle = {
                let (b_runs, promoted) = (b_runs.clone(), promoted.clone());
                pool.spawn(move || {
                    let b_on = b_runs.clone();
                    workcrew::fork_join(
                        move || {
                            // An idle thread's request, answered at the
                            // next fork: `b` goes to the worker's deque.
                            workcrew::__loom::request_promotion();
                            workcrew::fork_join(|| (), || ());
                            promoted.bump();
                            thread::yield_now();
                        },
                        move || {
                            b_on.bump();
                            thread::current().id()
                        },
                    )
                })
            };
            while promoted.get() == 0 {
                thread::yield_now();
            }
            let handed_back_before = workcrew::__loom::handed_back_halves();
            let cancelled = pool.shutdown_now();
            assert_eq!(
                cancelled, 0,
                "a part of a running task is not a cancelled task"
            );
            let ((), b_thread) = handle.join().expect("the running task finishes");
            assert_eq!(b_runs.get(), 1, "b ran {} times", b_runs.get());
            let _ = b_thread;
            pool.shutdown();
            seen.saw(
                if workcrew::__loom::handed_back_halves() > handed_back_before {
                    "shutdown_now handed it back"
                } else {
                    "owner took it back"
                },
            );
        },
    );
}

/// A promoted `b` on the owner's deque that the pool's other worker steals
/// while the owner reaches its join and tries to take it back: exactly one
/// of them runs it.
#[test]
fn a_thief_racing_the_owners_join_for_a_promoted_half_runs_it_once() {
    explore(
        "thief vs join",
        2,
        &["owner took it back", "the other worker ran it"],
        |seen| {
            let pool = Pool::builder().threads(2).build().expect("valid settings");
            let b_runs = Count::new();
            let b_inline = Count::new();
            {
                let (b_runs, b_inline) = (b_runs.clone(), b_inline.clone());
                // `execute` and `pool.join`, as the retiring model does.
                pool.execute(move || {
                    let owner = thread::current().id();
                    let ((), b_thread) = workcrew::fork_join(
                        || {
                            workcrew::__loom::request_promotion();
                            workcrew::fork_join(|| (), || ());
                        },
                        move || {
                            b_runs.bump();
                            thread::current().id()
                        },
                    );
                    if b_thread == owner {
                        b_inline.bump();
                    }
                });
            }
            // Down to one thread before the end: shutting down a loom pool
            // with two live workers trips the same loom assertion.
            pool.set_threads(1);
            pool.join();
            assert_eq!(b_runs.get(), 1, "b ran {} times", b_runs.get());
            seen.saw(if b_inline.get() == 1 {
                "owner took it back"
            } else {
                "the other worker ran it"
            });
            pool.shutdown();
        },
    );
}

// ---------------------------------------------------------------- (10) requests to stop, deadlines

/// The cancellation request of a running task vs its completion
/// (task/state.rs: a request is a flag, not a transition). The task looks
/// at the flag once and stops at a checkpoint if it is set. Whatever the
/// order, the handle reports exactly one outcome and it is the truth: the
/// task never ran (the request found it queued and cancelled it), it ran and
/// stopped at its checkpoint, or it finished first. `is_running` is never
/// true after `join`, and the counts add up to one task.
#[test]
fn a_cancellation_request_racing_with_completion_reports_one_outcome() {
    explore(
        "request_cancel vs completion",
        3,
        &[
            "cancelled while queued",
            "stopped at its checkpoint",
            "finished before the request",
        ],
        |seen| {
            let pool = one_thread_pool();
            let runs = Count::new();
            let task_runs = runs.clone();
            let handle = Arc::new(pool.spawn(move || {
                task_runs.bump();
                workcrew::checkpoint();
                7
            }));
            let requester = {
                let handle = handle.clone();
                thread::spawn(move || handle.request_cancel())
            };
            requester.join().unwrap();
            let handle = Arc::try_unwrap(handle).ok().expect("the requester is done");
            let outcome = handle.join();
            pool.shutdown();
            let stats = pool.stats();
            match (outcome, runs.get()) {
                (Err(TaskError::Cancelled), 0) => {
                    assert_eq!(stats.cancelled, 1);
                    seen.saw("cancelled while queued");
                }
                (Err(TaskError::Cancelled), 1) => {
                    assert_eq!(stats.cancelled, 0);
                    seen.saw("stopped at its checkpoint");
                }
                (Ok(7), 1) => {
                    assert_eq!(stats.completed, 1);
                    seen.saw("finished before the request");
                }
                (other, runs) => panic!("unexpected outcome {other:?} after {runs} runs"),
            }
            assert_eq!(stats.queued + stats.running, 0);
        },
    );
}

/// A result that counts its drops.
struct Dropped(Count);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.bump();
    }
}

/// `[timeout-vs-publish]` (task/state.rs): the deadline timer fires while
/// the task is queued, running, or already done. Exactly one outcome: a
/// queued task never runs and reports `TimedOut`; a running one reports
/// `TimedOut` and what it returns is dropped once by its runner and
/// counted as discarded; a finished one keeps its result. The result is
/// dropped exactly once in every case, and `shutdown` returns.
#[test]
fn a_deadline_racing_with_completion_reports_one_outcome() {
    explore(
        "deadline vs completion",
        3,
        &[
            "timed out while queued",
            "timed out while running",
            "finished before the deadline",
        ],
        |seen| {
            let pool = one_thread_pool();
            let runs = Count::new();
            let drops = Count::new();
            let (task_runs, task_drops) = (runs.clone(), drops.clone());
            let handle = pool
                .task_builder()
                .timeout(Duration::from_secs(3600))
                .spawn(move || {
                    task_runs.bump();
                    Dropped(task_drops)
                });
            // The timer, firing "an hour later", from a model thread.
            let timer = thread::spawn(workcrew::__loom::fire_deadlines);
            let outcome = handle.join();
            timer.join().unwrap();
            pool.shutdown();
            let stats = pool.stats();
            match (&outcome, runs.get()) {
                (Err(TaskError::TimedOut), 0) => {
                    assert_eq!(stats.discarded, 0);
                    assert_eq!(stats.cancelled, 1);
                    seen.saw("timed out while queued");
                }
                (Err(TaskError::TimedOut), 1) => {
                    assert_eq!(stats.discarded, 1);
                    seen.saw("timed out while running");
                }
                (Ok(_), 1) => {
                    assert_eq!(stats.timed_out, 0);
                    seen.saw("finished before the deadline");
                }
                (Err(other), runs) => panic!("unexpected outcome {other:?} after {runs} runs"),
                (Ok(_), runs) => panic!("a result after {runs} runs"),
            }
            if outcome.is_err() {
                assert_eq!(stats.timed_out, 1);
            }
            drop(outcome);
            assert_eq!(
                drops.get(),
                runs.get(),
                "the result is dropped exactly once"
            );
        },
    );
}
