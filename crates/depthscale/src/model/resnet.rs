//! The ResNet: parameters, embedding, readout, and the layer loop of the forward and backward
//! passes (the per-layer arithmetic is a [`LayerKernel`]).

use super::BlockSpec;
use crate::kernels::{LayerGrads, LayerKernel, LayerRef};
use crate::linalg::{MatMut, MatRef, matmul};
use crate::{Error, Float, Result};

/// The shape of a ResNet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dims {
    /// Input dimension `n_in` (columns of `A`).
    pub n_in: usize,
    /// Hidden width `d`.
    pub width: usize,
    /// Output dimension `n_out` (rows of `B`).
    pub n_out: usize,
    /// Number of residual layers `L`.
    pub depth: usize,
}

impl Dims {
    /// Checks every dimension is positive and every parameter tensor's size fits in memory
    /// arithmetic (an overflow is [`Error::TooLarge`], see [`crate::budget::len`]).
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("n_in", self.n_in),
            ("width", self.width),
            ("n_out", self.n_out),
            ("depth", self.depth),
        ] {
            if v == 0 {
                return Err(Error::config(field, "must be a positive integer (>= 1)"));
            }
        }
        let (d, l) = (self.width, self.depth);
        crate::budget::len("depth", 8, &[l, d, d])?;
        crate::budget::len("n_in", 8, &[d, self.n_in])?;
        crate::budget::len("n_out", 8, &[d, self.n_out])?;
        Ok(())
    }
}

/// Every trainable tensor of a ResNet (also used for their gradients and optimizer moments).
///
/// Matrices are row-major; the per-layer tensors are stacked layer after layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Params<T> {
    /// Embedding `A`: `width x n_in`.
    pub embed: Vec<T>,
    /// Residual weights `V_1..V_L`: `depth x width x width`.
    pub v: Vec<T>,
    /// Inner weights `W_1..W_L`: `depth x width x width`, empty when the block has none.
    pub w: Vec<T>,
    /// Biases `b_1..b_L`: `depth x width`, empty when the block has none.
    pub bias: Vec<T>,
    /// Readout `B`: `n_out x width`.
    pub readout: Vec<T>,
}

impl<T: Float> Params<T> {
    /// All-zero parameters for a block and shape.
    pub fn zeros(block: &BlockSpec, dims: Dims) -> Self {
        let (d, l) = (dims.width, dims.depth);
        Self {
            embed: vec![T::zero(); d * dims.n_in],
            v: vec![T::zero(); l * d * d],
            w: if block.inner {
                vec![T::zero(); l * d * d]
            } else {
                Vec::new()
            },
            bias: if block.has_bias() {
                vec![T::zero(); l * d]
            } else {
                Vec::new()
            },
            readout: vec![T::zero(); dims.n_out * d],
        }
    }

    /// The tensors with their conventional names, in a fixed order.
    pub fn named(&self) -> [(&'static str, &Vec<T>); 5] {
        [
            ("embed", &self.embed),
            ("v", &self.v),
            ("w", &self.w),
            ("bias", &self.bias),
            ("readout", &self.readout),
        ]
    }

    /// The tensors, mutably, in the order of [`Params::named`].
    pub fn tensors_mut(&mut self) -> [&mut Vec<T>; 5] {
        [
            &mut self.embed,
            &mut self.v,
            &mut self.w,
            &mut self.bias,
            &mut self.readout,
        ]
    }

    /// Sets every entry to zero, keeping the shapes.
    pub fn fill_zero(&mut self) {
        for t in self.tensors_mut() {
            t.fill(T::zero());
        }
    }
}

/// A ResNet `x -> B h_L` with its parameters.
#[derive(Clone, Debug)]
pub struct ResNet<T> {
    /// The residual block's structure.
    pub block: BlockSpec,
    /// The network's shape.
    pub dims: Dims,
    /// The parameters.
    pub params: Params<T>,
}

/// What the forward pass keeps for the backward pass, for a batch of `n` columns.
#[derive(Clone, Debug, Default)]
pub struct Tape<T> {
    /// Number of columns (samples) in the batch.
    pub n: usize,
    /// `h_0`: `width x n`, column-major. Set it (or use [`ResNet::embed`]) before the forward pass.
    pub h0: Vec<T>,
    /// `h_L` after the forward pass: `width x n`.
    pub h_last: Vec<T>,
    /// Pre-activations of every layer: `depth x width x n`.
    pub pre: Vec<T>,
    /// Layer inputs `h_0..h_{L-1}`: `depth x width x n`; only kept when `W` gradients are wanted.
    pub inputs: Vec<T>,
}

impl<T: Float> Tape<T> {
    /// Resizes the buffers for `n` columns of a network of shape `dims` (no allocation when
    /// already large enough).
    pub fn resize(&mut self, dims: Dims, n: usize, keep_inputs: bool) {
        let (d, l) = (dims.width, dims.depth);
        self.n = n;
        self.h0.resize(d * n, T::zero());
        self.h_last.resize(d * n, T::zero());
        self.pre.resize(l * d * n, T::zero());
        self.inputs
            .resize(if keep_inputs { l * d * n } else { 0 }, T::zero());
    }
}

impl<T: Float> ResNet<T> {
    /// A network with all-zero parameters.
    pub fn zeros(block: BlockSpec, dims: Dims) -> Result<Self> {
        dims.validate()?;
        Ok(Self {
            params: Params::zeros(&block, dims),
            block,
            dims,
        })
    }

