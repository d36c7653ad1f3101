//! Figures as PNG and SVG.
//!
//! Every figure is drawn once per backend by the same code and written twice, as `<stem>.png`
//! (about 1200 px wide per row of panels) and `<stem>.svg`. All text uses DejaVu Sans embedded
//! from the `dejavu` crate, so no system fonts are needed.
//!
//! The drawing is robust to what experiments produce: non-finite points break lines, log axes
//! skip non-positive values, ranges come from the finite data, heatmap infinities take the ends
//! of the colour range and NaN cells are grey; each such omission is stated in a small note
//! under the panel title.

mod axis;
mod chart;
mod clip;
mod colors;
mod figure;
mod font;
mod heatmap;
mod histogram;
mod lines;
pub(crate) mod review;
mod series;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use colors::{diverging_color, sequential_color};
pub use plotters::style::RGBColor;

use crate::{Error, Result};
use figure::Grid;

/// How a line is stroked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineStyle {
    /// A continuous line.
    #[default]
    Solid,
    /// A dashed line.
    Dashed,
}

/// One curve of a panel: points `(x[i], y[i])`, optionally with a shaded band.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend text (empty: not listed in the legend).
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates, one per abscissa.
    pub y: Vec<f64>,
    /// Lower and upper edges of a shaded band (e.g. a 95% interval), one value per abscissa each.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    /// Line style.
    pub style: LineStyle,
    /// Whether to mark every point with a dot.
    pub markers: bool,
}

/// One line-plot panel.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// Horizontal axis description.
    pub x_label: String,
    /// Vertical axis description.
    pub y_label: String,
    /// Logarithmic horizontal axis.
    pub log_x: bool,
    /// Logarithmic vertical axis.
    pub log_y: bool,
    /// The curves, drawn in order with the palette's colours.
    pub series: Vec<Series>,
    /// Major ticks of the horizontal axis at exactly these values (e.g. the depths measured);
    /// `None`: round values.
    pub x_ticks: Option<Vec<f64>>,
    /// Notes shown under the title (small, grey), before any the figure adds itself.
    pub notes: Vec<String>,
}

/// One histogram panel.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    /// Panel title.
    pub title: String,
    /// Horizontal axis description.
    pub x_label: String,
    /// The sample.
    pub values: Vec<f64>,
    /// Number of bins (0: Sturges' rule; at most 1000).
    pub bins: usize,
    /// Logarithmic horizontal axis with log-spaced bins.
    pub log_x: bool,
}

/// One heatmap panel.
#[derive(Debug, Clone, Default)]
pub struct Heatmap {
    /// Panel title.
    pub title: String,
    /// Horizontal axis description.
    pub x_label: String,
    /// Vertical axis description.
    pub y_label: String,
    /// Cell centres along x (strictly monotone, possibly unevenly spaced).
    pub x: Vec<f64>,
    /// Cell centres along y (strictly monotone, possibly unevenly spaced).
    pub y: Vec<f64>,
    /// Cell values, row-major: `values[iy * x.len() + ix]`.
    pub values: Vec<f64>,
    /// Colour range; values are clipped to it (an invalid range is replaced by the data's).
    pub range: (f64, f64),
    /// Diverging blue-white-red map centred at the middle of `range`; else viridis.
    pub diverging: bool,
    /// Colour bar description.
    pub colorbar_label: String,
    /// Lines drawn over the map in data coordinates, listed in a legend when labelled.
    pub overlays: Vec<Series>,
    /// Write each cell's value in it (with `decimals` digits); `None`: no annotation.
    pub annotate: Option<usize>,
    /// Notes shown under the title (small, grey), before any the figure adds itself.
    pub notes: Vec<String>,
}

fn invalid(stem: &Path, message: String) -> Error {
    Error::Plot {
        path: stem.to_path_buf(),
        message,
    }
}

/// Writes `<stem>.png` and `<stem>.svg`: panels side by side (wrap to rows of at most `max_cols`).
pub fn line_panels(stem: &Path, title: &str, panels: &[Panel], max_cols: usize) -> Result<()> {
    let fig = lines::Lines {
        title,
        panels,
        grid: Grid::new(panels.len(), max_cols, title, 430, 0.72, (400, 560)),
    };
    fig.validate().map_err(|m| invalid(stem, m))?;
    figure::write(stem, &fig)
}

/// Writes `<stem>.png` and `<stem>.svg` with one histogram per panel, three panels per row.
pub fn histograms(stem: &Path, title: &str, panels: &[Histogram]) -> Result<()> {
    let fig = histogram::Histograms {
        title,
        panels,
        grid: Grid::new(panels.len(), 3, title, 420, 0.72, (380, 560)),
    };
    figure::write(stem, &fig)
}

/// Writes `<stem>.png` and `<stem>.svg` with one heatmap (and its colour bar) per panel, two
/// panels per row (three would shrink the text below what the report can show). Mismatched sizes or non-monotone centres are an [`Error::Plot`].
pub fn heatmaps(stem: &Path, title: &str, panels: &[Heatmap]) -> Result<()> {
    let fig = heatmap::Heatmaps {
        title,
        panels,
        grid: Grid::new(panels.len(), 2, title, 520, 0.8, (460, 680)),
    };
    fig.validate().map_err(|m| invalid(stem, m))?;
    figure::write(stem, &fig)
}
