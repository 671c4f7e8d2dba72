//! The driver: runs a producer's pieces through a consumer, first on the
//! calling thread, then, if the work turns out to be big, on the pool.
//!
//! # Protocol
//!
//! 1. **Alone.** The caller claims pieces of `0..len` itself, in order,
//!    starting at one base index (or `with_min_len`), reading a cheap clock
//!    (the time-stamp counter) after each; each next piece is sized to half
//!    of what the rest of `ALONE_BUDGET` fits at the rate so far (between
//!    twice and `GROWTH` times the last). A chain that runs no user code per
//!    item (`Producer::CHEAP` and `Consumer::CHEAP`: a sum over a slice of
//!    numbers) starts instead with one untimed piece of `CHEAP_FIRST`
//!    items and starts the clock after it. A call whose work ends within
//!    the budget never touches the pool: a sum over a thousand numbers is
//!    one piece and no clock read more than the sequential loop. Items that
//!    take long go parallel after the first one.
//! 2. **Together.** Past the budget, what is left is claimed through one
//!    atomic cursor by the caller's worker (or, from outside any pool, one
//!    task on the global pool the caller waits for) plus helper jobs that
//!    idle workers steal (`scheduler::part::run_with_helpers`): no split tree.
//!    Each participant sizes its pieces from the rate measured alone and
//!    then from its own pieces (what fits `PIECE` at its average time per
//!    item so far, at most doubling or halving from one piece to the next),
//!    never above a fair share of what is left, so the tail spreads.
//!
//! Pieces a participant claims back to back form one *run*, folded in
//! order; runs are put together in base-index order (plumbing.rs). No
//! piece is shorter than `with_min_len` unless the whole is: a claim that
//! would leave a shorter tail takes it along or leaves `min` (`piece_end`).
//!
//! Promises kept from the loops below (parallel/map.rs): a panic stops the
//! hand-out, the pieces in progress finish, and the panic resumes in the
//! caller; a consumer's `Flow::Stop` (an answer is known) stops the hand-out
//! and raises the [`Halt`] that pieces in progress may poll; a task that is
//! asked to stop (`is_cancelled`) stops claiming, and the call ends as a
//! checkpoint does. Helpers run under the call's control block and the
//! caller's context; a waiting caller only helps with its own helpers'
//! work (part.rs), so nested calls on a one-thread pool simply run alone.
//!
//! Invariant: a claim is followed by its `piece` call with nothing that can
//! fail in between, so the claimed indices are exactly a prefix of `0..len`
//! (what `Vec`'s producer relies on to drop the rest).

