//! The initialization probe experiments: the paper's Figures 1-5 (norms of hidden states and
//! gradients against depth), Figure 2 (their distribution) and Figure 7 (the phase diagram over
//! Hurst index and scaling exponent).
//!
//! Work is organised by weight draw: each `(depth, hurst, draw)` samples one network, and all
//! `(beta, sample)` columns that share it are probed together in batched products. Draws run in
//! parallel; each draw's random stream depends only on `(seed, depth, hurst, draw)`, so results
//! are identical for any number of threads.

use super::{Experiment, Grid, RunContext, cell};
use crate::model::{Activation, BlockSpec, Dims, ResNet};
use crate::paths::{Init, PathCache};
use crate::plot::{self, Heatmap, Histogram, LineStyle, Panel, Series};
use crate::probe::{ProbeMeasure, Prober};
use crate::rng::stream;
use crate::stats::mean_ci95;
use crate::{Error, Result};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// Memory budget of one worker's tape (pre-activations of a chunk of columns), in bytes.
const TAPE_BUDGET_BYTES: usize = 256 << 20;

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
    pub model: String,
    /// Activation: relu, tanh, sigmoid, identity, leaky_relu(SLOPE).
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Hidden width `d`.
    #[serde(default = "default_width")]
    pub width: i64,
    /// Input dimension (`x ~ U[0,1]^n_in`).
    #[serde(default = "default_n_in")]
    pub n_in: i64,
    /// Output dimension (`y ~ U[0,1]^n_out`).
    #[serde(default = "default_n_out")]
    pub n_out: i64,
    /// Depths `L`.
    pub depth: Grid,
    /// Scaling exponents: `alpha_L = L^-beta`.
    pub beta: Grid,
    /// Hurst indices substituted into an init written as plain `fbm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hurst: Option<Grid>,
    /// Law of `V` over depth: uniform, gaussian, rademacher, fbm (H from `hurst`), fbm(H), rbf(BW), rbf(BW, increments).
    #[serde(default = "default_init")]
    pub init_v: String,
    /// Law of `W` over depth (res3 only), same choices.
    #[serde(default = "default_init")]
    pub init_w: String,
    /// Independent weight draws per (depth, hurst).
    pub draws: i64,
    /// Samples `(x, y)` per (draw, beta).
    #[serde(default = "default_samples")]
    pub samples: i64,
    /// Figures to draw.
    #[serde(default)]
    pub figures: Vec<ProbeFigure>,
}

fn default_model() -> String {
    "res3".into()
}
fn default_activation() -> Activation {
    Activation::Relu
}
fn default_width() -> i64 {
    40
}
fn default_n_in() -> i64 {
    64
}
fn default_n_out() -> i64 {
    1
}
fn default_init() -> String {
    "uniform".into()
}
fn default_samples() -> i64 {
    1
}

fn positive(field: &str, v: i64) -> Result<usize> {
    if v >= 1 {
        Ok(v as usize)
    } else {
        Err(Error::config(
            field,
            format!("must be a positive integer (>= 1), got {v}"),
        ))
    }
}

/// The validated, typed form of a [`ProbeConfig`].
struct Plan {
    block: BlockSpec,
    width: usize,
    n_in: usize,
    n_out: usize,
    depths: Vec<usize>,
    betas: Vec<f64>,
    /// `None` when no init depends on a Hurst grid.
    hursts: Vec<Option<f64>>,
    draws: usize,
    samples: usize,
}

/// One measured column.
#[derive(Clone, Copy, Debug)]
struct Row {
    depth: usize,
    hurst: Option<f64>,
    beta: f64,
    draw: usize,
    sample: usize,
    m: ProbeMeasure,
}

impl ProbeConfig {
    fn resolve_init(&self, field: &str, spec: &str, hurst: Option<f64>) -> Result<Init> {
        if spec.trim() == "fbm" {
            let h = hurst.ok_or_else(|| {
                Error::config(field, "plain `fbm` takes its Hurst index from a `hurst` grid; add one or write fbm(H)")
            })?;
            let init = Init::Fbm { hurst: h };
            init.validate("hurst")?;
            return Ok(init);
        }
        spec.parse::<Init>().map_err(|e| match e {
            Error::Config { message, .. } => Error::config(field, message),
            other => other,
        })
    }

