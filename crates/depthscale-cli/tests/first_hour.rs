//! A new user's first hour (issue 25, sections 2 and 3): default output names never collide,
//! every run says its result, `--help` starts with `reproduce`, unknown presets get a
//! did-you-mean, and parse errors echo what they refused.

mod common;
use common::ok;

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built `depthscale` in `cwd` (stderr is a pipe: plain progress lines).
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_depthscale"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the binary runs")
}

/// The one `error: ` line of a refused command.
#[track_caller]
fn refusal(out: &Output) -> String {
    assert!(!out.status.success(), "expected a refusal");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    lines[0].to_owned()
}

/// fig6 at its smallest: a fraction of a second.
const TINY: &[&str] = &["run", "fig6", "--quick", "--set", "paths=1"];

#[test]
fn the_same_preset_twice_in_the_same_second_gets_two_directories() {
    let tmp = tempfile::tempdir().unwrap();
    // four runs back to back: at least two of them start within the same second
    let mut dirs = Vec::new();
    for _ in 0..4 {
        let out = ok(&run_in(tmp.path(), TINY));
        let dir = out
            .lines()
            .find_map(|l| l.strip_prefix("wrote "))
            .and_then(|l| l.split(" (").next())
            .expect("a wrote line")
            .to_owned();
        dirs.push(dir);
    }
    let names: Vec<String> = std::fs::read_dir(tmp.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let mut unique = dirs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "{dirs:?}");
    // a name taken in the same second gets a suffix: some name ends in -2 unless every run
    // fell in its own second (then no two share a timestamp)
    let stamps: std::collections::BTreeSet<&str> = names
        .iter()
        .map(|n| &n["fig6-".len()..])
        .map(|s| &s[..15])
        .collect();
    if stamps.len() < 4 {
        assert!(names.iter().any(|n| n.ends_with("-2")), "{names:?}");
    }
    for n in &names {
        assert!(
            tmp.path()
                .join("runs")
                .join(n)
                .join("summary.json")
                .is_file(),
            "{n} is complete"
        );
    }
}

#[test]
fn a_run_refused_after_its_default_name_is_chosen_leaves_no_directory() {
    let tmp = tempfile::tempdir().unwrap();
    // a run refused after its name is chosen (over the memory cap) leaves nothing behind
    let out = Command::new(env!("CARGO_BIN_EXE_depthscale"))
        .args(TINY)
        .current_dir(tmp.path())
        .env("DEPTHSCALE_MAX_MEMORY", "1K")
        .output()
        .unwrap();
    assert!(refusal(&out).contains("DEPTHSCALE_MAX_MEMORY"));
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("runs"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_run_prints_its_claims() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(&run_in(tmp.path(), &["run", "sde", "--quick"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("claims of the paper agree"),
        "a headline first: {out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("slope") && l.contains("measured")),
        "the slopes: {out}"
    );
    assert!(lines.len() <= 12, "a few lines: {out}");
    assert!(lines.last().unwrap().starts_with("wrote "), "{out}");
}

#[test]
fn a_config_file_run_prints_its_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let show = ok(&run_in(tmp.path(), &["show", "sde"]));
    std::fs::write(tmp.path().join("mine.toml"), show).unwrap();
    let out = ok(&run_in(tmp.path(), &["run", "mine.toml", "--quick"]));
    assert!(out.lines().count() >= 2, "a headline before `wrote`: {out}");
    assert!(out.lines().next().unwrap().contains(" = "), "{out}");
}

#[test]
fn help_starts_with_reproduce() {
    let out = ok(&run_in(Path::new("."), &["--help"]));
    let commands: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .map_while(|l| {
            l.strip_prefix("  ")
                .and_then(|l| l.split_whitespace().next())
        })
        .collect();
    assert_eq!(commands.first(), Some(&"reproduce"), "{out}");
    let quick_start = out
        .lines()
        .skip_while(|l| !l.starts_with("Quick start"))
        .nth(1)
        .unwrap_or("");
    assert!(quick_start.contains("reproduce"), "{out}");
}

#[test]
fn unknown_presets_get_a_did_you_mean_not_the_whole_list() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, suggestion) in [
        ("Fig1", "fig1"),
        ("fig10", "fig1"),
        ("coordcheck", "coord-check"),
    ] {
        let line = refusal(&run_in(tmp.path(), &["run", name]));
        assert!(
            line.contains(&format!("did you mean {suggestion}?")),
            "{line}"
        );
        assert!(
            !line.contains("fig1-leaky"),
            "no list of every preset: {line}"
        );
        let line = refusal(&run_in(tmp.path(), &["show", name]));
        assert!(
            line.contains(&format!("did you mean {suggestion}?")),
            "{line}"
        );
    }
    let line = refusal(&run_in(tmp.path(), &["run", "zzzzzzzzzz"]));
    assert!(line.contains("depthscale presets"), "{line}");
}

