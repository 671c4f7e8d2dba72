//! What a task carries beyond its closure when its pool asks for it: a
//! name, its submit instant, the submitter's captured context. They travel
//! inside the closure itself ([`Instrumented`]), so the task cell stays one
//! allocation and a pool that asks for none of this pays nothing (its tasks
//! are not wrapped at all).
//!
//! When the wrapped task runs it measures its queue wait, enters the context
//! around the user's closure, measures its run time, records both in the
//! running worker's histograms (scheduler/timings.rs) and reports it to the
//! slow-task hook if it ran too long. A panic of the closure is caught here
//! for that bookkeeping and resumed unchanged, so the pool sees it as
//! before.

use std::borrow::Cow;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use crate::scheduler::config::Config;
use crate::scheduler::context::Captured;
use crate::scheduler::timings::TaskInfo;
use crate::scheduler::worker::Worker;

/// A task's name, given at submit (`TaskBuilder::name`).
pub(crate) type TaskName = Cow<'static, str>;

/// A closure with its name, submit instant and captured context.
pub(crate) struct Instrumented<F> {
    f: F,
    name: Option<TaskName>,
    submitted: Option<Instant>,
    context: Option<Captured>,
}

impl<F> Instrumented<F> {
    /// Wraps `f` at submit, on the submitting thread: reads the clock if
    /// the pool times tasks and runs the capture hook if it has one.
    pub(crate) fn new(config: &Config, name: Option<TaskName>, f: F) -> Self {
        Instrumented {
            f,
            name,
            submitted: config.timings.then(Instant::now),
            context: config.context.as_ref().map(|hooks| hooks.capture()),
        }
    }

    /// The user's closure, for a refusal to hand back.
    pub(crate) fn into_inner(self) -> F {
        self.f
    }

    /// Runs the task on the current worker (module docs).
    pub(crate) fn run<T>(self) -> T
    where
        F: FnOnce() -> T,
    {
        let Instrumented {
            f,
            name,
            submitted,
            context,
        } = self;
        Worker::with_current(|worker| {
            let worker = worker.expect("pool tasks run on worker threads");
            let config = &worker.pool().config;
            let started = submitted.map(|submitted| (submitted, Instant::now()));
            let body = || match (&config.context, &context) {
                (Some(hooks), Some(captured)) => hooks.run_entered(captured, f),
                _ => f(),
            };
            let Some((submitted, started)) = started else {
                return body();
            };
            let outcome = panic::catch_unwind(AssertUnwindSafe(body));
            let (queued_for, ran_for) = (started - submitted, started.elapsed());
            worker.stats().queue_wait.record(queued_for);
            worker.stats().run_time.record(ran_for);
            if let Some(slow) = &config.slow_task {
                if ran_for > slow.threshold {
                    let info = TaskInfo {
                        name: name.as_deref(),
                        queued_for,
                        ran_for,
                    };
                    worker.pool().run_guarded(|| (slow.hook)(&info));
                }
            }
            match outcome {
                Ok(value) => value,
                Err(payload) => panic::resume_unwind(payload),
            }
        })
    }
}
