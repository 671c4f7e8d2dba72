//! The README's performance table, printed from a [`Run`] so that its
//! figures and the chart's come from the same run.
//!
//! One row per workload; workcrew's median first, then each peer's median
//! with, in brackets, that median divided by workcrew's (above 1: workcrew
//! is faster). The lowest median of the row is bold. Rows that do not fit a
//! column of their own (chili, `std::thread::scope`, sequential, memcpy,
//! workcrew's other variants) go to the last column by name.

use std::fmt::Write as _;

use crate::results::{Row, Run, Workload};

/// The peers with a column of their own, by the start of their row name.
const COLUMNS: [(&str, &str); 4] = [
    ("rayon", "rayon"),
    ("threadpool", "threadpool"),
    ("tokio", "tokio `spawn_blocking`"),
    ("naive", "naive channel pool"),
];

/// Three significant digits, or whole numbers once they are large.
pub fn figure(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// The table, as GitHub-flavoured markdown.
pub fn table(run: &Run) -> String {
    let mut out = String::from("| workload | workcrew |");
    for (_, title) in COLUMNS {
        let _ = write!(out, " {title} |");
    }
    out.push_str(" other |\n|---|---|");
    for _ in COLUMNS {
        out.push_str("---|");
    }
    out.push_str("---|\n");
    for workload in &run.workloads {
        out.push_str(&line(workload));
    }
    out
}

fn line(workload: &Workload) -> String {
    let lowest = workload
        .rows
        .iter()
        .map(|row| row.median)
        .fold(f64::INFINITY, f64::min);
    let cell = |row: &Row, with_ratio: bool| {
        let mut text = figure(row.median);
        let shows_percentile = workload
            .extra
            .as_deref()
            .is_some_and(|extra| extra.starts_with("p99"));
        if let (true, Some(extra)) = (shows_percentile, row.extra) {
            let _ = write!(text, " / {}", figure(extra));
        }
        if row.median == lowest && workload.rows.len() > 1 {
            text = format!("**{text}**");
        }
        if with_ratio {
            let _ = write!(text, " ({:.2})", workload.ratio(row));
        }
        text
    };

    let reference = workload.reference();
    let mut first = cell(reference, false);
    let mut other = Vec::new();
    let mut columns = vec![String::new(); COLUMNS.len()];
    for row in workload.rows.iter().skip(1) {
        if let Some(variant) = row.name.strip_prefix("workcrew ") {
            let _ = write!(first, "; {variant} {}", cell(row, false));
        } else if let Some(index) = COLUMNS
            .iter()
            .position(|(prefix, _)| row.name.starts_with(prefix))
        {
            columns[index] = cell(row, true);
        } else {
            other.push(format!("{} {}", row.name, cell(row, true)));
        }
    }
    let mut name = format!("{} {}", workload.id, workload.summary);
    if let (true, Some(others)) = (workload.was_disturbed(), workload.others_cpu) {
        let _ = write!(name, " (disturbed: others used {others:.1} cores)");
    }
    let mut out = format!("| {name} | {first} |");
    columns.push(other.join("; "));
    for column in columns {
        if column.is_empty() {
            out.push_str(" |");
        } else {
            let _ = write!(out, " {column} |");
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, median: f64) -> Row {
        Row {
            name: name.into(),
            median,
            min: median,
            extra: None,
        }
    }

    #[test]
    fn each_peer_lands_in_its_column_with_its_ratio() {
        let run = Run {
            cores: 2,
            cpu: "cpu".into(),
            date: "today".into(),
            load: "0 0 0".into(),
            workloads: vec![Workload {
                id: "W3".into(),
                summary: "fib (ms)".into(),
                unit: "ms".into(),
                extra: None,
                rounds: 5,
                load_before: Some(3.0),
                load_after: Some(0.1),
                others_cpu: Some(0.5),
                rows: vec![
                    row("workcrew fork_join", 2.0),
                    row("rayon::join", 3.0),
                    row("chili", 1.0),
                    row("sequential", 4.0),
                ],
            }],
        };
        let table = table(&run);
        let last = table.lines().last().unwrap();
        assert_eq!(
            last,
            "| W3 fib (ms) (disturbed: others used 0.5 cores) | 2.00 | 3.00 (1.50) | | | | \
             chili **1.00** (0.50); sequential 4.00 (2.00) |"
        );
    }
}
