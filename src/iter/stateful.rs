//! Adaptors with state beyond the item: `map_init` (a value per worker
//! thread), `fold` (one accumulator per piece) and the adaptor behind
//! `collect::<Result<_, _>>()` (stops the hand-out at the first error).
//!
//! Invariants:
//!
//! * `map_init`'s `init` runs in [`Producer::local`], which the driver calls
//!   at most once per participant, before its first claim, on the
//!   participant's thread; a participant is one worker thread (a thread
//!   ends its participation only when the hand-out is over, so it never
//!   joins the same call twice), so `init` runs at most once per worker
//!   thread per call (plus once on a calling thread outside the pool);
//! * after [`UntilErr`] meets an error, it reports the producer drained,
//!   and every piece yields nothing; the error kept is the one from the
//!   lowest piece.

use std::ops::Range;

use crate::iter::plumbing::Producer;
use crate::iter::{IndexedParallelIterator, ParallelIterator};
use crate::sync::{lock, AtomicBool, Mutex, Ordering};

/// The iterator of [`ParallelIterator::map_init`]: `f` with a state that
/// `init` makes at most once per worker thread per call.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let lengths: Vec<usize> = (0..3)
///     .into_par_iter()
///     .map_init(String::new, |buffer, i| {
///         buffer.clear();
///         buffer.push_str(&"x".repeat(i));
///         buffer.len()
///     })
///     .collect();
/// assert_eq!(lengths, [0, 1, 2]);
/// ```
#[derive(Clone, Debug)]
pub struct MapInit<I, INIT, F> {
    pub(crate) base: I,
    pub(crate) init: INIT,
    pub(crate) f: F,
}

impl<I, INIT, T, F, R> ParallelIterator for MapInit<I, INIT, F>
where
    I: ParallelIterator,
    INIT: Fn() -> T + Sync + Send,
    F: Fn(&mut T, I::Item) -> R + Sync + Send,
    R: Send,
{
    type Item = R;
    type Producer = MapInit<I::Producer, INIT, F>;
    fn into_producer(self) -> Self::Producer {
        MapInit {
            base: self.base.into_producer(),
            init: self.init,
            f: self.f,
        }
    }
}

impl<I, INIT, T, F, R> IndexedParallelIterator for MapInit<I, INIT, F>
where
    I: IndexedParallelIterator,
    INIT: Fn() -> T + Sync + Send,
    F: Fn(&mut T, I::Item) -> R + Sync + Send,
    R: Send,
{
    fn len(&self) -> usize {
        self.base.len()
    }
}

impl<P, INIT, T, F, R> Producer for MapInit<P, INIT, F>
where
    P: Producer,
    INIT: Fn() -> T + Sync + Send,
    F: Fn(&mut T, P::Item) -> R + Sync + Send,
{
    type Item = R;
    type Local = (P::Local, T);
    type Piece<'p>
        = WithState<'p, P::Piece<'p>, T, F>
    where
        Self: 'p;
    const EXACT: bool = P::EXACT;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        (self.base.local(), (self.init)())
    }
    unsafe fn piece<'p>(
        &'p self,
        local: &'p mut Self::Local,
        range: Range<usize>,
    ) -> Self::Piece<'p> {
        let (base_local, state) = local;
        WithState {
            // SAFETY: the caller's contract, passed on.
            items: unsafe { self.base.piece(base_local, range) },
            state: state as *mut T,
            f: &self.f,
        }
    }
    fn min_len(&self) -> usize {
        self.base.min_len()
    }
    fn max_len(&self) -> usize {
        self.base.max_len()
    }
    fn is_drained(&self) -> bool {
        self.base.is_drained()
    }
}

/// A piece of [`MapInit`]: maps with the participant's state; named only
/// by the plumbing.
#[doc(hidden)]
pub struct WithState<'p, I, T, F> {
    items: I,
    /// The participant's state, borrowed mutably for `'p` (a pointer only
    /// because the producer's type does not say that `T` outlives `'p`).
    state: *mut T,
    f: &'p F,
}

