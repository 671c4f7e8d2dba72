//! The two halves every parallel iterator is made of: a [`Producer`] that
//! hands out the items at a range of *base indices*, and a `Consumer` that
//! folds the items of one piece and puts the pieces' results together.
//!
//! A parallel iterator is a description: turning it into a producer
//! (`ParallelIterator::into_producer`) and handing it to the driver
//! (`drive.rs`) with a consumer is what runs it. The driver cuts `0..len` of
//! base indices into pieces, claims them through one atomic cursor and
//! calls [`Producer::piece`] for each; adaptors wrap the sequential iterator
//! of the piece below them (a `map` maps it, a `zip` zips two pieces of the
//! same range), so each piece runs as one plain, inlinable `Iterator` chain.
//!
//! Invariants:
//!
//! * the driver calls `piece` at most once for every base index (pieces are
//!   disjoint), claims them in increasing order from one cursor (so when a
//!   piece starting at `s` is claimed, every index below `s` has been), and
//!   calls `piece` right after each claim;
//! * a producer whose `EXACT` is true yields exactly one item per base index,
//!   in index order (the *indexed* iterators: `enumerate`, `zip`, collecting
//!   straight into place rely on it);
//! * `Local` is a participant's own state (made on the thread that claims,
//!   kept across its pieces, dropped there: never shared, never sent).
//!
//! These traits are public only because the public traits name them; they
//! are not part of the API and may change.

use std::ops::Range;

/// The items at a range of base indices (see the module docs).
#[doc(hidden)]
#[allow(clippy::len_without_is_empty)]
pub trait Producer: Sync + Send {
    /// What the pieces yield.
    type Item;
    /// One participant's state across its pieces (`map_init`'s value).
    type Local;
    /// The sequential iterator over one piece.
    type Piece<'p>: Iterator<Item = Self::Item>
    where
        Self: 'p;

    /// Whether every base index yields exactly one item, in order.
    const EXACT: bool;

    /// Whether a piece runs no user code per item (a slice or a range, and
    /// `copied`, `enumerate`, `zip` over them): a piece of a couple of
    /// thousand items then costs at most a few microseconds, so the driver
    /// runs one that big first without timing it (see [`cheap`]).
    const CHEAP: bool = false;

    /// Base indices: pieces are sub-ranges of `0..len()`.
    fn len(&self) -> usize;

    /// A participant's state, made on its thread before its first piece.
    fn local(&self) -> Self::Local;

    /// The items of base indices `range`.
    ///
    /// # Safety
    ///
    /// `range` lies within `0..len()`, and no base index is passed to `piece`
    /// twice over the producer's life (a mutable slice hands out `&mut`
    /// pieces, a vector moves its items out).
    unsafe fn piece<'p>(
        &'p self,
        local: &'p mut Self::Local,
        range: Range<usize>,
    ) -> Self::Piece<'p>;

    /// The least base indices a piece should have (`with_min_len`).
    fn min_len(&self) -> usize {
        1
    }

    /// The most base indices a piece may have (`with_max_len`).
    fn max_len(&self) -> usize {
        usize::MAX
    }

    /// Whether nothing more will come, whatever is left of `0..len()`: an
    /// iterator behind `par_bridge` ran out, or a `Result` collect met an
    /// error. The driver stops claiming.
    fn is_drained(&self) -> bool {
        false
    }
}

/// What a consumer tells the driver after a piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Keep handing out pieces.
    Continue,
    /// The answer is known (`any`, `find_first`, ...): hand out no more.
    Stop,
}

/// Raised by the driver when it stops handing out pieces, so a piece in
/// progress can give up early (`find_any`, `any`, `all`).
pub(crate) struct Halt(pub(crate) crate::sync::AtomicBool);

impl Halt {
    pub(crate) fn new() -> Halt {
        Halt(crate::sync::AtomicBool::new(false))
    }

    /// Relaxed: a hint to stop early; results travel through the driver's
    /// join, not through this flag.
    pub(crate) fn is_raised(&self) -> bool {
        self.0.load(crate::sync::Ordering::Relaxed)
    }

    pub(crate) fn raise(&self) {
        self.0.store(true, crate::sync::Ordering::Relaxed);
    }
}

/// Whether values of `T` are cheap to move, add or compare with no user
/// code to speak of: no drop glue (so no heap behind them) and at most four
/// words. A heuristic for [`Producer::CHEAP`] and `Consumer::CHEAP`: a type
/// with its own `Add` or `Clone` that does real work and still has no drop
/// glue costs at most one untimed first piece of such work.
pub(crate) const fn cheap<T>() -> bool {
    !std::mem::needs_drop::<T>() && std::mem::size_of::<T>() <= 4 * std::mem::size_of::<usize>()
}

/// Folds the items of pieces and puts the pieces' results together.
///
/// A *run* is the result of pieces one participant claimed back to back
/// (contiguous base indices), folded in order; `finish` receives every run
/// in base-index order, so an associative (not necessarily commutative)
/// operation gives the sequential answer.
pub(crate) trait Consumer<T>: Sync {
    /// The result of one run.
    type Run: Send;
    /// The answer.
    type Output;

    /// Whether folding an item runs no user code to speak of (`count`, a
    /// `sum` of numbers, `collect`): with a [`Producer::CHEAP`] producer the
    /// driver starts with one big untimed piece.
    const CHEAP: bool = false;

    /// An empty run.
    fn start(&self) -> Self::Run;

    /// Folds the items of the piece at base indices `range` into `run`.
    fn fold<I: Iterator<Item = T>>(
        &self,
        run: &mut Self::Run,
        range: Range<usize>,
        items: I,
        halt: &Halt,
    ) -> Flow;

    /// The answer from every run, in base-index order (empty when there
    /// were no items).
    fn finish<R: Iterator<Item = (Range<usize>, Self::Run)>>(self, runs: R) -> Self::Output;

    /// Disposes of the runs of a call that failed (a panic): the default
    /// drops them (a run of items written in place drops those items, as
    /// does a run lost to a panic in its own piece).
    fn abandon(self, runs: Vec<(Range<usize>, Self::Run)>)
    where
        Self: Sized,
    {
        drop(runs);
    }
}

/// A producer as a parallel iterator, for consumers that adapt the chain
/// they were given (`collect::<Result<_, _>>()`).
pub(crate) struct Produced<P>(pub(crate) P);

impl<P: Producer> crate::iter::ParallelIterator for Produced<P>
where
    P::Item: Send,
{
    type Item = P::Item;
    type Producer = P;
    fn into_producer(self) -> P {
        self.0
    }
}
