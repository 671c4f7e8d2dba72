//! The hosts of a run: start-up (masters, slots, basefiles), placing each
//! attempt of a job on a host, settling it when it ends, and shut-down.
//!
//! Placement protocol (one mutex, one condvar):
//! - crew's scheduler hands a job a slot; every slot has a *home* host
//!   (slots are dealt round-robin over the hosts, each up to its count).
//! - [`Remote::place`] runs the attempt on the home host if it is live, the
//!   job has not lost a connection there, and the host has a free slot;
//!   else on the live host with the most free slots that the job has not
//!   failed on; if every live host failed the job, on any live host. With
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
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex, MutexGuard};

use super::command::{self, FileScript, FileSpec};
use super::login::{self, Login, Target};
use super::master::{Connection, Pacer};
use super::{AllHosts, Options, Workdir};
use crate::error::CrewError;
use crate::exec::Ending;
use crate::job::Job;
use crate::template::CommandLine;

/// Lost connections after which a host is dropped even if it answers again.
pub const HOST_FAILURE_LIMIT: u32 = 3;

/// ssh's exit status when the connection failed.
const SSH_FAILED: i32 = 255;

/// One host of the run.
struct Host {
    login: Login,
    connection: Option<Connection>,
    slots: usize,
    /// Held while a lost connection is being checked, so one check and one
    /// restart happen per loss, not one per job that saw it.
    check: Mutex<()>,
}

struct State {
    running: Vec<usize>,
    is_dropped: Vec<bool>,
    losses: Vec<u32>,
    /// Bumped at each master restart: an attempt started before it needs
    /// no further check.
    generation: Vec<u64>,
}

/// An attempt placed on a host.
pub struct Placed {
    host: usize,
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
    hosts: Vec<Host>,
    /// Slot `s` (from 1) lives on host `slot_home[s - 1]`.
    slot_home: Vec<usize>,
    state: Mutex<State>,
    changed: Condvar,
    pacer: Pacer,
    options: Options,
    /// The read end every remote job's ssh gets as stdin; the write end
    /// is held (never written) until crew exits.
    stdin_pipe: OwnedFd,
    _stdin_writer: std::io::PipeWriter,
    /// Variables (and functions) every remote job script sets first.
    env_prefix: Vec<u8>,
    _control_dir: Option<tempfile::TempDir>,
}

