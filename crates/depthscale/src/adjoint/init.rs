//! Random initial [`OdeNet`]s: smooth weight paths (RBF Gaussian processes) and i.i.d.
//! piecewise-constant ones at a residual exponent `beta`.
//!
//! Streams: `rng::stream(seed, &[TAG_ODE, s])` with `s` = 0 for `A`, 1 for `V`, 2 for `B`,
//! 3 for `W`.

use super::model::OdeNet;
use super::path::WeightPath;
use crate::limits::FourierPath;
use crate::model::Activation;
use crate::{Result, rng};
use rand_distr::{Distribution, StandardNormal};

/// Stream tag of the adjoint module's draws (`"odenet"`).
pub const TAG_ODE: u64 = 0x6f64_656e_6574;

/// The sizes of an [`OdeNet`]: inputs, state dimension, outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OdeDims {
    /// Input dimension.
    pub n_in: usize,
    /// State dimension `d`.
    pub width: usize,
    /// Number of outputs.
    pub n_out: usize,
}

fn gaussian(len: usize, std: f64, seed: u64, s: u64) -> Vec<f64> {
    let mut r = rng::stream(seed, &[TAG_ODE, s]);
    (0..len)
        .map(|_| std * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut r))
        .collect()
}

fn with_path(dims: OdeDims, path: WeightPath, activation: Activation, seed: u64) -> OdeNet {
    let d = dims.width;
    OdeNet {
        n_in: dims.n_in,
        n_out: dims.n_out,
        embed: gaussian(d * dims.n_in, (dims.n_in as f64).powf(-0.5), seed, 0),
        readout: gaussian(dims.n_out * d, (d as f64).powf(-0.5), seed, 2),
        path,
        activation,
    }
}

/// Smooth weights: `V(t)` and (with `inner`) `W(t)` independent RBF Gaussian processes of
/// bandwidth `bandwidth` with entries of variance `1/d` (the limits module's
/// [`FourierPath::rbf`]); `A` entries `N(0, 1/n_in)`, `B` entries `N(0, 1/d)`.
///
/// # Errors
/// A typed config error for a bandwidth outside `[0.01, 10]`.
pub fn smooth_net(
    dims: OdeDims,
    bandwidth: f64,
    inner: bool,
    activation: Activation,
    seed: u64,
) -> Result<OdeNet> {
    let d = dims.width;
    let scale = (d as f64).powf(-0.5);
    let v = FourierPath::rbf(d, bandwidth, scale, &mut rng::stream(seed, &[TAG_ODE, 1]))?;
    let w = if inner {
        Some(FourierPath::rbf(
            d,
            bandwidth,
            scale,
            &mut rng::stream(seed, &[TAG_ODE, 3]),
        )?)
    } else {
        None
    };
    Ok(with_path(
        dims,
        WeightPath::fourier(&v, w.as_ref()),
        activation,
        seed,
    ))
}

/// I.i.d. piecewise-constant weights over `layers` layers at residual exponent `beta`: the
/// depth-`L` ResNet `h_k = h_{k-1} + L^-beta V_k act(W_k h_{k-1})` with `V_k`, `W_k` entries
/// `N(0, 1/d)` is the model with `V(t) = L^{1 - beta} V_k` on layer `k` under `L` Euler steps.
pub fn iid_net(
    dims: OdeDims,
    layers: usize,
    beta: f64,
    inner: bool,
    activation: Activation,
    seed: u64,
) -> OdeNet {
    let d = dims.width;
    let len = layers * d * d;
    let std = (d as f64).powf(-0.5);
    let v = gaussian(len, std * (layers as f64).powf(1.0 - beta), seed, 1);
    let w = inner.then(|| gaussian(len, std, seed, 3));
    with_path(
        dims,
        WeightPath::piecewise(d, &v, w.as_deref()),
        activation,
        seed,
    )
}
