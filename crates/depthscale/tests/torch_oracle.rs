//! One res1 training step against an external oracle, in the manner of llm.c: the forward pass
//! (logits, loss), every gradient tensor and the Adam update of depthscale's training model are
//! compared, in f64 and in f32, with the same step computed by PyTorch and checked in as
//! `tests/fixtures/res1_step_L8_d6.safetensors` (written once by `bench/make_oracle.py`; its
//! docstring describes every tensor).
//!
//! Only public API is used: the training model's block and scale (`train::training_block`,
//! `train::residual_scale`), `model::ResNet` and its `Params`, the loss-and-gradient
//! `train::Workspace` and `train::Adam`.

use depthscale::Float;
use depthscale::kernels::{CpuBackend, NetBatch};
use depthscale::model::{Dims, Params, ResNet};
use depthscale::train::{Adam, Workspace, residual_scale, training_block};
use safetensors::SafeTensors;
use safetensors::tensor::Dtype;
use std::collections::HashMap;

const FIXTURE: &[u8] = include_bytes!("fixtures/res1_step_L8_d6.safetensors");

/// The fixture's tensors (as f64, row-major, with shapes) and metadata.
struct Oracle {
    tensors: HashMap<String, (Vec<usize>, Vec<f64>)>,
    labels: Vec<u8>,
    meta: HashMap<String, String>,
}

impl Oracle {
    fn load() -> Self {
        let st = SafeTensors::deserialize(FIXTURE).expect("fixture is a safetensors file");
        let (_, header) = SafeTensors::read_metadata(FIXTURE).unwrap();
        let meta = header.metadata().clone().expect("fixture has metadata");
        let mut tensors = HashMap::new();
        let mut labels = Vec::new();
        for (name, view) in st.tensors() {
            match view.dtype() {
                Dtype::F64 => {
                    let values = view
                        .data()
                        .chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                        .collect();
                    tensors.insert(name, (view.shape().to_vec(), values));
                }
                Dtype::U8 => labels = view.data().to_vec(),
                other => panic!("unexpected dtype {other:?} for {name}"),
            }
        }
        Self {
            tensors,
            labels,
            meta,
        }
    }

    fn get(&self, name: &str) -> &[f64] {
        &self.tensors[name].1
    }

    fn shape(&self, name: &str) -> &[usize] {
        &self.tensors[name].0
    }

    fn meta(&self, key: &str) -> f64 {
        self.meta[key].parse().unwrap()
    }

    fn dims(&self) -> Dims {
        let (v, readout) = (self.shape("v"), self.shape("readout"));
        Dims {
            n_in: self.shape("embed")[1],
            width: v[1],
            n_out: readout[0],
            depth: v[0],
            inner_width: v[1],
        }
    }
}

/// The oracle's Adam state before the step: `exp_avg[i] = ((7 i) mod 13 - 6) / 1000`,
/// `exp_avg_sq[i] = ((5 i) mod 11 + 1) / 1e5` (see `bench/make_oracle.py`).
fn oracle_moments<T: Float>(len: usize) -> (Vec<T>, Vec<T>) {
    (0..len)
        .map(|i| {
            let m = ((7 * i) % 13) as f64 - 6.0;
            let v = ((5 * i) % 11) as f64 + 1.0;
            (T::of(m / 1000.0), T::of(v / 100_000.0))
        })
        .unzip()
}

/// Asserts `|got - want| <= tol * max |want|` entrywise (relative to the tensor's largest entry),
/// naming the tensor.
fn assert_close<T: Float>(what: &str, got: &[T], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(f64::MIN_POSITIVE, |m, w| m.max(w.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g.f64() - w).abs();
        assert!(
            err <= tol * scale,
            "{what}[{i}]: depthscale {} vs PyTorch {w} (error {err:.3e}, tolerance {:.3e})",
            g.f64(),
            tol * scale
        );
    }
}

/// Runs the step in `T` and compares every stage with the oracle at relative tolerance `tol`.
fn check_step<T: Float>(tol: f64) {
    let o = Oracle::load();
    let dims = o.dims();
    let n = o.labels.len();
    assert_eq!(o.shape("x"), [n, dims.n_in]);
    let cast = |name: &str| -> Vec<T> { o.get(name).iter().map(|&x| T::of(x)).collect() };
    let block = training_block();
    let mut net = ResNet::<T>::zeros(block, dims).unwrap();
    net.params.embed = cast("embed");
    net.params.v = cast("v");
    net.params.bias = cast("bias");
    net.params.readout = cast("readout");
    // x is [n, n_in] row-major: the column-major n_in x n batch depthscale takes
    let x = cast("x");
    let alpha = T::of(residual_scale(dims.depth, o.meta("beta")));

    // forward (logits B h_L, [n, n_out] row-major = column-major n_out x n), loss and every
    // gradient, through the training workspace on the CPU backend
    let batch = NetBatch::from_network(CpuBackend::new(), &net).unwrap();
    let mut grads: Params<T> = net.params.clone();
    let mut ws = Workspace::new(&block, dims, n);
    let loss = ws.loss_and_grad(&batch, alpha, &x, &o.labels, &mut grads);
    assert_close(
        "logits",
        &ws.last_logits(dims.n_out, n),
        o.get("logits"),
        tol,
    );
    assert_close("loss", &[T::of(loss)], o.get("loss"), tol);
    for (name, g) in grads.named() {
        if g.is_empty() {
            continue; // W: the res1 block has none
        }
        assert_close(
            &format!("grad_{name}"),
            g,
            o.get(&format!("grad_{name}")),
            tol,
        );
    }

    // one Adam step from the oracle's optimizer state
    let mut adam = Adam::new(&net.params);
    for (m, v) in adam.m.tensors_mut().into_iter().zip(adam.v.tensors_mut()) {
        let (m0, v0) = oracle_moments::<T>(m.len());
        *m = m0;
        *v = v0;
    }
    adam.steps = o.meta("adam_steps_before") as u64;
    adam.step(&mut net.params, &grads, o.meta("lr"));
    for (name, p) in net.params.named() {
        if p.is_empty() {
            continue;
        }
        assert_close(
            &format!("adam_{name}"),
            p,
            o.get(&format!("adam_{name}")),
            tol,
        );
    }
}

#[test]
fn res1_training_step_matches_pytorch_in_f64() {
    // Every stage agrees to a few units in the last place (2.2e-16) of the tensor's largest entry
    // (measured: at most 4e-16 absolute, on entries of size up to 1).
    check_step::<f64>(1e-14);
}

#[test]
fn res1_training_step_matches_pytorch_in_f32() {
    // Inputs rounded to f32 and f32 arithmetic through 8 layers: a few ulps of f32 (1.2e-7);
    // measured at most 6.5e-8 absolute.
    check_step::<f32>(1e-6);
}

#[test]
fn the_oracle_step_is_not_degenerate() {
    // The comparison above could not fail if the step did nothing: the fixture's gradients and
    // updates are of the size of the learning rate, and its labels are not all equal.
    let o = Oracle::load();
    for name in ["embed", "v", "bias", "readout"] {
        let g = o.get(&format!("grad_{name}"));
        assert!(
            g.iter().any(|x| x.abs() > 1e-3),
            "grad_{name} is negligible"
        );
        let moved = o
            .get(name)
            .iter()
            .zip(o.get(&format!("adam_{name}")))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max);
        let lr = o.meta("lr");
        assert!(moved > 0.1 * lr && moved < 2.0 * lr, "{name} moved {moved}");
    }
    assert!(o.labels.iter().any(|&y| y != o.labels[0]));
}
