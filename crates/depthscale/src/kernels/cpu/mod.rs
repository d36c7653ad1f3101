//! The CPU backend: buffers are host vectors; a stack call runs its networks in parallel
//! (rayon, one task per network, each with its own scratch) and each network's layers one
//! after the other, two `faer` products per layer and direction.
//!
//! `f32` `res1` layers with ReLU and no bias inside the activation (the training model) take a
//! fused SIMD path when the CPU has one (`simd_layer`, built on `simd` with AVX-512F, or on
//! `simd_avx2` with AVX2 + FMA, chosen at run time, widest first; both give the same bits), and
//! so do the `f32` embedding and readout products; results then differ from the portable path
//! only by rounding. [`CpuBackend::portable`] never takes it.

mod layer;
mod pointwise;
mod sgd;
#[cfg(target_arch = "x86_64")]
mod simd;
#[cfg(target_arch = "x86_64")]
mod simd_avx2;
#[cfg(target_arch = "x86_64")]
mod simd_layer;

use super::backend::{
    AdamCoeffs, Backend, Keep, Op, ProductShape, SgdCoeffs, StackGrads, StackShape, StackWeights,
    Tape,
};
use super::loss;
use crate::Float;
use crate::linalg::{MatMut, MatRef, matmul};
use crate::model::{BiasPosition, BlockSpec};
use layer::{Layer, LayerGrads};
use rayon::prelude::*;

/// Values per parallel task of an elementwise operation (large enough that scheduling costs
/// nothing; fixed, so results do not depend on the thread count).
const PARALLEL_CHUNK: usize = 1 << 16;

/// Which code the CPU backend runs for the `f32` training layers and the `f32` embedding and
/// readout products (everything else is the same on every path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CpuPath {
    /// `faer` products and scalar loops only (every CPU).
    Portable,
    /// The fused kernels, 8 lanes wide (x86-64 CPUs with AVX2 and FMA).
    Avx2,
    /// The fused kernels, 16 lanes wide (x86-64 CPUs with AVX-512F).
    Avx512,
}

impl CpuPath {
    /// The widest path this CPU has (AVX-512F, else AVX2 + FMA, else portable).
    pub fn best() -> Self {
        [CpuPath::Avx512, CpuPath::Avx2]
            .into_iter()
            .find(|p| p.available())
            .unwrap_or(CpuPath::Portable)
    }

    /// Whether this CPU can run the path.
    pub fn available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            self.isa().is_none_or(simd::Isa::available)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == CpuPath::Portable
        }
    }

    /// The path's name: `portable`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            CpuPath::Portable => "portable",
            CpuPath::Avx2 => "avx2",
            CpuPath::Avx512 => "avx512",
        }
    }

    /// The instruction set of a SIMD path.
    #[cfg(target_arch = "x86_64")]
    fn isa(self) -> Option<simd::Isa> {
        match self {
            CpuPath::Portable => None,
            CpuPath::Avx2 => Some(simd::Isa::Avx2),
            CpuPath::Avx512 => Some(simd::Isa::Avx512),
        }
    }
}

#[cfg(test)]
impl CpuPath {
    /// Whether the path can be tested on this machine: `true` where the CPU has it; otherwise
    /// prints that the path is skipped, by name, and returns `false` (or panics where the
    /// environment requires it, see `simd::Isa::testable`).
    pub(crate) fn testable(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            self.isa().is_none_or(simd::Isa::testable)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            if self != CpuPath::Portable {
                eprintln!(
                    "skipped: the {} path is not tested (not x86-64)",
                    self.name()
                );
            }
            self == CpuPath::Portable
        }
    }

    /// The SIMD paths this machine can test (each one it cannot is printed, by name).
    pub(crate) fn testable_simd() -> Vec<CpuPath> {
        [CpuPath::Avx512, CpuPath::Avx2]
            .into_iter()
            .filter(|p| p.testable())
            .collect()
    }
}

