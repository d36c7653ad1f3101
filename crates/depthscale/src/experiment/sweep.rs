//! Training sweeps over learning rate x Hurst index x beta (the paper's Figure 9), resumable and
//! shardable, and [`merge`] to join shard outputs.
//!
//! Cells are listed `lr`-major, then `hurst`, then `beta` (config order); cell `k` belongs to
//! shard `k % n`. Every cell trains with the config's `seed` (common random numbers: at one Hurst
//! index all learning rates and betas start from the same weights and see the same batches), so
//! a cell's result depends only on its coordinates, never on the shard, the order or the thread
//! count. Cells run in parallel, one per rayon thread, each single-threaded inside.
//!
//! Files: `cells.csv` (one row per finished cell) and `metrics.csv` (one row per epoch of a
//! finished cell) are appended and flushed as each cell ends, so a killed sweep loses at most
//! the cells in flight; rerunning the same command resumes it (see
//! [`super::Experiment::resumable`]): a partially written last line is cut off, epoch rows of
//! unfinished cells are dropped and finished cells are skipped. At the end both files are
//! rewritten in cell order and `accuracy.png/svg` shows, for each `(H, beta)`, the best final
//! test accuracy over learning rates (diverged runs count as 0; grey: no cell run).

use super::runner::{commit_output, first_difference, prepare_output, summary_json, typed};
use super::train_run::{
    DataSource, RunStats, append_csv, default_batch_size, default_dataset, default_depth,
    default_epochs, default_lr_gamma, default_lr_step, default_width, epoch_cells, num, parse_init,
};
use super::{CsvOut, Experiment, Grid, RunContext, RunReport, cell};
use crate::paths::Init;
use crate::plot::{self, Heatmap, LineStyle, Panel, Series};
use crate::progress::{Progress, Silent};
use crate::train::data::Dataset;
use crate::train::{TrainConfig, train};
use crate::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// Columns of `cells.csv`.
pub const CELL_COLUMNS: [&str; 12] = [
    "lr",
    "hurst",
    "beta",
    "init_v",
    "status",
    "epochs_run",
    "final_train_loss",
    "final_test_loss",
    "final_test_accuracy",
    "best_test_accuracy",
    "best_epoch",
    "seconds",
];

/// Key columns that prefix each row of the sweep's `metrics.csv`.
const KEY_COLUMNS: [&str; 3] = ["lr", "hurst", "beta"];

/// Columns of the sweep's `metrics.csv`: the cell's key, then the per-epoch columns of `train` with the
/// epoch's scheduled learning rate renamed `epoch_lr`.
pub const METRICS_COLUMNS: [&str; 9] = [
    "lr",
    "hurst",
    "beta",
    "epoch",
    "epoch_lr",
    "train_loss",
    "test_loss",
    "test_accuracy",
    "seconds",
];

/// Config of a `sweep` experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Free text shown in figure titles.
    #[serde(default)]
    pub title: String,
    /// `mnist-10k` (bundled), `mnist`, `fashion-mnist` or `cifar10`.
    #[serde(default = "default_dataset")]
    pub dataset: String,
    /// Directory (or CIFAR-10 archive) of a dataset other than `mnist-10k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    /// Train on the first `n` training images only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_samples: Option<usize>,
    /// Evaluate on the first `n` test images only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_samples: Option<usize>,
    /// Seed of every cell (see the module doc).
    #[serde(default)]
    pub seed: u64,
    /// Initial learning rates (each positive).
    pub lr: Grid,
    /// Hurst indices, each in (0, 1), substituted into `init_v = "fbm"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hurst: Option<Grid>,
    /// Residual scale exponents: `alpha_L = L^-beta`.
    pub beta: Grid,
    /// Law of `V` over depth: `fbm` (H from `hurst`), or a fixed law (uniform, fbm(H), rbf(BW), ...).
    #[serde(default = "default_sweep_init")]
    pub init_v: String,
    /// Number of residual layers `L`.
    #[serde(default = "default_depth")]
    pub depth: usize,
    /// Hidden width `d`.
    #[serde(default = "default_width")]
    pub width: usize,
    /// Passes over the training set.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Mini-batch size.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Epochs between learning-rate decays.
    #[serde(default = "default_lr_step")]
    pub lr_step: usize,
    /// Learning-rate decay factor.
    #[serde(default = "default_lr_gamma")]
    pub lr_gamma: f64,
}

fn default_sweep_init() -> String {
    "fbm".into()
}

/// The coordinates of one cell.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key {
    lr: f64,
    hurst: Option<f64>,
    beta: f64,
}

impl Key {
    fn bits(&self) -> (u64, u64, u64) {
        (
            self.lr.to_bits(),
            self.hurst.map_or(u64::MAX, f64::to_bits),
            self.beta.to_bits(),
        )
    }

    fn cells(&self) -> [String; 3] {
        [cell(Some(self.lr)), cell(self.hurst), cell(Some(self.beta))]
    }

    fn describe(&self) -> String {
        match self.hurst {
            Some(h) => format!("lr = {}, H = {h}, beta = {}", self.lr, self.beta),
            None => format!("lr = {}, beta = {}", self.lr, self.beta),
        }
    }

