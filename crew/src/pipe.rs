//! `--pipe`: splits stdin into blocks of whole records, each written to a
//! spool file that becomes one job's stdin.
//!
//! Invariants: blocks are cut only at record boundaries (a record is one
//! line, or `-L N` lines; NUL-terminated with `-0`); every byte of stdin is
//! in exactly one block, in order; memory stays at one read buffer whatever
//! the block size, because blocks live in files, not in RAM.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::sync::Arc;

use crate::error::CrewError;
use crate::spool::TempFiles;

/// One block of stdin, stored in a spool file positioned at its start.
pub struct Block {
    /// The file holding the block, rewound.
    pub file: File,
    /// The block's size in bytes (GNU parallel's joblog `Send`).
    pub len: u64,
}

/// How stdin is cut into blocks.
#[derive(Clone, Copy, Debug)]
pub struct BlockRule {
    /// Records end with this byte.
    pub separator: u8,
    /// Lines per record (`-L`), at least 1.
    pub lines_per_record: usize,
    /// Exactly this many records per block (`-N`), else cut by size.
    pub records_per_block: Option<usize>,
    /// Cut after the record that reaches this size (`--block-size`).
    pub block_size: u64,
}

/// Reads stdin block by block.
pub struct Blocks {
    reader: BufReader<io::Stdin>,
    rule: BlockRule,
    files: Arc<TempFiles>,
    line: Vec<u8>,
    is_done: bool,
}

impl Blocks {
    /// Cuts stdin by `rule` into files from `files`.
    pub fn new(rule: BlockRule, files: Arc<TempFiles>) -> Blocks {
        Blocks {
            reader: BufReader::with_capacity(64 * 1024, io::stdin()),
            rule,
            files,
            line: Vec::new(),
            is_done: false,
        }
    }

    fn fill(&mut self, file: &mut File) -> Result<u64, CrewError> {
        let spool_error = |e| CrewError::output("a --pipe block to the spool directory", e);
        let mut writer = BufWriter::with_capacity(64 * 1024, &mut *file);
        let (mut len, mut records) = (0u64, 0usize);
        'records: loop {
            for _ in 0..self.rule.lines_per_record {
                self.line.clear();
                let n = self
                    .reader
                    .read_until(self.rule.separator, &mut self.line)
                    .map_err(CrewError::Stdin)?;
                if n == 0 {
                    self.is_done = true;
                    break 'records;
                }
                writer.write_all(&self.line).map_err(spool_error)?;
                len += n as u64;
            }
            records += 1;
            let is_full = match self.rule.records_per_block {
                Some(n) => records >= n,
                None => len >= self.rule.block_size,
            };
            if is_full {
                break;
            }
        }
        writer.flush().map_err(spool_error)?;
        drop(writer);
        file.seek(SeekFrom::Start(0)).map_err(spool_error)?;
        Ok(len)
    }
}

impl Iterator for Blocks {
    type Item = Result<Block, CrewError>;

    fn next(&mut self) -> Option<Self::Item> {
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
            Ok(0) => {
                self.files.give_back(file);
                None
            }
            Ok(len) => Some(Ok(Block { file, len })),
            Err(error) => Some(Err(error)),
        }
    }
}