/// The CPU backend (see the module doc). `Default` takes the widest SIMD path the CPU has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuBackend {
    path: CpuPath,
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuBackend {
    /// The CPU backend, with the widest SIMD path the CPU has ([`CpuPath::best`]).
    pub fn new() -> Self {
        Self {
            path: CpuPath::best(),
        }
    }

    /// The CPU backend without any hand-written SIMD: `faer` products and scalar loops only
    /// (the portable reference the SIMD paths are tested against).
    pub fn portable() -> Self {
        Self {
            path: CpuPath::Portable,
        }
    }

    /// The CPU backend on `path`, or `None` where this CPU lacks its instructions (to compare
    /// the paths, or to run a narrower one).
    pub fn with_path(path: CpuPath) -> Option<Self> {
        path.available().then_some(Self { path })
    }

    /// The path in use.
    pub fn path(&self) -> CpuPath {
        self.path
    }

    /// Whether a SIMD path is in use.
    pub fn uses_simd(&self) -> bool {
        self.path != CpuPath::Portable
    }

    /// The path the `f32` kernels of `T` take: [`CpuPath::Portable`] unless `T` is `f32`.
    fn path_for<T: Float>(&self) -> CpuPath {
        if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
            self.path
        } else {
            CpuPath::Portable
        }
    }

    /// Whether `T` is `f32` and a SIMD path is in use.
    fn fast<T: Float>(&self) -> bool {
        self.path_for::<T>() != CpuPath::Portable
    }
}

/// Values of one layer's bias for `block` in a stack of `shape` (`m` inside the activation,
/// `d` outside it).
fn bias_len(block: &BlockSpec, shape: StackShape) -> usize {
    match block.bias {
        BiasPosition::Inside => shape.inner_width,
        _ => shape.width,
    }
}

/// Layer `k` of network `b` of a batch of `shape`, whose layers' biases hold `bl` values.
fn layer_of<T>(
    w: StackWeights<'_, Vec<T>>,
    shape: StackShape,
    bl: usize,
    b: usize,
    k: usize,
) -> Layer<'_, T> {
    let i = b * shape.depth + k;
    let dm = shape.layer();
    let (m, v) = (i * dm, i * bl);
    Layer {
        width: shape.width,
        inner: shape.inner_width,
        v: &w.v[m..m + dm],
        w: w.w.map(|x| &x[m..m + dm]),
        bias: w.bias.map(|x| &x[v..v + bl]),
    }
}

/// The scratch of one network of a stack call: one layer's scratch and one layer's
/// pre-activations (for `Keep::Output`).
fn network_scratch(shape: StackShape) -> usize {
    let (d, m, n) = (shape.width, shape.inner_width, shape.columns);
    layer::scratch_len(d, m, n) + m * n
}

/// One network of a forward stack call: its index, its state, its pre-activation and input
/// tapes (when kept) and its scratch.
type NetworkJob<'a, T> = (
    usize,
    &'a mut [T],
    Option<&'a mut [T]>,
    Option<&'a mut [T]>,
    &'a mut [T],
);

/// One network's gradients in a backward stack call: `V`, `W` (if the block has it) and the
/// bias (if it has one).
type NetworkGrads<'a, T> = (&'a mut [T], Option<&'a mut [T]>, Option<&'a mut [T]>);

/// One network of a backward stack call: its index, its adjoint, its gradients (when asked)
/// and its scratch.
type BackwardJob<'a, T> = (usize, &'a mut [T], Option<NetworkGrads<'a, T>>, &'a mut [T]);

/// Runs `run` on each of the `networks` independent jobs: in parallel (rayon) when there are
/// several, on the calling thread when there is one. Each network's arithmetic is the same
/// sequence either way, so results do not depend on the thread count.
fn each_network<J: Send>(networks: usize, jobs: impl Iterator<Item = J>, run: impl Fn(J) + Sync) {
    if networks == 1 {
        jobs.for_each(run);
    } else {
        jobs.collect::<Vec<J>>().into_par_iter().for_each(&run);
    }
}

