//! [`Pool`]: submitting work, waiting for it, resizing, shutting down.
//!
//! [`Shared`] is the state every handle and worker of one pool points to.
//! A `Pool` value is a counted handle to it: when the last `Pool` clone is
//! dropped the pool closes gracefully (queued work still runs, then the
//! threads exit) without blocking the dropping thread.
//!
//! # Admission
//!
//! Outside submissions pass through one atomic word, `admission`: its low
//! bit is `CLOSED`, the rest counts admitted tasks. A
//! submitter adds itself with a compare-exchange that fails if `CLOSED` is
//! set, and `shutdown` sets `CLOSED` with a read-modify-write on the same
//! word. So every submission is ordered against the close: it was admitted
//! before (and `shutdown` waits for it, because it is counted), or it is
//! refused with its closure handed back. Nothing falls in between
//! (`[shutdown-vs-submit]`).
//!
//! Submissions from a worker of the pool (a task spawning more work) are still
//! accepted while the pool drains after `shutdown`, because shutdown promised
//! to finish the running tasks and they may need that work; after
//! `shutdown_now` they are refused too.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::builder::{Config, Hook, PoolBuilder};
use crate::error::SpawnError;
use crate::handle::{deadline_after, Handle, TaskHandle};
use crate::job::{BoxedJob, JobHeader, JobRef};
use crate::queue::{Injector, Steal};
use crate::registry::{Registry, THREAD_LIMIT};
use crate::stats::{PoolStats, Totals};
use crate::sync::{fence, lock, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering};
use crate::task::{TaskCell, TaskError};
use crate::worker::{Run, Worker};
use crate::Arc;
use crossbeam_utils::CachePadded;

const CLOSED: u64 = 1;
const ONE_ADMITTED: u64 = 2;

pub(crate) const CLOSED_MESSAGE: &str =
    "workcrew: the pool is closed (shut down, or its last Pool handle was dropped); it takes no new work";

/// What to do when the bounded queue is full.
#[derive(Clone, Copy)]
pub(crate) enum WhenFull {
    /// Refuse at once (`try_spawn`).
    Refuse,
    /// Wait for room until the deadline, if any. From a worker of the pool,
    /// run the task inline instead of waiting (waiting could deadlock).
    Wait(Option<Instant>),
}

/// The bounded queue's free slots (`queue_capacity`).
struct Room {
    capacity: usize,
    queued: AtomicUsize,
    waiting: AtomicUsize,
    lock: Mutex<()>,
    freed: Condvar,
}

enum NoRoom {
    Full,
    Closed,
}

impl Room {
    fn try_take(&self) -> bool {
        let mut queued = self.queued.load(Ordering::Relaxed);
        while queued < self.capacity {
            match self.queued.compare_exchange_weak(
                queued,
                queued + 1,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => queued = actual,
            }
        }
        false
    }

    fn take(&self, deadline: Option<Instant>, is_closed: impl Fn() -> bool) -> Result<(), NoRoom> {
        loop {
            if is_closed() {
                return Err(NoRoom::Closed);
            }
            if self.try_take() {
                return Ok(());
            }
            // A releaser decrements `queued` before it reads `waiting`; we
            // raise `waiting` before trying again, so one of us sees the other.
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let guard = lock(&self.lock);
            let outcome = if is_closed() {
                Some(Err(NoRoom::Closed))
            } else if self.try_take() {
                Some(Ok(()))
            } else {
                match deadline {
                    None => {
                        drop(crate::sync::wait(&self.freed, guard));
                        None
                    }
                    Some(deadline) => {
                        let now = Instant::now();
                        if now >= deadline {
                            Some(Err(NoRoom::Full))
                        } else {
                            drop(crate::sync::wait_timeout(
                                &self.freed,
                                guard,
                                deadline - now,
                            ));
                            None
                        }
                    }
                }
            };
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    }

    fn release(&self) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            let _guard = lock(&self.lock);
            self.freed.notify_one();
        }
    }

    fn wake_all(&self) {
        let _guard = lock(&self.lock);
        self.freed.notify_all();
    }
}

/// Threads blocked in `join` until the pool is quiet.
struct Quiet {
    waiting: AtomicUsize,
    lock: Mutex<()>,
    reached: Condvar,
}

