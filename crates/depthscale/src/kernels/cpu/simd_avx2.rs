//! AVX2 + FMA versions of the building blocks in [`super::simd`]: the same two register-blocked
//! products with the same fused epilogues, and the pointwise passes around them, 8 lanes wide.
//!
//! - [`Tn`]: vectorized over the rows of `out`, 16 at a time (two 8-lane registers, masked at
//!   the edge), 6, 3 or 1 columns at a time (12 accumulators of the 16 registers);
//! - [`Outer`]: vectorized over the columns of `g`, 16 at a time, 6, 3 or 1 rows at a time.
//!
//! Every lane runs the same sequence of IEEE operations as a lane of the AVX-512 kernels
//! (fused multiply-adds over the inner index in order, then the same epilogue), so both paths
//! give the same bits. `x` may alias `out` in [`Tn`] only when `rows <= 16` (one pass).

use super::simd::{Epilogue, Outer, Tn};
use std::arch::x86_64::*;

/// Rows (of [`Tn`]) or columns (of [`Outer`]) handled per pass: two `__m256`.
pub(super) const LANES2: usize = 16;

/// Whether this CPU has the instructions of this path (AVX2 and FMA).
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// The load/store mask of the first `min(k, 8)` lanes (all bits set in a lane that is on).
#[target_feature(enable = "avx2")]
fn lanes(k: usize) -> __m256i {
    let k = k.min(8) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(k),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// The masks of the two 8-lane halves of a pass over `k` entries.
#[target_feature(enable = "avx2")]
fn masks(k: usize) -> (__m256i, __m256i) {
    (lanes(k), lanes(k.saturating_sub(8)))
}

/// Loads the lanes of `mask` from `p` (all 8, unmasked, when `FULL`); the others are zero.
///
/// # Safety
/// The lanes of `mask` (all 8 when `FULL`) must lie inside one allocation.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn load<const FULL: bool>(mask: __m256i, p: *const f32) -> __m256 {
    // SAFETY: by the caller's contract.
    unsafe {
        if FULL {
            _mm256_loadu_ps(p)
        } else {
            _mm256_maskload_ps(p, mask)
        }
    }
}

/// Stores the lanes of `mask` of `v` at `p` (all 8 when `FULL`).
///
/// # Safety
/// As [`load`], for writing.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn store<const FULL: bool>(mask: __m256i, p: *mut f32, v: __m256) {
    // SAFETY: by the caller's contract.
    unsafe {
        if FULL {
            _mm256_storeu_ps(p, v)
        } else {
            _mm256_maskstore_ps(p, mask, v)
        }
    }
}

