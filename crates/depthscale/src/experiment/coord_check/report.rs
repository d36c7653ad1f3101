//! The coord check's table, figure and summary, from the rows only. A curve that explodes
//! over depth (max/min ratio above `MAX_DRAWN_RATIO`) is named in the panel title instead of
//! drawn.

use super::{CoordCheckConfig, CoordRow};
use crate::Result;
use crate::experiment::RunContext;
use crate::experiment::parameterization::Parameterization;
use crate::experiment::store::{self, Record, float};
use crate::experiment::summary::{CoordCheckSummary, Flatness, Reading, rest};
use crate::experiment::training::num;
use crate::plot::{self, Panel, Series};
use crate::stats::loglog_slope;
use serde::{Deserialize, Serialize};

/// Curves with a larger max/min ratio over depth (or an overflow) are left out of the figure
/// (their numbers stay in the table and summary): they would flatten every other curve.
const MAX_DRAWN_RATIO: f64 = 1e3;

/// The two curves of the figure: `(module, label)`.
const CURVES: [(&str, &str); 2] = [("h", "last hidden state h_L"), ("logits", "logits")];

/// `l1` of `module` at the last layer for every depth, at step `t`, for parameterization `pi`.
pub(super) fn curve(
    rows: &[CoordRow],
    pi: usize,
    depths: &[usize],
    module: &str,
    t: usize,
) -> Vec<f64> {
    depths
        .iter()
        .map(|&l| {
            let layer = if module == "h" { l } else { l + 1 };
            rows.iter()
                .find(|r| {
                    r.param == pi
                        && r.depth == l
                        && r.t == t
                        && r.module == module
                        && r.layer == layer
                })
                .map_or(f64::NAN, |r| r.l1)
        })
        .collect()
}

/// The standard error of `ln(max/min)` of the curve `(module, t)` of parameterization `pi` over
/// the images it averages: by the delta method, paired (every depth sees the same images),
/// `ln(m_a / m_b)` moves by the mean over images of `x_a,i / m_a - x_b,i / m_b` for the
/// depths `a` (max) and `b` (min), so `se = sd / sqrt(n)` of that. `None` when a value is not
/// finite or fewer than two images were recorded.
pub(super) fn log_ratio_se(
    rows: &[CoordRow],
    pi: usize,
    depths: &[usize],
    module: &str,
    t: usize,
) -> Option<f64> {
    let y = curve(rows, pi, depths, module, t);
    if !y.iter().all(|v| v.is_finite() && *v > 0.0) {
        return None;
    }
    let arg = |better: fn(f64, f64) -> bool| {
        (0..y.len()).reduce(|i, j| if better(y[j], y[i]) { j } else { i })
    };
    let (a, b) = (arg(|x, y| x > y)?, arg(|x, y| x < y)?);
    let per_image = |i: usize| {
        let l = depths[i];
        let layer = if module == "h" { l } else { l + 1 };
        rows.iter()
            .find(|r| {
                r.param == pi && r.depth == l && r.t == t && r.module == module && r.layer == layer
            })
            .map(|r| r.per_image.as_slice())
    };
    let (xa, xb) = (per_image(a)?, per_image(b)?);
    if xa.len() != xb.len() || xa.len() < 2 {
        return None;
    }
    let z: Vec<f64> = xa
        .iter()
        .zip(xb)
        .map(|(p, q)| p / y[a] - q / y[b])
        .collect();
    let se = crate::stats::mean_se(&z).1;
    se.is_finite().then_some(se)
}

/// Max/min ratio of a curve (`+inf` when an entry is not finite or not positive).
pub(super) fn ratio(y: &[f64]) -> f64 {
    if y.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return f64::INFINITY;
    }
    let max = y.iter().copied().fold(f64::MIN, f64::max);
    let min = y.iter().copied().fold(f64::MAX, f64::min);
    max / min
}

/// A row of `coords.csv` (mup's column names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CoordsRow {
    parameterization: String,
    depth: usize,
    module: String,
    layer: usize,
    t: usize,
    quantity: String,
    #[serde(with = "float")]
    l1: f64,
}

impl Record for CoordsRow {
    const COLUMNS: &'static [&'static str] = &[
        "parameterization",
        "depth",
        "module",
        "layer",
        "t",
        "quantity",
        "l1",
    ];
}

