//! Writing job output to crew's stdout and stderr: whole jobs at a time
//! (grouped), tagged, or line by line, never interleaved mid-unit.
//!
//! Invariants:
//! - Everything crew prints to stdout/stderr goes through one [`Emitter`]
//!   and its lock, so a job's output (or a line, with `--line-buffer`) is
//!   never split by another's; a progress bar is suspended around it.
//! - Output is copied from spool files in fixed-size pieces or by the
//!   kernel, so memory does not grow with output size.
//! - Every write is checked. The first failure is handed to the fault
//!   handler exactly once: a closed reader (EPIPE on stdout) is
//!   [`Fault::Broken`] (crew stops like `yes | head`, silently, status
//!   141); anything else (`/dev/full`, a full disk behind `> file`, an
//!   I/O error, stderr unwritable) is [`Fault::Failed`]: one line on
//!   stderr naming the stream and the cause (when stderr can still take
//!   it), no further job starts, and crew exits with status 255. Output
//!   is never lost without a word and a non-zero status.
//! - crew never dies of SIGPIPE halfway through bookkeeping.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::progress::Progress;

/// Which of crew's output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// File descriptor 1.
    Stdout,
    /// File descriptor 2.
    Stderr,
}

/// Unbuffered handles on fds 1 and 2 that are never closed.
struct Fds {
    stdout: ManuallyDrop<File>,
    stderr: ManuallyDrop<File>,
}

impl Fds {
    fn get(&mut self, stream: Stream) -> &mut File {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }
}

/// What went wrong with crew's output, told once to the fault handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// stdout's reader went away (EPIPE).
    Broken,
    /// A write failed for another reason; its message is already printed.
    Failed,
}

/// Called once, on the first failed write, with the fds lock held: it must
/// not write output itself.
pub type FaultHandler = Box<dyn Fn(Fault) + Send + Sync>;

/// The one writer of crew's stdout and stderr.
pub struct Emitter {
    fds: Mutex<Fds>,
    progress: Progress,
    is_broken: AtomicBool,
    has_failed: AtomicBool,
    on_fault: FaultHandler,
}

impl Emitter {
    /// Takes over fds 1 and 2; `progress` is suspended while writing;
    /// `on_fault` hears of the first failed write.
    pub fn new(progress: Progress, on_fault: FaultHandler) -> Emitter {
        // SAFETY: 1. fds 1 and 2 are open for the life of the process (the
        // shell opened them; crew never closes them); 2. ManuallyDrop keeps
        // these `File`s from ever closing them.
        let fds = unsafe {
            Fds {
                stdout: ManuallyDrop::new(File::from_raw_fd(1)),
                stderr: ManuallyDrop::new(File::from_raw_fd(2)),
            }
        };
        Emitter {
            fds: Mutex::new(fds),
            progress,
            is_broken: AtomicBool::new(false),
            has_failed: AtomicBool::new(false),
            on_fault,
        }
    }

    /// Whether stdout's reader has gone away.
    pub fn is_broken(&self) -> bool {
        // Relaxed: a hint for readers of job output; the fault handler has
        // already stopped crew.
        self.is_broken.load(Ordering::Relaxed)
    }

    /// Whether a write failed for another reason than a closed reader
    /// (crew's exit status is then 255).
    pub fn has_failed(&self) -> bool {
        // Relaxed: read after the jobs are joined (the pool's join orders it).
        self.has_failed.load(Ordering::Relaxed)
    }

    /// Whether output can no longer be delivered (either fault).
    pub fn is_faulty(&self) -> bool {
        self.is_broken() || self.has_failed()
    }

    /// Records a write's outcome; called with the fds lock held, so the
    /// first fault is reported exactly once.
    fn note(&self, fds: &mut Fds, stream: Stream, result: io::Result<()>) {
        let Err(error) = result else {
            return;
        };
        if self.is_faulty() {
            return;
        }
        if stream == Stream::Stdout && error.kind() == io::ErrorKind::BrokenPipe {
            self.is_broken.store(true, Ordering::Relaxed);
            (self.on_fault)(Fault::Broken);
            return;
        }
        self.has_failed.store(true, Ordering::Relaxed);
        let name = match stream {
            Stream::Stdout => "standard output",
            Stream::Stderr => "standard error",
        };
        let message = format!(
            "crew: cannot write to {name}: {error}; output is lost, no further job starts\n"
        );
        // The message may itself fail (stderr is the broken stream): the
        // exit status still tells.
        let _ = fds.stderr.write_all(message.as_bytes());
        (self.on_fault)(Fault::Failed);
    }

