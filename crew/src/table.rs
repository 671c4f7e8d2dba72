//! `--results FILE.csv`, `FILE.tsv`, `FILE.json` (and `-.csv`, `-.tsv`,
//! `-.json` for stdout): one row per finished job, in GNU parallel's
//! format: `Seq Host Starttime JobRuntime Send Receive Exitval Signal
//! Command V1..Vn Stdout Stderr`, CSV/TSV with a header row, JSON one
//! object per line.
//!
//! Invariant: rows are written whole, one at a time (under the lock), in
//! the order the jobs' outputs are released (input order with `-k`); the
//! CSV header is written once, before the first row. Nothing else of the
//! jobs is printed (as in GNU).

use std::io::Write;
use std::os::fd::AsFd;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::CrewError;

/// The row format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated.
    Csv,
    /// TAB-separated.
    Tsv,
    /// One JSON object per line.
    Json,
}

impl Format {
    /// The format a `--results` value names by its suffix, if any.
    pub fn of(results: &str) -> Option<Format> {
        let lower = results.to_ascii_lowercase();
        [
            (".csv", Format::Csv),
            (".tsv", Format::Tsv),
            (".json", Format::Json),
        ]
        .into_iter()
        .find(|(suffix, _)| lower.ends_with(suffix))
        .map(|(_, format)| format)
    }
}

/// One finished job.
pub struct Row<'a> {
    /// Sequence number.
    pub seq: u64,
    /// When it started.
    pub start: SystemTime,
    /// How long it ran.
    pub runtime: Duration,
    /// Bytes sent to its stdin.
    pub sent: u64,
    /// Bytes of its stdout.
    pub received: u64,
    /// Exit value.
    pub exitval: i32,
    /// Signal.
    pub signal: i32,
    /// The command line as shown.
    pub command: &'a [u8],
    /// The job's input values.
    pub values: &'a [Vec<u8>],
    /// What it wrote to stdout.
    pub stdout: &'a [u8],
    /// What it wrote to stderr.
    pub stderr: &'a [u8],
}

/// The open table.
pub struct ResultsTable {
    format: Format,
    out: Mutex<(std::fs::File, bool)>,
}

impl ResultsTable {
    /// Opens `path` (`-.csv` etc.: stdout) for rows of `format`.
    ///
    /// # Errors
    ///
    /// The file cannot be created.
    pub fn open(path: &str, format: Format) -> Result<ResultsTable, CrewError> {
        let error = |e| CrewError::output(format!("--results {path}"), e);
        let file = if path.starts_with("-.") {
            std::fs::File::from(
                std::io::stdout()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(error)?,
            )
        } else {
            std::fs::File::create(path).map_err(error)?
        };
        Ok(ResultsTable {
            format,
            out: Mutex::new((file, false)),
        })
    }

    /// Writes one row (and the CSV header before the first).
    ///
    /// # Errors
    ///
    /// The write failed.
    pub fn record(&self, row: &Row<'_>) -> std::io::Result<()> {
        let mut text = Vec::new();
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let (file, has_header) = &mut *out;
        match self.format {
            Format::Json => json_row(&mut text, row),
            Format::Csv | Format::Tsv => {
                let sep = if self.format == Format::Csv {
                    b','
                } else {
                    b'\t'
                };
                if !*has_header {
                    let mut names: Vec<Vec<u8>> = [
                        "Seq",
                        "Host",
                        "Starttime",
                        "JobRuntime",
                        "Send",
                        "Receive",
                        "Exitval",
                        "Signal",
                        "Command",
                    ]
                    .iter()
                    .map(|n| n.as_bytes().to_vec())
                    .collect();
                    names.extend((1..=row.values.len()).map(|i| format!("V{i}").into_bytes()));
                    names.push(b"Stdout".to_vec());
                    names.push(b"Stderr".to_vec());
                    csv_line(&mut text, sep, names.iter().map(Vec::as_slice));
                }
                let numbers = numbers(row);
                let mut columns: Vec<&[u8]> = numbers.iter().map(Vec::as_slice).collect();
                columns.insert(1, b":");
                columns.push(row.command);
                columns.extend(row.values.iter().map(Vec::as_slice));
                columns.push(row.stdout);
                columns.push(row.stderr);
                csv_line(&mut text, sep, columns.into_iter());
            }
        }
        file.write_all(&text)?;
        *has_header = true;
        Ok(())
    }
}