    /// Parses the three key fields of a record.
    fn parse(rec: &csv::StringRecord) -> std::result::Result<Self, String> {
        let f = |i: usize| -> std::result::Result<f64, String> {
            let s = rec.get(i).unwrap_or("");
            s.parse()
                .map_err(|_| format!("column {} holds {s:?}, not a number", KEY_COLUMNS[i]))
        };
        Ok(Self {
            lr: f(0)?,
            hurst: match rec.get(1) {
                Some("") | None => None,
                Some(_) => Some(f(1)?),
            },
            beta: f(2)?,
        })
    }
}

/// The validated grid of a sweep.
struct Plan {
    base: TrainConfig,
    lrs: Vec<f64>,
    hursts: Vec<Option<f64>>,
    betas: Vec<f64>,
    cells: Vec<Key>,
    index: HashMap<(u64, u64, u64), usize>,
}

impl Plan {
    /// Index of a key in the grid.
    fn find(&self, key: &Key) -> Option<usize> {
        self.index.get(&key.bits()).copied()
    }
}

/// One finished cell, as a row of `cells.csv`.
#[derive(Clone, Debug)]
struct CellRow {
    key: Key,
    init_v: String,
    status: String,
    epochs_run: usize,
    final_train_loss: f64,
    final_test_loss: f64,
    final_test_accuracy: f64,
    best_test_accuracy: f64,
    best_epoch: Option<usize>,
    seconds: f64,
}

impl CellRow {
    fn fields(&self) -> Vec<String> {
        let mut v = self.key.cells().to_vec();
        v.extend([
            self.init_v.clone(),
            self.status.clone(),
            self.epochs_run.to_string(),
            cell(Some(self.final_train_loss)),
            cell(Some(self.final_test_loss)),
            cell(Some(self.final_test_accuracy)),
            cell(Some(self.best_test_accuracy)),
            self.best_epoch.map_or(String::new(), |e| e.to_string()),
            cell(Some(self.seconds)),
        ]);
        v
    }

    fn parse(rec: &csv::StringRecord) -> std::result::Result<Self, String> {
        let key = Key::parse(rec)?;
        let get = |i: usize| rec.get(i).unwrap_or("");
        let float = |i: usize| -> std::result::Result<f64, String> {
            match get(i) {
                "" => Ok(f64::NAN),
                s => s
                    .parse()
                    .map_err(|_| format!("column {} holds {s:?}", CELL_COLUMNS[i])),
            }
        };
        let int = |i: usize| -> std::result::Result<usize, String> {
            get(i)
                .parse()
                .map_err(|_| format!("column {} holds {:?}", CELL_COLUMNS[i], get(i)))
        };
        let status = get(4).to_owned();
        if status != "ok" && status != "diverged" {
            return Err(format!("status {status:?} is neither ok nor diverged"));
        }
        Ok(Self {
            key,
            init_v: get(3).to_owned(),
            status,
            epochs_run: int(5)?,
            final_train_loss: float(6)?,
            final_test_loss: float(7)?,
            final_test_accuracy: float(8)?,
            best_test_accuracy: float(9)?,
            best_epoch: match get(10) {
                "" => None,
                _ => Some(int(10)?),
            },
            seconds: float(11)?,
        })
    }

    /// The value the heatmap maximizes over learning rates: the final test accuracy, 0 for a
    /// diverged run.
    fn score(&self) -> f64 {
        if self.status == "ok" {
            self.final_test_accuracy
        } else {
            0.0
        }
    }
}

/// Epoch rows of one cell in `metrics.csv`: its grid index, the epoch, the fields.
type EpochRow = (usize, usize, Vec<String>);

