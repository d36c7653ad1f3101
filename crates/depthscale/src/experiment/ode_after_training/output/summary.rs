//! Stage 4, summary: the [`OdeAfterTrainingSummary`] of a run, from the fits of stage 2 and
//! the rows of `results.csv`.

use super::super::OdeAfterTrainingConfig;
use super::fits::Fit;
use super::rows::ResultRow;
use crate::experiment::summary::{GapSlopes, MeanGapSlopes, OdeAfterTrainingSummary, finite, rest};
use crate::stats::mean_se;

/// Every fit's slopes, their mean, standard error and range per `(beta, init)` over the
/// activations, and the pairs that diverged (from `results`), with a warning naming them.
pub(super) fn summarize(
    cfg: &OdeAfterTrainingConfig,
    fits: &[Fit],
    results: &[ResultRow],
) -> OdeAfterTrainingSummary {
    let slopes: Vec<GapSlopes> = fits
        .iter()
        .map(|f| GapSlopes {
            beta: f.beta,
            init: f.init.clone(),
            activation: f.activation.clone(),
            slope_max_gap_v: f.slopes[0].and_then(finite),
            slope_mean_gap_v: f.slopes[1].and_then(finite),
            slope_max_gap_w: f.slopes[2].and_then(finite),
            max_gap_v_fit: f.corrected,
        })
        .collect();
    // the max-gap slopes of each (beta, init), in order of first appearance
    let mut groups: Vec<(f64, &str, Vec<f64>)> = Vec::new();
    for f in fits {
        let at = match groups.iter().position(|g| g.0 == f.beta && g.1 == f.init) {
            Some(at) => at,
            None => {
                groups.push((f.beta, &f.init, Vec::new()));
                groups.len() - 1
            }
        };
        if let Some(v) = f.slopes[0] {
            groups[at].2.push(v);
        }
    }
    let per_group: Vec<MeanGapSlopes> = groups
        .iter()
        .map(|(beta, init, s)| {
            let mean = (!s.is_empty()).then(|| s.iter().sum::<f64>() / s.len() as f64);
            MeanGapSlopes {
                beta: *beta,
                init: (*init).to_owned(),
                mean_slope_max_gap_v: mean.and_then(finite),
                se_slope_max_gap_v: (s.len() > 1).then(|| mean_se(s).1).and_then(finite),
                min_slope: s.iter().copied().reduce(f64::min).and_then(finite),
                max_slope: s.iter().copied().reduce(f64::max).and_then(finite),
            }
        })
        .collect();
    let diverged: Vec<&ResultRow> = results.iter().filter(|r| r.diverged).collect();
    // one line, naming the first few pairs (`diverged_pairs` lists them all)
    let warnings: Vec<String> = if diverged.is_empty() {
        Vec::new()
    } else {
        let named: Vec<String> = diverged
            .iter()
            .take(4)
            .map(|r| {
                format!(
                    "beta = {}, init = {}, activation = {}, depth {}",
                    r.beta, r.init, r.activation, r.depth
                )
            })
            .collect();
        vec![format!(
            "{} of {} pairs diverged (a loss, test MSE or gap is not finite) and are left out of the fits: {}{}",
            diverged.len(),
            results.len(),
            named.join("; "),
            if diverged.len() > named.len() {
                "; ... (see diverged_pairs)"
            } else {
                ""
            }
        )]
    };
    OdeAfterTrainingSummary {
        slopes,
        mean_slopes: per_group,
        rest: rest(serde_json::json!({
        "depths": cfg.depth,
        "pairs": results.len(),
        "diverged": diverged.len(),
        "diverged_pairs": diverged.iter().map(|r| serde_json::json!({
            "beta": r.beta, "init": r.init,
            "activation": r.activation, "depth": r.depth,
        })).collect::<Vec<_>>(),
        "warnings": warnings,
        "theory": "smooth weights with beta = 1: max gap ~ 1/L (slope -1)",
        })),
    }
}
