//! The sweep's two resumable tables, `cells.csv` and `metrics.csv`, as typed rows on
//! [`crate::experiment::store`], and reading them back against the sweep's grid.

use super::{Key, Plan};
use crate::experiment::store::{self, Record, float, opt_float};
use crate::experiment::training::EpochRow;
use crate::train::{EpochMetrics, TrainConfig};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

/// How a cell's training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Status {
    /// Every epoch ran with finite losses.
    Ok,
    /// The loss became non-finite; the metrics are the last finite ones.
    Diverged,
}

impl Status {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Diverged => "diverged",
        }
    }
}

/// One finished cell: a row of `cells.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct CellRow {
    #[serde(with = "float")]
    pub lr: f64,
    #[serde(with = "opt_float")]
    pub hurst: Option<f64>,
    #[serde(with = "float")]
    pub beta: f64,
    pub init_v: String,
    pub status: Status,
    pub epochs_run: usize,
    #[serde(with = "float")]
    pub final_train_loss: f64,
    #[serde(with = "float")]
    pub final_test_loss: f64,
    #[serde(with = "float")]
    pub final_test_accuracy: f64,
    #[serde(with = "float")]
    pub best_test_accuracy: f64,
    pub best_epoch: Option<usize>,
    #[serde(with = "float")]
    pub seconds: f64,
}

impl Record for CellRow {
    const COLUMNS: &'static [&'static str] = &[
        "lr",
        "hurst",
        "beta",
        "init_v",
        "status",
        "epochs_run",
        "final_train_loss",
        "final_test_loss",
        "final_test_accuracy",
        "best_test_accuracy",
        "best_epoch",
        "seconds",
    ];
}

impl CellRow {
    /// The cell's coordinates.
    pub fn key(&self) -> Key {
        Key {
            lr: self.lr,
            hurst: self.hurst,
            beta: self.beta,
        }
    }

    /// The value the heatmap maximizes over learning rates: the final test accuracy, 0 for a
    /// diverged run.
    pub fn score(&self) -> f64 {
        match self.status {
            Status::Ok => self.final_test_accuracy,
            Status::Diverged => 0.0,
        }
    }

    /// Whether two rows of one cell record the same result (everything but the wall-clock
    /// seconds, compared as written).
    pub fn same_result(&self, other: &Self) -> bool {
        let f = |x: f64| crate::experiment::cell(Some(x));
        let numbers = |r: &Self| {
            [
                r.final_train_loss,
                r.final_test_loss,
                r.final_test_accuracy,
                r.best_test_accuracy,
            ]
            .map(f)
        };
        self.key().bits() == other.key().bits()
            && self.init_v == other.init_v
            && self.status == other.status
            && self.epochs_run == other.epochs_run
            && self.best_epoch == other.best_epoch
            && numbers(self) == numbers(other)
    }
}

/// One epoch of a finished cell: a row of the sweep's `metrics.csv` (the cell's key, then the
/// columns of `train`'s `metrics.csv`, with the epoch's scheduled learning rate as `epoch_lr`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct MetricsRow {
    #[serde(with = "float")]
    pub lr: f64,
    #[serde(with = "opt_float")]
    pub hurst: Option<f64>,
    #[serde(with = "float")]
    pub beta: f64,
    pub epoch: usize,
    #[serde(with = "float")]
    pub epoch_lr: f64,
    #[serde(with = "float")]
    pub train_loss: f64,
    #[serde(with = "float")]
    pub test_loss: f64,
    #[serde(with = "float")]
    pub test_accuracy: f64,
    #[serde(with = "float")]
    pub seconds: f64,
}

impl Record for MetricsRow {
    const COLUMNS: &'static [&'static str] = &[
        "lr",
        "hurst",
        "beta",
        "epoch",
        "epoch_lr",
        "train_loss",
        "test_loss",
        "test_accuracy",
        "seconds",
    ];
}

