//! Submitting one task cell: the one path every handle-returning submission
//! takes (`spawn`, `try_spawn`, `spawn_timeout`, `TaskBuilder`, task sets,
//! scoped tasks, `apply`), so that instrumenting (task/instrument.rs) and
//! inline mode apply to all of them alike.
//!
//! The closure is wrapped only when the pool instruments tasks; on refusal
//! the caller's own closure comes back unwrapped.

use std::time::Instant;

use crate::scheduler::ambient::Ambient;
use crate::scheduler::job::JobRef;
use crate::scheduler::shared::Shared;
use crate::scheduler::submit::{Refusal, WhenFull};
use crate::task::cell::{TaskCell, TaskRef};
use crate::task::instrument::{Instrumented, TaskName};
use crate::task::scope_link::ScopeLink;
use crate::Arc;

/// A submitted task cell, with its closure type erased.
pub(crate) type Task<'a, T> = Arc<dyn TaskRef<T> + 'a>;

/// Submits `f` as a task cell of `shared`; see the module docs.
///
/// # Safety
/// Whatever `f` and `T` borrow must stay alive until the task is final
/// (`JobRef::from_arc_unchecked`); for `'static` ones that holds trivially
/// (see [`submit_static`]).
pub(crate) unsafe fn submit_task<'a, F, T>(
    shared: &Arc<Shared>,
    f: F,
    when_full: WhenFull,
    name: Option<TaskName>,
    scope: Option<ScopeLink>,
    parent: Ambient,
    deadline: Option<Instant>,
) -> Result<Task<'a, T>, Refusal<F>>
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    if !shared.config.instruments_tasks() {
        // SAFETY: forwarded.
        return unsafe { submit_closure(shared, f, when_full, (scope, parent, deadline), |f| f) };
    }
    let wrapped = Instrumented::new(&shared.config, name, f);
    // SAFETY: forwarded; the wrapper borrows what `f` borrows.
    let submitted = unsafe {
        submit_closure(
            shared,
            wrapped,
            when_full,
            (scope, parent, deadline),
            |wrapped| move || wrapped.run(),
        )
    };
    submitted.map_err(|refusal| refusal.map(Instrumented::into_inner))
}

/// [`submit_task`] for `'static` closures, which is always safe.
pub(crate) fn submit_static<F, T>(
    shared: &Arc<Shared>,
    f: F,
    when_full: WhenFull,
    name: Option<TaskName>,
    deadline: Option<Instant>,
) -> Result<Task<'static, T>, Refusal<F>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: `F: 'static, T: 'static` borrow nothing that could end.
    unsafe { submit_task(shared, f, when_full, name, None, Ambient::NONE, deadline) }
}

/// Submits `carried` (the closure, wrapped or not) and builds the cell's
/// closure from it with `make` once it is admitted.
///
/// # Safety
/// As [`submit_task`].
unsafe fn submit_closure<'a, X, M, G, T>(
    shared: &Arc<Shared>,
    carried: X,
    when_full: WhenFull,
    link: (Option<ScopeLink>, Ambient, Option<Instant>),
    make: M,
) -> Result<Task<'a, T>, Refusal<X>>
where
    M: FnOnce(X) -> G + Send + 'a,
    X: Send + 'a,
    G: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    // The builder and the scope link travel with the closure, so that
    // whichever of the two paths `submit` takes gets them, and a refusal
    // hands all three back.
    let submitted = shared.submit(
        (carried, make, link),
        when_full,
        |(carried, make, (scope, parent, deadline))| {
            let cell = TaskCell::new(make(carried), scope, parent);
            cell.control().set_deadline(deadline);
            // SAFETY: forwarded from our caller.
            let job = unsafe { JobRef::from_arc_unchecked(cell.clone()) };
            (job, cell)
        },
        |(carried, make, (scope, parent, deadline)), worker| {
            let cell = TaskCell::new(make(carried), scope, parent);
            cell.control().set_deadline(deadline);
            cell.run_unqueued(worker);
            cell
        },
    );
    match submitted {
        Ok(cell) => Ok(cell),
        Err(refusal) => Err(refusal.map(|(carried, _, _)| carried)),
    }
}
