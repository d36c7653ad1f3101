//! Gradients of the training model in memory that does not grow like the depth (issue 23):
//! the stacks run a chunk of layers per call, with the weights of that chunk copied into
//! chunk-sized buffers, so the tape covers one chunk only.
//!
//! - [`GradientMethod::Checkpoint`]: the forward pass keeps the state `h` at the start of every
//!   chunk of `c = ceil(sqrt(L))` layers and no tape; the backward pass reruns each chunk from
//!   its checkpoint with a tape and back-propagates through it. The per-layer arithmetic is the
//!   same as one whole-depth stack's, so the gradient is bitwise back-propagation's; memory:
//!   `L / c` states plus a `c`-layer tape.
//! - [`GradientMethod::Adjoint`]: the adjoint method with the Euler scheme, the ResNet being
//!   the Euler scheme of its ODE. The forward pass keeps nothing; the backward pass walks the
//!   layers from `L` down to 1, reconstructing `h_{k-1} = h_k - alpha f_k(h_k)` (one layer's
//!   forward stack with residual scale `-alpha`, whose tape is `f_k`'s at `h_k`) and stepping
//!   the adjoint `a_{k-1} = a_k + alpha J_k(h_k)^T a_k` with the gradients
//!   `alpha (df_k/dtheta_k)(h_k)^T a_k` (one layer's backward stack with `+alpha` on that tape):
//!   the Euler step of the augmented system backwards from `t = 1`, evaluated at the
//!   reconstructed state. Memory: one layer's tape, whatever `L`; the gradient is not the exact
//!   one (see [`crate::adjoint`] for its convergence and the failure of the reconstruction for
//!   rough weights).

use crate::Float;
use crate::adjoint::GradientMethod;
use crate::kernels::{Backend, Keep, NetBatch, StackShape, Tape, grads_of, weights_of};
use crate::model::{BlockSpec, Dims, TensorKind, Tensors};

/// Layers per forward stack call of the adjoint method's tape-free forward pass.
const ADJOINT_FORWARD_CHUNK: usize = 64;

/// The per-layer tensors, whose chunks are copied.
const LAYER_KINDS: [TensorKind; 3] = [TensorKind::V, TensorKind::W, TensorKind::Bias];

/// Chunk buffers of the checkpoint and adjoint gradients in backend `B`.
#[derive(Debug)]
pub(super) struct Chunked<T: Float, B: Backend<T>> {
    method: GradientMethod,
    /// Layers of a backward chunk (checkpoint: `ceil(sqrt(L))`; adjoint: 1).
    chunk: usize,
    /// Layers of a forward chunk.
    forward_chunk: usize,
    /// The weights of one chunk (embedding and readout empty).
    weights: Tensors<B::Buffer>,
    /// The gradient of one chunk.
    grads: Tensors<B::Buffer>,
    /// `h` at the start of every chunk (checkpoint only), `[L / c, d, n]`.
    checkpoints: B::Buffer,
    /// `-alpha` per column (adjoint only).
    minus_alpha: B::Buffer,
    staging: Vec<T>,
}

impl<T: Float, B: Backend<T>> Chunked<T, B> {
    /// Buffers for `method` (checkpoint or adjoint) on networks of shape `dims`.
    pub(super) fn new(backend: &B, method: GradientMethod, block: &BlockSpec, dims: Dims) -> Self {
        let l = dims.depth.max(1);
        let (chunk, forward_chunk) = match method {
            GradientMethod::Adjoint => (1, ADJOINT_FORWARD_CHUNK.min(l)),
            _ => {
                let c = (l as f64).sqrt().ceil() as usize;
                (c, c)
            }
        };
        let per_layer = |kind| dims.tensor_len(block, kind) / l;
        let big = chunk.max(forward_chunk);
        let zeros = |layers: usize| {
            Tensors::from_fn(|k| {
                backend.zeros(if LAYER_KINDS.contains(&k) {
                    layers * per_layer(k)
                } else {
                    0
                })
            })
        };
        Self {
            method,
            chunk,
            forward_chunk,
            weights: zeros(big),
            grads: zeros(chunk),
            checkpoints: backend.zeros(0),
            minus_alpha: backend.zeros(0),
            staging: Vec::new(),
        }
    }

