//! The life of the host table: start-up (every host at once: master,
//! cores, basefiles), `--sshloginfile` reloads, and shut-down.
//!
//! Protocol:
//! - Start-up connects to all hosts in parallel threads, so a run's start
//!   costs one handshake, not one per host; a host that does not answer
//!   (twice) is left out with a warning (quietly with `--filter-hosts`);
//!   if none answers crew stops with status 255. A host with more slots
//!   than [`SESSIONS_PER_MASTER`] gets more masters ([`add_masters`]).
//!   Slots are dealt out round-robin ([`deal_slots`]).
//! - With `--slf`, placing an attempt first checks (at most every
//!   [`RELOAD_EVERY`]) whether a login file changed (its mtime or size).
//!   Then the logins are read again: hosts no longer named take no new
//!   jobs (running ones finish), new ones are connected (outside the state
//!   lock, one reload at a time) and added. crew's slot count is fixed at
//!   start, so a run with `--slf` keeps [`SPARE_SLOTS`] extra slots that
//!   new hosts fill; until then attempts on them wait for a host slot.
//! - Shut-down removes `--basefile`s (with `--cleanup`) and stops every
//!   master, all hosts at once. crew may also exit from its signal thread
//!   (Ctrl-C) without returning here: an `atexit` handler then stops the
//!   masters still running and removes the socket dir ([`AT_EXIT`]).

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::command::{self, FileSpec};
use super::hosts::{Host, Remote, State};
use super::login::{self, Login, Target};
use super::master::{Connection, Pacer};
use super::{Options, Workdir};
use crate::error::CrewError;

/// How often login files are checked for changes.
pub const RELOAD_EVERY: Duration = Duration::from_millis(500);

/// Jobs one master carries at most: sshd's default `MaxSessions` (a
/// session past it is refused, and ssh falls back to a connection of its
/// own, with a message). A host with more slots gets more masters.
pub const SESSIONS_PER_MASTER: usize = 10;

/// Extra slots a run with `--slf` keeps for hosts added later.
pub const SPARE_SLOTS: usize = 16;

/// What the `atexit` handler cleans up: every host ever connected, and
/// the socket dir.
static AT_EXIT: Mutex<(Vec<Arc<Host>>, Option<PathBuf>)> = Mutex::new((Vec::new(), None));

extern "C" fn stop_masters_at_exit() {
    // try_lock: a thread that exits while holding the lock must not hang
    // crew's exit; the masters then leave by themselves (ControlPersist).
    if let Ok(mut at_exit) = AT_EXIT.try_lock() {
        for host in at_exit.0.drain(..) {
            for connection in host.links() {
                connection.stop();
            }
        }
        if let Some(dir) = at_exit.1.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Notes `host` for the `atexit` handler (registered once).
pub(super) fn clean_up_at_exit(host: &Arc<Host>, control_dir: Option<&PathBuf>) {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: 1. atexit only stores the pointer to a function with the
        // C ABI and no arguments; 2. the handler takes no lock it could
        // wait for forever (try_lock) and is safe to run once at exit.
        unsafe {
            libc::atexit(stop_masters_at_exit);
        }
    });
    let mut at_exit = AT_EXIT.lock().unwrap_or_else(|e| e.into_inner());
    at_exit.0.push(Arc::clone(host));
    if at_exit.1.is_none() {
        at_exit.1 = control_dir.cloned();
    }
}

/// The `--slf` files and what they last looked like.
pub struct LoginWatch {
    files: Vec<(PathBuf, Option<(SystemTime, u64)>)>,
    checked: Instant,
}

