//! Smooth Gaussian-process weights: paths of the unit-variance GP with kernel
//! `k(s, t) = exp(-(s - t)^2 / (2 bw^2))` over `t in [0, 1]`.
//!
//! - [`RbfVariant::Values`]: the path at `t_k = k/L`, `k = 1..=L`;
//! - [`RbfVariant::Increments`]: the increments `path(t_k) - path(t_{k-1})` on the grid
//!   `0, 1/L, .., 1`, normalised by their mean standard deviation
//!   `sqrt(2 - 2 exp(-(1/L)^2 / (2 bw^2)))` (exact here: on a uniform grid every increment has
//!   that standard deviation, so the weights have unit variance).
//!
//! Both covariances are Toeplitz with unit diagonal and numerically low rank (for `L = 1000`,
//! `bw = 0.1`, about 30 eigenvalues exceed `1e-12` times the largest). They are factored as
//! `F F^T ~= C`, `F` of shape `L x rank`, in two steps that cost `O(L rank^2)` instead of a full
//! `O(L^3)` eigendecomposition (which takes minutes at `L = 5000`):
//! 1. a diagonally pivoted Cholesky factorisation `C ~= G G^T`, stopped when every residual
//!    diagonal entry is below `1e-13` (the residual is positive semi-definite, so every entry of
//!    `C - G G^T` is then below `1e-13` in absolute value);
//! 2. the symmetric eigendecomposition (faer) of the small matrix `G^T G = V S V^T`, whose
//!    eigenvalues are those of `G G^T`. Eigenvalues below `1e-12` times the largest are clipped to
//!    zero (they are rounding noise of a near-singular matrix) and `F = G V_kept`, so
//!    `F F^T = U_kept S_kept U_kept^T` is the clipped eigendecomposition of `G G^T`.
//!
//! A path is `F z` with `z ~ N(0, I_rank)`; a stack of paths is one matrix product.

