use super::*;
use crate::limits::{self, FourierPath, Solver as _, Term};
use crate::model::Activation;
use crate::stats::loglog_slope;

const DIMS: OdeDims = OdeDims {
    n_in: 4,
    width: 3,
    n_out: 3,
};

/// A batch of `n` inputs (`n_in x n`, column-major) and labels.
fn batch(n: usize) -> (Vec<f64>, Vec<u8>) {
    let x = (0..DIMS.n_in * n)
        .map(|i| ((i as f64) * 0.77).sin() * 1.3)
        .collect();
    let y = (0..n).map(|i| (i % DIMS.n_out) as u8).collect();
    (x, y)
}

fn loss(net: &OdeNet, x: &[f64], y: &[u8], solve: Solve) -> f64 {
    evaluate(net, x, y, solve).0
}

/// Central finite differences of the discretized loss, every parameter.
fn finite_differences(net: &OdeNet, x: &[f64], y: &[u8], solve: Solve) -> Vec<f64> {
    let mut net = net.clone();
    let eps = 1e-6;
    (0..net.n_params())
        .map(|i| {
            let p0 = *net.param_mut(i);
            *net.param_mut(i) = p0 + eps;
            let up = loss(&net, x, y, solve);
            *net.param_mut(i) = p0 - eps;
            let down = loss(&net, x, y, solve);
            *net.param_mut(i) = p0;
            (up - down) / (2.0 * eps)
        })
        .collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn backprop_and_checkpoint_equal_finite_differences_and_each_other() {
    let (x, y) = batch(5);
    let nets = [
        iid_net(DIMS, 4, 1.0, true, Activation::Tanh, 1),
        smooth_net(DIMS, 0.5, true, Activation::Gelu, 2).unwrap(),
        iid_net(DIMS, 3, 0.5, false, Activation::Tanh, 3),
    ];
    for net in &nets {
        for (scheme, steps) in [
            (Scheme::Euler, 4),
            (Scheme::Heun, 6),
            (Scheme::Rk4, 8),
            (Scheme::Dopri5, 3),
            (Scheme::Euler, 13),
        ] {
            let solve = Solve { scheme, steps };
            let bp = loss_and_grad(net, &x, &y, solve, GradientMethod::Backprop).unwrap();
            let cp = loss_and_grad(net, &x, &y, solve, GradientMethod::Checkpoint).unwrap();
            // same steps, same order of accumulation: bitwise
            assert_eq!(bp.grads, cp.grads, "{scheme} {steps}");
            assert_eq!(bp.loss.to_bits(), cp.loss.to_bits());
            assert_eq!(bp.loss.to_bits(), loss(net, &x, &y, solve).to_bits());
            let fd = finite_differences(net, &x, &y, solve);
            let g = bp.grads.flat();
            let scale = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let err = max_abs_diff(&g, &fd);
            assert!(
                err < 1e-8 * scale.max(1.0),
                "{scheme} {steps}: max |grad - fd| = {err:e} (scale {scale:e})"
            );
        }
    }
}

#[test]
fn memory_backprop_linear_checkpoint_sqrt_adjoint_constant() {
    let (x, y) = batch(2);
    let net = iid_net(DIMS, 100, 1.0, true, Activation::Tanh, 4);
    let peak = |m| {
        loss_and_grad(
            &net,
            &x,
            &y,
            Solve {
                scheme: Scheme::Euler,
                steps: 100,
            },
            m,
        )
        .unwrap()
        .peak_states
    };
    assert_eq!(peak(GradientMethod::Backprop), 101);
    assert_eq!(peak(GradientMethod::Checkpoint), 20);
    assert_eq!(peak(GradientMethod::Adjoint), 2);
}

#[test]
fn euler_on_piecewise_weights_is_the_resnet() {
    let (x, _) = batch(3);
    let layers = 7;
    let net = iid_net(DIMS, layers, 0.5, true, Activation::Tanh, 5);
    let h = forward(
        &net,
        &x,
        Solve {
            scheme: Scheme::Euler,
            steps: layers,
        },
    );
    // the ResNet written out: h_k = h_{k-1} + L^-1 V(t) tanh(W_k h_{k-1}), V(t) = L^{1/2} V_k
    let d = DIMS.width;
    let (pv, pw) = net.path.params().split_at(layers * d * d);
    let mut h_ref = vec![0.0; d * 3];
    net.embed_into(&x, &mut h_ref);
    for k in 0..layers {
        let (v, w) = (&pv[k * d * d..][..d * d], &pw[k * d * d..][..d * d]);
        for hc in h_ref.chunks_exact_mut(d) {
            let g: Vec<f64> = (0..d)
                .map(|i| (0..d).map(|j| w[i * d + j] * hc[j]).sum::<f64>().tanh())
                .collect();
            let upd: Vec<f64> = (0..d)
                .map(|i| (0..d).map(|j| v[i * d + j] * g[j]).sum::<f64>())
                .collect();
            for (hi, u) in hc.iter_mut().zip(upd) {
                *hi += u / layers as f64;
            }
        }
    }
    assert!(max_abs_diff(&h, &h_ref) < 1e-14, "{h:?} vs {h_ref:?}");
}

#[test]
fn rk4_forward_matches_the_limits_solver_on_the_same_term() {
    let d = 3;
    let v = FourierPath::sines(d, 3, 0.7);
    let w = FourierPath::sines(d, 2, 0.9);
    let net = OdeNet {
        n_in: d,
        n_out: 1,
        embed: (0..d * d)
            .map(|i| if i % (d + 1) == 0 { 1.0 } else { 0.0 })
            .collect(),
        readout: vec![0.0; d],
        path: WeightPath::fourier(&v, Some(&w)),
        activation: Activation::Tanh,
    };
    let h0 = vec![0.3, -0.8, 1.1];
    let steps = 16;
    let ours = forward(
        &net,
        &h0,
        Solve {
            scheme: Scheme::Rk4,
            steps,
        },
    );
    let sampled = limits::Sampled::Smooth(v.clone());
    let term = Term::new(&sampled, Some(&w), Activation::Tanh);
    let mut theirs = h0.clone();
    let mut rk4 = limits::Rk4::new(d);
    assert_eq!(rk4.order(), Scheme::Rk4.order());
    assert_eq!(limits::Euler::new(d).order(), Scheme::Euler.order());
    assert_eq!(limits::Heun::new(d).order(), Scheme::Heun.order());
    limits::integrate(&mut rk4, &term, steps, &mut theirs, |_, _| {});
    assert!(
        max_abs_diff(&ours, &theirs) < 1e-13,
        "{ours:?} vs {theirs:?}"
    );
}

/// The adjoint gradient converges to the exact discrete gradient at the scheme's order.
fn gap_slope(scheme: Scheme, steps: &[usize]) -> (f64, Vec<f64>) {
    let (x, y) = batch(4);
    let net = smooth_net(DIMS, 0.4, true, Activation::Tanh, 6).unwrap();
    let gaps = gap_study(&net, &x, &y, scheme, steps).unwrap();
    let n: Vec<f64> = steps.iter().map(|&s| s as f64).collect();
    (loglog_slope(&n, &gaps).unwrap(), gaps)
}

#[test]
fn adjoint_gap_shrinks_at_euler_order() {
    let (slope, gaps) = gap_slope(Scheme::Euler, &[16, 32, 64, 128]);
    assert!((slope + 1.0).abs() < 0.15, "slope {slope}, gaps {gaps:?}");
}

#[test]
fn adjoint_gap_shrinks_at_rk4_order() {
    let (slope, gaps) = gap_slope(Scheme::Rk4, &[16, 32, 64, 128]);
    assert!((slope + 4.0).abs() < 0.4, "slope {slope}, gaps {gaps:?}");
    assert!(gaps[3] < 1e-7, "gaps {gaps:?}");
}

#[test]
fn adjoint_gradient_matches_finite_differences_of_a_fine_solve() {
    // the continuous loss's gradient: finite differences of a fine RK4 solve
    let (x, y) = batch(3);
    let net = smooth_net(DIMS, 0.5, true, Activation::Tanh, 7).unwrap();
    let fine = Solve {
        scheme: Scheme::Rk4,
        steps: 64,
    };
    let adj = loss_and_grad(&net, &x, &y, fine, GradientMethod::Adjoint).unwrap();
    let fd = finite_differences(&net, &x, &y, fine);
    let err = relative_error(&adj.grads.flat(), &fd);
    assert!(err < 1e-7, "relative error {err:e}");
    assert!(adj.h0_error < 1e-10, "h0 error {}", adj.h0_error);
}

#[test]
fn reconstruction_is_accurate_for_smooth_weights_and_fails_for_iid_at_beta_half() {
    // measured (d = 3): smooth 1.0e-2, 1.0e-3 at L = 100, 1000 (first order); i.i.d. at
    // beta = 1/2: 0.256, 0.256 (does not vanish with depth)
    let (x, _) = batch(8);
    let errors = |layers: usize| {
        let euler = Solve {
            scheme: Scheme::Euler,
            steps: layers,
        };
        let smooth = smooth_net(DIMS, 0.3, false, Activation::Tanh, 8).unwrap();
        let iid = iid_net(DIMS, layers, 0.5, false, Activation::Tanh, 8);
        (
            reconstruction_error(&smooth, &x, euler),
            reconstruction_error(&iid, &x, euler),
        )
    };
    let (s100, i100) = errors(100);
    let (s1000, i1000) = errors(1000);
    assert!(
        s1000 < 2e-3 && s100 / s1000 > 8.0,
        "smooth: {s100:e}, {s1000:e}"
    );
    assert!(
        i1000 > 0.1 && i100 / i1000 < 1.5,
        "iid: {i100:e}, {i1000:e}"
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    let (x, y) = batch(2);
    let net = iid_net(DIMS, 2, 1.0, true, Activation::Tanh, 9);
    let zero = Solve {
        scheme: Scheme::Euler,
        steps: 0,
    };
    let e = loss_and_grad(&net, &x, &y, zero, GradientMethod::Adjoint).unwrap_err();
    assert!(e.to_string().contains("steps"), "{e}");
    let e = loss_and_grad(
        &net,
        &x[1..],
        &y,
        Solve { steps: 2, ..zero },
        GradientMethod::Backprop,
    )
    .unwrap_err();
    assert!(e.to_string().contains("batch"), "{e}");
    assert!("adjoin".parse::<GradientMethod>().is_err());
    assert_eq!(
        "checkpoint".parse::<GradientMethod>().unwrap(),
        GradientMethod::Checkpoint
    );
}

#[test]
fn adaptive_dopri5_adjoint_matches_the_fine_exact_gradient_and_refines_with_tolerance() {
    let (x, y) = batch(4);
    let net = smooth_net(DIMS, 0.4, true, Activation::Tanh, 10).unwrap();
    let fine = Solve {
        scheme: Scheme::Rk4,
        steps: 512,
    };
    let exact = loss_and_grad(&net, &x, &y, fine, GradientMethod::Backprop).unwrap();
    let run = |tol: f64| {
        adjoint_adaptive(
            &net,
            &x,
            &y,
            Tolerances {
                rtol: tol,
                atol: tol,
            },
        )
        .unwrap()
    };
    let (loose, tight) = (run(1e-4), run(1e-10));
    let err = |r: &AdaptiveReport| relative_error(&r.report.grads.flat(), &exact.grads.flat());
    // measured: 1.8e-8 at rtol = atol = 1e-10
    assert!(err(&tight) < 1e-7, "tight: {:e}", err(&tight));
    assert!(
        err(&loose) > err(&tight),
        "{:e} {:e}",
        err(&loose),
        err(&tight)
    );
    assert!((tight.report.loss - exact.loss).abs() < 1e-10);
    assert!(
        tight.forward_steps > loose.forward_steps && tight.backward_steps > loose.backward_steps
    );
    assert!(tight.report.h0_error < 1e-8);
    let piecewise = iid_net(DIMS, 4, 1.0, true, Activation::Tanh, 10);
    let e = adjoint_adaptive(
        &piecewise,
        &x,
        &y,
        Tolerances {
            rtol: 1e-6,
            atol: 1e-6,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("path"), "{e}");
}

/// A trajectory's observations: irregular times (one repeated, some beyond `t = 1`).
fn series_obs() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let x0 = vec![0.3, -0.7, 1.1, 0.2];
    let times = vec![0.0, 0.13, 0.4, 0.4, 0.71, 1.0, 1.3];
    let values = (0..times.len() * DIMS.n_out)
        .map(|i| ((i as f64) * 1.3).cos())
        .collect();
    (x0, times, values)
}

#[test]
fn series_backprop_equals_finite_differences_and_adjoint_converges_at_first_order() {
    let (x0, times, values) = series_obs();
    let obs = Observations {
        x0: &x0,
        times: &times,
        values: &values,
    };
    let mut net = smooth_net(DIMS, 0.5, true, Activation::Tanh, 7).unwrap();
    let g = series_loss_and_grad(
        &net,
        &obs,
        Scheme::Heun,
        0.05,
        Some(GradientMethod::Backprop),
    )
    .unwrap();
    let eps = 1e-6;
    let fd: Vec<f64> = (0..net.n_params())
        .map(|i| {
            let p0 = *net.param_mut(i);
            let mut at = |p| {
                *net.param_mut(i) = p;
                series_loss_and_grad(&net, &obs, Scheme::Heun, 0.05, None)
                    .unwrap()
                    .loss
            };
            let (up, down) = (at(p0 + eps), at(p0 - eps));
            *net.param_mut(i) = p0;
            (up - down) / (2.0 * eps)
        })
        .collect();
    assert!(max_abs_diff(&g.grads.flat(), &fd) < 1e-8);
    let gap = |max_dt: f64| {
        let [exact, adj] = [GradientMethod::Backprop, GradientMethod::Adjoint].map(|m| {
            series_loss_and_grad(&net, &obs, Scheme::Euler, max_dt, Some(m))
                .unwrap()
                .grads
                .flat()
        });
        relative_error(&adj, &exact)
    };
    let ratio = gap(0.01) / gap(0.005);
    assert!((1.7..2.3).contains(&ratio), "first order: ratio {ratio}");
    assert!(
        series_loss_and_grad(
            &net,
            &obs,
            Scheme::Euler,
            0.1,
            Some(GradientMethod::Checkpoint)
        )
        .is_err()
    );
}

#[test]
fn series_on_the_layer_grid_is_the_resnet() {
    let net = iid_net(DIMS, 8, 1.0, true, Activation::Tanh, 8);
    let (x0, _, _) = series_obs();
    let h1 = forward(
        &net,
        &x0,
        Solve {
            scheme: Scheme::Euler,
            steps: 8,
        },
    );
    let mut logits = [0.0; DIMS.n_out];
    for (l, row) in logits.iter_mut().zip(net.readout.chunks_exact(DIMS.width)) {
        *l = row.iter().zip(&h1).map(|(b, h)| b * h).sum();
    }
    let p = predict(&net, &x0, &[0.25, 1.0], Scheme::Euler, 0.125).unwrap();
    assert_eq!(&p[DIMS.n_out..], &logits[..]);
    assert!(predict(&net, &x0, &[0.5, 0.25], Scheme::Euler, 0.125).is_err());
}
