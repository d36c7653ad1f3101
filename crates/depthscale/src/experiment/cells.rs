//! What the resumable, shardable grid experiments (`sweep`, `transfer`) share: which cells a
//! shard still has to run, the driver that runs and records them ([`run_pending`],
//! [`annotate_run`]), and the union of the cells recorded by several shard directories.

use crate::Result;
use crate::experiment::summary::Rest;
use crate::progress::{Progress, check_cancelled};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The indices `i < n_cells` of shard `shard` of `n_shards` (`i % n_shards == shard`) that are
/// not yet `done`, in increasing order.
pub fn pending(n_cells: usize, (shard, n_shards): (usize, usize), done: &[bool]) -> Vec<usize> {
    (0..n_cells)
        .filter(|&i| i % n_shards == shard && !done.get(i).copied().unwrap_or(false))
        .collect()
}

/// Which of `n_cells` cells are recorded in `done` (`(cell index, row)`), and the indices shard
/// `shard` still has to run ([`pending`]).
pub fn resume<R>(
    n_cells: usize,
    shard: (usize, usize),
    done: &[(usize, R)],
) -> (Vec<bool>, Vec<usize>) {
    let mut is_done = vec![false; n_cells];
    for (i, _) in done {
        is_done[*i] = true;
    }
    let todo = pending(n_cells, shard, &is_done);
    (is_done, todo)
}

/// `"i/n"` for a shard, JSON null for an unsharded run (the `shard` field of `summary.json`).
pub fn shard_label(shard: Option<(usize, usize)>) -> serde_json::Value {
    match shard {
        Some((i, n)) => serde_json::json!(format!("{i}/{n}")),
        None => serde_json::Value::Null,
    }
}

/// Runs the `pending` cells of a grid in parallel (one cell per rayon task): each through
/// `run_cell(index)`, then, under one lock on `files` (the experiment's appenders), `record`
/// writes and fsyncs its rows (a cell counts as done once they are on disk, so a kill loses
/// only the cells in flight), and `progress` advances by one with `note(result)`. Returns
/// `(cell index, result)` in the order of `pending`; the first error, or a cancelled
/// `progress` (checked before each cell), stops the run.
pub fn run_pending<F: Send, T: Send>(
    pending: &[usize],
    progress: &dyn Progress,
    files: F,
    run_cell: impl Fn(usize) -> Result<T> + Sync,
    record: impl Fn(&mut F, &T) -> Result<()> + Sync,
    note: impl Fn(&T) -> String + Sync,
) -> Result<Vec<(usize, T)>> {
    let files = Mutex::new(files);
    progress.start("training cells", pending.len() as u64);
    let results = pending
        .par_iter()
        .with_max_len(1)
        .map(|&idx| {
            check_cancelled(progress)?;
            let result = run_cell(idx)?;
            let mut f = files.lock().expect("cell files lock");
            record(&mut f, &result)?;
            drop(f);
            progress.advance(1);
            progress.note(&note(&result));
            Ok((idx, result))
        })
        .collect::<Result<_>>()?;
    progress.finish();
    Ok(results)
}

/// Records in `rest` (`summary.json`'s results) how shard `shard` (`None`: the whole grid) of
/// a grid of `n_cells` cells went: `cells_in_shard`, `cells_run_now` (`ran`),
/// `cells_found_done` (`resumed`), `shard` ([`shard_label`]) and `train_seconds`.
pub fn annotate_run(
    rest: &mut Rest,
    n_cells: usize,
    shard: Option<(usize, usize)>,
    ran: usize,
    resumed: usize,
    train_seconds: f64,
) {
    let (i, n) = shard.unwrap_or((0, 1));
    rest.insert(
        "cells_in_shard".into(),
        serde_json::json!((0..n_cells).filter(|c| c % n == i).count()),
    );
    rest.insert("cells_run_now".into(), serde_json::json!(ran));
    rest.insert("cells_found_done".into(), serde_json::json!(resumed));
    rest.insert("shard".into(), shard_label(shard));
    rest.insert("train_seconds".into(), serde_json::json!(train_seconds));
}

/// The union of the cells recorded in several output directories.
#[derive(Debug)]
pub struct MergedCells<R> {
    /// Every cell found, once: `(cell index, row)`, from the first input that recorded it.
    pub cells: Vec<(usize, R)>,
    /// For each cell index, the input (position in `inputs`) its row was taken from.
    pub source: Vec<Option<usize>>,
    /// One line per cell on which two inputs disagree (the first input's row is kept).
    pub conflicts: Vec<String>,
    /// One line per input that contributed no cell.
    pub warnings: Vec<String>,
    /// Per input: its directory, the cells it lists and the new cells it added.
    pub contributions: Vec<serde_json::Value>,
    /// The shard count `n` the inputs ran with (`"i/n"` in their `summary.json`), if any says.
    pub shards: Option<usize>,
}

/// The shard `(i, n)` recorded in `dir/summary.json` (`results.shard = "i/n"`), if any.
fn recorded_shard(dir: &Path) -> Option<(usize, usize)> {
    let bytes =
        super::output::read_capped(&dir.join("summary.json"), 256 << 20, "summary.json").ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let (i, n) = v["results"]["shard"].as_str()?.split_once('/')?;
    Some((i.parse().ok()?, n.parse().ok()?))
}

impl<R> MergedCells<R> {
    /// The indices of the cells no input recorded, in increasing order.
    pub fn missing(&self) -> Vec<usize> {
        (0..self.source.len())
            .filter(|&i| self.source[i].is_none())
            .collect()
    }

