//! Finite-difference checks of the training gradients, in `f64`.
//!
//! Central differences with step `1e-6` have truncation error `O(1e-12)` and rounding error
//! about `1e-16 / 1e-6 = 1e-10` per entry, far below the `1e-6` relative tolerance on each
//! tensor's gradient. ReLU kinks are avoided by asserting that no pre-activation lies within
//! `1e-3` of zero (a perturbation moves them by `O(1e-6)`).

use super::net::{Workspace, init_network, residual_scale};
use crate::kernels::{Backend, CpuBackend, Keep, NetBatch, Tape, grads_of};
use crate::model::{Activation, BiasPosition, BlockSpec, Dims, Params, ResNet};
use crate::paths::{Init, PathCache};
use crate::rng;
use rand::Rng as _;

const EPS: f64 = 1e-6;

fn random(seed: u64, n: usize, scale: f64) -> Vec<f64> {
    let mut r = rng::stream(seed, &[42]);
    (0..n)
        .map(|_| scale * (2.0 * r.random::<f64>() - 1.0))
        .collect()
}

/// `||a - b|| / ||b||` over a tensor.
fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

/// Central differences of `f` with respect to every entry of every tensor of `params`.
fn numerical(params: &Params<f64>, mut f: impl FnMut(&Params<f64>) -> f64) -> Params<f64> {
    let mut p = params.clone();
    let mut g = params.clone();
    for t in 0..5 {
        for i in 0..p.tensors_mut()[t].len() {
            let x = p.tensors_mut()[t][i];
            p.tensors_mut()[t][i] = x + EPS;
            let up = f(&p);
            p.tensors_mut()[t][i] = x - EPS;
            let down = f(&p);
            p.tensors_mut()[t][i] = x;
            g.tensors_mut()[t][i] = (up - down) / (2.0 * EPS);
        }
    }
    g
}

/// `h_0 = A x` for `n` columns, written out.
fn embed_host(net: &ResNet<f64>, x: &[f64], n: usize) -> Vec<f64> {
    let (d, n_in) = (net.dims.width, net.dims.n_in);
    let mut h0 = vec![0.0; d * n];
    for c in 0..n {
        for i in 0..d {
            h0[c * d + i] = (0..n_in)
                .map(|j| net.params.embed[i * n_in + j] * x[c * n_in + j])
                .sum();
        }
    }
    h0
}

/// The forward stack of `net` from `h0` on the CPU: `(h_L, pre-activations)`.
fn stack(net: &ResNet<f64>, h0: &[f64], alpha: &[f64], keep: Keep) -> (Vec<f64>, Vec<f64>) {
    let (tape, _) = forward(net, h0, alpha, keep);
    (tape.h_last, tape.pre)
}

/// The forward stack of `net` from `h0`, with its tape and parameters in the backend.
fn forward(
    net: &ResNet<f64>,
    h0: &[f64],
    alpha: &[f64],
    keep: Keep,
) -> (Tape<Vec<f64>>, NetBatch<f64, CpuBackend>) {
    let backend = CpuBackend::new();
    let batch = NetBatch::from_network(backend, net).unwrap();
    let shape = batch.stack_shape(alpha.len());
    let mut tape: Tape<Vec<f64>> = Tape::new(&backend, shape, keep);
    tape.h0.copy_from_slice(h0);
    let mut scratch = vec![0.0; Backend::<f64>::stack_scratch(&backend, &net.block, shape)];
    let alpha = alpha.to_vec();
    backend.forward_stack(
        &net.block,
        shape,
        batch.weights(),
        &alpha,
        &mut tape,
        keep,
        &mut scratch,
    );
    (tape, batch)
}

fn assert_close(analytic: &Params<f64>, fd: &Params<f64>) {
    for ((name, a), (_, b)) in analytic.named().into_iter().zip(fd.named()) {
        if b.is_empty() {
            continue;
        }
        assert!(b.iter().any(|v| v.abs() > 1e-8), "{name}: zero gradient");
        let e = rel_err(a, b);
        assert!(e < 1e-6, "{name}: relative error {e:e}");
    }
}

