//! AVX-512 building blocks of the `f32` fast path: two register-blocked small products with
//! fused epilogues, and the pointwise passes around them.
//!
//! The products of a training step are small (`30 x 30` times `30 x 128`, or `30 x 784` times
//! `784 x 128`), so a general GEMM spends much of its time packing and dispatching (and
//! allocates its packing buffers on every call). Here:
//!
//! - [`Tn`]: `out[:, c] <- epilogue((M^T x)[:, c])` with `M` row-major `k x rows`, `x` and `out`
//!   column-major — vectorized over the rows of `out`, 32 at a time (two 16-lane registers,
//!   masked at the edge), 12, 4 or 1 columns at a time;
//! - [`Outer`]: `g (+)= p a^T` with `g` row-major, `p` and `a` column-major — vectorized over
//!   the columns of `g`, 32 at a time, 12, 4 or 1 rows at a time.
//!
//! Sums run over the inner index in order with fused multiply-adds, so results do not depend
//! on the blocking. Every block loads all it reads before it stores (a masked store followed
//! by an overlapping load stalls on store forwarding).

use std::arch::x86_64::*;

/// Rows (of [`Tn`]) or columns (of [`Outer`]) handled per pass: two `__m512`.
pub(super) const LANES2: usize = 32;

/// How far ahead (in `f32`) [`scaled_relu`] prefetches its input.
const PREFETCH: usize = 256;

/// Whether this CPU has the instructions of the AVX-512 path.
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
}

/// The instruction set a fused kernel runs with: AVX-512F (16 lanes), or AVX2 + FMA (8 lanes,
/// [`super::simd_avx2`]). Both give the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Isa {
    /// AVX-512F.
    Avx512,
    /// AVX2 and FMA.
    Avx2,
}

impl Isa {
    /// Whether this CPU has the instructions.
    pub(super) fn available(self) -> bool {
        match self {
            Isa::Avx512 => available(),
            Isa::Avx2 => super::simd_avx2::available(),
        }
    }

    /// The instruction set's name, as printed.
    #[cfg(test)]
    pub(super) fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "AVX-512F",
            Isa::Avx2 => "AVX2+FMA",
        }
    }

    /// Whether this path can be tested on this machine: `true` where the CPU has it; otherwise
    /// prints that the path is skipped, by name, and returns `false`, or panics when the
    /// environment says the path must be tested (`DEPTHSCALE_REQUIRE_AVX512=1` or
    /// `DEPTHSCALE_REQUIRE_AVX2=1`, set by CI where the CPU has it).
    #[cfg(test)]
    pub(super) fn testable(self) -> bool {
        if self.available() {
            return true;
        }
        let var = match self {
            Isa::Avx512 => "DEPTHSCALE_REQUIRE_AVX512",
            Isa::Avx2 => "DEPTHSCALE_REQUIRE_AVX2",
        };
        assert!(
            std::env::var(var).as_deref() != Ok("1"),
            "{var}=1 but this CPU lacks {}",
            self.name()
        );
        eprintln!(
            "skipped: the {} path is not tested (this CPU lacks {})",
            self.name(),
            self.name()
        );
        false
    }

    /// Rows of [`Tn`] one pass covers (`x` may alias `out` up to this many rows).
    pub(super) fn pass_rows(self) -> usize {
        match self {
            Isa::Avx512 => LANES2,
            Isa::Avx2 => super::simd_avx2::LANES2,
        }
    }
}

impl Tn {
    /// Runs the product with `isa`.
    ///
    /// # Safety
    /// `isa` must be available, and the contract of [`Tn::run`] holds, with `x` aliasing `out`
    /// only when `rows <= isa.pass_rows()`.
    pub(super) unsafe fn run_on(&self, isa: Isa, ep: Epilogue<'_>) {
        // SAFETY: by the caller's contract.
        unsafe {
            match isa {
                Isa::Avx512 => self.run(ep),
                Isa::Avx2 => self.run_avx2(ep),
            }
        }
    }
}

impl Outer {
    /// Runs the product with `isa`.
    ///
    /// # Safety
    /// `isa` must be available, and the contract of [`Outer::run`] holds.
    pub(super) unsafe fn run_on(&self, isa: Isa) {
        // SAFETY: by the caller's contract.
        unsafe {
            match isa {
                Isa::Avx512 => self.run(),
                Isa::Avx2 => self.run_avx2(),
            }
        }
    }
}

