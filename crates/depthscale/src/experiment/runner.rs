//! Runs an experiment end to end: typed config, output directory, `config.toml`, the run
//! itself, `summary.json`, and the final rename that marks the output complete.

use super::config::{ConfigSource, apply_override, one_line};
use super::{Experiment, FbmPathsConfig, LimitConfig, ProbeConfig, RunContext};
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
pub const KINDS: &[&str] = &[ProbeConfig::KIND, FbmPathsConfig::KIND, LimitConfig::KIND];

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
        Error::config(field, one_line(&e.into_inner().to_string()))
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
    let final_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("{name}-{}", utc_timestamp())));
    let staging = prepare_output(&final_dir, opts.force)?;
    let ctx = RunContext {
        dir: staging.clone(),
        progress,
    };
    let mut resolved = toml::Table::new();
    resolved.insert("kind".into(), toml::Value::String(E::KIND.into()));
    let body = toml::Table::try_from(&cfg)
        .map_err(|e| Error::Numerical(format!("cannot serialize config: {e}")))?;
    resolved.extend(body);
    ctx.write(
        "config.toml",
        format!(
            "# Resolved config of `{name}`{}: rerun with `depthscale run config.toml`.\n{}",
            if opts.quick { " (--quick)" } else { "" },
            toml::to_string(&resolved)
                .map_err(|e| Error::Numerical(format!("cannot serialize config: {e}")))?
        ),
    )?;
    let start = Instant::now();
    let results = cfg.run(&ctx)?;
    let summary = serde_json::json!({
        "experiment": name,
        "kind": E::KIND,
        "quick": opts.quick,
        "seconds": start.elapsed().as_secs_f64(),
        "threads": rayon::current_num_threads(),
        "depthscale_version": env!("CARGO_PKG_VERSION"),
        "results": results,
    });
    ctx.write(
        "summary.json",
        serde_json::to_string_pretty(&summary).expect("json values serialize"),
    )?;
    commit_output(&staging, &final_dir)?;
    Ok(RunReport {
        dir: final_dir,
        summary,
    })
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
