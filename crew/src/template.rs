//! The command template: where each replacement string sits and how a
//! batch of inputs turns it into a command line.
//!
//! GNU parallel's model, which crew follows: the command words are joined
//! by spaces into one shell command line, and each replacement string is
//! replaced by its value shell-quoted (GNU's quoting: bare when made of
//! `[-_.+a-zA-Z0-9/]`, else in `'...'`). Values in the *first* word are
//! pasted unquoted: they are the command itself (`parallel {}`, `l{}`).
//! That line is what `-v`, `--dry-run` and the joblog show.
//!
//! Invariants:
//! - A template without any replacement string gets ` {}` appended, so
//!   every input reaches its command.
//! - Direct mode (no shell) yields the argument vector `sh` would have
//!   made of the command line, byte for byte; shell mode hands the line to
//!   the shell, each value quoted for the quoting context it sits in
//!   ([`crate::quote`]). Either way no value is ever split or expanded.
//! - Joining (default, `-n`, `-m`): a `{}`-like string stands for all the
//!   job's values separated by spaces, so in a word the first value joins
//!   the text before it and the last the text after it. Context replace
//!   (`-X`, `-N`, `-L`): a word holding a `{}`-like string is repeated once
//!   per value. Positional strings (`{2}`) take one value of the job; a
//!   word made only of replacement strings without any value vanishes.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use crate::error::CrewError;
use crate::expand::{expand_direct_word, expand_shell_word, Turn, Values};
pub use crate::placeholder::{Modifier, Placeholder, Position, Replacements};
use crate::quote::{analyze, quote_into, QuoteContext};

/// One input value (a line, an argument, a column), as raw bytes.
pub type Value = Vec<u8>;

/// The fields of one input: one per input source or `--colsep` column.
pub type Record = Vec<Value>;

/// Values computed in Perl for one job: per Perl occurrence in the
/// template (in order), one `(value, is_unquoted)` per value it covers.
pub type PerlValues = Vec<Vec<(Vec<u8>, bool)>>;

#[derive(Clone, Debug)]
pub(crate) enum Segment {
    Text(Vec<u8>),
    /// A replacement string, its quoting context, and for Perl ones its
    /// occurrence number (the index into [`PerlValues`]).
    Hole(Placeholder, QuoteContext, usize),
}

#[derive(Clone, Debug)]
pub(crate) struct Word {
    pub(crate) segments: Vec<Segment>,
    /// Values here are pasted unquoted (the first word).
    pub(crate) is_command: bool,
}

impl Word {
    pub(crate) fn has_each(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Hole(p, ..) if p.is_each()))
    }

    fn has_any_hole(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Hole(..)))
    }
}

#[derive(Clone, Debug)]
enum ShellPiece {
    Space(Vec<u8>),
    Word(Word),
}

/// A command line ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandLine {
    /// Run this argument vector directly (`argv[0]` looked up in `PATH`).
    Direct(Vec<Vec<u8>>),
    /// Run this script with the shell.
    Shell(Vec<u8>),
}

/// What a command is built from: the batch of inputs and the job's numbers.
#[derive(Clone, Copy)]
pub struct Expansion<'a> {
    /// The inputs of this job (one unless batching with -n/-N/-X/-m).
    pub records: &'a [Record],
    /// The job's sequence number, from 1.
    pub seq: u64,
    /// The job's slot, from 1.
    pub slot: usize,
    /// Values of the Perl replacement strings, when there are any.
    pub perl: Option<&'a PerlValues>,
}

/// A parsed command template.
#[derive(Clone, Debug)]
pub struct Template {
    /// The words for direct execution, or `None` when a shell is needed.
    direct: Option<Vec<Word>>,
    /// The command line GNU parallel would hand to the shell.
    shell: Vec<ShellPiece>,
    context_replace: bool,
    perl_occurrences: Vec<(Position, usize)>,
    /// Per command word as given: literal length and replacement strings.
    shape: Vec<Vec<(usize, Vec<Placeholder>)>>,
}

