//! Training sweeps over learning rate x Hurst index x beta (the paper's Figure 9), resumable,
//! shardable and mergeable ([`crate::experiment::merge`]).
//!
//! Cells are listed `lr`-major, then `hurst`, then `beta` (config order); cell `k` belongs to
//! shard `k % n`. Every cell trains with the config's `seed` (common random numbers: at one Hurst
//! index all learning rates and betas start from the same weights and see the same batches), so
//! a cell's result depends only on its coordinates, never on the shard, the order or the thread
//! count. Cells run in parallel, one per rayon thread, each single-threaded inside.
//!
//! Files: `cells.csv` (one row per finished cell) and `metrics.csv` (one row per epoch of a
//! finished cell), typed tables of [`rows`] on [`crate::experiment::store`], are appended and
//! fsynced as each cell ends, so a killed sweep loses at most the cells in flight; rerunning the
//! same command resumes it (see [`super::Experiment::resumable`]): a partially written last line
//! is cut off, epoch rows of unfinished cells are dropped and finished cells are skipped. At the
//! end both files are rewritten in cell order and the figures drawn ([`report`]).
//!
//! Layout: this file holds the config, the grid and the run; `rows.rs` the tables, `report.rs`
//! the tables' final form, the figures and the summary; `tests.rs` the tests.

mod report;
mod rows;
#[cfg(test)]
mod tests;

use self::rows::{CellEpoch, CellRow, MetricsRow, Status, read_cells, read_epochs};
use super::presets::preset_toml;
use super::reproduce::{Claim, claims};
use super::{Preset, Reproduce};

use super::store::{self, Appender};
use super::training::{RunStats, training_config, training_footprint};
use super::{Experiment, Grid, LawSpec, RunContext, cells};
use crate::budget::Footprint;
use crate::kernels::{BackendChoice, with_backend};
use crate::paths::Init;
use crate::progress::{Progress, Quiet};
use crate::train::data::Dataset;
use crate::train::{TrainConfig, train_on};
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The most cells a sweep may have (each is a training run).
pub const MAX_CELLS: usize = 1_000_000;

training_config! {
    /// Config of a `sweep` experiment (`seed`: see the module doc).
    pub struct SweepConfig {
        /// Initial learning rates (each positive).
        pub lr: Grid,
        /// Hurst indices, each in (0, 1), substituted into `init_v = "fbm"`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub hurst: Option<Grid>,
        /// Residual scale exponents: `alpha_L = L^-beta`.
        pub beta: Grid,
        /// Law of `V` over depth: `fbm` (H from `hurst`), or a fixed law (uniform, fbm(H),
        /// rbf(BW), ...).
        #[serde(default = "default_sweep_init")]
        pub init_v: LawSpec,
    }
}

fn default_sweep_init() -> LawSpec {
    LawSpec::HurstGrid
}

/// The coordinates of one cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Key {
    lr: f64,
    hurst: Option<f64>,
    beta: f64,
}

impl Key {
    fn bits(&self) -> (u64, u64, u64) {
        (
            self.lr.to_bits(),
            self.hurst.map_or(u64::MAX, f64::to_bits),
            self.beta.to_bits(),
        )
    }

    fn describe(&self) -> String {
        match self.hurst {
            Some(h) => format!("lr = {}, H = {h}, beta = {}", self.lr, self.beta),
            None => format!("lr = {}, beta = {}", self.lr, self.beta),
        }
    }
}

/// The validated grid of a sweep.
pub(super) struct Plan {
    base: TrainConfig,
    lrs: Vec<f64>,
    hursts: Vec<Option<f64>>,
    betas: Vec<f64>,
    cells: Vec<Key>,
    index: HashMap<(u64, u64, u64), usize>,
}

impl Plan {
    /// Index of a key in the grid.
    fn find(&self, key: &Key) -> Option<usize> {
        self.index.get(&key.bits()).copied()
    }
}

impl SweepConfig {
    fn init_for(&self, hurst: Option<f64>) -> Result<Init> {
        self.init_v.at("init_v", hurst)
    }

