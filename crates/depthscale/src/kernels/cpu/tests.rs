//! The CPU backend against a naive `f64` layer written out entry by entry (on every machine,
//! for the portable path; for the AVX2 and AVX-512 paths wherever the CPU has them), and its
//! batching and recording guarantees.

use super::*;
use crate::model::{Activation, BiasPosition};
use crate::rng;
use rand::Rng as _;

fn random(seed: u64, len: usize) -> Vec<f64> {
    let mut r = rng::stream(seed, &[11]);
    (0..len).map(|_| r.random::<f64>() * 2.0 - 1.0).collect()
}

fn cast<T: Float>(x: &[f64]) -> Vec<T> {
    x.iter().map(|&v| T::of(v)).collect()
}

/// One network's layer weights: `v` (`d x m` row-major), `w` (`m x d`) and a bias (`m` values
/// inside the activation, `d` outside).
struct NaiveLayer<'a> {
    v: &'a [f64],
    w: Option<&'a [f64]>,
    b: Option<&'a [f64]>,
}

/// What a naive layer gives: `h_{k+1}`, `dloss/dh_k` for `p = dloss/dh_{k+1}`, and the
/// parameter gradients `dV`, `dW`, `db`.
struct NaiveOut {
    h1: Vec<f64>,
    p0: Vec<f64>,
    gv: Vec<f64>,
    gw: Vec<f64>,
    gb: Vec<f64>,
}

/// The layer `h + alpha_c (V act(W h + b_in) + b_out)` and its backward pass, entry by entry,
/// for width `d` and inner width `m` (`m = d` without `W`).
#[allow(clippy::needless_range_loop)]
fn naive_layer(
    block: &BlockSpec,
    l: &NaiveLayer<'_>,
    alpha: &[f64],
    h: &[f64],
    p: &[f64],
    d: usize,
    m: usize,
) -> NaiveOut {
    let n = alpha.len();
    let act = block.activation;
    let mut out = NaiveOut {
        h1: vec![0.0; d * n],
        p0: vec![0.0; d * n],
        gv: vec![0.0; d * m],
        gw: vec![0.0; m * d],
        gb: vec![
            0.0;
            if block.bias == BiasPosition::Inside {
                m
            } else {
                d
            }
        ],
    };
    let inside = |i: usize| match (block.bias, l.b) {
        (BiasPosition::Inside, Some(b)) => b[i],
        _ => 0.0,
    };
    let outside = |i: usize| match (block.bias, l.b) {
        (BiasPosition::Outside, Some(b)) => b[i],
        _ => 0.0,
    };
    for c in 0..n {
        let s = alpha[c];
        let hc = &h[c * d..(c + 1) * d];
        let pc = &p[c * d..(c + 1) * d];
        let z: Vec<f64> = (0..m)
            .map(|i| {
                let wh = match l.w {
                    Some(w) => (0..d).map(|j| w[i * d + j] * hc[j]).sum(),
                    None => hc[i],
                };
                wh + inside(i)
            })
            .collect();
        for i in 0..d {
            let va: f64 = (0..m).map(|j| l.v[i * m + j] * act.apply(z[j])).sum();
            out.h1[c * d + i] = hc[i] + s * (va + outside(i));
        }
        // q = dloss/dz = alpha act'(z) V^T p
        let q: Vec<f64> = (0..m)
            .map(|j| s * act.derivative(z[j]) * (0..d).map(|i| l.v[i * m + j] * pc[i]).sum::<f64>())
            .collect();
        for i in 0..d {
            let back = match l.w {
                Some(w) => (0..m).map(|j| w[j * d + i] * q[j]).sum(),
                None => q[i],
            };
            out.p0[c * d + i] = pc[i] + back;
            if block.bias == BiasPosition::Outside {
                out.gb[i] += s * pc[i];
            }
            for j in 0..m {
                out.gv[i * m + j] += pc[i] * s * act.apply(z[j]);
            }
        }
        for i in 0..m {
            if block.bias == BiasPosition::Inside {
                out.gb[i] += q[i];
            }
            for j in 0..d {
                out.gw[i * d + j] += q[i] * hc[j];
            }
        }
    }
    out
}

