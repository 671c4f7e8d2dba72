//! Test hooks for the loom models of the promotion protocol
//! (`tests/loom.rs`), built only under `cfg(loom)` and hidden from the
//! documentation: the models need to make a request happen at a chosen
//! point, and to drive one frame list without a pool around it.

use std::ptr::NonNull;

use crate::scheduler::frames::{Claim, Frame, Frames, Plan, Popped, Settled};
use crate::scheduler::job::JobHeader;
use crate::scheduler::worker::Worker;

/// Halves that `shutdown_now` handed back to their owner (`part.rs`).
pub(crate) static HANDED_BACK: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// How many `fork_join` halves `shutdown_now` has handed back so far.
pub fn handed_back_halves() -> usize {
    HANDED_BACK.load(std::sync::atomic::Ordering::SeqCst)
}

/// From inside a task: asks the current worker to promote its oldest
/// pending frame at its next fork or join, as an idle thread would.
///
/// # Panics
/// Outside a worker thread.
pub fn request_promotion() {
    Worker::with_current(|worker| {
        let worker = worker.expect("request_promotion is called from a task");
        let _ = worker.frames().request(0, 0);
    });
}

/// One frame list, its owner's and a claimer's operations, over jobs that
/// are only numbers (the list never looks at its jobs).
pub struct FrameList {
    frames: Frames,
    jobs: Box<[u64; 4]>,
}

/// A frame the model recorded.
pub struct Recorded(Frame);

/// What the owner's join of a recorded frame decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Join {
    /// The owner runs it: `pop` saw it still pending.
    Inline,
    /// `pop` saw `top` moved, and the lock said the claimer backed off.
    InlineAfterSettling,
    /// The claimer has it: the owner must wait for it.
    Claimed,
}

impl Default for FrameList {
    fn default() -> Self {
        FrameList {
            frames: Frames::new(),
            jobs: Box::new([0, 1, 2, 3]),
        }
    }
}

impl FrameList {
    fn job(&self, id: usize) -> NonNull<JobHeader> {
        NonNull::from(&self.jobs[id]).cast()
    }

    /// The owner records job `id` (0..4) as its next frame.
    pub fn record(&self, id: usize) -> Recorded {
        let index = loop {
            match self.frames.plan() {
                Plan::Record { index, .. } => break index,
                // A claimer backing off has `top` one past `bottom` for a
                // moment (the real fork runs both halves inline then).
                Plan::Attention => loom::thread::yield_now(),
                Plan::Inline => panic!("the model records at most two frames"),
            }
        };
        // SAFETY: the model's single owner thread calls the owner side; the
        // "jobs" are numbers the list never dereferences.
        Recorded(unsafe { self.frames.record(index, self.job(id)) })
    }

    /// The owner's join of `frame`.
    pub fn join(&self, frame: Recorded) -> Join {
        match self.frames.pop(&frame.0) {
            Popped::Inline => Join::Inline,
            Popped::Attention => match self.frames.settle(&frame.0) {
                Settled::Inline => Join::InlineAfterSettling,
                Settled::Claimed => Join::Claimed,
                Settled::OnOwnDeque => unreachable!("the model never answers"),
            },
        }
    }

    /// A claim from another thread: `Ok(id)` of the job won, `Err` with
    /// what happened otherwise (`"nothing pending"`, `"lost to the join"`).
    pub fn claim(&self) -> Result<usize, &'static str> {
        match self.frames.claim_oldest(0) {
            Claim::Won(job) => {
                let base = self.jobs.as_ptr() as usize;
                Ok((job.as_ptr() as usize - base) / std::mem::size_of::<u64>())
            }
            Claim::Nothing => Err("nothing pending"),
            Claim::Lost => Err("lost to the join"),
        }
    }
}
