//! The command template: where each placeholder sits and how a batch of
//! inputs turns it into a command line.
//!
//! Placeholders (GNU parallel's): `{}` the input (or the `-I` string),
//! `{.}` without extension, `{/}` basename, `{//}` dirname, `{/.}` basename
//! without extension, `{#}` job sequence number, `{%}` job slot, `{N}` and
//! `{N.}`, `{N/}`, `{N//}`, `{N/.}` the N-th field (input source, column,
//! or argument of a batch).
//!
//! Invariants:
//! - A template without any placeholder gets `{}` appended, so every input
//!   reaches its command.
//! - Direct mode (no shell) yields an argument vector whose words are the
//!   values byte for byte; shell mode pastes each value quoted for the
//!   quoting context it sits in ([`crate::quote`]), so `sh` also sees the
//!   values byte for byte. Either way no value is ever split or expanded.
//! - A value replacing an input placeholder inside a word follows the rule
//!   `sh` applies to GNU parallel's space-joined replacement: the first value
//!   joins the text before it, the last the text after it, those between are
//!   words of their own. With `-X` the whole word is repeated per input.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use crate::error::CrewError;
use crate::quote::{analyze, quote_into, QuoteContext};

/// One input value (a line, an argument, a column), as raw bytes.
pub type Value = Vec<u8>;

/// The fields of one input: one per input source or `--colsep` column.
pub type Record = Vec<Value>;

/// How a placeholder transforms a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    /// `{}`: the value itself.
    Whole,
    /// `{.}`: without its extension.
    NoExtension,
    /// `{/}`: the part after the last `/`.
    Basename,
    /// `{//}`: the part before the last `/` (`.` if there is none).
    Dirname,
    /// `{/.}`: basename without extension.
    BasenameNoExtension,
}

impl Modifier {
    fn from_suffix(suffix: &[u8]) -> Option<Modifier> {
        Some(match suffix {
            b"" => Modifier::Whole,
            b"." => Modifier::NoExtension,
            b"/" => Modifier::Basename,
            b"//" => Modifier::Dirname,
            b"/." => Modifier::BasenameNoExtension,
            _ => return None,
        })
    }

    /// Applies the modifier to `value`.
    pub fn apply<'v>(self, value: &'v [u8]) -> &'v [u8] {
        let last_slash = value.iter().rposition(|&b| b == b'/');
        let basename = || &value[last_slash.map_or(0, |i| i + 1)..];
        let strip_extension = |v: &'v [u8]| match v.iter().rposition(|&b| b == b'.') {
            Some(dot) if !v[dot..].contains(&b'/') => &v[..dot],
            _ => v,
        };
        match self {
            Modifier::Whole => value,
            Modifier::NoExtension => strip_extension(value),
            Modifier::Basename => basename(),
            Modifier::Dirname => match last_slash {
                None => b".",
                Some(0) => b"/",
                Some(i) => &value[..i],
            },
            Modifier::BasenameNoExtension => strip_extension(basename()),
        }
    }
}

/// What a placeholder stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholder {
    /// Every field of every input of the batch.
    Each(Modifier),
    /// The N-th field (1-based) of the batch.
    Field(usize, Modifier),
    /// `{#}`: the job's sequence number.
    Seq,
    /// `{%}`: the job's slot (1..=jobs).
    Slot,
}

#[derive(Clone, Debug)]
enum Segment {
    Text(Vec<u8>),
    Hole(Placeholder, QuoteContext),
}

#[derive(Clone, Debug)]
struct Word {
    segments: Vec<Segment>,
}

impl Word {
    fn has_each(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Hole(Placeholder::Each(_), _)))
    }

    fn has_any_hole(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Hole(..)))
    }

    fn text_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.len(),
                Segment::Hole(..) => 0,
            })
            .sum()
    }

    fn each_holes(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| {
                matches!(
                    s,
                    Segment::Hole(Placeholder::Each(_) | Placeholder::Field(..), _)
                )
            })
            .count()
    }
}

#[derive(Clone, Debug)]
enum ShellPiece {
    Space(Vec<u8>),
    Word(Word),
}

#[derive(Clone, Debug)]
enum Form {
    Direct(Vec<Word>),
    Shell(Vec<ShellPiece>),
    /// No command given: each input is itself a shell command.
    InputIsCommand,
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
pub struct Expansion<'a> {
    /// The inputs of this job (one unless batching with -n/-N/-X/-m).
    pub records: &'a [Record],
    /// The job's sequence number, from 1.
    pub seq: u64,
    /// The job's slot, from 1.
    pub slot: usize,
}