use super::RbfVariant;
use crate::budget::{Footprint, bytes};
use crate::linalg::{MatMut, MatRef, matmul};
use crate::progress::{Progress, Silent, check_cancelled};
use crate::{Error, Float, Result};
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Pivoted Cholesky stops once every residual variance is below this (covariances have unit
/// diagonal).
const CHOLESKY_TOL: f64 = 1e-13;
/// Eigenvalues of the low-rank Gram matrix below this fraction of the largest are clipped.
const EIG_CLIP: f64 = 1e-12;
/// Above this pivoted-Cholesky rank the (cubic) eigendecomposition step is skipped and the
/// Cholesky factor is used as is (the covariance is then close to white noise, and the
/// Cholesky truncation alone bounds the error).
const MAX_EVD_RANK: usize = 1500;

/// A factor `F` (`depth x rank`) with `F F^T ~= C` for the GP's covariance on the depth grid.
pub struct RbfFactor {
    depth: usize,
    rank: usize,
    /// Row-major `depth x rank`.
    f: Vec<f64>,
}

/// The covariance `C(i, j) = c[|i - j|]` of the weights at layers `i` and `j`.
fn toeplitz_row(depth: usize, bandwidth: f64, variant: RbfVariant) -> Vec<f64> {
    // k(l h) = exp(-a l^2), a = h^2 / (2 bw^2), h = 1/depth
    // the mutant test's kernel on layer indices (inert unless DEPTHSCALE_MUTANT=rbf-grid)
    let h = if crate::mutant::is(crate::mutant::Mutant::RbfGrid) {
        1.0
    } else {
        1.0 / depth as f64
    };
    // the mutant test's doubled bandwidth (inert unless DEPTHSCALE_MUTANT=rbf-bandwidth)
    let bandwidth = if crate::mutant::is(crate::mutant::Mutant::RbfBandwidth) {
        2.0 * bandwidth
    } else {
        bandwidth
    };
    let a = h * h / (2.0 * bandwidth * bandwidth);
    let kern = |l: usize| {
        if l == 0 {
            1.0
        } else {
            let l = l as f64;
            (-a * l * l).exp()
        }
    };
    let mut c = vec![0.0; depth];
    c[0] = 1.0;
    match variant {
        RbfVariant::Values => {
            for (l, x) in c.iter_mut().enumerate().skip(1) {
                *x = kern(l);
            }
        }
        RbfVariant::Increments => {
            // Cov(increment i, increment i + l) = 2 k(l h) - k((l+1) h) - k((l-1) h), over the
            // increment variance 2 - 2 k(h). Since k((l+-1) h) = k(l h) exp(-a (1 +- 2l)), when
            // the three kernel values are close the numerator is written with expm1 to avoid
            // cancelling them.
            let var = -2.0 * (-a).exp_m1();
            for (l, x) in c.iter_mut().enumerate().skip(1) {
                let lf = l as f64;
                let num = if a * (2.0 * lf + 1.0) < 1.0 {
                    -kern(l) * ((-a * (1.0 + 2.0 * lf)).exp_m1() + (-a * (1.0 - 2.0 * lf)).exp_m1())
                } else {
                    2.0 * kern(l) - kern(l + 1) - kern(l - 1)
                };
                *x = num / var;
            }
        }
    }
    c
}

/// Diagonally pivoted Cholesky of the Toeplitz matrix with first row `c` (unit diagonal):
/// returns `(G, rank)` with `G` column-major `n x rank` and `C - G G^T` PSD with diagonal
/// below `tol`.
/// Stops with [`Error::Interrupted`] between pivots when `progress` is cancelled.
fn pivoted_cholesky(c: &[f64], tol: f64, progress: &dyn Progress) -> Result<(Vec<f64>, usize)> {
    let n = c.len();
    let mut resid = vec![1.0; n];
    let mut g: Vec<f64> = Vec::new();
    let mut rank = 0;
    while rank < n {
        check_cancelled(progress)?;
        // first index of the largest residual variance (deterministic tie-breaking)
        let (p, &dp) = resid
            .iter()
            .enumerate()
            .fold((0, &f64::NEG_INFINITY), |best, cur| {
                if cur.1 > best.1 { cur } else { best }
            });
        if dp <= tol {
            break;
        }
        let mut col: Vec<f64> = (0..n).map(|i| c[i.abs_diff(p)]).collect();
        for q in 0..rank {
            if q % 64 == 63 {
                // a step costs depth x rank: at a rank of thousands, seconds
                check_cancelled(progress)?;
            }
            let gq = &g[q * n..(q + 1) * n];
            let w = gq[p];
            for (x, y) in col.iter_mut().zip(gq) {
                *x -= w * y;
            }
        }
        let s = dp.sqrt();
        for (x, r) in col.iter_mut().zip(resid.iter_mut()) {
            *x /= s;
            *r -= *x * *x;
        }
        resid[p] = 0.0;
        g.extend_from_slice(&col);
        rank += 1;
    }
    Ok((g, rank))
}

/// An upper bound on the rank of the factor of [`RbfFactor::new`] for `depth` layers and
/// `bandwidth` (for memory estimates): the kernel's numerical rank grows like `1 / bandwidth`
/// (about `2.6 / bandwidth` at the Cholesky tolerance, measured for bandwidths from 0.01 to 2;
/// the bound has a margin of 1.5 or more), and never exceeds `depth`.
pub fn rank_bound(depth: usize, bandwidth: f64) -> usize {
    let by_bandwidth = (4.5 / bandwidth).ceil() + 8.0;
    if by_bandwidth.is_finite() && by_bandwidth < depth as f64 {
        by_bandwidth as usize
    } else {
        depth
    }
}

/// The memory [`RbfFactor::new`] needs for `depth` layers (the Toeplitz row and residuals, the
/// growing Cholesky factor, the factor itself), with its rank bounded by [`rank_bound`].
pub fn factor_footprint(f: Footprint, depth: usize, bandwidth: f64) -> Footprint {
    let r = rank_bound(depth, bandwidth);
    f.memory(
        "depth",
        "the rbf covariance's factor (depth x rank f64, built by pivoted Cholesky)",
        bytes(8, &[depth, r])
            .saturating_mul(3)
            .saturating_add(bytes(24, &[depth])),
    )
}

impl RbfFactor {
    /// Factors the covariance of the weights for `depth` layers.
    ///
    /// Fails with a config error for `depth = 0` or a bandwidth that is not positive and finite,
    /// and with a numerical error if the eigendecomposition fails.
    pub fn new(depth: usize, bandwidth: f64, variant: RbfVariant) -> Result<Self> {
        Self::new_cancellable(depth, bandwidth, variant, &Silent)
    }

    /// [`RbfFactor::new`], stopping with [`Error::Interrupted`] between the factorisation's
    /// steps when `progress` is cancelled.
    pub fn new_cancellable(
        depth: usize,
        bandwidth: f64,
        variant: RbfVariant,
        progress: &dyn Progress,
    ) -> Result<Self> {
        if !(bandwidth > 0.0 && bandwidth.is_finite()) {
            return Err(Error::config(
                "bandwidth",
                format!("rbf bandwidth must be positive and finite, got {bandwidth}"),
            ));
        }
        if depth == 0 {
            return Err(Error::config("depth", "rbf paths need depth >= 1"));
        }
        let c = toeplitz_row(depth, bandwidth, variant);
        let (g, r) = pivoted_cholesky(&c, CHOLESKY_TOL, progress)?;
        if r > MAX_EVD_RANK {
            // F = G, transposed to row-major
            let mut f = vec![0.0; depth * r];
            for (q, col) in g.chunks_exact(depth).enumerate() {
                for (i, &x) in col.iter().enumerate() {
                    f[i * r + q] = x;
                }
            }
            return Ok(Self { depth, rank: r, f });
        }
        // Gram = G^T G (r x r, column-major)
        let gm = MatRef::col_major(&g, depth, r);
        let mut gram = vec![0.0; r * r];
        matmul(MatMut::col_major(&mut gram, r, r), gm.t(), gm, 1.0, false);
        let gram = faer::Mat::<f64>::from_fn(r, r, |i, j| gram[j * r + i]);
        let mut u = faer::Mat::<f64>::zeros(r, r);
        let mut s = faer::diag::Diag::<f64>::zeros(r);
        let par = faer::Par::Seq;
        let mut mem = MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
            r,
            evd::ComputeEigenvectors::Yes,
            par,
            Default::default(),
        ));
        evd::self_adjoint_evd(
            gram.as_ref(),
            s.as_mut(),
            Some(u.as_mut()),
            par,
            MemStack::new(&mut mem),
            Default::default(),
        )
        .map_err(|e| Error::Numerical(format!("rbf eigendecomposition failed: {e:?}")))?;
        let s = s.column_vector();
        let max = (0..r).map(|j| s[j]).fold(0.0, f64::max);
        let kept: Vec<usize> = (0..r).rev().filter(|&j| s[j] > EIG_CLIP * max).collect();
        let rank = kept.len();
        // V_kept, column-major r x rank
        let mut v = vec![0.0; r * rank];
        for (col, &j) in v.chunks_exact_mut(r).zip(&kept) {
            for (i, x) in col.iter_mut().enumerate() {
                *x = u[(i, j)];
            }
        }
        let mut f = vec![0.0; depth * rank];
        matmul(
            MatMut::row_major(&mut f, depth, rank),
            gm,
            MatRef::col_major(&v, r, rank),
            1.0,
            false,
        );
        Ok(Self { depth, rank, f })
    }

    /// The number of retained eigenpairs (columns of `F`).
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of layers (rows of `F`).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The covariance `(F F^T)[i, j]` that the factor represents.
    pub fn covariance(&self, i: usize, j: usize) -> f64 {
        crate::linalg::row_gram(&self.f, self.rank, i, j)
    }

    /// One unit-variance path over depth (for plots).
    pub fn sample_path<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        let z: Vec<f64> = (0..self.rank).map(|_| StandardNormal.sample(rng)).collect();
        self.f
            .chunks_exact(self.rank.max(1))
            .take(self.depth)
            .map(|row| row.iter().zip(&z).map(|(a, b)| a * b).sum())
            .collect()
    }
}

