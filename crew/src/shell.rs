//! Which shell runs shell-mode commands: GNU parallel's choice, so error
//! messages and shell features (bash's exported functions) are the same.
//!
//! Order: `$CREW_SHELL`, `$PARALLEL_SHELL`, the shell crew was started
//! from (its parent process, when that is a known shell), `$SHELL`, then
//! `/bin/sh`. A command that names a bash function exported into the
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

/// The parent process's executable, if it is a known shell.
fn parent_shell() -> Option<OsString> {
    // SAFETY: 1. getppid has no preconditions and cannot fail.
    let parent = unsafe { libc::getppid() };
    let exe = std::fs::read_link(format!("/proc/{parent}/exe")).ok()?;
    let name = exe.file_name()?.to_str()?;
    KNOWN_SHELLS.contains(&name).then(|| exe.into_os_string())
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