impl Tn {
    /// Runs the product with AVX2 + FMA (see the module doc; `x` may alias `out` only when
    /// `rows <= 16`).
    ///
    /// # Safety
    /// AVX2 and FMA must be available, and the rest of [`Tn::run`]'s contract holds.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run_avx2(&self, ep: Epilogue<'_>) {
        for r0 in (0..self.rows).step_by(LANES2) {
            let full = self.rows - r0 >= LANES2;
            let mk = masks(self.rows - r0);
            let mut c0 = 0;
            // SAFETY: each block stays inside columns 0..n and rows r0..rows (all 16 rows when
            // `full`).
            unsafe {
                while c0 + 6 <= self.n {
                    if full {
                        self.block_avx2::<6, true>(c0, r0, mk, ep);
                    } else {
                        self.block_avx2::<6, false>(c0, r0, mk, ep);
                    }
                    c0 += 6;
                }
                while c0 + 3 <= self.n {
                    self.block_avx2::<3, false>(c0, r0, mk, ep);
                    c0 += 3;
                }
                while c0 < self.n {
                    self.block_avx2::<1, false>(c0, r0, mk, ep);
                    c0 += 1;
                }
            }
        }
    }

    /// Columns `c0..c0 + C`, rows `r0..r0 + 16` masked by `(lo, hi)` (all of them when
    /// `FULL`).
    ///
    /// # Safety
    /// As [`Tn::run_avx2`], with `c0 + C <= n` and the masks inside `r0..rows`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block_avx2<const C: usize, const FULL: bool>(
        &self,
        c0: usize,
        r0: usize,
        (lo, hi): (__m256i, __m256i),
        ep: Epilogue<'_>,
    ) {
        let mut acc = [[_mm256_setzero_ps(); 2]; C];
        let xb = self.x.wrapping_add(c0 * self.xs);
        for j in 0..self.k {
            let row = self.m.wrapping_add(j * self.ms + r0);
            // SAFETY (all unsafe blocks of this function): masked-off lanes are not accessed,
            // and the unmasked ones lie inside the buffers by the caller's contract.
            let (m0, m1) =
                unsafe { (load::<FULL>(lo, row), load::<FULL>(hi, row.wrapping_add(8))) };
            for (c, a) in acc.iter_mut().enumerate() {
                let xv = _mm256_set1_ps(unsafe { *xb.add(c * self.xs + j) });
                a[0] = _mm256_fmadd_ps(m0, xv, a[0]);
                a[1] = _mm256_fmadd_ps(m1, xv, a[1]);
            }
        }
        for (c, a) in acc.iter_mut().enumerate() {
            let at = (c0 + c) * self.os + r0;
            let col = self.out.wrapping_add(at);
            unsafe {
                let old = || (load::<FULL>(lo, col), load::<FULL>(hi, col.wrapping_add(8)));
                match ep {
                    Epilogue::Store { accumulate } => {
                        // `0 + acc` without accumulating, as the AVX-512 kernel (-0 -> +0)
                        let (v0, v1) = if accumulate {
                            old()
                        } else {
                            (_mm256_setzero_ps(), _mm256_setzero_ps())
                        };
                        a[0] = _mm256_add_ps(v0, a[0]);
                        a[1] = _mm256_add_ps(v1, a[1]);
                    }
                    Epilogue::Forward { alpha, bias } => {
                        let (v0, v1) = old();
                        a[0] = _mm256_add_ps(v0, a[0]);
                        a[1] = _mm256_add_ps(v1, a[1]);
                        if let Some(b) = bias {
                            let s = _mm256_set1_ps(alpha[c0 + c]);
                            let bp = b.as_ptr().wrapping_add(r0);
                            let b0 = load::<FULL>(lo, bp);
                            let b1 = load::<FULL>(hi, bp.wrapping_add(8));
                            a[0] = _mm256_add_ps(a[0], _mm256_mul_ps(s, b0));
                            a[1] = _mm256_add_ps(a[1], _mm256_mul_ps(s, b1));
                        }
                    }
                    Epilogue::Backward { alpha, pre } => {
                        let (v0, v1) = old();
                        let s = _mm256_set1_ps(alpha[c0 + c]);
                        let pp = pre.as_ptr().wrapping_add(at);
                        let z = _mm256_setzero_ps();
                        // masked-off lanes load 0, which is not > 0
                        let k0 = _mm256_cmp_ps::<_CMP_GT_OQ>(load::<FULL>(lo, pp), z);
                        let k1 =
                            _mm256_cmp_ps::<_CMP_GT_OQ>(load::<FULL>(hi, pp.wrapping_add(8)), z);
                        let g0 = _mm256_and_ps(k0, _mm256_mul_ps(s, a[0]));
                        let g1 = _mm256_and_ps(k1, _mm256_mul_ps(s, a[1]));
                        a[0] = _mm256_add_ps(v0, g0);
                        a[1] = _mm256_add_ps(v1, g1);
                    }
                }
            }
        }
        for (c, a) in acc.iter().enumerate() {
            let col = self.out.wrapping_add((c0 + c) * self.os + r0);
            unsafe {
                store::<FULL>(lo, col, a[0]);
                store::<FULL>(hi, col.wrapping_add(8), a[1]);
            }
        }
    }
}

