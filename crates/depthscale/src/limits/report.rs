//! Aggregates the per-path records of a [`Study`] and draws its figures.

use super::study::{PathRecord, Study};
use crate::Result;
use crate::plot::{LineStyle, Panel, Series, line_panels};
use crate::stats::{ks_distance, linear_fit, mean_ci95, wasserstein1};
use std::path::Path;

/// Mean and 95% half-width of one measurement, per case and depth.
pub type Table = Vec<Vec<(f64, f64)>>;

/// The study's measurements averaged over paths.
#[derive(Clone, Debug)]
pub struct Aggregate {
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

/// A log-log fit `y = 10^intercept x^slope`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    /// Exponent.
    pub slope: f64,
    /// `log10` of the prefactor.
    pub intercept: f64,
}

/// Least-squares fit of `log10 y` on `log10 x` over the points with finite positive `y`.
pub fn loglog_fit(x: &[usize], y: &[f64]) -> Option<Fit> {
    let (lx, ly): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(y)
        .filter(|(_, y)| y.is_finite() && **y > 0.0)
        .map(|(&x, y)| ((x as f64).log10(), y.log10()))
        .unzip();
    linear_fit(&lx, &ly).map(|(slope, intercept)| Fit { slope, intercept })
}

fn column(records: &[PathRecord], f: impl Fn(&PathRecord) -> f64) -> Vec<f64> {
    records.iter().map(f).collect()
}

/// Averages the records over paths.
pub fn aggregate(study: &Study, records: &[PathRecord]) -> Aggregate {
    let table = |f: fn(&super::LevelRecord) -> f64| -> Table {
        (0..study.betas.len())
            .map(|c| {
                (0..study.depths.len())
                    .map(|i| mean_ci95(&column(records, |r| f(&r.levels[c][i]))))
                    .collect()
            })
            .collect()
    };
    let exploded = (0..study.betas.len())
        .map(|c| {
            (0..study.depths.len())
                .map(|i| {
                    records
                        .iter()
                        .filter(|r| !r.levels[c][i].ratio.is_finite())
                        .count()
                })
                .collect()
        })
        .collect();
    let limit_ratio = column(records, |r| r.limit_ratio);
    let (ks, w1) = (0..study.betas.len())
        .map(|c| {
            (0..study.depths.len())
                .map(|i| {
                    let net = column(records, |r| r.levels[c][i].ratio);
                    (
                        ks_distance(&net, &limit_ratio),
                        wasserstein1(&net, &limit_ratio),
                    )
                })
                .unzip()
        })
        .unzip();
    Aggregate {
        depths: study.depths.clone(),
        betas: study.betas.clone(),
        strong: table(|l| l.strong),
        terminal: table(|l| l.terminal),
        displacement: table(|l| l.displacement),
        exploded,
        limit_displacement: mean_ci95(&column(records, |r| r.limit_displacement)),
        ks,
        w1,
    }
}

fn xs(depths: &[usize]) -> Vec<f64> {
    depths.iter().map(|&l| l as f64).collect()
}

