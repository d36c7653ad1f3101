//! The initialization probe experiments: the paper's Figures 1-5 (norms of hidden states and
//! gradients against depth), Figure 2 (their distribution) and Figure 7 (the phase diagram over
//! Hurst index and scaling exponent).
//!
//! The data flows through four stages, each reading only what the one before produced:
//! 1. rows ([`rows`]): weight draws sharing `(depth, hurst)` are probed together in batches
//!    (one forward and one backward stack per batch), every `(beta, sample)` column of a draw
//!    in the same batched products; one [`rows::Row`] per column, written to `results.csv`;
//! 2. cells ([`cells`]): the rows of each `(depth, hurst, beta)` aggregated, `cells.csv`;
//! 3. tables ([`tables`]): the critical beta per `(depth, hurst)` (`critical.csv`) and the
//!    depth-curve summary, always computed and written to `summary.json`, whatever figures are
//!    requested;
//! 4. figures ([`figures`]): drawn from the rows, cells and tables only.
//!
//! Batches run in parallel; each draw's random streams depend only on
//! `(seed, depth, hurst, draw)` ([`crate::model::NetworkStreams`]), so results are identical
//! for any number of threads and any batching.

mod cells;
mod figures;
mod presets;
mod rows;
mod table;
mod tables;

pub use table::ProbeTable;

pub(crate) use tables::{closed_form_h_diff, critical_beta};

use super::Preset;
use super::reproduce::{Claim, claims};
use super::{Experiment, Grid, LawSpec, RunContext};
use crate::experiment::summary::{ProbeSummary, rest};
use crate::model::{Activation, BlockKind, BlockSpec};
use crate::paths::Init;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which figures a probe experiment draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeFigure {
    /// Mean and 95% band of each measurement against depth, one panel per beta (Figures 1, 3-5).
    DepthCurves,
    /// Histograms of `h_ratio` and `g_ratio` (Figure 2).
    Histograms,
    /// Heatmaps of mean `log10 h_diff` and `log10 g_diff` over (Hurst, beta) (Figure 7).
    PhaseDiagram,
}

/// Config of a `probe` experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// Free text shown in figure titles.
    #[serde(default)]
    pub title: String,
    /// Seed of every random draw.
    #[serde(default)]
    pub seed: u64,
    /// Residual block: `res1` (`h + a V act(h)`) or `res3` (`h + a V act(W h)`).
    #[serde(default = "default_model")]
    pub model: BlockKind,
    /// Activation: relu, tanh, sigmoid, identity, leaky_relu(SLOPE).
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Hidden width `d`.
    #[serde(default = "default_width")]
    pub width: usize,
    /// Input dimension (`x ~ U[0,1]^n_in`).
    #[serde(default = "default_n_in")]
    pub n_in: usize,
    /// Output dimension (`y ~ U[0,1]^n_out`).
    #[serde(default = "default_n_out")]
    pub n_out: usize,
    /// Depths `L`.
    pub depth: Grid,
    /// Scaling exponents: `alpha_L = L^-beta`.
    pub beta: Grid,
    /// Hurst indices substituted into an init written as plain `fbm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hurst: Option<Grid>,
    /// Law of `V` over depth: uniform, gaussian, rademacher, fbm (H from `hurst`), fbm(H), rbf(BW), rbf(BW, increments).
    #[serde(default = "default_init")]
    pub init_v: LawSpec,
    /// Law of `W` over depth (res3 only), same choices.
    #[serde(default = "default_init")]
    pub init_w: LawSpec,
    /// Independent weight draws per (depth, hurst).
    pub draws: usize,
    /// Samples `(x, y)` per (draw, beta).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Figures to draw.
    #[serde(default)]
    pub figures: Vec<ProbeFigure>,
    /// Also probe the uncorrelated counterpart (every `correlated(X)` law replaced by `X`, same
    /// seed and streams, so each correlated draw is its counterpart's entries mixed by `C`) and
    /// report both in `summary.json` (`correlation`) and `cells_uncorrelated.csv`. Needs a
    /// correlated init.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compare_uncorrelated: bool,
}

fn default_model() -> BlockKind {
    BlockKind::Res3
}
fn default_activation() -> Activation {
    Activation::Relu
}
fn default_width() -> usize {
    40
}
fn default_n_in() -> usize {
    64
}
fn default_n_out() -> usize {
    1
}
fn default_init() -> LawSpec {
    LawSpec::Fixed(Init::Uniform)
}
fn default_samples() -> usize {
    1
}

/// The laws of `V` and `W` for one entry of the Hurst grid.
#[derive(Clone, Copy, Debug)]
struct Laws {
    /// The Hurst index (`None` when no init depends on a Hurst grid).
    hurst: Option<f64>,
    /// Law of `V`.
    v: Init,
    /// Law of `W` (`None` for `res1`).
    w: Option<Init>,
}

