//! End-to-end tests of the `depthscale` executable: outputs of a run, reproducibility, and one
//! clear error line for bad input.

use std::path::Path;
mod common;

use common::{depthscale, ok};
use std::process::Output;

/// Asserts a failed run: non-zero exit and a single `error:` line mentioning every `needle`.
fn assert_error(out: &Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected failure, got success");
    let err = String::from_utf8_lossy(&out.stderr);
    // plain progress lines (stderr is not a terminal here) may come before it
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !common::hostile::is_progress(l))
        .collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "error line lacks {n:?}: {err}");
    }
}

fn out_dir(tmp: &tempfile::TempDir, name: &str) -> String {
    tmp.path().join(name).to_string_lossy().into_owned()
}

#[test]
fn quick_run_writes_every_output_and_nothing_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "fig1");
    let res = depthscale(&["run", "fig1", "--quick", "--out", &out]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    for f in [
        "config.toml",
        "results.csv",
        "summary.json",
        "hidden.png",
        "hidden.svg",
        "gradients.png",
        "gradients.svg",
    ] {
        assert!(Path::new(&out).join(f).is_file(), "missing {f}");
    }
    assert!(!Path::new(&format!("{out}.partial")).exists());
    let csv = std::fs::read_to_string(Path::new(&out).join("results.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for col in [
        "depth", "width", "beta", "hurst", "draw", "sample", "h_ratio", "h_diff", "g_ratio",
        "g_diff",
    ] {
        assert!(header.contains(&col), "results.csv lacks column {col}");
    }
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&out).join("summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["kind"], "probe");
    // The resolved config reruns to the same bytes.
    let again = out_dir(&tmp, "again");
    let cfg = Path::new(&out).join("config.toml");
    let res = depthscale(&["run", cfg.to_str().unwrap(), "--out", &again]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert_eq!(
        csv,
        std::fs::read_to_string(Path::new(&again).join("results.csv")).unwrap()
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csvs = Vec::new();
    for threads in ["1", "2"] {
        let out = out_dir(&tmp, threads);
        let res = depthscale(&[
            "--threads",
            threads,
            "run",
            "fig7",
            "--quick",
            "--out",
            &out,
        ]);
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        csvs.push(std::fs::read(Path::new(&out).join("results.csv")).unwrap());
        csvs.push(std::fs::read(Path::new(&out).join("critical.csv")).unwrap());
    }
    assert_eq!(
        csvs[0], csvs[2],
        "results.csv differs between 1 and 2 threads"
    );
    assert_eq!(
        csvs[1], csvs[3],
        "critical.csv differs between 1 and 2 threads"
    );
}

#[test]
fn bad_input_gives_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "x");
    assert_error(
        &depthscale(&[
            "run",
            "fig1",
            "--quick",
            "--set",
            "colour=red",
            "--out",
            &out,
        ]),
        &["colour"],
    );
    assert_error(
        &depthscale(&[
            "run",
            "fig7",
            "--quick",
            "--set",
            "hurst=[0.5, 1.2]",
            "--out",
            &out,
        ]),
        &["hurst", "(0, 1)"],
    );
    assert_error(
        &depthscale(&["run", "fig1", "--quick", "--set", "depth=-5", "--out", &out]),
        &["depth", "1..=1000000000", "-5"],
    );
    assert_error(
        &depthscale(&["run", "fig1", "--quick", "--set", "width=0", "--out", &out]),
        &["width", ">= 1"],
    );
    assert_error(
        &depthscale(&["run", "fig1", "--quick", "--set", "beta=nan", "--out", &out]),
        &["beta", "finite"],
    );
    assert_error(
        &depthscale(&[
            "run",
            "fig1",
            "--quick",
            "--set",
            "init_v=fbm(2)",
            "--out",
            &out,
        ]),
        &["init_v", "(0, 1)"],
    );
    assert_error(
        &depthscale(&["run", "no-such-preset"]),
        &["no-such-preset", "depthscale presets"],
    );
    assert_error(
        &depthscale(&["train", "--depth", "-3", "--out", &out]),
        &["depth", "non-negative integer"],
    );
    assert_error(
        &depthscale(&["train", "--width", "0", "--out", &out]),
        &["width", ">= 1"],
    );
    // An output path below a regular file cannot be created.
    let file = tmp.path().join("file");
    std::fs::write(&file, "").unwrap();
    let bad = file.join("out");
    assert_error(
        &depthscale(&["run", "fig1", "--quick", "--out", bad.to_str().unwrap()]),
        &["file"],
    );
    assert!(
        !Path::new(&out).exists(),
        "a failed run must not leave an output directory"
    );
}

#[test]
fn existing_output_is_not_overwritten_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "fig6");
    assert!(
        depthscale(&["run", "fig6", "--quick", "--out", &out])
            .status
            .success()
    );
    assert_error(
        &depthscale(&["run", "fig6", "--quick", "--out", &out]),
        &["already exists", "--force"],
    );
    assert!(
        depthscale(&["run", "fig6", "--quick", "--out", &out, "--force"])
            .status
            .success()
    );
}

