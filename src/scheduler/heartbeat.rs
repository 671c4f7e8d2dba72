//! The heartbeat: who asks busy workers to share their pending frames
//! (`frames.rs`), and when. It exists only while some worker has a pending
//! frame and another is idle; an idle pool, or one whose workers are all
//! busy, has none, so it costs nothing there (benchmark W7).
//!
//! # Who beats
//!
//! * A worker that runs out of work **asks** every peer with a pending frame
//!   (sets its `WANTED` bit) while it searches; the peer answers at its next
//!   fork or join by pushing its oldest pending frame on its deque, where the
//!   searcher steals it. This is how an idle thread gets work within
//!   nanoseconds of a busy one's next join. A peer that an idle thread asked
//!   less than [`INTERVAL`] ago is not asked: that bounds the promotions idle
//!   threads cause to one per worker per interval, so work too small to
//!   share (a 1,000-node tree) is not split over and over — the amortisation
//!   of heartbeat scheduling. A waiter's requests for the work it awaits
//!   (`part.rs`) are not limited and do not count: the flurry of them at the
//!   end of one tree must not hold back the sharing of the next.
//! * A worker that would park takes the **beater** role (`beating`, a
//!   compare-exchange) if nobody has it, *before* it looks at the frame
//!   lists, and keeps it if a peer has a pending frame: it stays on the
//!   parked list (a notification wakes it as any parked worker) but parks
//!   until the next request is due (at most [`INTERVAL`]; the first one at
//!   once), and asks again; worker threads ask for precise timers
//!   (`precise_timers`), so the interval is not stretched by timer slack. Taking the
//!   role first leaves no moment in which a forking owner sees a parked
//!   worker and no beater, and wakes it for nothing (which, on a run of small
//!   trees, used to happen once per tree).
//! * A tick that sent a request leaves the role and the parked list and
//!   searches: the owner answers at its next fork or join, so the answer is
//!   stolen within the search rounds, and the owner's push needs to wake
//!   nobody (a wake-up would cost the busy owner a system call).
//! * A peer whose previous request is still unanswered reached no fork or
//!   join for a whole interval (a blocking call, a long leaf), or said its
//!   oldest frame is below its floor: the beater **claims** that frame on its
//!   behalf and runs it (`Frames::claim_oldest`), which is how
//!   `fork_join(|| sleep(1s), || sleep(1s))` takes one second.
//! * After [`QUIET_TICKS`] ticks that saw no pending frame anywhere, the beater
//!   stops and parks untimed.
//! * A worker that records a frame while it has no other pending one (the
//!   first fork of a `fork_join` tree) starts a beater if none runs and a
//!   worker is parked (`first_frame`): without it, a worker that parked before
//!   the fork would never hear of it. The woken worker beats (for at least
//!   [`QUIET_TICKS`]) even if that frame is gone when it looks, so a run of
//!   small trees wakes it once, not once per tree.
//!
//! # Races
//!
//! * **[first-frame-vs-park]** The forking owner stores `bottom`, then (light
//!   fence, `fence.rs`) reads `beating` and the parked count; a worker going
//!   to park raises `parked`, takes the role and looks at the frame lists;
//!   seeing none, it gives the role up as in [beater-stops]. An owner that
//!   read `beating` set before that is seen by the last look; one that read
//!   it clear after it sees `parked` too (raised before the role was given
//!   up, both before the heavy fence) and wakes the worker. The heavy side
//!   is the parker's because parking is rare next to top-level forks.
//! * **[beater-stops]** The beater clears `beating`, then (heavy fence) looks
//!   at every frame list once more and takes the role back if one has a
//!   pending frame; an owner that stored its first frame, then (light fence)
//!   saw `beating` still set, is seen by that last look.
//! * **[claim-vs-join]** and the other races of a claim are `frames.rs`'s.
//!
//! A miss in any of these would cost parallelism, never progress: a pending
//! frame always runs inline at its owner's join.

use std::time::{Duration, Instant};

use crate::scheduler::frames::{Claim, Request};
use crate::scheduler::job::JobRef;
use crate::scheduler::registry::Peer;
use crate::sync::{AtomicBool, Ordering};

/// How long the beater parks between two rounds of requests: how late, at
/// most, the pending half of a blocked worker starts elsewhere, and how often
/// an idle thread wakes while another is busy with pending frames.
pub(crate) const INTERVAL: Duration = Duration::from_micros(100);

