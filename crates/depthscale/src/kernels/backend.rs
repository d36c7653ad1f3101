//! The [`Backend`] trait: storage owned by the backend, and whole stacks of residual layers,
//! the embedding and readout products, the loss and the optimizer updates (Adam, SGD) run on it.
//!
//! # Layouts
//! A call works on `B` independent networks of one block and shape ([`StackShape`]). Every
//! tensor of the batch is stored network after network:
//! - weights `V`: `[B, L, d, m]`, `W`: `[B, L, m, d]` (row-major inside a layer; `m` the inner
//!   width, `m = d` unless set), biases `[B, L, m]` inside the activation or `[B, L, d]`
//!   outside it, embedding `[B, d, n_in]`, readout `[B, n_out, d]` (row-major);
//! - hidden states and back-propagated signals: `[B, d, n]`, each network's `n` columns
//!   column-major (each column contiguous); per-column scales `alpha`: `[B, n]`;
//! - the tape: layer inputs `[B, L, d, n]` (layer `k` of network `b` at `(b L + k) d n`),
//!   pre-activations `[B, L, m, n]`.
//!
//! Buffers may be longer than a call needs: operations use their leading values, so one
//! workspace serves every shape up to the one it was sized for.
//!
//! # Scratch
//! Operations that need temporary memory say how much up front (`*_scratch(shape)`, in values
//! of `T`) and take it as an argument, faer style: nothing is allocated inside a call.
//!
//! # Reproducibility contract
//! - Every backend: results are a deterministic function of the inputs and the shapes; the
//!   networks of a batch are independent (network `b`'s results do not depend on the others,
//!   nor on how many there are).
//! - The CPU backend ([`super::CpuBackend`]) is bitwise reproducible for any number of
//!   threads: a stack call runs on the calling thread, elementwise operations are split into
//!   fixed chunks. Its AVX-512 path and its portable path differ by rounding only.
//! - A device backend (a GPU) reorders the sums of its products and reductions, so it is not
//!   bitwise equal to the CPU: it must be tolerance-equal to the CPU backend in `f64`, as
//!   checked by [`super::conformance`] (relative `1e-9` through a depth-200 stack).

use crate::Float;
use crate::model::{BlockSpec, Dims};
use std::fmt;

/// The shape of one stack call: `networks` independent networks of `depth` residual layers of
/// width `width`, each advancing `columns` columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackShape {
    /// Number of networks `B`.
    pub networks: usize,
    /// Residual layers `L` of each network.
    pub depth: usize,
    /// Width `d`.
    pub width: usize,
    /// Columns `n` of each network.
    pub columns: usize,
    /// Inner width `m` of the residual branch (`W_k`: `m x d`, `V_k`: `d x m`); `width` for
    /// blocks without `W`.
    pub inner_width: usize,
}

impl StackShape {
    /// Values of one layer's `V` (or `W`), `d m`.
    pub fn layer(&self) -> usize {
        self.width * self.inner_width
    }

    /// Values of the pre-activation tape of the batch, `[B, L, m, n]`.
    pub fn pre_tape(&self) -> usize {
        self.networks * self.depth * self.inner_width * self.columns
    }

    /// Values of the hidden states of the batch, `[B, d, n]`.
    pub fn states(&self) -> usize {
        self.networks * self.width * self.columns
    }

    /// Values of the layer-input tape of the batch, `[B, L, d, n]` (the pre-activations:
    /// [`StackShape::pre_tape`]).
    pub fn tape(&self) -> usize {
        self.networks * self.depth * self.width * self.columns
    }

    /// Values of the per-column scales, `[B, n]`.
    pub fn alphas(&self) -> usize {
        self.networks * self.columns
    }
}

/// What a forward stack records for the backward stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Only `h_L` (inference: the tape's `pre` and `inputs` may be empty).
    Output,
    /// Every layer's pre-activation: enough for `dloss/dh` and the `V` and bias gradients.
    PreActivations,
    /// Pre-activations and every layer's input `h_k` (for `W` gradients and trajectories).
    PreAndInputs,
}

