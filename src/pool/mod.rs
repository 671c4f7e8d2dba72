//! [`Pool`]: submitting work, waiting for it, resizing, shutting down.
//!
//! A `Pool` value is a counted handle to the pool's [`Shared`] state: when the
//! last `Pool` clone is dropped the pool closes gracefully (queued work still
//! runs, then the threads exit) without blocking the dropping thread. How
//! submissions are admitted and refused is described in `shared.rs`.

pub(crate) mod builder;
mod control;
pub(crate) mod integrations;
pub(crate) mod task_builder;

use std::fmt;
use std::panic::{self, AssertUnwindSafe, RefUnwindSafe, UnwindSafe};
use std::time::{Duration, Instant};

use crate::error::SpawnError;
use crate::pool::builder::{BuildError, PoolBuilder};
use crate::scheduler::ambient::{is_stopped, Ambient};
use crate::scheduler::config::Config;
use crate::scheduler::deadline_after;
use crate::scheduler::job::{BoxedJob, JobHeader, JobRef};
use crate::scheduler::queue::Steal;
use crate::scheduler::registry::THREAD_LIMIT;
use crate::scheduler::shared::Shared;
use crate::scheduler::spawn::StartError;
use crate::scheduler::stats::PoolStats;
use crate::scheduler::submit::{Refusal, WhenFull};
use crate::scheduler::worker::{Run, Worker};
use crate::sync::{thread, Ordering};
use crate::task::control::{stopped_or_panic, Control};
use crate::task::error::TaskError;
use crate::task::handle::{Handle, TaskHandle};
use crate::task::instrument::Instrumented;
use crate::task::spawn::{submit_static, submit_task};
use crate::task::task_set::TaskSet;
use crate::Arc;

/// A unit of fire-and-forget work from [`Pool::execute`]: just the closure,
/// in a spare block or a box (job.rs); nobody else ever refers to it.
#[repr(C)]
struct ExecJob<F> {
    header: JobHeader,
    f: F,
}

impl<F: FnOnce() + Send> BoxedJob for ExecJob<F> {
    fn header(&self) -> &JobHeader {
        &self.header
    }

    fn run(self, worker: &Worker) {
        run_executed(worker, Run::Queued, self.f);
    }

    fn cancel(self, pool: &Shared) -> bool {
        // Counted first, then a panic in the closure's `Drop` is handed on
        // (scheduler/guard.rs, "The rule").
        let dropped = panic::catch_unwind(AssertUnwindSafe(move || drop(self)));
        pool.task_cancelled();
        if let Err(payload) = dropped {
            pool.caught(payload);
        }
        true
    }
}

/// Spawns a task that may borrow, waiting for room; panics if closed.
///
/// # Safety
/// The caller must not let anything `f` borrows (or `T` borrows) end
/// before the returned handle's task is final (see
/// `JobRef::from_arc_unchecked`), e.g. by joining it.
unsafe fn spawn_borrowed<'a, F, T>(shared: &Arc<Shared>, what: &str, f: F) -> Handle<'a, T>
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    // The caller waits for the task, so the task is stopped with it.
    // SAFETY: forwarded to our caller.
    let spawned = unsafe {
        submit_task(
            shared,
            f,
            WhenFull::Wait(None),
            None,
            None,
            Ambient::current(),
            None,
        )
    };
    match spawned {
        Ok(cell) => Handle::new(cell, shared.clone()),
        Err(refusal) => shared.panic_refused(what, refusal),
    }
}

/// Runs an `execute` task on `worker`: under a control block of its own on
/// this stack (so it can be asked to stop, task/control.rs), its panic
/// handed to the `panic_handler` (a checkpoint's stop is not a panic).
fn run_executed(worker: &Worker, how: Run, f: impl FnOnce()) {
    let control = Control::new(Ambient::NONE);
    let pool = worker.pool();
    let body = || {
        let _running = control.enter(pool.cancel_epoch());
        f()
    };
    worker.run_task_then(how, body, |outcome| {
        if let Err(payload) = outcome {
            if !is_stopped(payload.as_ref()) {
                // Counted by `run_task_then`; nobody else can receive it.
                pool.hand_to_panic_handler(payload);
            }
        }
    });
}

