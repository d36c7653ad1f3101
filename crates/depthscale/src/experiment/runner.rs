//! Runs an experiment end to end: typed config, output directory, `config.toml`, the run
//! itself, `summary.json`, and the final rename that marks the output complete.

use super::config::{ConfigSource, apply_override, one_line};
use super::{
    Experiment, FbmPathsConfig, LimitConfig, ProbeConfig, RunContext, SweepConfig, TrainRunConfig,
    WeightsConfig,
};
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
}

/// What a completed run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The complete output directory.
    pub dir: PathBuf,
    /// The contents of `summary.json`.
    pub summary: serde_json::Value,
}

/// The experiment kinds, as accepted by `kind = "..."`.
pub const KINDS: &[&str] = &[
    ProbeConfig::KIND,
    FbmPathsConfig::KIND,
    TrainRunConfig::KIND,
    SweepConfig::KIND,
    WeightsConfig::KIND,
    LimitConfig::KIND,
];

/// Resolves overrides, then runs the config's `kind`.
pub fn run(source: ConfigSource, opts: &RunOptions, progress: &dyn Progress) -> Result<RunReport> {
    let mut table = source.table;
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
    run_kind(&kind, &source.name, table, opts, progress)
}

/// Runs the experiment of kind `kind` from its table (without the `kind` key).
pub fn run_kind(
    kind: &str,
    name: &str,
    table: toml::Table,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport> {
    match kind {
        ProbeConfig::KIND => run_typed::<ProbeConfig>(name, table, opts, progress),
        FbmPathsConfig::KIND => run_typed::<FbmPathsConfig>(name, table, opts, progress),
        LimitConfig::KIND => run_typed::<LimitConfig>(name, table, opts, progress),
        TrainRunConfig::KIND => run_typed::<TrainRunConfig>(name, table, opts, progress),
        SweepConfig::KIND => run_typed::<SweepConfig>(name, table, opts, progress),
        WeightsConfig::KIND => run_typed::<WeightsConfig>(name, table, opts, progress),
        _ => Err(Error::config(
            "kind",
            format!(
                "unknown experiment kind {kind:?}; accepted: {}",
                KINDS.join(", ")
            ),
        )),
    }
}

/// Deserializes a table into `E`, with errors naming the offending field.
pub fn typed<E: Experiment>(table: toml::Table) -> Result<E> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "config".to_owned()
        } else {
            path
        };
        let message = one_line(&e.into_inner().to_string())
            .replace(&format!(" in `{field}`"), "")
            .replace("expected usize", "expected a non-negative integer")
            .replace("expected u64", "expected a non-negative integer");
        Error::config(field, message)
    })
}

fn run_typed<E: Experiment>(
    name: &str,
    table: toml::Table,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let mut cfg: E = typed(table)?;
    if opts.quick {
        cfg.quick();
    }
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
    let final_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("{name}-{}", utc_timestamp())));
    let config_text = config_toml(name, opts.quick, E::KIND, &cfg)?;
    let resumable = cfg.resumable();
    let (dir, resuming) = if resumable {
        let resuming = prepare_resumable(&final_dir, opts.force, &config_text)?;
        (final_dir.clone(), resuming)
    } else {
        (prepare_output(&final_dir, opts.force)?, false)
    };
    let ctx = RunContext {
        dir,
        progress,
        shard: opts.shard,
    };
    if !resuming {
        ctx.write("config.toml", &config_text)?;
    }
    let start = Instant::now();
    let results = cfg.run(&ctx)?;
    let summary = summary_json(
        name,
        E::KIND,
        opts.quick,
        start.elapsed().as_secs_f64(),
        results,
    );
    ctx.write(
        "summary.json",
        serde_json::to_string_pretty(&summary).expect("json values serialize"),
    )?;
    if !resumable {
        commit_output(&ctx.dir, &final_dir)?;
    }
    Ok(RunReport {
        dir: final_dir,
        summary,
    })
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
pub(crate) fn config_toml<E: serde::Serialize>(
    name: &str,
    quick: bool,
    kind: &str,
    cfg: &E,
) -> Result<String> {
    let mut resolved = toml::Table::new();
    resolved.insert("kind".into(), toml::Value::String(kind.into()));
    let body = toml::Table::try_from(cfg)
        .map_err(|e| Error::Numerical(format!("cannot serialize config: {e}")))?;
    resolved.extend(body);
    Ok(format!(
        "# Resolved config of `{name}`{}: rerun with `depthscale run config.toml`.\n{}",
        if quick { " (--quick)" } else { "" },
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
            format!("shard index must satisfy 0 <= I < N, got {i}/{n}"),
        ))
    }
}

