//! Section 10: control of running work: a progress bar, deadlines, cancellation.

use std::time::{Duration, Instant};

use workcrew::Pool;

use crate::helpers::*;

// ------------------------------------------------------------------ 10. control

/// A progress bar on a long `imap`, per-item deadlines and stopping a
/// running task: what Python's pools cannot do to work already started.
pub(crate) fn control_of_running_work() {
    header(
        "10. control of running work: a progress bar, deadlines, cancellation",
        "240 items of 4 ms on 4 threads behind an indicatif bar (drawn when stderr is a terminal)",
    );
    let pool = Pool::new(4);
    let items = 240u64;
    let bar = indicatif::ProgressBar::new(items);
    let progress = bar.clone();
    let (sum, took) = timed(|| {
        pool.imap(0..items, |x| {
            std::thread::sleep(Duration::from_millis(4));
            x
        })
        // Counts finished items (on the workers), not the ones the reader
        // has taken: the bar moves while the reader is busy.
        .on_progress(move |p| progress.set_position(p.done as u64))
        .sum::<u64>()
    });
    bar.finish_and_clear();
    println!(
        "   sum {sum} in {} (sequentially 240 × 4 ms = 960 ms); the bar counted {} finished items",
        secs(took),
        bar.position()
    );

    let outcomes = pool.map_with_timeout(0..6u64, Duration::from_millis(30), |n| {
        if n == 3 {
            // A stuck item: only its deadline ends it.
            while !workcrew::is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        n * n
    });
    let shown: Vec<String> = outcomes
        .iter()
        .map(|outcome| match outcome {
            Ok(value) => value.to_string(),
            Err(error) if error.is_timed_out() => "timed out".to_string(),
            Err(error) => error.to_string(),
        })
        .collect();
    println!(
        "   map_with_timeout, 30 ms per item, item 3 stuck: [{}]",
        shown.join(", ")
    );

    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let handle = pool.spawn(move || -> u64 {
        started_tx.send(()).ok();
        loop {
            workcrew::checkpoint();
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    started_rx.recv().ok();
    let asked = Instant::now();
    handle.request_cancel();
    let outcome = handle.join();
    println!(
        "   a running task asked to stop: {} {} after the request\n",
        match outcome {
            Err(error) if error.is_cancelled() => "stopped at its checkpoint,".to_string(),
            other => format!("{other:?}"),
        },
        secs(asked.elapsed())
    );
    pool.shutdown();
}