    /// The weights of residual layer `k` (0-based: layer `k` maps `h_k` to `h_{k+1}`).
    pub fn layer(&self, k: usize) -> LayerRef<'_, T> {
        let d = self.dims.width;
        let p = &self.params;
        LayerRef {
            width: d,
            v: &p.v[k * d * d..(k + 1) * d * d],
            w: self.block.inner.then(|| &p.w[k * d * d..(k + 1) * d * d]),
            bias: self.block.has_bias().then(|| &p.bias[k * d..(k + 1) * d]),
        }
    }

    /// `h0 <- A x` for `n` inputs `x` (`n_in x n`, column-major).
    pub fn embed(&self, x: &[T], n: usize, h0: &mut [T]) {
        let Dims { n_in, width, .. } = self.dims;
        matmul(
            MatMut::col_major(&mut h0[..width * n], width, n),
            MatRef::row_major(&self.params.embed, width, n_in),
            MatRef::col_major(&x[..n_in * n], n_in, n),
            T::one(),
            false,
        );
    }

    /// `out <- B h` for `n` hidden states (`width x n`), `out` is `n_out x n`.
    pub fn readout(&self, h: &[T], n: usize, out: &mut [T]) {
        let Dims { n_out, width, .. } = self.dims;
        matmul(
            MatMut::col_major(&mut out[..n_out * n], n_out, n),
            MatRef::row_major(&self.params.readout, n_out, width),
            MatRef::col_major(&h[..width * n], width, n),
            T::one(),
            false,
        );
    }

    /// Runs the residual layers on `tape.h0`, column `c` scaled by `alpha[c]`, filling the tape.
    ///
    /// `keep_inputs` stores every layer's input (needed only for `W` gradients).
    pub fn forward<K: LayerKernel<T>>(
        &self,
        kernel: &mut K,
        alpha: &[T],
        tape: &mut Tape<T>,
        keep_inputs: bool,
    ) {
        let n = alpha.len();
        assert_eq!(
            tape.h0.len(),
            self.dims.width * n,
            "tape.h0 must hold width x n values"
        );
        // leaves h0 as it is (its length already matches) and allocates nothing in steady state
        tape.resize(self.dims, n, keep_inputs);
        let dn = self.dims.width * n;
        let Tape {
            h0,
            h_last,
            pre,
            inputs,
            ..
        } = tape;
        h_last.copy_from_slice(h0);
        for k in 0..self.dims.depth {
            if keep_inputs {
                inputs[k * dn..(k + 1) * dn].copy_from_slice(h_last);
            }
            kernel.forward_layer(
                &self.block,
                self.layer(k),
                alpha,
                h_last,
                &mut pre[k * dn..(k + 1) * dn],
            );
        }
    }

    /// Back-propagates `p = dloss/dh_L` (in place) down to `dloss/dh_0`.
    ///
    /// `on_layer(k, p_k)` is called for `k = L, L-1, ..., 0` with `p_k = dloss/dh_k`. When `grads`
    /// is given, the residual layers' parameter gradients are accumulated into it (the tape must
    /// then hold the inputs if the block has `W`); embedding and readout gradients are the
    /// caller's (they depend on the loss and the input).
    pub fn backward<K: LayerKernel<T>>(
        &self,
        kernel: &mut K,
        alpha: &[T],
        tape: &Tape<T>,
        p: &mut [T],
        mut grads: Option<&mut Params<T>>,
        mut on_layer: impl FnMut(usize, &[T]),
    ) {
        let n = alpha.len();
        let d = self.dims.width;
        let dn = d * n;
        assert_eq!(p.len(), dn, "p must hold width x n values");
        let want_w = grads.is_some() && self.block.inner;
        assert!(
            !want_w || tape.inputs.len() == self.dims.depth * dn,
            "W gradients need a tape with inputs"
        );
        on_layer(self.dims.depth, p);
        for k in (0..self.dims.depth).rev() {
            let layer_grads = grads.as_deref_mut().map(|g| LayerGrads {
                v: &mut g.v[k * d * d..(k + 1) * d * d],
                w: self
                    .block
                    .inner
                    .then(|| &mut g.w[k * d * d..(k + 1) * d * d]),
                bias: self
                    .block
                    .has_bias()
                    .then(|| &mut g.bias[k * d..(k + 1) * d]),
            });
            let input = want_w.then(|| &tape.inputs[k * dn..(k + 1) * dn]);
            kernel.backward_layer(
                &self.block,
                self.layer(k),
                alpha,
                &tape.pre[k * dn..(k + 1) * dn],
                input,
                p,
                layer_grads,
            );
            on_layer(k, p);
        }
    }
}