impl Keep {
    /// What a backward stack needs to produce the gradients of `block`'s parameters
    /// (`with_grads`) or only `dloss/dh`.
    pub fn for_backward(block: &BlockSpec, with_grads: bool) -> Self {
        if with_grads && block.inner {
            Keep::PreAndInputs
        } else {
            Keep::PreActivations
        }
    }
}

/// What a forward stack reads and writes, in backend storage `S`.
#[derive(Debug)]
pub struct Tape<S> {
    /// `h_0`, `[B, d, n]`: written by the caller before the forward stack.
    pub h0: S,
    /// `h_L`, `[B, d, n]`, after the forward stack.
    pub h_last: S,
    /// Pre-activations `W_k h_{k-1} (+ b_in)` of every layer, `[B, L, m, n]` (kept unless
    /// [`Keep::Output`]).
    pub pre: S,
    /// Layer inputs `h_0..h_{L-1}`, `[B, L, d, n]` (kept with [`Keep::PreAndInputs`]).
    pub inputs: S,
}

impl<S> Tape<S> {
    /// A zeroed tape for `shape`, recording what `keep` asks for.
    pub fn new<T: Float, B: Backend<T, Buffer = S>>(
        backend: &B,
        shape: StackShape,
        keep: Keep,
    ) -> Self {
        let tape = |kept: bool, len: usize| backend.zeros(if kept { len } else { 0 });
        Self {
            h0: backend.zeros(shape.states()),
            h_last: backend.zeros(shape.states()),
            pre: tape(keep != Keep::Output, shape.pre_tape()),
            inputs: tape(keep == Keep::PreAndInputs, shape.tape()),
        }
    }
}

/// The residual weights of a batch of networks (see the module doc for the layouts).
#[derive(Debug)]
pub struct StackWeights<'a, S> {
    /// `V`, `[B, L, d, m]`.
    pub v: &'a S,
    /// `W`, `[B, L, m, d]`, if the block has it.
    pub w: Option<&'a S>,
    /// Biases, `[B, L, m]` inside the activation or `[B, L, d]` outside, if the block has them.
    pub bias: Option<&'a S>,
}

impl<S> Clone for StackWeights<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for StackWeights<'_, S> {}

/// Gradients of the residual weights (same layouts as [`StackWeights`]).
#[derive(Debug)]
pub struct StackGrads<'a, S> {
    /// `dloss/dV`.
    pub v: &'a mut S,
    /// `dloss/dW`, if the block has `W`.
    pub w: Option<&'a mut S>,
    /// `dloss/db`, if the block has a bias.
    pub bias: Option<&'a mut S>,
    /// `true`: the gradients are added to what the buffers hold; `false`: they are written,
    /// so the buffers need no zeroing first (each layer's is written once, by its first and
    /// only touch, which saves a pass over them).
    pub accumulate: bool,
}

impl<S> StackGrads<'_, S> {
    /// The same buffers, written instead of accumulated into (`accumulate: false`).
    pub fn written(self) -> Self {
        Self {
            accumulate: false,
            ..self
        }
    }
}

/// Whether a batched product uses the stored matrices or their transposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `M[b]`.
    Plain,
    /// `M[b]^T`.
    Transposed,
}

/// The shape of a batched product over `networks` row-major `rows x cols` matrices and
/// `columns` columns per network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProductShape {
    /// Number of networks `B`.
    pub networks: usize,
    /// Rows of each stored matrix.
    pub rows: usize,
    /// Columns of each stored matrix.
    pub cols: usize,
    /// Columns `n` of each network's right-hand side.
    pub columns: usize,
}

impl ProductShape {
    /// The embedding (`width x n_in`) and readout (`n_out x width`) products of one network
    /// of shape `dims` on `n` columns.
    pub fn io(dims: Dims, n: usize) -> (ProductShape, ProductShape) {
        let embed = ProductShape {
            networks: 1,
            rows: dims.width,
            cols: dims.n_in,
            columns: n,
        };
        let readout = ProductShape {
            rows: dims.n_out,
            cols: dims.width,
            ..embed
        };
        (embed, readout)
    }
}

