//! The report's charts (docs/bench/scenarios.svg, load.svg, growth.svg), drawn with plotters'
//! SVG backend: round ticks chosen by plotters, a log scale where values span decades (latency,
//! growth's operation counts), and every series and reference line named in a legend strip of
//! its own below the plots, so that no legend entry lands on the data and no label on another.

use crate::load::LoadResult;
use crate::report::{thousands, Cost};
use crate::Report;
use anyhow::{anyhow, Result};
use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const SQLITE: RGBColor = RGBColor(0x2c, 0x7f, 0xb8);
const POSTGRES: RGBColor = RGBColor(0x27, 0xae, 0x60);
const P50: RGBColor = RGBColor(0x2c, 0x7f, 0xb8);
const P99: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const P999: RGBColor = RGBColor(0x8e, 0x44, 0xad);
const LOOKUP: RGBColor = RGBColor(0x27, 0xae, 0x60);
/// Throughput lines, apart from the latency percentiles' colours.
const SERVED: RGBColor = RGBColor(0x34, 0x49, 0x5e);
const CEILING: RGBColor = RGBColor(0x22, 0x22, 0x22);
const CAPACITY: RGBColor = RGBColor(0x88, 0x88, 0x88);
const MARK_90: RGBColor = RGBColor(0xe6, 0x7e, 0x22);
const TARGET: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const GRID_BOLD: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
const GRID_LIGHT: RGBColor = RGBColor(0xf2, 0xf2, 0xf2);
const FONT: &str = "sans-serif";
const WIDTH: u32 = 1000;
/// The efficiency targets of issue 23, drawn as reference lines on the efficiency bars.
/// (%, the store it is set for, legend, colour).
const EFFICIENCY_TARGETS: [(f64, &str, &str, RGBColor); 3] = [
    (55.0, "PostgreSQL", "target 55 %: PostgreSQL disburse (server + database CPU)", TARGET),
    (80.0, "SQLite", "target 80 %: SQLite disburse", MARK_90),
    (92.0, "SQLite", "target 92 %: SQLite operation.query", CEILING),
];
/// The latency target of issue 23: p99 at 90 % of the measured capacity.
const P99_TARGET_MS: f64 = 10.0;
const P99_TARGET_LOAD: f64 = 90.0;

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
enum Mark {
    Line(RGBColor),
    Dashed(RGBColor),
    Bar(RGBColor),
    /// A short vertical stroke: the per-row ceiling marks of the scenario bars.
    Tick(RGBColor),
}

struct Key {
    mark: Mark,
    label: String,
}

fn key(mark: Mark, label: impl Into<String>) -> Key {
    Key { mark, label: label.into() }
}

/// (file name, SVG) for every chart the data allows.
pub fn plots(report: &Report) -> Result<Vec<(String, String)>> {
    let mut plots = Vec::new();
    if !report.measured.is_empty() {
        plots.push(("scenarios.svg".to_owned(), scenarios(report)?));
    }
    if !report.sweep.is_empty() {
        plots.push(("load.svg".to_owned(), load(report)?));
    }
    if !report.growth.is_empty() {
        plots.push(("growth.svg".to_owned(), growth(report)?));
    }
    Ok(plots)
}

// --- shared pieces -----------------------------------------------------------------------------

fn draw_error<E: std::fmt::Debug>(err: E) -> anyhow::Error {
    anyhow!("drawing a chart: {err:?}")
}

const LEGEND_ROW: i32 = 20;
const LEGEND_MARK: i32 = 26;

/// Each key's (x, row), laid out left to right and wrapped at `width`.
fn legend_layout(keys: &[Key], width: u32) -> Result<Vec<(i32, i32)>> {
    let font = (FONT, 13).into_font();
    let (mut x, mut row) = (12, 0);
    let mut placed = Vec::with_capacity(keys.len());
    for key in keys {
        let (text_w, _) = font.box_size(&key.label).map_err(draw_error)?;
        let w = LEGEND_MARK + 6 + text_w as i32 + 22;
        if x > 12 && x + w > width as i32 - 12 {
            x = 12;
            row += 1;
        }
        placed.push((x, row));
        x += w;
    }
    Ok(placed)
}