/// A pool of worker threads. Cheap to clone; clones share one pool.
///
/// `Pool` is `Clone + Send + Sync + Debug`, and `UnwindSafe +
/// RefUnwindSafe`: a panic caught with [`std::panic::catch_unwind`] while
/// the pool was borrowed cannot leave it half-updated, since every user
/// value (task, hook, callback, result) runs and drops under the pool's own
/// `catch_unwind`, so no `AssertUnwindSafe` is needed around code using it.
///
/// # Examples
///
/// ```
/// use workcrew::Pool;
///
/// let pool = Pool::new(4);
/// let handles: Vec<_> = (0..10u64).map(|i| pool.spawn(move || i * i)).collect();
/// let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
/// assert_eq!(squares[9], 81);
/// pool.shutdown();
/// assert_eq!(pool.threads(), 0);
/// ```
pub struct Pool {
    pub(crate) shared: Arc<Shared>,
}

impl Pool {
    /// A pool of `threads` threads (0 = one per CPU): the same as
    /// `Pool::builder().threads(threads).build().unwrap()`.
    ///
    /// # Panics
    ///
    /// If `threads` exceeds 32,767.
    pub fn new(threads: usize) -> Pool {
        match Pool::builder().threads(threads).build() {
            Ok(pool) => pool,
            Err(error) => panic!("Pool::new: {error}"),
        }
    }

