//! What the paper measures at initialization: for one input, how far the network is from the
//! identity (hidden states) and how gradients grow from the output back to the input.
//!
//! For a sample `x ~ U[0,1]^{n_in}`, target `y ~ U[0,1]^{n_out}` and loss `||B h_L - y||^2`,
//! with `p_k = dloss/dh_k`:
//! `h_ratio = ||h_L||/||h_0||`, `h_diff = ||h_L - h_0||/||h_0||`,
//! `g_ratio = ||p_0||/||p_L||`, `g_diff = ||p_L - p_0||/||p_L||`.
//! In the explosion regime a quantity that overflows is recorded as `+inf`, never dropped.

use crate::kernels::CpuKernel;
use crate::linalg::{MatMut, MatRef, matmul};
use crate::model::{ResNet, Tape};

/// The four measurements of one probe.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbeMeasure {
    /// `||h_L|| / ||h_0||`.
    pub h_ratio: f64,
    /// `||h_L - h_0|| / ||h_0||`.
    pub h_diff: f64,
    /// `||p_0|| / ||p_L||`.
    pub g_ratio: f64,
    /// `||p_L - p_0|| / ||p_L||`.
    pub g_diff: f64,
}

/// Euclidean norm computed without overflow of the squares; `+inf` if any entry is not finite.
pub fn stable_norm(v: &[f64]) -> f64 {
    scaled_norm(v.iter().copied())
}

/// `||a - b||` computed like [`stable_norm`].
pub fn stable_norm_diff(a: &[f64], b: &[f64]) -> f64 {
    scaled_norm(a.iter().zip(b).map(|(x, y)| x - y))
}

fn scaled_norm(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let mut max = 0f64;
    for x in v.clone() {
        if !x.is_finite() {
            return f64::INFINITY;
        }
        max = max.max(x.abs());
    }
    if max == 0.0 {
        return 0.0;
    }
    let inv = 1.0 / max;
    max * v.map(|x| (x * inv) * (x * inv)).sum::<f64>().sqrt()
}

/// `a / b` where an overflowed operand means an exploded quantity: `+inf`.
fn explosion_ratio(a: f64, b: f64) -> f64 {
    if a.is_finite() && b.is_finite() {
        a / b
    } else {
        f64::INFINITY
    }
}

/// Reusable buffers for probing networks with batches of columns (allocation-free once warm).
#[derive(Debug, Default)]
pub struct Prober {
    kernel: CpuKernel<f64>,
    tape: Tape<f64>,
    p: Vec<f64>,
    p_last: Vec<f64>,
    residual: Vec<f64>,
    max_columns: usize,
}

impl Prober {
    /// A prober that processes at most `max_columns` columns at a time (bounds the tape's
    /// memory to `depth * width * max_columns` values).
    pub fn new(max_columns: usize) -> Self {
        Self {
            max_columns: max_columns.max(1),
            ..Self::default()
        }
    }

    /// Probes `net` on `n = alpha.len()` columns: column `c` has input `x[:, c]` (`n_in x n`,
    /// column-major), target `y[:, c]` (`n_out x n`) and residual scale `alpha[c]`.
    /// Appends one [`ProbeMeasure`] per column to `out`, in column order.
    pub fn probe(
        &mut self,
        net: &ResNet<f64>,
        alpha: &[f64],
        x: &[f64],
        y: &[f64],
        out: &mut Vec<ProbeMeasure>,
    ) {
        let dims = net.dims;
        let n = alpha.len();
        assert_eq!(x.len(), dims.n_in * n, "x must be n_in x n");
        assert_eq!(y.len(), dims.n_out * n, "y must be n_out x n");
        let mut start = 0;
        while start < n {
            let m = (n - start).min(self.max_columns);
            let cols = start..start + m;
            self.probe_chunk(
                net,
                &alpha[cols.clone()],
                &x[cols.start * dims.n_in..cols.end * dims.n_in],
                &y[cols.start * dims.n_out..cols.end * dims.n_out],
                out,
            );
            start += m;
        }
    }

