//! A worker thread's context: what it owns, how it runs a piece of work,
//! and how code running on it finds it.
//!
//! Each worker owns a LIFO deque (`queue::Local`) that only it pushes to and
//! pops from; others steal from the far end, and a frame list (`frames.rs`)
//! where its `fork_join`s record their second halves. Between jobs it runs
//! the loop of `idle.rs` (search, park, keep the heartbeat).
//!
//! Invariant: the thread-local `CURRENT` points at the running worker, and
//! only while that worker's `main` runs on this thread (or while an inline
//! runner lends it, `run_as_current`), so code inside a task can tell that
//! it runs on a worker (and of which pool): spawns go to the local deque,
//! waits take queued work back, `apply` runs inline, `fork_join` records
//! frames.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::time::Instant;

use crate::scheduler::ambient::is_stopped;
use crate::scheduler::frames::Frames;
use crate::scheduler::heartbeat;
use crate::scheduler::job::JobRef;
use crate::scheduler::queue::Local;
use crate::scheduler::registry::{Peer, Wake};
use crate::scheduler::shared::Shared;
use crate::scheduler::stats::SlotStats;
use crate::sync::{thread, thread_local};
use crate::Arc;

mod idle;
mod linger;

use linger::Linger;

pub(crate) use idle::backoff;

/// How a piece of work counts in the pool's statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Run {
    /// A counted task taken from a queue (or taken back by its waiter).
    Queued,
    /// A counted task run at once without being queued (`spawn` from a
    /// worker while the bounded queue is full).
    Unqueued,
    /// Part of a task that is already running (a `fork_join` half): not
    /// counted, but still wrapped in the task hooks.
    Part,
}

#[cfg(not(loom))]
thread_local! {
    static CURRENT: Cell<*const Worker> = const { Cell::new(ptr::null()) };
}

// Loom's `thread_local!` takes no `const` initialiser.
#[cfg(loom)]
thread_local! {
    static CURRENT: Cell<*const Worker> = Cell::new(ptr::null());
}

struct Peers {
    epoch: usize,
    list: Vec<(usize, Peer)>,
}

/// The context of one worker thread; lives on that thread's stack.
pub(crate) struct Worker {
    pool: Arc<Shared>,
    index: usize,
    local: Local,
    /// The pending halves of the `fork_join`s running on this thread.
    frames: Arc<Frames>,
    /// `frames.bottom()` when the stack job running now began: frames below
    /// belong to an outer job and are never promoted onto the own deque.
    floor: Cell<usize>,
    stats: Arc<SlotStats>,
    wake: Arc<Wake>,
    peers: RefCell<Peers>,
    rng: Cell<u32>,
    /// How long it goes on looking for work before it parks.
    linger: Linger,
}

/// Entry point of every worker thread.
pub(crate) fn main(pool: Arc<Shared>, index: usize, stats: Arc<SlotStats>) {
    let worker = Worker::new(pool, index, stats);
    heartbeat::precise_timers();
    worker.pool.registry.set_peer(
        index,
        Some(Peer {
            stealer: worker.local.stealer(),
            frames: worker.frames.clone(),
        }),
    );
    CURRENT.with(|current| current.set(&worker));
    worker.pool.hand_on_name_panics();
    if let Some(hook) = &worker.pool.config.on_thread_start {
        worker.pool.run_hook(hook);
    }
    worker.run_loop();
    // The thread has left the pool: from `on_thread_stop` it is an outside
    // thread, so what the hook submits is queued for the others or, once the
    // pool is closed, refused; never pushed to a deque nobody will look at
    // again (`[stop-hook-submits]`).
    CURRENT.with(|current| current.set(ptr::null()));
    if let Some(hook) = &worker.pool.config.on_thread_stop {
        worker.pool.run_hook(hook);
    }
    worker.pool.registry.thread_finished(index);
}

impl Worker {
    /// The context of a worker with slot `index` of `pool`, for the calling
    /// thread; it becomes the current worker only once `CURRENT` points at it.
    pub(crate) fn new(pool: Arc<Shared>, index: usize, stats: Arc<SlotStats>) -> Worker {
        Worker {
            index,
            local: Local::new(),
            frames: Arc::new(Frames::new()),
            floor: Cell::new(0),
            stats,
            wake: Wake::for_current_thread(),
            peers: RefCell::new(Peers {
                epoch: usize::MAX,
                list: Vec::new(),
            }),
            linger: Linger::new(),
            rng: Cell::new(0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1),
            pool,
        }
    }

