//! Heatmap figures: filled cells with a colour map, a colour bar and overlaid lines.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Heatmap;
use super::axis::Axis;
use super::chart::{self, AxisCoord, Frame, LegendEntry};
use super::clip::{self, Rect};
use super::colors::{NAN_GREY, diverging_color, overlay_color, sequential_color};
use super::figure::{self, DrawResult, Figure, Grid, panel_header};
use super::font;
use super::series::{self, Look};

/// Width of the colour bar itself, in pixels.
const BAR_W: u32 = 22;
/// Gap between the map and the colour bar.
const BAR_GAP: u32 = 16;
/// Colour slices drawn in the bar.
const BAR_SLICES: usize = 128;
/// Length of the colour bar's tick marks, pixels; their labels start at twice this from the bar.
pub(super) const BAR_TICK: u32 = 5;

/// A figure of heatmap panels.
pub(super) struct Heatmaps<'a> {
    /// Figure title.
    pub title: &'a str,
    /// The panels, row by row.
    pub panels: &'a [Heatmap],
    /// Their layout.
    pub grid: Grid,
}

impl Heatmaps<'_> {
    /// Checks sizes, centres and overlays of every panel.
    pub fn validate(&self) -> Result<(), String> {
        for h in self.panels {
            let fail = |m: String| Err(format!("heatmap `{}`: {m}", h.title));
            if h.values.len() != h.x.len() * h.y.len() {
                return fail(format!(
                    "{} values for a {} x {} grid (values[iy * x.len() + ix])",
                    h.values.len(),
                    h.y.len(),
                    h.x.len()
                ));
            }
            for (name, c) in [("x", &h.x), ("y", &h.y)] {
                if let Err(m) = check_centres(c) {
                    return fail(format!("{name} centres {m}"));
                }
            }
            for s in &h.overlays {
                series::validate(s).map_err(|m| format!("heatmap `{}`: overlay {m}", h.title))?;
            }
        }
        Ok(())
    }
}

impl Figure for Heatmaps<'_> {
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

/// Centres must be finite and strictly monotone (either direction).
fn check_centres(c: &[f64]) -> Result<(), String> {
    if c.iter().any(|v| !v.is_finite()) {
        return Err("must be finite".into());
    }
    let up = c.windows(2).all(|w| w[1] > w[0]);
    let down = c.windows(2).all(|w| w[1] < w[0]);
    if up || down {
        Ok(())
    } else {
        Err("must be strictly monotone".into())
    }
}

/// Cell edges: midpoints between centres, extrapolated by half a spacing at both ends
/// (a single centre gets a cell of width 1).
pub(super) fn edges(c: &[f64]) -> Vec<f64> {
    match c {
        [] => Vec::new(),
        [a] => vec![a - 0.5, a + 0.5],
        _ => {
            let n = c.len();
            let mut e = Vec::with_capacity(n + 1);
            e.push(c[0] - 0.5 * (c[1] - c[0]));
            e.extend(c.windows(2).map(|w| 0.5 * (w[0] + w[1])));
            e.push(c[n - 1] + 0.5 * (c[n - 1] - c[n - 2]));
            e
        }
    }
}

/// The colour range actually used: `h.range` when valid, else the finite data's range
/// (symmetric about 0 for diverging maps), else `[0, 1]`.
fn colour_range(h: &Heatmap) -> (f64, f64) {
    let (lo, hi) = h.range;
    if lo.is_finite() && hi.is_finite() && lo < hi {
        return (lo, hi);
    }
    let finite = h.values.iter().copied().filter(|v| v.is_finite());
    let (a, b) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (a, b) = if h.diverging {
        let m = a.abs().max(b.abs());
        (-m, m)
    } else {
        (a, b)
    };
    if a < b {
        (a, b)
    } else if a.is_finite() {
        let f = Axis::fit([a], false);
        (f.lo, f.hi)
    } else if h.diverging {
        (-1.0, 1.0)
    } else {
        (0.0, 1.0)
    }
}

/// The colour of a value: clipped to the range, +inf at the top, -inf at the bottom, NaN grey.
fn cell_color(v: f64, (lo, hi): (f64, f64), diverging: bool) -> RGBColor {
    if v.is_nan() {
        return NAN_GREY;
    }
    let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    if diverging {
        diverging_color(t)
    } else {
        sequential_color(t)
    }
}