use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::iter::plumbing::{Consumer, Flow, Halt, Producer};
use crate::parallel::seed::global;
use crate::scheduler::ambient::{Ambient, Stopped};
use crate::scheduler::context::EnteredContext;
use crate::scheduler::part::run_with_helpers;
use crate::scheduler::worker::Worker;
use crate::sync::{lock, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::task::control::Control;

/// Work the caller does alone before it asks the pool for help, in ticks
/// of [`ticks`] (about 5 µs at 2.5 GHz).
const ALONE_BUDGET: u64 = 12_000;
/// The untimed first piece of a chain that runs no user code per item
/// (`Producer::CHEAP`): a few microseconds at most.
const CHEAP_FIRST: usize = 2048;
/// How much each piece may grow over the last while the caller is alone ...
const GROWTH: usize = 32;
/// ... once the clock has run this long (a sixteenth of the budget, about
/// 0.3 µs); before, a piece only doubles.
const RATE_TICKS: u64 = ALONE_BUDGET / 16;
/// What a participant's piece should take: long enough that a claim (one
/// atomic add on a shared line) costs under a thousandth of it, short
/// enough that the last pieces end close together.
const PIECE: Duration = Duration::from_micros(40);
/// What a first piece on the pool should take, from the rate measured
/// alone, in ticks (about 40 µs at 2.5 GHz).
const TARGET_TICKS: u128 = 100_000;

type Runs<R> = Vec<(Range<usize>, R)>;

/// A cheap clock for the alone phase: the time-stamp counter where there is
/// one (a few nanoseconds; `Instant::now` can cost 20 to 80), else
/// nanoseconds of `Instant` (also under Miri, which has no `rdtsc`).
#[inline]
fn ticks() -> u64 {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        // SAFETY: `rdtsc` exists on every x86_64 processor and only reads
        // the counter.
        unsafe { std::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    {
        use std::sync::OnceLock;
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// Runs `producer` through `consumer` and returns the answer.
///
/// # Panics
///
/// If a closure of the chain panics (after the pieces in progress ended).
/// A task that is asked to stop meanwhile ends here as at a checkpoint.
pub(crate) fn drive<P, C>(producer: P, consumer: C) -> C::Output
where
    P: Producer,
    C: Consumer<P::Item>,
{
    let len = producer.len();
    let halt = Halt::new();
    if len == 0 || producer.is_drained() {
        return consumer.finish(std::iter::empty());
    }
    let min = producer.min_len().max(1);
    let max = producer.max_len().max(min);

    // Alone: no atomics, no pool. A chain with no user code per item
    // starts with one untimed piece of `CHEAP_FIRST` items (a sum over a
    // thousand numbers reads no clock at all); any other starts timed, with
    // `min` items.
    let cheap = P::CHEAP && C::CHEAP;
    let mut local = producer.local();
    let mut run = consumer.start();
    let mut next = 0;
    let mut size = if cheap {
        CHEAP_FIRST.clamp(min, max)
    } else {
        min
    };
    // When the clock started, and at which base index.
    let mut clock = (!cheap).then(|| (ticks(), 0));
    let mut stopped = false;
    // The alone phase is short: one look at the task's cancellation before
    // it; the pool phase looks before every claim.
    if crate::is_cancelled() {
        drop(run);
        panic::resume_unwind(Box::new(Stopped));
    }
    // A panic here abandons the pieces that ended (`0..next`: `next` moves
    // only after a piece's fold returned), so a collect drops what it made.
    let alone = panic::catch_unwind(AssertUnwindSafe(|| {
        loop {
            let end = piece_end(next, size, len, min, max);
            // SAFETY: `next..end` lies in `0..len` and past every earlier piece.
            let items = unsafe { producer.piece(&mut local, next..end) };
            let flow = consumer.fold(&mut run, next..end, items, &halt);
            next = end;
            if flow == Flow::Stop {
                stopped = true;
                break;
            }
            if next >= len || producer.is_drained() {
                break;
            }
            let now = ticks();
            let (began, from) = *clock.get_or_insert((now, next));
            let spent = now.wrapping_sub(began);
            if spent > ALONE_BUDGET {
                break;
            }
            if next == from {
                // The untimed first piece: the next one, as big, is timed.
                continue;
            }
            size = alone_next_size(size, spent, next - from).clamp(min, max);
        }
    }));
    if let Err(payload) = alone {
        drop(panic::catch_unwind(AssertUnwindSafe(|| {
            consumer.abandon(vec![(0..next, run)])
        })));
        panic::resume_unwind(payload);
    }
    if stopped || next >= len || producer.is_drained() {
        return consumer.finish(std::iter::once((0..next, run)));
    }
    let (began, from) = clock.expect("the clock starts after the first piece");
    let mut runs = vec![(0..next, run)];

    // Together.
    let spent = u128::from(ticks().wrapping_sub(began).max(1));
    let timed = (next - from).max(1) as u128;
    let first_size = usize::try_from(TARGET_TICKS * timed / spent).unwrap_or(usize::MAX);
    let together = Together {
        producer: &producer,
        consumer: &consumer,
        cursor: AtomicUsize::new(next),
        len,
        min,
        max,
        first_size: first_size.clamp(min, max),
        halt: &halt,
        failure: Mutex::new(None),
        runs: Mutex::new(Vec::new()),
    };
    let on_worker =
        Worker::with_current(|worker| worker.map(|worker| together.run(worker, Some(&mut local))));
    if on_worker.is_none() {
        drop(local);
        global().on_worker("a parallel iterator", |worker| together.run(worker, None));
    }
    let Together {
        cursor,
        failure,
        runs: more,
        ..
    } = together;
    runs.extend(more.into_inner().unwrap_or_else(|e| e.into_inner()));
    runs.sort_by_key(|(range, _)| range.start);
    if let Some(payload) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        // The partial results are user values: a panic dropping them must
        // not replace the first one.
        drop(panic::catch_unwind(AssertUnwindSafe(|| {
            consumer.abandon(runs)
        })));
        panic::resume_unwind(payload);
    }
    let complete = halt.is_raised() || cursor.into_inner() >= len || producer.is_drained();
    if !complete {
        // Stopped claiming because the task was asked to stop.
        drop(panic::catch_unwind(AssertUnwindSafe(|| {
            consumer.abandon(runs)
        })));
        panic::resume_unwind(Box::new(Stopped));
    }
    consumer.finish(runs.into_iter())
}

/// Where a piece of `size` base indices from `start` ends, so that no
/// piece is shorter than `min` unless the whole is (rayon's
/// `with_min_len`): a tail shorter than `min` joins this piece if it then
/// stays within `max(max, 2 * min - 1)`, else this piece leaves `min` for
/// the last one.
fn piece_end(start: usize, size: usize, len: usize, min: usize, max: usize) -> usize {
    let end = start + size.min(len - start);
    let tail = len - end;
    if tail == 0 || tail >= min {
        end
    } else if end - start + tail <= max.max(min.saturating_mul(2) - 1) {
        len
    } else {
        len - min
    }
}

/// The state the participants of the pool phase share.
struct Together<'a, P: Producer, C: Consumer<P::Item>> {
    producer: &'a P,
    consumer: &'a C,
    /// The next base index to hand out.
    cursor: AtomicUsize,
    len: usize,
    min: usize,
    max: usize,
    first_size: usize,
    halt: &'a Halt,
    failure: Mutex<Option<Box<dyn std::any::Any + Send>>>,
    runs: Mutex<Runs<C::Run>>,
}

impl<P: Producer, C: Consumer<P::Item>> Together<'_, P, C> {
    /// The pool phase on `worker`: the caller's part plus helpers.
    fn run(&self, worker: &Worker, caller_local: Option<&mut P::Local>) {
        let threads = worker.pool().registry.max_threads().max(1);
        // The pieces' control block, under the caller's (task/control.rs).
        let group = Control::new(Ambient::current());
        let context = EnteredContext::current();
        let hooks = worker.pool().config.context.as_ref();
        let left = self.len - self.cursor.load(Ordering::Relaxed);
        // Helpers only for at least one first piece's worth each (about
        // `TARGET_TICKS` of work): waking a thread for less costs more than
        // it saves. Pieces never exceed a fair share of what is left.
        let helpers = (left / self.first_size).min(threads - 1);
        // A fair share counts the participants there can be: alone, the
        // caller takes what is left in pieces of a first piece's size.
        let participants = helpers + 1;
        let first = self
            .first_size
            .min(left.div_ceil(2 * participants))
            .clamp(self.min, self.max);
        let caller_local = CallerLocal {
            local: caller_local.map_or(std::ptr::null_mut(), |local| local as *mut P::Local),
            thread: std::thread::current().id(),
            taken: AtomicBool::new(false),
        };
        let work = || {
            let _pieces = group.ambient().enter();
            // The caller's own local, if it is a worker; helpers make theirs.
            let own = caller_local.take();
            context.run(hooks, || self.participate(&group, participants, first, own));
        };
        run_with_helpers(worker, helpers, &work);
    }

    /// Claims the next piece of about `size` base indices, if any is left.
    fn claim(&self, size: usize) -> Option<Range<usize>> {
        // Relaxed: the cursor only has to hand each index out once; the
        // results travel through the helpers' join.
        if self.min == 1 {
            let start = self.cursor.fetch_add(size, Ordering::Relaxed);
            return (start < self.len).then(|| start..start + size.min(self.len - start));
        }
        // A piece that would leave a tail shorter than `min` is settled
        // against the cursor's current value, so no one claims that tail.
        let mut start = self.cursor.load(Ordering::Relaxed);
        while start < self.len {
            let end = piece_end(start, size, self.len, self.min, self.max);
            match self.cursor.compare_exchange_weak(
                start,
                end,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(start..end),
                Err(now) => start = now,
            }
        }
        None
    }

    /// One participant: claims pieces until none is left, the answer is
    /// known, the task is asked to stop, or something panicked.
    fn participate(
        &self,
        group: &Control,
        participants: usize,
        first: usize,
        caller_local: Option<&mut P::Local>,
    ) {
        // The run being extended; its range covers only pieces whose fold
        // returned, so after a panic it holds exactly what was made.
        let mut current: Option<(Range<usize>, C::Run)> = None;
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut made = None;
            let mut local = caller_local;
            let mut size = first;
            let (mut items_done, mut time_done) = (0usize, Duration::ZERO);
            loop {
                if self.halt.is_raised() || crate::is_cancelled() || self.producer.is_drained() {
                    break;
                }
                if local.is_none() {
                    if self.cursor.load(Ordering::Relaxed) >= self.len {
                        break;
                    }
                    // Made before the claim (see the invariant), on this
                    // thread, at most once per participant.
                    local = Some(made.insert(self.producer.local()));
                }
                let local = local.as_deref_mut().expect("made above");
                let Some(Range { start, end }) = self.claim(size) else {
                    break;
                };
                let began = Instant::now();
                // SAFETY: the cursor handed `start..end` out to this claim only.
                let items = unsafe { self.producer.piece(local, start..end) };
                let run = match &mut current {
                    Some((range, run)) if range.end == start => run,
                    _ => {
                        if let Some(finished) = current.take() {
                            lock(&self.runs).push(finished);
                        }
                        &mut current.insert((start..start, self.consumer.start())).1
                    }
                };
                let flow = self.consumer.fold(run, start..end, items, self.halt);
                if let Some((range, _)) = &mut current {
                    range.end = end;
                }
                if flow == Flow::Stop {
                    self.halt.raise();
                    break;
                }
                // The next size from this participant's average time per
                // item so far, not from the last piece alone: with items of
                // uneven cost (a search whose branches differ a thousandfold)
                // a cheap piece would otherwise double the size into a piece
                // of expensive items that holds up the end.
                items_done += end - start;
                time_done += began.elapsed();
                size = next_size(size, items_done, time_done);
                if participants > 1 {
                    let left = self.len.saturating_sub(self.cursor.load(Ordering::Relaxed));
                    size = size.min(left / (2 * participants));
                }
                size = size.clamp(self.min, self.max);
            }
        }));
        if let Some(finished) = current {
            lock(&self.runs).push(finished);
        }
        if let Err(payload) = outcome {
            self.halt.raise();
            // Fail fast: pieces still running elsewhere are asked to stop.
            group.request();
            lock(&self.failure).get_or_insert(payload);
        }
    }
}