/// Seq, Starttime, JobRuntime, Send, Receive, Exitval, Signal as text.
fn numbers(row: &Row<'_>) -> Vec<Vec<u8>> {
    let start = row
        .start
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    [
        row.seq.to_string(),
        format!("{start:.3}"),
        format!("{:.3}", row.runtime.as_secs_f64()),
        row.sent.to_string(),
        row.received.to_string(),
        row.exitval.to_string(),
        row.signal.to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

/// GNU's CSV quoting: a column with `"`, white space, the separator or NUL
/// is put in quotes, its `"` doubled.
fn csv_line<'a>(out: &mut Vec<u8>, sep: u8, columns: impl Iterator<Item = &'a [u8]>) {
    for (i, column) in columns.enumerate() {
        if i > 0 {
            out.push(sep);
        }
        let quoted = column
            .iter()
            .any(|&b| b == b'"' || b == sep || b == 0 || b.is_ascii_whitespace() || b == 0x0b);
        if quoted {
            out.push(b'"');
        }
        for &byte in column {
            if byte == b'"' {
                out.push(b'"');
            }
            out.push(byte);
        }
        if quoted {
            out.push(b'"');
        }
    }
    out.push(b'\n');
}

/// GNU's JSON quoting: `\` and `"` escaped, bytes below 32 as `\u00XX`,
/// every other byte as it is.
fn json_text(out: &mut Vec<u8>, text: &[u8]) {
    for &byte in text {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            0..=31 => out.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
            _ => out.push(byte),
        }
    }
}

fn json_row(out: &mut Vec<u8>, row: &Row<'_>) {
    let n = numbers(row);
    let n: Vec<String> = n
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    out.extend_from_slice(
        format!(
            "{{ \"Seq\": {}, \"Host\": \":\", \"Starttime\": {}, \"JobRuntime\": {}, \"Send\": {}, \"Receive\": {}, \"Exitval\": {}, \"Signal\": {}, \"Command\": \"",
            n[0], n[1], n[2], n[3], n[4], n[5], n[6]
        )
        .as_bytes(),
    );
    json_text(out, row.command);
    out.extend_from_slice(b"\", \"V\": [ ");
    for (i, value) in row.values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        json_text(out, value);
        out.push(b'"');
    }
    out.extend_from_slice(b" ], \"Stdout\": \"");
    json_text(out, row.stdout);
    out.extend_from_slice(b"\", \"Stderr\": \"");
    json_text(out, row.stderr);
    out.extend_from_slice(b"\" }\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(values: &'a [Vec<u8>], stdout: &'a [u8]) -> Row<'a> {
        Row {
            seq: 2,
            start: UNIX_EPOCH + Duration::from_millis(1500),
            runtime: Duration::from_millis(20),
            sent: 0,
            received: stdout.len() as u64,
            exitval: 0,
            signal: 0,
            command: b"echo x y",
            values,
            stdout,
            stderr: b"",
        }
    }

    #[test]
    fn csv_quotes_columns_with_blanks_quotes_or_the_separator() {
        let mut out = Vec::new();
        csv_line(
            &mut out,
            b',',
            [&b"a"[..], b"b c", b"d\"e", b"f,g", b""].into_iter(),
        );
        assert_eq!(out, b"a,\"b c\",\"d\"\"e\",\"f,g\",\n");
    }

    #[test]
    fn json_rows_escape_quotes_and_control_bytes() {
        let values = [b"x\"".to_vec(), b"y".to_vec()];
        let mut out = Vec::new();
        json_row(&mut out, &row(&values, b"x y\n"));
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{ \"Seq\": 2, \"Host\": \":\", \"Starttime\": 1.500, \"JobRuntime\": 0.020, \"Send\": 0, \"Receive\": 4, \"Exitval\": 0, \"Signal\": 0, \"Command\": \"echo x y\", \"V\": [ \"x\\\"\",\"y\" ], \"Stdout\": \"x y\\u000a\", \"Stderr\": \"\" }\n"
        );
    }

    #[test]
    fn the_suffix_names_the_format() {
        assert_eq!(Format::of("out.CSV"), Some(Format::Csv));
        assert_eq!(Format::of("-.json"), Some(Format::Json));
        assert_eq!(Format::of("dir"), None);
    }
}
