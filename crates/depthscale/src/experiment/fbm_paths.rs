//! Sample paths of fractional Brownian motion (the paper's Figure 6): what fBm weights look like
//! over depth for rough (H < 1/2), Brownian (H = 1/2) and smooth (H > 1/2) regimes.
//!
//! The pattern of an experiment kind that holds everything about itself in one module (see
//! ARCHITECTURE.md, "Add an experiment"): its config ([`FbmPathsConfig`]), its preset (`fig6`,
//! with its entry in `depthscale reproduce`), its run, its typed summary ([`FbmPathsSummary`])
//! and its claims hook; it is registered by one line in `registry.rs`.

use super::presets::preset_toml;
use super::reproduce::{Claim, claims};
use super::store::{Appender, Record, float};
use super::{Experiment, Grid, RunContext};
use super::{Preset, Reproduce};
use crate::accept;
use crate::budget::{Footprint, bytes};
use crate::paths::fbm::{autocovariance, fbm_path};
use crate::plot::{self, LineStyle, Panel, Series};
use crate::rng::stream;
use crate::stats::mean_se;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Paths drawn per Hurst index in the figure (the statistics use every path).
const PLOTTED_PATHS: usize = 3;

/// A row of `results.csv`: one point of one sampled path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct PathRow {
    #[serde(with = "float")]
    hurst: f64,
    path: usize,
    step: usize,
    #[serde(with = "float")]
    t: f64,
    #[serde(with = "float")]
    value: f64,
}

impl Record for PathRow {
    const COLUMNS: &'static [&'static str] = &["hurst", "path", "step", "t", "value"];
}

/// `fbm-paths` (Figure 6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FbmPathsSummary {
    /// Per Hurst index, the statistics of the fGn increments.
    pub increments: Vec<FgnIncrements>,
}

/// The fGn increments' statistics at one Hurst index, over independent paths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FgnIncrements {
    /// Hurst index.
    pub hurst: f64,
    /// Independent paths.
    pub paths: usize,
    /// Mean lag-1 autocorrelation over paths.
    pub lag1_autocorrelation: f64,
    /// Its standard error.
    pub lag1_autocorrelation_se: f64,
    /// Theory: `2^(2H-1) - 1`.
    pub lag1_autocorrelation_theory: f64,
    /// Mean variance of the increments times `n^2H` (theory 1).
    pub scaled_variance: f64,
    /// Its standard error.
    pub scaled_variance_se: f64,
}

/// Config of an `fbm-paths` experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FbmPathsConfig {
    /// Free text shown in the figure title.
    #[serde(default)]
    pub title: String,
    /// Seed of the paths.
    #[serde(default)]
    pub seed: u64,
    /// Hurst indices, each in (0, 1).
    pub hurst: Grid,
    /// Steps per path (the path is sampled at `k / steps`, `k = 0..steps`).
    pub steps: usize,
    /// Paths per Hurst index.
    #[serde(default = "one")]
    pub paths: usize,
}

fn one() -> usize {
    1
}

impl FbmPathsConfig {
    fn hursts(&self) -> Result<Vec<f64>> {
        let hs = self.hurst.values("hurst")?;
        if let Some(h) = hs.iter().find(|h| !(**h > 0.0 && **h < 1.0)) {
            return Err(Error::config(
                "hurst",
                format!("Hurst indices must lie in (0, 1), got {h}"),
            ));
        }
        Ok(hs)
    }
}

impl Experiment for FbmPathsConfig {
    const KIND: &'static str = "fbm-paths";

