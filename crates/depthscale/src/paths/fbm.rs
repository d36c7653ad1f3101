//! Fractional Gaussian noise (fGn) by circulant embedding (Davies-Harte).
//!
//! The autocovariance of unit-variance fGn of Hurst index `H` is
//! `gamma(k) = (|k-1|^{2H} - 2|k|^{2H} + |k+1|^{2H}) / 2`. The `n x n` Toeplitz covariance is
//! embedded in the symmetric circulant of size `m = 2n` with first row
//! `gamma(0), .., gamma(n), gamma(n-1), .., gamma(1)`, whose eigenvalues `lambda` (one FFT) are
//! non-negative for every `0 < H < 1`. Then, with `z_1, z_2` independent standard normal vectors
//! of length `m`, the real and imaginary parts of the first `n` entries of
//! `FFT(sqrt(lambda / m) * (z_1 + i z_2))` are two independent fGn paths.

use crate::budget::{Footprint, bytes, largest};
use crate::progress::{Progress, check_cancelled};
use crate::{Error, Float, Result};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Pairs of paths generated per block before they are scattered into the layer-major output.
const PAIRS: usize = 8;

/// What depends only on `(n, H)`: the square roots of the circulant eigenvalues and the FFT plan.
pub struct FgnPlan {
    n: usize,
    hurst: f64,
    /// `sqrt(lambda_j / m)`, `j = 0..m`.
    sqrt_eig: Vec<f64>,
    fft: Arc<dyn Fft<f64>>,
}

/// The autocovariance `gamma(k)` of unit-variance fractional Gaussian noise at lag `k`.
pub fn autocovariance(hurst: f64, k: usize) -> f64 {
    let h2 = 2.0 * hurst;
    match k {
        0 => 1.0,
        1 => 0.5 * (2f64.powf(h2) - 2.0),
        _ => {
            // k^{2H} ((1 - 1/k)^{2H} - 2 + (1 + 1/k)^{2H}) / 2, written with expm1/ln_1p to
            // avoid cancelling two large powers at long lags.
            let x = 1.0 / k as f64;
            let kf = k as f64;
            0.5 * kf.powf(h2) * ((h2 * (-x).ln_1p()).exp_m1() + (h2 * x.ln_1p()).exp_m1())
        }
    }
}

impl FgnPlan {
    /// Precomputes the plan for paths of length `n` and Hurst index `hurst`.
    ///
    /// Fails with a config error for `n = 0` or `hurst` outside `(0, 1)`, and with a numerical
    /// error if the circulant has an eigenvalue below `-1e-8` times the largest (eigenvalues
    /// above that are rounding noise and are clamped to zero).
    pub fn new(n: usize, hurst: f64) -> Result<Self> {
        if !(hurst > 0.0 && hurst < 1.0) {
            return Err(Error::config(
                "hurst",
                format!("Hurst index must lie in the open interval (0, 1), got {hurst}"),
            ));
        }
        if n == 0 {
            return Err(Error::config("depth", "fGn paths need length n >= 1"));
        }
        let m = 2 * n;
        // the mutant test's reference bug (inert unless DEPTHSCALE_MUTANT=fgn-reference):
        // r[N] = 0, and the first eigenvalue reused for the last
        let bug = crate::mutant::is(crate::mutant::Mutant::FgnReference);
        // the mutant test's fGn of index H/2 (inert unless DEPTHSCALE_MUTANT=fgn-exponent)
        let h_cov = if crate::mutant::is(crate::mutant::Mutant::FgnExponent) {
            0.5 * hurst
        } else {
            hurst
        };
        let mut buf: Vec<Complex<f64>> = (0..m)
            .map(|j| match j {
                _ if bug && j == n => Complex::new(0.0, 0.0),
                _ => Complex::new(autocovariance(h_cov, if j <= n { j } else { m - j }), 0.0),
            })
            .collect();
        let fft = FftPlanner::new().plan_fft_forward(m);
        fft.process(&mut buf);
        if bug {
            buf[m - 1] = buf[0];
        }
        let max = buf.iter().map(|c| c.re).fold(0.0, f64::max);
        // the mutant test's halved variance (inert unless DEPTHSCALE_MUTANT=fgn-variance)
        let norm = if crate::mutant::is(crate::mutant::Mutant::FgnVariance) {
            2.0 * m as f64
        } else {
            m as f64
        };
        let mut sqrt_eig = Vec::with_capacity(m);
        for (j, c) in buf.iter().enumerate() {
            let lambda = c.re;
            if lambda < 0.0 && -lambda > 1e-8 * max && !bug {
                return Err(Error::Numerical(format!(
                    "circulant embedding of fGn (n = {n}, H = {hurst}) has eigenvalue {j} = \
                     {lambda:e} < 0 (largest {max:e})"
                )));
            }
            sqrt_eig.push((lambda.max(0.0) / norm).sqrt());
        }
        Ok(Self {
            n,
            hurst,
            sqrt_eig,
            fft,
        })
    }

