//! Stage 3, summary: the [`WeightsSummary`] of a run, from the tables of stage 1 as read back
//! from the run directory ([`Tables`]).

use super::rows::Tables;
use crate::experiment::summary::{TrainedModel, WeightsSummary, finite};
use crate::stats::median_se;

/// What a run of the dataset `dataset` (`n_train` and `n_test` images) says: per model (the
/// rows of `models.csv`), its accuracy, weight change and roughness medians, the standard error
/// of the trained median from `results.csv`, and its `checkpoints` (in the models' order).
pub(super) fn summarize(
    tables: &Tables,
    (dataset, n_train, n_test): (&str, usize, usize),
    entry: (usize, usize),
    checkpoints: Vec<Vec<String>>,
) -> WeightsSummary {
    let models = tables
        .models
        .iter()
        .zip(tables.results_per_model())
        .zip(checkpoints)
        .map(|((m, results), checkpoints)| {
            let after: Vec<f64> = results.iter().map(|r| r.hurst_after).collect();
            TrainedModel {
                model: m.model.clone(),
                beta: m.beta,
                init_v: m.init_v.clone(),
                diverged: m.status == "diverged",
                final_test_accuracy: finite(m.final_test_accuracy),
                best_test_accuracy: finite(m.best_test_accuracy),
                relative_change_v: finite(m.relative_change_v),
                hurst_before_mean: finite(m.hurst_before_mean),
                hurst_before_median: finite(m.hurst_before_median),
                hurst_after_mean: finite(m.hurst_after_mean),
                hurst_after_median: finite(m.hurst_after_median),
                hurst_after_median_se: finite(median_se(&after)),
                hurst_change_median: finite(m.hurst_change_median),
                checkpoints,
            }
        })
        .collect();
    WeightsSummary {
        dataset: dataset.to_owned(),
        n_train,
        n_test,
        entry_shown: [entry.0, entry.1],
        models,
    }
}
