//! The machine-readable results of one `compare` run (`--save FILE`), which
//! `chart` turns into the README's SVG and table, so that both always come
//! from the same run.
//!
//! # Format
//!
//! Plain text, one record per line, fields separated by tabs, the first
//! field naming the record:
//!
//! ```text
//! workcrew-compare  1
//! machine           <cores>  <cpu model>  <date, UTC>  <load average at start>
//! workload          <id>  <summary>  <unit>  <extra header or ->  <rounds>  <load before>  <load after>  <others' CPU>
//! row               <contender>  <median>  <min>  <extra or ->
//! ```
//!
//! Every `row` belongs to the `workload` above it; a workload's first row is
//! its reference (workcrew). Values are "lower is better". Lines starting
//! with `#` are comments. No field may contain a tab or a newline: names and
//! summaries are written by the benchmark itself, which never uses them.

use std::fmt;
use std::io::{self, Write};

const MAGIC: &str = "workcrew-compare";
const VERSION: &str = "1";

/// Cores' worth of CPU that other programs may use, on average, before a
/// workload's figures count as disturbed.
pub const DISTURBED: f64 = 0.25;

/// One run of the comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub cores: usize,
    pub cpu: String,
    /// `YYYY-MM-DD HH:MM` in UTC, when the run started.
    pub date: String,
    /// The 1-, 5- and 15-minute load averages at the start.
    pub load: String,
    pub workloads: Vec<Workload>,
}

/// One workload's table.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// `W1`, `W2`, ...
    pub id: String,
    /// A short description, with the unit in brackets.
    pub summary: String,
    /// Unit of `median` and `min`.
    pub unit: String,
    /// Header of the second figure (`p99 us`, `GB/s`, ...), if any.
    pub extra: Option<String>,
    pub rounds: usize,
    /// 1-minute load average just before and just after the workload ran:
    /// above the core count, other programs competed for the CPU.
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    /// CPU used by everything but the benchmark while the workload ran
    /// (other programs, and time the hypervisor stole), in cores: the
    /// load average counts the benchmark's own threads, this does not.
    pub others_cpu: Option<f64>,
    /// The reference (workcrew) first.
    pub rows: Vec<Row>,
}

/// One contender's figures over all rounds of a workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub name: String,
    pub median: f64,
    pub min: f64,
    pub extra: Option<f64>,
}

impl Workload {
    /// The reference row: workcrew's.
    pub fn reference(&self) -> &Row {
        &self.rows[0]
    }

    /// `row`'s median over workcrew's: above 1, workcrew is faster.
    pub fn ratio(&self, row: &Row) -> f64 {
        row.median / self.reference().median
    }

    /// Whether other programs used more than a quarter of a core, on
    /// average, while this ran.
    pub fn was_disturbed(&self) -> bool {
        self.others_cpu.is_some_and(|cores| cores > DISTURBED)
    }
}

