//! What a running piece of work carries with it: an opaque pointer to the
//! control block of the task it belongs to (task/control.rs), kept in a
//! thread-local while the work runs, so that code inside the task can ask
//! whether it has been asked to stop.
//!
//! The scheduler does not interpret the pointer; it only keeps it for the
//! duration of a run ([`Ambient::enter`]) and lets pieces of a running task
//! (parallel-loop helpers, `fork_join` halves) carry it to the thread that
//! runs them. Invariant: the pointer is null, or points at a control block
//! that stays alive while any work that entered it runs (a task cell runs
//! while its runner holds it; a block on a stack outlives the pieces that
//! borrow it, because its frame waits for them).
//!
//! The unwind payload [`Stopped`] ends a task early at a checkpoint: the
//! scheduler does not count it as a panic nor hand it to `panic_handler`.

use std::cell::Cell;
use std::ptr;

use crate::sync::thread_local;

#[cfg(not(loom))]
thread_local! {
    static AMBIENT: Cell<*const ()> = const { Cell::new(ptr::null()) };
}

#[cfg(loom)]
thread_local! {
    static AMBIENT: Cell<*const ()> = Cell::new(ptr::null());
}

/// The unwind payload of a checkpoint that stopped its task
/// (`workcrew::checkpoint`): an early end, not a panic.
pub(crate) struct Stopped;

/// Whether `payload` is a checkpoint's [`Stopped`].
pub(crate) fn is_stopped(payload: &(dyn std::any::Any + Send)) -> bool {
    payload.is::<Stopped>()
}

/// The control block the current thread runs under, as an opaque pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ambient(*const ());

// SAFETY: the pointer is only dereferenced by the task layer, under the
// module invariant (the block outlives every run that entered it); control
// blocks are `Sync` (atomics and immutable fields).
unsafe impl Send for Ambient {}
// SAFETY: as above.
unsafe impl Sync for Ambient {}

impl Ambient {
    /// No task: outside the pool, or between tasks.
    pub(crate) const NONE: Ambient = Ambient(ptr::null());

    pub(crate) fn from_ptr(block: *const ()) -> Ambient {
        Ambient(block)
    }

    pub(crate) fn as_ptr(self) -> *const () {
        self.0
    }

    /// What the current thread runs under now.
    pub(crate) fn current() -> Ambient {
        AMBIENT.with(|ambient| Ambient(ambient.get()))
    }

    /// Runs under `self` until the guard drops, then restores what was
    /// there before (runs nest: a task taken back inline by a waiter).
    pub(crate) fn enter(self) -> Entered {
        Entered(AMBIENT.with(|ambient| ambient.replace(self.0)))
    }
}

/// Restores the previous ambient when dropped; see [`Ambient::enter`].
pub(crate) struct Entered(*const ());

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.0;
        AMBIENT.with(|ambient| ambient.set(previous));
    }
}
