//! Stage 2, tables: the log-log fits of the gaps against depth per `(beta, init, activation)`,
//! computed from the rows of `results.csv` and written to `fits.csv`; the stages after read
//! `fits.csv` back ([`read`]) or take these fits.

use super::super::Case;
use super::rows::{MAX_ROW_BYTES, ResultRow};
use crate::experiment::RunContext;
use crate::experiment::store::{self, Record, opt_float};
use crate::stats::{DepthCorrectedSlope, depth_corrected_slope, loglog_slope};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The fits of one `(beta, init, activation)`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Fit {
    /// Residual scaling exponent.
    pub beta: f64,
    /// Initialization of the weights.
    pub init: String,
    /// Activation.
    pub activation: String,
    /// Log-log slopes against `L` of the max and mean gap of `V` and the max gap of `W`, over
    /// the pairs that did not diverge (`None` with fewer than two).
    pub slopes: [Option<f64>; 3],
    /// The max gap of `V`'s depth-corrected fit (`None` with fewer than three pairs).
    pub corrected: Option<DepthCorrectedSlope>,
}

/// One row of `fits.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct FitRow {
    /// Residual scaling exponent.
    #[serde(with = "crate::experiment::store::float")]
    pub beta: f64,
    /// Initialization of the weights.
    pub init: String,
    /// Activation.
    pub activation: String,
    /// Log-log slope of the max gap of `V` against `L`.
    #[serde(with = "opt_float")]
    pub slope_max_gap_v: Option<f64>,
    /// The same of the mean gap of `V`.
    #[serde(with = "opt_float")]
    pub slope_mean_gap_v: Option<f64>,
    /// The same of the max gap of `W`.
    #[serde(with = "opt_float")]
    pub slope_max_gap_w: Option<f64>,
    /// Depth-corrected slope of the max gap of `V`.
    #[serde(with = "opt_float")]
    pub corrected_slope_max_gap_v: Option<f64>,
    /// Its standard error.
    #[serde(with = "opt_float")]
    pub corrected_slope_max_gap_v_se: Option<f64>,
}

impl Record for FitRow {
    const COLUMNS: &'static [&'static str] = &[
        "beta",
        "init",
        "activation",
        "slope_max_gap_v",
        "slope_mean_gap_v",
        "slope_max_gap_w",
        "corrected_slope_max_gap_v",
        "corrected_slope_max_gap_v_se",
    ];
}

/// The fits of every case of `cases`, in order, from the rows of `results.csv`.
pub(super) fn fit(cases: &[Case], results: &[ResultRow]) -> Vec<Fit> {
    cases
        .iter()
        .map(|c| {
            let mine: Vec<&ResultRow> = results
                .iter()
                .filter(|r| r.is_of(c) && !r.diverged)
                .collect();
            let x: Vec<f64> = mine.iter().map(|r| r.depth as f64).collect();
            let y = |f: fn(&ResultRow) -> f64| -> Vec<f64> { mine.iter().map(|r| f(r)).collect() };
            let max_gap_v = y(|r| r.max_gap_v);
            Fit {
                beta: c.beta,
                init: c.init.to_string(),
                activation: c.activation.to_string(),
                slopes: [
                    loglog_slope(&x, &max_gap_v),
                    loglog_slope(&x, &y(|r| r.mean_gap_v)),
                    loglog_slope(&x, &y(|r| r.max_gap_w)),
                ],
                corrected: depth_corrected_slope(&x, &max_gap_v),
            }
        })
        .collect()
}

/// Writes `fits.csv`, one row per fit.
pub(super) fn write(ctx: &RunContext, fits: &[Fit]) -> Result<()> {
    let rows: Vec<FitRow> = fits
        .iter()
        .map(|f| FitRow {
            beta: f.beta,
            init: f.init.clone(),
            activation: f.activation.clone(),
            slope_max_gap_v: f.slopes[0],
            slope_mean_gap_v: f.slopes[1],
            slope_max_gap_w: f.slopes[2],
            corrected_slope_max_gap_v: f.corrected.map(|c| c.slope),
            corrected_slope_max_gap_v_se: f.corrected.and_then(|c| c.se),
        })
        .collect();
    store::rewrite(&ctx.path("fits.csv"), &rows)
}

/// The rows of `dir/fits.csv`, checked to be `cases` many.
pub(super) fn read(dir: &Path, cases: usize) -> Result<Vec<FitRow>> {
    let path = dir.join("fits.csv");
    let rows: Vec<FitRow> = store::read(
        &path,
        false,
        (cases as u64 + 1).saturating_mul(MAX_ROW_BYTES),
    )?;
    if rows.len() != cases {
        return Err(Error::data(
            &path,
            format!("{} rows, expected {cases}", rows.len()),
        ));
    }
    Ok(rows)
}
