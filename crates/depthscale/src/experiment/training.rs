//! What the three training experiments (`train`, `sweep`, `weights`) share: the config fields
//! ([`training_config!`]), the summary of a run ([`RunStats`]), the per-epoch CSV columns (and
//! `train`'s typed row, [`EpochRow`]), the memory footprint of concurrent runs, and checkpoint writing.

use crate::Result;
use crate::budget::{Footprint, bytes, largest};
use crate::paths::Init;
use crate::train::data::Dataset;
use crate::train::{EpochMetrics, TrainConfig, TrainOutcome, save_checkpoint};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use super::data_source::DataSource;
use super::store::{Record, float};

/// Declares the config struct of a training experiment: the fields every training experiment
/// shares (title, data, seed, shape and learning-rate schedule, with the paper's defaults),
/// followed by the experiment's own fields, and the helpers [`data`](DataSource) and
/// `train_config`. A macro rather than a nested struct because `#[serde(flatten)]` and
/// `deny_unknown_fields` do not combine, and the keys stay flat (`--set depth=64`).
macro_rules! training_config {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Free text shown in figure titles.
            #[serde(default)]
            pub title: String,
            /// `mnist-10k` (bundled), `mnist`, `fashion-mnist` or `cifar10`.
            #[serde(default = "crate::experiment::training::default_dataset")]
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
            /// Seed of every random stream (the experiment's doc says how it is split).
            #[serde(default)]
            pub seed: u64,
            /// Number of residual layers `L`.
            #[serde(default = "crate::experiment::training::default_depth")]
            pub depth: usize,
            /// Hidden width `d`.
            #[serde(default = "crate::experiment::training::default_width")]
            pub width: usize,
            /// Passes over the training set.
            #[serde(default = "crate::experiment::training::default_epochs")]
            pub epochs: usize,
            /// Mini-batch size.
            #[serde(default = "crate::experiment::training::default_batch_size")]
            pub batch_size: usize,
            /// Epochs between learning-rate decays.
            #[serde(default = "crate::experiment::training::default_lr_step")]
            pub lr_step: usize,
            /// Learning-rate decay factor.
            #[serde(default = "crate::experiment::training::default_lr_gamma")]
            pub lr_gamma: f64,
            /// The optimizer: `adam` (the paper's) or `sgd`.
            #[serde(default)]
            pub optimizer: crate::train::Optimizer,
            /// SGD momentum in `[0, 1)` (`0`: plain SGD; must be 0 with Adam).
            #[serde(default)]
            pub momentum: f64,
            /// Adam's denominator offset `eps`.
            #[serde(default = "crate::experiment::training::default_adam_eps")]
            pub adam_eps: f64,
            /// The residual block: `res1` (the paper's) or `res3` (`W` trained too).
            #[serde(default)]
            pub block: crate::train::BlockKind,
            /// The block's activation.
            #[serde(default = "crate::experiment::training::default_activation")]
            pub activation: crate::model::Activation,
            /// Whether the block has a bias (outside the activation).
            #[serde(default = "crate::experiment::training::default_bias")]
            pub bias: bool,
            /// Law of `W` over depth (res3).
            #[serde(default = "crate::experiment::training::default_init")]
            pub init_w: crate::paths::Init,
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
        }

        impl $name {
            /// Resolves `data_dir` and `data_fingerprint` (see `data_source::resolve`).
            fn resolve_data(&mut self) -> crate::Result<()> {
                crate::experiment::data_source::resolve(
                    &self.dataset,
                    &mut self.data_dir,
                    &mut self.data_fingerprint,
                )
            }

            /// The data fields.
            pub fn data(&self) -> crate::experiment::DataSource<'_> {
                crate::experiment::DataSource {
                    dataset: &self.dataset,
                    data_dir: self.data_dir.as_deref(),
                    train_samples: self.train_samples,
                    test_samples: self.test_samples,
                }
            }

            /// The shared hyper-parameters with the given scaling, learning rate and law of
            /// `V`, validated.
            fn train_config_with(
                &self,
                beta: f64,
                lr: f64,
                init_v: crate::paths::Init,
            ) -> crate::Result<crate::train::TrainConfig> {
                let cfg = crate::train::TrainConfig {
                    seed: self.seed,
                    depth: self.depth,
                    width: self.width,
                    beta,
                    lr,
                    epochs: self.epochs,
                    batch_size: self.batch_size,
                    lr_step: self.lr_step,
                    lr_gamma: self.lr_gamma,
                    init_v,
                    optimizer: self.optimizer,
                    momentum: self.momentum,
                    adam_eps: self.adam_eps,
                    block: self.block,
                    activation: self.activation,
                    bias: self.bias,
                    init_w: self.init_w,
                    loss: crate::train::LossKind::CrossEntropy,
                    gradient: crate::adjoint::GradientMethod::Backprop,
                };
                cfg.validate()?;
                Ok(cfg)
            }
        }
    };
}
pub(crate) use training_config;