/// Nanoseconds since the first call in this process, for the rate limit
/// of requests (`Frames::request`). Always 0 under loom, which has no
/// clock: every request is then sent.
pub(crate) fn now_nanos() -> u64 {
    if cfg!(loom) {
        return 0;
    }
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    // Saturates after 584 years.
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The rate limit: one idle thread's request per worker per interval.
fn interval_nanos() -> u64 {
    if cfg!(loom) {
        0
    } else {
        INTERVAL.as_nanos() as u64
    }
}

/// The shortest park between two ticks: a peer due to be asked again in
/// less than this is asked a little late rather than spun for. Under loom
/// a whole interval, as before the rate limit was timed: a park measured by
/// the real clock must not expire before it starts (loom replays schedules
/// and wants every run deterministic).
const MIN_WAIT_NANOS: u64 = if cfg!(loom) { 100_000 } else { 10_000 };

/// Asks the kernel for timers as precise as it can give on this worker
/// thread (Linux: 1 µs of slack instead of 50 µs), so that the beater's
/// [`INTERVAL`] is 100 µs, not 150 µs. Only timed waits of the thread are
/// affected: the beater's parks, keep-alive parks and sleeps inside tasks.
pub(crate) fn precise_timers() {
    #[cfg(all(target_os = "linux", not(miri), not(loom)))]
    {
        const SLACK_NANOS: libc::c_ulong = 1_000;
        // SAFETY: `prctl(PR_SET_TIMERSLACK, n)` sets a number in the calling
        // thread's kernel state; it touches no memory of ours and fails
        // cleanly (the old slack stays) where refused.
        let _ = unsafe {
            libc::prctl(
                libc::PR_SET_TIMERSLACK,
                SLACK_NANOS,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
    }
}

/// Ticks without any pending frame after which the beater stops.
pub(crate) const QUIET_TICKS: u32 = if cfg!(loom) { 1 } else { 4 };

/// The pool's heartbeat role.
pub(crate) struct Heartbeat {
    beating: AtomicBool,
    /// Set by an owner that woke a worker for its first frame: that worker
    /// beats even if the frame is gone by the time it looks (a run of small
    /// `fork_join` trees would otherwise wake it once per tree).
    wanted: AtomicBool,
}

/// What one round of requests found.
#[must_use]
pub(crate) enum Tick {
    /// A frame claimed on its stuck owner's behalf: run it.
    Claimed(JobRef),
    /// Some peer has pending frames and was asked; `sent`: at least one
    /// request went out. `next`: how long until the next tick is worth it
    /// (a peer asked less than an interval ago may be asked again once its
    /// interval is over; otherwise a whole interval).
    Asked { sent: bool, next: Duration },
    /// No peer has a pending frame.
    Quiet,
}

impl Heartbeat {
    pub(crate) fn new() -> Heartbeat {
        Heartbeat {
            beating: AtomicBool::new(false),
            wanted: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_beating(&self) -> bool {
        self.beating.load(Ordering::SeqCst)
    }

    /// Takes the beater's role; false if another worker has it.
    pub(crate) fn try_start(&self) -> bool {
        self.beating
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
    }

    /// An owner asks for a beater before waking a parked worker.
    pub(crate) fn want(&self) {
        self.wanted.store(true, Ordering::Relaxed);
    }

    /// Whether a beater was asked for (and clears the request).
    pub(crate) fn take_wanted(&self) -> bool {
        self.wanted.load(Ordering::Relaxed) && self.wanted.swap(false, Ordering::Relaxed)
    }

    /// Gives the role up ([beater-stops]: the caller then looks again).
    pub(crate) fn stop(&self) {
        self.beating.store(false, Ordering::SeqCst);
    }
}

/// Whether a peer other than `me` has a pending frame.
pub(crate) fn any_pending(peers: &[(usize, Peer)], me: usize) -> bool {
    peers
        .iter()
        .any(|(index, peer)| *index != me && peer.frames.has_pending())
}

/// Asks every peer with a pending frame to share one; with `may_claim`,
/// claims from a peer that left the previous request unanswered.
pub(crate) fn tick(peers: &[(usize, Peer)], me: usize, may_claim: bool) -> Tick {
    let mut asked = false;
    let mut sent = false;
    let mut next = interval_nanos();
    let now = now_nanos();
    for (index, peer) in peers {
        if *index == me || !peer.frames.has_pending() {
            continue;
        }
        asked = true;
        let request = peer.frames.request(now, interval_nanos());
        sent |= request == Request::Sent;
        if request == Request::TooSoon {
            let due = peer.frames.asked_at().saturating_add(interval_nanos());
            next = next.min(due.saturating_sub(now));
        }
        if request == Request::ClaimInstead && may_claim {
            if let Claim::Won(header) = peer.frames.claim_oldest(0) {
                // SAFETY: `claim_oldest` returned the header its owner
                // recorded, and moved `top` past it, so this is the only
                // entry for that job (`JobRef::from_frame`'s contract).
                return Tick::Claimed(unsafe { JobRef::from_frame(header) });
            }
        }
    }
    if asked {
        Tick::Asked {
            sent,
            next: Duration::from_nanos(next.max(MIN_WAIT_NANOS)),
        }
    } else {
        Tick::Quiet
    }
}
