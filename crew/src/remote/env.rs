//! `--env`: the variables and bash functions a remote job gets from
//! crew's environment, and `--record-env`, which names the variables
//! `--env _` leaves out.
//!
//! Rules (GNU parallel's): `--env NAME` sends `$NAME`, and the bash
//! function NAME if one is exported (`BASH_FUNC_NAME%%`); `--env _` sends
//! every variable not listed in `$PARALLEL_HOME/ignored_vars` (default
//! `~/.parallel/ignored_vars`, written by `--record-env` in a clean
//! shell), and is an error when that file does not exist. Invariant: each
//! name is sent at most once, in a fixed order, so every job of a run
//! starts with the same prefix.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use super::command::{define_function, export};
use crate::error::CrewError;

/// Variables that describe the local session and must never be sent.
const NEVER_SENT: &[&str] = &[
    "_",
    "HOME",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "USER",
    "LOGNAME",
    "SHELL",
    "HOSTNAME",
    "TERM",
    "SSH_AUTH_SOCK",
    "SSH_CLIENT",
    "SSH_CONNECTION",
    "SSH_TTY",
    "DISPLAY",
    "PARALLEL_SEQ",
    "PARALLEL_PID",
    "PARALLEL_JOBSLOT",
    "PARALLEL_SSHLOGIN",
    "PARALLEL_SSHHOST",
];

fn config_dir() -> PathBuf {
    match std::env::var_os("PARALLEL_HOME").filter(|h| !h.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".parallel"),
    }
}

/// The job-script lines that set the `--env` variables.
///
/// # Errors
///
/// `--env _` without an `ignored_vars` file.
pub fn prefix(names: &[String]) -> Result<Vec<u8>, CrewError> {
    let mut wanted: BTreeSet<OsString> = BTreeSet::new();
    for name in names
        .iter()
        .flat_map(|n| n.split(','))
        .filter(|n| !n.is_empty())
    {
        if name == "_" {
            let path = config_dir().join("ignored_vars");
            let text = std::fs::read_to_string(&path).map_err(|_| {
                CrewError::Gnu(format!(
                    "Run '{} --record-env' in a clean environment first.",
                    crate::error::program_name()
                ))
            })?;
            let ignored: BTreeSet<&str> = text.lines().collect();
            for (key, _) in std::env::vars_os() {
                if !key.to_str().is_some_and(|k| ignored.contains(k)) {
                    wanted.insert(key);
                }
            }
        } else {
            wanted.insert(name.into());
            wanted.insert(format!("BASH_FUNC_{name}%%").into());
        }
    }
    let mut out = Vec::new();
    for key in wanted {
        let bytes = key.as_bytes();
        if NEVER_SENT.iter().any(|n| n.as_bytes() == bytes) {
            continue;
        }
        let Some(value) = std::env::var_os(&key) else {
            continue;
        };
        let value = value.into_vec();
        if let Some(function) = bytes
            .strip_prefix(b"BASH_FUNC_")
            .and_then(|f| f.strip_suffix(b"%%"))
        {
            define_function(&mut out, function, &value);
        } else if bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_')
            && !bytes.first().is_some_and(u8::is_ascii_digit)
        {
            export(&mut out, bytes, &value);
        }
    }
    Ok(out)
}

/// `--record-env`: writes the names of crew's variables to
/// `ignored_vars`, then exits.
pub fn record_and_exit() -> ! {
    let dir = config_dir();
    let path = dir.join("ignored_vars");
    let mut text = Vec::new();
    for (key, _) in std::env::vars_os() {
        text.extend_from_slice(key.as_bytes());
        text.push(b'\n');
    }
    let written = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text));
    if let Err(error) = written {
        crate::error::warn(&format!(
            "{}: Error: Cannot write to {}: {error}.\n",
            crate::error::program_name(),
            path.display()
        ));
        std::process::exit(crate::error::EXIT_CREW_ERROR);
    }
    std::process::exit(0);
}
