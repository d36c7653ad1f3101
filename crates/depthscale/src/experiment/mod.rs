//! Experiments: configuration, presets, the runner and outputs.
//!
//! An experiment is a TOML table with a `kind` and the kind's fields. The runner resolves a
//! preset or file, applies `--set` overrides and `--quick`, validates, checks the run's
//! estimated memory and disk ([`Experiment::footprint`]) against the machine, claims and locks
//! the output directory ([`output`]), writes `config.toml`, runs the experiment into a staging
//! directory, writes `summary.json` and only then moves the directory to its final name: an
//! output directory without `.partial` is always complete.
//!
//! To add an experiment: write a config struct implementing [`Experiment`] in a module of its
//! own (config, presets, run, summary, claims; `fbm_paths.rs` is the pattern), and register it
//! with one line in `registry.rs` (ARCHITECTURE.md, "Add an experiment").

mod adjoint_study;
#[cfg(test)]
mod backend_tests;
pub mod cells;
mod config;
mod context;
mod coord_check;
pub(crate) mod data_source;
mod depth_train;
mod fbm_paths;
#[cfg(test)]
mod figure_review;
#[cfg(test)]
mod footprint_tests;
mod grid;
mod implicit_reg;
mod init_probe;
mod law_spec;
mod limit;
mod ode_after_training;
pub mod output;
pub mod parameterization;
mod presets;
mod registry;
pub mod reproduce;
mod runner;
pub mod store;
pub mod summary;
mod sweep;
mod train_run;
mod training;
mod transfer;
mod weights;

pub use adjoint_study::AdjointConfig;
pub use config::{ConfigSource, apply_override};
pub use context::{RunContext, cell};
pub use coord_check::CoordCheckConfig;
pub use fbm_paths::FbmPathsConfig;
pub use grid::Grid;
pub use implicit_reg::ImplicitRegConfig;
pub use init_probe::{ProbeConfig, ProbeTable};
pub use law_spec::LawSpec;
pub use limit::LimitConfig;
pub use ode_after_training::{OdeAfterTrainingConfig, every_other_layer};
pub use presets::{PRESETS, Preset, Reproduce, preset, similar_presets, unknown_preset_hint};
pub use registry::KINDS;
pub use runner::{
    RunOptions, RunReport, Shape, check, merge, merge_checked, merge_with, parse_shard,
    resolved_config, run, run_kind, shape, typed, utc_timestamp,
};
pub use sweep::SweepConfig;
pub use train_run::{DataSource, TrainRunConfig};
pub use transfer::TransferConfig;
pub use weights::{WeightsConfig, WeightsModel};

use crate::budget::Footprint;
use crate::{Error, Result};
use reproduce::Claim;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// One kind of experiment: everything about it. Its config schema (the type itself, typed from
/// TOML by serde), its presets, how to check and run it, and the claims `depthscale reproduce`
/// checks on its output. A kind is registered once, in `registry.rs`.
pub trait Experiment: Serialize + DeserializeOwned {
    /// The value of `kind` in a config that selects this experiment.
    const KIND: &'static str;
    /// Its shipped presets (TOML whose `kind` is [`Self::KIND`]; see [`Preset`]), with their
    /// entries in `depthscale reproduce` ([`Reproduce`]).
    const PRESETS: &'static [Preset];
    /// The claims `depthscale reproduce` checks on the output of its preset `preset` (one with a
    /// [`Reproduce`] entry): `summary` is the `results` object of its `summary.json` read back
    /// as the typed [`Self::Summary`] (a missing, null or renamed field never reaches here: it
    /// fails one claim as "missing"), `dir` its output directory (for its tables), `reduced`
    /// whether it ran below the paper's settings. The default: none.
    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        let _ = (preset, dir, summary, reduced);
        Ok(Vec::new())
    }
    /// Checks every field, naming the field and the accepted range in the error.
    fn validate(&self) -> Result<()>;
    /// Shrinks the experiment to a smoke size that finishes in a few seconds.
    fn quick(&mut self);
    /// Resolves what the config refers to outside itself, before it is validated and recorded
    /// in `config.toml`: a data directory made absolute and the fingerprint of its data (see
    /// `data_source::resolve`). The default has nothing to resolve.
    fn resolve(&mut self) -> Result<()> {
        Ok(())
    }
    /// The run's estimated peak memory and the bytes it writes, from the validated config
    /// (with the current rayon thread count); the runner refuses a run over the machine's
    /// limits before anything is allocated. Sizes are computed with saturating arithmetic
    /// ([`crate::budget::bytes`]) and each need names the field to shrink.
    fn footprint(&self) -> Result<Footprint>;
    /// Its typed summary: the kind-specific part of `summary.json` ("results"), whose fields
    /// the claims read ([`summary`]; a JSON value for a kind whose summary no claim reads),
    /// written by the runner and read back, typed, by [`Self::claims`].
    type Summary: Serialize + DeserializeOwned;
    /// Runs the experiment, writing its files into `ctx.dir`; returns its typed summary.
    fn run(&self, ctx: &RunContext) -> Result<Self::Summary>;
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
    /// The number of cells of a shardable experiment's grid (shard `i` of `n` runs the cells
    /// whose index is `i` modulo `n`); `None` for the others. Executors read it to count
    /// a shard's progress.
    fn cells(&self) -> Result<Option<usize>> {
        Ok(None)
    }
    /// Joins the records of `inputs` (output directories of runs of this same config, e.g.
    /// its shards) into `ctx.dir`; returns its typed summary. The runner
    /// ([`merge`]) checks the inputs and the output directory and calls it only for shardable
    /// experiments, which must implement it.
    fn merge(&self, inputs: &[PathBuf], ctx: &RunContext) -> Result<Self::Summary> {
        let _ = (inputs, ctx);
        Err(Error::config(
            "merge",
            format!("experiments of kind {:?} cannot be merged", Self::KIND),
        ))
    }
}
