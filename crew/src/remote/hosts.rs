//! The hosts of a run: placing each attempt of a job on a host, and
//! settling it when it ends (start-up, login-file reloads and shut-down
//! are in [`super::connect`]).
//!
//! Placement protocol (one mutex, one condvar):
//! - crew's scheduler hands a job a slot; every slot has a *home* host
//!   (slots are dealt round-robin over the hosts, each up to its count).
//! - [`Remote::place`] runs the attempt on the home host if it is live, the
//!   job has not lost a connection there, and the host has a free slot;
//!   else on the live host with the most free slots that the job has not
//!   failed on (a failed attempt or a lost connection: GNU's `--retries`
//!   rule); if every live host failed the job, on any live host. With
//!   no free slot anywhere it waits; with no live host left the attempt
//!   fails at once (exit 255, said on its stderr).
//! - [`Remote::settle`] gives the host's slot back. An exit of 255 from ssh
//!   is checked with the host (one check at a time per host): a live
//!   connection means the job itself exited 255 (an ordinary failure);
//!   otherwise the loss is counted, the master restarted, and the host
//!   dropped if that fails or it lost [`HOST_FAILURE_LIMIT`] connections;
//!   either way the job is placed again (`Settled::Again`).
//!
//! Invariants: `running[h]` counts the attempts placed on host `h` and not
//! yet settled; a dropped host is never placed on again; a job's retry
//! after a lost connection never lands on the host that lost it while
//! another live host has not failed it.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::command::{self, FileScript, FileSpec};
use super::connect::LoginWatch;
use super::login::Login;
use super::master::{Connection, Pacer};
use super::{AllHosts, Options, Workdir};
use crate::exec::Ending;
use crate::job::Job;
use crate::template::CommandLine;

/// Lost connections after which a host is dropped even if it answers again.
pub const HOST_FAILURE_LIMIT: u32 = 3;

/// ssh's exit status when the connection failed.
const SSH_FAILED: i32 = 255;

/// One host of the run.
pub(super) struct Host {
    pub(super) login: Login,
    pub(super) connection: Option<Connection>,
    /// More masters for a host with more slots than sshd's default
    /// `MaxSessions` ([`super::connect::SESSIONS_PER_MASTER`]): connection
    /// `k` is `connection` for 0, `extra[k - 1]` after.
    pub(super) extra: Vec<Connection>,
    pub(super) slots: usize,
    /// Whether its login shell is bash (the lighter wrapper).
    pub(super) is_bash: bool,
    /// Held while a lost connection is being checked, so one check and one
    /// restart happen per loss, not one per job that saw it.
    pub(super) check: Mutex<()>,
}

/// What the placement protocol shares; every vector is indexed by host
/// and grows only (a login file may add hosts, never renumber them).
pub(super) struct State {
    pub(super) hosts: Vec<Arc<Host>>,
    pub(super) running: Vec<usize>,
    pub(super) is_dropped: Vec<bool>,
    pub(super) losses: Vec<u32>,
    /// Sessions open on each of a host's connections.
    pub(super) sessions: Vec<Vec<usize>>,
    /// Bumped at each master restart: an attempt started before it needs
    /// no further check.
    pub(super) generation: Vec<u64>,
}

impl Host {
    /// Connection `k` (`None` for this machine).
    pub(super) fn link(&self, k: usize) -> Option<&Connection> {
        match k {
            0 => self.connection.as_ref(),
            k => self.extra.get(k - 1),
        }
    }

    /// Every connection of the host.
    pub(super) fn links(&self) -> impl Iterator<Item = &Connection> {
        self.connection.iter().chain(&self.extra)
    }
}

impl State {
    /// Adds a host (live unless `is_dropped`).
    pub(super) fn push(&mut self, host: Host, is_dropped: bool, control_dir: Option<&PathBuf>) {
        self.sessions.push(vec![0; 1 + host.extra.len()]);
        let host = Arc::new(host);
        super::connect::clean_up_at_exit(&host, control_dir);
        self.hosts.push(host);
        self.running.push(0);
        self.is_dropped.push(is_dropped);
        self.losses.push(0);
        self.generation.push(0);
    }
}

