//! `--results DIR`: keeps each job's output and status on disk, in
//! `DIR/<seq>/` with the files `stdout`, `stderr`, `exitval` (GNU parallel's
//! joblog Exitval), `signal` and `cmd`.
//!
//! Invariant: a job's directory is complete (all five files) once the job
//! finished; a retried job's files hold only its last attempt.

use std::fs::{self, File};
use std::io;
use std::path::PathBuf;

use crate::exec::Ending;

/// The results directory.
#[derive(Debug, Clone)]
pub struct ResultsDir {
    root: PathBuf,
}

impl ResultsDir {
    /// Results go under `root` (created as needed).
    pub fn new(root: PathBuf) -> ResultsDir {
        ResultsDir { root }
    }

    /// The directory of job `seq`.
    pub fn job_dir(&self, seq: u64) -> PathBuf {
        self.root.join(seq.to_string())
    }

    /// Creates (or empties) the stdout and stderr files of job `seq`.
    ///
    /// # Errors
    ///
    /// The directory or files cannot be created.
    pub fn create(&self, seq: u64) -> io::Result<(File, File)> {
        let dir = self.job_dir(seq);
        fs::create_dir_all(&dir)?;
        let open = |name: &str| {
            fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(dir.join(name))
        };
        Ok((open("stdout")?, open("stderr")?))
    }

    /// Writes the status files of job `seq`.
    ///
    /// # Errors
    ///
    /// A file cannot be written.
    pub fn finish(&self, seq: u64, ending: &Ending, command: &[u8]) -> io::Result<()> {
        let dir = self.job_dir(seq);
        fs::write(dir.join("exitval"), format!("{}\n", ending.exitval()))?;
        fs::write(dir.join("signal"), format!("{}\n", ending.signal()))?;
        let mut cmd = command.to_vec();
        cmd.push(b'\n');
        fs::write(dir.join("cmd"), cmd)
    }
}
