//! What the paper measures at initialization: for one input, how far the network is from the
//! identity (hidden states) and how gradients grow from the output back to the input.
//!
//! For a sample `x ~ U[0,1]^{n_in}`, target `y ~ U[0,1]^{n_out}` and loss `||B h_L - y||^2`,
//! with `p_k = dloss/dh_k`:
//! `h_ratio = ||h_L||/||h_0||`, `h_diff = ||h_L - h_0||/||h_0||`,
//! `g_ratio = ||p_0||/||p_L||`, `g_diff = ||p_L - p_0||/||p_L||`.
//! In the explosion regime a quantity that overflows is recorded as `+inf`, never dropped.

use crate::kernels::{Backend, CpuBackend, Keep, NetBatch, Op, ProductShape, StackShape, Tape};
use crate::model::{BlockSpec, Dims, ResNet};
use crate::{Float, Result};

/// The four measurements of one probe.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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

/// Grows `buf` to at least `len` values (between stack calls only).
fn ensure<T: Float, B: Backend<T>>(backend: &B, buf: &mut B::Buffer, len: usize) {
    if backend.len(buf) < len {
        *buf = backend.zeros(len);
    }
}

/// Probes batches of networks that share a block and a shape, on backend `B`.
///
/// Load the batch's parameters ([`Prober::load`], written in place in the backend's storage,
/// or [`Prober::load_network`] for one host network), then [`Prober::probe`] runs all its
/// networks together: one embedding, one forward stack, one readout and one backward stack
/// per chunk of at most `max_columns` columns per network. Buffers grow to the largest batch
/// seen, between stack calls; steady-state probes of same-sized batches do not allocate.
#[derive(Debug)]
pub struct Prober<B: Backend<f64> = CpuBackend> {
    backend: B,
    nets: Option<NetBatch<f64, B>>,
    max_columns: usize,
    tape: Tape<B::Buffer>,
    alpha: B::Buffer,
    x: B::Buffer,
    y: B::Buffer,
    residual: B::Buffer,
    p: B::Buffer,
    p_last: B::Buffer,
    scratch: B::Buffer,
    staging: [Vec<f64>; 4],
}

impl Prober<CpuBackend> {
    /// A CPU prober that processes at most `max_columns` columns per network at a time (bounds
    /// the tape's memory to `networks * depth * width * max_columns` values).
    pub fn new(max_columns: usize) -> Self {
        Self::with_backend(CpuBackend::new(), max_columns)
    }
}

impl<B: Backend<f64>> Prober<B> {
    /// A prober on `backend`, at most `max_columns` columns per network at a time.
    pub fn with_backend(backend: B, max_columns: usize) -> Self {
        let empty = || backend.zeros(0);
        Self {
            tape: Tape {
                h0: empty(),
                h_last: empty(),
                pre: empty(),
                inputs: empty(),
            },
            alpha: empty(),
            x: empty(),
            y: empty(),
            residual: empty(),
            p: empty(),
            p_last: empty(),
            scratch: empty(),
            staging: Default::default(),
            nets: None,
            max_columns: max_columns.max(1),
            backend,
        }
    }

    /// Makes the loaded batch `networks` networks of `block` and shape `dims` and returns it,
    /// for the caller to write every tensor ([`NetBatch::write`]).
    pub fn load(
        &mut self,
        block: BlockSpec,
        dims: Dims,
        networks: usize,
    ) -> Result<&mut NetBatch<f64, B>> {
        match &mut self.nets {
            Some(nets) if *nets.block() == block => nets.reshape(dims, networks)?,
            slot => {
                *slot = Some(NetBatch::zeros(
                    self.backend.clone(),
                    block,
                    dims,
                    networks,
                )?)
            }
        }
        Ok(self.nets.as_mut().expect("just loaded"))
    }

    /// Loads the single host network `net` (a copy of its parameters).
    pub fn load_network(&mut self, net: &ResNet<f64>) -> Result<()> {
        self.load(net.block, net.dims, 1)?.set_network(0, net);
        Ok(())
    }

    /// [`Prober::load_network`] then [`Prober::probe`]: convenient, but it copies the
    /// network's parameters on every call.
    pub fn probe_network(
        &mut self,
        net: &ResNet<f64>,
        alpha: &[f64],
        x: &[f64],
        y: &[f64],
        out: &mut Vec<ProbeMeasure>,
    ) -> Result<()> {
        self.load_network(net)?;
        self.probe(alpha, x, y, out);
        Ok(())
    }

