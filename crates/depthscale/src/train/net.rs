//! The paper's training model (Marion et al., Figures 8-9) and its loss gradient, on any
//! [`Backend`].
//!
//! `x -> h_0 = A x`, `h_{k+1} = h_k + L^-beta (V_{k+1} relu(h_k) + b_{k+1})`, logits `B h_L`,
//! softmax cross-entropy. `A` (`d x n_in`) and `B` (`n_out x d`) are i.i.d. uniform with variance
//! `1/fan_in` and no bias, `V` follows any [`Init`] over depth, `b` starts at zero; every tensor
//! is trained.
//!
//! Random streams: the convention of [`crate::model::NetworkStreams`] with no coordinates (the
//! run's seed is its own): `A`, `V`, `B` come from `rng::stream(seed, &[TAG_INIT, i])` with
//! `i = 0, 1, 2`, so changing the law of `V` leaves `A` and `B` unchanged.
//!
//! [`Workspace`] holds every buffer of one training step (tape, logits, back-propagated
//! signal) in the backend, so steady-state steps do not allocate; [`Evaluator`] runs the one
//! forward stack without a tape ([`Keep::Output`]), chunk by chunk.

use super::chunked::Chunked;
use super::config::TrainConfig;
use super::task::Targets;
use crate::adjoint::GradientMethod;
use crate::kernels::{
    Backend, CpuBackend, Keep, NetBatch, Op, ProductShape, StackShape, Tape, ensure_len, grads_of,
};
use crate::model::{
    Activation, BiasPosition, BlockSpec, Dims, DrawStream, NetworkStreams, ResNet, Tensors,
};
use crate::paths::{Init, PathCache};
use crate::{Float, Result};

pub use crate::model::TAG_INIT;

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
    residual_scale_f64(depth as f64, beta)
}

/// [`residual_scale`] of a real depth; the one place every experiment's `L^-beta` comes from.
pub fn residual_scale_f64(depth: f64, beta: f64) -> f64 {
    // the mutant test's wrong exponent (inert unless DEPTHSCALE_MUTANT=residual-scale)
    if crate::mutant::is(crate::mutant::Mutant::ResidualScale) {
        return depth.powf(-beta / 2.0);
    }
    // the mutant test's ignored beta (inert unless DEPTHSCALE_MUTANT=beta-ignored)
    if crate::mutant::is(crate::mutant::Mutant::BetaIgnored) {
        return 1.0 / depth;
    }
    depth.powf(-beta)
}

/// A freshly initialized training model of shape `dims` (see the module doc for the laws and
/// streams).
pub fn init_network<T: Float>(seed: u64, dims: Dims, init_v: Init) -> Result<ResNet<T>> {
    init_v.validate("init_v")?;
    let mut net = ResNet::zeros(training_block(), dims)?;
    let cache = PathCache::new();
    let streams = NetworkStreams::new(seed, &[]);
    let Dims {
        n_in,
        width: d,
        n_out,
        depth,
        .. // inner_width == width: the training block has no W
    } = dims;
    let p = &mut net.params;
    let draw = |law: Init, s: DrawStream, l: usize, rows: usize, cols: usize, out: &mut [T]| {
        law.sample_stack(l, rows, cols, &cache, &mut streams.stream(s), out)
    };
    draw(Init::Uniform, DrawStream::Embed, 1, d, n_in, &mut p.embed)?;
    draw(init_v, DrawStream::V, depth, d, d, &mut p.v)?;
    draw(
        Init::Uniform,
        DrawStream::Readout,
        1,
        n_out,
        d,
        &mut p.readout,
    )?;
    Ok(net)
}

