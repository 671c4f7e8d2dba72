//! Building a [`Pool`] and submitting work to it: `new`, `builder`,
//! `spawn`, `try_spawn`, `spawn_timeout`, `execute`, `apply`, `task_set`.
//!
//! Invariant: a submission is either admitted (it runs exactly once, or its
//! handle reports `Cancelled`) or refused with the closure handed back
//! (`try_spawn`, `spawn_timeout`) or dropped unrun before a clear panic
//! (`spawn`, `execute`, `apply`); admission itself is `Shared::submit`'s
//! (scheduler/shared.rs). A call from a worker of the pool never waits for
//! room or for a thread: it runs the task inline instead.

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use crate::error::SpawnError;
use crate::pool::builder::{BuildError, PoolBuilder};
use crate::pool::Pool;
use crate::scheduler::ambient::{is_stopped, Ambient};
use crate::scheduler::config::Config;
use crate::scheduler::deadline_after;
use crate::scheduler::job::{BoxedJob, JobHeader, JobRef};
use crate::scheduler::shared::Shared;
use crate::scheduler::spawn::StartError;
use crate::scheduler::submit::{Refusal, WhenFull};
use crate::scheduler::worker::{Run, Worker};
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
    /// [`PoolStats::panicked`](crate::PoolStats::panicked) and handed to the `panic_handler`.
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
}