/// The per-step scalars of an Adam update (PyTorch's algorithm, see [`crate::train::Adam`]),
/// computed in `f64` and rounded to `T` once per step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamCoeffs<T> {
    /// `1 - beta1`.
    pub lerp: T,
    /// `beta2`.
    pub beta2: T,
    /// `1 - beta2`.
    pub one_minus_beta2: T,
    /// `sqrt(1 - beta2^t)`.
    pub bc2_sqrt: T,
    /// `eps`.
    pub eps: T,
    /// `lr / (1 - beta1^t)`.
    pub step_size: T,
}

impl<T: Float> AdamCoeffs<T> {
    /// The scalars of step `step` (from 1) at learning rate `lr`.
    pub fn new(beta1: f64, beta2: f64, eps: f64, step: u64, lr: f64) -> Self {
        let t = i32::try_from(step).unwrap_or(i32::MAX);
        let (bc1, bc2_sqrt) = if crate::mutant::is(crate::mutant::Mutant::AdamBiasCorrection) {
            // the mutant test's missing bias correction (inert unless DEPTHSCALE_MUTANT=adam-bias)
            (1.0, 1.0)
        } else {
            (1.0 - beta1.powi(t), (1.0 - beta2.powi(t)).sqrt())
        };
        Self {
            lerp: T::of(1.0 - beta1),
            beta2: T::of(beta2),
            one_minus_beta2: T::of(1.0 - beta2),
            bc2_sqrt: T::of(bc2_sqrt),
            eps: T::of(eps),
            step_size: T::of(lr / bc1),
        }
    }
}

/// The per-step scalars of an SGD update (PyTorch's `torch.optim.SGD` without dampening,
/// weight decay or Nesterov, see [`crate::train::Sgd`]), rounded to `T` once per step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdCoeffs<T> {
    /// Learning rate.
    pub lr: T,
    /// Momentum factor (ignored without a momentum buffer).
    pub momentum: T,
    /// Whether this is the first step: the momentum buffer is then set to the gradient (PyTorch
    /// clones it) instead of `momentum * buf + g`.
    pub first: bool,
}

impl<T: Float> SgdCoeffs<T> {
    /// The scalars of step `step` (from 1) at learning rate `lr` with momentum `momentum`.
    pub fn new(lr: f64, momentum: f64, step: u64) -> Self {
        Self {
            lr: T::of(lr),
            momentum: T::of(momentum),
            first: step <= 1,
        }
    }
}

/// Grows `buf` to hold at least `len` values (a fresh zeroed buffer when it is shorter), for
/// workspaces that size themselves between stack calls, never inside one.
pub fn ensure_len<T: Float, B: Backend<T>>(backend: &B, buf: &mut B::Buffer, len: usize) {
    if backend.len(buf) < len {
        *buf = backend.zeros(len);
    }
}

/// A compute backend: it owns the storage of its buffers and runs whole stacks of residual
/// layers on batches of networks, the products around them, the loss and the optimizer.
///
/// The trait is at the granularity a GPU needs: one call advances `B` networks through all
/// `L` layers (a CUDA implementation can do it in a handful of launches, or one graph), its
/// weights and tapes stay resident in [`Backend::Buffer`]s, and data crosses to the host only
/// through [`Backend::upload`], [`Backend::read`], [`Backend::write`] and the scalar results
/// of the loss. See the module doc for layouts, scratch and the reproducibility contract.
///
/// Lengths and shapes are the caller's promise; an implementation panics on a buffer shorter
/// than its shape (a programming error, never a user-input one).
pub trait Backend<T: Float>: Clone + Send + Sync + fmt::Debug {
    /// A buffer of `T` in the backend's storage (host memory for the CPU, device memory for a
    /// GPU).
    type Buffer: Send + Sync + fmt::Debug;

    /// A short description (`"cpu (avx512)"`).
    fn describe(&self) -> String;

    /// A zeroed buffer of `len` values (the only allocating operation).
    fn zeros(&self, len: usize) -> Self::Buffer;

    /// Number of values `buf` holds.
    fn len(&self, buf: &Self::Buffer) -> usize;

