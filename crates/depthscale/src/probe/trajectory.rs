//! Every hidden state and every back-propagated gradient of one host network: the trajectory
//! `h_0..h_L` of a batch of inputs and `p_k = dloss/dh_k`, `k = 0..L`, for the probe's loss
//! `||B h_L - y||^2` (what the Python binding's `ResNet.forward` returns, so that users can
//! probe their own weights, e.g. trained in PyTorch).
//!
//! The passes are the backend's own layer arithmetic (the same as [`super::Prober`]'s), one
//! layer per stack call so that each layer's state can be read: the forward pass keeps every
//! layer's pre-activation, the backward pass runs the layers in reverse from `p_L`.

use crate::budget::{Footprint, bytes, largest};
use crate::kernels::{Backend, CpuBackend, Keep, Op, ProductShape, StackShape, StackWeights, Tape};
use crate::model::{Dims, ResNet};
use crate::progress::{Progress, check_cancelled};
use crate::{Error, Result};

/// The states and gradients of `n` columns through a network of depth `L` and width `d`.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    /// `h_0..h_L`: `[L + 1, n, d]` (layer after layer, each column contiguous).
    pub h: Vec<f64>,
    /// `p_0..p_L` with `p_k = dloss/dh_k`: `[L + 1, n, d]`.
    pub p: Vec<f64>,
    /// The outputs `B h_L`: `[n, n_out]`.
    pub output: Vec<f64>,
    /// The loss `||B h_L - y||^2` of each column: `[n]`.
    pub loss: Vec<f64>,
}

/// The memory of a [`trajectory`] of `n` columns through a network of shape `dims`, the
/// network's own copy included: every layer's state and gradient (`[L + 1, n, d]` each), the
/// pre-activations, the weights. Fields: `x` (the number of columns) or `v` (the depth).
pub fn trajectory_footprint(dims: &Dims, n: usize) -> Footprint {
    let (d, m, l) = (dims.width, dims.inner_width, dims.depth);
    let field = largest(&[("x", n), ("v", l)]);
    Footprint::default()
        .memory(
            field,
            "the states and gradients of every layer (2 x (L + 1) x n x d f64)",
            bytes(16, &[l.saturating_add(1), n, d]),
        )
        .memory(
            field,
            "the pre-activations of every layer (L x n x m f64)",
            bytes(8, &[l, n, m]),
        )
        .memory(
            "v",
            "the network (v, w and biases, f64)",
            bytes(16, &[l, d, m]).saturating_add(bytes(8, &[l, d])),
        )
        .memory(
            "x",
            "the inputs, targets and outputs",
            bytes(16, &[n, dims.n_in.saturating_add(dims.n_out)]),
        )
}

