//! Line-plot figures: panels of series with optional bands, markers and log axes.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Panel;
use super::axis::Axis;
use super::chart::{self, Frame};
use super::clip::{self, Rect};
use super::colors::line_color;
use super::figure::{self, DrawResult, Figure, Grid, panel_header};
use super::series::{self, Look};

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

/// The notes under a panel title: what was skipped.
fn panel_notes(p: &Panel) -> Vec<String> {
    let (non_finite, non_positive) = skipped(p);
    let mut notes = Vec::new();
    if non_finite > 0 {
        notes.push(format!("{non_finite} non-finite points skipped"));
    }
    if non_positive > 0 {
        notes.push(format!(
            "{non_positive} non-positive points skipped (log axis)"
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
    let mut points = Vec::new();
    let mut band_points = Vec::new();
    for s in &p.series {
        points.extend(
            clip::runs(&s.x, &s.y, p.log_x, p.log_y)
                .0
                .into_iter()
                .flatten(),
        );
        if let Some((lo, hi)) = &s.band {
            for poly in clip::band_polygons(&s.x, lo, hi, p.log_x, p.log_y) {
                band_points.extend(poly);
            }
        }
    }
    let rest = panel_header(area, &p.title, notes, lines)?;
    let all = || points.iter().chain(&band_points);
    let frame = Frame {
        x: Axis::fit(all().map(|q| q.0), p.log_x),
        y: Axis::fit(all().map(|q| q.1), p.log_y),
        x_label: &p.x_label,
        y_label: &p.y_label,
        grid: true,
        right_margin: 30,
    };
    let (mut chart, x, y) = chart::build(&rest, frame)?;
    let rect = Rect::of(&x, &y);
    let labelled = p.series.iter().filter(|s| !s.label.is_empty()).count();
    for (i, s) in p.series.iter().enumerate() {
        let look = Look {
            color: line_color(i),
            halo: false,
            log_x: p.log_x,
            log_y: p.log_y,
        };
        series::draw_band(&mut chart, s, look, &rect)?;
    }
    for (i, s) in p.series.iter().enumerate() {
        let look = Look {
            color: line_color(i),
            halo: false,
            log_x: p.log_x,
            log_y: p.log_y,
        };
        series::draw_line(&mut chart, s, look, &rect, labelled > 1)?;
    }
    if points.is_empty() {
        let note = if skipped(p).1 > 0 {
            "no positive finite values"
        } else {
            "no finite values"
        };
        chart::centre_note(&chart, note)?;
    }
    if labelled > 1 {
        chart::draw_legend(&mut chart, chart::legend_corner(&points, &x, &y))?;
    }
    Ok(())
}
