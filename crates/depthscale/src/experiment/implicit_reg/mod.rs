//! The `implicit-regularization` experiment: the first figure of *Implicit regularization of
//! deep residual networks towards neural ODEs* (Marion, Wu, Sander, Biau; ICLR 2024,
//! arXiv 2309.01213). With `beta = 1` and a smooth initialization, gradient descent keeps the
//! weights Lipschitz in the layer index at every training step, and the trained depth-`L`
//! network is the discretization of a trained neural ODE.
//!
//! The model `x_{k+1} = x_k + (1/L) V_k act(W_k x_k)` (no embedding or readout: inputs and
//! targets live in the width-`d` space), `V_k` `d x m` zero and `W_k = W_0` (`m x d`, i.i.d.
//! `N(0, w_std^2)`: the paper's script draws `torch.randn`, so `w_std = 1`) in every layer; `n`
//! Gaussian inputs and targets; the mean-squared error over the `n d` entries; full-batch
//! gradient descent at learning rate `lr L` ([`gd`]). Every tested depth and the reference
//! depth `N` train in lockstep (one rayon job per network per step, in a fixed order), so that
//! each step compares every network with the reference without storing the reference's
//! history.
//!
//! Measured per depth and step (`results.csv`): the loss, `max_k ||Z_{k+1} - Z_k||_F` for
//! `Z = V`, `W` and the pair `(V, W)`, and the distance to the reference network as functions
//! of `t = k/L` (root mean square and maximum over `k`). Per depth (`depths.csv`): their maxima
//! over steps; fitted log-log slopes against `L` in `summary.json` (theory: `-1` for both).
//! A network whose loss, increments or distance become non-finite (a too large `lr` or
//! `w_std`) is diverged: its maxima are null, it is left out of the fits, and the summary
//! names it (`diverged`, `diverged_depths`, `warnings`).

mod figures;
pub mod gd;
#[cfg(test)]
mod tests;

use super::presets::preset_toml;
use super::reproduce::{Claim, claims};
use super::store::{self, Record, float, opt_float};
use super::{Experiment, Grid, RunContext};
use super::{Preset, Reproduce};
use crate::accept;
use crate::budget::{Footprint, bytes};
use crate::experiment::summary::{ImplicitRegSummary, finite, rest};
use crate::kernels::{Backend, with_backend};
use crate::limits::{Fit, loglog_fit};
use crate::model::Activation;
use crate::progress::Progress;
use crate::stats::{DepthCorrectedSlope, depth_corrected_slope};
use crate::{Error, Result, rng};
use gd::{Distance, GdNet, Increments, Problem, distance, increments};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

/// Stream tag of the experiment's draws (`rng::stream(seed, &[TAG, s])`: inputs 0, targets 1,
/// `W_0` 2).
const TAG: u64 = 0x696d_706c;

/// Config of an `implicit-regularization` experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImplicitRegConfig {
    /// Seed of the data and of `W_0`.
    #[serde(default)]
    pub seed: u64,
    /// Width `d` (dimension of the inputs and targets), `1..=256`.
    #[serde(default = "default_width")]
    pub width: usize,
    /// Inner width `m` (`W_k`: `m x d`, `V_k`: `d x m`), `1..=1024`.
    #[serde(default = "default_inner_width")]
    pub inner_width: usize,
    /// Activation (the paper: `gelu`).
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Tested depths `L` (at least two, each in `2..=reference_depth`).
    pub depth: Grid,
    /// Depth `N` of the reference network (the paper: `2^14`), `2..=2^20`.
    #[serde(default = "default_reference_depth")]
    pub reference_depth: usize,
    /// Number of training samples `n`, `1..=100000`.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Gradient-descent steps, `1..=100000`.
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// The depth-`L` network trains at learning rate `lr L` (`lr` finite, positive).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Standard deviation of the entries of `W_0` (finite, `>= 0`).
    #[serde(default = "default_w_std")]
    pub w_std: f64,
}

fn default_width() -> usize {
    16
}
fn default_inner_width() -> usize {
    32
}
fn default_activation() -> Activation {
    Activation::Gelu
}
fn default_reference_depth() -> usize {
    1 << 14
}
fn default_samples() -> usize {
    100
}
fn default_steps() -> usize {
    50
}
/// The learning rate's depth factor `L` (the network of depth `L` trains at `lr L`); `1` under
/// the mutant test's `gd-lr`.
fn gd_depth_factor(depth: usize) -> f64 {
    if crate::mutant::is(crate::mutant::Mutant::GdLrDepth) {
        1.0
    } else {
        depth as f64
    }
}

