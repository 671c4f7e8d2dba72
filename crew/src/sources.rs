//! The trailing words after the options: the split into the command
//! template's words and the `:::` / `::::` input sources (and `-a` files),
//! grouped for linking.
//!
//! Invariant: every word after the first non-option word belongs to the
//! command or to an input source, even if it starts with `-`; a source is
//! in the group of the source before it exactly when its separator ends in
//! `+`. Nothing here touches the filesystem: the files named are opened by
//! [`crate::input`].

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::CrewError;

/// Where one input source's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// Values given on the command line after `:::`.
    Args(Vec<OsString>),
    /// Lines (or NUL-separated records) of a file; `-` is stdin.
    File(PathBuf),
}

/// The command words and the input sources, grouped: sources in one group
/// are linked (`:::+`), groups combine as a cartesian product.
#[derive(Debug, PartialEq)]
pub struct CommandAndInputs {
    /// The command template's words.
    pub command: Vec<OsString>,
    /// Linked groups of sources, in order.
    pub groups: Vec<Vec<SourceSpec>>,
}

/// The words that separate input sources (GNU's `--arg-sep` and
/// `--arg-file-sep` change them).
#[derive(Debug, Clone)]
pub struct Separators {
    /// `:::` by default.
    pub args: String,
    /// `::::` by default.
    pub files: String,
}

impl Default for Separators {
    fn default() -> Self {
        Separators {
            args: ":::".into(),
            files: "::::".into(),
        }
    }
}

/// Which kind of separator a word is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sep {
    Args { linked: bool },
    Files { linked: bool },
}

impl Separators {
    fn classify(&self, word: &str) -> Option<Sep> {
        if word == self.args {
            Some(Sep::Args { linked: false })
        } else if word.strip_suffix('+') == Some(self.args.as_str()) {
            Some(Sep::Args { linked: true })
        } else if word == self.files {
            Some(Sep::Files { linked: false })
        } else if word.strip_suffix('+') == Some(self.files.as_str()) {
            Some(Sep::Files { linked: true })
        } else {
            None
        }
    }
}

/// Splits the trailing words at `:::`, `:::+`, `::::` and `::::+`; `-a`
/// files come first, each as its own group. A linked separator with no
/// source before it starts a group of its own (`::::+ a b` links a and b).
///
/// # Errors
///
/// A word that looks like an option where the command should start.
pub fn split_command(
    words: &[OsString],
    arg_files: &[String],
    separators: &Separators,
) -> Result<CommandAndInputs, CrewError> {
    if let Some(first) = words.first().and_then(|w| w.to_str()) {
        if first.starts_with('-') && first.len() > 1 && separators.classify(first).is_none() {
            return Err(CrewError::usage(format!(
                "unknown option `{first}` (options go before the command)"
            )));
        }
    }
    let mut groups: Vec<Vec<SourceSpec>> = arg_files
        .iter()
        .map(|path| vec![SourceSpec::File(PathBuf::from(path))])
        .collect();
    let mut command = Vec::new();
    let mut current: Option<Sep> = None;
    for word in words {
        if let Some(separator) = word.to_str().and_then(|w| separators.classify(w)) {
            if let Sep::Args { linked } = separator {
                let args = SourceSpec::Args(Vec::new());
                match groups.last_mut() {
                    Some(group) if linked => group.push(args),
                    _ => groups.push(vec![args]),
                }
            }
            current = Some(separator);
            continue;
        }
        match current {
            None => command.push(word.clone()),
            Some(Sep::Args { .. }) => {
                let last = groups.last_mut().and_then(|g| g.last_mut());
                if let Some(SourceSpec::Args(args)) = last {
                    args.push(word.clone());
                }
            }
            Some(Sep::Files { linked }) => {
                let file = SourceSpec::File(PathBuf::from(word));
                match groups.last_mut() {
                    Some(group) if linked => group.push(file),
                    _ => groups.push(vec![file]),
                }
            }
        }
    }
    Ok(CommandAndInputs { command, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn separators_build_groups_in_order() {
        let split = split_command(
            &os(&["echo", "{}", ":::", "a", "b", ":::+", "1", "2", "::::", "f"]),
            &[],
            &Separators::default(),
        )
        .unwrap();
        assert_eq!(split.command, os(&["echo", "{}"]));
        assert_eq!(
            split.groups,
            vec![
                vec![
                    SourceSpec::Args(os(&["a", "b"])),
                    SourceSpec::Args(os(&["1", "2"]))
                ],
                vec![SourceSpec::File("f".into())],
            ]
        );
    }

    #[test]
    fn linked_files_without_an_earlier_source_link_to_each_other() {
        let split = split_command(
            &os(&["echo", "::::+", "f", "g"]),
            &[],
            &Separators::default(),
        )
        .unwrap();
        assert_eq!(
            split.groups,
            vec![vec![
                SourceSpec::File("f".into()),
                SourceSpec::File("g".into())
            ]]
        );
    }

    #[test]
    fn an_unknown_option_in_command_position_is_an_error() {
        let error = split_command(&os(&["--bogus", "echo"]), &[], &Separators::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("--bogus"), "{error}");
    }
}
