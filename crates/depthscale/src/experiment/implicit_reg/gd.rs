//! Full-batch gradient descent of one residual stack on a mean-squared error, through a
//! backend's whole-stack passes: the training of the `implicit-regularization` experiment, and
//! what it measures on the trained weights.
//!
//! The model is the stack alone (no embedding, no readout: the input and the output live in the
//! width-`d` space): `x_{k+1} = x_k + (1/L) V_k act(W_k x_k)`, `V_k` `d x m`, `W_k` `m x d`. The
//! loss is the mean of the squared entries of `x_L - y` over the `n d` entries of the batch
//! (PyTorch's `((pred - y)**2).mean()`), so `dloss/dx_L = 2 (x_L - y) / (n d)`. Everything goes
//! through the backend: [`Backend::forward_stack`], the loss kernels
//! ([`Backend::squared_error_sum`] for the loss, [`Backend::mse`] for `dloss/dx_L`) and
//! [`Backend::backward_stack`]; only the targets and the loss's scalars are on the host. A step
//! is `Z <- Z - lr dloss/dZ` for `Z = (V, W)`.

use crate::kernels::{Backend, Keep, StackGrads, StackShape, StackWeights, Tape};
use crate::model::{Activation, BlockSpec};

/// A depth-`L` stack trained by full-batch gradient descent, its weights, gradients, tapes and
/// scratch resident in backend `B` (sized once at construction: a step allocates nothing).
///
/// The batch is split into two fixed halves of columns (the first `ceil(n/2)`, the rest), run
/// concurrently (`rayon::join`), their gradients summed in a fixed order: the result does not
/// depend on the thread count, and the deep reference network uses both cores.
#[derive(Debug)]
pub struct GdNet<B: Backend<f64>> {
    backend: B,
    block: BlockSpec,
    depth: usize,
    layer: usize,
    lr: f64,
    /// `1 / (n d)`: the loss is a mean over every entry of the batch.
    scale: f64,
    v: B::Buffer,
    w: B::Buffer,
    alpha: B::Buffer,
    parts: Vec<Part<B::Buffer>>,
    staging: [Vec<f64>; 2],
}

/// One half of the batch: its columns' tape, back-propagated signal, gradients, scratch (for
/// the stacks and the loss) and host targets (`d x` its columns).
#[derive(Debug)]
struct Part<S> {
    shape: StackShape,
    tape: Tape<S>,
    p: S,
    gv: S,
    gw: S,
    scratch: S,
    y: Vec<f64>,
}

/// The training problem shared by every depth: inputs and targets (`d x n`, column-major: each
/// sample contiguous), the repeated initial `W` (`m x d`, row-major) and the activation.
#[derive(Clone, Copy, Debug)]
pub struct Problem<'a> {
    /// Inputs `x_1..x_n`, `d x n`.
    pub x: &'a [f64],
    /// Targets `y_1..y_n`, `d x n`.
    pub y: &'a [f64],
    /// The initial `W_k` of every layer, `m x d`.
    pub w0: &'a [f64],
    /// Width `d`.
    pub width: usize,
    /// Inner width `m`.
    pub inner_width: usize,
    /// The activation.
    pub activation: Activation,
}

