//! The fused SIMD residual layer of [`super::CpuBackend`]: `f32`, `res1`, ReLU, no bias or a
//! bias outside the activation (the training model's layer), built from [`super::simd`] with
//! AVX-512F or AVX2 + FMA ([`Isa`]; both give the same bits).
//!
//! - forward: `pre <- h`, `a <- alpha relu(h)`, then `h[:, c] += V a[:, c] + alpha_c b` as one
//!   [`Tn`] product through `V^T` (gathered into scratch once per layer);
//! - backward: `dV += p a^T` ([`Outer`]) and `db += sum_c alpha_c p_c` when asked, then
//!   `p[:, c] += alpha_c [pre > 0] (V^T p)[:, c]` as one [`Tn`] product, in place.

use super::Ahead;
use super::simd::{Epilogue, Isa, Outer, Tn, scaled_relu_on, transpose_on, weighted_column_sum_on};

/// Columns (of [`Tn`]) or rows (of [`Outer`]) per call, between which [`Ahead`] asks for a few
/// cache lines: the products' own register blocks, so the split changes no arithmetic.
const GROUP: usize = 12;

/// One layer's gradients for [`backward`]: `dV`, `db` (when the layer has a bias) and whether
/// they are accumulated into (`true`) or written (`false`).
pub(super) type SimdGrads<'a> = (&'a mut [f32], Option<&'a mut [f32]>, bool);

/// Scratch values [`forward`] needs for width `d` and `n` columns ([`backward`] needs fewer).
pub(super) fn scratch_len(d: usize, n: usize) -> usize {
    d * d + d * n
}

/// The forward step of a layer: `pre <- h`, `h <- h + V (alpha relu(h)) + alpha b`; asks for
/// `ahead`'s cache lines between its column groups.
///
/// # Panics
/// On inconsistent lengths, `scratch` shorter than [`scratch_len`], or if `isa` is not
/// available.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward(
    isa: Isa,
    v: &[f32],
    bias: Option<&[f32]>,
    alpha: &[f32],
    h: &mut [f32],
    pre: &mut [f32],
    scratch: &mut [f32],
    mut ahead: Ahead,
) {
    let n = alpha.len();
    if n == 0 {
        return;
    }
    let d = h.len() / n;
    assert!(isa.available(), "{isa:?} is not available on this CPU");
    assert!(v.len() == d * d && h.len() == d * n && pre.len() == d * n);
    assert!(bias.is_none_or(|b| b.len() == d));
    let (vt, a) = scratch.split_at_mut(d * d);
    let a = &mut a[..d * n];
    transpose_on(isa, v, vt, d, d);
    // SAFETY: `isa` is available (asserted); the lengths are checked inside.
    pre.copy_from_slice(h);
    // SAFETY: `isa` is available (asserted); the lengths are checked inside.
    unsafe { scaled_relu_on(isa, alpha, h, a, None, d) };
    // The raw pointers are taken only now, after the last writes through `vt`, `a` and `h`'s
    // references, and nothing else touches those buffers while `tn` runs.
    let (x, out) = (a.as_ptr(), h.as_mut_ptr());
    let per = ahead.lines().div_ceil(n.div_ceil(GROUP));
    // SAFETY: `isa` is available; `vt` is `d x d`, `a` and `h` are distinct `d x n` buffers,
    // `alpha` has `n` values and `bias` `d` (all asserted).
    unsafe {
        tn_grouped(isa, vt.as_ptr(), (x, out), (d, n), (&mut ahead, per), |c| {
            Epilogue::Forward {
                alpha: &alpha[c],
                bias,
            }
        });
    }
    ahead.rest();
}

/// `out[:, c] <- epilogue((M^T x)[:, c])` for a `d x d` row-major `M` and `d x n` column-major
/// `x` and `out`, in groups of [`GROUP`] columns, asking `ahead` for `per` cache lines after
/// each group; `epilogue` gives the [`Epilogue`] of a range of columns (its `alpha` and `pre`
/// cut to them).
///
/// # Safety
/// As [`Tn::run_on`] for the whole product: `isa` available, `m` holding `d x d` values, `x`
/// and `out` `d x n` (aliasing only when `d <= isa.pass_rows()`), and each epilogue's slices
/// covering its columns.
unsafe fn tn_grouped<'a>(
    isa: Isa,
    m: *const f32,
    (x, out): (*const f32, *mut f32),
    (d, n): (usize, usize),
    (ahead, per): (&mut Ahead, usize),
    epilogue: impl Fn(std::ops::Range<usize>) -> Epilogue<'a>,
) {
    for c0 in (0..n).step_by(GROUP) {
        let c1 = (c0 + GROUP).min(n);
        let tn = Tn {
            m,
            ms: d,
            x: x.wrapping_add(c0 * d),
            xs: d,
            out: out.wrapping_add(c0 * d),
            os: d,
            rows: d,
            k: d,
            n: c1 - c0,
        };
        // SAFETY: by the caller's contract; the shifted pointers name columns `c0..c1`, which
        // the epilogue's slices cover.
        unsafe { tn.run_on(isa, epilogue(c0..c1)) };
        ahead.issue(per);
    }
}

