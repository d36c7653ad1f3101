//! Smooth Gaussian-process weights. STUB: to be implemented.

use super::RbfVariant;
use crate::{Float, Result};
use rand::Rng;

/// A factor `F` with `F F^T ~= K` for the GP's covariance on the depth grid.
pub struct RbfFactor {}

impl RbfFactor {
    /// Factors the covariance for `depth` layers.
    pub fn new(_depth: usize, _bandwidth: f64, _variant: RbfVariant) -> Result<Self> {
        Ok(Self {})
    }
}

/// Fills `out` (`depth x entries`) with `entries` independent paths, times `scale`.
pub(super) fn sample_stack<T: Float, R: Rng + ?Sized>(
    _factor: &RbfFactor,
    _depth: usize,
    _entries: usize,
    _scale: f64,
    _rng: &mut R,
    _out: &mut [T],
) {
    todo!("rbf")
}
