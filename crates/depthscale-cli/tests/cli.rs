//! End-to-end tests of the `depthscale` executable: outputs of a run, reproducibility, and one
//! clear error line for bad input.

use std::path::Path;
use std::process::{Command, Output};

fn depthscale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_depthscale"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the binary runs")
}

/// Asserts a failed run: non-zero exit and a single `error:` line mentioning every `needle`.
fn assert_error(out: &Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected failure, got success");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
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
        &["depth", ">= 1"],
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
        &["no-such-preset", "fig7"],
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
    let show = depthscale(&["show", "fig7"]);
    assert!(String::from_utf8_lossy(&show.stdout).contains("kind = \"probe\""));
}
