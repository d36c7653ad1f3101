use super::rows::{Row, run_batch_for_tests};
use super::tables::{closed_form_h_diff, critical_beta};
use super::*;
use crate::paths::PathCache;
use crate::probe::Prober;
use crate::progress::Silent;

#[test]
fn critical_beta_interpolates_the_first_downward_crossing() {
    let b = [0.0, 0.5, 1.0];
    assert!((critical_beta(&b, &[1.0, 0.5, -0.5]) - 0.75).abs() < 1e-12);
    assert!((critical_beta(&b, &[f64::INFINITY, -1.0, -2.0]) - 0.25).abs() < 1e-12);
    assert!(critical_beta(&b, &[-1.0, -2.0, -3.0]).is_nan());
}

/// The closed form against values derived independently of its formula: by hand at `L = 2`
/// (each ReLU layer scales `E|h|^2` by `1 + m2 a^2 = 5/4` at `a^2 = 1/2`, so
/// `E h_diff^2 = 25/16 - 1 = 9/16`), at `L = 4` (`(5/4)^4 - 1 = 369/256`), and the two limits
/// of the paper as `L` grows: `e^{m2} - 1` at `beta = 1/2`, `m2 L^{1 - 2 beta}` for
/// `beta > 1/2`. (The Monte Carlo test below checks the formula against the networks.)
#[test]
fn closed_form_matches_hand_values_and_the_large_depth_limits() {
    assert!((closed_form_h_diff(2.0, 0.5, 0.5) - 0.75).abs() < 1e-15);
    assert!((closed_form_h_diff(4.0, 0.25, 0.5) - 369f64.sqrt() / 16.0).abs() < 1e-14);
    for m2 in [0.5f64, 0.82, 1.0] {
        let limit = m2.exp_m1().sqrt();
        let got = closed_form_h_diff(1e8, 0.5, m2);
        // the error of (1 + m2/L)^L against e^m2 is about m2^2 / (2L)
        assert!(
            (got / limit - 1.0).abs() < 1e-7,
            "m2 {m2}: {got} vs {limit}"
        );
        let got = closed_form_h_diff(1e8, 1.0, m2);
        let limit = (m2 / 1e8).sqrt();
        assert!(
            (got / limit - 1.0).abs() < 1e-7,
            "m2 {m2}: {got} vs {limit}"
        );
    }
}

fn small(figures: Vec<ProbeFigure>) -> ProbeConfig {
    let mut cfg: ProbeConfig = toml::from_str(
        r#"
        model = "res3"
        width = 6
        n_in = 4
        depth = [8, 16]
        beta = { linspace = [0.0, 1.3, 6] }
        hurst = [0.3, 0.7]
        init_v = "fbm"
        init_w = "fbm"
        draws = 2
        samples = 2
        "#,
    )
    .unwrap();
    cfg.figures = figures;
    cfg
}

fn run_into(cfg: &ProbeConfig, dir: &std::path::Path) -> serde_json::Value {
    std::fs::create_dir_all(dir).unwrap();
    let ctx = RunContext {
        dir: dir.to_owned(),
        progress: &Silent,
        shard: None,
        backend: Default::default(),
    };
    crate::experiment::summary::to_json(&cfg.run(&ctx).unwrap())
}

/// The tables are the same whatever figures are drawn, and always written.
#[test]
fn tables_do_not_depend_on_the_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = run_into(&small(vec![]), &tmp.path().join("bare"));
    let all = run_into(
        &small(vec![ProbeFigure::DepthCurves, ProbeFigure::PhaseDiagram]),
        &tmp.path().join("all"),
    );
    for key in ["critical_beta", "depth_curves"] {
        assert_eq!(bare[key], all[key], "{key}");
    }
    // two depths x two Hurst indices, each with its critical beta
    assert_eq!(bare["critical_beta"].as_array().unwrap().len(), 2);
    assert_eq!(bare["depth_curves"].as_array().unwrap().len(), 2 * 2 * 6);
    for file in ["results.csv", "cells.csv", "critical.csv"] {
        let read = |d: &str| std::fs::read(tmp.path().join(d).join(file)).unwrap();
        assert_eq!(read("bare"), read("all"), "{file}");
    }
    let critical = std::fs::read_to_string(tmp.path().join("bare/critical.csv")).unwrap();
    assert_eq!(
        critical.lines().next(),
        Some("depth,hurst,critical_beta,critical_beta_gradients")
    );
    assert_eq!(critical.lines().count(), 1 + 4);
    assert!(tmp.path().join("all/phase_L8.png").is_file());
    assert!(!tmp.path().join("bare/phase_L8.png").exists());
}

/// How the draws are grouped into batches changes no row.
#[test]
#[allow(clippy::single_range_in_vec_init)]
fn batching_changes_no_row() {
    let cfg = small(vec![]);
    let plan = cfg.plan().unwrap();
    let cache = PathCache::new();
    let laws = plan.laws[1];
    let rows = |groups: &[std::ops::Range<usize>]| -> Vec<Row> {
        let mut prober = Prober::new(3);
        groups
            .iter()
            .flat_map(|g| run_batch_for_tests(7, &plan, &mut prober, &cache, 16, laws, g.clone()))
            .collect()
    };
    let together = rows(&[0..2]);
    let apart = rows(&[0..1, 1..2]);
    assert_eq!(together.len(), 2 * plan.columns());
    for (a, b) in together.iter().zip(&apart) {
        assert_eq!((a.draw, a.sample, a.beta), (b.draw, b.sample, b.beta));
        assert_eq!(a.m, b.m);
    }
    // and different draws are different networks
    assert_ne!(together[0].m, together[plan.columns()].m);
}

/// The closed form generalised by activation, `E h_diff^2 = (1 + m2 L^-2b)^L - 1` with
/// `m2 = (1 + s^2)/2` for leaky ReLU of slope `s`, against Monte Carlo through the probe's own
/// path: the mean of `h_diff^2` over 3000 draws within 4 standard errors, and the ReLU value
/// (`m2 = 1/2`) rejected by the same test.
#[test]
fn leaky_relu_closed_form_matches_monte_carlo() {
    let cfg: ProbeConfig = toml::from_str(
        r#"
        model = "res3"
        activation = "leaky_relu(0.8)"
        width = 10
        n_in = 5
        depth = [30]
        beta = [0.25, 0.5]
        init_v = "gaussian"
        init_w = "uniform"
        draws = 3000
        "#,
    )
    .unwrap();
    let plan = cfg.plan().unwrap();
    let m2 = plan.closed_form_m2().unwrap();
    assert!((m2 - 0.82).abs() < 1e-12);
    let measured = rows::measure(3, &plan, &Default::default(), &Silent).unwrap();
    for beta in [0.25, 0.5] {
        let sq: Vec<f64> = measured
            .rows
            .iter()
            .filter(|r| r.beta == beta)
            .map(|r| r.m.h_diff.powi(2))
            .collect();
        let n = sq.len() as f64;
        let mean = sq.iter().sum::<f64>() / n;
        let se = (sq.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
        let want = closed_form_h_diff(30.0, beta, m2).powi(2);
        let relu = closed_form_h_diff(30.0, beta, 0.5).powi(2);
        assert!(
            (mean - want).abs() < 4.0 * se,
            "beta {beta}: E h_diff^2 = {mean} +- {se}, closed form {want}"
        );
        assert!(
            (mean - relu).abs() > 4.0 * se,
            "beta {beta}: the ReLU value {relu} is not rejected ({mean} +- {se})"
        );
    }
}
