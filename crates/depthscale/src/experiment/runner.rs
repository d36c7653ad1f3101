//! Runs an experiment end to end: typed config, resource check, output directory (see
//! [`super::output`]), `config.toml`, the run itself, `summary.json`, and the commit that marks
//! the output complete.

use super::config::{ConfigSource, apply_override, one_line};
use super::output::{self, Output, Protected};
use super::registry::{self, KINDS, MergeJob};
use super::{Experiment, RunContext};
use crate::budget::{Footprint, Limits, check_title};
use crate::kernels::BackendChoice;
use crate::progress::Progress;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to run a config.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// `key=value` overrides applied to the config before it is typed.
    pub overrides: Vec<String>,
    /// Shrink the experiment to a smoke size.
    pub quick: bool,
    /// Output directory; default `runs/<name>-<UTC timestamp>`.
    pub out: Option<PathBuf>,
    /// Replace an existing non-empty output directory.
    pub force: bool,
    /// `Some((i, n))`: run only shard `i` of `n` (`0 <= i < n`) of a shardable experiment.
    pub shard: Option<(usize, usize)>,
    /// The memory and disk the run may use; `None`: detect them ([`Limits::detect`]).
    pub limits: Option<Limits>,
    /// The backend the experiment computes on (default: the CPU); it reaches the experiment as
    /// [`RunContext::backend`].
    pub backend: BackendChoice,
}

/// What a completed run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The complete output directory.
    pub dir: PathBuf,
    /// The contents of `summary.json`.
    pub summary: serde_json::Value,
}

/// Resolves overrides, then runs the config's `kind`.
pub fn run(source: ConfigSource, opts: &RunOptions, progress: &dyn Progress) -> Result<RunReport> {
    let (kind, table) = resolve(source.table, opts)?;
    run_kind(&kind, &source.name, table, opts, progress)
}

/// Everything [`run`] checks before it starts, without running anything or touching the disk:
/// overrides, `--quick`, the typed and validated config, `--shard`; returns the run's estimated
/// [`Footprint`] (compare it with [`Limits::detect`], or call [`Footprint::check`]).
pub fn check(source: ConfigSource, opts: &RunOptions) -> Result<Footprint> {
    let (kind, table) = resolve(source.table, opts)?;
    check_title_of(&table)?;
    (registry::kind(&kind)?.check)(table, opts)
}

/// The `config.toml` text [`run`] would write for `source` with `opts` (overrides and
/// `--quick` applied, validated), without running anything; `depthscale reproduce` compares it
/// with an existing output's `config.toml` to decide whether that output is already complete.
pub fn resolved_config(source: ConfigSource, opts: &RunOptions) -> Result<String> {
    let (kind, table) = resolve(source.table, opts)?;
    check_title_of(&table)?;
    (registry::kind(&kind)?.resolved)(&source.name, table, opts).map(|(config, _)| config)
}

/// [`resolved_config`], and whether the experiment resumes in place (an interrupted run of it
/// leaves its directory without `summary.json`, to be resumed by the same command).
pub(crate) fn resolved_and_resumable(
    source: ConfigSource,
    opts: &RunOptions,
) -> Result<(String, bool)> {
    let (kind, table) = resolve(source.table, opts)?;
    check_title_of(&table)?;
    (registry::kind(&kind)?.resolved)(&source.name, table, opts)
}

/// [`resolved_and_resumable`] for the experiment type `E`.
pub(super) fn resolved_typed<E: Experiment>(
    name: &str,
    table: toml::Table,
    opts: &RunOptions,
) -> Result<(String, bool)> {
    let (cfg, kept) = prepare_noted::<E>(table, opts)?;
    Ok((
        config_toml_noted(name, &quick_note(opts.quick, &kept), E::KIND, &cfg)?,
        cfg.resumable(),
    ))
}

/// What an executor needs to know of a run before it starts: its resolved `config.toml`,
/// whether it can be sharded and, if so, its number of cells.
#[derive(Clone, Debug)]
pub struct Shape {
    /// The `config.toml` text the run writes ([`resolved_config`]).
    pub config: String,
    /// Whether the experiment accepts `--shard`.
    pub shardable: bool,
    /// The cells of a shardable experiment's grid.
    pub cells: Option<usize>,
}