    fn plan(&self) -> Result<Plan> {
        let block = BlockSpec::named(
            &self.model,
            crate::model::BiasPosition::None,
            self.activation,
        )?;
        let width = positive("width", self.width)?;
        let n_in = positive("n_in", self.n_in)?;
        let n_out = positive("n_out", self.n_out)?;
        let depths = self.depth.integers("depth", 1)?;
        let betas = self.beta.values("beta")?;
        let draws = positive("draws", self.draws)?;
        let samples = positive("samples", self.samples)?;
        let uses_grid = self.init_v.trim() == "fbm" || (block.inner && self.init_w.trim() == "fbm");
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
        for &h in &hursts {
            self.resolve_init("init_v", &self.init_v, h)?;
            if block.inner {
                self.resolve_init("init_w", &self.init_w, h)?;
            }
        }
        if self.figures.contains(&ProbeFigure::PhaseDiagram) && self.hurst.is_none() {
            return Err(Error::config(
                "figures",
                "phase_diagram needs a `hurst` grid",
            ));
        }
        Ok(Plan {
            block,
            width,
            n_in,
            n_out,
            depths,
            betas,
            hursts,
            draws,
            samples,
        })
    }

    /// Samples the network of one draw.
    fn draw_network(
        &self,
        plan: &Plan,
        depth: usize,
        hurst: Option<f64>,
        cache: &PathCache,
        rng: &mut crate::rng::Rng,
    ) -> Result<ResNet<f64>> {
        let dims = Dims {
            n_in: plan.n_in,
            width: plan.width,
            n_out: plan.n_out,
            depth,
        };
        let mut net = ResNet::zeros(plan.block, dims)?;
        let d = plan.width;
        let v = self.resolve_init("init_v", &self.init_v, hurst)?;
        let p = &mut net.params;
        Init::Uniform.sample_stack(1, d, plan.n_in, cache, rng, &mut p.embed)?;
        v.sample_stack(depth, d, d, cache, rng, &mut p.v)?;
        if plan.block.inner {
            let w = self.resolve_init("init_w", &self.init_w, hurst)?;
            w.sample_stack(depth, d, d, cache, rng, &mut p.w)?;
        }
        Init::Uniform.sample_stack(1, plan.n_out, d, cache, rng, &mut p.readout)?;
        Ok(net)
    }

    fn run_draw(
        &self,
        plan: &Plan,
        prober: &mut Prober,
        cache: &PathCache,
        depth: usize,
        hurst: Option<f64>,
        draw: usize,
    ) -> Result<Vec<Row>> {
        let tags = [
            depth as u64,
            hurst.map_or(u64::MAX, f64::to_bits),
            draw as u64,
        ];
        let mut rng = stream(self.seed, &tags);
        let net = self.draw_network(plan, depth, hurst, cache, &mut rng)?;
        let n = plan.betas.len() * plan.samples;
        let mut alpha = Vec::with_capacity(n);
        for &b in &plan.betas {
            alpha.extend(std::iter::repeat_n((depth as f64).powf(-b), plan.samples));
        }
        let x: Vec<f64> = (0..plan.n_in * n).map(|_| rng.random()).collect();
        let y: Vec<f64> = (0..plan.n_out * n).map(|_| rng.random()).collect();
        let mut out = Vec::with_capacity(n);
        prober.probe(&net, &alpha, &x, &y, &mut out);
        Ok(out
            .into_iter()
            .enumerate()
            .map(|(c, m)| Row {
                depth,
                hurst,
                beta: plan.betas[c / plan.samples],
                draw,
                sample: c % plan.samples,
                m,
            })
            .collect())
    }
}

