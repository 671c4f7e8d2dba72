//! A tour of workcrew through the Python programs it replaces: the squares
//! example of spacepy's `thread_job`, the URL fetcher of the
//! `multiprocessing.dummy` tutorials, the classic `threadpool` module's
//! requests with callbacks, spacepy's `thread_map`; then what those pools
//! have no answer to: streaming with `imap`, recursive `fork_join`, `race`;
//! for rayon users, a word count written with `workcrew::prelude::*`; and
//! control of running work (a progress bar, deadlines, cancellation).
//!
//! Every timing compares like with like. Both sides run the same
//! non-inlined function on memory that is already touched; each side runs
//! once untimed, then the sides take turns for five rounds (rotating who
//! goes first) and the medians are shown. Every speed-up is printed with the
//! most its work allows: one core per thread for CPU work, what a hand-made
//! split over one std thread per core gains for a memory-bound loop, the
//! overlap of the waits for sleeps. A figure above that limit is flagged as
//! a disturbed measurement rather than shown as a speed-up.
//!
//! Run with `cargo run --release --example tour`.

mod beyond;
mod control;
mod helpers;
mod python;
mod rayon_prelude;

use std::time::Instant;

use beyond::{first_mirror_wins, recursive_fork_join, streaming_with_imap};
use control::control_of_running_work;
use helpers::{load_note, secs};
use python::{
    fetch_urls, requests_with_callbacks, spacepy_thread_job, squares, thread_map_over_a_list,
};
use rayon_prelude::word_count_as_in_rayon;

fn main() {
    // Some jobs below fail on purpose; the pool hands their panics back as
    // values, and the tour prints them itself. Keep the default hook's
    // "thread panicked" lines out of the tables.
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("workcrew tour — {cores} CPU(s){}\n", load_note(cores));

    squares(cores);
    fetch_urls();
    requests_with_callbacks();
    spacepy_thread_job(cores);
    thread_map_over_a_list(cores);
    streaming_with_imap();
    recursive_fork_join(cores);
    first_mirror_wins();
    word_count_as_in_rayon(cores);
    control_of_running_work();

    println!("tour finished in {}", secs(started.elapsed()));
}
