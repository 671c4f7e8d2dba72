//! Asymmetric fences: a store-then-load ordering that costs the frequent
//! side (a worker at every fork and join) nothing and the rare side (a thread
//! taking a frame on a stuck worker's behalf) one system call.
//!
//! Dekker-style handshakes ("I write x, then read y; you write y, then read
//! x; one of us must see the other") need a full fence on both sides. On
//! x86 a full fence costs about as much as the whole unpromoted join, so
//! the worker's side uses [`light`] and the other side [`heavy`]:
//!
//! * With Linux `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` registered,
//!   [`light`] is a compiler fence and [`heavy`] the system call, which makes
//!   every running thread of the process execute a full fence before it
//!   returns. Each `light` then acts as a full fence relative to every
//!   `heavy`: either the light side's store is visible to the heavy side's
//!   later load, or the heavy side's earlier store is visible to the light
//!   side's later load. This is the contract of folly's
//!   `asymmetric_thread_fence_light/heavy` and of the Linux manual page.
//! * Elsewhere (other systems, a kernel or sandbox that refuses the call,
//!   Miri, loom) both are `fence(SeqCst)`: slower, equally correct. loom
//!   checks the protocols in this symmetric form, which is exactly the
//!   guarantee the asymmetric pair gives.
//!
//! Invariant: a light fence is a compiler fence only on a thread that saw
//! the process-wide mode decided as asymmetric ([`asymmetric_if_decided`]),
//! and the mode never changes once decided; every [`heavy`] fence decides
//! the mode first (registering `membarrier` if nobody has), so it is the
//! system call whenever any light fence can be a compiler fence. A light
//! fence is never paired with a heavy fence of the other flavour.
//!
//! Registration waits for an RCU grace period (7 to 15 ms measured here),
//! so nothing registers at start-up: a worker decides when it records its
//! first fork-join frame (`Frames::decide_fences`), a claim when it needs
//! its heavy fence. A pool that never forks never pays for it (a one-job
//! `crew` run started 13 ms later when workers registered as they
//! started). [`heavy_if_decided`] serves the handshakes whose miss costs
//! only parallelism (a parker's look at the frame lists): before the mode
//! is decided it is a plain `fence(SeqCst)`, which pairs with the light
//! fences of that time, all of them full fences.

use crate::sync::{fence, Ordering};

const UNKNOWN: usize = 0;
const ASYMMETRIC: usize = 1;
const SYMMETRIC: usize = 2;

/// The process-wide choice; `std`'s atomic in every build, since loom
/// atomics cannot live in a `static` and this is not a modelled protocol.
static MODE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(UNKNOWN);

/// Whether light fences may be compiler fences in this process. Decided
/// (and `membarrier` registered) on the first call: a worker's first
/// fork-join frame, or a claim's heavy fence.
pub(crate) fn asymmetric() -> bool {
    match MODE.load(std::sync::atomic::Ordering::Acquire) {
        ASYMMETRIC => true,
        SYMMETRIC => false,
        _ => {
            let mode = if membarrier::register() {
                ASYMMETRIC
            } else {
                SYMMETRIC
            };
            // Racing first calls register twice, which is harmless, and agree.
            MODE.store(mode, std::sync::atomic::Ordering::Release);
            mode == ASYMMETRIC
        }
    }
}

/// Whether the mode is already decided as asymmetric; never registers.
pub(crate) fn asymmetric_if_decided() -> bool {
    MODE.load(std::sync::atomic::Ordering::Acquire) == ASYMMETRIC
}

/// [`heavy`] once the mode is decided asymmetric, else `fence(SeqCst)`:
/// for handshakes where a miss costs only parallelism (module docs).
pub(crate) fn heavy_if_decided() {
    if asymmetric_if_decided() {
        membarrier::expedited();
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The cheap side of a store-then-load handshake. `asymmetric` is the
/// cached [`asymmetric()`] of the caller.
#[inline(always)]
pub(crate) fn light(asymmetric: bool) {
    if asymmetric {
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The expensive side: after this returns, every thread's earlier `light`
/// fence behaves as a full fence with respect to this one.
pub(crate) fn heavy() {
    if asymmetric() {
        membarrier::expedited();
    } else {
        fence(Ordering::SeqCst);
    }
}

#[cfg(all(target_os = "linux", not(miri), not(loom)))]
mod membarrier {
    /// `MEMBARRIER_CMD_PRIVATE_EXPEDITED` (linux/membarrier.h).
    const PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    /// `MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED`.
    const REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    pub(super) fn register() -> bool {
        // SAFETY: `membarrier` takes two integers and a CPU id, touches no
        // memory of ours, and fails cleanly (-1, errno) where unsupported.
        let result =
            unsafe { libc::syscall(libc::SYS_membarrier, REGISTER_PRIVATE_EXPEDITED, 0, 0) };
        result == 0
    }

    pub(super) fn expedited() {
        // SAFETY: as in `register`; registration succeeded (the only way
        // `asymmetric()` is true), so the command is accepted.
        let result = unsafe { libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED, 0, 0) };
        // The kernel refuses only an unregistered process, which the mode
        // rules out; should it refuse anyway, no fence happened and going on
        // could run a half twice.
        if result != 0 {
            eprintln!("workcrew: fatal: membarrier failed after registration; aborting");
            std::process::abort();
        }
    }
}

#[cfg(not(all(target_os = "linux", not(miri), not(loom))))]
mod membarrier {
    pub(super) fn register() -> bool {
        false
    }

    pub(super) fn expedited() {
        unreachable!("asymmetric fences are never chosen without membarrier")
    }
}
