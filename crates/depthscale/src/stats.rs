//! Small statistics used by the experiments: means with confidence bands, least-squares slopes,
//! two-sample distances. Non-finite values are handled explicitly, never silently averaged.

/// Mean and a normal-approximation 95% confidence half-width of `xs`.
///
/// Returns `(mean, half_width)`; `(inf, 0)` when any value is `+inf` (an exploded run dominates
/// the mean), `(NaN, NaN)` for an empty slice.
pub fn mean_ci95(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    if xs.iter().any(|x| x.is_infinite() || x.is_nan()) {
        return (f64::INFINITY, 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, 1.96 * (var / n as f64).sqrt())
}

/// Ordinary least-squares fit `y = intercept + slope x`; returns `(slope, intercept)`.
///
/// Pairs with a non-finite coordinate are skipped; `None` with fewer than two usable points.
pub fn linear_fit(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(&a, &b)| (a, b))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

/// Slope of `log10 y` against `log10 x` (the convergence rate of an error against a size).
pub fn loglog_slope(x: &[f64], y: &[f64]) -> Option<f64> {
    let lx: Vec<f64> = x.iter().map(|v| v.log10()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.log10()).collect();
    linear_fit(&lx, &ly).map(|(s, _)| s)
}

/// `n` evenly spaced values from `start` to `stop` inclusive (like `numpy.linspace`).
pub fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![start],
        _ => (0..n)
            .map(|i| start + (stop - start) * i as f64 / (n - 1) as f64)
            .collect(),
    }
}

/// Kolmogorov-Smirnov distance `sup |F_a - F_b|` between two samples (non-finite values are
/// placed at the ends of the order, as `+-inf` sort).
pub fn ks_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
    while i < a.len() && j < b.len() {
        let x = if a[i].total_cmp(&b[j]).is_le() {
            a[i]
        } else {
            b[j]
        };
        while i < a.len() && a[i].total_cmp(&x).is_le() {
            i += 1;
        }
        while j < b.len() && b[j].total_cmp(&x).is_le() {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    d
}

/// Wasserstein-1 distance between two samples of equal size (mean absolute difference of the
/// sorted samples); for unequal sizes the quantile functions are compared on a common grid.
pub fn wasserstein1(a: &[f64], b: &[f64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let m = a.len().max(b.len());
    if m == 0 {
        return 0.0;
    }
    let q = |s: &[f64], u: f64| s[((u * s.len() as f64) as usize).min(s.len() - 1)];
    (0..m)
        .map(|i| {
            let u = (i as f64 + 0.5) / m as f64;
            (q(&a, u) - q(&b, u)).abs()
        })
        .sum::<f64>()
        / m as f64
}

/// Mean and standard error (`sd / sqrt(n)`) of independent values; `(inf, 0)` if one is
/// infinite (an overflow), NaN when fewer than two.
pub fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    if n < 2 {
        return (f64::NAN, f64::NAN);
    }
    if xs.iter().any(|x| x.is_infinite()) {
        return (f64::INFINITY, 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, (var / n as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_a_known_line_and_slope() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y: Vec<f64> = x.iter().map(|v| 3.0 - 2.0 * v).collect();
        let (s, i) = linear_fit(&x, &y).unwrap();
        assert!((s + 2.0).abs() < 1e-12 && (i - 3.0).abs() < 1e-12);
        let xs = [10.0, 100.0, 1000.0];
        let ys: Vec<f64> = xs.iter().map(|v: &f64| 5.0 * v.powf(-0.5)).collect();
        assert!((loglog_slope(&xs, &ys).unwrap() + 0.5).abs() < 1e-12);
    }

    #[test]
    fn mean_ci_flags_explosions() {
        assert_eq!(mean_ci95(&[1.0, f64::INFINITY]).0, f64::INFINITY);
        let (m, h) = mean_ci95(&[1.0, 2.0, 3.0]);
        assert!((m - 2.0).abs() < 1e-12 && h > 0.0);
    }

    #[test]
    fn distances_of_identical_and_shifted_samples() {
        let a: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 10.0).collect();
        assert_eq!(ks_distance(&a, &a), 0.0);
        assert!((ks_distance(&a, &b) - 0.1).abs() < 1e-12);
        assert!((wasserstein1(&a, &b) - 10.0).abs() < 1e-12);
        assert_eq!(linspace(0.0, 1.0, 3), vec![0.0, 0.5, 1.0]);
    }
}
