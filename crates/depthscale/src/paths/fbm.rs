//! Fractional Gaussian noise by circulant embedding (Davies-Harte). STUB: to be implemented.

use crate::{Float, Result};
use rand::Rng;

/// What depends only on `(n, H)`: the square roots of the circulant eigenvalues and the FFT plan.
pub struct FgnPlan {
    /// Path length.
    pub n: usize,
    /// Hurst index.
    pub hurst: f64,
}

impl FgnPlan {
    /// Precomputes the plan for paths of length `n` and Hurst index `hurst`.
    pub fn new(n: usize, hurst: f64) -> Result<Self> {
        Ok(Self { n, hurst })
    }
}

/// Fills `out` (`depth x entries`) with `entries` independent fGn paths over depth, times `scale`.
pub(super) fn sample_stack<T: Float, R: Rng + ?Sized>(
    _plan: &FgnPlan,
    _depth: usize,
    _entries: usize,
    _scale: f64,
    _rng: &mut R,
    _out: &mut [T],
) {
    todo!("fbm")
}