    fn plan(&self) -> Result<Plan> {
        let distinct = |field: &str, v: Vec<f64>| -> Result<Vec<f64>> {
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            if s.windows(2).any(|w| w[0] == w[1]) {
                return Err(Error::config(field, "the grid holds a value twice"));
            }
            Ok(v)
        };
        let lrs = distinct("lr", self.lr.values("lr")?)?;
        if let Some(bad) = lrs.iter().find(|&&x| x <= 0.0) {
            return Err(Error::config(
                "lr",
                format!("learning rates must be positive, got {bad}"),
            ));
        }
        let betas = distinct("beta", self.beta.values("beta")?)?;
        let hursts: Vec<Option<f64>> = match &self.hurst {
            Some(g) => {
                let hs = distinct("hurst", g.values("hurst")?)?;
                if let Some(h) = hs.iter().find(|h| !(**h > 0.0 && **h < 1.0)) {
                    return Err(Error::config(
                        "hurst",
                        format!("Hurst indices must lie in (0, 1), got {h}"),
                    ));
                }
                if !self.init_v.uses_grid() {
                    return Err(Error::config(
                        "hurst",
                        "a hurst grid is given but init_v is not plain `fbm`; set init_v = \"fbm\" (or remove hurst)",
                    ));
                }
                hs.into_iter().map(Some).collect()
            }
            None => vec![None],
        };
        for &h in &hursts {
            self.init_for(h)?;
        }
        let n_cells = lrs
            .len()
            .saturating_mul(hursts.len())
            .saturating_mul(betas.len());
        if n_cells > MAX_CELLS {
            return Err(Error::too_large(
                "lr",
                format!(
                    "the sweep has lr x hurst x beta = {} x {} x {} cells (each a training run); at most {MAX_CELLS}: use shorter grids",
                    lrs.len(),
                    hursts.len(),
                    betas.len()
                ),
            ));
        }
        let base = self.train_config_with(betas[0], lrs[0], self.init_for(hursts[0])?)?;
        let mut cells = Vec::with_capacity(n_cells);
        for &lr in &lrs {
            for &hurst in &hursts {
                for &beta in &betas {
                    cells.push(Key { lr, hurst, beta });
                }
            }
        }
        let index = cells
            .iter()
            .enumerate()
            .map(|(i, k)| (k.bits(), i))
            .collect();
        Ok(Plan {
            base,
            lrs,
            hursts,
            betas,
            cells,
            index,
        })
    }

    fn cell_config(&self, plan: &Plan, key: &Key) -> Result<TrainConfig> {
        Ok(TrainConfig {
            lr: key.lr,
            beta: key.beta,
            init_v: self.init_for(key.hurst)?,
            ..plan.base.clone()
        })
    }

    /// Trains one cell on `backend`; returns its row and its epoch rows. Stops when `progress`
    /// is cancelled (between batches).
    fn run_cell(
        &self,
        plan: &Plan,
        data: &Dataset,
        idx: usize,
        backend: &BackendChoice,
        progress: &dyn Progress,
    ) -> Result<(CellRow, Vec<CellEpoch>)> {
        let key = plan.cells[idx];
        let cfg = self.cell_config(plan, &key)?;
        let cfg = TrainConfig {
            batch_size: cfg.batch_size.min(data.n_train().max(1)),
            ..cfg
        };
        let out = with_backend!(backend, be => {
            train_on(be.clone(), &cfg, data, &Quiet(progress), &mut |_| {})
        })?;
        let stats = RunStats::of(&out.metrics, out.diverged);
        let epochs = out
            .metrics
            .iter()
            .map(|m| (idx, MetricsRow::new(key, &cfg, m)))
            .collect();
        let row = CellRow {
            lr: key.lr,
            hurst: key.hurst,
            beta: key.beta,
            init_v: cfg.init_v.to_string(),
            status: if stats.diverged {
                Status::Diverged
            } else {
                Status::Ok
            },
            epochs_run: stats.epochs_run,
            final_train_loss: stats.last_or_nan(|m| m.train_loss),
            final_test_loss: stats.last_or_nan(|m| m.test_loss),
            final_test_accuracy: stats.last_or_nan(|m| m.test_accuracy),
            best_test_accuracy: stats.best.map_or(f64::NAN, |m| m.test_accuracy),
            best_epoch: stats.best.map(|m| m.epoch),
            seconds: stats.seconds,
        };
        Ok((row, epochs))
    }
}

impl Experiment for SweepConfig {
    const KIND: &'static str = "sweep";