fn legend_height(keys: &[Key], width: u32) -> Result<u32> {
    let rows = legend_layout(keys, width)?.last().map_or(0, |&(_, row)| row + 1);
    Ok((rows * LEGEND_ROW + 14) as u32)
}

fn draw_legend(area: &Area, keys: &[Key]) -> Result<()> {
    let (width, _) = area.dim_in_pixel();
    let text = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (key, (x, row)) in keys.iter().zip(legend_layout(keys, width)?) {
        let y = 10 + row * LEGEND_ROW + LEGEND_ROW / 2;
        let (x0, x1) = (x, x + LEGEND_MARK);
        match key.mark {
            Mark::Line(color) => {
                area.draw(&PathElement::new(vec![(x0, y), (x1, y)], color.stroke_width(2)))
            }
            Mark::Dashed(color) => area.draw(&DashedPathElement::new(
                vec![(x0, y), (x1, y)],
                5,
                3,
                color.stroke_width(2),
            )),
            Mark::Bar(color) => {
                area.draw(&Rectangle::new([(x0, y - 6), (x1, y + 6)], color.filled()))
            }
            Mark::Tick(color) => {
                let middle = (x0 + x1) / 2;
                area.draw(&PathElement::new(
                    vec![(middle, y - 8), (middle, y + 8)],
                    color.stroke_width(3),
                ))
            }
        }
        .map_err(draw_error)?;
        area.draw(&Text::new(key.label.clone(), (x1 + 6, y), text.clone())).map_err(draw_error)?;
    }
    Ok(())
}

/// A round label for a linear axis: thousands separated, no spurious decimals.
fn linear_label(value: f64) -> String {
    if value.abs() >= 1000.0 {
        thousands(value.round() as u64)
    } else if (value - value.round()).abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// A label for a log axis, whose ticks are powers of ten (and their multiples): 0.01, 0.1, 1,
/// 10, 100, 1,000 and, for counts, 10k, 100k, 1M.
fn log_label(value: f64, counts: bool) -> String {
    if counts && value >= 10_000.0 {
        return if value >= 1e6 {
            format!("{}M", linear_label(value / 1e6))
        } else {
            format!("{}k", linear_label(value / 1e3))
        };
    }
    if value >= 1.0 {
        return linear_label(value);
    }
    // Ticks are computed powers of ten: 0.099999… must still read 0.1.
    let decimals = (-value.log10() - 1e-6).ceil().max(0.0) as usize;
    format!("{value:.decimals$}")
}

/// Whole decades around `values`: a log axis whose bold ticks are 1, 10, 100 …
fn decades(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (low, high) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::MAX, f64::MIN), |(low, high), v| (low.min(v), high.max(v)));
    if low > high {
        return 0.1..10.0;
    }
    let low = 10f64.powi(low.log10().floor() as i32);
    let high = 10f64.powi(high.log10().ceil() as i32);
    // At least two decades: over one, plotters labels every multiple (2, 3 … 9) and the top
    // decade twice, and a reference line at its top would sit on the frame.
    low..high.max(low * 100.0)
}

/// The range of a log axis over `range`, a hair wider so that the computed end decades (0.1 may come out as
/// 0.09999…) are still inside and get their ticks.
fn log_axis(range: &Range<f64>) -> Range<f64> {
    range.start * 0.999..range.end * 1.001
}

/// A log range with some room either side of the outermost points, so they are not cut in
/// half by the frame.
fn padded(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (low, high) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::MAX, f64::MIN), |(low, high), v| (low.min(v), high.max(v)));
    if low > high {
        return 1.0..10.0;
    }
    low / 1.5..high * 1.5
}

/// A linear upper bound with headroom above the largest value.
fn top(values: impl Iterator<Item = f64>) -> f64 {
    let high = values.filter(|v| v.is_finite()).fold(0.0f64, f64::max);
    if high <= 0.0 {
        1.0
    } else {
        high * 1.12
    }
}

