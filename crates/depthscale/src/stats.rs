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

/// A log-log slope of an error against depth with its finite-depth correction: the plain
/// least-squares slope of `ln y` on `ln L` with its standard error from the scatter about the
/// line, and the slope of the fit `ln y = a + slope ln L + c / L` that absorbs the leading
/// finite-depth term of an error decaying like `L^slope (1 + c / L)`, with its own standard
/// error (`n - 3` degrees of freedom).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DepthCorrectedSlope {
    /// Slope of the fit with the `1 / L` term (the depth-corrected rate).
    pub slope: f64,
    /// Its standard error from the residuals (`None` with three points: no degree of freedom).
    pub se: Option<f64>,
    /// Plain log-log slope.
    pub plain_slope: f64,
    /// Standard error of the plain slope from its residuals (`n - 2` degrees of freedom).
    pub plain_se: f64,
}

impl DepthCorrectedSlope {
    /// The claims' tolerance on [`Self::slope`]: `k` times the larger standard error (the plain
    /// one holds the curvature the correction removes; the corrected one, whatever bends the
    /// line beyond `1 / L`) plus the size of the correction itself, `|slope - plain_slope|`.
    pub fn tolerance(&self, k: f64) -> f64 {
        k * self.plain_se.max(self.se.unwrap_or(0.0)) + (self.slope - self.plain_slope).abs()
    }
}

/// The least-squares slope of `y` on `x` and its standard error from the residuals,
/// `sqrt(SSR / (n - 2) / Sxx)`; `None` with fewer than three points or equal `x`.
pub fn slope_with_se(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let n = x.len();
    if n < 3 || y.len() != n {
        return None;
    }
    let (slope, intercept) = linear_fit(x, y)?;
    let mx = x.iter().sum::<f64>() / n as f64;
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let ssr: f64 = x
        .iter()
        .zip(y)
        .map(|(v, y)| (y - intercept - slope * v).powi(2))
        .sum();
    Some((slope, (ssr / (n - 2) as f64 / sxx).sqrt()))
}

/// [`DepthCorrectedSlope`] of `y` against the depths `depth`, over the points with finite
/// positive `y`; `None` with fewer than three such points, when `ln L` and `1 / L` are
/// (numerically) collinear, or a coefficient that is not finite.
///
/// The corrected slope is the Frisch-Waugh-Lovell one: `u = ln L` and `y` with their parts
/// along `v = 1 / L` (and the constant) removed, `slope = <u', y> / <u', u'>`.
pub fn depth_corrected_slope(depth: &[f64], y: &[f64]) -> Option<DepthCorrectedSlope> {
    let (lx, ly): (Vec<f64>, Vec<f64>) = depth
        .iter()
        .zip(y)
        .filter(|(l, y)| l.is_finite() && **l > 0.0 && y.is_finite() && **y > 0.0)
        .map(|(l, y)| (*l, y.ln()))
        .unzip();
    let n = lx.len();
    if n < 3 {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let centred = |v: Vec<f64>| {
        let m = mean(&v);
        v.into_iter().map(|x| x - m).collect::<Vec<f64>>()
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let u = centred(lx.iter().map(|l| l.ln()).collect());
    let v = centred(lx.iter().map(|l| 1.0 / l).collect());
    let yc = centred(ly.clone());
    let (plain_slope, plain_se) = slope_with_se(&u, &yc)?;
    let (uu, vv, uv) = (dot(&u, &u), dot(&v, &v), dot(&u, &v));
    // u and v with the other's part removed
    let u_perp: Vec<f64> = u.iter().zip(&v).map(|(a, b)| a - uv / vv * b).collect();
    let v_perp: Vec<f64> = v.iter().zip(&u).map(|(b, a)| b - uv / uu * a).collect();
    let (uu_perp, vv_perp) = (dot(&u_perp, &u_perp), dot(&v_perp, &v_perp));
    if !(uu_perp > 1e-12 * uu && vv_perp > 1e-12 * vv) {
        return None;
    }
    let slope = dot(&u_perp, &yc) / uu_perp;
    let c = dot(&v_perp, &yc) / vv_perp;
    let ssr: f64 = (0..n)
        .map(|i| (yc[i] - slope * u[i] - c * v[i]).powi(2))
        .sum();
    let se = (n > 3)
        .then(|| (ssr / (n - 3) as f64 / uu_perp).sqrt())
        .filter(|x| x.is_finite());
    [slope, plain_slope, plain_se]
        .iter()
        .all(|x| x.is_finite())
        .then_some(DepthCorrectedSlope {
            slope,
            se,
            plain_slope,
            plain_se,
        })
}

/// `n` evenly spaced values from `start` to `stop` inclusive (like `numpy.linspace`), each
/// [`tidy`]: `linspace(0.05, 0.95, 10)` holds `0.7`, not the `0.7000000000000001` that
/// `start + (stop - start) * i / (n - 1)` rounds to, and ends exactly at `stop`.
pub fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![start],
        _ => (0..n)
            .map(|i| match i {
                0 => start,
                i if i == n - 1 => stop,
                i => tidy(start + (stop - start) * i as f64 / (n - 1) as f64),
            })
            .collect(),
    }
}

