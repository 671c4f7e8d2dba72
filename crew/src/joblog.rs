//! `--joblog` in GNU parallel's format, and `--resume` / `--resume-failed`
//! reading it back.
//!
//! Format (tab-separated, one header line):
//! `Seq Host Starttime JobRuntime Send Receive Exitval Signal Command`, with
//! Host `:` (this machine), Starttime in epoch seconds with 3 decimals,
//! JobRuntime as `%10.3f`, Exitval -1 when the job was killed by a signal.
//!
//! Invariants:
//! - Each finished job is one line, written with a single `write` call to a
//!   file opened with `O_APPEND`, so a crew killed at any instant (even by
//!   SIGKILL) leaves only whole lines, each for a job that really finished.
//!   Newlines inside a command are written as `\n` to keep that true.
//! - Resuming is by sequence number: the same inputs give the same numbers,
//!   so a job is skipped exactly when a line for its number says so (the
//!   last line for a number wins, as `--resume-failed` appends new ones).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::CrewError;

const HEADER: &[u8] =
    b"Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

/// One finished job, as the joblog records it.
pub struct Entry<'a> {
    /// The job's sequence number.
    pub seq: u64,
    /// Where it ran: `:` (this machine) or its sshlogin.
    pub host: &'a [u8],
    /// When it started.
    pub start: SystemTime,
    /// How long it ran.
    pub runtime: Duration,
    /// Bytes fed to its stdin.
    pub sent: u64,
    /// Bytes it wrote to stdout.
    pub received: u64,
    /// Its exit value (-1 if killed by a signal).
    pub exitval: i32,
    /// The signal that killed it, or 0.
    pub signal: i32,
    /// Its command line.
    pub command: &'a [u8],
}

/// An open joblog.
pub struct JobLog {
    file: File,
    path: PathBuf,
}

impl JobLog {
    /// Opens `path`: truncated with a fresh header, or appended to when
    /// resuming (with a header if it is new or empty).
    ///
    /// # Errors
    ///
    /// The file cannot be created or written.
    pub fn open(path: &Path, is_resuming: bool) -> Result<JobLog, CrewError> {
        let error = |e| CrewError::output(format!("joblog {}", path.display()), e);
        if path == Path::new("-") {
            // `--joblog -`: the log goes to stdout, as in GNU.
            let mut file = File::from(
                std::io::stdout()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(error)?,
            );
            file.write_all(HEADER).map_err(error)?;
            return Ok(JobLog {
                file,
                path: path.to_path_buf(),
            });
        }
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        if !is_resuming {
            File::create(path).map_err(error)?;
        }
        let mut file = options.open(path).map_err(error)?;
        if file.metadata().map_err(error)?.len() == 0 {
            file.write_all(HEADER).map_err(error)?;
        }
        Ok(JobLog {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one line.
    ///
    /// # Errors
    ///
    /// The write failed (disk full, ...); the message names the joblog.
    pub fn record(&self, entry: &Entry<'_>) -> Result<(), CrewError> {
        let start = entry
            .start
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let mut line = format!(
            "{}\t{}\t{:.3}\t{:10.3}\t{}\t{}\t{}\t{}\t",
            entry.seq,
            String::from_utf8_lossy(entry.host),
            start,
            entry.runtime.as_secs_f64(),
            entry.sent,
            entry.received,
            entry.exitval,
            entry.signal
        )
        .into_bytes();
        for &byte in entry.command {
            match byte {
                b'\n' => line.extend_from_slice(b"\\n"),
                _ => line.push(byte),
            }
        }
        line.push(b'\n');
        (&self.file)
            .write_all(&line)
            .map_err(|e| CrewError::output(format!("joblog {}", self.path.display()), e))
    }
}

/// Which logged jobs a resumed run skips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumeMode {
    /// `--resume`: every job with a line.
    Logged,
    /// `--resume-failed`: jobs whose last line says they succeeded.
    Succeeded,
}

/// The sequence numbers a resumed run skips.
#[derive(Debug, Default)]
pub struct SkipList {
    skipped: HashMap<u64, bool>,
    mode: Option<ResumeMode>,
}

impl SkipList {
    /// Reads `path` (a missing file means nothing to skip).
    ///
    /// # Errors
    ///
    /// The file exists but cannot be read.
    pub fn load(path: &Path, mode: ResumeMode) -> Result<SkipList, CrewError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(SkipList {
                    skipped: HashMap::new(),
                    mode: Some(mode),
                })
            }
            Err(source) => {
                return Err(CrewError::InputFile {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let mut skipped = HashMap::new();
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(|source| CrewError::InputFile {
                path: path.to_path_buf(),
                source,
            })?;
            let fields: Vec<&[u8]> = line.splitn(9, |&b| b == b'\t').collect();
            let Some(seq) = fields
                .first()
                .and_then(|f| std::str::from_utf8(f).ok()?.parse::<u64>().ok())
            else {
                continue;
            };
            let is_success = fields.get(6) == Some(&&b"0"[..]) && fields.get(7) == Some(&&b"0"[..]);
            skipped.insert(seq, is_success);
        }
        Ok(SkipList {
            skipped,
            mode: Some(mode),
        })
    }

    /// Whether job `seq` is skipped.
    pub fn skips(&self, seq: u64) -> bool {
        match (self.mode, self.skipped.get(&seq)) {
            (Some(ResumeMode::Logged), Some(_)) => true,
            (Some(ResumeMode::Succeeded), Some(&is_success)) => is_success,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_through_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let log = JobLog::open(&path, false).unwrap();
        for (seq, exitval) in [(1, 0), (2, 1), (3, 0)] {
            log.record(&Entry {
                host: b":",
                seq,
                start: SystemTime::now(),
                runtime: Duration::from_millis(5),
                sent: 0,
                received: 2,
                exitval,
                signal: 0,
                command: b"echo\na",
            })
            .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("Seq\tHost\t"), "{text}");
        assert!(text.contains("echo\\na"), "{text}");
        assert_eq!(text.lines().count(), 4);
        let all = SkipList::load(&path, ResumeMode::Logged).unwrap();
        assert!(all.skips(1) && all.skips(2) && !all.skips(4));
        let good = SkipList::load(&path, ResumeMode::Succeeded).unwrap();
        assert!(good.skips(1) && !good.skips(2) && good.skips(3));
    }
}
