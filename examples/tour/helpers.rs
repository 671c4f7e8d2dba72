//! What every section of the tour uses: headers, timing, interleaved rounds, speed-ups with their limits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub(crate) fn header(title: &str, what: &str) {
    println!("== {title}");
    println!("   {what}");
}

pub(crate) fn secs(d: Duration) -> String {
    if d < Duration::from_millis(100) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

/// Set when the load average says other programs compete for the cores.
pub(crate) static IS_BUSY: AtomicBool = AtomicBool::new(false);

/// The load average, when other programs compete for the cores.
pub(crate) fn load_note(cores: usize) -> String {
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok());
    let is_busy = load.is_some_and(|load| load >= 0.5 * cores as f64);
    // Relaxed: read later by this same thread only.
    IS_BUSY.store(is_busy, Ordering::Relaxed);
    match load {
        Some(load) if is_busy => format!(
            ", load average {load:.2}: other programs are running, so speed-ups will be lower"
        ),
        Some(load) => format!(", load average {load:.2}"),
        None => String::new(),
    }
}

pub(crate) fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

pub(crate) fn time(f: impl FnOnce()) -> Duration {
    timed(f).1
}

/// Rounds each side is timed, after its untimed warm-up run.
pub(crate) const ROUNDS: usize = 5;

/// Runs every side once untimed (pages touched, threads started, caches
/// warm), then `ROUNDS` rounds in which every side runs once, the first
/// side rotating from round to round, so that a busy moment of the machine
/// does not land on one side only. Each side times its own run (so that
/// preparing its input stays out of the timing) and gets `state` to work
/// on. Returns each side's median.
pub(crate) fn interleaved<S>(
    state: &mut S,
    sides: &[&dyn Fn(&mut S) -> Duration],
) -> Vec<Duration> {
    for side in sides {
        side(state);
    }
    let mut times = vec![Vec::with_capacity(ROUNDS); sides.len()];
    for round in 0..ROUNDS {
        for turn in 0..sides.len() {
            let index = (round + turn) % sides.len();
            times[index].push(sides[index](state));
        }
    }
    times
        .into_iter()
        .map(|mut runs| {
            runs.sort();
            runs[runs.len() / 2]
        })
        .collect()
}

/// The most that running some work in parallel can gain over running it
/// sequentially.
#[derive(Clone, Copy)]
pub(crate) enum Limit {
    /// CPU-bound work on this many threads (or cores, if fewer).
    Cores(usize),
    /// A memory-bound loop on this many cores; `by_hand` is what splitting
    /// the same loop by hand over one std thread per core gained, measured
    /// beside it: what the memory system allows, give or take the noise.
    Memory { cores: usize, by_hand: f64 },
    /// Waiting (sleeps standing in for I/O): the sum of the waits over the
    /// shortest time any schedule on this many threads can take.
    Waits(f64),
}

/// How many times faster `parallel` was than `sequential`, said with its
/// limit. A ratio above the limit is flagged, never shown as a speed-up.
pub(crate) fn speedup(sequential: Duration, parallel: Duration, limit: Limit) -> String {
    let ratio = sequential.as_secs_f64() / parallel.as_secs_f64();
    let most = match limit {
        Limit::Cores(n) | Limit::Memory { cores: n, .. } => n as f64,
        Limit::Waits(most) => most.max(1.0),
    };
    // 10 %: about the spread of a median of five on a shared machine.
    if ratio > most * 1.1 {
        return format!(
            "{ratio:.2}× ?  above the {most:.1}× this work allows: the timings were disturbed, \
             this is not a speed-up"
        );
    }
    if let Limit::Memory { by_hand, .. } = limit {
        return if by_hand < 1.25 && ratio < 1.25 && IS_BUSY.load(Ordering::Relaxed) {
            format!(
                "{ratio:.2}×  no speed-up measured, but the machine is busy: this does not \
                 tell what the memory allows"
            )
        } else if by_hand < 1.25 && ratio < 1.25 {
            format!(
                "{ratio:.2}×  memory-bound: one core already keeps the memory busy (the loop \
                 split by hand gets {by_hand:.2}×), so no speed-up is within reach"
            )
        } else {
            format!("{ratio:.2}×  (memory-bound; the loop split by hand gets {by_hand:.2}×)")
        };
    }
    if ratio < 0.9 {
        return format!("{ratio:.2}×  slower: the machine is busy or the work too small to split");
    }
    match limit {
        Limit::Waits(most) => format!("{ratio:.2}×  (at most {most:.1}× for these waits)"),
        _ => format!("{ratio:.2}×  (at most {most}× on {most} cores)"),
    }
}

/// A small deterministic generator, so every run of the tour is the same.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}
