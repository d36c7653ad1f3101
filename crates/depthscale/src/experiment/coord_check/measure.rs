//! The coord check's measurements of one network: an exact host forward pass in `f64` of the
//! training model (`h_0 = A x`, `h_{k+1} = h_k + alpha (V_{k+1} relu(h_k) + b_{k+1})`, logits
//! `B h_L`) on a fixed batch, recording on the chosen layers the mean absolute value of the
//! hidden state and of the residual update, and of the logits; and the size of each weight's
//! change since initialization.

use crate::linalg::{MatMut, MatRef, matmul};
use crate::model::ResNet;

/// The layers `k` in `0..=depth` recorded: every layer when `max_layers > depth`, else
/// `max_layers` log-spaced ones (always `0`, `1` and `depth`).
pub fn recorded_layers(depth: usize, max_layers: usize) -> Vec<usize> {
    if max_layers > depth {
        return (0..=depth).collect();
    }
    let m = max_layers.max(3) - 1;
    let mut out = vec![0];
    for i in 0..m {
        let k = ((depth as f64).powf(i as f64 / (m - 1) as f64)).round() as usize;
        let k = k.clamp(1, depth);
        if out.last() != Some(&k) {
            out.push(k);
        }
    }
    out
}

/// The host network `net` in `f64`.
pub fn to_f64(net: &ResNet<f32>) -> ResNet<f64> {
    let conv = |v: &Vec<f32>| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    ResNet {
        block: net.block,
        dims: net.dims,
        params: crate::model::Tensors {
            embed: conv(&net.params.embed),
            v: conv(&net.params.v),
            w: conv(&net.params.w),
            bias: conv(&net.params.bias),
            readout: conv(&net.params.readout),
        },
    }
}

/// Runs the training model `net` (res1, ReLU, bias outside) with residual scale `alpha` on the
/// `n` columns of `x` (`n_in x n`, column-major) and calls `visit(k, h_k, r_k)` for every
/// `k` in `0..=L` with the hidden state `h_k` (`d x n`, column-major) and the residual update
/// `r_k = h_k - h_{k-1}` (empty for `k = 0`); returns the logits `B h_L` (`n_out x n`).
pub fn forward(
    net: &ResNet<f64>,
    alpha: f64,
    x: &[f64],
    n: usize,
    mut visit: impl FnMut(usize, &[f64], &[f64]),
) -> Vec<f64> {
    let dims = net.dims;
    let (d, n_in, n_out, depth) = (dims.width, dims.n_in, dims.n_out, dims.depth);
    let p = &net.params;
    let mut h = vec![0.0; d * n];
    let mut act = vec![0.0; d * n];
    let mut r = vec![0.0; d * n];
    matmul(
        MatMut::col_major(&mut h, d, n),
        MatRef::row_major(&p.embed, d, n_in),
        MatRef::col_major(x, n_in, n),
        1.0,
        false,
    );
    visit(0, &h, &[]);
    for k in 0..depth {
        for (a, &v) in act.iter_mut().zip(&h) {
            *a = v.max(0.0);
        }
        matmul(
            MatMut::col_major(&mut r, d, n),
            MatRef::row_major(&p.v[k * d * d..(k + 1) * d * d], d, d),
            MatRef::col_major(&act, d, n),
            1.0,
            false,
        );
        let b = &p.bias[k * d..(k + 1) * d];
        for col in r.chunks_exact_mut(d) {
            for (ri, bi) in col.iter_mut().zip(b) {
                *ri = alpha * (*ri + bi);
            }
        }
        for (hi, ri) in h.iter_mut().zip(&r) {
            *hi += ri;
        }
        visit(k + 1, &h, &r);
    }
    let mut logits = vec![0.0; n_out * n];
    matmul(
        MatMut::col_major(&mut logits, n_out, n),
        MatRef::row_major(&p.readout, n_out, d),
        MatRef::col_major(&h, d, n),
        1.0,
        false,
    );
    logits
}

/// Mean absolute value (`+inf` when an entry is not finite: an exploded state).
pub fn l1(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = 0.0;
    for x in v {
        if !x.is_finite() {
            return f64::INFINITY;
        }
        s += x.abs();
    }
    s / v.len() as f64
}

/// Frobenius norm of `a - b` computed in `f64`.
pub fn diff_norm(a: &[f32], b: &[f32]) -> f64 {
    let a: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) - f64::from(*y))
        .collect();
    crate::probe::stable_norm(&a)
}
