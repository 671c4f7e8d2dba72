//! Remote execution over ssh, with GNU parallel's options: `-S`/`--slf`
//! name the hosts, every other option means what it means locally.
//!
//! How a remote run goes (the pieces, in order):
//! - [`login`]: the sshlogin syntax; [`RemoteArgs`] → [`Options`] here.
//! - [`hosts`]: at start-up one ControlMaster per host ([`master`]), all
//!   hosts at once; their slots (`N/host`, `-j`, or the host's cores)
//!   make crew's slots, interleaved so the first jobs spread over every
//!   host. Each attempt of a job is *placed* on a host (its slot's home,
//!   or another live one) and *settled* when it ends.
//! - [`command`]: what the placed attempt runs: `ssh ... -- REMOTE`, or a
//!   local script around it when files move.
//!
//! Invariants:
//! - A remote job is a local process (ssh, or sh around ssh) in its own
//!   process group, so grouping, `-k`, `--line-buffer`, `--results`,
//!   `--timeout`, `--halt` and the joblog treat it as any job; the remote
//!   wrapper makes whatever ends the local ssh end the remote job too.
//! - An attempt that ends with ssh's 255 on a host that no longer answers
//!   is not the job's failure: the job runs again on another host, without
//!   using up a `--retries` attempt; the host is dropped (with a warning)
//!   when it cannot be reconnected, or after [`hosts::HOST_FAILURE_LIMIT`]
//!   losses. The job's final attempt alone is logged, so every job has
//!   exactly one joblog line.

pub mod command;
pub mod connect;
pub mod env;
pub mod hosts;
pub mod login;
pub mod master;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::error::CrewError;
use crate::template::{Expansion, Replacements, Template};
use login::Login;

pub use hosts::Remote;

/// The remote options on the command line (flattened into [`crate::cli::Cli`]).
#[derive(Args, Debug, Default)]
pub struct RemoteArgs {
    /// Run jobs on LOGIN: [N/][user@]host[:port], `:` (this machine), comma-separated or repeated.
    ///
    /// Example: crew -S 4/alpha,bravo,: gzip ::: *.log
    #[arg(short = 'S', long = "sshlogin", value_name = "LOGIN")]
    pub sshlogin: Vec<String>,

    /// Read logins from FILE, one per line (`..`: ~/.parallel/sshloginfile).
    ///
    /// Example: crew --slf hosts.txt gzip ::: *.log
    #[arg(long = "sshloginfile", alias = "slf", value_name = "FILE")]
    pub sshloginfile: Vec<String>,

    /// The ssh command (default: $PARALLEL_SSH, else ssh).
    ///
    /// Example: crew --ssh 'ssh -F my_config' -S far echo ::: a
    #[arg(long, value_name = "CMD")]
    pub ssh: Option<String>,

    /// Wait at least DUR between starting two ssh commands.
    ///
    /// Example: crew --sshdelay 0.2 -S far echo ::: a b
    #[arg(long, alias = "ssh-delay", value_name = "DUR")]
    pub sshdelay: Option<String>,

    /// Share one ssh connection per host (the default; GNU's -M).
    #[arg(short = 'M', long = "controlmaster", hide = true)]
    pub controlmaster: bool,

    /// Give every remote job its own ssh connection (no ControlMaster).
    ///
    /// Example: crew --no-controlmaster -S far echo ::: a
    #[arg(long = "no-controlmaster")]
    pub no_controlmaster: bool,

    /// Send FILE (placeholders allowed) to the host before the job.
    ///
    /// Example: crew -S far --transferfile {} wc -l {} ::: *.txt
    #[arg(long = "transferfile", aliases = ["tf", "transfer-file", "transfer-files", "transferfiles"], value_name = "FILE")]
    pub transferfile: Vec<String>,

    /// Send the input {} to the host before the job (--transferfile {}).
    ///
    /// Example: crew -S far --transfer gzip ::: *.log
    #[arg(long)]
    pub transfer: bool,

    /// Fetch FILE back from the host after the job.
    ///
    /// Example: crew -S far --transfer --return {}.gz gzip ::: *.log
    #[arg(long = "return", value_name = "FILE")]
    pub returns: Vec<String>,

