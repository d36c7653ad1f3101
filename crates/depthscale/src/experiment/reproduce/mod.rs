//! `depthscale reproduce`: every experiment of the paper, its claims checked, one report.
//!
//! Four stages, each reading only what the one before wrote:
//! 1. plan ([`plan`]): the presets to run, at the paper's size or reduced (`--quick`), with
//!    their `--set` overrides; every preset's resolved config is computed (and so validated,
//!    `--data` included) and every planned experiment's directory checked ([`dirs`]) before
//!    anything is written;
//! 2. run: each experiment through the normal runner into `DIR/<preset>/` (staging, marker,
//!    lock: [`super::output`]), skipped when that directory is already complete with the
//!    same resolved config (a rerun with the same `--out` resumes); a stale or corrupt one is
//!    refused unless `--redo` names it, which replaces just that directory;
//! 3. claims ([`claims`]): each claim of the paper checked on the `summary.json` and CSV
//!    tables of every complete experiment of `DIR` whose `config.toml` is the one the plan
//!    expects (those run this time and those of earlier invocations, e.g. other `--only`
//!    subsets), each held under a shared lock; any other experiment directory is listed as
//!    excluded, with why;
//! 4. report ([`html`]): `DIR/report.html` (one self-contained file, embedding only the
//!    figures each experiment recorded) and `DIR/summary.json` (every claim row), written
//!    atomically, the summary last.
//!
//! `DIR` itself is claimed like a resumable run's directory ([`super::output::Output::in_place`]):
//! created with its marker and locked for the whole reproduction, resumed when its
//! `config.toml` (the mode and dataset) matches, refused when it is a foreign non-empty
//! directory. While it is locked, a run of another process into `DIR/<anything>` is refused
//! ([`dirs::refuse_inside_running`]).

pub mod claims;
pub mod dirs;
pub mod html;
pub mod plan;

use super::output::{self, DirLock, Output, Protected};
use super::{ConfigSource, RunOptions};
use crate::Result;
use crate::budget::Limits;
use crate::executor::Executor;
use crate::executor::slurm::{self, ArrayJob, Finished, ShardedJob, SlurmOptions, Task};
use crate::progress::Progress;
pub use claims::{Claim, Expected};
pub use dirs::refuse_inside_running;
use dirs::{Action, State};
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
    /// Replace these experiments' directories (only directories depthscale created) and run
    /// them again; they run even when `only` leaves them out.
    pub redo: Vec<String>,
    /// Dataset name and directory for the training presets (fig8, fig9).
    pub data: Option<(String, String)>,
    /// Start over: empty `out` (only a directory depthscale created) instead of resuming.
    pub force: bool,
    /// The memory and disk each run may use; `None`: detect them.
    pub limits: Option<Limits>,
    /// Where the experiments run: here, or as Slurm jobs (shardable ones as job arrays, the
    /// others as one more array unless `local_rest`); see [`crate::executor`].
    pub executor: Executor,
    /// Every experiment's seed (`None`: each preset's own, 0): checks that the claims hold
    /// for other draws.
    pub seed: Option<u64>,
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
    /// Whether this invocation did not run it (already complete, or not selected).
    pub skipped: bool,
    /// Whether this invocation selected it (`--only`, `--redo`, or every experiment).
    pub selected: bool,
    /// The claims checked on it.
    pub claims: Vec<Claim>,
}

/// An experiment directory of the reproduction left out of the report.
#[derive(Clone, Debug)]
pub struct Excluded {
    /// The experiment.
    pub preset: &'static str,
    /// Its directory.
    pub dir: PathBuf,
    /// Why it is left out (e.g. it holds a run with another config).
    pub reason: String,
}

/// What a reproduction produced.
#[derive(Clone, Debug)]
pub struct ReproduceReport {
    /// The output directory (holding `report.html` and `summary.json`).
    pub dir: PathBuf,
    /// Every complete experiment of the directory, in report order.
    pub outcomes: Vec<Outcome>,
    /// The experiment directories left out of the report, in report order.
    pub excluded: Vec<Excluded>,
    /// Wall time of this invocation, seconds.
    pub seconds: f64,
    /// With Slurm and no waiting: the jobs still pending or running, one line each. The
    /// report was then not written; rerun the same command to finish it.
    pub waiting: Vec<String>,
}

