//! A worker's frame list: the second halves of its running `fork_join`s
//! that nobody else can see yet, recorded with plain stores, and the rules
//! by which one of them becomes work other threads can take (*promotion*).
//!
//! # What it holds
//!
//! `slots[i]` is the address of a stack job (`job.rs`) in the frame of the
//! `i`-th `fork_join` the owner is running, oldest first. Two indices:
//!
//! * `bottom`: how many frames are recorded. Written by the owner only.
//! * `top`: frames below it have been promoted; `top..bottom` are
//!   *pending*. Its high bit is `WANTED`, a request from an idle thread.
//!   The index moves only under the `claim` lock; `WANTED` is set without it.
//!
//! Invariant: every frame in `top..bottom` is owned by the owner alone and
//! will run inline at its join; a frame below `top` belongs to whoever
//! promoted it, and the owner waits for its latch (or takes it back from its
//! own deque, where self-promotion put it) before its stack frame ends.
//!
//! # The owner's two fast paths
//!
//! * **fork** (`plan`, `record`): read `bottom` and `top`. With [`FEW`]
//!   frames pending already, run both halves inline: nothing is written.
//!   Otherwise write the slot and store `bottom = i + 1`. No lock, no
//!   read-modify-write, no fence. `WANTED` sends the fork to a cold path.
//! * **join** (`pop`): store `bottom = i`, a light fence (`fence.rs`), read
//!   `top`. If `top <= i` the frame is still the owner's: it runs inline.
//!   Otherwise ([`Frames::settle`], under the lock) it was promoted, or a
//!   request is waiting.
//!
//! # Promotion, three ways
//!
//! * **Answering a request** (owner, [`Frames::answer`]): at a fork or join
//!   that sees `WANTED`, the owner moves `top` past the oldest pending frame
//!   and pushes it on its own deque, where idle workers and waiters steal it.
//!   It promotes only frames at or above the *floor* (the `bottom` at the
//!   moment the owner began the stack job it is running now): frames below
//!   belong to an outer job, and a thread waiting for the inner one may help
//!   with the owner's deque ("clean thief", `part.rs`); such a frame is left
//!   for a claim instead, and `claim_me` says so.
//! * **Claiming for a stuck owner** (any thread, [`Frames::claim_oldest`]):
//!   an owner that reaches no fork or join (a blocking call, a long leaf)
//!   cannot answer. The claimer, under the lock, moves `top` past the oldest
//!   pending frame, runs a heavy fence, then reads `bottom`; if the frame is
//!   still recorded, it is the claimer's to run; otherwise it moves `top`
//!   back. The frame never enters a queue. Two kinds of threads claim: the
//!   heartbeat (heartbeat.rs), and a waiter whose stolen half's thief has not
//!   answered its requests for a while (`part.rs`); the waiter claims only at
//!   or above the index the thief's `bottom` had when it began that half
//!   (`claim_oldest(lowest)`), so it only ever runs work of what it awaits.
//! * Nothing else moves `top` forward; the owner moves it back (under the
//!   lock) only when it joins a promoted frame, since the frames above are
//!   gone.
//!
//! # Races
//!
//! * **[claim-vs-join]** The claimer writes `top` then reads `bottom`; the
//!   joining owner writes `bottom` then reads `top`. The heavy and light
//!   fences make one of them see the other: either the claimer sees the
//!   frame gone and backs off, or the owner sees `top > i` and goes to
//!   `settle`, whose lock waits for the claimer to finish: it finds `top`
//!   moved back (the claimer lost: run inline) or still past `i` (claimed:
//!   wait for the latch). Both seeing each other is fine for the same reason.
//!   Never both run the frame. (loom: `a_claim_racing_the_owners_join_...`)
//! * **[claim-reads-slot]** A claimer reads `slots[i]` only after it read a
//!   `bottom > i` with acquire, which the owner stored with release after
//!   writing the slot; the owner writes `slots[i]` again only after popping
//!   frame `i`, and a pop of a claimed frame waits for the lock the claimer
//!   holds while it reads.
//! * **[stale-claim]** A claimer that lost to a join may read `bottom` after
//!   the owner pushed a *new* frame at the same index, and take that one.
//!   Correct: the new frame's join starts after the heavy fence's barrier on
//!   the owner (its `bottom` store was not visible before it), so it sees the
//!   claimer's `top` and settles under the lock.
//! * **[request-vs-answer]** `WANTED` is set with `fetch_or` by requesters and
//!   cleared by the owner under the lock with `fetch_and`; index changes use
//!   read-modify-writes too, so neither loses the other's write. A request
//!   that comes just after an answer waits for the next fork or join.