    /// The shards (indices `i` of `n`, [`Self::shards`]) that own a missing cell: the ones to
    /// run again. Empty when nothing is missing or the shard count is unknown.
    pub fn missing_shards(&self) -> Vec<usize> {
        let Some(n) = self.shards else {
            return Vec::new();
        };
        let mut s: Vec<usize> = self.missing().iter().map(|i| i % n).collect();
        s.dedup();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// Records the conflicts, contributions, warnings, the missing cells' count and the
    /// shards owning them in `summary` (an object).
    pub fn annotate(&self, summary: &mut crate::experiment::summary::Rest) {
        let mut put = |key: &str, value: serde_json::Value| {
            summary.insert(key.into(), value);
        };
        put("cells_missing", serde_json::json!(self.missing().len()));
        put("shards", serde_json::json!(self.shards));
        put("missing_shards", serde_json::json!(self.missing_shards()));
        put("conflicts", serde_json::json!(self.conflicts));
        put("inputs", serde_json::json!(self.contributions));
        put("warnings", serde_json::json!(self.warnings));
    }
}

/// Reads the finished cells of every input with `read` (`(cell index < n_cells, row)`) and
/// joins them: a cell recorded twice is kept from the first input, and `same` decides whether
/// the two rows agree (`describe` names a disagreeing cell). One progress step per input.
pub fn merge<R>(
    inputs: &[PathBuf],
    n_cells: usize,
    progress: &dyn Progress,
    read: impl Fn(&Path) -> Result<Vec<(usize, R)>>,
    same: impl Fn(&R, &R) -> bool,
    describe: impl Fn(usize, &R) -> String,
) -> Result<MergedCells<R>> {
    let mut merged = MergedCells {
        cells: Vec::new(),
        source: vec![None; n_cells],
        conflicts: Vec::new(),
        warnings: Vec::new(),
        contributions: Vec::new(),
        shards: None,
    };
    // position of each cell index in `merged.cells`
    let mut position: Vec<usize> = vec![usize::MAX; n_cells];
    progress.start("merging outputs", inputs.len() as u64);
    for (d, dir) in inputs.iter().enumerate() {
        let found = read(dir)?;
        if let Some((_, n)) = recorded_shard(dir) {
            merged.shards.get_or_insert(n);
        }
        let (listed, mut added) = (found.len(), 0);
        for (idx, row) in found {
            match merged.source[idx] {
                None => {
                    merged.source[idx] = Some(d);
                    position[idx] = merged.cells.len();
                    merged.cells.push((idx, row));
                    added += 1;
                }
                Some(s) => {
                    if !same(&merged.cells[position[idx]].1, &row) {
                        merged.conflicts.push(format!(
                            "cell ({}): {} and {} disagree; kept {}",
                            describe(idx, &row),
                            inputs[s].display(),
                            dir.display(),
                            inputs[s].display()
                        ));
                    }
                }
            }
        }
        if listed == 0 {
            let why = if dir.join("cells.csv").is_file() {
                "its cells.csv lists no finished cell"
            } else {
                "it has no cells.csv"
            };
            merged
                .warnings
                .push(format!("{} contributed no cells ({why})", dir.display()));
        }
        merged.contributions.push(serde_json::json!({
            "dir": dir.display().to_string(), "cells": listed, "new_cells": added,
        }));
        progress.advance(1);
    }
    progress.finish();
    Ok(merged)
}

/// Helpers shared by the tests of the cell-based kinds (`sweep`, `transfer`).
#[cfg(test)]
pub(crate) mod testing {
    use crate::Result;
    use crate::experiment::{RunOptions, RunReport, run_kind};
    use crate::progress::Silent;
    use std::path::Path;

    /// Runs `kind` on `table` into `dir` (as shard `shard` when given), silently.
    pub(crate) fn run_to(
        kind: &str,
        dir: &Path,
        table: toml::Table,
        shard: Option<(usize, usize)>,
    ) -> Result<RunReport> {
        let opts = RunOptions {
            out: Some(dir.to_owned()),
            shard,
            ..Default::default()
        };
        run_kind(kind, "t", table, &opts, &Silent)
    }

    /// The rows of `dir/cells.csv` without their last column (`seconds`), in file order.
    pub(crate) fn rows_without_seconds(dir: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(dir.join("cells.csv")).unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.rsplit_once(',').unwrap().0.to_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    #[test]
    fn pending_cells_follow_the_shard_and_skip_done_ones() {
        let done = [true, false, false, false, true, false];
        assert_eq!(pending(6, (0, 1), &done), vec![1, 2, 3, 5]);
        assert_eq!(pending(6, (1, 2), &done), vec![1, 3, 5]);
        assert_eq!(pending(6, (0, 2), &done), vec![2]);
    }

    #[test]
    fn merge_keeps_the_first_row_and_reports_conflicts_and_empty_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let inputs: Vec<PathBuf> = ["a", "b", "c"].iter().map(|n| dir.path().join(n)).collect();
        let read = |p: &Path| -> Result<Vec<(usize, i32)>> {
            Ok(match p.file_name().unwrap().to_str().unwrap() {
                "a" => vec![(0, 10), (2, 12)],
                "b" => vec![(2, 99), (1, 11)],
                _ => vec![],
            })
        };
        let m = merge(
            &inputs,
            3,
            &Silent,
            read,
            |a, b| a == b,
            |i, _| format!("#{i}"),
        )
        .unwrap();
        assert_eq!(m.cells, vec![(0, 10), (2, 12), (1, 11)]);
        assert_eq!(m.source, vec![Some(0), Some(1), Some(0)]);
        assert_eq!(m.conflicts.len(), 1);
        assert!(
            m.conflicts[0].starts_with("cell (#2): "),
            "{}",
            m.conflicts[0]
        );
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].contains("it has no cells.csv"));
        assert_eq!(m.contributions[1]["new_cells"], 1);
    }
}
