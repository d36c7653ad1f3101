use super::*;
use crate::experiment::{RunOptions, run_kind};
use crate::progress::Silent;

fn small() -> OdeAfterTrainingConfig {
    let mut cfg: OdeAfterTrainingConfig =
        crate::experiment::runner::typed(toml::Table::new()).unwrap();
    cfg.width = 6;
    cfg.depth = vec![8, 16];
    cfg.test_samples = 5;
    cfg
}

#[test]
fn the_short_network_starts_from_every_other_layer_bitwise() {
    let cfg = small();
    let case = cfg.cases()[3];
    let long_cfg = cfg.train_config(case, 16);
    let cache = PathCache::new();
    let long = init_training::<f32>(&long_cfg, long_cfg.dims(6, 6), &cache).unwrap();
    assert!(long.block.inner && !long.block.has_bias());
    let short = every_other_layer(&long).unwrap();
    assert_eq!(short.dims.depth, 8);
    let dd = 36;
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    for k in 1..=8 {
        // layer k of the short network (from 1) is layer 2k of the long one
        let s = (k - 1) * dd..k * dd;
        let l = (2 * k - 1) * dd..2 * k * dd;
        assert_eq!(
            bits(&short.params.v[s.clone()]),
            bits(&long.params.v[l.clone()])
        );
        assert_eq!(bits(&short.params.w[s]), bits(&long.params.w[l]));
    }
    assert_eq!(bits(&short.params.embed), bits(&long.params.embed));
    assert_eq!(bits(&short.params.readout), bits(&long.params.readout));
    // and the short trainer starts there, bit for bit
    let short_cfg = cfg.train_config(case, 8);
    let trainer =
        crate::train::Trainer::from_network(crate::kernels::CpuBackend::new(), &short_cfg, &short)
            .unwrap();
    assert_eq!(bits(&trainer.network().params.v), bits(&short.params.v));
    let odd = ResNet::<f32>::zeros(long.block, cfg.train_config(case, 7).dims(6, 6)).unwrap();
    assert!(every_other_layer(&odd).is_err());
}

#[test]
fn odd_depths_and_empty_lists_are_refused() {
    let mut cfg = small();
    cfg.depth = vec![8, 15];
    assert!(matches!(cfg.validate(), Err(Error::Config { field, .. }) if field == "depth"));
    let mut cfg = small();
    cfg.activation.clear();
    assert!(matches!(cfg.validate(), Err(Error::Config { field, .. }) if field == "activation"));
    small().validate().unwrap();
}

#[test]
fn a_small_run_writes_its_tables_and_slopes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let t: toml::Table = toml::from_str(
        "width = 6\ndepth = [8, 16, 32]\ntest_samples = 5\nactivation = [\"tanh\"]\ninit = [\"rbf(0.1)\"]\nbeta = [1.0]",
    )
    .unwrap();
    let opts = RunOptions {
        out: Some(out.clone()),
        ..Default::default()
    };
    let report = run_kind("ode-after-training", "t", t, &opts, &Silent).unwrap();
    let r = &report.summary["results"];
    assert_eq!(r["pairs"], 3);
    assert!(
        r["slopes"][0]["slope_max_gap_v"]
            .as_f64()
            .unwrap()
            .is_finite(),
        "{r}"
    );
    let layers = std::fs::read_to_string(out.join("layers.csv")).unwrap();
    // one row per short layer: 4 + 8 + 16, plus the header
    assert_eq!(layers.lines().count(), 1 + 28);
    for f in [
        "results.csv",
        "fits.csv",
        "gaps.png",
        "gaps.svg",
        "summary.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // training moved the networks apart (they start equal)
    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let max_gap: f64 = results
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(4)
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_gap > 0.0, "{results}");
}

#[test]
fn the_claims_read_the_smooth_beta_one_slopes() {
    let summary = serde_json::json!({"results": {
        "slopes": [
            {"beta": 1.0, "init": "rbf(0.1)", "activation": "relu", "slope_max_gap_v": -0.99},
            {"beta": 1.0, "init": "rbf(0.1)", "activation": "tanh", "slope_max_gap_v": -0.5},
            {"beta": 0.5, "init": "rbf(0.1)", "activation": "relu", "slope_max_gap_v": null},
            {"beta": 1.0, "init": "gaussian", "activation": "relu", "slope_max_gap_v": -0.7},
        ],
        "mean_slopes": [{"beta": 1.0, "init": "rbf(0.1)", "mean_slope_max_gap_v": -0.745}],
    }});
    let claims = crate::experiment::reproduce::claims::claims(
        "ode-after-training",
        std::path::Path::new("."),
        &summary,
        true,
    )
    .unwrap();
    let verdicts: Vec<bool> = claims.iter().map(|c| c.agrees()).collect();
    assert_eq!(verdicts, [true, false, false]);
}
