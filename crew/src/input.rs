//! Input sources: lines of stdin or files, `:::` argument lists, their
//! linking (`:::+`) and cartesian product, and `--colsep` columns.
//!
//! Invariants:
//! - Input is read lazily: only the first group of sources is streamed, one
//!   record at a time, so stdin or a file of millions of lines is never held
//!   in memory. Groups after the first (the inner loops of the product) are
//!   read once and kept, as the product revisits them.
//! - Order is GNU parallel's: the last source varies fastest.
//! - Linked sources pair values by position: with `:::+`/`::::+` the
//!   shortest source sets the length, with `--link` a shorter one wraps
//!   (GNU's two rules).
//! - A record separator (newline, `-d STR`, or NUL with `-0`) is removed;
//!   nothing else is: spaces, quotes and `\r` reach the command as they
//!   are, except that `--colsep` columns are trimmed of surrounding
//!   blanks (as GNU does). A NUL byte without `-0` cannot be passed in an
//!   argument: it becomes the two characters `\0`, with GNU's warning.
//! - Reading stops at a line equal to `-E STR`; with `-r` records that are
//!   all blank run no job.

use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::CrewError;
use crate::reader::RecordReader;
use crate::sources::SourceSpec;
use crate::template::{Record, Value};

/// How `--colsep` splits a line into columns.
#[derive(Debug)]
pub enum ColumnSeparator {
    /// A fixed separator string (no regex metacharacters in the pattern).
    Literal(Vec<u8>),
    /// A regular expression, matched on bytes: a field that is not UTF-8
    /// is split without being altered.
    Regex(regex::bytes::Regex),
}

impl ColumnSeparator {
    /// Parses `--colsep`.
    ///
    /// # Errors
    ///
    /// An invalid regular expression or an empty pattern.
    pub fn new(pattern: &str) -> Result<ColumnSeparator, CrewError> {
        if pattern.is_empty() {
            return Err(CrewError::usage("--colsep needs a non-empty separator"));
        }
        if !pattern.contains(|c: char| "\\.+*?()|[]{}^$".contains(c)) {
            return Ok(ColumnSeparator::Literal(pattern.as_bytes().to_vec()));
        }
        regex::bytes::Regex::new(pattern)
            .map(ColumnSeparator::Regex)
            .map_err(|e| {
                CrewError::usage(format!(
                    "--colsep `{pattern}` is not a valid regex: {}",
                    regex_problem(&e)
                ))
            })
    }

    /// The columns of `value`.
    pub fn split(&self, value: &[u8]) -> Record {
        let mut out = Vec::new();
        self.split_into(value, &mut out);
        out
    }

    fn split_into(&self, value: &[u8], out: &mut Record) {
        match self {
            ColumnSeparator::Literal(separator) => {
                let mut rest = value;
                while let Some(at) = find(rest, separator) {
                    out.push(rest[..at].to_vec());
                    rest = &rest[at + separator.len()..];
                }
                out.push(rest.to_vec());
            }
            ColumnSeparator::Regex(regex) => {
                out.extend(regex.split(value).map(<[u8]>::to_vec));
            }
        }
    }
}

