//! Spool files: anonymous temporary files that hold a job's output (or a
//! `--pipe` block) instead of RAM, reused from job to job.
//!
//! Invariants:
//! - A file handed out by [`TempFiles::take`] is empty and positioned at 0;
//!   [`TempFiles::give_back`] restores that before reuse, so no job ever
//!   sees another's bytes. Callers give back only files nobody else can
//!   still write to: a job that leaves processes behind in its process
//!   group (`cmd &`) keeps its files, which are closed instead.
//! - The files are unlinked at creation (`O_TMPFILE` or create-and-unlink),
//!   so nothing is left behind in the spool directory, even after SIGKILL.
//! - At most [`KEEP_SPARE`] idle files are kept; the rest are closed.
//!
//! Why files and not pipes: a child writing into a file never blocks on
//! crew, crew needs no reader thread or poll loop per job, and crew's memory
//! stays flat whatever a job prints: the bytes stay in the page cache and
//! are copied to crew's stdout by the kernel (`copy_file_range`/`sendfile`).

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How many idle spool files are kept for reuse.
const KEEP_SPARE: usize = 4096;

/// A reusable supply of empty anonymous temporary files.
#[derive(Debug)]
pub struct TempFiles {
    dir: PathBuf,
    spare: Mutex<Vec<File>>,
}

impl TempFiles {
    /// Files will live in `dir` (default: `$TMPDIR` or `/tmp`).
    pub fn new(dir: Option<PathBuf>) -> TempFiles {
        TempFiles {
            dir: dir.unwrap_or_else(std::env::temp_dir),
            spare: Mutex::new(Vec::new()),
        }
    }

    /// The directory the files live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates one file now (kept as a spare), so a missing or read-only
    /// spool directory is reported once, before any job starts, rather than
    /// by every job slot.
    ///
    /// # Errors
    ///
    /// The file cannot be created, with the system's reason.
    pub fn check(&self) -> io::Result<()> {
        let file = tempfile::tempfile_in(&self.dir)?;
        self.give_back(file);
        Ok(())
    }

    /// An empty file positioned at 0.
    ///
    /// # Errors
    ///
    /// The spool directory is missing or not writable.
    pub fn take(&self) -> io::Result<File> {
        if let Some(file) = self.spare.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(file);
        }
        tempfile::tempfile_in(&self.dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("spool directory {}: {e}", self.dir.display()),
            )
        })
    }

    /// Empties `file` and keeps it for reuse; a file that cannot be emptied
    /// is closed instead.
    pub fn give_back(&self, mut file: File) {
        let is_clean = match file.metadata() {
            Ok(meta) if meta.len() == 0 => file.seek(SeekFrom::Start(0)).is_ok(),
            Ok(_) => file.set_len(0).is_ok() && file.seek(SeekFrom::Start(0)).is_ok(),
            Err(_) => false,
        };
        if is_clean {
            let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
            if spare.len() < KEEP_SPARE {
                spare.push(file);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_returned_file_comes_back_empty() {
        let files = TempFiles::new(None);
        let mut file = files.take().unwrap();
        file.write_all(b"old output").unwrap();
        files.give_back(file);
        let mut again = files.take().unwrap();
        let mut contents = String::new();
        again.read_to_string(&mut contents).unwrap();
        assert_eq!(contents, "");
        assert_eq!(again.metadata().unwrap().len(), 0);
    }

    #[test]
    fn a_missing_directory_fails_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let files = TempFiles::new(Some(dir.path().join("missing")));
        assert!(files.check().is_err());
        assert!(TempFiles::new(Some(dir.path().to_path_buf()))
            .check()
            .is_ok());
    }
}
