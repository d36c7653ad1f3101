//! The coord check's measurements of one network: a forward pass in `f64` of the training model
//! (`h_0 = A x`, `h_{k+1} = h_k + alpha (V_{k+1} act(W_{k+1} h_k ..) + b_{k+1})`, logits
//! `B h_L`) on a fixed batch through the run's backend ([`Forward`]), recording on the chosen
//! layers the mean absolute value of the hidden state and of the residual update, and of the
//! logits; and the size of each weight's change since initialization.

use crate::kernels::{Backend, Keep, Op, ProductShape, StackShape, StackWeights, Tape};
use crate::model::{BlockSpec, ResNet};

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

/// A run of consecutive residual layers computed by one stack call: layers `start + 1 ..=
/// start + len` (1-based); `recorded` when it is the single layer `start + 1` whose state and
/// update are recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    start: usize,
    len: usize,
    recorded: bool,
}

/// The stack calls of a forward pass through `depth` layers that expose `h_{k-1}` and `h_k`
/// for every recorded `k > 0` (`layers` ascending): the layers before each recorded one in one
/// call, the recorded layer alone in the next.
fn segments(depth: usize, layers: &[usize]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut pos = 0;
    for &k in layers.iter().filter(|&&k| k > 0 && k <= depth) {
        if k - 1 > pos {
            out.push(Segment {
                start: pos,
                len: k - 1 - pos,
                recorded: false,
            });
        }
        out.push(Segment {
            start: k - 1,
            len: 1,
            recorded: true,
        });
        pos = k;
    }
    if pos < depth {
        out.push(Segment {
            start: pos,
            len: depth - pos,
            recorded: false,
        });
    }
    out
}

/// The coord check's forward pass of one network shape through a backend `B` in `f64`: every
/// buffer sized once at construction (weights of the longest segment, states `d x n`, the
/// inputs, the logits, scratch), so that a pass allocates nothing. The weights of the host
/// network are converted to `f64` and uploaded a segment at a time.
pub struct Forward<B: Backend<f64>> {
    backend: B,
    block: BlockSpec,
    /// Columns `n`.
    n: usize,
    segments: Vec<Segment>,
    /// The embedding `A` (`d x n_in`, row-major), then the readout `B` (`n_out x d`).
    embed: B::Buffer,
    readout: B::Buffer,
    /// The inputs `x` (`n_in x n`, column-major) and the per-column scales `alpha` (`[n]`).
    x: B::Buffer,
    alpha: B::Buffer,
    /// The weights of the longest segment: `V` `[len, d, m]`, `W` `[len, m, d]`, biases.
    v: B::Buffer,
    w: B::Buffer,
    bias: B::Buffer,
    /// `h0` and `h_last`, `d x n` each (no tape: [`Keep::Output`]).
    tape: Tape<B::Buffer>,
    /// The logits `n_out x n`.
    logits: B::Buffer,
    scratch: B::Buffer,
    /// Host staging: `f64` weights before an upload, and the read-back of two states.
    host: Vec<f64>,
    read_a: Vec<f64>,
    read_b: Vec<f64>,
}

impl<B: Backend<f64>> Forward<B> {
    /// Buffers for `net`'s block and dimensions, the `n` columns of `x` (`n_in x n`,
    /// column-major, uploaded once), residual scale `alpha` and the recorded `layers`
    /// ([`recorded_layers`]).
    pub fn new(
        backend: B,
        net: &ResNet<f32>,
        alpha: f64,
        x: &[f64],
        n: usize,
        layers: &[usize],
    ) -> Self {
        let (block, dims) = (net.block, net.dims);
        let (d, m) = (dims.width, dims.inner_width);
        let segments = segments(dims.depth, layers);
        let longest = segments.iter().map(|s| s.len).max().unwrap_or(0);
        let shape = |depth| StackShape {
            networks: 1,
            depth,
            width: d,
            columns: n,
            inner_width: m,
        };
        let (embed, readout) = ProductShape::io(dims, n);
        let scratch_len = segments
            .iter()
            .map(|s| backend.stack_scratch(&block, shape(s.len)))
            .chain([
                backend.product_scratch(Op::Plain, embed),
                backend.product_scratch(Op::Plain, readout),
            ])
            .max()
            .unwrap_or(0);
        let bias = dims.bias_len(&block);
        let host_len = (longest * d * m)
            .max(d * dims.n_in)
            .max(dims.n_out * d)
            .max(longest * bias);
        let mut x_buf = backend.zeros(dims.n_in * n);
        backend.upload(&x[..dims.n_in * n], &mut x_buf, 0);
        let mut alpha_buf = backend.zeros(n);
        backend.fill(&mut alpha_buf, n, alpha);
        Self {
            tape: Tape::new(&backend, shape(longest.max(1)), Keep::Output),
            embed: backend.zeros(d * dims.n_in),
            readout: backend.zeros(dims.n_out * d),
            x: x_buf,
            alpha: alpha_buf,
            v: backend.zeros(longest * d * m),
            w: backend.zeros(if block.inner { longest * m * d } else { 0 }),
            bias: backend.zeros(longest * bias),
            logits: backend.zeros(dims.n_out * n),
            scratch: backend.zeros(scratch_len),
            host: vec![0.0; host_len],
            read_a: Vec::new(),
            read_b: Vec::new(),
            backend,
            block,
            n,
            segments,
        }
    }

