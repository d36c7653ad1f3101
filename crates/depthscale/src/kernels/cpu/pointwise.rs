//! The pointwise passes of a residual layer over `m x n` column-major blocks: the activation,
//! its derivative and the per-column residual scale `alpha_c`.
//!
//! Each loop is compiled three times, for the baseline CPU, with AVX2 and with AVX-512F, and
//! [`wide`] picks the widest the CPU has at run time. All are the same source of plain IEEE
//! operations (Rust never contracts them into fused multiply-adds), so all give the same bits;
//! the wide ones just do 4 or 8 `f64` at a time. The loops vectorize because the activations
//! have no branches: GELU's `erf` and `exp` ([`crate::special`]) select between their cases
//! instead of jumping.

use crate::Float;
use crate::model::Activation;

/// Runs `f` compiled for AVX-512F when the CPU has it, else for AVX2 when it has that, as is
/// otherwise.
#[inline(always)]
fn wide(f: impl FnOnce()) {
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(test)]
        let cap = tests::WIDTH_CAP.load(std::sync::atomic::Ordering::Relaxed);
        #[cfg(not(test))]
        let cap = 2;
        if cap >= 2 && super::simd::available() {
            // SAFETY: the CPU has AVX-512F, checked just above.
            unsafe { avx512(f) };
            return;
        }
        if cap >= 1 && is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { avx2(f) };
            return;
        }
    }
    f()
}

/// `f`, with AVX-512F enabled for what it inlines.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512(f: impl FnOnce()) {
    f()
}

/// `f`, with AVX2 enabled for what it inlines (not FMA: the bits stay those of the baseline).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2(f: impl FnOnce()) {
    f()
}

/// `f(act, alpha[c], z[i, c], &mut out[i, c])` for every entry of `m`-value columns, under
/// [`wide`], with `act` a constant inside the loop for ReLU and GELU: their cases fold away and
/// the loop vectorizes.
#[inline(always)]
fn columns<T: Float>(
    act: Activation,
    alpha: &[T],
    z: &[T],
    out: &mut [T],
    m: usize,
    f: impl Fn(Activation, T, T, &mut T) + Copy,
) {
    #[inline(always)]
    fn each<T: Float>(
        act: Activation,
        a: T,
        zc: &[T],
        oc: &mut [T],
        f: impl Fn(Activation, T, T, &mut T),
    ) {
        for (o, &x) in oc.iter_mut().zip(zc) {
            f(act, a, x, o);
        }
    }
    wide(
        #[inline(always)]
        || {
            for ((zc, oc), &a) in z.chunks_exact(m).zip(out.chunks_exact_mut(m)).zip(alpha) {
                match act {
                    Activation::Relu => each(Activation::Relu, a, zc, oc, f),
                    Activation::Gelu => each(Activation::Gelu, a, zc, oc, f),
                    _ => each(act, a, zc, oc, f),
                }
            }
        },
    )
}

/// `out[:, c] = alpha[c] * act(z[:, c])`, columns of `m` values.
pub(super) fn scaled_activation<T: Float>(
    act: Activation,
    alpha: &[T],
    z: &[T],
    out: &mut [T],
    m: usize,
) {
    columns(act, alpha, z, out, m, |act, a, x, o| *o = a * act.apply(x));
}

/// `a[:, c] = alpha[c] * act(z[:, c])` and `s[:, c] = alpha[c] * act'(z[:, c])` in one pass
/// (bitwise what [`scaled_activation`] and [`scale_by_derivative`] compute).
pub(super) fn scaled_value_and_derivative<T: Float>(
    act: Activation,
    alpha: &[T],
    z: &[T],
    (a, s): (&mut [T], &mut [T]),
    m: usize,
) {
    #[inline(always)]
    fn column<T: Float>(act: Activation, al: T, zc: &[T], ac: &mut [T], sc: &mut [T]) {
        for ((x, av), sv) in zc.iter().zip(ac.iter_mut()).zip(sc.iter_mut()) {
            let (value, slope) = act.value_and_derivative(*x);
            *av = al * value;
            *sv = al * slope;
        }
    }
    #[inline(always)]
    fn run<T: Float>(act: Activation, alpha: &[T], z: &[T], a: &mut [T], s: &mut [T], m: usize) {
        for (((zc, ac), sc), &al) in z
            .chunks_exact(m)
            .zip(a.chunks_exact_mut(m))
            .zip(s.chunks_exact_mut(m))
            .zip(alpha)
        {
            match act {
                Activation::Gelu => column(Activation::Gelu, al, zc, ac, sc),
                _ => column(act, al, zc, ac, sc),
            }
        }
    }
    wide(
        #[inline(always)]
        || run(act, alpha, z, a, s, m),
    )
}