/// Prepares the output directory of a resumable experiment, which is written in place.
/// Returns whether an interrupted (or finished) run with the same config is being resumed: the
/// directory exists, is not empty and its `config.toml` equals `config_text` as TOML. A
/// non-empty directory with another or no config is an error unless `force`, which empties it.
pub fn prepare_resumable(dir: &Path, force: bool, config_text: &str) -> Result<bool> {
    let non_empty = dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some();
    if non_empty && force {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    } else if non_empty {
        let cfg_path = dir.join("config.toml");
        let old = std::fs::read_to_string(&cfg_path).map_err(|_| {
            Error::config(
                "--out",
                format!(
                    "{} already exists and holds no config.toml of an earlier run; choose another directory or pass --force to replace it",
                    dir.display()
                ),
            )
        })?;
        let old: toml::Table = toml::from_str(&old).map_err(|e| {
            Error::data(
                &cfg_path,
                format!("not valid TOML: {}", one_line(e.message())),
            )
        })?;
        let new: toml::Table = toml::from_str(config_text).expect("the runner writes valid TOML");
        if let Some(key) = first_difference(&old, &new) {
            return Err(Error::config(
                "--out",
                format!(
                    "{} holds a run with another config (`{key}` differs); rerun the same command to resume it, choose another directory, or pass --force to start over",
                    dir.display()
                ),
            ));
        }
        let summary = dir.join("summary.json");
        if summary.exists() {
            std::fs::remove_file(&summary).map_err(|e| Error::io(&summary, e))?;
        }
        return Ok(true);
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"").map_err(|e| Error::io(dir, e))?;
    std::fs::remove_file(&probe).map_err(|e| Error::io(&probe, e))?;
    Ok(false)
}

/// The first top-level key whose value differs between two tables (`None` if equal).
pub(crate) fn first_difference(a: &toml::Table, b: &toml::Table) -> Option<String> {
    a.keys()
        .chain(b.keys())
        .find(|k| a.get(*k) != b.get(*k))
        .cloned()
}

/// The staging directory for `final_dir`: checks the target is free (or `force`), creates the
/// staging directory and proves it is writable before any work starts.
pub fn prepare_output(final_dir: &Path, force: bool) -> Result<PathBuf> {
    if final_dir.exists() {
        let non_empty = std::fs::read_dir(final_dir)
            .map_err(|e| Error::io(final_dir, e))?
            .next()
            .is_some();
        if non_empty && !force {
            return Err(Error::config(
                "--out",
                format!(
                    "{} already exists and is not empty; choose another directory or pass --force to replace it",
                    final_dir.display()
                ),
            ));
        }
    }
    let mut staging = final_dir.as_os_str().to_owned();
    staging.push(".partial");
    let staging = PathBuf::from(staging);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    let probe = staging.join(".write-test");
    std::fs::write(&probe, b"").map_err(|e| Error::io(&staging, e))?;
    std::fs::remove_file(&probe).map_err(|e| Error::io(&probe, e))?;
    Ok(staging)
}

/// Moves a finished staging directory to its final name.
pub fn commit_output(staging: &Path, final_dir: &Path) -> Result<()> {
    if final_dir.exists() {
        std::fs::remove_dir_all(final_dir).map_err(|e| Error::io(final_dir, e))?;
    }
    std::fs::rename(staging, final_dir).map_err(|e| Error::io(final_dir, e))
}

/// The current UTC time as `YYYYMMDD-HHMMSS`.
pub fn utc_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}
