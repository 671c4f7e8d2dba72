//! The measuring machinery every workload shares: command-line options, the
//! interleaved runner, summaries and the printed table.
//!
//! # What always holds
//!
//! * A **contender** is one peer doing one workload. Calling it measures once:
//!   it builds its pool, warms it, times the workload and tears the pool down,
//!   and only the workload itself is inside the timed region (see [`fresh`]).
//! * Contenders are **interleaved**: round `r` runs every contender once, in
//!   the list order rotated by `r`, so slow drifts of a noisy machine (other
//!   builds, frequency changes) spread over all of them instead of landing on
//!   whoever ran last.
//! * No pool outlives its measurement: [`fresh`] waits until the process has
//!   no more threads than before the pool was built, so a peer whose threads
//!   are still exiting never steals CPU from the next one.
//! * Every reported value is "lower is better"; the first contender is the
//!   reference (workcrew) and the ratio column is `peer median / workcrew
//!   median`, so a ratio above 1 means workcrew is faster.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use workcrew_benches::markdown::figure;
use workcrew_benches::results::Row;

// ------------------------------------------------------------ options

/// What the command line asked for (`cargo run --release -p workcrew-benches -- ...`).
pub struct Options {
    /// Workload ids to run (`--only W1,W3`); `None` runs all of them.
    pub only: Option<Vec<String>>,
    /// Rounds per workload (`--reps N`); `None` keeps each workload's default.
    pub reps: Option<usize>,
    /// Where to write the figures in `workcrew_benches::results`' format.
    pub save: Option<PathBuf>,
    /// Where to draw the chart of the figures (SVG).
    pub chart: Option<PathBuf>,
}

pub const USAGE: &str = "\
usage: cargo run --release -p workcrew-benches -- [--only W1,W3,...] [--reps N]
                                                  [--save FILE] [--chart FILE.svg]

  --only IDS        run only these workloads (comma-separated, e.g. W1,W6)
  --reps N          rounds per workload (each round measures every peer once;
                    at least 5 by default, more for the short workloads)
  --save FILE       also write the figures to FILE (tab-separated; the `chart`
                    binary redraws the chart or prints the README table from it)
  --chart FILE.svg  also draw the chart of this run (peer / workcrew per workload)
  --list            print the workloads and exit";

pub enum Command {
    Run(Options),
    List,
    Help,
}

impl Command {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
        let mut options = Options {
            only: None,
            reps: None,
            save: None,
            chart: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline_value) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
                None => (arg.clone(), None),
            };
            let mut value = |name: &str| {
                inline_value
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match flag.as_str() {
                "--help" | "-h" => return Ok(Command::Help),
                "--list" => return Ok(Command::List),
                "--only" => {
                    let ids = value("--only")?
                        .split(',')
                        .map(|id| id.trim().to_ascii_uppercase())
                        .filter(|id| !id.is_empty())
                        .collect();
                    options.only = Some(ids);
                }
                "--reps" => {
                    let text = value("--reps")?;
                    let reps: usize = text
                        .parse()
                        .map_err(|_| format!("--reps wants a whole number, not {text:?}"))?;
                    if reps == 0 {
                        return Err("--reps must be at least 1".into());
                    }
                    options.reps = Some(reps);
                }
                "--save" => options.save = Some(value("--save")?.into()),
                "--chart" => options.chart = Some(value("--chart")?.into()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(Command::Run(options))
    }
}

impl Options {
    pub fn wants(&self, id: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|wanted| wanted.eq_ignore_ascii_case(id)))
    }

    pub fn reps_or(&self, default: usize) -> usize {
        self.reps.unwrap_or(default)
    }
}

// ------------------------------------------------------------ samples

/// One measurement of one contender: the table's value and, for workloads
/// that report a second figure (p99, GB/s, ...), that figure.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub value: f64,
    pub extra: Option<f64>,
}

impl Sample {
    pub fn new(value: f64) -> Sample {
        Sample { value, extra: None }
    }

    pub fn with_extra(value: f64, extra: f64) -> Sample {
        Sample {
            value,
            extra: Some(extra),
        }
    }