/// The state one pool's handles and workers share.
///
/// Aligned to a cache-line pair so that the `Arc` reference counts in front
/// of it (bumped by every `TaskHandle`) never share a line with the fields
/// workers read for every task.
#[repr(align(128))]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) injector: Injector,
    pub(crate) registry: Registry,
    /// `admitted << 1 | CLOSED`; see the module docs. Written by outside
    /// submitters; workers read it only when idle.
    admission: AtomicU64,
    /// Set by `shutdown_now`; read by workers before every job, so it lives
    /// apart from `admission`, which submitters write for every task.
    aborted: CachePadded<AtomicBool>,
    cancelled: AtomicU64,
    /// Panics caught in hooks and callbacks (task panics count per worker).
    panics_elsewhere: AtomicU64,
    room: Option<Room>,
    quiet: Quiet,
    /// Live `Pool` values.
    handles: AtomicUsize,
}

/// A unit of fire-and-forget work from [`Pool::execute`]: just the closure,
/// boxed; nobody else ever refers to it.
#[repr(C)]
struct ExecJob<F> {
    header: JobHeader,
    f: F,
}

impl<F: FnOnce() + Send> BoxedJob for ExecJob<F> {
    fn header(&self) -> &JobHeader {
        &self.header
    }

    fn run(self: Box<Self>, worker: &Worker) {
        if let Err(payload) = worker.run_task(Run::Queued, self.f) {
            // Counted by `run_task`; nobody else can receive it.
            worker.pool().hand_to_panic_handler(payload);
        }
    }

    fn cancel(self: Box<Self>, pool: &Arc<Shared>) -> bool {
        drop(self);
        pool.task_cancelled();
        true
    }
}

