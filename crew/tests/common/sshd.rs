//! Real OpenSSH servers for crew's remote tests, one per test host.
//!
//! Each host is `/usr/sbin/sshd -D -e` with its own generated host key and
//! config, listening on its own loopback address (127.0.0.N, a free
//! port), started inside its own mount namespace (`unshare -m`) where its
//! scratch home dir is bind-mounted over `/root`: files a remote job
//! writes in its login dir really are elsewhere, in [`Host::home`], and
//! every process of that host (sshd, its sessions, the jobs) is found by
//! its mount namespace. The client side is a generated `ssh_config`
//! (`ssh -F`) naming the hosts `h1`, `h2`, ...; the name `down` points at
//! an address where nothing listens.
//!
//! Invariants: a host that cannot start fails the test with the reason
//! (never a skip); a host's namespace is held open as long as the host
//! exists, so its identity is never another host's;
//! [`Hosts`]' drop SIGKILLs every process of every host,
//! so no test leaves a server or a remote job behind.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a host may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(20);

/// The absolute path sshd must be started by.
const SSHD: &str = "/usr/sbin/sshd";

static NEXT_ADDRESS: AtomicU32 = AtomicU32::new(0);

/// One test host.
pub struct Host {
    /// Its name in the ssh config (`h1`, ...).
    pub name: String,
    /// The dir its `/root` (the login dir) really is.
    pub home: PathBuf,
    sshd: Child,
    /// Its mount namespace (`/proc/PID/ns/mnt` link text).
    namespace: String,
    /// Held open so the namespace outlives its processes: its inode number
    /// (what `namespace` names) is never reused by another test's host
    /// while this one may still look for its processes.
    _namespace_handle: std::fs::File,
    log: mpsc::Receiver<String>,
}

