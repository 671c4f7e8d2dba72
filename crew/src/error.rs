//! crew's own errors: everything that stops crew before or outside a job.
//!
//! A job that fails is not an error here; it is an outcome counted in the exit
//! status. A [`CrewError`] is a problem with the invocation or the machine
//! (bad option value, unreadable input file, unbalanced quote, ...). Each one
//! prints as a single line that names the problem and, where it helps, what
//! to do; `main` prints it after `crew: ` and exits with status 255.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Exit status for crew's own errors (GNU parallel uses the same).
pub const EXIT_CREW_ERROR: i32 = 255;

/// Everything that can stop crew itself.
#[derive(Debug)]
pub enum CrewError {
    /// A command-line problem: the text says which option and why.
    Usage(String),
    /// An input file (`::::`, `-a`) could not be opened or read.
    InputFile { path: PathBuf, source: io::Error },
    /// Reading standard input failed.
    Stdin(io::Error),
    /// A file crew must write (joblog, results, temporary spool) failed.
    Output { what: String, source: io::Error },
    /// The spool directory (`--tmpdir`, else `$TMPDIR` or `/tmp`) cannot
    /// hold crew's temporary files.
    Spool { dir: PathBuf, source: io::Error },
    /// The worker pool could not be built.
    Pool(String),
}

impl CrewError {
    /// A usage error with the given explanation.
    pub fn usage(text: impl Into<String>) -> CrewError {
        CrewError::Usage(text.into())
    }

    /// An error writing or creating `what` (a path or a description).
    pub fn output(what: impl Into<String>, source: io::Error) -> CrewError {
        CrewError::Output {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for CrewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrewError::Usage(text) => write!(f, "{text} (see `crew --help`)"),
            CrewError::InputFile { path, source } => {
                write!(f, "cannot read input file {}: {source}", path.display())
            }
            CrewError::Stdin(source) => write!(f, "cannot read standard input: {source}"),
            CrewError::Output { what, source } => write!(f, "cannot write {what}: {source}"),
            CrewError::Spool { dir, source } => write!(
                f,
                "cannot create spool files in {}: {source} (pick a writable directory with --tmpdir)",
                dir.display()
            ),
            CrewError::Pool(text) => write!(f, "cannot start the worker pool: {text}"),
        }
    }
}

impl std::error::Error for CrewError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CrewError::InputFile { source, .. }
            | CrewError::Stdin(source)
            | CrewError::Output { source, .. }
            | CrewError::Spool { source, .. } => Some(source),
            CrewError::Usage(_) | CrewError::Pool(_) => None,
        }
    }
}
