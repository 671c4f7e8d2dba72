//! Randomized stress: many submitter threads mixing every way of submitting,
//! cancelling, resizing, waiting and shutting down, checked by an exact
//! ledger of what happened to every task.
//!
//! Each round builds a pool with random limits (threads, max_threads, a
//! bounded queue or not, keep-alive) and lets a few submitter threads and a
//! controller loose on it:
//!
//! * submitters `spawn`, `try_spawn` (a bounded queue refuses with the
//!   closure back), `spawn_timeout`, `execute`, tasks that panic, tasks that
//!   spawn children and join them (nested waits), `cancel`, `wait_timeout`,
//!   detach handles, and at the end may call `shutdown` or `shutdown_now`;
//! * the controller resizes the pool (`set_threads` up and down), reads
//!   `stats`/`pending` and waits with `join_timeout`.
//!
//! Every task closure carries a token that records when its body runs and
//! when the closure is dropped. After the round (and a final `shutdown`):
//!
//! * every closure was dropped exactly once, and ran at most once;
//! * every task is accounted for exactly once: it ran, or it was cancelled
//!   (accepted, never ran; its handle, if joined, said `Cancelled`), or it
//!   was refused (the closure came back in `SpawnError`, or a `spawn` on the
//!   closed pool panicked and dropped it unrun);
//! * `stats()` agrees: `completed` = tasks that ran, `cancelled` = accepted
//!   tasks that never ran, `panicked` = planned panics that ran; nothing is
//!   queued or running, and `threads() == 0`; thread start and stop hooks
//!   balance.
//!
//! Reproducing: the base seed is printed (and is in every failure message);
//! `WORKCREW_STRESS_SEED=<seed>` replays the same sequence of rounds and
//! operations (thread timing still varies). `WORKCREW_STRESS_SCALE=<n>`
//! multiplies the number of rounds for soak runs.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Once};
use std::thread;
use std::time::{Duration, Instant};

use workcrew::{Pool, SpawnError, TaskError, TaskHandle};

/// Rounds in a default run, multiplied by `WORKCREW_STRESS_SCALE`: about
/// 15 s on two cores either way (`cargo test` builds without optimisations,
/// which makes a round about three times slower).
const ROUNDS: usize = if cfg!(debug_assertions) {
    4_000
} else {
    12_000
};
/// How long one round may take before it counts as hung.
const ROUND_LIMIT: Duration = Duration::from_secs(60);
/// Upper bound on task ids in one round (submitters × operations × children).
const MAX_TASKS: usize = 8 * 1024;
/// Panic payloads the stress test raises on purpose; the panic hook keeps
/// them off stderr.
const PLANNED: &str = "stress: planned panic";

// ---------------------------------------------------------------- seeds

/// SplitMix64: tiny, fast, and good enough to pick operations.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), near enough.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// An independent generator for a sub-task (a thread of the round).
    fn fork(&mut self) -> Rng {
        Rng::new(self.next())
    }
}

fn base_seed() -> u64 {
    match std::env::var("WORKCREW_STRESS_SEED") {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("WORKCREW_STRESS_SEED={text:?} is not a u64"))
        }
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos() as u64);
            Rng::new(nanos ^ u64::from(std::process::id())).next()
        }
    }
}

/// `base` times `WORKCREW_STRESS_SCALE` (or the other tests'
/// `WORKCREW_STRESS`), at least once.
fn scaled(base: usize) -> usize {
    let factor = ["WORKCREW_STRESS_SCALE", "WORKCREW_STRESS"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.parse::<usize>().ok())
        .unwrap_or(1);
    base * factor.max(1)
}

/// Keeps the planned panics (thousands of them) off stderr; every other
/// panic still goes to the default hook.
fn quiet_planned_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let text = common::payload_text(info.payload());
            if text.starts_with(PLANNED) || text.contains("the pool is closed") {
                return;
            }
            default(info);
        }));
    });
}

/// The pool of the round in progress, so that a round that hangs can be
/// reported with the pool's state.
static CURRENT_POOL: std::sync::Mutex<Option<Pool>> = std::sync::Mutex::new(None);