fn mean_series(label: String, depths: &[usize], row: &[(f64, f64)], style: LineStyle) -> Series {
    let y: Vec<f64> = row.iter().map(|m| m.0).collect();
    let band = (
        row.iter().map(|m| m.0 - m.1).collect(),
        row.iter().map(|m| m.0 + m.1).collect(),
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

/// Names of the limit and of a scaling, for legends.
pub struct Names {
    /// The limit (`ODE`, `SDE`, `Young ODE`).
    pub limit: String,
    /// The reference solver, e.g. `RK4, N = 2048`.
    pub reference: String,
}

fn beta_label(agg: &Aggregate, c: usize) -> String {
    if c == 0 {
        format!("paired beta = {}", agg.betas[0])
    } else {
        format!("mismatched beta = {}", agg.betas[c])
    }
}

/// `errors.png/svg`: strong and terminal errors of the paired networks against depth with fitted
/// slopes, the mismatched scalings' errors against the same limit on an adjacent panel (they
/// explode or stall, and would flatten the paired curves), and how far each network moves its
/// input.
pub fn errors_figure(stem: &Path, title: &str, agg: &Aggregate, names: &Names) -> Result<()> {
    let style = |c: usize| {
        if c == 0 {
            LineStyle::Solid
        } else {
            LineStyle::Dashed
        }
    };
    let slope_of =
        |row: &[(f64, f64)]| loglog_fit(&agg.depths, &row.iter().map(|m| m.0).collect::<Vec<_>>());
    let paired_panel = |what: &str, y_label: &str, row: &[(f64, f64)]| {
        let fit = slope_of(row);
        let mut series = vec![mean_series(
            format!("{} (mean, 95% CI)", beta_label(agg, 0)),
            &agg.depths,
            row,
            LineStyle::Solid,
        )];
        if let Some(f) = fit {
            series.push(fit_series(
                format!("fitted slope {:+.3}", f.slope),
                &agg.depths,
                f,
            ));
        }
        Panel {
            title: format!("{what} error vs the {} ({})", names.limit, names.reference),
            x_label: "depth L".into(),
            y_label: y_label.into(),
            log_x: true,
            log_y: true,
            series,
        }
    };
    let mut panels = vec![
        paired_panel("strong", "E max_k ||h_k - H(k/L)||", &agg.strong[0]),
        paired_panel("terminal", "E ||h_L - H(1)||", &agg.terminal[0]),
    ];
    if agg.betas.len() > 1 {
        let series = (0..agg.betas.len())
            .map(|c| {
                let slope =
                    slope_of(&agg.strong[c]).map_or("n/a".into(), |f| format!("{:+.3}", f.slope));
                mean_series(
                    format!("{} (slope {slope})", beta_label(agg, c)),
                    &agg.depths,
                    &agg.strong[c],
                    style(c),
                )
            })
            .collect();
        panels.push(Panel {
            title: format!("strong error vs the {}, all scalings", names.limit),
            x_label: "depth L".into(),
            y_label: "E max_k ||h_k - H(k/L)||".into(),
            log_x: true,
            log_y: true,
            series,
        });
    }
    let mut moved: Vec<Series> = (0..agg.betas.len())
        .map(|c| {
            mean_series(
                beta_label(agg, c),
                &agg.depths,
                &agg.displacement[c],
                style(c),
            )
        })
        .collect();
    let lim = agg.limit_displacement.0;
    moved.push(Series {
        label: format!("limit {} ({lim:.3})", names.limit),
        x: xs(&agg.depths),
        y: vec![lim; agg.depths.len()],
        style: LineStyle::Dashed,
        ..Series::default()
    });
    panels.push(Panel {
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
/// path 0 with the limit, and `||h(t)||` for every mismatched scaling.
pub fn trajectories_figure(
    stem: &Path,
    title: &str,
    study: &Study,
    rec: &PathRecord,
    names: &Names,
) -> Result<()> {
    let Some(limit) = &rec.limit_trajectory else {
        return Ok(());
    };
    let net_series = |case: usize, pick: &dyn Fn(&super::Trajectory) -> Vec<f64>| {
        rec.trajectories
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
    for c in 0..study.coordinates {
        let mut series = net_series(0, &|tr| tr.coords[c].clone());
        series.push(limit_series(limit.coords[c].clone()));
        panels.push(Panel {
            title: format!(
                "coordinate {} of h, paired beta = {}",
                c + 1,
                study.betas[0]
            ),
            x_label: "t = k/L".into(),
            y_label: format!("h_{}", c + 1),
            series,
            ..Panel::default()
        });
    }
    for (case, beta) in study.betas.iter().enumerate().skip(1) {
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
pub fn weak_figure(
    stem: &Path,
    study: &Study,
    records: &[PathRecord],
    agg: &Aggregate,
    names: &Names,
) -> Result<()> {
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
    let nd = agg.depths.len();
    let mut shown: Vec<usize> = vec![0, nd / 2, nd - 1];
    shown.dedup();
    let mut series: Vec<Series> = shown
        .iter()
        .map(|&i| {
            cdf(
                format!(
                    "L = {} (KS {:.3}, W1 {:.2e})",
                    agg.depths[i], agg.ks[0][i], agg.w1[0][i]
                ),
                records.iter().map(|r| r.levels[0][i].ratio).collect(),
                LineStyle::Solid,
            )
        })
        .collect();
    // mismatched scalings at the largest depth, when on the limit's scale (not exploded)
    let limit_max = records.iter().map(|r| r.limit_ratio).fold(0.0, f64::max);
    for (c, beta) in agg.betas.iter().enumerate().skip(1) {
        let v: Vec<f64> = records.iter().map(|r| r.levels[c][nd - 1].ratio).collect();
        if v.iter().all(|x| x.is_finite() && *x <= 10.0 * limit_max) {
            series.push(cdf(
                format!(
                    "mismatched beta = {beta}, L = {} (KS {:.3})",
                    agg.depths[nd - 1],
                    agg.ks[c][nd - 1]
                ),
                v,
                LineStyle::Solid,
            ));
        }
    }
    series.push(cdf(
        format!("limit {} ({})", names.limit, names.reference),
        records.iter().map(|r| r.limit_ratio).collect(),
        LineStyle::Dashed,
    ));
    let cdfs = Panel {
        title: format!(
            "CDF of ||h_L|| / ||h_0|| over {} paths, paired beta = {}",
            records.len(),
            study.betas[0]
        ),
        x_label: "||h_L|| / ||h_0||".into(),
        y_label: "empirical CDF".into(),
        series,
        ..Panel::default()
    };
    let dist = |label: &str, y: &[f64]| Series {
        label: label.into(),
        x: xs(&agg.depths),
        y: y.to_vec(),
        markers: true,
        ..Series::default()
    };
    let w1_fit = loglog_fit(&agg.depths, &agg.w1[0]);
    let distances = Panel {
        title: format!(
            "two-sample distances to the limit (W1 slope {})",
            w1_fit.map_or("n/a".into(), |f| format!("{:+.3}", f.slope))
        ),
        x_label: "depth L".into(),
        y_label: "distance".into(),
        log_x: true,
        log_y: true,
        series: vec![
            dist("Kolmogorov-Smirnov", &agg.ks[0]),
            dist("Wasserstein-1", &agg.w1[0]),
        ],
    };
    let last = nd - 1;
    let title = format!(
        "weak convergence to the {}: at L = {}, KS = {:.3}, W1 = {:.2e}",
        names.limit, agg.depths[last], agg.ks[0][last], agg.w1[0][last]
    );
    line_panels(stem, &title, &[cdfs, distances], 2)
}
