//! The tables of a limit study, each stage computed from the one before only:
//! per-path rows ([`PathRecord`]s, `results.csv`) -> per-cell means over paths ([`Cells`],
//! `cells.csv`) -> log-log fits of the cells ([`Fits`], `summary.json`); path 0's trajectories
//! ([`Trajectories`], `trajectories.csv`) are kept alongside. Figures and summaries read
//! [`Tables`] and nothing else.

use super::study::{LevelRecord, PathRecord, Trajectory};
pub use crate::stats::{Fit, loglog_fit};
use crate::stats::{ks_distance, mean_ci95, wasserstein1};

/// Mean and 95% half-width of one measurement, per case and depth.
pub type Table = Vec<Vec<(f64, f64)>>;

/// The study's measurements averaged over paths, one cell per (case, depth).
#[derive(Clone, Debug)]
pub struct Cells {
    /// Tested depths.
    pub depths: Vec<usize>,
    /// Scalings, paired first.
    pub betas: Vec<f64>,
    /// `E max_k ||h_k - H(k/L)||`, `[case][depth]`.
    pub strong: Table,
    /// `E ||h_L - H(1)||`.
    pub terminal: Table,
    /// `E ||h_L - h_0||`.
    pub displacement: Table,
    /// Number of paths on which the network's state stopped being finite, `[case][depth]`.
    pub exploded: Vec<Vec<usize>>,
    /// `E ||H(1) - h_0||` of the limit.
    pub limit_displacement: (f64, f64),
    /// Kolmogorov-Smirnov distance between the networks' `||h_L|| / ||h_0||` and the limit's,
    /// `[case][depth]` (the samples are coupled: sample `p` of both uses path `p`).
    pub ks: Vec<Vec<f64>>,
    /// Wasserstein-1 distance, same samples.
    pub w1: Vec<Vec<f64>>,
}

/// Path 0's trajectories: the limit's and every kept network's.
#[derive(Clone, Debug, Default)]
pub struct Trajectories {
    /// The limit's trajectory (at most ~2000 points).
    pub limit: Trajectory,
    /// `(case, depth, trajectory)`, sorted by case then depth.
    pub networks: Vec<(usize, usize, Trajectory)>,
}

/// The log-log fits of the cells against depth.
#[derive(Clone, Debug)]
pub struct Fits {
    /// Strong error, per case.
    pub strong: Vec<Option<Fit>>,
    /// Terminal error, per case.
    pub terminal: Vec<Option<Fit>>,
    /// Displacement `E ||h_L - h_0||`, per case.
    pub displacement: Vec<Option<Fit>>,
    /// Wasserstein-1 distance of the paired networks to the limit.
    pub w1: Option<Fit>,
    /// Strong error of the paired networks over the (up to) four largest depths.
    pub strong_tail: Option<Fit>,
    /// The depths of `strong_tail`.
    pub tail_depths: Vec<usize>,
}

/// Everything a limit study reports: rows, cells, fits and trajectories.
#[derive(Clone, Debug)]
pub struct Tables {
    /// Tested depths, ascending.
    pub depths: Vec<usize>,
    /// Scalings, the driver's natural one first.
    pub betas: Vec<f64>,
    /// The per-path rows, in path order.
    pub rows: Vec<PathRow>,
    /// Means over paths.
    pub cells: Cells,
    /// Fits of the cells.
    pub fits: Fits,
    /// Path 0's trajectories.
    pub trajectories: Trajectories,
    /// Path 0: `max_j ||H_N - H_{N/2}||` of the reference solver (see [`PathRecord`]).
    pub reference_check: Option<f64>,
}

/// The rows of one path: every network's distances to the limit and the limit's own norms.
#[derive(Clone, Debug)]
pub struct PathRow {
    /// `levels[case][i]`: the network of scaling `betas[case]` at depth `depths[i]`.
    pub levels: Vec<Vec<LevelRecord>>,
    /// `||H(1)|| / ||h_0||` of the limit.
    pub limit_ratio: f64,
    /// `||H(1) - h_0|| / ||h_0||` of the limit.
    pub limit_displacement: f64,
}