// ---------------------------------------------------------------- the ledger

/// What happened to every task of one round, written by the tasks and the
/// submitters, checked at the end.
struct Ledger {
    next_id: AtomicUsize,
    /// Times the task's body started.
    ran: Vec<AtomicU8>,
    /// Times the task's closure (its token) was dropped.
    dropped: Vec<AtomicU8>,
    /// The pool took the task (a handle came back, or `execute` returned).
    accepted: Vec<AtomicU8>,
    /// The submitter got the closure back, or `spawn` panicked on a closed
    /// pool and dropped it.
    refused: Vec<AtomicU8>,
    /// A joined handle said `Cancelled`, or `cancel()` returned true.
    seen_cancelled: Vec<AtomicU8>,
    /// The task was built to panic.
    panics: Vec<AtomicU8>,
}

impl Ledger {
    fn new() -> Arc<Ledger> {
        let column = || (0..MAX_TASKS).map(|_| AtomicU8::new(0)).collect();
        Arc::new(Ledger {
            next_id: AtomicUsize::new(0),
            ran: column(),
            dropped: column(),
            accepted: column(),
            refused: column(),
            seen_cancelled: column(),
            panics: column(),
        })
    }

    fn new_id(&self) -> usize {
        let id = self.next_id.fetch_add(1, SeqCst);
        assert!(id < MAX_TASKS, "the round made more than {MAX_TASKS} tasks");
        id
    }

    fn mark(column: &[AtomicU8], id: usize) {
        column[id].fetch_add(1, SeqCst);
    }

    fn get(column: &[AtomicU8], id: usize) -> u8 {
        column[id].load(SeqCst)
    }
}

/// Rides inside a task closure: counts the drop of the closure.
struct Token {
    id: usize,
    ledger: Arc<Ledger>,
}

impl Drop for Token {
    fn drop(&mut self) {
        Ledger::mark(&self.ledger.dropped, self.id);
    }
}

