//! Context that travels from the submitting thread into the task: a value
//! captured at submit (a tracing span, a request id, a locale) and entered
//! around the task on the worker (`PoolBuilder::context`).
//!
//! # Layout
//!
//! A [`Captured`] value lives inline in the task's closure, in a buffer of
//! [`INLINE_WORDS`] words, so it adds no allocation; a larger (or
//! over-aligned) type is boxed instead, documented on the builder. The
//! buffer carries its own drop function, so dropping it needs nothing else.
//! This is the module's only `unsafe`: writing the value into the buffer and
//! reading it back as the type it was written as.
//!
//! # Who enters it
//!
//! The worker that runs the task enters it around the closure; pieces of the
//! running task that run on other workers (parallel-loop helpers) enter the
//! same value by reference, which is why the captured type must be `Sync`.

use std::mem::{self, MaybeUninit};
use std::ptr;

use crate::Arc;

/// Words of inline storage in a [`Captured`]: room for a `tracing::Span`.
pub(crate) const INLINE_WORDS: usize = 6;

type Buffer = [MaybeUninit<usize>; INLINE_WORDS];

/// A captured context value of a type known only to its [`ContextHooks`].
pub(crate) struct Captured {
    buffer: Buffer,
    /// Whether `buffer` holds the value itself or a `Box` of it.
    boxed: bool,
    /// Drops the value in `buffer` (set by the hooks that wrote it).
    drop_value: unsafe fn(&mut Buffer, bool),
}

// SAFETY: a `Captured` is only written by `Hooks::<C>::capture` with a
// `C: Send + Sync` (enforced by `ContextHooks::new`), so moving it to another
// thread and sharing references to it are what `C` allows.
unsafe impl Send for Captured {}
// SAFETY: as above.
unsafe impl Sync for Captured {}

impl Drop for Captured {
    fn drop(&mut self) {
        // SAFETY: `drop_value` was set together with `buffer` by the writer
        // of the value, for that value's type, and this runs once.
        unsafe { (self.drop_value)(&mut self.buffer, self.boxed) }
    }
}

/// A pool's context hooks, with the value type erased.
pub(crate) trait ContextOps: Send + Sync {
    /// Runs the capture hook on the submitting thread.
    fn capture(&self) -> Captured;
    /// Runs `body` inside the captured context (the enter hook).
    fn enter(&self, captured: &Captured, body: &mut dyn FnMut());
}

/// The hooks of `PoolBuilder::context` for a value of type `C`.
struct Hooks<C, Capture, Enter> {
    capture: Capture,
    enter: Enter,
    _value: std::marker::PhantomData<fn() -> C>,
}

/// Whether `C` fits the inline buffer.
const fn fits<C>() -> bool {
    mem::size_of::<C>() <= mem::size_of::<Buffer>()
        && mem::align_of::<C>() <= mem::align_of::<Buffer>()
}

/// Drops the `C` in `buffer`.
///
/// # Safety
/// `buffer` holds a `C` written by `Hooks::<C>::capture` (inline, or as a
/// `Box<C>` when `boxed`), not dropped yet.
unsafe fn drop_value<C>(buffer: &mut Buffer, boxed: bool) {
    if boxed {
        // SAFETY: the buffer's first word is the `Box<C>` written in `capture`.
        drop(unsafe { ptr::read(buffer.as_ptr().cast::<Box<C>>()) });
    } else {
        // SAFETY: the buffer holds the `C` written in `capture` (it fits).
        unsafe { ptr::drop_in_place(buffer.as_mut_ptr().cast::<C>()) };
    }
}

impl<C, Capture, Enter> ContextOps for Hooks<C, Capture, Enter>
where
    C: Send + Sync + 'static,
    Capture: Fn() -> C + Send + Sync,
    Enter: Fn(&C, &mut dyn FnMut()) + Send + Sync,
{
    fn capture(&self) -> Captured {
        let value = (self.capture)();
        let mut buffer: Buffer = [MaybeUninit::uninit(); INLINE_WORDS];
        let boxed = !fits::<C>();
        if boxed {
            // SAFETY: a `Box` is one word, which the buffer has, and the
            // buffer is word-aligned.
            unsafe { ptr::write(buffer.as_mut_ptr().cast::<Box<C>>(), Box::new(value)) };
        } else {
            // SAFETY: `C` fits the buffer's size and alignment (`fits`).
            unsafe { ptr::write(buffer.as_mut_ptr().cast::<C>(), value) };
        }
        Captured {
            buffer,
            boxed,
            drop_value: drop_value::<C>,
        }
    }

    fn enter(&self, captured: &Captured, body: &mut dyn FnMut()) {
        let value: &C = if captured.boxed {
            // SAFETY: written by `capture` of these hooks as a `Box<C>`
            // (a pool's captured values all come from its one `Hooks`).
            unsafe { &*captured.buffer.as_ptr().cast::<Box<C>>() }
        } else {
            // SAFETY: written by `capture` of these hooks as a `C`.
            unsafe { &*captured.buffer.as_ptr().cast::<C>() }
        };
        (self.enter)(value, body);
    }
}

