//! The paper's Figure 8, with a number on it: trained weights as paths over depth.
//!
//! Trains several models (by default beta = 1 with smooth `rbf(0.1)` weights, beta = 1 and
//! beta = 0.5 with i.i.d. uniform weights), in parallel, and shows one entry `V_k[i, j]` against
//! `k` before and after training. Going beyond the paper, it estimates the roughness (a variogram
//! Hurst exponent, see [`crate::train::roughness`]) of every entry's sequence over depth before
//! and after training, and of the change `V_after - V_before`, so that "training keeps the
//! regularity of the initialization" becomes a number per model (`models.csv`: medians before
//! and after, the relative size `||V_after - V_before|| / ||V_before||` of the change and its own
//! roughness). With the paper's protocol on mnist-10k: smooth weights stay at H ~ 1, i.i.d.
//! weights at beta = 0.5 move from 0.49 to 0.53 (change 9%), but at beta = 1 the change is large
//! (44%) and nearly constant over depth (its H ~ 1), and the trained weights read H ~ 0.74.
//!
//! Outputs: `weights.png/svg`, `roughness.png/svg` (histograms of the estimates), `results.csv`
//! (one row per model and entry), `models.csv` (one row per model), `metrics.csv` (one row per
//! model and epoch), `entry.csv` (the displayed entry before and after training, one row per
//! model and layer), optional checkpoints `m<k>-initial.safetensors` / `m<k>-model.safetensors`.
//!
//! The data flows through three stages, each reading only what the one before wrote:
//! 1. rows ([`rows`]): the models trained in parallel, their roughness estimates, and the
//!    tables written from them (and the checkpoints);
//! 2. figures ([`figures`]): drawn from the tables read back from the run directory;
//! 3. summary ([`summary`]): from the same tables.

mod figures;
mod rows;
mod summary;

use super::presets::preset_toml;
use super::reproduce::{Claim, claims};
use super::training::{default_lr, training_config, training_footprint};
use super::{Experiment, RunContext};
use super::{Preset, Reproduce};
use crate::accept;
use crate::budget::{Footprint, bytes, check_title};
use crate::experiment::summary::WeightsSummary;
use crate::paths::Init;
use crate::train::TrainConfig;
use crate::{Error, Result};
use rows::Tables;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One model of a `weights` experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsModel {
    /// Name in figures and tables.
    pub label: String,
    /// Residual scale exponent.
    pub beta: f64,
    /// Law of `V` over depth.
    pub init_v: Init,
}

training_config! {
    /// Config of a `weights` experiment (Figure 8; `seed` also draws the displayed entry).
    pub struct WeightsConfig {
        /// Write each model's initial and trained weights as safetensors.
        #[serde(default)]
        pub save: bool,
        /// Initial Adam learning rate.
        #[serde(default = "default_lr")]
        pub lr: f64,
        /// The models to train.
        #[serde(default = "default_models")]
        pub models: Vec<WeightsModel>,
    }
}

fn default_models() -> Vec<WeightsModel> {
    [
        ("beta = 1, smooth rbf(0.1)", 1.0, "rbf(0.1)"),
        ("beta = 1, i.i.d. uniform", 1.0, "uniform"),
        ("beta = 0.5, i.i.d. uniform", 0.5, "uniform"),
    ]
    .into_iter()
    .map(|(label, beta, init_v)| WeightsModel {
        label: label.into(),
        beta,
        init_v: init_v.parse().expect("the default laws parse"),
    })
    .collect()
}

impl WeightsConfig {
    fn model_config(&self, k: usize) -> Result<TrainConfig> {
        let m = &self.models[k];
        self.train_config_with(m.beta, self.lr, m.init_v)
            .map_err(|e| match e {
                Error::Config { field: f, message } if f == "beta" => {
                    Error::config(format!("models[{k}].beta"), message)
                }
                other => other,
            })
    }
}

impl Experiment for WeightsConfig {
    const KIND: &'static str = "weights";

