//! The end of a transfer sweep (or merge): `cells.csv` in cell order, the lr* analysis, the
//! figures and the summary, from the rows only.
//!
//! `transfer.png/svg`: one panel per parameterization, final training loss against the base
//! learning rate (log axis), one curve per depth (mean over seeds, band min..max over seeds;
//! diverged runs at the worst loss), lr* as a dashed vertical segment of the depth's colour.
//! `lr_star.png/svg`: lr* against L per parameterization, with its bootstrap 95% interval.
//! Phase mode: `phase.png/svg`, the drift of log2 lr* between the first and last depth over
//! (H, beta), with the line `beta = max(H, 1/2)`.

use super::fit::{Optimum, bootstrap, mean_curve, optimum};
use super::rows::CellRow;
use super::{Plan, TransferConfig, rewrite_cells};
use crate::Result;
use crate::experiment::summary::{TransferResult, TransferSummary, finite, rest};
use crate::experiment::training::num;
use crate::plot::{self, Heatmap, LineStyle, Panel, Series};
use crate::stats::{linear_fit, quantile};
use std::path::Path;

/// The palette's length: series `i` and `i + PALETTE` share a colour.
const PALETTE: usize = 10;

/// One (parameterization, depth) curve.
pub(super) struct Curve {
    pub depth: usize,
    /// Mean loss over seeds at each learning rate (`NaN` where a seed is missing).
    pub mean: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    pub opt: Optimum,
    /// Bootstrap 95% interval of log2 lr*.
    pub ci: (f64, f64),
    pub cells: usize,
    pub diverged: usize,
}

/// One parameterization's result.
pub(super) struct Analysis {
    pub curves: Vec<Curve>,
    /// `log2 lr*(last depth) - log2 lr*(first depth)`, octaves.
    pub drift: f64,
    pub drift_ci: (f64, f64),
    /// Least-squares slope of log2 lr* against log2 L (octaves per doubling of depth).
    pub slope: f64,
    /// Whether the minimum loss decreases at every step of depth.
    pub deeper_is_better: bool,
}

/// The losses of parameterization `pi` at depth index `di`: `[lr][seed]`.
fn losses(
    plan: &Plan,
    seeds: usize,
    cells: &[(usize, CellRow)],
    pi: usize,
    di: usize,
) -> Vec<Vec<f64>> {
    let mut m = vec![vec![f64::NAN; seeds]; plan.lrs.len()];
    let block = plan.lrs.len() * seeds;
    for (idx, row) in cells {
        if idx / block == pi * plan.depths.len() + di {
            m[(idx % block) / seeds][idx % seeds] = row.loss();
        }
    }
    m
}

/// The analysis of every parameterization.
pub(super) fn analyse(
    cfg: &TransferConfig,
    plan: &Plan,
    cells: &[(usize, CellRow)],
) -> Vec<Analysis> {
    let x: Vec<f64> = plan.lrs.iter().map(|v| v.log2()).collect();
    let k = cfg.fit_points;
    let logl: Vec<f64> = plan.depths.iter().map(|&l| (l as f64).log2()).collect();
    let block = plan.lrs.len() * cfg.seeds;
    let in_block = |pi: usize, di: usize| {
        cells
            .iter()
            .filter(move |(i, _)| i / block == pi * plan.depths.len() + di)
            .map(|(_, r)| r)
    };
    (0..plan.params.len())
        .map(|pi| {
            let all: Vec<usize> = (0..cfg.seeds).collect();
            let mats: Vec<Vec<Vec<f64>>> = (0..plan.depths.len())
                .map(|di| losses(plan, cfg.seeds, cells, pi, di))
                .collect();
            let draws = bootstrap(cfg.seed, pi as u64, cfg.seeds, cfg.bootstrap);
            let boot: Vec<Vec<f64>> = draws
                .iter()
                .map(|d| {
                    mats.iter()
                        .map(|m| optimum(&x, &mean_curve(m, d), k).x)
                        .collect()
                })
                .collect();
            let curves: Vec<Curve> = mats
                .iter()
                .enumerate()
                .map(|(di, m)| {
                    let mean = mean_curve(m, &all);
                    let bx: Vec<f64> = boot.iter().map(|b| b[di]).collect();
                    let span = |f: fn(f64, f64) -> f64, init| {
                        m.iter()
                            .map(|r| r.iter().copied().fold(init, f))
                            .collect::<Vec<f64>>()
                    };
                    let ci = (quantile(&bx, 0.025), quantile(&bx, 0.975));
                    Curve {
                        depth: plan.depths[di],
                        opt: optimum(&x, &mean, k),
                        lo: span(f64::min, f64::INFINITY),
                        hi: span(f64::max, f64::NEG_INFINITY),
                        mean,
                        ci,
                        cells: in_block(pi, di).count(),
                        diverged: in_block(pi, di).filter(|r| r.status != "ok").count(),
                    }
                })
                .collect();
            let first_last = |v: &[f64]| v[v.len() - 1] - v[0];
            let drifts: Vec<f64> = boot.iter().map(|b| first_last(b)).collect();
            let xs: Vec<f64> = curves.iter().map(|c| c.opt.x).collect();
            let mins: Vec<f64> = curves.iter().map(|c| c.opt.y).collect();
            Analysis {
                drift: first_last(&xs),
                drift_ci: (quantile(&drifts, 0.025), quantile(&drifts, 0.975)),
                slope: linear_fit(&logl, &xs).map_or(f64::NAN, |(s, _)| s),
                deeper_is_better: mins.len() > 1 && mins.windows(2).all(|w| w[1] < w[0]),
                curves,
            }
        })
        .collect()
}