    /// Runs `body` with `worker` as the current thread's worker, then
    /// restores the previous one (scheduler/inline.rs).
    pub(crate) fn run_as_current<R>(worker: &Worker, body: impl FnOnce(&Worker) -> R) -> R {
        struct Restore(*const Worker);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0;
                CURRENT.with(|current| current.set(previous));
            }
        }
        let _restore = Restore(CURRENT.with(|current| current.replace(worker)));
        body(worker)
    }

    /// Calls `f` with the worker running on this thread, if there is one.
    #[inline]
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
        let current = CURRENT.with(Cell::get);
        // SAFETY:
        // 1. `CURRENT` is non-null only between the two `set` calls in `main`,
        //    and points at the `Worker` on `main`'s stack, which lives across
        //    that whole span; all task code on this thread runs inside it.
        // 2. The reference is only lent to `f` and `&Worker` is not `Send`
        //    (`Worker` holds `Cell`s), so it cannot outlive `main`.
        f(unsafe { current.as_ref() })
    }

    /// Like [`Self::with_current`], but only a worker of `pool` counts.
    pub(crate) fn with_current_in<R>(
        pool: &Arc<Shared>,
        f: impl FnOnce(Option<&Worker>) -> R,
    ) -> R {
        Self::with_current(|worker| f(worker.filter(|worker| Arc::ptr_eq(&worker.pool, pool))))
    }

    pub(crate) fn pool(&self) -> &Arc<Shared> {
        &self.pool
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    pub(crate) fn deque_is_empty(&self) -> bool {
        self.local.is_empty()
    }

    pub(crate) fn stats(&self) -> &SlotStats {
        &self.stats
    }

    /// This worker's frame list (owner side: only this thread pushes/pops).
    #[inline]
    pub(crate) fn frames(&self) -> &Frames {
        &self.frames
    }

    pub(crate) fn floor(&self) -> usize {
        self.floor.get()
    }

    /// Runs a stack job's closure as a piece of work (`run_task`, not
    /// counted), with the floor raised to the frames recorded so far.
    pub(crate) fn run_part<R>(&self, f: impl FnOnce() -> R) -> std::thread::Result<R> {
        let outer = self.floor.replace(self.frames.bottom());
        let outcome = self.run_task(Run::Part, f);
        self.floor.set(outer);
        outcome
    }

    /// [first-frame-vs-park]: the first pending frame of a `fork_join` tree
    /// needs a heartbeat while some worker is idle (heartbeat.rs).
    #[cold]
    pub(crate) fn first_frame(&self) {
        let registry = &self.pool.registry;
        self.frames.decide_fences();
        // The light side; a parking worker runs the heavy one (`beat`).
        self.frames.light_fence();
        if !registry.heartbeat.is_beating() && registry.counts().parked() > 0 {
            registry.heartbeat.want();
            registry.wake_one_parked();
        }
    }

    /// Queues a job on this worker's own deque and wakes a thief if needed.
    pub(crate) fn push(&self, job: JobRef) {
        self.local.push(job);
        self.pool.registry.notify_work(&self.pool);
    }

    /// Queues a piece of the running task (a stack job) on the own deque.
    ///
    /// The wake-up is best effort, without the fence of `notify_work`: if a
    /// worker parks at that very moment and misses it, nothing is lost, since
    /// the owner runs the piece itself when nobody took it.
    pub(crate) fn push_part(&self, job: JobRef) {
        self.local.push(job);
        self.pool.registry.notify_part(&self.pool);
    }

    /// Makes sure idle workers notice the parts just pushed (parallel loops
    /// want their helpers taken reliably).
    pub(crate) fn wake_for_parts(&self) {
        self.pool.registry.notify_work(&self.pool);
    }

    /// Hands a job this worker must not run to the injector.
    pub(crate) fn requeue(&self, job: JobRef) {
        self.pool.injector.push(job);
        self.pool.registry.notify_work(&self.pool);
    }

    /// Marks this worker as blocked in its pool until the guard drops.
    pub(crate) fn block(&self) -> Blocked {
        self.pool.registry.block(&self.pool);
        Blocked(Some(self.pool.clone()))
    }

    /// Pops the own deque until an entry matching `wanted` comes up; puts
    /// the others back in order. `None` if it is not there (another worker
    /// took it).
    pub(crate) fn take_back(&self, wanted: impl Fn(&JobRef) -> bool) -> Option<JobRef> {
        let top = self.local.pop()?;
        if wanted(&top) {
            return Some(top);
        }
        // Rare: the task pushed other work after the wanted entry.
        let mut found = None;
        self.take_back_all(&wanted, |entry| {
            debug_assert!(found.is_none());
            found = Some(entry);
        });
        self.local.push(top);
        found
    }

    /// Pops the whole own deque, hands every entry matching `wanted` to
    /// `take`, and puts the rest back in their order.
    pub(crate) fn take_back_all(
        &self,
        wanted: impl Fn(&JobRef) -> bool,
        mut take: impl FnMut(JobRef),
    ) {
        let mut others = Vec::new();
        while let Some(entry) = self.local.pop() {
            if wanted(&entry) {
                take(entry);
            } else {
                others.push(entry);
            }
        }
        for entry in others.into_iter().rev() {
            self.local.push(entry);
        }
    }

    /// Runs `f` as one piece of work on this worker: counters, the
    /// `before_task`/`after_task` hooks and panic capture.
    pub(crate) fn run_task<R>(&self, how: Run, f: impl FnOnce() -> R) -> std::thread::Result<R> {
        self.run_task_then(how, &mut Some(f), |outcome| outcome)
    }

    /// Like [`Self::run_task`], handing the outcome to `finish` before the
    /// task stops counting as running: whatever `finish` does (publish the
    /// result, wake waiters, run `on_complete`) happens before `Pool::join`
    /// can see the pool quiet.
    ///
    /// `f` comes in an `Option` behind a reference, not by value: `finish`
    /// may let a waiter go on using what `f` borrowed while this call is
    /// still on the stack, and a by-value argument's references count as
    /// in use for the whole call (Rust's aliasing rules; Miri flags it).
    pub(crate) fn run_task_then<R, F: FnOnce() -> R, X>(
        &self,
        how: Run,
        f: &mut Option<F>,
        finish: impl FnOnce(std::thread::Result<R>) -> X,
    ) -> X {
        let f = f.take().expect("a task body runs once");
        match how {
            Run::Queued => {
                self.stats.started.bump();
                self.pool.release_queue_slot();
            }
            Run::Unqueued => {
                self.stats.spawned.bump();
                self.stats.started.bump();
            }
            Run::Part => {}
        }
        let config = &self.pool.config;
        if let Some(hook) = &config.before_task {
            self.pool.run_hook(hook);
        }
        let outcome = panic::catch_unwind(AssertUnwindSafe(f));
        if let Some(hook) = &config.after_task {
            self.pool.run_hook(hook);
        }
        // A checkpoint's early end is not a panic (ambient.rs).
        let panicked = outcome
            .as_ref()
            .is_err_and(|payload| !is_stopped(payload.as_ref()));
        let finished = finish(outcome);
        if how != Run::Part {
            if panicked {
                self.stats.panicked.bump();
            }
            self.stats.finished.bump();
        }
        finished
    }
}

