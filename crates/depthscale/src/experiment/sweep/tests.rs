//! Tests of the sweep: grid, resume after a kill, shards and merge, divergence, threads.
use super::*;
use crate::experiment::runner::typed;
use crate::experiment::{RunReport, merge};
use crate::progress::Silent;
use std::path::Path;

/// The config text a sweep writes.
fn config_text(cfg: &SweepConfig) -> String {
    crate::experiment::runner::config_toml("t", false, SweepConfig::KIND, cfg).unwrap()
}

const TINY: &str = r#"
    lr = [0.01, 0.001]
    hurst = [0.3, 0.7]
    beta = [0.5, 1.0]
    depth = 40
    width = 8
    epochs = 1
    batch_size = 64
    train_samples = 256
    test_samples = 128
"#;

fn tiny() -> toml::Table {
    toml::from_str(TINY).unwrap()
}

fn run_to(dir: &Path, table: toml::Table, shard: Option<(usize, usize)>) -> Result<RunReport> {
    cells::testing::run_to("sweep", dir, table, shard)
}

/// The rows of a cells.csv without the `seconds` column, sorted.
fn rows(dir: &Path) -> Vec<String> {
    let mut v = cells::testing::rows_without_seconds(dir);
    v.sort();
    v
}

#[test]
fn grid_order_and_validation() {
    let cfg: SweepConfig = typed(tiny()).unwrap();
    let plan = cfg.plan().unwrap();
    assert_eq!(plan.cells.len(), 8);
    assert_eq!(
        plan.cells[1],
        Key {
            lr: 0.01,
            hurst: Some(0.3),
            beta: 1.0
        }
    );
    assert_eq!(plan.cells[4].lr, 0.001);
    let bad = |k: &str, v: &str| {
        let mut t = tiny();
        crate::experiment::apply_override(&mut t, &format!("{k}={v}")).unwrap();
        match typed::<SweepConfig>(t).and_then(|c| c.validate()) {
            Err(Error::Config { field, .. }) => field,
            other => panic!("{k}={v}: {other:?}"),
        }
    };
    assert_eq!(bad("lr", "[0.1, -1]"), "lr");
    assert_eq!(bad("hurst", "[0.5, 1.0]"), "hurst");
    assert_eq!(bad("beta", "[0.5, 0.5]"), "beta");
    assert_eq!(bad("init_v", "uniform"), "hurst");
    assert_eq!(bad("depth", "0"), "depth");
    let mut t = tiny();
    t.remove("hurst");
    assert_eq!(
        match typed::<SweepConfig>(t).unwrap().validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("{other:?}"),
        },
        "init_v"
    );
}

#[test]
fn resumes_after_a_kill_without_duplicates_and_rejects_another_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let first = run_to(&dir, tiny(), None).unwrap();
    assert_eq!(first.summary["results"]["cells_run_now"], 8);
    let full = rows(&dir);
    let cells_text = std::fs::read_to_string(dir.join("cells.csv")).unwrap();
    let metrics_text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    // Simulate a kill: the last cell's row is lost and half a row was being written; its
    // epoch row made it to metrics.csv.
    let mut lines: Vec<&str> = cells_text.lines().collect();
    let last = lines.pop().unwrap().to_owned();
    let mut cut = lines.join("\n");
    cut.push('\n');
    cut.push_str(&last[..last.len() / 2]);
    std::fs::write(dir.join("cells.csv"), cut).unwrap();
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let again = run_to(&dir, tiny(), None).unwrap();
    assert_eq!(again.summary["results"]["cells_run_now"], 1);
    assert_eq!(again.summary["results"]["cells_found_done"], 7);
    assert_eq!(rows(&dir), full);
    // metrics.csv: one row per (cell, epoch), same values
    let strip = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_owned())
            .collect()
    };
    assert_eq!(
        strip(&std::fs::read_to_string(dir.join("metrics.csv")).unwrap()),
        strip(&metrics_text)
    );
    // A finished sweep rerun trains nothing.
    let third = run_to(&dir, tiny(), None).unwrap();
    assert_eq!(third.summary["results"]["cells_run_now"], 0);
    assert_eq!(rows(&dir), full);
    // Another config in the same directory is refused, naming the field.
    let mut other = tiny();
    other.insert("epochs".into(), toml::Value::Integer(2));
    let err = run_to(&dir, other, None).unwrap_err().to_string();
    assert!(err.contains("epochs") && err.contains("--force"), "{err}");
}

