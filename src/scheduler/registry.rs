//! The pool's threads: how many there are, which are idle, when a new one
//! starts, when one parks, wakes or exits.
//!
//! # The counts
//!
//! One atomic word ([`Counts`]) holds four 16-bit fields:
//!
//! * `threads`: live workers (raised before a thread is spawned, lowered when
//!   a worker decides to exit);
//! * `searching`: workers awake and looking for work, not running a task;
//! * `parked`: workers asleep in [`Registry::park`];
//! * `blocked`: workers inside a task that waits for another task that is
//!   running elsewhere (`join`, `scope`, ...); they do not count against
//!   `max_threads` (compensation, see "growth" below).
//!
//! Idle threads are `searching + parked`.
//!
//! # Waking: one at a time, never lost
//!
//! After pushing work, a submitter calls [`Registry::notify_work`]:
//!
//! 1. If some worker is searching, do nothing: it will find the job.
//! 2. Else, if a worker is parked, or the pool may grow, take the `idle` lock
//!    and wake the most recently parked worker (moving it from `parked` to
//!    `searching`) or start a new thread (counted as searching).
//! 3. Else every thread is busy: the next one to finish a task finds the job.
//!
//! Each step is defended against a named race:
//!
//! * **Lost wake-up (park vs submit).** A worker going to sleep first moves
//!   itself from `searching` to `parked` (SeqCst), *then* looks at the queues
//!   once more; the submitter pushes, then (SeqCst fence) reads the counts.
//!   Either the worker sees the job, or the submitter sees no searcher and
//!   wakes someone. Code cites this as `[park-vs-submit]`.
//! * **Last searcher leaves.** When the last searching worker finds a job it
//!   calls `notify_work` itself, because submitters skipped step 2 while it was
//!   searching and more jobs may be waiting. `[last-searcher]`
//! * **Busy-to-idle.** A worker that finds nothing after a task raises
//!   `searching` before its search rounds, so a job pushed meanwhile is either
//!   seen by those rounds or sees the searcher. `[busy-to-idle]`
//!
//! Only one worker is woken per notification (no thundering herd). A worker
//! that finds a job and still sees queued work wakes one more parked worker
//! (`[fan-out]`), so a burst wakes parked workers in a tree, not a chain of
//! one wake-up after another.
//!
//! # Growth, keep-alive and shrinking
//!
//! A new thread starts only in step 2 above: work was just queued, no thread
//! is idle, and `threads - min(blocked, max) < max`. So an idle thread is
//! always used first, and a queued task never waits for a thread while the
//! pool may grow. Workers blocked in a wait inside the pool are replaced by
//! compensating threads, at most `max_threads` of them, so `threads()` never
//! exceeds `2 × max_threads()`.
//!
//! A worker parks untimed while `threads <= core`, and for `keep_alive`
//! otherwise. When the timed park expires it exits if the pool still has
//! more threads than its core size. `[keep-alive-vs-submit]`: the expiring
//! worker decides under the `idle` lock; a submitter that popped it from the
//! parked list under that lock has set its `notified` flag first, so it stays;
//! otherwise it leaves the list before the submitter looks, and the submitter
//! sees fewer threads and may start a new one.
//!
//! `set_threads` and the end of a compensated wait may leave more threads
//! than allowed; they raise the `surplus` flag, and every worker checks it
//! before taking a new job: a surplus worker finishes what it runs and exits.

use std::fmt;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::scheduler::frames::Frames;
use crate::scheduler::heartbeat::Heartbeat;
use crate::scheduler::queue::Stealer;
use crate::scheduler::shared::Shared;
use crate::scheduler::stats::SlotStats;
use crate::sync::{
    fence, lock, thread, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering,
};
use crate::Arc;

/// The most threads a pool may have: `max_threads` and the compensating
/// threads on top of it must fit the 16-bit fields of [`Counts`].
pub(crate) const THREAD_LIMIT: usize = 32_767;

const FIELD: u32 = 16;
const MASK: u64 = (1 << FIELD) - 1;
pub(super) const ONE_THREAD: u64 = 1;
pub(super) const ONE_SEARCHING: u64 = 1 << FIELD;
const ONE_PARKED: u64 = 1 << (2 * FIELD);
const ONE_BLOCKED: u64 = 1 << (3 * FIELD);

/// A snapshot of the packed thread counts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts(u64);