    /// Probes every network `b` of the loaded batch on `n = alpha.len()` columns: column `c`
    /// has residual scale `alpha[c]` (the same for every network), input `x[b][:, c]` and
    /// target `y[b][:, c]` (`x`: `[B, n_in, n]`, `y`: `[B, n_out, n]`, each network's
    /// columns column-major). Appends `B n` [`ProbeMeasure`]s to `out`, network after network,
    /// each in column order.
    ///
    /// # Panics
    /// If no batch is loaded or `x`, `y` do not have the batch's shapes.
    pub fn probe(&mut self, alpha: &[f64], x: &[f64], y: &[f64], out: &mut Vec<ProbeMeasure>) {
        let nets = self.nets.as_ref().expect("load a batch before probing");
        let (dims, networks) = (nets.dims(), nets.networks());
        let n = alpha.len();
        assert_eq!(x.len(), networks * dims.n_in * n, "x must be [B, n_in, n]");
        assert_eq!(
            y.len(),
            networks * dims.n_out * n,
            "y must be [B, n_out, n]"
        );
        let base = out.len();
        out.resize(base + networks * n, ProbeMeasure::default());
        let mut start = 0;
        while start < n {
            let m = (n - start).min(self.max_columns);
            self.probe_chunk(alpha, x, y, n, start..start + m, &mut out[base..]);
            start += m;
        }
    }

