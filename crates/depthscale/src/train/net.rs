//! The paper's training model (Marion et al., Figures 8-9) and its loss gradient.
//!
//! `x -> h_0 = A x`, `h_{k+1} = h_k + L^-beta (V_{k+1} relu(h_k) + b_{k+1})`, logits `B h_L`,
//! softmax cross-entropy. `A` (`d x n_in`) and `B` (`n_out x d`) are i.i.d. uniform with variance
//! `1/fan_in` and no bias, `V` follows any [`Init`] over depth, `b` starts at zero; every tensor
//! is trained.
//!
//! Random streams: `A`, `V`, `B` are drawn from `rng::stream(seed, &[TAG_INIT, i])` with
//! `i = 0, 1, 2` respectively, so changing the law of `V` leaves `A` and `B` unchanged.
//!
//! [`Workspace`] holds every buffer of one training step (tape, logits, back-propagated
//! signal), so steady-state steps do not allocate; [`Evaluator`] runs the forward pass only,
//! chunk by chunk, with one layer of scratch space.

use super::loss::{cross_entropy, cross_entropy_sum};
use crate::kernels::{CpuKernel, LayerKernel, matmul_cc, matmul_outer};
use crate::model::{Activation, BiasPosition, BlockSpec, Dims, Params, ResNet, Tape};
use crate::paths::{Init, PathCache};
use crate::{Float, Result, rng};

/// Stream tag of the initial weight draws (`"init"`).
pub const TAG_INIT: u64 = 0x696e_6974;

/// The residual block of the training model: `res1`, ReLU, bias outside the activation.
pub fn training_block() -> BlockSpec {
    BlockSpec {
        inner: false,
        bias: BiasPosition::Outside,
        activation: Activation::Relu,
    }
}

/// The residual scale `alpha_L = L^-beta`.
pub fn residual_scale(depth: usize, beta: f64) -> f64 {
    (depth as f64).powf(-beta)
}

/// A freshly initialized training model of shape `dims` (see the module doc for the laws and
/// streams).
pub fn init_network<T: Float>(seed: u64, dims: Dims, init_v: Init) -> Result<ResNet<T>> {
    init_v.validate("init_v")?;
    let mut net = ResNet::zeros(training_block(), dims)?;
    let cache = PathCache::new();
    let Dims {
        n_in,
        width: d,
        n_out,
        depth,
    } = dims;
    let p = &mut net.params;
    let draw = |law: Init, i: u64, l: usize, rows: usize, cols: usize, out: &mut [T]| {
        law.sample_stack(
            l,
            rows,
            cols,
            &cache,
            &mut rng::stream(seed, &[TAG_INIT, i]),
            out,
        )
    };
    draw(Init::Uniform, 0, 1, d, n_in, &mut p.embed)?;
    draw(init_v, 1, depth, d, d, &mut p.v)?;
    draw(Init::Uniform, 2, 1, n_out, d, &mut p.readout)?;
    Ok(net)
}

/// Writes the column-major copy of the row-major `rows x cols` matrix `src` into `dst`.
fn to_col_major<T: Copy + Default>(src: &[T], rows: usize, cols: usize, dst: &mut Vec<T>) {
    dst.resize(rows * cols, T::default());
    for (j, col) in dst.chunks_exact_mut(rows).enumerate() {
        for (i, x) in col.iter_mut().enumerate() {
            *x = src[i * cols + j];
        }
    }
}

/// Preallocated buffers of one loss-and-gradient evaluation of the training model (any
/// [`BlockSpec`]; `W` inputs are kept on the tape when the block has `W`).
#[derive(Debug)]
pub struct Workspace<T: Float> {
    kernel: CpuKernel<T>,
    embed_cm: Vec<T>,
    readout_cm: Vec<T>,
    tape: Tape<T>,
    alpha: Vec<T>,
    logits: Vec<T>,
    dlogits: Vec<T>,
    p: Vec<T>,
}

