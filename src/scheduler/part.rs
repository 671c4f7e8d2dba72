//! The pieces of a running task: `fork_join`'s two halves, a parallel
//! loop's helpers, and how a thread waits for a piece of its own task that
//! another worker took ("helping").
//!
//! # fork_join
//!
//! `b` becomes a stack job in the caller's frame, recorded in the worker's
//! frame list with plain stores (`frames.rs`); the caller runs `a`, then
//! pops the frame and, if nobody promoted it, calls `b` inline: an
//! unpromoted join is a few stores and loads, no lock, no atomic
//! read-modify-write, no queue. The frame leaves the list only when another
//! thread could use it: the owner answers an idle thread's request by
//! pushing its *oldest* pending frame on its deque, or a heartbeat claims it
//! for an owner that is stuck (heartbeat.rs). At its join, a promoted frame
//! is taken back from the own deque if nobody stole it; otherwise the caller
//! waits for its latch, helping as below. Deeper than `frames::CAPACITY`,
//! both halves simply run inline.
//!
//! A panic in `a` or `b` is caught; both halves always run, and the panic
//! resumes in the caller after both ended.
//!
//! # Helping without running unrelated work
//!
//! Rayon lets a waiting thread run *any* job it can steal. If the waiter holds
//! a lock that the stolen job needs, the thread deadlocks on itself (rayon
//! #592). Our waiter may only run work that belongs to what it waits for:
//!
//! * A worker that takes a stack job records itself as the job's *thief*, and
//!   whether its own deque was empty at that moment (*clean*).
//! * While a clean thief runs job `J`, everything on its deque was pushed by
//!   `J`'s own code (it pushes only while running `J`, and the deque started
//!   empty), so it descends from `J`. Awaited kinds among them (fork halves,
//!   scoped tasks, loop helpers) are things `J` itself waits for.
//! * So a thread waiting for `J` steals from `J`'s thief, and then checks that
//!   `J` is still unfinished. If it is, the stolen job was on the deque while
//!   `J` ran, hence descends from `J`: running it only does `J`'s own work.
//!   If `J` finished in the meantime, or the stolen job is a detached task
//!   nobody waits for, it goes to the injector for any worker to run.
//!
//! The thief's frame list (`frames.rs`) holds more of `J`'s work: the
//! frames it recorded since it began `J` (at or above the index its
//! `bottom` had then, kept in the job). The waiter asks the thief to answer
//! one onto its deque, and if the thief does not answer within a few rounds
//! (it is blocked, or descheduled), claims the oldest such frame itself.
//!
//! When there is nothing to help with, the waiter spins a little, then parks
//! on the latch counted as *blocked*, so the pool may compensate.
//!
//! Because thieves take the oldest entry, a stolen `b` implies that every
//! older entry of the owner's deque was stolen too; owners of fork-join work
//! therefore help with clean deques almost always.

use std::mem;
use std::panic::{self, AssertUnwindSafe};

use crate::scheduler::frames::{Claim, Frame, Plan, Popped, Request, Settled};
use crate::scheduler::heartbeat;
use crate::scheduler::job::{JobRef, Latch, Outcome, StackJob};
use crate::scheduler::queue::Steal;
use crate::scheduler::worker::{backoff, Worker};

/// Rounds without an answer after which a waiter claims a frame of its
/// thief itself (a claim costs a heavy fence; an answer is cheaper).
const CLAIM_AFTER: u32 = if cfg!(loom) { 0 } else { 8 };

/// Rounds of spinning and yielding before a waiter parks.
const HELP_ROUNDS: u32 = if cfg!(loom) { 1 } else { 48 };

/// Aborts the process if dropped during an unwind: a stack job's entry may
/// still point into the frame that is being unwound.
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        eprintln!("workcrew: fatal: unwinding out of a frame whose work another thread may still use; aborting");
        std::process::abort();
    }
}

/// Waits for a stack job of the current task that another worker took (or
/// that `shutdown_now` handed back), helping as the module docs describe.
pub(crate) fn wait_for_part<F, R>(worker: &Worker, job: &StackJob<F, R>)
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let latch = job.latch();
    let mut round = 0;
    while !latch.is_set() {
        if help_thief(worker, job, latch, round > CLAIM_AFTER) {
            round = 0;
            continue;
        }
        round += 1;
        if round <= HELP_ROUNDS {
            backoff(round);
        } else {
            let _blocked = worker.block();
            latch.park_until_set();
            return;
        }
    }
}

