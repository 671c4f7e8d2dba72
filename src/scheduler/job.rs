//! Type-erased references to queued work, and the stack-allocated jobs of
//! fork-join. This module holds the crate's pointer-level `unsafe` code.
//!
//! A [`JobRef`] is what the queues carry: one pointer to a [`JobHeader`],
//! the first field of every job type (`#[repr(C)]`), which points to the
//! type's table of functions. Eight bytes an entry keeps the queues' blocks
//! small. Contract: **every `JobRef` is consumed exactly once**, by
//! [`JobRef::run`] or [`JobRef::cancel`]. It comes in two flavours:
//!
//! * **Heap jobs** own one `Arc` reference to a [`QueuedJob`] (a task cell),
//!   or a [`BoxedJob`] (fire-and-forget), kept in one of the pool's spare
//!   blocks when it is small (spare.rs), else in a `Box`. A heap job may outlive the moment
//!   its work is done: a task taken back by its waiter leaves a *stale*
//!   entry behind, which finds the task already claimed and only drops its
//!   reference.
//! * **Stack jobs** point into the frame of a thread that waits for them
//!   ([`StackJob`]). Such a `JobRef` is only ever pushed to that thread's own
//!   deque, and the frame does not return before the entry has been popped
//!   back or the job's [`Latch`] has been set by whoever ran or cancelled it.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use crate::scheduler::ambient::Ambient;
use crate::scheduler::context::EnteredContext;
use crate::scheduler::shared::Shared;
use crate::scheduler::spare::{self, Spares};
use crate::scheduler::worker::Worker;
use crate::sync::{thread, AtomicUsize, Ordering, UnsafeCell};
use crate::Arc;

/// What a job is to the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A counted task nobody's frame waits for (`spawn`, `execute`): a
    /// waiter must never run it "to help" (rayon's #592 deadlock).
    Detached,
    /// A counted task a scope waits for before it returns.
    Scoped,
    /// An uncounted piece of a running task (a `fork_join` half, a helper of
    /// a parallel loop), on the stack of the task's thread, which waits for it.
    Part,
}

impl Kind {
    /// Whether some frame is blocked until this job finishes, so that running
    /// it while waiting for that frame's work is safe.
    pub(crate) fn is_awaited(self) -> bool {
        matches!(self, Kind::Scoped | Kind::Part)
    }
}

/// The first field of every job the queues carry.
#[repr(C)]
pub(crate) struct JobHeader {
    vtable: &'static VTable,
}

/// The functions of one job type. Contract of every entry (SAFETY: callers
/// uphold it): the pointer is the header of a live job of the table's type;
/// `run` and `cancel` consume the queue entry, so each is called at most once
/// per entry and never after the other; `kind` and `tag` only read.
struct VTable {
    run: unsafe fn(NonNull<JobHeader>, &Worker),
    cancel: unsafe fn(NonNull<JobHeader>, &Shared) -> bool,
    kind: unsafe fn(NonNull<JobHeader>) -> Kind,
    tag: unsafe fn(NonNull<JobHeader>) -> usize,
}

/// A heap job shared between its queue entry and its handles (a task cell).
/// The type must be `#[repr(C)]` with its [`JobHeader`] (made by
/// [`JobHeader::for_arc`]) as first field; `JobRef::from_arc` checks it.
pub(crate) trait QueuedJob: Send + Sync {
    fn header(&self) -> &JobHeader;
    fn kind(&self) -> Kind;
    /// The address of the scope this job belongs to, 0 if none.
    fn tag(&self) -> usize;
    /// Runs the job on `worker` (or skips it if it was claimed elsewhere).
    fn run(self: Arc<Self>, worker: &Worker);
    /// Cancels the job if it is still queued; true if this call cancelled a
    /// task the pool counts (see `Shared::task_cancelled`).
    fn cancel(self: Arc<Self>, pool: &Shared) -> bool;
}

/// A heap job with exactly one owner, its queue entry (fire-and-forget).
/// Layout rule as for [`QueuedJob`], with [`JobHeader::for_box`]. Small ones
/// live in the pool's spare blocks (spare.rs), the others in a `Box`; the
/// entry moves the job out of its memory before calling these.
pub(crate) trait BoxedJob: Send + Sized {
    fn header(&self) -> &JobHeader;
    fn run(self, worker: &Worker);
    /// Drops the job unrun; true if it counted as a cancelled task.
    fn cancel(self, pool: &Shared) -> bool;
}

struct ArcVTable<J>(PhantomData<J>);

