//! Learning-rate transfer across depth (`kind = "transfer"`): final training loss against the
//! learning rate, for each parameterization and depth, over seeds; the optimal learning rate
//! per depth by a quadratic fit ([`fit`]) with a bootstrap interval over seeds, and its drift
//! across depths in octaves.
//!
//! Cells `(parameterization, depth, lr, seed)` are listed in that order; cell `k` belongs to
//! shard `k % n`. Seed index `s` trains with seed `seed + s` at every depth, learning rate and
//! parameterization (common random numbers: the same `A`, `B`, batches, and `V` for a shared
//! law). Each cell runs `epochs` passes at a constant learning rate (`lr * L^gamma`, Adam's
//! epsilon `1e-8 * L^delta`); its final training loss is the mean batch loss of the last epoch.
//! A diverged run (non-finite loss) counts as the worst loss, `ln classes` (chance level), to
//! which every loss is capped. Cells run in parallel, one per rayon thread.
//!
//! With `hurst` and `beta` grids instead of `parameterizations`, the parameterizations are the
//! (H, beta) phase diagram (fBm(H) weights, Adam, no rule) and `phase.png` maps the drift of
//! lr* between the first and last depth, with the line `beta = max(H, 1/2)`.
//!
//! Resumable and shardable like the Figure 9 sweep: `cells.csv` is appended and fsynced per
//! cell, finished cells are skipped on rerun; `merge` joins shards.

mod fit;
mod report;
mod rows;

use self::rows::{CellRow, read_cells};
use super::data_source::DataSource;
use super::depth_train::{run_budget, train_config};
use super::parameterization::{ParamSpec, Parameterization, resolve_all};
use super::presets::preset_toml;
use super::reproduce::{Claim, claims};
use super::store::{self, Appender};
use super::{Experiment, Grid, RunContext, cells};
use super::{Preset, Reproduce};
use crate::accept;
use crate::budget::{Footprint, bytes};
use crate::train::data::Dataset;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The most cells a transfer sweep may have.
pub const MAX_CELLS: usize = 1_000_000;

/// Config of a `transfer` experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferConfig {
    /// Free text shown in figure titles.
    #[serde(default)]
    pub title: String,
    /// `mnist-10k` (bundled), `mnist`, `fashion-mnist` or `cifar10`.
    #[serde(default = "super::training::default_dataset")]
    pub dataset: String,
    /// Directory (or CIFAR-10 archive) of a dataset other than `mnist-10k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    /// Size and CRC-32 of the files of `data_dir`, recorded by the run (see
    /// `data_source::resolve`); a rerun on other data is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_fingerprint: Option<String>,
    /// Train on the first `n` training images only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_samples: Option<usize>,
    /// Evaluate on the first `n` test images only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_samples: Option<usize>,
    /// Base seed: seed index `s` trains with `seed + s`.
    #[serde(default)]
    pub seed: u64,
    /// Hidden width `d`.
    #[serde(default = "super::training::default_width")]
    pub width: usize,
    /// Mini-batch size.
    #[serde(default = "super::training::default_batch_size")]
    pub batch_size: usize,
    /// The parameterizations (names or tables); absent with a phase grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameterizations: Option<Vec<ParamSpec>>,
    /// Phase map: Hurst indices of fBm(H) weights (with `beta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hurst: Option<Grid>,
    /// Phase map: residual exponents (with `hurst`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<Grid>,
    /// Depths `L`.
    pub depths: Grid,
    /// Base learning rates (a log2 grid is best for the fit).
    pub lr: Grid,
    /// Seeds per (parameterization, depth, lr).
    pub seeds: usize,
    /// Passes over the training set per run.
    pub epochs: usize,
    /// Grid points of the quadratic fit around the lowest loss.
    #[serde(default = "default_fit_points")]
    pub fit_points: usize,
    /// Bootstrap draws of the seeds for the intervals (0: none).
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
}

fn default_fit_points() -> usize {
    5
}
fn default_bootstrap() -> usize {
    400
}

/// The coordinates of one cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Key {
    param: usize,
    depth: usize,
    lr: f64,
    seed: usize,
}

impl Key {
    fn bits(&self) -> (usize, usize, u64, usize) {
        (self.param, self.depth, self.lr.to_bits(), self.seed)
    }
}

