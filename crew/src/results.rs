//! `--results DIR`: each job's output kept on disk in GNU parallel's
//! layout, `DIR/<source>/<value>/.../{seq,stdout,stderr}`: one
//! `<source>/<value>` pair per input value, the source named by its
//! number (or its `--header` name), the value with `\` `\t` NUL and `/`
//! written as `\\` `\t` `\0` `\_`. As in GNU, nothing else is printed.
//! A value too long for one directory name is cut to the longest name the
//! file system takes (GNU's fallback when the directory cannot be made).
//!
//! Invariant: a job's directory holds its `seq`, `stdout` and `stderr`
//! once the job finished; a retried job's files hold only its last attempt.

use std::fs::{self, File};
use std::io;
use std::path::PathBuf;

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

    /// The directory of a job with these inputs (fields per record).
    pub fn job_dir(&self, records: &[Vec<Vec<u8>>]) -> PathBuf {
        let mut dir = self.root.clone();
        for record in records {
            for (column, value) in record.iter().enumerate() {
                dir.push((column + 1).to_string());
                dir.push(escape(value));
            }
        }
        dir
    }

    /// Creates (or empties) the files of job `seq` in `dir`: `seq` holds
    /// the number; the stdout and stderr files are returned.
    ///
    /// # Errors
    ///
    /// The directory or files cannot be created.
    pub fn create(&self, dir: &std::path::Path, seq: u64) -> io::Result<(File, File)> {
        let cut;
        let dir = match fs::create_dir_all(dir) {
            Err(e) if e.raw_os_error() == Some(libc::ENAMETOOLONG) => {
                cut = self.cut_names(dir);
                fs::create_dir_all(&cut)?;
                cut.as_path()
            }
            other => other.map(|()| dir)?,
        };
        fs::write(dir.join("seq"), seq.to_string())?;
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
}

impl ResultsDir {
    /// `dir` with each name below the root cut to the longest name the
    /// root's file system takes.
    fn cut_names(&self, dir: &std::path::Path) -> PathBuf {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let longest = name_max(&self.root);
        let mut cut = self.root.clone();
        let below = dir.strip_prefix(&self.root).unwrap_or(dir);
        for name in below.iter() {
            let bytes = name.as_bytes();
            cut.push(std::ffi::OsString::from_vec(
                bytes[..bytes.len().min(longest)].to_vec(),
            ));
        }
        cut
    }
}

/// The longest file name under `dir` (`NAME_MAX`, 255 if unknown).
fn name_max(dir: &std::path::Path) -> usize {
    use std::os::unix::ffi::OsStrExt;
    let mut probe = dir.to_path_buf();
    while !probe.exists() && probe.pop() {}
    let mut path = probe.as_os_str().as_bytes().to_vec();
    if path.is_empty() {
        path.push(b'.');
    }
    path.push(0);
    // SAFETY: 1. `path` is NUL-terminated and lives across the call;
    // 2. pathconf only reads it.
    let longest = unsafe { libc::pathconf(path.as_ptr().cast(), libc::_PC_NAME_MAX) };
    usize::try_from(longest)
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(255)
}

/// A value as one directory name, GNU's way.
fn escape(value: &[u8]) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    let mut name = Vec::with_capacity(value.len());
    for &byte in value {
        match byte {
            b'\\' => name.extend_from_slice(b"\\\\"),
            b'\t' => name.extend_from_slice(b"\\t"),
            0 => name.extend_from_slice(b"\\0"),
            b'/' => name.extend_from_slice(b"\\_"),
            _ => name.push(byte),
        }
    }
    std::ffi::OsString::from_vec(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_gnu_style_directory_names() {
        let results = ResultsDir::new(PathBuf::from("out"));
        let records = vec![vec![b"a/b".to_vec(), b"x\ty".to_vec()]];
        assert_eq!(
            results.job_dir(&records),
            PathBuf::from("out/1/a\\_b/2/x\\ty")
        );
    }
}
