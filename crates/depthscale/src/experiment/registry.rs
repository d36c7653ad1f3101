//! The registry: every experiment kind, registered once in [`REGISTRY`].
//!
//! A kind is a type implementing [`Experiment`]; everything about it (its `kind` name, config,
//! presets, run, claims) is declared there. The runner's dispatch, [`KINDS`], the preset table
//! ([`super::PRESETS`]), `depthscale reproduce`'s plan and the claims are loops over this list:
//! adding a kind is its module plus one line below.

use super::reproduce::Claim;
use super::runner::{self, RunOptions, RunReport, Shape};
use super::{
    AdjointConfig, CoordCheckConfig, Experiment, FbmPathsConfig, ImplicitRegConfig, LimitConfig,
    OdeAfterTrainingConfig, Preset, ProbeConfig, SweepConfig, TrainRunConfig, TransferConfig,
    WeightsConfig,
};
use crate::budget::Footprint;
use crate::progress::Progress;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Every experiment kind, in the order of [`KINDS`]: one line per kind.
pub(crate) const REGISTRY: &[Kind] = &[
    Kind::of::<ProbeConfig>(),
    Kind::of::<FbmPathsConfig>(),
    Kind::of::<TrainRunConfig>(),
    Kind::of::<SweepConfig>(),
    Kind::of::<WeightsConfig>(),
    Kind::of::<LimitConfig>(),
    Kind::of::<OdeAfterTrainingConfig>(),
    Kind::of::<ImplicitRegConfig>(),
    Kind::of::<CoordCheckConfig>(),
    Kind::of::<TransferConfig>(),
    Kind::of::<AdjointConfig>(),
];

/// The experiment kinds, as accepted by `kind = "..."` (the names of [`REGISTRY`], in order).
pub const KINDS: &[&str] = &KIND_NAMES;

const KIND_NAMES: [&str; REGISTRY.len()] = {
    let mut names = [""; REGISTRY.len()];
    let mut i = 0;
    while i < REGISTRY.len() {
        names[i] = REGISTRY[i].name;
        i += 1;
    }
    names
};

/// The arguments of a merge that the runner has checked ([`super::merge_checked`]).
pub(crate) struct MergeJob<'a> {
    /// The inputs' common `config.toml` text.
    pub text: &'a str,
    /// Its table, without `kind`.
    pub body: toml::Table,
    /// The input directories.
    pub inputs: &'a [PathBuf],
    /// The normalized output directory.
    pub out: &'a Path,
    /// Force, limits and backend.
    pub opts: &'a RunOptions,
    /// Whether a result with missing cells is accepted.
    pub allow_partial: bool,
}

/// One registered kind: its name, its presets, and the runner's and the claims' entry points
/// monomorphised for its config type (built by [`Kind::of`]).
#[derive(Clone, Copy)]
pub(crate) struct Kind {
    /// The value of `kind` that selects it ([`Experiment::KIND`]).
    pub name: &'static str,
    /// Its presets ([`Experiment::PRESETS`]).
    pub presets: &'static [Preset],
    /// The footprint of a table (without `kind`) run with these options.
    pub check: fn(toml::Table, &RunOptions) -> Result<Footprint>,
    /// The resolved `config.toml` of a named table, and whether the kind resumes in place.
    pub resolved: fn(&str, toml::Table, &RunOptions) -> Result<(String, bool)>,
    /// The [`Shape`] of a named table.
    pub shape: fn(&str, toml::Table, &RunOptions) -> Result<Shape>,
    /// Runs a named table.
    pub run: fn(&str, toml::Table, &RunOptions, &dyn Progress) -> Result<RunReport>,
    /// Merges checked inputs.
    pub merge: fn(MergeJob<'_>, &dyn Progress) -> Result<RunReport>,
    /// The claims on a run of one of its presets, from the `results` object of its
    /// `summary.json` read back as the kind's typed summary ([`Experiment::claims`]).
    pub claims: fn(&str, &Path, &serde_json::Value, bool) -> Result<Vec<Claim>>,
}

impl Kind {
    /// The registration of the experiment type `E`.
    pub const fn of<E: Experiment>() -> Kind {
        Kind {
            name: E::KIND,
            presets: E::PRESETS,
            check: runner::check_typed::<E>,
            resolved: runner::resolved_typed::<E>,
            shape: runner::shape_typed::<E>,
            run: runner::run_typed::<E>,
            merge: runner::merge_typed::<E>,
            claims: super::reproduce::claims::claims_of_json::<E>,
        }
    }
}

/// The kind called `name`, or the error that lists the accepted ones.
pub(crate) fn kind(name: &str) -> Result<&'static Kind> {
    REGISTRY.iter().find(|k| k.name == name).ok_or_else(|| {
        Error::config(
            "kind",
            format!(
                "unknown experiment kind {name:?}; accepted: {}",
                KINDS.join(", ")
            ),
        )
    })
}