/// The house style of every chart's axes: label sizes and faint grid lines.
fn house<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .bold_line_style(GRID_BOLD)
        .light_line_style(GRID_LIGHT)
}

/// A vertical or horizontal reference line across the plot, dashed.
fn dashed<X: Clone + 'static, Y: Clone + 'static>(
    from: (X, Y),
    to: (X, Y),
    color: RGBColor,
) -> DashedPathElement<std::vec::IntoIter<(X, Y)>, i32> {
    DashedPathElement::new(vec![from, to], 6, 4, color.stroke_width(2))
}

/// The SVG text of a drawing, with the legend strip below `plots_h` pixels of plots.
fn figure(plots_h: u32, keys: &[Key], draw: impl FnOnce(&Area) -> Result<()>) -> Result<String> {
    let legend_h = legend_height(keys, WIDTH)?;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (WIDTH, plots_h + legend_h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let (plots, legend) = root.split_vertically(plots_h);
        draw(&plots)?;
        draw_legend(&legend, keys)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

// --- scenarios.svg -----------------------------------------------------------------------------

fn store_color(store: &str) -> RGBColor {
    if store == "SQLite" {
        SQLITE
    } else {
        POSTGRES
    }
}

/// Throughput (with the signing ceiling around each window) and efficiency, one bar per
/// scenario and store.
fn scenarios(report: &Report) -> Result<String> {
    let rows = &report.measured;
    let n = rows.len();
    let row_h = 26;
    let (caption_h, x_label_h, margin) = (34, 44, 12);
    let plots_h = (n as u32) * row_h + caption_h + x_label_h + 2 * margin;
    let labels: Vec<String> =
        rows.iter().map(|m| format!("{}: {}", m.store, m.scenario.name())).collect();
    let label_w = labels
        .iter()
        .map(|label| (FONT, 12).into_font().box_size(label).map(|(w, _)| w))
        .collect::<Result<Vec<_>, _>>()
        .map_err(draw_error)?
        .into_iter()
        .max()
        .unwrap_or(0)
        + 16;
    let mut keys = Vec::new();
    for store in ["SQLite", "PostgreSQL"] {
        if rows.iter().any(|m| m.store == store) {
            keys.push(key(Mark::Bar(store_color(store)), store));
        }
    }
    keys.push(key(Mark::Tick(CEILING), "signing ceiling around that window"));
    keys.push(key(
        Mark::Dashed(CAPACITY),
        format!(
            "signing ceiling at the start: {} signatures/s",
            thousands(report.ceiling.signs_per_s.round() as u64)
        ),
    ));
    // A target is drawn where its store was measured.
    let shown_targets: Vec<_> = EFFICIENCY_TARGETS
        .iter()
        .filter(|(_, store, _, _)| rows.iter().any(|m| m.store == *store))
        .collect();
    for (_, _, label, color) in &shown_targets {
        keys.push(key(Mark::Dashed(*color), *label));
    }
    let y_of = |index: usize| (n - 1 - index) as f64;
    figure(plots_h, &keys, |area| {
        // The bars keep about 300 px beside labels as long as "PostgreSQL: disburse, each
        // claim polled 3 times, signature memo on"; the efficiency bars get the rest.
        let (left, right) = area.split_horizontally((label_w as i32 + 320).clamp(600, 700));
        // Throughput.
        let x_max = top(rows
            .iter()
            .flat_map(|m| [m.result.throughput, m.result.ceiling_signs_per_s])
            .chain([report.ceiling.signs_per_s]));
        let mut chart = ChartBuilder::on(&left)
            .caption("Signed requests a second, by scenario", (FONT, 16))
            .margin(margin)
            .x_label_area_size(x_label_h)
            .y_label_area_size(label_w)
            .build_cartesian_2d(0.0..x_max, 0.0..n as f64)
            .map_err(draw_error)?;
        house(&mut chart.configure_mesh())
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(6)
            .x_desc("answers a second (code 10000)")
            .x_label_formatter(&|v| linear_label(*v))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(index, m)| {
                let y = y_of(index);
                Rectangle::new(
                    [(0.0, y + 0.18), (m.result.throughput, y + 0.82)],
                    store_color(m.store).filled(),
                )
            }))
            .map_err(draw_error)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(index, m)| {
                let y = y_of(index);
                let x = m.result.ceiling_signs_per_s;
                PathElement::new(vec![(x, y + 0.05), (x, y + 0.95)], CEILING.stroke_width(3))
            }))
            .map_err(draw_error)?;
        let start = report.ceiling.signs_per_s;
        chart
            .draw_series(std::iter::once(dashed((start, 0.0), (start, n as f64), CAPACITY)))
            .map_err(draw_error)?;
        let label_style =
            TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        for (index, label) in labels.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(0.0, y_of(index) + 0.5));
            left.draw(&Text::new(label.clone(), (x - 8, y), label_style.clone()))
                .map_err(draw_error)?;
        }
        // Efficiency.
        let efficiency = |m: &crate::Measured| {
            let cost = Cost::of(&m.result);
            100.0 * cost.efficiency_with_db.unwrap_or(cost.efficiency)
        };
        let x_max = top(rows.iter().map(efficiency).chain([100.0]));
        let mut chart = ChartBuilder::on(&right)
            .caption("Efficiency: RSA floor ÷ CPU per request", (FONT, 16))
            .margin(margin)
            .x_label_area_size(x_label_h)
            .y_label_area_size(4)
            .build_cartesian_2d(0.0..x_max, 0.0..n as f64)
            .map_err(draw_error)?;
        house(&mut chart.configure_mesh())
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(6)
            .x_desc("% (server + database CPU on PostgreSQL)")
            .x_label_formatter(&|v| linear_label(*v))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(index, m)| {
                let y = y_of(index);
                Rectangle::new(
                    [(0.0, y + 0.18), (efficiency(m), y + 0.82)],
                    store_color(m.store).filled(),
                )
            }))
            .map_err(draw_error)?;
        for (value, _, _, color) in &shown_targets {
            chart
                .draw_series(std::iter::once(dashed((*value, 0.0), (*value, n as f64), *color)))
                .map_err(draw_error)?;
        }
        Ok(())
    })
}

