//! Drawing one [`Series`] (band, line, markers, legend entry) on a chart.

use plotters::prelude::*;

use super::chart::Chart;
use super::clip::{self, Rect};
use super::figure::DrawResult;
use super::{LineStyle, Series};

/// How a series is drawn.
#[derive(Debug, Clone, Copy)]
pub(super) struct Look {
    /// Line, marker and band colour.
    pub color: RGBColor,
    /// Whether lines and markers sit on a white halo (for drawing over heatmaps).
    pub halo: bool,
    /// Whether axis space is log10 of x.
    pub log_x: bool,
    /// Whether axis space is log10 of y.
    pub log_y: bool,
}

const LINE_W: u32 = 2;
const HALO_W: u32 = 6;
const MARKER_R: i32 = 4;

/// Checks that the series' vectors have matching lengths.
pub(super) fn validate(s: &Series) -> Result<(), String> {
    if s.x.len() != s.y.len() {
        return Err(format!(
            "series `{}`: x has {} values but y has {}",
            s.label,
            s.x.len(),
            s.y.len()
        ));
    }
    if let Some((lo, hi)) = &s.band
        && (lo.len() != s.x.len() || hi.len() != s.x.len())
    {
        return Err(format!(
            "series `{}`: band has {}/{} values but x has {}",
            s.label,
            lo.len(),
            hi.len(),
            s.x.len()
        ));
    }
    Ok(())
}

/// Draws the shaded band of `s`, if any, clipped to `rect`.
pub(super) fn draw_band<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    s: &Series,
    look: Look,
    rect: &Rect,
) -> DrawResult<DB> {
    let Some((lower, upper)) = &s.band else {
        return Ok(());
    };
    let fill = look.color.mix(0.2).filled();
    let floor = Some(rect.y0);
    for poly in clip::band_polygons(&s.x, lower, upper, look.log_x, look.log_y, floor) {
        let poly = clip::clip_polygon(&poly, rect);
        if poly.len() >= 3 {
            chart.draw_series(std::iter::once(Polygon::new(poly, fill)))?;
        }
    }
    Ok(())
}

/// Whether the polyline reverses direction sharply somewhere (consecutive segments at more than
/// 120 degrees, judged in data coordinates with each axis scaled to the piece's own range).
fn sharp_turns(piece: &[(f64, f64)]) -> bool {
    let range = |f: fn(&(f64, f64)) -> f64| {
        let (lo, hi) = piece
            .iter()
            .map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if hi > lo { hi - lo } else { 1.0 }
    };
    let (sx, sy) = (range(|p| p.0), range(|p| p.1));
    piece.windows(3).any(|w| {
        let a = ((w[1].0 - w[0].0) / sx, (w[1].1 - w[0].1) / sy);
        let b = ((w[2].0 - w[1].0) / sx, (w[2].1 - w[1].1) / sy);
        let dot = a.0 * b.0 + a.1 * b.1;
        let norm = (a.0 * a.0 + a.1 * a.1).sqrt() * (b.0 * b.0 + b.1 * b.1).sqrt();
        norm > 0.0 && dot < -0.5 * norm
    })
}

/// Draws the line and markers of `s` clipped to `rect`.
pub(super) fn draw_line<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    s: &Series,
    look: Look,
    rect: &Rect,
) -> DrawResult<DB> {
    let line = look.color.stroke_width(LINE_W);
    let fill = look.color.filled();
    let (runs, _, _) = clip::runs(&s.x, &s.y, look.log_x, look.log_y);
    for run in &runs {
        for piece in clip::clip_polyline(run, rect) {
            if look.halo {
                chart.draw_series(LineSeries::new(piece.clone(), WHITE.stroke_width(HALO_W)))?;
            }
            // A piece of zero length (one point, or repeats of it) would be invisible as a line.
            if piece.iter().all(|q| *q == piece[0]) && !s.markers {
                chart.draw_series(std::iter::once(Circle::new(piece[0], MARKER_R - 1, fill)))?;
            }
            match s.style {
                // Segment by segment: the bitmap backend joins thick polylines with unbounded
                // inner miters, which shoot far outside the panel at sharp turns (rough paths).
                LineStyle::Solid if sharp_turns(&piece) => chart.draw_series(
                    piece
                        .windows(2)
                        .map(|w| PathElement::new(vec![w[0], w[1]], line)),
                )?,
                LineStyle::Solid => chart.draw_series(LineSeries::new(piece, line))?,
                LineStyle::Dashed => {
                    chart.draw_series(DashedLineSeries::new(piece, 10, 6, line))?
                }
            };
        }
        if s.markers {
            let inside = run.iter().copied().filter(|p| rect.contains(*p));
            if look.halo {
                let halo = inside
                    .clone()
                    .map(|p| Circle::new(p, MARKER_R + 2, WHITE.filled()));
                chart.draw_series(halo)?;
            }
            chart.draw_series(inside.map(|p| Circle::new(p, MARKER_R, fill)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::sharp_turns;

    #[test]
    fn sharp_turns_are_found_in_rough_paths_only() {
        let smooth: Vec<(f64, f64)> = (0..100)
            .map(|i| (i as f64, (i as f64 / 10.0).sin()))
            .collect();
        let zigzag: Vec<(f64, f64)> = (0..100).map(|i| (i as f64, (i % 2) as f64)).collect();
        assert!(!sharp_turns(&smooth));
        assert!(sharp_turns(&zigzag));
        assert!(!sharp_turns(&[(0.0, 0.0), (1.0, 1.0)]));
    }
}