#[test]
fn parse_errors_echo_the_refused_value() {
    let tmp = tempfile::tempdir().unwrap();
    let line = refusal(&run_in(
        tmp.path(),
        &["run", "fig1", "--quick", "--set", "beta=[0.5,"],
    ));
    assert!(line.contains("`beta`") && line.contains("[0.5,"), "{line}");
    let line = refusal(&run_in(
        tmp.path(),
        &["run", "fig1", "--quick", "--set", "width=40.5"],
    ));
    assert!(
        line.contains("`width`") && line.contains("40.5") && line.contains("integer"),
        "{line}"
    );
    assert!(!line.contains("i64"), "{line}");
    let line = refusal(&run_in(
        tmp.path(),
        &["run", "fig1", "--quick", "--set", "depth=abc"],
    ));
    assert!(line.contains("abc"), "{line}");
}

#[test]
fn grid_labels_show_short_decimals() {
    let tmp = tempfile::tempdir().unwrap();
    ok(&run_in(
        tmp.path(),
        &[
            "run",
            "fig6",
            "--quick",
            "--set",
            "paths=1",
            "--set",
            "hurst={linspace=[0.05, 0.95, 10]}",
            "--out",
            "o",
        ],
    ));
    let svg = std::fs::read_dir(tmp.path().join("o"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    assert!(svg.contains("H = 0.7"), "the label of H = 0.7");
    assert!(!svg.contains("0000000000"), "no rounding noise in labels");
}

/// Issue 25 leftover: an unknown `--only` (or `--redo`) name of `reproduce` gets the nearest
/// experiment, not the list of all of them; a name near nothing still lists them.
#[test]
fn unknown_only_names_get_a_did_you_mean() {
    let tmp = tempfile::tempdir().unwrap();
    for (flag, name, suggestion) in [
        ("--only", "fig10", "fig1"),
        ("--only", "SDE", "sde"),
        ("--redo", "coordcheck", "coord-check"),
    ] {
        let line = refusal(&run_in(
            tmp.path(),
            &["reproduce", "--quick", flag, name, "--out", "r"],
        ));
        assert!(
            line.contains(&format!(
                "unknown experiment {name:?}; did you mean {suggestion}?"
            )),
            "{line}"
        );
        assert!(
            !line.contains("fig1-leaky"),
            "no list of every experiment: {line}"
        );
    }
    let line = refusal(&run_in(
        tmp.path(),
        &["reproduce", "--quick", "--only", "zzzzzzzzzz", "--out", "r"],
    ));
    assert!(
        line.contains("fig1-leaky") && line.contains("sde"),
        "{line}"
    );
    assert!(!tmp.path().join("r").exists(), "nothing written");
}

/// Issue 25 leftover: `depthscale train` says "after 1 epoch", "after 2 epochs".
#[test]
fn train_says_epoch_in_the_singular_for_one_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    for (epochs, want) in [("1", "after 1 epoch ("), ("2", "after 2 epochs (")] {
        let stdout = ok(&run_in(
            tmp.path(),
            &[
                "train",
                "--quick",
                "--depth",
                "4",
                "--width",
                "4",
                "--epochs",
                epochs,
                "--set",
                "train_samples=200",
                "--set",
                "test_samples=100",
                "--out",
                epochs,
            ],
        ));
        assert!(stdout.contains(want), "{stdout}");
        assert!(!stdout.contains("1 epochs"), "{stdout}");
    }
}

/// Issue 25 leftover: the README's first command and `reproduce --help` state the same
/// expected time for `reproduce --quick` (the sum of the measured per-experiment times of
/// `reproduce/plan.rs`, checked there), and no other.
#[test]
fn readme_and_help_give_the_same_time_for_reproduce_quick() {
    const QUICK: &str = "about 1.5 minutes on 2 cores";
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    // the comment lines above the first command
    let lines: Vec<&str> = readme.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("-- reproduce --quick"))
        .expect("the README's first command");
    let comment = lines[at.saturating_sub(3)..at].join(" ");
    assert!(comment.contains(QUICK), "README: {comment}");
    let tmp = tempfile::tempdir().unwrap();
    let help = ok(&run_in(tmp.path(), &["reproduce", "--help"]));
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.matches(QUICK).count() >= 2, "{help}");
    for stale in ["under a minute", "under 2 minutes"] {
        assert!(!flat.contains(stale), "{stale}: {help}");
    }
}