impl Run {
    /// Writes the run in the format above.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "{MAGIC}\t{VERSION}")?;
        writeln!(
            out,
            "machine\t{}\t{}\t{}\t{}",
            self.cores,
            clean(&self.cpu),
            clean(&self.date),
            clean(&self.load)
        )?;
        for workload in &self.workloads {
            writeln!(
                out,
                "workload\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                clean(&workload.id),
                clean(&workload.summary),
                clean(&workload.unit),
                workload.extra.as_deref().map_or("-".into(), clean),
                workload.rounds,
                optional(workload.load_before),
                optional(workload.load_after),
                optional(workload.others_cpu),
            )?;
            for row in &workload.rows {
                writeln!(
                    out,
                    "row\t{}\t{:.4}\t{:.4}\t{}",
                    clean(&row.name),
                    row.median,
                    row.min,
                    optional(row.extra)
                )?;
            }
        }
        out.flush()
    }

    /// Reads what [`Run::write`] wrote.
    pub fn parse(text: &str) -> Result<Run, ParseError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(index, line)| (index + 1, line))
            .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'));
        let (number, first) = lines
            .next()
            .ok_or(ParseError::new(0, "the file is empty"))?;
        if first != format!("{MAGIC}\t{VERSION}") {
            return Err(ParseError::new(
                number,
                "not a workcrew-compare results file (version 1); write one with \
                 `compare --save FILE`",
            ));
        }
        let mut run: Option<Run> = None;
        for (number, line) in lines {
            let fields: Vec<&str> = line.split('\t').collect();
            let error = |what: &str| ParseError::new(number, what);
            match fields.as_slice() {
                ["machine", cores, cpu, date, load] => {
                    if run.is_some() {
                        return Err(error("a second `machine` record"));
                    }
                    run = Some(Run {
                        cores: cores.parse().map_err(|_| error("cores is not a number"))?,
                        cpu: cpu.to_string(),
                        date: date.to_string(),
                        load: load.to_string(),
                        workloads: Vec::new(),
                    });
                }
                ["workload", id, summary, unit, extra, rounds, before, after, others] => {
                    let run = run.as_mut().ok_or(error("`workload` before `machine`"))?;
                    run.workloads.push(Workload {
                        id: id.to_string(),
                        summary: summary.to_string(),
                        unit: unit.to_string(),
                        extra: (*extra != "-").then(|| extra.to_string()),
                        rounds: rounds
                            .parse()
                            .map_err(|_| error("rounds is not a number"))?,
                        load_before: parse_optional(before).map_err(|e| error(&e))?,
                        load_after: parse_optional(after).map_err(|e| error(&e))?,
                        others_cpu: parse_optional(others).map_err(|e| error(&e))?,
                        rows: Vec::new(),
                    });
                }
                ["row", name, median, min, extra] => {
                    let workload = run
                        .as_mut()
                        .and_then(|run| run.workloads.last_mut())
                        .ok_or(error("`row` before any `workload`"))?;
                    workload.rows.push(Row {
                        name: name.to_string(),
                        median: parse_number(median).map_err(|e| error(&e))?,
                        min: parse_number(min).map_err(|e| error(&e))?,
                        extra: parse_optional(extra).map_err(|e| error(&e))?,
                    });
                }
                _ => return Err(error("not a `machine`, `workload` or `row` record")),
            }
        }
        let run = run.ok_or(ParseError::new(0, "no `machine` record"))?;
        if let Some(empty) = run.workloads.iter().find(|w| w.rows.is_empty()) {
            return Err(ParseError::new(
                0,
                &format!("workload {} has no rows", empty.id),
            ));
        }
        Ok(run)
    }
}

/// A results file that could not be read: where and why.
#[derive(Debug)]
pub struct ParseError {
    /// 1-based; 0 for the file as a whole.
    pub line: usize,
    pub reason: String,
}

impl ParseError {
    fn new(line: usize, reason: &str) -> ParseError {
        ParseError {
            line,
            reason: reason.to_string(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

impl std::error::Error for ParseError {}

/// A field with tabs and newlines turned into spaces.
fn clean(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// Four decimals: finer than any benchmark's noise, and readable.
fn optional(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
}

fn parse_number(text: &str) -> Result<f64, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

fn parse_optional(text: &str) -> Result<Option<f64>, String> {
    if text == "-" {
        Ok(None)
    } else {
        parse_number(text).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Run {
        Run {
            cores: 2,
            cpu: "AMD EPYC\tVM".into(),
            date: "2026-12-02 08:30".into(),
            load: "0.10 0.20 0.30".into(),
            workloads: vec![Workload {
                id: "W6".into(),
                summary: "wake-up latency (us)".into(),
                unit: "p50 us".into(),
                extra: Some("p99 us".into()),
                rounds: 5,
                load_before: Some(0.5),
                load_after: None,
                others_cpu: Some(0.125),
                rows: vec![
                    Row {
                        name: "workcrew".into(),
                        median: 20.25,
                        min: 19.0,
                        extra: Some(39.0),
                    },
                    Row {
                        name: "rayon spawn".into(),
                        median: 40.5,
                        min: 37.0,
                        extra: None,
                    },
                ],
            }],
        }
    }

    #[test]
    fn a_written_run_reads_back_the_same() {
        let mut text = Vec::new();
        sample().write(&mut text).unwrap();
        let read = Run::parse(&String::from_utf8(text).unwrap()).unwrap();
        let mut expected = sample();
        expected.cpu = "AMD EPYC VM".into();
        assert_eq!(read, expected);
        assert_eq!(read.workloads[0].ratio(&read.workloads[0].rows[1]), 2.0);
    }

    #[test]
    fn a_file_from_something_else_is_refused_with_its_line() {
        let error = Run::parse("hello\n").unwrap_err();
        assert_eq!(error.line, 1);
        let error = Run::parse("workcrew-compare\t1\nrow\tx\t1\t1\t-\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.reason.contains("before any"), "{error}");
    }
}