/// The kind that registers the preset called `preset`, and the preset.
pub(crate) fn preset_kind(preset: &str) -> Option<(&'static Kind, &'static Preset)> {
    REGISTRY
        .iter()
        .find_map(|k| k.presets.iter().find(|p| p.name == preset).map(|p| (k, p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::reproduce::plan;
    use crate::experiment::{ConfigSource, PRESETS};
    use std::collections::BTreeSet;

    /// Issue 26, part 2: a broken registration fails here. Every kind has a unique name (the
    /// one [`KINDS`] lists, in order) and at least one preset; every preset is registered by
    /// the kind its TOML names, once, and resolves, types and validates through the runner's
    /// dispatch; listing and report places are unique; the reproduction's plan holds exactly
    /// the presets with a `reproduce` entry, and each of them has claims (a kind left with the
    /// default, no claims, fails).
    #[test]
    fn every_registered_kind_is_unique_resolvable_and_planned() {
        let names: Vec<&str> = REGISTRY.iter().map(|k| k.name).collect();
        assert_eq!(names, KINDS);
        assert_eq!(
            names.iter().collect::<BTreeSet<_>>().len(),
            names.len(),
            "{names:?}"
        );
        let (mut seen, mut listed, mut places) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for k in REGISTRY {
            assert!(!k.presets.is_empty(), "{} registers no preset", k.name);
            assert_eq!(kind(k.name).unwrap().name, k.name);
            for p in k.presets {
                assert!(seen.insert(p.name), "preset {} registered twice", p.name);
                assert!(listed.insert(p.listed), "{}: listed place taken", p.name);
                let t: toml::Table = toml::from_str(p.toml).unwrap();
                assert_eq!(
                    t.get("kind").and_then(toml::Value::as_str),
                    Some(k.name),
                    "preset {} is registered by {} but its TOML names another kind",
                    p.name,
                    k.name
                );
                let (owner, _) = preset_kind(p.name).unwrap();
                assert_eq!(owner.name, k.name);
                let source = ConfigSource::resolve(p.name).unwrap();
                super::super::check(source, &RunOptions::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", p.name));
                if let Some(r) = p.reproduce {
                    assert!(places.insert(r.place), "{}: report place taken", p.name);
                    // the claims of an empty summary: one "missing" claim, or an error
                    // reading the tables; never none at all
                    let out = (k.claims)(
                        p.name,
                        Path::new("/nonexistent"),
                        &serde_json::json!({}),
                        true,
                    );
                    assert!(
                        !matches!(&out, Ok(c) if c.is_empty()),
                        "{} is reproduced but its kind {} has no claims for it",
                        p.name,
                        k.name
                    );
                }
            }
        }
        assert_eq!(PRESETS.len(), seen.len());
        let planned: BTreeSet<&str> = plan::plan(None, true, None, None)
            .unwrap()
            .iter()
            .map(|e| e.preset)
            .collect();
        let reproduced: BTreeSet<&str> = REGISTRY
            .iter()
            .flat_map(|k| k.presets)
            .filter(|p| p.reproduce.is_some())
            .map(|p| p.name)
            .collect();
        assert_eq!(planned, reproduced);
        assert!(kind("no-such-kind").is_err());
    }
}