#[test]
fn presets_are_listed_and_shown() {
    let out = depthscale(&["presets"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for p in ["fig1", "fig2", "fig6", "fig7"] {
        assert!(text.contains(p), "{p} not listed");
    }
    for (p, what) in [
        ("fig1-correlated", "correlated across entries"),
        ("fig4-correlated", "correlated across entries"),
        ("fig1-leaky", "leaky_relu(0.8)"),
        ("implicit-regularization", "Lipschitz in depth"),
    ] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(p))
            .unwrap_or_else(|| panic!("{p} not listed: {text}"));
        assert!(
            line.contains(what),
            "{p} listed without what it reproduces: {line}"
        );
    }
    let show = depthscale(&["show", "fig7"]);
    assert!(String::from_utf8_lossy(&show.stdout).contains("kind = \"probe\""));
}

fn read(dir: &str, file: &str) -> String {
    std::fs::read_to_string(Path::new(dir).join(file))
        .unwrap_or_else(|e| panic!("{dir}/{file}: {e}"))
}

/// The data rows of a sweep's cells.csv without the wall-clock `seconds` column, sorted.
fn cell_rows(dir: &str) -> Vec<String> {
    let mut rows: Vec<String> = read(dir, "cells.csv")
        .lines()
        .skip(1)
        .map(|l| l.rsplit_once(',').unwrap().0.to_owned())
        .collect();
    rows.sort();
    rows
}

#[test]
fn train_writes_metrics_figure_checkpoints_and_reports_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "t");
    let stdout = ok(&depthscale(&[
        "train",
        "--depth",
        "40",
        "--epochs",
        "2",
        "--lr",
        "0.01",
        "--set",
        "train_samples=1000",
        "--set",
        "test_samples=500",
        "--save",
        "--out",
        &out,
    ]));
    assert!(stdout.contains("test accuracy"), "{stdout}");
    assert!(stdout.contains(&out), "{stdout}");
    for f in [
        "config.toml",
        "metrics.csv",
        "training.png",
        "training.svg",
        "summary.json",
        "initial.safetensors",
        "model.safetensors",
    ] {
        assert!(Path::new(&out).join(f).is_file(), "missing {f}");
    }
    let metrics = read(&out, "metrics.csv");
    let lines: Vec<&str> = metrics.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,lr,train_loss,test_loss,test_accuracy,seconds"
    );
    assert_eq!(lines.len(), 3, "{metrics}");
    let config = read(&out, "config.toml");
    for field in [
        "depth = 40",
        "epochs = 2",
        "lr = 0.01",
        "save = true",
        "beta = 0.5",
    ] {
        assert!(config.contains(field), "config lacks {field}: {config}");
    }
    let summary: serde_json::Value = serde_json::from_str(&read(&out, "summary.json")).unwrap();
    let acc = summary["results"]["final_test_accuracy"].as_f64().unwrap();
    assert!(acc > 0.5, "{summary}");
    assert_eq!(summary["results"]["n_train"], 1000);
}

