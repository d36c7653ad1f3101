use super::*;
use crate::kernels::{StackWeights, weights_of};
use crate::model::{Activation, BlockSpec, Dims};
use crate::paths::{Init, PathCache};
use crate::rng::stream;
use rand::Rng;

fn random_res3(dims: Dims, seed: u64) -> ResNet<f64> {
    let mut net = ResNet::zeros(BlockSpec::res3(Activation::Relu), dims).unwrap();
    let cache = PathCache::new();
    let mut rng = stream(seed, &[]);
    let (d, l) = (dims.width, dims.depth);
    let p = &mut net.params;
    Init::Uniform
        .sample_stack(1, d, dims.n_in, &cache, &mut rng, &mut p.embed)
        .unwrap();
    Init::Uniform
        .sample_stack(l, d, d, &cache, &mut rng, &mut p.v)
        .unwrap();
    Init::Uniform
        .sample_stack(l, d, d, &cache, &mut rng, &mut p.w)
        .unwrap();
    Init::Uniform
        .sample_stack(1, dims.n_out, d, &cache, &mut rng, &mut p.readout)
        .unwrap();
    net
}

#[test]
fn norms_do_not_overflow_and_flag_infinities() {
    assert!((stable_norm(&[3e200, 4e200]) / 5e200 - 1.0).abs() < 1e-15);
    assert_eq!(stable_norm(&[0.0, 0.0]), 0.0);
    assert_eq!(stable_norm(&[1.0, f64::NAN]), f64::INFINITY);
    assert_eq!(stable_norm_diff(&[1.0, 2.0], &[1.0, 0.0]), 2.0);
}

/// The closed forms `E||h_L||^2 = (1 + alpha^2/2)^L ||h_0||^2` for res3 with ReLU and
/// symmetric weights of variance 1/d, and (the increments being martingale differences)
/// `E||h_L - h_0||^2 = ((1 + alpha^2/2)^L - 1) ||h_0||^2`, checked by Monte Carlo over
/// weight draws.
#[test]
fn res3_relu_second_moments_match_closed_forms() {
    let dims = Dims {
        n_in: 6,
        width: 8,
        n_out: 1,
        depth: 20,
        inner_width: 8,
    };
    let beta = 0.25;
    let alpha = (dims.depth as f64).powf(-beta);
    let want = (1.0 + alpha * alpha / 2.0).powi(dims.depth as i32);
    let draws = 3000;
    let mut prober = Prober::new(64);
    let (mut ratios, mut diffs) = (Vec::with_capacity(draws), Vec::with_capacity(draws));
    let mut out = Vec::new();
    for draw in 0..draws {
        let net = random_res3(dims, draw as u64);
        let mut rng = stream(99, &[draw as u64]);
        let x: Vec<f64> = (0..dims.n_in).map(|_| rng.random()).collect();
        out.clear();
        prober
            .probe_network(&net, &[alpha], &x, &[0.5], &mut out)
            .unwrap();
        ratios.push(out[0].h_ratio.powi(2));
        diffs.push(out[0].h_diff.powi(2));
    }
    for (what, values, closed) in [
        ("h_ratio^2", &ratios, want),
        ("h_diff^2", &diffs, want - 1.0),
    ] {
        let (mean, half) = crate::stats::mean_ci95(values);
        // 99.9% interval: 3.3 standard errors (the 95% half-width is 1.96 of them).
        let tol = half / 1.96 * 3.3;
        assert!(
            (mean - closed).abs() < tol,
            "{what}: mean {mean} vs closed form {closed} (tol {tol})"
        );
    }
}