/// [`scaled_relu`] with `isa`.
///
/// # Safety
/// `isa` must be available.
pub(super) unsafe fn scaled_relu_on(
    isa: Isa,
    alpha: &[f32],
    z: &[f32],
    a: &mut [f32],
    copy: Option<&mut [f32]>,
    d: usize,
) {
    // SAFETY: by the caller's contract (the lengths are checked inside).
    unsafe {
        match isa {
            Isa::Avx512 => scaled_relu(alpha, z, a, copy, d),
            Isa::Avx2 => super::simd_avx2::scaled_relu(alpha, z, a, copy, d),
        }
    }
}

/// [`weighted_column_sum`] with `isa`.
///
/// # Safety
/// `isa` must be available.
pub(super) unsafe fn weighted_column_sum_on(
    isa: Isa,
    alpha: &[f32],
    p: &[f32],
    g: &mut [f32],
    d: usize,
) {
    // SAFETY: by the caller's contract (the lengths are checked inside).
    unsafe {
        match isa {
            Isa::Avx512 => weighted_column_sum(alpha, p, g, d),
            Isa::Avx2 => super::simd_avx2::weighted_column_sum(alpha, p, g, d),
        }
    }
}

/// `t <- m^T` ([`transpose`] with AVX-512F, a plain loop otherwise: a copy has no rounding).
///
/// # Panics
/// On inconsistent lengths, or if `isa` is not available.
pub(super) fn transpose_on(isa: Isa, m: &[f32], t: &mut [f32], rows: usize, cols: usize) {
    assert!(isa.available(), "{isa:?} is not available on this CPU");
    match isa {
        // SAFETY: AVX-512F is available (asserted).
        Isa::Avx512 => unsafe { transpose(m, t, rows, cols) },
        Isa::Avx2 => {
            assert!(m.len() == rows * cols && t.len() == rows * cols);
            for i in 0..rows {
                for j in 0..cols {
                    t[j * rows + i] = m[i * cols + j];
                }
            }
        }
    }
}

/// Masks of the two 16-lane halves of a pass over `k` entries (all lanes when `k >= 32`).
fn masks(k: usize) -> (__mmask16, __mmask16) {
    (lanes(k), lanes(k.saturating_sub(16)))
}

/// The mask of the first `min(k, 16)` lanes.
fn lanes(k: usize) -> __mmask16 {
    if k >= 16 {
        0xFFFF
    } else {
        ((1u32 << k) - 1) as __mmask16
    }
}

/// What [`Tn`] does with `acc = (M^T x)[r0.., c]` for each column `c`.
#[derive(Clone, Copy)]
pub(super) enum Epilogue<'a> {
    /// `out[:, c] <- acc`, or `out[:, c] += acc` when accumulating.
    Store { accumulate: bool },
    /// `out[:, c] += acc + alpha_c b` (the forward residual update).
    Forward {
        alpha: &'a [f32],
        bias: Option<&'a [f32]>,
    },
    /// `out[:, c] += alpha_c [pre[:, c] > 0] acc` (the backward residual update; `pre` has
    /// the layout of `out`).
    Backward { alpha: &'a [f32], pre: &'a [f32] },
}

/// The operands of `out <- epilogue(M^T x)`.
///
/// `M[j, i]` is at `m + j * ms + i` (`j < k`, `i < rows`), `x[j, c]` at `x + c * xs + j`,
/// `out[i, c]` at `out + c * os + i` (`c < n`). `x` may alias `out` when `rows <= 32`: a
/// column block of `x` is then read completely before any of it is written.
#[derive(Clone, Copy)]
pub(super) struct Tn {
    pub m: *const f32,
    pub ms: usize,
    pub x: *const f32,
    pub xs: usize,
    pub out: *mut f32,
    pub os: usize,
    pub rows: usize,
    pub k: usize,
    pub n: usize,
}

