//! The CPU backend: two `gemm` products per layer and direction, with the pointwise work
//! (activation, per-column scale, bias) in tight loops over contiguous columns.
//!
//! `f32` `res1` layers with ReLU and no bias inside the activation (the training model) take a
//! fused AVX-512 path when the CPU has it (`simd_layer`, built on `simd`); results then differ
//! from the generic path only by rounding. [`matmul_cc`] and [`matmul_outer`] expose the same
//! small-product loops for the embedding and readout of a training step.

use super::{LayerGrads, LayerKernel, LayerRef};
use crate::Float;
use crate::linalg::{MatMut, MatRef, matmul};
use crate::model::{Activation, BiasPosition, BlockSpec};

#[cfg(target_arch = "x86_64")]
mod simd;
#[cfg(target_arch = "x86_64")]
mod simd_layer;

/// Whether `T` is `f32` and the CPU has the AVX-512 path.
#[cfg(target_arch = "x86_64")]
fn fast_f32<T: Float>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() && simd::available()
}

/// Whether a layer of `block` over `T` takes the AVX-512 path.
#[cfg(target_arch = "x86_64")]
fn fast_path<T: Float>(block: &BlockSpec) -> bool {
    !block.inner
        && block.activation == Activation::Relu
        && block.bias != BiasPosition::Inside
        && fast_f32::<T>()
}

/// `x` as `f32` (only called when `T` is `f32`).
#[cfg(target_arch = "x86_64")]
fn f32s<T: Float>(x: &[T]) -> &[f32] {
    bytemuck::cast_slice(x)
}

/// `x` as `f32`, mutably (only called when `T` is `f32`).
#[cfg(target_arch = "x86_64")]
fn f32s_mut<T: Float>(x: &mut [T]) -> &mut [f32] {
    bytemuck::cast_slice_mut(x)
}

/// `c <- a b` (or `c += a b` when `accumulate`) with `a` column-major `m x k`, `b`
/// column-major `k x n` and `c` column-major `m x n`, on the calling thread.
///
/// For `f32` on a CPU with AVX-512 this is a register-blocked loop that never allocates;
/// otherwise it is [`matmul`] (whose packing buffers may be allocated per call).
///
/// # Panics
/// If a slice's length is not its shape's.
pub fn matmul_cc<T: Float>(
    c: &mut [T],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    accumulate: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if fast_f32::<T>() {
        simd::matmul_cc(f32s_mut(c), f32s(a), f32s(b), m, k, n, accumulate);
        return;
    }
    matmul(
        MatMut::col_major(c, m, n),
        MatRef::col_major(a, m, k),
        MatRef::col_major(b, k, n),
        T::one(),
        accumulate,
    );
}

/// `c <- a b^T` (or `c += a b^T` when `accumulate`) with `a` column-major `m x n`, `b`
/// column-major `k x n` and `c` row-major `m x k` (a sum of outer products over the `n`
/// columns), on the calling thread; allocation-free for `f32` with AVX-512 as [`matmul_cc`].
///
/// # Panics
/// If a slice's length is not its shape's.
pub fn matmul_outer<T: Float>(
    c: &mut [T],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    accumulate: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if fast_f32::<T>() {
        simd::matmul_outer(f32s_mut(c), f32s(a), f32s(b), m, k, n, accumulate);
        return;
    }
    matmul(
        MatMut::row_major(c, m, k),
        MatRef::col_major(a, m, n),
        MatRef::col_major(b, k, n).t(),
        T::one(),
        accumulate,
    );
}

/// Single-threaded CPU kernel with reusable scratch space (grown on demand, never shrunk).
#[derive(Debug, Default)]
pub struct CpuKernel<T> {
    scratch: Vec<T>,
}

impl<T: Float> CpuKernel<T> {
    /// A kernel with empty scratch space.
    pub fn new() -> Self {
        Self {
            scratch: Vec::new(),
        }
    }

    fn scratch(&mut self, len: usize) -> &mut [T] {
        if self.scratch.len() < len {
            self.scratch.resize(len, T::zero());
        }
        &mut self.scratch[..len]
    }
}

/// `out[:, c] = alpha[c] * act(z[:, c])`.
#[inline]
fn scaled_activation<T: Float>(act: Activation, alpha: &[T], z: &[T], out: &mut [T], d: usize) {
    for ((zc, oc), &a) in z.chunks_exact(d).zip(out.chunks_exact_mut(d)).zip(alpha) {
        match act {
            Activation::Relu => {
                for (o, &x) in oc.iter_mut().zip(zc) {
                    *o = a * x.max(T::zero());
                }
            }
            _ => {
                for (o, &x) in oc.iter_mut().zip(zc) {
                    *o = a * act.apply(x);
                }
            }
        }
    }
}

