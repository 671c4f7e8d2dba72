//! Picks GNU parallel's own regression command lines out of a checkout
//! of GNU parallel's source, at test time (they are GNU's, GPL-3.0, and
//! never stored in this repository).
//!
//! The selection, in order:
//! 1. every `testsuite/tests-to-run/*.sh` of `$GNU_PARALLEL_SRC`, in name
//!    order, except the scripts that need other hosts, databases, other
//!    programs, particular hardware or minutes per line ([`SKIPPED_SCRIPTS`]);
//! 2. their logical lines: each line trimmed, a line ending in `\`, `|`,
//!    `&&` or `||` joined to the next with one space (the `\` dropped);
//!    comments and blank lines left out, duplicates kept once;
//! 3. the lines with a `parallel` command word (first, after an operator,
//!    an assignment or a wrapper such as `nice` or `stdout`) whose leading option words
//!    crew accepts. crew itself is asked (one probe per distinct word, the
//!    word alone, stdin `/dev/null`): clap's "unexpected argument" means
//!    crew lacks it, "a value is required" means the next word is its
//!    value. Lines asking for help or the version (crew's own texts),
//!    lines using `sudo` and lines giving `parallel` a remote option (also
//!    in `$PARALLEL`)
//!    ([`REMOTE`]: other hosts, which this machine does not have, and
//!    issue 18 leaves remote execution to its own issue) are left out.
//!
//! The caller then drops the lines GNU parallel does not print the same
//! way twice in a row (or does not finish), so only deterministic lines
//! are compared.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};

/// Scripts whose lines cannot be compared on one machine in seconds:
/// remote hosts, databases, other tools (`sem`, `niceload`, `parsort`),
/// hardware, installation, memory/load/race stress, 100 s and 300 s tests.
pub const SKIPPED_SCRIPTS: &[&str] = &[
    "100s",
    "300s",
    "centos",
    "freebsd",
    "hwdep",
    "install",
    "leak",
    "load",
    "manual",
    "mem",
    "niceload",
    "openindiana",
    "parsort",
    "polarhome",
    "race",
    "remote",
    "sem",
    "sql",
];

/// Options of remote execution (`-S` also with its value attached, as
/// in `-Slo`; the long ones also as `--name=value`).
pub const REMOTE: &[&str] = &[
    "-S",
    "--sshlogin",
    "--slf",
    "--sshloginfile",
    "--trc",
    "--transfer",
    "--transferfile",
    "--tf",
    "--return",
    "--cleanup",
    "--basefile",
    "--bf",
    "--workdir",
    "--wd",
    "--onall",
    "--nonall",
    "-M",
    "--controlmaster",
    "--ssh",
    "--sshdelay",
    "--filter-hosts",
];

/// Whether `option` (one word) is one of [`REMOTE`].
fn is_remote(option: &str) -> bool {
    let name = option.split_once('=').map_or(option, |(name, _)| name);
    REMOTE.contains(&name) || (option.starts_with("-S") && !option.starts_with("--"))
}

/// Option words whose output is crew's own text, not GNU's.
const OWN_TEXT: &[&str] = &["-h", "--help", "--version", "-V"];

/// The selected lines of `$src/testsuite/tests-to-run`, probing options
/// with the crew binary at `crew`.
pub fn regression_lines(src: &Path, crew: &Path) -> Vec<String> {
    let dir = src.join("testsuite/tests-to-run");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (is GNU_PARALLEL_SRC a GNU parallel checkout?)",
                dir.display()
            )
        })
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.ends_with(".sh") && !SKIPPED_SCRIPTS.iter().any(|skip| name.contains(skip))
        })
        .collect();
    scripts.sort();
    let mut probe = Probe {
        crew,
        known: HashMap::new(),
    };
    let mut seen = HashSet::new();
    let mut lines = Vec::new();
    for script in scripts {
        let bytes = std::fs::read(&script).expect("a readable script");
        for line in logical_lines(&String::from_utf8_lossy(&bytes)) {
            if line.starts_with('#') || !line.contains("parallel") || seen.contains(&line) {
                continue;
            }
            if uses_only_crew_options(&line, &mut probe) {
                seen.insert(line.clone());
                lines.push(line);
            }
        }
    }
    lines
}

/// Trimmed lines, continuation lines joined with one space.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if current.is_empty() {
            current.push_str(line);
        } else {
            if current.ends_with('\\') {
                current.pop();
            }
            current.push(' ');
            current.push_str(line);
        }
        let continued =
            current.ends_with('\\') || current.ends_with('|') || current.ends_with("&&");
        if !continued && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// How crew takes one option word.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Taken {
    Unknown,
    WithValue,
    Alone,
}

