//! Stage 2, cells: the rows of each `(depth, hurst, beta)` aggregated over draws and samples.

use super::rows::Row;
use crate::Result;
use crate::experiment::{RunContext, cell};
use crate::stats::mean_ci95;
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

/// Writes `cells.csv`: per cell, the mean, 95% half-width and mean `log10` of each measurement.
pub(super) fn write(ctx: &RunContext, file: &str, cells: &Cells) -> Result<()> {
    let mut csv = ctx.csv(file)?;
    let mut header = vec![
        "depth".to_owned(),
        "hurst".into(),
        "beta".into(),
        "n".into(),
    ];
    for m in METRICS {
        header.extend([
            format!("{m}_mean"),
            format!("{m}_ci95"),
            format!("log10_{m}_mean"),
        ]);
    }
    csv.row(&header)?;
    for c in cells.values() {
        let mut row = vec![
            c.depth.to_string(),
            cell(c.hurst),
            cell(Some(c.beta)),
            c.n.to_string(),
        ];
        for m in METRICS {
            let (mean, ci) = c.stat(m);
            row.extend([
                cell(Some(mean)),
                cell(Some(ci)),
                cell(Some(c.mean_log10(m))),
            ]);
        }
        csv.row(&row)?;
    }
    csv.finish()
}
