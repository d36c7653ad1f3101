//! The batched layer-step interface: advance a batch of independent columns through one
//! residual layer, forward or backward.
//!
//! Everything that is per-layer arithmetic lives behind [`LayerKernel`]; the layer loop, the
//! tape and the losses live in [`crate::model`]. A backend (the CPU one here, a GPU one later)
//! implements the two methods and keeps its own scratch memory so that steady-state layers do
//! not allocate.

mod cpu;

pub use cpu::{CpuKernel, matmul_cc, matmul_outer};

use crate::Float;
use crate::model::BlockSpec;

/// The weights of one residual layer.
#[derive(Clone, Copy, Debug)]
pub struct LayerRef<'a, T> {
    /// Width `d`.
    pub width: usize,
    /// `V`: `d x d`, row-major.
    pub v: &'a [T],
    /// `W`: `d x d`, row-major, if the block has one.
    pub w: Option<&'a [T]>,
    /// The bias (`d`), if the block has one.
    pub bias: Option<&'a [T]>,
}

/// Gradient accumulators of one residual layer (same shapes as [`LayerRef`]).
#[derive(Debug)]
pub struct LayerGrads<'a, T> {
    /// `dloss/dV`.
    pub v: &'a mut [T],
    /// `dloss/dW`, if the block has `W`.
    pub w: Option<&'a mut [T]>,
    /// `dloss/db`, if the block has a bias.
    pub bias: Option<&'a mut [T]>,
}

/// One residual layer `h <- h + alpha_c (V act(W h + b_in) + b_out)` applied to a batch of
/// columns, each column `c` with its own scale `alpha[c]` (so columns may mix depths' scalings).
///
/// Shapes: `h`, `pre`, `p`, `input` are `width x n` column-major with `n = alpha.len()`.
pub trait LayerKernel<T: Float> {
    /// Forward: updates `h` in place and writes the pre-activation `W h + b_in` into `pre`.
    fn forward_layer(
        &mut self,
        block: &BlockSpec,
        layer: LayerRef<'_, T>,
        alpha: &[T],
        h: &mut [T],
        pre: &mut [T],
    );

    /// Backward: given `p = dloss/dh_{k+1}`, overwrites it with `dloss/dh_k`; accumulates the
    /// layer's parameter gradients into `grads` when given (`input = h_k` is then needed if the
    /// block has `W`).
    #[allow(clippy::too_many_arguments)]
    fn backward_layer(
        &mut self,
        block: &BlockSpec,
        layer: LayerRef<'_, T>,
        alpha: &[T],
        pre: &[T],
        input: Option<&[T]>,
        p: &mut [T],
        grads: Option<LayerGrads<'_, T>>,
    );
}