/// The [`Shape`] of `source` run with `opts` (validated; nothing runs, nothing is written).
pub fn shape(source: ConfigSource, opts: &RunOptions) -> Result<Shape> {
    let (kind, table) = resolve(source.table, opts)?;
    check_title_of(&table)?;
    (registry::kind(&kind)?.shape)(&source.name, table, opts)
}

/// [`shape`] for the experiment type `E`.
pub(super) fn shape_typed<E: Experiment>(
    name: &str,
    table: toml::Table,
    opts: &RunOptions,
) -> Result<Shape> {
    let (cfg, kept) = prepare_noted::<E>(table, opts)?;
    Ok(Shape {
        config: config_toml_noted(name, &quick_note(opts.quick, &kept), E::KIND, &cfg)?,
        shardable: cfg.shardable(),
        cells: cfg.cells()?,
    })
}

/// Applies the overrides and takes out `kind`.
fn resolve(mut table: toml::Table, opts: &RunOptions) -> Result<(String, toml::Table)> {
    for o in &opts.overrides {
        apply_override(&mut table, o)?;
    }
    let kind = match table.remove("kind") {
        Some(toml::Value::String(k)) => k,
        Some(other) => {
            return Err(Error::config(
                "kind",
                format!("must be a string, got {other}"),
            ));
        }
        None => {
            return Err(Error::config(
                "kind",
                format!("missing; accepted: {}", KINDS.join(", ")),
            ));
        }
    };
    Ok((kind, table))
}

fn check_title_of(table: &toml::Table) -> Result<()> {
    match table.get("title").and_then(toml::Value::as_str) {
        Some(t) => check_title("title", t),
        None => Ok(()),
    }
}

/// The footprint of the typed config of `E` with `--quick` and `--shard` applied and checked
/// ([`check`] for the experiment type `E`).
pub(super) fn check_typed<E: Experiment>(
    table: toml::Table,
    opts: &RunOptions,
) -> Result<Footprint> {
    prepare::<E>(table, opts)?.footprint()
}

fn prepare<E: Experiment>(table: toml::Table, opts: &RunOptions) -> Result<E> {
    prepare_noted(table, opts).map(|(cfg, _)| cfg)
}

/// [`prepare`], and the top-level keys whose `--set` value won over `--quick`: the overrides
/// are applied again after [`Experiment::quick`], so an explicit `--set` always wins.
fn prepare_noted<E: Experiment>(table: toml::Table, opts: &RunOptions) -> Result<(E, Vec<String>)> {
    let mut cfg: E = typed(table)?;
    let mut kept = Vec::new();
    if opts.quick {
        cfg.quick();
        if !opts.overrides.is_empty() {
            let serialize =
                |e: toml::ser::Error| Error::Numerical(format!("cannot serialize config: {e}"));
            let quick = toml::Table::try_from(&cfg).map_err(serialize)?;
            let mut table = quick.clone();
            for o in &opts.overrides {
                apply_override(&mut table, o)?;
            }
            table.remove("kind");
            for o in &opts.overrides {
                let key = o.split_once('=').map_or(o.as_str(), |(k, _)| k);
                let top = key.split('.').next().unwrap_or(key).trim();
                if top != "kind"
                    && quick.get(top) != table.get(top)
                    && !kept.iter().any(|k| k == top)
                {
                    kept.push(top.to_owned());
                }
            }
            cfg = typed(table)?;
        }
    }
    cfg.resolve()?;
    cfg.validate()?;
    if let Some(shard) = opts.shard {
        check_shard(shard)?;
        if !cfg.shardable() {
            return Err(Error::config(
                "--shard",
                format!("experiments of kind {:?} cannot be sharded", E::KIND),
            ));
        }
    }
    Ok((cfg, kept))
}

