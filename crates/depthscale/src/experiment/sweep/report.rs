//! The end of a sweep (or of a merge): the tables rewritten in cell order, the figures and the
//! summary.
//!
//! `accuracy.png/svg` shows, for each `(H, beta)`, the best final test accuracy over learning
//! rates (diverged runs count as 0; grey: no cell run), with the line `beta = max(H, 1/2)`;
//! `accuracy_per_lr.png/svg` shows each learning rate. With a fixed law (no Hurst grid) the
//! figure is accuracy against beta, one line per learning rate.

use super::rows::{CellEpoch, CellRow, Status};
use super::{Plan, SweepConfig};
use crate::Result;
use crate::experiment::store;
use crate::experiment::summary::{BestOverLr, SweepSummary, finite, rest};
use crate::experiment::training::num;
use crate::plot::{self, Heatmap, LineStyle, Panel, Series};
use std::path::Path;

/// Writes the sorted `cells.csv` and `metrics.csv`, the figures, and returns the summary.
pub(super) fn finish(
    cfg: &SweepConfig,
    plan: &Plan,
    dir: &Path,
    mut cells: Vec<(usize, CellRow)>,
    mut epochs: Vec<CellEpoch>,
) -> Result<SweepSummary> {
    cells.sort_by_key(|(i, _)| *i);
    epochs.sort_by_key(|(i, r)| (*i, r.epoch));
    store::rewrite(&dir.join("cells.csv"), cells.iter().map(|(_, r)| r))?;
    store::rewrite(&dir.join("metrics.csv"), epochs.iter().map(|(_, r)| r))?;
    let best = best_over_lr(plan, &cells);
    draw(cfg, plan, dir, &cells, &best)?;
    let diverged = cells.iter().filter(|(_, r)| r.status != Status::Ok).count();
    let best_over_lr: Vec<BestOverLr> = best
        .iter()
        .map(|b| BestOverLr {
            hurst: b.hurst,
            beta: b.beta,
            best_lr: b.lr,
            test_accuracy: finite(b.score),
            cells_done: b.done,
        })
        .collect();
    let overall = best
        .iter()
        .filter(|b| b.score.is_finite())
        .max_by(|a, b| a.score.total_cmp(&b.score));
    Ok(SweepSummary {
        best_over_lr,
        rest: rest(serde_json::json!({
            "cells_total": plan.cells.len(),
            "cells_done": cells.len(),
            "cells_diverged": diverged,
            "init_v": cfg.init_v,
            "dataset": cfg.dataset.trim(),
            "best_overall": overall.map(|b| serde_json::json!({
                "hurst": b.hurst, "beta": b.beta, "lr": b.lr, "test_accuracy": num(b.score)
            })),
        })),
    })
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
                .filter(|(_, r)| r.hurst == hurst && r.beta == beta)
            {
                b.done += 1;
                let s = r.score();
                if b.lr.is_none() || s > b.score || (b.score.is_nan() && !s.is_nan()) {
                    b.score = s;
                    b.lr = Some(r.lr);
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
            .find(|(_, r)| r.lr == lr && r.hurst == h && r.beta == b)
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
                x_ticks: None,
                notes: Vec::new(),
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
        annotate: Some(2),
        notes: Vec::new(),
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
