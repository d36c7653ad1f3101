//! A conformance check for any [`Backend`]: one full training step of two small networks
//! (embedding, forward stack, readout, cross-entropy, every gradient, the backward stack and
//! an Adam and an SGD update) computed on the backend under test and on the portable CPU backend in `f64`,
//! compared tensor by tensor.
//!
//! This is the reproducibility contract of a device backend made executable: it is not
//! bitwise equal to the CPU, but within `tolerance` (relative, per tensor). `f64` on any
//! backend should pass `1e-9`; `f32` passes about `1e-4` (rounding through 200 layers).

use super::backend::{AdamCoeffs, Backend, Keep, Op, ProductShape, SgdCoeffs, StackShape, Tape};
use super::batch::{grads_of, weights_of};
use super::cpu::CpuBackend;
use crate::model::{Activation, BiasPosition, BlockSpec, TensorKind, Tensors};
use crate::{Float, rng};
use rand::Rng as _;

/// Networks, depth, width, columns, inputs and classes of the check.
const NETS: usize = 2;
const DEPTH: usize = 200;
const WIDTH: usize = 12;
const COLUMNS: usize = 7;
const N_IN: usize = 5;
const N_OUT: usize = 3;

/// Where a backend departed from the reference.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// The block being checked.
    pub block: String,
    /// The tensor that differs (`h_last`, `loss`, `dV`, ...).
    pub tensor: &'static str,
    /// `||got - want|| / ||want||`.
    pub relative_error: f64,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {}: relative error {:e}",
            self.tensor, self.block, self.relative_error
        )
    }
}

/// Inner width of the third block checked (different from [`WIDTH`]).
const INNER: usize = 17;

/// The blocks checked with their inner widths: the training model's, `res3` with a bias inside
/// and `tanh`, and `res3` with a bias inside, GELU and an inner width other than the width.
fn blocks() -> [(BlockSpec, usize); 3] {
    [
        (
            BlockSpec {
                inner: false,
                bias: BiasPosition::Outside,
                activation: Activation::Relu,
            },
            WIDTH,
        ),
        (
            BlockSpec {
                inner: true,
                bias: BiasPosition::Inside,
                activation: Activation::Tanh,
            },
            WIDTH,
        ),
        (
            BlockSpec {
                inner: true,
                bias: BiasPosition::Inside,
                activation: Activation::Gelu,
            },
            INNER,
        ),
    ]
}