    /// Copies `src` into `dst` from offset `at`.
    fn upload(&self, src: &[T], dst: &mut Self::Buffer, at: usize);

    /// Copies the values of `src` from offset `at` into `dst`.
    fn download(&self, src: &Self::Buffer, at: usize, dst: &mut [T]);

    /// The leading `len` values of `buf` on the host: the buffer itself for a host backend, a
    /// copy in `staging` for a device backend.
    fn read<'a>(&self, buf: &'a Self::Buffer, len: usize, staging: &'a mut Vec<T>) -> &'a [T];

    /// Lets `f` write the leading `len` values of `buf` on the host: directly for a host
    /// backend; for a device backend into `staging`, then uploaded. `f` must write every value.
    fn write<R>(
        &self,
        buf: &mut Self::Buffer,
        len: usize,
        staging: &mut Vec<T>,
        f: impl FnOnce(&mut [T]) -> R,
    ) -> R;

    /// Sets the leading `len` values of `buf` to `value`.
    fn fill(&self, buf: &mut Self::Buffer, len: usize, value: T);

    /// Copies the leading `len` values of `src` into `dst`.
    fn copy(&self, src: &Self::Buffer, dst: &mut Self::Buffer, len: usize);

    /// `y <- y + a x` on the leading `len` values.
    fn axpy(&self, a: T, x: &Self::Buffer, y: &mut Self::Buffer, len: usize);

    /// Scratch values [`Backend::forward_stack`] and [`Backend::backward_stack`] need for
    /// `shape`.
    fn stack_scratch(&self, block: &BlockSpec, shape: StackShape) -> usize;

    /// The forward stack: from `tape.h0`, runs every residual layer
    /// `h <- h + alpha_c (V_k act(W_k h + b_in) + b_out)` of every network (column `c` of
    /// network `b` scaled by `alpha[b n + c]`), writing `tape.h_last` and what `keep` asks for.
    #[allow(clippy::too_many_arguments)]
    fn forward_stack(
        &self,
        block: &BlockSpec,
        shape: StackShape,
        weights: StackWeights<'_, Self::Buffer>,
        alpha: &Self::Buffer,
        tape: &mut Tape<Self::Buffer>,
        keep: Keep,
        scratch: &mut Self::Buffer,
    );

    /// The backward stack: given `p = dloss/dh_L` (`[B, d, n]`), overwrites it with
    /// `dloss/dh_0`; when `grads` is given, adds every layer's parameter gradients to it. The
    /// tape is the forward stack's, recorded with at least [`Keep::for_backward`].
    #[allow(clippy::too_many_arguments)]
    fn backward_stack(
        &self,
        block: &BlockSpec,
        shape: StackShape,
        weights: StackWeights<'_, Self::Buffer>,
        alpha: &Self::Buffer,
        tape: &Tape<Self::Buffer>,
        p: &mut Self::Buffer,
        grads: Option<StackGrads<'_, Self::Buffer>>,
        scratch: &mut Self::Buffer,
    );

    /// Scratch values [`Backend::product`] needs.
    fn product_scratch(&self, op: Op, shape: ProductShape) -> usize;

    /// The batched product `out[b] <- scale op(M[b]) x[b]` (or `out[b] += ...` when
    /// `accumulate`), with `M[b]` row-major `rows x cols`, `x[b]` and `out[b]` column-major
    /// with `columns` columns (the embedding `h_0 = A x`, the readout `B h_L`, and `B^T r`).
    #[allow(clippy::too_many_arguments)]
    fn product(
        &self,
        m: &Self::Buffer,
        op: Op,
        x: &Self::Buffer,
        out: &mut Self::Buffer,
        shape: ProductShape,
        scale: T,
        accumulate: bool,
        scratch: &mut Self::Buffer,
    );

    /// The batched outer product `g[b] <- p[b] a[b]^T` (or `g[b] += ...`), `g[b]` row-major
    /// `rows x cols`, `p[b]` column-major `rows x columns`, `a[b]` column-major
    /// `cols x columns` (the embedding and readout gradients).
    fn outer(
        &self,
        p: &Self::Buffer,
        a: &Self::Buffer,
        g: &mut Self::Buffer,
        shape: ProductShape,
        accumulate: bool,
    );

