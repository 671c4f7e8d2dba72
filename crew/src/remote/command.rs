//! What a remote job runs: the ssh command line, the remote wrapper that
//! gives the job its own process group, and the local script that moves
//! files around it.
//!
//! Protocol of one remote attempt (no files to move):
//!
//! ```text
//! (a bash login shell runs the same steps itself, with job control for
//!  the groups and `read` for the watch: no sh, setsid or cat processes)
//! crew ──spawn──▶ ssh -S CONTROL -o ControlMaster=no HOST -- REMOTE
//!                 stdin: a pipe crew holds open and never writes to
//! REMOTE (read by the login shell there):
//!   exec sh -c WRAPPER crew WORKDIR JOBSCRIPT
//! WRAPPER:  cd WORKDIR (made if missing; exit 255 if impossible)
//!           setsid $SHELL -c JOBSCRIPT &          the job, its own group P
//!           setsid sh -c WATCH P <&stdin &        the watcher, group W
//!           wait P; kill group W; exit with P's status
//! WATCH:    cat >/dev/null (ends when the ssh channel closes);
//!           TERM group P, 1 s later KILL group P (process P itself if
//!           it has no group yet: its setsid had not run)
//! ```
//!
//! Invariants:
//! - The job's command text reaches the remote `$SHELL` byte for byte: it
//!   is quoted once for the login shell (REMOTE), once more as a word of
//!   `sh -c`; the job's variables (`$PARALLEL_SEQ`, `--env`) are set by
//!   JOBSCRIPT's first lines, so the command itself reads as in GNU.
//! - The remote job outlives neither its ssh: when crew kills the local
//!   ssh (`--timeout`, `--halt now`, a signal) or crew itself dies (the
//!   stdin pipe closes), the channel closes, the watcher's `cat` ends and
//!   the job's whole process group is killed.
//! - A job whose inputs or results are files runs as a local `sh` script
//!   in one process group: send (tar over ssh), the job, fetch back,
//!   clean up, exit with the job's status. A failed send exits 255, as a
//!   lost connection does, so it is retried like one.
//! - With `--pipe` the job's stdin is its block, so there is no watcher:
//!   the job ends when its input ends or its output breaks.

use crate::quote::{quote_into, QuoteContext};

/// WATCH (see the module doc), `$1` the job's pid. The job may not have
/// its own group yet (its `setsid` not run: stdin ended at once, or the
/// machine is loaded), so a kill of the group that finds none kills the
/// process itself.
macro_rules! watch {
    () => {
        "cat >/dev/null; kill -TERM -$1 || kill -TERM $1; sleep 1; kill -KILL -$1 || kill -KILL $1"
    };
}

/// The remote wrapper (see the module doc). `$1`: working dir (empty:
/// the login dir), `$2`: the job script.
const WRAPPER: &str = concat!(
    "if [ -n \"$1\" ]; then mkdir -p -- \"$1\" && cd -- \"$1\" || exit 255; fi; \
exec 3<&0 4>&2 2>/dev/null; \
setsid \"${SHELL:-/bin/sh}\" -c \"$2\" 2>&4 3<&- 4>&- & p=$!; \
setsid sh -c '",
    watch!(),
    "' crew-watch $p <&3 >/dev/null 4>&- & w=$!; \
exec 3<&-; wait $p; r=$?; kill -KILL -$w $w; exit $r"
);

/// The wrapper when the job's stdin carries data (`--pipe`).
const WRAPPER_PIPED: &str =
    "if [ -n \"$1\" ]; then mkdir -p -- \"$1\" && cd -- \"$1\" || exit 255; fi; \
exec \"${SHELL:-/bin/sh}\" -c \"$2\"";

/// The wrapper for a bash login shell, run by it directly (no `sh`, no
/// `setsid`, no `cat`: job control gives the job and the watcher their
/// own groups, `read` waits for the end of stdin). `__crew_w` and
/// `__crew_s` are set before it. bash's job notices go to /dev/null; the
/// job's stderr is the real one (fd 4).
const WRAPPER_BASH: &str = "[ -z \"$__crew_w\" ] || { mkdir -p -- \"$__crew_w\" && cd -- \"$__crew_w\"; } || exit 255; \
exec 4>&2 2>/dev/null 3<&0; set -m; \
( set +m; eval \"$__crew_s\" ) </dev/null 2>&4 3<&- 4>&- & __crew_p=$!; \
( while read -r _; do :; done; kill -TERM -$__crew_p; sleep 1; kill -KILL -$__crew_p ) <&3 >/dev/null 4>&- & __crew_q=$!; \
exec 3<&-; wait $__crew_p; __crew_r=$?; kill -KILL -$__crew_q; exit $__crew_r";

/// `value` as one shell word.
pub fn word(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    quote_into(&mut out, value, QuoteContext::Bare);
    out
}

