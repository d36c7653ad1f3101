//! What the paper measures at initialization: for one input, how far the network is from the
//! identity (hidden states) and how gradients grow from the output back to the input.
//!
//! For a sample `x ~ U[0,1]^{n_in}`, target `y ~ U[0,1]^{n_out}` and loss `||B h_L - y||^2`,
//! with `p_k = dloss/dh_k`:
//! `h_ratio = ||h_L||/||h_0||`, `h_diff = ||h_L - h_0||/||h_0||`,
//! `g_ratio = ||p_0||/||p_L||`, `g_diff = ||p_L - p_0||/||p_L||`.
//! In the explosion regime a quantity that overflows is recorded as `+inf`, never dropped.

use crate::Result;
use crate::kernels::{
    Backend, CpuBackend, Keep, NetBatch, Op, ProductShape, StackShape, Tape, ensure_len,
};
use crate::model::{BlockSpec, Dims, ResNet};

pub mod trajectory;

pub use trajectory::{Trajectory, trajectory, trajectory_footprint};

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
            ensure_len(backend, buf, len);
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
    ensure_len(backend, &mut tape.h0, shape.states());
    ensure_len(backend, &mut tape.h_last, shape.states());
    ensure_len(backend, &mut tape.pre, shape.tape());
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
mod tests;