/// Marks the current worker (if any) as blocked in its pool while alive, so
/// the pool may start a compensating thread.
pub(crate) struct Blocked(Option<Arc<Shared>>);

impl Blocked {
    pub(crate) fn current() -> Blocked {
        Blocked(Worker::with_current(|worker| {
            worker.map(|worker| {
                worker.pool.registry.block(&worker.pool);
                worker.pool.clone()
            })
        }))
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        if let Some(pool) = &self.0 {
            pool.registry.unblock();
        }
    }
}

/// Parks the current thread until `done()` holds or `deadline` passes;
/// returns `done()`. Something must unpark this thread when `done` changes.
/// A worker thread is counted as blocked meanwhile.
pub(crate) fn park_until(done: impl Fn() -> bool, deadline: Option<Instant>) -> bool {
    let blocked = Blocked::current();
    park_while_blocked(&blocked, done, deadline)
}

/// [`park_until`] for a caller that already holds its `Blocked` guard.
pub(crate) fn park_while_blocked(
    _blocked: &Blocked,
    done: impl Fn() -> bool,
    deadline: Option<Instant>,
) -> bool {
    loop {
        if done() {
            return true;
        }
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return done();
                }
                crate::sync::park_timeout(deadline - now);
            }
        }
    }
}

impl Worker {
    /// Runs one job tagged `tag` from the top of the own deque, if there is
    /// one among the few newest entries; other entries are put back in
    /// order and never run here (promise 2). Returns whether it ran one.
    pub(crate) fn run_own_tagged(&self, tag: usize) -> bool {
        const LOOK_AT: usize = 16;
        let mut passed = Vec::new();
        let mut found = None;
        while passed.len() < LOOK_AT {
            match self.local.pop() {
                Some(job) if job.tag() == tag => {
                    found = Some(job);
                    break;
                }
                Some(job) => passed.push(job),
                None => break,
            }
        }
        for job in passed.into_iter().rev() {
            self.local.push(job);
        }
        match found {
            Some(job) => {
                job.run(self);
                true
            }
            None => false,
        }
    }
}