    /// The Hurst index.
    pub fn hurst(&self) -> f64 {
        self.hurst
    }

    /// The path length `n`.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always `false`: plans have length at least 1.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The circulant eigenvalues `lambda_j`, `j = 0..2n` (after clamping).
    pub fn eigenvalues(&self) -> impl Iterator<Item = f64> + '_ {
        let m = self.sqrt_eig.len() as f64;
        self.sqrt_eig.iter().map(move |s| s * s * m)
    }

    /// Size of the scratch buffer the FFT needs.
    fn fft_scratch_len(&self) -> usize {
        self.fft.get_inplace_scratch_len()
    }

    /// Draws a pair of paths into `buf` (length `2n`): afterwards its first `n` entries hold them
    /// in their real and imaginary parts.
    fn draw_into<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        buf: &mut [Complex<f64>],
        fft_scratch: &mut [Complex<f64>],
    ) {
        for (c, &s) in buf.iter_mut().zip(&self.sqrt_eig) {
            let re: f64 = StandardNormal.sample(rng);
            let im: f64 = StandardNormal.sample(rng);
            *c = Complex::new(s * re, s * im);
        }
        self.fft.process_with_scratch(buf, fft_scratch);
    }

    /// Fills `a` and `b` (each of length `n`) with two independent unit-variance fGn paths,
    /// using one complex FFT of size `2n`. Allocates only if `scratch` is too small.
    pub fn fill_pair<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        scratch: &mut Vec<Complex<f64>>,
        a: &mut [f64],
        b: &mut [f64],
    ) {
        assert!(
            a.len() == self.n && b.len() == self.n,
            "fill_pair: paths must have length n"
        );
        let m = self.sqrt_eig.len();
        let need = m + self.fft_scratch_len();
        if scratch.len() < need {
            scratch.resize(need, Complex::new(0.0, 0.0));
        }
        let (buf, fft_scratch) = scratch[..need].split_at_mut(m);
        self.draw_into(rng, buf, fft_scratch);
        for ((x, y), c) in a.iter_mut().zip(b.iter_mut()).zip(&buf[..self.n]) {
            *x = c.re;
            *y = c.im;
        }
    }
}

/// Fills `out` (`depth x entries`, layer-major: `out[k * entries + e]`) with `entries`
/// independent fGn paths over depth, times `scale`.
/// Stops with [`Error::Interrupted`] between blocks of paths when `progress` is cancelled.
pub(super) fn sample_stack<T: Float, R: Rng + ?Sized>(
    plan: &FgnPlan,
    depth: usize,
    entries: usize,
    scale: f64,
    rng: &mut R,
    out: &mut [T],
    progress: &dyn Progress,
) -> Result<()> {
    assert_eq!(plan.len(), depth, "fGn plan has the wrong length");
    assert_eq!(out.len(), depth * entries, "fGn stack has the wrong size");
    let m = 2 * depth;
    let zero = Complex::new(0.0, 0.0);
    // PAIRS transforms of length m, side by side, then the FFT's own scratch
    let mut bufs = vec![zero; PAIRS * m];
    let mut fft_scratch = vec![zero; plan.fft_scratch_len()];
    let mut e0 = 0;
    while e0 < entries {
        check_cancelled(progress)?;
        let width = (2 * PAIRS).min(entries - e0);
        let pairs = width.div_ceil(2);
        for buf in bufs.chunks_exact_mut(m).take(pairs) {
            plan.draw_into(rng, buf, &mut fft_scratch);
        }
        for (k, dst) in out.chunks_exact_mut(entries).enumerate() {
            for (q, d) in dst[e0..e0 + width].chunks_mut(2).enumerate() {
                let c = bufs[q * m + k];
                d[0] = T::of(c.re * scale);
                if let Some(x) = d.get_mut(1) {
                    *x = T::of(c.im * scale);
                }
            }
        }
        e0 += width;
    }
    Ok(())
}

