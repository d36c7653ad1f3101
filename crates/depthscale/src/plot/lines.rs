//! Line-plot figures: panels of series with optional bands, markers and log axes.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::Axis;
use super::chart::{self, Frame, LegendEntry};
use super::clip::{self, Rect};
use super::colors::line_color;
use super::figure::{self, DrawResult, Figure, Grid, panel_header};
use super::review;
use super::series::{self, Look};
use super::{LineStyle, Panel};

/// A figure of line-plot panels.
pub(super) struct Lines<'a> {
    /// Figure title.
    pub title: &'a str,
    /// The panels, row by row.
    pub panels: &'a [Panel],
    /// Their layout.
    pub grid: Grid,
}

impl Lines<'_> {
    /// Checks every series of every panel.
    pub fn validate(&self) -> Result<(), String> {
        for p in self.panels {
            for s in &p.series {
                series::validate(s).map_err(|m| format!("panel `{}`: {m}", p.title))?;
            }
        }
        Ok(())
    }
}

impl Figure for Lines<'_> {
    fn size(&self) -> (u32, u32) {
        self.grid.size()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        figure::draw_panels(
            &self.grid,
            root,
            self.title,
            self.panels,
            panel_notes,
            draw_panel,
        )
    }
}

/// Numbers of points that cannot be drawn: (non-finite, non-positive on a log axis).
fn skipped(p: &Panel) -> (usize, usize) {
    p.series.iter().fold((0, 0), |(a, b), s| {
        let (_, nf, np) = clip::runs(&s.x, &s.y, p.log_x, p.log_y);
        (a + nf, b + np)
    })
}

/// Band points whose lower edge is not drawable on a log axis although the upper edge is: they
/// are clamped to the bottom of the plot and said so in a note.
fn clamped_band_points(p: &Panel) -> usize {
    if !p.log_y {
        return 0;
    }
    p.series
        .iter()
        .filter_map(|s| s.band.as_ref().map(|b| (s, b)))
        .map(|(s, (lo, hi))| {
            s.x.iter()
                .zip(lo.iter().zip(hi))
                .filter(|(x, (l, h))| {
                    Axis::to_axis(p.log_x, **x).is_some()
                        && Axis::to_axis(true, **h).is_some()
                        && Axis::to_axis(true, **l).is_none()
                })
                .count()
        })
        .sum()
}

/// Pairs `(earlier, later)` of labelled series where the later one, drawn solid (with markers
/// if the earlier has them), lies on the earlier one everywhere (within 0.5% of the panel's axis
/// ranges) and so hides it.
fn coincident(p: &Panel) -> Vec<(usize, usize)> {
    let runs: Vec<Vec<(f64, f64)>> = p
        .series
        .iter()
        .map(|s| {
            clip::runs(&s.x, &s.y, p.log_x, p.log_y)
                .0
                .into_iter()
                .flatten()
                .collect()
        })
        .collect();
    let all = runs.iter().flatten();
    let xa = Axis::fit(all.clone().map(|q| q.0), p.log_x);
    let ya = Axis::fit(all.map(|q| q.1), p.log_y);
    let (tx, ty) = (0.005 * (xa.hi - xa.lo), 0.005 * (ya.hi - ya.lo));
    let on = |q: (f64, f64), run: &[(f64, f64)]| {
        run.windows(2).any(|w| {
            let (a, b) = (w[0], w[1]);
            let (lo, hi) = (a.0.min(b.0), a.0.max(b.0));
            if q.0 < lo - tx || q.0 > hi + tx {
                return false;
            }
            let y = if (b.0 - a.0).abs() < 1e-300 {
                a.1
            } else {
                a.1 + (b.1 - a.1) * ((q.0 - a.0) / (b.0 - a.0)).clamp(0.0, 1.0)
            };
            (y - q.1).abs() <= ty
        }) || run
            .iter()
            .any(|r| (r.0 - q.0).abs() <= tx && (r.1 - q.1).abs() <= ty)
    };
    let mut out = Vec::new();
    for j in 0..runs.len() {
        let later = &p.series[j];
        if later.label.is_empty() || later.style == LineStyle::Dashed || runs[j].is_empty() {
            continue;
        }
        if let Some(i) = (0..j).find(|&i| {
            let earlier = &p.series[i];
            !earlier.label.is_empty()
                && (later.markers || !earlier.markers)
                && !runs[i].is_empty()
                && runs[i].iter().all(|&q| on(q, &runs[j]))
        }) {
            out.push((i, j));
        }
    }
    out
}