impl<B: Backend<f64>> GdNet<B> {
    /// A depth-`depth` stack with `V_k = 0` and `W_k = w0` for every `k`, residual scale
    /// `1/depth`, trained at learning rate `lr`.
    pub fn new(backend: B, problem: Problem<'_>, depth: usize, lr: f64) -> Self {
        let (d, m) = (problem.width, problem.inner_width);
        let n = problem.x.len() / d;
        let block = BlockSpec::res3(problem.activation);
        let layer = d * m;
        let layers = depth * layer;
        let mut staging = [Vec::new(), Vec::new()];
        let mut w = backend.zeros(layers);
        backend.write(&mut w, layers, &mut staging[0], |host| {
            for wk in host.chunks_exact_mut(layer) {
                wk.copy_from_slice(problem.w0);
            }
        });
        let mut alpha = backend.zeros(n);
        // beta = 1 through the one place every experiment's `L^-beta` comes from
        let scale = crate::train::net::residual_scale_f64(depth as f64, 1.0);
        backend.fill(&mut alpha, n, scale);
        let half = n.div_ceil(2);
        let parts = [(0, half), (half, n)]
            .into_iter()
            .filter(|(a, b)| b > a)
            .map(|(a, b)| {
                let shape = StackShape {
                    networks: 1,
                    depth,
                    width: d,
                    columns: b - a,
                    inner_width: m,
                };
                let mut tape = Tape::new(&backend, shape, Keep::PreAndInputs);
                backend.upload(&problem.x[a * d..b * d], &mut tape.h0, 0);
                Part {
                    shape,
                    tape,
                    p: backend.zeros(shape.states()),
                    gv: backend.zeros(layers),
                    gw: backend.zeros(layers),
                    scratch: backend.zeros(
                        backend
                            .stack_scratch(&block, shape)
                            .max(backend.loss_scratch(1, shape.columns)),
                    ),
                    y: problem.y[a * d..b * d].to_vec(),
                }
            })
            .collect();
        Self {
            v: backend.zeros(layers),
            scale: 1.0 / (n * d) as f64,
            backend,
            block,
            depth,
            layer,
            lr,
            w,
            alpha,
            parts,
            staging,
        }
    }

    /// The number of layers `L`.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The forward stack and the loss of the current weights; with `grads`, also the backward
    /// stack, leaving `dloss/dV` and `dloss/dW` for [`GdNet::step`].
    pub fn evaluate(&mut self, grads: bool) -> f64 {
        let Self {
            backend,
            block,
            depth,
            layer,
            scale,
            v,
            w,
            alpha,
            parts,
            ..
        } = self;
        let weights = StackWeights {
            v: &*v,
            w: Some(&*w),
            bias: None,
        };
        let layers = *depth * *layer;
        // the whole batch's columns: each half's gradient is its share of the batch's mean
        let total = parts.iter().map(|p| p.shape.columns).sum::<usize>();
        let run = |part: &mut Part<B::Buffer>| -> f64 {
            let Part {
                shape,
                tape,
                p,
                gv,
                gw,
                scratch,
                y,
            } = part;
            let keep = Keep::PreAndInputs;
            backend.forward_stack(block, *shape, weights, alpha, tape, keep, scratch);
            // the summed squared error, scaled once for the whole batch below
            let mut sum = [0.0];
            backend.squared_error_sum(&tape.h_last, y, &mut sum, scratch);
            if grads {
                // p = dloss/dx_L = 2 (x_L - y) / (n d); its loss is the sum's, not used
                let mut mean = [0.0];
                backend.mse(&tape.h_last, y, shape.width, total, p, &mut mean, scratch);
                backend.fill(gv, layers, 0.0);
                backend.fill(gw, layers, 0.0);
                let g = StackGrads {
                    v: gv,
                    w: Some(gw),
                    bias: None,
                    accumulate: true,
                };
                backend.backward_stack(block, *shape, weights, alpha, tape, p, Some(g), scratch);
            }
            sum[0]
        };
        let sum = match parts.as_mut_slice() {
            [one] => run(one),
            [a, b] => {
                let (sa, sb) = rayon::join(|| run(a), || run(b));
                if grads {
                    backend.axpy(1.0, &b.gv, &mut a.gv, layers);
                    backend.axpy(1.0, &b.gw, &mut a.gw, layers);
                }
                sa + sb
            }
            _ => unreachable!("one or two parts"),
        };
        sum * *scale
    }

    /// One gradient-descent step `Z <- Z - lr dloss/dZ` with the gradients of the last
    /// [`GdNet::evaluate`] with `grads`.
    pub fn step(&mut self) {
        let layers = self.depth * self.layer;
        let (b, g) = (&self.backend, &self.parts[0]);
        b.axpy(-self.lr, &g.gv, &mut self.v, layers);
        b.axpy(-self.lr, &g.gw, &mut self.w, layers);
    }

