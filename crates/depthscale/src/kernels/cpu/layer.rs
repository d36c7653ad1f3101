//! One residual layer on the CPU, forward and backward side by side: two `faer` products per
//! layer and direction with the pointwise work (activation, per-column scale, bias) in tight
//! loops over contiguous columns, or the fused SIMD layer of [`super::simd_layer`].

use super::pointwise::{scale_by_derivative, scaled_activation, scaled_value_and_derivative};
use super::{Ahead, CpuPath};
use crate::Float;
use crate::linalg::{MatMut, MatRef, matmul};
use crate::model::{Activation, BiasPosition, BlockSpec};

/// The weights of one residual layer: row-major `V` (`d x m`) and `W` (`m x d`), a bias of
/// `m` values inside the activation or `d` outside it (`m` the inner width, `d` for `res1`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Layer<'a, T> {
    pub width: usize,
    pub inner: usize,
    pub v: &'a [T],
    pub w: Option<&'a [T]>,
    pub bias: Option<&'a [T]>,
}

/// Gradients of one residual layer (same shapes as [`Layer`]), added to what the slices hold
/// when `accumulate`, written otherwise.
#[derive(Debug)]
pub(super) struct LayerGrads<'a, T> {
    pub v: &'a mut [T],
    pub w: Option<&'a mut [T]>,
    pub bias: Option<&'a mut [T]>,
    pub accumulate: bool,
}

/// Scratch values one layer needs, forward or backward, for width `d`, inner width `m` and
/// `n` columns.
pub(super) fn scratch_len(d: usize, m: usize, n: usize) -> usize {
    d * d + d.max(m) * n + m * n
}

/// Whether a layer of `block` can take a SIMD path (when the element type is `f32`).
pub(super) fn simd_block(block: &BlockSpec) -> bool {
    !block.inner && block.activation == Activation::Relu && block.bias != BiasPosition::Inside
}

/// `x` as `f32` (only called when `T` is `f32`).
#[cfg(target_arch = "x86_64")]
pub(super) fn f32s<T: Float>(x: &[T]) -> &[f32] {
    bytemuck::cast_slice(x)
}

/// `x` as `f32`, mutably (only called when `T` is `f32`).
#[cfg(target_arch = "x86_64")]
pub(super) fn f32s_mut<T: Float>(x: &mut [T]) -> &mut [f32] {
    bytemuck::cast_slice_mut(x)
}

