//! `depthscale reproduce`: every experiment of the paper, its claims checked, one report.
//!
//! Four stages, each reading only what the one before wrote:
//! 1. plan ([`plan`]): the presets to run, at the paper's size or reduced (`--quick`), with
//!    their `--set` overrides;
//! 2. run: each experiment through the normal runner into `DIR/<preset>/` (staging, marker,
//!    lock: [`super::output`]), skipped when that directory is already complete with the
//!    same resolved config (a rerun with the same `--out` resumes);
//! 3. claims ([`claims`]): each claim of the paper checked on the experiments' `summary.json`
//!    and CSV tables;
//! 4. report ([`html`]): `DIR/report.html` (one self-contained file) and `DIR/summary.json`
//!    (every claim row), written atomically, the summary last.
//!
//! `DIR` itself is claimed like a resumable run's directory ([`super::output::Output::in_place`]):
//! created with its marker and locked, resumed when its `config.toml` (the mode and dataset)
//! matches, refused when it is a foreign non-empty directory.

pub mod claims;
pub mod html;
pub mod plan;

use super::output::{self, Output, Protected};
use super::{ConfigSource, RunOptions};
use crate::budget::Limits;
use crate::progress::Progress;
use crate::{Error, Result};
pub use claims::{Claim, Expected};
pub use plan::{Entry, preset_names};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// How to run a reproduction.
#[derive(Clone, Debug, Default)]
pub struct ReproduceOptions {
    /// Reduced sizes (the whole report in under two minutes on two cores).
    pub quick: bool,
    /// Output directory.
    pub out: PathBuf,
    /// Run only these presets (report order is kept).
    pub only: Option<Vec<String>>,
    /// Dataset name and directory for the training presets (fig8, fig9).
    pub data: Option<(String, String)>,
    /// Start over: empty `out` (only a directory depthscale created) instead of resuming.
    pub force: bool,
    /// The memory and disk each run may use; `None`: detect them.
    pub limits: Option<Limits>,
}

/// One experiment of a finished reproduction.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// What was run.
    pub entry: Entry,
    /// Its output directory.
    pub dir: PathBuf,
    /// Its `summary.json`.
    pub summary: serde_json::Value,
    /// Its resolved `config.toml`.
    pub config: String,
    /// Whether it was already complete and skipped.
    pub skipped: bool,
    /// The claims checked on it.
    pub claims: Vec<Claim>,
}

/// What a reproduction produced.
#[derive(Clone, Debug)]
pub struct ReproduceReport {
    /// The output directory (holding `report.html` and `summary.json`).
    pub dir: PathBuf,
    /// Every experiment, in report order.
    pub outcomes: Vec<Outcome>,
    /// Wall time of this invocation, seconds.
    pub seconds: f64,
}

impl ReproduceReport {
    /// Every claim, in report order.
    pub fn claims(&self) -> impl Iterator<Item = &Claim> {
        self.outcomes.iter().flat_map(|o| &o.claims)
    }
}

fn top_config(quick: bool, data: Option<&(String, String)>) -> String {
    let mut t = toml::Table::new();
    t.insert("kind".into(), toml::Value::String("reproduce".into()));
    t.insert("quick".into(), toml::Value::Boolean(quick));
    if let Some((name, dir)) = data {
        t.insert("dataset".into(), toml::Value::String(name.clone()));
        t.insert("data_dir".into(), toml::Value::String(dir.clone()));
    }
    format!(
        "# depthscale reproduce{}: one subdirectory per experiment, report.html, summary.json.\n{}",
        if quick { " --quick" } else { "" },
        toml::to_string(&t).expect("a table of strings and booleans serializes")
    )
}

/// Runs the plan, checks the claims and writes `report.html` and `summary.json`.
pub fn reproduce(opts: &ReproduceOptions, progress: &dyn Progress) -> Result<ReproduceReport> {
    let start = Instant::now();
    let data = opts.data.as_ref().map(|(n, d)| (n.as_str(), d.as_str()));
    let entries = plan::plan(opts.only.as_deref(), opts.quick, data)?;
    let dir = output::normalize("--out", &opts.out)?;
    let config_text = top_config(opts.quick, opts.data.as_ref());
    let (out, resuming) = Output::in_place(&dir, opts.force, &config_text, &Protected::standard())?;
    if !resuming {
        output::write_atomic(&dir.join("config.toml"), &config_text)?;
    }
    let weight = |e: &Entry| (e.seconds * 1000.0).ceil().max(1.0) as u64;
    progress.start("reproducing", entries.iter().map(weight).sum());
    let n = entries.len();
    let mut outcomes = Vec::with_capacity(n);
    for (i, entry) in entries.into_iter().enumerate() {
        let label = format!("{}/{n} {}", i + 1, entry.preset);
        let child = Child::new(progress, &label, weight(&entry));
        // errors name the experiment's directory DIR/<preset>
        let outcome = run_entry(entry, &dir, opts, &child)?;
        child.complete();
        outcomes.push(outcome);
    }
    progress.finish();
    let report = ReproduceReport {
        dir: dir.clone(),
        outcomes,
        seconds: start.elapsed().as_secs_f64(),
    };
    output::write_atomic(&dir.join("report.html"), html::render(&report)?)?;
    output::write_atomic(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary_json(&report, opts.quick))
            .expect("json values serialize"),
    )?;
    out.commit()?;
    Ok(report)
}