impl Tn {
    /// Runs the product.
    ///
    /// # Safety
    /// AVX-512F must be available, every entry named in [`Tn`]'s doc must lie inside its
    /// buffer, the epilogue's `alpha` must hold `n` values, its `bias` `rows` values, and its
    /// `pre` the entries `c * os + i` of `out`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn run(&self, ep: Epilogue<'_>) {
        for r0 in (0..self.rows).step_by(LANES2) {
            let mk = masks(self.rows - r0);
            let mut c0 = 0;
            // SAFETY: each block stays inside columns 0..n and rows r0..rows.
            unsafe {
                while c0 + 12 <= self.n {
                    self.block::<12>(c0, r0, mk, ep);
                    c0 += 12;
                }
                while c0 + 4 <= self.n {
                    self.block::<4>(c0, r0, mk, ep);
                    c0 += 4;
                }
                while c0 < self.n {
                    self.block::<1>(c0, r0, mk, ep);
                    c0 += 1;
                }
            }
        }
    }

    /// Columns `c0..c0 + C`, rows `r0..r0 + 32` masked by `(lo, hi)`.
    ///
    /// # Safety
    /// As [`Tn::run`], with `c0 + C <= n` and the masks inside `r0..rows`.
    #[target_feature(enable = "avx512f")]
    unsafe fn block<const C: usize>(
        &self,
        c0: usize,
        r0: usize,
        (lo, hi): (__mmask16, __mmask16),
        ep: Epilogue<'_>,
    ) {
        let mut acc = [[_mm512_setzero_ps(); 2]; C];
        let xb = self.x.wrapping_add(c0 * self.xs);
        for j in 0..self.k {
            let row = self.m.wrapping_add(j * self.ms + r0);
            // SAFETY (all unsafe blocks of this function): masked-off lanes are not accessed,
            // and the unmasked ones lie inside the buffers by the caller's contract.
            let (m0, m1) = unsafe {
                (
                    _mm512_maskz_loadu_ps(lo, row),
                    _mm512_maskz_loadu_ps(hi, row.wrapping_add(16)),
                )
            };
            for (c, a) in acc.iter_mut().enumerate() {
                let xv = _mm512_set1_ps(unsafe { *xb.add(c * self.xs + j) });
                a[0] = _mm512_fmadd_ps(m0, xv, a[0]);
                a[1] = _mm512_fmadd_ps(m1, xv, a[1]);
            }
        }
        for (c, a) in acc.iter_mut().enumerate() {
            let at = (c0 + c) * self.os + r0;
            let col = self.out.wrapping_add(at);
            unsafe {
                let old = |accumulate: bool| {
                    if accumulate {
                        (
                            _mm512_maskz_loadu_ps(lo, col),
                            _mm512_maskz_loadu_ps(hi, col.wrapping_add(16)),
                        )
                    } else {
                        (_mm512_setzero_ps(), _mm512_setzero_ps())
                    }
                };
                match ep {
                    Epilogue::Store { accumulate } => {
                        let (v0, v1) = old(accumulate);
                        a[0] = _mm512_add_ps(v0, a[0]);
                        a[1] = _mm512_add_ps(v1, a[1]);
                    }
                    Epilogue::Forward { alpha, bias } => {
                        let (v0, v1) = old(true);
                        a[0] = _mm512_add_ps(v0, a[0]);
                        a[1] = _mm512_add_ps(v1, a[1]);
                        if let Some(b) = bias {
                            let s = _mm512_set1_ps(alpha[c0 + c]);
                            let bp = b.as_ptr().wrapping_add(r0);
                            let b0 = _mm512_maskz_loadu_ps(lo, bp);
                            let b1 = _mm512_maskz_loadu_ps(hi, bp.wrapping_add(16));
                            a[0] = _mm512_add_ps(a[0], _mm512_mul_ps(s, b0));
                            a[1] = _mm512_add_ps(a[1], _mm512_mul_ps(s, b1));
                        }
                    }
                    Epilogue::Backward { alpha, pre } => {
                        let (v0, v1) = old(true);
                        let s = _mm512_set1_ps(alpha[c0 + c]);
                        let pp = pre.as_ptr().wrapping_add(at);
                        let z = _mm512_setzero_ps();
                        let p0 = _mm512_maskz_loadu_ps(lo, pp);
                        let p1 = _mm512_maskz_loadu_ps(hi, pp.wrapping_add(16));
                        let k0 = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(lo, p0, z);
                        let k1 = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(hi, p1, z);
                        a[0] = _mm512_add_ps(v0, _mm512_maskz_mul_ps(k0, s, a[0]));
                        a[1] = _mm512_add_ps(v1, _mm512_maskz_mul_ps(k1, s, a[1]));
                    }
                }
            }
        }
        for (c, a) in acc.iter().enumerate() {
            let col = self.out.wrapping_add((c0 + c) * self.os + r0);
            unsafe {
                _mm512_mask_storeu_ps(col, lo, a[0]);
                _mm512_mask_storeu_ps(col.wrapping_add(16), hi, a[1]);
            }
        }
    }
}