/// A freshly initialized network of shape `dims` for `cfg`'s block and laws: as
/// [`init_network`], plus `W` (res3) from its own stream
/// (`rng::stream(seed, &[TAG_INIT, 3])`) with law `cfg.init_w`; biases start at zero. Paths
/// come from `cache` (shared by runs of the same depth and laws).
pub fn init_training<T: Float>(
    cfg: &TrainConfig,
    dims: Dims,
    cache: &PathCache,
) -> Result<ResNet<T>> {
    cfg.init_v.validate("init_v")?;
    cfg.init_w.validate("init_w")?;
    let mut net = ResNet::zeros(cfg.block_spec(), dims)?;
    let streams = NetworkStreams::new(cfg.seed, &[]);
    let Dims {
        n_in,
        width: d,
        n_out,
        depth,
        inner_width: m,
    } = dims;
    let p = &mut net.params;
    let draw = |law: Init, s: DrawStream, l: usize, rows: usize, cols: usize, out: &mut [T]| {
        law.sample_stack(l, rows, cols, cache, &mut streams.stream(s), out)
    };
    draw(Init::Uniform, DrawStream::Embed, 1, d, n_in, &mut p.embed)?;
    draw(cfg.init_v, DrawStream::V, depth, d, m, &mut p.v)?;
    draw(
        Init::Uniform,
        DrawStream::Readout,
        1,
        n_out,
        d,
        &mut p.readout,
    )?;
    if net.block.inner {
        draw(cfg.init_w, DrawStream::W, depth, m, d, &mut net.params.w)?;
    }
    Ok(net)
}

