//! One training run of the paper's protocol (Marion et al., Section 5): the `train` experiment
//! behind `depthscale train` (what it shares with `sweep` and `weights` is in
//! [`super::training`]).
//!
//! Outputs: `metrics.csv` (one row per epoch, appended and flushed as each epoch ends),
//! `training.png/svg` (losses and test accuracy against epoch), optionally `model.safetensors`
//! and `initial.safetensors` (see [`crate::train::checkpoint`] for the format), and the
//! summary (final and best test accuracy, divergence, timing, dataset sizes).

use super::Preset;
use super::presets::preset_toml;
use super::{Experiment, RunContext};
use crate::Result;
use crate::adjoint::GradientMethod;
use crate::budget::{Footprint, bytes};
use crate::kernels::with_backend;
use crate::paths::Init;
use crate::plot::{self, LineStyle, Panel, Series};
use crate::progress::Progress;
use crate::train::data::Dataset;
use crate::train::{EpochMetrics, TrainConfig, TrainOutcome, train, train_on};
use std::time::Instant;

pub use super::data_source::DataSource;
use super::store::Appender;
use super::training::{
    EpochRow, RunStats, default_beta, default_init, default_lr, effective, num, save_pair,
    training_config, training_footprint,
};

training_config! {
    /// Config of a `train` experiment: the fields of [`TrainConfig`] plus where the data comes
    /// from. Every field has a default; the defaults are the paper's protocol on the bundled
    /// `mnist-10k`.
    pub struct TrainRunConfig {
        /// Write `initial.safetensors` and `model.safetensors` (the trained network).
        #[serde(default)]
        pub save: bool,
        /// Residual scale exponent: `alpha_L = L^-beta`.
        #[serde(default = "default_beta")]
        pub beta: f64,
        /// Initial Adam learning rate.
        #[serde(default = "default_lr")]
        pub lr: f64,
        /// Law of `V` over depth: uniform, gaussian, rademacher, fbm(H), rbf(BW),
        /// rbf(BW, increments), correlated(..).
        #[serde(default = "default_init")]
        pub init_v: Init,
        /// How gradients are computed: `backprop`, `checkpoint` (states every `sqrt(L)`
        /// layers, the same gradient) or `adjoint` (memory independent of the depth).
        #[serde(default, skip_serializing_if = "GradientMethod::is_backprop")]
        pub gradient: GradientMethod,
    }
}

impl TrainRunConfig {
    /// The training hyper-parameters.
    pub fn train_config(&self) -> Result<TrainConfig> {
        Ok(TrainConfig {
            gradient: self.gradient,
            ..self.train_config_with(self.beta, self.lr, self.init_v)?
        })
    }

    /// Trains in memory, without an output directory (the Python binding's
    /// `depthscale.train`): validates, loads the data, caps the batch at the training set as a
    /// run does, and calls [`train`]. Returns the effective hyper-parameters, the dataset's
    /// name and the outcome (per-epoch metrics, networks before and after training). The memory
    /// of the run's [`Experiment::footprint`] is checked first
    /// ([`crate::budget::check_memory`]).
    pub fn train_in_memory(
        &self,
        progress: &dyn Progress,
    ) -> Result<(TrainConfig, String, TrainOutcome)> {
        self.validate()?;
        crate::budget::check_memory(&self.footprint()?)?;
        let data = self.data().load(progress)?;
        let cfg = effective(self.train_config()?, &data);
        let out = train(&cfg, &data, progress, &mut |_| {})?;
        Ok((cfg, data.name, out))
    }

