//! What ties a scoped task cell to its scope: [`ScopeLink`] counts the cell
//! as live until the cell is dropped (after its closure and outcome), and
//! records the failures nobody took from a handle.
//!
//! Invariant: `ScopeState::live` is the number of task cells spawned into
//! the scope and not yet dropped; the scope's owner waits for it to reach 0
//! (parallel/scope.rs) before anything those cells borrowed may end.

use std::any::Any;

use crate::scheduler::ambient::Ambient;
use crate::sync::{lock, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering};
use crate::Arc;

/// What a scope and its task cells share.
pub(crate) struct ScopeState {
    /// Task cells spawned into the scope and not yet dropped.
    live: AtomicUsize,
    /// The first panic of a task nobody joined.
    first_panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// A task nobody joined was cancelled by `shutdown_now`.
    cancelled: AtomicBool,
    lock: Mutex<()>,
    all_dropped: Condvar,
    /// The work that opened the scope: its tasks are stopped with it
    /// (task/control.rs). It outlives them, since the scope waits for them.
    parent: Ambient,
}

impl ScopeState {
    /// A scope opened by code running under `parent`.
    pub(crate) fn new(parent: Ambient) -> Arc<Self> {
        Arc::new(ScopeState {
            parent,
            live: AtomicUsize::new(0),
            first_panic: Mutex::new(None),
            cancelled: AtomicBool::new(false),
            lock: Mutex::new(()),
            all_dropped: Condvar::new(),
        })
    }

    /// Counts one more cell in the scope and returns the link it carries.
    pub(crate) fn link(self: &Arc<Self>) -> ScopeLink {
        self.live.fetch_add(1, Ordering::Relaxed);
        ScopeLink(self.clone())
    }

    /// The scope's address, which tags its tasks' queue entries.
    pub(crate) fn tag(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    /// Whether every cell of the scope has been dropped.
    pub(crate) fn all_dropped(&self) -> bool {
        // Acquire: pairs with the AcqRel decrement in `ScopeLink::drop`, so
        // the owner sees everything the scope's tasks did.
        self.live.load(Ordering::Acquire) == 0
    }

    /// Cells not yet dropped, for `Debug` (a snapshot, synchronising nothing).
    pub(crate) fn live_tasks(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Blocks until every cell of the scope has been dropped.
    pub(crate) fn wait_all_dropped(&self) {
        let mut guard = lock(&self.lock);
        while !self.all_dropped() {
            guard = crate::sync::wait(&self.all_dropped, guard);
        }
    }

    /// The first panic of a task nobody joined, if any.
    pub(crate) fn take_first_panic(&self) -> Option<Box<dyn Any + Send>> {
        lock(&self.first_panic).take()
    }

    /// Whether a task nobody joined was cancelled.
    pub(crate) fn was_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// Ties a task cell to its scope; see the module docs.
pub(crate) struct ScopeLink(Arc<ScopeState>);

impl ScopeLink {
    /// The scope's address, which tags its tasks' queue entries.
    pub(crate) fn tag(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    pub(crate) fn record_panic(&self, payload: Box<dyn Any + Send>) {
        let mut first = lock(&self.0.first_panic);
        if first.is_none() {
            *first = Some(payload);
        }
    }

    /// The control block the scope's tasks are stopped with.
    pub(crate) fn parent(&self) -> Ambient {
        self.0.parent
    }

    pub(crate) fn record_cancelled(&self) {
        self.0.cancelled.store(true, Ordering::Relaxed);
    }
}

impl Drop for ScopeLink {
    fn drop(&mut self) {
        // AcqRel: the scope's final acquire load sees everything the task did.
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _guard = lock(&self.0.lock);
            self.0.all_dropped.notify_all();
        }
    }
}