/// Takes one job from the thief of `job` and runs or re-queues it. Returns
/// whether it took anything.
fn help_thief<F, R>(worker: &Worker, job: &StackJob<F, R>, latch: &Latch, may_claim: bool) -> bool
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let Some(thief) = job.thief() else {
        return false;
    };
    if !thief.clean || thief.index == worker.index() {
        return false;
    }
    let Some(peer) = worker.peer_of(thief.index) else {
        return false;
    };
    let stolen = match Steal::until_settled(|| peer.stealer.steal()) {
        Some(stolen) => stolen,
        None => {
            // Ask the thief to share a frame: its frames above its floor
            // descend from `job`, and it answers onto its deque.
            if !peer.frames.has_pending() {
                return false;
            }
            let request = peer.frames.request(heartbeat::now_nanos(), 0);
            if request != Request::ClaimInstead || !may_claim {
                return false;
            }
            // No answer for a while (the thief is blocked, or descheduled):
            // claim its oldest frame that descends from `job`.
            let Claim::Won(header) = peer.frames.claim_oldest(thief.floor) else {
                return false;
            };
            // SAFETY: the claim moved `top` past the frame, so this is its
            // only entry (`JobRef::from_frame`).
            unsafe { JobRef::from_frame(header) }
        }
    };
    if stolen.kind().is_awaited() && !latch.is_set() {
        // Still unfinished after the steal: `stolen` descends from `job`.
        stolen.run(worker);
    } else {
        worker.requeue(stolen);
    }
    true
}

/// Runs `a` and `b`, possibly in parallel, on the worker's pool.
///
/// The common case, a fork below [`FEW`](crate::scheduler::frames::FEW)
/// pending frames, is inlined into the caller: two loads, a compare and the
/// two calls. Recording a frame, and a request, take outlined paths, so the
/// recursion's own frame stays small.
#[inline(always)]
pub(crate) fn fork_join_on<A, B, RA, RB>(worker: &Worker, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    match worker.frames().plan() {
        Plan::Inline => inline_both(a, b),
        Plan::Record { index, first } => fork_join_recorded(worker, index, first, a, b),
        Plan::Attention => fork_join_attention(worker, a, b),
    }
}

/// A fork that found a request: answers it, then records the frame, or
/// runs both halves inline if the list is still busy.
#[cold]
#[inline(never)]
fn fork_join_attention<A, B, RA, RB>(worker: &Worker, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    match attention(worker) {
        Some((index, first)) => fork_join_recorded(worker, index, first, a, b),
        None => inline_both(a, b),
    }
}

/// A fork whose `b` is recorded at `index` of the frame list.
///
/// No `catch_unwind` on the way: if `a` unwinds, a guard settles `b` (runs
/// it or waits for it) before the unwind goes on; if `b` runs inline and
/// unwinds, `a` has ended and the frame is already off the list.
#[inline(never)]
fn fork_join_recorded<A, B, RA, RB>(
    worker: &Worker,
    index: usize,
    first: bool,
    a: A,
    b: B,
) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let frames = worker.frames();
    let job_b = StackJob::new(b, 0);
    // SAFETY:
    // 1. This thread is the list's owner (`worker` is the current worker),
    //    and `index` comes from its `plan` just now (`fork_join_on`, or
    //    `attention`), with no other call to the list in between.
    // 2. `job_b` stays in this frame, unmoved, until `pop` says `Inline`, or
    //    until `settle_promoted` took its entry back or saw its latch set;
    //    `SettleOnUnwind` does the same when `a` unwinds, and
    //    `AbortOnUnwind` covers an unwind out of our own code.
    let frame = unsafe { frames.record(index, job_b.header_ptr()) };
    if first {
        worker.first_frame();
    }
    let unwinding = SettleOnUnwind {
        worker,
        frame: &frame,
        job: &job_b,
    };
    let ra = a();
    mem::forget(unwinding);
    match frames.pop(&frame) {
        // SAFETY: popped inline: the frame was never promoted.
        Popped::Inline => (ra, unsafe { job_b.take_func() }()),
        Popped::Attention => {
            let guard = AbortOnUnwind;
            let result_b = settle_promoted(worker, &frame, &job_b);
            mem::forget(guard);
            match result_b {
                Ok(rb) => (ra, rb),
                Err(payload) => panic::resume_unwind(payload),
            }
        }
    }
}

/// Both halves on this thread, unrecorded: `b` runs even if `a` panics,
/// and `a`'s panic resumes after it.
#[inline(always)]
fn inline_both<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB,
{
    let unwinding = RunOnUnwind(Some(b));
    let ra = a();
    let mut unwinding = mem::ManuallyDrop::new(unwinding);
    let b = unwinding.0.take().expect("b is still there");
    (ra, b())
}

/// Runs an unrecorded `b` while `a`'s panic unwinds (`b` must run once); a
/// panic of `b` then is dropped: `a`'s resumes.
struct RunOnUnwind<B: FnOnce() -> RB, RB>(Option<B>);

impl<B: FnOnce() -> RB, RB> Drop for RunOnUnwind<B, RB> {
    fn drop(&mut self) {
        if let Some(b) = self.0.take() {
            drop(panic::catch_unwind(AssertUnwindSafe(b)));
        }
    }
}

