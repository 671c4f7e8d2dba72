//! GNU parallel's command-line length rule, which decides how many inputs
//! `-X`/`-m` put on one command line (`-s`, default 63,664 bytes: GNU's
//! usable length on Linux) and when one input alone is too long.
//!
//! The rule (GNU's `CommandLine::len`): the command words' literal text,
//! one space between words, and for every replacement string the summed
//! length of its quoted values. Joining adds one space per extra value
//! for each occurrence; context replace (`-X`) repeats the literal text of
//! the words holding replacement strings once per value, a space between
//! the copies. Positional strings (`{2}`, `{#}`) count only the value they
//! take from each input. A command line fits while it is shorter than the
//! limit.
//!
//! Invariant: [`Measure`] only adds and removes whole inputs, so
//! `len()` after `push(r)` then `pop(r)` is what it was before.

use std::collections::HashMap;

use crate::placeholder::{Placeholder, Position};
use crate::quote::quoted_len;
use crate::template::{Record, Template};

/// GNU parallel's usable command-line length on Linux:
/// (130,329 found by its probe − 3,000 for wrapping) / 2.
pub const GNU_MAX_CHARS: usize = 63_664;

/// The template's shape for the rule, computed once.
#[derive(Debug, Clone)]
pub struct LengthRule {
    /// Literal text of words without replacement strings, plus spaces.
    fixed: usize,
    /// Literal text of words with replacement strings.
    context: usize,
    /// How many words hold replacement strings.
    context_groups: usize,
    /// Each distinct replacement string and how often it occurs.
    counts: Vec<(Placeholder, usize)>,
    context_replace: bool,
    /// Command lines must stay shorter than this.
    pub max: usize,
}

impl LengthRule {
    /// The rule for `template`, with lines shorter than `max`.
    pub fn new(template: &Template, max: usize) -> LengthRule {
        let shape = template.length_shape();
        let mut fixed = shape.len().saturating_sub(1);
        let (mut context, mut context_groups) = (0, 0);
        let mut counts: HashMap<Placeholder, usize> = HashMap::new();
        let mut order = Vec::new();
        for (text, holes) in shape.iter().flatten() {
            if holes.is_empty() {
                fixed += text;
                continue;
            }
            context += text;
            context_groups += 1;
            for hole in holes {
                let count = counts.entry(*hole).or_insert(0);
                if *count == 0 {
                    order.push(*hole);
                }
                *count += 1;
            }
        }
        LengthRule {
            fixed,
            context,
            context_groups,
            counts: order.into_iter().map(|p| (p, counts[&p])).collect(),
            context_replace: template.is_context_replace(),
            max,
        }
    }

    /// An empty measure for one command line.
    /// An empty measure for the command line of job number `seq`.
    pub fn measure(self: &std::sync::Arc<Self>, seq: u64) -> Measure {
        Measure {
            rule: std::sync::Arc::clone(self),
            lens: vec![0; self.counts.len()],
            records: 0,
            fields: 0,
            seq_digits: seq.to_string().len(),
        }
    }
}

/// The length of a command line being filled.
pub struct Measure {
    rule: std::sync::Arc<LengthRule>,
    lens: Vec<usize>,
    records: usize,
    fields: usize,
    /// Length of the job number (`{#}`, `{%}` count it once per input).
    seq_digits: usize,
}

impl Measure {
    fn add(&mut self, record: &Record, sign: bool) {
        for (i, (placeholder, _)) in self.rule.counts.iter().enumerate() {
            let len = value_len(*placeholder, record, self.seq_digits);
            if sign {
                self.lens[i] += len;
            } else {
                self.lens[i] -= len;
            }
        }
    }

    /// Adds one input.
    pub fn push(&mut self, record: &Record) {
        if self.records == 0 {
            self.fields = record.len();
        }
        self.records += 1;
        self.add(record, true);
    }

    /// Removes an input added before.
    #[cfg(test)]
    pub fn pop(&mut self, record: &Record) {
        self.records -= 1;
        self.add(record, false);
    }

    /// The command line's length by GNU's rule.
    pub fn len(&self) -> usize {
        let rule = &self.rule;
        let args = self.records * self.fields;
        let mut len = rule.fixed;
        if rule.context_replace {
            len += args * rule.context;
            len += self
                .lens
                .iter()
                .zip(&rule.counts)
                .map(|(l, (_, c))| l * c)
                .sum::<usize>();
            len += args.saturating_sub(1) * rule.context_groups;
        } else {
            len += rule.context;
            for (l, (_, c)) in self.lens.iter().zip(&rule.counts) {
                len += (args.saturating_sub(1) + l) * c;
            }
        }
        len
    }

    /// Whether the line is too long for the rule.
    pub fn is_too_long(&self) -> bool {
        self.len() >= self.rule.max
    }
}

/// How much one input adds for `placeholder`.
fn value_len(placeholder: Placeholder, record: &Record, seq_digits: usize) -> usize {
    let nth = |n: i64| {
        let index = if n > 0 {
            usize::try_from(n - 1).ok()
        } else {
            record.len().checked_sub(usize::try_from(-n).ok()?)
        };
        index.and_then(|i| record.get(i))
    };
    match placeholder {
        Placeholder::Value(Position::Each, modifier) => {
            record.iter().map(|v| quoted_len(modifier.apply(v))).sum()
        }
        Placeholder::Value(Position::Nth(n), modifier) => {
            nth(n).map_or(0, |v| quoted_len(modifier.apply(v)))
        }
        Placeholder::Perl(Position::Each, _) => record.iter().map(|v| quoted_len(v)).sum(),
        Placeholder::Perl(Position::Nth(n), _) => nth(n).map_or(0, |v| quoted_len(v)),
        Placeholder::Seq | Placeholder::Slot => seq_digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placeholder::{NativeNames, Replacements};
    use std::ffi::OsString;

    fn rule(words: &[&str], context_replace: bool, max: usize) -> std::sync::Arc<LengthRule> {
        let words: Vec<OsString> = words.iter().map(OsString::from).collect();
        let mut table = Replacements::new(&NativeNames::default(), false, &[]).unwrap();
        let template = Template::parse(&words, &mut table, false, context_replace)
            .unwrap()
            .0;
        std::sync::Arc::new(LengthRule::new(&template, max))
    }

    #[test]
    fn context_replace_counts_like_gnu() {
        // GNU fills `-s 80 -X echo a{}b{.}c{.}` with 6 of 1.gif..15.gif: 70 bytes.
        let rule = rule(&["echo", "a{}b{.}c{.}"], true, 80);
        let mut measure = rule.measure(1);
        for i in 1..=6 {
            measure.push(&vec![format!("{i}.gif").into_bytes()]);
        }
        assert_eq!(measure.len(), 70);
        measure.push(&vec![b"7.gif".to_vec()]);
        assert!(measure.is_too_long());
    }

    #[test]
    fn joining_counts_a_space_per_extra_value() {
        let rule = rule(&["echo"], false, 100);
        let mut measure = rule.measure(1);
        for i in 1..=34 {
            measure.push(&vec![i.to_string().into_bytes()]);
        }
        assert_eq!(measure.len(), 97);
        let record = vec![b"35".to_vec()];
        measure.push(&record);
        assert!(measure.is_too_long());
        measure.pop(&record);
        assert_eq!(measure.len(), 97);
    }
}
