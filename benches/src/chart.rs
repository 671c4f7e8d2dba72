//! The README's performance chart, drawn from a [`Run`] with plotters' SVG
//! backend.
//!
//! One group of horizontal bars per workload, one bar per peer: the peer's
//! median divided by workcrew's, on a log scale around 1. A bar to the right
//! of the line (green) is a workload where workcrew is faster than that peer,
//! one to the left (orange) is one where it is slower. Reference rows that
//! are not pools (`sequential`, `memcpy`) are grey, and workcrew's own
//! variants (`workcrew scope`, `workcrew execute+channel`) are left out: the
//! chart compares workcrew with others. Workloads measured while other
//! programs used more than a quarter of a core say so in their heading.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::results::{Run, Workload};

/// Ratios beyond these are drawn at the edge, their figure still printed.
const RATIO_FLOOR: f64 = 1.0 / 12.0;
const RATIO_CEILING: f64 = 12.0;

const WIDTH: u32 = 960;
/// Pixels per bar, per workload heading, and around the plot.
const BAR: u32 = 17;
const HEADING: u32 = 22;
const TOP: u32 = 78;
const BOTTOM: u32 = 58;

const FASTER: RGBColor = RGBColor(46, 139, 87);
const SLOWER: RGBColor = RGBColor(222, 120, 31);
const REFERENCE: RGBColor = RGBColor(150, 150, 150);
const GRID: RGBColor = RGBColor(225, 225, 225);
const INK: RGBColor = RGBColor(40, 40, 40);
const FONT: &str = "sans-serif";

/// One bar: a peer's figure against workcrew's.
struct Bar {
    label: String,
    ratio: f64,
    is_reference: bool,
}

/// Rows that stand for "no pool at all" rather than a peer.
fn is_reference(name: &str) -> bool {
    matches!(name, "sequential" | "memcpy")
}

fn bars(workload: &Workload) -> Vec<Bar> {
    workload
        .rows
        .iter()
        .skip(1)
        .filter(|row| !row.name.starts_with("workcrew"))
        .map(|row| Bar {
            label: row.name.clone(),
            ratio: workload.ratio(row),
            is_reference: is_reference(&row.name),
        })
        .collect()
}

/// `1.23x`, `0.15x`, `12.4x`.
pub fn ratio_text(ratio: f64) -> String {
    if ratio >= 9.95 {
        format!("{ratio:.1}×")
    } else {
        format!("{ratio:.2}×")
    }
}

/// The chart as an SVG document.
pub fn svg(run: &Run) -> Result<String, String> {
    let groups: Vec<(&Workload, Vec<Bar>)> = run
        .workloads
        .iter()
        .map(|workload| (workload, bars(workload)))
        .filter(|(_, bars)| !bars.is_empty())
        .collect();
    if groups.is_empty() {
        return Err("no workload has a peer to compare with".into());
    }
    let rows: u32 = groups.iter().map(|(_, bars)| bars.len() as u32).sum();
    let height = TOP + BOTTOM + HEADING * groups.len() as u32 + BAR * rows;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        draw(&root, run, &groups).map_err(|error| format!("drawing the chart: {error}"))?;
        root.present()
            .map_err(|error| format!("drawing the chart: {error}"))?;
    }
    Ok(svg)
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    run: &Run,
    groups: &[(&Workload, Vec<Bar>)],
) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let title = (FONT, 19).into_font().color(&INK);
    root.draw(&Text::new(
        "workcrew against its peers: peer's median time ÷ workcrew's",
        (16, 12),
        title,
    ))?;
    let subtitle = (FONT, 13).into_font().color(&INK);
    root.draw(&Text::new(
        format!(
            "right of 1 (green): workcrew is faster; left (orange): slower; grey: no pool at all. \
             {} cores ({}), {} UTC",
            run.cores, run.cpu, run.date
        ),
        (16, 40),
        subtitle,
    ))?;

    // y runs from 0 (top) down in rows of one unit per bar; a heading takes
    // HEADING / BAR units.
    let heading_units = f64::from(HEADING) / f64::from(BAR);
    let total_units: f64 = groups
        .iter()
        .map(|(_, bars)| heading_units + bars.len() as f64)
        .sum();
    let plot = root.margin(TOP - 18, 8, 16, 16);
    let mut chart = ChartBuilder::on(&plot)
        .x_label_area_size(BOTTOM - 12)
        .build_cartesian_2d((RATIO_FLOOR..RATIO_CEILING).log_scale(), total_units..0.0)?;
    let ticks = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0];
    let tick_formatter = |x: &f64| {
        if ticks.iter().any(|t| (x / t - 1.0).abs() < 1e-6) {
            format!("{x}×")
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_labels(30)
        .x_label_formatter(&tick_formatter)
        .x_desc("peer's median ÷ workcrew's median (log scale)")
        .label_style((FONT, 12).into_font().color(&INK))
        .axis_desc_style((FONT, 13).into_font().color(&INK))
        .draw()?;
    chart.draw_series(
        ticks
            .iter()
            .filter(|&&t| t != 1.0)
            .map(|&t| PathElement::new(vec![(t, 0.0), (t, total_units)], GRID.stroke_width(1))),
    )?;

    let label = (FONT, 12).into_font().color(&INK);
    let heading_style = (FONT, 13).into_font().color(&BLACK);
    let mut y = 0.0;
    for (workload, bars) in groups {
        let mut heading = format!("{}  {}", workload.id, workload.summary);
        if let (true, Some(others)) = (workload.was_disturbed(), workload.others_cpu) {
            heading.push_str(&format!(
                "  (disturbed: other programs used {others:.1} of the {} cores)",
                run.cores
            ));
        }
        chart.draw_series(std::iter::once(Text::new(
            heading,
            (RATIO_FLOOR * 1.03, y + heading_units * 0.55),
            heading_style
                .clone()
                .into_text_style(&plot)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        )))?;
        y += heading_units;
        for bar in bars {
            let drawn = bar.ratio.clamp(RATIO_FLOOR, RATIO_CEILING);
            let color = if bar.is_reference {
                REFERENCE
            } else if bar.ratio >= 1.0 {
                FASTER
            } else {
                SLOWER
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(1.0, y + 0.12), (drawn, y + 0.88)],
                color.filled(),
            )))?;
            // A constant factor on a log axis is a constant number of pixels.
            let (anchor, at) = if bar.ratio >= 1.0 {
                (HPos::Left, drawn * 1.04)
            } else {
                (HPos::Right, drawn / 1.04)
            };
            chart.draw_series(std::iter::once(Text::new(
                format!("{}  {}", bar.label, ratio_text(bar.ratio)),
                (at, y + 0.5),
                label
                    .clone()
                    .into_text_style(&plot)
                    .pos(Pos::new(anchor, VPos::Center)),
            )))?;
            y += 1.0;
        }
    }
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(1.0, 0.0), (1.0, total_units)],
        INK.stroke_width(1),
    )))?;
    Ok(())
}
