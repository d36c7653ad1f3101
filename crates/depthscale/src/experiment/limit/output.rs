//! What the `limit` experiment writes from its tables: `results.csv`, `cells.csv`,
//! `trajectories.csv` and the summary.

use super::LimitConfig;
use crate::Result;
use crate::experiment::RunContext;
use crate::experiment::store::{self, Record, float, opt_float};
use crate::experiment::summary::{LimitSummary, MismatchedBeta, Reading, finite, rest};
use crate::limits::{Driver, Fit, LevelRecord, Study, Tables, Trajectory, means};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The name of case `c` in the tables.
fn case_name(c: usize) -> &'static str {
    if c == 0 { "paired" } else { "mismatched" }
}

/// A row of `cells.csv`: a (case, depth)'s means over paths with their 95% half-widths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct CellRow {
    pub case: String,
    #[serde(with = "float")]
    pub beta: f64,
    pub depth: usize,
    #[serde(with = "float")]
    pub strong_error: f64,
    #[serde(with = "float")]
    pub strong_error_ci95: f64,
    #[serde(with = "float")]
    pub terminal_error: f64,
    #[serde(with = "float")]
    pub terminal_error_ci95: f64,
    #[serde(with = "float")]
    pub displacement: f64,
    #[serde(with = "float")]
    pub displacement_ci95: f64,
    pub non_finite_paths: usize,
    #[serde(with = "float")]
    pub ks: f64,
    #[serde(with = "float")]
    pub w1: f64,
}

impl Record for CellRow {
    const COLUMNS: &'static [&'static str] = &[
        "case",
        "beta",
        "depth",
        "strong_error",
        "strong_error_ci95",
        "terminal_error",
        "terminal_error_ci95",
        "displacement",
        "displacement_ci95",
        "non_finite_paths",
        "ks",
        "w1",
    ];
}

/// A row of `results.csv`: one path's errors at a (case, depth), or (case `limit`, empty
/// `beta` and errors, `depth` = `N`) the limit's ratio and displacement on that path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ResultRow {
    pub case: String,
    #[serde(with = "opt_float")]
    pub beta: Option<f64>,
    pub depth: usize,
    pub path: usize,
    #[serde(with = "opt_float")]
    pub strong_error: Option<f64>,
    #[serde(with = "opt_float")]
    pub terminal_error: Option<f64>,
    #[serde(with = "float")]
    pub h_ratio: f64,
    #[serde(with = "float")]
    pub displacement: f64,
}

impl Record for ResultRow {
    const COLUMNS: &'static [&'static str] = &[
        "case",
        "beta",
        "depth",
        "path",
        "strong_error",
        "terminal_error",
        "h_ratio",
        "displacement",
    ];
}

/// `cells.csv`: one row per (case, depth), the means over paths with their 95% half-widths.
pub(super) fn write_cells(ctx: &RunContext, t: &Tables) -> Result<()> {
    let c = &t.cells;
    let rows: Vec<CellRow> = t
        .betas
        .iter()
        .enumerate()
        .flat_map(|(case, beta)| {
            t.depths.iter().enumerate().map(move |(i, &depth)| {
                let (s, e, m) = (
                    c.strong[case][i],
                    c.terminal[case][i],
                    c.displacement[case][i],
                );
                CellRow {
                    case: case_name(case).to_owned(),
                    beta: *beta,
                    depth,
                    strong_error: s.0,
                    strong_error_ci95: s.1,
                    terminal_error: e.0,
                    terminal_error_ci95: e.1,
                    displacement: m.0,
                    displacement_ci95: m.1,
                    non_finite_paths: c.exploded[case][i],
                    ks: c.ks[case][i],
                    w1: c.w1[case][i],
                }
            })
        })
        .collect();
    store::rewrite(&ctx.path("cells.csv"), &rows)
}