#[test]
fn shards_merge_to_the_unsharded_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let all = tmp.path().join("all");
    run_to(&all, tiny(), None).unwrap();
    let s0 = tmp.path().join("s0");
    let s1 = tmp.path().join("s1");
    let r0 = run_to(&s0, tiny(), Some((0, 2))).unwrap();
    run_to(&s1, tiny(), Some((1, 2))).unwrap();
    assert_eq!(r0.summary["results"]["cells_done"], 4);
    assert_eq!(r0.summary["results"]["shard"], "0/2");
    assert_eq!(
        std::fs::read_to_string(s0.join("config.toml")).unwrap(),
        std::fs::read_to_string(s1.join("config.toml")).unwrap()
    );
    let merged = tmp.path().join("merged");
    let report = merge(&[s0.clone(), s1.clone()], &merged, false, &Silent).unwrap();
    assert_eq!(rows(&merged), rows(&all));
    assert_eq!(report.summary["results"]["cells_done"], 8);
    assert_eq!(
        report.summary["results"]["conflicts"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    for f in [
        "config.toml",
        "cells.csv",
        "metrics.csv",
        "accuracy.png",
        "accuracy.svg",
        "summary.json",
    ] {
        assert!(merged.join(f).is_file(), "{f}");
    }
    // Overlapping inputs are deduplicated.
    let twice = tmp.path().join("twice");
    merge(&[all.clone(), s0.clone()], &twice, false, &Silent).unwrap();
    assert_eq!(rows(&twice), rows(&all));
    // A merged directory resumes as a finished sweep.
    let r = run_to(&merged, tiny(), None).unwrap();
    assert_eq!(r.summary["results"]["cells_run_now"], 0);
    // Mismatched configs are refused, naming the directory.
    let other = tmp.path().join("other");
    let mut t = tiny();
    t.insert("seed".into(), toml::Value::Integer(3));
    t.insert("lr".into(), toml::Value::Float(0.01));
    t.insert("hurst".into(), toml::Value::Float(0.3));
    t.insert("beta".into(), toml::Value::Float(0.5));
    run_to(&other, t, None).unwrap();
    let err = merge(
        &[s0, other.clone()],
        &tmp.path().join("bad"),
        false,
        &Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains(&other.display().to_string()), "{err}");
    assert!(!tmp.path().join("bad").exists());
}

/// Issue 20, item 24: a shard whose cells.csv records one cell twice with different results
/// is refused (naming the file and both lines), not silently cut to its first row; an exact
/// duplicate (a copied line) is still read once.
#[test]
fn a_cell_recorded_twice_with_different_results_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let s0 = tmp.path().join("s0");
    run_to(&s0, tiny(), Some((0, 4))).unwrap();
    let path = s0.join("cells.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let row = text.lines().nth(1).unwrap().to_owned();
    std::fs::write(&path, format!("{text}{row}\n")).unwrap();
    let merged = tmp.path().join("m");
    let report = merge(std::slice::from_ref(&s0), &merged, false, &Silent).unwrap();
    assert_eq!(report.summary["results"]["cells_done"], 2);
    // the same cell with another final loss
    let mut fields: Vec<String> = row.split(',').map(str::to_owned).collect();
    fields[6] = "0.123".into();
    std::fs::write(&path, format!("{text}{}\n", fields.join(","))).unwrap();
    let err = merge(&[s0], &tmp.path().join("m2"), false, &Silent)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cells.csv") && err.contains("lines 2 and 4") && err.contains("different"),
        "{err}"
    );
    assert!(!tmp.path().join("m2").exists());
}

#[test]
fn diverged_cells_are_recorded_and_the_sweep_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let mut t = tiny();
    t.insert("lr".into(), toml::Value::Float(0.01));
    t.insert("hurst".into(), toml::Value::Float(0.5));
    // Enough steps (4 epochs of 16 batches) for the ok cell to learn something measurable.
    t.insert("epochs".into(), toml::Value::Integer(4));
    t.insert("train_samples".into(), toml::Value::Integer(1000));
    t.insert("test_samples".into(), toml::Value::Integer(500));
    t.insert(
        "beta".into(),
        toml::Value::Array(vec![toml::Value::Float(-2.0), toml::Value::Float(0.5)]),
    );
    let r = run_to(&dir, t, None).unwrap();
    assert_eq!(r.summary["results"]["cells_diverged"], 1);
    let text = std::fs::read_to_string(dir.join("cells.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("0.01,0.5,-2,fbm(0.5),diverged,0,"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("0.01,0.5,0.5,fbm(0.5),ok,4,"),
        "{text}"
    );
    let best = &r.summary["results"]["best_over_lr"];
    assert_eq!(best[0]["test_accuracy"], 0.0);
    // The ok cell must learn as well as an independent baseline fitted on the same digits: the
    // nearest-class-mean classifier (0.78 on this subset; the cell measured 0.782; chance is
    // 0.1, an untrained or broken network stays far below).
    let acc = best[1]["test_accuracy"].as_f64().unwrap();
    let baseline = nearest_centroid_accuracy(1000, 500);
    assert!(baseline > 0.7, "baseline {baseline}");
    assert!(
        acc >= baseline - 0.03,
        "accuracy {acc} vs nearest centroid {baseline}"
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for threads in [1, 2] {
        let dir = tmp.path().join(threads.to_string());
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| run_to(&dir, tiny(), None).unwrap());
        out.push(rows(&dir));
    }
    assert_eq!(out[0], out[1]);
}