fn stamp(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl LoginWatch {
    fn new(files: &[PathBuf]) -> LoginWatch {
        LoginWatch {
            files: files.iter().map(|f| (f.clone(), stamp(f))).collect(),
            checked: Instant::now(),
        }
    }

    /// Whether a file changed since the last call that said so.
    fn has_changed(&mut self) -> bool {
        if self.checked.elapsed() < RELOAD_EVERY {
            return false;
        }
        self.checked = Instant::now();
        let mut changed = false;
        for (path, seen) in &mut self.files {
            let now = stamp(path);
            if now != *seen {
                *seen = now;
                changed = true;
            }
        }
        changed
    }
}

/// The logins of `-S` and of the login files.
fn all_logins(options: &Options) -> Result<Vec<Login>, CrewError> {
    let mut logins = options.logins.clone();
    for file in &options.login_files {
        logins.extend(login::read_file(file)?);
    }
    Ok(login::merge(logins))
}

/// Connects to `logins` at once (hosts numbered from `first`); each
/// host with its slots, or why it does not answer.
fn connect(
    logins: Vec<Login>,
    first: usize,
    options: &Options,
    control_dir: Option<&PathBuf>,
    pacer: &Pacer,
    local_slots: usize,
    dry_run: bool,
) -> Vec<(Host, Result<(), String>)> {
    let hosts: Vec<Host> = logins
        .into_iter()
        .enumerate()
        .map(|(i, login)| Host {
            connection: match &login.target {
                Target::Local => None,
                Target::Ssh { .. } => Some(Connection::new(
                    &login,
                    &options.ssh,
                    control_dir.map(|d| d.join((first + i).to_string())),
                )),
            },
            login,
            extra: Vec::new(),
            slots: 0,
            is_bash: false,
            check: Mutex::new(()),
        })
        .collect();
    let answers: Vec<Result<(usize, bool), String>> = if dry_run {
        hosts.iter().map(|_| Ok((1, false))).collect()
    } else {
        std::thread::scope(|scope| {
            let started: Vec<_> = hosts
                .iter()
                .map(|host| {
                    scope.spawn(move || match &host.connection {
                        None => Ok((local_slots, false)),
                        // One more try: a loaded host may drop a first
                        // connection (MaxStartups, a slow start).
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
    let mut hosts: Vec<(Host, Result<(), String>)> = hosts
        .into_iter()
        .zip(answers)
        .map(|(mut host, answer)| {
            let answer = answer.map(|(cores, is_bash)| {
                host.is_bash = is_bash;
                host.slots = host
                    .login
                    .slots
                    .or(match host.login.target {
                        Target::Local => Some(local_slots),
                        Target::Ssh { .. } => options.slots_per_host,
                    })
                    .unwrap_or(cores);
            });
            (host, answer)
        })
        .collect();
    if let (Some(dir), false) = (control_dir, dry_run) {
        add_masters(&mut hosts, first, dir, options, pacer);
    }
    hosts
}

/// Gives each connected host with more slots than
/// [`SESSIONS_PER_MASTER`] the masters it needs, all at once; a master
/// that does not start is left out (its jobs then share the others').
fn add_masters(
    hosts: &mut [(Host, Result<(), String>)],
    first: usize,
    dir: &std::path::Path,
    options: &Options,
    pacer: &Pacer,
) {
    std::thread::scope(|scope| {
        for (i, (host, answer)) in hosts.iter_mut().enumerate() {
            if answer.is_err() || host.connection.is_none() {
                continue;
            }
            let wanted = host.slots.div_ceil(SESSIONS_PER_MASTER).saturating_sub(1);
            let login = &host.login;
            let started: Vec<_> = (1..=wanted)
                .map(|k| {
                    let socket = dir.join(format!("{}.{k}", first + i));
                    scope.spawn(move || {
                        let connection = Connection::new(login, &options.ssh, Some(socket));
                        connection.start(pacer).ok().map(|_| connection)
                    })
                })
                .collect();
            let extra: Vec<Connection> = started
                .into_iter()
                .filter_map(|s| s.join().ok().flatten())
                .collect();
            host.extra = extra;
        }
    });
}

impl Remote {
    /// Connects to every host at once and deals out the slots (see the
    /// module doc).
    ///
    /// # Errors
    ///
    /// No host answers, a login file cannot be read, or a basefile
    /// cannot be sent.
    pub fn start(options: Options, local_slots: usize, dry_run: bool) -> Result<Remote, CrewError> {
        let logins = all_logins(&options)?;
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
        let control_path = control_dir.as_ref().map(|d| d.path().to_path_buf());
        let pacer = Pacer::new(options.delay);
        let connected = connect(
            logins,
            0,
            &options,
            control_path.as_ref(),
            &pacer,
            local_slots,
            dry_run,
        );
        let mut state = State {
            hosts: Vec::new(),
            running: Vec::new(),
            is_dropped: Vec::new(),
            losses: Vec::new(),
            sessions: Vec::new(),
            generation: Vec::new(),
        };
        for (host, answer) in connected {
            if let Err(reason) = &answer {
                warn_left_out(&options, &host, reason);
            }
            state.push(host, answer.is_err(), control_path.as_ref());
        }
        if state.is_dropped.iter().all(|&d| d) {
            return Err(CrewError::Gnu(
                "no --sshlogin answers: no host to run jobs on.".into(),
            ));
        }
        let (reader, writer) = std::io::pipe()
            .map_err(|e| CrewError::output("a pipe for the remote jobs' stdin", e))?;
        let watch = (!options.login_files.is_empty())
            .then(|| Mutex::new(LoginWatch::new(&options.login_files)));
        let remote = Remote {
            slot_home: deal_slots(&state),
            spare_slots: if watch.is_some() { SPARE_SLOTS } else { 0 },
            state: Mutex::new(state),
            changed: Condvar::new(),
            pacer,
            env_prefix: super::env::prefix(&options.env)?,
            options,
            stdin_pipe: reader.into(),
            _stdin_writer: writer,
            watch,
            local_slots,
            control_dir: control_path,
            _control_dir: control_dir,
        };
        if !dry_run {
            let hosts = remote.lock().hosts.clone();
            for (i, host) in hosts.iter().enumerate() {
                if remote.lock().is_dropped[i] {
                    continue;
                }
                remote.send_basefiles(host).map_err(CrewError::Gnu)?;
            }
        }
        Ok(remote)
    }

    /// `--slf`: re-reads the login files if one changed (module doc).
    pub(super) fn reload_if_changed(&self) {
        let Some(watch) = &self.watch else { return };
        let mut watch = match watch.try_lock() {
            Ok(watch) => watch,
            // Another attempt is checking or reloading now.
            Err(_) => return,
        };
        if !watch.has_changed() {
            return;
        }
        let logins = match all_logins(&self.options) {
            Ok(logins) => logins,
            Err(error) => {
                crate::error::warn(&format!(
                    "crew: Warning: {error}; the hosts stay as they were\n"
                ));
                return;
            }
        };
        let (new, first) = {
            let mut state = self.lock();
            for (i, host) in state.hosts.clone().iter().enumerate() {
                if !logins.iter().any(|l| l.target == host.login.target) {
                    state.is_dropped[i] = true;
                }
            }
            let new: Vec<Login> = logins
                .into_iter()
                .filter(|l| {
                    !state
                        .hosts
                        .iter()
                        .zip(&state.is_dropped)
                        .any(|(h, &dropped)| !dropped && h.login.target == l.target)
                })
                .collect();
            (new, state.hosts.len())
        };
        self.changed.notify_all();
        let connected = connect(
            new,
            first,
            &self.options,
            self.control_dir.as_ref(),
            &self.pacer,
            self.local_slots,
            false,
        );
        for (host, answer) in connected {
            let answer = answer.and_then(|()| self.send_basefiles(&host));
            if let Err(reason) = &answer {
                warn_left_out(&self.options, &host, reason);
            }
            self.lock()
                .push(host, answer.is_err(), self.control_dir.as_ref());
        }
        self.changed.notify_all();
    }

    /// Sends every `--basefile` to `host`.
    fn send_basefiles(&self, host: &Host) -> Result<(), String> {
        let Some(connection) = &host.connection else {
            return Ok(());
        };
        for file in &self.options.basefiles {
            let spec = FileSpec::new(file);
            let dir = self.base_dir(&spec);
            let mut tar = Command::new("tar")
                .arg("-C")
                .arg(std::ffi::OsStr::from_bytes(&spec.local_dir))
                .args(["-cf", "-", "--"])
                .arg(std::ffi::OsStr::from_bytes(&spec.relative))
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot run tar: {e}"))?;
            let stdout = tar.stdout.take().map(Stdio::from);
            let dir = String::from_utf8_lossy(&command::word(&dir)).into_owned();
            let sent = connection.run(
                &self.pacer,
                &format!("mkdir -p -- {dir} && tar -C {dir} -xf -"),
                stdout,
            );
            let is_packed = tar.wait().is_ok_and(|s| s.success());
            if let Err(reason) = sent {
                return Err(format!(
                    "cannot send --basefile {} to {}: {reason}",
                    String::from_utf8_lossy(file),
                    host.login.name
                ));
            }
            if !is_packed {
                return Err(format!(
                    "cannot send --basefile {}: tar cannot read it",
                    String::from_utf8_lossy(file)
                ));
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
        let (hosts, is_dropped) = {
            let state = self.lock();
            (state.hosts.clone(), state.is_dropped.clone())
        };
        std::thread::scope(|scope| {
            for (host, dropped) in hosts.iter().zip(is_dropped) {
                let Some(connection) = &host.connection else {
                    continue;
                };
                let basefiles = &self.options.basefiles;
                let cleans = self.options.cleanup && !basefiles.is_empty() && !dropped;
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
                    for link in host.links() {
                        link.stop();
                    }
                });
            }
        });
    }
}

fn warn_left_out(options: &Options, host: &Host, reason: &str) {
    if !options.filter_hosts {
        crate::error::warn(&format!(
            "crew: Warning: host {} does not answer ({reason}); it is left out\n",
            host.login.name
        ));
    }
}

/// Deals slots round-robin over the live hosts, each up to its count, so
/// that slots 1, 2, ... land on different hosts first.
fn deal_slots(state: &State) -> Vec<usize> {
    let mut left: Vec<usize> = state
        .hosts
        .iter()
        .zip(&state.is_dropped)
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