impl Shared {
    pub(crate) fn is_closed(&self) -> bool {
        self.admission.load(Ordering::SeqCst) & CLOSED != 0
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Relaxed)
    }

    /// Counts one outside submission, unless the pool is closed.
    /// `[shutdown-vs-submit]`
    fn admit(&self) -> bool {
        let mut word = self.admission.load(Ordering::Relaxed);
        loop {
            if word & CLOSED != 0 {
                return false;
            }
            match self.admission.compare_exchange_weak(
                word,
                word + ONE_ADMITTED,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => word = actual,
            }
        }
    }

    /// Closes the pool; returns whether this call closed it.
    fn close(&self, abort: bool) -> bool {
        if abort {
            self.aborted.store(true, Ordering::SeqCst);
        }
        let previous = self.admission.fetch_or(CLOSED, Ordering::SeqCst);
        self.registry.wake_all();
        if let Some(room) = &self.room {
            room.wake_all();
        }
        previous & CLOSED == 0
    }

    // ------------------------------------------------------------ submitting

    /// Queues one counted task built from `f` by `queue` once it is admitted,
    /// following the rules in the module docs; `inline` runs it at once on a
    /// worker when the bounded queue is full and `when_full` says to wait.
    /// On refusal `f` comes back in the error.
    pub(crate) fn submit<F, R>(
        self: &Arc<Self>,
        f: F,
        when_full: WhenFull,
        queue: impl FnOnce(F) -> (JobRef, R),
        inline: impl FnOnce(F, &Worker) -> R,
    ) -> Result<R, SpawnError<F>> {
        Worker::with_current_in(self, |worker| match worker {
            Some(worker) => {
                if self.is_aborted() {
                    return Err(SpawnError::Closed(f));
                }
                if let Some(room) = &self.room {
                    if !room.try_take() {
                        return match when_full {
                            WhenFull::Refuse => Err(SpawnError::Full(f)),
                            WhenFull::Wait(_) => Ok(inline(f, worker)),
                        };
                    }
                }
                let (job, value) = queue(f);
                worker.stats().spawned.bump();
                worker.push(job);
                Ok(value)
            }
            None => {
                if let Some(room) = &self.room {
                    if self.is_closed() {
                        return Err(SpawnError::Closed(f));
                    }
                    let taken = match when_full {
                        WhenFull::Refuse => {
                            if room.try_take() {
                                Ok(())
                            } else {
                                Err(NoRoom::Full)
                            }
                        }
                        WhenFull::Wait(deadline) => room.take(deadline, || self.is_closed()),
                    };
                    match taken {
                        Ok(()) => {}
                        Err(NoRoom::Full) => return Err(SpawnError::Full(f)),
                        Err(NoRoom::Closed) => return Err(SpawnError::Closed(f)),
                    }
                }
                if !self.admit() {
                    self.release_queue_slot();
                    return Err(SpawnError::Closed(f));
                }
                let (job, value) = queue(f);
                self.injector.push(job);
                self.registry.notify_work(self);
                Ok(value)
            }
        })
    }

    /// Spawns a task that may borrow, waiting for room; panics if closed.
    ///
    /// # Safety
    /// The caller must not let anything `f` borrows (or `T` borrows) end
    /// before the returned handle's task is final (see
    /// `JobRef::from_arc_unchecked`), e.g. by joining it.
    pub(crate) unsafe fn spawn_borrowed<'a, F, T>(self: &Arc<Self>, f: F) -> Handle<'a, T>
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'a,
    {
        let spawned = self.submit(
            f,
            WhenFull::Wait(None),
            |f| {
                let cell = TaskCell::new(f, None);
                // SAFETY: forwarded to our caller.
                let job = unsafe { JobRef::from_arc_unchecked(cell.clone()) };
                (job, cell)
            },
            |f, worker| {
                let cell = TaskCell::new(f, None);
                cell.run_unqueued(worker);
                cell
            },
        );
        match spawned {
            Ok(cell) => Handle {
                task: cell,
                pool: self.clone(),
            },
            Err(_) => panic!("{CLOSED_MESSAGE}"),
        }
    }

    // ------------------------------------------------------------ accounting

    /// A counted task left the queue (started or cancelled): free its slot.
    pub(crate) fn release_queue_slot(&self) {
        if let Some(room) = &self.room {
            room.release();
        }
    }

    pub(crate) fn task_cancelled(&self) {
        self.cancelled.fetch_add(1, Ordering::SeqCst);
        self.release_queue_slot();
    }

    /// Reads every counter in the order `stats.rs` requires.
    pub(crate) fn totals(&self) -> Totals {
        let idle = self.registry.idle_lock();
        let slots = &idle.slots;
        let finished = slots.iter().map(|s| s.stats.finished.get()).sum();
        let panicked: u64 = slots.iter().map(|s| s.stats.panicked.get()).sum();
        let started = slots.iter().map(|s| s.stats.started.get()).sum();
        let cancelled = self.cancelled.load(Ordering::SeqCst);
        let spawned: u64 = slots.iter().map(|s| s.stats.spawned.get()).sum();
        let admitted = self.admission.load(Ordering::SeqCst) / ONE_ADMITTED;
        Totals {
            submitted: admitted + spawned,
            started,
            finished,
            cancelled,
            panicked: panicked + self.panics_elsewhere.load(Ordering::SeqCst),
        }
    }

    pub(crate) fn pending(&self) -> usize {
        let totals = self.totals();
        totals.queued() + totals.running()
    }

    /// Closed and nothing left queued: idle workers may exit.
    pub(crate) fn is_drained(&self) -> bool {
        self.is_closed() && self.totals().queued() == 0
    }

    /// Whether any queue holds a job (possibly a stale one).
    pub(crate) fn has_visible_work(&self) -> bool {
        !self.injector.is_empty() || self.registry.any_stealer_has_work()
    }

    /// Wakes `join` waiters if nothing is queued or running.
    pub(crate) fn signal_if_quiet(&self) {
        // Pairs with the fence in `wait_quiet`: either we see its waiter, or
        // it sees the counters we updated before getting here.
        fence(Ordering::SeqCst);
        if self.quiet.waiting.load(Ordering::SeqCst) > 0 && self.pending() == 0 {
            let _guard = lock(&self.quiet.lock);
            self.quiet.reached.notify_all();
        }
    }

    /// Waits until nothing is queued or running; false on timeout.
    fn wait_quiet(&self, deadline: Option<Instant>) -> bool {
        self.quiet.waiting.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let mut guard = lock(&self.quiet.lock);
        let reached = loop {
            if self.pending() == 0 {
                break true;
            }
            guard = match deadline {
                None => crate::sync::wait(&self.quiet.reached, guard),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break false;
                    }
                    crate::sync::wait_timeout(&self.quiet.reached, guard, deadline - now)
                }
            };
        };
        drop(guard);
        self.quiet.waiting.fetch_sub(1, Ordering::SeqCst);
        reached
    }

    // ------------------------------------------------------------ panics

    /// Gives a panic nobody else can receive to the `panic_handler`.
    pub(crate) fn hand_to_panic_handler(&self, payload: Box<dyn std::any::Any + Send>) {
        if let Some(handler) = &self.config.panic_handler {
            // A panicking handler has nowhere left to go: drop its panic.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| handler(payload)));
        }
    }

    /// Runs `f`, catching, counting and handing on a panic.
    fn run_guarded(&self, f: impl FnOnce()) {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
            self.panics_elsewhere.fetch_add(1, Ordering::SeqCst);
            self.hand_to_panic_handler(payload);
        }
    }

    pub(crate) fn run_hook(&self, hook: &Hook) {
        self.run_guarded(|| hook());
    }

    pub(crate) fn run_callback(&self, callback: impl FnOnce()) {
        self.run_guarded(callback);
    }

    fn assert_not_own_worker(&self, self_arc: &Arc<Shared>, what: &str) {
        if Worker::with_current_in(self_arc, |worker| worker.is_some()) {
            panic!("workcrew: {what} called from a task of the same pool would wait for that task itself");
        }
    }
}