impl Outer {
    /// Runs the product with AVX2 + FMA.
    ///
    /// # Safety
    /// AVX2 and FMA must be available, and the rest of [`Outer::run`]'s contract holds.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run_avx2(&self) {
        for j0 in (0..self.cols).step_by(LANES2) {
            let full = self.cols - j0 >= LANES2;
            let mk = masks(self.cols - j0);
            let mut i0 = 0;
            // SAFETY: each block stays inside rows 0..rows and columns j0..cols (all 16
            // columns when `full`).
            unsafe {
                while i0 + 6 <= self.rows {
                    if full {
                        self.block_avx2::<6, true>(i0, j0, mk);
                    } else {
                        self.block_avx2::<6, false>(i0, j0, mk);
                    }
                    i0 += 6;
                }
                while i0 + 3 <= self.rows {
                    self.block_avx2::<3, false>(i0, j0, mk);
                    i0 += 3;
                }
                while i0 < self.rows {
                    self.block_avx2::<1, false>(i0, j0, mk);
                    i0 += 1;
                }
            }
        }
    }

    /// Rows `i0..i0 + R`, columns `j0..j0 + 16` masked by `(lo, hi)` (all of them when
    /// `FULL`).
    ///
    /// # Safety
    /// As [`Outer::run_avx2`], with `i0 + R <= rows` and the masks inside `j0..cols`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block_avx2<const R: usize, const FULL: bool>(
        &self,
        i0: usize,
        j0: usize,
        (lo, hi): (__m256i, __m256i),
    ) {
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for c in 0..self.n {
            let col = self.a.wrapping_add(c * self.as_ + j0);
            // SAFETY (all unsafe blocks of this function): masked-off lanes are not accessed,
            // and the unmasked ones lie inside the buffers by the caller's contract.
            let (a0, a1) =
                unsafe { (load::<FULL>(lo, col), load::<FULL>(hi, col.wrapping_add(8))) };
            let pc = self.p.wrapping_add(c * self.ps + i0);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let pv = _mm256_set1_ps(unsafe { *pc.add(r) });
                acc_r[0] = _mm256_fmadd_ps(a0, pv, acc_r[0]);
                acc_r[1] = _mm256_fmadd_ps(a1, pv, acc_r[1]);
            }
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let row = self.g.wrapping_add((i0 + r) * self.gs + j0);
            unsafe {
                if self.accumulate {
                    acc_r[0] = _mm256_add_ps(load::<FULL>(lo, row), acc_r[0]);
                    acc_r[1] = _mm256_add_ps(load::<FULL>(hi, row.wrapping_add(8)), acc_r[1]);
                }
                store::<FULL>(lo, row, acc_r[0]);
                store::<FULL>(hi, row.wrapping_add(8), acc_r[1]);
            }
        }
    }
}

/// `a[:, c] = alpha_c relu(z[:, c])` and, when `copy` is given, `copy <- z`; all `d x n`
/// column-major with `n = alpha.len()` (the bits of [`super::simd::scaled_relu`]).
#[target_feature(enable = "avx2,fma")]
pub(super) fn scaled_relu(
    alpha: &[f32],
    z: &[f32],
    a: &mut [f32],
    copy: Option<&mut [f32]>,
    d: usize,
) {
    let n = alpha.len();
    assert!(z.len() == d * n && a.len() == d * n);
    assert!(copy.as_ref().is_none_or(|c| c.len() == d * n));
    let (zp, ap) = (z.as_ptr(), a.as_mut_ptr());
    let cp = copy.map(|c| c.as_mut_ptr());
    let zero = _mm256_setzero_ps();
    for (c, &s) in alpha.iter().enumerate() {
        let s = _mm256_set1_ps(s);
        for r0 in (0..d).step_by(8) {
            let k = lanes(d - r0);
            let at = c * d + r0;
            // SAFETY: the lanes of `k` lie inside column `c` of `d x n` buffers (asserted).
            unsafe {
                let zv = _mm256_maskload_ps(zp.add(at), k);
                let pos = _mm256_cmp_ps::<_CMP_GT_OQ>(zv, zero);
                _mm256_maskstore_ps(ap.add(at), k, _mm256_and_ps(pos, _mm256_mul_ps(s, zv)));
                if let Some(cp) = cp {
                    _mm256_maskstore_ps(cp.add(at), k, zv);
                }
            }
        }
    }
}

/// `g += sum_c alpha_c p[:, c]` (`g` of length `d`, `p` of `d x n`, `n = alpha.len()`).
#[target_feature(enable = "avx2,fma")]
pub(super) fn weighted_column_sum(alpha: &[f32], p: &[f32], g: &mut [f32], d: usize) {
    assert!(p.len() == d * alpha.len() && g.len() == d);
    for r0 in (0..d).step_by(8) {
        let k = lanes(d - r0);
        // SAFETY: the lanes of `k` lie inside `g` and inside every column of `p` (asserted).
        unsafe {
            let mut acc = _mm256_maskload_ps(g.as_ptr().add(r0), k);
            for (c, &s) in alpha.iter().enumerate() {
                let pv = _mm256_maskload_ps(p.as_ptr().add(c * d + r0), k);
                acc = _mm256_fmadd_ps(_mm256_set1_ps(s), pv, acc);
            }
            _mm256_maskstore_ps(g.as_mut_ptr().add(r0), k, acc);
        }
    }
}