/// A parsed command template.
#[derive(Clone, Debug)]
pub struct Template {
    form: Form,
    context_replace: bool,
}

/// Why a shell is used, or `None` for direct execution.
pub type ShellReason = Option<&'static str>;

impl Template {
    /// Parses the command words. `replace` is `{}` or the `-I` string;
    /// `force_shell` is `--shell`; `context_replace` is `-X`.
    ///
    /// # Errors
    ///
    /// Unbalanced quotes in the command.
    pub fn parse(
        command: &[OsString],
        replace: &[u8],
        force_shell: bool,
        context_replace: bool,
    ) -> Result<(Template, ShellReason), CrewError> {
        if command.is_empty() {
            let template = Template {
                form: Form::InputIsCommand,
                context_replace,
            };
            return Ok((template, Some("the inputs are the commands")));
        }
        let mut joined = Vec::new();
        for (i, word) in command.iter().enumerate() {
            if i > 0 {
                joined.push(b' ');
            }
            joined.extend_from_slice(word.as_bytes());
        }
        let analysis = analyze(&joined)?;
        let reason = if force_shell {
            Some("--shell was given")
        } else {
            analysis.needs_shell
        };
        let form = if reason.is_some() {
            let mut pieces = Vec::new();
            let mut at = 0;
            for span in &analysis.word_spans {
                if span.start > at {
                    pieces.push(ShellPiece::Space(joined[at..span.start].to_vec()));
                }
                let segments = parse_segments(
                    &joined[span.clone()],
                    |i| analysis.contexts[span.start + i],
                    replace,
                );
                pieces.push(ShellPiece::Word(Word { segments }));
                at = span.end;
            }
            if at < joined.len() {
                pieces.push(ShellPiece::Space(joined[at..].to_vec()));
            }
            let has_hole = pieces
                .iter()
                .any(|p| matches!(p, ShellPiece::Word(w) if w.has_any_hole()));
            if !has_hole {
                pieces.push(ShellPiece::Space(b" ".to_vec()));
                pieces.push(ShellPiece::Word(appended_input()));
            }
            Form::Shell(pieces)
        } else {
            let mut words: Vec<Word> = analysis
                .unquoted_words
                .iter()
                .map(|w| Word {
                    segments: parse_segments(w, |_| QuoteContext::Bare, replace),
                })
                .collect();
            if !words.iter().any(Word::has_any_hole) {
                words.push(appended_input());
            }
            Form::Direct(words)
        };
        Ok((
            Template {
                form,
                context_replace,
            },
            reason,
        ))
    }

    /// Parses a `--tagstring`: placeholders only, no shell words.
    pub fn parse_text(text: &[u8], replace: &[u8]) -> Template {
        let segments = parse_segments(text, |_| QuoteContext::Bare, replace);
        Template {
            form: Form::Direct(vec![Word { segments }]),
            context_replace: false,
        }
    }

    /// Builds the command line for one job.
    pub fn expand(&self, expansion: &Expansion<'_>) -> CommandLine {
        match &self.form {
            Form::Direct(words) => {
                let mut argv = Vec::with_capacity(words.len() + expansion.records.len());
                for word in words {
                    if self.context_replace && word.has_each() {
                        for record in expansion.records {
                            let single = Expansion {
                                records: std::slice::from_ref(record),
                                ..*expansion
                            };
                            expand_direct_word(word, &single, &mut argv);
                        }
                    } else {
                        expand_direct_word(word, expansion, &mut argv);
                    }
                }
                CommandLine::Direct(argv)
            }
            Form::Shell(pieces) => {
                let mut script = Vec::new();
                for piece in pieces {
                    match piece {
                        ShellPiece::Space(raw) => script.extend_from_slice(raw),
                        ShellPiece::Word(word) if self.context_replace && word.has_each() => {
                            for (i, record) in expansion.records.iter().enumerate() {
                                if i > 0 {
                                    script.push(b' ');
                                }
                                let single = Expansion {
                                    records: std::slice::from_ref(record),
                                    ..*expansion
                                };
                                expand_shell_word(word, &single, &mut script);
                            }
                        }
                        ShellPiece::Word(word) => expand_shell_word(word, expansion, &mut script),
                    }
                }
                CommandLine::Shell(script)
            }
            Form::InputIsCommand => {
                let mut script = Vec::new();
                for (i, value) in expansion.records.iter().flatten().enumerate() {
                    if i > 0 {
                        script.push(b' ');
                    }
                    script.extend_from_slice(value);
                }
                CommandLine::Shell(script)
            }
        }
    }

