//! Shell words: reading the command template the way `sh` would, deciding
//! whether it needs a shell at all, and quoting values for `sh`.
//!
//! Invariants:
//! - [`analyze`] never loses a byte: the word spans and the separators
//!   between them cover the template exactly, so a shell-mode command is the
//!   template with only the placeholders replaced.
//! - [`quote_into`]'s output, pasted into the given quoting context of an `sh`
//!   command line, reads back as exactly the original bytes, for any bytes
//!   (quotes, spaces, newlines, `$`, backslashes, non-UTF-8).
//! - A template is run without a shell only when `sh` would have produced
//!   the same argument vector: no operator, redirection, expansion, glob,
//!   assignment, keyword or builtin appears outside quotes.

use std::ops::Range;

use crate::error::CrewError;

/// Where in a shell command line a byte sits, which decides how a value
/// pasted there must be quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteContext {
    /// Outside any quotes.
    Bare,
    /// Inside `'...'`.
    Single,
    /// Inside `"..."`.
    Double,
}

/// The template as `sh` would read it.
#[derive(Debug)]
pub struct Analysis {
    /// Quoting context of each byte of the template.
    pub contexts: Vec<QuoteContext>,
    /// Byte ranges of the words, in order; what lies between is whitespace.
    pub word_spans: Vec<Range<usize>>,
    /// Each word with quotes and escapes removed (its value for `execvp`).
    pub unquoted_words: Vec<Vec<u8>>,
    /// Why the template needs a shell, if it does.
    pub needs_shell: Option<&'static str>,
}

/// Shell keywords and builtins with no executable of the same name that
/// behaves alike: a template starting with one of these needs a shell.
const SHELL_ONLY_COMMANDS: &[&[u8]] = &[
    b"!",
    b".",
    b"{",
    b"}",
    b"alias",
    b"break",
    b"case",
    b"cd",
    b"continue",
    b"declare",
    b"eval",
    b"exec",
    b"exit",
    b"export",
    b"for",
    b"function",
    b"if",
    b"local",
    b"read",
    b"readonly",
    b"return",
    b"select",
    b"set",
    b"shift",
    b"source",
    b"time",
    b"trap",
    b"typeset",
    b"ulimit",
    b"umask",
    b"unset",
    b"until",
    b"wait",
    b"while",
    b"[[",
];