/// Runs `net` on the `n = alpha.len()` columns of `x` (`[n, n_in]`, column `c` scaled by
/// `alpha[c]`) with targets `y` (`[n, n_out]`), keeping every layer's state and gradient.
/// Shapes are checked (a mismatch is an [`Error::Config`] naming `x` or `y`), so is the memory
/// of [`trajectory_footprint`] ([`crate::budget::check_memory`]); `progress` is checked for
/// cancellation every layer.
pub fn trajectory(
    net: &ResNet<f64>,
    alpha: &[f64],
    x: &[f64],
    y: &[f64],
    progress: &dyn Progress,
) -> Result<Trajectory> {
    net.dims.validate_for(&net.block)?;
    let dims = net.dims;
    let (d, m, l, n) = (dims.width, dims.inner_width, dims.depth, alpha.len());
    if n == 0 {
        return Err(Error::config("x", "needs at least one column (input)"));
    }
    for (field, got, rows) in [("x", x.len(), dims.n_in), ("y", y.len(), dims.n_out)] {
        if got != rows * n {
            return Err(Error::config(
                field,
                format!(
                    "expected {n} columns of {rows} values ({} in all), got {got}",
                    rows * n
                ),
            ));
        }
    }
    let states = crate::budget::len("x", 16, &[l + 1, d, n])?;
    crate::budget::check_memory(&trajectory_footprint(&dims, n))?;
    let block = net.block;
    let be = CpuBackend::new();
    let shape = StackShape {
        networks: 1,
        depth: 1,
        width: d,
        inner_width: m,
        columns: n,
    };
    let (embed, readout) = ProductShape::io(dims, n);
    let scratch_len = [
        Backend::<f64>::stack_scratch(&be, &block, shape),
        Backend::<f64>::product_scratch(&be, Op::Plain, embed),
        Backend::<f64>::product_scratch(&be, Op::Plain, readout),
        Backend::<f64>::product_scratch(&be, Op::Transposed, readout),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let mut scratch: Vec<f64> = be.zeros(scratch_len);
    let mut tape: Tape<Vec<f64>> = Tape::new(&be, shape, Keep::PreActivations);
    let mut layer = OneLayer::new(net);
    let alpha_buf = alpha.to_vec();
    let x_buf = x.to_vec();
    be.product(
        &net.params.embed,
        Op::Plain,
        &x_buf,
        &mut tape.h0,
        embed,
        1.0,
        false,
        &mut scratch,
    );
    let mut h = Vec::with_capacity(states);
    let mut pre = Vec::with_capacity(l * m * n);
    h.extend_from_slice(&tape.h0[..d * n]);
    for k in 1..=l {
        check_cancelled(progress)?;
        let weights = layer.load(net, k);
        be.forward_stack(
            &block,
            shape,
            weights,
            &alpha_buf,
            &mut tape,
            Keep::PreActivations,
            &mut scratch,
        );
        h.extend_from_slice(&tape.h_last[..d * n]);
        pre.extend_from_slice(&tape.pre[..m * n]);
        let (h0, last) = (&mut tape.h0, &tape.h_last);
        h0[..d * n].copy_from_slice(&last[..d * n]);
    }
    // output B h_L, residual B h_L - y, p_L = 2 B^T (B h_L - y)
    let mut output = vec![0.0; dims.n_out * n];
    be.product(
        &net.params.readout,
        Op::Plain,
        &tape.h0,
        &mut output,
        readout,
        1.0,
        false,
        &mut scratch,
    );
    let residual: Vec<f64> = output.iter().zip(y).map(|(o, t)| o - t).collect();
    let loss = residual
        .chunks_exact(dims.n_out)
        .map(|r| r.iter().map(|e| e * e).sum())
        .collect();
    let mut p_buf = vec![0.0; d * n];
    be.product(
        &net.params.readout,
        Op::Transposed,
        &residual,
        &mut p_buf,
        readout,
        2.0,
        false,
        &mut scratch,
    );
    let mut p = vec![0.0; states];
    p[l * d * n..].copy_from_slice(&p_buf);
    for k in (1..=l).rev() {
        check_cancelled(progress)?;
        tape.pre[..m * n].copy_from_slice(&pre[(k - 1) * m * n..k * m * n]);
        let weights = layer.load(net, k);
        be.backward_stack(
            &block,
            shape,
            weights,
            &alpha_buf,
            &tape,
            &mut p_buf,
            None,
            &mut scratch,
        );
        p[(k - 1) * d * n..k * d * n].copy_from_slice(&p_buf);
    }
    Ok(Trajectory { h, p, output, loss })
}

/// One layer's weights copied out of a network, in the buffers a one-layer stack call reads
/// (sized once: loading a layer allocates nothing).
struct OneLayer {
    v: Vec<f64>,
    w: Vec<f64>,
    bias: Vec<f64>,
}

impl OneLayer {
    /// Empty buffers of `net`'s layer sizes.
    fn new(net: &ResNet<f64>) -> Self {
        let dims = net.dims;
        let layer = dims.width * dims.inner_width;
        Self {
            v: vec![0.0; layer],
            w: vec![0.0; if net.block.inner { layer } else { 0 }],
            bias: vec![0.0; dims.bias_len(&net.block)],
        }
    }

    /// Copies layer `k` (1-based) of `net` in and returns it as a one-layer stack.
    fn load(&mut self, net: &ResNet<f64>, k: usize) -> StackWeights<'_, Vec<f64>> {
        let p = &net.params;
        for (buf, all) in [
            (&mut self.v, &p.v),
            (&mut self.w, &p.w),
            (&mut self.bias, &p.bias),
        ] {
            let len = buf.len();
            buf.copy_from_slice(&all[(k - 1) * len..k * len]);
        }
        StackWeights {
            v: &self.v,
            w: net.block.inner.then_some(&self.w),
            bias: net.block.has_bias().then_some(&self.bias),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, BlockSpec, Dims};
    use crate::paths::{Init, PathCache};
    use crate::probe::{ProbeMeasure, Prober, stable_norm, stable_norm_diff};
    use crate::progress::Silent;
    use crate::rng::stream;
    use rand::Rng;

    fn random(block: BlockSpec, dims: Dims, seed: u64) -> ResNet<f64> {
        let mut net = ResNet::zeros(block, dims).unwrap();
        let cache = PathCache::new();
        let mut rng = stream(seed, &[]);
        let (d, l) = (dims.width, dims.depth);
        let p = &mut net.params;
        let mut fill = |layers, rows, cols, out: &mut Vec<f64>| {
            Init::Gaussian
                .sample_stack(layers, rows, cols, &cache, &mut rng, out)
                .unwrap()
        };
        fill(1, d, dims.n_in, &mut p.embed);
        fill(l, d, d, &mut p.v);
        if block.inner {
            fill(l, d, d, &mut p.w);
        }
        fill(1, dims.n_out, d, &mut p.readout);
        net
    }

    fn inputs(dims: Dims, n: usize) -> (Vec<f64>, Vec<f64>) {
        let mut rng = stream(9, &[]);
        let x = (0..dims.n_in * n).map(|_| rng.random::<f64>()).collect();
        let y = (0..dims.n_out * n).map(|_| rng.random::<f64>()).collect();
        (x, y)
    }

    /// The trajectory's end points give the prober's four measurements.
    #[test]
    fn end_points_agree_with_the_prober() {
        let dims = Dims {
            n_in: 7,
            width: 6,
            inner_width: 6,
            n_out: 2,
            depth: 30,
        };
        for block in [
            BlockSpec::res3(Activation::Relu),
            BlockSpec::res1(Activation::Tanh),
        ] {
            let net = random(block, dims, 3);
            let alpha = [0.3, 0.1, 1.0];
            let (x, y) = inputs(dims, alpha.len());
            let t = trajectory(&net, &alpha, &x, &y, &Silent).unwrap();
            let mut out = Vec::new();
            Prober::new(8)
                .probe_network(&net, &alpha, &x, &y, &mut out)
                .unwrap();
            let (d, l, n) = (dims.width, dims.depth, alpha.len());
            for (c, m) in out.iter().enumerate() {
                let at = |k: usize| (k * n + c) * d..(k * n + c + 1) * d;
                let (h0, hl) = (&t.h[at(0)], &t.h[at(l)]);
                let (p0, pl) = (&t.p[at(0)], &t.p[at(l)]);
                let got = ProbeMeasure {
                    h_ratio: stable_norm(hl) / stable_norm(h0),
                    h_diff: stable_norm_diff(hl, h0) / stable_norm(h0),
                    g_ratio: stable_norm(p0) / stable_norm(pl),
                    g_diff: stable_norm_diff(pl, p0) / stable_norm(pl),
                };
                for (a, b) in [
                    (got.h_ratio, m.h_ratio),
                    (got.h_diff, m.h_diff),
                    (got.g_ratio, m.g_ratio),
                    (got.g_diff, m.g_diff),
                ] {
                    assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
                }
            }
        }
    }

    /// `A^T p_0` is the gradient of the loss with respect to the input: central differences.
    #[test]
    fn p0_is_the_input_gradient() {
        let dims = Dims {
            n_in: 5,
            width: 4,
            inner_width: 4,
            n_out: 3,
            depth: 12,
        };
        let net = random(BlockSpec::res3(Activation::Tanh), dims, 5);
        let (x, y) = inputs(dims, 1);
        let alpha = [0.4];
        let t = trajectory(&net, &alpha, &x, &y, &Silent).unwrap();
        let d = dims.width;
        for i in 0..dims.n_in {
            let analytic: f64 = (0..d)
                .map(|r| net.params.embed[r * dims.n_in + i] * t.p[r])
                .sum();
            let eps = 1e-6;
            let loss_at = |s: f64| {
                let mut xs = x.clone();
                xs[i] += s;
                trajectory(&net, &alpha, &xs, &y, &Silent).unwrap().loss[0]
            };
            let numeric = (loss_at(eps) - loss_at(-eps)) / (2.0 * eps);
            assert!(
                (analytic - numeric).abs() < 1e-6 * (1.0 + analytic.abs()),
                "{i}: {analytic} vs {numeric}"
            );
        }
    }

    #[test]
    fn shapes_are_checked_by_field() {
        let dims = Dims {
            n_in: 3,
            width: 2,
            inner_width: 2,
            n_out: 1,
            depth: 2,
        };
        let net = random(BlockSpec::res1(Activation::Relu), dims, 1);
        let err = trajectory(&net, &[1.0], &[0.0; 2], &[0.0], &Silent).unwrap_err();
        assert!(
            matches!(err, Error::Config { ref field, .. } if field == "x"),
            "{err}"
        );
        let err = trajectory(&net, &[1.0], &[0.0; 3], &[], &Silent).unwrap_err();
        assert!(
            matches!(err, Error::Config { ref field, .. } if field == "y"),
            "{err}"
        );
    }
}