/// The regex crate's reason on one line: its syntax errors draw the pattern
/// with a caret over several lines, ending with `error: <what is wrong>`.
fn regex_problem(error: &regex::Error) -> String {
    let text = error.to_string();
    match text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
    {
        Some(problem) => problem.to_string(),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How input records are read.
#[derive(Debug, Default, Clone)]
pub struct ReadOptions {
    /// Records end with these bytes (newline by default).
    pub delimiter: Vec<u8>,
    /// Reading stops at a record equal to this (`-E`).
    pub eof: Option<Vec<u8>>,
    /// `-r`: blank records run no job.
    pub skip_blank: bool,
    /// `--link`: linked sources wrap instead of stopping at the shortest.
    pub wrap_links: bool,
    /// `--header`: files start with a header line that is not an input.
    pub skip_header: bool,
    /// `--trim`: (left, right) blanks removed from each input.
    pub trim: (bool, bool),
    /// `--trim n` given: `--colsep` columns keep their blanks.
    pub keeps_column_blanks: bool,
    /// `-L`/`-l`: a line ending in a blank continues on the next line.
    pub joins_continued_lines: bool,
}

#[cfg(test)]
impl ReadOptions {
    /// Newline-separated records, nothing else.
    pub fn lines() -> ReadOptions {
        ReadOptions {
            delimiter: b"\n".to_vec(),
            ..ReadOptions::default()
        }
    }
}

/// The streamed outer group: one source read lazily, or linked sources
/// read in full and paired.
enum Outer {
    Stream(RecordReader),
    Args(std::vec::IntoIter<Value>),
    Linked {
        columns: Vec<Vec<Value>>,
        next: usize,
        len: usize,
    },
    Done,
}

impl Outer {
    fn next_record(&mut self) -> Option<Result<Record, CrewError>> {
        match self {
            Outer::Stream(reader) => reader.next_value().map(|v| v.map(|v| vec![v])),
            Outer::Args(values) => values.next().map(|v| Ok(vec![v])),
            Outer::Linked { columns, next, len } => {
                if *next >= *len {
                    return None;
                }
                let i = *next;
                *next += 1;
                Some(Ok(columns.iter().map(|c| c[i % c.len()].clone()).collect()))
            }
            Outer::Done => None,
        }
    }
}

/// Every input record, in GNU parallel's order, read lazily.
pub struct Inputs {
    outer: Outer,
    inner: Vec<Vec<Record>>,
    /// Position in each inner group; `None` before the first record.
    odometer: Option<(Record, Vec<usize>)>,
    colsep: Option<ColumnSeparator>,
    skip_blank: bool,
    trim: (bool, bool),
    keeps_column_blanks: bool,
    /// Every inner group was empty: an empty outer group then means no jobs.
    is_empty: bool,
    /// How many values an outer record holds (its group's sources).
    outer_width: usize,
    /// Whether the outer group has given a record yet.
    has_started: bool,
}

fn args_to_values(args: &[std::ffi::OsString]) -> Vec<Value> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

fn read_source(source: &SourceSpec, options: &ReadOptions) -> Result<Vec<Value>, CrewError> {
    match source {
        SourceSpec::Args(args) => {
            let mut values = args_to_values(args);
            if !options.delimiter.is_empty() {
                // GNU reads `:::` values through the delimiter too (a
                // newline in a value makes two values by default).
                values = values
                    .iter()
                    .flat_map(|v| split_at_delimiter(v, &options.delimiter))
                    .collect();
            }
            if let Some(eof) = &options.eof {
                // A source ended at once is empty: among other sources
                // that makes one empty value (see Inputs::open).
                if let Some(at) = values.iter().position(|v| v == eof) {
                    values.truncate(at);
                }
            }
            if options.joins_continued_lines {
                let mut joined: Vec<Value> = Vec::with_capacity(values.len());
                let mut is_continued = false;
                for value in values {
                    match joined.last_mut() {
                        Some(last) if is_continued => last.extend_from_slice(&value),
                        _ => joined.push(value),
                    }
                    is_continued =
                        matches!(joined.last().and_then(|v| v.last()), Some(b' ' | b'\t'));
                }
                values = joined;
            }
            Ok(values)
        }
        SourceSpec::File(path) => RecordReader::open(path, options)?.read_all(),
    }
}

fn split_at_delimiter(value: &[u8], delimiter: &[u8]) -> Vec<Value> {
    let mut parts = Vec::new();
    let mut rest = value;
    while let Some(at) = find(rest, delimiter) {
        parts.push(rest[..at].to_vec());
        rest = &rest[at + delimiter.len()..];
    }
    // As GNU: what follows the last delimiter is a value, even empty.
    parts.push(rest.to_vec());
    parts
}

/// Reads a linked group in full; an empty source empties the group.
fn read_group(group: &[SourceSpec], options: &ReadOptions) -> Result<Vec<Vec<Value>>, CrewError> {
    group.iter().map(|s| read_source(s, options)).collect()
}

/// How many records linked sources make: the longest when wrapping
/// (`--link`), else the shortest (`:::+`).
fn linked_len(columns: &[Vec<Value>], wrap: bool) -> usize {
    if columns.iter().any(Vec::is_empty) {
        return 0;
    }
    let lens = columns.iter().map(Vec::len);
    if wrap { lens.max() } else { lens.min() }.unwrap_or(0)
}

fn pair_columns(columns: &[Vec<Value>], wrap: bool) -> Vec<Record> {
    let len = linked_len(columns, wrap);
    (0..len)
        .map(|i| columns.iter().map(|c| c[i % c.len()].clone()).collect())
        .collect()
}

impl Inputs {
    /// Opens the sources. With no groups, stdin is the only source.
    ///
    /// # Errors
    ///
    /// A file that cannot be opened or read (the inner groups are read here).
    pub fn open(
        groups: &[Vec<SourceSpec>],
        options: &ReadOptions,
        colsep: Option<ColumnSeparator>,
    ) -> Result<Inputs, CrewError> {
        let stdin_group = [vec![SourceSpec::File(PathBuf::from("-"))]];
        let groups = if groups.is_empty() {
            &stdin_group[..]
        } else {
            groups
        };
        let outer = match groups[0].as_slice() {
            [SourceSpec::File(path)] => Outer::Stream(RecordReader::open(path, options)?),
            [args @ SourceSpec::Args(_)] => Outer::Args(read_source(args, options)?.into_iter()),
            linked => {
                let columns = read_group(linked, options)?;
                let len = linked_len(&columns, options.wrap_links);
                Outer::Linked {
                    columns,
                    next: 0,
                    len,
                }
            }
        };
        // GNU nests sources: an empty group counts as one empty value
        // (one per source), unless every group is empty.
        let mut is_empty = !groups[1..].is_empty();
        let inner: Vec<Vec<Record>> = groups[1..]
            .iter()
            .map(|g| {
                let mut records = pair_columns(&read_group(g, options)?, options.wrap_links);
                if records.is_empty() {
                    records.push(vec![Vec::new(); g.len()]);
                } else {
                    is_empty = false;
                }
                Ok(records)
            })
            .collect::<Result<_, CrewError>>()?;
        Ok(Inputs {
            outer,
            inner,
            odometer: None,
            colsep,
            skip_blank: options.skip_blank,
            trim: options.trim,
            keeps_column_blanks: options.keeps_column_blanks,
            is_empty,
            outer_width: groups[0].len(),
            has_started: false,
        })
    }

    fn finish(&self, mut record: Record) -> Record {
        if self.trim != (false, false) {
            for value in &mut record {
                trim_sides(value, self.trim);
            }
        }
        if let Some(colsep) = &self.colsep {
            let mut columns = Vec::with_capacity(record.len() + 2);
            for field in &record {
                colsep.split_into(field, &mut columns);
            }
            if !self.keeps_column_blanks {
                for column in &mut columns {
                    trim_blanks(column);
                }
            }
            record = columns;
        }
        record
    }

    fn combine(&self, outer: &Record, positions: &[usize]) -> Record {
        let mut record = outer.clone();
        for (group, &at) in self.inner.iter().zip(positions) {
            record.extend(group[at].iter().cloned());
        }
        self.finish(record)
    }
}

/// `--trim`: removes white space (Perl's `\s`, as GNU) on the chosen sides.
fn trim_sides(value: &mut Vec<u8>, (left, right): (bool, bool)) {
    if right {
        let end = value
            .iter()
            .rposition(|b| !is_space(*b))
            .map_or(0, |i| i + 1);
        value.truncate(end);
    }
    if left {
        let start = value
            .iter()
            .position(|b| !is_space(*b))
            .unwrap_or(value.len());
        value.drain(..start);
    }
}

/// Removes white space (Perl's `\s`: GNU's) around a `--colsep` column.
fn trim_blanks(column: &mut Vec<u8>) {
    let end = column
        .iter()
        .rposition(|b| !is_space(*b))
        .map_or(0, |i| i + 1);
    column.truncate(end);
    let start = column
        .iter()
        .position(|b| !is_space(*b))
        .unwrap_or(column.len());
    column.drain(..start);
}

/// Perl's `\s`: space, tab, newline, vertical tab, form feed, CR.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

impl Iterator for Inputs {
    type Item = Result<Record, CrewError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let record = self.next_any()?;
            let is_blank = |r: &Record| r.iter().all(|v| v.iter().all(u8::is_ascii_whitespace));
            match record {
                Ok(record) if self.skip_blank && is_blank(&record) => continue,
                other => return Some(other),
            }
        }
    }
}