impl Experiment for ProbeConfig {
    const KIND: &'static str = "probe";

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
        let columns = plan.betas.len().saturating_mul(plan.samples);
        let jobs = (plan.depths.len() * plan.hursts.len()).saturating_mul(plan.draws);
        let rows = jobs.saturating_mul(columns);
        let threads = rayon::current_num_threads().min(jobs).max(1) as u128;
        let tape = (TAPE_BUDGET_BYTES / (8 * l * d).max(1))
            .clamp(8, 1024)
            .min(columns);
        let shape = largest(&[("depth", l), ("width", d.saturating_mul(d))]);
        let rows_field = largest(&[
            ("samples", plan.samples),
            ("beta", plan.betas.len()),
            ("draws", plan.draws),
            ("hurst", plan.hursts.len()),
            ("depth", plan.depths.len()),
        ]);
        let per_draw =
            bytes(8, &[plan.n_in + plan.n_out, columns]).saturating_add(bytes(40, &[columns]));
        Ok(Footprint::default()
            .memory(
                shape,
                "the weights of a draw (2 x depth x width^2 f64 per thread)",
                bytes(16, &[l, d, d]).saturating_mul(threads),
            )
            .memory(
                shape,
                "the probe tape (depth x width x columns f64 per thread)",
                bytes(24, &[l, d, tape]).saturating_mul(threads),
            )
            .memory(
                rows_field,
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

    fn run(&self, ctx: &RunContext) -> Result<serde_json::Value> {
        let plan = self.plan()?;
        let cache = PathCache::new();
        let jobs: Vec<(usize, Option<f64>, usize)> = plan
            .depths
            .iter()
            .flat_map(|&l| {
                plan.hursts
                    .iter()
                    .flat_map(move |&h| (0..plan.draws).map(move |k| (l, h, k)))
            })
            .collect();
        let columns = plan.betas.len() * plan.samples;
        let total = (jobs.len() * columns) as u64;
        let max_depth = *plan.depths.iter().max().expect("non-empty grid");
        let max_columns = (TAPE_BUDGET_BYTES / (8 * max_depth * plan.width)).clamp(8, 1024);
        ctx.progress.start("probing networks", total);
        let start = Instant::now();
        let per_job: Vec<Vec<Row>> = jobs
            .par_iter()
            .map_init(
                || Prober::new(max_columns),
                |prober, &(l, h, k)| {
                    let rows = self.run_draw(&plan, prober, &cache, l, h, k);
                    ctx.progress.advance(columns as u64);
                    rows
                },
            )
            .collect::<Result<_>>()?;
        ctx.progress.finish();
        let seconds = start.elapsed().as_secs_f64();
        let rows: Vec<Row> = per_job.into_iter().flatten().collect();
        self.write_results(ctx, &plan, &rows)?;
        let cells = aggregate(&rows);
        write_cells(ctx, &cells)?;
        let mut summary = serde_json::json!({
            "probes": rows.len(),
            "weight_draws": jobs.len(),
            "probe_seconds": seconds,
            "probes_per_second": rows.len() as f64 / seconds,
        });
        ctx.progress
            .start("drawing figures", self.figures.len() as u64);
        for fig in &self.figures {
            match fig {
                ProbeFigure::DepthCurves => {
                    summary["depth_curves"] = self.depth_curves(ctx, &plan, &cells)?;
                }
                ProbeFigure::Histograms => self.histograms(ctx, &plan, &rows)?,
                ProbeFigure::PhaseDiagram => {
                    summary["critical_beta"] = self.phase_diagram(ctx, &plan, &cells)?;
                }
            }
            ctx.progress.advance(1);
        }
        ctx.progress.finish();
        Ok(summary)
    }
}

impl ProbeConfig {
    fn write_results(&self, ctx: &RunContext, plan: &Plan, rows: &[Row]) -> Result<()> {
        let mut csv = ctx.csv("results.csv")?;
        csv.row([
            "depth", "width", "beta", "hurst", "draw", "sample", "init_v", "init_w", "h_ratio",
            "h_diff", "g_ratio", "g_diff",
        ])?;
        let mut names: BTreeMap<(u64, bool), String> = BTreeMap::new();
        for r in rows {
            let key = r.hurst.map_or(u64::MAX, f64::to_bits);
            let mut name = |field: &str, spec: &str, is_w: bool| -> Result<String> {
                if let Some(s) = names.get(&(key, is_w)) {
                    return Ok(s.clone());
                }
                let s = self.resolve_init(field, spec, r.hurst)?.to_string();
                names.insert((key, is_w), s.clone());
                Ok(s)
            };
            let init_v = name("init_v", &self.init_v, false)?;
            let init_w = if plan.block.inner {
                name("init_w", &self.init_w, true)?
            } else {
                String::new()
            };
            csv.row([
                r.depth.to_string(),
                plan.width.to_string(),
                cell(Some(r.beta)),
                cell(r.hurst),
                r.draw.to_string(),
                r.sample.to_string(),
                init_v,
                init_w,
                cell(Some(r.m.h_ratio)),
                cell(Some(r.m.h_diff)),
                cell(Some(r.m.g_ratio)),
                cell(Some(r.m.g_diff)),
            ])?;
        }
        csv.finish()
    }

    fn figure_title(&self, default: &str) -> String {
        if self.title.is_empty() {
            default.to_owned()
        } else {
            self.title.clone()
        }
    }

    /// The closed form `sqrt((1 + L^{-2 beta}/2)^L - 1)` of the root-mean-square `h_diff`, valid
    /// for res3 with ReLU and i.i.d. symmetric weights of variance `1/d`.
    fn closed_form_applies(&self, plan: &Plan) -> bool {
        let iid = |s: &str| matches!(s.trim(), "uniform" | "gaussian" | "rademacher");
        plan.block.inner
            && plan.block.activation == Activation::Relu
            && iid(&self.init_v)
            && iid(&self.init_w)
    }

    fn depth_curves(
        &self,
        ctx: &RunContext,
        plan: &Plan,
        cells: &Cells,
    ) -> Result<serde_json::Value> {
        let metrics = [
            ("h_ratio", "||h_L|| / ||h_0||"),
            ("h_diff", "||h_L - h_0|| / ||h_0||"),
            ("g_ratio", "||p_0|| / ||p_L||"),
            ("g_diff", "||p_L - p_0|| / ||p_L||"),
        ];
        let depths: Vec<f64> = plan.depths.iter().map(|&l| l as f64).collect();
        let closed = self.closed_form_applies(plan);
        let mut summary = Vec::new();
        for (stem, pair, title) in [
            ("hidden", &metrics[0..2], "Hidden states at initialization"),
            ("gradients", &metrics[2..4], "Gradients at initialization"),
        ] {
            let mut panels = Vec::new();
            for &(metric, label) in pair {
                for &beta in &plan.betas {
                    let mut series = Vec::new();
                    for &h in &plan.hursts {
                        let pick: Vec<&Cell> = plan
                            .depths
                            .iter()
                            .filter_map(|&l| cells.get(&cell_key(l, h, beta)))
                            .collect();
                        let stats: Vec<(f64, f64)> = pick.iter().map(|c| c.stat(metric)).collect();
                        series.push(Series {
                            label: h.map_or_else(
                                || "mean, 95% band".to_owned(),
                                |h| format!("H = {h:.2}"),
                            ),
                            x: depths.clone(),
                            y: stats.iter().map(|s| s.0).collect(),
                            band: Some((
                                stats.iter().map(|s| s.0 - s.1).collect(),
                                stats.iter().map(|s| s.0 + s.1).collect(),
                            )),
                            style: LineStyle::Solid,
                            markers: true,
                        });
                    }
                    if metric == "h_diff" && closed {
                        series.push(Series {
                            label: "sqrt((1 + L^-2b/2)^L - 1)".into(),
                            x: depths.clone(),
                            y: depths
                                .iter()
                                .map(|&l| closed_form_h_diff(l, beta))
                                .collect(),
                            band: None,
                            style: LineStyle::Dashed,
                            markers: false,
                        });
                    }
                    panels.push(Panel {
                        title: format!("{metric}, beta = {beta}"),
                        x_label: "depth L".into(),
                        y_label: label.into(),
                        log_x: false,
                        log_y: true,
                        series,
                    });
                }
            }
            plot::line_panels(
                &ctx.path(stem),
                &self.figure_title(title),
                &panels,
                plan.betas.len(),
            )?;
        }
        for c in cells.values() {
            let (h_diff, h_ci) = c.stat("h_diff");
            let (g_diff, g_ci) = c.stat("g_diff");
            summary.push(serde_json::json!({
                "depth": c.depth, "beta": c.beta, "hurst": c.hurst,
                "h_diff_mean": finite_or_null(h_diff), "h_diff_ci95": finite_or_null(h_ci),
                "h_diff_closed_form_rms": closed.then(|| closed_form_h_diff(c.depth as f64, c.beta)),
                "g_diff_mean": finite_or_null(g_diff), "g_diff_ci95": finite_or_null(g_ci),
            }));
        }
        Ok(serde_json::Value::Array(summary))
    }

    fn histograms(&self, ctx: &RunContext, plan: &Plan, rows: &[Row]) -> Result<()> {
        let mut panels = Vec::new();
        for &l in &plan.depths {
            for &h in &plan.hursts {
                for &b in &plan.betas {
                    let sel: Vec<&Row> = rows
                        .iter()
                        .filter(|r| r.depth == l && r.hurst == h && r.beta == b)
                        .collect();
                    let tag = match h {
                        Some(h) => format!("L = {l}, beta = {b}, H = {h:.2}"),
                        None => format!("L = {l}, beta = {b}"),
                    };
                    for (name, f) in [
                        (
                            "||h_L|| / ||h_0||",
                            (|m: &ProbeMeasure| m.h_ratio) as fn(&ProbeMeasure) -> f64,
                        ),
                        ("||p_0|| / ||p_L||", |m: &ProbeMeasure| m.g_ratio),
                    ] {
                        panels.push(Histogram {
                            title: format!("{tag} ({} samples)", sel.len()),
                            x_label: name.into(),
                            values: sel.iter().map(|r| f(&r.m)).collect(),
                            bins: 60,
                            log_x: false,
                        });
                    }
                }
            }
        }
        panels.truncate(12);
        plot::histograms(
            &ctx.path("histograms"),
            &self.figure_title("Distribution at initialization"),
            &panels,
        )
    }

    fn phase_diagram(
        &self,
        ctx: &RunContext,
        plan: &Plan,
        cells: &Cells,
    ) -> Result<serde_json::Value> {
        let hursts: Vec<f64> = plan
            .hursts
            .iter()
            .map(|h| h.expect("phase diagram has a hurst grid"))
            .collect();
        let mut betas = plan.betas.clone();
        betas.sort_by(f64::total_cmp);
        let mut out = Vec::new();
        for &l in &plan.depths {
            let value = |h: f64, b: f64, metric: &str| -> f64 {
                cells
                    .get(&cell_key(l, Some(h), b))
                    .map_or(f64::NAN, |c| c.mean_log10(metric))
            };
            let crit: Vec<f64> = hursts
                .iter()
                .map(|&h| {
                    critical_beta(
                        &betas,
                        &betas
                            .iter()
                            .map(|&b| value(h, b, "h_diff"))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            let crit_g: Vec<f64> = hursts
                .iter()
                .map(|&h| {
                    critical_beta(
                        &betas,
                        &betas
                            .iter()
                            .map(|&b| value(h, b, "g_diff"))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            let suffix = if plan.depths.len() > 1 {
                format!("_L{l}")
            } else {
                String::new()
            };
            let mut csv = ctx.csv(&format!("critical{suffix}.csv"))?;
            csv.row(["hurst", "critical_beta", "critical_beta_gradients"])?;
            for ((h, c), cg) in hursts.iter().zip(&crit).zip(&crit_g) {
                csv.row([cell(Some(*h)), nan_empty(*c), nan_empty(*cg)])?;
            }
            csv.finish()?;
            let overlays = |crit: &[f64]| {
                vec![
                    Series {
                        label: "critical beta (estimated)".into(),
                        x: hursts.clone(),
                        y: crit.to_vec(),
                        band: None,
                        style: LineStyle::Solid,
                        markers: true,
                    },
                    Series {
                        label: "beta = max(H, 1/2)".into(),
                        x: hursts.clone(),
                        y: hursts.iter().map(|h| h.max(0.5)).collect(),
                        band: None,
                        style: LineStyle::Dashed,
                        markers: false,
                    },
                ]
            };
            let map = |metric: &str, label: &str, crit: &[f64]| Heatmap {
                title: format!("mean log10 {metric}, L = {l}"),
                x_label: "Hurst index H".into(),
                y_label: "beta".into(),
                x: hursts.clone(),
                y: betas.clone(),
                values: betas
                    .iter()
                    .flat_map(|&b| hursts.iter().map(move |&h| (h, b)))
                    .map(|(h, b)| value(h, b, metric))
                    .collect(),
                range: (-1.0, 1.0),
                diverging: true,
                colorbar_label: label.into(),
                overlays: overlays(crit),
            };
            plot::heatmaps(
                &ctx.path(&format!("phase{suffix}")),
                &self.figure_title("Phase diagram at initialization (fBm weights)"),
                &[
                    map("h_diff", "log10 ||h_L - h_0|| / ||h_0||", &crit),
                    map("g_diff", "log10 ||p_L - p_0|| / ||p_L||", &crit_g),
                ],
            )?;
            out.push(serde_json::json!({
                "depth": l,
                "hurst": hursts,
                "critical_beta": crit.iter().map(|&c| finite_or_null(c)).collect::<Vec<_>>(),
                "critical_beta_gradients": crit_g.iter().map(|&c| finite_or_null(c)).collect::<Vec<_>>(),
            }));
        }
        Ok(serde_json::Value::Array(out))
    }
}

/// Root-mean-square `h_diff` for res3/ReLU with i.i.d. weights: `sqrt((1 + L^{-2b}/2)^L - 1)`.
pub fn closed_form_h_diff(depth: f64, beta: f64) -> f64 {
    let a2 = depth.powf(-2.0 * beta);
    (depth * (0.5 * a2).ln_1p()).exp_m1().sqrt()
}

/// The beta where `values` (mean log10 of a measurement, against ascending `betas`) first
/// crosses 0 from above, linearly interpolated; NaN if it never does.
pub fn critical_beta(betas: &[f64], values: &[f64]) -> f64 {
    for i in 0..betas.len().saturating_sub(1) {
        let (a, b) = (values[i], values[i + 1]);
        if a > 0.0 && b <= 0.0 {
            return if a.is_finite() && b.is_finite() {
                betas[i] + (betas[i + 1] - betas[i]) * a / (a - b)
            } else {
                0.5 * (betas[i] + betas[i + 1])
            };
        }
    }
    f64::NAN
}

fn finite_or_null(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}

fn nan_empty(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        cell(Some(x))
    }
}

/// Aggregates of one `(depth, hurst, beta)` cell over draws and samples.
struct Cell {
    depth: usize,
    hurst: Option<f64>,
    beta: f64,
    n: usize,
    /// `[h_ratio, h_diff, g_ratio, g_diff]` values of the cell's rows.
    values: [Vec<f64>; 4],
}

const METRICS: [&str; 4] = ["h_ratio", "h_diff", "g_ratio", "g_diff"];

impl Cell {
    fn index(metric: &str) -> usize {
        METRICS
            .iter()
            .position(|m| *m == metric)
            .expect("known metric")
    }

    /// Mean and 95% half-width of a measurement.
    fn stat(&self, metric: &str) -> (f64, f64) {
        mean_ci95(&self.values[Self::index(metric)])
    }

    /// Mean of `log10` of a measurement (`+inf` if any value overflowed).
    fn mean_log10(&self, metric: &str) -> f64 {
        let v = &self.values[Self::index(metric)];
        v.iter().map(|x| x.log10()).sum::<f64>() / v.len() as f64
    }
}

/// Cells by `(depth, hurst bits, beta bits)`, in that order.
type Cells = BTreeMap<(usize, u64, u64), Cell>;

/// The key of the cell `(depth, hurst, beta)` in [`Cells`].
fn cell_key(depth: usize, hurst: Option<f64>, beta: f64) -> (usize, u64, u64) {
    (depth, hurst.map_or(u64::MAX, f64::to_bits), beta.to_bits())
}

fn aggregate(rows: &[Row]) -> Cells {
    let mut map = Cells::new();
    for r in rows {
        let c = map
            .entry(cell_key(r.depth, r.hurst, r.beta))
            .or_insert_with(|| Cell {
                depth: r.depth,
                hurst: r.hurst,
                beta: r.beta,
                n: 0,
                values: Default::default(),
            });
        c.n += 1;
        for (i, v) in [r.m.h_ratio, r.m.h_diff, r.m.g_ratio, r.m.g_diff]
            .into_iter()
            .enumerate()
        {
            c.values[i].push(v);
        }
    }
    map
}

fn write_cells(ctx: &RunContext, cells: &Cells) -> Result<()> {
    let mut csv = ctx.csv("cells.csv")?;
    let mut header = vec![
        "depth".to_owned(),
        "hurst".into(),
        "beta".into(),
        "n".into(),
    ];
    for m in METRICS {
        header.extend([
            format!("{m}_mean"),
            format!("{m}_ci95"),
            format!("log10_{m}_mean"),
        ]);
    }
    csv.row(&header)?;
    for c in cells.values() {
        let mut row = vec![
            c.depth.to_string(),
            cell(c.hurst),
            cell(Some(c.beta)),
            c.n.to_string(),
        ];
        for m in METRICS {
            let (mean, ci) = c.stat(m);
            row.extend([
                cell(Some(mean)),
                cell(Some(ci)),
                cell(Some(c.mean_log10(m))),
            ]);
        }
        csv.row(&row)?;
    }
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_beta_interpolates_the_first_downward_crossing() {
        let b = [0.0, 0.5, 1.0];
        assert!((critical_beta(&b, &[1.0, 0.5, -0.5]) - 0.75).abs() < 1e-12);
        assert!((critical_beta(&b, &[f64::INFINITY, -1.0, -2.0]) - 0.25).abs() < 1e-12);
        assert!(critical_beta(&b, &[-1.0, -2.0, -3.0]).is_nan());
    }

    #[test]
    fn closed_form_matches_direct_formula() {
        let (l, b) = (100.0f64, 0.5f64);
        let direct = ((1.0 + l.powf(-2.0 * b) / 2.0).powf(l) - 1.0).sqrt();
        assert!((closed_form_h_diff(l, b) - direct).abs() < 1e-12);
    }
}