/// Writes the table and figures; returns the summary.
pub(super) fn finish(
    cfg: &TransferConfig,
    plan: &Plan,
    dir: &Path,
    mut cells: Vec<(usize, CellRow)>,
) -> Result<TransferSummary> {
    rewrite_cells(dir, &mut cells)?;
    let results = analyse(cfg, plan, &cells);
    draw(cfg, plan, dir, &results)?;
    let lr_of = |x: f64| num(x.exp2());
    let params: Vec<TransferResult> = plan
        .params
        .iter()
        .zip(&results)
        .map(|(p, a)| {
            let depths: Vec<serde_json::Value> = a
                .curves
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "depth": c.depth,
                        "lr_star": lr_of(c.opt.x),
                        "log2_lr_star": num(c.opt.x),
                        "log2_lr_star_ci95": [num(c.ci.0), num(c.ci.1)],
                        "min_loss": num(c.opt.y),
                        "fitted": c.opt.fitted,
                        "at_grid_edge": c.opt.at_edge,
                        "cells_done": c.cells,
                        "cells_diverged": c.diverged,
                    })
                })
                .collect();
            TransferResult {
                parameterization: p.clone(),
                drift_octaves: finite(a.drift),
                drift_octaves_ci95: [finite(a.drift_ci.0), finite(a.drift_ci.1)],
                rest: rest(serde_json::json!({
                    "depths": depths,
                    "slope_octaves_per_doubling": num(a.slope),
                    "deeper_is_better": a.deeper_is_better,
                })),
            }
        })
        .collect();
    let drift_note: Vec<String> = plan
        .params
        .iter()
        .zip(&results)
        .map(|(p, a)| {
            format!(
                "{}: {:+.2} [{:+.2}, {:+.2}]",
                p.name, a.drift, a.drift_ci.0, a.drift_ci.1
            )
        })
        .collect();
    Ok(TransferSummary {
        depths: plan.depths.clone(),
        results: params,
        rest: rest(serde_json::json!({
        "cells_total": plan.cells.len(),
        "cells_done": cells.len(),
        "cells_diverged": cells.iter().filter(|(_, r)| r.status != "ok").count(),
        "lr": plan.lrs,
        "seeds": cfg.seeds,
        "epochs": cfg.epochs,
        "dataset": cfg.dataset.trim(),
        "note": format!(
            "drift of log2 lr* from L = {} to L = {} in octaves [bootstrap 95%]: {}",
            plan.depths[0],
            plan.depths[plan.depths.len() - 1],
            drift_note.join("; ")
        ),
        })),
    })
}

/// Fewest seeds for which `lr_star.png` draws the bootstrap interval of lr*.
const MIN_SEEDS_FOR_BAND: usize = 5;