/// The caller's next piece while alone, after `timed` items took `spent`
/// ticks: half of what the rest of the budget fits at that rate, but at
/// least twice and at most `GROWTH` times the last piece, so items that
/// turn costly later overshoot the budget by a bounded factor. A rate
/// measured over almost no time says nothing (one cheap item of a search
/// whose next items take 100 µs each): until the clock has run for
/// `RATE_TICKS`, pieces only double.
fn alone_next_size(size: usize, spent: u64, timed: usize) -> usize {
    let left = u128::from(ALONE_BUDGET.saturating_sub(spent));
    let fits = left * timed as u128 / u128::from(spent.max(1));
    let fits = usize::try_from(fits / 2).unwrap_or(usize::MAX);
    let growth = if spent < RATE_TICKS { 2 } else { GROWTH };
    fits.clamp(size.saturating_mul(2), size.saturating_mul(growth))
}

/// A participant's next piece size: what fits [`PIECE`] at its average
/// time per item so far, moving at most a factor of two from `size` per
/// piece (so one odd piece cannot swing it far). Never 0.
fn next_size(size: usize, items_done: usize, time_done: Duration) -> usize {
    let nanos = time_done.as_nanos().max(1);
    let fits = PIECE.as_nanos().saturating_mul(items_done as u128) / nanos;
    let fits = usize::try_from(fits).unwrap_or(usize::MAX);
    fits.clamp(size / 2, size.saturating_mul(2)).max(1)
}

