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
use crate::pool::build_error::BuildError;
use crate::pool::builder::PoolBuilder;
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
    worker.run_task_then(how, &mut Some(body), |outcome| {
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
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(4);
    /// assert_eq!(pool.max_threads(), 4);
    /// let all_cores = workcrew::Pool::new(0);
    /// assert!(all_cores.max_threads() >= 1);
    /// ```
    pub fn new(threads: usize) -> Pool {
        match Pool::builder().threads(threads).build() {
            Ok(pool) => pool,
            Err(error) => panic!("Pool::new: {error}"),
        }
    }

    /// Starts a [`PoolBuilder`] to set limits, hooks and names.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// // Two threads always, up to 16 while blocking work piles up, each extra
    /// // thread leaving after 5 s idle; at most 100 tasks waiting.
    /// let pool = workcrew::Pool::builder()
    ///     .threads(2)
    ///     .max_threads(16)
    ///     .keep_alive(Duration::from_secs(5))
    ///     .queue_capacity(100)
    ///     .thread_name(|index| format!("downloader-{index}"))
    ///     .build()?;
    /// assert_eq!(pool.max_threads(), 16);
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let text = String::from("moved into the task");
    /// let length = pool.spawn(move || text.len());
    /// assert_eq!(length.join()?, 19);
    ///
    /// pool.shutdown();
    /// let refused = std::panic::catch_unwind(|| pool.spawn(|| 1));
    /// assert!(refused.is_err(), "spawn on a closed pool panics");
    /// # Ok::<(), workcrew::TaskError>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// With one thread, busy, and room for one queued task, the second
    /// submission is refused and its closure comes back:
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let pool = workcrew::Pool::builder().threads(1).queue_capacity(1).build()?;
    /// let (started_tx, started_rx) = mpsc::channel();
    /// let (release_tx, release_rx) = mpsc::channel::<()>();
    /// let busy = pool.spawn(move || {
    ///     started_tx.send(()).unwrap();
    ///     release_rx.recv().unwrap();
    /// });
    /// started_rx.recv().unwrap(); // the only thread is taken
    ///
    /// let queued = pool.try_spawn(|| "queued").expect("the queue has room for one");
    /// let refused = pool.try_spawn(|| "refused").unwrap_err();
    /// assert!(refused.is_full());
    /// let closure = refused.into_inner(); // nothing is lost: run it later, or here
    /// assert_eq!(closure(), "refused");
    ///
    /// release_tx.send(()).unwrap();
    /// busy.join().unwrap();
    /// assert_eq!(queued.join().unwrap(), "queued");
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = workcrew::Pool::builder().threads(1).queue_capacity(4).build()?;
    /// match pool.spawn_timeout(|| 2 + 2, Duration::from_millis(100)) {
    ///     Ok(handle) => assert_eq!(handle.join().unwrap(), 4),
    ///     Err(refused) => eprintln!("no room within 100 ms: {refused}"),
    /// }
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let pool = workcrew::Pool::new(2);
    /// let done = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..10 {
    ///     let done = done.clone();
    ///     pool.execute(move || {
    ///         done.fetch_add(1, Ordering::Relaxed);
    ///     });
    /// }
    /// pool.join(); // waits for the fire-and-forget tasks too
    /// assert_eq!(done.load(Ordering::Relaxed), 10);
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let numbers = vec![1, 2, 3];
    /// let total: i32 = pool.apply(|| numbers.iter().sum()); // borrows `numbers`
    /// assert_eq!(total, 6);
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let mut set = pool.task_set();
    /// for n in 1..=4u64 {
    ///     set.spawn(move || n * 10);
    /// }
    /// let mut total = 0;
    /// while let Some(result) = set.join_next() {
    ///     total += result?; // in the order the tasks finish
    /// }
    /// assert_eq!(total, 100);
    /// # Ok::<(), workcrew::TaskError>(())
    /// ```
    pub fn task_set<T: Send + 'static>(&self) -> TaskSet<T> {
        TaskSet::new(self.shared.clone())
    }
}