/// `f` over fixed chunks of the leading `len` values of `y` and `x`, in parallel when long.
fn elementwise<T: Float>(y: &mut [T], x: &[T], f: impl Fn(&mut [T], &[T]) + Sync + Send) {
    if y.len() <= PARALLEL_CHUNK {
        f(y, x);
    } else {
        y.par_chunks_mut(PARALLEL_CHUNK)
            .zip(x.par_chunks(PARALLEL_CHUNK))
            .for_each(|(y, x)| f(y, x));
    }
}

/// The next layer's tensors, to be prefetched a few cache lines at a time while this layer
/// computes (hints only: no effect on results). The per-layer tensors of a stack are a few KiB
/// each, so every layer starts on new 4 KiB pages, where the hardware prefetchers start cold;
/// asking for all of them at once stalls on the CPU's few outstanding misses, so the fused
/// layers spread the requests between their product blocks ([`Ahead::issue`]).
#[derive(Debug)]
pub(super) struct Ahead {
    /// Start and length in bytes of each tensor.
    parts: [(*const u8, usize); 3],
    /// The tensor and the byte offset of the next line to ask for.
    part: usize,
    at: usize,
}

impl Ahead {
    /// Nothing to prefetch.
    pub(super) fn none() -> Self {
        Self {
            parts: [(std::ptr::null(), 0); 3],
            part: 3,
            at: 0,
        }
    }

    /// The tensors `parts` (empty slices are skipped).
    pub(super) fn of<T>(parts: [&[T]; 3]) -> Self {
        Self {
            parts: parts.map(|x| (x.as_ptr().cast::<u8>(), std::mem::size_of_val(x))),
            part: 0,
            at: 0,
        }
    }

    /// Cache lines not yet asked for.
    pub(super) fn lines(&self) -> usize {
        let left: usize = self.parts.iter().skip(self.part).map(|p| p.1).sum();
        (left.saturating_sub(self.at)).div_ceil(64)
    }

    /// Asks for the next `lines` cache lines (fewer at the end).
    #[inline]
    pub(super) fn issue(&mut self, lines: usize) {
        for _ in 0..lines {
            while self.part < 3 && self.at >= self.parts[self.part].1 {
                self.part += 1;
                self.at = 0;
            }
            if self.part == 3 {
                return;
            }
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
                // SAFETY: a prefetch never faults, and `at` stays inside the tensor.
                unsafe {
                    _mm_prefetch::<_MM_HINT_T1>(self.parts[self.part].0.add(self.at).cast());
                }
            }
            self.at += 64;
        }
    }

    /// Asks for every line left.
    pub(super) fn rest(&mut self) {
        self.issue(self.lines());
    }
}

/// Adam on one value from its gradient `gi` (`sqrt` and `/` are exact IEEE operations, so the
/// vectorized loops around it need no fast-math).
#[inline(always)]
fn adam_one<T: Float>(c: &AdamCoeffs<T>, p: &mut T, gi: T, m: &mut T, v: &mut T) {
    let mi = *m + c.lerp * (gi - *m);
    let vi = *v * c.beta2 + c.one_minus_beta2 * gi * gi;
    *m = mi;
    *v = vi;
    let denom = vi.sqrt() / c.bc2_sqrt + c.eps;
    *p -= c.step_size * (mi / denom);
}

/// The Adam element loop over equal-length slices (re-sliced so bounds checks vanish and the
/// loop vectorizes).
#[inline(never)]
fn adam_elements<T: Float>(c: &AdamCoeffs<T>, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        adam_one(c, &mut p[i], g[i], &mut m[i], &mut v[i]);
    }
}