/// `summary.json`: every claim row, the experiments' directories and times.
pub fn summary_json(report: &ReproduceReport, quick: bool) -> serde_json::Value {
    let claims: Vec<_> = report.claims().map(Claim::json).collect();
    let agree = report.claims().filter(|c| c.agrees()).count();
    serde_json::json!({
        "depthscale_version": env!("CARGO_PKG_VERSION"),
        "kind": "reproduce",
        "quick": quick,
        "seconds": report.seconds,
        "claims_total": claims.len(),
        "claims_agreeing": agree,
        "claims": claims,
        "experiments": report.outcomes.iter().map(|o| serde_json::json!({
            "preset": o.entry.preset,
            "dir": o.entry.preset,
            "seconds": o.summary["seconds"],
            "skipped": o.skipped,
            "reduced_size": o.entry.reduced(),
            "command": o.entry.command(o.entry.preset),
        })).collect::<Vec<_>>(),
    })
}

/// Whether `dir` holds a complete run whose `config.toml` equals `config` (as TOML).
fn complete(dir: &Path, config: &str) -> bool {
    if !(output::has_marker(dir) && dir.join("summary.json").is_file()) {
        return false;
    }
    let Ok(old) = super::config::read_toml(&dir.join("config.toml")) else {
        return false;
    };
    toml::from_str::<toml::Table>(config).is_ok_and(|new| old == new)
}

fn run_entry(
    entry: Entry,
    root: &Path,
    opts: &ReproduceOptions,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let dir = root.join(entry.preset);
    let run_opts = RunOptions {
        overrides: entry.overrides.clone(),
        quick: entry.runner_quick,
        out: Some(dir.clone()),
        force: false,
        shard: None,
        limits: opts.limits.clone(),
    };
    let config = super::resolved_config(ConfigSource::resolve(entry.preset)?, &run_opts)?;
    let skipped = complete(&dir, &config);
    let summary = if skipped {
        let text = super::config::read_text(&dir.join("summary.json"))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::data(dir.join("summary.json"), e.to_string()))?
    } else {
        super::run(ConfigSource::resolve(entry.preset)?, &run_opts, progress)?.summary
    };
    let claims = claims::claims(entry.preset, &dir, &summary, entry.reduced())?;
    Ok(Outcome {
        entry,
        dir,
        summary,
        config,
        skipped,
        claims,
    })
}

/// Maps one experiment's phases onto its share (`weight` units) of the overall progress.
struct Child<'a> {
    outer: &'a dyn Progress,
    label: &'a str,
    weight: u64,
    state: Mutex<ChildState>,
}

#[derive(Default)]
struct ChildState {
    phase: String,
    total: u64,
    done: u64,
    credited: u64,
}

impl<'a> Child<'a> {
    fn new(outer: &'a dyn Progress, label: &'a str, weight: u64) -> Self {
        outer.note(label);
        Self {
            outer,
            label,
            weight,
            state: Mutex::default(),
        }
    }

    /// Credits what is left of the experiment's share.
    fn complete(&self) {
        let mut s = self.state.lock().expect("progress state");
        self.outer.advance(self.weight.saturating_sub(s.credited));
        s.credited = self.weight;
    }
}

impl Progress for Child<'_> {
    fn start(&self, message: &str, total: u64) {
        let mut s = self.state.lock().expect("progress state");
        s.phase = message.to_owned();
        s.total = total;
        s.done = 0;
        self.outer.note(&format!("{}: {message}", self.label));
    }

    fn advance(&self, units: u64) {
        let mut s = self.state.lock().expect("progress state");
        s.done = s.done.saturating_add(units);
        let frac = s.done as f64 / s.total.max(1) as f64;
        let target = ((self.weight as f64 * 0.95 * frac.min(1.0)) as u64).min(self.weight);
        if target > s.credited {
            self.outer.advance(target - s.credited);
            s.credited = target;
        }
    }

    fn note(&self, message: &str) {
        let s = self.state.lock().expect("progress state");
        self.outer
            .note(&format!("{}: {}: {message}", self.label, s.phase));
    }

    fn cancelled(&self) -> bool {
        self.outer.cancelled()
    }
}