/// A pool's context hooks (`PoolBuilder::context`).
#[derive(Clone)]
pub(crate) struct ContextHooks(Arc<dyn ContextOps>);

impl ContextHooks {
    pub(crate) fn new<C, Capture, Enter>(capture: Capture, enter: Enter) -> Self
    where
        C: Send + Sync + 'static,
        Capture: Fn() -> C + Send + Sync + 'static,
        Enter: Fn(&C, &mut dyn FnMut()) + Send + Sync + 'static,
    {
        ContextHooks(Arc::new(Hooks {
            capture,
            enter,
            _value: std::marker::PhantomData,
        }))
    }

    pub(crate) fn capture(&self) -> Captured {
        self.0.capture()
    }

    /// Runs `f` inside `captured` and returns its result. A panic in `f`
    /// (or in the enter hook) unwinds out of here.
    fn run<R>(&self, captured: &Captured, f: impl FnOnce() -> R) -> R {
        let mut f = Some(f);
        let mut result = None;
        self.0.enter(captured, &mut || {
            if let Some(f) = f.take() {
                result = Some(f());
            }
        });
        match (result, f) {
            (Some(result), _) => result,
            // The enter hook never called the body: run it bare, so the task
            // still runs exactly once.
            (None, Some(f)) => f(),
            (None, None) => unreachable!("the body ran but left no result"),
        }
    }
}

#[cfg(not(loom))]
crate::sync::thread_local! {
    static ENTERED: std::cell::Cell<*const Captured> = const { std::cell::Cell::new(ptr::null()) };
}

#[cfg(loom)]
crate::sync::thread_local! {
    static ENTERED: std::cell::Cell<*const Captured> = std::cell::Cell::new(ptr::null());
}

/// The context the current thread runs inside, to hand to the pieces of the
/// running task that other workers run ([`ContextHooks::run_entered`]).
/// Valid while the task that entered it runs; its frame waits for those
/// pieces.
#[derive(Clone, Copy)]
pub(crate) struct EnteredContext(*const Captured);

// SAFETY: points at a `Captured` (which is `Sync`) that outlives every piece
// it is handed to (see the type's docs).
unsafe impl Send for EnteredContext {}
// SAFETY: as above.
unsafe impl Sync for EnteredContext {}

impl EnteredContext {
    pub(crate) fn current() -> EnteredContext {
        EnteredContext(ENTERED.with(std::cell::Cell::get))
    }

    /// Runs `f` inside this context, with `hooks`, unless the current thread
    /// already runs inside it (the task's own thread) or there is none.
    pub(crate) fn run<R>(self, hooks: Option<&ContextHooks>, f: impl FnOnce() -> R) -> R {
        let here = ENTERED.with(std::cell::Cell::get);
        match (hooks, self.0.is_null() || ptr::eq(here, self.0)) {
            (Some(hooks), false) => {
                // SAFETY: the task that entered this context is still running
                // (its frame waits for the piece calling this).
                let captured = unsafe { &*self.0 };
                hooks.run_entered(captured, f)
            }
            _ => f(),
        }
    }
}

impl ContextHooks {
    /// Like [`ContextHooks::run`], and marks `captured` as the context this
    /// thread runs inside meanwhile, for the task's pieces.
    pub(crate) fn run_entered<R>(&self, captured: &Captured, f: impl FnOnce() -> R) -> R {
        let previous = ENTERED.with(|entered| entered.replace(captured));
        struct Restore(*const Captured);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0;
                ENTERED.with(|entered| entered.set(previous));
            }
        }
        let _restore = Restore(previous);
        self.run(captured, f)
    }
}
