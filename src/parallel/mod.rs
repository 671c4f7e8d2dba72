//! Data parallelism on a [`Pool`](crate::Pool): `map`, `imap`, `scope`,
//! `fork_join`, the range loops, the process-wide pool and the helpers shaped
//! after spacepy's `thread_job` and Python's `multiprocessing.dummy`. Built on
//! the pool's face, the task layer and the scheduler's `part` interface.

// Declared in the order the `Pool` page should list these methods (rustdoc
// follows declaration order); blank lines keep rustfmt from sorting them.
pub(crate) mod map;

pub(crate) mod progress;

pub(crate) mod imap;

pub(crate) mod scope;

pub(crate) mod join;

pub(crate) mod race;

pub(crate) mod seed;
pub(crate) mod timed;