    fn probe_chunk(
        &mut self,
        net: &ResNet<f64>,
        alpha: &[f64],
        x: &[f64],
        y: &[f64],
        out: &mut Vec<ProbeMeasure>,
    ) {
        let (d, n_out) = (net.dims.width, net.dims.n_out);
        let n = alpha.len();
        self.tape.h0.resize(d * n, 0.0);
        net.embed(x, n, &mut self.tape.h0);
        net.forward(&mut self.kernel, alpha, &mut self.tape, false);
        // p_L = 2 B^T (B h_L - y)
        self.residual.resize(n_out * n, 0.0);
        net.readout(&self.tape.h_last, n, &mut self.residual);
        for (r, t) in self.residual.iter_mut().zip(y) {
            *r -= t;
        }
        self.p.resize(d * n, 0.0);
        matmul(
            MatMut::col_major(&mut self.p, d, n),
            MatRef::row_major(&net.params.readout, n_out, d).t(),
            MatRef::col_major(&self.residual, n_out, n),
            2.0,
            false,
        );
        self.p_last.clear();
        self.p_last.extend_from_slice(&self.p);
        net.backward(
            &mut self.kernel,
            alpha,
            &self.tape,
            &mut self.p,
            None,
            |_, _| {},
        );
        for c in 0..n {
            let col = c * d..(c + 1) * d;
            let h0 = &self.tape.h0[col.clone()];
            let hl = &self.tape.h_last[col.clone()];
            let p0 = &self.p[col.clone()];
            let pl = &self.p_last[col];
            let (nh0, npl) = (stable_norm(h0), stable_norm(pl));
            out.push(ProbeMeasure {
                h_ratio: explosion_ratio(stable_norm(hl), nh0),
                h_diff: explosion_ratio(stable_norm_diff(hl, h0), nh0),
                g_ratio: explosion_ratio(stable_norm(p0), npl),
                g_diff: explosion_ratio(stable_norm_diff(pl, p0), npl),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, BlockSpec, Dims};
    use crate::paths::{Init, PathCache};
    use crate::rng::stream;
    use rand::Rng;

    fn random_res3(dims: Dims, seed: u64) -> ResNet<f64> {
        let mut net = ResNet::zeros(BlockSpec::res3(Activation::Relu), dims).unwrap();
        let cache = PathCache::new();
        let mut rng = stream(seed, &[]);
        let (d, l) = (dims.width, dims.depth);
        let p = &mut net.params;
        Init::Uniform
            .sample_stack(1, d, dims.n_in, &cache, &mut rng, &mut p.embed)
            .unwrap();
        Init::Uniform
            .sample_stack(l, d, d, &cache, &mut rng, &mut p.v)
            .unwrap();
        Init::Uniform
            .sample_stack(l, d, d, &cache, &mut rng, &mut p.w)
            .unwrap();
        Init::Uniform
            .sample_stack(1, dims.n_out, d, &cache, &mut rng, &mut p.readout)
            .unwrap();
        net
    }

    #[test]
    fn norms_do_not_overflow_and_flag_infinities() {
        assert!((stable_norm(&[3e200, 4e200]) / 5e200 - 1.0).abs() < 1e-15);
        assert_eq!(stable_norm(&[0.0, 0.0]), 0.0);
        assert_eq!(stable_norm(&[1.0, f64::NAN]), f64::INFINITY);
        assert_eq!(stable_norm_diff(&[1.0, 2.0], &[1.0, 0.0]), 2.0);
    }

    /// The closed form `E||h_L||^2 = (1 + alpha^2/2)^L ||h_0||^2` for res3 with ReLU and symmetric
    /// weights of variance 1/d, checked by Monte Carlo over weight draws.
    #[test]
    fn res3_relu_second_moment_matches_closed_form() {
        let dims = Dims {
            n_in: 6,
            width: 8,
            n_out: 1,
            depth: 20,
        };
        let beta = 0.25;
        let alpha = (dims.depth as f64).powf(-beta);
        let want = (1.0 + alpha * alpha / 2.0).powi(dims.depth as i32);
        let draws = 3000;
        let mut prober = Prober::new(64);
        let mut ratios = Vec::with_capacity(draws);
        let mut out = Vec::new();
        for draw in 0..draws {
            let net = random_res3(dims, draw as u64);
            let mut rng = stream(99, &[draw as u64]);
            let x: Vec<f64> = (0..dims.n_in).map(|_| rng.random()).collect();
            out.clear();
            prober.probe(&net, &[alpha], &x, &[0.5], &mut out);
            ratios.push(out[0].h_ratio.powi(2));
        }
        let (mean, half) = crate::stats::mean_ci95(&ratios);
        // 99.9% interval: 3.3 standard errors (the 95% half-width is 1.96 standard errors).
        let tol = half / 1.96 * 3.3;
        assert!(
            (mean - want).abs() < tol,
            "mean {mean} vs closed form {want} (tol {tol})"
        );
        // And the mean square of h_diff is (1 + alpha^2/2)^L - 1 (martingale increments).
        assert!(
            want > 1.5,
            "the test must probe a regime far from the identity"
        );
    }

    /// `p_k` from the backward pass matches finite differences of the loss in `h_k` (f64),
    /// including columns with different scales in one batch.
    #[test]
    fn backward_matches_finite_differences() {
        let dims = Dims {
            n_in: 5,
            width: 6,
            n_out: 2,
            depth: 7,
        };
        let net = random_res3(dims, 3);
        let alpha = [0.7, 0.3];
        let n = alpha.len();
        let mut rng = stream(5, &[]);
        let h0: Vec<f64> = (0..dims.width * n)
            .map(|_| rng.random::<f64>() - 0.5)
            .collect();
        let y: Vec<f64> = (0..dims.n_out * n).map(|_| rng.random()).collect();
        let loss = |h0: &[f64]| -> f64 {
            let mut k = CpuKernel::new();
            let mut tape = Tape {
                h0: h0.to_vec(),
                ..Tape::default()
            };
            net.forward(&mut k, &alpha, &mut tape, false);
            let mut o = vec![0.0; dims.n_out * n];
            net.readout(&tape.h_last, n, &mut o);
            o.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum()
        };
        let mut kernel = CpuKernel::new();
        let mut tape = Tape {
            h0: h0.clone(),
            ..Tape::default()
        };
        net.forward(&mut kernel, &alpha, &mut tape, false);
        let mut o = vec![0.0; dims.n_out * n];
        net.readout(&tape.h_last, n, &mut o);
        let r: Vec<f64> = o.iter().zip(&y).map(|(a, b)| 2.0 * (a - b)).collect();
        let mut p = vec![0.0; dims.width * n];
        matmul(
            MatMut::col_major(&mut p, dims.width, n),
            MatRef::row_major(&net.params.readout, dims.n_out, dims.width).t(),
            MatRef::col_major(&r, dims.n_out, n),
            1.0,
            false,
        );
        let mut seen = Vec::new();
        net.backward(&mut kernel, &alpha, &tape, &mut p, None, |k, _| {
            seen.push(k)
        });
        assert_eq!(seen, (0..=dims.depth).rev().collect::<Vec<_>>());
        let eps = 1e-6;
        for i in 0..h0.len() {
            let mut hp = h0.clone();
            hp[i] += eps;
            let mut hm = h0.clone();
            hm[i] -= eps;
            let fd = (loss(&hp) - loss(&hm)) / (2.0 * eps);
            assert!(
                (fd - p[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                "dL/dh0[{i}]: fd {fd} vs {}",
                p[i]
            );
        }
    }

    #[test]
    fn explosion_is_recorded_as_infinity() {
        let dims = Dims {
            n_in: 4,
            width: 4,
            n_out: 1,
            depth: 30,
        };
        let mut net = random_res3(dims, 1);
        for v in net.params.v.iter_mut().chain(net.params.w.iter_mut()) {
            *v = v.abs() * 1e6;
        }
        let mut out = Vec::new();
        Prober::new(8).probe(&net, &[1.0], &[0.5; 4], &[0.5], &mut out);
        let m = out[0];
        assert_eq!(m.h_ratio, f64::INFINITY);
        assert_eq!(m.g_ratio, f64::INFINITY);
    }
}