    fn plot(
        &self,
        ctx: &RunContext,
        cfg: &TrainConfig,
        data: &Dataset,
        out: &TrainOutcome,
    ) -> Result<()> {
        let ms: Vec<&EpochMetrics> = out
            .metrics
            .iter()
            .filter(|m| m.train_loss.is_finite())
            .collect();
        let x: Vec<f64> = ms.iter().map(|m| m.epoch as f64).collect();
        let series = |label: &str, f: fn(&EpochMetrics) -> f64| Series {
            label: label.into(),
            x: x.clone(),
            y: ms.iter().map(|m| f(m)).collect(),
            band: None,
            style: LineStyle::Solid,
            markers: true,
        };
        let title = if self.title.is_empty() {
            format!(
                "Training on {}: L = {}, d = {}, beta = {}, V ~ {}, lr = {}{}",
                data.name,
                cfg.depth,
                cfg.width,
                cfg.beta,
                cfg.init_v,
                cfg.lr,
                if out.diverged { " (diverged)" } else { "" }
            )
        } else {
            self.title.clone()
        };
        plot::line_panels(
            &ctx.path("training"),
            &title,
            &[
                Panel {
                    x_ticks: None,
                    notes: Vec::new(),
                    title: "Cross-entropy".into(),
                    x_label: "epoch".into(),
                    y_label: "mean loss".into(),
                    log_x: false,
                    log_y: true,
                    series: vec![
                        series("train (mean over the epoch)", |m| m.train_loss),
                        series("test (after the epoch)", |m| m.test_loss),
                    ],
                },
                Panel {
                    x_ticks: None,
                    notes: Vec::new(),
                    title: "Test accuracy".into(),
                    x_label: "epoch".into(),
                    y_label: "accuracy".into(),
                    log_x: false,
                    log_y: false,
                    series: vec![series("test", |m| m.test_accuracy)],
                },
            ],
            2,
        )
    }
}

impl Experiment for TrainRunConfig {
    const KIND: &'static str = "train";