/// Runs the experiment of kind `kind` from its table (without the `kind` key).
pub fn run_kind(
    kind: &str,
    name: &str,
    table: toml::Table,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport> {
    check_title_of(&table)?;
    (registry::kind(kind)?.run)(name, table, opts, progress)
}

/// Deserializes a table into `E`, with errors naming the offending field.
pub fn typed<E: Experiment>(table: toml::Table) -> Result<E> {
    let original = toml::Value::Table(table.clone());
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "config".to_owned()
        } else {
            path
        };
        let inner = one_line(&e.into_inner().to_string());
        // a value type's own parse error (`Init`, `Activation`, ...) already reads
        // "invalid `its-name`: ..."; the path names the field better
        let message = inner
            .strip_prefix("invalid `")
            .and_then(|rest| rest.split_once("`: "))
            .map_or(inner.as_str(), |(_, message)| message)
            .replace(&format!(" in `{field}`"), "")
            // toml names a list by its key alone (`parameterizations`, not `parameterizations[0]`)
            .replace(
                &format!(" in `{}`", field.split('[').next().unwrap_or(&field)),
                "",
            )
            .replace("expected usize", "expected a non-negative integer")
            .replace(
                "expected u64",
                "expected an integer in 0..=9223372036854775807",
            )
            .replace("expected i64", "expected an integer")
            .replace("expected u32", "expected an integer in 0..=4294967295")
            .replace("expected f64", "expected a number");
        Error::config(
            field.clone(),
            with_offending_value(message, &original, &field),
        )
    })
}

/// `message`, followed by `, got VALUE` (the value at `path` in `config`, as TOML) unless the
/// message already shows it: every parse error echoes what it refused (`--set 'beta=[0.5,'`,
/// which is no TOML and so arrives as the text `"[0.5,"`).
fn with_offending_value(message: String, config: &toml::Value, path: &str) -> String {
    let Some(value) = value_at(config, path) else {
        return message;
    };
    let mut text = value.to_string();
    if text.chars().count() > 80 {
        text = format!("{}...", text.chars().take(77).collect::<String>());
    }
    let bare = text.trim_matches('"');
    if message.contains(&text) || (!bare.is_empty() && message.contains(bare)) {
        message
    } else {
        format!("{message}, got {text}")
    }
}