/// The decimal with the fewest significant digits within 4 units in the last place of `x`, or
/// `x` itself when none has 12 digits or fewer: removes the rounding noise of a computed grid
/// value (`0.1 + 2.0 * 0.2` is `0.30000000000000004`; tidied, `0.3`) and leaves a value that
/// is not a short decimal (`1.0 / 3.0`) as it is, so the value prints as its shortest
/// round-trip decimal.
pub fn tidy(x: f64) -> f64 {
    tidy_within(x, 4.0)
}

/// [`tidy`] with a tolerance of `ulps` units in the last place (a value computed through
/// `exp(ln x)` carries more noise than a sum).
pub fn tidy_within(x: f64, ulps: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    // the spacing of doubles near x (the smaller one, just below a power of two)
    let a = x.abs();
    let ulp = (f64::from_bits(a.to_bits() + 1) - a).min(a - f64::from_bits(a.to_bits() - 1));
    (0..12)
        .filter_map(|digits| format!("{x:.digits$e}").parse::<f64>().ok())
        .find(|c| (c - x).abs() <= ulps * ulp)
        .unwrap_or(x)
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

/// The `q`-quantile (linear interpolation between order statistics, numpy's default) of the
/// finite values of `v` (`NaN` if none).
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    if i + 1 < s.len() {
        s[i] * (1.0 - f) + s[i + 1] * f
    } else {
        s[i]
    }
}

/// Mean and median of the finite values (`NaN` if none).
pub fn mean_median(v: &[f64]) -> (f64, f64) {
    let mut f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    f.sort_by(f64::total_cmp);
    let n = f.len();
    let median = if n % 2 == 1 {
        f[n / 2]
    } else {
        0.5 * (f[n / 2 - 1] + f[n / 2])
    };
    (f.iter().sum::<f64>() / n as f64, median)
}

/// `(max, mean)` of the finite values (`NaN` if none).
pub fn max_mean(v: &[f64]) -> (f64, f64) {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let max = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (max, f.iter().sum::<f64>() / f.len() as f64)
}

/// The standard error of the median of the finite values of `v`, distribution-free: the
/// order statistics of ranks `n/2 -+ 1.96 sqrt(n)/2` bound a 95% interval for the median
/// (binomial with `p = 1/2`, normal approximation), read as a normal one, `se = width / 3.92`.
/// NaN with fewer than 10 finite values.
pub fn median_se(v: &[f64]) -> f64 {
    let mut f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let n = f.len();
    if n < 10 {
        return f64::NAN;
    }
    f.sort_by(f64::total_cmp);
    let k = (n as f64 / 2.0 - 1.96 * (n as f64).sqrt() / 2.0)
        .floor()
        .max(0.0) as usize;
    (f[n - 1 - k] - f[k]) / 3.92
}

/// A log-log fit `y = 10^intercept x^slope`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    /// Exponent.
    pub slope: f64,
    /// `log10` of the prefactor.
    pub intercept: f64,
}

/// Least-squares fit of `log10 y` on `log10 x` over the points with finite positive `y`.
pub fn loglog_fit(x: &[usize], y: &[f64]) -> Option<Fit> {
    let (lx, ly): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(y)
        .filter(|(_, y)| y.is_finite() && **y > 0.0)
        .map(|(&x, y)| ((x as f64).log10(), y.log10()))
        .unzip();
    linear_fit(&lx, &ly).map(|(slope, intercept)| Fit { slope, intercept })
}

/// Least-squares `y = a u^2 + b u + c` with `u = x - x0`, `x0` the mean of `x` (centred for
/// conditioning), solved by faer's column-pivoted QR; returns `(a, b, c, x0)`. `None` with
/// fewer than three points, when the design is rank-deficient (fewer than three distinct `x`,
/// judged by `R`'s diagonal) or when a coefficient is not finite.
pub fn quadratic_fit(x: &[f64], y: &[f64]) -> Option<(f64, f64, f64, f64)> {
    use faer::linalg::solvers::SolveLstsq as _;
    let n = x.len();
    if n < 3 || y.len() != n {
        return None;
    }
    let x0 = x.iter().sum::<f64>() / n as f64;
    let design = faer::Mat::<f64>::from_fn(n, 3, |i, j| {
        let u = x[i] - x0;
        [u * u, u, 1.0][j]
    });
    let rhs = faer::Mat::<f64>::from_fn(n, 1, |i, _| y[i]);
    let qr = design.col_piv_qr();
    let r = qr.R();
    let largest = r[(0, 0)].abs();
    if largest.is_nan() || largest == 0.0 || (0..3).any(|k| r[(k, k)].abs() <= 1e-12 * largest) {
        return None;
    }
    let s = qr.solve_lstsq(&rhs);
    let (a, b, c) = (s[(0, 0)], s[(1, 0)], s[(2, 0)]);
    [a, b, c]
        .iter()
        .all(|v| v.is_finite())
        .then_some((a, b, c, x0))
}

