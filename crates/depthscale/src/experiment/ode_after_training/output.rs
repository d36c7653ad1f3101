//! The tables, fits, figure and summary of an `ode-after-training` run, from its pairs only.

use super::{Case, OdeAfterTrainingConfig, Pair};
use crate::Result;
use crate::experiment::summary::{GapSlopes, MeanGapSlopes, OdeAfterTrainingSummary, finite, rest};
use crate::experiment::{RunContext, cell};
use crate::plot::{self, LineStyle, Panel, Series};
use crate::stats::{DepthCorrectedSlope, depth_corrected_slope, loglog_slope, max_mean, mean_se};

/// The fitted log-log slopes of one case against `L`: max and mean gap of `V`, max gap of `W`,
/// over the pairs that did not diverge (`None` with fewer than two), and the max gap of `V`'s
/// depth-corrected slope (`None` with fewer than three).
fn slopes(pairs: &[&Pair]) -> ([Option<f64>; 3], Option<DepthCorrectedSlope>) {
    let pairs: Vec<&Pair> = pairs.iter().copied().filter(|p| !p.diverged).collect();
    let x: Vec<f64> = pairs.iter().map(|p| p.depth as f64).collect();
    let y = |f: &dyn Fn(&Pair) -> f64| -> Vec<f64> { pairs.iter().map(|p| f(p)).collect() };
    let max_gap_v = y(&|p| max_mean(&p.gap_v).0);
    (
        [
            loglog_slope(&x, &max_gap_v),
            loglog_slope(&x, &y(&|p| max_mean(&p.gap_v).1)),
            loglog_slope(&x, &y(&|p| max_mean(&p.gap_w).0)),
        ],
        depth_corrected_slope(&x, &max_gap_v),
    )
}

