//! The ResNet on the host: its shape, its five tensors, and the network itself.
//!
//! The passes (embedding, the residual stack forward and backward, readout) run on a
//! [`crate::kernels::Backend`], on parameters it holds in its own storage
//! ([`crate::kernels::NetBatch`]); this module only describes what is being computed.

use super::{BiasPosition, BlockSpec};
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
    /// Inner width `m` of the residual branch `V act(W h)`: `W_k` is `m x d` and `V_k` is
    /// `d x m`. Equal to `width` unless set (and always for blocks without `W`).
    pub inner_width: usize,
}

impl Dims {
    /// The shape `n_in -> width -> n_out` with `depth` layers and inner width `width`.
    pub fn new(n_in: usize, width: usize, n_out: usize, depth: usize) -> Self {
        Self {
            n_in,
            width,
            n_out,
            depth,
            inner_width: width,
        }
    }

    /// The same shape with inner width `m`.
    pub fn with_inner_width(self, m: usize) -> Self {
        Self {
            inner_width: m,
            ..self
        }
    }

    /// [`Dims::validate`], and that `block` can have this shape: a block without `W` has
    /// `inner_width == width` (its branch is `V act(h)`).
    pub fn validate_for(&self, block: &BlockSpec) -> Result<()> {
        self.validate()?;
        if !block.inner && self.inner_width != self.width {
            return Err(Error::config(
                "inner_width",
                format!(
                    "{} differs from width {}: only blocks with an inner matrix W (res3) can \
                     have an inner width other than the width",
                    self.inner_width, self.width
                ),
            ));
        }
        Ok(())
    }

    /// Values of the bias of one layer of `block`: `inner_width` inside the activation,
    /// `width` outside it, 0 without a bias.
    pub fn bias_len(&self, block: &BlockSpec) -> usize {
        match block.bias {
            BiasPosition::None => 0,
            BiasPosition::Inside => self.inner_width,
            BiasPosition::Outside => self.width,
        }
    }
    /// Checks every dimension is positive and every parameter tensor's size fits in memory
    /// arithmetic (an overflow is [`Error::TooLarge`], see [`crate::budget::len`]).
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("n_in", self.n_in),
            ("width", self.width),
            ("n_out", self.n_out),
            ("depth", self.depth),
            ("inner_width", self.inner_width),
        ] {
            if v == 0 {
                return Err(Error::config(field, "must be a positive integer (>= 1)"));
            }
        }
        let (d, l) = (self.width, self.depth);
        crate::budget::len("depth", 8, &[l, d, d])?;
        crate::budget::len("inner_width", 8, &[l, d, self.inner_width])?;
        crate::budget::len("n_in", 8, &[d, self.n_in])?;
        crate::budget::len("n_out", 8, &[d, self.n_out])?;
        Ok(())
    }

    /// Number of values of tensor `kind` in one network with this shape and block (0 for a
    /// tensor the block does not have).
    pub fn tensor_len(&self, block: &BlockSpec, kind: TensorKind) -> usize {
        let (d, m, l) = (self.width, self.inner_width, self.depth);
        match kind {
            TensorKind::Embed => d * self.n_in,
            TensorKind::V => l * d * m,
            TensorKind::W if block.inner => l * m * d,
            TensorKind::W => 0,
            TensorKind::Bias => l * self.bias_len(block),
            TensorKind::Readout => self.n_out * d,
        }
    }
}

/// One of the five tensors of a ResNet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TensorKind {
    /// Embedding `A`: `width x n_in`.
    Embed,
    /// Residual weights `V_1..V_L`: `depth x width x inner_width`.
    V,
    /// Inner weights `W_1..W_L`: `depth x inner_width x width` (blocks with `W` only).
    W,
    /// Biases `b_1..b_L`: `depth x inner_width` inside the activation, `depth x width`
    /// outside it (blocks with a bias only).
    Bias,
    /// Readout `B`: `n_out x width`.
    Readout,
}

