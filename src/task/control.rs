//! Cooperative cancellation and deadlines: the control block every running
//! task (and every group of pieces that can be stopped together) carries,
//! and the calls code inside a task uses to ask whether to stop.
//!
//! # The control block
//!
//! A [`Control`] says whether its unit of work has been asked to stop:
//!
//! * `requested`: set by `TaskHandle::request_cancel`, `TaskSet`'s
//!   `request_cancel_all`, a fail-fast sibling (`try_map`, `race`, a
//!   fail-fast `TaskSet`), or a dropped `Imap`;
//! * `start_epoch`: the pool's cancel epoch when the unit started; the pool
//!   bumps its epoch to ask every running task at once
//!   (`Pool::request_cancel_running`, `shutdown_now_and_stop_running`), and
//!   a unit that started before the bump is asked;
//! * `deadline`: past it, the unit is asked (nanoseconds since [`ANCHOR`],
//!   0 for none);
//! * `parent`: the block of the work this unit belongs to (a scoped task's
//!   scope owner, a parallel loop's caller); a unit is asked when any block
//!   up its chain is.
//!
//! Blocks live in the task cell (no extra allocation) or on the stack of a
//! frame that waits for every unit under it, so a chain is always alive
//! while a unit under it runs (scheduler/ambient.rs, invariant). A request
//! is a flag, never an interruption: the task sees it at its next
//! [`is_cancelled`] or [`checkpoint`]; a task that ignores it runs to its end.

use std::panic;
use std::ptr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::scheduler::ambient::{Ambient, Entered, Stopped};
use crate::sync::{AtomicPtr, AtomicU64, Ordering};

/// The instant deadlines are measured from.
fn anchor() -> Instant {
    static ANCHOR: OnceLock<Instant> = OnceLock::new();
    *ANCHOR.get_or_init(Instant::now)
}

/// `instant` as nanoseconds since the anchor (at least 1: 0 means none).
pub(crate) fn deadline_nanos(instant: Instant) -> u64 {
    let nanos = instant.saturating_duration_since(anchor()).as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX).max(1)
}

/// Bit 63 of `Control::word`: the unit has been asked to stop.
const REQUESTED: u64 = 1 << 63;
/// The low bits of `Control::word`: the deadline, 0 for none.
const DEADLINE: u64 = REQUESTED - 1;

/// The control block of one unit of work; see the module docs.
pub(crate) struct Control {
    /// `REQUESTED | deadline`.
    word: AtomicU64,
    /// The cancel epoch of the pool this unit runs on (null for a block
    /// that is not a task of its own: a group of pieces).
    epoch: AtomicPtr<AtomicU64>,
    /// That epoch's value when the unit started.
    start_epoch: AtomicU64,
    parent: *const Control,
}

// SAFETY: every field but `parent` is atomic; `parent` is set once at
// creation and only read, and points at a block that outlives this one's
// runs (module docs); `epoch` points into a pool's shared state, which a
// worker running the unit keeps alive.
unsafe impl Send for Control {}
// SAFETY: as above.
unsafe impl Sync for Control {}

impl Control {
    /// A block under `parent` (the ambient of the code creating the unit).
    pub(crate) fn new(parent: Ambient) -> Control {
        Control {
            word: AtomicU64::new(0),
            epoch: AtomicPtr::new(ptr::null_mut()),
            start_epoch: AtomicU64::new(0),
            parent: parent.as_ptr().cast(),
        }
    }

    /// Asks the unit (and every unit under it) to stop.
    pub(crate) fn request(&self) {
        // Release: pairs with the acquire in `is_asked`.
        self.word.fetch_or(REQUESTED, Ordering::Release);
    }

    pub(crate) fn set_deadline(&self, deadline: Option<Instant>) {
        let nanos = deadline.map_or(0, deadline_nanos) & DEADLINE;
        let mut word = self.word.load(Ordering::Relaxed);
        // A CAS loop: a request may arrive at the same time.
        while let Err(actual) = self.word.compare_exchange_weak(
            word,
            (word & REQUESTED) | nanos,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            word = actual;
        }
    }

    /// Starts running this block as a task of the pool whose cancel epoch is
    /// `epoch`; [`is_cancelled`] inside reads this block until the guard drops.
    pub(crate) fn enter(&self, epoch: &AtomicU64) -> Entered {
        self.start_epoch
            .store(epoch.load(Ordering::Relaxed), Ordering::Relaxed);
        self.epoch.store(
            epoch as *const AtomicU64 as *mut AtomicU64,
            Ordering::Relaxed,
        );
        self.ambient().enter()
    }

    /// This block as the ambient of pieces run under it.
    pub(crate) fn ambient(&self) -> Ambient {
        Ambient::from_ptr((self as *const Control).cast())
    }

    /// Whether this block's own deadline has passed.
    pub(crate) fn deadline_passed(&self) -> bool {
        let deadline = self.word.load(Ordering::Relaxed) & DEADLINE;
        deadline != 0 && deadline_nanos(Instant::now()) >= deadline
    }