/// The notes under a panel title: the caller's, then what was skipped, clamped or hidden.
fn panel_notes(p: &Panel) -> Vec<String> {
    let (non_finite, non_positive) = skipped(p);
    let mut notes = p.notes.clone();
    if non_finite > 0 {
        notes.push(format!("{non_finite} non-finite points skipped"));
    }
    if non_positive > 0 {
        notes.push(format!(
            "{non_positive} non-positive points skipped (log axis)"
        ));
    }
    let clamped = clamped_band_points(p);
    if clamped > 0 {
        notes.push(format!(
            "band reaches below 0 at {clamped} points: drawn to the axis"
        ));
    }
    for (i, j) in coincident(p) {
        notes.push(format!(
            "{} hidden under {} (equal)",
            p.series[i].label, p.series[j].label
        ));
    }
    notes
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    notes: &[String],
    lines: usize,
) -> DrawResult<DB> {
    let mut runs = Vec::new();
    for s in &p.series {
        runs.extend(clip::runs(&s.x, &s.y, p.log_x, p.log_y).0);
    }
    let points: Vec<(f64, f64)> = runs.iter().flatten().copied().collect();
    // clamped lower band edges must not stretch the axis: they sit at the lowest line point
    let floor = points.iter().map(|q| q.1).reduce(f64::min);
    let mut band_points = Vec::new();
    for s in &p.series {
        if let Some((lo, hi)) = &s.band {
            for poly in clip::band_polygons(&s.x, lo, hi, p.log_x, p.log_y, floor) {
                band_points.extend(poly);
            }
        }
    }
    let rest = panel_header(area, &p.title, notes, lines)?;
    let all = || points.iter().chain(&band_points);
    let mut frame = Frame {
        x: Axis::fit(all().map(|q| q.0), p.log_x),
        y: Axis::fit(all().map(|q| q.1), p.log_y),
        x_label: &p.x_label,
        y_label: &p.y_label,
        grid: true,
        right_margin: 30,
        x_ticks: p.x_ticks.clone(),
    };
    let entries: Vec<LegendEntry> = p
        .series
        .iter()
        .enumerate()
        .filter_map(|(i, s)| LegendEntry::of(s, line_color(i)))
        .collect();
    let with_legend = entries.len() > 1;
    // The legend goes where it covers no line or marker; if there is no such place, the vertical
    // axis grows upwards to make room above the data.
    let mut legend_at = None;
    if with_legend {
        let size = chart::legend_size(&rest, &entries)?;
        let l = chart::layout(&rest, &frame)?;
        let (at, n) = chart::place_legend(&l, size, &chart::covered_pixels(&l, &runs));
        legend_at = Some((at, size));
        if n > 0
            && let Some(y) = chart::with_headroom(&frame.y, size.1, l.plot_h)
        {
            frame.y = y;
            let l = chart::layout(&rest, &frame)?;
            let (at, _) = chart::place_legend(&l, size, &chart::covered_pixels(&l, &runs));
            legend_at = Some((at, size));
        }
    }
    let (mut chart, x, y) = chart::build(&rest, frame)?;
    let rect = Rect::of(&x, &y);
    for (i, s) in p.series.iter().enumerate() {
        series::draw_band(&mut chart, s, line_look(p, i), &rect)?;
    }
    let mut drawn = Vec::new();
    for (i, s) in p.series.iter().enumerate() {
        series::draw_line(&mut chart, s, line_look(p, i), &rect)?;
        let (rs, _, _) = clip::runs(&s.x, &s.y, p.log_x, p.log_y);
        for r in &rs {
            drawn.extend(clip::clip_polyline(r, &rect));
        }
    }
    chart::record_data(&chart, &drawn);
    review::with_panel(|r| r.band_points_not_drawn += dropped_band_points(p));
    if points.is_empty() {
        let note = if skipped(p).1 > 0 {
            "no positive finite values"
        } else {
            "no finite values"
        };
        chart::centre_note(&chart, note)?;
    }
    if let Some((at, size)) = legend_at {
        chart::draw_legend(&chart, at, size, &entries)?;
    }
    Ok(())
}

/// How the `i`-th series of `p` is drawn.
fn line_look(p: &Panel, i: usize) -> Look {
    Look {
        color: line_color(i),
        halo: false,
        log_x: p.log_x,
        log_y: p.log_y,
    }
}

/// Band points lost on a log axis: drawable abscissa, but neither edge drawable (clamped
/// lower edges are drawn and noted, see [`clamped_band_points`]).
fn dropped_band_points(p: &Panel) -> usize {
    p.series
        .iter()
        .filter_map(|s| s.band.as_ref().map(|b| (s, b)))
        .map(|(s, (lo, hi))| {
            s.x.iter()
                .zip(lo.iter().zip(hi))
                .filter(|(x, (l, h))| {
                    Axis::to_axis(p.log_x, **x).is_some()
                        && l.is_finite()
                        && h.is_finite()
                        && Axis::to_axis(p.log_y, **h).is_none()
                })
                .count()
        })
        .sum::<usize>()
        + clamped_band_points(p)
}
