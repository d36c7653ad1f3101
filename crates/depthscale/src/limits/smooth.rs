//! Smooth matrix paths given by trigonometric series, evaluable at every `t`.
//!
//! A [`FourierPath`] is a smooth weight function
//! `V_e(t) = sum_b a[b, e] cos(w_b t) + c[b, e] sin(w_b t)` (one series per entry `e` of the
//! `d x d` matrix, shared frequencies `w_b`). As a [`MatrixPath`] it drives a network through
//! its integral `X(t) = int_0^t V(s) ds`, known in closed form, so that the increment of `X`
//! over a layer's interval is `1/L` times the mean of `V` there.
//!
//! [`FourierPath::rbf`] draws the entries as independent Gaussian processes whose covariance is
//! the RBF kernel `k(s, t) = exp(-(s - t)^2 / (2 bw^2))` made periodic with period
//! `P = 1 + 8 bw` (the `bw` of `crate::paths::rbf`): the Fourier series of the periodised
//! kernel has coefficients `c_0 = bw sqrt(2 pi) / P`, `c_n = 2 bw sqrt(2 pi) / P
//! exp(-w_n^2 bw^2 / 2)` at `w_n = 2 pi n / P`, and with independent standard normal `a_n, b_n`
//! the series `sum_n sqrt(c_n) (a_n cos(w_n t) + b_n sin(w_n t))` has covariance
//! `sum_n c_n cos(w_n (s - t)) = sum_m k(s - t + m P)`. On `[0, 1]`, `|s - t| <= 1`, so the
//! periodic images add at most `2 exp(-(P - 1)^2 / (2 bw^2)) = 2 e^{-32} ~ 3e-14`: the exact RBF
//! process to rounding, evaluable at any `t` (the grid-based sampler of `paths::rbf` only gives
//! values on one grid). The series is cut where `c_n` falls below `1e-16 c_0`.
//!
//! [`FourierPath::sines`] is a deterministic sum of sines with fixed phases.

use super::path::MatrixPath;
use crate::{Error, Result};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// A smooth `d x d` weight function `V(t)` as a trigonometric series; drives networks through
/// its integral `X(t) = int_0^t V`.
#[derive(Clone, Debug)]
pub struct FourierPath {
    dim: usize,
    /// Angular frequencies `w_b`.
    omega: Vec<f64>,
    /// Cosine coefficients, basis-major: `a[b * d^2 + e]`.
    a: Vec<f64>,
    /// Sine coefficients, basis-major.
    c: Vec<f64>,
}

impl FourierPath {
    /// The path with frequencies `omega` and cosine/sine coefficients `a`, `c` (basis-major,
    /// `omega.len() * dim^2` each).
    pub fn from_coefficients(dim: usize, omega: Vec<f64>, a: Vec<f64>, c: Vec<f64>) -> Self {
        let m = dim * dim;
        assert!(
            a.len() == omega.len() * m && c.len() == a.len(),
            "Fourier path: coefficients must hold omega.len() * dim^2 numbers each"
        );
        assert!(
            omega.iter().all(|w| w.is_finite() && *w >= 0.0),
            "Fourier path: frequencies must be finite and non-negative"
        );
        Self { dim, omega, a, c }
    }

    /// A draw of `scale` times a `dim x dim` matrix of independent unit-variance RBF Gaussian
    /// processes of bandwidth `bandwidth` (see the module docs for the construction).
    pub fn rbf<R: Rng + ?Sized>(
        dim: usize,
        bandwidth: f64,
        scale: f64,
        rng: &mut R,
    ) -> Result<Self> {
        let weights = rbf_spectrum(bandwidth)?;
        let m = dim * dim;
        let mut omega = Vec::with_capacity(weights.len());
        let (mut a, mut c) = (Vec::new(), Vec::new());
        let period = 1.0 + 8.0 * bandwidth;
        for (n, w) in weights.iter().enumerate() {
            omega.push(2.0 * std::f64::consts::PI * n as f64 / period);
            let s = scale * w.sqrt();
            for _ in 0..m {
                let za: f64 = StandardNormal.sample(rng);
                let zc: f64 = StandardNormal.sample(rng);
                a.push(s * za);
                // sin(0 t) = 0: the constant term has no sine part
                c.push(if n == 0 { 0.0 } else { s * zc });
            }
        }
        Ok(Self::from_coefficients(dim, omega, a, c))
    }

