//! Stage 4, figures: drawn from the rows, cells and tables of the stages before, computing
//! nothing the tables do not already hold.

use super::cells::{Cells, cell_key};
use super::rows::Row;
use super::tables::{Critical, DepthCurves, closed_form_h_diff, sorted_betas};
use super::{Plan, ProbeConfig};
use crate::Result;
use crate::experiment::RunContext;
use crate::plot::{self, Heatmap, Histogram, LineStyle, Panel, Series};
use crate::probe::ProbeMeasure;

/// Points on which closed forms are drawn.
const FINE: usize = 200;

/// Figures 1, 3-5: mean and 95% band of each measurement against depth, one panel per beta,
/// with the closed form of `h_diff` where it applies (`hidden.*`, `gradients.*`).
pub(super) fn depth_curves(
    ctx: &RunContext,
    cfg: &ProbeConfig,
    plan: &Plan,
    curves: &DepthCurves,
) -> Result<()> {
    let metrics = [
        ("h_ratio", "||h_L|| / ||h_0||"),
        ("h_diff", "||h_L - h_0|| / ||h_0||"),
        ("g_ratio", "||p_0|| / ||p_L||"),
        ("g_diff", "||p_L - p_0|| / ||p_L||"),
    ];
    let depths: Vec<f64> = plan.depths.iter().map(|&l| l as f64).collect();
    for (stem, pair, title) in [
        ("hidden", &metrics[0..2], "Hidden states at initialization"),
        ("gradients", &metrics[2..4], "Gradients at initialization"),
    ] {
        let mut panels = Vec::new();
        for &(metric, label) in pair {
            for &beta in &plan.betas {
                let mut series = Vec::new();
                for h in plan.hursts() {
                    let stats: Vec<(f64, f64)> = plan
                        .depths
                        .iter()
                        .filter_map(|&l| curves.get(&cell_key(l, h, beta)))
                        .map(|c| c.stat(metric))
                        .collect();
                    series.push(Series {
                        label: h
                            .map_or_else(|| "mean, 95% band".to_owned(), |h| format!("H = {h:.2}")),
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
                let closed: Option<Vec<f64>> = plan
                    .depths
                    .iter()
                    .map(|&l| {
                        plan.hursts()
                            .into_iter()
                            .find_map(|h| curves.get(&cell_key(l, h, beta)))
                            .and_then(|c| c.closed_form)
                    })
                    .collect();
                if let (Some(_), Some(m2), "h_diff") = (closed, plan.closed_form_m2(), metric) {
                    // the closed form is a smooth function of L: evaluated on a fine grid, not
                    // joined through the measured depths
                    let (lo, hi) = (depths[0], depths[depths.len() - 1]);
                    let fine: Vec<f64> = (0..=FINE)
                        .map(|k| lo + (hi - lo) * k as f64 / FINE as f64)
                        .collect();
                    series.push(Series {
                        label: format!(
                            "sqrt((1 + m2 L^-2b)^L - 1), m2 = {}",
                            // 0.82, not 0.8200000000000001
                            (m2 * 1e6).round() / 1e6
                        ),
                        y: fine
                            .iter()
                            .map(|&l| closed_form_h_diff(l, beta, m2))
                            .collect(),
                        x: fine,
                        band: None,
                        style: LineStyle::Dashed,
                        markers: false,
                    });
                }
                panels.push(Panel {
                    x_ticks: None,
                    notes: Vec::new(),
                    title: format!("{metric}, beta = {beta}"),
                    x_label: "depth L".into(),
                    y_label: label.into(),
                    log_x: false,
                    log_y: true,
                    series,
                });
            }
        }
        // the reference draws fresh weights per beta; here one draw serves every beta (same
        // marginals), so the caption says that the bands are correlated across the panels
        let mut title = cfg.figure_title(title);
        if plan.betas.len() > 1 {
            title.push_str(" (one draw serves every beta: bands correlated across panels)");
        }
        plot::line_panels(&ctx.path(stem), &title, &panels, plan.betas.len())?;
    }
    Ok(())
}

/// The note on an estimated critical beta that lies visibly below `max(H, 1/2)` for H > 1/2:
/// the largest gap and where, attributed to the finite depth (the theory is for L -> infinity).
fn finite_depth_note(hursts: &[f64], crit: &[f64], depth: usize) -> Vec<String> {
    let gaps: Vec<(f64, f64)> = hursts
        .iter()
        .zip(crit)
        .filter(|(h, c)| **h > 0.5 && c.is_finite())
        .map(|(&h, &c)| (h, h.max(0.5) - c))
        .collect();
    let below: Vec<&(f64, f64)> = gaps.iter().filter(|g| g.1 >= 0.05).collect();
    match (below.first(), below.last()) {
        (Some(first), Some(last)) => {
            let worst = below.iter().map(|g| g.1).fold(0.0, f64::max);
            vec![format!(
                "critical beta {worst:.2} below max(H, 1/2) at most, H = {:.2}-{:.2}: finite depth (L = {depth})",
                first.0, last.0
            )]
        }
        _ => Vec::new(),
    }
}

/// Figure 2: histograms of `h_ratio` and `g_ratio` per cell (at most 12 panels,
/// `histograms.*`).
pub(super) fn histograms(
    ctx: &RunContext,
    cfg: &ProbeConfig,
    plan: &Plan,
    rows: &[Row],
) -> Result<()> {
    let mut panels = Vec::new();
    for &l in &plan.depths {
        for h in plan.hursts() {
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
        &cfg.figure_title("Distribution at initialization"),
        &panels,
    )
}

/// Figure 7: heatmaps of mean `log10 h_diff` and `log10 g_diff` over (Hurst, beta) per
/// depth, with the critical betas and `max(H, 1/2)` drawn over them (`phase.*`, or
/// `phase_L{depth}.*` with several depths).
pub(super) fn phase_diagram(
    ctx: &RunContext,
    cfg: &ProbeConfig,
    plan: &Plan,
    cells: &Cells,
    critical: &[Critical],
) -> Result<()> {
    let hursts: Vec<f64> = plan
        .hursts()
        .into_iter()
        .map(|h| h.expect("phase diagram has a hurst grid"))
        .collect();
    let betas = sorted_betas(plan);
    for &l in &plan.depths {
        let value = |h: f64, b: f64, metric: &str| -> f64 {
            cells
                .get(&cell_key(l, Some(h), b))
                .map_or(f64::NAN, |c| c.mean_log10(metric))
        };
        let here: Vec<&Critical> = critical.iter().filter(|c| c.depth == l).collect();
        let crit: Vec<f64> = here.iter().map(|c| c.hidden).collect();
        let crit_g: Vec<f64> = here.iter().map(|c| c.gradients).collect();
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
            annotate: None,
            notes: finite_depth_note(&hursts, crit, l),
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
        let suffix = if plan.depths.len() > 1 {
            format!("_L{l}")
        } else {
            String::new()
        };
        plot::heatmaps(
            &ctx.path(&format!("phase{suffix}")),
            &cfg.figure_title("Phase diagram at initialization (fBm weights)"),
            &[
                map("h_diff", "log10 ||h_L - h_0|| / ||h_0||", &crit),
                map("g_diff", "log10 ||p_L - p_0|| / ||p_L||", &crit_g),
            ],
        )?;
    }
    Ok(())
}
