//! Hostile uses of `depthscale reproduce` (issue 20, items 6, 7, 13, 21): impostor runs in a
//! reproduction's directories, `--only` subsets, planted figures, stale experiments and late
//! validation.

mod common;
use common::hostile::*;

use base64::Engine;
use std::path::Path;
use std::time::{Duration, Instant};

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `reproduce --quick --only ONLY --out DIR` plus `extra`, asserting success.
#[track_caller]
fn reproduce(cwd: &Path, dir: &Path, only: &str, extra: &[&str]) -> String {
    let mut args = vec!["reproduce", "--quick", "--only", only, "--out", s(dir)];
    args.extend_from_slice(extra);
    let out = run(cwd, &args);
    assert!(
        out.status.success(),
        "reproduce failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The presets listed in a reproduction's summary.json, in order.
fn experiments(summary: &serde_json::Value) -> Vec<String> {
    summary["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["preset"].as_str().unwrap().to_owned())
        .collect()
}

/// Every figure embedded in a report, decoded.
fn embedded(report: &str) -> Vec<Vec<u8>> {
    report
        .split("src=\"data:image/svg+xml;base64,")
        .skip(1)
        .map(|rest| {
            let b64 = &rest[..rest.find('"').unwrap()];
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
        })
        .collect()
}

// item 6: a run into an experiment directory of a running reproduction is refused
#[test]
fn a_run_into_a_running_reproduction_is_refused() {
    let t = tmp();
    let dir = t.path().join("r");
    let mut child = std::process::Command::new(bin())
        .args(["reproduce", "--quick", "--only", "fig6,fig7,fig1-leaky"])
        .args(["--out", s(&dir)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&dir.join("fig6/summary.json"));
    let impostor = run(
        t.path(),
        &[
            "run",
            "fig6",
            "--set",
            "hurst=[0.9]",
            "--out",
            s(&dir.join("fig6")),
            "--force",
        ],
    );
    // nor can a new experiment directory be created inside it
    let other = run(
        t.path(),
        &["run", "fig6", "--quick", "--out", s(&dir.join("sde"))],
    );
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(still_running, "the reproduction ended before the check");
    refused(&impostor, &["in use"]);
    refused(&other, &["in use"]);
    assert!(!dir.join("sde").exists());
}

// item 6: an impostor left in an experiment directory is reported, never shown as the paper's
#[test]
fn an_impostor_experiment_is_reported_not_shown() {
    let t = tmp();
    let dir = t.path().join("r");
    reproduce(t.path(), &dir, "fig6", &[]);
    let out = run(
        t.path(),
        &[
            "run",
            "fig6",
            "--set",
            "hurst=[0.9]",
            "--out",
            s(&dir.join("fig6")),
            "--force",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    reproduce(t.path(), &dir, "sde", &[]);
    let summary = json(&dir.join("summary.json"));
    assert_eq!(experiments(&summary), ["sde"]);
    let excluded = summary["excluded"].as_array().unwrap();
    assert_eq!(excluded.len(), 1, "{summary}");
    assert_eq!(excluded[0]["preset"], "fig6");
    assert!(
        excluded[0]["reason"].as_str().unwrap().contains("hurst"),
        "{summary}"
    );
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!report.contains("id=\"exp-fig6\""));
    assert!(
        report.contains("--redo fig6"),
        "the report says how to redo it"
    );
    assert!(
        summary["claims"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["experiment"] == "sde")
    );
}

// item 7: `--only` subsets accumulate in one report, which says what ran this time
#[test]
fn only_subsets_accumulate_in_the_report() {
    let t = tmp();
    let dir = t.path().join("r");
    reproduce(t.path(), &dir, "sde", &[]);
    let stdout = reproduce(t.path(), &dir, "fig6", &[]);
    assert!(stdout.contains("2 experiments"), "{stdout}");
    let summary = json(&dir.join("summary.json"));
    assert_eq!(experiments(&summary), ["fig6", "sde"]);
    let e = summary["experiments"].as_array().unwrap();
    assert_eq!(e[0]["run_this_time"], true);
    assert_eq!(e[1]["run_this_time"], false);
    let claims = summary["claims"].as_array().unwrap();
    assert!(claims.iter().any(|c| c["experiment"] == "sde"));
    assert!(claims.iter().any(|c| c["experiment"] == "fig6"));
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("id=\"exp-fig6\"") && report.contains("id=\"exp-sde\""));
    assert!(report.contains("earlier invocation"), "says sde ran before");
}

// item 13: only the figures the experiment wrote, regular files under a cap, are embedded
#[test]
fn the_report_embeds_only_recorded_figures_never_through_a_symlink() {
    let t = tmp();
    let dir = t.path().join("r");
    reproduce(t.path(), &dir, "fig6", &[]);
    let fig = dir.join("fig6");
    let secret = t.path().join("secret.txt");
    std::fs::write(&secret, "<svg>TOPSECRET</svg>").unwrap();
    std::os::unix::fs::symlink(&secret, fig.join("planted.svg")).unwrap();
    // a figure the experiment wrote, replaced by a link to the secret
    let written: Vec<_> = std::fs::read_dir(&fig)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg") && !p.is_symlink())
        .collect();
    assert!(!written.is_empty());
    std::fs::remove_file(&written[0]).unwrap();
    std::os::unix::fs::symlink(&secret, &written[0]).unwrap();
    // a 3 GB sparse svg, under a name the experiment did not write
    let huge = std::fs::File::create(fig.join("huge.svg")).unwrap();
    huge.set_len(3 << 30).unwrap();
    let start = Instant::now();
    reproduce(t.path(), &dir, "fig6", &[]);
    assert!(start.elapsed() < Duration::from_secs(60));
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for f in embedded(&report) {
        assert!(!String::from_utf8_lossy(&f).contains("TOPSECRET"));
        assert!(f.starts_with(b"<svg"));
    }
    assert_eq!(embedded(&report).len(), written.len() - 1);
    assert!(!report.contains("planted.svg") && !report.contains("huge.svg"));
    // and a recorded figure over the cap is left out, not read
    std::fs::remove_file(&written[0]).unwrap();
    let big = std::fs::File::create(&written[0]).unwrap();
    big.set_len(8 << 30).unwrap();
    let out = run_capped(
        t.path(),
        &["reproduce", "--quick", "--only", "fig6", "--out", s(&dir)],
        &[],
        4 << 20,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// item 21: a stale experiment is redone alone (`--redo`), not by wiping the reproduction
#[test]
fn a_stale_experiment_is_redone_alone() {
    let t = tmp();
    let dir = t.path().join("r");
    reproduce(t.path(), &dir, "fig6,sde", &[]);
    std::fs::write(dir.join("fig6/summary.json"), "{ not json").unwrap();
    std::fs::write(dir.join("notes.md"), "mine").unwrap();
    let before = std::fs::metadata(dir.join("sde/summary.json"))
        .unwrap()
        .modified()
        .unwrap();
    let out = run(
        t.path(),
        &[
            "reproduce",
            "--quick",
            "--only",
            "fig6,sde",
            "--out",
            s(&dir),
        ],
    );
    let line = refused(&out, &["fig6", "--redo fig6"]);
    assert!(!line.contains("--force"), "{line}");
    reproduce(t.path(), &dir, "fig6,sde", &["--redo", "fig6"]);
    assert!(json(&dir.join("fig6/summary.json")).is_object());
    let after = std::fs::metadata(dir.join("sde/summary.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "sde was kept");
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.md")).unwrap(),
        "mine"
    );
    // --redo replaces only a directory depthscale created
    std::fs::remove_dir_all(dir.join("fig6")).unwrap();
    std::fs::create_dir(dir.join("fig6")).unwrap();
    std::fs::write(dir.join("fig6/thesis.tex"), "mine").unwrap();
    let out = run(
        t.path(),
        &[
            "reproduce",
            "--quick",
            "--only",
            "fig6",
            "--redo",
            "fig6",
            "--out",
            s(&dir),
        ],
    );
    refused(&out, &["fig6"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("fig6/thesis.tex")).unwrap(),
        "mine"
    );
    // unknown names are refused
    let out = run(
        t.path(),
        &["reproduce", "--quick", "--redo", "fig99", "--out", s(&dir)],
    );
    refused(&out, &["fig99"]);
}

// item 21: everything is validated before the directory is created
#[test]
fn a_bad_data_directory_creates_nothing() {
    let t = tmp();
    let dir = t.path().join("r");
    let missing = t.path().join("no-such-data");
    for only in ["fig8", "fig6"] {
        let out = run(
            t.path(),
            &[
                "reproduce",
                "--quick",
                "--only",
                only,
                "--dataset",
                "mnist",
                "--data",
                s(&missing),
                "--out",
                s(&dir),
            ],
        );
        refused(&out, &["data_dir"]);
        assert!(!dir.exists(), "--only {only}: the output was created");
    }
    let out = run(
        t.path(),
        &[
            "reproduce",
            "--quick",
            "--only",
            "fig6",
            "--redo",
            "nope",
            "--out",
            s(&dir),
        ],
    );
    refused(&out, &["nope"]);
    assert!(!dir.exists());
    // the corrected rerun is not refused
    reproduce(t.path(), &dir, "fig6", &[]);
}