use std::ptr::NonNull;

use crate::scheduler::fence;
use crate::scheduler::job::JobHeader;
use crate::sync::{lock, AtomicBool, AtomicU64, AtomicUsize, Mutex, Ordering};

/// How many `fork_join`s deep a worker records frames; deeper joins run
/// both halves inline (they are the smallest: promotion takes the oldest).
pub(crate) const CAPACITY: usize = if cfg!(loom) { 4 } else { 256 };

/// A fork records its frame only while fewer than this many are pending:
/// promotion hands out the oldest, so a deeper one would be shared only
/// after those, and recording it would cost the common case its stores.
/// The deeper forks run both halves inline, as chili's `join` does. Two
/// measured a little faster than three on the tree benchmarks (W9-W12),
/// and one would leave nothing to hand out while the oldest is stolen.
pub(crate) const FEW: usize = 2;

/// The request bit in `top`: set, it makes every fork and join of the owner
/// take its cold path, where the owner answers.
const WANTED: usize = 1 << (usize::BITS - 1);

/// The low bit of a slot: the owner promoted this frame onto its own deque
/// (job headers are word-aligned, so the bit is free).
const LOCAL: usize = 1;

/// One worker's frame list; shared (`Arc`) with the peers that request and
/// claim. Aligned so the owner's hot words share no line with other data.
#[repr(align(128))]
pub(crate) struct Frames {
    bottom: AtomicUsize,
    top: AtomicUsize,
    /// Whether the owner's light fences may be compiler fences: false
    /// until the owner saw the fence mode decided asymmetric
    /// (`decide_fences`). Written and read by the owner only; `std`'s
    /// atomic so that `Frames` stays `Sync` (loom models the symmetric
    /// fences, where it makes no difference).
    asymmetric: std::sync::atomic::AtomicBool,
    /// The owner could not answer a request because its oldest pending
    /// frame is below its floor: a claimer should take it.
    claim_me: AtomicBool,
    /// When an idle thread last sent this owner a rate-limited request
    /// (`heartbeat::now_nanos`): those are not sent more often than once a
    /// heartbeat interval, so tiny work is not split over and over (the
    /// heartbeat's amortisation). A waiter's requests for the work it awaits
    /// are neither limited nor counted: answering them at the end of one
    /// tree must not hold back the sharing of the next.
    asked_at: AtomicU64,
    claim: Mutex<()>,
    slots: Box<[AtomicUsize; CAPACITY]>,
}

/// A recorded frame, to be handed back to [`Frames::pop`] exactly once.
#[must_use]
#[derive(Debug)]
pub(crate) struct Frame {
    index: usize,
}

/// What a fork does.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Record the frame at `index`; `first`: no older frame is pending (the
    /// fork then makes sure a heartbeat runs).
    Record { index: usize, first: bool },
    /// Enough frames are pending, or the list is full: run both halves.
    Inline,
    /// A request waits (or a claimer is backing off): answer, plan again.
    Attention,
}

/// What the owner's join found.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Popped {
    /// The frame is still the owner's: run its closure inline.
    Inline,
    /// Promoted, or a request is waiting: call [`Frames::settle`].
    Attention,
}

/// What a request did.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// The owner will answer at its next fork or join.
    Sent,
    /// The owner answered less than a heartbeat ago.
    TooSoon,
    /// An earlier request is unanswered, or the owner's oldest frame is
    /// below its floor: the frame should be claimed.
    ClaimInstead,
}

/// What the owner's join found on its cold path.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Still the owner's: run inline.
    Inline,
    /// Promoted onto the owner's own deque: take it back if nobody stole it.
    OnOwnDeque,
    /// Claimed by another thread, which runs it: wait for its latch.
    Claimed,
}

impl Frames {
    pub(crate) fn new() -> Frames {
        let slots: Vec<AtomicUsize> = (0..CAPACITY).map(|_| AtomicUsize::new(0)).collect();
        Frames {
            bottom: AtomicUsize::new(0),
            top: AtomicUsize::new(0),
            asymmetric: std::sync::atomic::AtomicBool::new(fence::asymmetric_if_decided()),
            claim_me: AtomicBool::new(false),
            asked_at: AtomicU64::new(0),
            claim: Mutex::new(()),
            slots: slots
                .into_boxed_slice()
                .try_into()
                .unwrap_or_else(|_| unreachable!("CAPACITY slots")),
        }
    }