/// An attempt placed on a host.
pub struct Placed {
    host: usize,
    /// Which of the host's connections (see [`Host::extra`]).
    link: usize,
    generation: u64,
    /// Whether the host is this machine (`:`): the job's own command runs.
    pub is_local: bool,
    /// The login, for the joblog.
    pub host_name: Vec<u8>,
    /// What the attempt runs.
    pub command: CommandLine,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Settled {
    /// The attempt's ending is the job's (subject to `--retries`).
    Done,
    /// The connection was lost: run the job again elsewhere.
    Again,
}

/// The hosts of a run.
pub struct Remote {
    /// Slot `s` (from 1) lives on host `slot_home[s - 1]` (slots past its
    /// end, kept for hosts a login file adds, have no home).
    pub(super) slot_home: Vec<usize>,
    /// Slots kept for hosts a login file adds later.
    pub(super) spare_slots: usize,
    pub(super) state: Mutex<State>,
    pub(super) changed: Condvar,
    pub(super) pacer: Pacer,
    pub(super) options: Options,
    /// The read end every remote job's ssh gets as stdin; the write end
    /// is held (never written) until crew exits.
    pub(super) stdin_pipe: OwnedFd,
    pub(super) _stdin_writer: std::io::PipeWriter,
    /// Variables (and functions) every remote job script sets first.
    pub(super) env_prefix: Vec<u8>,
    /// `--slf` files, watched for changes.
    pub(super) watch: Option<Mutex<LoginWatch>>,
    /// This machine's slots (for `:`).
    pub(super) local_slots: usize,
    /// Where the masters' sockets are.
    pub(super) control_dir: Option<PathBuf>,
    pub(super) _control_dir: Option<tempfile::TempDir>,
}

impl Remote {
    /// crew's slots: every live host's, added up.
    pub fn total_slots(&self) -> usize {
        self.slot_home.len().max(1) + self.spare_slots
    }

    /// The hosts `--onall`/`--nonall` run on: (index, login name).
    pub fn live_hosts(&self) -> Vec<(usize, String)> {
        let state = self.lock();
        state
            .hosts
            .iter()
            .enumerate()
            .filter(|(i, _)| !state.is_dropped[*i])
            .map(|(i, h)| (i, h.login.name.clone()))
            .collect()
    }

    /// `--onall`/`--nonall`, if given.
    pub fn all_hosts(&self) -> Option<AllHosts> {
        self.options.all_hosts
    }

