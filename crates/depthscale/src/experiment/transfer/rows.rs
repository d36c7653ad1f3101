//! The transfer sweep's resumable table `cells.csv`: one typed row per finished run, on
//! [`crate::experiment::store`], read back against the plan.

use super::{Key, Plan};
use crate::experiment::store::{self, Record, float};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One finished run: a row of `cells.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct CellRow {
    /// The parameterization's name.
    pub parameterization: String,
    #[serde(with = "float")]
    pub beta: f64,
    pub init_v: String,
    pub depth: usize,
    /// The base learning rate (the grid value).
    #[serde(with = "float")]
    pub lr: f64,
    pub seed_index: usize,
    /// The learning rate of the hidden tensors (`lr * L^gamma`; embedding and readout: `lr`).
    #[serde(with = "float")]
    pub lr_used: f64,
    /// Adam's epsilon the run used.
    #[serde(with = "float")]
    pub eps_used: f64,
    /// `ok` or `diverged`.
    pub status: String,
    pub steps: usize,
    #[serde(with = "float")]
    pub final_train_loss: f64,
    #[serde(with = "float")]
    pub test_loss: f64,
    #[serde(with = "float")]
    pub test_accuracy: f64,
    /// Classes of the dataset (the worst loss is `ln classes`).
    pub classes: usize,
    #[serde(with = "float")]
    pub seconds: f64,
}

impl Record for CellRow {
    const COLUMNS: &'static [&'static str] = &[
        "parameterization",
        "beta",
        "init_v",
        "depth",
        "lr",
        "seed_index",
        "lr_used",
        "eps_used",
        "status",
        "steps",
        "final_train_loss",
        "test_loss",
        "test_accuracy",
        "classes",
        "seconds",
    ];
}

impl CellRow {
    /// The loss the analysis uses: the final training loss capped at chance level
    /// `ln classes`, which diverged runs count as (the worst loss).
    pub fn loss(&self) -> f64 {
        let worst = (self.classes.max(2) as f64).ln();
        if self.status == "ok" && self.final_train_loss.is_finite() {
            self.final_train_loss.min(worst)
        } else {
            worst
        }
    }

    /// Whether two rows of one cell record the same result (all but the seconds).
    pub fn same_result(&self, other: &Self) -> bool {
        let f = |x: f64| crate::experiment::cell(Some(x));
        self.parameterization == other.parameterization
            && self.depth == other.depth
            && self.seed_index == other.seed_index
            && self.status == other.status
            && self.steps == other.steps
            && f(self.lr) == f(other.lr)
            && f(self.final_train_loss) == f(other.final_train_loss)
            && f(self.test_loss) == f(other.test_loss)
    }
}

/// The largest `cells.csv` read for a plan: 4 KiB per cell plus 1 MiB.
fn max_bytes(plan: &Plan) -> u64 {
    (plan.cells.len() as u64).saturating_mul(4096) + (1 << 20)
}

/// The finished cells of `dir/cells.csv` with their grid index (of two rows of one cell with
/// the same result the first is kept); a row outside the grid, or two rows of one cell with
/// different results, is an error naming the file and lines.
pub(super) fn read_cells(plan: &Plan, dir: &Path, repair: bool) -> Result<Vec<(usize, CellRow)>> {
    let path = dir.join("cells.csv");
    let rows: Vec<CellRow> = store::read(&path, repair, max_bytes(plan))?;
    // the line of each cell's first row and its position in `out`
    let mut seen: Vec<Option<(usize, usize)>> = vec![None; plan.cells.len()];
    let mut out: Vec<(usize, CellRow)> = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let idx = plan
            .params
            .iter()
            .position(|p| p.name == row.parameterization)
            .and_then(|p| {
                plan.find(&Key {
                    param: p,
                    depth: row.depth,
                    lr: row.lr,
                    seed: row.seed_index,
                })
            })
            .ok_or_else(|| {
                Error::data(
                    &path,
                    format!(
                        "line {}: cell ({}, L = {}, lr = {}, seed {}) is not in the config's grid",
                        i + 2,
                        row.parameterization,
                        row.depth,
                        row.lr,
                        row.seed_index
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
                        "lines {line} and {} record cell ({}, L = {}, lr = {}, seed {}) with different results; keep one of them",
                        i + 2,
                        row.parameterization,
                        row.depth,
                        row.lr,
                        row.seed_index
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(out)
}