    /// Expands a text template (`--tagstring`) to bytes, values joined by
    /// spaces.
    pub fn expand_text(&self, expansion: &Expansion<'_>) -> Vec<u8> {
        match self.expand(expansion) {
            CommandLine::Direct(words) => words.join(&b' '),
            CommandLine::Shell(script) => script,
        }
    }

    /// The length of the command line without inputs, and how many times
    /// each input byte appears in it: `-X`/`-m` use these to fill a command
    /// line up to `--max-chars`.
    pub fn size_model(&self) -> (usize, usize, usize) {
        let words: Vec<&Word> = match &self.form {
            Form::Direct(words) => words.iter().collect(),
            Form::Shell(pieces) => pieces
                .iter()
                .filter_map(|p| match p {
                    ShellPiece::Word(w) => Some(w),
                    ShellPiece::Space(_) => None,
                })
                .collect(),
            Form::InputIsCommand => return (0, 1, 1),
        };
        let base: usize = words.iter().map(|w| w.text_len() + 1).sum();
        let copies: usize = words.iter().map(|w| w.each_holes()).sum::<usize>().max(1);
        let per_input_extra: usize = if self.context_replace {
            words
                .iter()
                .filter(|w| w.has_each())
                .map(|w| w.text_len() + 1)
                .sum()
        } else {
            0
        };
        (base, copies, per_input_extra + copies * 3)
    }
}

fn appended_input() -> Word {
    Word {
        segments: vec![Segment::Hole(
            Placeholder::Each(Modifier::Whole),
            QuoteContext::Bare,
        )],
    }
}

