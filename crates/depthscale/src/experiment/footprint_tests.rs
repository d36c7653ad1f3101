//! The footprints of the experiments (issue 20):
//! - every numeric field of every preset, set to a huge (or tiny) value, goes through the dry
//!   run ([`super::check`]) and the footprint check without a panic: the run is refused in one
//!   typed error, or its estimated footprint fits the limits (item 12; the end-to-end
//!   counterpart, the binary under `ulimit -v` with the accepted runs started, is
//!   `crates/depthscale-cli/tests/abuse_lim.rs`);
//! - the disk estimate of a run is at least what it writes (item 18).

use super::{ConfigSource, PRESETS, RunOptions, check, run};
use crate::budget::{Limit, Limits};
use crate::{Error, Result};

/// The values tried for an integer field.
pub(crate) const HUGE_INTEGERS: [i64; 4] = [
    100_000_000,
    1_000_000_000_000,
    1_000_000_000_000_000_000,
    i64::MAX,
];

/// The values tried for a float field.
pub(crate) const HUGE_FLOATS: [f64; 3] = [1e300, -1e300, 1e-300];

/// One variant of a config: the dotted path of the changed field and the changed table.
pub(crate) struct Variant {
    /// `depth=1e300`, `beta.linspace.[2]=100000000`, `models.[0].beta=1e-300`, ...
    pub field: String,
    /// The whole table with that one value replaced.
    pub table: toml::Table,
}

/// Every variant of `table` with one numeric value (a scalar, an element of an array, a value
/// of a nested table) replaced by each of [`HUGE_INTEGERS`] or [`HUGE_FLOATS`].
pub(crate) fn variants(table: &toml::Table) -> Vec<Variant> {
    let mut out = Vec::new();
    let root = toml::Value::Table(table.clone());
    walk(&root, &mut Vec::new(), &mut |path, value| {
        let replacements: Vec<toml::Value> = match value {
            toml::Value::Integer(_) => HUGE_INTEGERS.iter().map(|&i| i.into()).collect(),
            toml::Value::Float(_) => HUGE_FLOATS.iter().map(|&x| x.into()).collect(),
            _ => return,
        };
        for r in replacements {
            let mut changed = root.clone();
            *at(&mut changed, path) = r.clone();
            let toml::Value::Table(table) = changed else {
                unreachable!("the root is a table")
            };
            out.push(Variant {
                field: format!("{}={r}", path.join(".")),
                table,
            });
        }
    });
    out
}

fn walk(value: &toml::Value, path: &mut Vec<String>, f: &mut dyn FnMut(&[String], &toml::Value)) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                path.push(k.clone());
                walk(v, path, f);
                path.pop();
            }
        }
        toml::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(format!("[{i}]"));
                walk(v, path, f);
                path.pop();
            }
        }
        leaf => f(path, leaf),
    }
}

fn at<'a>(value: &'a mut toml::Value, path: &[String]) -> &'a mut toml::Value {
    path.iter()
        .fold(value, |v, key| match key.strip_prefix('[') {
            Some(i) => &mut v.as_array_mut().expect("an array")
                [i.trim_end_matches(']').parse::<usize>().expect("an index")],
            None => v
                .as_table_mut()
                .expect("a table")
                .get_mut(key)
                .expect("a key"),
        })
}

/// A machine of this project's size: 24 GiB of memory, 50 GiB of disk.
fn machine() -> Limits {
    let limit = |gib: u64| Limit {
        bytes: gib << 30,
        source: "test".into(),
    };
    Limits {
        memory: Some(limit(24)),
        disk: Some(limit(50)),
    }
}

#[test]
fn every_numeric_field_of_every_preset_is_refused_or_fits_when_huge() {
    let mut failures = Vec::new();
    let mut tried = 0;
    for p in PRESETS.iter() {
        let base: toml::Table = toml::from_str(p.toml).unwrap();
        for v in variants(&base) {
            tried += 1;
            let source = ConfigSource {
                name: p.name.into(),
                table: v.table,
            };
            let outcome = std::panic::catch_unwind(|| -> Result<()> {
                check(source, &RunOptions::default())?.check(&machine())
            });
            match outcome {
                Err(_) => failures.push(format!("{} {}: panicked", p.name, v.field)),
                Ok(Ok(())) | Ok(Err(Error::Config { .. } | Error::TooLarge { .. })) => {}
                Ok(Err(e)) => {
                    failures.push(format!("{} {}: unexpected error {e}", p.name, v.field))
                }
            }
        }
    }
    assert!(tried > 200, "only {tried} variants");
    assert!(
        failures.is_empty(),
        "{} of {tried}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The bytes of the files under `dir`, recursively.
fn written(dir: &std::path::Path) -> u128 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                written(&e.path())
            } else {
                u128::from(meta.len())
            }
        })
        .sum()
}

#[test]
fn the_disk_estimate_covers_what_quick_runs_write() {
    let tmp = tempfile::tempdir().unwrap();
    let mut short = Vec::new();
    for name in [
        "fig6",
        "sde",
        "coord-check",
        "fig1",
        "implicit-regularization",
        "fig2",
        "fig7",
        "ode",
        "fbm-limit",
        "fig8",
        "train",
        "transfer",
        "transfer-phase",
        "fig9",
        "ode-after-training",
        "fig1-correlated",
        "adjoint",
    ] {
        let opts = RunOptions {
            quick: true,
            out: Some(tmp.path().join(name)),
            limits: Some(Limits::unlimited()),
            ..RunOptions::default()
        };
        let estimate = check(ConfigSource::resolve(name).unwrap(), &opts)
            .unwrap()
            .disk_bytes();
        let report = run(
            ConfigSource::resolve(name).unwrap(),
            &opts,
            &crate::progress::Silent,
        )
        .unwrap();
        let wrote = written(&report.dir);
        if estimate < wrote {
            short.push(format!(
                "{name}: estimated {estimate} bytes of disk, wrote {wrote}"
            ));
        }
    }
    assert!(short.is_empty(), "{}", short.join("\n"));
}
