//! Stage 2, figures: `weights.png/svg` and `roughness.png/svg`, drawn from the tables of stage
//! 1 as read back from the run directory ([`Tables`]), computing nothing they do not hold but
//! the medians shown in titles.

use super::WeightsConfig;
use super::rows::{ResultRow, Tables};
use crate::Result;
use crate::experiment::RunContext;
use crate::plot::{self, Histogram, LineStyle, Panel, Series};
use crate::stats::mean_median;

/// Layers shown in the before/after panels of `weights.png` (the change is shown over all).
const WINDOW: usize = 100;

/// The config's title, or `default` when it has none.
fn title(cfg: &WeightsConfig, default: &str) -> String {
    if cfg.title.is_empty() {
        default.to_owned()
    } else {
        cfg.title.clone()
    }
}

/// `weights.png/svg`: the displayed entry `V_k[i, j]` of every model against the layer, before
/// and after training over the first [`WINDOW`] layers (top row), and its change over all
/// layers (bottom row), from `entry.csv`; test accuracies from `models.csv`.
pub(super) fn weights(cfg: &WeightsConfig, ctx: &RunContext, tables: &Tables) -> Result<()> {
    let depth = cfg.depth;
    // Rough (i.i.d.) entries change little relative to their jumps: overlaid over all
    // layers, "after" would hide "before". The top row shows both over the first WINDOW
    // layers, the bottom row the change after - before over all layers.
    let window = depth.min(WINDOW);
    let series = |label: &str, x: &[f64], y: &[f64], n: usize| Series {
        label: label.into(),
        x: x[..n].to_vec(),
        y: y[..n].to_vec(),
        band: None,
        style: LineStyle::Solid,
        markers: false,
    };
    let mut panels = Vec::new();
    let mut changes = Vec::new();
    for (rows, m) in tables.entries_per_model().zip(&tables.models) {
        let (i, j) = rows.first().map_or((0, 0), |r| (r.i, r.j));
        let ks: Vec<f64> = rows.iter().map(|r| r.k as f64).collect();
        let before: Vec<f64> = rows.iter().map(|r| r.before).collect();
        let after: Vec<f64> = rows.iter().map(|r| r.after).collect();
        let change: Vec<f64> = rows.iter().map(|r| r.change).collect();
        panels.push(Panel {
            title: format!("{}: test accuracy {:.3}", m.model, m.final_test_accuracy),
            x_label: "layer k".into(),
            y_label: format!("V_k[{i}, {j}]"),
            series: vec![
                series("before training", &ks, &before, window),
                series("after training", &ks, &after, window),
            ],
            notes: if window < depth {
                vec![format!("first {window} of {depth} layers")]
            } else {
                Vec::new()
            },
            ..Panel::default()
        });
        changes.push(Panel {
            title: format!("{}: change after - before", m.model),
            x_label: "layer k".into(),
            y_label: format!("change of V_k[{i}, {j}]"),
            series: vec![series("", &ks, &change, depth)],
            notes: vec![format!("all {depth} layers")],
            ..Panel::default()
        });
    }
    panels.extend(changes);
    plot::line_panels(
        &ctx.path("weights"),
        &title(
            cfg,
            "One weight entry V_k[i, j] against depth, before and after training (Figure 8)",
        ),
        &panels,
        tables.models.len().clamp(1, 3),
    )
}

/// `roughness.png/svg`: histograms of every model's Hurst estimates before training, after
/// training and of the change, from `results.csv`, with their medians in the titles.
pub(super) fn roughness(cfg: &WeightsConfig, ctx: &RunContext, tables: &Tables) -> Result<()> {
    let mut panels = Vec::new();
    for (when, pick) in [
        (
            "before training",
            (|r: &ResultRow| r.hurst_before) as fn(&ResultRow) -> f64,
        ),
        ("after training", |r| r.hurst_after),
        ("of the change after - before", |r| r.hurst_change),
    ] {
        for (rows, m) in tables.results_per_model().zip(&tables.models) {
            let values: Vec<f64> = rows.iter().map(pick).collect();
            let (_, median) = mean_median(&values);
            panels.push(Histogram {
                title: format!("{}: median {median:.2}", m.model),
                x_label: format!("Hurst estimate, {when}"),
                values,
                bins: 40,
                log_x: false,
            });
        }
    }
    plot::histograms(
        &ctx.path("roughness"),
        &title(
            cfg,
            &format!(
                "Roughness over depth of the {} sequences k -> V_k[i, j]: before, after, and of the change",
                cfg.width * cfg.width
            ),
        ),
        &panels,
    )
}