/// The caller's `Local` from the alone phase, lent to the caller's own
/// participant (so `map_init` calls `init` once on the caller's thread).
struct CallerLocal<L> {
    /// Null when the caller has none to lend.
    local: *mut L,
    thread: std::thread::ThreadId,
    taken: AtomicBool,
}

// SAFETY: the pointer is only dereferenced by `take`, on the thread that
// owns the value (`thread`), once (`taken`); other threads only read the
// thread id and the flag.
unsafe impl<L> Sync for CallerLocal<L> {}

impl<L> CallerLocal<L> {
    // A `&mut` from `&self` is the point: the flag makes it unique, and only
    // the owner's thread gets it.
    #[allow(clippy::mut_from_ref)]
    fn take(&self) -> Option<&mut L> {
        if self.local.is_null() || std::thread::current().id() != self.thread {
            return None;
        }
        // Relaxed: only the owning thread ever swaps the flag.
        if self.taken.swap(true, Ordering::Relaxed) {
            return None;
        }
        // SAFETY: 1. on the owner's thread, which lent the value for the
        // whole pool phase; 2. once (`taken`), so the `&mut` is unique.
        Some(unsafe { &mut *self.local })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn alone_pieces_only_double_until_the_rate_means_something() {
        // One cheap item in 10 ticks: the budget would "fit" a thousand more,
        // but the next piece is two items, not 32.
        assert_eq!(alone_next_size(1, 10, 1), 2);
        // Measured over a sixteenth of the budget, the rate decides (half of
        // the 15/16 left at 64 items per sixteenth: 480, past doubling) ...
        assert_eq!(alone_next_size(64, RATE_TICKS, 64), 480);
        // ... up to 32x the last piece.
        assert_eq!(alone_next_size(1, RATE_TICKS, 64), GROWTH);
        // Items that cost a lot: still at least twice the last piece.
        assert_eq!(alone_next_size(4, ALONE_BUDGET - 1, 4), 8);
    }

    #[test]
    fn a_participants_size_follows_its_average_item_and_moves_by_two_at_most() {
        let micros = Duration::from_micros;
        // 35 µs per item on average: one item fits the 40 µs piece.
        assert_eq!(next_size(1, 10, micros(350)), 1);
        // A cheap last piece does not double a size the average says is right.
        assert_eq!(next_size(2, 11, micros(350)), 1);
        // 1 ns per item: 40,000 fit, but a piece at most doubles.
        assert_eq!(next_size(1_000, 1_000, micros(1)), 2_000);
        // Items far slower than the piece: halves, never below one.
        assert_eq!(next_size(8, 8, micros(8_000)), 4);
        assert_eq!(next_size(1, 1, micros(1_000)), 1);
        // No time measured yet (a clock that did not move): grows.
        assert_eq!(next_size(3, 3, Duration::ZERO), 6);
    }
}