/// The memory of a Davies-Harte plan for paths of length `n` and of drawing with it (the
/// eigenvalues, the FFT's buffers and scratch, [`PAIRS`] transforms at once); `field` names
/// `n`.
pub fn plan_footprint(f: Footprint, field: &'static str, n: usize) -> Footprint {
    f.memory(
        field,
        "the circulant embedding (eigenvalues, FFT buffers and scratch of length 2 n)",
        bytes(16, &[2, n]).saturating_mul(4 + PAIRS as u128),
    )
}

/// `paths` independent unit-variance fGn paths of length `n`, one after the other (`paths x n`,
/// row-major): the same numbers as [`super::Init::sample_stack`] of `fbm(hurst)` with
/// `depth = n`, `rows = paths`, `cols = 1` and the same `rng`, transposed. The memory is checked
/// first ([`crate::budget::check_memory`], errors name `n` or `paths`), and `progress` is
/// checked for cancellation between pairs of paths.
pub fn fgn_rows<R: Rng + ?Sized>(
    n: usize,
    hurst: f64,
    paths: usize,
    rng: &mut R,
    progress: &dyn Progress,
) -> Result<Vec<f64>> {
    for (field, v) in [("n", n), ("paths", paths)] {
        if v == 0 {
            return Err(Error::config(field, "must be a positive integer (>= 1)"));
        }
    }
    let len = crate::budget::len(largest(&[("n", n), ("paths", paths)]), 8, &[n, paths])?;
    let footprint = plan_footprint(Footprint::default(), "n", n).memory(
        largest(&[("n", n), ("paths", paths)]),
        "the paths (paths x n f64)",
        bytes(8, &[n, paths]),
    );
    crate::budget::check_memory(&footprint)?;
    let plan = FgnPlan::new(n, hurst)?;
    check_cancelled(progress)?;
    let mut out = vec![0.0f64; len];
    let mut scratch = Vec::new();
    let mut spare = Vec::new();
    // pair by pair, as `sample_stack` draws them: rows 2j and 2j + 1 from the real and
    // imaginary parts of one transform
    for pair in out.chunks_mut(2 * n) {
        check_cancelled(progress)?;
        if pair.len() == 2 * n {
            let (a, b) = pair.split_at_mut(n);
            plan.fill_pair(rng, &mut scratch, a, b);
        } else {
            spare.resize(n, 0.0);
            plan.fill_pair(rng, &mut scratch, pair, &mut spare);
        }
    }
    Ok(out)
}