/// Fills `out` (`depth x entries`, layer-major: `out[k * entries + e]`) with `entries`
/// independent paths, times `scale`: `out = (scale F) Z` with `Z` (`rank x entries`) standard
/// normal.
pub(super) fn sample_stack<T: Float, R: Rng + ?Sized>(
    factor: &RbfFactor,
    depth: usize,
    entries: usize,
    scale: f64,
    rng: &mut R,
    out: &mut [T],
) {
    assert_eq!(factor.depth, depth, "rbf factor has the wrong depth");
    assert_eq!(out.len(), depth * entries, "rbf stack has the wrong size");
    let r = factor.rank;
    let f: Vec<T> = factor.f.iter().map(|&x| T::of(x * scale)).collect();
    let z: Vec<T> = (0..r * entries)
        .map(|_| T::of(StandardNormal.sample(rng)))
        .collect();
    matmul(
        MatMut::row_major(out, depth, entries),
        MatRef::row_major(&f, depth, r),
        MatRef::row_major(&z, r, entries),
        T::one(),
        false,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    fn kernel(s: f64, t: f64, bw: f64) -> f64 {
        (-(s - t) * (s - t) / (2.0 * bw * bw)).exp()
    }

    /// The exact covariance of the weights at layers `i`, `j` (direct formulas, no factor).
    fn exact_cov(depth: usize, bw: f64, variant: RbfVariant, i: usize, j: usize) -> f64 {
        // the mutant test's kernel on layer indices (inert unless DEPTHSCALE_MUTANT=rbf-grid)
        let h = if crate::mutant::is(crate::mutant::Mutant::RbfGrid) {
            1.0
        } else {
            1.0 / depth as f64
        };
        match variant {
            RbfVariant::Values => kernel((i + 1) as f64 * h, (j + 1) as f64 * h, bw),
            RbfVariant::Increments => {
                let t = |k: usize| k as f64 * h;
                let num = kernel(t(i + 1), t(j + 1), bw)
                    - kernel(t(i + 1), t(j), bw)
                    - kernel(t(i), t(j + 1), bw)
                    + kernel(t(i), t(j), bw);
                num / (2.0 - 2.0 * kernel(0.0, h, bw))
            }
        }
    }

    #[test]
    fn factor_reproduces_the_covariance() {
        for variant in [RbfVariant::Values, RbfVariant::Increments] {
            for (depth, bw) in [(50, 0.1), (50, 0.5), (200, 0.02), (7, 0.001)] {
                let f = RbfFactor::new(depth, bw, variant).unwrap();
                let mut err: f64 = 0.0;
                for i in 0..depth {
                    for j in 0..depth {
                        let d = f.covariance(i, j) - exact_cov(depth, bw, variant, i, j);
                        err = err.max(d.abs());
                    }
                }
                // with unit diagonals, the direct formula has ~1e-16/var rounding for
                // increments; factor errors are ~1e-12
                assert!(err < 1e-8, "{variant:?} depth {depth} bw {bw}: {err:e}");
            }
        }
    }

    #[test]
    fn sample_covariance_matches_kernel() {
        // 4000 paths at depth 50: each sample covariance entry has sd sqrt((1 + rho^2)/4000)
        // <= 0.022; 0.1 is 4.5 sd, beyond the expected maximum (~3.4 sd) over the 1275 entries.
        let (depth, entries) = (50, 4000);
        for variant in [RbfVariant::Values, RbfVariant::Increments] {
            let f = RbfFactor::new(depth, 0.1, variant).unwrap();
            let mut out = vec![0.0f64; depth * entries];
            sample_stack(&f, depth, entries, 1.0, &mut rng::stream(9, &[]), &mut out);
            let mut worst: f64 = 0.0;
            for i in 0..depth {
                for j in 0..=i {
                    let emp = (0..entries)
                        .map(|e| out[i * entries + e] * out[j * entries + e])
                        .sum::<f64>()
                        / entries as f64;
                    worst = worst.max((emp - exact_cov(depth, 0.1, variant, i, j)).abs());
                }
            }
            assert!(worst < 0.1, "{variant:?}: worst deviation {worst}");
        }
    }

    #[test]
    fn deep_factors_have_unit_variance_and_low_rank() {
        for depth in [1000, 5000] {
            for variant in [RbfVariant::Values, RbfVariant::Increments] {
                let f = RbfFactor::new(depth, 0.1, variant).unwrap();
                assert!(f.rank() > 5 && f.rank() < 60, "rank {}", f.rank());
                for i in [0, 1, depth / 2, depth - 1] {
                    assert!((f.covariance(i, i) - 1.0).abs() < 1e-6, "{variant:?} {i}");
                }
                let p = f.sample_path(&mut rng::stream(1, &[]));
                assert_eq!(p.len(), depth);
                assert!(p.iter().all(|x| x.is_finite()));
            }
        }
    }

    #[test]
    fn rank_bound_covers_the_factors_rank() {
        for bw in [2.0, 0.5, 0.1, 0.03, 0.01] {
            for variant in [RbfVariant::Values, RbfVariant::Increments] {
                let f = RbfFactor::new(2000, bw, variant).unwrap();
                let bound = rank_bound(2000, bw);
                assert!(
                    f.rank() <= bound,
                    "{bw} {variant:?}: rank {} > {bound}",
                    f.rank()
                );
            }
        }
        assert_eq!(rank_bound(10, 1e-9), 10);
        assert_eq!(rank_bound(usize::MAX, 0.0), usize::MAX);
    }

    #[test]
    fn cancelled_factorisation_stops() {
        struct Cancelled;
        impl Progress for Cancelled {
            fn start(&self, _: &str, _: u64) {}
            fn advance(&self, _: u64) {}
            fn cancelled(&self) -> bool {
                true
            }
        }
        let r = RbfFactor::new_cancellable(1000, 0.1, RbfVariant::Values, &Cancelled);
        assert!(matches!(r, Err(Error::Interrupted)));
    }

    #[test]
    fn stack_has_unit_variance_per_entry_and_is_reproducible() {
        let (depth, entries, scale) = (100, 500, 0.2);
        let f = RbfFactor::new(depth, 0.1, RbfVariant::Increments).unwrap();
        let mut a = vec![0.0f32; depth * entries];
        let mut b = vec![0.0f32; depth * entries];
        sample_stack(&f, depth, entries, scale, &mut rng::stream(2, &[]), &mut a);
        sample_stack(&f, depth, entries, scale, &mut rng::stream(2, &[]), &mut b);
        assert_eq!(a, b);
        // per layer, 500 independent entries: relative sd of the sample variance 0.063
        for k in [0, depth / 2, depth - 1] {
            let v = a[k * entries..(k + 1) * entries]
                .iter()
                .map(|&x| (x as f64).powi(2))
                .sum::<f64>()
                / entries as f64;
            assert!((v / (scale * scale) - 1.0).abs() < 0.3, "layer {k}: {v}");
        }
    }

    #[test]
    fn invalid_bandwidth_errors() {
        for bw in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                RbfFactor::new(10, bw, RbfVariant::Values),
                Err(Error::Config { .. })
            ));
        }
        assert!(RbfFactor::new(0, 0.1, RbfVariant::Values).is_err());
        let one = RbfFactor::new(1, 0.1, RbfVariant::Increments).unwrap();
        assert_eq!(one.rank(), 1);
        assert!((one.covariance(0, 0) - 1.0).abs() < 1e-12);
    }

    #[test]
    #[ignore = "timing; run with --ignored --nocapture"]
    fn time_stack_40x40x1000() {
        let t = std::time::Instant::now();
        let f = RbfFactor::new(1000, 0.1, RbfVariant::Values).unwrap();
        eprintln!(
            "rbf factor depth 1000: {:?}, rank {}",
            t.elapsed(),
            f.rank()
        );
        let t = std::time::Instant::now();
        let f5 = RbfFactor::new(5000, 0.1, RbfVariant::Increments).unwrap();
        eprintln!(
            "rbf factor depth 5000: {:?}, rank {}",
            t.elapsed(),
            f5.rank()
        );
        let mut out = vec![0.0f64; 1000 * 1600];
        let mut r = rng::stream(0, &[]);
        sample_stack(&f, 1000, 1600, 0.025, &mut r, &mut out);
        let reps = 10;
        let t = std::time::Instant::now();
        for _ in 0..reps {
            sample_stack(&f, 1000, 1600, 0.025, &mut r, &mut out);
        }
        eprintln!("rbf stack 40x40x1000 (f64): {:?}", t.elapsed() / reps);
        let mut out32 = vec![0.0f32; 1000 * 1600];
        let t = std::time::Instant::now();
        for _ in 0..reps {
            sample_stack(&f, 1000, 1600, 0.025, &mut r, &mut out32);
        }
        eprintln!("rbf stack 40x40x1000 (f32): {:?}", t.elapsed() / reps);
    }
}
