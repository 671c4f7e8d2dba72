//! `--line-buffer`: relays a running job's stdout and stderr to crew's own
//! as complete lines, while the job runs.
//!
//! Invariants: a line is written in one piece (lines of different jobs may
//! alternate but never mix); a job's partial last line is flushed at end of
//! stream; a line longer than [`MAX_PENDING`] is flushed in pieces, so memory
//! stays bounded for any output. The relay returns when both streams are
//! closed or the job's deadline has passed, whichever comes first.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::process::Child;
use std::time::Instant;

use crate::output::{Emitter, LineTagger, Stream};

/// Partial-line bytes held per stream before they are flushed anyway.
const MAX_PENDING: usize = 64 * 1024;

struct Relay<R> {
    source: Option<R>,
    stream: Stream,
    pending: Vec<u8>,
    bytes: u64,
}

impl<R: Read> Relay<R> {
    fn flush(&mut self, emitter: &Emitter, tag: Option<&[u8]>, upto: usize) {
        if upto == 0 {
            return;
        }
        match tag {
            None => emitter.write(self.stream, &self.pending[..upto]),
            Some(tag) => {
                let mut tagged = Vec::with_capacity(upto + 64);
                let _ = LineTagger::new(tag).write(&mut tagged, &self.pending[..upto]);
                emitter.write(self.stream, &tagged);
            }
        }
        self.pending.drain(..upto);
    }

    /// Reads what is available; returns false at end of stream.
    fn read(&mut self, emitter: &Emitter, tag: Option<&[u8]>) -> bool {
        let Some(source) = &mut self.source else {
            return false;
        };
        let mut buffer = [0u8; 16 * 1024];
        let n = loop {
            match source.read(&mut buffer) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break 0,
                Ok(n) => break n,
            }
        };
        if n == 0 {
            let all = self.pending.len();
            self.flush(emitter, tag, all);
            self.source = None;
            return false;
        }
        self.bytes += n as u64;
        self.pending.extend_from_slice(&buffer[..n]);
        let complete = match self.pending.iter().rposition(|&b| b == b'\n') {
            Some(last) => last + 1,
            None if self.pending.len() >= MAX_PENDING => self.pending.len(),
            None => 0,
        };
        self.flush(emitter, tag, complete);
        true
    }
}

/// Relays `child`'s piped stdout and stderr line by line until both close
/// or `deadline` passes, or crew's stdout is broken. Returns the bytes seen (stdout and
/// stderr: GNU's joblog Receive counts both in this mode) and
/// whether the streams were fully read.
pub fn relay_lines(
    child: &mut Child,
    deadline: Option<Instant>,
    emitter: &Emitter,
    tag: Option<&[u8]>,
) -> (u64, bool) {
    let mut out = Relay {
        source: child.stdout.take(),
        stream: Stream::Stdout,
        pending: Vec::new(),
        bytes: 0,
    };
    let mut err = Relay {
        source: child.stderr.take(),
        stream: Stream::Stderr,
        pending: Vec::new(),
        bytes: 0,
    };
    while out.source.is_some() || err.source.is_some() {
        if emitter.is_broken() {
            // Nobody reads crew's stdout: closing the pipes ends the job
            // (SIGPIPE), and crew is already stopping it.
            return (out.bytes + err.bytes, false);
        }
        let mut fds = [
            poll_entry(out.source.as_ref().map(|s| s.as_raw_fd())),
            poll_entry(err.source.as_ref().map(|s| s.as_raw_fd())),
        ];
        let timeout_ms = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return (out.bytes + err.bytes, false);
                }
                left.as_millis().clamp(1, i32::MAX as u128) as i32
            }
        };
        // SAFETY: 1. `fds` is a valid array of 2 pollfds for the call;
        // 2. entries with fd -1 are ignored by poll.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
        if ready < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if fds[0].revents != 0 {
            out.read(emitter, tag);
        }
        if fds[1].revents != 0 {
            err.read(emitter, tag);
        }
    }
    (out.bytes + err.bytes, true)
}

fn poll_entry(fd: Option<i32>) -> libc::pollfd {
    libc::pollfd {
        fd: fd.unwrap_or(-1),
        events: libc::POLLIN,
        revents: 0,
    }
}