    const PRESETS: &'static [Preset] = &[Preset {
        name: "fig9",
        toml: preset_toml!("fig9"),
        listed: 9,
        reproduce: Some(Reproduce {
            place: 9,
            quick: Some(&[
                "lr=[1e-3, 1e-2, 1e-1]",
                "hurst={linspace=[0.1, 0.9, 5]}",
                "beta={linspace=[0.1, 0.9, 5]}",
                "epochs=1",
                "train_samples=2000",
                "test_samples=1000",
            ]),
            quick_seconds: 16.0,
            full_seconds: 1500.0,
            data: true,
            claim: "After training, the best test accuracy over learning rates is high above the line beta = max(H, 1/2) and poor below it, where the network explodes at initialization.",
        }),
    }];

    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        claims::collect(preset, dir, summary, reduced, claims::of_sweep)
    }

    fn validate(&self) -> Result<()> {
        self.data().validate()?;
        self.plan().map(|_| ())
    }

    fn resolve(&mut self) -> Result<()> {
        self.resolve_data()
    }

    fn quick(&mut self) {
        self.lr.shrink(2);
        if let Some(h) = self.hurst.as_mut() {
            h.shrink(2);
        }
        self.beta.shrink(2);
        self.depth = self.depth.min(50);
        self.epochs = 1;
        self.train_samples = Some(self.train_samples.unwrap_or(usize::MAX).min(2000));
        self.test_samples = Some(self.test_samples.unwrap_or(usize::MAX).min(1000));
    }

    fn footprint(&self) -> Result<Footprint> {
        let plan = self.plan()?;
        let parallel = rayon::current_num_threads().min(plan.cells.len()).max(1);
        let rows = plan.cells.len() as u128;
        let epochs = self.epochs as u128;
        Ok(
            training_footprint(Footprint::default(), &plan.base, &self.data(), parallel)
                .memory(
                    // the larger factor: epochs = 10^12 is an `epochs` problem, not an `lr` one
                    crate::budget::largest(&[("lr", plan.cells.len()), ("epochs", self.epochs)]),
                    "sweep rows kept in memory (cells x epochs)",
                    rows.saturating_mul(epochs.saturating_add(1))
                        .saturating_mul(200),
                )
                .disk(
                    "epochs",
                    "cells.csv and metrics.csv (cells x epochs rows)",
                    rows.saturating_mul(epochs.saturating_add(1))
                        .saturating_mul(2 * 160),
                )
                .disk(
                    "lr",
                    "figures",
                    (plan.lrs.len() as u128 + 2).saturating_mul(4 << 20),
                ),
        )
    }

    fn resumable(&self) -> bool {
        true
    }

    fn shardable(&self) -> bool {
        true
    }

    fn cells(&self) -> Result<Option<usize>> {
        Ok(Some(self.plan()?.cells.len()))
    }

    type Summary = crate::experiment::summary::SweepSummary;

    fn run(&self, ctx: &RunContext) -> Result<Self::Summary> {
        let plan = self.plan()?;
        let (shard, n_shards) = ctx.shard.unwrap_or((0, 1));
        let done = read_cells(&plan, &ctx.dir, true)?;
        let (is_done, pending) = cells::resume(plan.cells.len(), (shard, n_shards), &done);
        let epochs = read_epochs(&plan, &ctx.dir, true, |i| is_done[i])?;
        // Drop the epoch rows of cells that never finished before appending new ones.
        store::rewrite(&ctx.path("metrics.csv"), epochs.iter().map(|(_, r)| r))?;
        let resumed = done.len();
        let mut new_cells = Vec::new();
        let mut new_epochs = Vec::new();
        let start = Instant::now();
        if !pending.is_empty() {
            let data = self.data().load(ctx.progress)?;
            let files = (
                Appender::<CellRow>::open(&ctx.path("cells.csv"))?,
                Appender::<MetricsRow>::open(&ctx.path("metrics.csv"))?,
            );
            let results = cells::run_pending(
                &pending,
                ctx.progress,
                files,
                |idx| self.run_cell(&plan, &data, idx, &ctx.backend, ctx.progress),
                |(cells_csv, metrics_csv), (row, rows)| {
                    for (_, r) in rows {
                        metrics_csv.push(r)?;
                    }
                    // Epochs first: a cell is done once its row in cells.csv is on disk.
                    metrics_csv.sync()?;
                    cells_csv.push(row)?;
                    cells_csv.sync()
                },
                |(row, _)| {
                    format!(
                        "{}: {} {:.4}",
                        row.key().describe(),
                        row.status.as_str(),
                        row.final_test_accuracy
                    )
                },
            )?;
            for (idx, (row, rows)) in results {
                new_cells.push((idx, row));
                new_epochs.extend(rows);
            }
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let ran = new_cells.len();
        let mut cells = done;
        cells.extend(new_cells);
        let mut all_epochs = epochs;
        all_epochs.extend(new_epochs);
        let mut summary = report::finish(self, &plan, &ctx.dir, cells, all_epochs)?;
        cells::annotate_run(
            &mut summary.rest,
            plan.cells.len(),
            ctx.shard,
            ran,
            resumed,
            train_seconds,
        );
        Ok(summary)
    }

    fn merge(&self, inputs: &[PathBuf], ctx: &RunContext) -> Result<Self::Summary> {
        let plan = self.plan()?;
        let merged = cells::merge(
            inputs,
            plan.cells.len(),
            ctx.progress,
            |dir| read_cells(&plan, dir, false),
            CellRow::same_result,
            |_, row| row.key().describe(),
        )?;
        let source = &merged.source;
        let mut epochs = Vec::new();
        for (d, dir) in inputs.iter().enumerate() {
            epochs.extend(read_epochs(&plan, dir, false, |i| source[i] == Some(d))?);
        }
        let mut results = report::finish(self, &plan, &ctx.dir, merged.cells.clone(), epochs)?;
        merged.annotate(&mut results.rest);
        Ok(results)
    }
}