/// The values `B_H(k/n)`, `k = 0..=n`, of a standard fractional Brownian motion on `[0, 1]`
/// (`B_H(0) = 0`, `Var B_H(t) = t^{2H}`): the cumulative sum of fGn, times `n^{-H}`.
pub fn fbm_path<R: Rng + ?Sized>(n: usize, hurst: f64, rng: &mut R) -> Result<Vec<f64>> {
    let plan = FgnPlan::new(n, hurst)?;
    let mut noise = vec![0.0; n];
    let mut other = vec![0.0; n];
    plan.fill_pair(rng, &mut Vec::new(), &mut noise, &mut other);
    let c = (n as f64).powf(-hurst);
    let mut path = Vec::with_capacity(n + 1);
    let mut acc = 0.0;
    path.push(0.0);
    for x in noise {
        acc += x;
        path.push(acc * c);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;
    use crate::rng;

    /// Empirical autocovariance of fGn at lags `0..=3`, averaged over all pairs `(t, t+k)` of
    /// `paths` paths of length `n`.
    fn empirical_acov(plan: &FgnPlan, paths: usize, seed: u64) -> [f64; 4] {
        let n = plan.len();
        let mut r = rng::stream(seed, &[]);
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        let mut scratch = Vec::new();
        let mut acc = [0.0; 4];
        for _ in 0..paths / 2 {
            plan.fill_pair(&mut r, &mut scratch, &mut a, &mut b);
            for x in [&a, &b] {
                for (k, s) in acc.iter_mut().enumerate() {
                    *s += (0..n - k).map(|t| x[t] * x[t + k]).sum::<f64>() / (n - k) as f64;
                }
            }
        }
        acc.map(|s| s / paths as f64)
    }

    #[test]
    fn autocovariance_matches_closed_forms() {
        assert!((autocovariance(0.5, 1)).abs() < 1e-15);
        assert!((autocovariance(0.5, 7)).abs() < 1e-15);
        for h in [0.2, 0.8] {
            for k in [1usize, 2, 5, 50, 5000] {
                let kf = k as f64;
                let naive = 0.5
                    * ((kf - 1.0).powf(2.0 * h) - 2.0 * kf.powf(2.0 * h)
                        + (kf + 1.0).powf(2.0 * h));
                assert!((autocovariance(h, k) - naive).abs() < 1e-9, "H={h} k={k}");
            }
        }
        // reference lag-1 autocorrelations 2^{2H-1} - 1
        assert!((autocovariance(0.2, 1) + 0.340).abs() < 1e-3);
        assert!((autocovariance(0.8, 1) - 0.516).abs() < 1e-3);
    }

    #[test]
    fn empirical_autocovariance_matches_gamma() {
        // 400 paths of length 1000. A path's lag-k mean product has variance about
        // (2/n) sum_{|j|<n} gamma(j)^2: ~0.003 for H <= 0.5 and, with long memory
        // (gamma(j) ~ 0.48 j^{-0.4}), ~0.014 for H = 0.8. Over 400 independent paths the sd is
        // at most 0.006, so 0.03 is 5 sd.
        for (i, h) in [0.2, 0.5, 0.8].into_iter().enumerate() {
            let plan = FgnPlan::new(1000, h).unwrap();
            let emp = empirical_acov(&plan, 400, 11 + i as u64);
            for (k, e) in emp.iter().enumerate() {
                let want = autocovariance(h, k);
                assert!((e - want).abs() < 0.03, "H={h} lag {k}: {e} vs {want}");
            }
        }
    }

    #[test]
    fn circulant_eigenvalues_are_nonnegative() {
        for h in [0.01, 0.5, 0.99] {
            for n in [10, 1000, 10000] {
                let plan = FgnPlan::new(n, h).unwrap();
                let eig: Vec<f64> = plan.eigenvalues().collect();
                assert_eq!(eig.len(), 2 * n);
                assert!(eig.iter().all(|&l| l >= 0.0 && l.is_finite()));
                // the eigenvalues average to gamma(0) = 1 (trace of the circulant / m)
                let mean = eig.iter().sum::<f64>() / eig.len() as f64;
                assert!((mean - 1.0).abs() < 1e-8, "H={h} n={n}: mean {mean}");
            }
        }
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        for h in [0.0, 1.0, -0.3, 1.5, f64::NAN] {
            assert!(matches!(FgnPlan::new(10, h), Err(Error::Config { .. })));
        }
        assert!(FgnPlan::new(0, 0.5).is_err());
        assert!(fbm_path(10, 1.2, &mut rng::stream(0, &[])).is_err());
        // n = 1 is valid: a single standard normal
        assert!(FgnPlan::new(1, 0.3).is_ok());
    }

    #[test]
    fn fbm_path_has_variance_t_to_the_2h() {
        // 2000 paths: the sample variance of a Gaussian has relative sd sqrt(2/2000) = 0.032,
        // so a relative tolerance of 0.13 is 4 standard deviations.
        let (n, paths) = (256, 2000);
        for h in [0.25, 0.75] {
            let mut r = rng::stream(5, &[(h * 100.0) as u64]);
            let mut var = vec![0.0; n + 1];
            for _ in 0..paths {
                let p = fbm_path(n, h, &mut r).unwrap();
                assert_eq!(p.len(), n + 1);
                assert_eq!(p[0], 0.0);
                for (v, x) in var.iter_mut().zip(&p) {
                    *v += x * x / paths as f64;
                }
            }
            for k in [n / 8, n / 2, n] {
                let t = k as f64 / n as f64;
                let want = t.powf(2.0 * h);
                assert!(
                    (var[k] / want - 1.0).abs() < 0.13,
                    "H={h} t={t}: {} vs {want}",
                    var[k]
                );
            }
        }
    }

    #[test]
    fn stack_has_variance_scale_squared_and_is_reproducible() {
        let (depth, entries, scale) = (200, 37, 0.3);
        let plan = FgnPlan::new(depth, 0.7).unwrap();
        let mut out = vec![0.0f64; depth * entries];
        sample_stack(
            &plan,
            depth,
            entries,
            scale,
            &mut rng::stream(3, &[1]),
            &mut out,
            &Silent,
        )
        .unwrap();
        let mut again = vec![0.0f64; depth * entries];
        sample_stack(
            &plan,
            depth,
            entries,
            scale,
            &mut rng::stream(3, &[1]),
            &mut again,
            &Silent,
        )
        .unwrap();
        assert_eq!(out, again);
        // Per-entry variance: average of x^2 over 200 layers and 37 independent entries. With
        // H = 0.7 a path's time average of x^2 has variance (2/n) sum_{|j|<n} gamma(j)^2 ~ 0.016,
        // so the mean over 37 paths has sd ~0.02 and 0.15 is 7 sd.
        let v = out.iter().map(|x| x * x).sum::<f64>() / out.len() as f64;
        assert!((v / (scale * scale) - 1.0).abs() < 0.15, "variance {v}");
        // entries are independent paths: neighbouring entries are uncorrelated (sd of this
        // time average ~0.09, tolerance 4.4 sd)
        let cross = (0..depth)
            .map(|k| out[k * entries] * out[k * entries + 1])
            .sum::<f64>()
            / depth as f64
            / (scale * scale);
        assert!(cross.abs() < 0.4, "cross-correlation {cross}");
        // layer-major: entry e's path over k shows the lag-1 correlation 2^{2H-1}-1 = 0.32
        // (sd of the estimate over 37 paths ~0.02; tolerance 5 sd)
        let lag1 = (0..entries)
            .map(|e| {
                (0..depth - 1)
                    .map(|k| out[k * entries + e] * out[(k + 1) * entries + e])
                    .sum::<f64>()
                    / (depth - 1) as f64
            })
            .sum::<f64>()
            / entries as f64
            / (scale * scale);
        assert!((lag1 - autocovariance(0.7, 1)).abs() < 0.1, "lag1 {lag1}");
    }

    #[test]
    #[ignore = "timing; run with --ignored --nocapture"]
    fn time_stack_40x40x1000() {
        fn best<F: FnMut()>(mut f: F) -> std::time::Duration {
            (0..15)
                .map(|_| {
                    let t = std::time::Instant::now();
                    f();
                    t.elapsed()
                })
                .min()
                .unwrap()
        }
        let plan = FgnPlan::new(1000, 0.7).unwrap();
        let mut r = rng::stream(0, &[]);
        let mut out = vec![0.0f64; 1000 * 1600];
        let t64 =
            best(|| sample_stack(&plan, 1000, 1600, 0.025, &mut r, &mut out, &Silent).unwrap());
        let mut out32 = vec![0.0f32; 1000 * 1600];
        let t32 =
            best(|| sample_stack(&plan, 1000, 1600, 0.025, &mut r, &mut out32, &Silent).unwrap());
        let mut z = vec![0.0f64; 3_200_000];
        let tn = best(|| {
            z.iter_mut()
                .for_each(|x| *x = StandardNormal.sample(&mut r))
        });
        let mut buf = vec![Complex::new(1.0, 0.5); 2000];
        let mut sc = vec![Complex::new(0.0, 0.0); plan.fft.get_inplace_scratch_len()];
        let tf = best(|| (0..800).for_each(|_| plan.fft.process_with_scratch(&mut buf, &mut sc)));
        eprintln!(
            "fbm stack 40x40x1000, best of 15: f64 {t64:?}, f32 {t32:?}; \
             of which 3.2M normals {tn:?}, 800 FFTs of 2000 {tf:?}"
        );
    }
}