fn default_lr() -> f64 {
    0.01
}
fn default_w_std() -> f64 {
    1.0
}

/// `--quick`: the reference depth at most this, depths at most a quarter of it.
const QUICK_REFERENCE: usize = 1 << 10;
/// `--quick`: at most this many steps.
const QUICK_STEPS: usize = 10;

/// One row of `results.csv`: network `depth` after `step` updates.
#[derive(Clone, Copy, Debug)]
struct Row {
    loss: f64,
    inc: Increments,
    dist: Option<Distance>,
}

/// A row of `depths.csv`: a tested depth's maxima over steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct DepthRow {
    depth: usize,
    reference_depth: usize,
    #[serde(with = "float")]
    max_increment: f64,
    #[serde(with = "float")]
    max_increment_v: f64,
    #[serde(with = "float")]
    max_increment_w: f64,
    #[serde(with = "float")]
    max_increment_rss: f64,
    #[serde(with = "float")]
    max_distance_rms: f64,
    #[serde(with = "float")]
    max_distance_sup: f64,
    /// The loss at the last step (empty when the network has no row).
    #[serde(with = "opt_float")]
    final_loss: Option<f64>,
}

impl Record for DepthRow {
    const COLUMNS: &'static [&'static str] = &[
        "depth",
        "reference_depth",
        "max_increment",
        "max_increment_v",
        "max_increment_w",
        "max_increment_rss",
        "max_distance_rms",
        "max_distance_sup",
        "final_loss",
    ];
}

/// A row of `results.csv`: one network at one step; the reference's distances are empty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ResultRow {
    depth: usize,
    reference: bool,
    step: usize,
    #[serde(with = "float")]
    loss: f64,
    #[serde(with = "float")]
    max_increment: f64,
    #[serde(with = "float")]
    max_increment_v: f64,
    #[serde(with = "float")]
    max_increment_w: f64,
    #[serde(with = "float")]
    increment_rss: f64,
    #[serde(with = "opt_float")]
    distance_rms: Option<f64>,
    #[serde(with = "opt_float")]
    distance_sup: Option<f64>,
}

impl Record for ResultRow {
    const COLUMNS: &'static [&'static str] = &[
        "depth",
        "reference",
        "step",
        "loss",
        "max_increment",
        "max_increment_v",
        "max_increment_w",
        "increment_rss",
        "distance_rms",
        "distance_sup",
    ];
}

impl ImplicitRegConfig {
    /// The lockstep training on `backend`: the tested networks of `depths` and the reference
    /// (of depth `self.reference_depth`) take each gradient step together; their rows per step
    /// (loss, increments, distance to the reference), reference last.
    fn lockstep<B: Backend<f64>>(
        &self,
        backend: &B,
        problem: Problem<'_>,
        depths: &[usize],
        layer: usize,
        progress: &dyn Progress,
    ) -> Result<Vec<Vec<Row>>> {
        let n_ref = self.reference_depth;
        // the tested networks, then the reference, all in lockstep
        let mut nets: Vec<GdNet<B>> = depths
            .iter()
            .chain([&n_ref])
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|&l| GdNet::new(backend.clone(), problem, l, self.lr * gd_depth_factor(l)))
            .collect();
        let mut rows: Vec<Vec<Row>> = vec![Vec::with_capacity(self.steps + 1); nets.len()];
        for t in 0..=self.steps {
            crate::progress::check_cancelled(progress)?;
            let grads = t < self.steps;
            let measured: Vec<(f64, Increments)> = nets
                .par_iter_mut()
                .map(|net| {
                    let loss = net.evaluate(grads);
                    let (v, w) = net.weights();
                    (loss, increments(v, w, layer))
                })
                .collect();
            crate::progress::check_cancelled(progress)?;
            let (tested, reference) = nets.split_at_mut(depths.len());
            let refw = reference[0].weights();
            let dists: Vec<Distance> = tested
                .par_iter_mut()
                .map(|net| {
                    let l = net.depth();
                    distance(net.weights(), refw, layer, l, n_ref)
                })
                .collect();
            for (i, (loss, inc)) in measured.into_iter().enumerate() {
                rows[i].push(Row {
                    loss,
                    inc,
                    dist: dists.get(i).copied(),
                });
            }
            if grads {
                crate::progress::check_cancelled(progress)?;
                nets.par_iter_mut().for_each(GdNet::step);
            }
            progress.advance(1);
        }
        progress.finish();
        Ok(rows)
    }

    /// The tested depths, ascending.
    fn depths(&self) -> Result<Vec<usize>> {
        let mut d = self.depth.integers("depth", 2)?;
        d.sort_unstable();
        d.dedup();
        Ok(d)
    }

    /// Inputs, targets (`d x n`) and `W_0` (`m x d`), each from its own stream.
    fn data(&self) -> [Vec<f64>; 3] {
        let (d, m, n) = (self.width, self.inner_width, self.samples);
        let draw = |s: u64, len: usize, scale: f64| {
            let mut r = rng::stream(self.seed, &[TAG, s]);
            (0..len)
                .map(|_| {
                    scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut r)
                })
                .collect::<Vec<f64>>()
        };
        [
            draw(0, d * n, 1.0),
            draw(1, d * n, 1.0),
            draw(2, m * d, self.w_std),
        ]
    }
}