    /// The method these buffers serve.
    pub(super) fn method(&self) -> GradientMethod {
        self.method
    }

    /// Layers of a backward chunk: the depth of the tape the workspace must hold.
    pub(super) fn tape_depth(method: GradientMethod, depth: usize) -> usize {
        match method {
            GradientMethod::Adjoint => 1,
            _ => ((depth.max(1) as f64).sqrt().ceil() as usize).min(depth.max(1)),
        }
    }

    /// Copies layers `k0..k0 + layers` of `net`'s per-layer tensors into the chunk buffers.
    fn load(&mut self, backend: &B, net: &NetBatch<T, B>, k0: usize, layers: usize) {
        let l = net.dims().depth;
        for kind in LAYER_KINDS {
            let per = net.tensor_len(kind) / l;
            if per == 0 {
                continue;
            }
            let len = layers * per;
            self.staging.resize(len, T::zero());
            backend.download(net.params().get(kind), k0 * per, &mut self.staging[..len]);
            backend.upload(&self.staging[..len], self.weights.get_mut(kind), 0);
        }
    }

    /// Writes the chunk gradient of `layers` layers into layers `k0..` of `grads`.
    fn store_grads(
        &mut self,
        backend: &B,
        net: &NetBatch<T, B>,
        k0: usize,
        layers: usize,
        grads: &mut Tensors<B::Buffer>,
    ) {
        let l = net.dims().depth;
        for kind in LAYER_KINDS {
            let per = net.tensor_len(kind) / l;
            if per == 0 {
                continue;
            }
            let len = layers * per;
            self.staging.resize(len, T::zero());
            backend.download(self.grads.get(kind), 0, &mut self.staging[..len]);
            backend.upload(&self.staging[..len], grads.get_mut(kind), k0 * per);
        }
    }

    /// Copies `len` values of `src` (from offset `from`) into `dst` at offset `to`.
    fn transfer(
        &mut self,
        backend: &B,
        src: &B::Buffer,
        from: usize,
        dst: &mut B::Buffer,
        to: usize,
        len: usize,
    ) {
        self.staging.resize(len, T::zero());
        backend.download(src, from, &mut self.staging[..len]);
        backend.upload(&self.staging[..len], dst, to);
    }