/// [`adam_elements`] from the gradient `g + g2`, summed as `axpy` sums (`g + 1 * g2`, the
/// same bits as `g + g2`).
#[inline(always)]
fn adam_elements_sum<T: Float>(
    c: &AdamCoeffs<T>,
    p: &mut [T],
    (g, g2): (&[T], &[T]),
    m: &mut [T],
    v: &mut [T],
) {
    let n = p.len();
    let (g, g2, m, v) = (&g[..n], &g2[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        adam_one(c, &mut p[i], g[i] + g2[i], &mut m[i], &mut v[i]);
    }
}

/// [`adam_elements_sum`] compiled for `path`'s vector width: the same IEEE operations in the
/// same order (Rust never contracts `a * b + c` into a fused multiply-add), so the same bits
/// on every path, with the divisions and square roots of a wider vector per instruction.
#[inline(never)]
fn adam_elements_sum_on<T: Float>(
    path: CpuPath,
    c: &AdamCoeffs<T>,
    p: &mut [T],
    g: (&[T], &[T]),
    m: &mut [T],
    v: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn wide<T: Float>(
            c: &AdamCoeffs<T>,
            p: &mut [T],
            g: (&[T], &[T]),
            m: &mut [T],
            v: &mut [T],
        ) {
            adam_elements_sum(c, p, g, m, v);
        }
        #[target_feature(enable = "avx2")]
        fn narrow<T: Float>(
            c: &AdamCoeffs<T>,
            p: &mut [T],
            g: (&[T], &[T]),
            m: &mut [T],
            v: &mut [T],
        ) {
            adam_elements_sum(c, p, g, m, v);
        }
        match path {
            // SAFETY: a backend holds a SIMD path only where the CPU has it (`with_path`, `best`).
            CpuPath::Avx512 => return unsafe { wide(c, p, g, m, v) },
            // SAFETY: as above.
            CpuPath::Avx2 => return unsafe { narrow(c, p, g, m, v) },
            CpuPath::Portable => {}
        }
    }
    adam_elements_sum(c, p, g, m, v);
}

impl<T: Float> Backend<T> for CpuBackend {
    type Buffer = Vec<T>;

    fn describe(&self) -> String {
        format!("cpu ({})", self.path.name())
    }

    fn zeros(&self, len: usize) -> Vec<T> {
        vec![T::zero(); len]
    }

    fn len(&self, buf: &Vec<T>) -> usize {
        buf.len()
    }

    fn upload(&self, src: &[T], dst: &mut Vec<T>, at: usize) {
        dst[at..at + src.len()].copy_from_slice(src);
    }

    fn download(&self, src: &Vec<T>, at: usize, dst: &mut [T]) {
        dst.copy_from_slice(&src[at..at + dst.len()]);
    }

    fn read<'a>(&self, buf: &'a Vec<T>, len: usize, _staging: &'a mut Vec<T>) -> &'a [T] {
        &buf[..len]
    }

    fn write<R>(
        &self,
        buf: &mut Vec<T>,
        len: usize,
        _staging: &mut Vec<T>,
        f: impl FnOnce(&mut [T]) -> R,
    ) -> R {
        f(&mut buf[..len])
    }

    fn fill(&self, buf: &mut Vec<T>, len: usize, value: T) {
        buf[..len].fill(value);
    }

    fn copy(&self, src: &Vec<T>, dst: &mut Vec<T>, len: usize) {
        dst[..len].copy_from_slice(&src[..len]);
    }

    fn axpy(&self, a: T, x: &Vec<T>, y: &mut Vec<T>, len: usize) {
        elementwise(&mut y[..len], &x[..len], |y, x| {
            for (yi, &xi) in y.iter_mut().zip(x) {
                *yi += a * xi;
            }
        });
    }

    fn stack_scratch(&self, _block: &BlockSpec, shape: StackShape) -> usize {
        // per network (the networks of a call run in parallel): one layer's scratch, reused
        // layer after layer, and one layer's pre-activations for `Keep::Output`
        network_scratch(shape) * shape.networks
    }