impl Experiment for ImplicitRegConfig {
    const KIND: &'static str = "implicit-regularization";

    const PRESETS: &'static [Preset] = &[Preset {
        name: "implicit-regularization",
        toml: preset_toml!("implicit-regularization"),
        listed: 18,
        reproduce: Some(Reproduce {
            place: 17,
            quick: None,
            quick_seconds: 3.0,
            full_seconds: 36.0,
            data: false,
            claim: "Follow-up (ICLR 2024): with beta = 1 and a smooth initialization, gradient descent keeps the trained weights Lipschitz in the layer index (max_k ||Z_(k+1) - Z_k|| ~ 1/L at every step) and the depth-L network within O(1/L) of a much deeper one: a neural ODE after training.",
        }),
    }];

    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        claims::collect(
            preset,
            dir,
            summary,
            reduced,
            claims::of_implicit_regularization,
        )
    }

    fn validate(&self) -> Result<()> {
        accept::integers(&[
            ("width", self.width, 1..=256),
            ("inner_width", self.inner_width, 1..=1024),
            ("reference_depth", self.reference_depth, 2..=1 << 20),
            ("samples", self.samples, 1..=100_000),
            ("steps", self.steps, 1..=100_000),
        ])?;
        let depths = self.depths()?;
        if depths.len() < 2 {
            return Err(Error::config(
                "depth",
                "give at least two depths to fit a slope",
            ));
        }
        if let Some(bad) = depths.iter().find(|&&l| l > self.reference_depth) {
            return Err(Error::config(
                "depth",
                format!(
                    "depth {bad} exceeds the reference depth {}: the reference must be the \
                     deepest network",
                    self.reference_depth
                ),
            ));
        }
        accept::positive("lr", self.lr)?;
        accept::non_negative("w_std", self.w_std)
    }

    /// The reference depth capped at `2^10`, the depths at most a quarter of it, at most 10
    /// steps (the preset: depths 2..256, 3 s of CPU; slopes within 0.1 of the full size's).
    fn quick(&mut self) {
        self.reference_depth = self.reference_depth.min(QUICK_REFERENCE);
        if let Ok(d) = self.depths() {
            let keep: Vec<f64> = d
                .iter()
                .filter(|&&l| l <= self.reference_depth / 4)
                .map(|&l| l as f64)
                .collect();
            if keep.len() >= 2 {
                self.depth = Grid::List(keep);
            }
        }
        self.steps = self.steps.min(QUICK_STEPS);
    }

    fn footprint(&self) -> Result<Footprint> {
        let (d, m, n) = (self.width, self.inner_width, self.samples);
        let layers: usize = self
            .depths()?
            .iter()
            .fold(self.reference_depth, |a, &l| a.saturating_add(l));
        let rows = (self.depths()?.len() + 1).saturating_mul(self.steps + 1);
        Ok(Footprint::default()
            .memory(
                "reference_depth",
                "every network's weights, and its gradients per half of the batch (6 x d x \
                 inner_width f64 per layer)",
                bytes(48, &[layers, d, m]),
            )
            .memory(
                "samples",
                "every network's tape (d + inner_width values per layer and sample)",
                bytes(8, &[layers, d + m, n]),
            )
            .disk(
                "steps",
                "results.csv (about 200 bytes per row)",
                bytes(200, &[rows]),
            )
            .disk("depth", "the figures", 8 << 20))
    }

    type Summary = ImplicitRegSummary;

    fn run(&self, ctx: &RunContext) -> Result<ImplicitRegSummary> {
        let depths = self.depths()?;
        let n_ref = self.reference_depth;
        let [x, y, w0] = self.data();
        let problem = Problem {
            x: &x,
            y: &y,
            w0: &w0,
            width: self.width,
            inner_width: self.inner_width,
            activation: self.activation,
        };
        let layer = self.width * self.inner_width;
        ctx.progress.start(
            &format!(
                "{} steps of depths {depths:?} and the reference depth {n_ref}",
                self.steps
            ),
            self.steps as u64 + 1,
        );
        let rows = with_backend!(&ctx.backend, be => {
            self.lockstep(be, problem, &depths, layer, ctx.progress)
        })?;
        let all_depths: Vec<usize> = depths.iter().copied().chain([n_ref]).collect();
        write_results(ctx, &all_depths, &rows)?;
        let t = Tables::new(&depths, n_ref, &rows);
        t.write_depths(ctx, n_ref, &rows)?;
        figures::draw(ctx, self, &t, &rows)?;
        let reference = rows.last().expect("the reference's rows");
        let warnings = divergence_warnings(&depths, n_ref, &rows);
        let diverged_depths: Vec<usize> = depths
            .iter()
            .zip(&rows)
            .filter(|(_, r)| diverged_at(r).is_some())
            .map(|(l, _)| *l)
            .collect();
        let reference_max_increment = match diverged_at(reference) {
            Some(_) => f64::NAN,
            None => reference.iter().map(|r| r.inc.z).fold(0.0, f64::max),
        };
        Ok(ImplicitRegSummary {
            max_increment_slope: t.inc_fit.map(|f| f.slope).and_then(finite),
            max_increment_fit: t.inc_corrected,
            distance_slope: t.dist_fit.map(|f| f.slope).and_then(finite),
            distance_effective_fit: t.dist_effective,
            initial_loss: rows[0][0].loss,
            final_loss: rows
                .iter()
                .map(|r| r.last().map(|x| x.loss).and_then(finite))
                .collect(),
            rest: rest(json!({
            "diverged": !warnings.is_empty(),
            "diverged_depths": diverged_depths,
            "reference_diverged": diverged_at(reference).is_some(),
            "warnings": warnings,
            "depths": depths,
            "reference_depth": n_ref,
            "width": self.width,
            "inner_width": self.inner_width,
            "samples": self.samples,
            "steps": self.steps,
            "learning_rate": format!("{} L", self.lr),
            "norm": "||Z||_F = sqrt(||V||_F^2 + ||W||_F^2) for Z = (V, W)",
            "distance": "distance to the reference: root mean square over k of ||Z^L_k - Z^N_{floor(kN/L)}||_F, its maximum over steps",
            "max_increment": t.max_inc,
            "max_increment_v": t.max_inc_v,
            "max_increment_w": t.max_inc_w,
            "expected_increment_slope": -1.0,
            "increment_rss_slope": t.rss_fit.map(|f| f.slope),
            "distance_rms": t.dist_rms,
            "distance_sup": t.dist_sup,
            "distance_sup_slope": t.sup_fit.map(|f| f.slope),
            "expected_distance_slope": -1.0,
            "reference_max_increment": reference_max_increment,
            })),
        })
    }
}