/// A row of `trajectories.csv`: one (series, time) of path 0, its norm and the kept
/// coordinates of `h` (columns `h1, h2, ...`, as many as the study kept).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct TrajectoryRow {
    /// `limit`, `paired` or `mismatched`.
    pub series: String,
    /// The case's beta (empty for the limit).
    #[serde(with = "opt_float")]
    pub beta: Option<f64>,
    /// The depth (`N` for the limit).
    pub depth: usize,
    #[serde(with = "float")]
    pub t: f64,
    #[serde(with = "float")]
    pub norm: f64,
    /// The kept coordinates `h1, h2, ...`.
    #[serde(with = "store::floats")]
    pub h: Vec<f64>,
}

impl Record for TrajectoryRow {
    const COLUMNS: &'static [&'static str] = &["series", "beta", "depth", "t", "norm"];
}

/// `trajectories.csv`: path 0's trajectories, one row per (series, time), the kept coordinates
/// of `h` and its norm; the limit's rows have an empty `beta` and `depth` = `N`.
pub(super) fn write_trajectories(ctx: &RunContext, t: &Tables, n: usize) -> Result<()> {
    let tr = &t.trajectories;
    let coords: Vec<String> = (1..=tr.limit.coords.len())
        .map(|c| format!("h{c}"))
        .collect();
    let mut rows = Vec::new();
    let mut push = |series: &str, beta: Option<f64>, depth: usize, tr: &Trajectory| {
        rows.extend((0..tr.t.len()).map(|j| TrajectoryRow {
            series: series.to_owned(),
            beta,
            depth,
            t: tr.t[j],
            norm: tr.norm[j],
            h: tr.coords.iter().map(|c| c[j]).collect(),
        }));
    };
    if !tr.limit.t.is_empty() {
        push("limit", None, n, &tr.limit);
    }
    for (case, depth, traj) in &tr.networks {
        push(case_name(*case), Some(t.betas[*case]), *depth, traj);
    }
    store::rewrite_wide(&ctx.path("trajectories.csv"), &coords, &rows)
}

impl LimitConfig {
    /// `results.csv`: one row per (path, case, depth) and one limit row per path.
    pub(super) fn write_results(&self, ctx: &RunContext, t: &Tables, n: usize) -> Result<()> {
        let mut rows = Vec::new();
        for (path, r) in t.rows.iter().enumerate() {
            for (c, beta) in t.betas.iter().enumerate() {
                for (i, &depth) in t.depths.iter().enumerate() {
                    let m = r.levels[c][i];
                    rows.push(ResultRow {
                        case: case_name(c).to_owned(),
                        beta: Some(*beta),
                        depth,
                        path,
                        strong_error: Some(m.strong),
                        terminal_error: Some(m.terminal),
                        h_ratio: m.ratio,
                        displacement: m.displacement,
                    });
                }
            }
            rows.push(ResultRow {
                case: "limit".to_owned(),
                beta: None,
                depth: n,
                path,
                strong_error: None,
                terminal_error: None,
                h_ratio: r.limit_ratio,
                displacement: r.limit_displacement,
            });
        }
        store::rewrite(&ctx.path("results.csv"), &rows)
    }

