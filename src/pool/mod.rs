//! [`Pool`]: the type itself, a counted handle to the pool's [`Shared`]
//! state. Its methods live in the submodules, in the order rustdoc lists
//! them (children in declaration order): building and submitting
//! (`submit`), per-task options (`task_builder`), waiting, shutting down and
//! resizing (`lifecycle`), stopping running work (`control`) and the
//! optional integrations (`integrations`).
//!
//! Invariant: `Shared::handles` counts the `Pool` values alive. When the
//! last one is dropped the pool closes gracefully (queued work still runs,
//! then the threads exit) without blocking the dropping thread. How
//! submissions are admitted and refused is described in `shared.rs`.

// Declared in the order the `Pool` page should list the methods (module
// docs); blank lines keep rustfmt from sorting them.
pub(crate) mod build_error;

pub(crate) mod builder;

mod submit;

pub(crate) mod task_builder;

mod lifecycle;

mod control;

pub(crate) mod integrations;

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};

use crate::scheduler::shared::Shared;
use crate::sync::Ordering;
use crate::Arc;

/// A pool of worker threads. Cheap to clone; clones share one pool.
///
/// Dropping the last clone does not block: the pool closes, runs what is
/// queued and its threads exit in the background; nothing waits for them
/// when the process exits, so call [`shutdown`](Pool::shutdown) or
/// [`join`](Pool::join) before returning from `main` if the work must
/// finish (see [the crate docs](crate#dropping-the-last-pool-and-process-exit)).
///
/// `Pool` is `Clone + Send + Sync + Debug`, and `UnwindSafe +
/// RefUnwindSafe`: a panic caught with [`std::panic::catch_unwind`] while
/// the pool was borrowed cannot leave it half-updated, since every user
/// value (task, hook, callback, result) runs and drops under the pool's own
/// `catch_unwind`, so no `AssertUnwindSafe` is needed around code using it.
///
/// # Examples
///
/// ```
/// use workcrew::Pool;
///
/// let pool = Pool::new(4);
/// let handles: Vec<_> = (0..10u64).map(|i| pool.spawn(move || i * i)).collect();
/// let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
/// assert_eq!(squares[9], 81);
/// pool.shutdown();
/// assert_eq!(pool.threads(), 0);
/// ```
pub struct Pool {
    pub(crate) shared: Arc<Shared>,
}

impl Clone for Pool {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Pool {
            shared: self.shared.clone(),
        }
    }
}

// Unwind safety (see the type's docs): the pool's state is built to survive
// panics (every user value runs and drops under `catch_unwind`, locks ignore
// poisoning), so a `&Pool` seen after a caught panic works as before.
impl UnwindSafe for Pool {}
impl RefUnwindSafe for Pool {}

impl Drop for Pool {
    fn drop(&mut self) {
        // AcqRel: the last dropper sees every other handle's submissions.
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.close(false);
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("Pool")
            .field("threads", &stats.threads)
            .field("max_threads", &self.max_threads())
            .field("queued", &stats.queued)
            .field("running", &stats.running)
            .field("closed", &self.is_closed())
            .finish()
    }
}