impl<I: Iterator, T, F: Fn(&mut T, I::Item) -> R, R> Iterator for WithState<'_, I, T, F> {
    type Item = R;
    #[inline]
    fn next(&mut self) -> Option<R> {
        let item = self.items.next()?;
        // SAFETY: `state` comes from the `&'p mut` the piece was made with,
        // which nothing else uses while the piece lives.
        Some((self.f)(unsafe { &mut *self.state }, item))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

/// The iterator of [`ParallelIterator::fold`]: one accumulator per piece
/// (a few per thread), to be put together with `reduce` or `sum`.
///
/// # Examples
///
/// ```
/// use workcrew::prelude::*;
/// let total: u64 = (1..=100u64)
///     .into_par_iter()
///     .fold(|| 0u64, |acc, x| acc + x)
///     .reduce(|| 0, |a, b| a + b);
/// assert_eq!(total, 5_050);
/// ```
#[derive(Clone, Debug)]
pub struct Fold<I, ID, F> {
    pub(crate) base: I,
    pub(crate) identity: ID,
    pub(crate) f: F,
}

impl<I, ID, T, F> ParallelIterator for Fold<I, ID, F>
where
    I: ParallelIterator,
    ID: Fn() -> T + Sync + Send,
    F: Fn(T, I::Item) -> T + Sync + Send,
    T: Send,
{
    type Item = T;
    type Producer = Fold<I::Producer, ID, F>;
    fn into_producer(self) -> Self::Producer {
        Fold {
            base: self.base.into_producer(),
            identity: self.identity,
            f: self.f,
        }
    }
}

impl<P, ID, T, F> Producer for Fold<P, ID, F>
where
    P: Producer,
    ID: Fn() -> T + Sync + Send,
    F: Fn(T, P::Item) -> T + Sync + Send,
{
    type Item = T;
    type Local = P::Local;
    type Piece<'p>
        = std::option::IntoIter<T>
    where
        Self: 'p;
    const EXACT: bool = false;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        // SAFETY: the caller's contract, passed on.
        let items = unsafe { self.base.piece(local, range) };
        Some(items.fold((self.identity)(), &self.f)).into_iter()
    }
    fn min_len(&self) -> usize {
        self.base.min_len()
    }
    fn max_len(&self) -> usize {
        self.base.max_len()
    }
    fn is_drained(&self) -> bool {
        self.base.is_drained()
    }
}

/// The `Ok` values of a parallel iterator of `Result`s, until the first
/// `Err` (which it keeps for the caller): `collect::<Result<C, E>>()`.
pub(crate) struct UntilErr<'e, P, E> {
    pub(crate) base: P,
    pub(crate) failed: AtomicBool,
    /// The error of the lowest piece that met one, with its start.
    pub(crate) error: &'e Mutex<Option<(usize, E)>>,
}

impl<P, T, E> Producer for UntilErr<'_, P, E>
where
    P: Producer<Item = Result<T, E>>,
    E: Send,
{
    type Item = T;
    type Local = P::Local;
    type Piece<'p>
        = OkPiece<'p, P::Piece<'p>, E>
    where
        Self: 'p;
    const EXACT: bool = false;
    const CHEAP: bool = P::CHEAP;
    fn len(&self) -> usize {
        self.base.len()
    }
    fn local(&self) -> Self::Local {
        self.base.local()
    }
    unsafe fn piece<'p>(&'p self, local: &'p mut P::Local, range: Range<usize>) -> Self::Piece<'p> {
        OkPiece {
            // SAFETY: the caller's contract, passed on.
            items: unsafe { self.base.piece(local, range.clone()) },
            owner: self,
            start: range.start,
        }
    }
    fn min_len(&self) -> usize {
        self.base.min_len()
    }
    fn max_len(&self) -> usize {
        self.base.max_len()
    }
    fn is_drained(&self) -> bool {
        // Relaxed: a hint to stop claiming; the error itself is under a lock.
        self.failed.load(Ordering::Relaxed) || self.base.is_drained()
    }
}

/// A piece of [`UntilErr`].
pub(crate) struct OkPiece<'p, I, E> {
    items: I,
    owner: &'p (dyn Failed<E> + Sync),
    start: usize,
}

/// What an [`OkPiece`] needs of its producer.
pub(crate) trait Failed<E> {
    fn fail(&self, start: usize, error: E);
    fn has_failed(&self) -> bool;
}

impl<P, E> Failed<E> for UntilErr<'_, P, E> {
    fn fail(&self, start: usize, error: E) {
        self.failed.store(true, Ordering::Relaxed);
        let mut slot = lock(self.error);
        if slot.as_ref().is_none_or(|(first, _)| start < *first) {
            *slot = Some((start, error));
        }
    }
    fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

impl<I: Iterator<Item = Result<T, E>>, T, E> Iterator for OkPiece<'_, I, E> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if self.owner.has_failed() {
            return None;
        }
        match self.items.next()? {
            Ok(value) => Some(value),
            Err(error) => {
                self.owner.fail(self.start, error);
                None
            }
        }
    }
}