impl<T: Float> Workspace<T> {
    /// Buffers for batches of up to `max_batch` columns of a network of shape `dims` (larger
    /// batches still work, growing the buffers once).
    pub fn new(block: &BlockSpec, dims: Dims, max_batch: usize) -> Self {
        let mut tape = Tape::default();
        tape.resize(dims, max_batch, block.inner);
        Self {
            kernel: CpuKernel::new(),
            embed_cm: vec![T::zero(); dims.width * dims.n_in],
            readout_cm: vec![T::zero(); dims.n_out * dims.width],
            tape,
            alpha: vec![T::zero(); max_batch],
            logits: vec![T::zero(); dims.n_out * max_batch],
            dlogits: vec![T::zero(); dims.n_out * max_batch],
            p: vec![T::zero(); dims.width * max_batch],
        }
    }

    /// Mean cross-entropy of `net` on the batch `x` (`n_in x n`, column-major) with `labels`
    /// (`n` of them), every column scaled by `alpha`; overwrites `grads` with its gradient with
    /// respect to every parameter.
    ///
    /// # Panics
    /// If `x` does not hold `n_in x n` values, `grads` is not shaped like `net.params`, or a
    /// label is `>= n_out`.
    pub fn loss_and_grad(
        &mut self,
        net: &ResNet<T>,
        alpha: T,
        x: &[T],
        labels: &[u8],
        grads: &mut Params<T>,
    ) -> f64 {
        self.loss_and_grad_part(net, alpha, x, labels, labels.len(), grads)
    }

    /// Like [`Workspace::loss_and_grad`] for a part of a batch of `total` columns: the loss and
    /// the gradient are this part's share of the whole batch's mean (sum over the part divided
    /// by `total`), so the parts' losses and gradients add up to the whole batch's.
    pub fn loss_and_grad_part(
        &mut self,
        net: &ResNet<T>,
        alpha: T,
        x: &[T],
        labels: &[u8],
        total: usize,
        grads: &mut Params<T>,
    ) -> f64 {
        let Dims {
            n_in,
            width: d,
            n_out,
            ..
        } = net.dims;
        let n = labels.len();
        assert_eq!(x.len(), n_in * n, "x must hold n_in x n values");
        self.alpha.resize(n, alpha);
        self.alpha.fill(alpha);
        self.logits.resize(n_out * n, T::zero());
        self.dlogits.resize(n_out * n, T::zero());
        self.p.resize(d * n, T::zero());
        let Self {
            kernel,
            embed_cm,
            readout_cm,
            tape,
            alpha,
            logits,
            dlogits,
            p,
        } = self;
        let params = &net.params;
        to_col_major(&params.embed, d, n_in, embed_cm);
        to_col_major(&params.readout, n_out, d, readout_cm);

        tape.h0.resize(d * n, T::zero());
        matmul_cc(&mut tape.h0, embed_cm, x, (d, n_in, n), false);
        net.forward(kernel, alpha, tape, net.block.inner);
        matmul_cc(logits, readout_cm, &tape.h_last, (n_out, d, n), false);
        let mut loss = cross_entropy(logits, labels, n_out, dlogits);
        if total != n {
            let share = n as f64 / total as f64;
            loss *= share;
            let share = T::of(share);
            for g in dlogits.iter_mut() {
                *g *= share;
            }
        }

        grads.v.fill(T::zero());
        grads.w.fill(T::zero());
        grads.bias.fill(T::zero());
        // dB = dlogits h_L^T ; p = B^T dlogits (row-major B is column-major B^T)
        matmul_outer(
            &mut grads.readout,
            dlogits,
            &tape.h_last,
            (n_out, d, n),
            false,
        );
        matmul_cc(p, &params.readout, dlogits, (d, n_out, n), false);
        net.backward(kernel, alpha, tape, p, Some(grads), |_, _| {});
        // dA = p_0 x^T
        matmul_outer(&mut grads.embed, p, x, (d, n_in, n), false);
        loss
    }
}