impl<J: QueuedJob> ArcVTable<J> {
    const VTABLE: VTable = VTable {
        run: Self::run,
        cancel: Self::cancel,
        kind: Self::kind,
        tag: Self::tag,
    };

    /// # Safety
    /// `header` came from `Arc::<J>::into_raw` in `JobRef::from_arc*` and is
    /// consumed here exactly once.
    unsafe fn run(header: NonNull<JobHeader>, worker: &Worker) {
        // SAFETY: see the function contract; the reference is reclaimed once.
        let job = unsafe { Arc::from_raw(header.as_ptr() as *const J) };
        job.run(worker);
    }

    /// # Safety
    /// As for `run`.
    unsafe fn cancel(header: NonNull<JobHeader>, pool: &Shared) -> bool {
        // SAFETY: see the function contract; the reference is reclaimed once.
        let job = unsafe { Arc::from_raw(header.as_ptr() as *const J) };
        job.cancel(pool)
    }

    /// # Safety
    /// `header` belongs to a live entry made by `JobRef::from_arc*`.
    unsafe fn kind(header: NonNull<JobHeader>) -> Kind {
        // SAFETY: the entry keeps its `Arc` reference, so the job is alive.
        unsafe { header.cast::<J>().as_ref() }.kind()
    }

    /// # Safety
    /// As for `kind`.
    unsafe fn tag(header: NonNull<JobHeader>) -> usize {
        // SAFETY: as in `kind`.
        unsafe { header.cast::<J>().as_ref() }.tag()
    }
}

/// The table of a [`BoxedJob`]: the job lives in a spare block of its pool
/// if `spare::fits` its layout, else in a `Box` (`JobRef::from_box` makes
/// the same compile-time choice).
struct OwnedVTable<J>(PhantomData<J>);

impl<J: BoxedJob> OwnedVTable<J> {
    const VTABLE: VTable = VTable {
        run: Self::run,
        cancel: Self::cancel,
        kind: |_| Kind::Detached,
        tag: |_| 0,
    };

    /// Moves the job out of its memory and releases that memory (the spare
    /// block goes back to `spares`).
    ///
    /// # Safety
    /// `header` is the job written by `JobRef::from_box` for a pool whose
    /// spare blocks are `spares`, and this entry is consumed here, once.
    unsafe fn take(header: NonNull<JobHeader>, spares: &Spares) -> J {
        if !spare::fits(Layout::new::<J>()) {
            // SAFETY: `from_box` leaked a `Box<J>` here (contract).
            return *unsafe { Box::from_raw(header.as_ptr() as *mut J) };
        }
        // SAFETY: the block holds a `J` (contract); reading moves it out, and
        // the block is never read again.
        let job = unsafe { header.cast::<J>().as_ptr().read() };
        // SAFETY: the block came from `Spares::take`, its value was just
        // moved out, and this consumed entry was its only reference.
        unsafe { spares.give(header.cast()) };
        job
    }

    /// # Safety
    /// As for `take`.
    unsafe fn run(header: NonNull<JobHeader>, worker: &Worker) {
        // SAFETY: forwarded.
        let job = unsafe { Self::take(header, &worker.pool().spares) };
        job.run(worker);
    }

    /// # Safety
    /// As for `take`.
    unsafe fn cancel(header: NonNull<JobHeader>, pool: &Shared) -> bool {
        // SAFETY: forwarded.
        let job = unsafe { Self::take(header, &pool.spares) };
        job.cancel(pool)
    }
}

impl JobHeader {
    /// The header of a [`QueuedJob`] of type `J`.
    pub(crate) fn for_arc<J: QueuedJob>() -> JobHeader {
        JobHeader {
            vtable: &ArcVTable::<J>::VTABLE,
        }
    }

    /// The header of a [`BoxedJob`] of type `J`.
    pub(crate) fn for_box<J: BoxedJob>() -> JobHeader {
        JobHeader {
            vtable: &OwnedVTable::<J>::VTABLE,
        }
    }
}

/// Checks the layout rule: the job's header is its first field.
fn header_first<J: ?Sized>(job: *const J, header: &JobHeader) {
    assert_eq!(
        job as *const () as usize, header as *const JobHeader as usize,
        "a job type must be #[repr(C)] with its JobHeader first"
    );
}

/// A type-erased, exactly-once reference to queued work.
pub(crate) struct JobRef(NonNull<JobHeader>);

// SAFETY:
// 1. Heap jobs point to a `QueuedJob`, which is `Send + Sync`, or own a
//    `BoxedJob`, which is `Send` and referred to by this entry alone.
// 2. Stack jobs point to a `StackJob<F, R>` with `F: Send, R: Send`; the frame
//    that owns it outlives the entry (module contract).
unsafe impl Send for JobRef {}