/// `dloss/dh_0` from the backward stack matches finite differences of the loss
/// `||B h_L - y||^2` in `h_0` (f64), with columns of different scales in one batch.
#[test]
fn backward_matches_finite_differences() {
    let dims = Dims {
        n_in: 5,
        width: 6,
        n_out: 2,
        depth: 7,
        inner_width: 6,
    };
    let net = random_res3(dims, 3);
    let backend = CpuBackend::new();
    let nets = NetBatch::from_network(backend, &net).unwrap();
    let alpha = vec![0.7, 0.3];
    let n = alpha.len();
    let (d, n_out) = (dims.width, dims.n_out);
    let shape = nets.stack_shape(n);
    let readout = ProductShape {
        networks: 1,
        rows: n_out,
        cols: d,
        columns: n,
    };
    let mut rng = stream(5, &[]);
    let h0: Vec<f64> = (0..d * n).map(|_| rng.random::<f64>() - 0.5).collect();
    let y: Vec<f64> = (0..n_out * n).map(|_| rng.random()).collect();
    let weights: StackWeights<'_, Vec<f64>> = weights_of(nets.block(), nets.params());
    let forward = |h0: &[f64]| {
        let mut tape: Tape<Vec<f64>> = Tape::new(&backend, shape, Keep::PreActivations);
        tape.h0.copy_from_slice(h0);
        let mut scratch = vec![0.0; Backend::<f64>::stack_scratch(&backend, nets.block(), shape)];
        backend.forward_stack(
            nets.block(),
            shape,
            weights,
            &alpha,
            &mut tape,
            Keep::PreActivations,
            &mut scratch,
        );
        let mut r = vec![0.0; n_out * n];
        backend.product(
            &net.params.readout,
            Op::Plain,
            &tape.h_last,
            &mut r,
            readout,
            1.0,
            false,
            &mut Vec::new(),
        );
        backend.axpy(-1.0, &y, &mut r, n_out * n);
        (tape, r)
    };
    let loss = |h0: &[f64]| forward(h0).1.iter().map(|r| r * r).sum::<f64>();
    let (tape, r) = forward(&h0);
    let mut p = vec![0.0; d * n];
    backend.product(
        &net.params.readout,
        Op::Transposed,
        &r,
        &mut p,
        readout,
        2.0,
        false,
        &mut Vec::new(),
    );
    let mut scratch = vec![0.0; Backend::<f64>::stack_scratch(&backend, nets.block(), shape)];
    backend.backward_stack(
        nets.block(),
        shape,
        weights,
        &alpha,
        &tape,
        &mut p,
        None,
        &mut scratch,
    );
    let eps = 1e-6;
    for i in 0..h0.len() {
        let mut hp = h0.clone();
        hp[i] += eps;
        let mut hm = h0.clone();
        hm[i] -= eps;
        let fd = (loss(&hp) - loss(&hm)) / (2.0 * eps);
        assert!(
            (fd - p[i]).abs() < 1e-6 * (1.0 + fd.abs()),
            "dL/dh0[{i}]: fd {fd} vs {}",
            p[i]
        );
    }
}

/// Probing a batch of networks together gives, bit for bit, what probing each alone gives,
/// whatever the chunking of the columns.
#[test]
fn a_batch_of_networks_probes_like_each_alone() {
    let dims = Dims {
        n_in: 4,
        width: 9,
        n_out: 2,
        depth: 12,
        inner_width: 9,
    };
    let nets: Vec<ResNet<f64>> = (0..3).map(|s| random_res3(dims, 10 + s)).collect();
    let alpha = [0.9, 0.5, 0.3, 0.2, 0.1];
    let n = alpha.len();
    let mut rng = stream(4, &[]);
    let x: Vec<f64> = (0..3 * dims.n_in * n).map(|_| rng.random()).collect();
    let y: Vec<f64> = (0..3 * dims.n_out * n).map(|_| rng.random()).collect();
    let mut prober = Prober::new(2);
    let batch = prober.load(nets[0].block, dims, 3).unwrap();
    for (b, net) in nets.iter().enumerate() {
        batch.set_network(b, net);
    }
    let mut together = Vec::new();
    prober.probe(&alpha, &x, &y, &mut together);
    let mut alone = Vec::new();
    for (b, net) in nets.iter().enumerate() {
        let xs = &x[b * dims.n_in * n..(b + 1) * dims.n_in * n];
        let ys = &y[b * dims.n_out * n..(b + 1) * dims.n_out * n];
        Prober::new(2)
            .probe_network(net, &alpha, xs, ys, &mut alone)
            .unwrap();
    }
    assert_eq!(together, alone);
    // a larger chunk reorders nothing either
    let mut wide = Vec::new();
    let mut prober = Prober::new(64);
    let batch = prober.load(nets[0].block, dims, 3).unwrap();
    for (b, net) in nets.iter().enumerate() {
        batch.set_network(b, net);
    }
    prober.probe(&alpha, &x, &y, &mut wide);
    for (a, b) in wide.iter().zip(&together) {
        for (u, v) in [
            (a.h_ratio, b.h_ratio),
            (a.h_diff, b.h_diff),
            (a.g_ratio, b.g_ratio),
            (a.g_diff, b.g_diff),
        ] {
            assert!((u - v).abs() <= 1e-12 * v.abs(), "{u} vs {v}");
        }
    }
}

#[test]
fn explosion_is_recorded_as_infinity() {
    let dims = Dims {
        n_in: 4,
        width: 4,
        n_out: 1,
        depth: 30,
        inner_width: 4,
    };
    let mut net = random_res3(dims, 1);
    for v in net.params.v.iter_mut().chain(net.params.w.iter_mut()) {
        *v = v.abs() * 1e6;
    }
    let mut out = Vec::new();
    Prober::new(8)
        .probe_network(&net, &[1.0], &[0.5; 4], &[0.5], &mut out)
        .unwrap();
    let m = out[0];
    assert_eq!(m.h_ratio, f64::INFINITY);
    assert_eq!(m.g_ratio, f64::INFINITY);
}
