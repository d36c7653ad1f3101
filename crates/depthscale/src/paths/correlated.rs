//! Weights correlated across the entries of a layer (the paper's revision's robustness check).
//!
//! The `n = rows x cols` entries of each layer's matrix are jointly Gaussian with covariance
//! `C / fan_in`, where `C` is one fixed `n x n` correlation matrix: the sample correlation
//! matrix (numpy's `corrcoef`, rows as variables) of a random `n x n` standard Gaussian matrix
//! `X`, drawn from [`correlation_stream`] (`rng::stream(CORRELATION_SEED, &[CORRELATION_TAG, n])`,
//! entries in row-major order). The reference code does the same with its own seed.
//!
//! `C` needs no factorisation: with `Xc` the rows of `X` centred and `S = diag(1/||Xc_i||)`,
//! `C = (S Xc) (S Xc)^T` exactly, so `F = S Xc` is a square factor of `C` built in `O(n^2)`
//! (measured at `n = 1600`, release, noisy: 32 ms, mostly drawing `X`; forming `C` and taking
//! faer's `self_adjoint_eigen` costs 0.16 s + 0.95 s, and a Cholesky of `C` is unsafe: `C` has
//! rank `n - 1` because of the centring, so `llt` succeeds or fails on rounding). A layer is
//! `F z / sqrt(fan_in)` with `z` the layer's `n` entries under the base law:
//! - `correlated(gaussian)`: `z ~ N(0, I_n)`, i.i.d. over depth;
//! - `correlated(rbf(BW))`: the `n` entries of `z` are independent smooth RBF paths over depth
//!   (as [`super::Init::Rbf`]), mixed at every layer by `F`, so the weights are both smooth in
//!   `k` and correlated across entries (covariance `K(s, t) C / fan_in`).
//!
//! A stack is one product: `out (depth x n) = Z (depth x n) F^T`.

use crate::linalg::{MatMut, MatRef, matmul};
use crate::progress::{Progress, Silent, check_cancelled};
use crate::rng;
use crate::{Error, Result};
use rand_distr::{Distribution, StandardNormal};

/// The seed of the random matrix whose correlation matrix is `C`.
pub const CORRELATION_SEED: u64 = 0;
/// The stream tag of that matrix (`"corr"` in ASCII), apart from every network stream.
pub const CORRELATION_TAG: u64 = 0x636f_7272;

/// The random stream of the `n x n` matrix `X` whose correlation matrix is `C`.
pub fn correlation_stream(n: usize) -> rng::Rng {
    rng::stream(CORRELATION_SEED, &[CORRELATION_TAG, n as u64])
}

/// The factor `F` (`n x n`, row-major) with `F F^T = C`, the fixed correlation matrix of `n`
/// entries.
pub struct CorrelationFactor {
    n: usize,
    /// Row-major `n x n`: row `i` is the centred, unit-norm row `i` of `X`.
    f: Vec<f64>,
}

impl CorrelationFactor {
    /// Draws `X` and builds `F = S Xc`. Fails for `n < 2` (a correlation needs two observations).
    pub fn new(n: usize) -> Result<Self> {
        Self::new_cancellable(n, &Silent)
    }

    /// [`CorrelationFactor::new`], stopping with [`Error::Interrupted`] between blocks of rows
    /// when `progress` is cancelled.
    pub fn new_cancellable(n: usize, progress: &dyn Progress) -> Result<Self> {
        if n < 2 {
            return Err(Error::config(
                "init",
                format!("correlated weights need at least 2 entries per layer, got {n}"),
            ));
        }
        let len = crate::budget::len("width", 8, &[n, n])?;
        let mut rng = correlation_stream(n);
        let mut f = vec![0.0f64; len];
        // row-major order, a block of about a million entries between cancellation checks
        for block in f.chunks_mut(n * (1usize << 20).div_ceil(n)) {
            check_cancelled(progress)?;
            block
                .iter_mut()
                .for_each(|x| *x = StandardNormal.sample(&mut rng));
        }
        for row in f.chunks_exact_mut(n) {
            let mean = row.iter().sum::<f64>() / n as f64;
            row.iter_mut().for_each(|x| *x -= mean);
            let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            if !(norm > 0.0 && norm.is_finite()) {
                return Err(Error::Numerical(
                    "correlation matrix: a constant row (probability zero)".into(),
                ));
            }
            // the mutant test's unscaled rows (inert unless DEPTHSCALE_MUTANT=corr-unscaled)
            if !crate::mutant::is(crate::mutant::Mutant::CorrelationUnscaled) {
                row.iter_mut().for_each(|x| *x /= norm);
            }
        }
        Ok(Self { n, f })
    }

    /// The number of entries `n` (C is `n x n`).
    pub fn n(&self) -> usize {
        self.n
    }

    /// `C[i, j] = (F F^T)[i, j]`.
    pub fn correlation(&self, i: usize, j: usize) -> f64 {
        crate::linalg::row_gram(&self.f, self.n, i, j)
    }

    /// Bytes held by the factor.
    pub fn bytes(n: usize) -> u128 {
        crate::budget::bytes(8, &[n, n])
    }

    /// Mixes a layer-major stack: layer `k` of `out` is `F z_k`, `z_k` layer `k` of `stack`
    /// (both `depth x n`).
    pub(super) fn mix(&self, stack: &[f64], depth: usize, out: &mut [f64]) {
        let n = self.n;
        assert_eq!(
            stack.len(),
            depth * n,
            "correlated stack has the wrong size"
        );
        assert_eq!(out.len(), depth * n, "correlated output has the wrong size");
        matmul(
            MatMut::row_major(out, depth, n),
            MatRef::row_major(stack, depth, n),
            MatRef::row_major(&self.f, n, n).t(),
            1.0,
            false,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `C` computed as numpy's `corrcoef` does, entry by entry, from a fresh draw of `X`.
    fn corrcoef(n: usize, i: usize, j: usize) -> f64 {
        let mut rng = correlation_stream(n);
        let x: Vec<f64> = (0..n * n)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let row = |r: usize| &x[r * n..(r + 1) * n];
        let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
        let (a, b) = (row(i), row(j));
        let (ma, mb) = (mean(a), mean(b));
        let cov: f64 = a.iter().zip(b).map(|(p, q)| (p - ma) * (q - mb)).sum();
        let va: f64 = a.iter().map(|p| (p - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|q| (q - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    #[test]
    fn factor_reproduces_the_correlation_matrix() {
        let n = 36;
        let f = CorrelationFactor::new(n).unwrap();
        for (i, j) in [(0, 0), (0, 1), (5, 17), (35, 2), (20, 20)] {
            let (got, want) = (f.correlation(i, j), corrcoef(n, i, j));
            assert!((got - want).abs() < 1e-12, "C[{i},{j}] = {got} vs {want}");
        }
        // off-diagonal entries of a correlation of n observations are O(1/sqrt(n)), not zero
        let off: f64 = (1..n).map(|j| f.correlation(0, j).abs()).sum::<f64>() / (n - 1) as f64;
        assert!(
            off > 0.05,
            "mean |C[0, j]| = {off}: C looks like the identity"
        );
        assert!(CorrelationFactor::new(1).is_err());
    }
}
