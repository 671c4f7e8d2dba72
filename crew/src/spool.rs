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
//! A full filesystem (the lost-output rule): a job writes into its spool
//! (or `--results`) files itself, so when the filesystem fills up the job
//! gets `ENOSPC`, not crew, and what it wrote is cut short. crew cannot
//! see the job's error, so it watches the filesystem instead: an output
//! is *possibly torn* when, at the job's end, the filesystem holding its
//! files has less than [`FULL_MARGIN`] free, or when crew found it that
//! full at any moment while the job ran ([`Fullness`] counts those
//! moments; it is also checked before crew truncates a spool file, which
//! frees room a torn job would otherwise hide behind). A possibly torn
//! output is never printed: the job is reported on one line, counted as
//! failed, and crew starts no further job (every later one would be
//! spooled to the same full place). A job that printed little while the
//! disk was nearly full can be reported although nothing was cut: the
//! rule errs on the loud side, never on the silent one.
//!
//! Why files and not pipes: a child writing into a file never blocks on
//! crew, crew needs no reader thread or poll loop per job, and crew's memory
//! stays flat whatever a job prints: the bytes stay in the page cache and
//! are copied to crew's stdout by the kernel (`copy_file_range`/`sendfile`).

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// How many idle spool files are kept for reuse.
const KEEP_SPARE: usize = 4096;

/// Below this much free room a filesystem counts as full: a write that
/// failed for lack of room leaves less than one block free, and delayed
/// allocation can refuse a write with a few blocks still free.
pub const FULL_MARGIN: u64 = 64 * 1024;

/// Whether the filesystem holding `file` has less than [`FULL_MARGIN`]
/// free for crew (root may use the blocks reserved for it). A filesystem
/// that reports no size at all never counts as full.
pub fn is_full(file: &File) -> bool {
    // SAFETY: 1. an all-zero statvfs is a valid value for the call to
    // overwrite; 2. the fd is open for the duration (borrowed from `file`).
    let (stats, ok) = unsafe {
        let mut stats: libc::statvfs = std::mem::zeroed();
        let ok = libc::fstatvfs(file.as_raw_fd(), &mut stats) == 0;
        (stats, ok)
    };
    if !ok || stats.f_blocks == 0 {
        return false;
    }
    // SAFETY: 1. geteuid has no preconditions and cannot fail.
    let is_root = unsafe { libc::geteuid() } == 0;
    let free_blocks = if is_root {
        stats.f_bfree
    } else {
        stats.f_bavail
    };
    // The field types differ between targets (u32 or u64).
    #[allow(clippy::useless_conversion)]
    let free = u64::from(free_blocks).saturating_mul(u64::from(stats.f_frsize));
    free < FULL_MARGIN
}

/// Counts the moments crew found an output filesystem full, so a job can
/// tell whether that happened while it ran (see the lost-output rule).
#[derive(Debug, Default)]
pub struct Fullness {
    seen: AtomicU64,
}

impl Fullness {
    /// A mark to compare with at the job's end.
    pub fn mark(&self) -> u64 {
        // Relaxed: the count only grows; a check that misses an increment
        // made at the same instant sees the full filesystem itself.
        self.seen.load(Ordering::Relaxed)
    }

    /// Checks `file`'s filesystem now, counting it if full.
    pub fn check(&self, file: &File) -> bool {
        let full = is_full(file);
        if full {
            // Relaxed: see `mark`.
            self.seen.fetch_add(1, Ordering::Relaxed);
        }
        full
    }

    /// Whether output written into `file` since `mark` may be cut short.
    pub fn is_torn_since(&self, mark: u64, file: &File) -> bool {
        self.check(file) || self.mark() != mark
    }
}

/// A reusable supply of empty anonymous temporary files.
#[derive(Debug)]
pub struct TempFiles {
    dir: PathBuf,
    spare: Mutex<Vec<File>>,
    /// Full-filesystem moments seen on spool or results files.
    pub fullness: Fullness,
}

impl TempFiles {
    /// Files will live in `dir` (default: `$TMPDIR` or `/tmp`).
    pub fn new(dir: Option<PathBuf>) -> TempFiles {
        TempFiles {
            dir: dir.unwrap_or_else(std::env::temp_dir),
            spare: Mutex::new(Vec::new()),
            fullness: Fullness::default(),
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
            Ok(_) => {
                // Truncating frees room: note a full filesystem first, so
                // the jobs running now learn that their writes may have
                // failed (the lost-output rule).
                self.fullness.check(&file);
                file.set_len(0).is_ok() && file.seek(SeekFrom::Start(0)).is_ok()
            }
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
