//! Spare blocks for fire-and-forget jobs: the memory of an `execute` task
//! goes back to the pool after it ran, for the next submission to reuse.
//!
//! # Why
//!
//! A job is allocated by its submitter and freed by the worker that ran it.
//! With the system allocator that cross-thread free is the dominant cost of a
//! tiny task: the worker's `free` returns the chunk to the submitter's arena
//! under that arena's lock, and the submitter's next `malloc` finds its own
//! cache empty and takes the same lock (about half of the submitter's time in
//! benchmark W1 under `perf`). Passing the block back through a lock-free
//! queue skips both.
//!
//! # Contract
//!
//! * Every block has the layout [`BLOCK`]. A job type uses spare blocks iff
//!   [`fits`] says so for its layout, decided at compile time, so the code
//!   that stores a job and the code that consumes it always agree.
//! * A block in the queue holds no value: its job was moved out first.
//! * The queue is bounded ([`SPARES`]); a block that finds it full is freed,
//!   so a burst never leaves more than `SPARES × 64` bytes behind. Dropping
//!   the pool frees what is left.
//!
//! Under `cfg(loom)` nothing is recycled (the queue is not modelled): jobs
//! are plain boxes, so the models check the protocols, not this cache.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

use crossbeam_queue::ArrayQueue;

/// The layout of every spare block: room for the job header and a closure
/// of up to 56 bytes, which covers the closures people pass to `execute`.
pub(crate) const BLOCK: Layout = match Layout::from_size_align(64, 16) {
    Ok(layout) => layout,
    Err(_) => panic!("64 is a valid size for a 16-aligned block"),
};

/// How many spare blocks a pool keeps at most (64 KiB).
const SPARES: usize = 1024;

/// Whether jobs of layout `layout` live in spare blocks.
pub(crate) const fn fits(layout: Layout) -> bool {
    !cfg!(loom) && layout.size() <= BLOCK.size() && layout.align() <= BLOCK.align()
}

/// An empty block of layout [`BLOCK`], owned by whoever holds it.
struct Block(NonNull<u8>);

// SAFETY: a block is an allocation nobody else refers to and that holds no
// value (contract above), so any thread may own it.
unsafe impl Send for Block {}

/// The pool's spare blocks.
pub(crate) struct Spares {
    blocks: ArrayQueue<Block>,
}

impl Spares {
    pub(crate) fn new() -> Self {
        Spares {
            blocks: ArrayQueue::new(SPARES),
        }
    }

    /// An empty block: a spare one if there is any, else a new allocation.
    pub(crate) fn take(&self) -> NonNull<u8> {
        if let Some(Block(block)) = self.blocks.pop() {
            return block;
        }
        // SAFETY: `BLOCK` has a non-zero size.
        let block = unsafe { alloc::alloc(BLOCK) };
        NonNull::new(block).unwrap_or_else(|| alloc::handle_alloc_error(BLOCK))
    }

    /// Gives back a block whose job was moved out.
    ///
    /// # Safety
    /// `block` came from [`Spares::take`] of any pool (they all use
    /// [`BLOCK`]), holds no value, and nothing refers to it any more.
    pub(crate) unsafe fn give(&self, block: NonNull<u8>) {
        if let Err(Block(block)) = self.blocks.push(Block(block)) {
            // SAFETY: allocated with `BLOCK` (contract) and no longer used.
            unsafe { alloc::dealloc(block.as_ptr(), BLOCK) };
        }
    }
}

impl Drop for Spares {
    fn drop(&mut self) {
        while let Some(Block(block)) = self.blocks.pop() {
            // SAFETY: every queued block came from `take` (layout `BLOCK`),
            // holds no value, and the queue was its only owner.
            unsafe { alloc::dealloc(block.as_ptr(), BLOCK) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_block_is_taken_again_and_a_full_queue_frees_the_rest() {
        let spares = Spares::new();
        let first = spares.take();
        // SAFETY: from `take`, empty, unused.
        unsafe { spares.give(first) };
        assert_eq!(spares.take(), first, "the spare block was not reused");
        let many: Vec<_> = (0..SPARES + 10).map(|_| spares.take()).collect();
        for block in many {
            // SAFETY: from `take`, empty, unused.
            unsafe { spares.give(block) };
        }
        assert_eq!(spares.blocks.len(), SPARES);
        // SAFETY: as above.
        unsafe { spares.give(first) };
        assert_eq!(spares.blocks.len(), SPARES);
    }

    #[test]
    fn only_small_jobs_fit() {
        assert!(fits(Layout::new::<[u64; 8]>()));
        assert!(!fits(Layout::new::<[u64; 9]>()));
        assert!(!fits(Layout::from_size_align(32, 32).unwrap()));
    }
}
