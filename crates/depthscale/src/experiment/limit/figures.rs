//! The figures of the `limit` experiment, drawn from its [`Tables`] only (the same rows, cells,
//! fits and trajectories that are written to `results.csv`, `cells.csv`, `trajectories.csv` and
//! `summary.json`).

use crate::Result;
use crate::limits::{Fit, Tables, Trajectory};
use crate::plot::{LineStyle, Panel, Series, line_panels};
use std::path::Path;

/// Names of the limit and of its reference solution, for legends.
pub struct Names {
    /// The limit (`ODE`, `SDE`, `Young ODE`).
    pub limit: String,
    /// The reference solver, e.g. `RK4, N = 2048`.
    pub reference: String,
}

fn xs(depths: &[usize]) -> Vec<f64> {
    depths.iter().map(|&l| l as f64).collect()
}

/// Means with their 95% intervals `(mean, half-width)`, for a log axis: the band is the
/// delta-method interval of `log mean`, `mean * exp(-+ half-width / mean)`, which stays positive
/// (a linear band `mean -+ half-width` would vanish wherever the half-width exceeds the mean).
fn mean_series(label: String, depths: &[usize], row: &[(f64, f64)], style: LineStyle) -> Series {
    let y: Vec<f64> = row.iter().map(|m| m.0).collect();
    let edge = |m: &(f64, f64), sign: f64| m.0 * (sign * m.1 / m.0).exp();
    let band = (
        row.iter().map(|m| edge(m, -1.0)).collect(),
        row.iter().map(|m| edge(m, 1.0)).collect(),
    );
    Series {
        label,
        x: xs(depths),
        y,
        band: Some(band),
        style,
        markers: true,
    }
}

fn fit_series(label: String, depths: &[usize], fit: Fit) -> Series {
    let x = xs(depths);
    let y = x
        .iter()
        .map(|v| 10f64.powf(fit.intercept + fit.slope * v.log10()))
        .collect();
    Series {
        label,
        x,
        y,
        style: LineStyle::Dashed,
        ..Series::default()
    }
}

fn beta_label(t: &Tables, c: usize) -> String {
    if c == 0 {
        format!("paired beta = {}", t.betas[0])
    } else {
        format!("mismatched beta = {}", t.betas[c])
    }
}

fn slope_text(fit: Option<Fit>) -> String {
    fit.map_or("n/a".into(), |f| format!("{:+.3}", f.slope))
}

/// `errors.png/svg`: strong and terminal errors of the paired networks against depth with fitted
/// slopes, the mismatched scalings' errors against the same limit on an adjacent panel (they
/// explode or stall, and would flatten the paired curves), and how far each network moves its
/// input.
pub fn errors_figure(stem: &Path, title: &str, t: &Tables, names: &Names) -> Result<()> {
    let (cells, fits, depths) = (&t.cells, &t.fits, &t.depths);
    let style = |c: usize| {
        if c == 0 {
            LineStyle::Solid
        } else {
            LineStyle::Dashed
        }
    };
    let paired_panel = |what: &str, y_label: &str, row: &[(f64, f64)], fit: Option<Fit>| {
        let mut series = vec![mean_series(
            format!("{} (mean, 95% CI)", beta_label(t, 0)),
            depths,
            row,
            LineStyle::Solid,
        )];
        if let Some(f) = fit {
            series.push(fit_series(
                format!("fitted slope {:+.3}", f.slope),
                depths,
                f,
            ));
        }
        Panel {
            x_ticks: Some(xs(depths)),
            notes: Vec::new(),
            title: format!("{what} error vs the {} ({})", names.limit, names.reference),
            x_label: "depth L".into(),
            y_label: y_label.into(),
            log_x: true,
            log_y: true,
            series,
        }
    };
    let mut panels = vec![
        paired_panel(
            "strong",
            "E max_k ||h_k - H(k/L)||",
            &cells.strong[0],
            fits.strong[0],
        ),
        paired_panel(
            "terminal",
            "E ||h_L - H(1)||",
            &cells.terminal[0],
            fits.terminal[0],
        ),
    ];
    if t.betas.len() > 1 {
        let series = (0..t.betas.len())
            .map(|c| {
                mean_series(
                    format!(
                        "{} (slope {})",
                        beta_label(t, c),
                        slope_text(fits.strong[c])
                    ),
                    depths,
                    &cells.strong[c],
                    style(c),
                )
            })
            .collect();
        panels.push(Panel {
            x_ticks: Some(xs(depths)),
            notes: Vec::new(),
            title: format!("strong error vs the {}, all scalings", names.limit),
            x_label: "depth L".into(),
            y_label: "E max_k ||h_k - H(k/L)||".into(),
            log_x: true,
            log_y: true,
            series,
        });
    }
    let mut moved: Vec<Series> = (0..t.betas.len())
        .map(|c| mean_series(beta_label(t, c), depths, &cells.displacement[c], style(c)))
        .collect();
    let lim = cells.limit_displacement.0;
    moved.push(Series {
        label: format!("limit {} ({lim:.3})", names.limit),
        x: xs(depths),
        y: vec![lim; depths.len()],
        style: LineStyle::Dashed,
        ..Series::default()
    });
    panels.push(Panel {
        x_ticks: Some(xs(depths)),
        notes: Vec::new(),
        title: "how far the network moves its input".into(),
        x_label: "depth L".into(),
        y_label: "E ||h_L - h_0|| / ||h_0||".into(),
        log_x: true,
        log_y: true,
        series: moved,
    });
    line_panels(stem, title, &panels, 2)
}

