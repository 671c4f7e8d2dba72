//! One job's values put into a parsed template's words ([`crate::template`]
//! parses; this module fills in).
//!
//! Invariants: a value is never split or expanded. In direct mode each
//! value becomes (part of) one argument, and a word made only of
//! replacement strings without any value vanishes; in shell mode each value
//! is quoted for the quoting context of its place ([`crate::quote`]),
//! except in the command word and for Perl values marked unquoted. With a
//! [`Turn`], a `{}`-like string stands for that one value only; without,
//! for all the job's values separated by spaces.

use crate::placeholder::{Placeholder, Position};
use crate::quote::quote_into;
use crate::template::{Expansion, Segment, Word};

/// An expansion with its values flattened once (every field of every
/// record, in order).
pub(crate) struct Values<'e> {
    expansion: &'e Expansion<'e>,
    pub(crate) flat: Vec<&'e [u8]>,
}

impl<'e> Values<'e> {
    pub(crate) fn new(expansion: &'e Expansion<'e>) -> Values<'e> {
        Values {
            expansion,
            flat: expansion
                .records
                .iter()
                .flatten()
                .map(Vec::as_slice)
                .collect(),
        }
    }

    /// The `n`-th value (1-based; negative from the end), if any.
    fn nth(&self, n: i64) -> Option<&'e [u8]> {
        let index = if n > 0 {
            usize::try_from(n - 1).ok()?
        } else {
            self.flat.len().checked_sub(usize::try_from(-n).ok()?)?
        };
        self.flat.get(index).copied()
    }
}

/// One `{}`-like value standing in for all (a repeated word's turn).
#[derive(Clone, Copy)]
pub(crate) struct Turn {
    pub(crate) index: usize,
}

/// Calls `emit(value, is_unquoted)` with each value `placeholder` stands
/// for; `turn` narrows `{}`-like strings to one value.
fn for_each_value(
    placeholder: Placeholder,
    occurrence: usize,
    values: &Values<'_>,
    turn: Option<Turn>,
    mut emit: impl FnMut(&[u8], bool),
) {
    let expansion = values.expansion;
    let perl =
        |index: usize| -> Option<&(Vec<u8>, bool)> { expansion.perl?.get(occurrence)?.get(index) };
    match placeholder {
        Placeholder::Value(Position::Each, modifier) => match turn {
            Some(turn) => {
                if let Some(value) = values.flat.get(turn.index) {
                    emit(modifier.apply(value), false);
                }
            }
            None => {
                for value in &values.flat {
                    emit(modifier.apply(value), false);
                }
            }
        },
        Placeholder::Value(Position::Nth(n), modifier) => {
            if let Some(value) = values.nth(n) {
                emit(modifier.apply(value), false);
            }
        }
        Placeholder::Perl(Position::Each, _) => {
            let range = match turn {
                Some(turn) => turn.index..turn.index + 1,
                None => 0..values.flat.len(),
            };
            for index in range {
                if let Some((value, unquoted)) = perl(index) {
                    emit(value, *unquoted);
                }
            }
        }
        Placeholder::Perl(Position::Nth(_), _) => {
            if let Some((value, unquoted)) = perl(0) {
                emit(value, *unquoted);
            }
        }
        Placeholder::Seq => emit(expansion.seq.to_string().as_bytes(), false),
        Placeholder::Slot => emit(expansion.slot.to_string().as_bytes(), false),
    }
}

pub(crate) fn expand_direct_word(
    word: &Word,
    expansion: &Values<'_>,
    turn: Option<Turn>,
    argv: &mut Vec<Vec<u8>>,
) {
    let first = argv.len();
    argv.push(Vec::new());
    let mut has_content = false;
    for segment in &word.segments {
        match segment {
            Segment::Text(text) => {
                has_content = true;
                argv.last_mut()
                    .expect("a word is open")
                    .extend_from_slice(text);
            }
            Segment::Hole(placeholder, _, occurrence) => {
                let mut count = 0;
                for_each_value(*placeholder, *occurrence, expansion, turn, |value, _| {
                    if count > 0 {
                        argv.push(Vec::new());
                    }
                    argv.last_mut()
                        .expect("a word is open")
                        .extend_from_slice(value);
                    count += 1;
                });
                has_content |= count > 0;
            }
        }
    }
    // A word made only of replacement strings without values (a missing
    // column, a `--pipe` job) vanishes, as an empty unquoted expansion
    // does in `sh`.
    if !has_content && !word.segments.is_empty() {
        argv.truncate(first);
    }
}

pub(crate) fn expand_shell_word(
    word: &Word,
    expansion: &Values<'_>,
    turn: Option<Turn>,
    script: &mut Vec<u8>,
) {
    for segment in &word.segments {
        match segment {
            Segment::Text(text) => script.extend_from_slice(text),
            Segment::Hole(placeholder, context, occurrence) => {
                let mut count = 0;
                for_each_value(
                    *placeholder,
                    *occurrence,
                    expansion,
                    turn,
                    |value, unquoted| {
                        if count > 0 {
                            script.push(b' ');
                        }
                        if word.is_command || unquoted {
                            script.extend_from_slice(value);
                        } else {
                            quote_into(script, value, *context);
                        }
                        count += 1;
                    },
                );
            }
        }
    }
}
