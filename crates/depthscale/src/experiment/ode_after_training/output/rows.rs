//! Stage 1, rows: `layers.csv` (one row per configuration, depth and layer) and `results.csv`
//! (one row per configuration and depth), written from the trained pairs; the stages after
//! read `results.csv` back ([`read_results`]), never the pairs.

use super::super::{Case, Pair};
use crate::experiment::RunContext;
use crate::experiment::store::{self, Record, float};
use crate::stats::max_mean;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One row of `layers.csv`: the gaps of one layer of one pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct LayerRow {
    /// Residual scaling exponent.
    #[serde(with = "float")]
    pub beta: f64,
    /// Initialization of the weights.
    pub init: String,
    /// Activation.
    pub activation: String,
    /// Depth `L` of the long network.
    pub depth: usize,
    /// Layer of the short network, counted from 1.
    pub k: usize,
    /// `||V^L_{2k} - V^{L/2}_k||_F`.
    #[serde(with = "float")]
    pub gap_v: f64,
    /// The same for `W`.
    #[serde(with = "float")]
    pub gap_w: f64,
}

impl Record for LayerRow {
    const COLUMNS: &'static [&'static str] =
        &["beta", "init", "activation", "depth", "k", "gap_v", "gap_w"];
}

/// One row of `results.csv`: one pair of networks, its max and mean gaps, losses and test MSEs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ResultRow {
    /// Residual scaling exponent.
    #[serde(with = "float")]
    pub beta: f64,
    /// Initialization of the weights.
    pub init: String,
    /// Activation.
    pub activation: String,
    /// Depth `L` of the long network.
    pub depth: usize,
    /// Max over `k` of the gap of `V`.
    #[serde(with = "float")]
    pub max_gap_v: f64,
    /// Mean over `k` of the gap of `V`.
    #[serde(with = "float")]
    pub mean_gap_v: f64,
    /// Max over `k` of the gap of `W`.
    #[serde(with = "float")]
    pub max_gap_w: f64,
    /// Mean over `k` of the gap of `W`.
    #[serde(with = "float")]
    pub mean_gap_w: f64,
    /// Mean `||V^L_k||_F` of the trained long network.
    #[serde(with = "float")]
    pub mean_norm_v: f64,
    /// Final training loss of the long network.
    #[serde(with = "float")]
    pub train_loss_long: f64,
    /// Final training loss of the short network.
    #[serde(with = "float")]
    pub train_loss_short: f64,
    /// Test MSE of the long network.
    #[serde(with = "float")]
    pub test_mse_long: f64,
    /// Test MSE of the short network.
    #[serde(with = "float")]
    pub test_mse_short: f64,
    /// Whether a loss, test MSE or gap is not finite (the pair is left out of the fits).
    pub diverged: bool,
}

impl Record for ResultRow {
    const COLUMNS: &'static [&'static str] = &[
        "beta",
        "init",
        "activation",
        "depth",
        "max_gap_v",
        "mean_gap_v",
        "max_gap_w",
        "mean_gap_w",
        "mean_norm_v",
        "train_loss_long",
        "train_loss_short",
        "test_mse_long",
        "test_mse_short",
        "diverged",
    ];
}

impl ResultRow {
    /// Whether this row is a pair of the configuration `c` (its key columns are `c`'s).
    pub fn is_of(&self, c: &Case) -> bool {
        self.beta == c.beta
            && self.init == c.init.to_string()
            && self.activation == c.activation.to_string()
    }
}

/// Writes `layers.csv` and `results.csv` from `pairs`, in their order.
pub(super) fn write(ctx: &RunContext, pairs: &[Pair]) -> Result<()> {
    let mut layers = Vec::new();
    let mut results = Vec::with_capacity(pairs.len());
    for p in pairs {
        let (init, activation) = (p.case.init.to_string(), p.case.activation.to_string());
        for (k, (gv, gw)) in p.gap_v.iter().zip(&p.gap_w).enumerate() {
            layers.push(LayerRow {
                beta: p.case.beta,
                init: init.clone(),
                activation: activation.clone(),
                depth: p.depth,
                k: k + 1,
                gap_v: *gv,
                gap_w: *gw,
            });
        }
        let (max_gap_v, mean_gap_v) = max_mean(&p.gap_v);
        let (max_gap_w, mean_gap_w) = max_mean(&p.gap_w);
        results.push(ResultRow {
            beta: p.case.beta,
            init,
            activation,
            depth: p.depth,
            max_gap_v,
            mean_gap_v,
            max_gap_w,
            mean_gap_w,
            mean_norm_v: p.norm_v,
            train_loss_long: p.train_loss[0],
            train_loss_short: p.train_loss[1],
            test_mse_long: p.test_mse[0],
            test_mse_short: p.test_mse[1],
            diverged: p.diverged,
        });
    }
    store::rewrite(&ctx.path("layers.csv"), &layers)?;
    store::rewrite(&ctx.path("results.csv"), &results)
}

/// At most this many bytes a row of the tables read back (the key columns are short names
/// and numbers).
pub(super) const MAX_ROW_BYTES: u64 = 4096;

/// The rows of `dir/results.csv`, checked to be `pairs` many.
pub(super) fn read_results(dir: &Path, pairs: usize) -> Result<Vec<ResultRow>> {
    let path = dir.join("results.csv");
    let rows: Vec<ResultRow> = store::read(
        &path,
        false,
        (pairs as u64 + 1).saturating_mul(MAX_ROW_BYTES),
    )?;
    if rows.len() != pairs {
        return Err(Error::data(
            &path,
            format!("{} rows, expected {pairs}", rows.len()),
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::cell;

    /// The typed rows are written exactly as the hand-joined cells they replaced
    /// (`cell(Some(x))`, `to_string()`), and read back to the same values, non-finite included.
    #[test]
    fn results_rows_are_written_as_cells_and_read_back_exactly() {
        let values = [
            0.1 + 0.2,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            1e-300,
        ];
        let row = ResultRow {
            beta: 0.5,
            init: "rbf(0.1)".into(),
            activation: "leaky_relu(0.8)".into(),
            depth: 64,
            max_gap_v: values[0],
            mean_gap_v: values[1],
            max_gap_w: values[2],
            mean_gap_w: values[3],
            mean_norm_v: values[4],
            train_loss_long: values[5],
            train_loss_short: 3.0,
            test_mse_long: 1.0 / 3.0,
            test_mse_short: 2.5e10,
            diverged: true,
        };
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("results.csv");
        store::rewrite(&path, [&row]).unwrap();
        let mut expected = vec![
            0.5f64.to_string(),
            row.init.clone(),
            row.activation.clone(),
            row.depth.to_string(),
        ];
        expected.extend(values.iter().map(|v| cell(Some(*v))));
        expected.extend([3.0, 1.0 / 3.0, 2.5e10].map(|v| cell(Some(v))));
        expected.push(true.to_string());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("{}\n{}\n", ResultRow::COLUMNS.join(","), expected.join(","))
        );
        let back = read_results(tmp.path(), 1).unwrap();
        let bits = |r: &ResultRow| {
            [
                r.max_gap_v,
                r.mean_gap_v,
                r.max_gap_w,
                r.mean_gap_w,
                r.mean_norm_v,
                r.train_loss_long,
            ]
            .map(|v| if v.is_nan() { u64::MAX } else { v.to_bits() })
        };
        assert_eq!(bits(&back[0]), bits(&row));
        assert_eq!(
            (back[0].beta, back[0].depth, back[0].diverged),
            (0.5, 64, true)
        );
        assert!(read_results(tmp.path(), 2).is_err());
    }
}