impl ReproduceReport {
    /// Every claim, in report order.
    pub fn claims(&self) -> impl Iterator<Item = &Claim> {
        self.outcomes.iter().flat_map(|o| &o.claims)
    }
}

fn top_config(quick: bool, data: Option<&(String, String)>, seed: Option<u64>) -> String {
    let mut t = toml::Table::new();
    t.insert("kind".into(), toml::Value::String("reproduce".into()));
    t.insert("quick".into(), toml::Value::Boolean(quick));
    if let Some(seed) = seed {
        t.insert(
            "seed".into(),
            toml::Value::Integer(i64::try_from(seed).unwrap_or(i64::MAX)),
        );
    }
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

/// One preset of the reproduction with the config the plan expects of it.
struct Planned {
    entry: Entry,
    config: String,
    resumable: bool,
    selected: bool,
}

impl Planned {
    fn run_options(&self, dir: &Path, force: bool, limits: &Option<Limits>) -> RunOptions {
        RunOptions {
            overrides: self.entry.overrides.clone(),
            quick: self.entry.runner_quick,
            out: Some(dir.join(self.entry.preset)),
            force,
            shard: None,
            limits: limits.clone(),
            ..RunOptions::default()
        }
    }
}

/// Every preset with its resolved config (validating `--only`, `--redo` and the data), and
/// whether this invocation selected it.
fn plan_all(opts: &ReproduceOptions, dir: &Path) -> Result<Vec<Planned>> {
    if let Some(only) = &opts.only {
        plan::check_names("--only", only)?;
    }
    if !opts.redo.is_empty() {
        plan::check_names("--redo", &opts.redo)?;
    }
    let data = opts.data.as_ref().map(|(n, d)| (n.as_str(), d.as_str()));
    let mut out = Vec::new();
    for entry in plan::plan(None, opts.quick, data, opts.seed)? {
        let named = |l: &[String]| l.iter().any(|n| n == entry.preset);
        let selected = opts.only.as_deref().is_none_or(named) || named(&opts.redo);
        let mut p = Planned {
            entry,
            config: String::new(),
            resumable: false,
            selected,
        };
        let source = ConfigSource::resolve(p.entry.preset)?;
        (p.config, p.resumable) =
            super::runner::resolved_and_resumable(source, &p.run_options(dir, false, &None))?;
        out.push(p);
    }
    Ok(out)
}

/// Runs the plan, checks the claims and writes `report.html` and `summary.json`.
pub fn reproduce(opts: &ReproduceOptions, progress: &dyn Progress) -> Result<ReproduceReport> {
    let start = Instant::now();
    let dir = output::normalize("--out", &opts.out)?;
    refuse_inside_running(&dir)?;
    let planned = plan_all(opts, &dir)?;
    let config_text = top_config(opts.quick, opts.data.as_ref(), opts.seed);
    // a directory of this reproduction, resumed: its experiments are checked first
    let resumed = !opts.force && output::has_marker(&dir) && same_top_config(&dir, &config_text)?;
    let mut todo = Vec::new();
    for (i, p) in planned.iter().enumerate().filter(|(_, p)| p.selected) {
        let sub = dir.join(p.entry.preset);
        let action = if !resumed {
            Action::Run
        } else {
            let state = dirs::state(&sub, &p.config, p.resumable)?;
            let redo = opts.redo.iter().any(|n| n == p.entry.preset);
            dirs::action(p.entry.preset, &sub, &state, redo)?
        };
        if action != Action::Reuse {
            todo.push((i, action == Action::Redo));
        }
    }
    let (out, resuming) = Output::in_place(&dir, opts.force, &config_text, &Protected::standard())?;
    let _running = dirs::Running::enter(&dir);
    if !resuming {
        output::write_atomic(&dir.join("config.toml"), &config_text)?;
    }
    let mut ran = Vec::with_capacity(todo.len());
    let mut on_slurm = None;
    if let Executor::Slurm(s) = &opts.executor {
        let on = submit_slurm(s, &dir, &planned, &todo, progress)?;
        if !s.wait && !on.waiting.is_empty() {
            let mut waiting = on.waiting;
            if !on.local.is_empty() {
                waiting.push(format!(
                    "{} experiment(s) to run here (--local-rest) when the same command is run again",
                    on.local.len()
                ));
            }
            return Ok(ReproduceReport {
                dir: dir.clone(),
                outcomes: Vec::new(),
                excluded: Vec::new(),
                seconds: start.elapsed().as_secs_f64(),
                waiting,
            });
        }
        // the local rest runs here while the jobs run
        let submitted = std::mem::replace(&mut todo, on.local.clone());
        on_slurm = Some((on, s, submitted));
    }
    // what runs here (with Slurm: only --local-rest's experiments, while the jobs run)
    let weight = |e: &Entry| (e.seconds * 1000.0).ceil().max(1.0) as u64;
    progress.start(
        "reproducing",
        todo.iter().map(|&(i, _)| weight(&planned[i].entry)).sum(),
    );
    let n = todo.len();
    for (k, &(i, redo)) in todo.iter().enumerate() {
        let p = &planned[i];
        let label = format!("{}/{n} {}", k + 1, p.entry.preset);
        let child = Child::new(progress, &label, weight(&p.entry));
        // errors name the experiment's directory DIR/<preset>
        let run_opts = p.run_options(&dir, redo, &opts.limits);
        super::run(ConfigSource::resolve(p.entry.preset)?, &run_opts, &child)?;
        child.complete();
        ran.push(i);
    }
    progress.finish();
    if let Some((on, s, submitted)) = &on_slurm {
        finish_slurm(on, s, &dir, &planned, submitted, &mut ran, progress)?;
    }
    // the report: every complete experiment of DIR, read back under a shared lock
    let mut locks = Vec::new();
    let mut outcomes = Vec::new();
    let mut excluded = Vec::new();
    for (i, p) in planned.into_iter().enumerate() {
        let sub = dir.join(p.entry.preset);
        match collect(p, &sub, ran.contains(&i), &mut locks) {
            Ok(Some(o)) => outcomes.push(o),
            Ok(None) => {}
            Err((preset, reason)) => excluded.push(Excluded {
                preset,
                dir: sub,
                reason,
            }),
        }
    }
    let report = ReproduceReport {
        dir: dir.clone(),
        outcomes,
        excluded,
        seconds: start.elapsed().as_secs_f64(),
        waiting: Vec::new(),
    };
    output::write_atomic(&dir.join("report.html"), html::render(&report)?)?;
    output::write_atomic(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary_json(&report, opts.quick))
            .expect("json values serialize"),
    )?;
    out.commit()?;
    drop(locks);
    Ok(report)
}