    /// Decides what a fork does (owner only): record its frame, or run both
    /// halves inline because [`FEW`] frames are already pending (the
    /// oldest, largest, are what promotion hands out), or look at a request.
    #[inline(always)]
    pub(crate) fn plan(&self) -> Plan {
        let index = self.bottom.load(Ordering::Relaxed);
        let top = self.top.load(Ordering::Relaxed);
        // `top > index` (a request's bit, or a claimer about to back off)
        // wraps to a huge count.
        let pending = index.wrapping_sub(top);
        if pending < FEW && index < CAPACITY {
            Plan::Record {
                index,
                first: pending == 0,
            }
        } else if pending <= CAPACITY {
            Plan::Inline
        } else {
            Plan::Attention
        }
    }

    /// Records a frame at the `index` that [`Self::plan`] gave (owner only).
    ///
    /// # Safety
    /// Only the owner calls this and [`Self::plan`]/[`Self::pop`]/
    /// [`Self::settle`]/[`Self::answer`]/[`Self::bottom`], with no other
    /// call to these between `plan` and this. `job` is the header of a stack
    /// job that stays alive and unmoved until `pop` of the returned frame
    /// says `Inline`, or, if it was promoted, until the job's latch is set or
    /// its entry was taken back from the owner's deque.
    #[inline(always)]
    pub(crate) unsafe fn record(&self, index: usize, job: NonNull<JobHeader>) -> Frame {
        self.slots[index].store(job.as_ptr() as usize, Ordering::Relaxed);
        // Release: a claimer that reads this `bottom` sees the slot.
        // [claim-reads-slot]
        self.bottom.store(index + 1, Ordering::Release);
        Frame { index }
    }

    /// The owner's join: takes the frame off the list.
    #[inline(always)]
    pub(crate) fn pop(&self, frame: &Frame) -> Popped {
        self.bottom.store(frame.index, Ordering::Relaxed);
        // [claim-vs-join]: the store above before the load below, against
        // the claimer's heavy fence.
        fence::light(self.asymmetric.load(std::sync::atomic::Ordering::Relaxed));
        if self.top.load(Ordering::Relaxed) <= frame.index {
            Popped::Inline
        } else {
            Popped::Attention
        }
    }

    /// The owner's join after `pop` said `Attention`. Leaves any request for
    /// [`Self::answer`].
    pub(crate) fn settle(&self, frame: &Frame) -> Settled {
        let _claim = lock(&self.claim);
        // The index part changes only under the lock we hold.
        let top = self.top.load(Ordering::Relaxed);
        if top & !WANTED <= frame.index {
            return Settled::Inline;
        }
        // Promoted; the frames above it are gone: `top` comes back to it.
        let back = (top & !WANTED) - frame.index;
        self.top.fetch_sub(back, Ordering::Relaxed);
        if self.slots[frame.index].load(Ordering::Relaxed) & LOCAL != 0 {
            Settled::OnOwnDeque
        } else {
            Settled::Claimed
        }
    }

    /// Whether a request waits for the owner.
    pub(crate) fn is_wanted(&self) -> bool {
        self.top.load(Ordering::Relaxed) & WANTED != 0
    }

    /// Answers a request (owner only): clears `WANTED` and promotes the
    /// oldest pending frame if it is at or above `floor`, returning its job
    /// for the owner's deque. A frame below the floor is left for a claim.
    pub(crate) fn answer(&self, floor: usize) -> Option<NonNull<JobHeader>> {
        let _claim = lock(&self.claim);
        let top = self.top.fetch_and(!WANTED, Ordering::Relaxed);
        let oldest = top & !WANTED;
        if oldest >= self.bottom.load(Ordering::Relaxed) {
            return None;
        }
        if oldest < floor {
            self.claim_me.store(true, Ordering::Relaxed);
            return None;
        }
        // Adds to the index without touching `WANTED` (index < CAPACITY).
        self.top.fetch_add(1, Ordering::Relaxed);
        let slot = &self.slots[oldest];
        let job = slot.load(Ordering::Relaxed);
        slot.store(job | LOCAL, Ordering::Relaxed);
        NonNull::new(job as *mut JobHeader)
    }