/// Scratch values every operation of a pass over `shape` needs (the largest of them).
fn pass_scratch<T: Float, B: Backend<T>>(
    backend: &B,
    block: &BlockSpec,
    shape: StackShape,
    dims: Dims,
) -> usize {
    let (embed, readout) = ProductShape::io(dims, shape.columns);
    [
        backend.stack_scratch(block, shape),
        backend.product_scratch(Op::Plain, embed),
        backend.product_scratch(Op::Plain, readout),
        backend.product_scratch(Op::Transposed, readout),
        backend.loss_scratch(1, shape.columns),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

/// Preallocated buffers of one loss-and-gradient evaluation of the training model (any
/// [`BlockSpec`]; `W` inputs are kept on the tape when the block has `W`), in backend `B`.
#[derive(Debug)]
pub struct Workspace<T: Float, B: Backend<T> = CpuBackend> {
    backend: B,
    keep: Keep,
    /// Chunk buffers of the checkpoint and adjoint gradients (`None`: back-propagation).
    chunked: Option<Chunked<T, B>>,
    tape: Tape<B::Buffer>,
    x: B::Buffer,
    alpha: B::Buffer,
    logits: B::Buffer,
    dlogits: B::Buffer,
    p: B::Buffer,
    scratch: B::Buffer,
    staging: Vec<T>,
}

impl<T: Float> Workspace<T, CpuBackend> {
    /// CPU buffers for batches of up to `max_batch` columns of a network of shape `dims`
    /// (larger batches still work, growing the buffers once).
    pub fn new(block: &BlockSpec, dims: Dims, max_batch: usize) -> Self {
        Self::with_backend(CpuBackend::new(), block, dims, max_batch)
    }
}

impl<T: Float, B: Backend<T>> Workspace<T, B> {
    /// Buffers in `backend` for batches of up to `max_batch` columns of a network of shape
    /// `dims` (larger batches still work, growing the buffers once).
    pub fn with_backend(backend: B, block: &BlockSpec, dims: Dims, max_batch: usize) -> Self {
        Self::with_gradient(backend, block, dims, max_batch, GradientMethod::Backprop)
    }

    /// [`Workspace::with_backend`] computing gradients by `method`: back-propagation keeps
    /// a tape of every layer; checkpointing and the adjoint method (see [`super::chunked`]) a
    /// tape of `ceil(sqrt(L))` layers or of one layer.
    pub fn with_gradient(
        backend: B,
        block: &BlockSpec,
        dims: Dims,
        max_batch: usize,
        method: GradientMethod,
    ) -> Self {
        let chunked = (method != GradientMethod::Backprop)
            .then(|| Chunked::new(&backend, method, block, dims));
        let shape = StackShape {
            networks: 1,
            depth: Chunked::<T, B>::tape_depth(method, dims.depth),
            width: dims.width,
            columns: max_batch,
            inner_width: dims.inner_width,
        };
        let keep = Keep::for_backward(block, true);
        Self {
            tape: Tape::new(&backend, shape, keep),
            x: backend.zeros(dims.n_in * max_batch),
            alpha: backend.zeros(max_batch),
            logits: backend.zeros(dims.n_out * max_batch),
            dlogits: backend.zeros(dims.n_out * max_batch),
            p: backend.zeros(shape.states()),
            scratch: backend.zeros(pass_scratch(&backend, block, shape, dims)),
            staging: Vec::new(),
            keep,
            chunked,
            backend,
        }
    }

    /// How this workspace computes gradients.
    pub fn method(&self) -> GradientMethod {
        match &self.chunked {
            None => GradientMethod::Backprop,
            Some(c) => c.method(),
        }
    }

    /// Lets `f` write the inputs of a batch of `n` columns (`n_in x n`, column-major) straight
    /// into the workspace ([`Backend::write`]); `f` must write every value.
    pub fn write_inputs<R>(&mut self, n_in: usize, n: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
        ensure_len(&self.backend, &mut self.x, n_in * n);
        self.backend
            .write(&mut self.x, n_in * n, &mut self.staging, f)
    }

    /// Mean cross-entropy of the single network `net` on the batch `x` (`n_in x n`,
    /// column-major) with `labels` (`n` of them), every column scaled by `alpha`; overwrites
    /// `grads` with its gradient with respect to every parameter.
    ///
    /// # Panics
    /// If `x` does not hold `n_in x n` values, `net` is not one network, `grads` is not shaped
    /// like its parameters, or a label is `>= n_out`.
    pub fn loss_and_grad(
        &mut self,
        net: &NetBatch<T, B>,
        alpha: T,
        x: &[T],
        labels: &[u8],
        grads: &mut Tensors<B::Buffer>,
    ) -> f64 {
        let n_in = net.dims().n_in;
        assert_eq!(x.len(), n_in * labels.len(), "x must hold n_in x n values");
        self.write_inputs(n_in, labels.len(), |h| h.copy_from_slice(x));
        self.loss_and_grad_loaded(net, alpha, labels, labels.len(), grads)
    }

    /// The logits (`n_out x n`, column-major) of the last batch of `n` columns passed through
    /// [`Workspace::loss_and_grad`] or [`Workspace::loss_and_grad_loaded`], copied to the host.
    ///
    /// # Panics
    /// If no batch of that size was evaluated.
    pub fn last_logits(&mut self, n_out: usize, n: usize) -> Vec<T> {
        assert!(
            self.backend.len(&self.logits) >= n_out * n,
            "no such batch was evaluated"
        );
        self.backend
            .read(&self.logits, n_out * n, &mut self.staging)
            .to_vec()
    }

    /// Like [`Workspace::loss_and_grad`] on the inputs already written by
    /// [`Workspace::write_inputs`], for a part of a batch of `total` columns: the loss and the
    /// gradient are this part's share of the whole batch's mean (sum over the part divided by
    /// `total`), so the parts' losses and gradients add up to the whole batch's.
    pub fn loss_and_grad_loaded(
        &mut self,
        net: &NetBatch<T, B>,
        alpha: T,
        labels: &[u8],
        total: usize,
        grads: &mut Tensors<B::Buffer>,
    ) -> f64 {
        self.loss_and_grad_targets(net, alpha, Targets::Labels(labels), total, grads)
    }

    /// Like [`Workspace::loss_and_grad_loaded`] with any [`Targets`]: labels take the
    /// cross-entropy, target vectors (`n x n_out` row-major) the mean squared error (PyTorch's
    /// `MSELoss`, the mean over the `n_out x total` entries of the whole batch).
    pub fn loss_and_grad_targets(
        &mut self,
        net: &NetBatch<T, B>,
        alpha: T,
        targets: Targets<'_, T>,
        total: usize,
        grads: &mut Tensors<B::Buffer>,
    ) -> f64 {
        assert_eq!(net.networks(), 1, "a training step runs one network");
        let dims = net.dims();
        let block = *net.block();
        let (d, n_out) = (dims.width, dims.n_out);
        let n = targets.samples(n_out);
        let full = net.stack_shape(n);
        let (embed, readout) = ProductShape::io(dims, n);
        let shape = StackShape {
            depth: Chunked::<T, B>::tape_depth(self.method(), dims.depth),
            ..full
        };
        let shape = if self.chunked.is_some() { shape } else { full };
        let Self {
            backend,
            keep,
            chunked,
            tape,
            x,
            alpha: alpha_buf,
            logits,
            dlogits,
            p,
            scratch,
            ..
        } = self;
        let keep = *keep;
        ensure_len(backend, &mut tape.h0, shape.states());
        ensure_len(backend, &mut tape.h_last, shape.states());
        ensure_len(backend, &mut tape.pre, shape.tape());
        if keep == Keep::PreAndInputs {
            ensure_len(backend, &mut tape.inputs, shape.tape());
        }
        for (buf, len) in [
            (&mut *alpha_buf, n),
            (&mut *logits, n_out * n),
            (&mut *dlogits, n_out * n),
            (&mut *p, d * n),
            (&mut *scratch, pass_scratch(backend, &block, shape, dims)),
        ] {
            ensure_len(backend, buf, len);
        }
        assert!(backend.len(x) >= dims.n_in * n, "write the inputs first");
        backend.fill(alpha_buf, n, alpha);
        let params = net.params();
        backend.product(
            &params.embed,
            Op::Plain,
            x,
            &mut tape.h0,
            embed,
            T::one(),
            false,
            scratch,
        );
        match chunked {
            Some(c) => c.forward(backend, net, n, alpha_buf, tape, scratch),
            None => {
                backend.forward_stack(&block, shape, net.weights(), alpha_buf, tape, keep, scratch)
            }
        }
        backend.product(
            &params.readout,
            Op::Plain,
            &tape.h_last,
            logits,
            readout,
            T::one(),
            false,
            scratch,
        );
        let mut loss = [0.0];
        match targets {
            Targets::Labels(labels) => {
                backend.cross_entropy(logits, labels, n_out, total, dlogits, &mut loss, scratch)
            }
            Targets::Values(y) => backend.mse(logits, y, n_out, total, dlogits, &mut loss, scratch),
        }

        // dB = dlogits h_L^T ; p = B^T dlogits
        backend.outer(dlogits, &tape.h_last, &mut grads.readout, readout, false);
        backend.product(
            &params.readout,
            Op::Transposed,
            dlogits,
            p,
            readout,
            T::one(),
            false,
            scratch,
        );
        match chunked {
            Some(c) => c.backward(backend, net, n, alpha_buf, tape, p, grads, scratch),
            None => backend.backward_stack(
                &block,
                shape,
                net.weights(),
                alpha_buf,
                tape,
                p,
                Some(grads_of(&block, grads).written()),
                scratch,
            ),
        }
        // dA = p_0 x^T
        backend.outer(p, x, &mut grads.embed, embed, false);
        loss[0]
    }
}

/// Forward-only evaluation of an `f32` network on backend `B`, chunk by chunk, with
/// preallocated buffers and no tape.
#[derive(Debug)]
pub struct Evaluator<B: Backend<f32> = CpuBackend> {
    backend: B,
    chunk: usize,
    tape: Tape<B::Buffer>,
    x: B::Buffer,
    alpha: B::Buffer,
    logits: B::Buffer,
    scratch: B::Buffer,
    staging: Vec<f32>,
}

impl Evaluator<CpuBackend> {
    /// CPU buffers for chunks of `chunk` (`>= 1`) columns of a network of shape `dims`.
    pub fn new(block: &BlockSpec, dims: Dims, chunk: usize) -> Self {
        Self::with_backend(CpuBackend::new(), block, dims, chunk)
    }
}

impl<B: Backend<f32>> Evaluator<B> {
    /// Buffers in `backend` for chunks of `chunk` (`>= 1`) columns of a network of shape
    /// `dims`.
    pub fn with_backend(backend: B, block: &BlockSpec, dims: Dims, chunk: usize) -> Self {
        let chunk = chunk.max(1);
        let shape = StackShape {
            networks: 1,
            depth: dims.depth,
            width: dims.width,
            columns: chunk,
            inner_width: dims.inner_width,
        };
        Self {
            tape: Tape::new(&backend, shape, Keep::Output),
            x: backend.zeros(dims.n_in * chunk),
            alpha: backend.zeros(chunk),
            logits: backend.zeros(dims.n_out * chunk),
            scratch: backend.zeros(pass_scratch(&backend, block, shape, dims)),
            staging: Vec::new(),
            chunk,
            backend,
        }
    }

    /// Mean cross-entropy and accuracy (fraction in `[0, 1]`) of the single network `net` on
    /// `images` (`n x n_in`, row-major) with `labels`, every column scaled by `alpha`; sums are
    /// accumulated in `f64`. `(NaN, NaN)` for an empty set.
    ///
    /// # Panics
    /// If `images` does not hold `labels.len() x n_in` values, `net`'s shape is not the one
    /// the evaluator was built for, or a label is `>= n_out`.
    pub fn evaluate(
        &mut self,
        net: &NetBatch<f32, B>,
        alpha: f32,
        images: &[f32],
        labels: &[u8],
    ) -> (f64, f64) {
        self.evaluate_targets(net, alpha, images, Targets::Labels(labels))
    }

    /// Like [`Evaluator::evaluate`] with any [`Targets`]: for target vectors, the mean squared
    /// error (over every entry, as PyTorch's `MSELoss`) and `NaN` for the accuracy.
    pub fn evaluate_targets(
        &mut self,
        net: &NetBatch<f32, B>,
        alpha: f32,
        images: &[f32],
        targets: Targets<'_, f32>,
    ) -> (f64, f64) {
        assert_eq!(net.networks(), 1, "an evaluation runs one network");
        let dims = net.dims();
        let block = *net.block();
        let (n_in, n_out) = (dims.n_in, dims.n_out);
        let samples = targets.samples(n_out);
        assert_eq!(
            images.len(),
            samples * n_in,
            "images must hold n x n_in values"
        );
        if samples == 0 {
            return (f64::NAN, f64::NAN);
        }
        let Self {
            backend,
            chunk,
            tape,
            x,
            alpha: alpha_buf,
            logits,
            scratch,
            staging,
        } = self;
        let chunk = *chunk;
        assert!(
            backend.len(&tape.h0) >= dims.width * chunk
                && backend.len(scratch)
                    >= pass_scratch(backend, &block, net.stack_shape(chunk), dims),
            "the evaluator was built for another shape"
        );
        backend.fill(alpha_buf, chunk, alpha);
        let params = net.params();
        let (mut loss, mut correct) = (0.0f64, 0usize);
        for (c, images) in images.chunks(n_in * chunk).enumerate() {
            let n = images.len() / n_in;
            let shape = net.stack_shape(n);
            let (embed, readout) = ProductShape::io(dims, n);
            // row-major n x n_in images are the column-major n_in x n batch
            backend.write(x, n_in * n, staging, |h| h.copy_from_slice(images));
            backend.product(
                &params.embed,
                Op::Plain,
                x,
                &mut tape.h0,
                embed,
                1.0,
                false,
                scratch,
            );
            backend.forward_stack(
                &block,
                shape,
                net.weights(),
                alpha_buf,
                tape,
                Keep::Output,
                scratch,
            );
            backend.product(
                &params.readout,
                Op::Plain,
                &tape.h_last,
                logits,
                readout,
                1.0,
                false,
                scratch,
            );
            match targets {
                Targets::Labels(labels) => {
                    let mut out = [(0.0, 0)];
                    let labels = &labels[c * chunk..c * chunk + n];
                    backend.cross_entropy_sum(logits, labels, n_out, &mut out, scratch);
                    loss += out[0].0;
                    correct += out[0].1;
                }
                Targets::Values(y) => {
                    let mut out = [0.0];
                    let y = &y[c * chunk * n_out..(c * chunk + n) * n_out];
                    backend.squared_error_sum(logits, y, &mut out, scratch);
                    loss += out[0];
                }
            }
        }
        let n = samples as f64;
        match targets {
            Targets::Labels(_) => (loss / n, correct as f64 / n),
            Targets::Values(_) => (loss / (n * n_out as f64), f64::NAN),
        }
    }
}

/// Mean cross-entropy and accuracy of `net` on `images` (`n x n_features`, row-major, each image
/// contiguous) with `labels`, with residual scale `alpha`, in chunks of 500 columns on the CPU.
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
    let batch = NetBatch::from_network(CpuBackend::new(), net).expect("a validated network");
    Evaluator::new(&net.block, net.dims, 500).evaluate(&batch, alpha, images, labels)
}