impl Counts {
    pub(crate) fn threads(self) -> usize {
        (self.0 & MASK) as usize
    }
    pub(crate) fn searching(self) -> usize {
        ((self.0 >> FIELD) & MASK) as usize
    }
    pub(crate) fn parked(self) -> usize {
        ((self.0 >> (2 * FIELD)) & MASK) as usize
    }
    pub(crate) fn blocked(self) -> usize {
        ((self.0 >> (3 * FIELD)) & MASK) as usize
    }
    /// Threads that count against `max`: blocked ones are compensated for,
    /// up to `max` of them.
    fn active(self, max: usize) -> usize {
        self.threads() - self.blocked().min(max)
    }
}

impl fmt::Debug for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counts")
            .field("threads", &self.threads())
            .field("searching", &self.searching())
            .field("parked", &self.parked())
            .field("blocked", &self.blocked())
            .finish()
    }
}

/// How a parked worker is woken.
pub(crate) struct Wake {
    thread: thread::Thread,
    /// Set (under the `idle` lock) by whoever took this worker off the
    /// parked list; that waker has already moved it to `searching`.
    notified: AtomicBool,
}

impl Wake {
    pub(crate) fn for_current_thread() -> Arc<Wake> {
        Arc::new(Wake {
            thread: thread::current(),
            notified: AtomicBool::new(false),
        })
    }