    /// The owner's light fence (`fence.rs`), for its other handshakes.
    pub(crate) fn light_fence(&self) {
        fence::light(self.asymmetric.load(std::sync::atomic::Ordering::Relaxed));
    }

    /// Owner only, on its first frame of a tree (cold): decides the fence
    /// mode (registering `membarrier` once per process) and lets this
    /// owner's light fences be compiler fences from now on if it is
    /// asymmetric.
    pub(crate) fn decide_fences(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        if !self.asymmetric.load(Relaxed) && fence::asymmetric() {
            self.asymmetric.store(true, Relaxed);
        }
    }

    /// The owner's `bottom`, for the floor of a job it starts.
    pub(crate) fn bottom(&self) -> usize {
        self.bottom.load(Ordering::Relaxed)
    }

    // ------------------------------------------------------------ other threads

    /// Whether some frame is pending (a racy snapshot, for idle threads).
    pub(crate) fn has_pending(&self) -> bool {
        let top = self.top.load(Ordering::Relaxed) & !WANTED;
        self.bottom.load(Ordering::Acquire) > top
    }

    /// When the last rate-limited request was sent (`heartbeat::now_nanos`).
    pub(crate) fn asked_at(&self) -> u64 {
        self.asked_at.load(Ordering::Relaxed)
    }

    /// Asks the owner to promote a frame at its next fork or join. With an
    /// `interval_nanos` (an idle thread's request), not if another such
    /// request was sent less than that ago; 0: a waiter's, never limited.
    pub(crate) fn request(&self, now_nanos: u64, interval_nanos: u64) -> Request {
        if self.claim_me.load(Ordering::Relaxed) {
            return Request::ClaimInstead;
        }
        if interval_nanos > 0 {
            let asked_at = self.asked_at.load(Ordering::Relaxed);
            if now_nanos.saturating_sub(asked_at) < interval_nanos {
                return Request::TooSoon;
            }
        }
        if self.top.fetch_or(WANTED, Ordering::Relaxed) & WANTED != 0 {
            // Still set from an earlier request: no fork or join since.
            Request::ClaimInstead
        } else {
            if interval_nanos > 0 {
                self.asked_at.store(now_nanos, Ordering::Relaxed);
            }
            Request::Sent
        }
    }

    /// Takes the oldest pending frame on the owner's behalf (never called by
    /// the owner), if its index is at least `lowest`. The caller must run
    /// the job of a `Won` claim (or queue it for others).
    pub(crate) fn claim_oldest(&self, lowest: usize) -> Claim {
        let _claim = lock(&self.claim);
        let top = self.top.load(Ordering::Relaxed);
        let oldest = top & !WANTED;
        if oldest < lowest {
            return Claim::Nothing;
        }
        if self.bottom.load(Ordering::Acquire) <= oldest {
            self.claim_me.store(false, Ordering::Relaxed);
            return Claim::Nothing;
        }
        // Past the oldest frame, and the request is answered.
        let mut current = top;
        while let Err(actual) = self.top.compare_exchange_weak(
            current,
            oldest + 1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            current = actual;
        }
        // [claim-vs-join]
        fence::heavy();
        // Acquire: [claim-reads-slot].
        if self.bottom.load(Ordering::Acquire) > oldest {
            self.claim_me.store(false, Ordering::Relaxed);
            let job = self.slots[oldest].load(Ordering::Relaxed);
            return match NonNull::new(job as *mut JobHeader) {
                Some(job) => Claim::Won(job),
                None => unreachable!("a recorded slot holds a job"),
            };
        }
        // The owner is joining it: give it back.
        self.top.fetch_sub(1, Ordering::Relaxed);
        Claim::Lost
    }
}