/// Forward: `h <- h + alpha_c (V act(W h + b_in) + b_out)` in place, the pre-activation
/// `W h + b_in` written into `pre` (`h`: `d x n`, `pre`: `m x n`, `n = alpha.len()`). A SIMD
/// `path` takes the fused layer (the caller checked `T` is `f32`, the CPU has the path and
/// [`simd_block`]); [`CpuPath::Portable`] the `faer` products. The fused layer prefetches
/// `ahead` (the next layer's tensors) between its product blocks.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward<T: Float>(
    path: CpuPath,
    block: &BlockSpec,
    layer: Layer<'_, T>,
    alpha: &[T],
    h: &mut [T],
    pre: &mut [T],
    scratch: &mut [T],
    ahead: Ahead,
) {
    let (d, m) = (layer.width, layer.inner);
    let n = alpha.len();
    debug_assert_eq!(h.len(), d * n);
    debug_assert_eq!(pre.len(), m * n);
    #[cfg(target_arch = "x86_64")]
    if let Some(isa) = path.isa() {
        super::simd_layer::forward(
            isa,
            f32s(layer.v),
            layer.bias.map(f32s),
            f32s(alpha),
            f32s_mut(h),
            f32s_mut(pre),
            f32s_mut(&mut scratch[..super::simd_layer::scratch_len(d, n)]),
            ahead,
        );
        return;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = path;
    let _ = ahead;
    // pre = W h (+ b_in)
    match layer.w {
        Some(w) => matmul(
            MatMut::col_major(pre, m, n),
            MatRef::row_major(w, m, d),
            MatRef::col_major(h, d, n),
            T::one(),
            false,
        ),
        None => pre.copy_from_slice(h),
    }
    if let (BiasPosition::Inside, Some(b)) = (block.bias, layer.bias) {
        for col in pre.chunks_exact_mut(m) {
            for (x, &bi) in col.iter_mut().zip(b) {
                *x += bi;
            }
        }
    }
    // a = alpha * act(pre); h += V a (+ alpha b_out)
    let a = &mut scratch[..m * n];
    scaled_activation(block.activation, alpha, pre, a, m);
    matmul(
        MatMut::col_major(h, d, n),
        MatRef::row_major(layer.v, d, m),
        MatRef::col_major(a, m, n),
        T::one(),
        true,
    );
    if let (BiasPosition::Outside, Some(b)) = (block.bias, layer.bias) {
        for (col, &s) in h.chunks_exact_mut(d).zip(alpha) {
            for (x, &bi) in col.iter_mut().zip(b) {
                *x += s * bi;
            }
        }
    }
}

/// Backward: given `p = dloss/dh_{k+1}`, overwrites it with `dloss/dh_k`; adds the layer's
/// parameter gradients into `grads` when given (`input = h_k` is then needed if the block has
/// `W`). `path` as in [`forward`].
#[allow(clippy::too_many_arguments)]
pub(super) fn backward<T: Float>(
    path: CpuPath,
    block: &BlockSpec,
    layer: Layer<'_, T>,
    alpha: &[T],
    pre: &[T],
    input: Option<&[T]>,
    p: &mut [T],
    mut grads: Option<LayerGrads<'_, T>>,
    scratch: &mut [T],
    ahead: Ahead,
) {
    let (d, m) = (layer.width, layer.inner);
    let n = alpha.len();
    debug_assert_eq!(p.len(), d * n);
    debug_assert_eq!(pre.len(), m * n);
    #[cfg(target_arch = "x86_64")]
    if let Some(isa) = path.isa() {
        let grads = grads.map(|g| (f32s_mut(g.v), g.bias.map(f32s_mut), g.accumulate));
        super::simd_layer::backward(
            isa,
            f32s(layer.v),
            f32s(alpha),
            f32s(pre),
            f32s_mut(p),
            grads,
            f32s_mut(&mut scratch[..d * n]),
            ahead,
        );
        return;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = path;
    let _ = ahead;
    // with gradients, the activation and its derivative in one pass (`slopes`), except for
    // ReLU, whose derivative is a comparison
    let fused = grads.is_some() && block.activation != Activation::Relu;
    // written gradients: zero this layer's (in cache), then accumulate as usual
    if let Some(g) = grads.as_mut().filter(|g| !g.accumulate) {
        g.v.fill(T::zero());
        if let Some(w) = g.w.as_deref_mut() {
            w.fill(T::zero());
        }
        if let Some(b) = g.bias.as_deref_mut() {
            b.fill(T::zero());
        }
    }
    let (q, slopes) = scratch[..2 * m * n].split_at_mut(m * n);
    if let Some(g) = grads.as_mut() {
        // dV += p (alpha * act(pre))^T ; db_out += sum_c alpha_c p_c
        if fused {
            scaled_value_and_derivative(block.activation, alpha, pre, (q, slopes), m);
        } else {
            scaled_activation(block.activation, alpha, pre, q, m);
        }
        matmul(
            MatMut::row_major(g.v, d, m),
            MatRef::col_major(p, d, n),
            MatRef::col_major(q, m, n).t(),
            T::one(),
            true,
        );
        if let (BiasPosition::Outside, Some(gb)) = (block.bias, g.bias.as_deref_mut()) {
            for (col, &s) in p.chunks_exact(d).zip(alpha) {
                for (x, &pi) in gb.iter_mut().zip(col) {
                    *x += s * pi;
                }
            }
        }
    }
    // q = alpha * act'(pre) * (V^T p) = dloss/dpre
    matmul(
        MatMut::col_major(q, m, n),
        MatRef::row_major(layer.v, d, m).t(),
        MatRef::col_major(p, d, n),
        T::one(),
        false,
    );
    if fused {
        for (x, &s) in q.iter_mut().zip(slopes.iter()) {
            *x *= s;
        }
    } else {
        scale_by_derivative(block.activation, alpha, pre, q, m);
    }
    if let Some(g) = grads.as_mut() {
        if let (BiasPosition::Inside, Some(gb)) = (block.bias, g.bias.as_deref_mut()) {
            for col in q.chunks_exact(m) {
                for (x, &qi) in gb.iter_mut().zip(col) {
                    *x += qi;
                }
            }
        }
        if let Some(gw) = g.w.as_deref_mut() {
            let h = input.expect("W gradients need the layer input");
            matmul(
                MatMut::row_major(gw, m, d),
                MatRef::col_major(q, m, n),
                MatRef::col_major(h, d, n).t(),
                T::one(),
                true,
            );
        }
    }
    // p += W^T q (or p += q without W)
    match layer.w {
        Some(w) => matmul(
            MatMut::col_major(p, d, n),
            MatRef::row_major(w, m, d).t(),
            MatRef::col_major(q, m, n),
            T::one(),
            true,
        ),
        None => {
            for (x, &qi) in p.iter_mut().zip(q.iter()) {
                *x += qi;
            }
        }
    }
}