    /// The deterministic path `V_e(t) = scale sqrt(2/modes) sum_{n=1}^{modes} cos(2 pi n t +
    /// theta_{e,n})` with phases `theta_{e,n} = 2 pi frac(phi (e modes + n))` (`phi` the golden
    /// ratio): each entry has mean square `scale^2` over `[0, 1]`.
    pub fn sines(dim: usize, modes: usize, scale: f64) -> Self {
        let m = dim * dim;
        let golden = 0.5 * (1.0 + 5f64.sqrt());
        let amp = scale * (2.0 / modes.max(1) as f64).sqrt();
        let mut omega = Vec::with_capacity(modes);
        let (mut a, mut c) = (Vec::new(), Vec::new());
        for n in 1..=modes {
            omega.push(2.0 * std::f64::consts::PI * n as f64);
            for e in 0..m {
                let theta = 2.0 * std::f64::consts::PI * (golden * (e * modes + n) as f64).fract();
                // cos(x + theta) = cos(theta) cos(x) - sin(theta) sin(x)
                a.push(amp * theta.cos());
                c.push(-amp * theta.sin());
            }
        }
        Self::from_coefficients(dim, omega, a, c)
    }

    /// Number of terms of the series.
    pub fn terms(&self) -> usize {
        self.omega.len()
    }

    /// The angular frequencies `w_b` of the series.
    pub fn frequencies(&self) -> &[f64] {
        &self.omega
    }

    /// The cosine and sine coefficients `(a, c)`, basis-major (`terms() * dim^2` each).
    pub fn coefficients(&self) -> (&[f64], &[f64]) {
        (&self.a, &self.c)
    }

    /// Writes `sum_b f_b(t) a[b] + g_b(t) c[b]` into `out`.
    fn combine(&self, out: &mut [f64], basis: impl Fn(f64) -> (f64, f64)) {
        let m = self.dim * self.dim;
        assert_eq!(out.len(), m, "Fourier path: wrong output length");
        out.fill(0.0);
        for ((w, a), c) in self
            .omega
            .iter()
            .zip(self.a.chunks_exact(m))
            .zip(self.c.chunks_exact(m))
        {
            let (f, g) = basis(*w);
            for ((o, x), y) in out.iter_mut().zip(a).zip(c) {
                *o += f * x + g * y;
            }
        }
    }

    /// The weights `V(t)` (`d x d`, row-major).
    pub fn value(&self, t: f64, out: &mut [f64]) {
        self.combine(out, |w| {
            let (s, c) = (w * t).sin_cos();
            (c, s)
        });
    }

    /// The driving path `X(t) = int_0^t V(s) ds`.
    pub fn integral(&self, t: f64, out: &mut [f64]) {
        self.combine(out, |w| integral_basis(w, t));
    }
}

/// `(int_0^t cos(w s) ds, int_0^t sin(w s) ds)`.
fn integral_basis(w: f64, t: f64) -> (f64, f64) {
    if w == 0.0 {
        (t, 0.0)
    } else {
        let (s, c) = (w * t).sin_cos();
        (s / w, (1.0 - c) / w)
    }
}

/// The variances `c_n` of the terms `n = 0, 1, ..` of the periodised RBF series of bandwidth
/// `bandwidth` (summing to one), cut below `1e-16 c_0`.
fn rbf_spectrum(bandwidth: f64) -> Result<Vec<f64>> {
    if !(0.01..=10.0).contains(&bandwidth) {
        return Err(Error::config(
            "driver",
            format!("rbf bandwidth must lie in [0.01, 10], got {bandwidth}"),
        ));
    }
    let period = 1.0 + 8.0 * bandwidth;
    let base = bandwidth * (2.0 * std::f64::consts::PI).sqrt() / period;
    let mut w = vec![base];
    for n in 1.. {
        let om = 2.0 * std::f64::consts::PI * n as f64 / period;
        let decay = (-0.5 * om * om * bandwidth * bandwidth).exp();
        if decay < 1e-16 {
            break;
        }
        w.push(2.0 * base * decay);
    }
    let total: f64 = w.iter().sum();
    Ok(w.into_iter().map(|x| x / total).collect())
}

impl MatrixPath for FourierPath {
    fn dim(&self) -> usize {
        self.dim
    }

    fn observes(&self, n: usize) -> bool {
        n >= 1
    }