    /// Runs `net` (the shape given to [`Forward::new`]) and calls `visit(k, h_k, h_{k-1})` with
    /// the hidden state `h_0` (`d x n`, column-major; no previous state) and, for every
    /// recorded `k > 0`, `h_k` and `h_{k-1}`; returns the logits `B h_L` (`n_out x n`).
    pub fn run(
        &mut self,
        net: &ResNet<f32>,
        mut visit: impl FnMut(usize, &[f64], Option<&[f64]>),
    ) -> &[f64] {
        let dims = net.dims;
        let (d, m, n) = (dims.width, dims.inner_width, self.n);
        let p = &net.params;
        let be = &self.backend;
        let (embed, readout) = ProductShape::io(dims, n);
        let host = &mut self.host;
        upload_range(be, host, &p.embed, 0, d * dims.n_in, &mut self.embed);
        be.product(
            &self.embed,
            Op::Plain,
            &self.x,
            &mut self.tape.h0,
            embed,
            1.0,
            false,
            &mut self.scratch,
        );
        visit(0, be.read(&self.tape.h0, d * n, &mut self.read_a), None);
        let bias = dims.bias_len(&self.block);
        for s in &self.segments {
            upload_range(be, host, &p.v, s.start * d * m, s.len * d * m, &mut self.v);
            if self.block.inner {
                upload_range(be, host, &p.w, s.start * m * d, s.len * m * d, &mut self.w);
            }
            upload_range(
                be,
                host,
                &p.bias,
                s.start * bias,
                s.len * bias,
                &mut self.bias,
            );
            let weights = StackWeights {
                v: &self.v,
                w: self.block.inner.then_some(&self.w),
                bias: self.block.has_bias().then_some(&self.bias),
            };
            let shape = StackShape {
                networks: 1,
                depth: s.len,
                width: d,
                columns: n,
                inner_width: m,
            };
            be.forward_stack(
                &self.block,
                shape,
                weights,
                &self.alpha,
                &mut self.tape,
                Keep::Output,
                &mut self.scratch,
            );
            if s.recorded {
                let prev = be.read(&self.tape.h0, d * n, &mut self.read_a);
                let h = be.read(&self.tape.h_last, d * n, &mut self.read_b);
                visit(s.start + 1, h, Some(prev));
            }
            std::mem::swap(&mut self.tape.h0, &mut self.tape.h_last);
        }
        upload_range(be, host, &p.readout, 0, dims.n_out * d, &mut self.readout);
        be.product(
            &self.readout,
            Op::Plain,
            &self.tape.h0,
            &mut self.logits,
            readout,
            1.0,
            false,
            &mut self.scratch,
        );
        be.read(&self.logits, dims.n_out * n, &mut self.read_a)
    }
}

/// Uploads the `len` values of `src` from `at`, converted to `f64` in `host`, to the start of
/// `dst`.
fn upload_range<B: Backend<f64>>(
    be: &B,
    host: &mut [f64],
    src: &[f32],
    at: usize,
    len: usize,
    dst: &mut B::Buffer,
) {
    for (h, &s) in host[..len].iter_mut().zip(&src[at..at + len]) {
        *h = f64::from(s);
    }
    be.upload(&host[..len], dst, 0);
}

/// The mean absolute value of each of the `n` columns of `v` (`rows x n`, column-major): the
/// per-image values whose mean over columns is [`l1`] (the sampling unit of the coord check's
/// standard errors). Non-finite entries give `+inf` for their column.
pub fn l1_per_column(v: &[f64], n: usize) -> Vec<f64> {
    if n == 0 || v.is_empty() {
        return Vec::new();
    }
    let rows = v.len() / n;
    v.chunks_exact(rows)
        .map(|c| {
            if c.iter().any(|x| !x.is_finite()) {
                f64::INFINITY
            } else {
                c.iter().map(|x| x.abs()).sum::<f64>() / rows as f64
            }
        })
        .collect()
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

/// Mean absolute value of `a - b` (equal lengths), as [`l1`] of the difference.
pub fn l1_diff(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() {
        return f64::NAN;
    }
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        let r = x - y;
        if !r.is_finite() {
            return f64::INFINITY;
        }
        s += r.abs();
    }
    s / a.len() as f64
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