#[test]
fn training_model_gradient_matches_finite_differences() {
    let dims = Dims {
        n_in: 7,
        width: 5,
        n_out: 10,
        depth: 6,
        inner_width: 5,
    };
    let n = 4;
    let mut net = init_network::<f64>(3, dims, Init::Uniform).unwrap();
    net.params.bias = random(1, dims.depth * dims.width, 0.5);
    let x = random(2, dims.n_in * n, 1.0);
    let labels = [3u8, 0, 9, 3];
    let alpha = residual_scale(dims.depth, 0.5);

    // no ReLU kink within reach of the perturbations
    let (_, pre) = stack(
        &net,
        &embed_host(&net, &x, n),
        &[alpha; 4],
        Keep::PreActivations,
    );
    let closest = pre.iter().fold(f64::INFINITY, |m, v| m.min(v.abs()));
    assert!(
        closest > 1e-3,
        "a pre-activation is {closest:e} from the kink"
    );

    let mut ws = Workspace::new(&net.block, dims, n);
    let mut grads = net.params.clone();
    let batch = NetBatch::from_network(CpuBackend::new(), &net).unwrap();
    let loss = ws.loss_and_grad(&batch, alpha, &x, &labels, &mut grads);
    assert!(loss.is_finite() && loss > 0.0);
    let mut scratch = grads.clone();
    let fd = numerical(&net.params, |p| {
        let probe = ResNet {
            params: p.clone(),
            ..net.clone()
        };
        let batch = NetBatch::from_network(CpuBackend::new(), &probe).unwrap();
        ws.loss_and_grad(&batch, alpha, &x, &labels, &mut scratch)
    });
    assert_close(&grads, &fd);
}

#[test]
fn res3_inside_bias_tanh_stack_gradient_matches_finite_differences() {
    let block = BlockSpec {
        inner: true,
        bias: BiasPosition::Inside,
        activation: Activation::Tanh,
    };
    let dims = Dims {
        n_in: 5,
        width: 5,
        n_out: 5,
        depth: 6,
        inner_width: 5,
    };
    let (d, n) = (dims.width, 4);
    let mut net = ResNet::<f64>::zeros(block, dims).unwrap();
    let cache = PathCache::new();
    Init::Gaussian
        .sample_stack(6, d, d, &cache, &mut rng::stream(1, &[]), &mut net.params.v)
        .unwrap();
    Init::Gaussian
        .sample_stack(6, d, d, &cache, &mut rng::stream(2, &[]), &mut net.params.w)
        .unwrap();
    net.params.bias = random(3, dims.depth * d, 0.5);
    let h0 = random(4, d * n, 1.0);
    let c = random(5, d * n, 1.0);
    // distinct per-column scales exercise the alpha broadcast
    let alpha = [0.9, 0.4, 0.6, 0.25];
    let objective = |net: &ResNet<f64>, h0: &[f64]| {
        let (h_last, _) = stack(net, h0, &alpha, Keep::Output);
        h_last.iter().zip(&c).map(|(h, c)| h * c).sum::<f64>()
    };

    let (tape, batch) = forward(&net, &h0, &alpha, Keep::PreAndInputs);
    let mut grads = net.params.clone();
    grads.fill_zero();
    let mut p = c.clone();
    let backend = CpuBackend::new();
    let shape = batch.stack_shape(alpha.len());
    let mut scratch = vec![0.0; Backend::<f64>::stack_scratch(&backend, &block, shape)];
    backend.backward_stack(
        &block,
        shape,
        batch.weights(),
        &alpha.to_vec(),
        &tape,
        &mut p,
        Some(grads_of(&block, &mut grads)),
        &mut scratch,
    );
    let dh0 = p;
    let fd = numerical(&net.params, |params| {
        let probe = ResNet {
            params: params.clone(),
            ..net.clone()
        };
        objective(&probe, &h0)
    });
    // embedding and readout are not part of the stack
    for t in [&mut grads.embed, &mut grads.readout] {
        t.clear();
    }
    let mut fd = fd;
    fd.embed.clear();
    fd.readout.clear();
    assert_close(&grads, &fd);

    // and the gradient with respect to the input of the stack
    let fd_h0: Vec<f64> = (0..h0.len())
        .map(|i| {
            let (mut up, mut down) = (h0.clone(), h0.clone());
            up[i] += EPS;
            down[i] -= EPS;
            (objective(&net, &up) - objective(&net, &down)) / (2.0 * EPS)
        })
        .collect();
    let e = rel_err(&dh0, &fd_h0);
    assert!(e < 1e-6, "dh0: relative error {e:e}");
}

