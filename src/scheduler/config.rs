//! A pool's settings once `PoolBuilder::build` has checked them: what the
//! scheduler reads while it runs (limits, hooks, names, the panic handler).
//!
//! Invariant: a `Config` is immutable after the pool is built; only the
//! thread limits change later, and those live in the registry.

use std::any::Any;
use std::time::Duration;

use crate::scheduler::context::ContextHooks;
use crate::scheduler::timings::TaskInfo;
use crate::Arc;

pub(crate) type Hook = Arc<dyn Fn() + Send + Sync + 'static>;
pub(crate) type NameFn = Box<dyn Fn(usize) -> String + Send + Sync + 'static>;
pub(crate) type PanicHandler = Box<dyn Fn(Box<dyn Any + Send>) + Send + Sync + 'static>;

/// A pool's settings after `build` checked them.
pub(crate) struct Config {
    pub(crate) core_threads: usize,
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) queue_capacity: Option<usize>,
    pub(crate) thread_name: Option<NameFn>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<Hook>,
    pub(crate) on_thread_stop: Option<Hook>,
    pub(crate) before_task: Option<Hook>,
    pub(crate) after_task: Option<Hook>,
    pub(crate) panic_handler: Option<PanicHandler>,
    /// Measure queue wait and run time of every task (timings.rs).
    pub(crate) timings: bool,
    /// Report tasks that ran longer than a threshold.
    pub(crate) slow_task: Option<SlowTask>,
    /// Carry context from the submitter into the task (context.rs).
    pub(crate) context: Option<ContextHooks>,
    /// Run every task on the submitting thread, at submit (`inline`).
    pub(crate) inline: bool,
}

/// A slow-task hook and its threshold (`PoolBuilder::slow_task`).
pub(crate) struct SlowTask {
    pub(crate) threshold: Duration,
    pub(crate) hook: SlowHook,
}

pub(crate) type SlowHook = Box<dyn Fn(&TaskInfo<'_>) + Send + Sync + 'static>;

impl Config {
    /// Whether tasks must carry a submit instant or context (task/instrument.rs).
    pub(crate) fn instruments_tasks(&self) -> bool {
        self.timings || self.slow_task.is_some() || self.context.is_some()
    }
}

impl Config {
    pub(crate) fn thread_name(&self, index: usize) -> String {
        match &self.thread_name {
            Some(name) => name(index),
            None => default_thread_name(index),
        }
    }
}

/// `workcrew-{index}`, the name of a worker without a `thread_name` closure.
pub(crate) fn default_thread_name(index: usize) -> String {
    format!("workcrew-{index}")
}

/// The number of CPUs the process may use (at least 1).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