    fn forward_stack(
        &self,
        block: &BlockSpec,
        shape: StackShape,
        weights: StackWeights<'_, Vec<T>>,
        alpha: &Vec<T>,
        tape: &mut Tape<Vec<T>>,
        keep: Keep,
        scratch: &mut Vec<T>,
    ) {
        let StackShape {
            networks,
            depth: l,
            width: d,
            columns: n,
            inner_width: m,
        } = shape;
        let (dn, mn, bl) = (d * n, m * n, bias_len(block, shape));
        let path = if layer::simd_block(block) {
            self.path_for::<T>()
        } else {
            CpuPath::Portable
        };
        let one = network_scratch(shape);
        // the fused f32 layers are fast enough for memory latency to show: they prefetch the next
        // layer (measured: 2% off the train step); the portable layers do not (it slowed the
        // one-input f64 probe)
        let prefetching = path != CpuPath::Portable;
        let Tape {
            h0,
            h_last,
            pre,
            inputs,
        } = tape;
        assert!(h0.len() >= shape.states() && h_last.len() >= shape.states());
        assert!(keep == Keep::Output || pre.len() >= shape.pre_tape());
        assert!(keep != Keep::PreAndInputs || inputs.len() >= shape.tape());
        let h0 = &h0[..];
        // network `b`: its state `h`, its pre-activation and input tapes (when kept) and its
        // scratch
        let run = |(b, h, pre, inputs, scratch): NetworkJob<'_, T>| {
            let (work, pre_one) = scratch.split_at_mut(layer::scratch_len(d, m, n));
            let alpha = &alpha[b * n..(b + 1) * n];
            h.copy_from_slice(&h0[b * dn..(b + 1) * dn]);
            let (mut pre, mut inputs) = (pre, inputs);
            for k in 0..l {
                if let Some(inputs) = inputs.as_deref_mut() {
                    inputs[k * dn..(k + 1) * dn].copy_from_slice(h);
                }
                let pre = match pre.as_deref_mut() {
                    Some(pre) => &mut pre[k * mn..(k + 1) * mn],
                    None => &mut *pre_one,
                };
                let layer = layer_of(weights, shape, bl, b, k);
                let ahead = if prefetching && k + 1 < l {
                    Ahead::of([layer_of(weights, shape, bl, b, k + 1).v, &[], &[]])
                } else {
                    Ahead::none()
                };
                layer::forward(path, block, layer, alpha, h, pre, work, ahead);
            }
        };
        let mut pres = (keep != Keep::Output).then(|| pre[..networks * l * mn].chunks_mut(l * mn));
        let mut ins =
            (keep == Keep::PreAndInputs).then(|| inputs[..networks * l * dn].chunks_mut(l * dn));
        let jobs = h_last[..networks * dn]
            .chunks_mut(dn)
            .zip(scratch[..networks * one].chunks_mut(one))
            .enumerate()
            .map(|(b, (h, scratch))| {
                let pre = pres.as_mut().and_then(Iterator::next);
                let inputs = ins.as_mut().and_then(Iterator::next);
                (b, h, pre, inputs, scratch)
            });
        each_network(networks, jobs, run);
    }

    fn backward_stack(
        &self,
        block: &BlockSpec,
        shape: StackShape,
        weights: StackWeights<'_, Vec<T>>,
        alpha: &Vec<T>,
        tape: &Tape<Vec<T>>,
        p: &mut Vec<T>,
        grads: Option<StackGrads<'_, Vec<T>>>,
        scratch: &mut Vec<T>,
    ) {
        let StackShape {
            networks,
            depth: l,
            width: d,
            columns: n,
            inner_width: m,
        } = shape;
        let (dn, mn, dm, bl) = (d * n, m * n, d * m, bias_len(block, shape));
        let path = if layer::simd_block(block) {
            self.path_for::<T>()
        } else {
            CpuPath::Portable
        };
        let one = network_scratch(shape);
        // the fused f32 layers are fast enough for memory latency to show: they prefetch the next
        // layer (measured: 2% off the train step); the portable layers do not (it slowed the
        // one-input f64 probe)
        let prefetching = path != CpuPath::Portable;
        let want_w = grads.as_ref().is_some_and(|g| g.w.is_some());
        let accumulate = grads.as_ref().is_none_or(|g| g.accumulate);
        assert!(
            tape.pre.len() >= shape.pre_tape(),
            "the backward stack needs pre-activations"
        );
        assert!(
            !want_w || tape.inputs.len() >= shape.tape(),
            "W gradients need a tape with inputs"
        );
        // network `b`: its adjoint `p`, its gradients (`V`, `W`, bias; when asked) and its
        // scratch
        let run = |(b, pb, g, scratch): BackwardJob<'_, T>| {
            let work = &mut scratch[..layer::scratch_len(d, m, n)];
            let alpha = &alpha[b * n..(b + 1) * n];
            let mut g = g;
            for k in (0..l).rev() {
                let i = b * l + k;
                let (at, pat) = (i * dn, i * mn);
                let ahead = if prefetching && k > 0 {
                    let dv = g
                        .as_ref()
                        .map_or(&[][..], |(v, _, _)| &v[(k - 1) * dm..k * dm]);
                    let v = layer_of(weights, shape, bl, b, k - 1).v;
                    Ahead::of([v, &tape.pre[pat - mn..pat], dv])
                } else {
                    Ahead::none()
                };
                let layer_grads = g.as_mut().map(|(v, w, bias)| LayerGrads {
                    v: &mut v[k * dm..(k + 1) * dm],
                    w: w.as_deref_mut().map(|x| &mut x[k * dm..(k + 1) * dm]),
                    bias: bias.as_deref_mut().map(|x| &mut x[k * bl..(k + 1) * bl]),
                    accumulate,
                });
                let input = want_w.then(|| &tape.inputs[at..at + dn]);
                layer::backward(
                    path,
                    block,
                    layer_of(weights, shape, bl, b, k),
                    alpha,
                    &tape.pre[pat..pat + mn],
                    input,
                    pb,
                    layer_grads,
                    work,
                    ahead,
                );
            }
        };
        let mut grads = grads.map(|g| {
            let v = g.v[..networks * l * dm].chunks_mut(l * dm);
            let w = g.w.map(|w| w[..networks * l * dm].chunks_mut(l * dm));
            let bias = g
                .bias
                .map(|x| x[..networks * l * bl].chunks_mut((l * bl).max(1)));
            (v, w, bias)
        });
        let jobs = p[..networks * dn]
            .chunks_mut(dn)
            .zip(scratch[..networks * one].chunks_mut(one))
            .enumerate()
            .map(|(b, (pb, scratch))| {
                let g = grads.as_mut().map(|(v, w, bias)| {
                    let v = v.next().expect("one V gradient per network");
                    let w = w
                        .as_mut()
                        .map(|w| w.next().expect("one W gradient per network"));
                    let bias = bias.as_mut().and_then(Iterator::next);
                    (v, w, bias)
                });
                (b, pb, g, scratch)
            });
        each_network(networks, jobs, run);
    }

    fn product_scratch(&self, op: Op, shape: ProductShape) -> usize {
        if self.fast::<T>() && op == Op::Plain {
            shape.rows * shape.cols
        } else {
            0
        }
    }

    fn product(
        &self,
        m: &Vec<T>,
        op: Op,
        x: &Vec<T>,
        out: &mut Vec<T>,
        shape: ProductShape,
        scale: T,
        accumulate: bool,
        scratch: &mut Vec<T>,
    ) {
        let ProductShape {
            networks,
            rows,
            cols,
            columns: n,
        } = shape;
        // inner dimension and rows of the result
        let (k, r) = match op {
            Op::Plain => (cols, rows),
            Op::Transposed => (rows, cols),
        };
        for b in 0..networks {
            let mb = &m[b * rows * cols..(b + 1) * rows * cols];
            let xb = &x[b * k * n..(b + 1) * k * n];
            let ob = &mut out[b * r * n..(b + 1) * r * n];
            #[cfg(target_arch = "x86_64")]
            if let Some(isa) = self.path_for::<T>().isa()
                && scale == T::one()
            {
                use layer::{f32s, f32s_mut};
                // a row-major `rows x cols` matrix is the column-major layout of its transpose
                match op {
                    Op::Transposed => {
                        simd::matmul_cc(isa, f32s_mut(ob), f32s(mb), f32s(xb), r, k, n, accumulate)
                    }
                    Op::Plain => {
                        let t = f32s_mut(&mut scratch[..rows * cols]);
                        simd::transpose_on(isa, f32s(mb), t, rows, cols);
                        simd::matmul_cc(isa, f32s_mut(ob), t, f32s(xb), r, k, n, accumulate);
                    }
                }
                continue;
            }
            let mv = MatRef::row_major(mb, rows, cols);
            let mv = match op {
                Op::Plain => mv,
                Op::Transposed => mv.t(),
            };
            matmul(
                MatMut::col_major(ob, r, n),
                mv,
                MatRef::col_major(xb, k, n),
                scale,
                accumulate,
            );
        }
        let _ = scratch;
    }

    fn outer(&self, p: &Vec<T>, a: &Vec<T>, g: &mut Vec<T>, shape: ProductShape, accumulate: bool) {
        let ProductShape {
            networks,
            rows,
            cols,
            columns: n,
        } = shape;
        for b in 0..networks {
            let pb = &p[b * rows * n..(b + 1) * rows * n];
            let ab = &a[b * cols * n..(b + 1) * cols * n];
            let gb = &mut g[b * rows * cols..(b + 1) * rows * cols];
            #[cfg(target_arch = "x86_64")]
            if let Some(isa) = self.path_for::<T>().isa() {
                use layer::{f32s, f32s_mut};
                let (g, p, a) = (f32s_mut(gb), f32s(pb), f32s(ab));
                simd::matmul_outer(isa, g, p, a, rows, cols, n, accumulate);
                continue;
            }
            matmul(
                MatMut::row_major(gb, rows, cols),
                MatRef::col_major(pb, rows, n),
                MatRef::col_major(ab, cols, n).t(),
                T::one(),
                accumulate,
            );
        }
    }

    fn loss_scratch(&self, _networks: usize, _columns: usize) -> usize {
        0
    }

    fn cross_entropy(
        &self,
        logits: &Vec<T>,
        labels: &[u8],
        n_classes: usize,
        total: usize,
        dlogits: &mut Vec<T>,
        losses: &mut [f64],
        _scratch: &mut Vec<T>,
    ) {
        let networks = losses.len();
        let n = labels.len() / networks.max(1);
        let cn = n_classes * n;
        for (b, out) in losses.iter_mut().enumerate() {
            let g = &mut dlogits[b * cn..(b + 1) * cn];
            let mut l = loss::cross_entropy(
                &logits[b * cn..(b + 1) * cn],
                &labels[b * n..(b + 1) * n],
                n_classes,
                g,
            );
            if total != n {
                let share = n as f64 / total as f64;
                l *= share;
                let share = T::of(share);
                for x in g.iter_mut() {
                    *x *= share;
                }
            }
            *out = l;
        }
    }

    fn cross_entropy_sum(
        &self,
        logits: &Vec<T>,
        labels: &[u8],
        n_classes: usize,
        out: &mut [(f64, usize)],
        _scratch: &mut Vec<T>,
    ) {
        let n = labels.len() / out.len().max(1);
        let cn = n_classes * n;
        for (b, o) in out.iter_mut().enumerate() {
            *o = loss::cross_entropy_sum(
                &logits[b * cn..(b + 1) * cn],
                &labels[b * n..(b + 1) * n],
                n_classes,
            );
        }
    }

    fn mse(
        &self,
        out: &Vec<T>,
        targets: &[T],
        n_out: usize,
        total: usize,
        dout: &mut Vec<T>,
        losses: &mut [f64],
        _scratch: &mut Vec<T>,
    ) {
        let per = targets.len() / losses.len().max(1);
        for (b, l) in losses.iter_mut().enumerate() {
            let r = b * per..(b + 1) * per;
            let g = &mut dout[r.clone()];
            let mut loss = loss::mse(&out[r.clone()], &targets[r], n_out, g);
            let n = per / n_out.max(1);
            if total != n {
                let share = n as f64 / total as f64;
                loss *= share;
                let share = T::of(share);
                for x in g.iter_mut() {
                    *x *= share;
                }
            }
            *l = loss;
        }
    }

    fn squared_error_sum(
        &self,
        out: &Vec<T>,
        targets: &[T],
        sums: &mut [f64],
        _scratch: &mut Vec<T>,
    ) {
        let per = targets.len() / sums.len().max(1);
        for (b, s) in sums.iter_mut().enumerate() {
            let r = b * per..(b + 1) * per;
            *s = loss::squared_error_sum(&out[r.clone()], &targets[r]);
        }
    }

    fn adam_update(
        &self,
        coeffs: &[AdamCoeffs<T>],
        per_network: usize,
        p: &mut Vec<T>,
        g: &Vec<T>,
        m: &mut Vec<T>,
        v: &mut Vec<T>,
    ) {
        for (b, c) in coeffs.iter().enumerate() {
            let r = b * per_network..(b + 1) * per_network;
            // Elementwise, so splitting across threads changes no bit of the result.
            p[r.clone()]
                .par_chunks_mut(PARALLEL_CHUNK)
                .zip(g[r.clone()].par_chunks(PARALLEL_CHUNK))
                .zip(m[r.clone()].par_chunks_mut(PARALLEL_CHUNK))
                .zip(v[r].par_chunks_mut(PARALLEL_CHUNK))
                .for_each(|(((p, g), m), v)| adam_elements(c, p, g, m, v));
        }
    }

    fn adam_update_sum(
        &self,
        coeffs: &[AdamCoeffs<T>],
        per_network: usize,
        p: &mut Vec<T>,
        g: &Vec<T>,
        g2: &Vec<T>,
        m: &mut Vec<T>,
        v: &mut Vec<T>,
    ) {
        for (b, c) in coeffs.iter().enumerate() {
            let r = b * per_network..(b + 1) * per_network;
            // Elementwise, so splitting across threads changes no bit of the result.
            p[r.clone()]
                .par_chunks_mut(PARALLEL_CHUNK)
                .zip(g[r.clone()].par_chunks(PARALLEL_CHUNK))
                .zip(g2[r.clone()].par_chunks(PARALLEL_CHUNK))
                .zip(m[r.clone()].par_chunks_mut(PARALLEL_CHUNK))
                .zip(v[r].par_chunks_mut(PARALLEL_CHUNK))
                .for_each(|((((p, g), g2), m), v)| {
                    adam_elements_sum_on(self.path, c, p, (g, g2), m, v)
                });
        }
    }

    fn sgd_update(
        &self,
        coeffs: &[SgdCoeffs<T>],
        per_network: usize,
        p: &mut Vec<T>,
        g: &Vec<T>,
        mut buf: Option<&mut Vec<T>>,
    ) {
        for (b, c) in coeffs.iter().enumerate() {
            let r = b * per_network..(b + 1) * per_network;
            // Elementwise in fixed chunks: bitwise independent of the thread count.
            match buf.as_deref_mut() {
                Some(buf) => p[r.clone()]
                    .par_chunks_mut(PARALLEL_CHUNK)
                    .zip(g[r.clone()].par_chunks(PARALLEL_CHUNK))
                    .zip(buf[r].par_chunks_mut(PARALLEL_CHUNK))
                    .for_each(|((p, g), m)| sgd::momentum_elements(c, p, g, m)),
                None => elementwise(&mut p[r.clone()], &g[r], |p, g| {
                    sgd::plain_elements(c, p, g)
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests;