/// A fork that found a request: answers it, then plans again. `None`: run
/// both halves inline.
#[cold]
#[inline(never)]
fn attention(worker: &Worker) -> Option<(usize, bool)> {
    if worker.frames().is_wanted() {
        answer(worker);
    }
    match worker.frames().plan() {
        Plan::Record { index, first } => Some((index, first)),
        Plan::Inline | Plan::Attention => None,
    }
}

/// Settles a recorded `b` (inline, taken back, or waited for) while `a`'s
/// panic unwinds, so the frame and the job are gone before this stack frame
/// is; `b`'s own panic, if any, is dropped: `a`'s resumes.
struct SettleOnUnwind<'w, 'j, F: FnOnce() -> R + Send, R: Send> {
    worker: &'w Worker,
    frame: &'j Frame,
    job: &'j StackJob<F, R>,
}

impl<F: FnOnce() -> R + Send, R: Send> Drop for SettleOnUnwind<'_, '_, F, R> {
    fn drop(&mut self) {
        let guard = AbortOnUnwind;
        let result_b = match self.worker.frames().pop(self.frame) {
            Popped::Inline => {
                // SAFETY: popped inline: the frame was never promoted.
                let b = unsafe { self.job.take_func() };
                panic::catch_unwind(AssertUnwindSafe(b))
            }
            Popped::Attention => settle_promoted(self.worker, self.frame, self.job),
        };
        mem::forget(guard);
        drop(result_b);
    }
}

/// Promotes the oldest pending frame onto the own deque, if a request
/// waits and the frame is at or above the floor.
fn answer(worker: &Worker) {
    if let Some(header) = worker.frames().answer(worker.floor()) {
        // SAFETY: `answer` moved `top` past the frame, so this is its only
        // entry; it goes to the owner's own deque, and the owner's join of
        // that frame takes it back or waits for its latch (`settle_promoted`).
        worker.push(unsafe { JobRef::from_frame(header) });
    }
}

/// The join of a frame that `pop` could not settle inline.
#[cold]
#[inline(never)]
fn settle_promoted<F, R>(
    worker: &Worker,
    frame: &Frame,
    job_b: &StackJob<F, R>,
) -> std::thread::Result<R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let settled = worker.frames().settle(frame);
    if worker.frames().is_wanted() {
        answer(worker);
    }
    let taken_back = match settled {
        Settled::Inline => true,
        Settled::OnOwnDeque => match worker.take_back(|entry| entry.is(job_b)) {
            Some(entry) => {
                entry.reclaim();
                true
            }
            None => false,
        },
        Settled::Claimed => false,
    };
    if taken_back {
        // SAFETY: still ours, or its only entry was taken back.
        let b = unsafe { job_b.take_func() };
        return panic::catch_unwind(AssertUnwindSafe(b));
    }
    wait_for_part(worker, job_b);
    // SAFETY: the latch is set (`wait_for_part` returned).
    match unsafe { job_b.take_outcome() } {
        Outcome::Done(result) => result,
        // `shutdown_now` emptied the deque, or a claimer found the pool
        // aborted; this task is running, so it finishes: `b` runs here.
        Outcome::HandedBack => {
            #[cfg(loom)]
            crate::scheduler::hooks::HANDED_BACK.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // SAFETY: handed back: the closure is still in the job, and its
            // entry is consumed.
            let b = unsafe { job_b.take_func() };
            panic::catch_unwind(AssertUnwindSafe(b))
        }
        Outcome::NotRun => unreachable!("a stack job's latch was set without running it"),
    }
}

/// Runs `work` on the calling worker and on up to `extra` helper jobs that
/// idle workers may steal. `work` must loop until its shared input is used
/// up and must not unwind. Helpers nobody took are reclaimed unrun; a helper
/// handed back by `shutdown_now` loses nothing, since the caller's own `work`
/// drains whatever is left.
pub(crate) fn run_with_helpers(worker: &Worker, extra: usize, work: &(dyn Fn() + Sync)) {
    if extra == 0 {
        work();
        return;
    }
    let tag = work as *const (dyn Fn() + Sync) as *const () as usize;
    let make = || move || work();
    let helpers: Vec<_> = (0..extra).map(|_| StackJob::new(make(), tag)).collect();
    for helper in &helpers {
        // SAFETY: `helpers` is not touched (so not moved or reallocated) until
        // every entry is reclaimed or its latch set, below; the abort guard
        // covers unwinding; entries go only to this worker's deque.
        worker.push_part(unsafe { JobRef::from_stack(helper) });
    }
    worker.wake_for_parts();
    let guard = AbortOnUnwind;
    work();
    let mut reclaimed = vec![false; helpers.len()];
    worker.take_back_all(
        |entry| entry.tag() == tag,
        |entry| {
            if let Some(i) = helpers.iter().position(|helper| entry.is(helper)) {
                reclaimed[i] = true;
            }
            entry.reclaim();
        },
    );
    for (helper, reclaimed) in helpers.iter().zip(reclaimed) {
        if !reclaimed {
            wait_for_part(worker, helper);
        }
    }
    mem::forget(guard);
}
