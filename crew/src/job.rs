//! One job's life on a pool thread: capture set-up, attempts (with
//! `--retries` and `--timeout`), bookkeeping (through [`crate::finish`]:
//! tallies, halt, joblog, results) and handing its output to the emitter
//! or the reorder window.
//!
//! Invariants:
//! - Every job that reaches [`run`] is counted, logged and released exactly
//!   once, whether it succeeded, failed, timed out, was killed, or could not
//!   start at all (then it counts as failed, exit value 127 or 126, and the
//!   reason is printed as its stderr).
//! - Only the last attempt's output is kept: spool files are emptied before
//!   a retry, and a `--pipe` block is rewound so the retry reads it whole.
//! - No retry starts once crew is stopping.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::exec::{spawn, Ending, Launch, RunningJobs, Sink};
use crate::finish::{conclude, halt_message, not_started_message, report_lost_output, TableRow};
use crate::joblog::JobLog;
use crate::linebuf::relay_lines;
use crate::order::Reorder;
use crate::output::{written_len, Emitter, Stream};
use crate::pipe::Block;
use crate::progress::Progress;
use crate::results::ResultsDir;
use crate::schedule::{Scheduler, Stop};
use crate::spool::TempFiles;
use crate::template::CommandLine;

/// The exit value of a job `--filter` left out (GNU's, a skipped job's).
const FILTERED_EXITVAL: i32 = -2;

/// Where jobs' stdout and stderr go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// Into files, printed whole when the job ends (the default).
    Group,
    /// Relayed line by line while the job runs.
    Lines,
    /// Straight to crew's stdout/stderr.
    Ungroup,
    /// `-k --line-buffer`: the job whose turn it is when it starts (every
    /// earlier job printed) relays its lines live, as GNU prints the
    /// oldest job; the others are grouped and printed in order.
    OrderedLines,
}

/// What all jobs share.
pub struct Context {
    /// How output is captured.
    pub capture: Capture,
    /// `-k`.
    pub keep_order: bool,
    /// `--timeout`.
    pub timeout: Option<crate::timeout::Timeout>,
    /// `--process-slot-var`.
    pub slot_var: Option<std::ffi::OsString>,
    /// `--retries`: attempts in all, at least 1.
    pub attempts: u32,
    /// The shell for shell-mode commands.
    pub shell: std::ffi::OsString,
    /// `-t`: commands on stderr as they start.
    pub verbose: bool,
    /// `-v`: commands on stdout, before the job's output.
    pub print_commands: bool,
    /// `--joblog`.
    pub joblog: Option<JobLog>,
    /// `--results DIR`.
    pub results: Option<ResultsDir>,
    /// `--results FILE.csv/.tsv/.json`.
    pub table: Option<crate::table::ResultsTable>,
    /// Spool files for captured output.
    pub files: Arc<TempFiles>,
    /// Whether a job's capture failure was printed: crew stops at the
    /// first, so the jobs already running into the same problem (one per
    /// slot) only count as failed instead of repeating it.
    pub is_capture_failure_reported: AtomicBool,
    /// crew's stdout and stderr.
    pub emitter: Emitter,
    /// The `-k` window.
    pub reorder: Reorder,
    /// Slots, tallies, halting.
    pub scheduler: Arc<Scheduler>,
    /// Process groups of running jobs.
    pub running: Arc<RunningJobs>,
    /// The status line.
    pub progress: Progress,
    /// The hosts of a remote run (`-S`).
    pub remote: Option<Arc<crate::remote::Remote>>,
}

/// One job, ready to run.
pub struct Job {
    /// Sequence number (`{#}`, joblog Seq), from 1.
    pub seq: u64,
    /// Start order among the jobs crew runs (the `-k` order), from 0.
    pub order: u64,
    /// Slot (`{%}`), from 1.
    pub slot: usize,
    /// What to run.
    pub command: CommandLine,
    /// The program's full path when found on `PATH` (direct commands).
    pub program: Option<std::path::PathBuf>,
    /// The command as a shell line (joblog, `-v`).
    pub display: Vec<u8>,
    /// `--tag`/`--tagstring` prefix.
    pub tag: Option<Vec<u8>>,
    /// The `--pipe` block for its stdin.
    pub block: Option<Block>,
    /// Its input values (kept for `--results FILE.csv` only).
    pub values: Vec<Vec<u8>>,
    /// Where `--results` keeps its output.
    pub results_dir: Option<std::path::PathBuf>,
    /// Its files and host in a remote run.
    pub remote: crate::remote::JobFiles,
    /// `--filter` left it out: it is not started and fails with GNU's
    /// exit value -2 (shown, logged and counted like any failed job).
    pub is_filtered: bool,
    /// Its own attempts, when `--retries` holds replacement strings.
    pub attempts: Option<u32>,
}