impl MetricsRow {
    /// The row of epoch `m` of the cell `key` trained with `cfg`.
    /// The epoch's columns are `train`'s ([`EpochRow::new`]), `lr` renamed `epoch_lr` after the
    /// cell's key.
    pub fn new(key: Key, cfg: &TrainConfig, m: &EpochMetrics) -> Self {
        let e = EpochRow::new(cfg, m);
        Self {
            lr: key.lr,
            hurst: key.hurst,
            beta: key.beta,
            epoch: e.epoch,
            epoch_lr: e.lr,
            train_loss: e.train_loss,
            test_loss: e.test_loss,
            test_accuracy: e.test_accuracy,
            seconds: e.seconds,
        }
    }

    fn key(&self) -> Key {
        Key {
            lr: self.lr,
            hurst: self.hurst,
            beta: self.beta,
        }
    }
}

/// Epoch rows of one cell: its grid index and the row.
pub(super) type CellEpoch = (usize, MetricsRow);

/// The largest `cells.csv` read for a plan: 4 KiB per cell plus 1 MiB (rows are ~150 bytes).
fn max_cells_bytes(plan: &Plan) -> u64 {
    (plan.cells.len() as u64).saturating_mul(4096) + (1 << 20)
}

/// The largest `metrics.csv` read for a plan: 1 KiB per (cell, epoch) plus 1 MiB.
fn max_metrics_bytes(plan: &Plan) -> u64 {
    (plan.cells.len() as u64)
        .saturating_mul(plan.base.epochs as u64)
        .saturating_mul(1024)
        .saturating_add(1 << 20)
}

/// The finished cells recorded in `dir/cells.csv`, with their grid index (of two rows of one
/// cell with the same result the first is kept). A row outside the grid, or two rows of one
/// cell with different results, is an error naming the file and lines.
pub(super) fn read_cells(plan: &Plan, dir: &Path, repair: bool) -> Result<Vec<(usize, CellRow)>> {
    let path = dir.join("cells.csv");
    let mut out: Vec<(usize, CellRow)> = Vec::new();
    // the line of each cell's first row and its position in `out`
    let mut seen: Vec<Option<(usize, usize)>> = vec![None; plan.cells.len()];
    let rows: Vec<CellRow> = store::read(&path, repair, max_cells_bytes(plan))?;
    for (i, row) in rows.into_iter().enumerate() {
        let key = row.key();
        let idx = plan.find(&key).ok_or_else(|| {
            Error::data(
                &path,
                format!(
                    "line {}: cell ({}) is not in the config's grid",
                    i + 2,
                    key.describe()
                ),
            )
        })?;
        match seen[idx] {
            None => {
                seen[idx] = Some((i + 2, out.len()));
                out.push((idx, row));
            }
            Some((line, at)) if !out[at].1.same_result(&row) => {
                return Err(Error::data(
                    &path,
                    format!(
                        "lines {line} and {} record cell ({}) with different results; keep one of them",
                        i + 2,
                        key.describe()
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(out)
}

/// The epoch rows of `dir/metrics.csv` whose cell is accepted by `keep` (the first row of each
/// `(cell, epoch)` kept).
pub(super) fn read_epochs(
    plan: &Plan,
    dir: &Path,
    repair: bool,
    keep: impl Fn(usize) -> bool,
) -> Result<Vec<CellEpoch>> {
    let path = dir.join("metrics.csv");
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let rows: Vec<MetricsRow> = store::read(&path, repair, max_metrics_bytes(plan))?;
    for (i, row) in rows.into_iter().enumerate() {
        let key = row.key();
        let Some(idx) = plan.find(&key) else {
            return Err(Error::data(
                &path,
                format!(
                    "line {}: cell ({}) is not in the config's grid",
                    i + 2,
                    key.describe()
                ),
            ));
        };
        if keep(idx) && seen.insert((idx, row.epoch)) {
            out.push((idx, row));
        }
    }
    Ok(out)
}
