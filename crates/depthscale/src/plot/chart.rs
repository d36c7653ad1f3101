//! Cartesian charts over axis space with our own ticks, labels and fonts.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Axis;
use super::figure::DrawResult;
use super::{LineStyle, Series, font, review};

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
    /// Major ticks at exactly these data values (e.g. the depths measured), instead of round
    /// ones.
    pub x_ticks: Option<Vec<f64>>,
}

/// Height of the area under the plot holding tick labels and the x description.
pub(super) fn x_label_area(x_label: &str) -> u32 {
    if x_label.is_empty() { 34 } else { 58 }
}

/// Space kept free under the x label area.
pub(super) const BOTTOM_MARGIN: u32 = 8;

/// Where a chart's plotting area lies inside its drawing area, and its final axes, before
/// anything is drawn.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    /// Horizontal axis with its ticks.
    pub x: Axis,
    /// Vertical axis with its ticks.
    pub y: Axis,
    /// Width of the y tick labels and description, left of the plot.
    pub y_area: u32,
    /// Height of the x tick labels and description, under the plot.
    pub x_area: u32,
    /// Plotting area width.
    pub plot_w: u32,
    /// Plotting area height.
    pub plot_h: u32,
}

impl Layout {
    /// The pixel of axis-space point `p`, relative to the plotting area's top-left corner.
    pub fn pixel(&self, p: (f64, f64)) -> (f64, f64) {
        let u = (p.0 - self.x.lo) / (self.x.hi - self.x.lo) * self.plot_w as f64;
        let v = (self.y.hi - p.1) / (self.y.hi - self.y.lo) * self.plot_h as f64;
        (u, v)
    }
}

/// Computes the layout [`build`] will use for `frame` on `area`.
pub(super) fn layout<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    frame: &Frame<'_>,
) -> Result<Layout, DrawingAreaErrorKind<DB::ErrorType>> {
    let (w, h) = area.dim_in_pixel();
    let tick_style = font::style(font::TICK, false, BLACK);
    let x_area = x_label_area(frame.x_label);
    let plot_h = h.saturating_sub(x_area + 12 + BOTTOM_MARGIN).max(40);
    let y = frame
        .y
        .clone()
        .with_ticks((plot_h / 55).clamp(2, 10) as usize);
    let widest_y = y
        .labels
        .iter()
        .map(|l| font::text_width(area, l, &tick_style))
        .try_fold(0, |m, w| w.map(|w| m.max(w)))?;
    let desc = if frame.y_label.is_empty() { 0 } else { 30 };
    let y_area = widest_y + 16 + desc;
    let plot_w = w.saturating_sub(y_area + frame.right_margin + 4).max(40);
    let x = match &frame.x_ticks {
        Some(ticks) => frame.x.clone().with_fixed_ticks(ticks),
        None => {
            let mut target = (plot_w / 100).clamp(2, 10) as usize;
            loop {
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
            }
        }
    };
    Ok(Layout {
        x,
        y,
        y_area,
        x_area,
        plot_w,
        plot_h,
    })
}

/// Builds the chart on `area`, draws axes, ticks and grid, and returns it with the final axes.
pub(super) fn build<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    frame: Frame<'_>,
) -> Result<(Chart<'a, DB>, Axis, Axis), DrawingAreaErrorKind<DB::ErrorType>> {
    let Layout {
        x,
        y,
        y_area,
        x_area,
        plot_w,
        plot_h,
    } = layout(area, &frame)?;
    let tick_style = font::style(font::TICK, false, BLACK);
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

/// One legend entry: what its swatch looks like and its text.
#[derive(Debug, Clone)]
pub(super) struct LegendEntry {
    /// The text.
    pub label: String,
    /// Line and marker colour.
    pub color: RGBColor,
    /// Line style of the swatch.
    pub style: LineStyle,
    /// Whether the swatch carries a marker.
    pub markers: bool,
}

impl LegendEntry {
    /// The entry of a series drawn in `color` (`None` when the series is unlabelled).
    pub fn of(s: &Series, color: RGBColor) -> Option<Self> {
        (!s.label.is_empty()).then(|| Self {
            label: font::printable(&s.label).into_owned(),
            color,
            style: s.style,
            markers: s.markers,
        })
    }
}

/// Legend padding, row height, swatch length and distance from the plot's edges, in pixels.
const LEGEND_PAD: i32 = 8;
const LEGEND_ROW: i32 = 22;
const LEGEND_SWATCH: i32 = 28;
const LEGEND_MARGIN: i32 = 10;

/// The size of the legend box of `entries`.
pub(super) fn legend_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
) -> Result<(i32, i32), DrawingAreaErrorKind<DB::ErrorType>> {
    let st = font::style(font::SMALL, false, BLACK);
    let mut widest = 0;
    for e in entries {
        widest = widest.max(font::text_width(area, &e.label, &st)?);
    }
    Ok((
        2 * LEGEND_PAD + LEGEND_SWATCH + 8 + widest as i32,
        2 * LEGEND_PAD + LEGEND_ROW * entries.len() as i32 - 4,
    ))
}

/// Pixels (relative to the plotting area) covered by `runs` of axis-space points: every vertex,
/// and points every 2 pixels along each segment.
pub(super) fn covered_pixels(l: &Layout, runs: &[Vec<(f64, f64)>]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for run in runs {
        let px: Vec<(f64, f64)> = run.iter().map(|&p| l.pixel(p)).collect();
        out.extend(&px);
        for w in px.windows(2) {
            let (dx, dy) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
            let steps = ((dx * dx + dy * dy).sqrt() / 2.0).ceil().min(10_000.0) as usize;
            out.extend((1..steps).map(|k| {
                let t = k as f64 / steps as f64;
                (w[0].0 + t * dx, w[0].1 + t * dy)
            }));
        }
    }
    out
}