#[test]
fn config_text_round_trips() {
    let cfg: SweepConfig = typed(tiny()).unwrap();
    let text = config_text(&cfg);
    let mut t: toml::Table = toml::from_str(&text).unwrap();
    t.remove("kind");
    let again: SweepConfig = typed(t).unwrap();
    assert_eq!(config_text(&again), text);
}

/// Test accuracy of the nearest-class-mean classifier fitted on the first `n_train` bundled
/// training digits, on the first `n_test` test digits: an independent baseline.
fn nearest_centroid_accuracy(n_train: usize, n_test: usize) -> f64 {
    let data = crate::experiment::DataSource {
        dataset: "mnist-10k",
        data_dir: None,
        train_samples: Some(n_train),
        test_samples: Some(n_test),
    }
    .load(&Silent)
    .unwrap();
    let f = data.n_features;
    let mut means = vec![0.0f64; 10 * f];
    let mut counts = [0usize; 10];
    for (x, &y) in data.train_images.chunks_exact(f).zip(&data.train_labels) {
        counts[y as usize] += 1;
        for (m, &v) in means[y as usize * f..(y as usize + 1) * f]
            .iter_mut()
            .zip(x)
        {
            *m += f64::from(v);
        }
    }
    for (c, m) in means.chunks_exact_mut(f).enumerate() {
        m.iter_mut().for_each(|v| *v /= counts[c].max(1) as f64);
    }
    let hits = data
        .test_images
        .chunks_exact(f)
        .zip(&data.test_labels)
        .filter(|(x, y)| {
            let dist = |c: usize| -> f64 {
                means[c * f..(c + 1) * f]
                    .iter()
                    .zip(x.iter())
                    .map(|(m, &v)| (m - f64::from(v)).powi(2))
                    .sum()
            };
            let best = (0..10)
                .min_by(|&a, &b| dist(a).total_cmp(&dist(b)))
                .unwrap();
            best == **y as usize
        })
        .count();
    hits as f64 / data.n_test() as f64
}

/// The tables a finished tiny sweep wrote, as seeds for the resume-parser fuzz targets.
fn resume_seed() -> &'static (Vec<u8>, Vec<u8>) {
    static SEED: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        let mut t = tiny();
        t.insert("train_samples".into(), toml::Value::Integer(64));
        t.insert("test_samples".into(), toml::Value::Integer(32));
        run_to(&dir, t, None).unwrap();
        (
            std::fs::read(dir.join("cells.csv")).unwrap(),
            std::fs::read(dir.join("metrics.csv")).unwrap(),
        )
    })
}

/// Byte edits: (position, byte, 0 = set, 1 = insert, 2 = delete, 3 = truncate).
fn edit(seed: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for &(p, b, op) in edits {
        let i = if v.is_empty() { 0 } else { p % v.len() };
        match op {
            0 if !v.is_empty() => v[i] = b,
            1 => v.insert(i, b),
            2 if !v.is_empty() => {
                v.remove(i);
            }
            3 => v.truncate(i),
            _ => {}
        }
    }
    v
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        cases: std::env::var("DEPTHSCALE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200),
        failure_persistence: None,
        ..Default::default()
    })]

    /// The resume parser on mutated `cells.csv` and `metrics.csv`: rows of the grid or a data
    /// error naming the file, never a panic; repairing cuts only a partial last line.
    #[test]
    fn fuzz_resume_tables(
        edits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>(), 0..4u8), 1..6),
        which in 0..2usize,
        repair in proptest::prelude::any::<bool>(),
    ) {
        let (cells, metrics) = resume_seed();
        let tmp = tempfile::tempdir().unwrap();
        let (name, seed) = if which == 0 { ("cells.csv", cells) } else { ("metrics.csv", metrics) };
        let bytes = edit(seed, &edits);
        std::fs::write(tmp.path().join(name), &bytes).unwrap();
        let cfg: SweepConfig = typed(tiny()).unwrap();
        let plan = cfg.plan().unwrap();
        let result = if which == 0 {
            read_cells(&plan, tmp.path(), repair).map(|r| r.iter().map(|(i, _)| *i).collect::<Vec<_>>())
        } else {
            read_epochs(&plan, tmp.path(), repair, |_| true).map(|r| r.iter().map(|(i, _)| *i).collect())
        };
        match result {
            Ok(idx) => proptest::prop_assert!(idx.iter().all(|&i| i < plan.cells.len())),
            Err(Error::Data { path, .. }) => proptest::prop_assert!(path.ends_with(name)),
            Err(other) => proptest::prop_assert!(false, "unexpected error kind: {other}"),
        }
        let after = std::fs::read(tmp.path().join(name)).unwrap();
        let complete = crate::experiment::store::complete_lines(&bytes);
        proptest::prop_assert!(after == bytes || (repair && after == complete));
    }
}