    /// Nanoseconds per item.
    pub fn ns_per(elapsed: Duration, items: u64) -> Sample {
        Sample::new(elapsed.as_nanos() as f64 / items as f64)
    }

    pub fn ms(elapsed: Duration) -> Sample {
        Sample::new(elapsed.as_secs_f64() * 1e3)
    }
}

/// The middle value (mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> f64 {
    let sorted = sorted(values);
    let n = sorted.len();
    assert!(n > 0, "median of nothing");
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile, `p` in 0..=100.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let sorted = sorted(values);
    assert!(!sorted.is_empty(), "percentile of nothing");
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

// ------------------------------------------------------------ the runner

/// How a workload's table is labelled.
pub struct Table {
    pub id: &'static str,
    pub title: &'static str,
    /// Unit of the value column ("ns/task", "ms", ...).
    pub unit: &'static str,
    /// Header of the second figure's column, if the workload reports one.
    pub extra: Option<&'static str>,
    /// A contender (by name) every other one is also compared with, as
    /// `baseline median / contender median`: a speed-up over `sequential`,
    /// or the fraction of `memcpy` bandwidth reached.
    pub baseline: Option<&'static str>,
    /// One line printed under the table (what the figures mean).
    pub note: &'static str,
}

/// One peer doing one workload; each call measures once.
pub struct Contender<'a> {
    pub name: String,
    measure: Box<dyn FnMut() -> Sample + 'a>,
}

impl<'a> Contender<'a> {
    pub fn new(name: impl Into<String>, measure: impl FnMut() -> Sample + 'a) -> Contender<'a> {
        Contender {
            name: name.into(),
            measure: Box::new(measure),
        }
    }
}

/// What one workload measured: its table's unit and second figure, and
/// every contender's figures over all rounds (the reference first).
pub struct Measured {
    pub unit: &'static str,
    pub extra: Option<&'static str>,
    pub rounds: usize,
    pub rows: Vec<Row>,
}

/// Runs `reps` interleaved rounds of every contender, prints the table and
/// returns the figures (the first row is the reference).
pub fn compare(table: &Table, reps: usize, mut contenders: Vec<Contender<'_>>) -> Measured {
    assert!(!contenders.is_empty(), "{}: no contenders", table.id);
    let count = contenders.len();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::with_capacity(reps); count];
    let started = Instant::now();
    eprint!("{} ({} rounds x {} peers) ", table.id, reps, count);
    for round in 0..reps {
        for turn in 0..count {
            let index = (turn + round) % count;
            let sample = (contenders[index].measure)();
            samples[index].push(sample);
        }
        eprint!(".");
    }
    eprintln!(" {:.1} s", started.elapsed().as_secs_f64());

    let rows: Vec<Row> = contenders
        .iter()
        .zip(&samples)
        .map(|(contender, samples)| {
            let values: Vec<f64> = samples.iter().map(|s| s.value).collect();
            let extras: Vec<f64> = samples.iter().filter_map(|s| s.extra).collect();
            Row {
                name: contender.name.clone(),
                median: median(&values),
                min: values.iter().copied().fold(f64::INFINITY, f64::min),
                extra: (!extras.is_empty()).then(|| median(&extras)),
            }
        })
        .collect();
    print!("{}", render(table, reps, &rows));
    Measured {
        unit: table.unit,
        extra: table.extra,
        rounds: reps,
        rows,
    }
}

/// The table as text.
pub fn render(table: &Table, reps: usize, summaries: &[Row]) -> String {
    let reference = summaries[0].median;
    let baseline = table
        .baseline
        .and_then(|name| summaries.iter().find(|s| s.name == name))
        .map(|s| (s.name.as_str(), s.median));
    let name_width = summaries
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{}  {}  [{}; median and min of {} rounds]",
        table.id, table.title, table.unit, reps
    );
    let mut header = format!(
        "  {:<name_width$}  {:>10}  {:>10}  {:>10}",
        "peer", "median", "min", "/ workcrew"
    );
    if let Some(extra) = table.extra {
        let _ = write!(header, "  {extra:>12}");
    }
    if let Some((name, _)) = baseline {
        let _ = write!(header, "  {:>14}", format!("vs {name}"));
    }
    let _ = writeln!(out, "{header}");
    for s in summaries {
        let _ = write!(
            out,
            "  {:<name_width$}  {:>10}  {:>10}  {:>10}",
            s.name,
            figure(s.median),
            figure(s.min),
            format!("{:.2}", s.median / reference),
        );
        if table.extra.is_some() {
            let text = s.extra.map_or_else(|| "-".to_string(), figure);
            let _ = write!(out, "  {text:>12}");
        }
        if let Some((_, base)) = baseline {
            let _ = write!(out, "  {:>14}", format!("{:.2}x", base / s.median));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "  ({})", table.note);
    out
}