/// The standard error of the least-squares slope of `log10 mean_p x[p][i]` against
/// `log10 depths[i]` over paired samples `x[p]` (row `p`: one path at every depth), by the delta
/// method: the slope is `sum_i w_i log10 m_i` with `w_i = (u_i - mean u) / S_uu`, so to first
/// order it moves by the mean over paths of `z_p = sum_i w_i (x[p][i] - m_i) / (m_i ln 10)`,
/// and its standard error is `sd(z) / sqrt(P)`. The pairing (every depth runs on the same
/// paths) enters through `z`. `None` with fewer than two paths or depths, or a mean that is
/// not finite and positive.
pub fn paired_loglog_slope_se(depths: &[usize], x: &[Vec<f64>]) -> Option<f64> {
    let (nd, np) = (depths.len(), x.len());
    if nd < 2 || np < 2 || x.iter().any(|r| r.len() != nd) {
        return None;
    }
    let u: Vec<f64> = depths.iter().map(|&l| (l as f64).log10()).collect();
    let mu = u.iter().sum::<f64>() / nd as f64;
    let suu: f64 = u.iter().map(|v| (v - mu).powi(2)).sum();
    let m: Vec<f64> = (0..nd)
        .map(|i| x.iter().map(|r| r[i]).sum::<f64>() / np as f64)
        .collect();
    if m.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return None;
    }
    let z: Vec<f64> = x
        .iter()
        .map(|r| {
            (0..nd)
                .map(|i| (u[i] - mu) / suu * (r[i] - m[i]) / (m[i] * std::f64::consts::LN_10))
                .sum()
        })
        .collect();
    let (_, se) = mean_se(&z);
    se.is_finite().then_some(se)
}

#[cfg(test)]
mod tests {
    /// Issue 21: the paired slope's standard error by hand, and zero when every path is the
    /// same power law up to its own factor (the pairing cancels the factor).
    #[test]
    fn paired_slope_se_by_hand_and_under_pairing() {
        let se = paired_loglog_slope_se(&[10, 100], &[vec![1.0, 1.0], vec![1.0, 3.0]]).unwrap();
        assert!((se - 0.5 / std::f64::consts::LN_10).abs() < 1e-12, "{se}");
        let x: Vec<Vec<f64>> = [0.5, 1.0, 3.0]
            .iter()
            .map(|a| [16.0, 32.0, 64.0].iter().map(|l| a / l).collect())
            .collect();
        let se = paired_loglog_slope_se(&[16, 32, 64], &x).unwrap();
        assert!(se.abs() < 1e-12, "{se}");
        assert_eq!(paired_loglog_slope_se(&[16], &x), None);
        assert_eq!(
            paired_loglog_slope_se(&[16, 32], &[vec![1.0, f64::INFINITY], vec![1.0, 1.0]]),
            None
        );
    }

    #[test]
    fn grids_hold_short_decimals_not_rounding_noise() {
        let v = super::linspace(0.05, 0.95, 10);
        let text: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        assert_eq!(
            text,
            [
                "0.05", "0.15", "0.25", "0.35", "0.45", "0.55", "0.65", "0.75", "0.85", "0.95"
            ]
        );
        let v = super::linspace(0.1, 0.9, 5);
        assert_eq!(v, [0.1, 0.3, 0.5, 0.7, 0.9]);
        // the untidied formula gives the noise this removes
        assert_eq!(
            (0.1f64 + (0.9 - 0.1) / 4.0).to_string(),
            "0.30000000000000004"
        );
        // a value that is no short decimal stays (within an ulp of the plain formula)
        let third = super::linspace(0.0, 1.0, 4)[1];
        assert_eq!(third, 1.0 / 3.0);
        assert_eq!(super::tidy(0.1 + 0.2), 0.3);
        assert_eq!(super::tidy(2.0f64.ln().exp()), 2.0);
        assert_eq!(super::tidy(-1.0e-300 * 3.0), -3.0e-300);
        assert_eq!(super::tidy(f64::INFINITY), f64::INFINITY);
        assert!(super::tidy(f64::NAN).is_nan());
    }

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
    fn depth_corrected_slope_removes_a_one_over_depth_term() {
        let depths = [64.0, 128.0, 256.0, 512.0];
        // exactly L^-1 e^(0.2 + 4/L): the correction recovers -1, the plain fit does not
        let y: Vec<f64> = depths
            .iter()
            .map(|l: &f64| (0.2 - l.ln() + 4.0 / l).exp())
            .collect();
        let f = depth_corrected_slope(&depths, &y).unwrap();
        assert!((f.slope + 1.0).abs() < 1e-10, "{f:?}");
        assert!(f.plain_slope + 1.0 < -0.01, "{f:?}");
        assert!(f.plain_se > 0.0 && f.tolerance(4.0) > (f.slope - f.plain_slope).abs());
        // a pure power law: both fits exact, no scatter
        let y: Vec<f64> = depths.iter().map(|l: &f64| 3.0 * l.powf(-0.5)).collect();
        let f = depth_corrected_slope(&depths, &y).unwrap();
        assert!((f.slope + 0.5).abs() < 1e-10 && (f.plain_slope + 0.5).abs() < 1e-12);
        assert!(f.tolerance(4.0) < 1e-9, "{f:?}");
        // too few usable points
        assert!(depth_corrected_slope(&depths[..2], &y[..2]).is_none());
        assert!(depth_corrected_slope(&depths, &[1.0, f64::NAN, 0.0, 2.0]).is_none());
    }

