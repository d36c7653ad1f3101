//! Tests of the `implicit-regularization` experiment: the stack's gradients by finite
//! differences at an inner width other than the width, the measurements on hand-built weights,
//! the initialization, and the run end to end (bitwise equal for any thread count).

use super::gd::{GdNet, Problem, distance, increments};
use super::*;
use crate::experiment::{ConfigSource, RunOptions, run};
use crate::kernels::CpuBackend;
use crate::progress::Silent;

fn random(seed: u64, len: usize, scale: f64) -> Vec<f64> {
    let mut r = rng::stream(seed, &[7]);
    (0..len)
        .map(|_| scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut r))
        .collect::<Vec<f64>>()
}

/// Standard normal inputs and targets (`d x n`) and initial `W` (`m x d`).
fn data(d: usize, m: usize, n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    (
        random(1, d * n, 1.0),
        random(2, d * n, 1.0),
        random(3, m * d, 1.0),
    )
}

/// The GELU problem of width `d` and inner width `m` on `(x, y, w0)`.
fn gelu_problem<'a>(
    (x, y, w0): (&'a [f64], &'a [f64], &'a [f64]),
    d: usize,
    m: usize,
) -> Problem<'a> {
    Problem {
        x,
        y,
        w0,
        width: d,
        inner_width: m,
        activation: Activation::Gelu,
    }
}

/// The loss gradient of a depth-5 stack (d = 3, m = 5, GELU, 4 samples, every layer's `V` and
/// `W` different) against central differences of the loss, entry by entry.
#[test]
fn gd_gradients_match_finite_differences_with_inner_width() {
    let (l, d, m, n) = (5, 3, 5, 4);
    let (x, y, w0) = data(d, m, n);
    let problem = gelu_problem((&x, &y, &w0), d, m);
    let mut net = GdNet::new(CpuBackend::new(), problem, l, 0.1);
    let (v, w) = (random(4, l * d * m, 1.0), random(5, l * m * d, 1.0));
    net.set_weights(&v, &w);
    net.evaluate(true);
    let (gv, gw) = net.gradients();
    let (gv, gw) = (gv.to_vec(), gw.to_vec());
    let eps = 1e-6;
    let mut loss_at = |v: &[f64], w: &[f64]| {
        net.set_weights(v, w);
        net.evaluate(false)
    };
    for (which, analytic) in [(0, &gv), (1, &gw)] {
        let mut worst = 0.0f64;
        let scale = analytic.iter().fold(0.0f64, |a, g| a.max(g.abs()));
        assert!(scale > 1e-6, "tensor {which}: zero gradient");
        for i in 0..analytic.len() {
            let (mut vp, mut wp) = (v.clone(), w.clone());
            let (mut vm, mut wm) = (v.clone(), w.clone());
            if which == 0 {
                vp[i] += eps;
                vm[i] -= eps;
            } else {
                wp[i] += eps;
                wm[i] -= eps;
            }
            let fd = (loss_at(&vp, &wp) - loss_at(&vm, &wm)) / (2.0 * eps);
            worst = worst.max((fd - analytic[i]).abs() / scale);
        }
        assert!(worst < 1e-7, "tensor {which}: relative error {worst:e}");
    }
}

/// `V_k = 0` and `W_k = W_0` bitwise in every layer; a small step lowers the loss, and the step
/// is `Z - lr dZ`.
#[test]
fn initialization_and_one_step() {
    let (l, d, m, n) = (7, 4, 6, 10);
    let (x, y, w0) = data(d, m, n);
    let problem = gelu_problem((&x, &y, &w0), d, m);
    let lr = 0.01 * l as f64;
    let mut net = GdNet::new(CpuBackend::new(), problem, l, lr);
    let (v, w) = net.weights();
    assert!(v.iter().all(|&x| x == 0.0));
    for wk in w.chunks_exact(m * d) {
        assert_eq!(wk, &w0[..]);
    }
    let before = net.evaluate(true);
    // with V = 0 the network is the identity: the loss is the mean squared x - y
    let want = x
        .iter()
        .zip(&y)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / (d * n) as f64;
    assert!((before - want).abs() < 1e-15 * want);
    let (gv, gw) = net.gradients();
    let (gv, gw) = (gv.to_vec(), gw.to_vec());
    assert!(gw.iter().all(|&g| g == 0.0), "V = 0: no gradient reaches W");
    net.step();
    let (v, _) = net.weights();
    for (a, g) in v.iter().zip(&gv) {
        assert_eq!(*a, -lr * g);
    }
    assert!(net.evaluate(false) < before);
}