/// `q[:, c] *= alpha[c] * act'(z[:, c])` (for ReLU, `alpha[c] q` or `0`).
pub(super) fn scale_by_derivative<T: Float>(
    act: Activation,
    alpha: &[T],
    z: &[T],
    q: &mut [T],
    m: usize,
) {
    columns(act, alpha, z, q, m, |act, a, x, o| {
        *o = match act {
            Activation::Relu if x > T::zero() => a * *o,
            Activation::Relu => T::zero(),
            _ => *o * (a * act.derivative(x)),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU8, Ordering};

    /// The widest code [`wide`] may pick in tests: 0 the baseline, 1 AVX2, 2 AVX-512F. Every
    /// choice gives the same bits, so other tests running meanwhile are unaffected.
    pub(super) static WIDTH_CAP: AtomicU8 = AtomicU8::new(2);

    /// Every pass, compiled for each width the CPU allows (baseline, AVX2, AVX-512F), gives
    /// bitwise the scalar [`Activation::apply`] and [`Activation::derivative`] (compiled for the
    /// baseline CPU), on every interval of GELU's `erf` and at its edges.
    #[test]
    fn wide_loops_give_the_scalar_bits() {
        // print, by name, each width this CPU cannot run (the loop below then runs the
        // widest it has twice)
        #[cfg(target_arch = "x86_64")]
        for isa in [
            super::super::simd::Isa::Avx512,
            super::super::simd::Isa::Avx2,
        ] {
            let _ = isa.testable();
        }
        for cap in [0, 1, 2] {
            WIDTH_CAP.store(cap, Ordering::Relaxed);
            same_bits_as_scalar();
        }
        WIDTH_CAP.store(2, Ordering::Relaxed);
    }

    fn same_bits_as_scalar() {
        let m = 37; // not a multiple of any vector width: the loops' remainders are checked too
        let mut z: Vec<f64> = (0..m * 29)
            .map(|i| (i as f64 - 536.0) * 0.0291 + 1e-9)
            .collect();
        z.extend([
            0.0, -0.0, 1.193, -1.193, 1.7678, 4.04, 8.49, 40.0, -40.0, 1e-300,
        ]);
        z.extend([f64::INFINITY, f64::NEG_INFINITY, 1e-12, -3e-9, 0.6, -0.6]);
        z.resize(z.len().next_multiple_of(m), 0.25);
        let n = z.len() / m;
        let alpha: Vec<f64> = (0..n).map(|c| 0.5 + c as f64 / 7.0).collect();
        let q0: Vec<f64> = (0..m * n)
            .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        for act in [
            Activation::Gelu,
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::LeakyRelu(0.8),
            Activation::Identity,
        ] {
            let (mut a, mut s, mut q, mut a2) = (
                vec![0.0; m * n],
                vec![0.0; m * n],
                q0.clone(),
                vec![0.0; m * n],
            );
            scaled_value_and_derivative(act, &alpha, &z, (&mut a, &mut s), m);
            scaled_activation(act, &alpha, &z, &mut a2, m);
            scale_by_derivative(act, &alpha, &z, &mut q, m);
            for i in 0..m * n {
                let al = alpha[i / m];
                let (value, slope) = (act.apply(z[i]), act.derivative(z[i]));
                assert_eq!(a[i].to_bits(), (al * value).to_bits(), "{act} at {}", z[i]);
                assert_eq!(a2[i].to_bits(), (al * value).to_bits(), "{act} at {}", z[i]);
                assert_eq!(s[i].to_bits(), (al * slope).to_bits(), "{act}' at {}", z[i]);
                let want = if act == Activation::Relu {
                    if z[i] > 0.0 { al * q0[i] } else { 0.0 }
                } else {
                    q0[i] * (al * slope)
                };
                assert_eq!(q[i].to_bits(), want.to_bits(), "{act}' at {}", z[i]);
            }
        }
    }
}