pub(crate) fn default_dataset() -> String {
    super::data_source::BUNDLED.into()
}
pub(crate) fn default_depth() -> usize {
    TrainConfig::default().depth
}
pub(crate) fn default_width() -> usize {
    TrainConfig::default().width
}
pub(crate) fn default_epochs() -> usize {
    TrainConfig::default().epochs
}
pub(crate) fn default_batch_size() -> usize {
    TrainConfig::default().batch_size
}
pub(crate) fn default_lr_step() -> usize {
    TrainConfig::default().lr_step
}
pub(crate) fn default_lr_gamma() -> f64 {
    TrainConfig::default().lr_gamma
}
pub(crate) fn default_adam_eps() -> f64 {
    TrainConfig::default().adam_eps
}
pub(crate) fn default_activation() -> crate::model::Activation {
    TrainConfig::default().activation
}
pub(crate) fn default_bias() -> bool {
    TrainConfig::default().bias
}
pub(crate) fn default_beta() -> f64 {
    TrainConfig::default().beta
}
pub(crate) fn default_lr() -> f64 {
    TrainConfig::default().lr
}
pub(crate) fn default_init() -> Init {
    TrainConfig::default().init_v
}

/// What a finished (or diverged) run amounts to.
#[derive(Clone, Copy, Debug)]
pub(super) struct RunStats {
    /// Whether the loss became non-finite.
    pub diverged: bool,
    /// Epochs completed with finite metrics.
    pub epochs_run: usize,
    /// The last completed epoch's metrics (`None` if none completed).
    pub last: Option<EpochMetrics>,
    /// The completed epoch with the best test accuracy.
    pub best: Option<EpochMetrics>,
    /// Seconds of the completed epochs.
    pub seconds: f64,
}

impl RunStats {
    /// Summarizes a run's per-epoch metrics.
    pub fn of(metrics: &[EpochMetrics], diverged: bool) -> Self {
        let done: Vec<&EpochMetrics> = metrics
            .iter()
            .filter(|m| m.train_loss.is_finite())
            .collect();
        let best = done
            .iter()
            .filter(|m| m.test_accuracy.is_finite())
            .max_by(|a, b| {
                a.test_accuracy
                    .total_cmp(&b.test_accuracy)
                    .then(b.epoch.cmp(&a.epoch))
            })
            .map(|m| **m);
        Self {
            diverged,
            epochs_run: done.len(),
            last: done.last().map(|m| **m),
            best,
            seconds: metrics.iter().map(|m| m.seconds).sum(),
        }
    }

    /// The last completed epoch's value of `f` (`NaN` if none).
    pub fn last_or_nan(&self, f: impl Fn(&EpochMetrics) -> f64) -> f64 {
        self.last.as_ref().map_or(f64::NAN, f)
    }

    /// `"ok"` or `"diverged"`.
    pub fn status(&self) -> &'static str {
        if self.diverged { "diverged" } else { "ok" }
    }
}

/// The header of a per-epoch metrics CSV (after any key columns).
pub(super) const EPOCH_COLUMNS: [&str; 6] = [
    "epoch",
    "lr",
    "train_loss",
    "test_loss",
    "test_accuracy",
    "seconds",
];

/// A row of `train`'s `metrics.csv`: one epoch, with its scheduled learning rate (the columns
/// of [`EPOCH_COLUMNS`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct EpochRow {
    pub epoch: usize,
    #[serde(with = "float")]
    pub lr: f64,
    #[serde(with = "float")]
    pub train_loss: f64,
    #[serde(with = "float")]
    pub test_loss: f64,
    #[serde(with = "float")]
    pub test_accuracy: f64,
    #[serde(with = "float")]
    pub seconds: f64,
}

impl Record for EpochRow {
    const COLUMNS: &'static [&'static str] = &EPOCH_COLUMNS;
}

/// A row of a metrics table of several models (`weights`' `metrics.csv`): the model's label,
/// then the [`EpochRow`] columns (a tuple struct: the csv crate writes and reads the nested row
/// by position, where `#[serde(flatten)]` would need a map).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ModelEpochRow(pub String, pub EpochRow);

impl Record for ModelEpochRow {
    const COLUMNS: &'static [&'static str] = &{
        let mut columns = ["model"; EPOCH_COLUMNS.len() + 1];
        let mut k = 0;
        while k < EPOCH_COLUMNS.len() {
            columns[k + 1] = EPOCH_COLUMNS[k];
            k += 1;
        }
        columns
    };
}

