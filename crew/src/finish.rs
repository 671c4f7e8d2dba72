//! The end of a job: tallies and `--halt` (with GNU's messages), the
//! joblog line, the `--results FILE.csv` row, and the words for a job that
//! could not start or lost its output.
//!
//! Invariants: [`conclude`] runs exactly once per job, before its output is
//! released; the joblog line and the table row it defers are written after
//! the output (GNU's order), once each.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, SystemTime};

use crate::exec::Ending;
use crate::job::{Context, Job};
use crate::joblog::Entry;
use crate::output::Stream;
use crate::schedule::{HaltNews, Stop};
use crate::template::CommandLine;
use crate::units::Urgency;

/// What `--results FILE.csv` records of a finished job, besides its output.
pub struct TableRow {
    pub seq: u64,
    pub start: SystemTime,
    pub runtime: Duration,
    pub sent: u64,
    pub received: u64,
    pub exitval: i32,
    pub signal: i32,
    pub command: Vec<u8>,
    pub values: Vec<Vec<u8>>,
}

impl TableRow {
    /// Writes the row with the job's captured output; a failed write stops
    /// crew, as a failed joblog write does.
    pub fn write(
        self,
        table: &crate::table::ResultsTable,
        context: &Context,
        stdout: &mut File,
        stderr: &mut File,
    ) {
        let read = |file: &mut File| {
            let mut bytes = Vec::new();
            let _ = file.seek(SeekFrom::Start(0));
            let _ = file.read_to_end(&mut bytes);
            bytes
        };
        let (out, err) = (read(stdout), read(stderr));
        let row = crate::table::Row {
            seq: self.seq,
            start: self.start,
            runtime: self.runtime,
            sent: self.sent,
            received: self.received,
            exitval: self.exitval,
            signal: self.signal,
            command: &self.command,
            values: &self.values,
            stdout: &out,
            stderr: &err,
        };
        if let Err(error) = table.record(&row) {
            let message = format!("crew: cannot write --results: {error}\n");
            context.emitter.write(Stream::Stderr, message.as_bytes());
            context.scheduler.stop(Stop::Fatal);
        }
    }
}

/// GNU's halting messages for a job the rule counts ("This job failed:"
/// and its command line), and, once a `soon` rule is met, how many jobs
/// are still awaited. Printed after the job's output, as GNU does.
pub fn halt_message(job: &Job, news: HaltNews) -> Option<Vec<u8>> {
    use crate::units::HaltCounts;
    let name = crate::error::program_name();
    let outcome = match news.counts? {
        HaltCounts::Failures => "failed",
        HaltCounts::Successes => "succeeded",
        HaltCounts::Done => "finished",
    };
    let mut message = format!("{name}: This job {outcome}:\n").into_bytes();
    message.extend_from_slice(&job.display);
    message.push(b'\n');
    if news.is_met && news.is_soon && news.others > 0 {
        message.extend_from_slice(
            format!(
                "{name}: Starting no more jobs. Waiting for {} jobs to finish.\n",
                news.others
            )
            .as_bytes(),
        );
    }
    Some(message)
}

/// Reports a job whose output may be cut short by a full filesystem (see
/// the lost-output rule in [`crate::spool`]) and stops crew.
pub fn report_lost_output(context: &Context, job: &Job) {
    let (place, advice) = match &context.results {
        Some(_) => (
            job.results_dir.clone().unwrap_or_default(),
            "another --results directory",
        ),
        None => (context.files.dir().to_path_buf(), "another --tmpdir"),
    };
    let message = format!(
        "crew: job {} lost its output (nothing of it is printed): the filesystem holding {} is full (No space left on device); free room or pick {advice}: {}\n",
        job.seq,
        place.display(),
        String::from_utf8_lossy(&job.display)
    );
    context.emitter.write(Stream::Stderr, message.as_bytes());
    context.scheduler.stop(Stop::Fatal);
}

/// A joblog line written once the job's output is printed (GNU's order:
/// with `-k` the log follows the output order).
pub struct LogLine {
    pub seq: u64,
    /// The joblog's Host column (`:` for this machine).
    pub host: Vec<u8>,
    pub start: SystemTime,
    pub runtime: Duration,
    pub sent: u64,
    pub received: u64,
    pub exitval: i32,
    pub signal: i32,
    pub command: Vec<u8>,
}

impl LogLine {
    pub fn write(&self, context: &Context) {
        let Some(joblog) = &context.joblog else {
            return;
        };
        let entry = Entry {
            seq: self.seq,
            host: &self.host,
            start: self.start,
            runtime: self.runtime,
            sent: self.sent,
            received: self.received,
            exitval: self.exitval,
            signal: self.signal,
            command: &self.command,
        };
        if let Err(error) = joblog.record(&entry) {
            context
                .emitter
                .write(Stream::Stderr, format!("crew: {error}\n").as_bytes());
            context.scheduler.stop(Stop::Fatal);
        }
    }
}

/// Tallies, halts and logs a finished job: the joblog line is returned
/// instead when `defers_log` (written after the output).
/// Returns whether the results (if any) were stored whole, and what
/// `--halt` says of the job.
pub fn conclude(
    context: &Context,
    job: &Job,
    ending: &Ending,
    start: SystemTime,
    runtime: Duration,
    received: u64,
    defers_log: bool,
) -> (bool, Option<LogLine>, HaltNews) {
    let is_recorded = true;
    let news = context.scheduler.finish(ending);
    if news.fired == Some(Urgency::Now) {
        context.running.signal_all(libc::SIGTERM, true);
    }
    let mut deferred = None;
    if context.joblog.is_some() {
        let line = LogLine {
            seq: job.seq,
            host: job.remote.host().to_vec(),
            start,
            runtime,
            sent: job.block.as_ref().map_or(0, |b| b.len),
            received,
            exitval: ending.exitval(),
            signal: ending.signal(),
            command: job.display.clone(),
        };
        if defers_log {
            deferred = Some(line);
        } else {
            line.write(context);
        }
    }
    (is_recorded, deferred, news)
}

pub fn not_started_message(
    command: &CommandLine,
    shell: &std::ffi::OsStr,
    error: &std::io::Error,
) -> String {
    let program = match command {
        CommandLine::Direct(argv) => String::from_utf8_lossy(&argv[0]).into_owned(),
        CommandLine::Shell(_) => shell.to_string_lossy().into_owned(),
    };
    if error.kind() == std::io::ErrorKind::NotFound && !program.contains('/') {
        format!("crew: {program}: command not found\n")
    } else {
        let reason = error.to_string();
        let reason = reason.split(" (os error").next().unwrap_or(&reason);
        format!("crew: cannot start {program}: {reason}\n")
    }
}