/// What a claim did.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The frame is the claimer's: it must run this job.
    Won(NonNull<JobHeader>),
    /// No frame was pending.
    Nothing,
    /// The owner popped the frame meanwhile ([claim-vs-join]); `top` is back.
    Lost,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as Runs;

    /// "Jobs" the list only stores: numbers whose addresses are recorded.
    fn job(jobs: &[u64], id: usize) -> NonNull<JobHeader> {
        NonNull::from(&jobs[id]).cast()
    }

    fn id_of(jobs: &[u64], job: NonNull<JobHeader>) -> usize {
        (job.as_ptr() as usize - jobs.as_ptr() as usize) / std::mem::size_of::<u64>()
    }

    /// [claim-vs-join] and [stale-claim] with real threads: the owner
    /// records and joins frames (nested two deep) while a claimer keeps
    /// claiming; every frame is taken by exactly one of them.
    #[test]
    fn a_claimer_and_the_owner_never_both_take_a_frame() {
        const FRAMES: usize = if cfg!(miri) { 60 } else { 20_000 };
        let jobs: Vec<u64> = (0..FRAMES as u64).collect();
        let runs: Vec<Runs> = (0..FRAMES).map(|_| Runs::new(0)).collect();
        let frames = Frames::new();
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(Ordering::SeqCst) {
                    if let Claim::Won(header) = frames.claim_oldest(0) {
                        runs[id_of(&jobs, header)].fetch_add(1, Ordering::SeqCst);
                    }
                    std::thread::yield_now();
                }
            });
            let settle = |frame: Frame, id: usize| {
                let claimed = match frames.pop(&frame) {
                    Popped::Inline => false,
                    Popped::Attention => frames.settle(&frame) == Settled::Claimed,
                };
                if claimed {
                    // The claimer runs it; a real owner waits for its latch.
                    while runs[id].load(Ordering::SeqCst) == 0 {
                        std::hint::spin_loop();
                    }
                } else {
                    runs[id].fetch_add(1, Ordering::SeqCst);
                }
            };
            let record = |id: usize| loop {
                match frames.plan() {
                    Plan::Record { index, .. } => {
                        // SAFETY: this thread is the owner; the numbers
                        // outlive the scope and the list never reads them.
                        break unsafe { frames.record(index, job(&jobs, id)) };
                    }
                    Plan::Attention => std::hint::spin_loop(),
                    Plan::Inline => unreachable!("at most two pending"),
                }
            };
            for pair in (0..FRAMES).step_by(2) {
                let outer = record(pair);
                let inner = record(pair + 1);
                settle(inner, pair + 1);
                settle(outer, pair);
            }
            done.store(true, Ordering::SeqCst);
        });
        for (id, runs) in runs.iter().enumerate() {
            assert_eq!(runs.load(Ordering::SeqCst), 1, "frame {id}");
        }
    }

    /// An answered request promotes the oldest pending frame at or above
    /// the floor, once; below the floor it asks for a claim instead.
    #[test]
    fn answering_promotes_the_oldest_frame_above_the_floor() {
        let jobs = [0u64, 1, 2];
        let frames = Frames::new();
        let mut recorded = Vec::new();
        for id in 0..2 {
            let Plan::Record { index, first } = frames.plan() else {
                panic!("room for two");
            };
            assert_eq!(first, id == 0);
            // SAFETY: this thread is the owner; `jobs` outlives `frames`' use.
            recorded.push(unsafe { frames.record(index, job(&jobs, id)) });
        }
        assert_eq!(frames.request(0, 0), Request::Sent);
        assert_eq!(frames.request(0, 0), Request::ClaimInstead, "unanswered");
        assert_eq!(frames.plan(), Plan::Attention);
        // Floor 1: frame 0 belongs to an outer job.
        assert_eq!(frames.answer(1), None);
        assert_eq!(frames.request(0, 0), Request::ClaimInstead, "claim_me");
        assert!(matches!(frames.claim_oldest(0), Claim::Won(j) if id_of(&jobs, j) == 0));
        assert_eq!(frames.request(u64::MAX, 0), Request::Sent);
        let promoted = frames.answer(0).expect("frame 1 is above the floor");
        assert_eq!(id_of(&jobs, promoted), 1);
        assert_eq!(frames.request(5_000, 1_000), Request::Sent);
        assert_eq!(frames.request(5_500, 1_000), Request::TooSoon, "rate limit");
        assert_eq!(frames.request(5_500, 0), Request::ClaimInstead, "unlimited");
        let inner = recorded.pop().unwrap();
        assert_eq!(frames.pop(&inner), Popped::Attention);
        assert_eq!(frames.settle(&inner), Settled::OnOwnDeque);
        let outer = recorded.pop().unwrap();
        assert_eq!(frames.pop(&outer), Popped::Attention);
        assert_eq!(frames.settle(&outer), Settled::Claimed);
        assert!(!frames.has_pending());
    }
}
