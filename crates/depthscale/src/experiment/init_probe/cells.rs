//! Stage 2, cells: the rows of each `(depth, hurst, beta)` aggregated over draws and samples.

use super::rows::Row;
use crate::Result;
use crate::experiment::RunContext;
use crate::experiment::store::{self, Record, float, opt_float};
use crate::stats::mean_ci95;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The four measurements, in the order of [`Cell::values`].
pub(super) const METRICS: [&str; 4] = ["h_ratio", "h_diff", "g_ratio", "g_diff"];

/// Aggregates of one `(depth, hurst, beta)` cell over draws and samples.
pub(super) struct Cell {
    pub depth: usize,
    pub hurst: Option<f64>,
    pub beta: f64,
    pub n: usize,
    /// `[h_ratio, h_diff, g_ratio, g_diff]` values of the cell's rows.
    values: [Vec<f64>; 4],
}

impl Cell {
    fn index(metric: &str) -> usize {
        METRICS
            .iter()
            .position(|m| *m == metric)
            .expect("known metric")
    }

    /// Mean and 95% half-width of a measurement.
    pub fn stat(&self, metric: &str) -> (f64, f64) {
        mean_ci95(&self.values[Self::index(metric)])
    }

    /// Mean of `log10` of a measurement (`+inf` if any value overflowed).
    pub fn mean_log10(&self, metric: &str) -> f64 {
        let v = &self.values[Self::index(metric)];
        v.iter().map(|x| x.log10()).sum::<f64>() / v.len() as f64
    }
}

/// Cells by `(depth, hurst bits, beta bits)`, in that order.
pub(super) type Cells = BTreeMap<(usize, u64, u64), Cell>;

/// The key of the cell `(depth, hurst, beta)` in [`Cells`].
pub(super) fn cell_key(depth: usize, hurst: Option<f64>, beta: f64) -> (usize, u64, u64) {
    (depth, hurst.map_or(u64::MAX, f64::to_bits), beta.to_bits())
}

/// Groups the rows into cells.
pub(super) fn aggregate(rows: &[Row]) -> Cells {
    let mut map = Cells::new();
    for r in rows {
        let c = map
            .entry(cell_key(r.depth, r.hurst, r.beta))
            .or_insert_with(|| Cell {
                depth: r.depth,
                hurst: r.hurst,
                beta: r.beta,
                n: 0,
                values: Default::default(),
            });
        c.n += 1;
        for (i, v) in [r.m.h_ratio, r.m.h_diff, r.m.g_ratio, r.m.g_diff]
            .into_iter()
            .enumerate()
        {
            c.values[i].push(v);
        }
    }
    map
}

/// Three columns of a measurement in `cells.csv`: `{m}_mean, {m}_ci95, log10_{m}_mean`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct MetricStats {
    #[serde(with = "float")]
    pub mean: f64,
    #[serde(with = "float")]
    pub ci95: f64,
    #[serde(with = "float")]
    pub log10_mean: f64,
}

/// A row of `cells.csv`: per cell, the mean, 95% half-width and mean `log10` of each
/// measurement, in the order of [`METRICS`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct CellRow {
    pub depth: usize,
    #[serde(with = "opt_float")]
    pub hurst: Option<f64>,
    #[serde(with = "float")]
    pub beta: f64,
    pub n: usize,
    pub h_ratio: MetricStats,
    pub h_diff: MetricStats,
    pub g_ratio: MetricStats,
    pub g_diff: MetricStats,
}

impl Record for CellRow {
    const COLUMNS: &'static [&'static str] = &[
        "depth",
        "hurst",
        "beta",
        "n",
        "h_ratio_mean",
        "h_ratio_ci95",
        "log10_h_ratio_mean",
        "h_diff_mean",
        "h_diff_ci95",
        "log10_h_diff_mean",
        "g_ratio_mean",
        "g_ratio_ci95",
        "log10_g_ratio_mean",
        "g_diff_mean",
        "g_diff_ci95",
        "log10_g_diff_mean",
    ];
}

impl Cell {
    /// The three columns of measurement `metric`.
    fn metric_stats(&self, metric: &str) -> MetricStats {
        let (mean, ci95) = self.stat(metric);
        MetricStats {
            mean,
            ci95,
            log10_mean: self.mean_log10(metric),
        }
    }

    /// The cell's row of `cells.csv`.
    fn row(&self) -> CellRow {
        let [h_ratio, h_diff, g_ratio, g_diff] = METRICS.map(|m| self.metric_stats(m));
        CellRow {
            depth: self.depth,
            hurst: self.hurst,
            beta: self.beta,
            n: self.n,
            h_ratio,
            h_diff,
            g_ratio,
            g_diff,
        }
    }
}

/// Writes `file` (`cells.csv`), one [`CellRow`] per cell.
pub(super) fn write(ctx: &RunContext, file: &str, cells: &Cells) -> Result<()> {
    let rows: Vec<CellRow> = cells.values().map(Cell::row).collect();
    store::rewrite(&ctx.path(file), &rows)
}