/// Words joined by spaces, each quoted.
pub fn words<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for value in values {
        if !out.is_empty() {
            out.push(b' ');
        }
        quote_into(&mut out, value, QuoteContext::Bare);
    }
    out
}

/// The lines that set a variable for the job and export it.
pub fn export(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.push(b'=');
    quote_into(out, value, QuoteContext::Bare);
    out.extend_from_slice(b"; export ");
    out.extend_from_slice(name);
    out.extend_from_slice(b"; ");
}

/// A bash function from the environment (`BASH_FUNC_name%%`), defined
/// and exported again on the remote side.
pub fn define_function(out: &mut Vec<u8>, name: &[u8], body: &[u8]) {
    out.extend_from_slice(name);
    out.push(b' ');
    out.extend_from_slice(body);
    out.extend_from_slice(b"\nexport -f ");
    out.extend_from_slice(name);
    out.extend_from_slice(b" >/dev/null 2>&1; ");
}

/// REMOTE: the string ssh hands to the remote login shell (`is_bash`:
/// that shell is bash, which runs the lighter wrapper itself).
pub fn remote_line(workdir: &[u8], job_script: &[u8], is_piped: bool, is_bash: bool) -> Vec<u8> {
    if is_bash && !is_piped {
        let mut out = b"__crew_w=".to_vec();
        out.extend_from_slice(&word(workdir));
        out.extend_from_slice(b"; __crew_s=");
        out.extend_from_slice(&word(job_script));
        out.extend_from_slice(b"; ");
        out.extend_from_slice(WRAPPER_BASH.as_bytes());
        return out;
    }
    let wrapper = if is_piped { WRAPPER_PIPED } else { WRAPPER };
    let mut out = b"exec sh -c ".to_vec();
    out.extend_from_slice(&word(wrapper.as_bytes()));
    out.extend_from_slice(b" crew ");
    out.extend_from_slice(&word(workdir));
    out.push(b' ');
    out.extend_from_slice(&word(job_script));
    out
}

/// A file to move, split as GNU splits it: the part before `/./` (or `/`
/// for an absolute path, `.` for a relative one) stays behind, the rest is
/// the path on the other side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    /// The local directory the relative part is read from or written to.
    pub local_dir: Vec<u8>,
    /// The path below it, the same on both machines.
    pub relative: Vec<u8>,
    /// Whether the remote side is below `/` rather than the working dir.
    pub is_absolute: bool,
}

impl FileSpec {
    /// Splits `path`.
    pub fn new(path: &[u8]) -> FileSpec {
        if let Some(at) = find(path, b"/./") {
            return FileSpec {
                local_dir: path[..at].to_vec(),
                relative: path[at + 3..].to_vec(),
                is_absolute: false,
            };
        }
        match path.strip_prefix(b"/") {
            Some(rest) => FileSpec {
                local_dir: b"/".to_vec(),
                relative: rest.to_vec(),
                is_absolute: true,
            },
            None => FileSpec {
                local_dir: b".".to_vec(),
                relative: path.strip_prefix(b"./").unwrap_or(path).to_vec(),
                is_absolute: false,
            },
        }
    }

    /// The remote directory the relative part lives in.
    fn remote_dir<'a>(&self, workdir: &'a [u8]) -> &'a [u8] {
        if self.is_absolute {
            b"/"
        } else if workdir.is_empty() {
            b"."
        } else {
            workdir
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Everything a file-moving job does, as one local `sh` script.
pub struct FileScript<'a> {
    /// The ssh words up to and including the destination.
    pub ssh: &'a [Vec<u8>],
    /// The remote working dir (empty: the login dir).
    pub workdir: &'a [u8],
    /// Files sent before the job.
    pub transfer: &'a [FileSpec],
    /// Files fetched after the job.
    pub returns: &'a [FileSpec],
    /// Whether sent and fetched files (and a `...` dir) are removed after.
    pub cleanup: bool,
    /// Whether the working dir is the job's own (`...`): removed too.
    pub is_own_workdir: bool,
}

