//! The figure review of issue 25 §5: experiments run at their reproduction sizes, and every
//! figure they draw is checked mechanically ([`crate::plot::review`]): no legend box over a
//! line or marker, no text under the floor at the size the report shows it, no band point lost
//! on a log axis.

use super::reproduce::plan::{Entry, plan};
use super::{ConfigSource, RunOptions, run};
use crate::plot::review::{self, FigureReview};
use crate::progress::Silent;

/// Runs `entry` into a temporary directory and returns the figures it drew.
fn figures_of(entry: &Entry) -> Vec<FigureReview> {
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        quick: entry.runner_quick,
        overrides: entry.overrides.clone(),
        out: Some(dir.path().join(entry.preset)),
        ..RunOptions::default()
    };
    let (report, figures) =
        review::capture(|| run(ConfigSource::resolve(entry.preset).unwrap(), &opts, &Silent));
    report.unwrap_or_else(|e| panic!("{}: {e}", entry.preset));
    figures
}

/// Reviews the figures of the reproduction's quick `presets` (every preset: `None`), with
/// `extra` overrides per preset to keep the test small; returns every problem found.
fn review_presets(presets: Option<&[&str]>, extra: &[(&str, &[&str])]) -> Vec<String> {
    let only: Option<Vec<String>> = presets.map(|p| p.iter().map(|s| s.to_string()).collect());
    let mut problems = Vec::new();
    for mut entry in plan(only.as_deref(), true, None, None).unwrap() {
        for (preset, sets) in extra {
            if *preset == entry.preset {
                entry.overrides.extend(sets.iter().map(|s| s.to_string()));
            }
        }
        let start = std::time::Instant::now();
        let figures = figures_of(&entry);
        eprintln!(
            "{}: {} figures reviewed in {:.1} s",
            entry.preset,
            figures.len(),
            start.elapsed().as_secs_f64()
        );
        assert!(!figures.is_empty(), "{} drew no figure", entry.preset);
        problems.extend(figures.iter().flat_map(FigureReview::problems));
    }
    problems
}

/// A few presets of every figure kind (line panels with bands, log axes, closed forms; paths;
/// heatmaps with overlays; the limits' errors), shrunk further to keep the test to seconds.
#[test]
fn figures_of_small_runs_pass_the_review() {
    let problems = review_presets(
        Some(&["fig1", "fig6", "fig7", "ode"]),
        &[
            ("fig1", &["depth={linspace=[10, 200, 4]}", "draws=10"]),
            (
                "fig7",
                &[
                    "hurst={linspace=[0.1, 0.9, 5]}",
                    "beta={linspace=[0.2, 1.2, 6]}",
                    "depth=200",
                    "draws=4",
                ],
            ),
        ],
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every figure of `reproduce --quick` (about 5 minutes on two cores in release; run it with
/// `cargo test --release -p depthscale --lib figure_review -- --ignored`).
#[test]
#[ignore = "runs the whole quick reproduction (minutes)"]
fn figures_of_the_quick_reproduction_pass_the_review() {
    let problems = review_presets(None, &[]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