/// The operands of `g <- p a^T` (or `g += p a^T`).
///
/// `g[i, j]` is at `g + i * gs + j` (`i < rows`, `j < cols`), `p[i, c]` at `p + c * ps + i`,
/// `a[j, c]` at `a + c * as_ + j` (`c < n`).
#[derive(Clone, Copy)]
pub(super) struct Outer {
    pub g: *mut f32,
    pub gs: usize,
    pub p: *const f32,
    pub ps: usize,
    pub a: *const f32,
    pub as_: usize,
    pub rows: usize,
    pub cols: usize,
    pub n: usize,
    pub accumulate: bool,
}

impl Outer {
    /// Runs the product.
    ///
    /// # Safety
    /// AVX-512F must be available and every entry named in [`Outer`]'s doc must lie inside its
    /// buffer; `g` must not overlap `p` or `a`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn run(&self) {
        for j0 in (0..self.cols).step_by(LANES2) {
            let mk = masks(self.cols - j0);
            let mut i0 = 0;
            // SAFETY: each block stays inside rows 0..rows and columns j0..cols.
            unsafe {
                while i0 + 12 <= self.rows {
                    self.block::<12>(i0, j0, mk);
                    i0 += 12;
                }
                while i0 + 4 <= self.rows {
                    self.block::<4>(i0, j0, mk);
                    i0 += 4;
                }
                while i0 < self.rows {
                    self.block::<1>(i0, j0, mk);
                    i0 += 1;
                }
            }
        }
    }

    /// Rows `i0..i0 + R`, columns `j0..j0 + 32` masked by `(lo, hi)`.
    ///
    /// # Safety
    /// As [`Outer::run`], with `i0 + R <= rows` and the masks inside `j0..cols`.
    #[target_feature(enable = "avx512f")]
    unsafe fn block<const R: usize>(&self, i0: usize, j0: usize, (lo, hi): (__mmask16, __mmask16)) {
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for c in 0..self.n {
            let col = self.a.wrapping_add(c * self.as_ + j0);
            // SAFETY (all unsafe blocks of this function): masked-off lanes are not accessed,
            // and the unmasked ones lie inside the buffers by the caller's contract.
            let (a0, a1) = unsafe {
                (
                    _mm512_maskz_loadu_ps(lo, col),
                    _mm512_maskz_loadu_ps(hi, col.wrapping_add(16)),
                )
            };
            let pc = self.p.wrapping_add(c * self.ps + i0);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let pv = _mm512_set1_ps(unsafe { *pc.add(r) });
                acc_r[0] = _mm512_fmadd_ps(a0, pv, acc_r[0]);
                acc_r[1] = _mm512_fmadd_ps(a1, pv, acc_r[1]);
            }
        }
        if self.accumulate {
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let row = self.g.wrapping_add((i0 + r) * self.gs + j0);
                unsafe {
                    acc_r[0] = _mm512_add_ps(_mm512_maskz_loadu_ps(lo, row), acc_r[0]);
                    let old1 = _mm512_maskz_loadu_ps(hi, row.wrapping_add(16));
                    acc_r[1] = _mm512_add_ps(old1, acc_r[1]);
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            let row = self.g.wrapping_add((i0 + r) * self.gs + j0);
            unsafe {
                _mm512_mask_storeu_ps(row, lo, acc_r[0]);
                _mm512_mask_storeu_ps(row.wrapping_add(16), hi, acc_r[1]);
            }
        }
    }
}

