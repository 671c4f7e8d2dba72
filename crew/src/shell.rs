//! Which shell runs shell-mode commands: GNU parallel's choice, so error
//! messages and shell features (bash's exported functions) are the same.
//!
//! Order: `$CREW_SHELL`, `$PARALLEL_SHELL`, the shell crew was started
//! from (as GNU: the nearest ancestor process whose `argv[0]` names a
//! shell, found again on `PATH` by that name, so `bash` is the same path
//! GNU prints in error messages), `$SHELL`, then `/bin/sh`. A command that names a bash function exported into the
//! environment (`export -f f`) runs in bash whatever the order says.

use std::ffi::OsString;
use std::path::Path;

/// Shells whose `-c` behaves like `sh -c`.
const KNOWN_SHELLS: &[&str] = &[
    "ash", "bash", "dash", "ksh", "ksh93", "lksh", "mksh", "posh", "sh", "yash", "zsh",
];

/// The shell for shell-mode commands.
pub fn choose() -> OsString {
    for variable in ["CREW_SHELL", "PARALLEL_SHELL"] {
        if let Some(shell) = std::env::var_os(variable).filter(|s| !s.is_empty()) {
            return shell;
        }
    }
    if let Some(shell) = parent_shell() {
        return shell;
    }
    std::env::var_os("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| OsString::from("/bin/sh"))
}

/// Shells GNU parallel recognises in an ancestor (the walk stops at the
/// first; one whose `-c` is not `sh`'s is not used).
const ANY_SHELLS: &[&str] = &[
    "ash",
    "bash",
    "bsd-csh",
    "csh",
    "dash",
    "fdsh",
    "fish",
    "fizsh",
    "ksh",
    "ksh93",
    "lksh",
    "mksh",
    "pdksh",
    "posh",
    "rbash",
    "rc",
    "rush",
    "rzsh",
    "sash",
    "sh",
    "static-sh",
    "tcsh",
    "yash",
    "zsh",
];

/// The nearest ancestor that is a shell, as GNU finds it: by the name in
/// its `argv[0]` (a leading `-` of a login shell dropped), looked up on
/// `PATH` (its executable if not found there).
fn parent_shell() -> Option<OsString> {
    // SAFETY: 1. getppid has no preconditions and cannot fail.
    let mut pid = unsafe { libc::getppid() };
    for _ in 0..64 {
        if pid <= 1 {
            return None;
        }
        if let Some(name) = argv0_name(pid) {
            if ANY_SHELLS.contains(&name.as_str()) {
                if !KNOWN_SHELLS.contains(&name.as_str()) {
                    return None;
                }
                return on_path(&name).or_else(|| {
                    std::fs::read_link(format!("/proc/{pid}/exe"))
                        .ok()
                        .map(std::path::PathBuf::into_os_string)
                });
            }
        }
        pid = parent_of(pid)?;
    }
    None
}

/// The file name in `argv[0]` of process `pid`, without a leading `-`.
fn argv0_name(pid: i32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv0 = cmdline.split(|&b| b == 0).next()?;
    let argv0 = std::str::from_utf8(argv0).ok()?;
    let name = argv0.rsplit('/').next()?;
    Some(name.strip_prefix('-').unwrap_or(name).to_string())
}

/// The parent of process `pid` (from `/proc/<pid>/stat`).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold anything, up to the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The first executable `name` on `PATH`.
fn on_path(name: &str) -> Option<OsString> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .map(std::path::PathBuf::into_os_string)
}

/// Whether `shell` (a path, or a name looked up on `PATH`) is an
/// executable file: GNU refuses a `$PARALLEL_SHELL` that is not.
pub fn exists(shell: &std::ffi::OsStr) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let text = shell.to_string_lossy();
    if text.contains('/') {
        std::fs::metadata(shell).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    } else {
        on_path(&text).is_some()
    }
}

/// `$PARALLEL_ENV` (GNU's, set by `env_parallel`): shell code run before
/// every command; a file's content if it names a file; `\x01` stands for
/// a newline. It is taken out of the environment jobs get.
pub fn parallel_env() -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    let value = std::env::var_os("PARALLEL_ENV").filter(|v| !v.is_empty())?;
    std::env::remove_var("PARALLEL_ENV");
    let mut code = match std::fs::read(&value) {
        Ok(content) => content,
        Err(_) => value.into_vec(),
    };
    for byte in &mut code {
        if *byte == 1 {
            *byte = b'\n';
        }
    }
    Some(code)
}

/// Whether `name` is a bash function exported into crew's environment.
pub fn is_exported_function(name: &[u8]) -> bool {
    let mut key = b"BASH_FUNC_".to_vec();
    key.extend_from_slice(name);
    key.extend_from_slice(b"%%");
    use std::os::unix::ffi::OsStrExt;
    std::env::var_os(std::ffi::OsStr::from_bytes(&key)).is_some()
}

/// A bash to run exported functions with.
pub fn bash() -> OsString {
    ["/bin/bash", "/usr/bin/bash"]
        .iter()
        .find(|p| Path::new(p).exists())
        .map_or_else(|| OsString::from("bash"), OsString::from)
}