/// The validated grid.
pub(super) struct Plan {
    params: Vec<Parameterization>,
    /// `(H, beta)` of each parameterization in phase mode.
    phase: Option<(Vec<f64>, Vec<f64>)>,
    depths: Vec<usize>,
    lrs: Vec<f64>,
    cells: Vec<Key>,
    index: HashMap<(usize, usize, u64, usize), usize>,
}

impl Plan {
    fn find(&self, key: &Key) -> Option<usize> {
        self.index.get(&key.bits()).copied()
    }
}

impl TransferConfig {
    fn data(&self) -> DataSource<'_> {
        DataSource {
            dataset: &self.dataset,
            data_dir: self.data_dir.as_deref(),
            train_samples: self.train_samples,
            test_samples: self.test_samples,
        }
    }

    fn plan(&self) -> Result<Plan> {
        let sorted_distinct = |field: &str, v: Vec<f64>| -> Result<Vec<f64>> {
            if v.windows(2).any(|w| w[0] >= w[1]) {
                return Err(Error::config(field, "the grid must be strictly increasing"));
            }
            Ok(v)
        };
        let (params, phase) = match (&self.parameterizations, &self.hurst, &self.beta) {
            (Some(specs), None, None) => (resolve_all(specs, "parameterizations")?, None),
            (None, Some(h), Some(b)) => {
                let hs = sorted_distinct("hurst", h.values("hurst")?)?;
                let bs = sorted_distinct("beta", b.values("beta")?)?;
                for &hurst in &hs {
                    crate::paths::Init::Fbm { hurst }.validate("hurst")?;
                }
                distinct_labels("hurst", &hs)?;
                distinct_labels("beta", &bs)?;
                let mut ps = Vec::new();
                for &beta in &bs {
                    for &hurst in &hs {
                        let p = Parameterization::phase(hurst, beta);
                        p.validate("hurst")?;
                        ps.push(p);
                    }
                }
                (ps, Some((hs, bs)))
            }
            (None, None, None) => (
                resolve_all(
                    &super::coord_check::default_parameterizations(),
                    "parameterizations",
                )?,
                None,
            ),
            _ => {
                return Err(Error::config(
                    "parameterizations",
                    "give either `parameterizations`, or both `hurst` and `beta` (the phase map), not a mix",
                ));
            }
        };
        let depths = self.depths.integers("depths", 1)?;
        if depths.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::config(
                "depths",
                "the grid must be strictly increasing",
            ));
        }
        let lrs = sorted_distinct("lr", self.lr.values("lr")?)?;
        if let Some(bad) = lrs.iter().find(|&&x| x <= 0.0) {
            return Err(Error::config(
                "lr",
                format!("learning rates must be positive, got {bad}"),
            ));
        }
        if lrs.len() < 3 {
            return Err(Error::config(
                "lr",
                format!("the fit needs at least 3 learning rates, got {}", lrs.len()),
            ));
        }
        accept::integers(&[
            ("seeds", self.seeds, 1..=10_000),
            ("epochs", self.epochs, 1..=100_000),
        ])?;
        if !(3..=lrs.len()).contains(&self.fit_points) {
            return Err(Error::config(
                "fit_points",
                format!(
                    "must be an integer in 3..={0} (at most the {0} learning rates of `lr`), got {1}",
                    lrs.len(),
                    self.fit_points
                ),
            ));
        }
        accept::integers(&[
            ("bootstrap", self.bootstrap, 0..=100_000),
            ("width", self.width, 1..=100_000),
            ("batch_size", self.batch_size, 1..=1_000_000),
        ])?;
        let n_cells = params
            .len()
            .saturating_mul(depths.len())
            .saturating_mul(lrs.len())
            .saturating_mul(self.seeds);
        if n_cells > MAX_CELLS {
            return Err(Error::too_large(
                "lr",
                format!(
                    "the sweep has parameterizations x depths x lr x seeds = {} x {} x {} x {} cells; at most {MAX_CELLS}",
                    params.len(),
                    depths.len(),
                    lrs.len(),
                    self.seeds
                ),
            ));
        }
        for p in &params {
            for &l in &depths {
                if phase.is_some() {
                    // a phase parameterization has no rule: only `beta` can be out of range
                    p.check_at("", l)
                        .map_err(|e| rename_field(e, ".beta", "beta"))?;
                } else {
                    p.check_at("parameterizations", l)?;
                }
                train_config(p, l, self.width, self.batch_size, lrs[0], self.seed, None)?;
            }
        }
        let mut cells = Vec::with_capacity(n_cells);
        for param in 0..params.len() {
            for &depth in &depths {
                for &lr in &lrs {
                    for seed in 0..self.seeds {
                        cells.push(Key {
                            param,
                            depth,
                            lr,
                            seed,
                        });
                    }
                }
            }
        }
        let index = cells
            .iter()
            .enumerate()
            .map(|(i, k)| (k.bits(), i))
            .collect();
        Ok(Plan {
            params,
            phase,
            depths,
            lrs,
            cells,
            index,
        })
    }

    /// Trains one cell on `backend`; stops between batches when `progress` is cancelled.
    fn run_cell(
        &self,
        plan: &Plan,
        data: &Dataset,
        idx: usize,
        backend: &crate::kernels::BackendChoice,
        progress: &dyn crate::progress::Progress,
    ) -> Result<CellRow> {
        let key = plan.cells[idx];
        let p = &plan.params[key.param];
        let seed = self.seed.wrapping_add(key.seed as u64);
        let cfg = train_config(
            p,
            key.depth,
            self.width,
            self.batch_size,
            key.lr,
            seed,
            None,
        )?;
        let cfg = crate::train::TrainConfig {
            batch_size: cfg.batch_size.min(data.n_train().max(1)),
            ..cfg
        };
        let start = Instant::now();
        let out = run_budget(backend, p, &cfg, data, self.epochs, progress)?;
        Ok(CellRow {
            parameterization: p.name.clone(),
            beta: p.beta,
            init_v: p.init_v.to_string(),
            depth: key.depth,
            lr: key.lr,
            seed_index: key.seed,
            lr_used: p.lr(key.lr, key.depth),
            eps_used: p.eps(key.depth),
            status: if out.diverged { "diverged" } else { "ok" }.into(),
            steps: out.steps,
            final_train_loss: out.train_loss,
            test_loss: out.test_loss,
            test_accuracy: out.test_accuracy,
            classes: data.n_classes,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

impl Experiment for TransferConfig {
    const KIND: &'static str = "transfer";

    const PRESETS: &'static [Preset] = &[
        Preset {
            name: "transfer",
            toml: preset_toml!("transfer"),
            listed: 20,
            reproduce: Some(Reproduce {
                place: 19,
                quick: Some(&[
                    "parameterizations=[\"sqrt-depth\", \"depth-mup\", \"complete-p\"]",
                    "depths=[8, 512]",
                    "lr={ geomspace = [0.0009765625, 0.03125, 6] }",
                    "seeds=2",
                    "train_samples=4000",
                    "test_samples=500",
                ]),
                quick_seconds: 18.0,
                full_seconds: 160.0,
                data: false,
                claim: "Beyond the paper: the Adam learning rate tuned at L = 8 transfers to L = 512 with CompleteP (drift of lr* within a quarter of an octave) and far better with depth-muP than with plain 1/sqrt(L) branches, whose lr* drifts down by more than half an octave.",
            }),
        },
        Preset {
            name: "transfer-phase",
            toml: preset_toml!("transfer-phase"),
            listed: 21,
            reproduce: None,
        },
    ];

    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        claims::collect(preset, dir, summary, reduced, claims::of_transfer)
    }

    fn validate(&self) -> Result<()> {
        self.data().validate()?;
        self.plan().map(|_| ())
    }

    fn resolve(&mut self) -> Result<()> {
        super::data_source::resolve(
            &self.dataset,
            &mut self.data_dir,
            &mut self.data_fingerprint,
        )
    }

    fn quick(&mut self) {
        self.depths.cap(64.0);
        self.depths.shrink(2);
        self.lr.shrink(5);
        if let Some(h) = self.hurst.as_mut() {
            h.shrink(2);
        }
        if let Some(b) = self.beta.as_mut() {
            b.shrink(2);
        }
        if let Some(p) = self.parameterizations.as_mut() {
            p.truncate(2);
        }
        self.seeds = self.seeds.min(2);
        self.epochs = 1;
        self.bootstrap = self.bootstrap.min(50);
        self.train_samples = Some(self.train_samples.unwrap_or(usize::MAX).min(1000));
        self.test_samples = Some(self.test_samples.unwrap_or(usize::MAX).min(500));
    }

    fn footprint(&self) -> Result<Footprint> {
        let plan = self.plan()?;
        let l = plan.depths.iter().copied().max().unwrap_or(1);
        let d = self.width;
        let (n_train, n_test, n_in) = self.data().expected_sizes();
        let parallel = rayon::current_num_threads().min(plan.cells.len()).max(1) as u128;
        let batch = self.batch_size.min(n_train.max(1));
        let rows = plan.cells.len() as u128;
        Ok(Footprint::default()
            .memory(
                "depths",
                "per run: parameters, gradients, Adam moments and copies (7 x depth x width^2 f32)",
                bytes(4, &[l, d, d])
                    .saturating_mul(7)
                    .saturating_mul(parallel),
            )
            .memory(
                "batch_size",
                "the activations of a batch (depth x width x batch f32 per run)",
                bytes(4, &[l, d, batch])
                    .saturating_mul(2)
                    .saturating_mul(parallel),
            )
            .memory(
                "train_samples",
                "the dataset (pixels as f32, plus the file bytes while loading)",
                bytes(6, &[n_train + n_test, n_in]),
            )
            .memory(
                "lr",
                "the rows and bootstrap curves",
                rows.saturating_mul(400),
            )
            .disk("lr", "cells.csv", rows.saturating_mul(256))
            .disk(
                "depths",
                "figures",
                (plan.params.len() as u128 + 4).saturating_mul(2 << 20),
            ))
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

    type Summary = crate::experiment::summary::TransferSummary;

    fn run(&self, ctx: &RunContext) -> Result<Self::Summary> {
        let plan = self.plan()?;
        let (shard, n_shards) = ctx.shard.unwrap_or((0, 1));
        let done = read_cells(&plan, &ctx.dir, true)?;
        let (_, pending) = cells::resume(plan.cells.len(), (shard, n_shards), &done);
        let resumed = done.len();
        let start = Instant::now();
        let mut cells = done;
        if !pending.is_empty() {
            let data = self.data().load(ctx.progress)?;
            let new = cells::run_pending(
                &pending,
                ctx.progress,
                Appender::<CellRow>::open(&ctx.path("cells.csv"))?,
                |idx| self.run_cell(&plan, &data, idx, &ctx.backend, ctx.progress),
                |cells_csv, row| {
                    cells_csv.push(row)?;
                    cells_csv.sync()
                },
                |row| {
                    format!(
                        "{} L = {} lr = {}: {} {:.4}",
                        row.parameterization, row.depth, row.lr, row.status, row.final_train_loss
                    )
                },
            )?;
            cells.extend(new);
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let ran = cells.len() - resumed;
        let n_cells = plan.cells.len();
        let mut summary = report::finish(self, &plan, &ctx.dir, cells)?;
        cells::annotate_run(
            &mut summary.rest,
            n_cells,
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
            |idx, row| {
                format!(
                    "{idx}: {} L = {} lr = {} seed {}",
                    row.parameterization, row.depth, row.lr, row.seed_index
                )
            },
        )?;
        let mut results = report::finish(self, &plan, &ctx.dir, merged.cells.clone())?;
        merged.annotate(&mut results.rest);
        Ok(results)
    }
}

/// Refuses grid values that print alike at 12 significant digits (the precision of the phase
/// names, which identify the cells): two such values would share their cells' name.
fn distinct_labels(field: &str, v: &[f64]) -> Result<()> {
    use super::parameterization::phase_label;
    for (i, a) in v.iter().enumerate() {
        if let Some(b) = v[..i].iter().find(|b| phase_label(**b) == phase_label(*a)) {
            return Err(Error::config(
                field,
                format!(
                    "{b} and {a} are the same value to 12 significant digits (both named {}), so their cells could not be told apart; give values that differ within 12 digits",
                    phase_label(*a)
                ),
            ));
        }
    }
    Ok(())
}

/// The error `e` with its field `from` renamed `to`.
fn rename_field(e: Error, from: &str, to: &str) -> Error {
    match e {
        Error::Config { field, message } if field == from => Error::Config {
            field: to.to_owned(),
            message,
        },
        other => other,
    }
}

/// Rewrites `cells.csv` in cell order.
fn rewrite_cells(dir: &std::path::Path, cells: &mut [(usize, CellRow)]) -> Result<()> {
    cells.sort_by_key(|(i, _)| *i);
    store::rewrite(&dir.join("cells.csv"), cells.iter().map(|(_, r)| r))
}

#[cfg(test)]
mod tests;