/// The `depthscale` arguments that run `p` (its preset, `--quick`, `--set`s), without `--out`.
fn job_args(p: &Planned) -> Vec<String> {
    let mut a = vec!["run".to_owned(), p.entry.preset.to_owned()];
    if p.entry.runner_quick {
        a.push("--quick".into());
    }
    for o in &p.entry.overrides {
        a.push("--set".into());
        a.push(o.clone());
    }
    a
}

/// The Slurm part of a reproduction, once submitted ([`submit_slurm`]).
struct OnSlurm {
    /// The shardable experiments (plan index, `--redo`, job) and whether each is merged.
    sharded: Vec<(usize, ShardedJob, bool)>,
    /// The other experiments' array, if any, and whether it is done.
    rest: Option<(ArrayJob, bool)>,
    /// The plan indices of the rest array's experiments.
    rest_indices: Vec<usize>,
    /// What runs here (`--local-rest`).
    local: Vec<(usize, bool)>,
    /// Status lines of the jobs not done.
    waiting: Vec<String>,
}

/// Submits every experiment of `todo` to Slurm: each shardable one as a job array merged
/// into `DIR/<preset>`, the others as one more array (each task runs one experiment into
/// `DIR/rest.slurm/runs/<preset>`, moved to `DIR/<preset>` when done) or, with `local_rest`,
/// listed to run here. Jobs already done are merged at once.
fn submit_slurm(
    s: &SlurmOptions,
    dir: &Path,
    planned: &[Planned],
    todo: &[(usize, bool)],
    progress: &dyn Progress,
) -> Result<OnSlurm> {
    let mut on = OnSlurm {
        sharded: Vec::new(),
        rest: None,
        rest_indices: Vec::new(),
        local: Vec::new(),
        waiting: Vec::new(),
    };
    let mut sharded = Vec::new();
    for &(i, redo) in todo {
        let p = &planned[i];
        let shape = super::shape(
            ConfigSource::resolve(p.entry.preset)?,
            &p.run_options(dir, redo, &None),
        )?;
        match shape.cells.filter(|_| shape.shardable) {
            Some(cells) => sharded.push((
                i,
                redo,
                ShardedJob {
                    name: p.entry.preset.to_owned(),
                    args: job_args(p),
                    config: shape.config,
                    cells,
                    out: dir.join(p.entry.preset),
                },
            )),
            None if s.local_rest => on.local.push((i, redo)),
            None => on.rest_indices.push(i),
        }
    }
    let submit = SlurmOptions {
        wait: false,
        ..s.clone()
    };
    for (i, redo, job) in sharded {
        let done = match slurm::run_sharded(&job, &submit, redo, progress)? {
            Finished::Waiting(w) => {
                on.waiting.push(w);
                false
            }
            Finished::Done(_) => true,
        };
        on.sharded.push((i, job, done));
    }
    if !on.rest_indices.is_empty() {
        let work = dir.join("rest.slurm");
        let job = ArrayJob {
            name: "rest".into(),
            work: work.clone(),
            identity: "# depthscale reproduce: the experiments that are not sharded, one per task.\nkind = \"reproduce-rest\"\n".into(),
            tasks: on
                .rest_indices
                .iter()
                .map(|&i| {
                    let out = work.join("runs").join(planned[i].entry.preset);
                    let mut args = job_args(&planned[i]);
                    args.push("--out".into());
                    args.push(out.display().to_string());
                    Task {
                        args,
                        out,
                        cells: None,
                    }
                })
                .collect(),
            sharded: None,
        };
        let redo = on
            .rest_indices
            .iter()
            .any(|&i| todo.iter().any(|&(j, r)| j == i && r));
        let done = match job.drive(&submit, redo, progress)? {
            Finished::Waiting(w) => {
                on.waiting.push(w);
                false
            }
            Finished::Done(()) => true,
        };
        on.rest = Some((job, done));
    }
    Ok(on)
}

