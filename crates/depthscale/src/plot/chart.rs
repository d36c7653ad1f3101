//! Cartesian charts over axis space with our own ticks, labels and fonts.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Axis;
use super::figure::DrawResult;
use super::font;

/// A linear 1-d coordinate over axis space whose key points are our own ticks (bold points,
/// labelled) and minor grid positions (light points).
#[derive(Debug, Clone)]
pub(super) struct AxisCoord {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    minor: Vec<f64>,
}

impl AxisCoord {
    /// The coordinate of a ticked axis.
    pub fn of(a: &Axis) -> Self {
        Self {
            lo: a.lo,
            hi: a.hi,
            ticks: a.ticks.clone(),
            minor: a.minor.clone(),
        }
    }
}

impl Ranged for AxisCoord {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        let p = limit.0 as f64 + t * (limit.1 - limit.0) as f64;
        // Keep far-away points representable; NaN maps to the start (never drawn by us).
        p.round().clamp(-1e6, 1e6) as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The coordinate system of every chart: linear over axis space, with explicit key points.
pub(super) type Coord = Cartesian2d<AxisCoord, AxisCoord>;

/// A chart context over [`Coord`].
pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Coord>;

/// What a chart shows around its plotting area.
pub(super) struct Frame<'s> {
    /// Horizontal axis (ticks are chosen here).
    pub x: Axis,
    /// Vertical axis (ticks are chosen here).
    pub y: Axis,
    /// Horizontal axis description.
    pub x_label: &'s str,
    /// Vertical axis description.
    pub y_label: &'s str,
    /// Whether to draw grid lines.
    pub grid: bool,
    /// Free space right of the plotting area, in pixels.
    pub right_margin: u32,
}

/// Height of the area under the plot holding tick labels and the x description.
pub(super) fn x_label_area(x_label: &str) -> u32 {
    if x_label.is_empty() { 34 } else { 58 }
}

/// Space kept free under the x label area.
pub(super) const BOTTOM_MARGIN: u32 = 8;

/// Builds the chart on `area`, draws axes, ticks and grid, and returns it with the final axes.
pub(super) fn build<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    frame: Frame<'_>,
) -> Result<(Chart<'a, DB>, Axis, Axis), DrawingAreaErrorKind<DB::ErrorType>> {
    let (w, h) = area.dim_in_pixel();
    let tick_style = font::style(font::TICK, false, BLACK);
    let x_area = x_label_area(frame.x_label);
    let plot_h = h.saturating_sub(x_area + 12 + BOTTOM_MARGIN).max(40);
    let y = frame.y.with_ticks((plot_h / 55).clamp(2, 10) as usize);
    let widest_y = y
        .labels
        .iter()
        .map(|l| font::text_width(area, l, &tick_style))
        .try_fold(0, |m, w| w.map(|w| m.max(w)))?;
    let desc = if frame.y_label.is_empty() { 0 } else { 30 };
    let y_area = widest_y + 16 + desc;
    let plot_w = w.saturating_sub(y_area + frame.right_margin + 4).max(40);
    let mut target = (plot_w / 100).clamp(2, 10) as usize;
    let x = loop {
        let x = frame.x.clone().with_ticks(target);
        let widest = x
            .labels
            .iter()
            .map(|l| font::text_width(area, l, &tick_style))
            .try_fold(0, |m, w| w.map(|w| m.max(w)))?;
        if target <= 2 || (widest + 24) * x.ticks.len() as u32 <= plot_w {
            break x;
        }
        target -= 1;
    };
    let mut chart = ChartBuilder::on(area)
        .margin_top(12)
        .margin_right(frame.right_margin)
        .margin_left(4)
        .margin_bottom(BOTTOM_MARGIN)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(AxisCoord::of(&x), AxisCoord::of(&y))?;
    let (x_desc, x_desc_style) = font::fit(area, frame.x_label, font::LABEL, false, BLACK, plot_w)?;
    let (y_desc, y_desc_style) = font::fit(area, frame.y_label, font::LABEL, false, BLACK, plot_h)?;
    // One style for both descriptions: the smaller of the two fitted sizes.
    let desc_style = if x_desc_style.font.get_size() < y_desc_style.font.get_size() {
        x_desc_style
    } else {
        y_desc_style
    };
    let fx = |v: &f64| x.label(*v);
    let fy = |v: &f64| y.label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style(tick_style.clone())
        .axis_desc_style(desc_style)
        .axis_style(BLACK.stroke_width(1))
        .bold_line_style(RGBColor(215, 215, 215).stroke_width(1))
        .light_line_style(RGBColor(238, 238, 238).stroke_width(1));
    if !frame.grid {
        mesh.disable_mesh();
    }
    mesh.draw()?;
    Ok((chart, x, y))
}

/// Writes `text` in the middle of the chart's plotting area.
pub(super) fn centre_note<DB: DrawingBackend>(chart: &Chart<'_, DB>, text: &str) -> DrawResult<DB> {
    let area = chart.plotting_area().strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    let style = font::style(font::LABEL, false, RGBColor(90, 90, 90))
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(&font::printable(text), &style, (w as i32 / 2, h as i32 / 2))?;
    Ok(())
}

/// The legend corner that covers the fewest of `points` (axis space).
pub(super) fn legend_corner(points: &[(f64, f64)], x: &Axis, y: &Axis) -> SeriesLabelPosition {
    let mut counts = [0usize; 4];
    for &(px, py) in points {
        let u = (px - x.lo) / (x.hi - x.lo);
        let v = (py - y.lo) / (y.hi - y.lo);
        let top = v > 0.6;
        let bottom = v < 0.4;
        if u > 0.55 && top {
            counts[0] += 1;
        }
        if u < 0.45 && top {
            counts[1] += 1;
        }
        if u > 0.55 && bottom {
            counts[2] += 1;
        }
        if u < 0.45 && bottom {
            counts[3] += 1;
        }
    }
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    [
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::LowerRight,
        SeriesLabelPosition::LowerLeft,
    ][best]
        .clone()
}

/// Draws the legend of the labelled series at `pos`.
pub(super) fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    pos: SeriesLabelPosition,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(pos)
        .margin(12)
        .legend_area_size(34)
        .label_font(font::style(font::SMALL, false, BLACK))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(150, 150, 150))
        .draw()
}
