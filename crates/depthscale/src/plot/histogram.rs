//! Histogram figures (linear or log-spaced bins).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Histogram;
use super::axis::Axis;
use super::chart::{self, Frame};
use super::figure::{self, DrawResult, Figure, Grid, panel_header};

/// Upper limit on the number of bins.
const MAX_BINS: usize = 1000;

/// A figure of histogram panels.
pub(super) struct Histograms<'a> {
    /// Figure title.
    pub title: &'a str,
    /// The panels, row by row.
    pub panels: &'a [Histogram],
    /// Their layout.
    pub grid: Grid,
}

impl Figure for Histograms<'_> {
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

/// Bin edges (axis space) and counts of the drawable values; `bins == 0` picks Sturges' rule.
pub(super) fn bin(values: &[f64], bins: usize) -> (Vec<f64>, Vec<usize>) {
    if values.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let n = if bins == 0 {
        ((values.len() as f64).log2().ceil() as usize + 1).clamp(1, 100)
    } else {
        bins.min(MAX_BINS)
    };
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = if hi - lo <= 1e-12 * lo.abs().max(hi.abs()) {
        let a = Axis::fit([lo], false);
        (a.lo, a.hi)
    } else {
        (lo, hi)
    };
    let edges: Vec<f64> = (0..=n)
        .map(|i| lo + (hi - lo) * i as f64 / n as f64)
        .collect();
    let mut counts = vec![0; n];
    for &v in values {
        let i = ((v - lo) / (hi - lo) * n as f64).floor();
        counts[(i.max(0.0) as usize).min(n - 1)] += 1;
    }
    (edges, counts)
}

/// The values that can be drawn (axis space) and the counts of non-finite and other omitted ones.
fn drawable(h: &Histogram) -> (Vec<f64>, usize, usize) {
    let non_finite = h.values.iter().filter(|v| !v.is_finite()).count();
    let drawable: Vec<f64> = h
        .values
        .iter()
        .filter_map(|&v| Axis::to_axis(h.log_x, v))
        .collect();
    let other = h.values.len() - non_finite - drawable.len();
    (drawable, non_finite, other)
}

/// The notes under a panel title: what was omitted.
fn panel_notes(h: &Histogram) -> Vec<String> {
    let (_, non_finite, non_positive) = drawable(h);
    let mut notes = Vec::new();
    if non_finite > 0 {
        notes.push(format!("{non_finite} non-finite values omitted"));
    }
    if non_positive > 0 {
        let what = if h.log_x { "non-positive" } else { "huge" };
        notes.push(format!("{non_positive} {what} values omitted"));
    }
    notes
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    h: &Histogram,
    notes: &[String],
    lines: usize,
) -> DrawResult<DB> {
    let (drawable, _, non_positive) = drawable(h);
    let rest = panel_header(area, &h.title, notes, lines)?;
    let (edges, counts) = bin(&drawable, h.bins);
    let x = match (edges.first(), edges.last()) {
        (Some(&a), Some(&b)) => Axis::exact(a - 0.03 * (b - a), b + 0.03 * (b - a), h.log_x),
        _ => Axis::fit([], h.log_x),
    };
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let frame = Frame {
        x_ticks: None,
        x,
        y: Axis::exact(0.0, 1.08 * top, false).integer(),
        x_label: &h.x_label,
        y_label: "count",
        grid: true,
        right_margin: 30,
    };
    let (mut chart, _, _) = chart::build(&rest, frame)?;
    let fill = RGBColor(70, 130, 180).filled();
    let edge = RGBColor(30, 60, 100).stroke_width(1);
    let bars = || edges.windows(2).zip(&counts).filter(|(_, c)| **c > 0);
    chart
        .draw_series(bars().map(|(e, &c)| Rectangle::new([(e[0], 0.0), (e[1], c as f64)], fill)))?;
    chart
        .draw_series(bars().map(|(e, &c)| Rectangle::new([(e[0], 0.0), (e[1], c as f64)], edge)))?;
    if drawable.is_empty() {
        let note = if non_positive > 0 && h.log_x {
            "no positive finite values"
        } else {
            "no finite values"
        };
        chart::centre_note(&chart, note)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_all_values() {
        let (edges, counts) = bin(&[0.0, 0.1, 0.5, 0.99, 1.0], 4);
        assert_eq!(edges, [0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(counts, [2, 0, 1, 2]);
        let (edges, counts) = bin(&[2.0; 7], 3);
        assert!(edges[0] < 2.0 && edges[3] > 2.0);
        assert_eq!(counts, [0, 7, 0]);
    }
}
