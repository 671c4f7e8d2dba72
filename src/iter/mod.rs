//! Parallel iterators with rayon's names and signatures: `use
//! workcrew::prelude::*` in place of `use rayon::prelude::*`.
//!
//! # How it works
//!
//! A parallel iterator is a description. Its source is split by *base
//! index* (a slice's element, a range's number, a chunk's number); the
//! adaptors wrap, piece by piece, the plain sequential iterator of the
//! source (plumbing.rs); a terminal method hands the chain to the driver
//! (drive.rs) with a consumer (consumers.rs, collect.rs) that folds each
//! piece and puts the pieces' results together in order. There is no split
//! tree: the driver starts alone on the calling thread, and only when the
//! work proves big enough it claims the rest, in adaptive pieces, through
//! one atomic cursor, with the pool's idle workers.
//!
//! # Where it runs
//!
//! On the pool of the calling worker thread; from outside any pool, small
//! work runs on the calling thread and big work on the [`global`] pool (one
//! task the caller waits for, plus helpers). [`Pool::install`] picks a pool.
//!
//! # What holds
//!
//! A panic in any closure resumes in the caller after the pieces in progress
//! have ended; nothing new is handed out after it. A short-circuit
//! (`find_any`, `any`, `all`, `collect` into a `Result`) stops the hand-out
//! at once. Inside a task that is asked to stop ([`is_cancelled`]) the
//! hand-out stops and the call ends as a [`checkpoint`]. A thread that waits
//! for helpers only runs their own work, so a parallel iterator inside a
//! task of a one-thread pool runs alone, without deadlock.
//!
//! [`global`]: crate::global
//! [`Pool::install`]: crate::Pool::install
//! [`is_cancelled`]: crate::is_cancelled
//! [`checkpoint`]: crate::checkpoint

pub(crate) mod adaptors;
pub(crate) mod collect;
pub(crate) mod consumers;
pub(crate) mod drive;
pub(crate) mod indexed;
pub(crate) mod pages;
pub(crate) mod parallel_iterator;
pub mod plumbing;
pub(crate) mod run;
pub(crate) mod slice;
pub(crate) mod sort;
pub(crate) mod sources;
pub(crate) mod split;
pub(crate) mod stateful;

pub use adaptors::{
    Bounded, Cloned, Copied, Enumerate, Filter, FilterMap, FlatMapIter, FlattenIter, Inspect, Map,
    Zip, ZipEq,
};
pub use indexed::{
    FromParallelIterator, IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator,
    IntoParallelRefMutIterator, ParallelBridge, ParallelExtend,
};
pub use parallel_iterator::ParallelIterator;
pub use slice::{Chunks, ChunksExact, ChunksMut, ParallelSlice, ParallelSliceMut, Windows};
pub use sources::{
    Drain, IntoIter, Iter, IterBridge, IterMut, RangeInclusiveIter, RangeInteger, RangeIter,
};
pub use stateful::{Fold, MapInit, WithState};