/// The validated, typed form of a [`ProbeConfig`]: what every stage reads.
struct Plan {
    block: BlockSpec,
    width: usize,
    n_in: usize,
    n_out: usize,
    depths: Vec<usize>,
    betas: Vec<f64>,
    /// One entry per Hurst index (a single one without a Hurst grid).
    laws: Vec<Laws>,
    draws: usize,
    samples: usize,
}

impl Plan {
    /// Whether a law correlates the entries of a layer.
    fn correlated(&self) -> bool {
        self.laws
            .iter()
            .any(|l| l.v.is_correlated() || l.w.is_some_and(|w| w.is_correlated()))
    }

    /// The same plan with every law uncorrelated ([`Init::uncorrelated`]).
    fn uncorrelated(&self) -> Plan {
        let laws = self
            .laws
            .iter()
            .map(|l| Laws {
                hurst: l.hurst,
                v: l.v.uncorrelated(),
                w: l.w.map(Init::uncorrelated),
            })
            .collect();
        Plan {
            laws,
            depths: self.depths.clone(),
            betas: self.betas.clone(),
            ..*self
        }
    }

    /// The Hurst grid (`[None]` without one).
    fn hursts(&self) -> Vec<Option<f64>> {
        self.laws.iter().map(|l| l.hurst).collect()
    }

    /// Columns probed per draw: every `(beta, sample)`.
    fn columns(&self) -> usize {
        self.betas.len().saturating_mul(self.samples)
    }

    /// The second-moment ratio `m2` of the closed form `sqrt((1 + m2 L^{-2 beta})^L - 1)` of the
    /// root-mean-square `h_diff`, where it applies: res3 with a positively homogeneous
    /// activation and i.i.d. symmetric weights of variance `1/d`.
    fn closed_form_m2(&self) -> Option<f64> {
        let iid = |i: Init| matches!(i, Init::Uniform | Init::Gaussian | Init::Rademacher);
        let laws = self.laws.iter().all(|l| iid(l.v) && l.w.is_some_and(iid));
        if self.block.inner && laws {
            self.block.activation.second_moment_ratio()
        } else {
            None
        }
    }
}