/// A small amount of real work, so that tasks overlap.
fn work(rng_word: u64) -> u64 {
    let mut x = rng_word | 1;
    for _ in 0..(rng_word % 200) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// A task's closure: records its run, works, maybe panics, returns its id.
fn task(
    ledger: &Arc<Ledger>,
    rng: &mut Rng,
    panics: bool,
) -> (usize, impl FnOnce() -> usize + Send + 'static) {
    let id = ledger.new_id();
    if panics {
        Ledger::mark(&ledger.panics, id);
    }
    let token = Token {
        id,
        ledger: ledger.clone(),
    };
    let word = rng.next();
    (id, move || {
        let token = token;
        Ledger::mark(&token.ledger.ran, token.id);
        work(word);
        if panics {
            panic!("{PLANNED} in task {}", token.id);
        }
        token.id
    })
}

/// Records the outcome of a joined handle and checks it against the ledger.
fn record_join(ledger: &Ledger, id: usize, outcome: Result<usize, TaskError>, context: &str) {
    match outcome {
        Ok(value) => {
            assert_eq!(
                value, id,
                "{context}: task {id} returned another task's value"
            );
            assert_eq!(
                Ledger::get(&ledger.ran, id),
                1,
                "{context}: task {id} Ok but ran != 1"
            );
            assert_eq!(
                Ledger::get(&ledger.panics, id),
                0,
                "{context}: task {id} should have panicked"
            );
        }
        Err(TaskError::Panicked(payload)) => {
            let text = common::payload_text(payload.as_ref());
            assert!(
                text.starts_with(PLANNED),
                "{context}: task {id}: unplanned panic {text:?}"
            );
            assert_eq!(
                Ledger::get(&ledger.ran, id),
                1,
                "{context}: task {id} panicked but ran != 1"
            );
            assert_eq!(
                Ledger::get(&ledger.panics, id),
                1,
                "{context}: task {id} panicked unplanned"
            );
        }
        Err(TaskError::Cancelled) => {
            assert_eq!(
                Ledger::get(&ledger.ran, id),
                0,
                "{context}: task {id} cancelled but ran"
            );
            Ledger::mark(&ledger.seen_cancelled, id);
        }
        Err(other) => {
            panic!("{context}: task {id}: unexpected outcome {other:?} (no deadline was set)")
        }
    }
}

/// Records a refused submission: the closure came back, so dropping it must
/// drop exactly that task's token, unrun.
fn record_refused<F>(ledger: &Ledger, id: usize, returned: F, context: &str) {
    Ledger::mark(&ledger.refused, id);
    assert_eq!(
        Ledger::get(&ledger.dropped, id),
        0,
        "{context}: task {id} dropped before it was handed back"
    );
    drop(returned);
    assert_eq!(
        Ledger::get(&ledger.dropped, id),
        1,
        "{context}: the closure handed back is not task {id}'s"
    );
    assert_eq!(
        Ledger::get(&ledger.ran, id),
        0,
        "{context}: refused task {id} ran"
    );
}

// ---------------------------------------------------------------- one round

/// The settings of one round, drawn from its seed.
#[derive(Debug, Clone, Copy)]
struct Settings {
    threads: usize,
    max_threads: usize,
    queue_capacity: Option<usize>,
    keep_alive: Duration,
    submitters: usize,
    operations: usize,
}

impl Settings {
    fn draw(rng: &mut Rng) -> Settings {
        let threads = rng.between(1, 3);
        Settings {
            threads,
            max_threads: threads + rng.below(3),
            queue_capacity: rng.chance(50).then(|| rng.between(1, 8)),
            keep_alive: Duration::from_micros(rng.below(2_000) as u64),
            submitters: rng.between(2, 3),
            operations: rng.between(40, 120),
        }
    }
}

/// The handles a submitter keeps to join at its end.
struct Kept {
    id: usize,
    handle: TaskHandle<usize>,
}

/// One submitter thread's life.
fn submitter(pool: Pool, ledger: Arc<Ledger>, mut rng: Rng, operations: usize, name: String) {
    let mut kept: Vec<Kept> = Vec::new();
    for op in 0..operations {
        let context = format!("{name} op {op}");
        let panics = rng.chance(10);
        match rng.below(100) {
            // spawn: waits for room; panics if the pool is closed.
            0..=29 => {
                let (id, f) = task(&ledger, &mut rng, panics);
                match panic::catch_unwind(AssertUnwindSafe(|| pool.spawn(f))) {
                    Ok(handle) => {
                        Ledger::mark(&ledger.accepted, id);
                        kept.push(Kept { id, handle });
                    }
                    Err(payload) => {
                        let text = common::payload_text(payload.as_ref());
                        assert!(text.contains("closed"), "{context}: spawn panicked: {text}");
                        assert!(pool.is_closed(), "{context}: spawn refused an open pool");
                        // The closure was dropped with the refused call.
                        Ledger::mark(&ledger.refused, id);
                        assert_eq!(
                            Ledger::get(&ledger.dropped, id),
                            1,
                            "{context}: refused closure not dropped"
                        );
                    }
                }
            }
            // try_spawn: never blocks; Full or Closed hand the closure back.
            30..=54 => {
                let (id, f) = task(&ledger, &mut rng, panics);
                match pool.try_spawn(f) {
                    Ok(handle) => {
                        Ledger::mark(&ledger.accepted, id);
                        kept.push(Kept { id, handle });
                    }
                    Err(SpawnError::Full(f)) => record_refused(&ledger, id, f, &context),
                    Err(refused) => {
                        assert!(refused.is_closed() && pool.is_closed(), "{refused}");
                        record_refused(&ledger, id, refused.into_inner(), &context);
                    }
                }
            }
            // spawn_timeout: waits a little for room.
            55..=59 => {
                let (id, f) = task(&ledger, &mut rng, panics);
                let timeout = Duration::from_micros(rng.below(500) as u64);
                match pool.spawn_timeout(f, timeout) {
                    Ok(handle) => {
                        Ledger::mark(&ledger.accepted, id);
                        kept.push(Kept { id, handle });
                    }
                    Err(error) => record_refused(&ledger, id, error.into_inner(), &context),
                }
            }
            // execute: fire and forget.
            60..=66 => {
                let (id, f) = task(&ledger, &mut rng, panics);
                let f = move || {
                    f();
                };
                match panic::catch_unwind(AssertUnwindSafe(|| pool.execute(f))) {
                    Ok(()) => Ledger::mark(&ledger.accepted, id),
                    Err(_) => {
                        assert!(pool.is_closed(), "{context}: execute refused an open pool");
                        Ledger::mark(&ledger.refused, id);
                    }
                }
            }
            // A task that spawns children on its own pool and joins them.
            67..=76 => {
                let children = rng.between(1, 3);
                let (id, f) = nested(&pool, &ledger, &mut rng, children);
                match pool.try_spawn(f) {
                    Ok(handle) => {
                        Ledger::mark(&ledger.accepted, id);
                        kept.push(Kept { id, handle });
                    }
                    Err(error) => record_refused(&ledger, id, error.into_inner(), &context),
                }
            }
            // cancel one of the kept handles.
            77..=86 => {
                if !kept.is_empty() {
                    let index = rng.below(kept.len());
                    let Kept { id, handle } = &kept[index];
                    if handle.cancel() {
                        assert!(
                            handle.is_finished(),
                            "{context}: cancelled task {id} not finished"
                        );
                        assert!(!handle.cancel(), "{context}: task {id} cancelled twice");
                        Ledger::mark(&ledger.seen_cancelled, *id);
                    }
                }
            }
            // wait a little for one of them.
            87..=91 => {
                if !kept.is_empty() {
                    let index = rng.below(kept.len());
                    let timeout = Duration::from_micros(rng.below(300) as u64);
                    if kept[index].handle.wait_timeout(timeout) {
                        assert!(kept[index].handle.is_finished());
                    }
                }
            }
            // join one now.
            92..=96 => {
                if !kept.is_empty() {
                    let Kept { id, handle } = kept.swap_remove(rng.below(kept.len()));
                    record_join(&ledger, id, handle.join(), &context);
                }
            }
            // detach one: its fate shows in the ledger only.
            _ => {
                if !kept.is_empty() {
                    drop(kept.swap_remove(rng.below(kept.len())));
                }
            }
        }
    }
    // The end of this submitter: maybe shut the pool down from here.
    match rng.below(10) {
        0..=1 => pool.shutdown(),
        2 => {
            pool.shutdown_now();
        }
        _ => {}
    }
    for Kept { id, handle } in kept {
        record_join(&ledger, id, handle.join(), &format!("{name} final join"));
    }
}

/// A task that, when it runs, spawns `children` tasks on its own pool (into
/// its own deque) and joins them; returns its own id. The children exist only
/// if the parent runs; children the pool refuses (closed by `shutdown_now`)
/// are recorded as refused.
fn nested(
    pool: &Pool,
    ledger: &Arc<Ledger>,
    rng: &mut Rng,
    children: usize,
) -> (usize, impl FnOnce() -> usize + Send + 'static) {
    let (id, own) = task(ledger, rng, false);
    let pool = pool.clone();
    let ledger = ledger.clone();
    let mut rng = rng.fork();
    (id, move || {
        let mut handles = Vec::new();
        for _ in 0..children {
            let panics = rng.chance(10);
            let (kid, f) = task(&ledger, &mut rng, panics);
            // From a worker, `spawn` runs the child inline when the bounded
            // queue is full, and panics once `shutdown_now` closed the pool.
            match panic::catch_unwind(AssertUnwindSafe(|| pool.spawn(f))) {
                Ok(handle) => {
                    Ledger::mark(&ledger.accepted, kid);
                    handles.push((kid, handle));
                }
                Err(_) => {
                    assert!(pool.is_closed(), "a nested spawn refused an open pool");
                    Ledger::mark(&ledger.refused, kid);
                }
            }
        }
        for (kid, handle) in handles {
            record_join(&ledger, kid, handle.join(), "nested join");
        }
        drop(pool);
        own()
    })
}

/// The controller: resizes and watches the pool while the submitters run.
fn controller(pool: &Pool, rng: &mut Rng, settings: Settings, submitters_done: &AtomicUsize) {
    while submitters_done.load(SeqCst) < settings.submitters {
        match rng.below(10) {
            0..=3 => pool.set_threads(rng.between(1, settings.max_threads + 1)),
            4..=5 => {
                pool.join_timeout(Duration::from_micros(rng.below(500) as u64));
            }
            6..=8 => {
                // Readable while the pool runs, and self-consistent.
                let stats = pool.stats();
                assert!(stats.idle_threads <= stats.threads, "{stats:?}");
                let _ = pool.pending();
            }
            _ => thread::yield_now(),
        }
        thread::sleep(Duration::from_micros(50));
    }
}

/// Totals of one round, for the summary line.
#[derive(Default, Debug)]
struct Tally {
    tasks: usize,
    ran: usize,
    cancelled: usize,
    refused: usize,
    panicked: usize,
}

/// Runs one round with `seed` and checks the ledger; returns its tally.
fn round(seed: u64) -> Tally {
    let mut rng = Rng::new(seed);
    let settings = Settings::draw(&mut rng);
    let context = format!("round seed {seed:#x} {settings:?}");
    let ledger = Ledger::new();
    let starts = Arc::new(AtomicUsize::new(0));
    let stops = Arc::new(AtomicUsize::new(0));
    let handled_panics = Arc::new(AtomicUsize::new(0));
    let mut builder = Pool::builder()
        .threads(settings.threads)
        .max_threads(settings.max_threads)
        .keep_alive(settings.keep_alive)
        .on_thread_start({
            let starts = starts.clone();
            move || {
                starts.fetch_add(1, SeqCst);
            }
        })
        .on_thread_stop({
            let stops = stops.clone();
            move || {
                stops.fetch_add(1, SeqCst);
            }
        })
        .panic_handler({
            let handled = handled_panics.clone();
            move |payload| {
                let text = common::payload_text(payload.as_ref());
                assert!(
                    text.starts_with(PLANNED),
                    "unplanned panic reached the handler: {text}"
                );
                handled.fetch_add(1, SeqCst);
            }
        });
    if let Some(capacity) = settings.queue_capacity {
        builder = builder.queue_capacity(capacity);
    }
    let pool = builder.build().expect("valid settings");
    *CURRENT_POOL.lock().unwrap() = Some(pool.clone());

    let done = Arc::new(AtomicUsize::new(0));
    let start_line = Arc::new(Barrier::new(settings.submitters + 1));
    let submitters: Vec<_> = (0..settings.submitters)
        .map(|index| {
            let (pool, ledger, done, start_line) = (
                pool.clone(),
                ledger.clone(),
                done.clone(),
                start_line.clone(),
            );
            let rng = rng.fork();
            thread::Builder::new()
                .name(format!("stress submitter {index}"))
                .spawn(move || {
                    start_line.wait();
                    let name = format!("submitter {index}");
                    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                        submitter(pool, ledger, rng, settings.operations, name)
                    }));
                    done.fetch_add(1, SeqCst);
                    if let Err(payload) = outcome {
                        panic::resume_unwind(payload);
                    }
                })
                .expect("could not start a submitter thread")
        })
        .collect();
    start_line.wait();
    controller(&pool, &mut rng, settings, &done);
    for submitter in submitters {
        if let Err(payload) = submitter.join() {
            panic!("{context}: {}", common::payload_text(payload.as_ref()));
        }
    }
    pool.shutdown();

    // ---- the accounting
    assert_eq!(pool.threads(), 0, "{context}: threads left after shutdown");
    assert_eq!(
        starts.load(SeqCst),
        stops.load(SeqCst),
        "{context}: thread start and stop hooks do not balance"
    );
    let mut tally = Tally::default();
    let tasks = ledger.next_id.load(SeqCst);
    let mut planned_panics_ran = 0;
    for id in 0..tasks {
        let ran = Ledger::get(&ledger.ran, id);
        let dropped = Ledger::get(&ledger.dropped, id);
        let accepted = Ledger::get(&ledger.accepted, id);
        let refused = Ledger::get(&ledger.refused, id);
        let seen_cancelled = Ledger::get(&ledger.seen_cancelled, id);
        let what = format!(
            "{context}: task {id} (ran {ran}, dropped {dropped}, accepted {accepted}, refused {refused}, seen cancelled {seen_cancelled})"
        );
        assert_eq!(
            dropped, 1,
            "{what}: its closure must be dropped exactly once"
        );
        assert!(ran <= 1, "{what}: ran more than once");
        assert_eq!(
            accepted + refused,
            1,
            "{what}: must be accepted or refused, once"
        );
        if refused == 1 {
            assert_eq!(ran, 0, "{what}: refused but ran");
            tally.refused += 1;
        } else if ran == 1 {
            assert_eq!(seen_cancelled, 0, "{what}: ran but reported cancelled");
            tally.ran += 1;
            planned_panics_ran += usize::from(Ledger::get(&ledger.panics, id));
        } else {
            // Accepted, never ran: cancelled (by `cancel` or `shutdown_now`).
            tally.cancelled += 1;
        }
    }
    tally.tasks = tasks;
    tally.panicked = planned_panics_ran;
    let stats = pool.stats();
    assert_eq!(
        stats.completed as usize, tally.ran,
        "{context}: stats.completed vs tasks that ran; {stats:?}"
    );
    assert_eq!(
        stats.cancelled as usize, tally.cancelled,
        "{context}: stats.cancelled vs tasks cancelled; {stats:?}"
    );
    assert_eq!(
        stats.panicked as usize, planned_panics_ran,
        "{context}: stats.panicked vs planned panics; {stats:?}"
    );
    assert_eq!(
        (
            stats.queued,
            stats.running,
            stats.threads,
            stats.idle_threads
        ),
        (0, 0, 0, 0),
        "{context}: {stats:?}"
    );
    assert_eq!(pool.pending(), 0, "{context}");
    assert!(
        handled_panics.load(SeqCst) <= planned_panics_ran,
        "{context}: more panics handled than planned"
    );
    tally
}