    #[test]
    fn median_se_matches_the_normal_median_error() {
        // the median of n standard normal draws has se sqrt(pi / 2) / sqrt(n)
        let mut rng = crate::rng::stream(3, &[]);
        let n = 4000;
        let v: Vec<f64> = (0..n)
            .map(|_| rand_distr::Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng))
            .collect();
        let want = (std::f64::consts::PI / 2.0).sqrt() / (n as f64).sqrt();
        let got = median_se(&v);
        assert!((got / want - 1.0).abs() < 0.2, "{got} vs {want}");
        assert!(median_se(&v[..9]).is_nan());
    }

    #[test]
    fn quantiles_medians_and_maxima_of_finite_values() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), 2.0);
        assert_eq!(quantile(&[1.0, 2.0], 0.25), 1.25);
        assert_eq!(quantile(&[1.0, f64::NAN, 2.0, 9.0], 1.0), 9.0);
        assert!(quantile(&[f64::NAN], 0.5).is_nan());
        assert_eq!(mean_median(&[3.0, f64::NAN, 1.0, 2.0]), (2.0, 2.0));
        assert_eq!(mean_median(&[1.0, 2.0, 3.0, 6.0]), (3.0, 2.5));
        assert!(mean_median(&[f64::NAN]).0.is_nan());
        assert_eq!(max_mean(&[1.0, f64::INFINITY, 5.0, 3.0]), (5.0, 3.0));
        assert!(max_mean(&[f64::NAN]).0.is_nan());
        let f = loglog_fit(&[10, 100, 1000, 7], &[3.0, 0.3, 0.03, 0.0]).unwrap();
        assert!((f.slope + 1.0).abs() < 1e-12 && (f.intercept - 30f64.log10()).abs() < 1e-12);
    }

    #[test]
    fn quadratic_fit_recovers_a_parabola_and_is_least_squares() {
        let x: Vec<f64> = (0..7).map(|i| -3.0 + i as f64 * 0.5).collect();
        let (a, b, c, x0) = quadratic_fit(
            &x,
            &x.iter().map(|v| 2.0 * v * v - v + 0.5).collect::<Vec<_>>(),
        )
        .unwrap();
        // 2 x^2 - x + 0.5 around x0 = -1.5: a = 2, b = 4 x0 - 1, c = 2 x0^2 - x0 + 0.5
        assert!((x0 + 1.5).abs() < 1e-15);
        assert!((a - 2.0).abs() < 1e-12 && (b + 7.0).abs() < 1e-12 && (c - 6.5).abs() < 1e-12);
        // with noise: the residual is orthogonal to every column of the design
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| v * v + [0.1, -0.2, 0.05, 0.3, -0.1, 0.0, 0.2][i])
            .collect();
        let (a, b, c, x0) = quadratic_fit(&x, &y).unwrap();
        for col in [|u: f64| u * u, |u: f64| u, |_: f64| 1.0] {
            let dot: f64 = x
                .iter()
                .zip(&y)
                .map(|(v, w)| {
                    let u = v - x0;
                    (w - (a * u * u + b * u + c)) * col(u)
                })
                .sum();
            assert!(dot.abs() < 1e-12, "{dot}");
        }
        // fewer than three distinct abscissae: no parabola
        assert!(quadratic_fit(&[1.0, 1.0, 2.0, 2.0], &[0.0, 1.0, 2.0, 3.0]).is_none());
        assert!(quadratic_fit(&[1.0, 2.0], &[0.0, 1.0]).is_none());
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