/// Writes `layers.csv`, `results.csv`, `fits.csv`, `gaps.png/svg`; returns the summary.
pub(super) fn write(
    cfg: &OdeAfterTrainingConfig,
    ctx: &RunContext,
    cases: &[Case],
    pairs: &[Pair],
) -> Result<OdeAfterTrainingSummary> {
    let key = |c: &Case| {
        [
            c.beta.to_string(),
            c.init.to_string(),
            c.activation.to_string(),
        ]
    };
    let mut layers = ctx.csv("layers.csv")?;
    layers.row(["beta", "init", "activation", "depth", "k", "gap_v", "gap_w"])?;
    let mut results = ctx.csv("results.csv")?;
    results.row([
        "beta",
        "init",
        "activation",
        "depth",
        "max_gap_v",
        "mean_gap_v",
        "max_gap_w",
        "mean_gap_w",
        "mean_norm_v",
        "train_loss_long",
        "train_loss_short",
        "test_mse_long",
        "test_mse_short",
        "diverged",
    ])?;
    for p in pairs {
        let [b, i, a] = key(&p.case);
        for (k, (gv, gw)) in p.gap_v.iter().zip(&p.gap_w).enumerate() {
            layers.row([
                b.clone(),
                i.clone(),
                a.clone(),
                p.depth.to_string(),
                (k + 1).to_string(),
                cell(Some(*gv)),
                cell(Some(*gw)),
            ])?;
        }
        let (mv, av) = max_mean(&p.gap_v);
        let (mw, aw) = max_mean(&p.gap_w);
        results.row([
            b,
            i,
            a,
            p.depth.to_string(),
            cell(Some(mv)),
            cell(Some(av)),
            cell(Some(mw)),
            cell(Some(aw)),
            cell(Some(p.norm_v)),
            cell(Some(p.train_loss[0])),
            cell(Some(p.train_loss[1])),
            cell(Some(p.test_mse[0])),
            cell(Some(p.test_mse[1])),
            p.diverged.to_string(),
        ])?;
    }
    layers.finish()?;
    results.finish()?;

    let mut fits = ctx.csv("fits.csv")?;
    fits.row([
        "beta",
        "init",
        "activation",
        "slope_max_gap_v",
        "slope_mean_gap_v",
        "slope_max_gap_w",
        "corrected_slope_max_gap_v",
        "corrected_slope_max_gap_v_se",
    ])?;
    let mut slope_rows = Vec::new();
    let mut groups: Vec<(f64, String, Vec<f64>)> = Vec::new();
    let mut panels: Vec<Panel> = Vec::new();
    for c in cases {
        let mine: Vec<&Pair> = pairs.iter().filter(|p| p.case == *c).collect();
        let (s, corrected) = slopes(&mine);
        let [b, i, a] = key(c);
        let corrected_slope = corrected.map(|f| f.slope);
        let corrected_se = corrected.and_then(|f| f.se);
        fits.row([
            b,
            i.clone(),
            a.clone(),
            cell(s[0]),
            cell(s[1]),
            cell(s[2]),
            cell(corrected_slope),
            cell(corrected_se),
        ])?;
        slope_rows.push(GapSlopes {
            beta: c.beta,
            init: i,
            activation: a,
            slope_max_gap_v: s[0].and_then(finite),
            slope_mean_gap_v: s[1].and_then(finite),
            slope_max_gap_w: s[2].and_then(finite),
            max_gap_v_fit: corrected,
        });
        let at = match groups
            .iter()
            .position(|g| g.0 == c.beta && g.1 == c.init.to_string())
        {
            Some(at) => at,
            None => {
                groups.push((c.beta, c.init.to_string(), Vec::new()));
                panels.push(Panel {
                    x_ticks: None,
                    notes: Vec::new(),
                    title: format!("beta = {}, init = {}", c.beta, c.init),
                    x_label: "depth L".into(),
                    y_label: "max_k ||V^L_2k - V^(L/2)_k||_F".into(),
                    log_x: true,
                    log_y: true,
                    series: Vec::new(),
                });
                groups.len() - 1
            }
        };
        if let Some(v) = s[0] {
            groups[at].2.push(v);
        }
        panels[at].series.push(Series {
            label: format!(
                "{} (slope {})",
                c.activation,
                s[0].map_or("n/a: diverged".into(), |v| format!("{v:.2}"))
            ),
            // diverged pairs are left out (a gap, not a point)
            x: mine.iter().map(|p| p.depth as f64).collect(),
            y: mine
                .iter()
                .map(|p| {
                    if p.diverged {
                        f64::NAN
                    } else {
                        max_mean(&p.gap_v).0
                    }
                })
                .collect(),
            band: None,
            style: LineStyle::Solid,
            markers: true,
        });
    }
    fits.finish()?;
    let title = if cfg.title.is_empty() {
        format!(
            "Trained weights as depth doubles: d = {}, {} epoch{} of {} at lr {}",
            cfg.width,
            cfg.epochs,
            if cfg.epochs == 1 { "" } else { "s" },
            cfg.optimizer,
            cfg.lr
        )
    } else {
        cfg.title.clone()
    };
    plot::line_panels(&ctx.path("gaps"), &title, &panels, 2)?;
    let per_group: Vec<MeanGapSlopes> = groups
        .iter()
        .map(|(beta, init, s)| {
            let mean = (!s.is_empty()).then(|| s.iter().sum::<f64>() / s.len() as f64);
            MeanGapSlopes {
                beta: *beta,
                init: init.clone(),
                mean_slope_max_gap_v: mean.and_then(finite),
                se_slope_max_gap_v: (s.len() > 1).then(|| mean_se(s).1).and_then(finite),
                min_slope: s.iter().copied().reduce(f64::min).and_then(finite),
                max_slope: s.iter().copied().reduce(f64::max).and_then(finite),
            }
        })
        .collect();
    let diverged: Vec<&Pair> = pairs.iter().filter(|p| p.diverged).collect();
    // one line, naming the first few pairs (`diverged_pairs` lists them all)
    let warnings: Vec<String> = if diverged.is_empty() {
        Vec::new()
    } else {
        let named: Vec<String> = diverged
            .iter()
            .take(4)
            .map(|p| {
                format!(
                    "beta = {}, init = {}, activation = {}, depth {}",
                    p.case.beta, p.case.init, p.case.activation, p.depth
                )
            })
            .collect();
        vec![format!(
            "{} of {} pairs diverged (a loss, test MSE or gap is not finite) and are left out of the fits: {}{}",
            diverged.len(),
            pairs.len(),
            named.join("; "),
            if diverged.len() > named.len() {
                "; ... (see diverged_pairs)"
            } else {
                ""
            }
        )]
    };
    Ok(OdeAfterTrainingSummary {
        slopes: slope_rows,
        mean_slopes: per_group,
        rest: rest(serde_json::json!({
        "depths": cfg.depth,
        "pairs": pairs.len(),
        "diverged": diverged.len(),
        "diverged_pairs": diverged.iter().map(|p| serde_json::json!({
            "beta": p.case.beta, "init": p.case.init.to_string(),
            "activation": p.case.activation.to_string(), "depth": p.depth,
        })).collect::<Vec<_>>(),
        "warnings": warnings,
        "theory": "smooth weights with beta = 1: max gap ~ 1/L (slope -1)",
        })),
    })
}