    /// Writes `bytes` as one unit.
    pub fn write(&self, stream: Stream, bytes: &[u8]) {
        let mut fds = self.fds.lock().unwrap_or_else(|e| e.into_inner());
        let result = self.progress.suspend(|| fds.get(stream).write_all(bytes));
        self.note(&mut fds, stream, result);
    }

    /// Runs `f` on crew's stderr with every other write held back (GNU's
    /// status text and the commands it runs to size the terminal).
    pub fn with_stderr(&self, f: impl FnOnce(&mut File)) {
        let mut fds = self.fds.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut fds.stderr);
    }

    /// Writes a job's captured stdout then stderr as one unit; each line is
    /// prefixed by `tag` and a TAB when given. Returns the stdout size.
    pub fn write_job(&self, stdout: &mut File, stderr: &mut File, tag: Option<&[u8]>) -> u64 {
        let out_len = written_len(stdout);
        let err_len = written_len(stderr);
        if out_len == 0 && err_len == 0 {
            return 0;
        }
        let mut fds = self.fds.lock().unwrap_or_else(|e| e.into_inner());
        self.progress.suspend(|| {
            for (stream, file, len) in [
                (Stream::Stdout, stdout, out_len),
                (Stream::Stderr, stderr, err_len),
            ] {
                if len > 0 {
                    let result = copy_file(file, len, fds.get(stream), tag);
                    self.note(&mut fds, stream, result);
                }
            }
        });
        out_len
    }
}

/// How much a job wrote to a spool file: its offset, which the job's
/// duplicate of the descriptor shares and advanced (one `lseek`, cheaper
/// than `fstat`).
pub fn written_len(file: &mut File) -> u64 {
    file.stream_position().unwrap_or(0)
}

/// Copies the first `len` bytes of `file` to `out`, tagging lines if asked.
fn copy_file(file: &mut File, len: u64, out: &mut File, tag: Option<&[u8]>) -> io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let mut source = (&*file).take(len);
    match tag {
        None => io::copy(&mut source, out).map(drop),
        Some(tag) => {
            let mut tagger = LineTagger::new(tag);
            let mut buffer = vec![0u8; 64 * 1024];
            let mut writer = io::BufWriter::with_capacity(64 * 1024, out);
            loop {
                let n = source.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                tagger.write(&mut writer, &buffer[..n])?;
            }
            writer.flush()
        }
    }
}

/// Prefixes every line of a byte stream with `tag` + TAB.
pub struct LineTagger<'t> {
    tag: &'t [u8],
    is_at_line_start: bool,
}

impl<'t> LineTagger<'t> {
    /// A tagger positioned at the start of a line.
    pub fn new(tag: &'t [u8]) -> LineTagger<'t> {
        LineTagger {
            tag,
            is_at_line_start: true,
        }
    }

    /// Writes `bytes` to `out`, inserting the tag at each line start.
    pub fn write(&mut self, out: &mut impl Write, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.is_at_line_start {
                out.write_all(self.tag)?;
                out.write_all(b"\t")?;
                self.is_at_line_start = false;
            }
            match bytes.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    out.write_all(&bytes[..=end])?;
                    bytes = &bytes[end + 1..];
                    self.is_at_line_start = true;
                }
                None => {
                    out.write_all(bytes)?;
                    bytes = &[];
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_start_every_line_even_across_writes() {
        let mut out = Vec::new();
        let mut tagger = LineTagger::new(b"t");
        tagger.write(&mut out, b"a\nb").unwrap();
        tagger.write(&mut out, b"c\n\nd").unwrap();
        assert_eq!(out, b"t\ta\nt\tbc\nt\t\nt\td");
    }
}