impl EpochRow {
    /// The row of epoch `m` of a run of `cfg`.
    pub fn new(cfg: &TrainConfig, m: &EpochMetrics) -> Self {
        Self {
            epoch: m.epoch,
            lr: cfg.schedule().lr(m.epoch.saturating_sub(1)),
            train_loss: m.train_loss,
            test_loss: m.test_loss,
            test_accuracy: m.test_accuracy,
            seconds: m.seconds,
        }
    }
}

/// Adds to `f` the memory of `parallel` concurrent training runs of `cfg` on `data` (the
/// dataset itself counted once). The batch is counted as `min(batch_size, n_train)`: a batch
/// larger than the training set is the whole set (see [`effective`]).
/// Layers of states a training step keeps: all of them for back-propagation, `2 sqrt(L)` for
/// checkpointing, a few for the adjoint method.
fn tape_layers(cfg: &TrainConfig) -> usize {
    let l = cfg.depth;
    match cfg.gradient {
        crate::adjoint::GradientMethod::Backprop => l,
        crate::adjoint::GradientMethod::Checkpoint => {
            2 * ((l as f64).sqrt().ceil() as usize).min(l)
        }
        crate::adjoint::GradientMethod::Adjoint => 2,
    }
}

pub(super) fn training_footprint(
    f: Footprint,
    cfg: &TrainConfig,
    data: &DataSource,
    parallel: usize,
) -> Footprint {
    let (n_train, n_test, n_in) = data.expected_sizes();
    let (l, d, n_out) = (cfg.depth, cfg.width, 10);
    let batch = cfg.batch_size.min(n_train.max(1));
    let p = parallel as u128;
    let params = bytes(4, &[l, d, d])
        .saturating_add(bytes(4, &[l, d]))
        .saturating_add(bytes(4, &[d, n_in + n_out]));
    let shape_field = if d.saturating_mul(d) > l {
        "width"
    } else {
        "depth"
    };
    f.memory(
        shape_field,
        format!(
            "parameters, gradients, Adam moments and copies (7 x depth x width^2 f32 per run, {parallel} at once)"
        ),
        params.saturating_mul(7).saturating_mul(p),
    )
    .memory(
        largest(&[("batch_size", batch), ("depth", l), ("width", d)]),
        "the activations of a batch (tape layers x width x batch f32 per run)",
        bytes(4, &[tape_layers(cfg), d, batch])
            .saturating_mul(2)
            .saturating_mul(p),
    )
    .memory(
        "batch_size",
        "the inputs of a batch",
        bytes(4, &[n_in, batch]).saturating_mul(p),
    )
    .memory(
        "epochs",
        "the per-epoch metrics",
        bytes(64, &[cfg.epochs]).saturating_mul(p),
    )
    .memory(
        "train_samples",
        "the dataset (pixels as f32, plus the file bytes while loading)",
        bytes(6, &[n_train + n_test, n_in]),
    )
}

/// `cfg` with its batch size cut to the training set: a batch larger than the set is the whole
/// set, so the run is the same, and its buffers are sized by the data.
pub(super) fn effective(cfg: TrainConfig, data: &Dataset) -> TrainConfig {
    TrainConfig {
        batch_size: cfg.batch_size.min(data.n_train().max(1)),
        ..cfg
    }
}

/// A JSON number, or `null` when not finite.
pub(super) fn num(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}

/// Writes `initial.safetensors` and `model.safetensors` for a run; returns the file names.
pub(super) fn save_pair(
    dir: &Path,
    prefix: &str,
    cfg: &TrainConfig,
    dataset: &str,
    out: &TrainOutcome,
) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (state, net) in [("initial", &out.initial), ("trained", &out.trained)] {
        let mut extra = BTreeMap::new();
        extra.insert("state".to_string(), state.to_string());
        extra.insert("dataset".to_string(), dataset.to_string());
        extra.insert("init_v".to_string(), cfg.init_v.to_string());
        extra.insert("seed".to_string(), cfg.seed.to_string());
        extra.insert("lr".to_string(), format!("{:?}", cfg.lr));
        extra.insert("epochs".to_string(), cfg.epochs.to_string());
        extra.insert("diverged".to_string(), out.diverged.to_string());
        let name = match state {
            "initial" => format!("{prefix}initial.safetensors"),
            _ => format!("{prefix}model.safetensors"),
        };
        save_checkpoint(&dir.join(&name), net, cfg.beta, &extra, false)?;
        names.push(name);
    }
    Ok(names)
}
