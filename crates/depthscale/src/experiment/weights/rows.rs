//! Stage 1, rows: the models trained, their roughness estimates, and the tables written from
//! them — `metrics.csv` (one row per model and epoch), `results.csv` (one row per model and
//! entry), `models.csv` (one row per model), `entry.csv` (the displayed entry per model and
//! layer) — with the optional checkpoints. The stages after read these tables back
//! ([`Tables::read`]), never the trained models.

use super::WeightsConfig;
use crate::Result;
use crate::budget::MAX_TITLE_CHARS;
use crate::experiment::RunContext;
use crate::experiment::store::{self, Record, float};
use crate::experiment::training::{EpochRow, ModelEpochRow, RunStats, effective, save_pair};
use crate::kernels::with_backend;
use crate::model::ResNet;
use crate::progress::Quiet;
use crate::stats::mean_median;
use crate::train::data::Dataset;
use crate::train::{TrainConfig, TrainOutcome, train_on, weight_hurst_estimates};
use crate::{Error, rng};
use rand::Rng as _;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Stream tag of the displayed entry (`"entr"`).
const TAG_ENTRY: u64 = 0x656e_7472;

/// One trained model and its roughness estimates.
pub(super) struct Trained {
    /// The configuration it trained with (the dataset's sizes applied).
    cfg: TrainConfig,
    /// Its initial and trained networks and per-epoch metrics.
    out: TrainOutcome,
    /// Hurst estimate of every entry's sequence over depth before training, row-major.
    before: Vec<f64>,
    /// The same after training.
    after: Vec<f64>,
    /// The same for the change `V_after - V_before`.
    delta: Vec<f64>,
    /// `||V_after - V_before|| / ||V_before||`.
    relative_change: f64,
}

/// One row of `results.csv`: the Hurst estimates of one entry's sequence over depth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ResultRow {
    /// The model's label.
    pub model: String,
    /// Row of the entry.
    pub i: usize,
    /// Column of the entry.
    pub j: usize,
    /// Hurst estimate of `k -> V_k[i, j]` before training.
    #[serde(with = "float")]
    pub hurst_before: f64,
    /// The same after training.
    #[serde(with = "float")]
    pub hurst_after: f64,
    /// The same of the change after - before.
    #[serde(with = "float")]
    pub hurst_change: f64,
}

impl Record for ResultRow {
    const COLUMNS: &'static [&'static str] = &[
        "model",
        "i",
        "j",
        "hurst_before",
        "hurst_after",
        "hurst_change",
    ];
}

/// One row of `models.csv`: one trained model, its accuracy and the medians of its estimates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ModelRow {
    /// The model's label.
    pub model: String,
    /// Residual scale exponent.
    #[serde(with = "float")]
    pub beta: f64,
    /// Law of `V` over depth.
    pub init_v: String,
    /// `ok` or `diverged` ([`RunStats::status`]).
    pub status: String,
    /// Epochs completed.
    pub epochs_run: usize,
    /// Test accuracy after the last completed epoch (NaN if none).
    #[serde(with = "float")]
    pub final_test_accuracy: f64,
    /// Best test accuracy over the epochs (NaN if none).
    #[serde(with = "float")]
    pub best_test_accuracy: f64,
    /// Test loss after the last completed epoch (NaN if none).
    #[serde(with = "float")]
    pub final_test_loss: f64,
    /// `||V_after - V_before|| / ||V_before||`.
    #[serde(with = "float")]
    pub relative_change_v: f64,
    /// Mean Hurst estimate over the entries, before training.
    #[serde(with = "float")]
    pub hurst_before_mean: f64,
    /// Median of it, before training.
    #[serde(with = "float")]
    pub hurst_before_median: f64,
    /// Mean, after training.
    #[serde(with = "float")]
    pub hurst_after_mean: f64,
    /// Median, after training.
    #[serde(with = "float")]
    pub hurst_after_median: f64,
    /// Median of the change's estimates.
    #[serde(with = "float")]
    pub hurst_change_median: f64,
}

impl Record for ModelRow {
    const COLUMNS: &'static [&'static str] = &[
        "model",
        "beta",
        "init_v",
        "status",
        "epochs_run",
        "final_test_accuracy",
        "best_test_accuracy",
        "final_test_loss",
        "relative_change_v",
        "hurst_before_mean",
        "hurst_before_median",
        "hurst_after_mean",
        "hurst_after_median",
        "hurst_change_median",
    ];
}

/// One row of `entry.csv`: the displayed entry `V_k[i, j]` of one model at one layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct EntryRow {
    /// The model's label.
    pub model: String,
    /// Row of the entry.
    pub i: usize,
    /// Column of the entry.
    pub j: usize,
    /// Layer, counted from 1.
    pub k: usize,
    /// `V_k[i, j]` before training.
    #[serde(with = "float")]
    pub before: f64,
    /// `V_k[i, j]` after training.
    #[serde(with = "float")]
    pub after: f64,
    /// `after - before`.
    #[serde(with = "float")]
    pub change: f64,
}

