//! Every experiment that computes through a backend, run at quick size on the CPU backend and
//! on the checked test backend (`kernels::checked`: staged buffers, poisoned before written,
//! every read checked) delegating to that same CPU backend: the tables and the summary must be
//! bitwise the same (timings and the backend's description aside), and no value may be read
//! before it is written (the checked backend panics).

use super::{ConfigSource, RunOptions, run};
use crate::kernels::checked::CheckedBackend;
use crate::kernels::{BackendChoice, CpuBackend};
use crate::progress::Silent;
use std::collections::BTreeMap;
use std::path::Path;

/// Whether a summary key or CSV column holds a timing or names the backend (not compared).
fn varies(name: &str) -> bool {
    name.contains("second") || name == "backend"
}

/// `value` without the keys that [`varies`].
fn strip(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !varies(k));
            m.values_mut().for_each(strip);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

/// A CSV table without the columns that [`varies`].
fn strip_csv(text: &str) -> String {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let keep: Vec<bool> = header.iter().map(|c| !varies(c)).collect();
    text.lines()
        .map(|l| {
            l.split(',')
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The compared contents of the output directory `dir`: every CSV table (timing columns
/// removed) and `summary.json` (timings and the backend removed), by file name.
fn contents(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".csv") {
            out.insert(name, strip_csv(&std::fs::read_to_string(&path).unwrap()));
        } else if name == "summary.json" {
            let mut v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            strip(&mut v);
            out.insert(name, v.to_string());
        }
    }
    out
}

/// Runs `preset` at quick size on the CPU and on the checked backend; asserts equal outputs.
fn same_on_both(preset: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let cpu = CpuBackend::new();
    let checked = CheckedBackend::new(cpu);
    let mut seen = Vec::new();
    for (name, backend) in [
        ("cpu", BackendChoice::Cpu(cpu)),
        ("checked", BackendChoice::Checked(checked.clone())),
    ] {
        let dir = tmp.path().join(name);
        let opts = RunOptions {
            quick: true,
            out: Some(dir.clone()),
            backend,
            ..RunOptions::default()
        };
        run(ConfigSource::resolve(preset).unwrap(), &opts, &Silent).unwrap();
        seen.push(contents(&dir));
    }
    assert!(
        checked.calls() > 0,
        "{preset} did not run on the backend it was given"
    );
    assert!(
        seen[0].contains_key("summary.json") && seen[0].len() > 1,
        "{preset}"
    );
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&seen[0]), names(&seen[1]), "{preset}");
    for (file, want) in &seen[0] {
        assert!(
            want == &seen[1][file],
            "{preset}: {file} differs between the backends"
        );
    }
}

#[test]
fn probe_is_the_same_on_the_checked_backend() {
    same_on_both("fig1");
}

#[test]
fn train_is_the_same_on_the_checked_backend() {
    same_on_both("train");
}

#[test]
fn sweep_is_the_same_on_the_checked_backend() {
    same_on_both("fig9");
}

#[test]
fn weights_is_the_same_on_the_checked_backend() {
    same_on_both("fig8");
}

#[test]
fn limit_is_the_same_on_the_checked_backend() {
    same_on_both("sde");
}

#[test]
fn implicit_regularization_is_the_same_on_the_checked_backend() {
    same_on_both("implicit-regularization");
}

#[test]
fn ode_after_training_is_the_same_on_the_checked_backend() {
    same_on_both("ode-after-training");
}

#[test]
fn coord_check_is_the_same_on_the_checked_backend() {
    same_on_both("coord-check");
}

#[test]
fn transfer_is_the_same_on_the_checked_backend() {
    same_on_both("transfer");
}