/// `trajectories.png/svg`: leading coordinates of `h` against `t = k/L` for several depths on
/// path 0 with the limit, and `||h(t)||` for every mismatched scaling. Draws nothing when path
/// 0's trajectories were not kept.
pub fn trajectories_figure(stem: &Path, title: &str, t: &Tables, names: &Names) -> Result<()> {
    let limit = &t.trajectories.limit;
    if limit.t.is_empty() {
        return Ok(());
    }
    let net_series = |case: usize, pick: &dyn Fn(&Trajectory) -> Vec<f64>| {
        t.trajectories
            .networks
            .iter()
            .filter(|(c, _, _)| *c == case)
            .map(|(_, l, tr)| Series {
                label: format!("L = {l}"),
                x: tr.t.clone(),
                y: pick(tr),
                markers: *l <= 40,
                ..Series::default()
            })
            .collect::<Vec<_>>()
    };
    let limit_series = |y: Vec<f64>| Series {
        label: format!("limit ({})", names.reference),
        x: limit.t.clone(),
        y,
        style: LineStyle::Dashed,
        ..Series::default()
    };
    let mut panels = Vec::new();
    for c in 0..limit.coords.len() {
        let mut series = net_series(0, &|tr| tr.coords[c].clone());
        series.push(limit_series(limit.coords[c].clone()));
        panels.push(Panel {
            title: format!("coordinate {} of h, paired beta = {}", c + 1, t.betas[0]),
            x_label: "t = k/L".into(),
            y_label: format!("h_{}", c + 1),
            series,
            ..Panel::default()
        });
    }
    for (case, beta) in t.betas.iter().enumerate().skip(1) {
        let mut series = net_series(case, &|tr| tr.norm.clone());
        series.push(limit_series(limit.norm.clone()));
        panels.push(Panel {
            title: format!("||h(t)||, mismatched beta = {beta}"),
            x_label: "t = k/L".into(),
            y_label: "||h||".into(),
            log_y: true,
            series,
            ..Panel::default()
        });
    }
    line_panels(stem, title, &panels, 3)
}

/// `weak.png/svg`: empirical CDFs of `||h_L|| / ||h_0||` for several depths against the
/// limit's, and the KS / W1 distances against depth.
pub fn weak_figure(stem: &Path, t: &Tables, names: &Names) -> Result<()> {
    let cells = &t.cells;
    let cdf = |label: String, mut v: Vec<f64>, style: LineStyle| {
        v.retain(|x| x.is_finite());
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let y = (1..=v.len()).map(|i| i as f64 / n).collect();
        Series {
            label,
            x: v,
            y,
            style,
            ..Series::default()
        }
    };
    let nd = t.depths.len();
    let mut shown: Vec<usize> = vec![0, nd / 2, nd - 1];
    shown.dedup();
    let mut series: Vec<Series> = shown
        .iter()
        .map(|&i| {
            cdf(
                format!(
                    "L = {} (KS {:.3}, W1 {:.2e})",
                    t.depths[i], cells.ks[0][i], cells.w1[0][i]
                ),
                t.ratios(0, i),
                LineStyle::Solid,
            )
        })
        .collect();
    // mismatched scalings at the largest depth, when on the limit's scale (not exploded)
    let limit_ratios = t.limit_ratios();
    let limit_max = limit_ratios.iter().copied().fold(0.0, f64::max);
    for (c, beta) in t.betas.iter().enumerate().skip(1) {
        let v = t.ratios(c, nd - 1);
        if v.iter().all(|x| x.is_finite() && *x <= 10.0 * limit_max) {
            series.push(cdf(
                format!(
                    "mismatched beta = {beta}, L = {} (KS {:.3})",
                    t.depths[nd - 1],
                    cells.ks[c][nd - 1]
                ),
                v,
                LineStyle::Solid,
            ));
        }
    }
    series.push(cdf(
        format!("limit {} ({})", names.limit, names.reference),
        limit_ratios,
        LineStyle::Dashed,
    ));
    let cdfs = Panel {
        title: format!(
            "CDF of ||h_L|| / ||h_0|| over {} paths, paired beta = {}",
            t.rows.len(),
            t.betas[0]
        ),
        x_label: "||h_L|| / ||h_0||".into(),
        y_label: "empirical CDF".into(),
        series,
        ..Panel::default()
    };
    let dist = |label: &str, y: &[f64]| Series {
        label: label.into(),
        x: xs(&t.depths),
        y: y.to_vec(),
        markers: true,
        ..Series::default()
    };
    let distances = Panel {
        x_ticks: Some(xs(&t.depths)),
        notes: Vec::new(),
        title: format!(
            "two-sample distances to the limit (W1 slope {})",
            slope_text(t.fits.w1)
        ),
        x_label: "depth L".into(),
        y_label: "distance".into(),
        log_x: true,
        log_y: true,
        series: vec![
            dist("Kolmogorov-Smirnov", &cells.ks[0]),
            dist("Wasserstein-1", &cells.w1[0]),
        ],
    };
    let last = nd - 1;
    let title = format!(
        "weak convergence to the {}: at L = {}, KS = {:.3}, W1 = {:.2e}",
        names.limit, t.depths[last], cells.ks[0][last], cells.w1[0][last]
    );
    line_panels(stem, &title, &[cdfs, distances], 2)
}