    /// Columns `cols` of every network; `out` holds the batch's `B n` measures.
    fn probe_chunk(
        &mut self,
        alpha: &[f64],
        x: &[f64],
        y: &[f64],
        n: usize,
        cols: std::ops::Range<usize>,
        out: &mut [ProbeMeasure],
    ) {
        let Self {
            backend,
            nets,
            tape,
            alpha: alpha_buf,
            x: x_buf,
            y: y_buf,
            residual,
            p,
            p_last,
            scratch,
            staging,
            ..
        } = self;
        let nets = nets.as_ref().expect("a loaded batch");
        let (block, dims, networks) = (*nets.block(), nets.dims(), nets.networks());
        let Dims {
            n_in,
            width: d,
            n_out,
            ..
        } = dims;
        let m = cols.len();
        let shape = nets.stack_shape(m);
        let embed = ProductShape {
            networks,
            rows: d,
            cols: n_in,
            columns: m,
        };
        let readout = ProductShape {
            rows: n_out,
            cols: d,
            ..embed
        };
        let scratch_len = [
            backend.stack_scratch(&block, shape),
            backend.product_scratch(Op::Plain, embed),
            backend.product_scratch(Op::Plain, readout),
            backend.product_scratch(Op::Transposed, readout),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        size_tape(backend, tape, shape);
        for (buf, len) in [
            (&mut *alpha_buf, shape.alphas()),
            (&mut *x_buf, networks * n_in * m),
            (&mut *y_buf, networks * n_out * m),
            (&mut *residual, networks * n_out * m),
            (&mut *p, shape.states()),
            (&mut *p_last, shape.states()),
            (&mut *scratch, scratch_len),
        ] {
            ensure(backend, buf, len);
        }
        // the chunk's columns of every network, contiguous per network
        let gather = |src: &[f64], rows: usize, host: &mut [f64]| {
            for (b, dst) in host.chunks_exact_mut(rows * m).enumerate() {
                let at = b * rows * n + cols.start * rows;
                dst.copy_from_slice(&src[at..at + rows * m]);
            }
        };
        let [s0, s1, s2, s3] = staging;
        backend.write(x_buf, networks * n_in * m, s0, |h| gather(x, n_in, h));
        backend.write(y_buf, networks * n_out * m, s0, |h| gather(y, n_out, h));
        backend.write(alpha_buf, shape.alphas(), s0, |h| {
            for dst in h.chunks_exact_mut(m) {
                dst.copy_from_slice(&alpha[cols.clone()]);
            }
        });
        let params = nets.params();
        backend.product(
            &params.embed,
            Op::Plain,
            x_buf,
            &mut tape.h0,
            embed,
            1.0,
            false,
            scratch,
        );
        backend.forward_stack(
            &block,
            shape,
            nets.weights(),
            alpha_buf,
            tape,
            Keep::PreActivations,
            scratch,
        );
        // p_L = 2 B^T (B h_L - y)
        backend.product(
            &params.readout,
            Op::Plain,
            &tape.h_last,
            residual,
            readout,
            1.0,
            false,
            scratch,
        );
        backend.axpy(-1.0, y_buf, residual, networks * n_out * m);
        backend.product(
            &params.readout,
            Op::Transposed,
            residual,
            p,
            readout,
            2.0,
            false,
            scratch,
        );
        backend.copy(p, p_last, shape.states());
        backend.backward_stack(
            &block,
            shape,
            nets.weights(),
            alpha_buf,
            tape,
            p,
            None,
            scratch,
        );
        let states = shape.states();
        let h0 = backend.read(&tape.h0, states, s0);
        let hl = backend.read(&tape.h_last, states, s1);
        let p0 = backend.read(p, states, s2);
        let pl = backend.read(p_last, states, s3);
        for b in 0..networks {
            for c in 0..m {
                let col = (b * m + c) * d..(b * m + c + 1) * d;
                out[b * n + cols.start + c] = measure(
                    &h0[col.clone()],
                    &hl[col.clone()],
                    &p0[col.clone()],
                    &pl[col],
                );
            }
        }
    }
}

/// Grows the tape to hold `shape` with pre-activations.
fn size_tape<B: Backend<f64>>(backend: &B, tape: &mut Tape<B::Buffer>, shape: StackShape) {
    ensure(backend, &mut tape.h0, shape.states());
    ensure(backend, &mut tape.h_last, shape.states());
    ensure(backend, &mut tape.pre, shape.tape());
}

/// The four measurements of one column from `h_0`, `h_L`, `p_0`, `p_L`.
fn measure(h0: &[f64], hl: &[f64], p0: &[f64], pl: &[f64]) -> ProbeMeasure {
    let (nh0, npl) = (stable_norm(h0), stable_norm(pl));
    ProbeMeasure {
        h_ratio: explosion_ratio(stable_norm(hl), nh0),
        h_diff: explosion_ratio(stable_norm_diff(hl, h0), nh0),
        g_ratio: explosion_ratio(stable_norm(p0), npl),
        g_diff: explosion_ratio(stable_norm_diff(pl, p0), npl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{StackWeights, weights_of};
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

    /// The closed forms `E||h_L||^2 = (1 + alpha^2/2)^L ||h_0||^2` for res3 with ReLU and
    /// symmetric weights of variance 1/d, and (the increments being martingale differences)
    /// `E||h_L - h_0||^2 = ((1 + alpha^2/2)^L - 1) ||h_0||^2`, checked by Monte Carlo over
    /// weight draws.
    #[test]
    fn res3_relu_second_moments_match_closed_forms() {
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
        let (mut ratios, mut diffs) = (Vec::with_capacity(draws), Vec::with_capacity(draws));
        let mut out = Vec::new();
        for draw in 0..draws {
            let net = random_res3(dims, draw as u64);
            let mut rng = stream(99, &[draw as u64]);
            let x: Vec<f64> = (0..dims.n_in).map(|_| rng.random()).collect();
            out.clear();
            prober
                .probe_network(&net, &[alpha], &x, &[0.5], &mut out)
                .unwrap();
            ratios.push(out[0].h_ratio.powi(2));
            diffs.push(out[0].h_diff.powi(2));
        }
        for (what, values, closed) in [
            ("h_ratio^2", &ratios, want),
            ("h_diff^2", &diffs, want - 1.0),
        ] {
            let (mean, half) = crate::stats::mean_ci95(values);
            // 99.9% interval: 3.3 standard errors (the 95% half-width is 1.96 of them).
            let tol = half / 1.96 * 3.3;
            assert!(
                (mean - closed).abs() < tol,
                "{what}: mean {mean} vs closed form {closed} (tol {tol})"
            );
        }
    }

    /// `dloss/dh_0` from the backward stack matches finite differences of the loss
    /// `||B h_L - y||^2` in `h_0` (f64), with columns of different scales in one batch.
    #[test]
    fn backward_matches_finite_differences() {
        let dims = Dims {
            n_in: 5,
            width: 6,
            n_out: 2,
            depth: 7,
        };
        let net = random_res3(dims, 3);
        let backend = CpuBackend::new();
        let nets = NetBatch::from_network(backend, &net).unwrap();
        let alpha = vec![0.7, 0.3];
        let n = alpha.len();
        let (d, n_out) = (dims.width, dims.n_out);
        let shape = nets.stack_shape(n);
        let readout = ProductShape {
            networks: 1,
            rows: n_out,
            cols: d,
            columns: n,
        };
        let mut rng = stream(5, &[]);
        let h0: Vec<f64> = (0..d * n).map(|_| rng.random::<f64>() - 0.5).collect();
        let y: Vec<f64> = (0..n_out * n).map(|_| rng.random()).collect();
        let weights: StackWeights<'_, Vec<f64>> = weights_of(nets.block(), nets.params());
        let forward = |h0: &[f64]| {
            let mut tape: Tape<Vec<f64>> = Tape::new(&backend, shape, Keep::PreActivations);
            tape.h0.copy_from_slice(h0);
            let mut scratch =
                vec![0.0; Backend::<f64>::stack_scratch(&backend, nets.block(), shape)];
            backend.forward_stack(
                nets.block(),
                shape,
                weights,
                &alpha,
                &mut tape,
                Keep::PreActivations,
                &mut scratch,
            );
            let mut r = vec![0.0; n_out * n];
            backend.product(
                &net.params.readout,
                Op::Plain,
                &tape.h_last,
                &mut r,
                readout,
                1.0,
                false,
                &mut Vec::new(),
            );
            backend.axpy(-1.0, &y, &mut r, n_out * n);
            (tape, r)
        };
        let loss = |h0: &[f64]| forward(h0).1.iter().map(|r| r * r).sum::<f64>();
        let (tape, r) = forward(&h0);
        let mut p = vec![0.0; d * n];
        backend.product(
            &net.params.readout,
            Op::Transposed,
            &r,
            &mut p,
            readout,
            2.0,
            false,
            &mut Vec::new(),
        );
        let mut scratch = vec![0.0; Backend::<f64>::stack_scratch(&backend, nets.block(), shape)];
        backend.backward_stack(
            nets.block(),
            shape,
            weights,
            &alpha,
            &tape,
            &mut p,
            None,
            &mut scratch,
        );
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

    /// Probing a batch of networks together gives, bit for bit, what probing each alone gives,
    /// whatever the chunking of the columns.
    #[test]
    fn a_batch_of_networks_probes_like_each_alone() {
        let dims = Dims {
            n_in: 4,
            width: 9,
            n_out: 2,
            depth: 12,
        };
        let nets: Vec<ResNet<f64>> = (0..3).map(|s| random_res3(dims, 10 + s)).collect();
        let alpha = [0.9, 0.5, 0.3, 0.2, 0.1];
        let n = alpha.len();
        let mut rng = stream(4, &[]);
        let x: Vec<f64> = (0..3 * dims.n_in * n).map(|_| rng.random()).collect();
        let y: Vec<f64> = (0..3 * dims.n_out * n).map(|_| rng.random()).collect();
        let mut prober = Prober::new(2);
        let batch = prober.load(nets[0].block, dims, 3).unwrap();
        for (b, net) in nets.iter().enumerate() {
            batch.set_network(b, net);
        }
        let mut together = Vec::new();
        prober.probe(&alpha, &x, &y, &mut together);
        let mut alone = Vec::new();
        for (b, net) in nets.iter().enumerate() {
            let xs = &x[b * dims.n_in * n..(b + 1) * dims.n_in * n];
            let ys = &y[b * dims.n_out * n..(b + 1) * dims.n_out * n];
            Prober::new(2)
                .probe_network(net, &alpha, xs, ys, &mut alone)
                .unwrap();
        }
        assert_eq!(together, alone);
        // a larger chunk reorders nothing either
        let mut wide = Vec::new();
        let mut prober = Prober::new(64);
        let batch = prober.load(nets[0].block, dims, 3).unwrap();
        for (b, net) in nets.iter().enumerate() {
            batch.set_network(b, net);
        }
        prober.probe(&alpha, &x, &y, &mut wide);
        for (a, b) in wide.iter().zip(&together) {
            for (u, v) in [
                (a.h_ratio, b.h_ratio),
                (a.h_diff, b.h_diff),
                (a.g_ratio, b.g_ratio),
                (a.g_diff, b.g_diff),
            ] {
                assert!((u - v).abs() <= 1e-12 * v.abs(), "{u} vs {v}");
            }
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
        Prober::new(8)
            .probe_network(&net, &[1.0], &[0.5; 4], &[0.5], &mut out)
            .unwrap();
        let m = out[0];
        assert_eq!(m.h_ratio, f64::INFINITY);
        assert_eq!(m.g_ratio, f64::INFINITY);
    }
}