    /// Replaces the weights: `v` (`L x d x m`) and `w` (`L x m x d`), row-major layer after
    /// layer.
    ///
    /// # Panics
    /// If a slice's length is not `L d m`.
    #[cfg(test)]
    pub fn set_weights(&mut self, v: &[f64], w: &[f64]) {
        let layers = self.depth * self.layer;
        assert!(
            v.len() == layers && w.len() == layers,
            "weights of {layers} values"
        );
        self.backend.upload(v, &mut self.v, 0);
        self.backend.upload(w, &mut self.w, 0);
    }

    /// The weights on the host: `V` (`L x d x m`) and `W` (`L x m x d`), row-major layer after
    /// layer.
    pub fn weights(&mut self) -> (&[f64], &[f64]) {
        let layers = self.depth * self.layer;
        let [s0, s1] = &mut self.staging;
        (
            self.backend.read(&self.v, layers, s0),
            self.backend.read(&self.w, layers, s1),
        )
    }

    /// The gradients of the last [`GdNet::evaluate`] with `grads`, on the host (`dV`, `dW`).
    #[cfg(test)]
    pub fn gradients(&mut self) -> (&[f64], &[f64]) {
        let layers = self.depth * self.layer;
        let [s0, s1] = &mut self.staging;
        let g = &self.parts[0];
        (
            self.backend.read(&g.gv, layers, s0),
            self.backend.read(&g.gw, layers, s1),
        )
    }
}

/// How far apart consecutive layers are: `max_k ||V_{k+1} - V_k||_F`, the same for `W`, and
/// for `Z = (V, W)` (the Frobenius norm of the pair, `sqrt(||dV||^2 + ||dW||^2)`), with the
/// root sum of squares over `k` of the latter (what the paper's script plots).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Increments {
    /// `max_k ||V_{k+1} - V_k||_F`.
    pub v: f64,
    /// `max_k ||W_{k+1} - W_k||_F`.
    pub w: f64,
    /// `max_k ||Z_{k+1} - Z_k||_F`.
    pub z: f64,
    /// `sqrt(sum_k ||Z_{k+1} - Z_k||_F^2)`.
    pub rss: f64,
}

/// Squared Frobenius distance of two equal-length slices.
fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The [`Increments`] of weights `v`, `w` with `layer` values per layer.
pub fn increments(v: &[f64], w: &[f64], layer: usize) -> Increments {
    let mut out = Increments::default();
    let pairs = |x: &[f64]| {
        x.chunks_exact(layer)
            .zip(x.chunks_exact(layer).skip(1))
            .map(|(a, b)| dist2(a, b))
            .collect::<Vec<_>>()
    };
    let (dv, dw) = (pairs(v), pairs(w));
    let mut sum = 0.0;
    for (a, b) in dv.into_iter().zip(dw) {
        out.v = out.v.max(a.sqrt());
        out.w = out.w.max(b.sqrt());
        out.z = out.z.max((a + b).sqrt());
        sum += a + b;
    }
    out.rss = sum.sqrt();
    out
}

/// Distance of depth-`L` weights to the reference network's, as functions of `t = k/L`: layer
/// `k` (from 0) is compared with reference layer `floor(k N / L)` (the same left end `t = k/L`
/// of its interval), `||Z^L_k - Z^N_{kN/L}||_F` with `Z = (V, W)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Distance {
    /// Root mean square over `k` (the paper's script's measure).
    pub rms: f64,
    /// Maximum over `k`.
    pub sup: f64,
}

/// The [`Distance`] of weights `(v, w)` (depth `depth`) to the reference `(rv, rw)` (depth
/// `reference`), `layer` values per layer.
pub fn distance(
    (v, w): (&[f64], &[f64]),
    (rv, rw): (&[f64], &[f64]),
    layer: usize,
    depth: usize,
    reference: usize,
) -> Distance {
    let mut out = Distance::default();
    let mut sum = 0.0;
    fn at(x: &[f64], i: usize, layer: usize) -> &[f64] {
        &x[i * layer..(i + 1) * layer]
    }
    for k in 0..depth {
        let r = k * reference / depth;
        let e2 =
            dist2(at(v, k, layer), at(rv, r, layer)) + dist2(at(w, k, layer), at(rw, r, layer));
        out.sup = out.sup.max(e2.sqrt());
        sum += e2;
    }
    out.rms = (sum / depth as f64).sqrt();
    out
}