/// Reads `template` like `sh` would.
///
/// # Errors
///
/// An unbalanced `'` or `"` is a usage error naming the quote.
pub fn analyze(template: &[u8]) -> Result<Analysis, CrewError> {
    let mut contexts = Vec::with_capacity(template.len());
    let mut word_spans = Vec::new();
    let mut unquoted_words = Vec::new();
    let mut needs_shell: Option<&'static str> = None;
    let mut note = |reason: &'static str| {
        needs_shell.get_or_insert(reason);
    };

    let mut word_start: Option<usize> = None;
    let mut word = Vec::new();
    let mut word_has_quotes = false;
    let mut i = 0;
    while i < template.len() {
        let byte = template[i];
        if word_start.is_none() {
            if byte == b' ' || byte == b'\t' {
                contexts.push(QuoteContext::Bare);
                i += 1;
                continue;
            }
            if byte == b'\n' {
                note("it has several lines");
                contexts.push(QuoteContext::Bare);
                i += 1;
                continue;
            }
            if byte == b'#' {
                note("it has a comment");
            }
            word_start = Some(i);
            word_has_quotes = false;
        }
        match byte {
            b' ' | b'\t' | b'\n' => {
                if byte == b'\n' {
                    note("it has several lines");
                }
                finish_word(
                    &mut word_spans,
                    &mut unquoted_words,
                    &mut word,
                    word_start.take(),
                    i,
                );
                contexts.push(QuoteContext::Bare);
                i += 1;
            }
            b'\'' => {
                word_has_quotes = true;
                contexts.push(QuoteContext::Bare);
                let close = template[i + 1..]
                    .iter()
                    .position(|&b| b == b'\'')
                    .ok_or_else(|| unbalanced('\'', i))?;
                word.extend_from_slice(&template[i + 1..i + 1 + close]);
                contexts.extend(std::iter::repeat_n(QuoteContext::Single, close));
                contexts.push(QuoteContext::Bare);
                i += close + 2;
            }
            b'"' => {
                word_has_quotes = true;
                contexts.push(QuoteContext::Bare);
                i += 1;
                loop {
                    let Some(&inner) = template.get(i) else {
                        return Err(unbalanced('"', i));
                    };
                    match inner {
                        b'"' => {
                            contexts.push(QuoteContext::Bare);
                            i += 1;
                            break;
                        }
                        b'\\'
                            if matches!(template.get(i + 1), Some(b'"' | b'\\' | b'$' | b'`')) =>
                        {
                            word.push(template[i + 1]);
                            contexts.extend([QuoteContext::Double; 2]);
                            i += 2;
                        }
                        b'$' | b'`' => {
                            note("it expands variables or commands");
                            word.push(inner);
                            contexts.push(QuoteContext::Double);
                            i += 1;
                        }
                        _ => {
                            word.push(inner);
                            contexts.push(QuoteContext::Double);
                            i += 1;
                        }
                    }
                }
            }
            b'\\' => {
                contexts.push(QuoteContext::Bare);
                match template.get(i + 1) {
                    Some(b'\n') => {
                        contexts.push(QuoteContext::Bare);
                        i += 2;
                    }
                    Some(&escaped) => {
                        word_has_quotes = true;
                        word.push(escaped);
                        contexts.push(QuoteContext::Single);
                        i += 2;
                    }
                    None => {
                        word.push(b'\\');
                        i += 1;
                    }
                }
            }
            b'|' | b'&' | b';' | b'<' | b'>' | b'(' | b')' => {
                note("it has a pipe, redirection or command list");
                word.push(byte);
                contexts.push(QuoteContext::Bare);
                i += 1;
            }
            b'$' | b'`' => {
                note("it expands variables or commands");
                word.push(byte);
                contexts.push(QuoteContext::Bare);
                i += 1;
            }
            b'*' | b'?' | b'[' | b'~' => {
                note("it has a glob or ~");
                word.push(byte);
                contexts.push(QuoteContext::Bare);
                i += 1;
            }
            b'=' if unquoted_words.is_empty() && !word_has_quotes && !word.is_empty() => {
                note("it starts with a variable assignment");
                word.push(byte);
                contexts.push(QuoteContext::Bare);
                i += 1;
            }
            _ => {
                word.push(byte);
                contexts.push(QuoteContext::Bare);
                i += 1;
            }
        }
    }
    finish_word(
        &mut word_spans,
        &mut unquoted_words,
        &mut word,
        word_start,
        template.len(),
    );

    if let Some(first) = unquoted_words.first() {
        if SHELL_ONLY_COMMANDS.contains(&first.as_slice()) {
            note("it starts with a shell keyword or builtin");
        }
    }
    debug_assert_eq!(contexts.len(), template.len());
    Ok(Analysis {
        contexts,
        word_spans,
        unquoted_words,
        needs_shell,
    })
}

fn finish_word(
    spans: &mut Vec<Range<usize>>,
    words: &mut Vec<Vec<u8>>,
    word: &mut Vec<u8>,
    start: Option<usize>,
    end: usize,
) {
    if let Some(start) = start {
        spans.push(start..end);
        words.push(std::mem::take(word));
    }
}

fn unbalanced(quote: char, at: usize) -> CrewError {
    CrewError::usage(format!(
        "unbalanced {quote} in the command (opened at byte {at}): close it, or quote the whole command with the other kind of quote"
    ))
}

/// Bytes that never need quoting in a bare shell word (GNU parallel's
/// set, so commands read the same as GNU's in `-v` and the joblog).
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.+/".contains(&byte)
}