/// `a[:, c] = alpha_c relu(z[:, c])` and, when `copy` is given, `copy <- z`; all `d x n`
/// column-major with `n = alpha.len()`.
#[target_feature(enable = "avx512f")]
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
    let zero = _mm512_setzero_ps();
    for (c, &s) in alpha.iter().enumerate() {
        let s = _mm512_set1_ps(s);
        for r0 in (0..d).step_by(16) {
            let k = lanes(d - r0);
            let at = c * d + r0;
            // the tape is read once, layer after layer: fetch a few columns ahead
            _mm_prefetch::<_MM_HINT_T0>(zp.wrapping_add(at + PREFETCH).cast());
            // SAFETY: the lanes of `k` lie inside column `c` of `d x n` buffers (asserted).
            unsafe {
                let zv = _mm512_maskz_loadu_ps(k, zp.add(at));
                let pos = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(k, zv, zero);
                _mm512_mask_storeu_ps(ap.add(at), k, _mm512_maskz_mul_ps(pos, s, zv));
                if let Some(cp) = cp {
                    _mm512_mask_storeu_ps(cp.add(at), k, zv);
                }
            }
        }
    }
}

/// `g += sum_c alpha_c p[:, c]` (`g` of length `d`, `p` of `d x n`, `n = alpha.len()`).
#[target_feature(enable = "avx512f")]
pub(super) fn weighted_column_sum(alpha: &[f32], p: &[f32], g: &mut [f32], d: usize) {
    assert!(p.len() == d * alpha.len() && g.len() == d);
    for r0 in (0..d).step_by(16) {
        let k = lanes(d - r0);
        // SAFETY: the lanes of `k` lie inside `g` and inside every column of `p` (asserted).
        unsafe {
            let mut acc = _mm512_maskz_loadu_ps(k, g.as_ptr().add(r0));
            for (c, &s) in alpha.iter().enumerate() {
                let pv = _mm512_maskz_loadu_ps(k, p.as_ptr().add(c * d + r0));
                acc = _mm512_fmadd_ps(_mm512_set1_ps(s), pv, acc);
            }
            _mm512_mask_storeu_ps(g.as_mut_ptr().add(r0), k, acc);
        }
    }
}

/// `t <- m^T` for a row-major `rows x cols` matrix `m` (`t` is row-major `cols x rows`): each
/// row of `t` is gathered 16 entries at a time.
///
/// # Panics
/// On inconsistent lengths or a dimension beyond `i32`.
#[target_feature(enable = "avx512f")]
pub(super) fn transpose(m: &[f32], t: &mut [f32], rows: usize, cols: usize) {
    assert!(m.len() == rows * cols && t.len() == rows * cols);
    let step = i32::try_from(cols).expect("dimension fits in i32");
    assert!(
        i32::try_from(rows * cols).is_ok(),
        "matrix size fits in i32"
    );
    let base = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(step),
    );
    for r0 in (0..rows).step_by(16) {
        let k = lanes(rows - r0);
        // entries (r0 + l, j) of `m` sit at (r0 + l) cols + j, below `limit`
        let idx = _mm512_add_epi32(base, _mm512_set1_epi32(step.wrapping_mul(r0 as i32)));
        for j in 0..cols {
            // SAFETY: lane l of `k` reads m[(r0 + l) cols + j] with r0 + l < rows, and writes
            // t[j rows + r0 + l]; both inside the asserted lengths.
            unsafe {
                let col =
                    _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), k, idx, m.as_ptr().add(j));
                _mm512_mask_storeu_ps(t.as_mut_ptr().add(j * rows + r0), k, col);
            }
        }
    }
}

/// `c <- a b` (or `c += a b`): `a` column-major `m x k`, `b` column-major `k x n`, `c`
/// column-major `m x n`.
///
/// # Panics
/// On inconsistent lengths, or if `isa` is not available.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul_cc(
    isa: Isa,
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) {
    assert!(isa.available(), "{isa:?} is not available on this CPU");
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    let tn = Tn {
        m: a.as_ptr(),
        ms: m,
        x: b.as_ptr(),
        xs: k,
        out: c.as_mut_ptr(),
        os: m,
        rows: m,
        k,
        n,
    };
    // SAFETY: `isa` is available and the lengths match the layout (asserted); `c` is a
    // distinct mutable borrow.
    unsafe { tn.run_on(isa, Epilogue::Store { accumulate }) };
}

