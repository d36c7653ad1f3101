//! i.i.d. laws over depth: every entry of every layer drawn independently.

use crate::Float;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Uniform on `[-sqrt(3) scale, sqrt(3) scale]` (variance `scale^2`).
pub(super) fn uniform<T: Float, R: Rng + ?Sized>(scale: f64, rng: &mut R, out: &mut [T]) {
    let a = 3f64.sqrt() * scale;
    for x in out {
        *x = T::of((rng.random::<f64>() * 2.0 - 1.0) * a);
    }
}

/// `N(0, scale^2)`.
pub(super) fn gaussian<T: Float, R: Rng + ?Sized>(scale: f64, rng: &mut R, out: &mut [T]) {
    for x in out {
        let z: f64 = StandardNormal.sample(rng);
        *x = T::of(z * scale);
    }
}

/// `+-scale` with equal probability.
pub(super) fn rademacher<T: Float, R: Rng + ?Sized>(scale: f64, rng: &mut R, out: &mut [T]) {
    for x in out {
        *x = T::of(if rng.random::<bool>() { scale } else { -scale });
    }
}