/// Why a shell is used, or `None` for direct execution.
pub type ShellReason = Option<&'static str>;

impl Template {
    /// Parses the command words with the replacement strings of `table`;
    /// `force_shell` is `--shell`; `context_replace` is `-X`/`-N`/`-L`.
    ///
    /// # Errors
    ///
    /// Unbalanced quotes in the command.
    pub fn parse(
        command: &[OsString],
        table: &mut Replacements,
        force_shell: bool,
        context_replace: bool,
    ) -> Result<(Template, ShellReason), CrewError> {
        let mut joined: Vec<u8> = Vec::new();
        for (i, word) in command.iter().enumerate() {
            if i > 0 {
                joined.push(b' ');
            }
            joined.extend_from_slice(word.as_bytes());
        }
        if joined.iter().all(|b| b.is_ascii_whitespace()) {
            joined = b"{}".to_vec();
            let names = crate::placeholder::NativeNames::default();
            *table = Replacements::new(&names, false, &[])?;
        }
        let joined = table.tokenize(&joined);
        let mut shape = Vec::new();
        for word in command.iter().filter(|w| !w.is_empty()) {
            let mut scratch = Vec::new();
            let segments =
                parse_segments(word.as_bytes(), |_| QuoteContext::Bare, table, &mut scratch);
            shape.push(word_shape(&segments));
        }
        if shape.is_empty() {
            shape.push(vec![(
                0,
                vec![Placeholder::Value(Position::Each, Modifier::Whole)],
            )]);
        }
        let analysis = analyze(&joined)?;
        let mut occurrences = Vec::new();
        let mut shell = Vec::new();
        let mut at = 0;
        for (i, span) in analysis.word_spans.iter().enumerate() {
            if span.start > at {
                shell.push(ShellPiece::Space(joined[at..span.start].to_vec()));
            }
            let segments = parse_segments(
                &joined[span.clone()],
                |k| analysis.contexts[span.start + k],
                table,
                &mut occurrences,
            );
            shell.push(ShellPiece::Word(Word {
                segments,
                is_command: i == 0,
            }));
            at = span.end;
        }
        if at < joined.len() {
            shell.push(ShellPiece::Space(joined[at..].to_vec()));
        }
        let has_hole = shell
            .iter()
            .any(|p| matches!(p, ShellPiece::Word(w) if w.has_any_hole()));
        let is_computed_command = matches!(
            shell.iter().find(|p| matches!(p, ShellPiece::Word(_))),
            Some(ShellPiece::Word(w)) if w.has_any_hole()
        );
        let mut reason = if force_shell {
            Some("--shell was given")
        } else if !occurrences.is_empty() {
            Some("a Perl replacement string may return shell code (uq())")
        } else if is_computed_command {
            Some("the command itself comes from the input")
        } else {
            analysis.needs_shell
        };
        if !has_hole {
            shell.push(ShellPiece::Space(b" ".to_vec()));
            shell.push(ShellPiece::Word(appended_input()));
            shape.push(vec![(
                0,
                vec![Placeholder::Value(Position::Each, Modifier::Whole)],
            )]);
        }
        let direct = if reason.is_none() {
            let mut direct_occurrences = Vec::new();
            let mut words: Vec<Word> = analysis
                .unquoted_words
                .iter()
                .map(|w| Word {
                    segments: parse_segments(
                        w,
                        |_| QuoteContext::Bare,
                        table,
                        &mut direct_occurrences,
                    ),
                    is_command: false,
                })
                .collect();
            if !has_hole {
                words.push(appended_input());
            }
            if direct_occurrences != occurrences {
                // A replacement string split by quotes: let the shell read it.
                reason = Some("a replacement string is split by quotes");
                None
            } else {
                Some(words)
            }
        } else {
            None
        };
        Ok((
            Template {
                direct,
                shell,
                context_replace,
                perl_occurrences: occurrences,
                shape,
            },
            reason,
        ))
    }

