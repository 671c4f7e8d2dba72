//! How long an idle worker keeps looking for work before it parks.
//!
//! Parking is cheap for the worker and dear for whoever needs it next: on
//! this class of machine (a VM's shared vCPUs) the waker spends ~13 µs in
//! the wake-up system call and the parked thread runs ~25 µs later. A
//! parallel iterator called in a loop (a generation of life, a sum per
//! frame) comes back within tens of microseconds, so a helper that parked
//! between two calls joins each call ~40 µs late; an idle pool fed one task
//! every 10 ms (benchmark W7) must not spin at all.
//!
//! So each worker learns its own idle gaps. Past the fixed search rounds it
//! goes on looking (`yield`ing between looks) while the idle spell is
//! younger than its *linger*, which starts at zero and is set from what
//! parking cost:
//!
//! * work found after parking, within [`MAX_LINGER`] of going idle: lingering
//!   that long would have found it awake, so the linger becomes twice that
//!   gap (at most `MAX_LINGER`);
//! * work found after parking, later than that: lingering was wasted, so the
//!   linger halves (and reaches zero after a few such spells);
//! * work found while looking: the linger stays.
//!
//! A pool fed a task every 10 ms never lingers; one whose helpers are asked
//! again 40 µs after each call lingers ~80 µs per spell, which costs at most
//! one wasted `MAX_LINGER` when the calls stop. Lingering never delays what
//! parking does for others: a worker lingers only while no peer has a
//! pending frame (otherwise it goes on to the heartbeat, heartbeat.rs), and
//! it leaves for exit or retirement checks exactly as a searching worker.
//! Under loom there is no clock and no lingering.

use std::cell::Cell;
#[cfg(not(loom))]
use std::time::Instant;

/// The longest an idle worker lingers.
#[cfg(not(loom))]
const MAX_LINGER: u64 = 200_000;

/// One worker's linger, in nanoseconds (owned by its thread).
pub(super) struct Linger {
    // Never read under loom, which does not linger.
    #[cfg_attr(loom, allow(dead_code))]
    nanos: Cell<u64>,
}

/// One idle spell: from the end of a job to the next one found.
pub(super) struct Spell {
    #[cfg(not(loom))]
    since: Instant,
    parked: Cell<bool>,
}

impl Linger {
    pub(super) fn new() -> Self {
        Linger {
            nanos: Cell::new(0),
        }
    }

    /// An idle spell starts.
    pub(super) fn begin(&self) -> Spell {
        Spell {
            #[cfg(not(loom))]
            since: Instant::now(),
            parked: Cell::new(false),
        }
    }

    /// Whether to look once more instead of parking.
    pub(super) fn goes_on(&self, spell: &Spell) -> bool {
        #[cfg(not(loom))]
        {
            let linger = self.nanos.get();
            !spell.parked.get() && linger > 0 && elapsed_nanos(spell.since) < linger
        }
        #[cfg(loom)]
        {
            let _ = spell;
            false
        }
    }

    /// The spell ended with a job found; learns from it if it had parked.
    pub(super) fn found(&self, spell: &Spell) {
        #[cfg(not(loom))]
        if spell.parked.get() {
            let gap = elapsed_nanos(spell.since);
            self.nanos.set(next_linger(self.nanos.get(), gap));
        }
        #[cfg(loom)]
        let _ = spell;
    }
}

impl Spell {
    /// The worker parks (for the first time or again) in this spell.
    pub(super) fn parks(&self) {
        self.parked.set(true);
    }
}

#[cfg(not(loom))]
fn elapsed_nanos(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The linger after a spell that parked and found work `gap` nanoseconds
/// after it began (module docs).
#[cfg(not(loom))]
fn next_linger(linger: u64, gap: u64) -> u64 {
    if gap <= MAX_LINGER {
        gap.saturating_mul(2).min(MAX_LINGER)
    } else {
        linger / 2
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn work_that_came_back_soon_after_parking_sets_twice_the_gap() {
        assert_eq!(next_linger(0, 40_000), 80_000);
        assert_eq!(next_linger(80_000, 30_000), 60_000);
        assert_eq!(next_linger(0, 150_000), MAX_LINGER);
    }

    #[test]
    fn work_that_came_back_late_halves_it_down_to_nothing() {
        let mut linger = MAX_LINGER;
        for _ in 0..20 {
            linger = next_linger(linger, 10_000_000);
        }
        assert_eq!(linger, 0);
    }

    #[test]
    fn a_fresh_worker_does_not_linger_and_a_spell_that_parked_does_not_go_on() {
        let linger = Linger::new();
        let spell = linger.begin();
        assert!(!linger.goes_on(&spell));
        linger.nanos.set(MAX_LINGER);
        assert!(linger.goes_on(&spell));
        spell.parks();
        assert!(!linger.goes_on(&spell));
    }
}
