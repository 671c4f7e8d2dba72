//! Reading one source's records: lines (or `-d`/`-0` records) of a file
//! or stdin, with GNU's `-E`, `-L` continuation, NUL and CR-NL rules.
//!
//! Invariants: a record is returned without its delimiter and nothing else
//! is changed, except a NUL byte without `-0` (it becomes `\0`, with GNU's
//! warning, once); reading stops for good at `-E`'s record or at the end.
//! GNU's warnings are printed once per run, whichever reader sees them.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::error::CrewError;
use crate::input::ReadOptions;
use crate::template::Value;

/// The first record of `path` (`-`: stdin, whose buffer keeps the rest
/// for the readers that follow).
///
/// # Errors
///
/// The file cannot be read.
pub fn first_line(path: &Path, delimiter: &[u8]) -> Result<Vec<u8>, CrewError> {
    let options = ReadOptions {
        delimiter: delimiter.to_vec(),
        ..ReadOptions::default()
    };
    if path == Path::new("-") {
        let last = *delimiter.last().unwrap_or(&b'\n');
        let mut line = Vec::new();
        let mut stdin = io::stdin().lock();
        while !line.ends_with(delimiter) {
            if stdin
                .read_until(last, &mut line)
                .map_err(CrewError::Stdin)?
                == 0
            {
                return Ok(line);
            }
        }
        line.truncate(line.len() - delimiter.len());
        return Ok(line);
    }
    let mut reader = RecordReader::open(path, &options)?;
    Ok(reader.next_value().transpose()?.unwrap_or_default())
}

/// GNU's words for an input file that cannot be opened.
pub fn cannot_open(path: &Path, source: &io::Error) -> CrewError {
    let reason = source.to_string();
    let reason = reason.split(" (os error").next().unwrap_or(&reason);
    CrewError::Gnu(format!(
        "Cannot open input file `{}': {reason}.",
        path.display()
    ))
}

/// GNU's CR-NL check: after the first three lines read (from any
/// source), a warning if all three ended in `\r`.
static LINE_ENDINGS: std::sync::Mutex<(u8, u8)> = std::sync::Mutex::new((0, 0));
/// Whether the check above is over (read without the lock).
static ARE_LINE_ENDINGS_KNOWN: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

fn note_line_ending(line: &[u8]) {
    use std::sync::atomic::Ordering::Relaxed;
    // Relaxed: a late reader at worst takes the lock once more.
    if ARE_LINE_ENDINGS_KNOWN.load(Relaxed) {
        return;
    }
    let mut counts = LINE_ENDINGS.lock().unwrap_or_else(|e| e.into_inner());
    if line.last() == Some(&b'\r') {
        counts.0 += 1;
    } else {
        counts.1 += 1;
    }
    if counts.0 == 3 || counts.1 == 3 {
        ARE_LINE_ENDINGS_KNOWN.store(true, Relaxed);
        if counts.0 == 3 && counts.1 == 0 {
            let name = crate::error::program_name();
            crate::error::warn(&format!(
                "{name}: Warning: The first three values end in CR-NL. Consider using -d \"\\r\\n\"\n"
            ));
        }
    }
}

/// Whether GNU's NUL warning was printed.
static IS_NUL_WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records of one file (or stdin), read one at a time.
pub struct RecordReader {
    reader: Box<dyn BufRead + Send>,
    delimiter: Vec<u8>,
    eof: Option<Vec<u8>>,
    is_done: bool,
    joins_continued_lines: bool,
    path: Option<PathBuf>,
}

impl RecordReader {
    pub fn open(path: &Path, options: &ReadOptions) -> Result<RecordReader, CrewError> {
        let (reader, path): (Box<dyn BufRead + Send>, _) = if path == Path::new("-") {
            (
                Box::new(BufReader::with_capacity(64 * 1024, io::stdin())),
                None,
            )
        } else {
            let file = File::open(path).map_err(|source| cannot_open(path, &source))?;
            (
                Box::new(BufReader::with_capacity(64 * 1024, file)),
                Some(path.to_path_buf()),
            )
        };
        let mut reader = RecordReader {
            reader,
            delimiter: options.delimiter.clone(),
            eof: options.eof.clone(),
            is_done: false,
            joins_continued_lines: options.joins_continued_lines,
            path,
        };
        if options.skip_header && reader.path.is_some() {
            reader.next_value().transpose()?;
        }
        Ok(reader)
    }

    pub fn next_value(&mut self) -> Option<Result<Value, CrewError>> {
        let mut value = match self.next_line()? {
            Ok(value) => value,
            Err(error) => return Some(Err(error)),
        };
        // GNU's -L: trailing blanks continue a line on the next one.
        while self.joins_continued_lines && matches!(value.last(), Some(b' ' | b'\t')) {
            match self.next_line() {
                Some(Ok(more)) => value.extend_from_slice(&more),
                Some(Err(error)) => return Some(Err(error)),
                None => break,
            }
        }
        Some(Ok(value))
    }

    fn next_line(&mut self) -> Option<Result<Value, CrewError>> {
        if self.is_done {
            return None;
        }
        let last = *self.delimiter.last().expect("a delimiter is never empty");
        let mut value = Vec::new();
        loop {
            match self.reader.read_until(last, &mut value) {
                Ok(0) => break,
                Ok(_) if value.ends_with(&self.delimiter) => {
                    value.truncate(value.len() - self.delimiter.len());
                    return self.accept(value);
                }
                Ok(_) => continue,
                Err(source) => {
                    return Some(Err(match &self.path {
                        Some(path) => CrewError::InputFile {
                            path: path.clone(),
                            source,
                        },
                        None => CrewError::Stdin(source),
                    }))
                }
            }
        }
        if value.is_empty() {
            self.is_done = true;
            return None;
        }
        self.accept(value)
    }

    /// A record read whole: the `-E` check and the NUL rule.
    fn accept(&mut self, mut value: Value) -> Option<Result<Value, CrewError>> {
        if self.eof.as_deref() == Some(&value[..]) {
            self.is_done = true;
            return None;
        }
        if self.delimiter == b"\n" {
            note_line_ending(&value);
        }
        if self.delimiter != b"\0" && value.contains(&0) {
            value = value
                .iter()
                .flat_map(|&b| if b == 0 { vec![b'\\', b'0'] } else { vec![b] })
                .collect();
            // Relaxed: only which reader prints the warning is decided here.
            if !IS_NUL_WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                let name = crate::error::program_name();
                crate::error::warn(&format!(
                    "{name}: Warning: A NUL character in the input was replaced with \\0.\n\
                     {name}: Warning: NUL cannot be passed through in the argument list.\n\
                     {name}: Warning: Did you mean to use the --null option?\n"
                ));
            }
        }
        Some(Ok(value))
    }

    pub fn read_all(mut self) -> Result<Vec<Value>, CrewError> {
        let mut values = Vec::new();
        while let Some(value) = self.next_value() {
            values.push(value?);
        }
        Ok(values)
    }
}
