//! Batching (`-n`, `-N`, `-L`, `-X`, `-m`): groups input records into the
//! batch one job receives, lazily, by GNU parallel's rules.
//!
//! Invariants: every record lands in exactly one batch, in input order; no
//! batch is empty; every batch is shorter than the length limit by GNU's
//! rule ([`crate::length`]) unless it holds one record, which is then an
//! error ("Command line too long", as in GNU). With `-X`/`-m` and several
//! job slots, the batch that reaches the end of the input is spread over
//! the slots (each of the remaining batches gets an equal share), as GNU
//! does, so short inputs still use every slot.

use std::collections::VecDeque;

use crate::error::CrewError;
use crate::length::LengthRule;
use crate::template::Record;

/// How records are grouped into jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRule {
    /// One record per job (the default).
    One,
    /// Up to N records per job (`-n N`, `-N N`, `-L N`).
    UpTo(usize),
    /// As many records as fit the command line (`-X`, `-m`), at most
    /// `max_records` if a count is also given.
    Fill { max_records: Option<usize> },
}

/// Batches from a stream of records.
pub struct Batches<I> {
    records: I,
    rule: BatchRule,
    length: std::sync::Arc<LengthRule>,
    slots: usize,
    pending: VecDeque<Record>,
    is_exhausted: bool,
    is_spread: bool,
    /// Batches made so far (the next job's number, for `{#}`'s length).
    batches: u64,
}

impl<I> Batches<I>
where
    I: Iterator<Item = Result<Record, CrewError>>,
{
    /// Groups `records` by `rule`, lines limited by `length`, for `slots`
    /// job slots.
    pub fn new(records: I, rule: BatchRule, length: LengthRule, slots: usize) -> Batches<I> {
        Batches {
            records,
            rule,
            length: std::sync::Arc::new(length),
            slots,
            pending: VecDeque::new(),
            is_exhausted: false,
            is_spread: false,
            batches: 0,
        }
    }

    fn next_record(&mut self) -> Option<Result<Record, CrewError>> {
        if let Some(record) = self.pending.pop_front() {
            return Some(Ok(record));
        }
        if self.is_exhausted {
            return None;
        }
        match self.records.next() {
            None => {
                self.is_exhausted = true;
                None
            }
            Some(record) => Some(record),
        }
    }

    fn too_long(&self, len: usize, record: &Record) -> CrewError {
        let args = record
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let shown = if args.chars().count() > 50 {
            format!("{}...", args.chars().take(50).collect::<String>())
        } else {
            args
        };
        CrewError::TooLong(format!(
            "Command line too long ({len} >= {}) at input 0: {shown}",
            self.length.max,
        ))
    }
}

impl<I> Iterator for Batches<I>
where
    I: Iterator<Item = Result<Record, CrewError>>,
{
    type Item = Result<Vec<Record>, CrewError>;

    fn next(&mut self) -> Option<Self::Item> {
        let first = match self.next_record()? {
            Ok(record) => record,
            Err(error) => return Some(Err(error)),
        };
        let max_records = match self.rule {
            BatchRule::One => 1,
            BatchRule::UpTo(n) => n.max(1),
            BatchRule::Fill { max_records } => max_records.unwrap_or(usize::MAX).max(1),
        };
        self.batches += 1;
        let mut measure = self.length.measure(self.batches);
        measure.push(&first);
        if measure.is_too_long() {
            return Some(Err(self.too_long(measure.len(), &first)));
        }
        let mut batch = vec![first];
        while batch.len() < max_records {
            let record = match self.next_record() {
                None => break,
                Some(Ok(record)) => record,
                Some(Err(error)) => return Some(Err(error)),
            };
            measure.push(&record);
            if measure.is_too_long() {
                self.pending.push_front(record);
                break;
            }
            batch.push(record);
        }
        if matches!(self.rule, BatchRule::Fill { .. })
            && !self.is_spread
            && self.slots > 1
            && self.is_exhausted
            && self.pending.is_empty()
            && batch.len() > 1
        {
            // The end of the input: spread what is left over the slots.
            self.is_spread = true;
            let share = batch.len().div_ceil(self.slots);
            self.rule = BatchRule::Fill {
                max_records: Some(share),
            };
            for record in batch.drain(share..).rev() {
                self.pending.push_front(record);
            }
        }
        Some(Ok(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placeholder::{NativeNames, Replacements};
    use crate::template::Template;
    use std::ffi::OsString;

    fn records(n: usize) -> impl Iterator<Item = Result<Record, CrewError>> {
        (1..=n).map(|i| Ok(vec![i.to_string().into_bytes()]))
    }

    fn sizes(n: usize, rule: BatchRule, max: usize, slots: usize) -> Vec<usize> {
        let words: Vec<OsString> = vec!["echo".into()];
        let mut table = Replacements::new(&NativeNames::default(), false, &[]).unwrap();
        let template = Template::parse(&words, &mut table, false, false).unwrap().0;
        Batches::new(records(n), rule, LengthRule::new(&template, max), slots)
            .map(|b| b.unwrap().len())
            .collect()
    }

    #[test]
    fn up_to_n_keeps_order_and_leaves_a_short_tail() {
        assert_eq!(sizes(7, BatchRule::UpTo(3), 1000, 1), [3, 3, 1]);
    }

    #[test]
    fn fill_stops_before_the_limit_like_gnu() {
        // `seq 1 92 | parallel -j1 -kX -s 100 echo`: 34 numbers per line.
        let fill = BatchRule::Fill { max_records: None };
        assert_eq!(sizes(92, fill, 100, 1), [34, 31, 27]);
    }

    #[test]
    fn the_end_of_the_input_is_spread_over_the_slots() {
        let fill = BatchRule::Fill { max_records: None };
        assert_eq!(sizes(5, fill, 1000, 2), [3, 2]);
        assert_eq!(sizes(92, fill, 100, 2), [34, 31, 14, 13]);
    }

    #[test]
    fn an_input_longer_than_the_limit_is_an_error() {
        let words: Vec<OsString> = vec!["echo".into()];
        let mut table = Replacements::new(&NativeNames::default(), false, &[]).unwrap();
        let template = Template::parse(&words, &mut table, false, false).unwrap().0;
        let long = std::iter::once(Ok(vec![vec![b'x'; 50]]));
        let mut batches = Batches::new(long, BatchRule::One, LengthRule::new(&template, 20), 1);
        let error = batches.next().unwrap().unwrap_err().to_string();
        assert!(
            error.starts_with("Error: Command line too long (55 >= 20)"),
            "{error}"
        );
    }
}