// --- load.svg ----------------------------------------------------------------------------------

/// Served throughput and latency against the offered rate of the open-loop sweep.
fn load(report: &Report) -> Result<String> {
    let capacity = report.capacity.as_ref().map_or(0.0, |c| c.throughput);
    let ceiling = report.ceiling.signs_per_s;
    let sweep = &report.sweep;
    let x_max = sweep.iter().map(|p| p.offered_fraction * 100.0).fold(100.0, f64::max) + 10.0;
    let keys = vec![
        key(Mark::Line(SERVED), "served (req/s)"),
        key(Mark::Line(CAPACITY), "offered (req/s)"),
        key(
            Mark::Dashed(CAPACITY),
            format!(
                "measured capacity (closed loop): {} req/s",
                thousands(capacity.round() as u64)
            ),
        ),
        key(
            Mark::Dashed(CEILING),
            format!(
                "signing ceiling at the start: {} signatures/s",
                thousands(ceiling.round() as u64)
            ),
        ),
        key(
            Mark::Dashed(MARK_90),
            format!("{P99_TARGET_LOAD:.0} % of capacity (the p99 target's load)"),
        ),
        key(Mark::Line(P50), "p50"),
        key(Mark::Line(P99), "p99"),
        key(Mark::Line(P999), "p99.9"),
        key(Mark::Dashed(TARGET), format!("p99 target: {P99_TARGET_MS:.0} ms")),
    ];
    figure(380, &keys, |area| {
        let (left, right) = area.split_horizontally(WIDTH / 2);
        let y_max = top(sweep
            .iter()
            .flat_map(|p| [p.offered, p.result.throughput])
            .chain([capacity, ceiling]));
        let mut chart = ChartBuilder::on(&left)
            .caption("Throughput against offered load", (FONT, 16))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(draw_error)?;
        house(&mut chart.configure_mesh())
            .x_desc("offered load, % of the measured capacity")
            .y_desc("requests a second")
            .x_label_formatter(&|v| linear_label(*v))
            .y_label_formatter(&|v| linear_label(*v))
            .draw()
            .map_err(draw_error)?;
        for (value, color) in [(capacity, CAPACITY), (ceiling, CEILING)] {
            chart
                .draw_series(std::iter::once(dashed((0.0, value), (x_max, value), color)))
                .map_err(draw_error)?;
        }
        chart
            .draw_series(std::iter::once(dashed(
                (P99_TARGET_LOAD, 0.0),
                (P99_TARGET_LOAD, y_max),
                MARK_90,
            )))
            .map_err(draw_error)?;
        chart
            .draw_series(LineSeries::new(
                sweep.iter().map(|p| (p.offered_fraction * 100.0, p.offered)),
                CAPACITY.stroke_width(1),
            ))
            .map_err(draw_error)?;
        chart
            .draw_series(
                LineSeries::new(
                    sweep.iter().map(|p| (p.offered_fraction * 100.0, p.result.throughput)),
                    SERVED.stroke_width(2),
                )
                .point_size(3),
            )
            .map_err(draw_error)?;

        let latencies =
            sweep.iter().flat_map(|p| [p.result.p50_ms, p.result.p99_ms, p.result.p999_ms]);
        let y_range = decades(latencies.chain([P99_TARGET_MS]));
        let mut chart = ChartBuilder::on(&right)
            .caption("Latency against offered load (log scale)", (FONT, 16))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, log_axis(&y_range).log_scale())
            .map_err(draw_error)?;
        house(&mut chart.configure_mesh())
            .x_desc("offered load, % of the measured capacity")
            .y_desc("latency, ms")
            .x_label_formatter(&|v| linear_label(*v))
            .y_label_formatter(&|v| log_label(*v, false))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(std::iter::once(dashed(
                (0.0, P99_TARGET_MS),
                (x_max, P99_TARGET_MS),
                TARGET,
            )))
            .map_err(draw_error)?;
        chart
            .draw_series(std::iter::once(dashed(
                (P99_TARGET_LOAD, y_range.start),
                (P99_TARGET_LOAD, y_range.end),
                MARK_90,
            )))
            .map_err(draw_error)?;
        let positive = |ms: f64| ms.max(y_range.start);
        type Pick = fn(&LoadResult) -> f64;
        let picks: [(RGBColor, Pick); 3] =
            [(P50, |r| r.p50_ms), (P99, |r| r.p99_ms), (P999, |r| r.p999_ms)];
        for (color, pick) in picks {
            chart
                .draw_series(
                    LineSeries::new(
                        sweep
                            .iter()
                            .map(|p| (p.offered_fraction * 100.0, positive(pick(&p.result)))),
                        color.stroke_width(2),
                    )
                    .point_size(3),
                )
                .map_err(draw_error)?;
        }
        Ok(())
    })
}

