//! Tests of the transfer sweep: grid, validation, shards and merge, resume, the analysis.
use super::*;
use crate::experiment::runner::typed;
use crate::experiment::{RunReport, merge};
use crate::progress::Silent;
use std::path::Path;

const TINY: &str = r#"
    parameterizations = ["standard", "depth-mup"]
    depths = [2, 6]
    lr = { geomspace = [0.001, 0.1, 3] }
    fit_points = 3
    seeds = 2
    epochs = 1
    width = 6
    batch_size = 64
    train_samples = 192
    test_samples = 64
    bootstrap = 20
"#;

fn tiny() -> toml::Table {
    toml::from_str(TINY).unwrap()
}

fn run_to(dir: &Path, table: toml::Table, shard: Option<(usize, usize)>) -> Result<RunReport> {
    cells::testing::run_to("transfer", dir, table, shard)
}

/// The rows of a cells.csv without the `seconds` column.
fn rows(dir: &Path) -> Vec<String> {
    cells::testing::rows_without_seconds(dir)
}

#[test]
fn grid_order_rules_and_validation() {
    let cfg: TransferConfig = typed(tiny()).unwrap();
    let plan = cfg.plan().unwrap();
    assert_eq!(plan.cells.len(), 2 * 2 * 3 * 2);
    assert_eq!(
        plan.cells[7],
        Key {
            param: 0,
            depth: 6,
            lr: plan.lrs[0],
            seed: 1
        }
    );
    let bad = |k: &str, v: &str| {
        let mut t = tiny();
        crate::experiment::apply_override(&mut t, &format!("{k}={v}")).unwrap();
        match typed::<TransferConfig>(t).and_then(|c| c.validate()) {
            Err(Error::Config { field, .. }) => field,
            other => panic!("{k}={v}: {other:?}"),
        }
    };
    assert_eq!(bad("lr", "[0.1, 0.01, 0.001]"), "lr");
    assert_eq!(bad("lr", "[0.1, 1]"), "lr");
    assert_eq!(bad("seeds", "0"), "seeds");
    assert_eq!(bad("depths", "[4, 2]"), "depths");
    assert_eq!(bad("fit_points", "2"), "fit_points");
    assert_eq!(bad("hurst", "[0.3]"), "parameterizations");
    assert_eq!(bad("parameterizations", "[\"nope\"]"), "parameterizations");
    // the phase map: parameterizations generated from (H, beta)
    let mut t = tiny();
    t.remove("parameterizations");
    crate::experiment::apply_override(&mut t, "hurst=[0.3, 0.7]").unwrap();
    crate::experiment::apply_override(&mut t, "beta=[0.5, 1.0]").unwrap();
    let plan = typed::<TransferConfig>(t).unwrap().plan().unwrap();
    assert_eq!(plan.params.len(), 4);
    assert_eq!(
        plan.params[1].init_v,
        crate::paths::Init::Fbm { hurst: 0.7 }
    );
    assert_eq!(plan.params[2].beta, 1.0);
}

#[test]
fn cells_use_the_parameterization_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    let report = run_to(&dir, tiny(), None).unwrap();
    let text = std::fs::read_to_string(dir.join("cells.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut n = 0;
    for r in rdr.deserialize::<rows::CellRow>() {
        let r = r.unwrap();
        let p = Parameterization::named(&r.parameterization).unwrap();
        assert_eq!(r.lr_used, p.lr(r.lr, r.depth));
        assert_eq!(r.eps_used, p.eps(r.depth));
        assert_eq!(r.beta, p.beta);
        assert!(r.steps == 3 || r.status == "diverged", "{r:?}");
        n += 1;
    }
    assert_eq!(n, 24);
    let res = &report.summary["results"];
    assert_eq!(res["cells_done"], 24);
    assert_eq!(res["results"].as_array().unwrap().len(), 2);
    for f in [
        "transfer.png",
        "transfer.svg",
        "lr_star.png",
        "summary.json",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    // a finished sweep rerun trains nothing
    let again = run_to(&dir, tiny(), None).unwrap();
    assert_eq!(again.summary["results"]["cells_run_now"], 0);
    // shards merge to the same rows, bit for bit
    let (s0, s1) = (tmp.path().join("s0"), tmp.path().join("s1"));
    run_to(&s0, tiny(), Some((0, 2))).unwrap();
    run_to(&s1, tiny(), Some((1, 2))).unwrap();
    let merged = tmp.path().join("m");
    let m = merge(&[s0, s1], &merged, false, &Silent).unwrap();
    assert_eq!(rows(&merged), rows(&dir));
    assert_eq!(m.summary["results"]["results"], res["results"]);
}

#[test]
fn the_analysis_finds_a_planted_optimum_per_depth() {
    // Synthetic rows: at depth index di the loss is a parabola in log2 lr with its minimum at
    // -10 + di, seed noise small; the analysis must recover the drift of 1 octave per depth.
    let mut t = tiny();
    crate::experiment::apply_override(&mut t, "lr={ geomspace = [0.00006103515625, 0.0625, 11] }")
        .unwrap();
    crate::experiment::apply_override(&mut t, "seeds=3").unwrap();
    crate::experiment::apply_override(&mut t, "bootstrap=100").unwrap();
    let cfg: TransferConfig = typed(t).unwrap();
    let plan = cfg.plan().unwrap();
    let cells: Vec<(usize, rows::CellRow)> = plan
        .cells
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let di = plan.depths.iter().position(|&l| l == k.depth).unwrap() as f64;
            let star = -10.0 + di;
            let loss =
                0.05 * (k.lr.log2() - star).powi(2) + 0.3 - 0.05 * di + 0.002 * k.seed as f64;
            let row = rows::CellRow {
                parameterization: plan.params[k.param].name.clone(),
                beta: 0.0,
                init_v: "uniform".into(),
                depth: k.depth,
                lr: k.lr,
                seed_index: k.seed,
                lr_used: k.lr,
                eps_used: 1e-8,
                status: if loss > 2.3 { "diverged" } else { "ok" }.into(),
                steps: 1,
                final_train_loss: loss,
                test_loss: f64::NAN,
                test_accuracy: f64::NAN,
                classes: 10,
                seconds: 0.0,
            };
            (i, row)
        })
        .collect();
    let a = report::analyse(&cfg, &plan, &cells);
    for r in &a {
        assert!((r.curves[0].opt.x + 10.0).abs() < 1e-9);
        assert!((r.drift - 1.0).abs() < 1e-9, "{}", r.drift);
        assert!(r.drift_ci.0 <= r.drift + 1e-9 && r.drift <= r.drift_ci.1 + 1e-9);
        assert!(r.deeper_is_better);
        assert!((r.curves[1].opt.y - 0.252).abs() < 1e-9);
        assert!((r.curves[0].opt.y - 0.302).abs() < 1e-9);
    }
}