impl ProbeConfig {
    fn plan(&self) -> Result<Plan> {
        let block = self.model.spec(self.activation, false);
        crate::accept::positive_integers(&[
            ("width", self.width),
            ("n_in", self.n_in),
            ("n_out", self.n_out),
            ("draws", self.draws),
            ("samples", self.samples),
        ])?;
        let (width, n_in, n_out) = (self.width, self.n_in, self.n_out);
        let (draws, samples) = (self.draws, self.samples);
        let depths = self.depth.integers("depth", 1)?;
        let betas = self.beta.values("beta")?;
        let uses_grid = self.init_v.uses_grid() || (block.inner && self.init_w.uses_grid());
        let hursts: Vec<Option<f64>> = match &self.hurst {
            Some(g) => {
                let hs = g.values("hurst")?;
                if let Some(h) = hs.iter().find(|h| !(**h > 0.0 && **h < 1.0)) {
                    return Err(Error::config(
                        "hurst",
                        format!("Hurst indices must lie in (0, 1), got {h}"),
                    ));
                }
                if !uses_grid {
                    return Err(Error::config(
                        "hurst",
                        "a hurst grid is given but no init is plain `fbm`; set init_v = \"fbm\" (or remove hurst)",
                    ));
                }
                hs.into_iter().map(Some).collect()
            }
            None => vec![None],
        };
        let laws = hursts
            .into_iter()
            .map(|hurst| {
                Ok(Laws {
                    hurst,
                    v: self.init_v.at("init_v", hurst)?,
                    w: if block.inner {
                        Some(self.init_w.at("init_w", hurst)?)
                    } else {
                        None
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if self.figures.contains(&ProbeFigure::PhaseDiagram) && self.hurst.is_none() {
            return Err(Error::config(
                "figures",
                "phase_diagram needs a `hurst` grid",
            ));
        }
        let plan = Plan {
            block,
            width,
            n_in,
            n_out,
            depths,
            betas,
            laws,
            draws,
            samples,
        };
        if self.compare_uncorrelated && !plan.correlated() {
            return Err(Error::config(
                "compare_uncorrelated",
                "needs a correlated init (init_v or init_w = \"correlated(...)\")",
            ));
        }
        Ok(plan)
    }

    /// The figure title: the config's, or `default`.
    fn figure_title(&self, default: &str) -> String {
        if self.title.is_empty() {
            default.to_owned()
        } else {
            self.title.clone()
        }
    }
}

impl Experiment for ProbeConfig {
    const KIND: &'static str = "probe";

    const PRESETS: &'static [Preset] = presets::PRESETS;

    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        claims::collect(preset, dir, summary, reduced, claims::of_probe)
    }

    fn validate(&self) -> Result<()> {
        self.plan().map(|_| ())
    }

    fn footprint(&self) -> Result<crate::budget::Footprint> {
        use crate::budget::{Footprint, bytes, largest};
        let plan = self.plan()?;
        let (l, d) = (
            *plan.depths.iter().max().expect("non-empty grid"),
            plan.width,
        );
        let columns = plan.columns();
        let passes = 1 + usize::from(self.compare_uncorrelated);
        let jobs = (plan.depths.len() * plan.laws.len())
            .saturating_mul(plan.draws)
            .saturating_mul(passes);
        let rows = jobs.saturating_mul(columns);
        let threads = rayon::current_num_threads().min(jobs).max(1) as u128;
        let chunk = rows::max_columns(&plan).min(columns);
        let matrices = 1 + usize::from(plan.block.inner);
        let shape = largest(&[("depth", l), ("width", d.saturating_mul(d))]);
        let rows_field = largest(&[
            ("samples", plan.samples),
            ("beta", plan.betas.len()),
            ("draws", plan.draws),
            ("hurst", plan.laws.len()),
            ("depth", plan.depths.len()),
        ]);
        // One network of a batch: its weights and its tape chunk; a worker holds at least one
        // network, and at most as many as fit the batch budget.
        let network = bytes(8 * matrices, &[l, d, d]).saturating_add(bytes(24, &[l, d, chunk]));
        let batch = network.max(rows::BATCH_BUDGET_BYTES as u128);
        let per_draw =
            bytes(8, &[plan.n_in + plan.n_out, columns]).saturating_add(bytes(40, &[columns]));
        // correlated laws: the shared factor of C (d^2 x d^2) and, per thread, the unmixed and
        // mixed f64 stacks of one tensor
        let n = d.saturating_mul(d);
        let correlation = if plan.correlated() {
            crate::paths::correlated::CorrelationFactor::bytes(n)
                .saturating_add(bytes(16, &[l, n]).saturating_mul(threads))
        } else {
            0
        };
        Ok(Footprint::default()
            .memory(
                "width",
                "the correlation matrix's factor and mixing buffers",
                correlation,
            )
            .memory(
                shape,
                "the weights and tape of a batch of draws (per thread)",
                batch.saturating_mul(threads),
            )
            .memory(
                if plan.n_in.saturating_add(plan.n_out) > columns {
                    largest(&[("n_in", plan.n_in), ("n_out", plan.n_out)])
                } else {
                    rows_field
                },
                "the inputs and rows of a draw (per thread)",
                per_draw.saturating_mul(threads),
            )
            .memory(
                rows_field,
                "the measured rows (depths x hursts x draws x betas x samples)",
                bytes(160, &[rows]),
            )
            .disk(
                rows_field,
                "results.csv (about 200 bytes per row)",
                bytes(200, &[rows]),
            )
            .disk("figures", "the figures", 16 << 20))
    }

    fn quick(&mut self) {
        self.depth.cap(100.0);
        self.depth.shrink(4);
        self.beta.shrink(6);
        if let Some(h) = self.hurst.as_mut() {
            h.shrink(5);
        }
        self.draws = self.draws.min(3);
        self.samples = self.samples.min(20);
        self.width = self.width.min(20);
    }

    type Summary = ProbeSummary;

    fn run(&self, ctx: &RunContext) -> Result<ProbeSummary> {
        let plan = self.plan()?;
        // 1. rows
        let measured = rows::measure(self.seed, &plan, &ctx.backend, ctx.progress)?;
        rows::write_results(ctx, &plan, &measured.rows)?;
        // 2. cells
        let cells = cells::aggregate(&measured.rows);
        cells::write(ctx, "cells.csv", &cells)?;
        // 3. tables
        let critical = tables::critical(&plan, &cells);
        tables::write_critical(ctx, &critical)?;
        let curves = tables::depth_curves(&plan, &cells);
        let mut summary = ProbeSummary {
            depth_curves: tables::depth_curves_summary(&curves),
            correlation: None,
            rest: rest(serde_json::json!({
                "probes": measured.rows.len(),
                "weight_draws": measured.draws,
                "batches": measured.batches,
                "backend": measured.backend,
                "probe_seconds": measured.seconds,
                "probes_per_second": measured.rows.len() as f64 / measured.seconds,
                "critical_beta": tables::critical_json(&plan, &critical),
            })),
        };
        if self.compare_uncorrelated {
            // the uncorrelated counterpart: same seed, streams and code path, laws unmixed
            let base = rows::measure(self.seed, &plan.uncorrelated(), &ctx.backend, ctx.progress)?;
            let base_cells = cells::aggregate(&base.rows);
            cells::write(ctx, "cells_uncorrelated.csv", &base_cells)?;
            summary.correlation = Some(tables::correlation_summary(&plan, &cells, &base_cells));
        }
        // 4. figures
        ctx.progress
            .start("drawing figures", self.figures.len() as u64);
        for fig in &self.figures {
            match fig {
                ProbeFigure::DepthCurves => figures::depth_curves(ctx, self, &plan, &curves)?,
                ProbeFigure::Histograms => figures::histograms(ctx, self, &plan, &measured.rows)?,
                ProbeFigure::PhaseDiagram => {
                    figures::phase_diagram(ctx, self, &plan, &cells, &critical)?
                }
            }
            ctx.progress.advance(1);
        }
        ctx.progress.finish();
        Ok(summary)
    }
}

#[cfg(test)]
mod tests;