    /// Parses the command words for `-q`: each word is one argument as it
    /// is, never read by a shell.
    pub fn parse_quoted(
        command: &[OsString],
        table: &mut Replacements,
        context_replace: bool,
    ) -> Template {
        let mut occurrences = Vec::new();
        let mut words: Vec<Word> = command
            .iter()
            .map(|word| {
                let word = table.tokenize(word.as_bytes());
                Word {
                    segments: parse_segments(
                        &word,
                        |_| QuoteContext::Bare,
                        table,
                        &mut occurrences,
                    ),
                    is_command: false,
                }
            })
            .collect();
        let mut shape: Vec<Vec<(usize, Vec<Placeholder>)>> =
            words.iter().map(|w| word_shape(&w.segments)).collect();
        if !words.iter().any(Word::has_any_hole) {
            words.push(appended_input());
            shape.push(vec![(
                0,
                vec![Placeholder::Value(Position::Each, Modifier::Whole)],
            )]);
        }
        Template {
            direct: Some(words),
            shell: Vec::new(),
            context_replace,
            perl_occurrences: occurrences,
            shape,
        }
    }

    /// Parses a `--tagstring`: replacement strings only, no shell words.
    pub fn parse_text(text: &[u8], table: &mut Replacements, context_replace: bool) -> Template {
        let mut occurrences = Vec::new();
        let text = table.tokenize(text);
        let segments = parse_segments(&text, |_| QuoteContext::Bare, table, &mut occurrences);
        Template {
            direct: Some(vec![Word {
                segments,
                is_command: false,
            }]),
            shell: Vec::new(),
            context_replace,
            perl_occurrences: occurrences,
            shape: Vec::new(),
        }
    }

    /// The Perl replacement strings, in the order they are evaluated.
    pub fn perl_occurrences(&self) -> &[(Position, usize)] {
        &self.perl_occurrences
    }

    /// Whether a word is repeated per value (`-X`, `-N`).
    pub fn is_context_replace(&self) -> bool {
        self.context_replace
    }

    /// The command words' structure for GNU's length rule: per command
    /// word as given, its plain text's length, then each white-space
    /// separated piece holding replacement strings (its literal length
    /// and its strings).
    pub fn length_shape(&self) -> &[Vec<(usize, Vec<Placeholder>)>] {
        &self.shape
    }

    /// Builds the command line for one job.
    pub fn expand(&self, expansion: &Expansion<'_>) -> CommandLine {
        match &self.direct {
            Some(words) => {
                let values = Values::new(expansion);
                let mut argv = Vec::with_capacity(words.len() + values.flat.len());
                for word in words {
                    if self.context_replace && word.has_each() {
                        for index in 0..values.flat.len() {
                            expand_direct_word(word, &values, Some(Turn { index }), &mut argv);
                        }
                    } else {
                        expand_direct_word(word, &values, None, &mut argv);
                    }
                }
                CommandLine::Direct(argv)
            }
            None => CommandLine::Shell(self.command_line(expansion)),
        }
    }

    /// The shell command line GNU parallel would run (what `-v` shows).
    pub fn command_line(&self, expansion: &Expansion<'_>) -> Vec<u8> {
        if self.shell.is_empty() {
            // `-q`: the arguments, each quoted for a shell.
            let CommandLine::Direct(argv) = self.expand(expansion) else {
                return Vec::new();
            };
            let mut line = Vec::new();
            for (i, arg) in argv.iter().enumerate() {
                if i > 0 {
                    line.push(b' ');
                }
                quote_into(&mut line, arg, QuoteContext::Bare);
            }
            return line;
        }
        let values = Values::new(expansion);
        let mut script = Vec::new();
        for piece in &self.shell {
            match piece {
                ShellPiece::Space(raw) => script.extend_from_slice(raw),
                ShellPiece::Word(word) if self.context_replace && word.has_each() => {
                    for index in 0..values.flat.len() {
                        if index > 0 {
                            script.push(b' ');
                        }
                        expand_shell_word(word, &values, Some(Turn { index }), &mut script);
                    }
                }
                ShellPiece::Word(word) => {
                    let before = script.len();
                    expand_shell_word(word, &values, None, &mut script);
                    // The appended ` {}` without values vanishes with its
                    // space (`--pipe cat` shows as `cat`); a word of the
                    // user's stays, empty, with the spaces around it (GNU's
                    // `echo {1} {3} x` shows `echo 1  x`).
                    if script.len() == before && word.is_appended_input() {
                        while script.last() == Some(&b' ') {
                            script.pop();
                        }
                    }
                }
            }
        }
        script
    }