/// Writes `coords.csv` and the figure; returns the summary.
pub(super) fn finish(
    cfg: &CoordCheckConfig,
    params: &[Parameterization],
    depths: &[usize],
    rows: &[CoordRow],
    ctx: &RunContext,
) -> Result<CoordCheckSummary> {
    let table: Vec<CoordsRow> = rows
        .iter()
        .map(|r| CoordsRow {
            parameterization: params[r.param].name.clone(),
            depth: r.depth,
            module: r.module.to_owned(),
            layer: r.layer,
            t: r.t,
            quantity: r.quantity.to_owned(),
            l1: r.l1,
        })
        .collect();
    store::rewrite(&ctx.path("coords.csv"), &table)?;
    let x: Vec<f64> = depths.iter().map(|&l| l as f64).collect();
    let mut panels = Vec::new();
    let mut curves_json = Vec::new();
    let mut flat = Vec::new();
    // The figure shows initialization, the first step and the last (three panels a row stay
    // readable at the report's width); every step is in coords.csv and summary.json.
    let mut shown = vec![0, 1.min(cfg.steps), cfg.steps];
    shown.dedup();
    for (module, label) in CURVES {
        for t in 0..=cfg.steps {
            let mut series = Vec::new();
            let mut hidden = Vec::new();
            for (pi, p) in params.iter().enumerate() {
                let y = curve(rows, pi, depths, module, t);
                let r = ratio(&y);
                let exploded = r.is_nan() || r > MAX_DRAWN_RATIO;
                if exploded {
                    hidden.push(p.name.as_str());
                }
                curves_json.push(serde_json::json!({
                    "parameterization": p.name, "module": module, "t": t,
                    "l1": y.iter().map(|v| num(*v)).collect::<Vec<_>>(),
                    "loglog_slope": loglog_slope(&x, &y).map_or(serde_json::Value::Null, num),
                    "max_min_ratio": num(r),
                    "flat": r <= cfg.flat_ratio,
                }));
                if exploded {
                    // keep the palette's colour of every parameterization
                    series.push(Series::default());
                    continue;
                }
                series.push(Series {
                    label: p.name.clone(),
                    x: x.clone(),
                    y,
                    markers: true,
                    ..Series::default()
                });
            }
            if !shown.contains(&t) {
                continue;
            }
            let notes = if hidden.is_empty() {
                Vec::new()
            } else {
                vec![format!("{} explodes: not drawn", hidden.join(", "))]
            };
            panels.push(Panel {
                title: format!("{label}, t = {t}"),
                x_label: "depth L".into(),
                y_label: "l1 = mean |.|".into(),
                log_x: true,
                log_y: true,
                series,
                x_ticks: None,
                notes,
            });
        }
    }
    for (pi, p) in params.iter().enumerate() {
        // the worst (largest) ratio over both curves and every step, and its curve
        let (worst, worst_curve) = CURVES
            .iter()
            .flat_map(|(m, _)| (0..=cfg.steps).map(move |t| (*m, t)))
            .map(|(m, t)| (ratio(&curve(rows, pi, depths, m, t)), (m, t)))
            .fold((0.0f64, None), |acc, (r, c)| {
                if r > acc.0 || acc.1.is_none() {
                    (r, Some(c))
                } else {
                    acc
                }
            });
        let worst_log_ratio_se =
            worst_curve.and_then(|(m, t)| log_ratio_se(rows, pi, depths, m, t));
        // a non-finite measurement is the evidence of an overflow: the first one, named
        let first_bad = rows.iter().find(|r| r.param == pi && !r.l1.is_finite());
        let worst = match first_bad {
            Some(r) => Reading::Overflow {
                overflow: format!(
                    "l1 = {} at L = {}, {} layer {}, t = {}",
                    r.l1, r.depth, r.module, r.layer, r.t
                ),
            },
            None => Reading::finite_or_overflow(worst, || {
                "the max/min ratio over L is not finite (an l1 of 0)".into()
            }),
        };
        flat.push(Flatness {
            parameterization: p.name.clone(),
            flat: matches!(worst, Reading::Value(w) if w <= cfg.flat_ratio),
            worst_max_min_ratio: worst,
            worst_log_ratio_se,
            images: cfg.samples,
        });
    }
    let title = if cfg.title.is_empty() {
        format!(
            "Depth coord check: l1 against depth after t Adam steps (lr = {})",
            cfg.lr
        )
    } else {
        cfg.title.clone()
    };
    plot::line_panels(&ctx.path("coord_check"), &title, &panels, shown.len())?;
    let flat_names: Vec<&str> = params
        .iter()
        .zip(&flat)
        .filter(|(_, f)| f.flat)
        .map(|(p, _)| p.name.as_str())
        .collect();
    let note = format!(
        "flat (max/min ratio over L of l1(h_L) and l1(logits) at most {} at every t): {}",
        cfg.flat_ratio,
        if flat_names.is_empty() {
            "none".to_string()
        } else {
            flat_names.join(", ")
        }
    );
    // a parameterization with a non-finite measurement diverged: never flat (its ratio is
    // infinite), and named
    let diverged: Vec<&str> = params
        .iter()
        .enumerate()
        .filter(|(pi, _)| rows.iter().any(|r| r.param == *pi && !r.l1.is_finite()))
        .map(|(_, p)| p.name.as_str())
        .collect();
    let warnings: Vec<String> = diverged
        .iter()
        .map(|name| {
            format!("parameterization {name:?} diverged: some of its measurements are not finite (see coords.csv); it is not counted as flat")
        })
        .collect();
    Ok(CoordCheckSummary {
        steps: cfg.steps,
        depths: depths.to_vec(),
        flatness: flat,
        rest: rest(serde_json::json!({
            "diverged": diverged,
            "warnings": warnings,
            "lr": cfg.lr,
            "parameterizations": params,
            "curves": curves_json,
            "flat": flat_names,
            "note": note,
            "dataset": cfg.dataset.trim(),
        })),
    })
}