/// The value at a serde path (`beta`, `parameterizations[0].beta`, `a.b`) of a config.
fn value_at<'a>(config: &'a toml::Value, path: &str) -> Option<&'a toml::Value> {
    let mut cur = config;
    for part in path.split('.') {
        let (key, indices) = part
            .split_once('[')
            .map_or((part, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            cur = cur.as_table()?.get(key)?;
        }
        for index in indices.split('[').filter(|i| !i.is_empty()) {
            cur = cur
                .as_array()?
                .get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(cur)
}

/// [`run_kind`] for the experiment type `E`.
pub(super) fn run_typed<E: Experiment>(
    name: &str,
    table: toml::Table,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let (cfg, kept) = prepare_noted::<E>(table, opts)?;
    // the default name is created here, atomically: a second run of the same experiment in the
    // same second gets `NAME-TIMESTAMP-2` instead of colliding
    let reserved = match &opts.out {
        Some(_) => None,
        None => Some(output::create_fresh(
            Path::new("runs"),
            &format!("{name}-{}", utc_timestamp()),
        )?),
    };
    let requested = opts.out.clone().or_else(|| reserved.clone());
    let requested = requested.expect("an --out or a reserved default");
    let result = run_into::<E>(name, cfg, &kept, opts, &requested, progress);
    if let (Err(_), Some(dir)) = (&result, &reserved) {
        // only while still empty: the reserved directory and nothing else
        let _ = std::fs::remove_dir(dir);
    }
    result
}

/// The rest of [`run_typed`], once the output directory is named.
fn run_into<E: Experiment>(
    name: &str,
    cfg: E,
    kept: &[String],
    opts: &RunOptions,
    requested: &Path,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let final_dir = output::normalize("--out", requested)?;
    super::reproduce::refuse_inside_running(&final_dir)?;
    check_footprint(&cfg, opts, &final_dir)?;
    let config_text = config_toml_noted(name, &quick_note(opts.quick, kept), E::KIND, &cfg)?;
    let protected = Protected::standard();
    let (out, resuming) = if cfg.resumable() {
        Output::in_place(&final_dir, opts.force, &config_text, &protected)?
    } else {
        (Output::staged(&final_dir, opts.force, &protected)?, false)
    };
    let ctx = RunContext {
        dir: out.dir().to_owned(),
        progress,
        shard: opts.shard,
        backend: opts.backend.clone(),
    };
    // a resumed run keeps its config.toml, whose first line says whether it was --quick (a
    // gap-fill with `depthscale run DIR/config.toml --out DIR` of a quick merge stays quick)
    let quick = opts.quick
        || (resuming
            && super::config::read_text(&ctx.path("config.toml"))
                .is_ok_and(|t| t.lines().next().is_some_and(|l| l.contains("(--quick"))));
    if !resuming {
        ctx.write("config.toml", &config_text)?;
    }
    let start = Instant::now();
    let results = super::summary::to_json(&cfg.run(&ctx)?);
    finish_run(out, &ctx, name, E::KIND, quick, start, results)
}

/// Estimates the run's memory and disk and refuses it when over the limits.
pub(super) fn check_footprint<E: Experiment>(
    cfg: &E,
    opts: &RunOptions,
    final_dir: &Path,
) -> Result<()> {
    let limits = match &opts.limits {
        Some(l) => l.clone(),
        None => Limits::detect(final_dir)?,
    };
    cfg.footprint()?.check(&limits)
}

/// Writes `summary.json` atomically and commits the output.
pub(super) fn finish_run(
    out: Output,
    ctx: &RunContext,
    name: &str,
    kind: &str,
    quick: bool,
    start: Instant,
    results: serde_json::Value,
) -> Result<RunReport> {
    let mut summary = summary_json(name, kind, quick, start.elapsed().as_secs_f64(), results);
    // the figures this run wrote: the only files `depthscale reproduce` embeds in its report
    summary["figures"] = serde_json::json!(super::reproduce::html::figures(out.dir())?);
    output::write_atomic(
        &ctx.path("summary.json"),
        serde_json::to_string_pretty(&summary).expect("json values serialize"),
    )?;
    let dir = out.commit()?;
    Ok(RunReport { dir, summary })
}

/// Joins the output directories of runs with equal configs (the shards of one shardable
/// experiment, or interrupted runs of it) into `out`, staged and committed like any run.
///
/// The runner's part: every input must be a directory holding a `config.toml` equal to the
/// first one's (the first difference is named), none may be in use by a running process (each
/// is held under a shared lock while it is read), `out` may be neither an input nor a directory
/// containing one (see [`super::output`]), and the experiment must be shardable. The
/// experiment's part ([`Experiment::merge`]) combines the inputs' records into `out`.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    force: bool,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let opts = RunOptions {
        out: Some(out.to_owned()),
        force,
        ..RunOptions::default()
    };
    merge_with(dirs, &opts, progress)
}

