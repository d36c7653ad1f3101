//! Experiments: configuration, presets, the runner and outputs.
//!
//! An experiment is a TOML table with a `kind` and the kind's fields. The runner resolves a
//! preset or file, applies `--set` overrides and `--quick`, validates, writes `config.toml`,
//! runs the experiment into a staging directory, writes `summary.json` and only then moves the
//! directory to its final name: an output directory without `.partial` is always complete.
//!
//! To add an experiment: write a config struct implementing [`Experiment`] in a module of its
//! own, add its `kind` to [`run_kind`]'s match, and ship a preset in `presets/`.

mod config;
mod context;
mod fbm_paths;
mod grid;
mod init_probe;
mod limit;
mod presets;
mod runner;
mod sweep;
mod train_run;
mod weights;

pub use config::{ConfigSource, apply_override};
pub use context::{CsvOut, RunContext, cell};
pub use fbm_paths::FbmPathsConfig;
pub use grid::Grid;
pub use init_probe::ProbeConfig;
pub use limit::LimitConfig;
pub use presets::{PRESETS, Preset, preset};
pub use runner::{RunOptions, RunReport, parse_shard, run, run_kind};
pub use sweep::{SweepConfig, merge};
pub use train_run::{DataSource, TrainRunConfig};
pub use weights::{WeightsConfig, WeightsModel};

use crate::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One kind of experiment: its config schema and how to run it.
pub trait Experiment: Serialize + DeserializeOwned {
    /// The value of `kind` in a config that selects this experiment.
    const KIND: &'static str;
    /// Checks every field, naming the field and the accepted range in the error.
    fn validate(&self) -> Result<()>;
    /// Shrinks the experiment to a smoke size that finishes in a few seconds.
    fn quick(&mut self);
    /// Runs the experiment, writing its files into `ctx.dir`; returns the kind-specific part of
    /// `summary.json`.
    fn run(&self, ctx: &RunContext) -> Result<serde_json::Value>;
    /// Whether the experiment can resume an interrupted run. The runner then writes straight
    /// into the output directory (no staging) and accepts an existing one whose `config.toml`
    /// equals the new resolved config; the experiment skips the work already recorded there.
    fn resumable(&self) -> bool {
        false
    }
    /// Whether the experiment honours [`RunContext::shard`] (`--shard i/n`); the runner refuses
    /// a shard for an experiment that does not.
    fn shardable(&self) -> bool {
        false
    }
}