impl Tables {
    /// The tables of the records of paths `0, 1, ..` (in that order) of a study with `depths`
    /// and `betas`.
    ///
    /// # Panics
    /// If `records` is empty or a record's levels are not shaped `betas x depths`.
    pub fn new(depths: Vec<usize>, betas: Vec<f64>, records: Vec<PathRecord>) -> Self {
        assert!(!records.is_empty(), "a study has at least one path");
        for r in &records {
            assert!(
                r.levels.len() == betas.len() && r.levels.iter().all(|l| l.len() == depths.len()),
                "records must hold one level per case and depth"
            );
        }
        let mut records = records;
        let first = &mut records[0];
        let trajectories = Trajectories {
            limit: first.limit_trajectory.take().unwrap_or_default(),
            networks: std::mem::take(&mut first.trajectories),
        };
        let reference_check = first.reference_check;
        let rows: Vec<PathRow> = records
            .into_iter()
            .map(|r| PathRow {
                levels: r.levels,
                limit_ratio: r.limit_ratio,
                limit_displacement: r.limit_displacement,
            })
            .collect();
        let cells = Cells::new(&depths, &betas, &rows);
        let fits = Fits::new(&cells);
        Self {
            depths,
            betas,
            rows,
            cells,
            fits,
            trajectories,
            reference_check,
        }
    }

    /// `||h_L|| / ||h_0||` of the network of `case` at depth index `i`, one per path.
    pub fn ratios(&self, case: usize, i: usize) -> Vec<f64> {
        self.rows.iter().map(|r| r.levels[case][i].ratio).collect()
    }

    /// `||H(1)|| / ||h_0||` of the limit, one per path.
    pub fn limit_ratios(&self) -> Vec<f64> {
        self.rows.iter().map(|r| r.limit_ratio).collect()
    }
}

fn column(rows: &[PathRow], f: impl Fn(&PathRow) -> f64) -> Vec<f64> {
    rows.iter().map(f).collect()
}

impl Cells {
    /// Averages the rows over paths.
    pub fn new(depths: &[usize], betas: &[f64], rows: &[PathRow]) -> Self {
        let cases = betas.len();
        let nd = depths.len();
        let table = |f: fn(&LevelRecord) -> f64| -> Table {
            (0..cases)
                .map(|c| {
                    (0..nd)
                        .map(|i| mean_ci95(&column(rows, |r| f(&r.levels[c][i]))))
                        .collect()
                })
                .collect()
        };
        let exploded = (0..cases)
            .map(|c| {
                (0..nd)
                    .map(|i| {
                        rows.iter()
                            .filter(|r| !r.levels[c][i].ratio.is_finite())
                            .count()
                    })
                    .collect()
            })
            .collect();
        let limit_ratio = column(rows, |r| r.limit_ratio);
        let (ks, w1) = (0..cases)
            .map(|c| {
                (0..nd)
                    .map(|i| {
                        let net = column(rows, |r| r.levels[c][i].ratio);
                        (
                            ks_distance(&net, &limit_ratio),
                            wasserstein1(&net, &limit_ratio),
                        )
                    })
                    .unzip()
            })
            .unzip();
        Self {
            depths: depths.to_vec(),
            betas: betas.to_vec(),
            strong: table(|l| l.strong),
            terminal: table(|l| l.terminal),
            displacement: table(|l| l.displacement),
            exploded,
            limit_displacement: mean_ci95(&column(rows, |r| r.limit_displacement)),
            ks,
            w1,
        }
    }
}

/// The means of one row of a [`Table`].
pub fn means(row: &[(f64, f64)]) -> Vec<f64> {
    row.iter().map(|m| m.0).collect()
}

impl Fits {
    /// Fits every mean of the cells against depth.
    pub fn new(cells: &Cells) -> Self {
        let d = &cells.depths;
        let per_case = |t: &Table| -> Vec<Option<Fit>> {
            t.iter().map(|row| loglog_fit(d, &means(row))).collect()
        };
        let k = d.len().min(4);
        let tail = d.len() - k;
        Self {
            strong: per_case(&cells.strong),
            terminal: per_case(&cells.terminal),
            displacement: per_case(&cells.displacement),
            w1: loglog_fit(d, &cells.w1[0]),
            strong_tail: loglog_fit(&d[tail..], &means(&cells.strong[0][tail..])),
            tail_depths: d[tail..].to_vec(),
        }
    }
}
