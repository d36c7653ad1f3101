//! The residual network driven by a path: one network per depth `L`, all sharing one limit.
//!
//! Layer `k = 1..L` has the weights
//! `V_k = L^{beta0} (X(k/L) - X((k-1)/L))` (the path's increment scaled to the network's
//! convention, `beta0` the driver's natural exponent) and, for `res3`, `W_k = W((k-1)/L)` (a
//! smooth path evaluated at the left end of the layer's interval), and the network runs
//! `h_k = h_{k-1} + L^{-beta} V_k act(W_k h_{k-1})` with the engine's [`CpuKernel`]. With
//! `beta = beta0` this is `h_k = h_{k-1} + (X(k/L) - X((k-1)/L)) act(W_k h_{k-1})`: the Euler
//! scheme of the controlled equation `dH = dX act(W(t) H)` on the grid `{k/L}`.

use super::path::MatrixPath;
use super::smooth::FourierPath;
use crate::kernels::{CpuKernel, LayerKernel, LayerRef};
use crate::model::{Activation, BlockSpec};

/// A path-driven ResNet block structure (`res1` or `res3`, no bias).
#[derive(Clone, Copy, Debug)]
pub struct PathNet {
    /// The block: `res1` (`h + a V act(h)`) or `res3` (`h + a V act(W h)`).
    pub block: BlockSpec,
    /// The exponent `beta0` with `V_k = L^{beta0} * increment`.
    pub natural_beta: f64,
}

/// Scratch memory of [`PathNet::run`], reused across runs (no allocation per layer).
#[derive(Debug, Default)]
pub struct NetWorkspace {
    kernel: CpuKernel<f64>,
    v: Vec<f64>,
    w: Vec<f64>,
    pre: Vec<f64>,
}

impl PathNet {
    /// A network with activation `activation`, inner matrices `W` when `inner` (`res3`).
    pub fn new(activation: Activation, inner: bool, natural_beta: f64) -> Self {
        let block = if inner {
            BlockSpec::res3(activation)
        } else {
            BlockSpec::res1(activation)
        };
        Self {
            block,
            natural_beta,
        }
    }

    /// Runs the depth-`depth` network with `alpha = depth^-beta` on `h` (width `d`, updated in
    /// place), driven by `x` (and by `w` for `res3`), calling `on_layer(k, h_k)` for
    /// `k = 0..=depth`. Stops early and returns `false` as soon as a hidden state is not finite.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        x: &dyn MatrixPath,
        w: Option<&FourierPath>,
        depth: usize,
        beta: f64,
        h: &mut [f64],
        ws: &mut NetWorkspace,
        mut on_layer: impl FnMut(usize, &[f64]),
    ) -> bool {
        let d = x.dim();
        assert_eq!(h.len(), d, "h must have the path's dimension");
        assert!(
            x.observes(depth),
            "the path cannot be observed at depth {depth}"
        );
        assert!(
            !self.block.inner || w.is_some(),
            "res3 needs an inner path W"
        );
        ws.v.resize(d * d, 0.0);
        ws.w.resize(d * d, 0.0);
        ws.pre.resize(d, 0.0);
        let l = depth as f64;
        let vscale = l.powf(self.natural_beta);
        let alpha = [l.powf(-beta)];
        on_layer(0, h);
        for k in 1..=depth {
            x.increment(depth, k, &mut ws.v);
            for v in ws.v.iter_mut() {
                *v *= vscale;
            }
            if let (true, Some(wp)) = (self.block.inner, w) {
                wp.value((k - 1) as f64 / l, &mut ws.w);
            }
            let layer = LayerRef {
                width: d,
                v: &ws.v,
                w: self.block.inner.then_some(&ws.w[..]),
                bias: None,
            };
            ws.kernel
                .forward_layer(&self.block, layer, &alpha, h, &mut ws.pre);
            if !h.iter().all(|v| v.is_finite()) {
                return false;
            }
            on_layer(k, h);
        }
        true
    }
}