impl JobRef {
    /// Wraps a fire-and-forget job, in a spare block of `pool` if it fits
    /// (the same test `JobHeader::for_box` made), else in a box.
    pub(crate) fn from_box<J: BoxedJob + 'static>(job: J, pool: &Shared) -> JobRef {
        header_first(&job, job.header());
        if !spare::fits(Layout::new::<J>()) {
            return JobRef(NonNull::from(Box::leak(Box::new(job))).cast());
        }
        let block = pool.spares.take().cast::<J>();
        // SAFETY: the block is empty, unshared, and large and aligned enough
        // for `J` (`spare::fits`); `SpareVTable::take` moves the job out.
        unsafe { block.as_ptr().write(job) };
        JobRef(block.cast())
    }

    /// Wraps one strong reference to a heap job that may borrow.
    ///
    /// # Safety
    /// Whatever `J` borrows must stay alive until the job has been run or
    /// cancelled. After that the entry may linger (stale); a stale entry only
    /// reads the job's state word and drops a job whose closure and result are
    /// already gone, which touches no borrowed data.
    pub(crate) unsafe fn from_arc_unchecked<J: QueuedJob>(job: Arc<J>) -> JobRef {
        header_first(Arc::as_ptr(&job), job.header());
        let raw = Arc::into_raw(job) as *mut JobHeader;
        // SAFETY: `Arc::into_raw` never returns null.
        JobRef(unsafe { NonNull::new_unchecked(raw) })
    }

    /// Points at a job on the current thread's stack.
    ///
    /// # Safety
    /// `job` must not move or be dropped until this entry has been consumed
    /// (run or cancelled, which sets its latch) or popped back by its owner,
    /// and the entry may only be pushed to the owner's own deque.
    pub(crate) unsafe fn from_stack<F, R>(job: &StackJob<F, R>) -> JobRef
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        // From the whole job, not `&job.header`: the thread that runs the
        // entry writes the job's other fields through it (`header_ptr`).
        JobRef(job.header_ptr())
    }

    /// Rebuilds the entry of a stack job from the header address its owner
    /// recorded in its frame list (`frames.rs`), for the thread that promoted
    /// or claimed that frame.
    ///
    /// # Safety
    /// `header` came from [`StackJob::header_ptr`] of a live stack job, and
    /// the caller won the frame (moved `top` past it under the frame list's
    /// rules), so no other entry for it exists; the module contract for
    /// stack jobs then holds for the new entry.
    pub(crate) unsafe fn from_frame(header: NonNull<JobHeader>) -> JobRef {
        JobRef(header)
    }

    fn vtable(&self) -> &'static VTable {
        // SAFETY: an unconsumed entry points at a live job (module contract),
        // whose first field is its header.
        unsafe { self.0.as_ref() }.vtable
    }

    pub(crate) fn run(self, worker: &Worker) {
        let this = ManuallyDrop::new(self);
        // SAFETY: the header's table belongs to the job's type, and
        // `ManuallyDrop` plus `self` by value make this the only consumption.
        unsafe { (this.vtable().run)(this.0, worker) }
    }

    pub(crate) fn cancel(self, pool: &Shared) -> bool {
        let this = ManuallyDrop::new(self);
        // SAFETY: as in `run`.
        unsafe { (this.vtable().cancel)(this.0, pool) }
    }

    pub(crate) fn kind(&self) -> Kind {
        // SAFETY: the entry is unconsumed, so its job is alive.
        unsafe { (self.vtable().kind)(self.0) }
    }

    /// The address of the scope or parallel loop this job belongs to, 0 if
    /// none.
    pub(crate) fn tag(&self) -> usize {
        // SAFETY: the entry is unconsumed, so its job is alive.
        unsafe { (self.vtable().tag)(self.0) }
    }

    /// Consumes the entry of a stack job its owner popped back from its own
    /// deque; the owner then runs the closure itself or drops the job.
    pub(crate) fn reclaim(self) {
        debug_assert_eq!(self.kind(), Kind::Part);
        std::mem::forget(self);
    }

    /// True if this entry points at `job`.
    pub(crate) fn is<F, R>(&self, job: &StackJob<F, R>) -> bool {
        self.0 == NonNull::from(&job.header)
    }
}

impl Drop for JobRef {
    fn drop(&mut self) {
        // Dropping an unconsumed entry would leak a task or, for a stack job,
        // leave its owner waiting forever. It is a bug in workcrew.
        debug_assert!(
            std::thread::panicking(),
            "a queued job was dropped without running or being cancelled"
        );
    }
}