impl TensorKind {
    /// The five tensors, in the order of [`Params::named`].
    pub const ALL: [TensorKind; 5] = [
        TensorKind::Embed,
        TensorKind::V,
        TensorKind::W,
        TensorKind::Bias,
        TensorKind::Readout,
    ];

    /// The tensor's conventional name (`embed`, `v`, `w`, `bias`, `readout`).
    pub fn name(self) -> &'static str {
        match self {
            TensorKind::Embed => "embed",
            TensorKind::V => "v",
            TensorKind::W => "w",
            TensorKind::Bias => "bias",
            TensorKind::Readout => "readout",
        }
    }
}

/// The five tensors of a ResNet (or of a batch of them), in some storage `S`: host vectors
/// ([`Params`]) or a backend's buffers.
///
/// Matrices are row-major; the per-layer tensors are stacked layer after layer; a batch of
/// networks stores each tensor network after network.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensors<S> {
    /// Embedding `A`: `width x n_in`.
    pub embed: S,
    /// Residual weights `V_1..V_L`: `depth x width x inner_width`.
    pub v: S,
    /// Inner weights `W_1..W_L`: `depth x inner_width x width`, empty when the block has none.
    pub w: S,
    /// Biases `b_1..b_L`: `depth x` [`Dims::bias_len`], empty when the block has none.
    pub bias: S,
    /// Readout `B`: `n_out x width`.
    pub readout: S,
}

impl<S> Tensors<S> {
    /// The tensor `kind`.
    pub fn get(&self, kind: TensorKind) -> &S {
        match kind {
            TensorKind::Embed => &self.embed,
            TensorKind::V => &self.v,
            TensorKind::W => &self.w,
            TensorKind::Bias => &self.bias,
            TensorKind::Readout => &self.readout,
        }
    }

    /// The tensor `kind`, mutably.
    pub fn get_mut(&mut self, kind: TensorKind) -> &mut S {
        match kind {
            TensorKind::Embed => &mut self.embed,
            TensorKind::V => &mut self.v,
            TensorKind::W => &mut self.w,
            TensorKind::Bias => &mut self.bias,
            TensorKind::Readout => &mut self.readout,
        }
    }

    /// Builds each tensor from its kind.
    pub fn from_fn(mut f: impl FnMut(TensorKind) -> S) -> Self {
        Self {
            embed: f(TensorKind::Embed),
            v: f(TensorKind::V),
            w: f(TensorKind::W),
            bias: f(TensorKind::Bias),
            readout: f(TensorKind::Readout),
        }
    }
}

/// Every trainable tensor of one ResNet on the host (also used for gradients and optimizer
/// moments).
pub type Params<T> = Tensors<Vec<T>>;

impl<T: Float> Tensors<Vec<T>> {
    /// All-zero parameters for a block and shape.
    pub fn zeros(block: &BlockSpec, dims: Dims) -> Self {
        Self::from_fn(|kind| vec![T::zero(); dims.tensor_len(block, kind)])
    }

    /// The tensors with their conventional names, in a fixed order.
    pub fn named(&self) -> [(&'static str, &Vec<T>); 5] {
        TensorKind::ALL.map(|k| (k.name(), self.get(k)))
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

/// A ResNet `x -> B h_L` with its parameters on the host.
#[derive(Clone, Debug)]
pub struct ResNet<T> {
    /// The residual block's structure.
    pub block: BlockSpec,
    /// The network's shape.
    pub dims: Dims,
    /// The parameters.
    pub params: Params<T>,
}

impl<T: Float> ResNet<T> {
    /// A network with all-zero parameters.
    pub fn zeros(block: BlockSpec, dims: Dims) -> Result<Self> {
        dims.validate_for(&block)?;
        Ok(Self {
            params: Params::zeros(&block, dims),
            block,
            dims,
        })
    }
}