impl Remote {
    /// Connects to every host at once and deals out the slots. A host
    /// that does not answer is dropped (with a warning unless
    /// `--filter-hosts`).
    ///
    /// # Errors
    ///
    /// No host answers, a login file cannot be read, or a basefile
    /// cannot be sent.
    pub fn start(options: Options, local_slots: usize, dry_run: bool) -> Result<Remote, CrewError> {
        let mut logins = options.logins.clone();
        for file in &options.login_files {
            logins.extend(login::read_file(file)?);
        }
        let logins = login::merge(logins);
        if logins.is_empty() {
            return Err(CrewError::usage("--sshlogin/--sshloginfile name no host"));
        }
        let control_dir = if options.uses_master && !dry_run {
            Some(
                tempfile::Builder::new()
                    .prefix("crew-ssh-")
                    .tempdir_in("/tmp")
                    .map_err(|e| CrewError::output("a directory for ssh control sockets", e))?,
            )
        } else {
            None
        };
        let pacer = Pacer::new(options.delay);
        let mut hosts: Vec<Host> = logins
            .into_iter()
            .enumerate()
            .map(|(i, login)| {
                let connection = match &login.target {
                    Target::Local => None,
                    Target::Ssh { .. } => Some(Connection::new(
                        &login,
                        &options.ssh,
                        control_dir.as_ref().map(|d| d.path().join(i.to_string())),
                    )),
                };
                Host {
                    login,
                    connection,
                    slots: 0,
                    check: Mutex::new(()),
                }
            })
            .collect();
        let answers: Vec<Result<usize, String>> = if dry_run {
            hosts.iter().map(|_| Ok(1)).collect()
        } else {
            std::thread::scope(|scope| {
                let pacer = &pacer;
                let started: Vec<_> = hosts
                    .iter()
                    .map(|host| {
                        scope.spawn(move || match &host.connection {
                            None => Ok(local_slots),
                            // One more try: a loaded host may drop a
                            // first connection (MaxStartups, a slow start).
                            Some(connection) => {
                                connection.start(pacer).or_else(|_| connection.start(pacer))
                            }
                        })
                    })
                    .collect();
                started
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err("crew panicked".into())))
                    .collect()
            })
        };
        let mut is_dropped = Vec::new();
        for (host, answer) in hosts.iter_mut().zip(answers) {
            match answer {
                Ok(cores) => {
                    host.slots = host
                        .login
                        .slots
                        .or(match host.login.target {
                            Target::Local => Some(local_slots),
                            Target::Ssh { .. } => options.slots_per_host,
                        })
                        .unwrap_or(cores);
                    is_dropped.push(false);
                }
                Err(reason) => {
                    if !options.filter_hosts {
                        crate::error::warn(&format!(
                            "crew: Warning: host {} does not answer ({reason}); it is left out\n",
                            host.login.name
                        ));
                    }
                    is_dropped.push(true);
                }
            }
        }
        if is_dropped.iter().all(|&d| d) {
            return Err(CrewError::Gnu(
                "no --sshlogin answers: no host to run jobs on.".into(),
            ));
        }
        let (reader, writer) = std::io::pipe()
            .map_err(|e| CrewError::output("a pipe for the remote jobs' stdin", e))?;
        let remote = Remote {
            slot_home: deal_slots(&hosts, &is_dropped),
            state: Mutex::new(State {
                running: vec![0; hosts.len()],
                losses: vec![0; hosts.len()],
                generation: vec![0; hosts.len()],
                is_dropped,
            }),
            hosts,
            changed: Condvar::new(),
            pacer,
            env_prefix: super::env::prefix(&options.env)?,
            options,
            stdin_pipe: OwnedFd::from(reader),
            _stdin_writer: writer,
            _control_dir: control_dir,
        };
        if !dry_run {
            remote.send_basefiles()?;
        }
        Ok(remote)
    }

    /// crew's slots: every live host's, added up.
    pub fn total_slots(&self) -> usize {
        self.slot_home.len().max(1)
    }

    /// The hosts `--onall`/`--nonall` run on: (index, login name).
    pub fn live_hosts(&self) -> Vec<(usize, String)> {
        let state = self.lock();
        self.hosts
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

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Places an attempt of `job` (see the module doc); `lost_on` lists the
    /// hosts that lost a connection during this job. `Err` when no live
    /// host is left.
    pub fn place(&self, job: &Job, lost_on: &[usize]) -> Result<Placed, String> {
        let mut state = self.lock();
        let host = loop {
            let live = |h: usize, state: &State| !state.is_dropped[h];
            if (0..self.hosts.len()).all(|h| !live(h, &state)) {
                return Err("no host is left to run it on".into());
            }
            let free = |h: usize, state: &State| self.hosts[h].slots > state.running[h];
            let chosen = match job.remote.pinned {
                Some(pinned) if !live(pinned, &state) => {
                    return Err(format!(
                        "host {} was dropped",
                        self.hosts[pinned].login.name
                    ));
                }
                Some(pinned) => Some(pinned),
                None => {
                    let home = self.slot_home.get(job.slot - 1).copied();
                    let untried = |h: &usize| !lost_on.contains(h);
                    let candidates: Vec<usize> = (0..self.hosts.len())
                        .filter(|&h| live(h, &state) && free(h, &state))
                        .collect();
                    home.filter(|h| candidates.contains(h) && untried(h))
                        .or_else(|| {
                            let most_free = |list: Vec<usize>| {
                                list.into_iter()
                                    .max_by_key(|&h| self.hosts[h].slots - state.running[h])
                            };
                            most_free(candidates.iter().copied().filter(untried).collect()).or_else(
                                || {
                                    let all_failed = (0..self.hosts.len())
                                        .filter(|&h| live(h, &state))
                                        .all(|h| lost_on.contains(&h));
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
                None => state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
            }
        };
        state.running[host] += 1;
        let generation = state.generation[host];
        drop(state);
        let login = &self.hosts[host].login;
        let command = match &self.hosts[host].connection {
            None => job.command.clone(),
            Some(connection) => {
                self.pacer.wait_turn();
                self.remote_command(job, connection, login)
            }
        };
        Ok(Placed {
            host,
            generation,
            is_local: self.hosts[host].connection.is_none(),
            host_name: login.name.clone().into_bytes(),
            command,
        })
    }

    fn remote_command(&self, job: &Job, connection: &Connection, login: &Login) -> CommandLine {
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
        let remote = command::remote_line(&workdir, &script, job.block.is_some());
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

    /// Settles an attempt (see the module doc); `lost_on` gains the host
    /// when its connection was lost.
    pub fn settle(&self, placed: Placed, ending: &Ending, lost_on: &mut Vec<usize>) -> Settled {
        let host = placed.host;
        {
            let mut state = self.lock();
            state.running[host] -= 1;
            self.changed.notify_all();
        }
        let Some(connection) = &self.hosts[host].connection else {
            return Settled::Done;
        };
        if !matches!(ending, Ending::Exited(SSH_FAILED)) {
            return Settled::Done;
        }
        let _checking = self.hosts[host]
            .check
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        {
            let state = self.lock();
            if state.is_dropped[host] || state.generation[host] != placed.generation {
                lost_on.push(host);
                return Settled::Again;
            }
        }
        if connection.is_alive(&self.pacer) {
            return Settled::Done;
        }
        let name = &self.hosts[host].login.name;
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
        lost_on.push(host);
        Settled::Again
    }

    fn send_basefiles(&self) -> Result<(), CrewError> {
        for file in &self.options.basefiles {
            let spec = FileSpec::new(file);
            for (i, host) in self.hosts.iter().enumerate() {
                let Some(connection) = &host.connection else {
                    continue;
                };
                if self.lock().is_dropped[i] {
                    continue;
                }
                let dir = self.base_dir(&spec);
                let mut tar = Command::new("tar")
                    .arg("-C")
                    .arg(std::ffi::OsStr::from_bytes(&spec.local_dir))
                    .args(["-cf", "-", "--"])
                    .arg(std::ffi::OsStr::from_bytes(&spec.relative))
                    .stdout(Stdio::piped())
                    .spawn()
                    .map_err(|e| CrewError::output("the basefile (tar)", e))?;
                let stdout = tar.stdout.take().map(Stdio::from);
                let dir = String::from_utf8_lossy(&command::word(&dir)).into_owned();
                let sent = connection.run(
                    &self.pacer,
                    &format!("mkdir -p -- {dir} && tar -C {dir} -xf -"),
                    stdout,
                );
                let packed = tar.wait().is_ok_and(|s| s.success());
                let sent = sent.and_then(|()| {
                    if packed {
                        Ok(())
                    } else {
                        Err("tar could not read it".to_string())
                    }
                });
                if let Err(reason) = sent {
                    return Err(CrewError::Gnu(format!(
                        "cannot send --basefile {} to {}: {reason}",
                        String::from_utf8_lossy(file),
                        host.login.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Where a basefile lives on the hosts.
    fn base_dir(&self, spec: &FileSpec) -> Vec<u8> {
        match &self.options.workdir {
            _ if spec.is_absolute => b"/".to_vec(),
            Workdir::Dir(dir) => dir.clone(),
            Workdir::Login | Workdir::PerJob => b".".to_vec(),
        }
    }

    /// Ends the run: removes basefiles (`--cleanup`) and stops the masters.
    pub fn shutdown(&self) {
        let state = self.lock();
        let is_dropped = state.is_dropped.clone();
        drop(state);
        std::thread::scope(|scope| {
            for (i, host) in self.hosts.iter().enumerate() {
                let Some(connection) = &host.connection else {
                    continue;
                };
                let basefiles = &self.options.basefiles;
                let cleans = self.options.cleanup && !basefiles.is_empty() && !is_dropped[i];
                scope.spawn(move || {
                    if cleans {
                        let mut remove = String::new();
                        for file in basefiles {
                            let spec = FileSpec::new(file);
                            let mut path = self.base_dir(&spec);
                            path.push(b'/');
                            path.extend_from_slice(&spec.relative);
                            remove.push_str("rm -f -- ");
                            remove.push_str(&String::from_utf8_lossy(&command::word(&path)));
                            remove.push_str("; ");
                        }
                        remove.push_str("true");
                        let _ = connection.run(&self.pacer, &remove, None);
                    }
                    connection.stop();
                });
            }
        });
    }
}

/// Deals slots round-robin over the live hosts, each up to its count, so
/// that slots 1, 2, ... land on different hosts first.
fn deal_slots(hosts: &[Host], is_dropped: &[bool]) -> Vec<usize> {
    let mut left: Vec<usize> = hosts
        .iter()
        .zip(is_dropped)
        .map(|(h, &dropped)| if dropped { 0 } else { h.slots })
        .collect();
    let mut homes = Vec::new();
    while left.iter().any(|&n| n > 0) {
        for (host, n) in left.iter_mut().enumerate() {
            if *n > 0 {
                *n -= 1;
                homes.push(host);
            }
        }
    }
    homes
}

impl Remote {
    /// A job's files (`--transferfile`, `--return`), from its expansion.
    pub fn job_files(&self, expansion: &crate::template::Expansion<'_>) -> super::JobFiles {
        self.options.job_files(expansion)
    }
}
