//! Tasks: the cell that holds a submitted closure and its outcome, the
//! handles that wait for it, task sets, and the link of a scoped task to its
//! scope. Built on the scheduler (a task cell is one kind of queued job);
//! knows nothing of the pool's face or of data parallelism.

pub(crate) mod cell;
pub(crate) mod control;
pub(crate) mod deadline;
pub(crate) mod error;
pub(crate) mod handle;
pub(crate) mod instrument;
pub(crate) mod scope_link;
pub(crate) mod spawn;
pub(crate) mod state;
pub(crate) mod task_set;
pub(crate) mod wait;