/// The notes under a panel title: the caller's, NaN and infinite cells, an unusable colour
/// range.
fn panel_notes(h: &Heatmap) -> Vec<String> {
    let nan = h.values.iter().filter(|v| v.is_nan()).count();
    let inf = h.values.iter().filter(|v| v.is_infinite()).count();
    let mut notes = h.notes.clone();
    if h.annotate.is_some() {
        for s in h.overlays.iter().filter(|s| !s.label.is_empty()) {
            let how = match s.style {
                super::LineStyle::Solid => "solid line",
                super::LineStyle::Dashed => "dashed line",
            };
            notes.push(format!("{how}: {}", s.label));
        }
    }
    if nan > 0 {
        notes.push(format!("grey cells: NaN ({nan} of {})", h.values.len()));
    }
    if inf > 0 {
        notes.push(format!(
            "{inf} infinite cells shown at the colour range ends"
        ));
    }
    let (lo, hi) = h.range;
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        notes.push("invalid colour range, fitted to the data".into());
    }
    notes
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    h: &Heatmap,
    notes: &[String],
    lines: usize,
) -> DrawResult<DB> {
    let rest = panel_header(area, &h.title, notes, lines)?;
    let range = colour_range(h);

    // Colour bar axis first: its label width decides how much room the bar takes.
    let x_area = chart::x_label_area(&h.x_label);
    let (w, ht) = rest.dim_in_pixel();
    let bar_plot_h = ht
        .saturating_sub(x_area + 12 + chart::BOTTOM_MARGIN)
        .max(40);
    let bar_axis =
        Axis::exact(range.0, range.1, false).with_ticks((bar_plot_h / 55).clamp(2, 10) as usize);
    let tick_style = font::style(font::TICK, false, BLACK);
    let mut widest = 0;
    for l in &bar_axis.labels {
        widest = widest.max(font::text_width(&rest, l, &tick_style)?);
    }
    let desc = if h.colorbar_label.is_empty() { 0 } else { 32 };
    let label_w = widest + 2 * BAR_TICK + 6 + desc;
    let bar_total = BAR_GAP + BAR_W + label_w + 6;
    let (main, bar) = rest.split_horizontally(w.saturating_sub(bar_total));

    let (ex, ey) = (edges(&h.x), edges(&h.y));
    let span = |e: &[f64]| match (e.first(), e.last()) {
        (Some(&a), Some(&b)) => Axis::exact(a, b, false),
        _ => Axis::exact(0.0, 1.0, false),
    };
    let frame = Frame {
        x: span(&ex),
        y: span(&ey),
        x_label: &h.x_label,
        y_label: &h.y_label,
        grid: false,
        right_margin: 4,
        x_ticks: None,
    };
    let entries: Vec<LegendEntry> = h
        .overlays
        .iter()
        .enumerate()
        .filter_map(|(i, s)| LegendEntry::of(s, overlay_color(i)))
        .collect();
    let overlay_runs: Vec<Vec<(f64, f64)>> = h
        .overlays
        .iter()
        .flat_map(|s| clip::runs(&s.x, &s.y, false, false).0)
        .collect();
    // annotated cells leave no room for a legend box: the overlays are named in a note instead
    // (see `panel_notes`)
    let legend = if entries.is_empty() || h.annotate.is_some() {
        None
    } else {
        let size = chart::legend_size(&main, &entries)?;
        let l = chart::layout(&main, &frame)?;
        let (at, _) = chart::place_legend(&l, size, &chart::covered_pixels(&l, &overlay_runs));
        Some((at, size))
    };
    let (mut chart, x, y) = chart::build(&main, frame)?;
    let nx = h.x.len();
    let cells = (0..h.y.len()).flat_map(|iy| {
        let (ex, ey) = (&ex, &ey);
        (0..nx).map(move |ix| {
            let c = cell_color(h.values[iy * nx + ix], range, h.diverging);
            let (x0, x1) = (ex[ix].min(ex[ix + 1]), ex[ix].max(ex[ix + 1]));
            let (y0, y1) = (ey[iy].min(ey[iy + 1]), ey[iy].max(ey[iy + 1]));
            Rectangle::new([(x0, y1), (x1, y0)], c.filled())
        })
    });
    chart.draw_series(cells)?;
    if let Some(decimals) = h.annotate {
        annotate(&chart, h, range, decimals)?;
    }
    if h.values.is_empty() {
        chart::centre_note(&chart, "no cells")?;
    }

    let rect = Rect::of(&x, &y);
    for (i, s) in h.overlays.iter().enumerate() {
        let look = Look {
            color: overlay_color(i),
            halo: true,
            log_x: false,
            log_y: false,
        };
        series::draw_band(&mut chart, s, look, &rect)?;
        series::draw_line(&mut chart, s, look, &rect)?;
    }
    let drawn: Vec<Vec<(f64, f64)>> = overlay_runs
        .iter()
        .flat_map(|r| clip::clip_polyline(r, &rect))
        .collect();
    chart::record_data(&chart, &drawn);
    if let Some((at, size)) = legend {
        chart::draw_legend(&chart, at, size, &entries)?;
    }
    draw_colorbar(&bar, h, bar_axis, label_w, x_area + chart::BOTTOM_MARGIN)?;
    let (bw, _) = bar.dim_in_pixel();
    let centre = 12 + bar_plot_h as i32 / 2;
    font::draw_vertical(
        &bar,
        &h.colorbar_label,
        (bw as i32 - desc as i32, centre),
        bar_plot_h,
    )
}

