//! Batching (`-n`, `-N`, `-X`, `-m`): groups input records into the batch
//! one job receives, lazily.
//!
//! Invariants: every record lands in exactly one batch, in input order; no
//! batch is empty; a `-X`/`-m` batch stays within `--max-chars` by the
//! template's size model unless a single record alone exceeds it (it then
//! runs alone, and the kernel has the last word).

use crate::error::CrewError;
use crate::template::Record;

/// How records are grouped into jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRule {
    /// One record per job (the default).
    One,
    /// Up to N records per job (`-n N`, `-N N`).
    UpTo(usize),
    /// As many records as fit the command line (`-X`, `-m`), at most
    /// `max_records` if `-n` is also given.
    Fill {
        max_records: usize,
        max_chars: usize,
    },
}

/// The command-line size model from [`crate::template::Template::size_model`]:
/// base length, copies of each input byte, extra bytes per input.
pub type SizeModel = (usize, usize, usize);

/// Batches from a stream of records.
pub struct Batches<I> {
    records: I,
    rule: BatchRule,
    model: SizeModel,
    pending: Option<Record>,
}

impl<I> Batches<I>
where
    I: Iterator<Item = Result<Record, CrewError>>,
{
    /// Groups `records` by `rule`.
    pub fn new(records: I, rule: BatchRule, model: SizeModel) -> Batches<I> {
        Batches {
            records,
            rule,
            model,
            pending: None,
        }
    }

    fn cost(&self, record: &Record) -> usize {
        let (_, copies, per_input) = self.model;
        record.iter().map(|f| f.len() * copies + per_input).sum()
    }
}

impl<I> Iterator for Batches<I>
where
    I: Iterator<Item = Result<Record, CrewError>>,
{
    type Item = Result<Vec<Record>, CrewError>;

    fn next(&mut self) -> Option<Self::Item> {
        let first = match self.pending.take() {
            Some(record) => record,
            None => match self.records.next()? {
                Ok(record) => record,
                Err(error) => return Some(Err(error)),
            },
        };
        let (max_records, max_chars) = match self.rule {
            BatchRule::One => return Some(Ok(vec![first])),
            BatchRule::UpTo(n) => (n, usize::MAX),
            BatchRule::Fill {
                max_records,
                max_chars,
            } => (max_records, max_chars),
        };
        let mut used = self.model.0 + self.cost(&first);
        let mut batch = vec![first];
        while batch.len() < max_records {
            let record = match self.records.next() {
                None => break,
                Some(Ok(record)) => record,
                Some(Err(error)) => return Some(Err(error)),
            };
            let cost = self.cost(&record);
            if used + cost > max_chars {
                self.pending = Some(record);
                break;
            }
            used += cost;
            batch.push(record);
        }
        Some(Ok(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> impl Iterator<Item = Result<Record, CrewError>> {
        (0..n).map(|i| Ok(vec![format!("{i:03}").into_bytes()]))
    }

    #[test]
    fn up_to_n_keeps_order_and_leaves_a_short_tail() {
        let sizes: Vec<usize> = Batches::new(records(7), BatchRule::UpTo(3), (0, 1, 1))
            .map(|b| b.unwrap().len())
            .collect();
        assert_eq!(sizes, [3, 3, 1]);
    }

    #[test]
    fn fill_stops_at_max_chars() {
        let rule = BatchRule::Fill {
            max_records: usize::MAX,
            max_chars: 10 + 4 * 5,
        };
        let sizes: Vec<usize> = Batches::new(records(12), rule, (10, 1, 1))
            .map(|b| b.unwrap().len())
            .collect();
        assert_eq!(sizes, [5, 5, 2]);
    }

    #[test]
    fn an_oversized_record_still_runs_alone() {
        let rule = BatchRule::Fill {
            max_records: usize::MAX,
            max_chars: 2,
        };
        assert_eq!(Batches::new(records(2), rule, (10, 1, 1)).count(), 2);
    }
}
