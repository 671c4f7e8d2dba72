//! `--pipe` and `--pipepart`: split the input into blocks of whole records,
//! each written to a spool file that becomes one job's stdin.
//!
//! Records (GNU parallel's rules): a record ends with `--recend` (newline
//! by default, NUL with `-0`) where `--recstart` (empty by default)
//! follows; `-L N` makes a record of N such pieces. A block holds as many
//! whole records as fit in `--block` bytes; a first record longer than
//! that grows the block size (×1.3 + 1, with GNU's warning) until it
//! fits. With `--pipepart` a block instead ends at the first record end
//! past `--block` bytes (GNU's parts). `-N N` makes blocks of exactly N records whatever their size.
//! With `-L N` (N > 1), an incomplete last record is a block of its own.
//! An empty `--recend` ends a record after any byte (so records are cut
//! only before `--recstart`, or are single bytes without one).
//! `--rrs` removes the separators from the records. `--header RE` takes
//! what RE matches at the start of the input (`:` is one line, `N` is N
//! lines) as the header, written at the start of every block and not
//! counted toward `--block`.
//!
//! Invariants: every byte of the input is in exactly one block, in order
//! (less the separators with `--rrs`); memory holds one block's worth of
//! records at most while it is written to its file, never the input.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use crate::error::CrewError;
use crate::spool::TempFiles;

/// One block of input, stored in a spool file positioned at its start.
pub struct Block {
    /// The file holding the block, rewound.
    pub file: File,
    /// The block's size in bytes (GNU parallel's joblog `Send`).
    pub len: u64,
}

/// How the input is cut into blocks.
#[derive(Clone, Debug)]
pub struct BlockRule {
    /// Records end with these bytes.
    pub record_end: Vec<u8>,
    /// ... where these bytes follow.
    pub record_start: Vec<u8>,
    /// Pieces per record (`-L`), at least 1.
    pub lines_per_record: usize,
    /// Exactly this many records per block (`-N`), else cut by size.
    pub records_per_block: Option<usize>,
    /// Blocks hold whole records up to this size (`--block`).
    pub block_size: u64,
    /// `--rrs`: remove the record separators.
    pub removes_separators: bool,
    /// `-r`: a block of blanks ended by a record end runs no job.
    pub skips_blank: bool,
    /// `--header`: the header's pattern, anchored at the input's start.
    pub header: Option<regex::bytes::Regex>,
    /// `--pipepart`: a block ends at the first record end at or past
    /// `block_size` (GNU's parts), not before it.
    pub passes_size: bool,
}

impl BlockRule {
    /// `--pipepart`'s `--block -N` (`-10` when not given): the block size
    /// that cuts `file` into N parts per slot, as GNU
    /// (1 + size / slots / N).
    ///
    /// # Errors
    ///
    /// N is not a size.
    pub fn size_parts(
        &mut self,
        file: &std::path::Path,
        slots: usize,
        block: Option<String>,
    ) -> Result<(), CrewError> {
        let text = block.unwrap_or_else(|| "-10".into());
        if let Some(per_slot) = text.strip_prefix('-') {
            let per_slot = crate::units::parse_size("--block", per_slot)?.max(1);
            let size = std::fs::metadata(file).map_or(0, |m| m.len());
            self.block_size = 1 + size / slots.max(1) as u64 / per_slot;
        }
        Ok(())
    }

    /// The `--header` pattern of GNU's `--pipe`: `:` is one line, a
    /// number N is N lines, anything else a regex (`.` never matches a
    /// newline); `0` is no header.
    ///
    /// # Errors
    ///
    /// Text that is not a valid regex.
    pub fn header_pattern(text: &str) -> Result<Option<regex::bytes::Regex>, CrewError> {
        let pattern = match text {
            "" | "0" => return Ok(None),
            ":" => "(.*\n)".to_string(),
            n if n.bytes().all(|b| b.is_ascii_digit()) => {
                "(.*\n)".repeat(n.parse::<usize>().unwrap_or(1).min(10_000))
            }
            re => re.to_string(),
        };
        regex::bytes::RegexBuilder::new(&format!("^(?:{pattern})"))
            .unicode(false)
            .build()
            .map(Some)
            .map_err(|e| CrewError::usage(format!("--header: not a valid regex: {e}")))
    }
}

/// A reader with as much look-ahead as a record start needs.
struct Lookahead {
    source: Box<dyn Read + Send>,
    buffer: Vec<u8>,
    at: usize,
    is_eof: bool,
}