    /// Remove sent and fetched files from the host after the job.
    ///
    /// Example: crew -S far --transfer --return {}.gz --cleanup gzip ::: *.log
    #[arg(long)]
    pub cleanup: bool,

    /// --transfer --return FILE --cleanup in one.
    ///
    /// Example: crew -S far --trc {}.gz gzip ::: *.log
    #[arg(long, value_name = "FILE")]
    pub trc: Vec<String>,

    /// Send FILE to every host once, before its first job.
    ///
    /// Example: crew -S far --basefile data.db ./query ::: a b
    #[arg(long = "basefile", alias = "bf", value_name = "FILE")]
    pub basefile: Vec<String>,

    /// Run remote jobs in DIR: `...` a new dir per job, `.` this dir's path below $HOME.
    ///
    /// Example: crew -S far --wd ... --trc {}.out ./sim {} ::: a b
    #[arg(long = "workdir", aliases = ["wd", "work-dir"], value_name = "DIR")]
    pub workdir: Option<String>,

    /// Run the command once on every host (no inputs).
    ///
    /// Example: crew --nonall -S a,b uptime
    #[arg(long)]
    pub nonall: bool,

    /// Run every job on every host.
    ///
    /// Example: crew --onall -S a,b 'df -h {}' ::: / /tmp
    #[arg(long)]
    pub onall: bool,

    /// Write the names of the current variables to ~/.parallel/ignored_vars (for --env _), then exit.
    ///
    /// Example: crew --record-env
    #[arg(long = "record-env", alias = "recordenv")]
    pub record_env: bool,

    /// Drop the hosts that do not answer, quietly.
    ///
    /// Example: crew --filter-hosts -S a,b,c uptime ::: 1
    #[arg(long = "filter-hosts", aliases = ["filterhosts", "filter-host"])]
    pub filter_hosts: bool,
}

/// Where remote jobs run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Workdir {
    /// The login dir.
    Login,
    /// This dir (relative ones below the login dir); made if missing.
    Dir(Vec<u8>),
    /// `...`: a new dir per job below `~/.parallel/tmp`.
    PerJob,
}

/// `--onall` / `--nonall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllHosts {
    /// `--onall`: every job on every host.
    EveryJob,
    /// `--nonall`: the command once per host, no inputs.
    CommandOnce,
}

/// The validated remote options.
#[derive(Debug)]
pub struct Options {
    /// Logins from `-S`.
    pub logins: Vec<Login>,
    /// `--slf` files.
    pub login_files: Vec<PathBuf>,
    /// The ssh command words.
    pub ssh: Vec<String>,
    /// `--sshdelay`.
    pub delay: Option<Duration>,
    /// Whether hosts get a ControlMaster.
    pub uses_master: bool,
    /// `--transferfile` templates.
    pub transfer: Vec<Template>,
    /// `--return` templates.
    pub returns: Vec<Template>,
    /// `--cleanup`.
    pub cleanup: bool,
    /// `--basefile`s.
    pub basefiles: Vec<Vec<u8>>,
    /// `--workdir`.
    pub workdir: Workdir,
    /// `--env` names (`_`: every variable not in ~/.parallel/ignored_vars).
    pub env: Vec<String>,
    /// `--onall` / `--nonall`.
    pub all_hosts: Option<AllHosts>,
    /// `--filter-hosts`.
    pub filter_hosts: bool,
    /// `-j N` given as a number: slots per host.
    pub slots_per_host: Option<usize>,
}