    /// The fd remote jobs' ssh reads as stdin (jobs without a `--pipe` block).
    pub fn stdin_pipe(&self) -> &OwnedFd {
        &self.stdin_pipe
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Places an attempt of `job` (see the module doc); `failed_on` lists the
    /// hosts this job failed on. `Err` when no live
    /// host is left.
    pub fn place(&self, job: &Job, failed_on: &[usize]) -> Result<Placed, String> {
        self.reload_if_changed();
        let mut state = self.lock();
        let host = loop {
            let live = |h: usize, state: &State| !state.is_dropped[h];
            if (0..state.hosts.len()).all(|h| !live(h, &state)) {
                return Err("no host is left to run it on".into());
            }
            let free = |h: usize, state: &State| state.hosts[h].slots > state.running[h];
            let chosen = match job.remote.pinned {
                Some(pinned) if !live(pinned, &state) => {
                    return Err(format!(
                        "host {} was dropped",
                        state.hosts[pinned].login.name
                    ));
                }
                Some(pinned) => Some(pinned),
                None => {
                    let home = self.slot_home.get(job.slot - 1).copied();
                    let untried = |h: &usize| !failed_on.contains(h);
                    let candidates: Vec<usize> = (0..state.hosts.len())
                        .filter(|&h| live(h, &state) && free(h, &state))
                        .collect();
                    home.filter(|h| candidates.contains(h) && untried(h))
                        .or_else(|| {
                            let most_free = |list: Vec<usize>| {
                                list.into_iter()
                                    .max_by_key(|&h| state.hosts[h].slots - state.running[h])
                            };
                            most_free(candidates.iter().copied().filter(untried).collect()).or_else(
                                || {
                                    let all_failed = (0..state.hosts.len())
                                        .filter(|&h| live(h, &state))
                                        .all(|h| failed_on.contains(&h));
                                    if all_failed {
                                        most_free(candidates.clone())
                                    } else {
                                        None
                                    }
                                },
                            )
                        })
                }
            };
            match chosen {
                Some(host) => break host,
                None if self.watch.is_some() => {
                    // Wake now and then: a login file may add a host.
                    let (waited, _) = self
                        .changed
                        .wait_timeout(state, super::connect::RELOAD_EVERY)
                        .unwrap_or_else(|e| e.into_inner());
                    drop(waited);
                    self.reload_if_changed();
                    state = self.lock();
                }
                None => state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
            }
        };
        state.running[host] += 1;
        let generation = state.generation[host];
        let host_ref = Arc::clone(&state.hosts[host]);
        let sessions = &mut state.sessions[host];
        let link = (0..sessions.len())
            .min_by_key(|&k| sessions[k])
            .unwrap_or(0);
        sessions[link] += 1;
        drop(state);
        let login = &host_ref.login;
        let command = match host_ref.link(link) {
            None => job.command.clone(),
            Some(connection) => {
                self.pacer.wait_turn();
                self.remote_command(job, &host_ref, connection)
            }
        };
        Ok(Placed {
            host,
            link,
            generation,
            is_local: host_ref.connection.is_none(),
            host_name: login.name.clone().into_bytes(),
            command,
        })
    }

    fn remote_command(&self, job: &Job, host: &Host, connection: &Connection) -> CommandLine {
        let (login, is_bash) = (&host.login, host.is_bash);
        let mut script = self.env_prefix.clone();
        let seq = job.seq.to_string();
        let slot = job.slot.to_string();
        for (name, value) in [
            ("PARALLEL_SEQ", seq.as_bytes()),
            ("PARALLEL_JOBSLOT", slot.as_bytes()),
            ("CREW_SEQ", seq.as_bytes()),
            ("CREW_SLOT", slot.as_bytes()),
            ("PARALLEL_PID", std::process::id().to_string().as_bytes()),
            ("PARALLEL_SSHLOGIN", login.name.as_bytes()),
            ("PARALLEL_SSHHOST", login.target.host().as_bytes()),
        ] {
            command::export(&mut script, name.as_bytes(), value);
        }
        match &job.command {
            CommandLine::Shell(text) => script.extend_from_slice(text),
            CommandLine::Direct(argv) => {
                script.extend_from_slice(&command::words(argv.iter().map(Vec::as_slice)))
            }
        }
        let workdir = match &self.options.workdir {
            Workdir::Login => Vec::new(),
            Workdir::Dir(dir) => dir.clone(),
            Workdir::PerJob => {
                format!(".parallel/tmp/crew-{}-{}", std::process::id(), job.seq).into_bytes()
            }
        };
        let remote = command::remote_line(&workdir, &script, job.block.is_some(), is_bash);
        let files = &job.remote;
        let moves_files = !files.transfer.is_empty()
            || !files.returns.is_empty()
            || (self.options.cleanup && self.options.workdir == Workdir::PerJob);
        let ssh = connection.job_words();
        if !moves_files {
            let mut argv = ssh.to_vec();
            argv.push(b"--".to_vec());
            argv.push(remote);
            return CommandLine::Direct(argv);
        }
        let transfer: Vec<FileSpec> = files.transfer.iter().map(|p| FileSpec::new(p)).collect();
        let returns: Vec<FileSpec> = files.returns.iter().map(|p| FileSpec::new(p)).collect();
        let script = FileScript {
            ssh,
            workdir: &workdir,
            transfer: &transfer,
            returns: &returns,
            cleanup: self.options.cleanup,
            is_own_workdir: self.options.workdir == Workdir::PerJob,
        }
        .render(&remote);
        CommandLine::Direct(vec![b"/bin/sh".to_vec(), b"-c".to_vec(), script])
    }

    /// Settles an attempt (see the module doc); `failed_on` gains the host
    /// when the attempt failed there or lost its connection (a retry goes
    /// to another host, as GNU's `--retries` does).
    pub fn settle(&self, placed: Placed, ending: &Ending, failed_on: &mut Vec<usize>) -> Settled {
        let host = placed.host;
        if !ending.is_success() && !failed_on.contains(&host) {
            failed_on.push(host);
        }
        let host_ref = {
            let mut state = self.lock();
            state.running[host] -= 1;
            state.sessions[host][placed.link] -= 1;
            self.changed.notify_all();
            Arc::clone(&state.hosts[host])
        };
        let Some(connection) = host_ref.link(placed.link) else {
            return Settled::Done;
        };
        if !matches!(ending, Ending::Exited(SSH_FAILED)) {
            return Settled::Done;
        }
        let _checking = host_ref.check.lock().unwrap_or_else(|e| e.into_inner());
        {
            let state = self.lock();
            if state.is_dropped[host] || state.generation[host] != placed.generation {
                return Settled::Again;
            }
        }
        if connection.is_alive(&self.pacer) {
            return Settled::Done;
        }
        let name = &host_ref.login.name;
        let losses = {
            let mut state = self.lock();
            state.losses[host] += 1;
            state.losses[host]
        };
        let is_back = losses < HOST_FAILURE_LIMIT
            && connection.has_master()
            && connection.restart(&self.pacer);
        let mut state = self.lock();
        if is_back {
            state.generation[host] += 1;
        } else {
            state.is_dropped[host] = true;
            crate::error::warn(&format!(
                "crew: Warning: host {name} stopped answering (ssh exit 255); it is dropped and its jobs run elsewhere\n"
            ));
        }
        self.changed.notify_all();
        Settled::Again
    }
}

impl Remote {
    /// A job's files (`--transferfile`, `--return`), from its expansion.
    pub fn job_files(&self, expansion: &crate::template::Expansion<'_>) -> super::JobFiles {
        self.options.job_files(expansion)
    }
}
