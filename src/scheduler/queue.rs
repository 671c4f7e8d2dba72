//! Where queued jobs wait: one global injector plus one deque per worker.
//!
//! * Submissions from outside the pool go to the [`Injector`], a FIFO, so
//!   outside tasks start in submission order.
//! * A worker's own submissions (`spawn` from a task, `fork_join`'s second
//!   half, scoped tasks) go to its [`Local`] deque. The owner pops the newest
//!   end (LIFO, so a fork-join half it pushed comes straight back); other
//!   workers steal the oldest end through a [`Stealer`].
//!
//! Invariant: a job is in at most one queue at a time, and every job taken out
//! of a queue is either run or cancelled by whoever took it (see `job.rs`).
//!
//! The real build uses crossbeam-deque. Under `cfg(loom)` the same interface
//! is a mutex around a `VecDeque`: crossbeam's internal spin-waits would hang
//! loom's cooperative scheduler, and the queues are crossbeam's tested code,
//! not the protocol we model.

use crate::scheduler::job::JobRef;

/// Outcome of taking a job from a queue another thread may touch.
pub(crate) enum Steal {
    /// The queue was empty.
    Empty,
    /// A job was taken.
    Success(JobRef),
    /// Lost a race with another thief; the queue may still hold jobs.
    /// (Only crossbeam's lock-free queues report it, not the loom build's.)
    #[cfg_attr(loom, allow(dead_code))]
    Retry,
}

#[cfg(not(loom))]
mod imp {
    use super::Steal;
    use crate::scheduler::job::JobRef;
    use crossbeam_deque as cb;

    fn convert(steal: cb::Steal<JobRef>) -> Steal {
        match steal {
            cb::Steal::Empty => Steal::Empty,
            cb::Steal::Success(job) => Steal::Success(job),
            cb::Steal::Retry => Steal::Retry,
        }
    }

    pub(crate) struct Injector(cb::Injector<JobRef>);

    impl Injector {
        pub(crate) fn new() -> Self {
            Self(cb::Injector::new())
        }

        pub(crate) fn push(&self, job: JobRef) {
            self.0.push(job);
        }

        /// Takes the oldest job and moves a batch of the next ones into
        /// `local`, keeping their order (crossbeam reverses a batch it moves
        /// into a LIFO deque, so the owner pops them oldest first).
        pub(crate) fn steal_batch_and_pop(&self, local: &Local) -> Steal {
            convert(self.0.steal_batch_and_pop(&local.0))
        }

        pub(crate) fn steal(&self) -> Steal {
            convert(self.0.steal())
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    pub(crate) struct Local(cb::Worker<JobRef>);

    impl Local {
        pub(crate) fn new() -> Self {
            Self(cb::Worker::new_lifo())
        }

        pub(crate) fn push(&self, job: JobRef) {
            self.0.push(job);
        }

        pub(crate) fn pop(&self) -> Option<JobRef> {
            self.0.pop()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        pub(crate) fn stealer(&self) -> Stealer {
            Stealer(self.0.stealer())
        }
    }

    #[derive(Clone)]
    pub(crate) struct Stealer(cb::Stealer<JobRef>);

    impl Stealer {
        pub(crate) fn steal(&self) -> Steal {
            convert(self.0.steal())
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }
}

#[cfg(loom)]
mod imp {
    use super::Steal;
    use crate::scheduler::job::JobRef;
    use crate::sync::{lock, Arc, Mutex};
    use std::collections::VecDeque;

    type Shared = Arc<Mutex<VecDeque<JobRef>>>;

    fn take_front(queue: &Shared) -> Steal {
        match lock(queue).pop_front() {
            Some(job) => Steal::Success(job),
            None => Steal::Empty,
        }
    }

    pub(crate) struct Injector(Shared);

    impl Injector {
        pub(crate) fn new() -> Self {
            Self(Arc::new(Mutex::new(VecDeque::new())))
        }

        pub(crate) fn push(&self, job: JobRef) {
            lock(&self.0).push_back(job);
        }

        pub(crate) fn steal_batch_and_pop(&self, local: &Local) -> Steal {
            let mut queue = lock(&self.0);
            let Some(first) = queue.pop_front() else {
                return Steal::Empty;
            };
            let batch = queue.len().div_ceil(2);
            let mut dest = lock(&local.0);
            // The owner pops the back, so the batch goes in newest first.
            for job in queue.drain(..batch).rev() {
                dest.push_back(job);
            }
            Steal::Success(first)
        }

        pub(crate) fn steal(&self) -> Steal {
            take_front(&self.0)
        }

        pub(crate) fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
    }

    pub(crate) struct Local(Shared);

    impl Local {
        pub(crate) fn new() -> Self {
            Self(Arc::new(Mutex::new(VecDeque::new())))
        }

        pub(crate) fn push(&self, job: JobRef) {
            lock(&self.0).push_back(job);
        }

        pub(crate) fn pop(&self) -> Option<JobRef> {
            lock(&self.0).pop_back()
        }

        pub(crate) fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }

        pub(crate) fn stealer(&self) -> Stealer {
            Stealer(self.0.clone())
        }
    }

    #[derive(Clone)]
    pub(crate) struct Stealer(Shared);

    impl Stealer {
        pub(crate) fn steal(&self) -> Steal {
            take_front(&self.0)
        }

        pub(crate) fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
    }
}

pub(crate) use imp::{Injector, Local, Stealer};

impl Steal {
    /// Keeps trying `attempt` while it reports `Retry`.
    pub(crate) fn until_settled(mut attempt: impl FnMut() -> Steal) -> Option<JobRef> {
        loop {
            match attempt() {
                Steal::Success(job) => return Some(job),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }
}