/// `q[:, c] *= alpha[c] * act'(z[:, c])`.
#[inline]
fn scale_by_derivative<T: Float>(act: Activation, alpha: &[T], z: &[T], q: &mut [T], d: usize) {
    for ((zc, qc), &a) in z.chunks_exact(d).zip(q.chunks_exact_mut(d)).zip(alpha) {
        match act {
            Activation::Relu => {
                for (o, &x) in qc.iter_mut().zip(zc) {
                    *o = if x > T::zero() { a * *o } else { T::zero() };
                }
            }
            _ => {
                for (o, &x) in qc.iter_mut().zip(zc) {
                    *o *= a * act.derivative(x);
                }
            }
        }
    }
}

impl<T: Float> LayerKernel<T> for CpuKernel<T> {
    fn forward_layer(
        &mut self,
        block: &BlockSpec,
        layer: LayerRef<'_, T>,
        alpha: &[T],
        h: &mut [T],
        pre: &mut [T],
    ) {
        let d = layer.width;
        let n = alpha.len();
        debug_assert_eq!(h.len(), d * n);
        debug_assert_eq!(pre.len(), d * n);
        #[cfg(target_arch = "x86_64")]
        if fast_path::<T>(block) {
            let scratch = self.scratch(simd_layer::scratch_len(d, n));
            simd_layer::forward(
                f32s(layer.v),
                layer.bias.map(f32s),
                f32s(alpha),
                f32s_mut(h),
                f32s_mut(pre),
                f32s_mut(scratch),
            );
            return;
        }
        // pre = W h (+ b_in)
        match layer.w {
            Some(w) => matmul(
                MatMut::col_major(pre, d, n),
                MatRef::row_major(w, d, d),
                MatRef::col_major(h, d, n),
                T::one(),
                false,
            ),
            None => pre.copy_from_slice(h),
        }
        if let (BiasPosition::Inside, Some(b)) = (block.bias, layer.bias) {
            for col in pre.chunks_exact_mut(d) {
                for (x, &bi) in col.iter_mut().zip(b) {
                    *x += bi;
                }
            }
        }
        // a = alpha * act(pre); h += V a (+ alpha b_out)
        let a = self.scratch(d * n);
        scaled_activation(block.activation, alpha, pre, a, d);
        matmul(
            MatMut::col_major(h, d, n),
            MatRef::row_major(layer.v, d, d),
            MatRef::col_major(a, d, n),
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

    fn backward_layer(
        &mut self,
        block: &BlockSpec,
        layer: LayerRef<'_, T>,
        alpha: &[T],
        pre: &[T],
        input: Option<&[T]>,
        p: &mut [T],
        mut grads: Option<LayerGrads<'_, T>>,
    ) {
        let d = layer.width;
        let n = alpha.len();
        debug_assert_eq!(p.len(), d * n);
        #[cfg(target_arch = "x86_64")]
        if fast_path::<T>(block) {
            let grads = grads.map(|g| (f32s_mut(g.v), g.bias.map(f32s_mut)));
            let scratch = self.scratch(d * n);
            simd_layer::backward(
                f32s(layer.v),
                f32s(alpha),
                f32s(pre),
                f32s_mut(p),
                grads,
                f32s_mut(scratch),
            );
            return;
        }
        let q = self.scratch(d * n);
        if let Some(g) = grads.as_mut() {
            // dV += p (alpha * act(pre))^T ; db_out += sum_c alpha_c p_c
            scaled_activation(block.activation, alpha, pre, q, d);
            matmul(
                MatMut::row_major(g.v, d, d),
                MatRef::col_major(p, d, n),
                MatRef::col_major(q, d, n).t(),
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
            MatMut::col_major(q, d, n),
            MatRef::row_major(layer.v, d, d).t(),
            MatRef::col_major(p, d, n),
            T::one(),
            false,
        );
        scale_by_derivative(block.activation, alpha, pre, q, d);
        if let Some(g) = grads.as_mut() {
            if let (BiasPosition::Inside, Some(gb)) = (block.bias, g.bias.as_deref_mut()) {
                for col in q.chunks_exact(d) {
                    for (x, &qi) in gb.iter_mut().zip(col) {
                        *x += qi;
                    }
                }
            }
            if let Some(gw) = g.w.as_deref_mut() {
                let h = input.expect("W gradients need the layer input");
                matmul(
                    MatMut::row_major(gw, d, d),
                    MatRef::col_major(q, d, n),
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
                MatRef::row_major(w, d, d).t(),
                MatRef::col_major(q, d, n),
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
}