// ---------------------------------------------------------------- latch

const UNSET: usize = 0;
const SET: usize = 1;

/// A one-shot flag a thread can block on.
///
/// The word is `UNSET`, `SET`, or a pointer to a boxed `Thread` of a waiter
/// that is parking. `set` swaps in `SET` and, if it took a waiter out, owns
/// that box: after the swap it never touches the latch again, so the waiter
/// may free the latch (return from its frame) as soon as it sees `SET`.
pub(crate) struct Latch {
    word: AtomicUsize,
}

impl Latch {
    pub(crate) fn new() -> Self {
        Latch {
            word: AtomicUsize::new(UNSET),
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        // Acquire: pairs with the release in `set`, publishing the job's result.
        self.word.load(Ordering::Acquire) == SET
    }

    pub(crate) fn set(&self) {
        let previous = self.word.swap(SET, Ordering::AcqRel);
        if previous != UNSET && previous != SET {
            // SAFETY: a value other than UNSET/SET is a `Box<Thread>` put there
            // by `park_until_set`; the swap transferred its ownership to us.
            let waiter = unsafe { Box::from_raw(previous as *mut thread::Thread) };
            waiter.unpark();
        }
    }

    /// Parks the calling thread until the latch is set.
    pub(crate) fn park_until_set(&self) {
        if self.is_set() {
            return;
        }
        let waiter = Box::into_raw(Box::new(thread::current()));
        match self.word.compare_exchange(
            UNSET,
            waiter as usize,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // The box now belongs to whoever sets the latch.
                while !self.is_set() {
                    thread::park();
                }
            }
            Err(_) => {
                // Set in the meantime (only one waiter ever parks on a latch).
                // SAFETY: the exchange failed, so the box is still ours.
                drop(unsafe { Box::from_raw(waiter) });
            }
        }
    }
}

// ---------------------------------------------------------------- stack job

/// What a stack job produced.
pub(crate) enum Outcome<R> {
    NotRun,
    Done(std::thread::Result<R>),
    /// `shutdown_now` took the entry off its deque: the closure was not run
    /// and is still in the job, for its owner to run inline. A stack job is a
    /// piece of a running task, and running tasks finish.
    HandedBack,
}

/// A job living in its owner's frame: `fork_join`'s second closure, or one of
/// the helpers of a parallel loop.
#[repr(C)]
pub(crate) struct StackJob<F, R> {
    header: JobHeader,
    /// The address of the parallel loop this helper belongs to, 0 if none.
    tag: usize,
    func: UnsafeCell<Option<F>>,
    /// `ManuallyDrop`: a `Done` outcome is always moved out by the owner
    /// (`take_outcome`) and the others own nothing, so the owner's fast path
    /// is spared a drop check of a value it never wrote.
    outcome: UnsafeCell<ManuallyDrop<Outcome<R>>>,
    latch: Latch,
    /// `1 + 2 * worker index + clean` of the worker that took the job from a
    /// queue, 0 before that. `clean` means that worker's deque was empty when
    /// it took the job, so until the job finishes everything in that deque
    /// descends from this job (see `part.rs`, "helping").
    thief: AtomicUsize,
    /// The thief's `frames.bottom()` when it began this job: its frames at
    /// or above it descend from this job (the waiter may claim those).
    /// Written before `thief` (release), read after it (acquire).
    thief_floor: AtomicUsize,
    /// The owner's ambient and entered context when the job was made: the
    /// piece of a running task carries them to the thread that runs it
    /// (ambient.rs, context.rs); the owner waits for it, so they outlive it.
    ambient: Ambient,
    context: EnteredContext,
}

/// Who took a stack job from its owner's deque.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Thief {
    pub(crate) index: usize,
    pub(crate) clean: bool,
    /// The thief's first frame that descends from the job.
    pub(crate) floor: usize,
}