#[test]
fn train_flags_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "t");
    assert_error(
        &depthscale(&["train", "--quick", "--dataset", "mnist", "--out", &out]),
        &["data_dir", "--data"],
    );
    assert_error(
        &depthscale(&["train", "--quick", "--data", "/tmp", "--out", &out]),
        &["--data", "--dataset"],
    );
    assert_error(
        &depthscale(&["train", "--quick", "--lr", "-1", "--out", &out]),
        &["lr", "> 0"],
    );
    assert_error(
        &depthscale(&["train", "--quick", "--init-v", "fbm(1.5)", "--out", &out]),
        &["init_v", "(0, 1)"],
    );
    assert!(!Path::new(&out).exists());
}

#[test]
fn sweep_shards_merge_to_the_whole_sweep_on_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let all1 = out_dir(&tmp, "all1");
    let all2 = out_dir(&tmp, "all2");
    let s0 = out_dir(&tmp, "s0");
    let s1 = out_dir(&tmp, "s1");
    let merged = out_dir(&tmp, "merged");
    let stdout = ok(&depthscale(&[
        "--threads",
        "1",
        "run",
        "fig9",
        "--quick",
        "--out",
        &all1,
    ]));
    assert!(stdout.contains("8 of 8 cells done"), "{stdout}");
    ok(&depthscale(&[
        "--threads",
        "2",
        "run",
        "fig9",
        "--quick",
        "--out",
        &all2,
    ]));
    assert_eq!(cell_rows(&all1), cell_rows(&all2));
    assert_eq!(cell_rows(&all1).len(), 8);
    ok(&depthscale(&[
        "run", "fig9", "--quick", "--shard", "0/2", "--out", &s0,
    ]));
    ok(&depthscale(&[
        "run", "fig9", "--quick", "--shard", "1/2", "--out", &s1,
    ]));
    assert_eq!(cell_rows(&s0).len(), 4);
    let stdout = ok(&depthscale(&["merge", &s0, &s1, "--out", &merged]));
    assert!(stdout.contains("merged 8 of 8 cells"), "{stdout}");
    assert_eq!(cell_rows(&merged), cell_rows(&all1));
    for f in [
        "accuracy.png",
        "accuracy.svg",
        "summary.json",
        "config.toml",
    ] {
        assert!(Path::new(&merged).join(f).is_file(), "missing {f}");
    }
    // Shards of another config cannot be merged with these.
    let other = out_dir(&tmp, "other");
    ok(&depthscale(&[
        "run", "fig9", "--quick", "--shard", "1/2", "--set", "seed=1", "--out", &other,
    ]));
    assert_error(
        &depthscale(&["merge", &s0, &other, "--out", &out_dir(&tmp, "bad")]),
        &[&other, "seed"],
    );
}

#[test]
fn a_killed_sweep_resumes_without_losing_or_duplicating_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "s");
    ok(&depthscale(&["run", "fig9", "--quick", "--out", &out]));
    let full = cell_rows(&out);
    // Lose the last row and leave half of it, as a kill during the write would.
    let text = read(&out, "cells.csv");
    let mut lines: Vec<&str> = text.lines().collect();
    let last = lines.pop().unwrap();
    let cut = format!("{}\n{}", lines.join("\n"), &last[..last.len() / 2]);
    std::fs::write(Path::new(&out).join("cells.csv"), cut).unwrap();
    let stdout = ok(&depthscale(&["run", "fig9", "--quick", "--out", &out]));
    assert!(stdout.contains("8 of 8 cells done (1 run now)"), "{stdout}");
    assert_eq!(cell_rows(&out), full);
    // The same directory with another config is refused.
    assert_error(
        &depthscale(&["run", "fig9", "--quick", "--set", "seed=1", "--out", &out]),
        &["seed", "--force"],
    );
}