/// Per-depth maxima over steps and their log-log fits against the depth.
struct Tables {
    depths: Vec<usize>,
    max_inc: Vec<f64>,
    max_inc_v: Vec<f64>,
    max_inc_w: Vec<f64>,
    max_rss: Vec<f64>,
    dist_rms: Vec<f64>,
    dist_sup: Vec<f64>,
    inc_fit: Option<Fit>,
    /// The max increment's depth-corrected slope (a `1 / L` term absorbed).
    inc_corrected: Option<DepthCorrectedSlope>,
    /// The distance's log-log fits against the effective depth `L_eff = L N / (N - L)` (`N`
    /// the reference depth): a depth-`L` network and the reference both sit `O(1/L)` and
    /// `O(1/N)` from the limit, on the same side, so their distance goes like
    /// `1/L - 1/N = 1/L_eff`.
    dist_effective: Option<DepthCorrectedSlope>,
    rss_fit: Option<Fit>,
    dist_fit: Option<Fit>,
    sup_fit: Option<Fit>,
}

impl Row {
    /// Whether every measured value is finite.
    fn finite(&self) -> bool {
        let i = &self.inc;
        [self.loss, i.z, i.v, i.w, i.rss]
            .iter()
            .chain(self.dist.as_ref().map(|d| [d.rms, d.sup]).iter().flatten())
            .all(|x| x.is_finite())
    }
}