/// Writes each finite cell's value, with `decimals` digits, in black or white (whichever
/// contrasts with the cell), when the cells are large enough to hold it.
fn annotate<DB: DrawingBackend>(
    chart: &chart::Chart<'_, DB>,
    h: &Heatmap,
    range: (f64, f64),
    decimals: usize,
) -> DrawResult<DB> {
    let (ex, ey) = (edges(&h.x), edges(&h.y));
    let nx = h.x.len();
    let area = chart.plotting_area();
    for iy in 0..h.y.len() {
        for ix in 0..nx {
            let v = h.values[iy * nx + ix];
            if !v.is_finite() {
                continue;
            }
            let a = chart.backend_coord(&(ex[ix], ey[iy]));
            let b = chart.backend_coord(&(ex[ix + 1], ey[iy + 1]));
            let (cw, ch) = ((b.0 - a.0).abs(), (b.1 - a.1).abs());
            let text = format!("{v:.decimals$}");
            let probe = font::style(font::SMALL, false, BLACK);
            let tw = font::text_width(&area.strip_coord_spec(), &text, &probe)? as i32;
            if tw + 4 > cw || 20 > ch {
                continue;
            }
            let c = cell_color(v, range, h.diverging);
            let luminance = 0.299 * c.0 as f64 + 0.587 * c.1 as f64 + 0.114 * c.2 as f64;
            let ink = if luminance > 140.0 { BLACK } else { WHITE };
            let st = font::style(font::SMALL, false, ink).pos(Pos::new(HPos::Center, VPos::Center));
            // in the upper quarter of the cell: overlay lines through the cell centres (a
            // critical line sampled at the grid) do not cross the text
            let centre = (
                0.5 * (ex[ix] + ex[ix + 1]),
                ey[iy] + 0.75 * (ey[iy + 1] - ey[iy]),
            );
            area.draw(&Text::new(text, centre, st))?;
        }
    }
    Ok(())
}

fn draw_colorbar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    h: &Heatmap,
    axis: Axis,
    label_w: u32,
    bottom: u32,
) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(12)
        .margin_bottom(bottom)
        .margin_left(BAR_GAP)
        .right_y_label_area_size(label_w)
        .build_cartesian_2d(
            AxisCoord::of(&Axis::exact(0.0, 1.0, false)),
            AxisCoord::of(&axis),
        )?;
    let fy = |v: &f64| axis.label(*v);
    chart
        .configure_mesh()
        // plotters sizes tick marks by the plotting area (a 22-pixel bar gets 1-pixel ticks)
        // and puts labels at twice that: fixed ticks keep the labels off the bar
        .set_tick_mark_size(LabelAreaPosition::Right, BAR_TICK as i32)
        .disable_mesh()
        .disable_x_axis()
        .y_label_formatter(&fy)
        .label_style(font::style(font::TICK, false, BLACK))
        .axis_style(BLACK.stroke_width(1))
        .draw()?;
    let (lo, hi) = (axis.lo, axis.hi);
    let slices = (0..BAR_SLICES).map(|k| {
        let t = (k as f64 + 0.5) / BAR_SLICES as f64;
        let v0 = lo + (hi - lo) * k as f64 / BAR_SLICES as f64;
        // each slice reaches into the next one (drawn over it), so that anti-aliased SVG
        // renderers show no seams between slices
        let v1 = lo + (hi - lo) * ((k + 2).min(BAR_SLICES)) as f64 / BAR_SLICES as f64;
        let c = if h.diverging {
            diverging_color(t)
        } else {
            sequential_color(t)
        };
        Rectangle::new([(0.0, v1), (1.0, v0)], c.filled())
    });
    chart.draw_series(slices)?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(0.0, hi), (1.0, lo)],
        BLACK.stroke_width(1),
    )))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_midpoints_extrapolated_at_the_ends() {
        assert_eq!(edges(&[1.0, 2.0, 4.0]), [0.5, 1.5, 3.0, 5.0]);
        assert_eq!(edges(&[3.0]), [2.5, 3.5]);
        assert_eq!(edges(&[2.0, 1.0]), [2.5, 1.5, 0.5]);
        assert!(check_centres(&[1.0, 1.0]).is_err());
        assert!(check_centres(&[1.0, f64::NAN]).is_err());
    }

    #[test]
    fn infinities_take_the_range_ends() {
        assert_eq!(
            cell_color(f64::INFINITY, (-1.0, 1.0), true),
            diverging_color(1.0)
        );
        assert_eq!(
            cell_color(f64::NEG_INFINITY, (-1.0, 1.0), false),
            sequential_color(0.0)
        );
        assert_eq!(cell_color(5.0, (-1.0, 1.0), true), diverging_color(1.0));
        assert_eq!(cell_color(f64::NAN, (-1.0, 1.0), true), NAN_GREY);
    }
}