impl SweepConfig {
    fn data(&self) -> DataSource<'_> {
        DataSource {
            dataset: &self.dataset,
            data_dir: self.data_dir.as_deref(),
            train_samples: self.train_samples,
            test_samples: self.test_samples,
        }
    }

    fn init_for(&self, hurst: Option<f64>) -> Result<Init> {
        if self.init_v.trim() == "fbm" {
            let h = hurst.ok_or_else(|| {
                Error::config(
                    "init_v",
                    "plain `fbm` takes its Hurst index from a `hurst` grid; add one or write fbm(H)",
                )
            })?;
            let init = Init::Fbm { hurst: h };
            init.validate("hurst")?;
            return Ok(init);
        }
        parse_init("init_v", &self.init_v)
    }

    fn plan(&self) -> Result<Plan> {
        let distinct = |field: &str, v: Vec<f64>| -> Result<Vec<f64>> {
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            if s.windows(2).any(|w| w[0] == w[1]) {
                return Err(Error::config(field, "the grid holds a value twice"));
            }
            Ok(v)
        };
        let lrs = distinct("lr", self.lr.values("lr")?)?;
        if let Some(bad) = lrs.iter().find(|&&x| x <= 0.0) {
            return Err(Error::config(
                "lr",
                format!("learning rates must be positive, got {bad}"),
            ));
        }
        let betas = distinct("beta", self.beta.values("beta")?)?;
        let hursts: Vec<Option<f64>> = match &self.hurst {
            Some(g) => {
                let hs = distinct("hurst", g.values("hurst")?)?;
                if let Some(h) = hs.iter().find(|h| !(**h > 0.0 && **h < 1.0)) {
                    return Err(Error::config(
                        "hurst",
                        format!("Hurst indices must lie in (0, 1), got {h}"),
                    ));
                }
                if self.init_v.trim() != "fbm" {
                    return Err(Error::config(
                        "hurst",
                        "a hurst grid is given but init_v is not plain `fbm`; set init_v = \"fbm\" (or remove hurst)",
                    ));
                }
                hs.into_iter().map(Some).collect()
            }
            None => vec![None],
        };
        for &h in &hursts {
            self.init_for(h)?;
        }
        let base = TrainConfig {
            seed: self.seed,
            depth: self.depth,
            width: self.width,
            beta: betas[0],
            lr: lrs[0],
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr_step: self.lr_step,
            lr_gamma: self.lr_gamma,
            init_v: self.init_for(hursts[0])?,
        };
        base.validate()?;
        let mut cells = Vec::with_capacity(lrs.len() * hursts.len() * betas.len());
        for &lr in &lrs {
            for &hurst in &hursts {
                for &beta in &betas {
                    cells.push(Key { lr, hurst, beta });
                }
            }
        }
        let index = cells
            .iter()
            .enumerate()
            .map(|(i, k)| (k.bits(), i))
            .collect();
        Ok(Plan {
            base,
            lrs,
            hursts,
            betas,
            cells,
            index,
        })
    }

    fn cell_config(&self, plan: &Plan, key: &Key) -> Result<TrainConfig> {
        Ok(TrainConfig {
            lr: key.lr,
            beta: key.beta,
            init_v: self.init_for(key.hurst)?,
            ..plan.base.clone()
        })
    }

    /// Trains one cell; returns its row and its epoch rows.
    fn run_cell(
        &self,
        plan: &Plan,
        data: &Dataset,
        idx: usize,
    ) -> Result<(CellRow, Vec<EpochRow>)> {
        let key = plan.cells[idx];
        let cfg = self.cell_config(plan, &key)?;
        let out = train(&cfg, data, &Silent, &mut |_| {})?;
        let stats = RunStats::of(&out.metrics, out.diverged);
        let epochs = out
            .metrics
            .iter()
            .map(|m| {
                let mut f = key.cells().to_vec();
                f.extend(epoch_cells(&cfg, m));
                (idx, m.epoch, f)
            })
            .collect();
        let row = CellRow {
            key,
            init_v: cfg.init_v.to_string(),
            status: stats.status().into(),
            epochs_run: stats.epochs_run,
            final_train_loss: stats.last_or_nan(|m| m.train_loss),
            final_test_loss: stats.last_or_nan(|m| m.test_loss),
            final_test_accuracy: stats.last_or_nan(|m| m.test_accuracy),
            best_test_accuracy: stats.best.map_or(f64::NAN, |m| m.test_accuracy),
            best_epoch: stats.best.map(|m| m.epoch),
            seconds: stats.seconds,
        };
        Ok((row, epochs))
    }
}

/// The bytes of `bytes` up to and including the last newline (an appended CSV file's complete
/// lines).
fn complete_lines(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&[][..], |i| &bytes[..=i])
}

/// The records of an appended CSV file with the given header; a missing file is empty. A
/// partially written last line is ignored, and cut off the file when `repair`.
fn read_records(path: &Path, header: &[&str], repair: bool) -> Result<Vec<csv::StringRecord>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let complete = complete_lines(&bytes);
    if repair && complete.len() < bytes.len() {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        f.set_len(complete.len() as u64)
            .map_err(|e| Error::io(path, e))?;
    }
    if complete.is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(complete);
    let found = reader
        .headers()
        .map_err(|e| Error::data(path, format!("unreadable CSV header: {e}")))?
        .clone();
    if found.iter().ne(header.iter().copied()) {
        return Err(Error::data(
            path,
            format!(
                "header is `{}`, expected `{}`",
                found.iter().collect::<Vec<_>>().join(","),
                header.join(",")
            ),
        ));
    }
    reader
        .records()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| Error::data(path, format!("line {}: {e}", i + 2))))
        .collect()
}

/// The finished cells recorded in `dir/cells.csv`, keyed by grid index (first row of a key
/// kept).
fn read_cells(plan: &Plan, dir: &Path, repair: bool) -> Result<Vec<(usize, CellRow)>> {
    let path = dir.join("cells.csv");
    let mut out: Vec<(usize, CellRow)> = Vec::new();
    let mut seen = vec![false; plan.cells.len()];
    for (i, rec) in read_records(&path, &CELL_COLUMNS, repair)?
        .iter()
        .enumerate()
    {
        let row =
            CellRow::parse(rec).map_err(|m| Error::data(&path, format!("line {}: {m}", i + 2)))?;
        let idx = plan.find(&row.key).ok_or_else(|| {
            Error::data(
                &path,
                format!(
                    "line {}: cell ({}) is not in the config's grid",
                    i + 2,
                    row.key.describe()
                ),
            )
        })?;
        if !seen[idx] {
            seen[idx] = true;
            out.push((idx, row));
        }
    }
    Ok(out)
}