    const PRESETS: &'static [Preset] = &[Preset {
        name: "fig6",
        toml: preset_toml!("fig6"),
        listed: 6,
        reproduce: Some(Reproduce {
            place: 6,
            quick: Some(&[]),
            quick_seconds: 0.1,
            full_seconds: 0.1,
            data: false,
            claim: "Fractional Brownian motion interpolates between rough (H < 1/2, negatively correlated increments) and smooth (H > 1/2) paths; lag-1 increment correlation 2^(2H-1) - 1.",
        }),
    }];

    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        claims::collect(preset, dir, summary, reduced, claims::of_fbm_paths)
    }

    fn validate(&self) -> Result<()> {
        self.hursts()?;
        accept::integers(&[
            ("steps", self.steps, 1..=10_000_000),
            ("paths", self.paths, 1..=1000),
        ])
    }

    fn footprint(&self) -> Result<Footprint> {
        let h = self.hursts()?.len();
        let (steps, paths) = (self.steps, self.paths);
        let field = if steps >= paths { "steps" } else { "paths" };
        let points = [h, paths, steps + 1];
        Ok(Footprint::default()
            .memory(
                field,
                "the plotted paths (hurst x paths x (steps + 1) points of 16 bytes)",
                bytes(16, &points),
            )
            .memory(
                "steps",
                "one path and its increments",
                bytes(48, &[steps + 1]),
            )
            .disk(
                field,
                "results.csv (one row of about 60 bytes per point)",
                bytes(60, &points),
            )
            .disk(
                field,
                "fbm_paths.svg (about 20 bytes per point)",
                bytes(20, &points),
            )
            .disk(
                "hurst",
                "fbm_paths.png, config.toml and summary.json (at most 1 MiB)",
                1 << 20,
            ))
    }

    fn quick(&mut self) {
        self.steps = self.steps.min(200);
        self.paths = self.paths.min(5);
    }

    type Summary = FbmPathsSummary;

    fn run(&self, ctx: &RunContext) -> Result<FbmPathsSummary> {
        let hursts = self.hursts()?;
        let (steps, n_paths) = (self.steps, self.paths);
        ctx.progress
            .start("sampling fBm paths", (hursts.len() * n_paths) as u64);
        let mut csv = Appender::<PathRow>::create(&ctx.path("results.csv"))?;
        let mut panels = Vec::new();
        let mut summary = Vec::new();
        for &h in &hursts {
            let mut series = Vec::new();
            // per path: lag-1 correlation and mean square of the increments times n^2H
            let (mut lag1, mut scaled) = (Vec::new(), Vec::new());
            for p in 0..n_paths {
                crate::progress::check_cancelled(ctx.progress)?;
                let mut rng = stream(self.seed, &[h.to_bits(), p as u64]);
                let path = fbm_path(steps, h, &mut rng)?;
                let t: Vec<f64> = (0..=steps).map(|k| k as f64 / steps as f64).collect();
                for (k, (tk, v)) in t.iter().zip(&path).enumerate() {
                    csv.push(&PathRow {
                        hurst: h,
                        path: p,
                        step: k,
                        t: *tk,
                        value: *v,
                    })?;
                }
                let inc: Vec<f64> = path.windows(2).map(|w| w[1] - w[0]).collect();
                let num = inc.windows(2).map(|w| w[0] * w[1]).sum::<f64>();
                let den = inc.iter().map(|x| x * x).sum::<f64>();
                lag1.push(num / den);
                scaled.push(den / steps as f64 * (steps as f64).powf(2.0 * h));
                ctx.progress.advance(1);
                if p >= PLOTTED_PATHS {
                    continue;
                }
                series.push(Series {
                    label: format!("path {p}"),
                    x: t,
                    y: path,
                    band: None,
                    style: LineStyle::Solid,
                    markers: false,
                });
            }
            panels.push(Panel {
                x_ticks: None,
                notes: Vec::new(),
                title: format!("H = {h}"),
                x_label: "t = k / n".into(),
                y_label: "B_H(t)".into(),
                log_x: false,
                log_y: false,
                series,
            });
            let (lag1_mean, lag1_se) = mean_se(&lag1);
            let (var_mean, var_se) = mean_se(&scaled);
            summary.push(FgnIncrements {
                hurst: h,
                paths: n_paths,
                lag1_autocorrelation: lag1_mean,
                lag1_autocorrelation_se: lag1_se,
                lag1_autocorrelation_theory: autocovariance(h, 1),
                scaled_variance: var_mean,
                scaled_variance_se: var_se,
            });
        }
        csv.sync()?;
        ctx.progress.finish();
        let title = if self.title.is_empty() {
            "Fractional Brownian motion"
        } else {
            &self.title
        };
        plot::line_panels(&ctx.path("fbm_paths"), title, &panels, hursts.len().min(3))?;
        Ok(FbmPathsSummary {
            increments: summary,
        })
    }
}