impl Options {
    /// The remote options, or `None` when no host is named.
    ///
    /// # Errors
    ///
    /// A bad login, delay or combination.
    pub fn from_cli(
        args: &RemoteArgs,
        env: &[String],
        jobs: Option<&str>,
        table: &mut Replacements,
        context_replace: bool,
    ) -> Result<Option<Options>, CrewError> {
        let mut logins = Vec::new();
        let mut login_files = Vec::new();
        for value in &args.sshlogin {
            if value.trim() == ".." {
                login_files.push(login::login_file_path(".."));
            } else {
                logins.extend(login::parse_list(value)?);
            }
        }
        login_files.extend(args.sshloginfile.iter().map(|f| login::login_file_path(f)));
        if logins.is_empty() && login_files.is_empty() {
            if args.nonall || args.onall {
                return Err(CrewError::usage(
                    "--nonall and --onall need hosts: add -S or --sshloginfile",
                ));
            }
            return Ok(None);
        }
        let ssh_text = args
            .ssh
            .clone()
            .or_else(|| std::env::var("PARALLEL_SSH").ok())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "ssh".into());
        let ssh = crate::quote::analyze(ssh_text.as_bytes())?
            .unquoted_words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect::<Vec<_>>();
        if ssh.is_empty() {
            return Err(CrewError::usage("--ssh needs a command"));
        }
        let mut parse = |text: &str| Template::parse_text(text.as_bytes(), table, context_replace);
        let mut transfer: Vec<Template> = args.transferfile.iter().map(|t| parse(t)).collect();
        if args.transfer || !args.trc.is_empty() {
            transfer.push(parse("{}"));
        }
        let returns = args
            .returns
            .iter()
            .chain(&args.trc)
            .map(|t| parse(t))
            .collect();
        let workdir = match args.workdir.as_deref() {
            None | Some("") => Workdir::Login,
            Some("...") => Workdir::PerJob,
            Some(".") => Workdir::Dir(here_below_home()),
            Some(dir) => Workdir::Dir(dir.as_bytes().to_vec()),
        };
        let all_hosts = match (args.onall, args.nonall) {
            (_, true) => Some(AllHosts::CommandOnce),
            (true, false) => Some(AllHosts::EveryJob),
            _ => None,
        };
        Ok(Some(Options {
            logins,
            login_files,
            ssh,
            delay: args
                .sshdelay
                .as_deref()
                .map(|d| crate::units::parse_duration("--sshdelay", d))
                .transpose()?,
            uses_master: !args.no_controlmaster,
            transfer,
            returns,
            cleanup: args.cleanup || !args.trc.is_empty(),
            basefiles: args
                .basefile
                .iter()
                .map(|b| b.as_bytes().to_vec())
                .collect(),
            workdir,
            env: env.to_vec(),
            all_hosts,
            filter_hosts: args.filter_hosts,
            slots_per_host: jobs
                .filter(|j| !j.is_empty() && j.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|j| j.parse().ok())
                .filter(|&n: &usize| n > 0),
        }))
    }

    /// The files a job moves: its `--transferfile` and `--return` values.
    pub fn job_files(&self, expansion: &Expansion<'_>) -> JobFiles {
        let expand = |templates: &[Template]| {
            templates
                .iter()
                .map(|t| t.expand_text(expansion))
                .filter(|path| !path.is_empty())
                .collect()
        };
        JobFiles {
            transfer: expand(&self.transfer),
            returns: expand(&self.returns),
            pinned: None,
            host_name: Vec::new(),
        }
    }
}

/// `--workdir .`: the current dir's path below `$HOME` (absolute when it
/// is not below it).
fn here_below_home() -> Vec<u8> {
    let here = std::env::current_dir().unwrap_or_default();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let path = match home.as_deref().and_then(|h| here.strip_prefix(h).ok()) {
        Some(below) if below.as_os_str().is_empty() => PathBuf::from("."),
        Some(below) => below.to_path_buf(),
        None => here,
    };
    path.into_os_string().into_encoded_bytes()
}

/// A job's remote particulars (empty for a local run).
#[derive(Clone, Debug, Default)]
pub struct JobFiles {
    /// Files sent before the job.
    pub transfer: Vec<Vec<u8>>,
    /// Files fetched after the job.
    pub returns: Vec<Vec<u8>>,
    /// `--onall`/`--nonall`: the host this job must run on.
    pub pinned: Option<usize>,
    /// The login its last attempt ran on (the joblog's Host); empty: `:`.
    pub host_name: Vec<u8>,
}

impl JobFiles {
    /// The joblog's Host column.
    pub fn host(&self) -> &[u8] {
        if self.host_name.is_empty() {
            b":"
        } else {
            &self.host_name
        }
    }
}