/// `c <- a b^T` (or `c += a b^T`): `a` column-major `m x n`, `b` column-major `k x n`, `c`
/// row-major `m x k`.
///
/// # Panics
/// On inconsistent lengths, or if `isa` is not available.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul_outer(
    isa: Isa,
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) {
    assert!(isa.available(), "{isa:?} is not available on this CPU");
    assert!(a.len() == m * n && b.len() == k * n && c.len() == m * k);
    let outer = Outer {
        g: c.as_mut_ptr(),
        gs: k,
        p: a.as_ptr(),
        ps: m,
        a: b.as_ptr(),
        as_: k,
        rows: m,
        cols: k,
        n,
        accumulate,
    };
    // SAFETY: `isa` is available and the lengths match the layout (asserted); `c` is a
    // distinct mutable borrow.
    unsafe { outer.run_on(isa) };
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

    /// Both instruction sets against naive `f64` loops (each where the CPU has it), and
    /// against each other bit for bit where it has both.
    #[test]
    fn products_and_transpose_match_naive_loops() {
        let mut results = Vec::new();
        for isa in [Isa::Avx512, Isa::Avx2] {
            if isa.testable() {
                results.push((isa, products_match_naive_loops(isa)));
            }
        }
        if let [(_, a), (_, b)] = &results[..] {
            for (x, y) in a.iter().zip(b) {
                assert_eq!(
                    x.to_bits(),
                    y.to_bits(),
                    "AVX-512F and AVX2+FMA bits differ"
                );
            }
        }
    }

    /// Checks `isa`'s products and transpose against naive loops; returns every result.
    fn products_match_naive_loops(isa: Isa) -> Vec<f32> {
        let mut all = Vec::new();
        for (m, k, n) in [
            (1, 1, 1),
            (30, 784, 13),
            (10, 30, 128),
            (37, 5, 29),
            (16, 33, 4),
            (8, 3, 7),
        ] {
            let a = random(1, m * k);
            let b = random(2, k * n);
            let init = random(3, m * n);
            for accumulate in [false, true] {
                let mut c = init.clone();
                matmul_cc(isa, &mut c, &a, &b, m, k, n, accumulate);
                for j in 0..n {
                    for i in 0..m {
                        let dot: f64 = (0..k)
                            .map(|l| f64::from(a[l * m + i]) * f64::from(b[j * k + l]))
                            .sum();
                        let want = dot
                            + if accumulate {
                                f64::from(init[j * m + i])
                            } else {
                                0.0
                            };
                        let got = f64::from(c[j * m + i]);
                        assert!(
                            (got - want).abs() < 1e-4,
                            "{isa:?} cc {m}x{k}x{n}: {got} vs {want}"
                        );
                    }
                }
                all.extend(c);
            }
            // outer: a is m x n, b is k x n, c = a b^T is m x k row-major
            let a = random(4, m * n);
            let b = random(5, k * n);
            let init = random(6, m * k);
            for accumulate in [false, true] {
                let mut c = init.clone();
                matmul_outer(isa, &mut c, &a, &b, m, k, n, accumulate);
                for i in 0..m {
                    for j in 0..k {
                        let dot: f64 = (0..n)
                            .map(|l| f64::from(a[l * m + i]) * f64::from(b[l * k + j]))
                            .sum();
                        let want = dot
                            + if accumulate {
                                f64::from(init[i * k + j])
                            } else {
                                0.0
                            };
                        let got = f64::from(c[i * k + j]);
                        assert!(
                            (got - want).abs() < 1e-4,
                            "{isa:?} outer {m}x{k}x{n}: {got} vs {want}"
                        );
                    }
                }
                all.extend(c);
            }
            let t_in = random(7, m * k);
            let mut t = vec![0.0; m * k];
            transpose_on(isa, &t_in, &mut t, m, k);
            for i in 0..m {
                for j in 0..k {
                    assert_eq!(t[j * m + i], t_in[i * k + j]);
                }
            }
        }
        all
    }
}