/// The backward step of a layer: given `p = dloss/dh_{k+1}`, accumulates
/// `dV += p (alpha relu(pre))^T` and `db += sum_c alpha_c p_c` when `grads` holds them (or
/// writes them, `dV <- ..`, `db <- ..`, when its flag `accumulate` is false), then
/// `p <- p + alpha [pre > 0] (V^T p)`; asks for `ahead`'s cache lines between its row and
/// column groups.
///
/// # Panics
/// On inconsistent lengths, `scratch` shorter than `d * n`, or if `isa` is not available.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    isa: Isa,
    v: &[f32],
    alpha: &[f32],
    pre: &[f32],
    p: &mut [f32],
    grads: Option<SimdGrads<'_>>,
    scratch: &mut [f32],
    mut ahead: Ahead,
) {
    let n = alpha.len();
    if n == 0 {
        return;
    }
    let d = p.len() / n;
    assert!(isa.available(), "{isa:?} is not available on this CPU");
    assert!(v.len() == d * d && p.len() == d * n && pre.len() == d * n);
    let groups = n.div_ceil(GROUP) + grads.as_ref().map_or(0, |_| d.div_ceil(GROUP));
    let per = ahead.lines().div_ceil(groups);
    if let Some((gv, gb, accumulate)) = grads {
        assert!(gv.len() == d * d && gb.as_ref().is_none_or(|b| b.len() == d));
        let a = &mut scratch[..d * n];
        // SAFETY: `isa` is available (asserted); the lengths are checked inside.
        unsafe { scaled_relu_on(isa, alpha, pre, a, None, d) };
        // The pointers are taken after the last write through `a`.
        let (g, pp) = (gv.as_mut_ptr(), p.as_ptr());
        for i0 in (0..d).step_by(GROUP) {
            let i1 = (i0 + GROUP).min(d);
            let outer = Outer {
                g: g.wrapping_add(i0 * d),
                gs: d,
                p: pp.wrapping_add(i0),
                ps: d,
                a: a.as_ptr(),
                as_: d,
                rows: i1 - i0,
                cols: d,
                n,
                accumulate,
            };
            // SAFETY: `isa` is available; `gv` is `d x d` (rows `i0..i1` named by the shifted
            // pointer), `p` and `a` are `d x n` (asserted), and `gv` is a distinct borrow from
            // both.
            unsafe { outer.run_on(isa) };
            ahead.issue(per);
        }
        if let Some(gb) = gb {
            if !accumulate {
                gb.fill(0.0);
            }
            // SAFETY: `isa` is available (asserted); the lengths are checked inside.
            unsafe { weighted_column_sum_on(isa, alpha, p, gb, d) };
        }
    }
    // `Tn` may read the columns it writes only when one pass covers all rows; otherwise it
    // reads a copy. The pointers are taken after the copy, and `x` is derived from `out` when
    // they alias, so writes through `out` never invalidate it.
    let copied = d > isa.pass_rows();
    if copied {
        scratch[..d * n].copy_from_slice(p);
    }
    let out = p.as_mut_ptr();
    let x = if copied {
        scratch.as_ptr()
    } else {
        out.cast_const()
    };
    // SAFETY: `isa` is available; `v` is `d x d`, `p` (and its copy) `d x n`, `alpha` has `n`
    // values and `pre` the layout of `p` (asserted); `x` aliases `out` only when
    // `d <= isa.pass_rows()`, which `Tn::run_on` allows.
    unsafe {
        tn_grouped(isa, v.as_ptr(), (x, out), (d, n), (&mut ahead, per), |c| {
            Epilogue::Backward {
                alpha: &alpha[c.clone()],
                pre: &pre[c.start * d..c.end * d],
            }
        });
    }
    ahead.rest();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;
    use rand::Rng as _;

    fn random(seed: u64, len: usize) -> Vec<f32> {
        let mut r = rng::stream(seed, &[3]);
        (0..len).map(|_| r.random::<f32>() * 2.0 - 1.0).collect()
    }

    /// The layer in f64, written out naively.
    #[allow(clippy::type_complexity)]
    fn reference(
        v: &[f32],
        b: &[f32],
        alpha: &[f32],
        h: &[f32],
        p: &[f32],
        d: usize,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = alpha.len();
        let relu = |x: f64| x.max(0.0);
        let (mut h1, mut p0) = (vec![0.0; d * n], vec![0.0; d * n]);
        let (mut gv, mut gb) = (vec![0.0; d * d], vec![0.0; d]);
        for c in 0..n {
            let s = f64::from(alpha[c]);
            for i in 0..d {
                let hz = |j: usize| f64::from(h[c * d + j]);
                let sum: f64 = (0..d).map(|j| f64::from(v[i * d + j]) * relu(hz(j))).sum();
                h1[c * d + i] = hz(i) + s * (sum + f64::from(b[i]));
                let back: f64 = (0..d)
                    .map(|k| f64::from(v[k * d + i]) * f64::from(p[c * d + k]))
                    .sum();
                let gate = if hz(i) > 0.0 { s } else { 0.0 };
                p0[c * d + i] = f64::from(p[c * d + i]) + gate * back;
                gb[i] += s * f64::from(p[c * d + i]);
                for j in 0..d {
                    gv[i * d + j] += f64::from(p[c * d + i]) * s * relu(hz(j));
                }
            }
        }
        (h1, p0, gv, gb)
    }

    fn close(got: &[f32], want: &[f64], what: &str) {
        let scale = want.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(g) - w).abs() < 1e-5 * scale,
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    /// Each instruction set (where the CPU has it) against the naive layer, and the two
    /// against each other bit for bit where it has both.
    #[test]
    fn matches_the_naive_layer_for_awkward_shapes() {
        let mut results = Vec::new();
        for isa in [Isa::Avx512, Isa::Avx2] {
            if isa.testable() {
                results.push(layer_matches_the_naive_layer(isa));
            }
        }
        if let [a, b] = &results[..] {
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(a), bits(b), "AVX-512F and AVX2+FMA bits differ");
        }
    }

    /// Checks `isa`'s layer against [`reference`]; returns every output.
    fn layer_matches_the_naive_layer(isa: Isa) -> Vec<f32> {
        let mut all = Vec::new();
        for (d, n) in [(1, 1), (5, 3), (16, 17), (17, 7), (30, 128), (37, 29)] {
            let v = random(1, d * d);
            let b = random(2, d);
            let h = random(3, d * n);
            let p = random(4, d * n);
            let alpha: Vec<f32> = (0..n).map(|c| 0.2 + 0.01 * c as f32).collect();
            let (h1, p0, gv_want, gb_want) = reference(&v, &b, &alpha, &h, &p, d);
            let mut scratch = vec![0.0; scratch_len(d, n)];

            let (mut hh, mut pre) = (h.clone(), vec![0.0; d * n]);
            // prefetching (here of unrelated buffers) changes nothing
            let ahead = Ahead::of([&v[..], &b, &h]);
            forward(
                isa,
                &v,
                Some(&b),
                &alpha,
                &mut hh,
                &mut pre,
                &mut scratch,
                ahead,
            );
            assert_eq!(pre, h);
            close(&hh, &h1, &format!("{isa:?} h (d {d}, n {n})"));

            // gradients accumulate onto what is there
            let (mut gv, mut gb) = (vec![1.0; d * d], vec![1.0; d]);
            let mut pp = p.clone();
            backward(
                isa,
                &v,
                &alpha,
                &pre,
                &mut pp,
                Some((&mut gv, Some(&mut gb), true)),
                &mut scratch,
                Ahead::of([&v[..], &p, &[]]),
            );
            close(&pp, &p0, &format!("{isa:?} p (d {d}, n {n})"));
            let plus_one = |x: &[f64]| x.iter().map(|v| v + 1.0).collect::<Vec<_>>();
            close(&gv, &plus_one(&gv_want), &format!("{isa:?} dV"));
            close(&gb, &plus_one(&gb_want), &format!("{isa:?} db"));
            all.extend(hh.into_iter().chain(pp).chain(gv).chain(gb));
        }
        all
    }
}