/// The top-left corner (relative to the plotting area) of the candidate legend position that
/// covers the fewest of `pixels`, with that count: the four corners first, then the middles of
/// the top and bottom edges, then of the sides.
pub(super) fn place_legend(
    l: &Layout,
    size: (i32, i32),
    pixels: &[(f64, f64)],
) -> ((i32, i32), usize) {
    let (w, h) = (l.plot_w as i32, l.plot_h as i32);
    let (lw, lh) = size;
    let (left, right) = (LEGEND_MARGIN, w - lw - LEGEND_MARGIN);
    let (top, bottom) = (LEGEND_MARGIN, h - lh - LEGEND_MARGIN);
    let (mid_x, mid_y) = ((w - lw) / 2, (h - lh) / 2);
    let candidates = [
        (right, top),
        (left, top),
        (right, bottom),
        (left, bottom),
        (mid_x, top),
        (mid_x, bottom),
        (right, mid_y),
        (left, mid_y),
    ];
    let covered = |&(x0, y0): &(i32, i32)| {
        // a few pixels of clearance: a line's stroke and a marker's radius
        let (x0, y0) = (x0 as f64 - 5.0, y0 as f64 - 5.0);
        let (x1, y1) = (x0 + lw as f64 + 10.0, y0 + lh as f64 + 10.0);
        pixels
            .iter()
            .filter(|p| p.0 >= x0 && p.0 <= x1 && p.1 >= y0 && p.1 <= y1)
            .count()
    };
    candidates
        .iter()
        .map(|c| (*c, covered(c)))
        .min_by_key(|(_, n)| *n)
        .unwrap_or(((left, top), 0))
}

/// The vertical axis widened upwards so that a legend of height `legend_h` fits above the data
/// in a plot `plot_h` pixels high (`None` when that would take more than half of the plot).
pub(super) fn with_headroom(y: &Axis, legend_h: i32, plot_h: u32) -> Option<Axis> {
    let frac = (legend_h + 2 * LEGEND_MARGIN) as f64 / plot_h.max(1) as f64;
    if frac >= 0.5 {
        return None;
    }
    let hi = (y.hi - frac * y.lo) / (1.0 - frac);
    Some(Axis::exact(y.lo, hi, y.log))
}

/// Draws the legend box of `entries` with its top-left corner at `at` (relative to the chart's
/// plotting area) and records it for review.
pub(super) fn draw_legend<DB: DrawingBackend>(
    chart: &Chart<'_, DB>,
    at: (i32, i32),
    size: (i32, i32),
    entries: &[LegendEntry],
) -> DrawResult<DB> {
    let area = chart.plotting_area().strip_coord_spec();
    let (x0, y0) = at;
    let (w, h) = size;
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + w, y0 + h)],
        WHITE.mix(0.9).filled(),
    ))?;
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + w, y0 + h)],
        RGBColor(150, 150, 150).stroke_width(1),
    ))?;
    let text = font::style(font::SMALL, false, BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, e) in entries.iter().enumerate() {
        let y = y0 + LEGEND_PAD + LEGEND_ROW * i as i32 + (LEGEND_ROW - 4) / 2;
        let (a, b) = (x0 + LEGEND_PAD, x0 + LEGEND_PAD + LEGEND_SWATCH);
        let line = e.color.stroke_width(2);
        match e.style {
            LineStyle::Solid => area.draw(&PathElement::new(vec![(a, y), (b, y)], line))?,
            LineStyle::Dashed => area.draw(&plotters::element::DashedPathElement::new(
                vec![(a, y), (b, y)],
                7,
                4,
                line,
            ))?,
        }
        if e.markers {
            area.draw(&Circle::new(((a + b) / 2, y), 4, e.color.filled()))?;
        }
        area.draw_text(&e.label, &text, (b + 8, y))?;
    }
    let base = area.get_base_pixel();
    review::with_panel(|p| {
        p.legend = Some(review::PixelRect {
            x0: base.0 + x0,
            y0: base.1 + y0,
            x1: base.0 + x0 + w,
            y1: base.1 + y0 + h,
        })
    });
    Ok(())
}

/// Records, for review, the figure pixels covered by `runs` (axis space) on `chart`.
pub(super) fn record_data<DB: DrawingBackend>(chart: &Chart<'_, DB>, runs: &[Vec<(f64, f64)>]) {
    if !review::active() {
        return;
    }
    let mut px = Vec::new();
    for run in runs {
        let pts: Vec<(i32, i32)> = run.iter().map(|p| chart.backend_coord(p)).collect();
        px.extend(&pts);
        for w in pts.windows(2) {
            let (dx, dy) = ((w[1].0 - w[0].0) as f64, (w[1].1 - w[0].1) as f64);
            let steps = ((dx * dx + dy * dy).sqrt() / 2.0).ceil().min(10_000.0) as i32;
            px.extend((1..steps).map(|k| {
                let t = k as f64 / steps as f64;
                (
                    w[0].0 + (t * dx).round() as i32,
                    w[0].1 + (t * dy).round() as i32,
                )
            }));
        }
    }
    review::with_panel(|p| p.data.extend(px));
}