#[test]
fn randomized_rounds_account_for_every_task_exactly_once() {
    quiet_planned_panics();
    let base = base_seed();
    let rounds = scaled(ROUNDS);
    eprintln!(
        "stress: base seed {base:#x} ({rounds} rounds); replay with WORKCREW_STRESS_SEED={base:#x}"
    );
    let started = Instant::now();
    let mut seeds = Rng::new(base);
    let mut total = Tally::default();
    for index in 0..rounds {
        let seed = seeds.next();
        let (finished_tx, finished_rx) = std::sync::mpsc::channel();
        let runner = thread::Builder::new()
            .name(format!("stress round {index}"))
            .spawn(move || {
                let outcome = panic::catch_unwind(|| round(seed));
                let _ = finished_tx.send(());
                outcome
            })
            .expect("could not start the round thread");
        if finished_rx.recv_timeout(ROUND_LIMIT).is_err() {
            let state = CURRENT_POOL
                .lock()
                .unwrap()
                .as_ref()
                .map(|pool| format!("{pool:?} {:?}", pool.stats()));
            panic!(
                "stress round {index} (seed {seed:#x}) did not finish within {ROUND_LIMIT:?}: \
                 stuck with {state:?}; replay with WORKCREW_STRESS_SEED={base:#x}"
            );
        }
        let tally = runner
            .join()
            .expect("the round thread catches panics")
            .unwrap_or_else(|payload| {
                panic!(
                    "stress round {index} failed (base seed {base:#x}, replay with \
                 WORKCREW_STRESS_SEED={base:#x}): {}",
                    common::payload_text(payload.as_ref())
                )
            });
        *CURRENT_POOL.lock().unwrap() = None;
        total.tasks += tally.tasks;
        total.ran += tally.ran;
        total.cancelled += tally.cancelled;
        total.refused += tally.refused;
        total.panicked += tally.panicked;
    }
    eprintln!(
        "stress: {rounds} rounds, {} tasks ({} ran, {} of them panicking; {} cancelled; {} refused) in {:.1?}; seed {base:#x}",
        total.tasks,
        total.ran,
        total.panicked,
        total.cancelled,
        total.refused,
        started.elapsed()
    );
}
