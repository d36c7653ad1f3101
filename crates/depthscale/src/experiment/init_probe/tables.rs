//! Stage 3, tables: what the experiment concludes from the cells, computed whatever figures
//! are requested — the critical beta of every `(depth, hurst)` and the depth-curve summary.

use super::Plan;
use super::cells::{Cells, METRICS, cell_key};
use crate::Result;
use crate::experiment::RunContext;
use crate::experiment::store::{self, Record, opt_float};
use crate::experiment::summary::{CorrelationPair, CorrelationRow, CurvePointSummary, finite};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Root-mean-square `h_diff` for res3 with i.i.d. symmetric weights and an activation of
/// second-moment ratio `m2` ([`crate::model::Activation::second_moment_ratio`]):
/// `sqrt((1 + m2 L^{-2b})^L - 1)` (ReLU: `m2 = 1/2`).
pub fn closed_form_h_diff(depth: f64, beta: f64, m2: f64) -> f64 {
    let a2 = depth.powf(-2.0 * beta);
    (depth * (m2 * a2).ln_1p()).exp_m1().sqrt()
}

/// The beta where `values` (mean log10 of a measurement, against ascending `betas`) first
/// crosses 0 from above, linearly interpolated; NaN if it never does.
pub fn critical_beta(betas: &[f64], values: &[f64]) -> f64 {
    for i in 0..betas.len().saturating_sub(1) {
        let (a, b) = (values[i], values[i + 1]);
        if a > 0.0 && b <= 0.0 {
            return if a.is_finite() && b.is_finite() {
                betas[i] + (betas[i + 1] - betas[i]) * a / (a - b)
            } else {
                0.5 * (betas[i] + betas[i + 1])
            };
        }
    }
    f64::NAN
}

/// The critical betas of one `(depth, hurst)`: where mean `log10 h_diff` and mean
/// `log10 g_diff` cross 0 (NaN where they do not).
#[derive(Clone, Copy, Debug)]
pub(super) struct Critical {
    pub depth: usize,
    pub hurst: Option<f64>,
    pub hidden: f64,
    pub gradients: f64,
}

/// The betas of the plan in ascending order.
pub(super) fn sorted_betas(plan: &Plan) -> Vec<f64> {
    let mut betas = plan.betas.clone();
    betas.sort_by(f64::total_cmp);
    betas
}

/// The critical betas of every `(depth, hurst)`, depth-major.
pub(super) fn critical(plan: &Plan, cells: &Cells) -> Vec<Critical> {
    let betas = sorted_betas(plan);
    let mut out = Vec::new();
    for &depth in &plan.depths {
        for hurst in plan.hursts() {
            let crossing = |metric: &str| {
                let values: Vec<f64> = betas
                    .iter()
                    .map(|&b| {
                        cells
                            .get(&cell_key(depth, hurst, b))
                            .map_or(f64::NAN, |c| c.mean_log10(metric))
                    })
                    .collect();
                critical_beta(&betas, &values)
            };
            out.push(Critical {
                depth,
                hurst,
                hidden: crossing("h_diff"),
                gradients: crossing("g_diff"),
            });
        }
    }
    out
}

/// `x`, or `None` where it is NaN (a measurement that never crosses 0: an empty cell).
fn unless_nan(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

fn finite_or_null(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}

/// A row of `critical.csv`: the critical betas of one `(depth, hurst)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct CriticalRow {
    pub depth: usize,
    #[serde(with = "opt_float")]
    pub hurst: Option<f64>,
    /// From the hidden states (empty where they never cross 0).
    #[serde(with = "opt_float")]
    pub critical_beta: Option<f64>,
    /// From the gradients (empty likewise).
    #[serde(with = "opt_float")]
    pub critical_beta_gradients: Option<f64>,
}

impl Record for CriticalRow {
    const COLUMNS: &'static [&'static str] =
        &["depth", "hurst", "critical_beta", "critical_beta_gradients"];
}

/// Writes `critical.csv`: `depth, hurst, critical_beta, critical_beta_gradients` (empty where
/// a measurement never crosses 0).
pub(super) fn write_critical(ctx: &RunContext, rows: &[Critical]) -> Result<()> {
    let table: Vec<CriticalRow> = rows
        .iter()
        .map(|r| CriticalRow {
            depth: r.depth,
            hurst: r.hurst,
            critical_beta: unless_nan(r.hidden),
            critical_beta_gradients: unless_nan(r.gradients),
        })
        .collect();
    store::rewrite(&ctx.path("critical.csv"), &table)
}