/// A pool of worker threads. Cheap to clone; clones share one pool.
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

    pub(crate) fn from_config(config: Config) -> Pool {
        let room = config.queue_capacity.map(|capacity| Room {
            capacity,
            queued: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            lock: Mutex::new(()),
            freed: Condvar::new(),
        });
        let shared = Shared {
            registry: Registry::new(config.core_threads, config.max_threads),
            config,
            injector: Injector::new(),
            admission: AtomicU64::new(0),
            aborted: CachePadded::new(AtomicBool::new(false)),
            cancelled: AtomicU64::new(0),
            panics_elsewhere: AtomicU64::new(0),
            room,
            quiet: Quiet {
                waiting: AtomicUsize::new(0),
                lock: Mutex::new(()),
                reached: Condvar::new(),
            },
            handles: AtomicUsize::new(1),
        };
        Pool {
            shared: Arc::new(shared),
        }
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
    pub fn spawn<F, T>(&self, f: F) -> TaskHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.spawn_with(f, WhenFull::Wait(None)) {
            Ok(handle) => handle,
            Err(_) => panic!("{CLOSED_MESSAGE}"),
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
    }

    fn spawn_with<F, T>(&self, f: F, when_full: WhenFull) -> Result<TaskHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = &self.shared;
        shared.submit(
            f,
            when_full,
            |f| {
                let cell = TaskCell::new(f, None);
                let job = JobRef::from_arc(cell.clone());
                (job, TaskHandle::new(cell, shared.clone()))
            },
            |f, worker| {
                let cell = TaskCell::new(f, None);
                cell.run_unqueued(worker);
                TaskHandle::new(cell, shared.clone())
            },
        )
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
        let executed = self.shared.submit(
            f,
            WhenFull::Wait(None),
            |f| {
                let job = Box::new(ExecJob {
                    header: JobHeader::for_box::<ExecJob<F>>(),
                    f,
                });
                (JobRef::from_box(job), ())
            },
            |f, worker| {
                if let Err(payload) = worker.run_task(Run::Unqueued, f) {
                    worker.pool().hand_to_panic_handler(payload);
                }
            },
        );
        if executed.is_err() {
            panic!("{CLOSED_MESSAGE}");
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
        let handle = unsafe { self.shared.spawn_borrowed(f) };
        match handle.join() {
            Ok(value) => value,
            Err(TaskError::Panicked(payload)) => panic::resume_unwind(payload),
            Err(TaskError::Cancelled) => {
                panic!(
                    "workcrew: Pool::{what}: the task was cancelled by shutdown_now before it ran"
                )
            }
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

    // ------------------------------------------------------------ waiting

    /// Waits until nothing is queued or running.
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
        self.finish_shutdown(false, None);
    }

    /// Refuses new work and cancels every queued task (their handles report
    /// [`TaskError::Cancelled`]); returns how many it cancelled. Running tasks
    /// finish in the background: call [`join`](Self::join) or
    /// [`shutdown`](Self::shutdown) to wait for them. Does not block.
    pub fn shutdown_now(&self) -> usize {
        let shared = &self.shared;
        let before = shared.cancelled.load(Ordering::SeqCst);
        shared.close(true);
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
            std::thread::yield_now();
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
        self.finish_shutdown(false, Some(deadline_after(timeout)))
    }

    fn finish_shutdown(&self, abort: bool, deadline: Option<Instant>) -> bool {
        self.shared.close(abort);
        if !self.shared.wait_quiet(deadline) {
            return false;
        }
        // Quiet and closed: idle workers leave; wake the parked ones.
        self.shared.registry.wake_all();
        self.shared.registry.join_threads(deadline)
    }

    /// True once the pool takes no new work.
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
            crate::builder::cores()
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

    /// Live worker threads now.
    pub fn threads(&self) -> usize {
        self.shared.registry.counts().threads()
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
        PoolStats {
            threads: counts.threads(),
            idle_threads: counts.searching() + counts.parked(),
            queued: totals.queued(),
            running: totals.running(),
            completed: totals.finished,
            panicked: totals.panicked,
            cancelled: totals.cancelled,
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