    /// Whether this block or one up its chain is asked to stop.
    fn is_asked(&self) -> bool {
        let mut now = None;
        let mut block: *const Control = self;
        // SAFETY: `block` is this block or a parent of it, alive while a
        // unit under it runs (module docs); the loop ends at the root.
        while let Some(control) = unsafe { block.as_ref() } {
            let word = control.word.load(Ordering::Acquire);
            if word & REQUESTED != 0 {
                return true;
            }
            let deadline = word & DEADLINE;
            if deadline != 0 {
                let now = *now.get_or_insert_with(|| deadline_nanos(Instant::now()));
                if now >= deadline {
                    return true;
                }
            }
            // SAFETY: a non-null epoch points into the pool running this
            // unit (or its owner), alive while it runs.
            if let Some(epoch) = unsafe { control.epoch.load(Ordering::Relaxed).as_ref() } {
                if control.start_epoch.load(Ordering::Relaxed) < epoch.load(Ordering::Relaxed) {
                    return true;
                }
            }
            block = control.parent;
        }
        false
    }

    /// The nearest deadline up the chain, in anchor nanoseconds.
    fn nearest_deadline(&self) -> Option<u64> {
        let mut nearest: Option<u64> = None;
        let mut block: *const Control = self;
        // SAFETY: as in `is_asked`.
        while let Some(control) = unsafe { block.as_ref() } {
            let deadline = control.word.load(Ordering::Relaxed) & DEADLINE;
            if deadline != 0 {
                nearest = Some(nearest.map_or(deadline, |n| n.min(deadline)));
            }
            block = control.parent;
        }
        nearest
    }
}

/// Calls `f` with the control block the calling code runs under, if any.
fn with_current_block<R>(f: impl FnOnce(&Control) -> R) -> Option<R> {
    let ambient = Ambient::current();
    // SAFETY: a non-null ambient points at a live control block while the
    // work that entered it runs (scheduler/ambient.rs, invariant), and the
    // caller is that work; the reference is only lent to `f`.
    unsafe { ambient.as_ptr().cast::<Control>().as_ref() }.map(f)
}

/// Whether the task that the calling code runs in has been asked to stop:
/// by [`TaskHandle::request_cancel`](crate::TaskHandle::request_cancel), by
/// a deadline that passed, by its pool
/// ([`Pool::request_cancel_running`](crate::Pool::request_cancel_running)),
/// or through the work it belongs to (a scoped task's scope owner, the task
/// that called `map` or a parallel iterator, a failed `try_map` sibling).
/// `false` outside any task. Cheap: a few loads (and a clock read when a
/// deadline is set).
///
/// Cancellation is cooperative: nothing stops a task that does not look.
/// Call [`checkpoint`] to end the task at once instead.
///
/// # Examples
///
/// ```
/// let pool = workcrew::Pool::new(1);
/// let (started_tx, started_rx) = std::sync::mpsc::channel();
/// let handle = pool.spawn(move || {
///     started_tx.send(()).unwrap();
///     let mut rounds = 0u64;
///     while !workcrew::is_cancelled() {
///         rounds += 1;
///         std::hint::spin_loop();
///     }
///     rounds
/// });
/// started_rx.recv().unwrap();
/// assert!(handle.is_running());
/// handle.request_cancel();
/// assert!(handle.join().is_ok(), "the task saw the request and returned");
/// assert!(!workcrew::is_cancelled(), "false outside any task");
/// ```
pub fn is_cancelled() -> bool {
    with_current_block(Control::is_asked).unwrap_or(false)
}

/// Ends the calling task here if it has been asked to stop (see
/// [`is_cancelled`]): the task unwinds (its destructors run) and its handle
/// reports [`TaskError::Cancelled`](crate::TaskError::Cancelled); the unwind
/// is not a panic (not counted, not handed to the `panic_handler`, nothing
/// printed). Returns normally otherwise, and always outside any task.
///
/// Inside a parallel loop (`map`, a parallel iterator, a scoped task) the
/// stop ends the whole call that the task made.
///
/// # Examples
///
/// ```
/// use workcrew::TaskError;
/// let pool = workcrew::Pool::new(1);
/// let (started_tx, started_rx) = std::sync::mpsc::channel();
/// let handle = pool.spawn(move || {
///     started_tx.send(()).unwrap();
///     loop {
///         workcrew::checkpoint();
///         std::hint::spin_loop();
///     }
/// });
/// started_rx.recv().unwrap();
/// handle.request_cancel();
/// assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
/// ```
pub fn checkpoint() {
    if is_cancelled() {
        panic::resume_unwind(Box::new(Stopped));
    }
}

/// How long until the current task's deadline, if it has one (the nearest
/// one up its chain); `Some(Duration::ZERO)` once it has passed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = workcrew::Pool::new(1);
/// assert_eq!(workcrew::time_left(), None, "not in a task");
/// let left = pool
///     .task_builder()
///     .timeout(Duration::from_secs(60))
///     .spawn(workcrew::time_left)
///     .join()
///     .unwrap();
/// assert!(left.is_some_and(|left| left <= Duration::from_secs(60)));
/// assert_eq!(pool.spawn(workcrew::time_left).join().unwrap(), None, "no deadline");
/// ```
pub fn time_left() -> Option<Duration> {
    let deadline = with_current_block(Control::nearest_deadline)??;
    let now = deadline_nanos(Instant::now());
    Some(Duration::from_nanos(deadline.saturating_sub(now)))
}

/// For a call that waited on its own work and found it cancelled (or timed
/// out): if the caller itself is a task asked to stop, that is why, and the
/// caller stops too, as at a [`checkpoint`]; otherwise the work was
/// cancelled from outside (`shutdown_now`) and the call panics, naming
/// itself.
pub(crate) fn stopped_or_panic(what: &str, error: &crate::TaskError) -> ! {
    if is_cancelled() {
        panic::resume_unwind(Box::new(Stopped));
    }
    panic!("workcrew: {what}: its work was cancelled before it finished ({error}); shutdown_now, a request to stop or a deadline ended it")
}