fn close<T: Float>(got: &[T], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f64, |m, x| m.max(x.abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g.f64() - w).abs() <= tol * scale,
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

/// Runs one layer of `block` (inner width `m`) through `backend`'s stack (forward, then
/// backward with gradients accumulated onto ones, then written over NaNs) and compares with
/// [`naive_layer`].
fn check_one_layer<T: Float>(
    backend: CpuBackend,
    block: BlockSpec,
    (d, m, n): (usize, usize, usize),
    tol: f64,
) {
    let bl = if block.bias == BiasPosition::Inside {
        m
    } else {
        d
    };
    let v = random(1, d * m);
    let w = random(2, m * d);
    let b = random(3, bl);
    let h = random(4, d * n);
    let p = random(5, d * n);
    let alpha: Vec<f64> = (0..n).map(|c| 0.2 + 0.01 * c as f64).collect();
    let want = naive_layer(
        &block,
        &NaiveLayer {
            v: &v,
            w: block.inner.then_some(&w[..]),
            b: block.has_bias().then_some(&b[..]),
        },
        &alpha,
        &h,
        &p,
        d,
        m,
    );
    let shape = StackShape {
        networks: 1,
        depth: 1,
        width: d,
        columns: n,
        inner_width: m,
    };
    let (vt, wt, bt) = (cast::<T>(&v), cast::<T>(&w), cast::<T>(&b));
    let weights = StackWeights {
        v: &vt,
        w: block.inner.then_some(&wt),
        bias: block.has_bias().then_some(&bt),
    };
    let alpha_t = cast::<T>(&alpha);
    let mut tape: Tape<Vec<T>> = Tape::new(&backend, shape, Keep::PreAndInputs);
    tape.h0 = cast(&h);
    let mut scratch = Backend::<T>::zeros(
        &backend,
        Backend::<T>::stack_scratch(&backend, &block, shape),
    );
    backend.forward_stack(
        &block,
        shape,
        weights,
        &alpha_t,
        &mut tape,
        Keep::PreAndInputs,
        &mut scratch,
    );
    let tag = format!(
        "{block:?} d {d} m {m} n {n} {}",
        Backend::<T>::describe(&backend)
    );
    close(&tape.h_last, &want.h1, tol, &format!("h ({tag})"));
    assert_eq!(tape.inputs, cast::<T>(&h), "inputs ({tag})");
    // the backward stack with gradient buffers holding `init`, accumulated into or written
    let backward = |init: T, accumulate: bool| {
        let (mut gv, mut gw, mut gb) = (vec![init; d * m], vec![init; m * d], vec![init; bl]);
        let (mut pp, mut scratch) = (cast::<T>(&p), scratch.clone());
        backend.backward_stack(
            &block,
            shape,
            weights,
            &alpha_t,
            &tape,
            &mut pp,
            Some(StackGrads {
                v: &mut gv,
                w: block.inner.then_some(&mut gw),
                bias: block.has_bias().then_some(&mut gb),
                accumulate,
            }),
            &mut scratch,
        );
        (pp, gv, gw, gb)
    };
    let (pp, gv, gw, gb) = backward(T::one(), true);
    let plus_one = |x: &[f64]| x.iter().map(|v| v + 1.0).collect::<Vec<_>>();
    close(&pp, &want.p0, tol, &format!("p ({tag})"));
    close(&gv, &plus_one(&want.gv), tol, &format!("dV ({tag})"));
    if block.inner {
        close(&gw, &plus_one(&want.gw), tol, &format!("dW ({tag})"));
    }
    if block.has_bias() {
        close(&gb, &plus_one(&want.gb), tol, &format!("db ({tag})"));
    }
    // written instead of accumulated: whatever the buffers held (NaN here) is replaced
    let (pp, gv, gw, gb) = backward(T::nan(), false);
    close(&pp, &want.p0, tol, &format!("p, written ({tag})"));
    close(&gv, &want.gv, tol, &format!("dV, written ({tag})"));
    if block.inner {
        close(&gw, &want.gw, tol, &format!("dW, written ({tag})"));
    }
    if block.has_bias() {
        close(&gb, &want.gb, tol, &format!("db, written ({tag})"));
    }
}

fn blocks() -> Vec<BlockSpec> {
    let mut out = Vec::new();
    for inner in [false, true] {
        for bias in [
            BiasPosition::None,
            BiasPosition::Inside,
            BiasPosition::Outside,
        ] {
            for activation in [Activation::Relu, Activation::Tanh, Activation::Gelu] {
                out.push(BlockSpec {
                    inner,
                    bias,
                    activation,
                });
            }
        }
    }
    out
}

/// The shapes `(d, m, n)` a block is checked on: square (`m = d`) and, with `W`, inner widths
/// above and below the width.
fn shapes(block: &BlockSpec, square: &[(usize, usize)]) -> Vec<(usize, usize, usize)> {
    let mut out: Vec<_> = square.iter().map(|&(d, n)| (d, d, n)).collect();
    if block.inner {
        out.extend([(1, 3, 2), (5, 8, 3), (16, 32, 7), (37, 11, 29)]);
    }
    out
}

/// The portable path (every machine) in `f64` and `f32`, every block kind, awkward shapes,
/// inner widths other than the width.
#[test]
fn portable_layers_match_the_naive_layer() {
    for block in blocks() {
        for shape in shapes(&block, &[(1, 1), (5, 3), (37, 29)]) {
            check_one_layer::<f64>(CpuBackend::portable(), block, shape, 1e-12);
            check_one_layer::<f32>(CpuBackend::portable(), block, shape, 1e-5);
        }
    }
}

/// Each SIMD path the CPU has (AVX-512F, AVX2 + FMA; each one it lacks is printed as skipped)
/// in `f32`: the training block takes the fused layer, the others the portable one.
#[test]
fn simd_layers_match_the_naive_layer() {
    for path in CpuPath::testable_simd() {
        let backend = CpuBackend::with_path(path).unwrap();
        assert_eq!(backend.path(), path);
        for block in blocks() {
            let square = [(1, 1), (5, 3), (16, 17), (17, 9), (30, 128), (37, 29)];
            for shape in shapes(&block, &square) {
                check_one_layer::<f32>(backend, block, shape, 1e-5);
            }
        }
    }
}

/// The default backend takes the widest path the CPU has: AVX-512F, else AVX2 + FMA, else the
/// portable one; `with_path` refuses a path the CPU lacks.
#[test]
fn the_default_path_is_the_widest_available() {
    let want = if CpuPath::Avx512.available() {
        CpuPath::Avx512
    } else if CpuPath::Avx2.available() {
        CpuPath::Avx2
    } else {
        CpuPath::Portable
    };
    assert_eq!(CpuBackend::new().path(), want);
    assert_eq!(
        Backend::<f32>::describe(&CpuBackend::new()),
        format!("cpu ({})", want.name())
    );
    for path in [CpuPath::Portable, CpuPath::Avx2, CpuPath::Avx512] {
        assert_eq!(
            CpuBackend::with_path(path).map(|b| b.path()),
            path.available().then_some(path)
        );
    }
    assert!(CpuPath::Portable.available());
}

/// A 40-layer training stack gives the same bits on AVX2 + FMA as on AVX-512F (where the CPU
/// has both), and differs from the portable path (another summation order) by rounding only.
#[test]
fn the_simd_paths_give_the_same_bits() {
    let block = crate::train::training_block();
    let (l, d, n) = (40, 30, 19);
    let t = batch_weights(&block, 1, l, (d, d, d));
    let h0: Vec<f64> = random(41, d * n).iter().map(|x| 3.0 * x).collect();
    let p = random(42, d * n);
    let alpha = vec![0.15; n];
    let shape = StackShape {
        networks: 1,
        depth: l,
        width: d,
        columns: n,
        inner_width: d,
    };
    let run = |b| run_stack::<f32>(b, &block, shape, &t, &h0, &p, &alpha);
    let portable = run(CpuBackend::portable());
    let simd: Vec<_> = CpuPath::testable_simd()
        .into_iter()
        .map(|path| run(CpuBackend::with_path(path).unwrap()))
        .collect();
    for got in &simd {
        for (g, w) in got.iter().zip(&portable) {
            let scale = w.iter().fold(1.0f64, |m, x| m.max(f64::from(x.abs())));
            let err = g
                .iter()
                .zip(w)
                .fold(0.0f64, |m, (a, b)| m.max(f64::from((a - b).abs())));
            assert!(err <= 1e-4 * scale, "{err} vs scale {scale}");
        }
        assert_ne!(got, &portable, "the SIMD path ran the portable code");
    }
    if let [a, b] = &simd[..] {
        assert_eq!(a, b, "AVX-512F and AVX2+FMA bits differ");
    }
}

/// The portable backend and one on each SIMD path the CPU has.
fn all_backends() -> Vec<CpuBackend> {
    let simd = CpuPath::testable_simd().into_iter();
    std::iter::once(CpuBackend::portable())
        .chain(simd.map(|p| CpuBackend::with_path(p).unwrap()))
        .collect()
}

/// A random batch of `networks` networks' weights for `block` (`[B, L, d, m]`, ...), `bl`
/// bias values per layer.
fn batch_weights(
    block: &BlockSpec,
    networks: usize,
    l: usize,
    (d, m, bl): (usize, usize, usize),
) -> Tensors3 {
    let scale = 1.0 / (d as f64).sqrt();
    let mat = |seed| {
        random(seed, networks * l * d * m)
            .iter()
            .map(|x| x * scale)
            .collect()
    };
    Tensors3 {
        v: mat(21),
        w: if block.inner { mat(22) } else { Vec::new() },
        b: if block.has_bias() {
            random(23, networks * l * bl)
        } else {
            Vec::new()
        },
    }
}

struct Tensors3 {
    v: Vec<f64>,
    w: Vec<f64>,
    b: Vec<f64>,
}

/// Forward and backward stacks of a batch, returned as `(h_L, dloss/dh_0, dV, dW, db)`.
fn run_stack<T: Float>(
    backend: CpuBackend,
    block: &BlockSpec,
    shape: StackShape,
    t: &Tensors3,
    h0: &[f64],
    p: &[f64],
    alpha: &[f64],
) -> [Vec<T>; 5] {
    let (v, w, b) = (cast::<T>(&t.v), cast::<T>(&t.w), cast::<T>(&t.b));
    let weights = StackWeights {
        v: &v,
        w: block.inner.then_some(&w),
        bias: block.has_bias().then_some(&b),
    };
    let keep = Keep::for_backward(block, true);
    let mut tape: Tape<Vec<T>> = Tape::new(&backend, shape, keep);
    tape.h0 = cast(h0);
    let alpha = cast::<T>(alpha);
    let mut scratch = Backend::<T>::zeros(
        &backend,
        Backend::<T>::stack_scratch(&backend, block, shape),
    );
    backend.forward_stack(block, shape, weights, &alpha, &mut tape, keep, &mut scratch);
    let mut p = cast::<T>(p);
    let (mut gv, mut gw, mut gb) = (
        vec![T::zero(); v.len()],
        vec![T::zero(); w.len()],
        vec![T::zero(); b.len()],
    );
    backend.backward_stack(
        block,
        shape,
        weights,
        &alpha,
        &tape,
        &mut p,
        Some(StackGrads {
            v: &mut gv,
            w: block.inner.then_some(&mut gw),
            bias: block.has_bias().then_some(&mut gb),
            accumulate: true,
        }),
        &mut scratch,
    );
    [tape.h_last, p, gv, gw, gb]
}

/// Network `b`'s results in a batch of three are bitwise those of the network run alone
/// (blocks with `W` at an inner width other than the width).
#[test]
fn batching_networks_changes_no_bit() {
    let (l, d, n, nets) = (6, 7, 5, 3);
    for block in blocks() {
        let m = if block.inner { 10 } else { d };
        let bl = if block.bias == BiasPosition::Inside {
            m
        } else {
            d
        };
        let t = batch_weights(&block, nets, l, (d, m, bl));
        let h0 = random(31, nets * d * n);
        let p = random(32, nets * d * n);
        let alpha: Vec<f64> = (0..nets * n).map(|c| 0.3 + 0.05 * c as f64).collect();
        let shape = StackShape {
            networks: nets,
            depth: l,
            width: d,
            columns: n,
            inner_width: m,
        };
        for backend in all_backends() {
            let all = run_stack::<f32>(backend, &block, shape, &t, &h0, &p, &alpha);
            for b in 0..nets {
                let one = |x: &[f64], per: usize| x[b * per..(b + 1) * per].to_vec();
                let (ldd, ld) = (l * d * m, l * bl);
                let alone = Tensors3 {
                    v: one(&t.v, ldd),
                    w: if block.inner {
                        one(&t.w, ldd)
                    } else {
                        Vec::new()
                    },
                    b: if block.has_bias() {
                        one(&t.b, ld)
                    } else {
                        Vec::new()
                    },
                };
                let single = StackShape {
                    networks: 1,
                    ..shape
                };
                let got = run_stack::<f32>(
                    backend,
                    &block,
                    single,
                    &alone,
                    &one(&h0, d * n),
                    &one(&p, d * n),
                    &one(&alpha, n),
                );
                for (i, per) in [d * n, d * n, ldd, ldd, ld].into_iter().enumerate() {
                    if all[i].is_empty() {
                        continue;
                    }
                    assert_eq!(
                        all[i][b * per..(b + 1) * per],
                        got[i][..],
                        "{block:?}: tensor {i} of network {b}"
                    );
                }
            }
        }
    }
}

/// `Keep::Output` computes the same `h_L`, bit for bit, without a tape.
#[test]
fn inference_forward_equals_the_recorded_one() {
    let block = crate::train::training_block();
    let (l, d, n) = (9, 30, 13);
    let t = batch_weights(&block, 1, l, (d, d, d));
    let shape = StackShape {
        networks: 1,
        depth: l,
        width: d,
        columns: n,
        inner_width: d,
    };
    let backend = CpuBackend::new();
    let (v, b) = (cast::<f32>(&t.v), cast::<f32>(&t.b));
    let weights = StackWeights {
        v: &v,
        w: None,
        bias: Some(&b),
    };
    let alpha = vec![0.3f32; n];
    let mut scratch = Backend::<f32>::zeros(
        &backend,
        Backend::<f32>::stack_scratch(&backend, &block, shape),
    );
    let mut outs = Vec::new();
    for keep in [Keep::Output, Keep::PreActivations] {
        let mut tape: Tape<Vec<f32>> = Tape::new(&backend, shape, keep);
        tape.h0 = cast(&random(41, d * n));
        backend.forward_stack(
            &block,
            shape,
            weights,
            &alpha,
            &mut tape,
            keep,
            &mut scratch,
        );
        assert_eq!(tape.pre.is_empty(), keep == Keep::Output);
        outs.push(tape.h_last);
    }
    assert_eq!(outs[0], outs[1]);
}

/// The batched products against naive sums, for both element types and every path the CPU
/// has.
#[test]
fn products_match_naive_sums() {
    fn check<T: Float>(backend: CpuBackend, tol: f64) {
        let (nets, rows, cols, n) = (2, 7, 33, 5);
        let shape = ProductShape {
            networks: nets,
            rows,
            cols,
            columns: n,
        };
        let m = random(51, nets * rows * cols);
        for op in [Op::Plain, Op::Transposed] {
            let (k, r) = match op {
                Op::Plain => (cols, rows),
                Op::Transposed => (rows, cols),
            };
            let x = random(52, nets * k * n);
            let init = random(53, nets * r * n);
            for (scale, accumulate) in [(1.0, false), (1.0, true), (2.0, false)] {
                let mut want = vec![0.0; nets * r * n];
                for b in 0..nets {
                    for c in 0..n {
                        for i in 0..r {
                            let dot: f64 = (0..k)
                                .map(|j| {
                                    let mij = match op {
                                        Op::Plain => m[b * rows * cols + i * cols + j],
                                        Op::Transposed => m[b * rows * cols + j * cols + i],
                                    };
                                    mij * x[b * k * n + c * k + j]
                                })
                                .sum();
                            let at = b * r * n + c * r + i;
                            want[at] = scale * dot + if accumulate { init[at] } else { 0.0 };
                        }
                    }
                }
                let mut out = cast::<T>(&init);
                let mut scratch = Backend::<T>::zeros(
                    &backend,
                    Backend::<T>::product_scratch(&backend, op, shape),
                );
                backend.product(
                    &cast(&m),
                    op,
                    &cast(&x),
                    &mut out,
                    shape,
                    T::of(scale),
                    accumulate,
                    &mut scratch,
                );
                close(&out, &want, tol, &format!("{op:?} x{scale} {accumulate}"));
            }
        }
        // outer: g[b] = p[b] a[b]^T, p rows x n, a cols x n
        let p = random(54, nets * rows * n);
        let a = random(55, nets * cols * n);
        let init = random(56, nets * rows * cols);
        for accumulate in [false, true] {
            let mut want = vec![0.0; nets * rows * cols];
            for b in 0..nets {
                for i in 0..rows {
                    for j in 0..cols {
                        let at = b * rows * cols + i * cols + j;
                        want[at] = (0..n)
                            .map(|c| {
                                p[b * rows * n + c * rows + i] * a[b * cols * n + c * cols + j]
                            })
                            .sum::<f64>()
                            + if accumulate { init[at] } else { 0.0 };
                    }
                }
            }
            let mut g = cast::<T>(&init);
            backend.outer(&cast(&p), &cast(&a), &mut g, shape, accumulate);
            close(&g, &want, tol, &format!("outer {accumulate}"));
        }
    }
    for backend in all_backends() {
        check::<f64>(backend, 1e-12);
        check::<f32>(backend, 1e-5);
    }
}

/// `adam_update_sum(g, g2)` is bitwise `axpy(1, g2, g)` followed by `adam_update`, in `f32`
/// and `f64`, over more values than one parallel chunk (so the threads split it).
#[test]
fn adam_of_a_sum_is_the_axpy_then_adam() {
    fn check<T: Float>() {
        let backend = CpuBackend::new();
        let n = 3 * super::PARALLEL_CHUNK + 17;
        let mut r = crate::rng::stream(5, &[1]);
        let mut draw = || -> Vec<T> { (0..n).map(|_| T::of(r.random::<f64>() - 0.5)).collect() };
        let (p, g, g2, m, v) = (draw(), draw(), draw(), draw(), draw());
        let v: Vec<T> = v.iter().map(|x| *x * *x).collect();
        let coeffs = [AdamCoeffs::new(0.9, 0.999, 1e-8, 3, 1e-2)];
        let (mut p1, mut m1, mut v1) = (p.clone(), m.clone(), v.clone());
        backend.adam_update_sum(&coeffs, n, &mut p1, &g, &g2, &mut m1, &mut v1);
        let (mut p2, mut m2, mut v2, mut sum) = (p, m, v, g);
        backend.axpy(T::one(), &g2, &mut sum, n);
        backend.adam_update(&coeffs, n, &mut p2, &sum, &mut m2, &mut v2);
        let bits = |x: &[T]| x.iter().map(|v| v.f64().to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p1), bits(&p2), "{} parameters", T::NAME);
        assert_eq!(bits(&m1), bits(&m2), "{} first moments", T::NAME);
        assert_eq!(bits(&v1), bits(&v2), "{} second moments", T::NAME);
    }
    check::<f32>();
    check::<f64>();
}
