//! Data parallelism on a [`Pool`](crate::Pool): `map`, `imap`, `scope`,
//! `fork_join`, the range loops, the process-wide pool and the helpers shaped
//! after spacepy's `thread_job` and Python's `multiprocessing.dummy`. Built on
//! the pool's face, the task layer and the scheduler's `part` interface.

pub(crate) mod imap;
pub(crate) mod join;
pub(crate) mod map;
pub(crate) mod progress;
pub(crate) mod race;
pub(crate) mod ranges;
pub(crate) mod scope;
pub(crate) mod seed;