/// The first step at which a network's measurements were not all finite (`None`: never).
fn diverged_at(rows: &[Row]) -> Option<usize> {
    rows.iter().position(|r| !r.finite())
}

/// One line per diverged network (the reference last), for the summary's `warnings`.
fn divergence_warnings(depths: &[usize], n_ref: usize, rows: &[Vec<Row>]) -> Vec<String> {
    depths
        .iter()
        .chain([&n_ref])
        .zip(rows)
        .enumerate()
        .filter_map(|(i, (l, r))| {
            diverged_at(r).map(|t| {
                let who = if i == depths.len() {
                    format!("the reference network (depth {l})")
                } else {
                    format!("depth {l}")
                };
                format!(
                    "{who} diverged: a loss, increment or distance is not finite from step {t} on; its maxima are null and it is left out of the fits"
                )
            })
        })
        .collect()
}

impl Tables {
    fn new(depths: &[usize], n_ref: usize, rows: &[Vec<Row>]) -> Self {
        // a diverged network's maxima are NaN (null in the summary), so no fit uses them
        let max = |f: &dyn Fn(&Row) -> f64| -> Vec<f64> {
            rows[..depths.len()]
                .iter()
                .map(|r| match diverged_at(r) {
                    Some(_) => f64::NAN,
                    None => r.iter().map(f).fold(0.0, f64::max),
                })
                .collect()
        };
        let max_inc = max(&|r| r.inc.z);
        let max_rss = max(&|r| r.inc.rss);
        let dist_rms = max(&|r| r.dist.map_or(0.0, |d| d.rms));
        let dist_sup = max(&|r| r.dist.map_or(0.0, |d| d.sup));
        let as_f64: Vec<f64> = depths.iter().map(|&l| l as f64).collect();
        // the effective depth of each tested depth below the reference's
        let (effective, dist): (Vec<f64>, Vec<f64>) = depths
            .iter()
            .zip(&dist_rms)
            .filter(|&(&l, _)| l < n_ref)
            .map(|(&l, d)| {
                let (l, n) = (l as f64, n_ref as f64);
                (l * n / (n - l), *d)
            })
            .unzip();
        Self {
            depths: depths.to_vec(),
            inc_corrected: depth_corrected_slope(&as_f64, &max_inc),
            dist_effective: depth_corrected_slope(&effective, &dist),
            inc_fit: loglog_fit(depths, &max_inc),
            rss_fit: loglog_fit(depths, &max_rss),
            dist_fit: loglog_fit(depths, &dist_rms),
            sup_fit: loglog_fit(depths, &dist_sup),
            max_inc_v: max(&|r| r.inc.v),
            max_inc_w: max(&|r| r.inc.w),
            max_inc,
            max_rss,
            dist_rms,
            dist_sup,
        }
    }

    /// `depths.csv`: one row per tested depth, the maxima over steps.
    fn write_depths(&self, ctx: &RunContext, n_ref: usize, rows: &[Vec<Row>]) -> Result<()> {
        let table: Vec<DepthRow> = self
            .depths
            .iter()
            .enumerate()
            .map(|(i, &depth)| DepthRow {
                depth,
                reference_depth: n_ref,
                max_increment: self.max_inc[i],
                max_increment_v: self.max_inc_v[i],
                max_increment_w: self.max_inc_w[i],
                max_increment_rss: self.max_rss[i],
                max_distance_rms: self.dist_rms[i],
                max_distance_sup: self.dist_sup[i],
                final_loss: rows[i].last().map(|r| r.loss),
            })
            .collect();
        store::rewrite(&ctx.path("depths.csv"), &table)
    }
}

/// `results.csv`: one row per network and step (the reference last, without distances).
fn write_results(ctx: &RunContext, depths: &[usize], rows: &[Vec<Row>]) -> Result<()> {
    let mut table = Vec::new();
    for (i, (&depth, r)) in depths.iter().zip(rows).enumerate() {
        let reference = i + 1 == depths.len();
        for (step, row) in r.iter().enumerate() {
            table.push(ResultRow {
                depth,
                reference,
                step,
                loss: row.loss,
                max_increment: row.inc.z,
                max_increment_v: row.inc.v,
                max_increment_w: row.inc.w,
                increment_rss: row.inc.rss,
                distance_rms: row.dist.map(|d| d.rms),
                distance_sup: row.dist.map(|d| d.sup),
            });
        }
    }
    store::rewrite(&ctx.path("results.csv"), &table)
}