impl Record for EntryRow {
    const COLUMNS: &'static [&'static str] = &["model", "i", "j", "k", "before", "after", "change"];
}

/// `||a - b|| / ||b||` over the `V` stacks.
fn relative_change(after: &ResNet<f32>, before: &ResNet<f32>) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (a, b) in after.params.v.iter().zip(&before.params.v) {
        let (a, b) = (f64::from(*a), f64::from(*b));
        num += (a - b) * (a - b);
        den += b * b;
    }
    (num / den).sqrt()
}

/// Trains every model of `cfgs` on `data` in parallel and estimates the roughness of its
/// weights before and after training, and of the change.
pub(super) fn train(
    ctx: &RunContext,
    cfgs: &[TrainConfig],
    data: &Dataset,
    epochs_per_model: usize,
) -> Result<Vec<Trained>> {
    ctx.progress
        .start("training models", (cfgs.len() * epochs_per_model) as u64);
    let runs = cfgs
        .par_iter()
        .with_max_len(1)
        .map(|cfg| {
            let cfg = &effective(cfg.clone(), data);
            let mut epochs = 0u64;
            let mut on_epoch = |_: &_| {
                epochs += 1;
                ctx.progress.advance(1);
            };
            let out = with_backend!(&ctx.backend, be => {
                train_on(be.clone(), cfg, data, &Quiet(ctx.progress), &mut on_epoch)
            })?;
            ctx.progress.advance(epochs_per_model as u64 - epochs);
            let before = weight_hurst_estimates(&out.initial);
            let after = weight_hurst_estimates(&out.trained);
            let mut change = out.trained.clone();
            for (c, b) in change.params.v.iter_mut().zip(&out.initial.params.v) {
                *c -= b;
            }
            Ok(Trained {
                delta: weight_hurst_estimates(&change),
                relative_change: relative_change(&out.trained, &out.initial),
                cfg: cfg.clone(),
                out,
                before,
                after,
            })
        })
        .collect::<Result<_>>()?;
    ctx.progress.finish();
    Ok(runs)
}

/// The entry `(i, j)` of `V` shown against depth, drawn from the seed.
pub(super) fn displayed_entry(seed: u64, width: usize) -> (usize, usize) {
    let mut r = rng::stream(seed, &[TAG_ENTRY]);
    (r.random_range(0..width), r.random_range(0..width))
}

/// Writes `metrics.csv`, `results.csv`, `models.csv` and `entry.csv` from `runs` (in the order
/// of `cfg.models`), and the checkpoints when `cfg.save`; returns each model's checkpoint
/// files.
pub(super) fn write(
    cfg: &WeightsConfig,
    ctx: &RunContext,
    runs: &[Trained],
    (i, j): (usize, usize),
    dataset: &str,
) -> Result<Vec<Vec<String>>> {
    let d = cfg.width;
    let (mut metrics, mut results, mut models, mut entries) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut checkpoints = Vec::new();
    for (k, (run, m)) in runs.iter().zip(&cfg.models).enumerate() {
        metrics.extend(
            run.out
                .metrics
                .iter()
                .map(|e| ModelEpochRow(m.label.clone(), EpochRow::new(&run.cfg, e))),
        );
        for (e, ((b, a), c)) in run
            .before
            .iter()
            .zip(&run.after)
            .zip(&run.delta)
            .enumerate()
        {
            results.push(ResultRow {
                model: m.label.clone(),
                i: e / d,
                j: e % d,
                hurst_before: *b,
                hurst_after: *a,
                hurst_change: *c,
            });
        }
        let at =
            |net: &ResNet<f32>, layer: usize| f64::from(net.params.v[layer * d * d + i * d + j]);
        for layer in 0..cfg.depth {
            let (before, after) = (at(&run.out.initial, layer), at(&run.out.trained, layer));
            entries.push(EntryRow {
                model: m.label.clone(),
                i,
                j,
                k: layer + 1,
                before,
                after,
                change: after - before,
            });
        }
        let stats = RunStats::of(&run.out.metrics, run.out.diverged);
        let (bm, bmed) = mean_median(&run.before);
        let (am, amed) = mean_median(&run.after);
        let (_, cmed) = mean_median(&run.delta);
        models.push(ModelRow {
            model: m.label.clone(),
            beta: m.beta,
            init_v: run.cfg.init_v.to_string(),
            status: stats.status().into(),
            epochs_run: stats.epochs_run,
            final_test_accuracy: stats.last_or_nan(|e| e.test_accuracy),
            best_test_accuracy: stats.best.map_or(f64::NAN, |e| e.test_accuracy),
            final_test_loss: stats.last_or_nan(|e| e.test_loss),
            relative_change_v: run.relative_change,
            hurst_before_mean: bm,
            hurst_before_median: bmed,
            hurst_after_mean: am,
            hurst_after_median: amed,
            hurst_change_median: cmed,
        });
        checkpoints.push(if cfg.save {
            save_pair(&ctx.dir, &format!("m{k}-"), &run.cfg, dataset, &run.out)?
        } else {
            Vec::new()
        });
    }
    store::rewrite(&ctx.path("metrics.csv"), &metrics)?;
    store::rewrite(&ctx.path("results.csv"), &results)?;
    store::rewrite(&ctx.path("models.csv"), &models)?;
    store::rewrite(&ctx.path("entry.csv"), &entries)?;
    Ok(checkpoints)
}