/// Waits for what [`submit_slurm`] submitted (with `s.wait`; else only what is done is taken),
/// merges the arrays and moves the rest array's runs into `DIR/<preset>`; pushes the plan
/// indices now complete onto `ran`.
fn finish_slurm(
    on: &OnSlurm,
    s: &SlurmOptions,
    dir: &Path,
    planned: &[Planned],
    todo: &[(usize, bool)],
    ran: &mut Vec<usize>,
    progress: &dyn Progress,
) -> Result<()> {
    for (i, job, done) in &on.sharded {
        if !*done {
            let _ = slurm::run_sharded(job, s, false, progress)?;
        }
        ran.push(*i);
    }
    if let Some((job, done)) = &on.rest {
        if !*done {
            let _ = job.drive(s, false, progress)?;
        }
        adopt_rest(planned, todo, &on.rest_indices, &job.work, dir, ran)?;
    }
    Ok(())
}

/// Moves the rest array's finished runs into `DIR/<preset>` (replacing it for `--redo`).
fn adopt_rest(
    planned: &[Planned],
    todo: &[(usize, bool)],
    rest: &[usize],
    rest_work: &Path,
    dir: &Path,
    ran: &mut Vec<usize>,
) -> Result<()> {
    for &i in rest {
        let preset = planned[i].entry.preset;
        let redo = todo.iter().any(|&(j, r)| j == i && r);
        output::adopt(
            &rest_work.join("runs").join(preset),
            &dir.join(preset),
            redo,
        )?;
        ran.push(i);
    }
    Ok(())
}

/// Whether `dir`'s `config.toml` is `config` (as TOML); `false` when it has none, or another
/// (then [`Output::in_place`] refuses it, naming the difference).
fn same_top_config(dir: &Path, config: &str) -> Result<bool> {
    let path = dir.join("config.toml");
    if !path.is_file() {
        return Ok(false);
    }
    let old = super::config::read_toml(&path)?;
    let new: toml::Table = toml::from_str(config).expect("a valid TOML table");
    Ok(output::first_difference(&old, &new).is_none())
}