/// [`merge`] with the output directory, `force` and limits taken from `opts`.
pub fn merge_with(
    dirs: &[PathBuf],
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport> {
    merge_checked(dirs, opts, true, progress)
}

/// [`merge_with`], refusing a result with missing cells unless `allow_partial`: then nothing
/// is written (the staging directory is removed) and the error says how many cells are
/// missing and which shards own them (from the inputs' `summary.json`), the shard directories
/// that never ran included.
pub fn merge_checked(
    dirs: &[PathBuf],
    opts: &RunOptions,
    allow_partial: bool,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let Some(out) = &opts.out else {
        return Err(Error::config("--out", "merge needs an output directory"));
    };
    if dirs.is_empty() {
        return Err(Error::config(
            "merge",
            "give at least one output directory to merge",
        ));
    }
    let mut inputs = Vec::with_capacity(dirs.len());
    let mut locks = Vec::new();
    for d in dirs {
        let dir = output::normalize("merge", d)?;
        if !dir.is_dir() {
            return Err(Error::config(
                "merge",
                format!("{} is not a directory", d.display()),
            ));
        }
        if inputs.contains(&dir) {
            return Err(Error::config(
                "merge",
                format!("{} is given twice", d.display()),
            ));
        }
        locks.extend(output::DirLock::shared(&dir)?);
        inputs.push(dir);
    }
    let config_of = |dir: &Path| -> Result<(String, toml::Table)> {
        let path = dir.join("config.toml");
        if !path.is_file() {
            return Err(Error::config(
                "merge",
                format!(
                    "{} holds no config.toml: it is not the output of a run",
                    dir.display()
                ),
            ));
        }
        let text = super::config::read_text(&path)?;
        let table = super::config::parse_toml(&text, &path)?;
        Ok((text, table))
    };
    let (text, table) = config_of(&inputs[0])?;
    for dir in &inputs[1..] {
        let (_, other) = config_of(dir)?;
        if let Some(key) = output::first_difference(&table, &other) {
            return Err(Error::config(
                "merge",
                format!(
                    "{} has another config than {} (`{key}` differs); only outputs of the same experiment can be merged",
                    dir.display(),
                    inputs[0].display()
                ),
            ));
        }
    }
    let mut body = table;
    let kind = match body.remove("kind") {
        Some(toml::Value::String(k)) => k,
        _ => {
            return Err(Error::config(
                "merge",
                format!("{}/config.toml has no `kind`", inputs[0].display()),
            ));
        }
    };
    let out = output::normalize("--out", out)?;
    super::reproduce::refuse_inside_running(&out)?;
    let job = MergeJob {
        text: &text,
        body,
        inputs: &inputs,
        out: &out,
        opts,
        allow_partial,
    };
    let merged = registry::kind(&kind).and_then(|k| (k.merge)(job, progress));
    drop(locks);
    merged
}

/// The experiment's part of [`merge_checked`] for the experiment type `E`.
pub(super) fn merge_typed<E: Experiment>(
    job: MergeJob<'_>,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let MergeJob {
        text,
        body,
        inputs,
        out,
        opts,
        allow_partial,
    } = job;
    let cfg: E = typed(body)?;
    cfg.validate()?;
    if !cfg.shardable() {
        return Err(Error::config(
            "merge",
            format!(
                "{} holds a run of kind {:?}, which cannot be merged (only shardable experiments, e.g. sweeps)",
                inputs[0].display(),
                E::KIND
            ),
        ));
    }
    let protected = Protected::standard().with(inputs, "an input of this merge");
    let out = Output::staged(out, opts.force, &protected)?;
    let ctx = RunContext {
        dir: out.dir().to_owned(),
        progress,
        shard: None,
        backend: opts.backend.clone(),
    };
    ctx.write("config.toml", text)?;
    let start = Instant::now();
    let mut results = super::summary::to_json(&cfg.merge(inputs, &ctx)?);
    results["merged_from"] = serde_json::json!(
        inputs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
    );
    if !allow_partial && let Some(why) = missing_cells(&results) {
        out.abandon()?;
        return Err(Error::config("merge", why));
    }
    // the shards' config.toml says whether they ran with --quick (its first line)
    let quick = text.lines().next().is_some_and(|l| l.contains("(--quick"));
    finish_run(out, &ctx, "merge", E::KIND, quick, start, results)
}

/// Why a merged result is incomplete (`cells_done < cells_total`), naming the shards that own
/// the missing cells and what to do; `None` when complete.
fn missing_cells(results: &serde_json::Value) -> Option<String> {
    let (done, total) = (
        results["cells_done"].as_u64()?,
        results["cells_total"].as_u64()?,
    );
    if done >= total {
        return None;
    }
    let shards: Vec<String> = results["missing_shards"]
        .as_array()
        .map(|a| a.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default();
    let owners = match (results["shards"].as_u64(), shards.is_empty()) {
        (Some(n), false) => format!(
            " (they belong to shard{} {} of {n}: rerun {}, e.g. `sbatch --array={} job.sbatch`, then merge again)",
            if shards.len() == 1 { "" } else { "s" },
            shards.join(", "),
            if shards.len() == 1 { "it" } else { "them" },
            shards.join(",")
        ),
        _ => String::new(),
    };
    Some(format!(
        "{} of {total} cells are missing{owners}; pass --allow-partial to merge what there is, then fill the gaps with `depthscale run OUT/config.toml --out OUT`",
        total - done
    ))
}

/// The contents of `summary.json`: run metadata around the experiment's own `results`.
pub(crate) fn summary_json(
    name: &str,
    kind: &str,
    quick: bool,
    seconds: f64,
    results: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "experiment": name,
        "kind": kind,
        "quick": quick,
        "seconds": seconds,
        "threads": rayon::current_num_threads(),
        "depthscale_version": env!("CARGO_PKG_VERSION"),
        "results": results,
    })
}