    /// The kind-specific part of `summary.json`, from the tables.
    pub(super) fn summary(
        &self,
        study: &Study,
        t: &Tables,
        n: usize,
        scheme: &str,
    ) -> LimitSummary {
        let (cells, fits) = (&t.cells, &t.fits);
        let cis = |row: &[(f64, f64)]| row.iter().map(|m| m.1).collect::<Vec<_>>();
        let slope = |f: Option<Fit>| f.map(|f| f.slope);
        let mismatched: Vec<_> = t
            .betas
            .iter()
            .enumerate()
            .skip(1)
            .map(|(c, beta)| MismatchedBeta {
                beta: *beta,
                displacement_slope: displacement_slope(
                    slope(fits.displacement[c]),
                    &t.depths,
                    &cells.exploded[c],
                ),
                displacement_slope_se: per_path_se(t, c, |l| l.displacement),
                rest: rest(json!({
                    "strong_error": means(&cells.strong[c]),
                    "terminal_error": means(&cells.terminal[c]),
                    "displacement": means(&cells.displacement[c]),
                    "strong_error_slope": slope(fits.strong[c]),
                    "non_finite_paths": cells.exploded[c],
                    "ks": cells.ks[c],
                    "w1": cells.w1[c],
                })),
            })
            .collect();
        let network_rate = study.network_rate();
        let mut out = json!({
            "expected_slope_source": "minus the strong rate the Euler solver (the networks' scheme) declares for the driver",
            "limit": self.driver.limit_name(),
            "driver": self.driver.to_string(),
            "block": self.block,
            "activation": self.activation.to_string(),
            "width": self.width,
            "paths": t.rows.len(),
            "depths": t.depths,
            "reference_resolution": n,
            "reference_scheme": scheme,
            "reference_rate": study.reference_rate(),
            "strong_error": means(&cells.strong[0]),
            "strong_error_ci95": cis(&cells.strong[0]),
            "terminal_error": means(&cells.terminal[0]),
            "terminal_error_ci95": cis(&cells.terminal[0]),
            "displacement": means(&cells.displacement[0]),
            "limit_displacement": cells.limit_displacement.0,
            "weak": {
                "statistic": "||h_L|| / ||h_0||, coupled samples (network and limit on the same path)",
                "ks": cells.ks[0],
                "w1": cells.w1[0],
                "w1_slope": slope(fits.w1),
            },
        });
        if let Some(check) = t.reference_check {
            out["reference_check"] = json!({
                "what": "max_j ||H_N - H_{N/2}|| on path 0: the reference scheme at N and N/2 steps",
                "value": check,
            });
        }
        if let Driver::Fbm { hurst } = self.driver {
            // the slope over the largest depths, where the L^{1-2H} term dominates
            out["young"] = json!({
                "hurst": hurst,
                "expected_rate": network_rate,
                "measured_strong_rate": slope(fits.strong[0]).map(|s| -s),
                "measured_terminal_rate": slope(fits.terminal[0]).map(|s| -s),
                "measured_strong_rate_largest_depths": slope(fits.strong_tail).map(|s| -s),
                "largest_depths": fits.tail_depths,
            });
        }
        LimitSummary {
            strong_error_slope: slope(fits.strong[0]).and_then(finite),
            terminal_error_slope: slope(fits.terminal[0]).and_then(finite),
            strong_error_slope_se: per_path_se(t, 0, |l| l.strong),
            terminal_error_slope_se: per_path_se(t, 0, |l| l.terminal),
            expected_slope: -network_rate,
            finite_depth_allowance: self.driver.euler_slope_allowance(),
            natural_beta: self.driver.natural_beta(),
            mismatched,
            rest: rest(out),
        }
    }
}

/// The standard error over paths of the log-log slope of `f`'s means against depth, case
/// `case` ([`crate::stats::paired_loglog_slope_se`]).
fn per_path_se(t: &Tables, case: usize, f: fn(&LevelRecord) -> f64) -> Option<f64> {
    let x: Vec<Vec<f64>> = t
        .rows
        .iter()
        .map(|r| r.levels[case].iter().map(f).collect())
        .collect();
    crate::stats::paired_loglog_slope_se(&t.depths, &x)
}

/// The displacement slope of a mismatched beta: the fitted slope, or, where non-finite paths
/// left none to fit, an overflow naming the first depth with non-finite paths.
fn displacement_slope(fit: Option<f64>, depths: &[usize], exploded: &[usize]) -> Option<Reading> {
    match fit.and_then(finite) {
        Some(s) => Some(Reading::Value(s)),
        None => depths
            .iter()
            .zip(exploded)
            .find(|(_, n)| **n > 0)
            .map(|(l, n)| Reading::Overflow {
                overflow: format!("{n} non-finite paths at L = {l}"),
            }),
    }
}
