//! Splitting data into drawable runs and clipping them to the plotting rectangle.
//!
//! Why by hand: plotters maps every point through the chart's coordinates and draws it (its
//! `DrawingArea::draw` does not clip to the plotting rectangle), so a point outside the axis
//! ranges would be drawn over the labels and margins; and the bitmap backend joins thick
//! polylines with unbounded miters, which shoot far outside the panel at the sharp turns of
//! rough paths (see `series.rs`). Lines are therefore split at undrawable points (non-finite, or
//! non-positive on a log axis) and clipped here (Liang-Barsky for segments, Sutherland-Hodgman
//! for band polygons).

use super::axis::Axis;

/// An axis-aligned rectangle `[x0, x1] x [y0, y1]` in axis space.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rect {
    /// Left edge.
    pub x0: f64,
    /// Right edge.
    pub x1: f64,
    /// Bottom edge.
    pub y0: f64,
    /// Top edge.
    pub y1: f64,
}

impl Rect {
    /// The rectangle spanned by two axes.
    pub fn of(x: &Axis, y: &Axis) -> Self {
        Self {
            x0: x.lo,
            x1: x.hi,
            y0: y.lo,
            y1: y.hi,
        }
    }

    /// Whether `p` lies inside (edges included).
    pub fn contains(&self, p: (f64, f64)) -> bool {
        (self.x0..=self.x1).contains(&p.0) && (self.y0..=self.y1).contains(&p.1)
    }
}