#[test]
fn f32_training_gradient_agrees_with_f64() {
    // the f32 path (AVX-512 kernels where available) against the f64 generic path
    let dims = Dims {
        n_in: 40,
        width: 30,
        n_out: 10,
        depth: 50,
        inner_width: 30,
    };
    let n = 19;
    let net64 = init_network::<f64>(5, dims, Init::Uniform).unwrap();
    let mut net32 = init_network::<f32>(5, dims, Init::Uniform).unwrap();
    net32.params.bias = random(6, dims.depth * dims.width, 0.2)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let net64 = ResNet {
        params: Params {
            bias: net32.params.bias.iter().map(|&v| f64::from(v)).collect(),
            ..net64.params
        },
        ..net64
    };
    let x64 = random(7, dims.n_in * n, 1.0);
    let x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i * 7 % 10) as u8).collect();
    let alpha = residual_scale(dims.depth, 0.5);

    let mut g64 = net64.params.clone();
    let b64 = NetBatch::from_network(CpuBackend::new(), &net64).unwrap();
    let l64 =
        Workspace::new(&net64.block, dims, n).loss_and_grad(&b64, alpha, &x64, &labels, &mut g64);
    let mut g32 = net32.params.clone();
    let b32 = NetBatch::from_network(CpuBackend::new(), &net32).unwrap();
    let l32 = Workspace::new(&net32.block, dims, n).loss_and_grad(
        &b32,
        alpha as f32,
        &x32,
        &labels,
        &mut g32,
    );
    assert!((l32 - l64).abs() < 1e-5 * l64, "{l32} vs {l64}");
    for ((name, a), (_, b)) in g32.named().into_iter().zip(g64.named()) {
        if b.is_empty() {
            continue;
        }
        let a: Vec<f64> = a.iter().map(|&v| f64::from(v)).collect();
        let e = rel_err(&a, b);
        // f32 rounding (unit 6e-8) through 50 layers; observed ~3e-7
        assert!(e < 1e-5, "{name}: relative error {e:e}");
    }
}

#[test]
fn res3_mse_training_gradient_matches_finite_differences() {
    // the ode-after-training model: res3, no bias, smooth activation, MSE on target vectors,
    // every tensor (A, V, W, B) trained
    use super::TrainConfig;
    use super::task::{BlockKind, Targets};
    for activation in [Activation::Sigmoid, Activation::Tanh, Activation::Identity] {
        let cfg = TrainConfig {
            depth: 6,
            width: 5,
            block: BlockKind::Res3,
            activation,
            bias: false,
            init_v: Init::Gaussian,
            init_w: Init::Gaussian,
            ..TrainConfig::default()
        };
        let dims = cfg.dims(4, 3);
        let n = 3;
        let net = super::net::init_training::<f64>(&cfg, dims, &PathCache::new()).unwrap();
        assert!(net.block.inner && !net.block.has_bias());
        let x = random(8, dims.n_in * n, 1.0);
        let y = random(9, dims.n_out * n, 1.0);
        let alpha = residual_scale(dims.depth, 1.0);
        let mut ws = Workspace::new(&net.block, dims, n);
        let mut run = |params: &Params<f64>, grads: &mut Params<f64>| {
            let probe = ResNet {
                params: params.clone(),
                ..net.clone()
            };
            let batch = NetBatch::from_network(CpuBackend::new(), &probe).unwrap();
            ws.write_inputs(dims.n_in, n, |h| h.copy_from_slice(&x));
            ws.loss_and_grad_targets(&batch, alpha, Targets::Values(&y), n, grads)
        };
        let mut grads = net.params.clone();
        let loss = run(&net.params, &mut grads);
        assert!(loss.is_finite() && loss > 0.0);
        let mut scratch = grads.clone();
        let fd = numerical(&net.params, |p| run(p, &mut scratch));
        assert_close(&grads, &fd);
        // two halves of the batch add up to the whole batch's loss
        let mut g2 = grads.clone();
        let probe = NetBatch::from_network(CpuBackend::new(), &net).unwrap();
        ws.write_inputs(dims.n_in, 2, |h| h.copy_from_slice(&x[..2 * dims.n_in]));
        let l0 = ws.loss_and_grad_targets(&probe, alpha, Targets::Values(&y[..6]), n, &mut g2);
        ws.write_inputs(dims.n_in, 1, |h| h.copy_from_slice(&x[2 * dims.n_in..]));
        let l1 = ws.loss_and_grad_targets(&probe, alpha, Targets::Values(&y[6..]), n, &mut g2);
        assert!(
            (l0 + l1 - loss).abs() < 1e-12 * loss,
            "{l0} + {l1} vs {loss}"
        );
    }
}