// --- growth.svg --------------------------------------------------------------------------------

/// Query latency and disburse throughput against the operations already in the database.
fn growth(report: &Report) -> Result<String> {
    let growth = &report.growth;
    let keys = vec![
        key(Mark::Line(P50), "HTTP query p50 (ms)"),
        key(Mark::Line(P99), "HTTP query p99 (ms)"),
        key(Mark::Line(LOOKUP), "store lookup alone p50 (ms)"),
        key(Mark::Line(SERVED), "spread disburse (req/s)"),
        key(Mark::Dashed(CEILING), "signing ceiling around that window"),
    ];
    figure(360, &keys, |area| {
        let (left, right) = area.split_horizontally(WIDTH / 2);
        let x_range = padded(growth.iter().map(|g| g.operations as f64));
        let values = growth
            .iter()
            .flat_map(|g| [g.query.p50_ms, g.query.p99_ms, g.store_query_p50_us / 1000.0]);
        let y_range = decades(values);
        let mut chart = ChartBuilder::on(&left)
            .caption("Query latency against existing operations", (FONT, 16))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range.clone().log_scale(), log_axis(&y_range).log_scale())
            .map_err(draw_error)?;
        house(&mut chart.configure_mesh())
            .x_desc("existing operations (log scale)")
            .y_desc("latency, ms (log scale)")
            .x_label_formatter(&|v| log_label(*v, true))
            .y_label_formatter(&|v| log_label(*v, false))
            .draw()
            .map_err(draw_error)?;
        let positive = |ms: f64| ms.max(y_range.start);
        type Pick = fn(&crate::GrowthPoint) -> f64;
        let picks: [(RGBColor, Pick); 3] = [
            (P50, |g| g.query.p50_ms),
            (P99, |g| g.query.p99_ms),
            (LOOKUP, |g| g.store_query_p50_us / 1000.0),
        ];
        for (color, pick) in picks {
            chart
                .draw_series(
                    LineSeries::new(
                        growth.iter().map(|g| (g.operations as f64, positive(pick(g)))),
                        color.stroke_width(2),
                    )
                    .point_size(3),
                )
                .map_err(draw_error)?;
        }

        let y_max = top(growth
            .iter()
            .flat_map(|g| [g.disburse.throughput, g.disburse.ceiling_signs_per_s]));
        let mut chart = ChartBuilder::on(&right)
            .caption("Disburse throughput against existing operations", (FONT, 16))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range.clone().log_scale(), 0.0..y_max)
            .map_err(draw_error)?;
        house(&mut chart.configure_mesh())
            .x_desc("existing operations (log scale)")
            .y_desc("requests a second")
            .x_label_formatter(&|v| log_label(*v, true))
            .y_label_formatter(&|v| linear_label(*v))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(DashedLineSeries::new(
                growth.iter().map(|g| (g.operations as f64, g.disburse.ceiling_signs_per_s)),
                6,
                4,
                CEILING.stroke_width(2),
            ))
            .map_err(draw_error)?;
        chart
            .draw_series(
                LineSeries::new(
                    growth.iter().map(|g| (g.operations as f64, g.disburse.throughput)),
                    SERVED.stroke_width(2),
                )
                .point_size(3),
            )
            .map_err(draw_error)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    /// Every tag closed in order (a tiny XML check: the SVG has no CDATA or comments).
    fn well_formed(svg: &str) -> Result<(), String> {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').ok_or("unclosed <")? + start;
            let tag = &rest[start + 1..end];
            if tag.contains('<') {
                return Err(format!("< inside a tag: {tag}"));
            }
            if let Some(name) = tag.strip_prefix('/') {
                match open.pop() {
                    Some(opened) if opened == name.trim() => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
            } else if !tag.starts_with('?') && !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().unwrap_or(""));
            }
            rest = &rest[end + 1..];
        }
        if open.is_empty() {
            Ok(())
        } else {
            Err(format!("never closed: {open:?}"))
        }
    }

    /// (x, y, text-anchor, content) of every <text>.
    fn texts(svg: &str) -> Vec<(f64, f64, String, String)> {
        let attribute = |tag: &str, name: &str| {
            let key = format!(" {name}=\"");
            tag.find(&key).map(|at| {
                let value = &tag[at + key.len()..];
                value[..value.find('"').unwrap_or(0)].to_owned()
            })
        };
        svg.split("<text")
            .skip(1)
            .map(|piece| {
                let (tag, rest) = piece.split_once('>').unwrap();
                let content = rest.split_once("</text>").unwrap().0.trim();
                let content = [
                    ("&apos;", "'"),
                    ("&quot;", "\""),
                    ("&lt;", "<"),
                    ("&gt;", ">"),
                    ("&amp;", "&"),
                ]
                .iter()
                .fold(content.to_owned(), |text, (entity, plain)| text.replace(entity, plain));
                let number = |name| attribute(tag, name).unwrap().parse::<f64>().unwrap();
                (
                    number("x"),
                    number("y"),
                    attribute(tag, "text-anchor").unwrap_or_default(),
                    content,
                )
            })
            .collect()
    }

    #[test]
    fn every_chart_is_well_formed_svg_with_its_legend() {
        let plots = plots(&fixture::report(&[])).unwrap();
        let names: Vec<&str> = plots.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["scenarios.svg", "load.svg", "growth.svg"]);
        for (name, svg) in &plots {
            assert!(svg.starts_with("<svg"), "{name} does not start with <svg");
            assert!(svg.trim_end().ends_with("</svg>"), "{name} does not end with </svg>");
            if let Err(problem) = well_formed(svg) {
                panic!("{name} is not well-formed: {problem}");
            }
        }
        let text = |name: &str| {
            let svg = &plots.iter().find(|(n, _)| n == name).unwrap().1;
            texts(svg).into_iter().map(|(_, _, _, content)| content).collect::<Vec<_>>()
        };
        let scenarios = text("scenarios.svg");
        for wanted in [
            "SQLite",
            "PostgreSQL",
            "SQLite: operation.query by Alipay ids",
            "PostgreSQL: disburse, spread over 1,000 packets",
            "signing ceiling around that window",
            "signing ceiling at the start: 6,000 signatures/s",
            "target 92 %: SQLite operation.query",
        ] {
            assert!(
                scenarios.iter().any(|t| t == wanted),
                "scenarios.svg lacks {wanted:?}: {scenarios:?}"
            );
        }
        let load = text("load.svg");
        for wanted in [
            "served (req/s)",
            "measured capacity (closed loop): 4,400 req/s",
            "signing ceiling at the start: 6,000 signatures/s",
            "90 % of capacity (the p99 target's load)",
            "p99",
            "p99.9",
            "p99 target: 10 ms",
        ] {
            assert!(load.iter().any(|t| t == wanted), "load.svg lacks {wanted:?}: {load:?}");
        }
        let growth = text("growth.svg");
        for wanted in ["10k", "100k", "1M", "HTTP query p50 (ms)", "store lookup alone p50 (ms)"] {
            assert!(growth.iter().any(|t| t == wanted), "growth.svg lacks {wanted:?}: {growth:?}");
        }
    }

    #[test]
    fn latency_axis_is_logarithmic() {
        let plots = plots(&fixture::report(&[])).unwrap();
        let svg = &plots.iter().find(|(name, _)| name == "load.svg").unwrap().1;
        // The right-hand chart's y labels: right-aligned, in the right half.
        let labels: Vec<(f64, String)> = texts(svg)
            .into_iter()
            .filter(|(x, _, anchor, _)| anchor == "end" && *x > f64::from(WIDTH) / 2.0)
            .map(|(_, y, _, content)| (y, content))
            .collect();
        let y_of = |label: &str| {
            labels
                .iter()
                .find(|(_, content)| content == label)
                .map(|(y, _)| *y)
                .unwrap_or_else(|| panic!("no latency tick {label:?}: {labels:?}"))
        };
        let (one, ten, hundred) = (y_of("1"), y_of("10"), y_of("100"));
        assert!(one > ten && ten > hundred, "ticks upside down: {labels:?}");
        // Equal steps per decade: a logarithmic axis (a linear one would put 1 and 10 nearly
        // together and 100 ten times further).
        assert!(
            ((one - ten) - (ten - hundred)).abs() <= 2.0,
            "decades unevenly spaced: {labels:?}"
        );
        assert!(!labels.iter().any(|(_, content)| content == "50"), "linear ticks: {labels:?}");
    }

    #[test]
    fn log_ticks_read_as_round_numbers() {
        assert_eq!(log_label(0.1, false), "0.1");
        assert_eq!(log_label(0.01, false), "0.01");
        assert_eq!(log_label(1.0, false), "1");
        assert_eq!(log_label(1000.0, false), "1,000");
        assert_eq!(log_label(100_000.0, true), "100k");
        assert_eq!(log_label(1e6, true), "1M");
        assert_eq!(decades([0.42, 380.0].into_iter()), 0.1..1000.0);
        assert_eq!(decades([3.0, 10.0].into_iter()), 1.0..100.0);
    }
}