    const PRESETS: &'static [Preset] = &[Preset {
        name: "fig8",
        toml: preset_toml!("fig8"),
        listed: 8,
        reproduce: Some(Reproduce {
            place: 8,
            quick: Some(&["epochs=2", "train_samples=4000", "test_samples=1000"]),
            quick_seconds: 3.5,
            full_seconds: 13.0,
            data: true,
            claim: "Training keeps the regularity of the initialization: smooth weights stay smooth (Hurst estimate near 1), i.i.d. weights trained at beta = 1/2 stay rough (near 1/2).",
        }),
    }];

    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        claims::collect(preset, dir, summary, reduced, claims::of_weights)
    }

    fn validate(&self) -> Result<()> {
        self.data().validate()?;
        accept::list_len("models", self.models.len(), 1..=12)?;
        // The roughness estimator needs at least `MIN_LEN` layers.
        accept::integers(&[(
            "depth",
            self.depth,
            crate::train::roughness::MIN_LEN..=usize::MAX,
        )])?;
        for (k, m) in self.models.iter().enumerate() {
            check_title(&format!("models[{k}].label"), &m.label)?;
            self.model_config(k)?;
        }
        Ok(())
    }

    fn footprint(&self) -> Result<Footprint> {
        let cfg = self.model_config(0)?;
        let m = self.models.len();
        let parallel = rayon::current_num_threads().min(m).max(1);
        let (l, d) = (self.depth, self.width);
        let checkpoints = if self.save {
            bytes(8, &[m, l, d, d])
        } else {
            0
        };
        Ok(
            training_footprint(Footprint::default(), &cfg, &self.data(), parallel)
                .memory(
                    "width",
                    "the roughness estimates and the weight change (per model)",
                    bytes(24, &[m, d, d]).saturating_add(bytes(4, &[m, l, d, d])),
                )
                .disk(
                    "width",
                    "results.csv (one row per model and entry)",
                    bytes(80, &[m, d, d]),
                )
                .disk("epochs", "metrics.csv", bytes(128, &[m, self.epochs]))
                .disk(
                    "depth",
                    "entry.csv (the displayed entry per model and layer)",
                    bytes(96, &[m, l]),
                )
                .disk("depth", "the checkpoints", checkpoints)
                .disk("models", "the figures", 8 << 20),
        )
    }

    fn resolve(&mut self) -> Result<()> {
        self.resolve_data()
    }

    fn quick(&mut self) {
        self.depth = self.depth.min(64);
        self.epochs = 1;
        self.train_samples = Some(self.train_samples.unwrap_or(usize::MAX).min(2000));
        self.test_samples = Some(self.test_samples.unwrap_or(usize::MAX).min(1000));
    }

    type Summary = WeightsSummary;

    fn run(&self, ctx: &RunContext) -> Result<WeightsSummary> {
        let cfgs: Vec<TrainConfig> = (0..self.models.len())
            .map(|k| self.model_config(k))
            .collect::<Result<_>>()?;
        let data = self.data().load(ctx.progress)?;
        let runs = rows::train(ctx, &cfgs, &data, self.epochs)?;
        let entry = rows::displayed_entry(self.seed, self.width);
        ctx.progress.start("writing tables and figures", 3);
        let checkpoints = rows::write(self, ctx, &runs, entry, &data.name)?;
        drop(runs);
        let tables = Tables::read(self, &ctx.dir)?;
        ctx.progress.advance(1);
        figures::weights(self, ctx, &tables)?;
        ctx.progress.advance(1);
        figures::roughness(self, ctx, &tables)?;
        ctx.progress.advance(1);
        ctx.progress.finish();
        Ok(summary::summarize(
            &tables,
            (&data.name, data.n_train(), data.n_test()),
            entry,
            checkpoints,
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::experiment::{RunOptions, run_kind};
    use crate::progress::Silent;

    #[test]
    fn smooth_weights_stay_smooth_and_iid_weights_stay_rough() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("w");
        let t: toml::Table = toml::from_str(
            "depth = 128\nwidth = 8\nepochs = 1\nlr = 0.01\ntrain_samples = 512\ntest_samples = 200",
        )
        .unwrap();
        let opts = RunOptions {
            out: Some(out.clone()),
            ..Default::default()
        };
        let report = run_kind("weights", "w", t, &opts, &Silent).unwrap();
        let models = report.summary["results"]["models"].as_array().unwrap();
        assert_eq!(models.len(), 3);
        let h = |k: usize, f: &str| models[k][f].as_f64().unwrap();
        // 64 entries, 128 layers: the variogram estimate of an i.i.d. sequence has sd about 0.05
        // and rbf(0.1) paths sit near 1; the medians are far more precise than these bounds.
        assert!(h(0, "hurst_before_median") > 0.85, "{models:?}");
        assert!(h(0, "hurst_after_median") > 0.85, "{models:?}");
        for k in [1, 2] {
            assert!(
                (h(k, "hurst_before_median") - 0.5).abs() < 0.1,
                "{models:?}"
            );
            assert!((h(k, "hurst_after_median") - 0.5).abs() < 0.1, "{models:?}");
        }
        // training happened, at the size one epoch of Adam moves weights: 4 steps of about
        // lr = 0.01 per entry; measured ||V_after - V_before|| / ||V_before|| = 0.065, 0.059,
        // 0.052 for the three models. A run that skips training (0), or one step's worth, fails.
        for k in 0..3 {
            let change = h(k, "relative_change_v");
            assert!((0.02..0.2).contains(&change), "model {k}: {change}");
        }
        let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
        assert_eq!(results.lines().count(), 1 + 3 * 64);
        let entry = std::fs::read_to_string(out.join("entry.csv")).unwrap();
        assert_eq!(entry.lines().count(), 1 + 3 * 128);
        for f in [
            "weights.png",
            "weights.svg",
            "roughness.png",
            "roughness.svg",
            "models.csv",
            "metrics.csv",
            "entry.csv",
        ] {
            assert!(out.join(f).is_file(), "{f}");
        }
    }
}