/// Increments and distances of hand-built weights: `V_k = k E`, `W_k = 2 k E`, so that
/// `||Z_(k+1) - Z_k|| = sqrt(5) ||E||`; a depth-2 network against a depth-4 reference.
#[test]
fn measurements_of_known_weights() {
    let layer = 6;
    let e: Vec<f64> = (0..layer).map(|i| i as f64 - 2.0).collect();
    let ne = e.iter().map(|x| x * x).sum::<f64>().sqrt();
    let stack = |l: usize, s: f64| -> Vec<f64> {
        (0..l)
            .flat_map(|k| e.iter().map(move |x| s * k as f64 * x))
            .collect()
    };
    let (v, w) = (stack(5, 1.0), stack(5, 2.0));
    let inc = increments(&v, &w, layer);
    assert!((inc.v - ne).abs() < 1e-12 && (inc.w - 2.0 * ne).abs() < 1e-12);
    assert!((inc.z - 5f64.sqrt() * ne).abs() < 1e-12);
    assert!((inc.rss - (4.0 * 5.0f64).sqrt() * ne).abs() < 1e-12);
    // depth 2 (layers 0, 1) against depth 4 (layers 0..4): layer k meets reference layer 2k;
    // V^2_k = k E, V^4_(2k) = 2k E: distances 0 and sqrt(5) ||E||
    let (v2, w2) = (stack(2, 1.0), stack(2, 2.0));
    let (v4, w4) = (stack(4, 1.0), stack(4, 2.0));
    let dist = distance((&v2, &w2), (&v4, &w4), layer, 2, 4);
    assert!((dist.sup - 5f64.sqrt() * ne).abs() < 1e-12);
    assert!((dist.rms - (5.0f64 / 2.0).sqrt() * ne).abs() < 1e-12);
}

fn tiny_run(threads: usize, out: &std::path::Path) -> serde_json::Value {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let src = ConfigSource::resolve("implicit-regularization").unwrap();
    let opts = RunOptions {
        overrides: vec![
            "depth=[2, 4, 8]".into(),
            "reference_depth=32".into(),
            "steps=4".into(),
            "samples=7".into(),
        ],
        out: Some(out.to_path_buf()),
        ..RunOptions::default()
    };
    pool.install(|| run(src, &opts, &Silent).unwrap().summary)
}

/// A small run end to end: its files, its rows, and the same bytes with 1 and 2 threads.
#[test]
fn runs_end_to_end_bitwise_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let s = tiny_run(1, &a);
    tiny_run(2, &b);
    for f in ["results.csv", "depths.csv"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    for f in [
        "summary.json",
        "config.toml",
        "depth_scaling.png",
        "depth_scaling.svg",
        "training.png",
        "training.svg",
    ] {
        assert!(a.join(f).exists(), "{f} missing");
    }
    let csv = std::fs::read_to_string(a.join("results.csv")).unwrap();
    // (3 depths + the reference) x (4 steps + the initial state) rows
    assert_eq!(csv.lines().count(), 1 + 4 * 5);
    assert!(csv.starts_with("depth,reference,step,loss,max_increment,"));
    let r = &s["results"];
    assert_eq!(r["reference_depth"], 32);
    // training lowers the loss at every depth
    let first = r["initial_loss"].as_f64().unwrap();
    for l in r["final_loss"].as_array().unwrap() {
        assert!(l.as_f64().unwrap() < first);
    }
    assert!(r["max_increment_slope"].as_f64().is_some());
}

#[test]
fn invalid_configs_name_the_field() {
    let parse = |extra: &str| -> Result<()> {
        let mut table: toml::Table = toml::from_str("depth = [2, 16]").unwrap();
        for line in extra.lines() {
            crate::experiment::apply_override(&mut table, line)?;
        }
        let cfg: ImplicitRegConfig = crate::experiment::runner::typed(table)?;
        cfg.validate()
    };
    assert!(parse("").is_ok());
    let field = |extra: &str| match parse(extra) {
        Err(Error::Config { field, .. }) => field,
        other => panic!("{extra}: expected a config error, got {other:?}"),
    };
    assert_eq!(field("depth = [2]"), "depth");
    assert_eq!(field("depth = [1, 2]"), "depth");
    assert_eq!(field("reference_depth = 8"), "depth");
    assert_eq!(field("inner_width = 0"), "inner_width");
    assert_eq!(field("lr = -1.0"), "lr");
    assert_eq!(field("w_std = nan"), "w_std");
    assert_eq!(field("activation = \"softplus\""), "activation");
    assert_eq!(field("steps = 0"), "steps");
}