/// Forward-only evaluation of an `f32` network, chunk by chunk, with preallocated buffers.
#[derive(Debug)]
pub struct Evaluator {
    kernel: CpuKernel<f32>,
    chunk: usize,
    embed_cm: Vec<f32>,
    readout_cm: Vec<f32>,
    alpha: Vec<f32>,
    h: Vec<f32>,
    pre: Vec<f32>,
    logits: Vec<f32>,
}

impl Evaluator {
    /// Buffers for chunks of `chunk` (`>= 1`) columns of a network of shape `dims`.
    pub fn new(dims: Dims, chunk: usize) -> Self {
        let chunk = chunk.max(1);
        Self {
            kernel: CpuKernel::new(),
            chunk,
            embed_cm: vec![0.0; dims.width * dims.n_in],
            readout_cm: vec![0.0; dims.n_out * dims.width],
            alpha: vec![0.0; chunk],
            h: vec![0.0; dims.width * chunk],
            pre: vec![0.0; dims.width * chunk],
            logits: vec![0.0; dims.n_out * chunk],
        }
    }

    /// Mean cross-entropy and accuracy (fraction in `[0, 1]`) of `net` on `images`
    /// (`n x n_in`, row-major) with `labels`, every column scaled by `alpha`; sums are
    /// accumulated in `f64`. `(NaN, NaN)` for an empty set.
    ///
    /// # Panics
    /// If `images` does not hold `labels.len() x n_in` values or a label is `>= n_out`.
    pub fn evaluate(
        &mut self,
        net: &ResNet<f32>,
        alpha: f32,
        images: &[f32],
        labels: &[u8],
    ) -> (f64, f64) {
        let Dims {
            n_in,
            width: d,
            n_out,
            depth,
        } = net.dims;
        assert_eq!(
            images.len(),
            labels.len() * n_in,
            "images must hold n x n_in values"
        );
        if labels.is_empty() {
            return (f64::NAN, f64::NAN);
        }
        self.alpha.resize(self.chunk, alpha);
        self.alpha.fill(alpha);
        self.h.resize(d * self.chunk, 0.0);
        self.pre.resize(d * self.chunk, 0.0);
        self.logits.resize(n_out * self.chunk, 0.0);
        to_col_major(&net.params.embed, d, n_in, &mut self.embed_cm);
        to_col_major(&net.params.readout, n_out, d, &mut self.readout_cm);
        let (mut loss, mut correct) = (0.0f64, 0usize);
        for (x, y) in images
            .chunks(n_in * self.chunk)
            .zip(labels.chunks(self.chunk))
        {
            let n = y.len();
            let h = &mut self.h[..d * n];
            let pre = &mut self.pre[..d * n];
            matmul_cc(h, &self.embed_cm, x, (d, n_in, n), false);
            for k in 0..depth {
                self.kernel
                    .forward_layer(&net.block, net.layer(k), &self.alpha[..n], h, pre);
            }
            let logits = &mut self.logits[..n_out * n];
            matmul_cc(logits, &self.readout_cm, h, (n_out, d, n), false);
            let (l, c) = cross_entropy_sum(logits, y, n_out);
            loss += l;
            correct += c;
        }
        let n = labels.len() as f64;
        (loss / n, correct as f64 / n)
    }
}

/// Mean cross-entropy and accuracy of `net` on `images` (`n x n_features`, row-major, each image
/// contiguous) with `labels`, with residual scale `alpha`, in chunks of 500 columns.
///
/// # Panics
/// If `n_features` is not the network's input dimension, the slices disagree in length, or a
/// label is `>= n_out`.
pub fn evaluate(
    net: &ResNet<f32>,
    alpha: f32,
    images: &[f32],
    labels: &[u8],
    n_features: usize,
) -> (f64, f64) {
    assert_eq!(
        n_features, net.dims.n_in,
        "n_features must be the network's input dimension"
    );
    Evaluator::new(net.dims, 500).evaluate(net, alpha, images, labels)
}
