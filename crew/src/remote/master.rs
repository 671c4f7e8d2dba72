//! One ssh connection per host: the ControlMaster crew starts once, the
//! ssh words every job of that host uses, and the short commands crew
//! itself runs there (probe, core count, basefiles, clean-up).
//!
//! Protocol:
//! - Start-up: `ssh -o ControlMaster=yes -o ControlPersist=60 -S SOCKET
//!   HOST -- nproc`. The first client authenticates once, forks the master
//!   into the background (its stdio on /dev/null) and prints the host's
//!   cores; a non-zero exit means the host does not answer.
//! - Jobs: `ssh -S SOCKET -o ControlMaster=no HOST -- ...` opens a session
//!   over the master (no handshake); if the socket is gone the client
//!   falls back to a full connection, so a job never depends on the
//!   master being alive.
//! - Shut-down: `ssh -S SOCKET -O exit HOST`. If crew dies without it,
//!   the master leaves by itself after 60 s without clients.
//!
//! A host with more slots than [`super::connect::SESSIONS_PER_MASTER`] has
//! several such connections, each job on the least busy one.
//!
//! Invariant: `--sshdelay` spaces every ssh crew starts (masters, jobs,
//! transfers count alike), through one [`Pacer`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::login::{Login, Target};

/// How long a host may take to answer crew's own commands.
const CONNECT_TIMEOUT: &str = "ConnectTimeout=10";

/// Spaces ssh starts by `--sshdelay`.
#[derive(Default)]
pub struct Pacer {
    delay: Option<Duration>,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer for `delay` (none: no waiting).
    pub fn new(delay: Option<Duration>) -> Pacer {
        Pacer {
            delay,
            next: Mutex::new(None),
        }
    }

    /// Waits for this ssh's turn.
    pub fn wait_turn(&self) {
        let Some(delay) = self.delay else { return };
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some(at) = *next {
            if at > now {
                std::thread::sleep(at - now);
            }
        }
        *next = Some(Instant::now() + delay);
    }
}

/// How one host is reached.
pub struct Connection {
    /// ssh words up to and including the destination (`-S` included when
    /// a master is used).
    job_words: Vec<Vec<u8>>,
    /// The ssh words before the control options.
    base: Vec<String>,
    destination: String,
    socket: Option<PathBuf>,
}

impl Connection {
    /// The connection for `login` (an ssh target); `socket` is where its
    /// master listens (`None`: no master, every job connects afresh).
    pub fn new(login: &Login, ssh: &[String], socket: Option<PathBuf>) -> Connection {
        let Target::Ssh {
            ssh_words,
            destination,
            port,
        } = &login.target
        else {
            unreachable!("a connection is only made for ssh targets");
        };
        let mut base: Vec<String> = if ssh_words.is_empty() {
            ssh.to_vec()
        } else {
            ssh_words.clone()
        };
        if let Some(port) = port {
            base.extend(["-p".to_string(), port.clone()]);
        }
        let mut job_words: Vec<Vec<u8>> = base.iter().map(|w| w.clone().into_bytes()).collect();
        if let Some(socket) = &socket {
            job_words.extend(control_options(socket, "no"));
        }
        job_words.push(destination.clone().into_bytes());
        Connection {
            job_words,
            base,
            destination: destination.clone(),
            socket,
        }
    }

    /// The ssh words a job's command follows (after `--`).
    pub fn job_words(&self) -> &[Vec<u8>] {
        &self.job_words
    }

    /// Whether jobs share a master connection.
    pub fn has_master(&self) -> bool {
        self.socket.is_some()
    }

    fn command(&self, control: &[Vec<u8>]) -> Command {
        let mut command = Command::new(&self.base[0]);
        command.args(&self.base[1..]);
        for word in control {
            command.arg(std::ffi::OsStr::new(
                std::str::from_utf8(word).unwrap_or_default(),
            ));
        }
        command
            .arg("-o")
            .arg(CONNECT_TIMEOUT)
            .arg(&self.destination)
            .arg("--")
            .stdin(Stdio::null());
        command
    }

    /// Connects: starts the master (if any) and returns the host's core
    /// count and whether its login shell is bash, or why the host does not
    /// answer.
    pub fn start(&self, pacer: &Pacer) -> Result<(usize, bool), String> {
        let control = match &self.socket {
            Some(socket) => {
                let mut words = control_options(socket, "yes");
                words.extend([b"-o".to_vec(), b"ControlPersist=60".to_vec()]);
                words
            }
            None => Vec::new(),
        };
        pacer.wait_turn();
        let output = self
            .command(&control)
            .arg(
                "nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1; echo $SHELL",
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.base[0]))?;
        if !output.status.success() {
            let reason = String::from_utf8_lossy(&output.stderr);
            let reason = reason.lines().map(str::trim).collect::<Vec<_>>().join("; ");
            return Err(match output.status.code() {
                Some(code) if reason.is_empty() => format!("ssh exited with {code}"),
                _ if reason.is_empty() => "ssh was killed".to_string(),
                _ => reason.to_string(),
            });
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let mut lines = text.lines().map(str::trim);
        let cores = lines
            .next()
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(1);
        let is_bash = lines.next().is_some_and(|shell| shell.ends_with("/bash"));
        Ok((cores.max(1), is_bash))
    }

    /// Whether the host still answers: its master is alive (`-O check`),
    /// or, without a master, a fresh `true` succeeds.
    pub fn is_alive(&self, pacer: &Pacer) -> bool {
        match &self.socket {
            Some(socket) => {
                let mut command = Command::new(&self.base[0]);
                command
                    .args(&self.base[1..])
                    .arg("-S")
                    .arg(socket)
                    .args(["-O", "check"])
                    .arg(&self.destination)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                command.status().is_ok_and(|s| s.success())
            }
            None => self.run(pacer, "true", None).is_ok(),
        }
    }

    /// Runs `remote` there over the master, `stdin` fed from a file;
    /// returns why it failed.
    pub fn run(&self, pacer: &Pacer, remote: &str, stdin: Option<Stdio>) -> Result<(), String> {
        let control = match &self.socket {
            Some(socket) => control_options(socket, "no"),
            None => Vec::new(),
        };
        pacer.wait_turn();
        let mut command = self.command(&control);
        command
            .arg(remote)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(stdin) = stdin {
            command.stdin(stdin);
        }
        let output = command.output().map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
        }
    }

    /// Stops the master, if any.
    pub fn stop(&self) {
        if let Some(socket) = &self.socket {
            if socket.exists() {
                let _ = Command::new(&self.base[0])
                    .args(&self.base[1..])
                    .arg("-S")
                    .arg(socket)
                    .args(["-O", "exit"])
                    .arg(&self.destination)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }

    /// Starts a new master after the old one died; returns whether the
    /// host answered.
    pub fn restart(&self, pacer: &Pacer) -> bool {
        if let Some(socket) = &self.socket {
            let _ = std::fs::remove_file(socket);
        }
        self.start(pacer).is_ok()
    }
}

fn control_options(socket: &Path, master: &str) -> Vec<Vec<u8>> {
    vec![
        b"-S".to_vec(),
        socket.as_os_str().as_encoded_bytes().to_vec(),
        b"-o".to_vec(),
        format!("ControlMaster={master}").into_bytes(),
    ]
}