impl<F, R> StackJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    const VTABLE: VTable = VTable {
        run: Self::run_erased,
        cancel: Self::cancel_erased,
        kind: |_| Kind::Part,
        tag: Self::tag_erased,
    };

    pub(crate) fn new(func: F, tag: usize) -> Self {
        StackJob {
            header: JobHeader {
                vtable: &Self::VTABLE,
            },
            tag,
            func: UnsafeCell::new(Some(func)),
            outcome: UnsafeCell::new(ManuallyDrop::new(Outcome::NotRun)),
            latch: Latch::new(),
            thief: AtomicUsize::new(0),
            thief_floor: AtomicUsize::new(0),
            ambient: Ambient::current(),
            context: EnteredContext::current(),
        }
    }

    /// The address the frame list records for this job.
    ///
    /// Derived from the whole job, not from `&self.header`: whoever runs the
    /// entry reads the other fields through it (the header is the first
    /// field of this `repr(C)` type, so the addresses agree).
    pub(crate) fn header_ptr(&self) -> NonNull<JobHeader> {
        NonNull::from(self).cast()
    }

    pub(crate) fn latch(&self) -> &Latch {
        &self.latch
    }

    pub(crate) fn thief(&self) -> Option<Thief> {
        match self.thief.load(Ordering::Acquire) {
            0 => None,
            word => Some(Thief {
                index: (word - 1) / 2,
                clean: (word - 1) % 2 == 1,
                // Relaxed: written before the release store of `thief`
                // that the acquire load above read.
                floor: self.thief_floor.load(Ordering::Relaxed),
            }),
        }
    }

    /// Takes the closure back to run it inline.
    ///
    /// Through `&self`, not `&mut self`: the owner's frame list (or a queue)
    /// may hold the job's address while the owner holds this reference, and
    /// a `&mut` would claim exclusive access that is not there.
    ///
    /// # Safety
    /// Only the owner calls this, once its frame was popped inline, or its
    /// entry taken back from the own deque, or its latch says
    /// [`Outcome::HandedBack`]: no other thread touches the closure then.
    pub(crate) unsafe fn take_func(&self) -> F {
        self.func
            .with_mut(|func| {
                // SAFETY: exclusive by the caller's contract.
                unsafe { (*func).take() }
            })
            .expect("a stack job ran twice")
    }

    /// Moves the outcome out once the latch is set.
    ///
    /// # Safety
    /// Only the owner calls this, after the latch was set.
    pub(crate) unsafe fn take_outcome(&self) -> Outcome<R> {
        debug_assert!(self.latch.is_set());
        self.outcome.with_mut(|outcome| {
            // SAFETY: the latch was set (acquire), so the runner's write is
            // visible and it no longer touches the job (caller's contract);
            // the owner is the only other party.
            let taken =
                unsafe { std::mem::replace(&mut *outcome, ManuallyDrop::new(Outcome::NotRun)) };
            ManuallyDrop::into_inner(taken)
        })
    }

    /// # Safety
    /// `header` belongs to a live `StackJob<F, R>` with an unconsumed entry.
    unsafe fn tag_erased(header: NonNull<JobHeader>) -> usize {
        // SAFETY: the header is the job's first field (`repr(C)`) and the
        // module contract keeps the job alive while its entry is unconsumed.
        unsafe { header.cast::<Self>().as_ref() }.tag
    }

    /// # Safety
    /// `header` belongs to a live `StackJob<F, R>` whose entry is being consumed.
    unsafe fn run_erased(header: NonNull<JobHeader>, worker: &Worker) {
        // SAFETY: the module contract keeps the job alive until its latch is
        // set, which is the last thing we do with it.
        let job = unsafe { header.cast::<Self>().as_ref() };
        let mark = 1 + 2 * worker.index() + usize::from(worker.deque_is_empty());
        job.thief_floor
            .store(worker.frames().bottom(), Ordering::Relaxed);
        job.thief.store(mark, Ordering::Release);
        // SAFETY: the entry was in exactly one queue and we consumed it, so
        // nobody else takes the closure or writes the outcome.
        let func = job.func.with_mut(|func| unsafe { (*func).take() });
        let func = func.expect("a stack job ran twice");
        // A floor: frames this worker recorded before are not this job's
        // (`frames.rs`, answering a request).
        // Run under the owner's ambient and context (a task's cancellation
        // and its captured context reach the pieces it forks).
        let _ambient = job.ambient.enter();
        let hooks = worker.pool().config.context.as_ref();
        let context = job.context;
        let outcome = worker.run_part(move || context.run(hooks, func));
        // SAFETY: as above; the latch's release publishes the write.
        job.outcome
            .with_mut(|slot| unsafe { *slot = ManuallyDrop::new(Outcome::Done(outcome)) });
        job.latch.set();
    }

    /// # Safety
    /// As for `run_erased`.
    unsafe fn cancel_erased(header: NonNull<JobHeader>, _pool: &Shared) -> bool {
        // SAFETY: as in `run_erased`.
        let job = unsafe { header.cast::<Self>().as_ref() };
        // The closure stays in the job: the owner runs it (`HandedBack`).
        // SAFETY: as in `run_erased`.
        job.outcome
            .with_mut(|slot| unsafe { *slot = ManuallyDrop::new(Outcome::HandedBack) });
        job.latch.set();
        // Stack jobs are part of a running task, not counted tasks.
        false
    }
}
