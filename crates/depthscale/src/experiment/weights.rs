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
//! model and epoch), optional checkpoints `m<k>-initial.safetensors` / `m<k>-model.safetensors`.

use super::presets::preset_toml;
use super::reproduce::{Claim, claims};
use super::training::{
    EPOCH_COLUMNS, RunStats, default_lr, effective, epoch_cells, save_pair, training_config,
    training_footprint,
};
use super::{Experiment, RunContext, cell};
use super::{Preset, Reproduce};
use crate::budget::{Footprint, bytes, check_title};
use crate::experiment::summary::{TrainedModel, WeightsSummary, finite};
use crate::kernels::with_backend;
use crate::model::ResNet;
use crate::paths::Init;
use crate::plot::{self, Histogram, LineStyle, Panel, Series};
use crate::progress::Quiet;
use crate::stats::{mean_median, median_se};
use crate::train::{TrainConfig, TrainOutcome, train_on, weight_hurst_estimates};
use crate::{Error, Result, rng};
use rand::Rng as _;
use std::path::Path;

/// Layers shown in the before/after panels of `weights.png` (the change is shown over all).
const WINDOW: usize = 100;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Stream tag of the displayed entry (`"entr"`).
const TAG_ENTRY: u64 = 0x656e_7472;

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

/// One trained model and its roughness estimates.
struct Trained {
    cfg: TrainConfig,
    out: TrainOutcome,
    before: Vec<f64>,
    after: Vec<f64>,
    delta: Vec<f64>,
    relative_change: f64,
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

    fn title(&self, default: &str) -> String {
        if self.title.is_empty() {
            default.to_owned()
        } else {
            self.title.clone()
        }
    }

    fn plot_weights(
        &self,
        ctx: &RunContext,
        runs: &[Trained],
        (i, j): (usize, usize),
    ) -> Result<()> {
        let d = self.width;
        let ks: Vec<f64> = (1..=self.depth).map(|k| k as f64).collect();
        let entry = |net: &ResNet<f32>| -> Vec<f64> {
            (0..self.depth)
                .map(|k| f64::from(net.params.v[k * d * d + i * d + j]))
                .collect()
        };
        // Rough (i.i.d.) entries change little relative to their jumps: overlaid over all
        // layers, "after" would hide "before". The top row shows both over the first WINDOW
        // layers, the bottom row the change after - before over all layers.
        let window = self.depth.min(WINDOW);
        let series = |label: &str, y: Vec<f64>, n: usize| Series {
            label: label.into(),
            x: ks[..n].to_vec(),
            y: y[..n].to_vec(),
            band: None,
            style: LineStyle::Solid,
            markers: false,
        };
        let accuracy = |r: &Trained| {
            RunStats::of(&r.out.metrics, r.out.diverged).last_or_nan(|e| e.test_accuracy)
        };
        let mut panels: Vec<Panel> = runs
            .iter()
            .zip(&self.models)
            .map(|(r, m)| Panel {
                title: format!("{}: test accuracy {:.3}", m.label, accuracy(r)),
                x_label: "layer k".into(),
                y_label: format!("V_k[{i}, {j}]"),
                series: vec![
                    series("before training", entry(&r.out.initial), window),
                    series("after training", entry(&r.out.trained), window),
                ],
                notes: if window < self.depth {
                    vec![format!("first {window} of {} layers", self.depth)]
                } else {
                    Vec::new()
                },
                ..Panel::default()
            })
            .collect();
        panels.extend(runs.iter().zip(&self.models).map(|(r, m)| {
            let (after, before) = (entry(&r.out.trained), entry(&r.out.initial));
            let change = after.iter().zip(&before).map(|(a, b)| a - b).collect();
            Panel {
                title: format!("{}: change after - before", m.label),
                x_label: "layer k".into(),
                y_label: format!("change of V_k[{i}, {j}]"),
                series: vec![series("", change, self.depth)],
                notes: vec![format!("all {} layers", self.depth)],
                ..Panel::default()
            }
        }));
        plot::line_panels(
            &ctx.path("weights"),
            &self.title(
                "One weight entry V_k[i, j] against depth, before and after training (Figure 8)",
            ),
            &panels,
            runs.len().clamp(1, 3),
        )
    }

