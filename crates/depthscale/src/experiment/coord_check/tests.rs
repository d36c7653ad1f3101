use super::measure::{Forward, l1, l1_diff, recorded_layers};
use super::report::ratio;
use crate::kernels::CpuBackend;
use crate::model::{Dims, ResNet};
use crate::paths::Init;
use crate::probe::{Prober, stable_norm, stable_norm_diff};
use crate::train::{init_network, residual_scale};

#[test]
fn recorded_layers_are_log_spaced_and_keep_the_ends() {
    assert_eq!(recorded_layers(5, 16), vec![0, 1, 2, 3, 4, 5]);
    let k = recorded_layers(4096, 16);
    assert_eq!((k[0], k[1], *k.last().unwrap()), (0, 1, 4096));
    assert!(k.len() <= 16 && k.windows(2).all(|w| w[0] < w[1]));
    // log-spaced: consecutive ratios roughly constant after the first few
    let r: Vec<f64> = k[4..]
        .windows(2)
        .map(|w| w[1] as f64 / w[0] as f64)
        .collect();
    assert!(r.iter().all(|x| (x / r[0] - 1.0).abs() < 0.1), "{r:?}");
}

/// At t = 0 the coord check's hidden states are the probe's: for the same weights, the
/// per-column `||h_L|| / ||h_0||` and `||h_L - h_0|| / ||h_0||` of the host forward equal the
/// probe's `h_ratio` and `h_diff`.
#[test]
fn hidden_states_at_t0_match_the_probe() {
    for (init, beta) in [
        (Init::Uniform, 0.5),
        (Init::Fbm { hurst: 0.7 }, 0.7),
        (Init::Uniform, 0.0),
    ] {
        let dims = Dims::new(7, 6, 3, 40);
        let mut net = init_network::<f32>(3, dims, init).unwrap();
        // a non-zero bias, so that the bias term is exercised too (the probe's block has one)
        for (i, b) in net.params.bias.iter_mut().enumerate() {
            *b = ((i % 5) as f32 - 2.0) * 0.01;
        }
        let n = 5;
        let x: Vec<f64> = (0..dims.n_in * n)
            .map(|i| ((i * 37 % 11) as f64) / 11.0)
            .collect();
        let alpha = residual_scale(dims.depth, beta);
        let d = dims.width;
        let (mut h0, mut hl) = (Vec::new(), Vec::new());
        let mut sum_abs_r = 0.0;
        let layers = recorded_layers(dims.depth, dims.depth + 1);
        let mut fwd = Forward::new(CpuBackend::new(), &net, alpha, &x, n, &layers);
        let mut seen = Vec::new();
        fwd.run(&net, |k, h, prev| {
            seen.push(k);
            if k == 0 {
                h0 = h.to_vec();
            }
            if k == dims.depth {
                hl = h.to_vec();
            }
            if let Some(prev) = prev {
                sum_abs_r += l1_diff(h, prev);
            }
        });
        assert_eq!(seen, layers);
        assert!(sum_abs_r > 0.0);
        let net = to_f64(&net);
        let mut probe = Vec::new();
        Prober::new(8)
            .probe_network(
                &net,
                &vec![alpha; n],
                &x,
                &vec![0.0; dims.n_out * n],
                &mut probe,
            )
            .unwrap();
        for c in 0..n {
            let (a, b) = (&h0[c * d..(c + 1) * d], &hl[c * d..(c + 1) * d]);
            let ratio = stable_norm(b) / stable_norm(a);
            let diff = stable_norm_diff(b, a) / stable_norm(a);
            let close = |u: f64, v: f64| (u - v).abs() <= 1e-12 * v.abs();
            assert!(
                close(ratio, probe[c].h_ratio),
                "{init}: {ratio} vs {}",
                probe[c].h_ratio
            );
            assert!(
                close(diff, probe[c].h_diff),
                "{init}: {diff} vs {}",
                probe[c].h_diff
            );
        }
    }
}

#[test]
fn ratio_flags_explosions() {
    assert_eq!(ratio(&[1.0, 2.0, 1.5]), 2.0);
    assert_eq!(ratio(&[1.0, f64::INFINITY]), f64::INFINITY);
    assert_eq!(ratio(&[1.0, 0.0]), f64::INFINITY);
    assert_eq!(l1(&[1.0, -3.0]), 2.0);
    assert_eq!(l1(&[1.0, f64::NAN]), f64::INFINITY);
}

/// The host network `net` in `f64`.
fn to_f64(net: &ResNet<f32>) -> ResNet<f64> {
    let conv = |v: &Vec<f32>| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    ResNet {
        block: net.block,
        dims: net.dims,
        params: crate::model::Tensors {
            embed: conv(&net.params.embed),
            v: conv(&net.params.v),
            w: conv(&net.params.w),
            bias: conv(&net.params.bias),
            readout: conv(&net.params.readout),
        },
    }
}

/// The forward pass through the backend, segment by segment, gives the same states on the
/// recorded layers and the same logits as an unsegmented pass recording every layer.
#[test]
fn segmented_forward_matches_every_layer() {
    let dims = Dims::new(5, 4, 3, 37);
    let net = init_network::<f32>(1, dims, Init::Uniform).unwrap();
    let n = 3;
    let x: Vec<f64> = (0..dims.n_in * n).map(|i| (i % 7) as f64 / 7.0).collect();
    let alpha = residual_scale(dims.depth, 0.5);
    let all = recorded_layers(dims.depth, dims.depth + 1);
    let mut every = Vec::new();
    let mut fwd = Forward::new(CpuBackend::new(), &net, alpha, &x, n, &all);
    let logits_all = fwd.run(&net, |k, h, _| every.push((k, l1(h)))).to_vec();
    let few = recorded_layers(dims.depth, 5);
    assert!(few.len() < all.len());
    let mut some = Vec::new();
    let mut fwd = Forward::new(CpuBackend::new(), &net, alpha, &x, n, &few);
    let logits = fwd.run(&net, |k, h, prev| {
        some.push((k, l1(h)));
        assert_eq!(prev.is_some(), k > 0);
    });
    assert_eq!(logits, &logits_all[..]);
    let want: Vec<(usize, f64)> = every.into_iter().filter(|(k, _)| few.contains(k)).collect();
    assert_eq!(some, want);
}
