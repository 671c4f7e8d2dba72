//! rayon's own test cases for the sources, adaptors and consumers workcrew
//! offers (issue 13: "rayon's own tests for the adaptors we offer are the
//! judge of behaviour"), written anew against `workcrew::prelude`.
//!
//! Each test names the rayon tests it mirrors (`src/iter/test.rs`,
//! `src/slice/test.rs`, `src/range*.rs`, `tests/*.rs`, `rayon-core`); the
//! expected values were checked against rayon's documentation and against
//! the sequential `Iterator`. Where workcrew documents a different
//! behaviour (a panic stops the hand-out of new pieces, which rayon only
//! does under `panic_fuse`), the test asserts workcrew's and says so.
//!
//! Everything runs under [`with_deadline`]; most cases on a four-thread
//! pool (`pool().install`), a few from outside any pool (the global pool),
//! as rayon's tests do. The cases live in `tests/iter_rayon_cases/`, one
//! module per group (sources, slices, adaptors, searches, collecting,
//! sorts, pools); this file holds what they share.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use common::{numbers, panic_text_of, spin, with_deadline, LIMIT};
use workcrew::prelude::*;
use workcrew::Pool;

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(4))
}

/// Runs `body` on the four-thread pool, under the deadline.
fn on_pool<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> R {
    with_deadline(LIMIT, move || pool().install(body))
}

/// Compiles only for an indexed parallel iterator.
fn is_indexed<I: IndexedParallelIterator>(_: &I) {}

/// `len` small numbers below `modulus` (many duplicates), from `seed`.
fn small_numbers(len: usize, modulus: u64, seed: u64) -> Vec<i32> {
    numbers(len, seed)
        .into_iter()
        .map(|x| (x % modulus) as i32)
        .collect()
}

// The cases, by what they exercise (tests/iter_rayon_cases/).
#[path = "iter_rayon_cases/adaptors.rs"]
mod adaptors;
#[path = "iter_rayon_cases/collecting.rs"]
mod collecting;
#[path = "iter_rayon_cases/pools.rs"]
mod pools;
#[path = "iter_rayon_cases/searches.rs"]
mod searches;
#[path = "iter_rayon_cases/slices.rs"]
mod slices;
#[path = "iter_rayon_cases/sorts.rs"]
mod sorts;
#[path = "iter_rayon_cases/sources.rs"]
mod sources;