#[test]
fn bad_shards_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "s");
    for bad in ["2/2", "0/0", "1", "a/b", "-1/2"] {
        assert_error(
            &depthscale(&[
                "run",
                "fig9",
                "--quick",
                &format!("--shard={bad}"),
                "--out",
                &out,
            ]),
            &["--shard"],
        );
    }
    assert_error(
        &depthscale(&["run", "fig1", "--quick", "--shard", "0/2", "--out", &out]),
        &["--shard", "probe"],
    );
    assert!(!Path::new(&out).exists());
}

/// The revision's presets run with `--quick` and write their summary: the correlated ones with
/// the uncorrelated counterpart beside each beta at the largest depth, the leaky one with the
/// closed form of its activation.
#[test]
fn revision_presets_run_quick_and_summarize() {
    let tmp = tempfile::tempdir().unwrap();
    for (preset, betas) in [
        ("fig1-correlated", 3),
        ("fig4-correlated", 3),
        ("fig1-leaky", 3),
    ] {
        let out = out_dir(&tmp, preset);
        ok(&depthscale(&["run", preset, "--quick", "--out", &out]));
        let summary: serde_json::Value = serde_json::from_str(&read(&out, "summary.json")).unwrap();
        let results = &summary["results"];
        if preset.ends_with("correlated") {
            let rows = results["correlation"].as_array().unwrap();
            assert_eq!(rows.len(), betas, "{preset}: {rows:?}");
            for r in rows {
                for side in ["correlated_mean", "uncorrelated_mean"] {
                    assert!(r["h_diff"][side].as_f64().unwrap() > 0.0, "{preset}: {r}");
                }
            }
            assert!(Path::new(&out).join("cells_uncorrelated.csv").is_file());
        } else {
            let curves = results["depth_curves"].as_array().unwrap();
            assert!(
                curves
                    .iter()
                    .all(|c| c["h_diff_closed_form_rms"].as_f64().is_some()),
                "{preset}: no closed form"
            );
        }
    }
    // the comparison needs a correlated law
    let out = out_dir(&tmp, "bad");
    assert_error(
        &depthscale(&[
            "run",
            "fig1",
            "--quick",
            "--set",
            "compare_uncorrelated=true",
            "--out",
            &out,
        ]),
        &["compare_uncorrelated"],
    );
}

/// The depth-transfer presets run with `--quick`, write their tables, figures and summary, and
/// refuse a momentum with Adam in one line naming the field.
#[test]
fn depth_transfer_presets_run_quick_and_summarize() {
    let tmp = tempfile::tempdir().unwrap();
    for (preset, files) in [
        (
            "coord-check",
            &["coords.csv", "coord_check.png", "coord_check.svg"][..],
        ),
        (
            "transfer",
            &["cells.csv", "transfer.png", "lr_star.svg"][..],
        ),
        (
            "transfer-phase",
            &["cells.csv", "phase.png", "phase.svg"][..],
        ),
    ] {
        let out = out_dir(&tmp, preset);
        ok(&depthscale(&["run", preset, "--quick", "--out", &out]));
        for f in files {
            assert!(Path::new(&out).join(f).is_file(), "{preset}: missing {f}");
        }
        let summary: serde_json::Value = serde_json::from_str(&read(&out, "summary.json")).unwrap();
        assert!(
            summary["results"]["note"].is_string(),
            "{preset}: {summary}"
        );
    }
    let header = read(&out_dir(&tmp, "coord-check"), "coords.csv");
    assert!(header.starts_with("parameterization,depth,module,layer,t,quantity,l1\n"));
    let out = out_dir(&tmp, "bad");
    assert_error(
        &depthscale(&[
            "run",
            "transfer",
            "--quick",
            "--set",
            "parameterizations=[{ name = \"s\", beta = 0.5, momentum = 0.9 }]",
            "--out",
            &out,
        ]),
        &["parameterizations.momentum", "adam"],
    );
}