impl Inputs {
    fn next_any(&mut self) -> Option<Result<Record, CrewError>> {
        if self.inner.is_empty() {
            return self.outer.next_record().map(|r| r.map(|r| self.finish(r)));
        }
        // Advance the odometer: the last inner group turns fastest; when all
        // wrap, the next outer record starts.
        if let Some((outer, positions)) = &mut self.odometer {
            let mut digit = positions.len();
            while digit > 0 {
                digit -= 1;
                positions[digit] += 1;
                if positions[digit] < self.inner[digit].len() {
                    let (outer, positions) = (outer.clone(), positions.clone());
                    return Some(Ok(self.combine(&outer, &positions)));
                }
                positions[digit] = 0;
            }
        }
        let next = match self.outer.next_record() {
            None if !self.has_started && !self.is_empty => {
                // An empty outer group: one empty value per source.
                self.outer = Outer::Done;
                Some(Ok(vec![Vec::new(); self.outer_width]))
            }
            next => next,
        };
        self.has_started = true;
        let Some(next) = next else {
            // Exhausted for good: a later call must not restart the inner loops.
            self.outer = Outer::Done;
            self.odometer = None;
            return None;
        };
        match next {
            Ok(outer) => {
                let positions = vec![0; self.inner.len()];
                let record = self.combine(&outer, &positions);
                self.odometer = Some((outer, positions));
                Some(Ok(record))
            }
            Err(error) => Some(Err(error)),
        }
    }
}

