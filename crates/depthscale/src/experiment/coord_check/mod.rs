//! The depth coord check (`kind = "coord-check"`): microsoft/mup's coord check, over depth
//! instead of width.
//!
//! For each parameterization and each depth `L`, the training model is trained for `steps`
//! Adam steps from the config's seed (the same initial `A`, `B` and batches at every depth and
//! parameterization; `V` from the parameterization's law), and at every `t = 0..=steps` an
//! `f64` forward pass of the current network through the run's backend ([`measure::Forward`])
//! on the first `samples` training images records, on the recorded layers `k`
//! ([`measure::recorded_layers`]): the mean absolute value of `h_k` (mup's `l1`), of the
//! residual update `h_k - h_{k-1}`, of the logits, and the Frobenius norm of each weight's
//! change `||V_k(t) - V_k(0)||` (and of `A`, `B`). A flat curve of `l1` against `L` means the
//! parameterization is depth-stable.
//!
//! Files: `coords.csv` (tidy, mup's column names: `parameterization, depth, module, layer, t,
//! quantity, l1`), `coord_check.png/svg` (one panel per step `t`: `l1` of the last hidden
//! state, then of the logits, against `L`, log-log, one line per parameterization) and the
//! summary (log-log slope and max/min ratio over `L` of each curve; which are flat). Jobs
//! `(parameterization, depth)` run in parallel, one per rayon thread, gathered in order.

pub(crate) mod measure;
mod report;
#[cfg(test)]
mod tests;

use super::data_source::DataSource;
use super::depth_train::{epoch_order, train_config, trainer};
use super::parameterization::{ParamSpec, Parameterization, resolve_all};
use super::presets::preset_toml;
use super::reproduce::{Claim, claims};
use super::{Experiment, Grid, RunContext};
use super::{Preset, Reproduce};
use crate::accept;
use crate::budget::{Footprint, bytes};
use crate::kernels::{RunBackend, with_backend};
use crate::train::data::Dataset;
use crate::train::residual_scale;
use crate::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Config of a `coord-check` experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordCheckConfig {
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
    /// Seed of the weights and batches (shared by every depth and parameterization).
    #[serde(default)]
    pub seed: u64,
    /// Hidden width `d`.
    #[serde(default = "super::training::default_width")]
    pub width: usize,
    /// Mini-batch size of the training steps.
    #[serde(default = "super::training::default_batch_size")]
    pub batch_size: usize,
    /// The parameterizations: names or tables (see `experiment::parameterization`).
    #[serde(default = "default_parameterizations")]
    pub parameterizations: Vec<ParamSpec>,
    /// Depths `L` (integers >= 1).
    pub depths: Grid,
    /// Training steps `T` (measured at `t = 0..=T`).
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// Base learning rate (each parameterization's rule applied at each depth).
    pub lr: f64,
    /// Training images the measurements average over (the first ones).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Layers recorded per depth (log-spaced; every layer when the depth is smaller).
    #[serde(default = "default_layers")]
    pub layers: usize,
    /// A curve is called flat when its max/min ratio over depths is at most this.
    #[serde(default = "default_flat_ratio")]
    pub flat_ratio: f64,
}

pub(super) fn default_parameterizations() -> Vec<ParamSpec> {
    super::parameterization::NAMED
        .iter()
        .map(|n| ParamSpec::Named((*n).to_string()))
        .collect()
}
fn default_steps() -> usize {
    5
}
fn default_samples() -> usize {
    128
}
fn default_layers() -> usize {
    16
}
fn default_flat_ratio() -> f64 {
    2.0
}

/// One row of `coords.csv`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CoordRow {
    pub param: usize,
    pub depth: usize,
    pub module: &'static str,
    pub layer: usize,
    pub t: usize,
    pub quantity: &'static str,
    pub l1: f64,
    /// Per image, the mean `|.|` whose mean is `l1`: only for the curves the summary reads
    /// (`h` at the last layer and the logits), else empty.
    pub per_image: Vec<f64>,
}