/// Asks crew about option words, once each.
struct Probe<'a> {
    crew: &'a Path,
    known: HashMap<String, Taken>,
}

impl Probe<'_> {
    fn ask(&mut self, word: &str) -> Taken {
        if let Some(taken) = self.known.get(word) {
            return *taken;
        }
        let output = Command::new(self.crew)
            .arg(word)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env_remove("PARALLEL")
            .output()
            .expect("crew starts");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let taken = if stderr.contains("unexpected argument") || stderr.contains("unexpected value")
        {
            Taken::Unknown
        } else if stderr.contains("a value is required") {
            Taken::WithValue
        } else {
            Taken::Alone
        };
        self.known.insert(word.to_string(), taken);
        taken
    }
}

/// Whether `line` runs `parallel` with only option words crew accepts.
fn uses_only_crew_options(line: &str, probe: &mut Probe) -> bool {
    let Some(words) = shell_words(line) else {
        return false;
    };
    if words.iter().any(|w| w == "sudo") {
        return false;
    }
    // Options given in `$PARALLEL` count as the line's own.
    let in_environment = words
        .iter()
        .filter_map(|w| w.strip_prefix("PARALLEL="))
        .flat_map(str::split_whitespace);
    if in_environment.clone().any(is_remote) {
        return false;
    }
    let mut found = false;
    for (i, word) in words.iter().enumerate() {
        if word != "parallel" || !is_command_position(&words[..i]) {
            continue;
        }
        found = true;
        let mut j = i + 1;
        while let Some(option) = words.get(j).filter(|w| w.starts_with('-') && w.len() > 1) {
            if OWN_TEXT.contains(&option.as_str()) || is_remote(option) {
                return false;
            }
            match probe.ask(option) {
                Taken::Unknown => return false,
                Taken::WithValue => j += 2,
                Taken::Alone => j += 1,
            }
        }
    }
    found
}

/// Whether the word after `before` is a command: first of the line, after
/// an operator, an assignment or a wrapper that runs its arguments.
fn is_command_position(before: &[String]) -> bool {
    let Some(previous) = before.last() else {
        return true;
    };
    let is_assignment = previous.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
            && !name.starts_with(|c: char| c.is_ascii_digit())
    });
    is_assignment
        || ["|", ";", "&", "(", ")", "{", "!", "then", "do", "else"].contains(&previous.as_str())
        || [
            "stdout", "stderr", "stdsort", "nice", "time", "nohup", "exec", "env",
        ]
        .contains(&previous.as_str())
}

/// The words of a shell line (quotes removed; `| ; & ( ) < >` each a
/// word of their own); `None` for an unterminated quote.
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next()?),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() || "|;&()<>".contains(c) => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                if !c.is_whitespace() {
                    words.push(c.to_string());
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_join_with_one_space() {
        let text = "  a |\n\tb \\\n  c\n# note\nd &&\ne\n";
        assert_eq!(logical_lines(text), ["a | b  c", "# note", "d && e"]);
    }

    #[test]
    fn parallel_counts_only_as_a_command() {
        let mut probe = Probe {
            crew: Path::new("/nonexistent"),
            known: HashMap::new(),
        };
        assert!(!uses_only_crew_options("echo before parallel", &mut probe));
        assert!(!uses_only_crew_options("which parallel", &mut probe));
        assert!(uses_only_crew_options(
            "seq 2 | X=1 nice parallel echo",
            &mut probe
        ));
    }

    #[test]
    fn remote_options_leave_the_line_out() {
        let mut probe = Probe {
            crew: Path::new("/nonexistent"),
            known: HashMap::new(),
        };
        for line in [
            "parallel -Slo echo ::: a",
            "parallel --sshlogin=lo echo ::: a",
            "parallel --nonall -k echo",
            "seq 2 | parallel --trc {}.out touch {}.out",
            "PARALLEL='-k -Shost' parallel echo ::: a",
        ] {
            assert!(!uses_only_crew_options(line, &mut probe), "{line}");
        }
    }

    #[test]
    fn words_follow_shell_quoting() {
        let words = shell_words(r#"x 'a b'|"c\"d" e\ f"#).unwrap();
        assert_eq!(words, ["x", "a b", "|", "c\"d", "e f"]);
        assert!(shell_words("echo 'open").is_none());
    }
}