    /// Starts a [`PoolBuilder`] to set limits, hooks and names.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::new()
    }

    /// Builds the pool and starts its core threads, so the first burst of
    /// work does not wait for threads to be created one after another;
    /// extra threads up to `max_threads` still start on demand. Fails if a
    /// thread name is one the OS cannot take, or if no thread could start.
    pub(crate) fn from_config(config: Config) -> Result<Pool, BuildError> {
        let core = config.core_threads;
        let inline = config.inline;
        let shared = Arc::new(Shared::new(config));
        if inline {
            // No thread ever starts (scheduler/inline.rs).
            return Ok(Pool { shared });
        }
        let error = match shared.registry.start_core(core, &shared) {
            Ok(()) => return Ok(Pool { shared }),
            Err(StartError::BadName(name)) => BuildError::new(
                "thread_name",
                format!("it returned {name:?}, and thread names cannot contain a NUL byte"),
            ),
            Err(StartError::Os(error)) => BuildError::new(
                "threads",
                format!("the OS refused to start any worker thread ({error}); a pids limit or `ulimit -u` may be reached"),
            ),
            Err(StartError::Stopped) => unreachable!("a pool being built has not been shut down"),
        };
        // Stop the threads that did start before reporting.
        shared.close(false);
        shared.registry.wake_all();
        shared.registry.join_threads(None);
        Err(error)
    }

    // ------------------------------------------------------------ submitting

    /// Runs `f` on the pool and returns a handle to its result.
    ///
    /// With a bounded queue that is full, waits for room; called from a task
    /// of this pool, it runs `f` at once instead (waiting there could
    /// deadlock) and returns a finished handle.
    ///
    /// # Panics
    ///
    /// If the pool is closed. Use [`try_spawn`](Self::try_spawn) to get the
    /// closure back instead.
    ///
    /// One exception to "closed": after [`shutdown`](Self::shutdown) (not
    /// [`shutdown_now`](Self::shutdown_now)), the tasks still draining may go
    /// on spawning from their own worker threads, so that a queued task that
    /// spawns and joins children (or uses `scope`) still completes; shutdown
    /// waits for those children too. The same holds for every submitting
    /// call made from a worker of the pool.
    pub fn spawn<F, T>(&self, f: F) -> TaskHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.spawn_with(f, WhenFull::Wait(None)) {
            Ok(handle) => handle,
            Err(refusal) => self.shared.panic_refused("Pool::spawn", refusal),
        }
    }

    /// Like [`spawn`](Self::spawn), but never blocks.
    ///
    /// # Errors
    ///
    /// [`SpawnError::Full`] if the bounded queue has no room and
    /// [`SpawnError::Closed`] if the pool is closed; both return `f`.
    pub fn try_spawn<F, T>(&self, f: F) -> Result<TaskHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_with(f, WhenFull::Refuse)
            .map_err(SpawnError::from)
    }

    /// Like [`spawn`](Self::spawn), but waits at most `timeout` for room in a
    /// full bounded queue.
    ///
    /// # Errors
    ///
    /// [`SpawnError::Full`] if no room came in time and
    /// [`SpawnError::Closed`] if the pool is closed; both return `f`.
    pub fn spawn_timeout<F, T>(
        &self,
        f: F,
        timeout: Duration,
    ) -> Result<TaskHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_with(f, WhenFull::Wait(Some(deadline_after(timeout))))
            .map_err(SpawnError::from)
    }

    fn spawn_with<F, T>(&self, f: F, when_full: WhenFull) -> Result<TaskHandle<T>, Refusal<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = &self.shared;
        submit_static(shared, f, when_full, None, None)
            .map(|task| TaskHandle::new(task, shared.clone()))
    }

    /// Runs `f` on the pool without a handle: fire and forget. Follows the
    /// same rules as [`spawn`](Self::spawn). A panic in `f` is counted in
    /// [`PoolStats::panicked`] and handed to the `panic_handler`.
    ///
    /// # Panics
    ///
    /// If the pool is closed.
    pub fn execute<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        if self.shared.config.instruments_tasks() {
            let wrapped = Instrumented::new(&self.shared.config, None, f);
            return self.execute_closure(move || wrapped.run());
        }
        self.execute_closure(f);
    }

    fn execute_closure<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let executed = self.shared.submit(
            f,
            WhenFull::Wait(None),
            |f| {
                let job = ExecJob {
                    header: JobHeader::for_box::<ExecJob<F>>(),
                    f,
                };
                (JobRef::from_box(job, &self.shared), ())
            },
            |f, worker| {
                run_executed(worker, Run::Unqueued, f);
            },
        );
        if let Err(refusal) = executed {
            self.shared.panic_refused("Pool::execute", refusal);
        }
    }

    /// Runs `f` on the pool and waits for its result; `f` may borrow.
    ///
    /// Called from a task of this pool, it simply calls `f` on the current
    /// thread. A panic in `f` resumes in the caller.
    ///
    /// # Panics
    ///
    /// If `f` panics, if the pool is closed, or if `shutdown_now` cancels the
    /// task before it starts.
    pub fn apply<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        if Worker::with_current_in(&self.shared, |worker| worker.is_some()) {
            return f();
        }
        self.run_and_wait("apply", f)
    }

    /// Runs `f` as a task and waits for it, resuming its panic here.
    fn run_and_wait<F, T>(&self, what: &str, f: F) -> T
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        // SAFETY: we join the handle right here, before anything `f` borrows
        // can go away; `join` returns only once the task is final.
        let handle = unsafe { spawn_borrowed(&self.shared, &format!("Pool::{what}"), f) };
        match handle.join() {
            Ok(value) => value,
            Err(TaskError::Panicked(payload)) => panic::resume_unwind(payload),
            Err(error) => stopped_or_panic(&format!("Pool::{what}"), &error),
        }
    }

    /// Runs `body` with a worker of this pool: the current thread if it is
    /// one, else a task the caller waits for. What `body` starts then counts
    /// against the pool's threads only.
    pub(crate) fn on_worker<R, B>(&self, what: &str, body: B) -> R
    where
        B: FnOnce(&Worker) -> R + Send,
        R: Send,
    {
        let mut body = Some(body);
        let inside = Worker::with_current_in(&self.shared, |worker| {
            worker.map(|worker| (body.take().expect("called once"))(worker))
        });
        if let Some(value) = inside {
            return value;
        }
        let body = body.take().expect("called once");
        self.run_and_wait(what, move || {
            Worker::with_current(|worker| body(worker.expect("pool tasks run on worker threads")))
        })
    }

    /// A new, empty [`TaskSet`] spawning on this pool.
    pub fn task_set<T: Send + 'static>(&self) -> TaskSet<T> {
        TaskSet::new(self.shared.clone())
    }

    // ------------------------------------------------------------ waiting

    /// Waits until nothing is queued or running, including the
    /// `on_complete` callbacks of tasks that have finished.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool (it would wait for itself).
    pub fn join(&self) {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::join");
        self.shared.wait_quiet(None);
    }

    /// Like [`join`](Self::join), but gives up after `timeout`; returns
    /// whether the pool became quiet.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool.
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::join_timeout");
        self.shared.wait_quiet(Some(deadline_after(timeout)))
    }

    /// Refuses new work, runs everything already queued, then stops every
    /// thread; afterwards [`threads`](Self::threads) is 0. Calling it again
    /// (or after `shutdown_now`) just waits.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool.
    pub fn shutdown(&self) {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::shutdown");
        self.assert_not_global("Pool::shutdown");
        self.finish_shutdown(false, None);
    }

    /// Refuses new work and cancels every queued task (their handles report
    /// [`TaskError::Cancelled`]); returns how many it cancelled. Running tasks
    /// finish in the background: call [`join`](Self::join) or
    /// [`shutdown`](Self::shutdown) to wait for them. Does not block.
    ///
    /// A running task's own pieces (a `fork_join` half, a parallel loop's
    /// helpers) are not tasks: they are handed back to that task, which
    /// finishes them itself.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool, like every `shutdown*` call: stop
    /// the pool from the thread that owns it.
    pub fn shutdown_now(&self) -> usize {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::shutdown_now");
        self.assert_not_global("Pool::shutdown_now");
        self.cancel_everything_queued(false)
    }

    /// `shutdown_now`'s work: close, optionally ask the running tasks to
    /// stop, then cancel everything queued; returns how many were cancelled.
    pub(crate) fn cancel_everything_queued(&self, stop_running: bool) -> usize {
        let shared = &self.shared;
        let before = shared.cancelled.load(Ordering::SeqCst);
        shared.close(true);
        if stop_running {
            // After the close no task starts, so "running now" is final.
            shared.request_cancel_running();
        }
        // Workers cancel what they pop from now on, and a task admitted just
        // before the close may still be on its way into a queue: drain until
        // no counted task is left queued, so the count below is exact.
        loop {
            while let Some(job) = Steal::until_settled(|| shared.injector.steal()) {
                job.cancel(shared);
            }
            for (_, stealer) in shared.registry.stealers() {
                while let Some(job) = Steal::until_settled(|| stealer.steal()) {
                    job.cancel(shared);
                }
            }
            if shared.totals().queued() == 0 {
                break;
            }
            // The sync shim's yield: loom must see it to schedule the
            // submitter this loop waits for.
            thread::yield_now();
        }
        shared.signal_if_quiet();
        (shared.cancelled.load(Ordering::SeqCst) - before) as usize
    }

    /// Like [`shutdown`](Self::shutdown), but gives up waiting after
    /// `timeout`; returns whether every task finished and every thread
    /// stopped. The pool stays closed either way.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool.
    pub fn shutdown_timeout(&self, timeout: Duration) -> bool {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::shutdown_timeout");
        self.assert_not_global("Pool::shutdown_timeout");
        self.finish_shutdown(false, Some(deadline_after(timeout)))
    }

    /// `shutdown*` on [`global`](crate::global) panics: it lives as long
    /// as the process, and every part of the crate relies on it.
    pub(crate) fn assert_not_global(&self, what: &str) {
        if self.shared.is_global.load(Ordering::Relaxed) {
            panic!("workcrew: {what} called on the global pool (workcrew::global()): it lives as long as the process and cannot be shut down; build a Pool of your own to shut it down");
        }
    }

    fn finish_shutdown(&self, abort: bool, deadline: Option<Instant>) -> bool {
        self.shared.close(abort);
        if !self.shared.registry.ensure_thread(&self.shared) {
            // No thread exists and none can start, so nothing would ever run
            // what is queued: cancel it instead of waiting for ever (every
            // handle finishes as `Cancelled`).
            while let Some(job) = Steal::until_settled(|| self.shared.injector.steal()) {
                job.cancel(&self.shared);
            }
            self.shared.signal_if_quiet();
        }
        if !self.shared.wait_quiet(deadline) {
            return false;
        }
        // Quiet and closed: idle workers leave; wake the parked ones.
        self.shared.registry.wake_all();
        self.shared.registry.join_threads(deadline)
    }

    /// True once the pool takes no new work from outside (after `shutdown*`;
    /// see [`spawn`](Self::spawn) for what its own draining tasks may still do).
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    // ------------------------------------------------------------ size

    /// Resizes the pool: sets both the core and the maximum thread count
    /// (0 = one per CPU). Growing starts threads for queued work at once;
    /// shrinking never interrupts a running task: a thread above the new
    /// limit finishes what it runs, takes no new task and exits.
    ///
    /// # Panics
    ///
    /// If `threads` exceeds 32,767.
    pub fn set_threads(&self, threads: usize) {
        let threads = if threads == 0 {
            crate::scheduler::config::cores()
        } else {
            threads
        };
        assert!(
            threads <= THREAD_LIMIT,
            "Pool::set_threads: {threads} exceeds the limit of {THREAD_LIMIT} threads per pool"
        );
        let room_for = self.shared.registry.resize(threads);
        let queued = self.shared.totals().queued();
        if room_for > 0 && queued > 0 {
            self.shared
                .registry
                .grow_for(room_for.min(queued), &self.shared);
        }
    }

    /// Worker threads that exist now (a thread that is retiring counts until
    /// its `on_thread_stop` hook has returned).
    pub fn threads(&self) -> usize {
        self.shared.registry.live_threads()
    }

    /// The most threads the pool runs at once.
    pub fn max_threads(&self) -> usize {
        self.shared.registry.max_threads()
    }

    /// Tasks queued or running.
    pub fn pending(&self) -> usize {
        self.shared.pending()
    }

    /// A snapshot of threads and task counts; see [`PoolStats`].
    pub fn stats(&self) -> PoolStats {
        let totals = self.shared.totals();
        let counts = self.shared.registry.counts();
        let (timed_out, discarded) = self.shared.timeouts();
        let (queue_wait, run_time) = self.shared.timings();
        let threads = self.shared.registry.live_threads();
        PoolStats {
            threads,
            // Two reads of two words: a thread starting or leaving between
            // them must not make more threads idle than exist.
            idle_threads: (counts.searching() + counts.parked()).min(threads),
            queued: totals.queued(),
            running: totals.running(),
            completed: totals.finished,
            panicked: totals.panicked,
            cancelled: totals.cancelled,
            timed_out,
            discarded,
            queue_wait,
            run_time,
        }
    }
}

impl Clone for Pool {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Pool {
            shared: self.shared.clone(),
        }
    }
}

// Unwind safety (see the type's docs): the pool's state is built to survive
// panics (every user value runs and drops under `catch_unwind`, locks ignore
// poisoning), so a `&Pool` seen after a caught panic works as before.
impl UnwindSafe for Pool {}
impl RefUnwindSafe for Pool {}

impl Drop for Pool {
    fn drop(&mut self) {
        // AcqRel: the last dropper sees every other handle's submissions.
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.close(false);
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("Pool")
            .field("threads", &stats.threads)
            .field("max_threads", &self.max_threads())
            .field("queued", &stats.queued)
            .field("running", &stats.running)
            .field("closed", &self.is_closed())
            .finish()
    }
}