/// The outcome of `p`'s directory `dir` for the report, its shared lock pushed onto `locks`:
/// `None` when there is nothing there, `Err` (the preset and why) when it is left out.
fn collect(
    p: Planned,
    dir: &Path,
    ran: bool,
    locks: &mut Vec<DirLock>,
) -> std::result::Result<Option<Outcome>, (&'static str, String)> {
    let preset = p.entry.preset;
    let fail = |why: String| (preset, why);
    let redo = |why: &str| {
        fail(format!(
            "{why}; pass --redo {preset} to replace it with this reproduction's experiment"
        ))
    };
    match std::fs::symlink_metadata(dir) {
        Err(_) => return Ok(None),
        Ok(m) if !m.is_dir() => {
            return Err(fail("is not a directory created by depthscale".into()));
        }
        Ok(_) => {}
    }
    match DirLock::shared(dir) {
        Ok(Some(lock)) => locks.push(lock),
        Ok(None) => {}
        Err(e) => return Err(fail(e.to_string())),
    }
    let summary = match dirs::state(dir, &p.config, p.resumable).map_err(|e| fail(e.to_string()))? {
        State::Missing => return Ok(None),
        State::Complete(s) => s,
        State::Resumable => {
            return Err(fail(format!(
                "is incomplete (interrupted); pass --only {preset} to finish it"
            )));
        }
        State::Stale(why) => return Err(redo(&why)),
        State::Foreign => return Err(fail("was not created by depthscale".into())),
    };
    let config = output::read_capped(&dir.join("config.toml"), 256 << 20, "config.toml")
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| fail(e.to_string()))?;
    let claims = claims::claims(preset, dir, &summary, p.entry.reduced())
        .map_err(|e| redo(&format!("its tables cannot be read ({e})")))?;
    Ok(Some(Outcome {
        entry: p.entry,
        dir: dir.to_owned(),
        summary,
        config,
        skipped: !ran,
        selected: p.selected,
        claims,
    }))
}

/// `summary.json`: every claim row, the experiments' directories and times, the experiment
/// directories left out and why.
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
        "claims_missing": report.claims().filter(|c| c.measured == claims::Measured::Missing).count(),
        "mutant": crate::mutant::active().map(crate::mutant::Mutant::name),
        "claims": claims,
        "experiments": report.outcomes.iter().map(|o| serde_json::json!({
            "preset": o.entry.preset,
            "dir": o.entry.preset,
            "seconds": o.summary["seconds"],
            "skipped": o.skipped,
            "run_this_time": !o.skipped,
            "selected": o.selected,
            "reduced_size": o.entry.reduced(),
            "command": o.entry.command(o.entry.preset),
        })).collect::<Vec<_>>(),
        "excluded": report.excluded.iter().map(|x| serde_json::json!({
            "preset": x.preset,
            "dir": x.preset,
            "reason": x.reason,
        })).collect::<Vec<_>>(),
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
        if s.total <= 1 {
            // a one-step phase (loading a dataset) says nothing of the experiment's progress:
            // crediting it would jump to 95% of the experiment's share at its start
            return;
        }
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

#[cfg(test)]
mod child_tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Sums what is credited to the overall progress.
    #[derive(Default)]
    struct Sum(AtomicU64);

    impl Progress for Sum {
        fn start(&self, _message: &str, _total: u64) {}
        fn advance(&self, units: u64) {
            self.0.fetch_add(units, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_one_step_phase_does_not_claim_the_experiments_share() {
        let outer = Sum::default();
        let child = Child::new(&outer, "9/21 fig9", 1000);
        child.start("loading mnist-10k", 1);
        child.advance(1);
        assert_eq!(outer.0.load(Ordering::SeqCst), 0, "loading is not progress");
        child.start("training cells", 10);
        child.advance(5);
        assert_eq!(outer.0.load(Ordering::SeqCst), 475);
        child.advance(5);
        assert_eq!(outer.0.load(Ordering::SeqCst), 950);
        child.complete();
        assert_eq!(outer.0.load(Ordering::SeqCst), 1000);
    }
}