    /// Expands a text template (`--tagstring`) to bytes, values joined by
    /// spaces.
    pub fn expand_text(&self, expansion: &Expansion<'_>) -> Vec<u8> {
        match self.expand(expansion) {
            CommandLine::Direct(words) => words.join(&b' '),
            CommandLine::Shell(script) => script,
        }
    }
}

/// A command word's shape for the length rule, as GNU measures it: the
/// word's white-space-separated pieces holding replacement strings are
/// context groups (their literal text, their strings); everything else,
/// the white space too, is one entry of plain text (no strings).
fn word_shape(segments: &[Segment]) -> Vec<(usize, Vec<Placeholder>)> {
    let mut plain = 0;
    let mut groups = Vec::new();
    // The piece being read: its text length and strings.
    let mut piece = (0, Vec::new());
    let mut end_piece = |piece: &mut (usize, Vec<Placeholder>), plain: &mut usize| {
        let (text, holes) = std::mem::take(piece);
        if holes.is_empty() {
            *plain += text;
        } else {
            groups.push((text, holes));
        }
    };
    for segment in segments {
        match segment {
            Segment::Text(t) => {
                for &b in t {
                    if b.is_ascii_whitespace() || b == 0x0b {
                        end_piece(&mut piece, &mut plain);
                        plain += 1;
                    } else {
                        piece.0 += 1;
                    }
                }
            }
            Segment::Hole(p, ..) => piece.1.push(*p),
        }
    }
    end_piece(&mut piece, &mut plain);
    let mut shape = vec![(plain, Vec::new())];
    shape.extend(groups);
    shape
}

/// The occurrence number of a hole that is not a Perl expression.
const NOT_PERL: usize = usize::MAX;

/// The occurrence number marking [`appended_input`]'s hole (not Perl).
const APPENDED: usize = usize::MAX - 1;

impl Word {
    fn is_appended_input(&self) -> bool {
        matches!(self.segments.as_slice(), [Segment::Hole(_, _, APPENDED)])
    }
}

fn appended_input() -> Word {
    Word {
        segments: vec![Segment::Hole(
            Placeholder::Value(Position::Each, Modifier::Whole),
            QuoteContext::Bare,
            APPENDED,
        )],
        is_command: false,
    }
}

/// Splits `text` into literal text and replacement strings; `context(i)`
/// gives the quoting context of byte `i`. Perl occurrences are numbered
/// in `occurrences`.
fn parse_segments(
    text: &[u8],
    context: impl Fn(usize) -> QuoteContext,
    table: &mut Replacements,
    occurrences: &mut Vec<(Position, usize)>,
) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut literal = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match table.find(&text[i..]) {
            Some((placeholder, len)) => {
                if !literal.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut literal)));
                }
                let occurrence = match placeholder {
                    Placeholder::Perl(position, id) => {
                        occurrences.push((position, id));
                        occurrences.len() - 1
                    }
                    _ => NOT_PERL,
                };
                segments.push(Segment::Hole(placeholder, context(i), occurrence));
                i += len;
            }
            None => {
                literal.push(text[i]);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Text(literal));
    }
    segments
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
