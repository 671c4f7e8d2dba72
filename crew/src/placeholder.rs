//! Replacement strings: which texts in a command template stand for an
//! input, and what each does to it.
//!
//! GNU parallel's table: `{}` (or the `-I` string) the input, `{.}` without
//! extension, `{/}` basename, `{//}` dirname, `{/.}` basename without
//! extension, `{#}` sequence number, `{%}` slot; each brace form also
//! positional (`{2}`, `{-1/.}`: the N-th or N-th last value of the job).
//! `--er`, `--bnr`, `--dnr`, `--bner`, `--seqreplace` and `--slotreplace`
//! rename them, as in GNU. Those run natively. Everything GNU defines in
//! Perl runs in Perl ([`crate::perl`]), so it behaves exactly as in GNU:
//! `{= expr =}` (and `{=N expr =}`), `--plus`'s strings (`{+.}`, `{..}`,
//! `{:-x}`, `{##}`, ...) and `--rpl` definitions.
//!
//! Invariant: [`Replacements::find`] never matches an empty string, and a
//! text with no replacement string in it parses as pure literal text.

use crate::error::CrewError;

/// How a native placeholder transforms a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// `{}`: the value itself.
    Whole,
    /// `{.}`: without its extension (GNU: `s:\.[^/.]*$::`).
    NoExtension,
    /// `{/}`: the part after the last `/`.
    Basename,
    /// `{//}`: the part before the last `/` (`.` if there is none).
    Dirname,
    /// `{/.}`: basename without extension.
    BasenameNoExtension,
}

impl Modifier {
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

/// Which value of the job a placeholder takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Position {
    /// Every value (joined, or one per repeated word with -X/-N).
    Each,
    /// The N-th value (1-based); negative counts from the end.
    Nth(i64),
}

/// What a placeholder stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// A native transformation of values.
    Value(Position, Modifier),
    /// `{#}`: the job's sequence number.
    Seq,
    /// `{%}`: the job's slot (1..=jobs).
    Slot,
    /// Perl expression number `usize` of [`Replacements::perl_exprs`].
    Perl(Position, usize),
}

impl Placeholder {
    /// Whether it stands for every value of the job (`{}`-like).
    pub fn is_each(self) -> bool {
        matches!(
            self,
            Placeholder::Value(Position::Each, _) | Placeholder::Perl(Position::Each, _)
        )
    }
}

/// A `--rpl`-style definition: a key (`{:-([^}]+?)}`: literal prefix,
/// an optional regex of groups, literal postfix, as GNU splits it) and the
/// Perl code it stands for (`$_ ||= $$1`).
#[derive(Clone, Debug)]
struct PerlRule {
    /// The key anchored at the start.
    plain: regex::bytes::Regex,
    /// The positional form `{N<key without {>`, when the key has a brace.
    positional: Option<regex::bytes::Regex>,
    /// The code; `$$1`... become `$_pAr_gRp1`... set from the captures.
    code: String,
    /// The key as defined (longer keys are tried first, as in GNU).
    key: String,
}

/// The replacement strings in force, and the Perl expressions found so far.
#[derive(Debug)]
pub struct Replacements {
    native: Vec<(Vec<u8>, Placeholder)>,
    rules: Vec<PerlRule>,
    /// Perl code of every `Perl` placeholder parsed, by index.
    pub perl_exprs: Vec<String>,
    /// Placeholders standing in a command as tokens (see [`Self::tokenize`]).
    tokens: Vec<Placeholder>,
    /// `--header` column names and their positions, in header order.
    column_names: Vec<(Vec<u8>, i64)>,
}

/// Brackets a token: bytes no command line GNU-style relies on.
const TOKEN_START: u8 = 0x01;
const TOKEN_END: u8 = 0x02;