/// Every output of one step, as `f64`, with its name.
type Outputs = Vec<(&'static str, Vec<f64>)>;

fn values(seed: u64, len: usize, scale: f64) -> Vec<f64> {
    let mut r = rng::stream(seed, &[0x636f_6e66]);
    (0..len)
        .map(|_| scale * (2.0 * r.random::<f64>() - 1.0))
        .collect()
}

/// One training step of [`NETS`] networks of `block` with inner width `inner` on `backend`.
fn step<T: Float, B: Backend<T>>(backend: &B, block: &BlockSpec, inner: usize) -> Outputs {
    let dims = crate::model::Dims {
        n_in: N_IN,
        width: WIDTH,
        n_out: N_OUT,
        depth: DEPTH,
        inner_width: inner,
    };
    let up = |host: &[f64]| {
        let mut buf = backend.zeros(host.len());
        let h: Vec<T> = host.iter().map(|&v| T::of(v)).collect();
        backend.upload(&h, &mut buf, 0);
        buf
    };
    let down = |buf: &B::Buffer, len: usize| {
        let mut h = vec![T::zero(); len];
        backend.download(buf, 0, &mut h);
        h.into_iter().map(T::f64).collect::<Vec<f64>>()
    };
    let len = |k: TensorKind| NETS * dims.tensor_len(block, k);
    let params = Tensors::from_fn(|k| {
        let fan_in = if k == TensorKind::Embed { N_IN } else { WIDTH };
        up(&values(k as u64, len(k), (3.0 / fan_in as f64).sqrt()))
    });
    let mut grads = Tensors::from_fn(|k| backend.zeros(len(k)));
    let shape = StackShape {
        networks: NETS,
        depth: DEPTH,
        width: WIDTH,
        columns: COLUMNS,
        inner_width: inner,
    };
    let embed = ProductShape {
        networks: NETS,
        rows: WIDTH,
        cols: N_IN,
        columns: COLUMNS,
    };
    let readout = ProductShape {
        rows: N_OUT,
        cols: WIDTH,
        ..embed
    };
    let scratch_len = [
        backend.stack_scratch(block, shape),
        backend.product_scratch(Op::Plain, embed),
        backend.product_scratch(Op::Plain, readout),
        backend.product_scratch(Op::Transposed, readout),
        backend.loss_scratch(NETS, COLUMNS),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let mut scratch = backend.zeros(scratch_len);
    let x = up(&values(10, NETS * N_IN * COLUMNS, 1.0));
    let alpha = up(&(0..NETS * COLUMNS)
        .map(|c| 0.1 + 0.01 * c as f64)
        .collect::<Vec<_>>());
    let labels: Vec<u8> = (0..NETS * COLUMNS).map(|c| (c * 7 % N_OUT) as u8).collect();
    let keep = Keep::for_backward(block, true);
    let mut tape = Tape::new(backend, shape, keep);
    backend.product(
        &params.embed,
        Op::Plain,
        &x,
        &mut tape.h0,
        embed,
        T::one(),
        false,
        &mut scratch,
    );
    let weights = weights_of(block, &params);
    backend.forward_stack(block, shape, weights, &alpha, &mut tape, keep, &mut scratch);
    let mut logits = backend.zeros(NETS * N_OUT * COLUMNS);
    backend.product(
        &params.readout,
        Op::Plain,
        &tape.h_last,
        &mut logits,
        readout,
        T::one(),
        false,
        &mut scratch,
    );
    let mut dlogits = backend.zeros(NETS * N_OUT * COLUMNS);
    let mut losses = [0.0; NETS];
    backend.cross_entropy(
        &logits,
        &labels,
        N_OUT,
        COLUMNS,
        &mut dlogits,
        &mut losses,
        &mut scratch,
    );
    backend.outer(&dlogits, &tape.h_last, &mut grads.readout, readout, false);
    let mut p = backend.zeros(shape.states());
    backend.product(
        &params.readout,
        Op::Transposed,
        &dlogits,
        &mut p,
        readout,
        T::one(),
        false,
        &mut scratch,
    );
    // the residual gradients are written over whatever the buffers hold
    for kind in [TensorKind::V, TensorKind::W, TensorKind::Bias] {
        backend.fill(grads.get_mut(kind), len(kind), T::of(7.0));
    }
    backend.backward_stack(
        block,
        shape,
        weights,
        &alpha,
        &tape,
        &mut p,
        Some(grads_of(block, &mut grads).written()),
        &mut scratch,
    );
    backend.outer(&p, &x, &mut grads.embed, embed, false);
    // one Adam step of V, networks at different learning rates
    let mut v = up(&down(&params.v, len(TensorKind::V)));
    let (mut m1, mut m2) = (
        backend.zeros(len(TensorKind::V)),
        backend.zeros(len(TensorKind::V)),
    );
    let coeffs: Vec<AdamCoeffs<T>> = (0..NETS)
        .map(|b| AdamCoeffs::new(0.9, 0.999, 1e-8, 1, 1e-2 * (b + 1) as f64))
        .collect();
    backend.adam_update(
        &coeffs,
        dims.tensor_len(block, TensorKind::V),
        &mut v,
        &grads.v,
        &mut m1,
        &mut m2,
    );
    // one Adam step of V from a gradient given in two parts (dV + dV)
    let mut v_sum = up(&down(&params.v, len(TensorKind::V)));
    let (mut m3, mut m4) = (
        backend.zeros(len(TensorKind::V)),
        backend.zeros(len(TensorKind::V)),
    );
    backend.adam_update_sum(
        &coeffs,
        dims.tensor_len(block, TensorKind::V),
        &mut v_sum,
        &grads.v,
        &grads.v,
        &mut m3,
        &mut m4,
    );
    // two SGD steps with momentum of the readout, networks at different learning rates
    let mut readout = up(&down(&params.readout, len(TensorKind::Readout)));
    let mut buf = backend.zeros(len(TensorKind::Readout));
    for step in 1..=2 {
        let coeffs: Vec<SgdCoeffs<T>> = (0..NETS)
            .map(|b| SgdCoeffs::new(1e-2 * (b + 1) as f64, 0.9, step))
            .collect();
        backend.sgd_update(
            &coeffs,
            dims.tensor_len(block, TensorKind::Readout),
            &mut readout,
            &grads.readout,
            Some(&mut buf),
        );
    }
    let mut out: Outputs = vec![
        ("h_last", down(&tape.h_last, shape.states())),
        ("logits", down(&logits, NETS * N_OUT * COLUMNS)),
        ("loss", losses.to_vec()),
        ("dlogits", down(&dlogits, NETS * N_OUT * COLUMNS)),
        ("dh0", down(&p, shape.states())),
        ("v after adam", down(&v, len(TensorKind::V))),
        ("v after adam of dV + dV", down(&v_sum, len(TensorKind::V))),
        (
            "readout after sgd",
            down(&readout, len(TensorKind::Readout)),
        ),
    ];
    for (name, k) in [
        ("dA", TensorKind::Embed),
        ("dV", TensorKind::V),
        ("dW", TensorKind::W),
        ("db", TensorKind::Bias),
        ("dB", TensorKind::Readout),
    ] {
        out.push((name, down(grads.get(k), len(k))));
    }
    out
}

/// `||a - b|| / ||b||` (0 for two empty or zero tensors).
fn relative(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

/// Runs the check on `backend` in precision `T`; the first tensor whose relative error exceeds
/// `tolerance` (or is not finite) is the error. Returns the largest relative error seen.
pub fn check<T: Float, B: Backend<T>>(backend: &B, tolerance: f64) -> Result<f64, Mismatch> {
    let mut worst = 0.0f64;
    for (block, inner) in blocks() {
        let want = step::<f64, _>(&CpuBackend::portable(), &block, inner);
        let got = step::<T, _>(backend, &block, inner);
        for ((tensor, g), (_, w)) in got.iter().zip(&want) {
            let e = if g.len() == w.len() {
                relative(g, w)
            } else {
                f64::INFINITY
            };
            if e.is_nan() || e > tolerance {
                return Err(Mismatch {
                    block: format!("{block:?}, inner width {inner}"),
                    tensor,
                    relative_error: e,
                });
            }
            worst = worst.max(e);
        }
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::CpuPath;

    /// Every CPU path in `f32` (the portable one on every machine, each SIMD path where the
    /// CPU has it; each one it lacks is printed as skipped) against the `f64` reference: a
    /// different precision, and for SIMD a different implementation, so never bitwise equal,
    /// but within the contract. The SIMD paths agree with each other bit for bit (that they
    /// differ from the portable code is `cpu::tests::the_simd_paths_give_the_same_bits`).
    #[test]
    fn the_cpu_backends_conform() {
        let e32 = check::<f32, _>(&CpuBackend::portable(), 1e-4).unwrap();
        assert!(e32 > 1e-9, "portable f32: {e32}");
        let mut simd = Vec::new();
        for path in CpuPath::testable_simd() {
            let backend = CpuBackend::with_path(path).unwrap();
            let e = check::<f32, _>(&backend, 1e-4).unwrap();
            assert!(e > 1e-9, "{}: {e}", path.name());
            simd.push(e);
        }
        if let [a, b] = simd[..] {
            assert_eq!(a.to_bits(), b.to_bits(), "AVX-512F and AVX2+FMA differ");
        }
        // in f64 every backend takes the portable code: the reference's own bits
        assert_eq!(check::<f64, _>(&CpuBackend::new(), 0.0), Ok(0.0));
    }

    #[test]
    fn a_backend_outside_the_tolerance_is_caught() {
        // f32 rounding (relative 1e-7 per operation) is far outside an f64 tolerance
        let err = check::<f32, _>(&CpuBackend::new(), 1e-9).unwrap_err();
        assert!(err.relative_error > 1e-9, "{err}");
    }
}