/// The critical betas for `summary.json`: per depth, the Hurst grid and both estimates.
pub(super) fn critical_json(plan: &Plan, rows: &[Critical]) -> serde_json::Value {
    let per_depth = plan
        .depths
        .iter()
        .map(|&depth| {
            let here: Vec<&Critical> = rows.iter().filter(|r| r.depth == depth).collect();
            serde_json::json!({
                "depth": depth,
                "hurst": here.iter().map(|r| r.hurst).collect::<Vec<_>>(),
                "critical_beta": here.iter().map(|r| finite_or_null(r.hidden)).collect::<Vec<_>>(),
                "critical_beta_gradients": here.iter().map(|r| finite_or_null(r.gradients)).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::Value::Array(per_depth)
}

/// One point of the depth curves: a cell's mean and 95% half-width of each measurement, and
/// the closed form of the root-mean-square `h_diff` where it applies.
#[derive(Clone, Copy, Debug)]
pub(super) struct CurvePoint {
    pub depth: usize,
    pub hurst: Option<f64>,
    pub beta: f64,
    /// `(mean, ci95)` of `h_ratio, h_diff, g_ratio, g_diff`.
    pub stats: [(f64, f64); 4],
    pub closed_form: Option<f64>,
}

impl CurvePoint {
    /// `(mean, ci95)` of `metric`.
    pub fn stat(&self, metric: &str) -> (f64, f64) {
        let i = METRICS
            .iter()
            .position(|m| *m == metric)
            .expect("known metric");
        self.stats[i]
    }
}

/// The depth curves, keyed like the cells.
pub(super) type DepthCurves = BTreeMap<(usize, u64, u64), CurvePoint>;

/// The depth-curve summary of every cell.
pub(super) fn depth_curves(plan: &Plan, cells: &Cells) -> DepthCurves {
    let m2 = plan.closed_form_m2();
    cells
        .iter()
        .map(|(key, c)| {
            let point = CurvePoint {
                depth: c.depth,
                hurst: c.hurst,
                beta: c.beta,
                stats: METRICS.map(|m| c.stat(m)),
                closed_form: m2.map(|m2| closed_form_h_diff(c.depth as f64, c.beta, m2)),
            };
            (*key, point)
        })
        .collect()
}

/// The depth-curve summary for `summary.json`.
pub(super) fn depth_curves_summary(curves: &DepthCurves) -> Vec<CurvePointSummary> {
    curves
        .values()
        .map(|c| {
            let (h_diff, h_ci) = c.stat("h_diff");
            let (g_diff, g_ci) = c.stat("g_diff");
            CurvePointSummary {
                depth: c.depth,
                beta: c.beta,
                hurst: c.hurst,
                h_diff_mean: finite(h_diff),
                h_diff_ci95: finite(h_ci),
                h_diff_closed_form_rms: c.closed_form.and_then(finite),
                g_diff_mean: finite(g_diff),
                g_diff_ci95: finite(g_ci),
            }
        })
        .collect()
}

/// Correlated against uncorrelated weights at the largest depth, per `(hurst, beta)`: mean and
/// 95% half-width of `h_diff` and `g_diff` under both.
pub(super) fn correlation_summary(
    plan: &Plan,
    correlated: &Cells,
    uncorrelated: &Cells,
) -> Vec<CorrelationRow> {
    let depth = *plan.depths.iter().max().expect("non-empty grid");
    let mut out = Vec::new();
    for hurst in plan.hursts() {
        for &beta in &plan.betas {
            let key = cell_key(depth, hurst, beta);
            let (Some(c), Some(u)) = (correlated.get(&key), uncorrelated.get(&key)) else {
                continue;
            };
            let pair = |m: &str| {
                let ((cm, cc), (um, uc)) = (c.stat(m), u.stat(m));
                CorrelationPair {
                    correlated_mean: finite(cm),
                    correlated_ci95: finite(cc),
                    uncorrelated_mean: finite(um),
                    uncorrelated_ci95: finite(uc),
                }
            };
            out.push(CorrelationRow {
                depth,
                hurst,
                beta,
                h_diff: pair("h_diff"),
                g_diff: pair("g_diff"),
            });
        }
    }
    out
}