/// GNU parallel's `--plus` table (20221122), key and Perl code.
const PLUS: &[(&str, &str)] = &[
    ("{+/}", r"s:/[^/]*$:: || s:.*$::"),
    ("{+.}", r"s:.*\.:: || s:.*$::"),
    ("{+..}", r"s:.*\.([^/.]*\.[^/.]*)$:$1: || s:.*$::"),
    ("{+...}", r"s:.*\.([^/.]*\.[^/.]*\.[^/.]*)$:$1: || s:.*$::"),
    ("{..}", r"s:\.[^/.]*\.[^/.]*$::"),
    ("{...}", r"s:\.[^/.]*\.[^/.]*\.[^/.]*$::"),
    ("{/..}", r"s:.*/::; s:\.[^/.]*\.[^/.]*$::"),
    ("{/...}", r"s:.*/::; s:\.[^/.]*\.[^/.]*\.[^/.]*$::"),
    (
        "{choose_k}",
        r"for $t (2..$#arg){ if($arg[$t-1] ge $arg[$t]) { skip() } }",
    ),
    ("{uniq}", r"if(::uniq(@arg) != @arg) { skip(); }"),
    ("{##}", r"1 $_=total_jobs()"),
    (
        "{0%}",
        r#"1 $f=1+int((log($Global::max_jobs_running||1)/log(10)));$_=sprintf("%0${f}d",slot())"#,
    ),
    (
        "{0#}",
        r#"1 $f=1+int((log(total_jobs())/log(10)));$_=sprintf("%0${f}d",seq())"#,
    ),
    ("{:-([^}]+?)}", r"$_ ||= $$1"),
    (r"{:(\d+?)}", r#"substr($_,0,$$1) = """#),
    (r"{:(\d+?):(\d+?)}", r"$_ = substr($_,$$1,$$2);"),
    (
        "{#([^#}][^}]*?)}",
        r"$nongreedy=::make_regexp_ungreedy($$1);s/^$nongreedy(.*)/$1/;",
    ),
    ("{##([^#}][^}]*?)}", r"s/^$$1//;"),
    (
        "{%([^}]+?)}",
        r"$nongreedy=::make_regexp_ungreedy($$1);s/(.*)$nongreedy$/$1/;",
    ),
    ("{%%([^}]+?)}", r"s/$$1$//;"),
    ("{/([^#%}/]+?)/([^}]*?)}", r"s/$$1/$$2/;"),
    ("{/#([^}]+?)/([^}]*?)}", r"s/^$$1/$$2/g;"),
    ("{/%([^}]+?)/([^}]*?)}", r"s/$$1$/$$2/g;"),
    ("{//([^}]+?)/([^}]*?)}", r"s/$$1/$$2/g;"),
    ("{^([^}]+?)}", r"s/^($$1)/uc($1)/e;"),
    ("{^^([^}]+?)}", r"s/($$1)/uc($1)/eg;"),
    ("{,([^}]+?)}", r"s/^($$1)/lc($1)/e;"),
    ("{,,([^}]+?)}", r"s/($$1)/lc($1)/eg;"),
    ("{slot}", r#"1 $_="\${PARALLEL_JOBSLOT}";uq()"#),
];

/// The names of the native replacement strings, as options rename them.
#[derive(Debug, Clone)]
pub struct NativeNames {
    /// `{}` (`-I`).
    pub whole: String,
    /// `{.}` (`--er`).
    pub no_extension: String,
    /// `{/}` (`--bnr`).
    pub basename: String,
    /// `{//}` (`--dnr`).
    pub dirname: String,
    /// `{/.}` (`--bner`).
    pub basename_no_extension: String,
    /// `{#}` (`--seqreplace`).
    pub seq: String,
    /// `{%}` (`--slotreplace`).
    pub slot: String,
}

impl Default for NativeNames {
    fn default() -> Self {
        NativeNames {
            whole: "{}".into(),
            no_extension: "{.}".into(),
            basename: "{/}".into(),
            dirname: "{//}".into(),
            basename_no_extension: "{/.}".into(),
            seq: "{#}".into(),
            slot: "{%}".into(),
        }
    }
}

impl Replacements {
    /// The table for the given names, `--plus` and `--rpl` definitions
    /// (`'KEY CODE'`, GNU's syntax; later ones win).
    ///
    /// # Errors
    ///
    /// A `--rpl` without code, or a key that is not a valid pattern.
    pub fn new(
        names: &NativeNames,
        plus: bool,
        rpls: &[String],
    ) -> Result<Replacements, CrewError> {
        let each = |m| Placeholder::Value(Position::Each, m);
        let native = vec![
            (names.whole.clone().into_bytes(), each(Modifier::Whole)),
            (
                names.no_extension.clone().into_bytes(),
                each(Modifier::NoExtension),
            ),
            (
                names.basename.clone().into_bytes(),
                each(Modifier::Basename),
            ),
            (names.dirname.clone().into_bytes(), each(Modifier::Dirname)),
            (
                names.basename_no_extension.clone().into_bytes(),
                each(Modifier::BasenameNoExtension),
            ),
            (names.seq.clone().into_bytes(), Placeholder::Seq),
            (names.slot.clone().into_bytes(), Placeholder::Slot),
        ];
        let mut table = Replacements {
            native: native.into_iter().filter(|(k, _)| !k.is_empty()).collect(),
            rules: Vec::new(),
            perl_exprs: Vec::new(),
            tokens: Vec::new(),
            column_names: Vec::new(),
        };
        let mut defs: Vec<(String, String)> = Vec::new();
        if plus {
            defs.extend(PLUS.iter().map(|(k, c)| (k.to_string(), c.to_string())));
        }
        for rpl in rpls {
            // A key alone (`--rpl '%'`) stands for the value unchanged.
            let (key, code) = rpl
                .trim_start()
                .split_once(char::is_whitespace)
                .unwrap_or((rpl.trim(), ""));
            table.native.retain(|(k, _)| k != key.as_bytes());
            defs.push((key.to_string(), code.trim_start().to_string()));
        }
        // Later definitions win, and longer keys are tried first (GNU).
        for (key, code) in defs.into_iter().rev() {
            if !table.rules.iter().any(|r: &PerlRule| r.key == key) {
                table.rules.push(PerlRule::new(&key, code)?);
            }
        }
        table.rules.sort_by_key(|r| std::cmp::Reverse(r.key.len()));
        Ok(table)
    }

    /// Names column `index` (1-based) `name` for `--header`: `{name}`
    /// and its modified forms `{name.}`, `{name/}`, `{name//}`, `{name/.}`.
    pub fn add_column_name(&mut self, name: &[u8], index: i64) {
        for (suffix, modifier) in [
            (&b""[..], Modifier::Whole),
            (b".", Modifier::NoExtension),
            (b"/", Modifier::Basename),
            (b"//", Modifier::Dirname),
            (b"/.", Modifier::BasenameNoExtension),
        ] {
            let mut key = b"{".to_vec();
            key.extend_from_slice(name);
            key.extend_from_slice(suffix);
            key.push(b'}');
            self.native
                .push((key, Placeholder::Value(Position::Nth(index), modifier)));
        }
        self.column_names.push((name.to_vec(), index));
    }

    /// Replaces every `{= code =}` block in a whole command line by a
    /// token [`Self::find`] recognises: GNU reads these blocks before
    /// anything else, so one may span several words (`{= s/a/b/ =}`).
    pub fn tokenize(&mut self, command: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(command.len());
        let mut i = 0;
        while i < command.len() {
            if command[i..].starts_with(b"{=") {
                if let Some((placeholder, len)) = self.perl_block(&command[i..]) {
                    out.push(TOKEN_START);
                    out.extend_from_slice(self.tokens.len().to_string().as_bytes());
                    out.push(TOKEN_END);
                    self.tokens.push(placeholder);
                    i += len;
                    continue;
                }
            }
            out.push(command[i]);
            i += 1;
        }
        out
    }

    /// The replacement string at the start of `text`, and its length.
    pub fn find(&mut self, text: &[u8]) -> Option<(Placeholder, usize)> {
        if text.first() == Some(&TOKEN_START) {
            let end = text.iter().position(|&b| b == TOKEN_END)?;
            let index: usize = std::str::from_utf8(&text[1..end]).ok()?.parse().ok()?;
            return Some((*self.tokens.get(index)?, end + 1));
        }
        if text.starts_with(b"{=") {
            if let Some(found) = self.perl_block(text) {
                return Some(found);
            }
        }
        if !self.rules.is_empty() {
            if let Some(found) = self.rule(text) {
                return Some(found);
            }
        }
        let mut best: Option<(Placeholder, usize)> = None;
        for (key, placeholder) in &self.native {
            if text.starts_with(key) && best.is_none_or(|(_, len)| key.len() > len) {
                best = Some((*placeholder, key.len()));
            }
        }
        best.or_else(|| self.positional(text))
    }

    /// `{= code =}` or `{=N code =}`: the shortest block not containing
    /// another `{=`, as GNU reads it.
    fn perl_block(&mut self, text: &[u8]) -> Option<(Placeholder, usize)> {
        let body = &text[2..];
        let mut end = None;
        for i in 0..body.len() {
            if body[i..].starts_with(b"{=") {
                return None;
            }
            if body[i..].starts_with(b"=}") {
                end = Some(i);
                break;
            }
        }
        let end = end?;
        let inner = std::str::from_utf8(&body[..end]).ok()?;
        // GNU's `{=name code =}`: the first header column name the code
        // starts with stands for that column's position.
        let named = self.column_names.iter().find_map(|(name, index)| {
            let rest = inner.as_bytes().strip_prefix(name.as_slice())?;
            Some((Position::Nth(*index), std::str::from_utf8(rest).ok()?))
        });
        let (position, code) = named.unwrap_or_else(|| split_position(inner));
        let id = self.add_expr(code.to_string());
        Some((Placeholder::Perl(position, id), end + 4))
    }

    fn rule(&mut self, text: &[u8]) -> Option<(Placeholder, usize)> {
        let (mut position, len, code) = self.rules.iter().find_map(|rule| rule.matches(text))?;
        // GNU's definitions that start with a number (`1 $_=seq()`) take
        // that value of the job, as a positional string does.
        let code = match (position, split_position(&code)) {
            (Position::Each, (nth @ Position::Nth(_), rest)) if rest.starts_with(' ') => {
                position = nth;
                rest.to_string()
            }
            _ => code,
        };
        let id = self.add_expr(code);
        Some((Placeholder::Perl(position, id), len))
    }

    fn add_expr(&mut self, code: String) -> usize {
        if let Some(id) = self.perl_exprs.iter().position(|c| *c == code) {
            return id;
        }
        self.perl_exprs.push(code);
        self.perl_exprs.len() - 1
    }

    /// `{N}`, `{-N}` and `{N<brace key>}` (`{2.}`, `{-1/.}`).
    fn positional(&self, text: &[u8]) -> Option<(Placeholder, usize)> {
        if text.first() != Some(&b'{') {
            return None;
        }
        let close = text.iter().take(64).position(|&b| b == b'}')?;
        let inner = &text[1..close];
        let sign = usize::from(inner.first() == Some(&b'-'));
        let digits = inner[sign..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        let n: i64 = std::str::from_utf8(&inner[..sign + digits])
            .ok()?
            .parse()
            .ok()?;
        if n == 0 {
            return None;
        }
        let suffix = &inner[sign + digits..];
        let placeholder = self.native.iter().find_map(|(key, placeholder)| {
            let key_inner = key.strip_prefix(b"{")?.strip_suffix(b"}")?;
            match placeholder {
                Placeholder::Value(Position::Each, modifier) if key_inner == suffix => {
                    Some(Placeholder::Value(Position::Nth(n), *modifier))
                }
                _ => None,
            }
        });
        match placeholder {
            Some(p) => Some((p, close + 1)),
            None if suffix.is_empty() => Some((
                Placeholder::Value(Position::Nth(n), Modifier::Whole),
                close + 1,
            )),
            None => None,
        }
    }
}

impl PerlRule {
    fn new(key: &str, code: String) -> Result<PerlRule, CrewError> {
        let (prefix, rest) = key.split_at(key.find('(').unwrap_or(key.len()));
        let (group, postfix) = match rest.rfind(')') {
            Some(close) => rest.split_at(close + 1),
            None => ("", rest),
        };
        let build = |start: &str, prefix: &str| {
            let pattern = format!(
                "(?s-u)^{start}{}{group}{}",
                regex::escape(prefix),
                regex::escape(postfix)
            );
            regex::bytes::Regex::new(&pattern).map_err(|e| {
                CrewError::usage(format!(
                    "--rpl key `{key}` is not a pattern crew can read: {e}"
                ))
            })
        };
        let plain = build("", prefix)?;
        let positional = match prefix.strip_prefix('{') {
            Some(rest) => Some(build(r"\{(-?[0-9]+)\s*", rest)?),
            None => None,
        };
        let code = (1..10).rev().fold(code, |code, n| {
            code.replace(&format!("$${n}"), &format!("$_pAr_gRp{n}"))
        });
        Ok(PerlRule {
            plain,
            positional,
            code,
            key: key.to_string(),
        })
    }

    /// Matches at the start of `text`: the position, the length matched
    /// and the code with its captures set.
    fn matches(&self, text: &[u8]) -> Option<(Position, usize, String)> {
        let (captures, position, first_group) =
            match self.positional.as_ref().and_then(|r| r.captures(text)) {
                Some(captures) => {
                    let n: i64 = std::str::from_utf8(captures.get(1)?.as_bytes())
                        .ok()?
                        .parse()
                        .ok()?;
                    if n == 0 {
                        return None;
                    }
                    (captures, Position::Nth(n), 2)
                }
                None => (self.plain.captures(text)?, Position::Each, 1),
            };
        let len = captures.get(0)?.end();
        if len == 0 {
            return None;
        }
        let mut set = String::new();
        for (n, group) in (first_group..captures.len()).enumerate() {
            let value = captures.get(group).map_or(&b""[..], |m| m.as_bytes());
            set.push_str(&format!("$_pAr_gRp{} = \"{}\";", n + 1, perl_quote(value)));
        }
        Some((position, len, set + &self.code))
    }
}

/// `value` for a Perl double-quoted string.
fn perl_quote(value: &[u8]) -> String {
    let mut out = String::new();
    for c in String::from_utf8_lossy(value).chars() {
        if matches!(c, '\\' | '"' | '$' | '@') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Splits `{=N code =}`'s inside into the position and the code.
fn split_position(inner: &str) -> (Position, &str) {
    let sign = usize::from(inner.starts_with('-'));
    let digits = inner[sign..].bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        if let Ok(n) = inner[..sign + digits].parse::<i64>() {
            if n != 0 {
                return (Position::Nth(n), &inner[sign + digits..]);
            }
        }
    }
    (Position::Each, inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(plus: bool) -> Replacements {
        Replacements::new(&NativeNames::default(), plus, &[]).unwrap()
    }

    #[test]
    fn modifiers_follow_gnu_parallel() {
        assert_eq!(Modifier::NoExtension.apply(b"d/f.tar.gz"), b"d/f.tar");
        assert_eq!(Modifier::NoExtension.apply(b"a.b/c"), b"a.b/c");
        assert_eq!(Modifier::Basename.apply(b"a/b/c.txt"), b"c.txt");
        assert_eq!(Modifier::Dirname.apply(b"file"), b".");
        assert_eq!(Modifier::Dirname.apply(b"/x"), b"/");
        assert_eq!(Modifier::BasenameNoExtension.apply(b"a/b/c.txt"), b"c");
    }

    #[test]
    fn native_and_positional_strings_are_found() {
        let mut t = table(false);
        assert_eq!(
            t.find(b"{/.}x"),
            Some((
                Placeholder::Value(Position::Each, Modifier::BasenameNoExtension),
                4
            ))
        );
        assert_eq!(
            t.find(b"{-2//}"),
            Some((Placeholder::Value(Position::Nth(-2), Modifier::Dirname), 6))
        );
        assert_eq!(t.find(b"{#}"), Some((Placeholder::Seq, 3)));
        assert_eq!(t.find(b"{x}"), None);
        assert_eq!(t.find(b"{0}"), None);
    }

    #[test]
    fn perl_blocks_are_the_shortest_without_a_nested_opening() {
        let mut t = table(false);
        assert_eq!(t.find(b"{= s/a/b/ =}rest").map(|f| f.1), Some(12));
        assert_eq!(t.find(b"{= {= s/a/b/=}"), None);
        assert_eq!(
            t.find(b"{=2 uq() =}").map(|f| f.0),
            Some(Placeholder::Perl(Position::Nth(2), 1))
        );
        assert_eq!(t.perl_exprs, [" s/a/b/ ", " uq() "]);
    }

    #[test]
    fn plus_rules_capture_their_arguments() {
        let mut t = table(true);
        let (p, len) = t.find(b"{:-dflt}").unwrap();
        assert_eq!(len, 8);
        let Placeholder::Perl(Position::Each, id) = p else {
            panic!("{p:?}")
        };
        assert_eq!(t.perl_exprs[id], "$_pAr_gRp1 = \"dflt\";$_ ||= $_pAr_gRp1");
        let (p, _) = t.find(b"{2+.}").unwrap();
        assert!(matches!(p, Placeholder::Perl(Position::Nth(2), _)));
    }
}