fn draw(cfg: &TransferConfig, plan: &Plan, dir: &Path, results: &[Analysis]) -> Result<()> {
    let worst = results
        .iter()
        .flat_map(|a| a.curves.iter().flat_map(|c| c.hi.iter()))
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::NAN, f64::max);
    let title = |what: &str| {
        if cfg.title.is_empty() {
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            format!(
                "{what} ({} epoch{}, {} seed{}, {})",
                cfg.epochs,
                plural(cfg.epochs),
                cfg.seeds,
                plural(cfg.seeds),
                cfg.dataset.trim()
            )
        } else {
            format!("{}: {what}", cfg.title)
        }
    };
    if plan.params.len() <= 36 && plan.depths.len() <= PALETTE {
        let panels: Vec<Panel> = plan
            .params
            .iter()
            .zip(results)
            .map(|(p, a)| {
                let mut series: Vec<Series> = a
                    .curves
                    .iter()
                    .map(|c| Series {
                        label: format!("L = {}", c.depth),
                        x: plan.lrs.clone(),
                        y: c.mean.clone(),
                        band: Some((c.lo.clone(), c.hi.clone())),
                        markers: true,
                        ..Series::default()
                    })
                    .collect();
                // pad to the palette's length so that each lr* segment takes its curve's colour
                series.resize_with(PALETTE, Series::default);
                for c in &a.curves {
                    let lr = c.opt.x.exp2();
                    series.push(Series {
                        x: vec![lr, lr],
                        y: vec![c.opt.y, worst],
                        style: LineStyle::Dashed,
                        ..Series::default()
                    });
                }
                Panel {
                    x_ticks: None,
                    notes: vec![format!(
                        "band: min to max over {} seed{}",
                        cfg.seeds,
                        if cfg.seeds == 1 { "" } else { "s" }
                    )],
                    title: format!("{} (beta = {})", p.name, p.beta),
                    x_label: "base learning rate (lr* dashed)".into(),
                    y_label: "final training loss".into(),
                    log_x: true,
                    log_y: false,
                    series,
                }
            })
            .collect();
        plot::line_panels(
            &dir.join("transfer"),
            &title("Loss against learning rate across depth"),
            &panels,
            3,
        )?;
        let x: Vec<f64> = plan.depths.iter().map(|&l| l as f64).collect();
        let series = plan
            .params
            .iter()
            .zip(results)
            .map(|(p, a)| Series {
                label: format!("{} (drift {:+.2} oct)", p.name, a.drift),
                x: x.clone(),
                y: a.curves.iter().map(|c| c.opt.x.exp2()).collect(),
                // a bootstrap over a handful of seeds is no interval at all
                band: (cfg.seeds >= MIN_SEEDS_FOR_BAND).then(|| {
                    (
                        a.curves.iter().map(|c| c.ci.0.exp2()).collect(),
                        a.curves.iter().map(|c| c.ci.1.exp2()).collect(),
                    )
                }),
                markers: true,
                ..Series::default()
            })
            .collect();
        let what = if cfg.seeds >= MIN_SEEDS_FOR_BAND {
            format!("band: bootstrap 95% over {} seeds", cfg.seeds)
        } else {
            format!(
                "mean over {} seed{}; no interval under {MIN_SEEDS_FOR_BAND} seeds",
                cfg.seeds,
                if cfg.seeds == 1 { "" } else { "s" }
            )
        };
        plot::line_panels(
            &dir.join("lr_star"),
            &title("Optimal learning rate against depth"),
            &[Panel {
                x_ticks: Some(x.clone()),
                notes: vec![what],
                title: "lr* (quadratic fit in log2 lr)".into(),
                x_label: "depth L".into(),
                y_label: "lr*".into(),
                log_x: true,
                log_y: true,
                series,
            }],
            1,
        )?;
    }
    if let Some((hs, bs)) = &plan.phase {
        let values: Vec<f64> = results.iter().map(|a| a.drift).collect();
        // the line's kink at H = 1/2 when the grid spans it
        let mut line = hs.clone();
        if hs[0] < 0.5 && hs[hs.len() - 1] > 0.5 && !hs.contains(&0.5) {
            line.push(0.5);
            line.sort_by(f64::total_cmp);
        }
        let m = values
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.5f64, |a, v| a.max(v.abs()));
        plot::heatmaps(
            &dir.join("phase"),
            &title("Drift of lr* over the phase diagram"),
            &[Heatmap {
                annotate: None,
                notes: Vec::new(),
                title: format!(
                    "log2 lr*(L = {}) - log2 lr*(L = {}) (octaves)",
                    plan.depths[plan.depths.len() - 1],
                    plan.depths[0]
                ),
                x_label: "Hurst index H".into(),
                y_label: "beta".into(),
                x: hs.clone(),
                y: bs.clone(),
                values,
                range: (-m, m),
                diverging: true,
                colorbar_label: "drift (octaves)".into(),
                overlays: vec![Series {
                    label: "beta = max(H, 1/2)".into(),
                    y: line.iter().map(|h| h.max(0.5)).collect(),
                    x: line,
                    ..Series::default()
                }],
            }],
        )?;
    }
    Ok(())
}