/// How many records the sources hold, when that is cheap to know (argument
/// lists and regular files, not stdin or pipes): progress bars use it.
pub fn count_records(groups: &[Vec<SourceSpec>], options: &ReadOptions) -> Option<u64> {
    if groups.is_empty()
        || options.delimiter.len() != 1
        || options.eof.is_some()
        || options.skip_blank
    {
        return None;
    }
    let separator = options.delimiter[0];
    let mut total: u64 = 1;
    let mut is_all_empty = true;
    for group in groups {
        let mut longest = 0u64;
        for source in group {
            let count = match source {
                SourceSpec::Args(args) => args
                    .iter()
                    .map(|a| 1 + a.as_bytes().iter().filter(|&&b| b == separator).count() as u64)
                    .sum(),
                SourceSpec::File(path) if path != Path::new("-") => {
                    count_separators(path, separator)?
                }
                SourceSpec::File(_) => return None,
            };
            longest = longest.max(count);
        }
        // An empty group among others is one empty value (see Inputs::open).
        is_all_empty &= longest == 0;
        total = total.saturating_mul(longest.max(1));
    }
    Some(if is_all_empty { 0 } else { total })
}

fn count_separators(path: &Path, separator: u8) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut buffer = vec![0u8; 64 * 1024];
    let (mut count, mut last) = (0u64, separator);
    loop {
        let n = file.read(&mut buffer).ok()?;
        if n == 0 {
            break;
        }
        count += buffer[..n].iter().filter(|&&b| b == separator).count() as u64;
        last = buffer[n - 1];
    }
    Some(count + u64::from(last != separator))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn args(values: &[&str]) -> SourceSpec {
        SourceSpec::Args(values.iter().map(OsString::from).collect())
    }

    fn collect(inputs: Inputs) -> Vec<Vec<String>> {
        inputs
            .map(|r| {
                r.unwrap()
                    .into_iter()
                    .map(|v| String::from_utf8(v).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn several_sources_give_the_product_last_fastest() {
        let groups = vec![vec![args(&["a", "b"])], vec![args(&["1", "2"])]];
        let records = collect(Inputs::open(&groups, &ReadOptions::lines(), None).unwrap());
        assert_eq!(records, [["a", "1"], ["a", "2"], ["b", "1"], ["b", "2"]]);
        assert_eq!(count_records(&groups, &ReadOptions::lines()), Some(4));
    }

    #[test]
    fn linked_sources_stop_at_the_shortest_unless_they_wrap() {
        let groups = vec![vec![args(&["a", "b", "c"]), args(&["1", "2"])]];
        let records = collect(Inputs::open(&groups, &ReadOptions::lines(), None).unwrap());
        assert_eq!(records, [["a", "1"], ["b", "2"]]);
        let wrap = ReadOptions {
            wrap_links: true,
            ..ReadOptions::lines()
        };
        let records = collect(Inputs::open(&groups, &wrap, None).unwrap());
        assert_eq!(records, [["a", "1"], ["b", "2"], ["c", "1"]]);
    }

    #[test]
    fn a_product_ends_for_good() {
        let groups = vec![vec![args(&["a", "b"])], vec![args(&["c", "d"])]];
        let mut inputs = Inputs::open(&groups, &ReadOptions::lines(), None).unwrap();
        assert_eq!(inputs.by_ref().count(), 4);
        assert!(inputs.next().is_none());
    }

    #[test]
    fn colsep_splits_every_field() {
        let groups = vec![vec![args(&["x,y", "z"])]];
        let colsep = ColumnSeparator::new(",").unwrap();
        let records = collect(Inputs::open(&groups, &ReadOptions::lines(), Some(colsep)).unwrap());
        assert_eq!(records, [vec!["x", "y"], vec!["z"]]);
        let regex = ColumnSeparator::new(r"\s+").unwrap();
        let mut out = Vec::new();
        regex.split_into(b"a  b\tc", &mut out);
        assert_eq!(out, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn a_bad_regex_is_explained_on_one_line() {
        let error = ColumnSeparator::new("[a").unwrap_err().to_string();
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(error.contains("unclosed character class"), "{error}");
    }

    #[test]
    fn a_regex_colsep_keeps_bytes_that_are_not_utf8() {
        let regex = ColumnSeparator::new(",+").unwrap();
        let mut out = Vec::new();
        regex.split_into(b"a\xff,,b\xfe", &mut out);
        assert_eq!(out, [b"a\xff".to_vec(), b"b\xfe".to_vec()]);
    }

    #[test]
    fn an_empty_source_among_others_is_one_empty_value() {
        let groups = vec![vec![args(&["a"])], vec![args(&[])]];
        let records = collect(Inputs::open(&groups, &ReadOptions::lines(), None).unwrap());
        assert_eq!(records, [["a", ""]]);
        let groups = vec![vec![args(&[])], vec![args(&["b", "c"])]];
        let records = collect(Inputs::open(&groups, &ReadOptions::lines(), None).unwrap());
        assert_eq!(records, [["", "b"], ["", "c"]]);
    }

    #[test]
    fn sources_that_are_all_empty_mean_no_jobs() {
        let groups = vec![vec![args(&[])], vec![args(&[])]];
        assert!(collect(Inputs::open(&groups, &ReadOptions::lines(), None).unwrap()).is_empty());
        let groups = vec![vec![args(&[])]];
        assert!(collect(Inputs::open(&groups, &ReadOptions::lines(), None).unwrap()).is_empty());
    }
}