/// Maximal runs of consecutive points that can be drawn (both coordinates map to axis space);
/// any other point breaks the line. Also returns how many points were non-finite and how many
/// were finite but non-positive on a log axis.
pub(super) fn runs(
    xs: &[f64],
    ys: &[f64],
    log_x: bool,
    log_y: bool,
) -> (Vec<Vec<(f64, f64)>>, usize, usize) {
    let (mut out, mut current) = (Vec::new(), Vec::new());
    let (mut non_finite, mut non_positive) = (0, 0);
    for (&x, &y) in xs.iter().zip(ys) {
        match (Axis::to_axis(log_x, x), Axis::to_axis(log_y, y)) {
            (Some(u), Some(v)) => current.push((u, v)),
            _ => {
                if x.is_finite() && y.is_finite() {
                    non_positive += 1;
                } else {
                    non_finite += 1;
                }
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    (out, non_finite, non_positive)
}

/// Closed polygons (upper edge forward, lower edge back) of a band over each run where `x`,
/// `lower` and `upper` are all drawable. With `floor` (axis space) on a log axis, a lower edge
/// that is finite but not positive is drawn at `floor` instead of breaking the band.
pub(super) fn band_polygons(
    xs: &[f64],
    lower: &[f64],
    upper: &[f64],
    log_x: bool,
    log_y: bool,
    floor: Option<f64>,
) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut run: Vec<(f64, f64, f64)> = Vec::new();
    let flush = |run: &mut Vec<(f64, f64, f64)>, out: &mut Vec<Vec<(f64, f64)>>| {
        if run.len() >= 2 {
            let mut poly: Vec<(f64, f64)> = run.iter().map(|p| (p.0, p.2)).collect();
            poly.extend(run.iter().rev().map(|p| (p.0, p.1)));
            out.push(poly);
        }
        run.clear();
    };
    for ((&x, &lo), &hi) in xs.iter().zip(lower).zip(upper) {
        let clamped = match floor {
            Some(f) if log_y && lo.is_finite() && lo <= 0.0 => Some(f),
            _ => None,
        };
        match (
            Axis::to_axis(log_x, x),
            Axis::to_axis(log_y, lo).or(clamped),
            Axis::to_axis(log_y, hi),
        ) {
            (Some(u), Some(l), Some(h)) => run.push((u, l, h)),
            _ => flush(&mut run, &mut out),
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Clips the segment `a -> b` to `r` (Liang-Barsky); `None` when it misses the rectangle.
fn clip_segment(a: (f64, f64), b: (f64, f64), r: &Rect) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - r.x0),
        (dx, r.x1 - a.0),
        (-dy, a.1 - r.y0),
        (dy, r.y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 <= t1).then_some({
        (
            (a.0 + t0 * dx, a.1 + t0 * dy),
            (a.0 + t1 * dx, a.1 + t1 * dy),
        )
    })
}

/// Clips a polyline to `r`, returning the visible pieces (single points inside are kept).
pub(super) fn clip_polyline(points: &[(f64, f64)], r: &Rect) -> Vec<Vec<(f64, f64)>> {
    if let [p] = points {
        return if r.contains(*p) {
            vec![vec![*p]]
        } else {
            Vec::new()
        };
    }
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for w in points.windows(2) {
        match clip_segment(w[0], w[1], r) {
            Some((a, b)) => {
                if current.last() != Some(&a) && !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                if current.is_empty() {
                    current.push(a);
                }
                current.push(b);
            }
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Clips a polygon to `r` (Sutherland-Hodgman); may return an empty polygon.
pub(super) fn clip_polygon(poly: &[(f64, f64)], r: &Rect) -> Vec<(f64, f64)> {
    type Inside = fn(&Rect, (f64, f64)) -> bool;
    type Cross = fn(&Rect, (f64, f64), (f64, f64)) -> (f64, f64);
    let edges: [(Inside, Cross); 4] = [
        (
            |r, p| p.0 >= r.x0,
            |r, a, b| (r.x0, a.1 + (b.1 - a.1) * (r.x0 - a.0) / (b.0 - a.0)),
        ),
        (
            |r, p| p.0 <= r.x1,
            |r, a, b| (r.x1, a.1 + (b.1 - a.1) * (r.x1 - a.0) / (b.0 - a.0)),
        ),
        (
            |r, p| p.1 >= r.y0,
            |r, a, b| (a.0 + (b.0 - a.0) * (r.y0 - a.1) / (b.1 - a.1), r.y0),
        ),
        (
            |r, p| p.1 <= r.y1,
            |r, a, b| (a.0 + (b.0 - a.0) * (r.y1 - a.1) / (b.1 - a.1), r.y1),
        ),
    ];
    let mut current = poly.to_vec();
    for (inside, cross) in edges {
        let input = std::mem::take(&mut current);
        for (i, &b) in input.iter().enumerate() {
            let a = input[(i + input.len() - 1) % input.len()];
            match (inside(r, a), inside(r, b)) {
                (true, true) => current.push(b),
                (true, false) => current.push(cross(r, a, b)),
                (false, true) => {
                    current.push(cross(r, a, b));
                    current.push(b);
                }
                (false, false) => {}
            }
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Rect = Rect {
        x0: 0.0,
        x1: 1.0,
        y0: 0.0,
        y1: 1.0,
    };

    #[test]
    fn runs_break_at_bad_points() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [1.0, f64::NAN, 3.0, -1.0, 5.0];
        let (r, nf, np) = runs(&x, &y, false, true);
        assert_eq!(
            r,
            vec![
                vec![(1.0, 0.0)],
                vec![(3.0, 3f64.log10())],
                vec![(5.0, 5f64.log10())]
            ]
        );
        assert_eq!((nf, np), (1, 1));
    }

    #[test]
    fn polyline_is_clipped_to_the_box() {
        let pieces = clip_polyline(&[(-1.0, 0.5), (0.5, 0.5), (2.0, 0.5), (2.0, 2.0)], &UNIT);
        assert_eq!(pieces, vec![vec![(0.0, 0.5), (0.5, 0.5), (1.0, 0.5)]]);
    }

    #[test]
    fn polygon_is_clipped_to_the_box() {
        let p = clip_polygon(&[(-1.0, -1.0), (2.0, -1.0), (2.0, 2.0), (-1.0, 2.0)], &UNIT);
        assert_eq!(p.len(), 4);
        assert!(p.iter().all(|q| UNIT.contains(*q)));
    }
}