impl FileScript<'_> {
    fn ssh_with(&self, remote: &[u8]) -> Vec<u8> {
        let mut out = words(self.ssh.iter().map(Vec::as_slice));
        out.extend_from_slice(b" -- ");
        out.extend_from_slice(&word(remote));
        out
    }

    /// The script; `remote` is the job's REMOTE line.
    pub fn render(&self, remote: &[u8]) -> Vec<u8> {
        let mut script = Vec::new();
        for file in self.transfer {
            let dir = file.remote_dir(self.workdir);
            let mut receive = b"mkdir -p -- ".to_vec();
            receive.extend_from_slice(&word(dir));
            receive.extend_from_slice(b" && tar -C ");
            receive.extend_from_slice(&word(dir));
            receive.extend_from_slice(b" -xf -");
            script.extend_from_slice(b"tar -C ");
            script.extend_from_slice(&word(&file.local_dir));
            script.extend_from_slice(b" -cf - -- ");
            script.extend_from_slice(&word(&file.relative));
            script.extend_from_slice(b" | ");
            script.extend_from_slice(&self.ssh_with(&receive));
            script.extend_from_slice(b" || exit 255\n");
        }
        script.extend_from_slice(&self.ssh_with(remote));
        script.extend_from_slice(b"\ns=$?\n");
        for file in self.returns {
            let dir = file.remote_dir(self.workdir);
            let mut send = b"cd -- ".to_vec();
            send.extend_from_slice(&word(dir));
            send.extend_from_slice(b" && tar -cf - -- ");
            send.extend_from_slice(&word(&file.relative));
            script.extend_from_slice(b"mkdir -p -- ");
            script.extend_from_slice(&word(&file.local_dir));
            script.extend_from_slice(b" && ");
            script.extend_from_slice(&self.ssh_with(&send));
            script.extend_from_slice(b" </dev/null | tar -C ");
            script.extend_from_slice(&word(&file.local_dir));
            script.extend_from_slice(b" -xf - || { [ $s = 0 ] && s=1; }\n");
        }
        if self.cleanup {
            let mut remove = Vec::new();
            for file in self.transfer.iter().chain(self.returns) {
                remove.extend_from_slice(b"rm -f -- ");
                let mut path = file.remote_dir(self.workdir).to_vec();
                path.push(b'/');
                path.extend_from_slice(&file.relative);
                remove.extend_from_slice(&word(&path));
                remove.extend_from_slice(b"; ");
            }
            if self.is_own_workdir {
                remove.extend_from_slice(b"rm -rf -- ");
                remove.extend_from_slice(&word(self.workdir));
                remove.extend_from_slice(b"; ");
            }
            remove.extend_from_slice(b"true");
            script.extend_from_slice(&self.ssh_with(&remove));
            script.extend_from_slice(b" </dev/null\n");
        }
        script.extend_from_slice(b"exit $s\n");
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_as_gnu_splits_them() {
        let split = |p: &str| {
            let f = FileSpec::new(p.as_bytes());
            (
                String::from_utf8(f.local_dir).unwrap(),
                String::from_utf8(f.relative).unwrap(),
                f.is_absolute,
            )
        };
        assert_eq!(split("a/b c"), (".".into(), "a/b c".into(), false));
        assert_eq!(split("./x"), (".".into(), "x".into(), false));
        assert_eq!(split("/tmp/./d/x"), ("/tmp".into(), "d/x".into(), false));
        assert_eq!(split("/tmp/x"), ("/".into(), "tmp/x".into(), true));
    }

    #[test]
    fn the_remote_line_survives_two_shells() {
        use std::process::{Command, Stdio};
        for shell in ["/bin/sh", "/bin/bash"] {
            let line = remote_line(
                b"",
                b"echo 'it'\"'\"'s' $PARALLEL_X",
                false,
                shell.ends_with("bash"),
            );
            // The outer `sh -c` plays the remote login shell; stdin stays open
            // (as crew's pipe does) until the job is done.
            let mut child = Command::new(shell)
                .arg("-c")
                .arg(std::str::from_utf8(&line).expect("ascii"))
                .env("SHELL", shell)
                .env("PARALLEL_X", "x")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let stdin = child.stdin.take();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut text).unwrap();
            drop(stdin);
            assert!(child.wait().unwrap().success());
            assert_eq!(text, "it's x\n", "{shell}");
        }
    }

    #[test]
    fn the_sh_wrapper_kills_the_job_when_its_stdin_ends() {
        use std::process::{Command, Stdio};
        let line = remote_line(b"", b"sleep 30; echo not killed", false, false);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(std::str::from_utf8(&line).unwrap())
            .env("SHELL", "/bin/sh")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdin.take());
        let mut text = String::new();
        // The pipe closes once the job, the wrapper and the watcher are
        // gone (each holds it): no timer needed.
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut text).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(text, "");
        assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    }

    /// The race behind a flaky run: stdin ends before the job's `setsid`
    /// ran, so the job has no group to kill yet. A process in the test's
    /// own group stands for it: the watch must kill the process itself.
    #[test]
    fn the_watch_kills_a_job_that_has_no_group_of_its_own_yet() {
        use std::os::unix::process::ExitStatusExt;
        use std::process::{Command, Stdio};
        use std::time::{Duration, Instant};
        let mut job = Command::new("sleep").arg("30").spawn().unwrap();
        let watch = Command::new("sh")
            .arg("-c")
            .arg(watch!())
            .arg("crew-watch")
            .arg(job.id().to_string())
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = job.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                job.kill().unwrap();
                panic!("the watch left the job running (watch: {watch})");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }

    #[test]
    fn the_wrapper_passes_the_exit_status_on() {
        let line = remote_line(b"", b"exit 7", true, false);
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(std::str::from_utf8(&line).unwrap())
            .env("SHELL", "/bin/sh")
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(7));
    }
}