    fn plot_roughness(&self, ctx: &RunContext, runs: &[Trained]) -> Result<()> {
        let mut panels = Vec::new();
        for (when, pick) in [
            (
                "before training",
                (|r: &Trained| &r.before) as fn(&Trained) -> &Vec<f64>,
            ),
            ("after training", |r: &Trained| &r.after),
            ("of the change after - before", |r: &Trained| &r.delta),
        ] {
            for (r, m) in runs.iter().zip(&self.models) {
                let (_, median) = mean_median(pick(r));
                panels.push(Histogram {
                    title: format!("{}: median {median:.2}", m.label),
                    x_label: format!("Hurst estimate, {when}"),
                    values: pick(r).clone(),
                    bins: 40,
                    log_x: false,
                });
            }
        }
        plot::histograms(
            &ctx.path("roughness"),
            &self.title(&format!(
                "Roughness over depth of the {} sequences k -> V_k[i, j]: before, after, and of the change",
                self.width * self.width
            )),
            &panels,
        )
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
        if self.models.is_empty() || self.models.len() > 12 {
            return Err(Error::config(
                "models",
                format!("give between 1 and 12 models, got {}", self.models.len()),
            ));
        }
        if self.depth < crate::train::roughness::MIN_LEN {
            return Err(Error::config(
                "depth",
                format!(
                    "must be at least {} to estimate the roughness over depth, got {}",
                    crate::train::roughness::MIN_LEN,
                    self.depth
                ),
            ));
        }
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
        ctx.progress
            .start("training models", (cfgs.len() * self.epochs) as u64);
        let runs: Vec<Trained> = cfgs
            .par_iter()
            .with_max_len(1)
            .map(|cfg| {
                let cfg = &effective(cfg.clone(), &data);
                let mut epochs = 0u64;
                let mut on_epoch = |_: &_| {
                    epochs += 1;
                    ctx.progress.advance(1);
                };
                let out = with_backend!(&ctx.backend, be => {
                    train_on(be.clone(), cfg, &data, &Quiet(ctx.progress), &mut on_epoch)
                })?;
                ctx.progress.advance(self.epochs as u64 - epochs);
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

        let d = self.width;
        let mut r = rng::stream(self.seed, &[TAG_ENTRY]);
        let entry = (r.random_range(0..d), r.random_range(0..d));
        ctx.progress.start("writing tables and figures", 3);
        let mut metrics = ctx.csv("metrics.csv")?;
        let mut header = vec!["model"];
        header.extend(EPOCH_COLUMNS);
        metrics.row(&header)?;
        let mut results = ctx.csv("results.csv")?;
        results.row([
            "model",
            "i",
            "j",
            "hurst_before",
            "hurst_after",
            "hurst_change",
        ])?;
        let mut models = ctx.csv("models.csv")?;
        models.row([
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
        ])?;
        let mut summary = Vec::new();
        for (k, (run, m)) in runs.iter().zip(&self.models).enumerate() {
            for e in &run.out.metrics {
                let mut row = vec![m.label.clone()];
                row.extend(epoch_cells(&run.cfg, e));
                metrics.row(&row)?;
            }
            for (e, ((b, a), c)) in run
                .before
                .iter()
                .zip(&run.after)
                .zip(&run.delta)
                .enumerate()
            {
                results.row([
                    m.label.clone(),
                    (e / d).to_string(),
                    (e % d).to_string(),
                    cell(Some(*b)),
                    cell(Some(*a)),
                    cell(Some(*c)),
                ])?;
            }
            let stats = RunStats::of(&run.out.metrics, run.out.diverged);
            let (bm, bmed) = mean_median(&run.before);
            let (am, amed) = mean_median(&run.after);
            let (_, cmed) = mean_median(&run.delta);
            let acc = stats.last_or_nan(|e| e.test_accuracy);
            let best = stats.best.map_or(f64::NAN, |e| e.test_accuracy);
            models.row([
                m.label.clone(),
                cell(Some(m.beta)),
                run.cfg.init_v.to_string(),
                stats.status().into(),
                stats.epochs_run.to_string(),
                cell(Some(acc)),
                cell(Some(best)),
                cell(Some(stats.last_or_nan(|e| e.test_loss))),
                cell(Some(run.relative_change)),
                cell(Some(bm)),
                cell(Some(bmed)),
                cell(Some(am)),
                cell(Some(amed)),
                cell(Some(cmed)),
            ])?;
            let checkpoints = if self.save {
                save_pair(&ctx.dir, &format!("m{k}-"), &run.cfg, &data.name, &run.out)?
            } else {
                Vec::new()
            };
            summary.push(TrainedModel {
                model: m.label.clone(),
                beta: m.beta,
                init_v: run.cfg.init_v.to_string(),
                diverged: run.out.diverged,
                final_test_accuracy: finite(acc),
                best_test_accuracy: finite(best),
                relative_change_v: finite(run.relative_change),
                hurst_before_mean: finite(bm),
                hurst_before_median: finite(bmed),
                hurst_after_mean: finite(am),
                hurst_after_median: finite(amed),
                hurst_after_median_se: finite(median_se(&run.after)),
                hurst_change_median: finite(cmed),
                checkpoints,
            });
        }
        metrics.finish()?;
        results.finish()?;
        models.finish()?;
        ctx.progress.advance(1);
        self.plot_weights(ctx, &runs, entry)?;
        ctx.progress.advance(1);
        self.plot_roughness(ctx, &runs)?;
        ctx.progress.advance(1);
        ctx.progress.finish();
        Ok(WeightsSummary {
            dataset: data.name.clone(),
            n_train: data.n_train(),
            n_test: data.n_test(),
            entry_shown: [entry.0, entry.1],
            models: summary,
        })
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
        for f in [
            "weights.png",
            "weights.svg",
            "roughness.png",
            "roughness.svg",
            "models.csv",
            "metrics.csv",
        ] {
            assert!(out.join(f).is_file(), "{f}");
        }
    }
}