    /// Scratch values the losses need for `networks x columns` labels.
    fn loss_scratch(&self, networks: usize, columns: usize) -> usize;

    /// Softmax cross-entropy of the logits `[B, n_classes, n]` against host `labels` (`[B, n]`,
    /// `n = labels.len() / B`): writes into `losses[b]` network `b`'s summed loss divided by
    /// `total` (the whole batch's size when these columns are part of it), and its gradient
    /// into `dlogits`, so that the parts of a batch add up to the batch's mean. Sums are
    /// accumulated in `f64`.
    #[allow(clippy::too_many_arguments)]
    fn cross_entropy(
        &self,
        logits: &Self::Buffer,
        labels: &[u8],
        n_classes: usize,
        total: usize,
        dlogits: &mut Self::Buffer,
        losses: &mut [f64],
        scratch: &mut Self::Buffer,
    );

    /// Summed cross-entropy and number of correct arg-max predictions of each network
    /// (`out[b]`), without gradients; layout as [`Backend::cross_entropy`].
    fn cross_entropy_sum(
        &self,
        logits: &Self::Buffer,
        labels: &[u8],
        n_classes: usize,
        out: &mut [(f64, usize)],
        scratch: &mut Self::Buffer,
    );

    /// Mean squared error of the outputs `[B, n_out, n]` against host `targets` (same layout):
    /// writes into `losses[b]` network `b`'s summed squared error divided by `n_out total`
    /// (PyTorch's `MSELoss` over the whole batch of `total` columns, of which these are part),
    /// and its gradient into `dout`, so that the parts of a batch add up to the batch's mean.
    /// Sums are accumulated in `f64`.
    #[allow(clippy::too_many_arguments)]
    fn mse(
        &self,
        out: &Self::Buffer,
        targets: &[T],
        n_out: usize,
        total: usize,
        dout: &mut Self::Buffer,
        losses: &mut [f64],
        scratch: &mut Self::Buffer,
    );

    /// Summed squared error of each network's outputs (`sums[b]`), without gradients; layout
    /// as [`Backend::mse`].
    fn squared_error_sum(
        &self,
        out: &Self::Buffer,
        targets: &[T],
        sums: &mut [f64],
        scratch: &mut Self::Buffer,
    );

    /// One Adam update of a tensor of `per_network` values per network, network `b` with
    /// `coeffs[b]`: moments `m`, `v` and parameters `p` updated in place from gradients `g`.
    fn adam_update(
        &self,
        coeffs: &[AdamCoeffs<T>],
        per_network: usize,
        p: &mut Self::Buffer,
        g: &Self::Buffer,
        m: &mut Self::Buffer,
        v: &mut Self::Buffer,
    );

    /// [`Backend::adam_update`] from the gradient `g + g2` (two partial gradients, e.g. of two
    /// halves of a batch), summed as [`Backend::axpy`]`(1, g2, g)` would sum them, so the
    /// result is bitwise that of the axpy followed by the update; `g` and `g2` are left as
    /// they are (one pass over the tensors instead of two).
    #[allow(clippy::too_many_arguments)]
    fn adam_update_sum(
        &self,
        coeffs: &[AdamCoeffs<T>],
        per_network: usize,
        p: &mut Self::Buffer,
        g: &Self::Buffer,
        g2: &Self::Buffer,
        m: &mut Self::Buffer,
        v: &mut Self::Buffer,
    );

    /// One SGD update of a tensor of `per_network` values per network, network `b` with
    /// `coeffs[b]`: with a momentum buffer, `buf <- momentum buf + g` (`buf <- g` on the first
    /// step) then `p <- p - lr buf`; without one (`None`: momentum 0), `p <- p - lr g`.
    fn sgd_update(
        &self,
        coeffs: &[SgdCoeffs<T>],
        per_network: usize,
        p: &mut Self::Buffer,
        g: &Self::Buffer,
        buf: Option<&mut Self::Buffer>,
    );
}