/// The hosts of one test.
pub struct Hosts {
    dir: tempfile::TempDir,
    /// The client config.
    pub config: PathBuf,
    hosts: Vec<Host>,
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn keygen(path: &Path) {
    run(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(path),
        "ssh-keygen (is openssh-client installed?)",
    );
}

fn free_port(address: &str) -> u16 {
    std::net::TcpListener::bind((address, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on {address}: {e}"))
}

/// A loopback address no other host of this process uses (127.0.0.2 up,
/// offset by the pid so test binaries running together differ too).
fn next_address() -> String {
    let n = NEXT_ADDRESS.fetch_add(1, Ordering::Relaxed);
    let k = (std::process::id() % 50) * 4000 + n;
    format!(
        "127.{}.{}.{}",
        1 + (k / 60000) % 200,
        (k / 250) % 240,
        2 + k % 250
    )
}

impl Hosts {
    /// Starts `count` hosts (`h1` ... `h{count}`).
    ///
    /// # Panics
    ///
    /// sshd is not installed or does not start: the message says why.
    pub fn start(count: usize) -> Hosts {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (apt-get install openssh-server); the remote tests need real ssh servers"
        );
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd (sshd's privilege separation dir)");
        let dir = tempfile::tempdir().expect("a scratch dir");
        let key = dir.path().join("client_key");
        keygen(&key);
        let mut config = String::new();
        let mut hosts = Vec::new();
        for i in 1..=count {
            let name = format!("h{i}");
            let root = dir.path().join(&name);
            let home = root.join("home");
            std::fs::create_dir_all(&home).expect("a host home");
            let host_key = root.join("host_key");
            keygen(&host_key);
            let address = next_address();
            let port = free_port(&address);
            let sshd_config = root.join("sshd_config");
            std::fs::write(
                &sshd_config,
                format!(
                    "ListenAddress {address}:{port}\nHostKey {}\nAuthorizedKeysFile {}.pub\n\
                     PermitRootLogin yes\nUsePAM no\nStrictModes no\nPidFile none\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     MaxStartups 200:30:400\nLogLevel INFO\n",
                    host_key.display(),
                    key.display()
                ),
            )
            .expect("sshd_config");
            config.push_str(&format!(
                "Host {name}\n  HostName {address}\n  Port {port}\n"
            ));
            hosts.push(Host::start(name, home, &sshd_config, &address));
        }
        config.push_str(&format!(
            "Host down\n  HostName 127.0.0.1\n  Port {}\n",
            free_port("127.0.0.1")
        ));
        config.push_str(&format!(
            "Host *\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  \
             StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  \
             BatchMode yes\n  ConnectTimeout 10\n",
            key.display()
        ));
        let config_path = dir.path().join("ssh_config");
        std::fs::write(&config_path, config).expect("ssh_config");
        Hosts {
            dir,
            config: config_path,
            hosts,
        }
    }

    /// `--ssh` for crew and GNU parallel.
    pub fn ssh(&self) -> String {
        format!("ssh -F {}", self.config.display())
    }

    /// Host `i` (from 0).
    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    /// Kills host `i` at once: its sshd, its sessions and their jobs
    /// (SIGKILL, everything in its mount namespace).
    pub fn kill(&mut self, i: usize) {
        let host = &mut self.hosts[i];
        host.kill_all();
    }

    /// A scratch dir for the test's local files.
    pub fn scratch(&self) -> PathBuf {
        let path = self.dir.path().join("local");
        std::fs::create_dir_all(&path).expect("a local dir");
        path
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for host in &mut self.hosts {
            host.kill_all();
        }
    }
}

impl Host {
    fn start(name: String, home: PathBuf, config: &Path, address: &str) -> Host {
        let script = format!("mount --bind \"$1\" /root && exec {SSHD} -f \"$2\" -D -e");
        let mut sshd = Command::new("unshare")
            .args([
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
                "sshd-host",
            ])
            .arg(&home)
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start sshd for {name} (unshare): {e}"));
        let stderr = sshd.stderr.take().expect("piped stderr");
        let (sender, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START_LIMIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match log.recv_timeout(left) {
                Ok(line) if line.contains("Server listening") => break,
                Ok(line) => seen.push(line),
                Err(_) => {
                    let _ = sshd.kill();
                    let status = sshd.wait().ok();
                    panic!(
                        "sshd for {name} on {address} did not start (status {status:?}): {}",
                        seen.join(" | ")
                    );
                }
            }
        }
        let ns_path = format!("/proc/{}/ns/mnt", sshd.id());
        let namespace_handle = std::fs::File::open(&ns_path).expect("sshd's mount namespace");
        let namespace = std::fs::read_link(&ns_path)
            .map(|p| p.display().to_string())
            .expect("sshd's mount namespace");
        let own = std::fs::read_link("/proc/self/ns/mnt")
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        assert_ne!(
            namespace, own,
            "sshd for {name} must have its own mount namespace"
        );
        Host {
            name,
            home,
            sshd,
            namespace,
            _namespace_handle: namespace_handle,
            log,
        }
    }

    /// Pids of this host's processes (sshd and everything it started).
    pub fn pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<i32>().ok())
            else {
                continue;
            };
            let ns = std::fs::read_link(format!("/proc/{pid}/ns/mnt"));
            if ns.is_ok_and(|ns| ns.display().to_string() == self.namespace) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Command lines of this host's processes other than the listening sshd.
    pub fn jobs(&self) -> Vec<String> {
        self.pids()
            .into_iter()
            .filter(|&pid| pid != self.sshd.id() as i32)
            .filter_map(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .trim()
                    .to_string()
            })
            .filter(|c| !c.is_empty() && !c.starts_with("sshd:"))
            .collect()
    }

    /// Waits (up to `limit`) until no process of this host runs a command
    /// containing `text`; returns those still running then.
    pub fn wait_gone(&self, text: &str, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left: Vec<String> = self
                .jobs()
                .into_iter()
                .filter(|c| c.contains(text))
                .collect();
            if left.is_empty() || Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to `limit`) until nothing but the listening sshd is left
    /// on this host (no session: crew closed its master connection);
    /// returns what is still there then.
    pub fn wait_idle(&self, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left: Vec<String> = self
                .pids()
                .into_iter()
                .filter(|&pid| pid != self.sshd.id() as i32)
                .filter_map(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .trim()
                        .to_string()
                })
                .collect();
            if left.is_empty() || Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill_all(&mut self) {
        // Until none is left: a dying session may still fork.
        for _ in 0..50 {
            let pids = self.pids();
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                // SAFETY: 1. kill has no memory-safety preconditions; 2. the
                // pid is in this host's private mount namespace, so it is
                // one of the test's own processes.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.sshd.wait();
    }

    /// sshd's log so far.
    pub fn log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}