/// The tables of stage 1 as read back from the run directory: what the figures and the summary
/// are drawn from.
pub(super) struct Tables {
    /// `results.csv`, model-major.
    pub results: Vec<ResultRow>,
    /// `models.csv`, in the order of the config's models.
    pub models: Vec<ModelRow>,
    /// `entry.csv`, model-major.
    pub entries: Vec<EntryRow>,
}

impl Tables {
    /// Reads `results.csv`, `models.csv` and `entry.csv` from `dir`, and checks that they hold
    /// one row per model (per entry, per layer) of `cfg`.
    pub fn read(cfg: &WeightsConfig, dir: &Path) -> Result<Self> {
        let m = cfg.models.len();
        let (d, l) = (cfg.width, cfg.depth);
        // a row: the label (at most 4 bytes a character, quotes doubled) and a few numbers
        let cap = |rows: usize| (rows as u64 + 1).saturating_mul(8 * MAX_TITLE_CHARS as u64 + 512);
        let read = |name: &str, rows: usize| {
            let path = dir.join(name);
            (path.clone(), rows, cap(rows))
        };
        let (rp, rn, rc) = read("results.csv", m * d * d);
        let (mp, mn, mc) = read("models.csv", m);
        let (ep, en, ec) = read("entry.csv", m * l);
        let tables = Self {
            results: store::read(&rp, false, rc)?,
            models: store::read(&mp, false, mc)?,
            entries: store::read(&ep, false, ec)?,
        };
        for (path, want, got) in [
            (&rp, rn, tables.results.len()),
            (&mp, mn, tables.models.len()),
            (&ep, en, tables.entries.len()),
        ] {
            if want != got {
                return Err(Error::data(path, format!("{got} rows, expected {want}")));
            }
        }
        Ok(tables)
    }

    /// The rows of `results.csv` of each model, in order.
    pub fn results_per_model(&self) -> impl Iterator<Item = &[ResultRow]> {
        let n = self.results.len() / self.models.len().max(1);
        self.results.chunks(n.max(1))
    }

    /// The rows of `entry.csv` of each model, in order.
    pub fn entries_per_model(&self) -> impl Iterator<Item = &[EntryRow]> {
        let n = self.entries.len() / self.models.len().max(1);
        self.entries.chunks(n.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::cell;

    /// A label with a comma and a quote, and non-finite numbers, are written exactly as the
    /// hand-joined cells the typed rows replaced, and read back to the same values.
    #[test]
    fn model_rows_are_written_as_cells_and_read_back_exactly() {
        let numbers = [
            0.62,
            f64::NAN,
            f64::INFINITY,
            0.1 + 0.2,
            1e-7,
            -0.0,
            0.5,
            0.97,
            1.0,
        ];
        let row = ModelRow {
            model: "beta = 1, \"smooth\" rbf(0.1)".into(),
            beta: 1.0,
            init_v: "rbf(0.1)".into(),
            status: "diverged".into(),
            epochs_run: 3,
            final_test_accuracy: numbers[0],
            best_test_accuracy: numbers[1],
            final_test_loss: numbers[2],
            relative_change_v: numbers[3],
            hurst_before_mean: numbers[4],
            hurst_before_median: numbers[5],
            hurst_after_mean: numbers[6],
            hurst_after_median: numbers[7],
            hurst_change_median: numbers[8],
        };
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("models.csv");
        store::rewrite(&path, [&row]).unwrap();
        let mut expected = vec![
            "\"beta = 1, \"\"smooth\"\" rbf(0.1)\"".to_owned(),
            cell(Some(1.0)),
            "rbf(0.1)".into(),
            "diverged".into(),
            "3".into(),
        ];
        expected.extend(numbers.iter().map(|v| cell(Some(*v))));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("{}\n{}\n", ModelRow::COLUMNS.join(","), expected.join(","))
        );
        let back: Vec<ModelRow> = store::read(&path, false, 1 << 20).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].model, row.model);
        assert!(back[0].best_test_accuracy.is_nan());
        assert_eq!(back[0].relative_change_v.to_bits(), numbers[3].to_bits());
        assert_eq!(back[0].hurst_before_median.to_bits(), (-0.0f64).to_bits());
    }
}