/// Output files of a grouped job.
struct Captured {
    stdout: File,
    stderr: File,
    /// Whether the files go back to the spool for reuse afterwards: only
    /// spool files that no leftover process of the job can still write to.
    is_spool: bool,
}

impl Captured {
    fn open(
        context: &Context,
        seq: u64,
        results_dir: Option<&std::path::Path>,
    ) -> std::io::Result<Captured> {
        if let (Some(results), Some(dir)) = (&context.results, results_dir) {
            let (stdout, stderr) = results.create(dir, seq)?;
            return Ok(Captured {
                stdout,
                stderr,
                is_spool: false,
            });
        }
        Ok(Captured {
            stdout: context.files.take()?,
            stderr: context.files.take()?,
            is_spool: true,
        })
    }

    /// Empties both files (a retry, or an output that must not be
    /// printed), noting a full filesystem first: truncating frees room.
    fn reset(&mut self, context: &Context) {
        context.files.fullness.check(&self.stdout);
        for file in [&mut self.stdout, &mut self.stderr] {
            let _ = file.set_len(0);
            let _ = file.seek(SeekFrom::Start(0));
        }
    }
}

/// Runs `job` to the end. Called on a pool thread.
pub fn run(context: &Arc<Context>, mut job: Job) {
    let slot = SlotGuard {
        context,
        slot: job.slot,
        order: job.order,
    };
    let capture = match context.capture {
        Capture::OrderedLines if context.reorder.released() == job.order => Capture::Lines,
        Capture::OrderedLines => Capture::Group,
        capture => capture,
    };
    let mut captured = match capture {
        Capture::Group => match Captured::open(context, job.seq, job.results_dir.as_deref()) {
            Ok(captured) => Some(captured),
            Err(error) => {
                // Relaxed: only which job prints is decided here; the swap
                // itself is atomic, so exactly one does.
                if !context
                    .is_capture_failure_reported
                    .swap(true, Ordering::Relaxed)
                {
                    let message = format!(
                        "crew: cannot capture the output of job {}: {error}\n",
                        job.seq
                    );
                    context.emitter.write(Stream::Stderr, message.as_bytes());
                }
                context.scheduler.stop(Stop::Fatal);
                let ending = Ending::NotStarted(error);
                let _ = conclude(
                    context,
                    &job,
                    &ending,
                    SystemTime::now(),
                    Duration::ZERO,
                    0,
                    false,
                );
                slot.release();
                return;
            }
        },
        Capture::Lines | Capture::Ungroup | Capture::OrderedLines => None,
    };

    let tag = job.tag.as_deref();
    let mut attempt = 0;
    let mut fullness_mark;
    let mut shown_command = 0u64;
    let mut failed_on = Vec::new();
    let (ending, wall_start, runtime, relayed) = loop {
        attempt += 1;
        let placement = context
            .remote
            .as_ref()
            .map(|remote| remote.place(&job, &failed_on));
        let (placed, unplaced) = match placement {
            Some(Ok(placed)) => {
                job.remote.host_name = placed.host_name.clone();
                (Some(placed), None)
            }
            Some(Err(reason)) => (None, Some(reason)),
            None => (None, None),
        };
        fullness_mark = context.files.fullness.mark();
        // The first start's -t line was printed by the dispatcher, which
        // starts jobs one at a time: the lines come in start order, as GNU's.
        if context.verbose && attempt > 1 {
            let mut line = job.display.clone();
            line.push(b'\n');
            context.emitter.write(Stream::Stderr, &line);
        }
        if context.print_commands {
            // GNU's -v: the command is the first line of the job's output.
            let mut line = job.display.clone();
            line.push(b'\n');
            match &captured {
                Some(files) => {
                    if let Err(error) = (&files.stdout).write_all(&line) {
                        let message = format!(
                            "crew: cannot capture the output of job {}: {error}\n",
                            job.seq
                        );
                        context.emitter.write(Stream::Stderr, message.as_bytes());
                    }
                    shown_command = line.len() as u64;
                }
                None => match tag {
                    Some(tag) => {
                        let mut tagged = Vec::new();
                        let _ = crate::output::LineTagger::new(tag).write(&mut tagged, &line);
                        context.emitter.write(Stream::Stdout, &tagged);
                    }
                    None => context.emitter.write(Stream::Stdout, &line),
                },
            }
        }
        let (stdout, stderr) = match (&captured, capture) {
            (Some(files), _) => (Sink::File(&files.stdout), Sink::File(&files.stderr)),
            (None, Capture::Lines) => (Sink::Pipe, Sink::Pipe),
            (None, _) => (Sink::Inherit, Sink::Inherit),
        };
        let launch = Launch {
            command: placed.as_ref().map_or(&job.command, |p| &p.command),
            program: match &placed {
                Some(placed) if !placed.is_local => None,
                _ => job.program.as_deref(),
            },
            shell: &context.shell,
            seq: job.seq,
            slot: job.slot,
            slot_var: context.slot_var.as_deref(),
            stdin: job.block.as_ref().map(|b| &b.file),
            stdin_pipe: match (&placed, &context.remote) {
                (Some(placed), Some(remote)) if !placed.is_local => Some(remote.stdin_pipe()),
                _ => None,
            },
            stdout,
            stderr,
        };
        let wall_start = SystemTime::now();
        let mut relayed = 0;
        let spawned = match &unplaced {
            Some(reason) => {
                let message = format!("crew: job {}: {reason}\n", job.seq);
                match &mut captured {
                    Some(files) => {
                        let _ = files.stderr.write_all(message.as_bytes());
                    }
                    None => context.emitter.write(Stream::Stderr, message.as_bytes()),
                }
                Err(Ending::Exited(255))
            }
            None if job.is_filtered => Err(Ending::Exited(FILTERED_EXITVAL)),
            None => spawn(&launch, &context.running).map_err(Ending::NotStarted),
        };
        let (ending, started) = match spawned {
            Err(ending) => (ending, Instant::now()),
            Ok(mut running) => {
                let limit = context
                    .timeout
                    .as_ref()
                    .and_then(crate::timeout::Timeout::limit);
                if capture == Capture::Lines {
                    let deadline = limit.map(|t| running.started() + t);
                    relayed = relay_lines(&mut running.child, deadline, &context.emitter, tag).0;
                }
                let started = running.started();
                let (ending, has_stragglers) = running.wait(limit, job.slot, &context.running);
                if has_stragglers {
                    if let Some(files) = &mut captured {
                        // A leftover `cmd &` may still write to these files:
                        // they must never be handed to another job.
                        files.is_spool = false;
                    }
                }
                (ending, started)
            }
        };
        let runtime = started.elapsed();
        match (&ending, &context.timeout) {
            (Ending::TimedOut(_), _) => {
                // GNU's warning, as the job is killed.
                let name = crate::error::program_name();
                let mut message = format!(
                    "{name}: Warning: This job was killed because it timed out:\n{name}: Warning: "
                )
                .into_bytes();
                message.extend_from_slice(&job.display);
                message.push(b'\n');
                context.emitter.write(Stream::Stderr, &message);
            }
            (ending, Some(timeout)) if ending.is_success() => timeout.record_success(runtime),
            _ => {}
        }
        if let Ending::NotStarted(error) = &ending {
            let message = not_started_message(&job.command, &context.shell, error);
            match &mut captured {
                Some(files) => {
                    let _ = files.stderr.write_all(message.as_bytes());
                }
                None => context.emitter.write(Stream::Stderr, message.as_bytes()),
            }
        }
        let ending = match (&placed, ending) {
            // ssh ends with 255 when crew's TERM stops it: the job was
            // stopped by that signal.
            (Some(placed), Ending::TimedOut(255)) if !placed.is_local => {
                Ending::TimedOut(libc::SIGTERM)
            }
            (_, ending) => ending,
        };
        let is_lost = match (placed, &context.remote) {
            (Some(placed), Some(remote)) => {
                remote.settle(placed, &ending, &mut failed_on)
                    == crate::remote::hosts::Settled::Again
            }
            _ => false,
        };
        if is_lost {
            // A lost connection is not one of the job's attempts.
            attempt -= 1;
        }
        let is_stopping = context.scheduler.is_stopping();
        let is_final = is_stopping
            || (!is_lost
                && (ending.is_success() || attempt >= job.attempts.unwrap_or(context.attempts)));
        if is_final {
            break (ending, wall_start, runtime, relayed);
        }
        if let Some(files) = &mut captured {
            files.reset(context);
        }
        if let Some(block) = &mut job.block {
            let _ = block.file.seek(SeekFrom::Start(0));
        }
    };

    let received = match &mut captured {
        Some(files) => written_len(&mut files.stdout).saturating_sub(shown_command),
        None => relayed,
    };
    let ending = match &captured {
        Some(files)
            if context
                .files
                .fullness
                .is_torn_since(fullness_mark, &files.stdout) =>
        {
            report_lost_output(context, &job);
            Ending::OutputLost
        }
        _ => ending,
    };
    let (is_recorded, log_line, halt_news) = conclude(
        context,
        &job,
        &ending,
        wall_start,
        runtime,
        received,
        captured.is_some(),
    );
    let halt_text = halt_message(&job, halt_news);
    // The job that fired a `now` halt prints if it is its turn now.
    let fired_now = halt_news.fired == Some(crate::units::Urgency::Now)
        && (!context.keep_order || context.reorder.released() == job.order);
    // Never print an output that may be cut short, nor one whose results
    // could not be stored, as if it were whole.
    // --results prints nothing else, as in GNU.
    let is_printable = is_recorded
        && !matches!(ending, Ending::OutputLost)
        && context.results.is_none()
        && context.table.is_none();
    let row = context.table.is_some().then(|| TableRow {
        seq: job.seq,
        start: wall_start,
        runtime,
        sent: job.block.as_ref().map_or(0, |b| b.len),
        received,
        exitval: ending.exitval(),
        signal: ending.signal(),
        command: std::mem::take(&mut job.display),
        values: std::mem::take(&mut job.values),
    });

    if let Some(block) = job.block.take() {
        context.files.give_back(block.file);
    }
    if let Some(files) = captured {
        let tag = job.tag.take();
        let shared = Arc::clone(context);
        let release = move || {
            let Captured {
                mut stdout,
                mut stderr,
                is_spool,
            } = files;
            // After a `now` halt GNU exits at once: outputs still waiting
            // (a killed job's, a later job's under -k) are never printed;
            // the job that fired it prints if it is its turn.
            let is_after_halt = !fired_now && shared.scheduler.is_halted_now();
            if is_printable && !is_after_halt {
                shared
                    .emitter
                    .write_job(&mut stdout, &mut stderr, tag.as_deref());
            }
            if let Some(line) = log_line {
                line.write(&shared);
            }
            if let (Some(table), Some(row)) = (&shared.table, row) {
                row.write(table, &shared, &mut stdout, &mut stderr);
            }
            if is_spool {
                shared.files.give_back(stdout);
                shared.files.give_back(stderr);
            }
        };
        if context.keep_order {
            if context.reorder.complete(job.order, Box::new(release)) {
                context.scheduler.nudge();
            }
        } else {
            release();
        }
    } else if context.keep_order && context.reorder.complete(job.order, Box::new(|| {})) {
        context.scheduler.nudge();
    }
    if let Some(message) = halt_text {
        context.emitter.write(Stream::Stderr, &message);
    }
    if context.progress.is_shown() {
        // Before the slot goes back: the last job's status is drawn before
        // the dispatcher, seeing all slots free, draws the final one.
        let tally = context.scheduler.tally();
        let running = context.scheduler.running().saturating_sub(1);
        context
            .progress
            .update(&context.emitter, tally.done, tally.failed, running);
    }
    slot.release();
}

/// Gives a job's slot back exactly once: explicitly when the job is done,
/// or on unwind if crew itself panicked mid-job. Then crew stops and the
/// job's `-k` turn is passed, rather than waiting forever for a slot or an
/// output that never comes.
struct SlotGuard<'a> {
    context: &'a Context,
    slot: usize,
    order: u64,
}

impl SlotGuard<'_> {
    fn release(self) {
        self.context.scheduler.release_finished(self.slot);
        std::mem::forget(self);
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let context = self.context;
        context.scheduler.stop(Stop::Fatal);
        if context.keep_order {
            // A no-op if this turn was already taken: it then sits below
            // the released mark and is never run.
            context.reorder.complete(self.order, Box::new(|| {}));
        }
        context.scheduler.release(self.slot);
    }
}