/// Appends `value` to `out`, quoted for `context` so `sh` reads back exactly
/// `value`. Bare values are quoted as GNU parallel quotes them: plain ones
/// as they are, others in `'...'` with each `'` as `'"'"'`.
pub fn quote_into(out: &mut Vec<u8>, value: &[u8], context: QuoteContext) {
    match context {
        QuoteContext::Bare => {
            if value.is_empty() {
                out.extend_from_slice(b"''");
                return;
            }
            if value.iter().all(|&b| is_plain(b)) {
                out.extend_from_slice(value);
                return;
            }
            let start = out.len();
            out.push(b'\'');
            quote_into(out, value, QuoteContext::Single);
            out.push(b'\'');
            // GNU drops the empty '' a leading or trailing quote leaves.
            if out[start..].starts_with(b"''") && out.len() - start > 2 {
                out.drain(start..start + 2);
            }
            if out[start..].ends_with(b"''") && out.len() - start > 2 {
                out.truncate(out.len() - 2);
            }
        }
        QuoteContext::Single => {
            for &byte in value {
                if byte == b'\'' {
                    out.extend_from_slice(b"'\"'\"'");
                } else {
                    out.push(byte);
                }
            }
        }
        QuoteContext::Double => {
            for &byte in value {
                if matches!(byte, b'$' | b'`' | b'"' | b'\\') {
                    out.push(b'\\');
                }
                out.push(byte);
            }
        }
    }
}

/// The length of `value` quoted as a bare word (GNU's length rule).
pub fn quoted_len(value: &[u8]) -> usize {
    if !value.is_empty() && value.iter().all(|&b| is_plain(b)) {
        return value.len();
    }
    let mut out = Vec::with_capacity(value.len() + 8);
    quote_into(&mut out, value, QuoteContext::Bare);
    out.len()
}

/// `value` quoted as a bare shell word.
#[cfg(test)]
pub fn quote(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    quote_into(&mut out, value, QuoteContext::Bare);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(template: &str) -> Vec<String> {
        analyze(template.as_bytes())
            .unwrap()
            .unquoted_words
            .into_iter()
            .map(|w| String::from_utf8(w).unwrap())
            .collect()
    }

    #[test]
    fn plain_commands_split_like_sh_and_need_no_shell() {
        assert_eq!(
            words("echo 'a  b' \"c d\" e\\ f"),
            ["echo", "a  b", "c d", "e f"]
        );
        assert!(analyze(b"gzip -9 {}").unwrap().needs_shell.is_none());
    }

    #[test]
    fn operators_expansions_and_builtins_need_a_shell() {
        for template in [
            "echo {} | wc",
            "cat {} > out",
            "true && false",
            "echo $HOME",
            "ls *.txt",
            "A=1 env",
            "cd /tmp",
            "echo \"$x\"",
        ] {
            assert!(
                analyze(template.as_bytes()).unwrap().needs_shell.is_some(),
                "{template}"
            );
        }
    }

    #[test]
    fn unbalanced_quotes_are_reported() {
        let error = analyze(b"echo 'oops").unwrap_err().to_string();
        assert!(error.contains("unbalanced '"), "{error}");
        assert!(analyze(b"echo \"oops").is_err());
    }

    #[test]
    fn quoting_survives_every_awkward_byte() {
        assert_eq!(quote(b"plain.txt"), b"plain.txt");
        assert_eq!(quote(b""), b"''");
        assert_eq!(quote(b"it's a file"), b"'it'\"'\"'s a file'");
        assert_eq!(quote(b"'a"), b"\"'\"'a'");
        assert_eq!(quote(b"a:b"), b"'a:b'");
        let mut double = Vec::new();
        quote_into(&mut double, b"$x \"y\"", QuoteContext::Double);
        assert_eq!(double, b"\\$x \\\"y\\\"");
    }

    #[test]
    fn contexts_track_quotes() {
        let analysis = analyze(b"a'b'\"c\"").unwrap();
        use QuoteContext::*;
        assert_eq!(
            analysis.contexts,
            [Bare, Bare, Single, Bare, Bare, Double, Bare]
        );
    }
}
