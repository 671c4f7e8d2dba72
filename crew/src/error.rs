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

/// The name crew prints in front of the messages GNU parallel also
/// prints: `parallel` when installed under that name (a drop-in
/// replacement reads exactly like GNU), else `crew`.
pub fn program_name() -> &'static str {
    static NAME: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let arg0 = std::env::args_os().next().unwrap_or_default();
        let is_parallel = std::path::Path::new(&arg0).file_name() == Some("parallel".as_ref());
        if is_parallel {
            "parallel"
        } else {
            "crew"
        }
    })
}

/// Writes a warning line (or lines) on stderr before or beside the jobs'
/// output; a failed write is noted and makes the exit status 255.
pub fn warn(text: &str) {
    use std::io::Write;
    if std::io::stderr().write_all(text.as_bytes()).is_err() {
        HAS_WARNING_FAILED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether a [`warn`] could not be written.
pub static HAS_WARNING_FAILED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

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
    /// One input makes a command line longer than the limit (GNU's text).
    TooLong(String),
    /// A Perl replacement string does not compile (GNU's text).
    Perl(String),
    /// A usage error GNU parallel reports the same way: its words, after
    /// `parallel: Error: ` (or `crew: Error: `).
    Gnu(String),
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
            CrewError::TooLong(text) | CrewError::Perl(text) | CrewError::Gnu(text) => {
                write!(f, "Error: {text}")
            }
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
            CrewError::Usage(_)
            | CrewError::Pool(_)
            | CrewError::TooLong(_)
            | CrewError::Perl(_)
            | CrewError::Gnu(_) => None,
        }
    }
}

/// GNU's error for its retired `-g`: every retired option, one per line.
pub fn retired() -> CrewError {
    let lines = [
        "-g has been retired. Use --group.",
        "-B has been retired. Use --bf.",
        "-T has been retired. Use --tty.",
        "-U has been retired. Use --er.",
        "-W has been retired. Use --wd.",
        "-Y has been retired. Use --shebang.",
        "-H has been retired. Use --halt.",
        "--sql has been retired. Use --sqlmaster.",
        "--ctrlc has been retired.",
        "--noctrlc has been retired.",
    ];
    CrewError::Gnu(lines.join(&format!("\n{}: Error: ", program_name())))
}