impl CoordCheckConfig {
    fn data(&self) -> DataSource<'_> {
        DataSource {
            dataset: &self.dataset,
            data_dir: self.data_dir.as_deref(),
            train_samples: self.train_samples,
            test_samples: Some(1),
        }
    }

    fn plan(&self) -> Result<(Vec<Parameterization>, Vec<usize>)> {
        let params = resolve_all(&self.parameterizations, "parameterizations")?;
        let depths = self.depths.integers("depths", 1)?;
        let mut distinct = depths.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 2 {
            return Err(Error::config(
                "depths",
                format!(
                    "give at least two distinct depths: flatness compares the curves across depths, got {depths:?}"
                ),
            ));
        }
        accept::integers(&[
            ("steps", self.steps, 1..=100_000),
            ("samples", self.samples, 1..=1_000_000),
            ("width", self.width, 1..=100_000),
            ("batch_size", self.batch_size, 1..=1_000_000),
        ])?;
        if self.layers < 3 {
            return Err(Error::config(
                "layers",
                format!(
                    "must be at least 3 (0, 1 and L are always recorded), got {}",
                    self.layers
                ),
            ));
        }
        accept::positive("lr", self.lr)?;
        if !(self.flat_ratio.is_finite() && self.flat_ratio > 1.0) {
            return Err(Error::config(
                "flat_ratio",
                format!("must be finite and > 1, got {}", self.flat_ratio),
            ));
        }
        for p in &params {
            for &l in &depths {
                p.check_at("parameterizations", l)?;
                train_config(p, l, self.width, self.batch_size, self.lr, self.seed, None)?;
            }
        }
        Ok((params, depths))
    }

    /// The measurements of one `(parameterization, depth)`; stops between steps when
    /// `progress` is cancelled.
    #[allow(clippy::too_many_arguments)]
    fn run_job<B: RunBackend>(
        &self,
        backend: &B,
        p: &Parameterization,
        pi: usize,
        depth: usize,
        data: &Dataset,
        x: &[f64],
        progress: &dyn crate::progress::Progress,
    ) -> Result<Vec<CoordRow>> {
        let cfg = train_config(
            p,
            depth,
            self.width,
            self.batch_size,
            self.lr,
            self.seed,
            None,
        )?;
        let mut tr = trainer(backend.clone(), p, &cfg, data)?;
        let n = x.len() / data.n_features;
        let alpha = residual_scale(depth, p.beta);
        let layers = measure::recorded_layers(depth, self.layers);
        let init = tr.network();
        let mut fwd = measure::Forward::new(backend.clone(), &init, alpha, x, n, &layers);
        let n_train = data.n_train();
        let per_epoch = n_train.div_ceil(cfg.batch_size);
        let mut order = Vec::new();
        let mut rows = Vec::new();
        for t in 0..=self.steps {
            crate::progress::check_cancelled(progress)?;
            let net = tr.network();
            let row = |module, layer, quantity, l1| CoordRow {
                param: pi,
                depth,
                module,
                layer,
                t,
                quantity,
                l1,
                per_image: Vec::new(),
            };
            let mut next = 0;
            let logits = fwd.run(&net, |k, h, prev| {
                if layers.get(next) == Some(&k) {
                    next += 1;
                    let mut r = row("h", k, "mean_abs", measure::l1(h));
                    if k == depth {
                        r.per_image = measure::l1_per_column(h, n);
                    }
                    rows.push(r);
                    if let Some(prev) = prev {
                        rows.push(row("dh", k, "mean_abs", measure::l1_diff(h, prev)));
                    }
                }
            });
            rows.push(CoordRow {
                per_image: measure::l1_per_column(logits, n),
                ..row("logits", depth + 1, "mean_abs", measure::l1(logits))
            });
            let (d, a, b) = (self.width, &net.params, &init.params);
            for &k in layers.iter().filter(|&&k| k > 0) {
                let s = (k - 1) * d * d..k * d * d;
                let norm = measure::diff_norm(&a.v[s.clone()], &b.v[s]);
                rows.push(row("V", k, "update_norm", norm));
            }
            rows.push(row(
                "embed",
                0,
                "update_norm",
                measure::diff_norm(&a.embed, &b.embed),
            ));
            rows.push(row(
                "readout",
                depth + 1,
                "update_norm",
                measure::diff_norm(&a.readout, &b.readout),
            ));
            if t < self.steps {
                let (epoch, i) = (t / per_epoch, t % per_epoch);
                if i == 0 {
                    order = epoch_order(self.seed, n_train, epoch);
                }
                let batch = &order[i * cfg.batch_size..((i + 1) * cfg.batch_size).min(n_train)];
                let loss = tr.step(&data.train_images, &data.train_labels, batch, cfg.lr);
                rows.push(row("loss", 0, "batch_loss", loss));
            }
        }
        Ok(rows)
    }
}

