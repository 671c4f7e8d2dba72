//! Inline mode (`PoolBuilder::inline`, `WORKCREW_INLINE=1`): every task runs
//! on the thread that submits it, at submit, in order.
//!
//! An inline pool starts no thread. A submission (submit.rs, first of all)
//! runs its task at once through the same path a worker uses for a task it
//! runs unqueued, on a *stand-in worker*: a worker context built on the
//! submitting thread's stack, with a stats slot of the pool (so `stats()`
//! counts inline tasks like others) and a deque that no other thread can
//! see. Everything inside the task then behaves as on a pool thread: nested
//! submissions run inline on the same stand-in, `fork_join` and parallel
//! loops find no thief and run their pieces one after another, waits find
//! their work already done. Invariant: an inline pool never starts a thread
//! (`Registry::start_thread` refuses), so nothing ever runs elsewhere.

use crate::scheduler::shared::Shared;
use crate::scheduler::worker::Worker;
use crate::Arc;

/// Runs `body` on a worker of `pool` on this thread: the current one if this
/// thread already is one of `pool`'s (a stand-in of an outer inline task),
/// else a new stand-in for the duration.
pub(crate) fn on_stand_in<R>(pool: &Arc<Shared>, body: impl FnOnce(&Worker) -> R) -> R {
    let mut body = Some(body);
    let ran = Worker::with_current_in(pool, |worker| {
        worker.map(|worker| (body.take().expect("called once"))(worker))
    });
    if let Some(result) = ran {
        return result;
    }
    let body = body.take().expect("called once");
    let (index, stats) = pool.registry.claim_stand_in_slot();
    let stand_in = Worker::new(pool.clone(), index, stats);
    // The slot goes back even if `body` unwinds (its panic is the task's
    // caller's to see, as on a thread).
    struct Release<'a>(&'a Arc<Shared>, usize);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            self.0.registry.release_stand_in_slot(self.1);
        }
    }
    let _release = Release(pool, index);
    Worker::run_as_current(&stand_in, body)
}