/// Times `f` once; returns its result (dropped by the caller, after the
/// timing) and the elapsed time.
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let result = f();
    (result, start.elapsed())
}

// ------------------------------------------------------------ pool lifetime

/// Threads of a pool that uses "all cores".
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Builds a pool, runs `body` on it (which warms it and times what it
/// measures), then tears the pool down and waits until all of its threads
/// have exited. Nothing here but `body`'s own timing is measured.
pub fn fresh<P, R>(
    build: impl FnOnce() -> P,
    body: impl FnOnce(&P) -> R,
    teardown: impl FnOnce(P),
) -> R {
    let threads_before = live_threads();
    let pool = build();
    let result = body(&pool);
    teardown(pool);
    wait_for_threads(threads_before);
    result
}

/// Threads of this process right now (`None` where /proc is missing).
pub fn live_threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task")
        .ok()
        .map(|entries| entries.count())
}

/// Waits until the process has at most `limit` threads: a peer whose drop
/// returns before its threads exit (rayon, threadpool) is still finished
/// before the next measurement starts.
fn wait_for_threads(limit: Option<usize>) {
    let Some(limit) = limit else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while live_threads().is_some_and(|now| now > limit) {
        if Instant::now() > deadline {
            eprintln!("warning: a pool's threads did not exit within 30 s");
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

// ------------------------------------------------------------ waiting for tasks

/// The one way every peer's tasks report completion: a count-down latch that
/// each task captures by reference and counts down as its last action.
pub struct Latch {
    left: AtomicUsize,
    is_open: Mutex<bool>,
    opened: Condvar,
}

impl Latch {
    /// A latch for `count` tasks that lives for the rest of the process.
    ///
    /// Tasks are `'static`, and capturing an `Arc` instead would add a
    /// second contended atomic (the reference count) to every task and blur
    /// the pools' own costs; a leaked latch is a few dozen bytes per
    /// measurement. The closure still captures a pointer, so every boxed
    /// task is a real allocation.
    pub fn leaked(count: usize) -> &'static Latch {
        Box::leak(Box::new(Latch {
            left: AtomicUsize::new(count),
            is_open: Mutex::new(count == 0),
            opened: Condvar::new(),
        }))
    }

    pub fn count_down(&self) {
        // AcqRel: the last task acquires every other task's release, then
        // hands it all to the waiter through the mutex.
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.is_open.lock().unwrap() = true;
            self.opened.notify_all();
        }
    }

    pub fn wait(&self) {
        let mut is_open = self.is_open.lock().unwrap();
        while !*is_open {
            is_open = self.opened.wait(is_open).unwrap();
        }
    }
}

/// `value` for the rest of the process, so `'static` tasks can share it by
/// reference; see [`Latch::leaked`] for why not an `Arc`.
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

// ------------------------------------------------------------ CPU time

/// CPU time (ns) each thread of this process has used so far, by thread id,
/// from `/proc/self/task/*/schedstat` (nanosecond resolution, unlike the
/// 10 ms ticks of `/proc/self/stat`). `None` where that is unavailable.
pub fn cpu_time_by_thread() -> Option<Vec<(u32, u64)>> {
    let mut times = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let entry = entry.ok()?;
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A thread may exit between the listing and the read: skip it.
        let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue;
        };
        let on_cpu = text.split_whitespace().next()?.parse().ok()?;
        times.push((tid, on_cpu));
    }
    Some(times)
}

/// The id of the calling thread as /proc names it.
pub fn current_tid() -> Option<u32> {
    std::fs::read_link("/proc/thread-self")
        .ok()?
        .file_name()?
        .to_str()?
        .parse()
        .ok()
}