impl Experiment for CoordCheckConfig {
    const KIND: &'static str = "coord-check";

    const PRESETS: &'static [Preset] = &[Preset {
        name: "coord-check",
        toml: preset_toml!("coord-check"),
        listed: 19,
        reproduce: Some(Reproduce {
            place: 18,
            quick: Some(&["samples=64"]),
            quick_seconds: 8.0,
            full_seconds: 15.0,
            data: false,
            claim: "Beyond the paper: a depth coord check. After a few Adam steps at one learning rate, the hidden states and logits stay flat over L = 8..4096 with depth-muP (lr / sqrt(L)) and CompleteP (1/L branches), grow with L for 1/sqrt(L) branches without a rule, and explode for beta = 0.",
        }),
    }];

    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        claims::collect(preset, dir, summary, reduced, claims::of_coord_check)
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
        self.depths.cap(256.0);
        self.depths.shrink(4);
        self.steps = self.steps.min(3);
        self.samples = self.samples.min(32);
        self.train_samples = Some(self.train_samples.unwrap_or(usize::MAX).min(1000));
    }

    fn footprint(&self) -> Result<Footprint> {
        let (params, depths) = self.plan()?;
        let l = depths.iter().copied().max().unwrap_or(1);
        let d = self.width;
        let (n_train, _, n_in) = self.data().expected_sizes();
        let parallel = rayon::current_num_threads().max(1) as u128;
        let rows = (params.len() * depths.len()) as u128
            * (self.steps as u128 + 1)
            * (3 * self.layers as u128 + 4);
        Ok(Footprint::default()
            .memory(
                "depths",
                "per job: the trainer (7 x depth x width^2 f32), two host copies, and the forward's f64 weights in the backend and their host staging",
                bytes(4, &[l, d, d])
                    .saturating_mul(7 + 2 + 2 + 2)
                    .saturating_mul(parallel),
            )
            .memory(
                "batch_size",
                "the activations of a batch (depth x width x batch f32 per job)",
                bytes(4, &[l, d, self.batch_size])
                    .saturating_mul(2)
                    .saturating_mul(parallel),
            )
            .memory(
                "train_samples",
                "the dataset (pixels as f32)",
                bytes(6, &[n_train, n_in]),
            )
            .memory("layers", "the rows", rows.saturating_mul(96))
            .disk("layers", "coords.csv", rows.saturating_mul(64))
            .disk("steps", "figures", (self.steps as u128 + 2) * (2 << 20)))
    }

    type Summary = crate::experiment::summary::CoordCheckSummary;

    fn run(&self, ctx: &RunContext) -> Result<Self::Summary> {
        let (params, depths) = self.plan()?;
        let data = self.data().load(ctx.progress)?;
        let n = self.samples.min(data.n_train());
        let x: Vec<f64> = data.train_images[..n * data.n_features]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let jobs: Vec<(usize, usize)> = (0..params.len())
            .flat_map(|p| depths.iter().map(move |&l| (p, l)))
            .collect();
        ctx.progress.start("coord check", jobs.len() as u64);
        let results: Vec<Vec<CoordRow>> = jobs
            .par_iter()
            .with_max_len(1)
            .map(|&(pi, l)| {
                let r = with_backend!(&ctx.backend, be => {
                    self.run_job(be, &params[pi], pi, l, &data, &x, ctx.progress)
                });
                ctx.progress.advance(1);
                r
            })
            .collect::<Result<_>>()?;
        ctx.progress.finish();
        let rows: Vec<CoordRow> = results.into_iter().flatten().collect();
        report::finish(self, &params, &depths, &rows, ctx)
    }
}