    const PRESETS: &'static [Preset] = &[Preset {
        name: "train",
        toml: preset_toml!("train"),
        listed: 10,
        reproduce: None,
    }];

    fn validate(&self) -> Result<()> {
        self.data().validate()?;
        self.train_config().map(|_| ())
    }

    fn resolve(&mut self) -> Result<()> {
        self.resolve_data()
    }

    fn quick(&mut self) {
        self.depth = self.depth.min(100);
        self.epochs = 1;
        self.train_samples = Some(self.train_samples.unwrap_or(usize::MAX).min(2000));
        self.test_samples = Some(self.test_samples.unwrap_or(usize::MAX).min(1000));
    }

    fn footprint(&self) -> Result<Footprint> {
        let cfg = self.train_config()?;
        let (l, d) = (cfg.depth, cfg.width);
        let checkpoints = if self.save {
            bytes(8, &[l, d, d]).saturating_add(bytes(8, &[l, d]))
        } else {
            0
        };
        Ok(
            training_footprint(Footprint::default(), &cfg, &self.data(), 1)
                .disk("epochs", "metrics.csv", bytes(128, &[cfg.epochs]))
                .disk("depth", "the two checkpoints", checkpoints)
                .disk("epochs", "the figures", 4 << 20),
        )
    }

    type Summary = serde_json::Value;

    fn run(&self, ctx: &RunContext) -> Result<serde_json::Value> {
        let cfg = self.train_config()?;
        let data = self.data().load(ctx.progress)?;
        let cfg = effective(cfg, &data);
        let mut csv = Appender::<EpochRow>::create(&ctx.path("metrics.csv"))?;
        let mut write_error = None;
        let start = Instant::now();
        let mut on_epoch = |m: &EpochMetrics| {
            let written = csv.push(&EpochRow::new(&cfg, m)).and_then(|()| csv.flush());
            if let (Err(e), None) = (written, &write_error) {
                write_error = Some(e);
            }
        };
        let out = with_backend!(&ctx.backend, be => {
            train_on(be.clone(), &cfg, &data, ctx.progress, &mut on_epoch)
        })?;
        let seconds = start.elapsed().as_secs_f64();
        if let Some(e) = write_error {
            return Err(e);
        }
        csv.sync()?;
        self.plot(ctx, &cfg, &data, &out)?;
        let checkpoints = if self.save {
            save_pair(&ctx.dir, "", &cfg, &data.name, &out)?
        } else {
            Vec::new()
        };
        let stats = RunStats::of(&out.metrics, out.diverged);
        let steps = stats.epochs_run * data.n_train().div_ceil(cfg.batch_size);
        let epoch_seconds: f64 = out.metrics[..stats.epochs_run]
            .iter()
            .map(|m| m.seconds)
            .sum();
        Ok(serde_json::json!({
            "dataset": data.name,
            "n_train": data.n_train(),
            "n_test": data.n_test(),
            "n_features": data.n_features,
            "n_classes": data.n_classes,
            "init_v": cfg.init_v.to_string(),
            "diverged": out.diverged,
            "epochs_run": stats.epochs_run,
            "final_test_accuracy": num(stats.last_or_nan(|m| m.test_accuracy)),
            "final_test_loss": num(stats.last_or_nan(|m| m.test_loss)),
            "final_train_loss": num(stats.last_or_nan(|m| m.train_loss)),
            "best_test_accuracy": num(stats.best.map_or(f64::NAN, |m| m.test_accuracy)),
            "best_epoch": stats.best.map(|m| m.epoch),
            "train_seconds": seconds,
            "steps": steps,
            "steps_per_second": num(steps as f64 / epoch_seconds),
            "checkpoints": checkpoints,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::experiment::data_source::BUNDLED;
    use crate::experiment::{RunOptions, run_kind};
    use crate::progress::Silent;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_are_the_papers_protocol_on_the_bundled_set() {
        let cfg: TrainRunConfig = crate::experiment::runner::typed(toml::Table::new()).unwrap();
        assert_eq!(cfg.dataset, BUNDLED);
        assert_eq!(cfg.train_config().unwrap(), TrainConfig::default());
        cfg.validate().unwrap();
    }

    #[test]
    fn training_presets_type_and_validate() {
        let load = |name: &str| -> toml::Table {
            let mut t: toml::Table =
                toml::from_str(crate::experiment::preset(name).unwrap().toml).unwrap();
            t.remove("kind");
            t
        };
        let train: TrainRunConfig = crate::experiment::runner::typed(load("train")).unwrap();
        train.validate().unwrap();
        assert_eq!(train.train_config().unwrap(), TrainConfig::default());
        let fig8: crate::experiment::WeightsConfig =
            crate::experiment::runner::typed(load("fig8")).unwrap();
        fig8.validate().unwrap();
        assert_eq!(fig8.models.len(), 3);
        let fig9: crate::experiment::SweepConfig =
            crate::experiment::runner::typed(load("fig9")).unwrap();
        fig9.validate().unwrap();
        let n = |g: &crate::experiment::Grid| g.values("g").unwrap().len();
        assert_eq!(
            n(&fig9.lr) * n(fig9.hurst.as_ref().unwrap()) * n(&fig9.beta),
            500
        );
    }

    #[test]
    fn data_fields_are_checked() {
        let err = |t: &str| {
            let cfg: TrainRunConfig = crate::experiment::runner::typed(table(t)).unwrap();
            match cfg.validate() {
                Err(Error::Config { field, .. }) => field,
                other => panic!("{t}: {other:?}"),
            }
        };
        assert_eq!(err("dataset = \"mnist\""), "data_dir");
        assert_eq!(
            err("dataset = \"mnist\"\ndata_dir = \"/no/such/dir\""),
            "data_dir"
        );
        assert_eq!(err("data_dir = \"/tmp\""), "data_dir");
        assert_eq!(err("dataset = \"imagenet\""), "dataset");
        assert_eq!(err("train_samples = 0"), "train_samples");
        // an init law is parsed (and checked) with the config itself
        let bad_law =
            crate::experiment::runner::typed::<TrainRunConfig>(table("init_v = \"fbm(1.5)\""));
        assert!(matches!(bad_law, Err(Error::Config { field, .. }) if field == "init_v"));
        assert_eq!(err("depth = 0"), "depth");
    }

    #[test]
    fn a_small_run_writes_metrics_figure_and_loadable_checkpoints() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        let t = table(
            "depth = 40\nwidth = 12\nepochs = 2\nlr = 0.01\ntrain_samples = 600\ntest_samples = 300\nsave = true",
        );
        let opts = RunOptions {
            out: Some(out.clone()),
            ..Default::default()
        };
        let report = run_kind("train", "t", t, &opts, &Silent).unwrap();
        let r = &report.summary["results"];
        assert_eq!(r["n_train"], 600);
        assert_eq!(r["epochs_run"], 2);
        assert_eq!(r["steps"], 2 * 5);
        assert_eq!(r["diverged"], false);
        // 600 digits, 2 epochs: far better than chance (0.1)
        assert!(r["final_test_accuracy"].as_f64().unwrap() > 0.5, "{r}");
        let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "epoch,lr,train_loss,test_loss,test_accuracy,seconds"
        );
        assert_eq!(lines.len(), 3);
        assert!(lines[2].starts_with("2,0.01,"), "{}", lines[2]);
        for f in [
            "training.png",
            "training.svg",
            "config.toml",
            "summary.json",
        ] {
            assert!(out.join(f).is_file(), "{f}");
        }
        let (net, meta) = crate::train::load_checkpoint(&out.join("model.safetensors")).unwrap();
        let (init, _) = crate::train::load_checkpoint(&out.join("initial.safetensors")).unwrap();
        assert_eq!(meta.beta, 0.5);
        assert_eq!(meta.extra["state"], "trained");
        assert_eq!(net.dims.depth, 40);
        assert_ne!(net.params.v, init.params.v);
        // the saved network reproduces the reported accuracy
        let data = DataSource {
            dataset: BUNDLED,
            data_dir: None,
            train_samples: None,
            test_samples: Some(300),
        }
        .load(&Silent)
        .unwrap();
        let alpha = crate::train::residual_scale(40, 0.5) as f32;
        let (_, acc) =
            crate::train::evaluate(&net, alpha, &data.test_images, &data.test_labels, 784);
        assert_eq!(acc, r["final_test_accuracy"].as_f64().unwrap());
    }

    #[test]
    fn gradient_methods_train_and_checkpoint_equals_backprop() {
        let tmp = tempfile::tempdir().unwrap();
        let mut acc = Vec::new();
        for method in ["backprop", "checkpoint", "adjoint"] {
            let out = tmp.path().join(method);
            let t = table(&format!(
                "depth = 50\nwidth = 10\nepochs = 1\nlr = 0.01\ntrain_samples = 400\ntest_samples = 200\ngradient = \"{method}\""
            ));
            let opts = RunOptions {
                out: Some(out.clone()),
                ..Default::default()
            };
            let report = run_kind("train", "t", t, &opts, &Silent).unwrap();
            let r = &report.summary["results"];
            acc.push(r["final_test_accuracy"].as_f64().unwrap());
            let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
            // the default stays out of written configs (older runs' configs are unchanged)
            assert_eq!(
                config.contains("gradient"),
                method != "backprop",
                "{config}"
            );
        }
        assert_eq!(
            acc[0], acc[1],
            "checkpointing is back-propagation bit for bit"
        );
        // far above chance (0.1), close to the exact gradient's run (measured: 0.46, 0.46, 0.42)
        assert!(acc[2] > 0.3 && (acc[2] - acc[0]).abs() < 0.1, "{acc:?}");
        let bad = crate::experiment::runner::typed::<TrainRunConfig>(table("gradient = \"tape\""));
        assert!(
            matches!(&bad, Err(Error::Config { field, .. }) if field == "gradient"),
            "{bad:?}"
        );
    }

    #[test]
    fn a_diverging_run_is_recorded_with_its_last_finite_metrics() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        let t = table(
            "depth = 40\nwidth = 8\nepochs = 2\nbeta = -2.0\ntrain_samples = 200\ntest_samples = 100",
        );
        let opts = RunOptions {
            out: Some(out.clone()),
            ..Default::default()
        };
        let report = run_kind("train", "t", t, &opts, &Silent).unwrap();
        let r = &report.summary["results"];
        assert_eq!(r["diverged"], true);
        assert_eq!(r["epochs_run"], 0);
        assert!(r["final_test_accuracy"].is_null());
        let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
        assert!(csv.lines().nth(1).unwrap().contains(",nan,"), "{csv}");
    }
}