    fn increment(&self, n: usize, k: usize, out: &mut [f64]) {
        assert!((1..=n).contains(&k), "increment index {k} outside 1..={n}");
        let (t0, t1) = ((k - 1) as f64 / n as f64, k as f64 / n as f64);
        self.combine(out, |w| {
            let (f1, g1) = integral_basis(w, t1);
            let (f0, g0) = integral_basis(w, t0);
            (f1 - f0, g1 - g0)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    fn kernel(s: f64, t: f64, bw: f64) -> f64 {
        (-(s - t) * (s - t) / (2.0 * bw * bw)).exp()
    }

    #[test]
    fn rbf_series_reproduces_the_kernel_on_the_unit_interval() {
        // exact covariance of the series: sum_n c_n cos(w_n (s - t))
        for bw in [0.05, 0.2, 1.0] {
            let c = rbf_spectrum(bw).unwrap();
            let period = 1.0 + 8.0 * bw;
            for tau in [0.0, 0.01, 0.1, 0.37, 0.8, 1.0] {
                let cov: f64 = c
                    .iter()
                    .enumerate()
                    .map(|(n, cn)| {
                        cn * (2.0 * std::f64::consts::PI * n as f64 / period * tau).cos()
                    })
                    .sum();
                let want = kernel(0.0, tau, bw);
                assert!(
                    (cov - want).abs() < 1e-12,
                    "bw {bw} tau {tau}: {cov} vs {want}"
                );
            }
        }
        assert!(rbf_spectrum(0.0).is_err());
        assert!(rbf_spectrum(f64::NAN).is_err());
    }

    #[test]
    fn rbf_draws_have_the_kernel_covariance() {
        // 2000 draws of a 2 x 2 path (8000 entry paths): sample covariances have sd
        // <= sqrt(2/8000) = 0.016; 0.07 is > 4 sd.
        let (bw, scale) = (0.2, 0.5);
        let times = [0.0, 0.13, 0.5, 0.99];
        let mut acc = [[0.0; 4]; 4];
        let mut vals = [[0.0; 4]; 4];
        let draws = 2000;
        for i in 0..draws {
            let p = FourierPath::rbf(2, bw, scale, &mut rng::stream(5, &[i])).unwrap();
            for (v, &t) in vals.iter_mut().zip(&times) {
                p.value(t, v);
            }
            for (row, va) in acc.iter_mut().zip(&vals) {
                for (x, vb) in row.iter_mut().zip(&vals) {
                    *x += va.iter().zip(vb).map(|(p, q)| p * q).sum::<f64>();
                }
            }
        }
        for a in 0..4 {
            for b in 0..4 {
                let emp = acc[a][b] / (draws as f64 * 4.0) / (scale * scale);
                let want = kernel(times[a], times[b], bw);
                assert!((emp - want).abs() < 0.07, "({a},{b}): {emp} vs {want}");
            }
        }
    }

    #[test]
    fn increments_integrate_the_values() {
        // Simpson's rule on V over [s, t] against the closed-form increment of X.
        let p = FourierPath::rbf(3, 0.1, 1.0, &mut rng::stream(2, &[])).unwrap();
        let q = FourierPath::sines(3, 4, 1.0);
        for path in [&p, &q] {
            let (n, k) = (10, 7);
            let mut inc = vec![0.0; 9];
            path.increment(n, k, &mut inc);
            let (s, t) = (0.6, 0.7);
            let fine = 2000;
            let mut simpson = [0.0; 9];
            let mut v = vec![0.0; 9];
            for j in 0..=fine {
                let w = if j == 0 || j == fine {
                    1.0
                } else if j % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                path.value(s + (t - s) * j as f64 / fine as f64, &mut v);
                for (a, b) in simpson.iter_mut().zip(&v) {
                    *a += w * b * (t - s) / fine as f64 / 3.0;
                }
            }
            for (a, b) in simpson.iter().zip(&inc) {
                assert!((a - b).abs() < 1e-10, "{a} vs {b}");
            }
            let mut x = vec![0.0; 9];
            path.integral(0.0, &mut x);
            assert!(x.iter().all(|v| *v == 0.0));
        }
    }

    #[test]
    fn sines_have_mean_square_scale_squared() {
        let p = FourierPath::sines(2, 3, 0.5);
        let n = 1000;
        let mut v = vec![0.0; 4];
        let mut ms = [0.0; 4];
        for j in 0..n {
            p.value(j as f64 / n as f64, &mut v);
            for (m, x) in ms.iter_mut().zip(&v) {
                *m += x * x / n as f64;
            }
        }
        // periodic trigonometric polynomial: the rectangle rule is exact
        for m in ms {
            assert!((m - 0.25).abs() < 1e-12, "{m}");
        }
    }
}