    /// Sets `notified` and unparks the worker; called under the `idle` lock
    /// by whoever took it off the parked list.
    fn notify(&self) {
        // Release: pairs with the acquire swap in `Registry::park`.
        //
        // A swap, not a store: loom 0.7 does not order a plain store after a
        // concurrent read-modify-write of the same atomic (tokio-rs/loom#254),
        // so it would let the parker's second swap read the `false` of its
        // first one and report a lost wake-up the memory model rules out.
        // Between two RMWs loom is exact, and next to an unpark the cost is nil.
        self.notified.swap(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// A worker's index: its name, its stats slot, its stealer.
pub(crate) struct SlotEntry {
    pub(super) in_use: bool,
    pub(crate) stats: Arc<SlotStats>,
    pub(super) peer: Option<Peer>,
}

/// What other workers may reach of a live worker: its deque's far end and
/// its frame list (`frames.rs`).
#[derive(Clone)]
pub(crate) struct Peer {
    pub(crate) stealer: Stealer,
    pub(crate) frames: Arc<Frames>,
}

/// State behind the `idle` lock.
pub(crate) struct Idle {
    /// Parked workers, most recently parked last (woken first, warm cache).
    pub(super) parked: Vec<Arc<Wake>>,
    /// Indexed by worker index; entries are reused by later threads.
    pub(crate) slots: Vec<SlotEntry>,
    pub(super) joins: Vec<thread::JoinHandle<()>>,
    /// OS threads that have not finished `worker::main` (includes workers
    /// already subtracted from `threads` but still running `on_thread_stop`).
    pub(super) alive: usize,
    /// Set by `shutdown` once every thread is gone: no thread starts again.
    pub(super) stopped: bool,
}

/// What woke a parked worker.
#[must_use]
pub(crate) enum Woken {
    /// Notified: it is counted as searching again.
    Notified,
    /// It left the pool: idle past `keep_alive` with more threads than the
    /// core size, or surplus (counts already updated).
    Exited,
}

pub(crate) struct Registry {
    /// Padded: workers write it on every search transition; it must not
    /// share a cache line with fields submitters write.
    pub(super) counts: CachePadded<AtomicU64>,
    core: AtomicUsize,
    max: AtomicUsize,
    /// Threads may exceed the limit; see the module docs. Written under `idle`.
    surplus: AtomicBool,
    /// Padded: locked on every park and wake-up, away from the read-mostly
    /// limits and flags next to it.
    pub(super) idle: CachePadded<Mutex<Idle>>,
    /// Signalled when `Idle::alive` drops.
    pub(super) exited: Condvar,
    /// Bumped (under `idle`) whenever a stealer is added or removed.
    pub(super) stealers_epoch: AtomicUsize,
    /// OS worker threads that exist (spawn.rs, "Invariants").
    pub(super) live: AtomicUsize,
    /// The OS refused the last thread we tried to start (spawn.rs).
    pub(super) growth_refused: AtomicBool,
    /// Which idle worker keeps time for the busy ones (heartbeat.rs).
    pub(crate) heartbeat: Heartbeat,
}

impl Registry {
    pub(crate) fn new(core: usize, max: usize) -> Self {
        Registry {
            counts: CachePadded::new(AtomicU64::new(0)),
            core: AtomicUsize::new(core),
            max: AtomicUsize::new(max),
            surplus: AtomicBool::new(false),
            idle: CachePadded::new(Mutex::new(Idle {
                parked: Vec::new(),
                slots: Vec::new(),
                joins: Vec::new(),
                alive: 0,
                stopped: false,
            })),
            exited: Condvar::new(),
            stealers_epoch: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            growth_refused: AtomicBool::new(false),
            heartbeat: Heartbeat::new(),
        }
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts(self.counts.load(Ordering::SeqCst))
    }

    pub(crate) fn core_threads(&self) -> usize {
        self.core.load(Ordering::Relaxed)
    }

    pub(crate) fn max_threads(&self) -> usize {
        self.max.load(Ordering::Relaxed)
    }

    /// How many more threads may start before the pool reaches its limit.
    pub(crate) fn growth_room(&self, counts: Counts) -> usize {
        let max = self.max_threads();
        max.saturating_sub(counts.active(max))
    }

    pub(super) fn may_grow(&self, counts: Counts) -> bool {
        let max = self.max_threads();
        counts.active(max) < max
    }

    fn is_surplus(&self, counts: Counts) -> bool {
        let max = self.max_threads();
        counts.active(max) > max
    }

    pub(crate) fn idle_lock(&self) -> MutexGuard<'_, Idle> {
        lock(&self.idle)
    }

    // ------------------------------------------------------------ waking

    /// Called after pushing work; see "Waking" in the module docs.
    pub(crate) fn notify_work(&self, pool: &Arc<Shared>) {
        // [park-vs-submit]: the push happens before this fence; a worker that
        // parks raises `parked` (SeqCst) before it looks at the queues again.
        fence(Ordering::SeqCst);
        let counts = self.counts();
        if counts.searching() > 0 {
            return;
        }
        if counts.parked() == 0 && !self.may_grow(counts) {
            return;
        }
        self.wake_or_grow(pool);
    }

    /// Best-effort `notify_work` for pieces of a running task (see
    /// `Worker::push_part`): no fence, so a worker parking at this instant
    /// may miss it, which costs parallelism, never progress.
    pub(crate) fn notify_part(&self, pool: &Arc<Shared>) {
        let counts = self.counts_relaxed();
        if counts.searching() > 0 {
            return;
        }
        if counts.parked() == 0 && !self.may_grow(counts) {
            return;
        }
        self.wake_or_grow(pool);
    }

    fn counts_relaxed(&self) -> Counts {
        Counts(self.counts.load(Ordering::Relaxed))
    }

    fn wake_or_grow(&self, pool: &Arc<Shared>) {
        let mut idle = self.idle_lock();
        let counts = self.counts();
        if counts.searching() > 0 {
            return;
        }
        if self.wake_parked(&mut idle) {
            return;
        }
        if self.may_grow(counts) {
            // A refusal is recorded in `growth_refused`; the pool keeps
            // running on the threads it has (spawn.rs).
            let _ = self.start_thread(&mut idle, pool, false);
        }
    }

    /// Wakes one parked worker, if any, without starting threads. Used by a
    /// worker that found a job and still sees more ([fan-out]).
    pub(crate) fn wake_one_parked(&self) {
        if self.counts_relaxed().parked() == 0 {
            return;
        }
        self.wake_parked(&mut self.idle_lock());
    }

    /// Takes the most recently parked worker off the list, counts it as
    /// searching and wakes it; false if none is parked. `idle` is locked.
    pub(super) fn wake_parked(&self, idle: &mut Idle) -> bool {
        let Some(wake) = idle.parked.pop() else {
            return false;
        };
        self.counts
            .fetch_add(ONE_SEARCHING.wrapping_sub(ONE_PARKED), Ordering::SeqCst);
        wake.notify();
        true
    }

    /// Wakes every parked worker (close, resize): each re-reads the pool's
    /// state and decides to work, park again or exit.
    pub(crate) fn wake_all(&self) {
        let mut idle = self.idle_lock();
        while self.wake_parked(&mut idle) {}
    }

    /// Publishes a worker's stealer and frame list so others can take its
    /// queued jobs and ask for its pending frames.
    pub(crate) fn set_peer(&self, index: usize, peer: Option<Peer>) {
        let mut idle = self.idle_lock();
        idle.slots[index].peer = peer;
        self.stealers_epoch.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn stealers_epoch(&self) -> usize {
        self.stealers_epoch.load(Ordering::Acquire)
    }

    /// All published stealers (`shutdown_now` drains them).
    pub(crate) fn stealers(&self) -> Vec<(usize, Stealer)> {
        self.peers()
            .into_iter()
            .map(|(index, peer)| (index, peer.stealer))
            .collect()
    }

    /// All published peers (a worker caches this until the epoch moves).
    pub(crate) fn peers(&self) -> Vec<(usize, Peer)> {
        let idle = self.idle_lock();
        idle.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| slot.peer.clone().map(|p| (index, p)))
            .collect()
    }

    /// Whether any worker's deque holds a job.
    pub(crate) fn any_stealer_has_work(&self) -> bool {
        let idle = self.idle_lock();
        idle.slots
            .iter()
            .any(|slot| slot.peer.as_ref().is_some_and(|p| !p.stealer.is_empty()))
    }

    // ------------------------------------------------------------ searching

    /// [busy-to-idle]: a worker that found nothing becomes a searcher.
    pub(crate) fn start_searching(&self) {
        self.counts.fetch_add(ONE_SEARCHING, Ordering::SeqCst);
    }

    /// A searcher found a job. Returns true if it was the last searcher, in
    /// which case the caller must `notify_work` ([last-searcher]).
    #[must_use]
    pub(crate) fn stop_searching(&self) -> bool {
        Counts(self.counts.fetch_sub(ONE_SEARCHING, Ordering::SeqCst)).searching() == 1
    }

    /// Whether workers must check for surplus before taking a job.
    pub(crate) fn may_have_surplus(&self) -> bool {
        self.surplus.load(Ordering::Relaxed)
    }

    /// Retires the calling worker if the pool has more threads than allowed.
    /// `searching` says whether it is currently counted as a searcher.
    pub(crate) fn try_retire(&self, searching: bool) -> bool {
        let _idle = self.idle_lock();
        let counts = self.counts();
        if !self.is_surplus(counts) {
            self.surplus.store(false, Ordering::Relaxed);
            return false;
        }
        let delta = ONE_THREAD + if searching { ONE_SEARCHING } else { 0 };
        let after = Counts(self.counts.fetch_sub(delta, Ordering::SeqCst) - delta);
        if !self.is_surplus(after) {
            self.surplus.store(false, Ordering::Relaxed);
        }
        true
    }

    /// A searching worker leaves because the pool is closed and drained.
    pub(crate) fn retire_searcher(&self) {
        let _idle = self.idle_lock();
        self.counts
            .fetch_sub(ONE_THREAD + ONE_SEARCHING, Ordering::SeqCst);
    }

    // ------------------------------------------------------------ parking

    /// Moves the calling searcher to the parked list. The caller must then
    /// look at the queues once more ([park-vs-submit]) before [`Self::park`].
    pub(crate) fn prepare_park(&self, wake: &Arc<Wake>) {
        let mut idle = self.idle_lock();
        self.counts
            .fetch_add(ONE_PARKED.wrapping_sub(ONE_SEARCHING), Ordering::SeqCst);
        idle.parked.push(wake.clone());
    }

    /// Sleeps on the parked list for at most `timeout` (the heartbeat's
    /// tick); true if notified (then counted as searching), false if the
    /// time ran out (still parked). Never exits: keep-alive is `park`'s.
    pub(crate) fn park_for(&self, wake: &Arc<Wake>, timeout: Duration) -> bool {
        if cfg!(loom) {
            // No real clock under loom (a schedule replayed later must take
            // the same branches): the timeout may fire at once.
            if wake.notified.swap(false, Ordering::Acquire) {
                return true;
            }
            crate::sync::park_timeout(timeout);
            return wake.notified.swap(false, Ordering::Acquire);
        }
        let deadline = crate::scheduler::deadline_after(timeout);
        loop {
            if wake.notified.swap(false, Ordering::Acquire) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            crate::sync::park_timeout(deadline - now);
        }
    }

    /// Takes a parked worker that found work by itself (a heartbeat claim)
    /// off the parked list and counts it as searching, unless a waker did
    /// both already. `[keep-alive-vs-submit]` applies: decided under `idle`.
    pub(crate) fn leave_parked(&self, wake: &Arc<Wake>) {
        let mut idle = self.idle_lock();
        if wake.notified.swap(false, Ordering::Acquire) {
            return;
        }
        let position = idle
            .parked
            .iter()
            .position(|parked| Arc::ptr_eq(parked, wake))
            .expect("a parked worker is on the parked list until notified");
        idle.parked.swap_remove(position);
        self.counts
            .fetch_add(ONE_SEARCHING.wrapping_sub(ONE_PARKED), Ordering::SeqCst);
    }

    /// Sleeps until notified, or until `keep_alive` ends an extra thread.
    pub(crate) fn park(&self, wake: &Arc<Wake>, keep_alive: Duration) -> Woken {
        loop {
            let timed = self.counts().threads() > self.core_threads();
            let deadline = crate::scheduler::deadline_after(keep_alive);
            loop {
                if wake.notified.swap(false, Ordering::Acquire) {
                    return Woken::Notified;
                }
                if !timed {
                    thread::park();
                    continue;
                }
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                crate::sync::park_timeout(deadline - now);
                if cfg!(loom) {
                    break;
                }
            }
            // [keep-alive-vs-submit]: decide under the lock.
            let mut idle = self.idle_lock();
            if wake.notified.swap(false, Ordering::Acquire) {
                return Woken::Notified;
            }
            if self.counts().threads() <= self.core_threads() {
                // Others left meanwhile; this thread is core now.
                continue;
            }
            let position = idle
                .parked
                .iter()
                .position(|parked| Arc::ptr_eq(parked, wake))
                .expect("a parked worker is on the parked list until notified");
            idle.parked.swap_remove(position);
            self.counts
                .fetch_sub(ONE_THREAD + ONE_PARKED, Ordering::SeqCst);
            return Woken::Exited;
        }
    }

    // ------------------------------------------------------------ blocking

    /// Whether a worker that blocks now leaves its pool a thread to run
    /// queued work: an idle one, or a compensating one it may start (and
    /// that the OS has not been refusing: `[refused-compensation]`).
    pub(crate) fn can_compensate(&self) -> bool {
        let counts = self.counts();
        if counts.searching() + counts.parked() > 0 {
            return true;
        }
        if self.growth_refused() {
            // [refused-compensation]: the thread it would start cannot start.
            return false;
        }
        let max = self.max_threads();
        counts.threads() - (counts.blocked() + 1).min(max) < max
    }

    /// Whether queued work has no thread to run it and cannot get one: no
    /// thread is idle and the OS refused the last thread the pool tried to
    /// start ([refused-compensation]). Asked by a waiter already counted as
    /// blocked, whose `block` just tried to start one.
    pub(crate) fn refuses_compensation(&self) -> bool {
        let counts = self.counts();
        counts.searching() + counts.parked() == 0 && self.growth_refused()
    }

    /// The calling worker is about to block in a wait inside a task: it no
    /// longer counts against `max_threads` (see "Growth" above).
    pub(crate) fn block(&self, pool: &Arc<Shared>) {
        self.counts.fetch_add(ONE_BLOCKED, Ordering::SeqCst);
        // Jobs pushed before we raised `blocked` may have found the pool at
        // its limit; now that we no longer count, let one of them start.
        if pool.has_visible_work() {
            self.notify_work(pool);
        }
    }

    pub(crate) fn unblock(&self) {
        let after = Counts(self.counts.fetch_sub(ONE_BLOCKED, Ordering::SeqCst) - ONE_BLOCKED);
        if self.is_surplus(after) {
            let _idle = self.idle_lock();
            self.surplus.store(true, Ordering::Relaxed);
        }
    }

    // ------------------------------------------------------------ resizing

    /// Sets core and max; returns how many threads may start at once.
    pub(crate) fn resize(&self, threads: usize) -> usize {
        let idle = self.idle_lock();
        self.core.store(threads, Ordering::Relaxed);
        self.max.store(threads, Ordering::Relaxed);
        let counts = self.counts();
        if self.is_surplus(counts) {
            self.surplus.store(true, Ordering::Relaxed);
        }
        drop(idle);
        // Parked workers re-read the limits: surplus ones exit, others
        // re-arm their keep-alive timer.
        self.wake_all();
        threads.saturating_sub(self.counts().active(threads))
    }
}