/// The epoch rows of `dir/metrics.csv` whose cell is accepted by `keep` (first row of each
/// `(cell, epoch)` kept).
fn read_epochs(
    plan: &Plan,
    dir: &Path,
    repair: bool,
    keep: impl Fn(usize) -> bool,
) -> Result<Vec<EpochRow>> {
    let path = dir.join("metrics.csv");
    let header = METRICS_COLUMNS;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, rec) in read_records(&path, &header, repair)?.iter().enumerate() {
        let bad = |m: String| Error::data(&path, format!("line {}: {m}", i + 2));
        let key = Key::parse(rec).map_err(bad)?;
        let epoch: usize = rec
            .get(3)
            .unwrap_or("")
            .parse()
            .map_err(|_| bad("column epoch is not an integer".into()))?;
        let Some(idx) = plan.find(&key) else {
            return Err(bad(format!(
                "cell ({}) is not in the config's grid",
                key.describe()
            )));
        };
        if keep(idx) && seen.insert((idx, epoch)) {
            out.push((idx, epoch, rec.iter().map(str::to_owned).collect()));
        }
    }
    Ok(out)
}

/// Writes `rows` to `path` through a temporary file renamed over it.
fn rewrite(path: &Path, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut csv = CsvOut::create(&tmp)?;
    csv.row(header)?;
    for r in rows {
        csv.row(&r)?;
    }
    csv.finish()?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Writes the sorted `cells.csv` and `metrics.csv`, the figures, and returns the summary.
fn finish(
    cfg: &SweepConfig,
    plan: &Plan,
    dir: &Path,
    mut cells: Vec<(usize, CellRow)>,
    mut epochs: Vec<EpochRow>,
) -> Result<serde_json::Value> {
    cells.sort_by_key(|(i, _)| *i);
    epochs.sort_by_key(|(i, e, _)| (*i, *e));
    rewrite(
        &dir.join("cells.csv"),
        &CELL_COLUMNS,
        cells.iter().map(|(_, r)| r.fields()),
    )?;
    let header = METRICS_COLUMNS;
    rewrite(
        &dir.join("metrics.csv"),
        &header,
        epochs.into_iter().map(|(_, _, f)| f),
    )?;
    let best = best_over_lr(plan, &cells);
    draw(cfg, plan, dir, &cells, &best)?;
    let diverged = cells.iter().filter(|(_, r)| r.status != "ok").count();
    let best_json: Vec<serde_json::Value> = best
        .iter()
        .map(|b| {
            serde_json::json!({
                "hurst": b.hurst, "beta": b.beta,
                "best_lr": b.lr, "test_accuracy": num(b.score),
                "cells_done": b.done,
            })
        })
        .collect();
    let overall = best
        .iter()
        .filter(|b| b.score.is_finite())
        .max_by(|a, b| a.score.total_cmp(&b.score));
    Ok(serde_json::json!({
        "cells_total": plan.cells.len(),
        "cells_done": cells.len(),
        "cells_diverged": diverged,
        "init_v": cfg.init_v,
        "dataset": cfg.dataset.trim(),
        "best_over_lr": best_json,
        "best_overall": overall.map(|b| serde_json::json!({
            "hurst": b.hurst, "beta": b.beta, "lr": b.lr, "test_accuracy": num(b.score)
        })),
    }))
}

/// The best score over learning rates at one `(hurst, beta)`.
struct Best {
    hurst: Option<f64>,
    beta: f64,
    /// Best score (`NaN` when no cell of this pair is done).
    score: f64,
    /// The learning rate achieving it.
    lr: Option<f64>,
    /// Cells of this pair done.
    done: usize,
}

fn best_over_lr(plan: &Plan, cells: &[(usize, CellRow)]) -> Vec<Best> {
    let mut out = Vec::new();
    for &hurst in &plan.hursts {
        for &beta in &plan.betas {
            let mut b = Best {
                hurst,
                beta,
                score: f64::NAN,
                lr: None,
                done: 0,
            };
            for (_, r) in cells
                .iter()
                .filter(|(_, r)| r.key.hurst == hurst && r.key.beta == beta)
            {
                b.done += 1;
                let s = r.score();
                if b.lr.is_none() || s > b.score || (b.score.is_nan() && !s.is_nan()) {
                    b.score = s;
                    b.lr = Some(r.key.lr);
                }
            }
            out.push(b);
        }
    }
    out
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

/// `accuracy.png/svg` (and `accuracy_per_lr.png/svg` over a Hurst grid).
fn draw(
    cfg: &SweepConfig,
    plan: &Plan,
    dir: &Path,
    cells: &[(usize, CellRow)],
    best: &[Best],
) -> Result<()> {
    let betas = sorted(&plan.betas);
    let title = if cfg.title.is_empty() {
        format!(
            "Best test accuracy over learning rates ({}, L = {}, {} epoch{})",
            cfg.dataset.trim(),
            cfg.depth,
            cfg.epochs,
            if cfg.epochs == 1 { "" } else { "s" }
        )
    } else {
        cfg.title.clone()
    };
    let score = |h: Option<f64>, b: f64| {
        best.iter()
            .find(|x| x.hurst == h && x.beta == b)
            .map_or(f64::NAN, |x| x.score)
    };
    let lr_score = |lr: f64, h: Option<f64>, b: f64| {
        cells
            .iter()
            .find(|(_, r)| r.key.lr == lr && r.key.hurst == h && r.key.beta == b)
            .map_or(f64::NAN, |(_, r)| r.score())
    };
    let done = cells.len();
    let total = plan.cells.len();
    let subtitle = if done < total {
        format!(" [{done}/{total} cells]")
    } else {
        String::new()
    };
    if plan.hursts[0].is_none() {
        // A fixed law: accuracy against beta, one line per learning rate.
        let mut series = vec![Series {
            label: "best over lr".into(),
            x: betas.clone(),
            y: betas.iter().map(|&b| score(None, b)).collect(),
            style: LineStyle::Solid,
            markers: true,
            band: None,
        }];
        for &lr in &sorted(&plan.lrs) {
            series.push(Series {
                label: format!("lr = {lr}"),
                x: betas.clone(),
                y: betas.iter().map(|&b| lr_score(lr, None, b)).collect(),
                style: LineStyle::Dashed,
                markers: false,
                band: None,
            });
        }
        return plot::line_panels(
            &dir.join("accuracy"),
            &title,
            &[Panel {
                title: format!("V ~ {} (diverged runs count as 0){subtitle}", cfg.init_v),
                x_label: "beta".into(),
                y_label: "final test accuracy".into(),
                log_x: false,
                log_y: false,
                series,
            }],
            1,
        );
    }
    let hursts: Vec<f64> = sorted(
        &plan
            .hursts
            .iter()
            .map(|h| h.expect("hurst grid"))
            .collect::<Vec<_>>(),
    );
    let critical = Series {
        label: "beta = max(H, 1/2)".into(),
        x: hursts.clone(),
        y: hursts.iter().map(|h| h.max(0.5)).collect(),
        band: None,
        style: LineStyle::Dashed,
        markers: false,
    };
    let map = |title: String, value: &dyn Fn(f64, f64) -> f64| Heatmap {
        title,
        x_label: "Hurst index H of the initial weights".into(),
        y_label: "beta".into(),
        x: hursts.clone(),
        y: betas.clone(),
        values: betas
            .iter()
            .flat_map(|&b| hursts.iter().map(move |&h| (h, b)))
            .map(|(h, b)| value(h, b))
            .collect(),
        range: (0.0, 1.0),
        diverging: false,
        colorbar_label: "test accuracy".into(),
        overlays: vec![critical.clone()],
    };
    plot::heatmaps(
        &dir.join("accuracy"),
        &title,
        &[map(
            format!("best over lr (diverged = 0, grey = not run){subtitle}"),
            &|h, b| score(Some(h), b),
        )],
    )?;
    let per_lr: Vec<Heatmap> = sorted(&plan.lrs)
        .iter()
        .map(|&lr| map(format!("lr = {lr}"), &|h, b| lr_score(lr, Some(h), b)))
        .collect();
    plot::heatmaps(
        &dir.join("accuracy_per_lr"),
        "Final test accuracy per learning rate (diverged = 0, grey = not run)",
        &per_lr,
    )
}

impl Experiment for SweepConfig {
    const KIND: &'static str = "sweep";

    fn validate(&self) -> Result<()> {
        self.data().validate()?;
        self.plan().map(|_| ())
    }

    fn quick(&mut self) {
        self.lr.shrink(2);
        if let Some(h) = self.hurst.as_mut() {
            h.shrink(2);
        }
        self.beta.shrink(2);
        self.depth = self.depth.min(50);
        self.epochs = 1;
        self.train_samples = Some(self.train_samples.unwrap_or(usize::MAX).min(2000));
        self.test_samples = Some(self.test_samples.unwrap_or(usize::MAX).min(1000));
    }

    fn resumable(&self) -> bool {
        true
    }

    fn shardable(&self) -> bool {
        true
    }

    fn run(&self, ctx: &RunContext) -> Result<serde_json::Value> {
        let plan = self.plan()?;
        let (shard, n_shards) = ctx.shard.unwrap_or((0, 1));
        let done = read_cells(&plan, &ctx.dir, true)?;
        let mut is_done = vec![false; plan.cells.len()];
        for (i, _) in &done {
            is_done[*i] = true;
        }
        let epochs = read_epochs(&plan, &ctx.dir, true, |i| is_done[i])?;
        // Drop the epoch rows of cells that never finished before appending new ones.
        let header = METRICS_COLUMNS;
        rewrite(
            &ctx.path("metrics.csv"),
            &header,
            epochs.iter().map(|(_, _, f)| f.clone()),
        )?;
        let pending: Vec<usize> = (0..plan.cells.len())
            .filter(|i| i % n_shards == shard && !is_done[*i])
            .collect();
        let resumed = done.len();
        let mut new_cells = Vec::new();
        let mut new_epochs = Vec::new();
        let start = Instant::now();
        if !pending.is_empty() {
            let data = self.data().load(ctx.progress)?;
            let files = Mutex::new((
                append_csv(&ctx.path("cells.csv"), &CELL_COLUMNS)?,
                append_csv(&ctx.path("metrics.csv"), &header)?,
            ));
            ctx.progress.start("training cells", pending.len() as u64);
            let results: Vec<(CellRow, Vec<EpochRow>)> = pending
                .par_iter()
                .with_max_len(1)
                .map(|&idx| {
                    let (row, rows) = self.run_cell(&plan, &data, idx)?;
                    let mut f = files.lock().expect("cell files lock");
                    let (cells_csv, metrics_csv) = &mut *f;
                    for (_, _, r) in &rows {
                        metrics_csv.row(r)?;
                    }
                    metrics_csv.flush()?;
                    cells_csv.row(row.fields())?;
                    cells_csv.flush()?;
                    drop(f);
                    ctx.progress.advance(1);
                    ctx.progress.note(&format!(
                        "{}: {} {:.4}",
                        row.key.describe(),
                        row.status,
                        row.final_test_accuracy
                    ));
                    Ok((row, rows))
                })
                .collect::<Result<_>>()?;
            ctx.progress.finish();
            for (row, rows) in results {
                new_cells.push((plan.find(&row.key).expect("grid cell"), row));
                new_epochs.extend(rows);
            }
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let ran = new_cells.len();
        let mut cells = done;
        cells.extend(new_cells);
        let mut all_epochs = epochs;
        all_epochs.extend(new_epochs);
        let mut summary = finish(self, &plan, &ctx.dir, cells, all_epochs)?;
        summary["cells_in_shard"] = serde_json::json!(
            (0..plan.cells.len())
                .filter(|i| i % n_shards == shard)
                .count()
        );
        summary["cells_run_now"] = serde_json::json!(ran);
        summary["cells_found_done"] = serde_json::json!(resumed);
        summary["shard"] = match ctx.shard {
            Some((i, n)) => serde_json::json!(format!("{i}/{n}")),
            None => serde_json::Value::Null,
        };
        summary["train_seconds"] = serde_json::json!(train_seconds);
        Ok(summary)
    }
}

/// Joins the outputs of sweep runs with equal configs (e.g. the shards of one sweep) into `out`:
/// `config.toml`, `cells.csv` and `metrics.csv` (union of the finished cells; a cell found in
/// several directories with different results keeps the first directory's and is listed under
/// `conflicts` in `summary.json`), the figures and `summary.json`. `out` is staged like any run
/// and may then be resumed with `depthscale run <config> --out OUT` to fill missing cells.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    force: bool,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let Some(first) = dirs.first() else {
        return Err(Error::config(
            "merge",
            "give at least one sweep output directory",
        ));
    };
    let start = Instant::now();
    let read_config = |dir: &Path| -> Result<(String, toml::Table)> {
        let path = dir.join("config.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let table: toml::Table = toml::from_str(&text)
            .map_err(|e| Error::data(&path, format!("not valid TOML: {}", e.message().trim())))?;
        Ok((text, table))
    };
    let (text, table) = read_config(first)?;
    for dir in &dirs[1..] {
        let (_, other) = read_config(dir)?;
        if let Some(key) = first_difference(&table, &other) {
            return Err(Error::config(
                "merge",
                format!(
                    "{} has another config than {} (`{key}` differs); only outputs of the same sweep can be merged",
                    dir.display(),
                    first.display()
                ),
            ));
        }
    }
    let mut body = table.clone();
    match body.remove("kind") {
        Some(toml::Value::String(k)) if k == SweepConfig::KIND => {}
        other => {
            return Err(Error::config(
                "merge",
                format!(
                    "{} is not a sweep output (kind = {})",
                    first.display(),
                    other.map_or("missing".to_string(), |v| v.to_string())
                ),
            ));
        }
    }
    let cfg: SweepConfig = typed(body)?;
    let plan = cfg.plan()?;
    progress.start("merging sweep outputs", dirs.len() as u64);
    let mut source: Vec<Option<usize>> = vec![None; plan.cells.len()];
    let mut cells: Vec<(usize, CellRow)> = Vec::new();
    let mut conflicts = Vec::new();
    for (d, dir) in dirs.iter().enumerate() {
        for (idx, row) in read_cells(&plan, dir, false)? {
            match source[idx] {
                None => {
                    source[idx] = Some(d);
                    cells.push((idx, row));
                }
                Some(s) => {
                    let kept = &cells.iter().find(|(i, _)| *i == idx).expect("kept row").1;
                    let (a, b) = (kept.fields(), row.fields());
                    // everything but the wall-clock seconds must agree
                    if a[..a.len() - 1] != b[..b.len() - 1] {
                        conflicts.push(format!(
                            "cell ({}): {} and {} disagree; kept {}",
                            row.key.describe(),
                            dirs[s].display(),
                            dir.display(),
                            dirs[s].display()
                        ));
                    }
                }
            }
        }
        progress.advance(1);
    }
    let mut epochs = Vec::new();
    for (d, dir) in dirs.iter().enumerate() {
        epochs.extend(read_epochs(&plan, dir, false, |i| source[i] == Some(d))?);
    }
    progress.finish();
    let staging = prepare_output(out, force)?;
    let path = staging.join("config.toml");
    std::fs::write(&path, &text).map_err(|e| Error::io(&path, e))?;
    let mut results = finish(&cfg, &plan, &staging, cells, epochs)?;
    results["merged_from"] = serde_json::json!(
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
    );
    results["conflicts"] = serde_json::json!(conflicts);
    let summary = summary_json(
        "merge",
        SweepConfig::KIND,
        false,
        start.elapsed().as_secs_f64(),
        results,
    );
    let path = staging.join("summary.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&summary).expect("json values serialize"),
    )
    .map_err(|e| Error::io(&path, e))?;
    commit_output(&staging, out)?;
    Ok(RunReport {
        dir: out.to_owned(),
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{RunOptions, run_kind};

    /// The config text a sweep writes.
    fn config_text(cfg: &SweepConfig) -> String {
        super::super::runner::config_toml("t", false, SweepConfig::KIND, cfg).unwrap()
    }

    const TINY: &str = r#"
        lr = [0.01, 0.001]
        hurst = [0.3, 0.7]
        beta = [0.5, 1.0]
        depth = 40
        width = 8
        epochs = 1
        batch_size = 64
        train_samples = 256
        test_samples = 128
    "#;

    fn tiny() -> toml::Table {
        toml::from_str(TINY).unwrap()
    }

    fn run_to(dir: &Path, table: toml::Table, shard: Option<(usize, usize)>) -> Result<RunReport> {
        let opts = RunOptions {
            out: Some(dir.to_owned()),
            shard,
            ..Default::default()
        };
        run_kind("sweep", "t", table, &opts, &Silent)
    }

    /// The rows of a cells.csv without the `seconds` column, sorted.
    fn rows(dir: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(dir.join("cells.csv")).unwrap();
        let mut v: Vec<String> = text
            .lines()
            .skip(1)
            .map(|l| l.rsplit_once(',').unwrap().0.to_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn grid_order_and_validation() {
        let cfg: SweepConfig = typed(tiny()).unwrap();
        let plan = cfg.plan().unwrap();
        assert_eq!(plan.cells.len(), 8);
        assert_eq!(
            plan.cells[1],
            Key {
                lr: 0.01,
                hurst: Some(0.3),
                beta: 1.0
            }
        );
        assert_eq!(plan.cells[4].lr, 0.001);
        let bad = |k: &str, v: &str| {
            let mut t = tiny();
            crate::experiment::apply_override(&mut t, &format!("{k}={v}")).unwrap();
            match typed::<SweepConfig>(t).and_then(|c| c.validate()) {
                Err(Error::Config { field, .. }) => field,
                other => panic!("{k}={v}: {other:?}"),
            }
        };
        assert_eq!(bad("lr", "[0.1, -1]"), "lr");
        assert_eq!(bad("hurst", "[0.5, 1.0]"), "hurst");
        assert_eq!(bad("beta", "[0.5, 0.5]"), "beta");
        assert_eq!(bad("init_v", "uniform"), "hurst");
        assert_eq!(bad("depth", "0"), "depth");
        let mut t = tiny();
        t.remove("hurst");
        assert_eq!(
            match typed::<SweepConfig>(t).unwrap().validate() {
                Err(Error::Config { field, .. }) => field,
                other => panic!("{other:?}"),
            },
            "init_v"
        );
    }

    #[test]
    fn complete_lines_drop_a_partial_tail() {
        assert_eq!(complete_lines(b"a,b\n1,2\n3,"), b"a,b\n1,2\n");
        assert_eq!(complete_lines(b"a,b\n"), b"a,b\n");
        assert_eq!(complete_lines(b"a,b"), b"");
    }

    #[test]
    fn resumes_after_a_kill_without_duplicates_and_rejects_another_config() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        let first = run_to(&dir, tiny(), None).unwrap();
        assert_eq!(first.summary["results"]["cells_run_now"], 8);
        let full = rows(&dir);
        let cells_text = std::fs::read_to_string(dir.join("cells.csv")).unwrap();
        let metrics_text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        // Simulate a kill: the last cell's row is lost and half a row was being written; its
        // epoch row made it to metrics.csv.
        let mut lines: Vec<&str> = cells_text.lines().collect();
        let last = lines.pop().unwrap().to_owned();
        let mut cut = lines.join("\n");
        cut.push('\n');
        cut.push_str(&last[..last.len() / 2]);
        std::fs::write(dir.join("cells.csv"), cut).unwrap();
        std::fs::remove_file(dir.join("summary.json")).unwrap();
        let again = run_to(&dir, tiny(), None).unwrap();
        assert_eq!(again.summary["results"]["cells_run_now"], 1);
        assert_eq!(again.summary["results"]["cells_found_done"], 7);
        assert_eq!(rows(&dir), full);
        // metrics.csv: one row per (cell, epoch), same values
        let strip = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l.rsplit_once(',').unwrap().0.to_owned())
                .collect()
        };
        assert_eq!(
            strip(&std::fs::read_to_string(dir.join("metrics.csv")).unwrap()),
            strip(&metrics_text)
        );
        // A finished sweep rerun trains nothing.
        let third = run_to(&dir, tiny(), None).unwrap();
        assert_eq!(third.summary["results"]["cells_run_now"], 0);
        assert_eq!(rows(&dir), full);
        // Another config in the same directory is refused, naming the field.
        let mut other = tiny();
        other.insert("epochs".into(), toml::Value::Integer(2));
        let err = run_to(&dir, other, None).unwrap_err().to_string();
        assert!(err.contains("epochs") && err.contains("--force"), "{err}");
    }

    #[test]
    fn shards_merge_to_the_unsharded_sweep() {
        let tmp = tempfile::tempdir().unwrap();
        let all = tmp.path().join("all");
        run_to(&all, tiny(), None).unwrap();
        let s0 = tmp.path().join("s0");
        let s1 = tmp.path().join("s1");
        let r0 = run_to(&s0, tiny(), Some((0, 2))).unwrap();
        run_to(&s1, tiny(), Some((1, 2))).unwrap();
        assert_eq!(r0.summary["results"]["cells_done"], 4);
        assert_eq!(r0.summary["results"]["shard"], "0/2");
        assert_eq!(
            std::fs::read_to_string(s0.join("config.toml")).unwrap(),
            std::fs::read_to_string(s1.join("config.toml")).unwrap()
        );
        let merged = tmp.path().join("merged");
        let report = merge(&[s0.clone(), s1.clone()], &merged, false, &Silent).unwrap();
        assert_eq!(rows(&merged), rows(&all));
        assert_eq!(report.summary["results"]["cells_done"], 8);
        assert_eq!(
            report.summary["results"]["conflicts"]
                .as_array()
                .unwrap()
                .len(),
            0
        );
        for f in [
            "config.toml",
            "cells.csv",
            "metrics.csv",
            "accuracy.png",
            "accuracy.svg",
            "summary.json",
        ] {
            assert!(merged.join(f).is_file(), "{f}");
        }
        // Overlapping inputs are deduplicated.
        let twice = tmp.path().join("twice");
        merge(&[all.clone(), s0.clone()], &twice, false, &Silent).unwrap();
        assert_eq!(rows(&twice), rows(&all));
        // A merged directory resumes as a finished sweep.
        let r = run_to(&merged, tiny(), None).unwrap();
        assert_eq!(r.summary["results"]["cells_run_now"], 0);
        // Mismatched configs are refused, naming the directory.
        let other = tmp.path().join("other");
        let mut t = tiny();
        t.insert("seed".into(), toml::Value::Integer(3));
        t.insert("lr".into(), toml::Value::Float(0.01));
        t.insert("hurst".into(), toml::Value::Float(0.3));
        t.insert("beta".into(), toml::Value::Float(0.5));
        run_to(&other, t, None).unwrap();
        let err = merge(
            &[s0, other.clone()],
            &tmp.path().join("bad"),
            false,
            &Silent,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(&other.display().to_string()), "{err}");
        assert!(!tmp.path().join("bad").exists());
    }

    #[test]
    fn diverged_cells_are_recorded_and_the_sweep_goes_on() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        let mut t = tiny();
        t.insert("lr".into(), toml::Value::Float(0.01));
        t.insert("hurst".into(), toml::Value::Float(0.5));
        t.insert(
            "beta".into(),
            toml::Value::Array(vec![toml::Value::Float(-2.0), toml::Value::Float(0.5)]),
        );
        let r = run_to(&dir, t, None).unwrap();
        assert_eq!(r.summary["results"]["cells_diverged"], 1);
        let text = std::fs::read_to_string(dir.join("cells.csv")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].starts_with("0.01,0.5,-2,fbm(0.5),diverged,0,"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("0.01,0.5,0.5,fbm(0.5),ok,1,"),
            "{text}"
        );
        let best = &r.summary["results"]["best_over_lr"];
        assert_eq!(best[0]["test_accuracy"], 0.0);
        assert!(best[1]["test_accuracy"].as_f64().unwrap() > 0.2);
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let tmp = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        for threads in [1, 2] {
            let dir = tmp.path().join(threads.to_string());
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| run_to(&dir, tiny(), None).unwrap());
            out.push(rows(&dir));
        }
        assert_eq!(out[0], out[1]);
    }

    #[test]
    fn config_text_round_trips() {
        let cfg: SweepConfig = typed(tiny()).unwrap();
        let text = config_text(&cfg);
        let mut t: toml::Table = toml::from_str(&text).unwrap();
        t.remove("kind");
        let again: SweepConfig = typed(t).unwrap();
        assert_eq!(config_text(&again), text);
    }
}