/// The text of `config.toml`: a comment line, then `kind` and the typed config's fields.
#[cfg(test)]
pub(crate) fn config_toml<E: serde::Serialize>(
    name: &str,
    quick: bool,
    kind: &str,
    cfg: &E,
) -> Result<String> {
    config_toml_noted(name, &quick_note(quick, &[]), kind, cfg)
}

/// What the comment line of `config.toml` says about `--quick`: nothing, ` (--quick)`, or
/// which `--set` keys kept their value over it.
fn quick_note(quick: bool, kept: &[String]) -> String {
    match (quick, kept) {
        (false, _) => String::new(),
        (true, []) => " (--quick)".into(),
        (true, kept) => format!(
            " (--quick; the --set value of {} kept over --quick)",
            kept.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// [`config_toml`] with the comment's `--quick` note given.
fn config_toml_noted<E: serde::Serialize>(
    name: &str,
    note: &str,
    kind: &str,
    cfg: &E,
) -> Result<String> {
    let mut resolved = toml::Table::new();
    resolved.insert("kind".into(), toml::Value::String(kind.into()));
    let body = toml::Table::try_from(cfg)
        .map_err(|e| Error::Numerical(format!("cannot serialize config: {e}")))?;
    resolved.extend(body);
    Ok(format!(
        "# Resolved config of `{name}`{note}: rerun with `depthscale run config.toml`.\n{}",
        toml::to_string(&resolved)
            .map_err(|e| Error::Numerical(format!("cannot serialize config: {e}")))?
    ))
}

/// Parses `I/N` (as given to `--shard`): shard `I` of `N`, `0 <= I < N`.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let bad = || {
        Error::config(
            "--shard",
            format!("expected I/N with integers 0 <= I < N (e.g. 0/4), got {s:?}"),
        )
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    check_shard((i, n))?;
    Ok((i, n))
}

/// Checks `0 <= i < n`.
fn check_shard((i, n): (usize, usize)) -> Result<()> {
    if i < n {
        Ok(())
    } else {
        Err(Error::config(
            "--shard",
            format!(
                "shard index must satisfy 0 <= I < N, got {i}/{n} (in a Slurm job array, write N into the script rather than $SLURM_ARRAY_TASK_COUNT, which is 1 when one index is resubmitted with `sbatch --array=I`)"
            ),
        ))
    }
}

/// The current UTC time as `YYYYMMDD-HHMMSS`.
pub fn utc_timestamp() -> String {
    jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Limit;

    fn footprint(name: &str, sets: &[&str]) -> Result<Footprint> {
        let opts = RunOptions {
            overrides: sets.iter().map(|s| s.to_string()).collect(),
            ..RunOptions::default()
        };
        check(ConfigSource::resolve(name).unwrap(), &opts)
    }

    /// A machine of this project's size: 24 GB of memory, 50 GB of disk.
    fn machine() -> Limits {
        let limit = |gb: u64, what: &str| Limit {
            bytes: gb << 30,
            source: what.into(),
        };
        Limits {
            memory: Some(limit(24, "test memory")),
            disk: Some(limit(50, "test disk")),
        }
    }

    #[test]
    fn every_preset_fits_a_laptop_and_absurd_sizes_are_refused_by_field() {
        for p in super::super::PRESETS.iter() {
            let f = footprint(p.name, &[]).unwrap();
            assert!(f.memory_bytes() < 4 << 30, "{}: {f:?}", p.name);
            assert!(f.disk_bytes() < 1 << 30, "{}: {f:?}", p.name);
            assert!(f.memory_bytes() > 0 && f.disk_bytes() > 0, "{}", p.name);
        }
        let refused = |name: &str, sets: &[&str]| -> String {
            match footprint(name, sets).and_then(|f| f.check(&machine())) {
                Err(Error::TooLarge { field, .. }) => field,
                other => panic!("{name} {sets:?}: {other:?}"),
            }
        };
        assert_eq!(refused("fig1", &["depth=1000000000"]), "depth");
        assert_eq!(refused("fig1", &["width=100000"]), "width");
        assert_eq!(refused("fig1", &["samples=1000000000000"]), "samples");
        assert_eq!(
            refused("fig1", &["beta={linspace=[0, 1, 10000000]}"]),
            "beta"
        );
        assert_eq!(
            refused(
                "ode",
                &["reference_factor=1024", "depth=[4096, 16384]", "width=256"]
            ),
            "reference_factor"
        );
        assert_eq!(refused("fig6", &["steps=10000000", "paths=1000"]), "steps");
        assert_eq!(
            refused("train", &["depth=576460752303423488", "width=32"]),
            "depth"
        );
        assert_eq!(refused("train", &["epochs=1000000000000000000"]), "epochs");
        assert_eq!(refused("fig9", &["width=20000"]), "width");
        // A batch larger than the data is the whole data: not refused.
        footprint("train", &["batch_size=1000000000000000000"])
            .unwrap()
            .check(&machine())
            .unwrap();
    }

    /// Issue 20, item 22: an explicit `--set` wins over `--quick` (fig9's quick depth is 50),
    /// and the resolved config says which keys kept their value.
    #[test]
    fn set_wins_over_quick_and_the_config_says_so() {
        let resolved = |sets: &[&str]| {
            let opts = RunOptions {
                overrides: sets.iter().map(|s| s.to_string()).collect(),
                quick: true,
                ..RunOptions::default()
            };
            resolved_config(ConfigSource::resolve("fig9").unwrap(), &opts).unwrap()
        };
        let text = resolved(&["depth=1000", "seed=3"]);
        let t: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(t["depth"].as_integer(), Some(1000), "{text}");
        assert_eq!(t["seed"].as_integer(), Some(3), "{text}");
        let first = text.lines().next().unwrap();
        assert!(
            first.contains("--quick") && first.contains("`depth`"),
            "{first}"
        );
        assert!(!first.contains("seed"), "{first}");
        // without --set, --quick alone
        let quick = resolved(&[]);
        let t: toml::Table = toml::from_str(&quick).unwrap();
        assert_eq!(t["depth"].as_integer(), Some(50), "{quick}");
        assert!(
            quick
                .lines()
                .next()
                .unwrap()
                .ends_with("(--quick): rerun with `depthscale run config.toml`.")
        );
    }

    /// Issue 20, item 9: a summary read back and written again is the same bytes (serde_json's
    /// `float_roundtrip`; without it 0.47526863186523205 came back as 0.4752686318652321).
    #[test]
    fn summary_floats_round_trip_bit_for_bit() {
        let mut values = vec![
            0.475_268_631_865_232_05,
            0.1 + 0.2,
            1e-308,
            5e-324,
            1.0 / 3.0,
        ];
        let mut rng = crate::rng::stream(7, &[1]);
        values.extend((0..2000).map(|i| {
            let x: f64 = rand::Rng::random(&mut rng);
            x * 10f64.powi(i % 40 - 20)
        }));
        let summary = summary_json("t", "k", false, 1.5, serde_json::json!({ "v": values }));
        let text = serde_json::to_string_pretty(&summary).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), text);
        for (a, b) in values.iter().zip(back["results"]["v"].as_array().unwrap()) {
            assert_eq!(a.to_bits(), b.as_f64().unwrap().to_bits(), "{a}");
        }
    }

    #[test]
    fn timestamps_are_utc_and_sortable() {
        let t = utc_timestamp();
        assert_eq!(t.len(), 15, "{t}");
        assert_eq!(&t[8..9], "-");
        assert!(t.chars().filter(|c| *c != '-').all(|c| c.is_ascii_digit()));
        let fixed = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        assert_eq!(
            fixed.strftime("%Y%m%d-%H%M%S").to_string(),
            "20231114-221320"
        );
    }
}
