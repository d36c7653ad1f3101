//! Shared, thread-safe cache of what depends only on the path law and the depth.

use super::RbfVariant;
use super::correlated::CorrelationFactor;
use super::fbm::FgnPlan;
use super::rbf::RbfFactor;
use crate::Result;
use crate::progress::{Progress, Silent};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type RbfKey = (usize, u64, bool);

/// Caches Davies-Harte plans per `(L, H)`, RBF factors per `(L, bandwidth, variant)` and
/// correlation factors per number of entries.
#[derive(Default)]
pub struct PathCache {
    fgn: Mutex<HashMap<(usize, u64), Arc<FgnPlan>>>,
    rbf: Mutex<HashMap<RbfKey, Arc<RbfFactor>>>,
    correlation: Mutex<HashMap<usize, Arc<CorrelationFactor>>>,
}

impl PathCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The fractional-Gaussian-noise plan for paths of length `n` and Hurst index `hurst`.
    pub fn fgn(&self, n: usize, hurst: f64) -> Result<Arc<FgnPlan>> {
        let key = (n, hurst.to_bits());
        if let Some(p) = self.fgn.lock().expect("cache poisoned").get(&key) {
            return Ok(p.clone());
        }
        let plan = Arc::new(FgnPlan::new(n, hurst)?);
        Ok(self
            .fgn
            .lock()
            .expect("cache poisoned")
            .entry(key)
            .or_insert(plan)
            .clone())
    }

    /// The RBF factor for `depth` layers, a bandwidth and a variant.
    pub fn rbf(&self, depth: usize, bandwidth: f64, variant: RbfVariant) -> Result<Arc<RbfFactor>> {
        self.rbf_cancellable(depth, bandwidth, variant, &Silent)
    }

    /// [`PathCache::rbf`], stopping with [`crate::Error::Interrupted`] when `progress` is
    /// cancelled while the factor is built.
    pub fn rbf_cancellable(
        &self,
        depth: usize,
        bandwidth: f64,
        variant: RbfVariant,
        progress: &dyn Progress,
    ) -> Result<Arc<RbfFactor>> {
        let key = (
            depth,
            bandwidth.to_bits(),
            variant == RbfVariant::Increments,
        );
        if let Some(f) = self.rbf.lock().expect("cache poisoned").get(&key) {
            return Ok(f.clone());
        }
        let factor = Arc::new(RbfFactor::new_cancellable(
            depth, bandwidth, variant, progress,
        )?);
        Ok(self
            .rbf
            .lock()
            .expect("cache poisoned")
            .entry(key)
            .or_insert(factor)
            .clone())
    }

    /// The factor of the fixed correlation matrix of `n` entries.
    pub fn correlation(&self, n: usize) -> Result<Arc<CorrelationFactor>> {
        self.correlation_cancellable(n, &Silent)
    }

    /// [`PathCache::correlation`], stopping with [`crate::Error::Interrupted`] when `progress`
    /// is cancelled while the factor is built.
    pub fn correlation_cancellable(
        &self,
        n: usize,
        progress: &dyn Progress,
    ) -> Result<Arc<CorrelationFactor>> {
        if let Some(f) = self.correlation.lock().expect("cache poisoned").get(&n) {
            return Ok(f.clone());
        }
        let factor = Arc::new(CorrelationFactor::new_cancellable(n, progress)?);
        Ok(self
            .correlation
            .lock()
            .expect("cache poisoned")
            .entry(n)
            .or_insert(factor)
            .clone())
    }
}