impl Lookahead {
    fn fill(&mut self, wanted: usize) -> io::Result<()> {
        while self.buffer.len() - self.at < wanted && !self.is_eof {
            if self.at > 0 {
                self.buffer.drain(..self.at);
                self.at = 0;
            }
            let old = self.buffer.len();
            self.buffer.resize(old + 64 * 1024, 0);
            let n = loop {
                match self.source.read(&mut self.buffer[old..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let n = n.inspect_err(|_| self.buffer.truncate(old))?;
            self.buffer.truncate(old + n);
            self.is_eof = n == 0;
        }
        Ok(())
    }

    fn available(&self) -> &[u8] {
        &self.buffer[self.at..]
    }

    /// Moves bytes up to and including the next `end` into `out`; returns
    /// whether `end` was found (false at end of input).
    fn take_through(&mut self, end: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
        if end.is_empty() {
            // An empty record end ends a record after every byte.
            self.fill(1)?;
            let Some(&byte) = self.available().first() else {
                return Ok(false);
            };
            out.push(byte);
            self.at += 1;
            return Ok(true);
        }
        loop {
            self.fill(end.len().max(1))?;
            let available = self.available();
            if available.is_empty() {
                return Ok(false);
            }
            // A separator that straddles what `out` already holds: check
            // the few boundary positions, then search `available` alone.
            let keep = (end.len() - 1).min(out.len());
            for k in (1..=keep).rev() {
                let tail = &out[out.len() - k..];
                if end.starts_with(tail) && available.starts_with(&end[k..]) {
                    let through = end.len() - k;
                    out.extend_from_slice(&available[..through]);
                    self.at += through;
                    return Ok(true);
                }
            }
            let found = if end.len() == 1 {
                available.iter().position(|&b| b == end[0])
            } else {
                available.windows(end.len()).position(|w| w == end)
            };
            if let Some(pos) = found {
                let through = pos + end.len();
                out.extend_from_slice(&available[..through]);
                self.at += through;
                return Ok(true);
            }
            let n = available.len();
            out.extend_from_slice(available);
            self.at += n;
        }
    }
}

/// Reads the input block by block.
pub struct Blocks {
    input: Lookahead,
    rule: BlockRule,
    files: Arc<TempFiles>,
    pending: Option<(Vec<u8>, bool)>,
    is_done: bool,
    /// The header, once read (`None` before the first block).
    header: Option<Vec<u8>>,
    /// Bytes of records in the blocks before this one.
    offset: u64,
    /// With `-N`: the bytes GNU would have read past this block's start
    /// (see [`Blocks::grow_as_gnu`]).
    gnu_read: u64,
}

impl Blocks {
    /// Cuts `source` by `rule` into files from `files`.
    pub fn new(source: Box<dyn Read + Send>, rule: BlockRule, files: Arc<TempFiles>) -> Blocks {
        Blocks {
            input: Lookahead {
                source,
                buffer: Vec::new(),
                at: 0,
                is_eof: false,
            },
            rule,
            files,
            pending: None,
            is_done: false,
            gnu_read: 0,
            header: None,
            offset: 0,
        }
    }

    /// Reads the `--header` off the input's start (empty without one, or
    /// when the pattern never matches, as GNU).
    fn read_header(&mut self) -> Result<Vec<u8>, CrewError> {
        let Some(pattern) = self.rule.header.clone() else {
            return Ok(Vec::new());
        };
        let mut wanted = 64 * 1024;
        loop {
            self.input.fill(wanted).map_err(CrewError::Stdin)?;
            let available = self.input.available();
            if let Some(found) = pattern.find(available) {
                let header = available[..found.end()].to_vec();
                self.input.at += found.end();
                return Ok(header);
            }
            if self.input.is_eof {
                return Ok(Vec::new());
            }
            wanted = available.len() + 64 * 1024;
        }
    }

    /// The next record and whether it is complete (`None` at the end).
    /// `is_first`: the record starts a block.
    fn record(&mut self, is_first: bool) -> Result<Option<(Vec<u8>, bool)>, CrewError> {
        if let Some(pending) = self.pending.take() {
            return Ok(Some(pending));
        }
        let mut record = Vec::new();
        for _ in 0..self.rule.lines_per_record {
            loop {
                let found = self
                    .input
                    .take_through(&self.rule.record_end, &mut record)
                    .map_err(CrewError::Stdin)?;
                if !found {
                    return Ok((!record.is_empty()).then_some((record, false)));
                }
                // GNU's (-N): a record end is looked for from a block's
                // second byte on, so a block never starts with its end
                // alone (-r drops blank lines first: a newline record end
                // never starts a block then).
                if is_first
                    && !(self.rule.skips_blank && self.rule.record_end == b"\n")
                    && self.rule.records_per_block.is_some()
                    && record.len() == self.rule.record_end.len()
                    && !self.input.available().is_empty()
                {
                    continue;
                }
                let start = &self.rule.record_start;
                self.input.fill(start.len()).map_err(CrewError::Stdin)?;
                let rest = self.input.available();
                if rest.is_empty() || rest.starts_with(start) {
                    break;
                }
            }
        }
        Ok(Some((record, true)))
    }

    fn strip(&self, record: &mut Vec<u8>, is_complete: bool) {
        if !self.rule.removes_separators {
            return;
        }
        if is_complete && record.ends_with(&self.rule.record_end) {
            record.truncate(record.len() - self.rule.record_end.len());
        }
        let start = &self.rule.record_start;
        if !start.is_empty() && record.starts_with(start) {
            record.drain(..start.len());
        }
    }

    fn fill(&mut self, file: &mut File) -> Result<u64, CrewError> {
        let spool_error = |e| CrewError::output("a --pipe block to the spool directory", e);
        let mut writer = BufWriter::with_capacity(64 * 1024, &mut *file);
        let (mut len, mut records) = (0u64, 0usize);
        let name = crate::error::program_name();
        if self.header.is_none() {
            self.header = Some(self.read_header()?);
        }
        let header = self.header.clone().unwrap_or_default();
        let mut raw = 0u64;
        while let Some((mut record, is_complete)) = self.record(records == 0)? {
            let size = record.len() as u64;
            raw += size;
            let splits_tail = self.rule.lines_per_record > 1 && !is_complete && records > 0;
            let bs = self.rule.block_size;
            let is_past = if self.rule.passes_size {
                // GNU's parts end at the first record end past the
                // block size.
                len > bs
            } else {
                len + size > bs
            };
            let is_full = self.rule.records_per_block.is_none() && records > 0 && is_past;
            if splits_tail || is_full {
                self.pending = Some((record, is_complete));
                break;
            }
            if records == 0 && self.rule.records_per_block.is_none() {
                while size > self.rule.block_size {
                    let grown = (self.rule.block_size as f64 * 1.3 + 1.0).ceil() as u64;
                    crate::error::warn(&format!(
                        "{name}: Warning: A record was longer than {}. Increasing to --blocksize {grown}.\n",
                        self.rule.block_size
                    ));
                    self.rule.block_size = grown;
                }
            }
            self.strip(&mut record, is_complete);
            if records == 0 {
                writer.write_all(&header).map_err(spool_error)?;
            }
            writer.write_all(&record).map_err(spool_error)?;
            len += record.len() as u64;
            records += 1;
            if self.rule.records_per_block.is_some_and(|n| records >= n) {
                break;
            }
        }
        if let Some(n) = self.rule.records_per_block.filter(|_| records > 0) {
            self.grow_as_gnu(raw, records == n)
                .map_err(CrewError::Stdin)?;
        }
        if records == 0 {
            self.is_done = true;
        }
        self.offset += len;
        writer.flush().map_err(spool_error)?;
        drop(writer);
        file.seek(SeekFrom::Start(0)).map_err(spool_error)?;
        Ok(if records == 0 {
            u64::MAX
        } else {
            len + header.len() as u64
        })
    }
}

impl Blocks {
    /// `-N`: GNU's warnings as it grows its block size. GNU reads in rounds
    /// up to the next multiple of `--block`; a round that completes no
    /// block of N records, short of the end of input, grows the size
    /// (×1.3 + 1) with a warning. The block just cut (`raw` bytes, whole
    /// or the input's last) is replayed against those rounds.
    fn grow_as_gnu(&mut self, raw: u64, is_whole: bool) -> io::Result<()> {
        const MOST: u64 = (1 << 31) - 1;
        let name = crate::error::program_name();
        while !is_whole || self.gnu_read < raw {
            let size = self.rule.block_size.max(1);
            let wanted = size - self.gnu_read % size;
            // What GNU reads past this block's end, if the input has it.
            let past = (self.gnu_read + wanted).saturating_sub(raw);
            self.input.fill(past as usize)?;
            let there = self.input.available().len() as u64;
            let is_end = there < past;
            self.gnu_read = if is_end {
                raw + there
            } else {
                self.gnu_read + wanted
            };
            if is_end || (is_whole && self.gnu_read >= raw) {
                break;
            }
            let grown = ((size as f64 * 1.3 + 1.0).ceil() as u64).min(MOST);
            crate::error::warn(&format!(
                "{name}: Warning: A record was longer than {size}. Increasing to --blocksize {grown}.\n"
            ));
            self.rule.block_size = grown;
        }
        self.gnu_read = self.gnu_read.saturating_sub(raw);
        Ok(())
    }
}

impl Iterator for Blocks {
    type Item = Result<Block, CrewError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let block = self.next_any()?;
            if let Ok(block) = &block {
                if self.rule.skips_blank && is_blank(&block.file, block.len, &self.rule.record_end)
                {
                    continue;
                }
            }
            return Some(block);
        }
    }
}

/// Whether a block is only blanks and ends with the record end (`-r`).
fn is_blank(file: &File, len: u64, record_end: &[u8]) -> bool {
    if len > 64 * 1024 {
        return false;
    }
    let mut bytes = Vec::new();
    let mut reader = file;
    let blank = reader.read_to_end(&mut bytes).is_ok()
        && bytes.ends_with(record_end)
        && bytes.iter().all(u8::is_ascii_whitespace);
    let _ = reader.seek(SeekFrom::Start(0));
    blank
}

impl Blocks {
    fn next_any(&mut self) -> Option<Result<Block, CrewError>> {
        if self.is_done {
            return None;
        }
        let mut file = match self.files.take() {
            Ok(file) => file,
            Err(e) => {
                return Some(Err(CrewError::output(
                    "a --pipe block to the spool directory",
                    e,
                )))
            }
        };
        match self.fill(&mut file) {
            Ok(u64::MAX) => {
                self.files.give_back(file);
                None
            }
            Ok(len) => Some(Ok(Block { file, len })),
            Err(error) => Some(Err(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(input: &str, rule: BlockRule) -> Vec<String> {
        let files = Arc::new(TempFiles::new(None));
        Blocks::new(
            Box::new(io::Cursor::new(input.as_bytes().to_vec())),
            rule,
            files,
        )
        .map(|b| {
            let mut text = String::new();
            b.unwrap().file.read_to_string(&mut text).unwrap();
            text
        })
        .collect()
    }

    fn lines(block_size: u64, lines_per_record: usize) -> BlockRule {
        BlockRule {
            record_end: b"\n".to_vec(),
            record_start: Vec::new(),
            lines_per_record,
            records_per_block: None,
            block_size,
            removes_separators: false,
            skips_blank: false,
            header: None,
            passes_size: false,
        }
    }

    #[test]
    fn blocks_hold_whole_records_up_to_the_size() {
        assert_eq!(blocks("1\n2\n3\n4\n", lines(4, 1)), ["1\n2\n", "3\n4\n"]);
        assert_eq!(
            blocks("9\n10\n11\n12\n", lines(8, 2)),
            ["9\n10\n", "11\n12\n"]
        );
    }

    #[test]
    fn an_incomplete_last_record_is_a_block_of_its_own() {
        assert_eq!(
            blocks("1\n2\n3\n4\n5\n", lines(1000, 2)),
            ["1\n2\n3\n4\n", "5\n"]
        );
        assert_eq!(blocks("a\nb", lines(1000, 1)), ["a\nb"]);
    }

    #[test]
    fn record_starts_and_ends_are_kept_or_removed() {
        let rule = BlockRule {
            record_end: b"]]".to_vec(),
            record_start: b"[[".to_vec(),
            records_per_block: Some(1),
            ..lines(1000, 1)
        };
        assert_eq!(
            blocks(" ]][[A]] ]][[B", rule.clone()),
            [" ]]", "[[A]] ]]", "[[B"]
        );
        let rrs = BlockRule {
            removes_separators: true,
            ..rule
        };
        assert_eq!(blocks("[[A]][[B]]", rrs), ["A", "B"]);
    }

    #[test]
    fn the_header_starts_every_block_and_does_not_count_toward_the_size() {
        let rule = BlockRule {
            records_per_block: Some(2),
            header: BlockRule::header_pattern("2").unwrap(),
            ..lines(1000, 1)
        };
        assert_eq!(
            blocks("h\ni\na\nb\nc\n", rule),
            ["h\ni\na\nb\n", "h\ni\nc\n"]
        );
        let by_size = BlockRule {
            header: BlockRule::header_pattern("H+\n").unwrap(),
            ..lines(2, 1)
        };
        assert_eq!(blocks("HH\na\nb\n", by_size), ["HH\na\n", "HH\nb\n"]);
        assert!(BlockRule::header_pattern("0").unwrap().is_none());
        assert!(BlockRule::header_pattern("(").is_err());
    }
}
