//! GNU parallel's sshlogin syntax: what `-S`/`--sshlogin` and
//! `--sshloginfile` name.
//!
//! Grammar of one login (several are separated by commas or given by
//! repeating `-S`; a file holds one per line, `#` starts a comment):
//!
//! ```text
//! login   = [slots "/"] target
//! target  = ":"                      this machine, no ssh
//!         | [ssh-words " "] [user "@"] host [":" port]
//! ```
//!
//! `ssh-words` replace the ssh command for this host (GNU's
//! `-S 'ssh -p 2222 host'`). `..` as a file name (or `-S ..`) is
//! `~/.parallel/sshloginfile`, as in GNU. Invariant: parsing never touches
//! the network; two logins naming the same target are one host whose
//! slots add up.

use std::path::{Path, PathBuf};

use crate::error::CrewError;

/// One host crew may run jobs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    /// Job slots given as `N/`; `None`: decided at start-up (`-j`, or the
    /// host's cores).
    pub slots: Option<usize>,
    /// The login without its slot prefix, as the joblog's Host column and
    /// `$PARALLEL_SSHLOGIN` show it.
    pub name: String,
    /// What the job runs on.
    pub target: Target,
}

/// Where a login's jobs run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// This machine (`:`): jobs run locally, as without `-S`.
    Local,
    /// A host reached over ssh.
    Ssh {
        /// ssh command words given in the login itself (empty: `--ssh`).
        ssh_words: Vec<String>,
        /// `user@host` or `host`, as ssh takes it.
        destination: String,
        /// `:port`, passed as `-p`.
        port: Option<String>,
    },
}

impl Target {
    /// The host name alone (`$PARALLEL_SSHHOST`): `:` for this machine.
    pub fn host(&self) -> &str {
        match self {
            Target::Local => ":",
            Target::Ssh { destination, .. } => destination
                .rsplit_once('@')
                .map_or(destination.as_str(), |(_, host)| host),
        }
    }
}

/// Parses the logins of one `-S` value (comma-separated).
///
/// # Errors
///
/// An empty login or a slot count that is not a positive number.
pub fn parse_list(text: &str) -> Result<Vec<Login>, CrewError> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_one)
        .collect()
}

/// Parses one login.
///
/// # Errors
///
/// See [`parse_list`].
pub fn parse_one(text: &str) -> Result<Login, CrewError> {
    let text = text.trim();
    let (slots, rest) = match text.split_once('/') {
        Some((count, rest)) if !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) => {
            let slots: usize = count.parse().map_err(|_| bad(text))?;
            if slots == 0 {
                return Err(bad(text));
            }
            (Some(slots), rest.trim())
        }
        _ => (None, text),
    };
    if rest.is_empty() {
        return Err(bad(text));
    }
    if rest == ":" {
        return Ok(Login {
            slots,
            name: ":".into(),
            target: Target::Local,
        });
    }
    let mut words: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
    let last = words.pop().ok_or_else(|| bad(text))?;
    let (destination, port) = match last.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host.to_string(), Some(port.to_string()))
        }
        _ => (last, None),
    };
    if destination.is_empty() || destination.contains('/') {
        return Err(bad(text));
    }
    Ok(Login {
        slots,
        name: rest.to_string(),
        target: Target::Ssh {
            ssh_words: words,
            destination,
            port,
        },
    })
}

fn bad(text: &str) -> CrewError {
    CrewError::usage(format!(
        "--sshlogin `{text}` is not [N/][user@]host[:port] or `:` (this machine)"
    ))
}

/// `..` stands for `~/.parallel/sshloginfile`.
pub fn login_file_path(name: &str) -> PathBuf {
    if name == ".." {
        let home = std::env::var_os("HOME").unwrap_or_default();
        return Path::new(&home).join(".parallel/sshloginfile");
    }
    PathBuf::from(name)
}

/// Reads the logins of a `--sshloginfile`.
///
/// # Errors
///
/// The file cannot be read, or a line is not a login.
pub fn read_file(path: &Path) -> Result<Vec<Login>, CrewError> {
    let text = std::fs::read_to_string(path).map_err(|source| CrewError::InputFile {
        path: path.to_path_buf(),
        source,
    })?;
    parse_file_text(&text)
}

/// The logins in a login file's text.
///
/// # Errors
///
/// A line is not a login.
pub fn parse_file_text(text: &str) -> Result<Vec<Login>, CrewError> {
    let mut logins = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if !line.is_empty() {
            logins.extend(parse_list(line)?);
        }
    }
    Ok(logins)
}

/// Merges logins naming the same target: slots add up (GNU counts
/// `-S 2/a,2/a` as four slots on `a`), the first spelling names it.
pub fn merge(logins: Vec<Login>) -> Vec<Login> {
    let mut merged: Vec<Login> = Vec::new();
    for login in logins {
        match merged.iter_mut().find(|m| m.target == login.target) {
            Some(existing) => {
                existing.slots = match (existing.slots, login.slots) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                }
            }
            None => merged.push(login),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh(destination: &str, port: Option<&str>) -> Target {
        Target::Ssh {
            ssh_words: Vec::new(),
            destination: destination.into(),
            port: port.map(str::to_string),
        }
    }

    #[test]
    fn every_gnu_form_parses() {
        let logins = parse_list("host, user@h2 ,4/h3,:,2/:,h4:2222").unwrap();
        let targets: Vec<_> = logins.iter().map(|l| (l.slots, l.target.clone())).collect();
        assert_eq!(
            targets,
            vec![
                (None, ssh("host", None)),
                (None, ssh("user@h2", None)),
                (Some(4), ssh("h3", None)),
                (None, Target::Local),
                (Some(2), Target::Local),
                (None, ssh("h4", Some("2222"))),
            ]
        );
        assert_eq!(logins[2].name, "h3");
        assert_eq!(logins[1].target.host(), "h2");
    }

    #[test]
    fn a_login_may_carry_its_own_ssh_command() {
        let login = parse_one("3/ssh -p 2222 me@far").unwrap();
        assert_eq!(login.slots, Some(3));
        assert_eq!(login.name, "ssh -p 2222 me@far");
        assert_eq!(
            login.target,
            Target::Ssh {
                ssh_words: vec!["ssh".into(), "-p".into(), "2222".into()],
                destination: "me@far".into(),
                port: None,
            }
        );
    }

    #[test]
    fn bad_logins_are_refused() {
        for text in ["0/host", "3/", "/"] {
            assert!(parse_one(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_login_file_skips_comments_and_blank_lines() {
        let logins = parse_file_text("# hosts\n\n2/a # two\nb,c\n").unwrap();
        let names: Vec<_> = logins.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn the_same_host_twice_is_one_host_with_the_slots_added() {
        let merged = merge(parse_list("2/a,b,3/a").unwrap());
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].slots, Some(5));
    }
}