    /// The forward pass from `tape.h0` (one network, `n` columns) to `h_L` in `tape.h_last`,
    /// without a tape; the checkpoint method keeps the chunks' first states.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn forward(
        &mut self,
        backend: &B,
        net: &NetBatch<T, B>,
        n: usize,
        alpha: &B::Buffer,
        tape: &mut Tape<B::Buffer>,
        scratch: &mut B::Buffer,
    ) {
        let block = *net.block();
        let shape = net.stack_shape(n);
        let (l, dn) = (shape.depth, shape.states());
        let c = self.forward_chunk;
        if self.method == GradientMethod::Checkpoint {
            crate::kernels::ensure_len(backend, &mut self.checkpoints, l.div_ceil(c) * dn);
        }
        let mut k0 = 0;
        while k0 < l {
            let layers = c.min(l - k0);
            self.load(backend, net, k0, layers);
            if self.method == GradientMethod::Checkpoint {
                let mut cps = std::mem::replace(&mut self.checkpoints, backend.zeros(0));
                self.transfer(backend, &tape.h0, 0, &mut cps, (k0 / c) * dn, dn);
                self.checkpoints = cps;
            }
            let s = StackShape {
                depth: layers,
                ..shape
            };
            let w = weights_of(&block, &self.weights);
            backend.forward_stack(&block, s, w, alpha, tape, Keep::Output, scratch);
            k0 += layers;
            if k0 < l {
                backend.copy(&tape.h_last, &mut tape.h0, dn);
            }
        }
    }

    /// The backward pass: `p` holds `dloss/dh_L` and becomes `dloss/dh_0` (the adjoint's
    /// `a(0)`); every layer's gradients are written into `grads`. `tape.h_last` must hold
    /// `h_L` (as [`Chunked::forward`] leaves it); the tape holds one backward chunk.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn backward(
        &mut self,
        backend: &B,
        net: &NetBatch<T, B>,
        n: usize,
        alpha: &B::Buffer,
        tape: &mut Tape<B::Buffer>,
        p: &mut B::Buffer,
        grads: &mut Tensors<B::Buffer>,
        scratch: &mut B::Buffer,
    ) {
        let block = *net.block();
        let shape = net.stack_shape(n);
        let (l, dn) = (shape.depth, shape.states());
        let keep = Keep::for_backward(&block, true);
        match self.method {
            GradientMethod::Adjoint => {
                crate::kernels::ensure_len(backend, &mut self.minus_alpha, n);
                self.staging.resize(n, T::zero());
                backend.download(alpha, 0, &mut self.staging[..n]);
                for a in &mut self.staging[..n] {
                    *a = -*a;
                }
                backend.upload(&self.staging[..n], &mut self.minus_alpha, 0);
                let one = StackShape { depth: 1, ..shape };
                for k in (0..l).rev() {
                    // the state h_{k+1} (0-based layer k's output) becomes the layer's input
                    backend.copy(&tape.h_last, &mut tape.h0, dn);
                    self.load(backend, net, k, 1);
                    let w = weights_of(&block, &self.weights);
                    // h_k ~ h_{k+1} - alpha f(h_{k+1}); the tape is f's at h_{k+1}
                    backend.forward_stack(&block, one, w, &self.minus_alpha, tape, keep, scratch);
                    let w = weights_of(&block, &self.weights);
                    backend.backward_stack(
                        &block,
                        one,
                        w,
                        alpha,
                        tape,
                        p,
                        Some(grads_of(&block, &mut self.grads).written()),
                        scratch,
                    );
                    self.store_grads(backend, net, k, 1, grads);
                }
            }
            _ => {
                let c = self.chunk;
                let chunks = l.div_ceil(c);
                for s in (0..chunks).rev() {
                    let (k0, layers) = (s * c, c.min(l - s * c));
                    let cps = std::mem::replace(&mut self.checkpoints, backend.zeros(0));
                    self.transfer(backend, &cps, s * dn, &mut tape.h0, 0, dn);
                    self.checkpoints = cps;
                    self.load(backend, net, k0, layers);
                    let sh = StackShape {
                        depth: layers,
                        ..shape
                    };
                    let w = weights_of(&block, &self.weights);
                    backend.forward_stack(&block, sh, w, alpha, tape, keep, scratch);
                    let w = weights_of(&block, &self.weights);
                    backend.backward_stack(
                        &block,
                        sh,
                        w,
                        alpha,
                        tape,
                        p,
                        Some(grads_of(&block, &mut self.grads).written()),
                        scratch,
                    );
                    self.store_grads(backend, net, k0, layers, grads);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adjoint::{OdeNet, Scheme, Solve, WeightPath, loss_and_grad};
    use crate::kernels::CpuBackend;
    use crate::model::{Activation, BiasPosition, ResNet};
    use crate::train::Workspace;

    fn dims(depth: usize) -> Dims {
        Dims {
            n_in: 5,
            width: 4,
            n_out: 3,
            depth,
            inner_width: 4,
        }
    }

    /// A network with deterministic, moderately sized weights.
    fn network<T: Float>(block: BlockSpec, depth: usize) -> ResNet<T> {
        let mut net = ResNet::zeros(block, dims(depth)).unwrap();
        for (i, t) in net.params.tensors_mut().into_iter().enumerate() {
            for (j, x) in t.iter_mut().enumerate() {
                *x = T::of(((j * 7 + i * 3) as f64 * 0.618).sin() * 0.6);
            }
        }
        net
    }

    fn batch(n: usize) -> (Vec<f64>, Vec<u8>) {
        let x = (0..5 * n).map(|i| (i as f64 * 0.37).cos()).collect();
        (x, (0..n).map(|i| (i % 3) as u8).collect())
    }

    fn grads<T: Float>(
        net: &ResNet<T>,
        alpha: T,
        x: &[T],
        y: &[u8],
        method: GradientMethod,
    ) -> (f64, Vec<Vec<T>>) {
        let batch = NetBatch::from_network(CpuBackend::new(), net).unwrap();
        let mut ws =
            Workspace::with_gradient(CpuBackend::new(), &net.block, net.dims, y.len(), method);
        assert_eq!(ws.method(), method);
        let mut g = Tensors::from_fn(|k| vec![T::zero(); net.dims.tensor_len(&net.block, k)]);
        let loss = ws.loss_and_grad(&batch, alpha, x, y, &mut g);
        (
            loss,
            g.tensors_mut().into_iter().map(|t| t.clone()).collect(),
        )
    }

    #[test]
    fn checkpoint_gradient_is_backprop_bitwise() {
        let res1 = BlockSpec {
            inner: false,
            bias: BiasPosition::Outside,
            activation: Activation::Relu,
        };
        let res3 = BlockSpec {
            inner: true,
            bias: BiasPosition::Inside,
            activation: Activation::Tanh,
        };
        let (x, y) = batch(6);
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        for block in [res1, res3] {
            for depth in [1, 2, 7, 16, 30] {
                let alpha = (depth as f64).powf(-0.5);
                let net = network::<f32>(block, depth);
                let bp = grads(&net, alpha as f32, &x32, &y, GradientMethod::Backprop);
                let cp = grads(&net, alpha as f32, &x32, &y, GradientMethod::Checkpoint);
                assert_eq!(bp, cp, "{block:?} depth {depth}");
                let net = network::<f64>(block, depth);
                let bp = grads(&net, alpha, &x, &y, GradientMethod::Backprop);
                let cp = grads(&net, alpha, &x, &y, GradientMethod::Checkpoint);
                assert_eq!(bp, cp, "{block:?} depth {depth} f64");
            }
        }
    }

    /// The backend's adjoint (and back-propagation) gradients of a res3 network without bias at
    /// `alpha = 1/L` are the host reference's (`crate::adjoint`, Euler, `L` steps) on the
    /// piecewise-constant path of the same weights.
    #[test]
    fn adjoint_gradient_is_the_reference_euler_adjoint() {
        let block = BlockSpec {
            inner: true,
            bias: BiasPosition::None,
            activation: Activation::Tanh,
        };
        let (x, y) = batch(5);
        for depth in [1, 3, 12] {
            let net = network::<f64>(block, depth);
            let p = &net.params;
            let ode = OdeNet {
                n_in: 5,
                n_out: 3,
                embed: p.embed.clone(),
                readout: p.readout.clone(),
                path: WeightPath::piecewise(4, &p.v, Some(&p.w)),
                activation: Activation::Tanh,
            };
            let solve = Solve {
                scheme: Scheme::Euler,
                steps: depth,
            };
            for method in [GradientMethod::Adjoint, GradientMethod::Backprop] {
                let (loss, g) = grads(&net, 1.0 / depth as f64, &x, &y, method);
                let r = loss_and_grad(&ode, &x, &y, solve, method).unwrap();
                assert!((loss - r.loss).abs() < 1e-13);
                let ours = [&g[0][..], &g[4], &g[1], &g[2]].concat();
                let theirs = r.grads.flat();
                let err = crate::adjoint::relative_error(&ours, &theirs);
                assert!(err < 1e-12, "{method} depth {depth}: {err:e}");
            }
            // and the adjoint differs from the exact gradient for depth > 1
            let (_, a) = grads(&net, 1.0 / depth as f64, &x, &y, GradientMethod::Adjoint);
            let (_, b) = grads(&net, 1.0 / depth as f64, &x, &y, GradientMethod::Backprop);
            assert_ne!(a, b, "depth {depth}");
        }
    }
}
