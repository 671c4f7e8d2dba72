//! The pieces of a running task: `fork_join`'s two halves, a parallel
//! loop's helpers, and how a thread waits for a piece of its own task that
//! another worker took ("helping").
//!
//! # fork_join
//!
//! `b` goes on the caller's deque as a stack job (no allocation) where idle
//! workers may steal it; the caller runs `a`, then pops `b` back and runs it
//! inline if nobody took it. Otherwise it waits for `b`'s latch.
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
//! When there is nothing to help with, the waiter spins a little, then parks
//! on the latch counted as *blocked*, so the pool may compensate.
//!
//! Because thieves take the oldest entry, a stolen `b` implies that every
//! older entry of the owner's deque was stolen too; owners of fork-join work
//! therefore help with clean deques almost always.

use std::mem;
use std::panic::{self, AssertUnwindSafe};

use crate::scheduler::job::{JobRef, Latch, Outcome, StackJob};
use crate::scheduler::queue::Steal;
use crate::scheduler::worker::{backoff, Worker};

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
        if help_thief(worker, job, latch) {
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
fn help_thief<F, R>(worker: &Worker, job: &StackJob<F, R>, latch: &Latch) -> bool
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
    let Some(stealer) = worker.stealer_of(thief.index) else {
        return false;
    };
    let Some(stolen) = Steal::until_settled(|| stealer.steal()) else {
        return false;
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
pub(crate) fn fork_join_on<A, B, RA, RB>(worker: &Worker, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let mut job_b = StackJob::new(b, 0);
    // SAFETY: `job_b` stays in this frame, unmoved, until its entry is popped
    // back below or its latch is set; the abort guard covers unwinding, and
    // the entry goes only to this worker's own deque.
    let entry = unsafe { JobRef::from_stack(&job_b) };
    worker.push_part(entry);
    let guard = AbortOnUnwind;
    let result_a = panic::catch_unwind(AssertUnwindSafe(a));
    let result_b = match worker.take_back(|entry| entry.is(&job_b)) {
        Some(entry) => {
            entry.reclaim();
            let b = job_b.take_func();
            panic::catch_unwind(AssertUnwindSafe(b))
        }
        None => {
            wait_for_part(worker, &job_b);
            match job_b.take_outcome() {
                Outcome::Done(result) => result,
                // `shutdown_now` emptied the deque; this task is running, so
                // it finishes: `b` runs here.
                Outcome::HandedBack => panic::catch_unwind(AssertUnwindSafe(job_b.take_func())),
                Outcome::NotRun => unreachable!("a stack job's latch was set without running it"),
            }
        }
    };
    mem::forget(guard);
    match (result_a, result_b) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(payload), _) | (_, Err(payload)) => panic::resume_unwind(payload),
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