/// Splits `text` into literal text and placeholders; `context(i)` gives the
/// quoting context of byte `i`.
fn parse_segments(
    text: &[u8],
    context: impl Fn(usize) -> QuoteContext,
    replace: &[u8],
) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut literal = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let found = if text[i..].starts_with(replace) {
            Some((Placeholder::Each(Modifier::Whole), replace.len()))
        } else if text[i] == b'{' {
            parse_brace(&text[i..])
        } else {
            None
        };
        match found {
            Some((placeholder, len)) => {
                if !literal.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Hole(placeholder, context(i)));
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

/// Reads `{#}`, `{%}`, `{.}`, `{/}`, `{//}`, `{/.}`, `{N}`, `{N.}`... at the
/// start of `text`; `{}` itself is the replace string's business.
fn parse_brace(text: &[u8]) -> Option<(Placeholder, usize)> {
    let close = text.iter().take(24).position(|&b| b == b'}')?;
    let inner = &text[1..close];
    let placeholder = match inner {
        b"#" => Placeholder::Seq,
        b"%" => Placeholder::Slot,
        b"" => return None,
        _ => {
            let digits = inner.iter().take_while(|b| b.is_ascii_digit()).count();
            let modifier = Modifier::from_suffix(&inner[digits..])?;
            if digits == 0 {
                Placeholder::Each(modifier)
            } else {
                let n: usize = std::str::from_utf8(&inner[..digits]).ok()?.parse().ok()?;
                if n == 0 {
                    return None;
                }
                Placeholder::Field(n, modifier)
            }
        }
    };
    Some((placeholder, close + 1))
}

/// Calls `emit` with each value `placeholder` stands for.
fn for_each_value(
    placeholder: Placeholder,
    expansion: &Expansion<'_>,
    mut emit: impl FnMut(&[u8]),
) {
    match placeholder {
        Placeholder::Each(modifier) => {
            for value in expansion.records.iter().flatten() {
                emit(modifier.apply(value));
            }
        }
        Placeholder::Field(n, modifier) => {
            let value = expansion.records.iter().flatten().nth(n - 1);
            emit(value.map_or(&b""[..], |v| modifier.apply(v)));
        }
        Placeholder::Seq => emit(expansion.seq.to_string().as_bytes()),
        Placeholder::Slot => emit(expansion.slot.to_string().as_bytes()),
    }
}

fn expand_direct_word(word: &Word, expansion: &Expansion<'_>, argv: &mut Vec<Vec<u8>>) {
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
            Segment::Hole(placeholder, _) => {
                let mut count = 0;
                for_each_value(*placeholder, expansion, |value| {
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
    // A word made only of placeholders without values (a `--pipe` job has
    // no inputs) vanishes, as an empty unquoted expansion does in `sh`.
    if !has_content {
        argv.truncate(first);
    }
}

fn expand_shell_word(word: &Word, expansion: &Expansion<'_>, script: &mut Vec<u8>) {
    for segment in &word.segments {
        match segment {
            Segment::Text(text) => script.extend_from_slice(text),
            Segment::Hole(placeholder, context) => {
                let mut count = 0;
                for_each_value(*placeholder, expansion, |value| {
                    if count > 0 {
                        script.push(b' ');
                    }
                    quote_into(script, value, *context);
                    count += 1;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(words: &[&str]) -> Template {
        let words: Vec<OsString> = words.iter().map(OsString::from).collect();
        Template::parse(&words, b"{}", false, false).unwrap().0
    }

    fn record(values: &[&str]) -> Record {
        values.iter().map(|v| v.as_bytes().to_vec()).collect()
    }

    fn direct(template: &Template, records: &[Record]) -> Vec<String> {
        let expansion = Expansion {
            records,
            seq: 7,
            slot: 2,
        };
        match template.expand(&expansion) {
            CommandLine::Direct(argv) => argv
                .into_iter()
                .map(|a| String::from_utf8(a).unwrap())
                .collect(),
            CommandLine::Shell(script) => {
                panic!("expected direct, got {}", String::from_utf8_lossy(&script))
            }
        }
    }

    #[test]
    fn modifiers_follow_gnu_parallel() {
        assert_eq!(Modifier::NoExtension.apply(b"d/f.tar.gz"), b"d/f.tar");
        assert_eq!(Modifier::NoExtension.apply(b"a.b/c"), b"a.b/c");
        assert_eq!(Modifier::Basename.apply(b"a/b/c.txt"), b"c.txt");
        assert_eq!(Modifier::Dirname.apply(b"file"), b".");
        assert_eq!(Modifier::Dirname.apply(b"/x"), b"/");
        assert_eq!(Modifier::Dirname.apply(b"a/b/c"), b"a/b");
        assert_eq!(Modifier::BasenameNoExtension.apply(b"a/b/c.txt"), b"c");
    }

    #[test]
    fn input_is_appended_when_there_is_no_placeholder() {
        assert_eq!(
            direct(&template(&["echo", "-n"]), &[record(&["a b"])]),
            ["echo", "-n", "a b"]
        );
    }

    #[test]
    fn placeholders_inside_words_keep_surrounding_text() {
        let t = template(&["cp", "{}", "{//}/{/.}.bak", "{#}-{%}"]);
        assert_eq!(
            direct(&t, &[record(&["d/x.txt"])]),
            ["cp", "d/x.txt", "d/x.bak", "7-2"]
        );
    }

    #[test]
    fn batches_split_into_words_like_sh_would() {
        let t = template(&["echo", "pre{}post"]);
        let records = [record(&["a"]), record(&["b"]), record(&["c"])];
        assert_eq!(direct(&t, &records), ["echo", "prea", "b", "cpost"]);
        let words: Vec<OsString> = ["echo", "pre{}post"].iter().map(OsString::from).collect();
        let x = Template::parse(&words, b"{}", false, true).unwrap().0;
        assert_eq!(
            direct(&x, &records),
            ["echo", "preapost", "prebpost", "precpost"]
        );
    }

    #[test]
    fn positional_fields_pick_sources() {
        let t = template(&["echo", "{2}", "{1.}"]);
        assert_eq!(direct(&t, &[record(&["x.c", "y"])]), ["echo", "y", "x"]);
    }

    #[test]
    fn shell_mode_quotes_values_for_their_context() {
        let t = template(&["echo {} \"{}\" '{}' | cat"]);
        let records = [record(&["it's $x"])];
        let expansion = Expansion {
            records: &records,
            seq: 1,
            slot: 1,
        };
        let CommandLine::Shell(script) = t.expand(&expansion) else {
            panic!("a pipe needs the shell")
        };
        assert_eq!(
            String::from_utf8(script).unwrap(),
            r#"echo 'it'\''s $x' "it's \$x" 'it'\''s $x' | cat"#
        );
    }

    #[test]
    fn a_custom_replace_string_takes_the_place_of_braces() {
        let words: Vec<OsString> = ["mv", "@@", "{}"].iter().map(OsString::from).collect();
        let t = Template::parse(&words, b"@@", false, false).unwrap().0;
        assert_eq!(direct(&t, &[record(&["f"])]), ["mv", "f", "{}"]);
    }
}
