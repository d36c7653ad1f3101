//! Typed summaries: the part of each experiment's `summary.json` ("results") that
//! `depthscale reproduce`'s claims read. The experiment builds the struct and serializes it
//! (the keys are the field names, unchanged from the JSON written before), and the claims
//! deserialize it back: a renamed field does not compile, a missing or null number fails to
//! deserialize (the claims then fail as "missing"), and an overflow is a [`Reading::Overflow`]
//! carrying its evidence, never a null. Keys no claim reads stay in each struct's `rest`.

use crate::experiment::parameterization::Parameterization;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The keys of a summary that no claim reads, kept as they were written.
pub type Rest = Map<String, Value>;

/// The JSON object `v` as a [`Rest`] (empty when `v` is not an object).
pub fn rest(v: Value) -> Rest {
    match v {
        Value::Object(m) => m,
        _ => Rest::new(),
    }
}

/// The summary `s` as JSON. Serializing a summary cannot fail (its maps have string keys);
/// were it to, the summary says so and every claim reading it fails as "missing".
pub fn to_json<T: Serialize>(s: &T) -> Value {
    serde_json::to_value(s)
        .unwrap_or_else(|e| serde_json::json!({ "summary_error": e.to_string() }))
}

/// `Some(x)` for a finite `x`, `None` (written as null, read back as missing) otherwise.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// A measured number that may have overflowed: written as the number, or as
/// `{"overflow": "<evidence>"}`; never a null.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reading {
    /// A finite number.
    Value(f64),
    /// The measurement overflowed; the text says where (the evidence).
    Overflow {
        /// Where the non-finite value was found.
        overflow: String,
    },
}

impl Reading {
    /// `Value(x)` for a finite `x`, else an overflow with `evidence()`.
    pub fn finite_or_overflow(x: f64, evidence: impl FnOnce() -> String) -> Reading {
        if x.is_finite() {
            Reading::Value(x)
        } else {
            Reading::Overflow {
                overflow: evidence(),
            }
        }
    }
}

/// `fbm-paths` (Figure 6): declared in its own module, the pattern of a kind that holds
/// everything about itself.
pub use super::fbm_paths::{FbmPathsSummary, FgnIncrements};

/// `probe` (Figures 1 to 5, 7 and the revision's correlated weights).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeSummary {
    /// One point per cell of the grid.
    pub depth_curves: Vec<CurvePointSummary>,
    /// Correlated against uncorrelated weights at the largest depth (only with
    /// `compare_uncorrelated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Vec<CorrelationRow>>,
    /// Keys no claim reads.
    #[serde(flatten)]
    pub rest: Rest,
}

/// One cell of a probe's depth curves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePointSummary {
    /// Depth `L`.
    pub depth: usize,
    /// Residual scaling exponent.
    pub beta: f64,
    /// Hurst index of fBm weights (null otherwise).
    pub hurst: Option<f64>,
    /// Mean `h_diff` (null when not finite).
    pub h_diff_mean: Option<f64>,
    /// Its 95% half-width.
    pub h_diff_ci95: Option<f64>,
    /// The closed form of the root-mean-square `h_diff`, where it applies.
    pub h_diff_closed_form_rms: Option<f64>,
    /// Mean `g_diff`.
    pub g_diff_mean: Option<f64>,
    /// Its 95% half-width.
    pub g_diff_ci95: Option<f64>,
}

/// One `(hurst, beta)` cell at the largest depth, correlated against uncorrelated weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrelationRow {
    /// Depth `L` (the largest).
    pub depth: usize,
    /// Hurst index (null for non-fBm weights).
    pub hurst: Option<f64>,
    /// Residual scaling exponent.
    pub beta: f64,
    /// `h_diff` under both.
    pub h_diff: CorrelationPair,
    /// `g_diff` under both.
    pub g_diff: CorrelationPair,
}

/// Mean and 95% half-width of one metric, correlated and uncorrelated.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrelationPair {
    /// Mean under correlated weights.
    pub correlated_mean: Option<f64>,
    /// Its 95% half-width.
    pub correlated_ci95: Option<f64>,
    /// Mean under uncorrelated weights.
    pub uncorrelated_mean: Option<f64>,
    /// Its 95% half-width.
    pub uncorrelated_ci95: Option<f64>,
}

/// `weights` (Figure 8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightsSummary {
    /// Dataset name.
    pub dataset: String,
    /// Training images.
    pub n_train: usize,
    /// Test images.
    pub n_test: usize,
    /// The entry `(i, j)` of `V` drawn against the layer.
    pub entry_shown: [usize; 2],
    /// One row per trained model.
    pub models: Vec<TrainedModel>,
}

/// One trained model of the `weights` experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainedModel {
    /// Its label.
    pub model: String,
    /// Residual scaling exponent.
    pub beta: f64,
    /// The initialization of `V`.
    pub init_v: String,
    /// Whether training diverged.
    pub diverged: bool,
    /// Test accuracy after the last epoch.
    pub final_test_accuracy: Option<f64>,
    /// Best test accuracy over epochs.
    pub best_test_accuracy: Option<f64>,
    /// `||V_after - V_before|| / ||V_before||`.
    pub relative_change_v: Option<f64>,
    /// Mean variogram Hurst estimate over entries, before training.
    pub hurst_before_mean: Option<f64>,
    /// Median of it, before training.
    pub hurst_before_median: Option<f64>,
    /// Mean, after training.
    pub hurst_after_mean: Option<f64>,
    /// Median, after training.
    pub hurst_after_median: Option<f64>,
    /// Standard error of that median over entries ([`crate::stats::median_se`]).
    pub hurst_after_median_se: Option<f64>,
    /// Median of the change's estimate.
    pub hurst_change_median: Option<f64>,
    /// The checkpoint files written (none without `save`).
    pub checkpoints: Vec<String>,
}

/// `sweep` (Figure 9): the keys its claims read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// The best test accuracy over learning rates per `(hurst, beta)`.
    pub best_over_lr: Vec<BestOverLr>,
    /// Keys no claim reads.
    #[serde(flatten)]
    pub rest: Rest,
}

/// The best score over learning rates at one `(hurst, beta)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestOverLr {
    /// Hurst index (null for non-fBm weights).
    pub hurst: Option<f64>,
    /// Residual scaling exponent.
    pub beta: f64,
    /// The learning rate achieving the best score.
    pub best_lr: Option<f64>,
    /// The best test accuracy (null when no cell is done).
    pub test_accuracy: Option<f64>,
    /// Cells of this pair done.
    pub cells_done: usize,
}

/// `limit` (the ODE, SDE and fBm limits).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LimitSummary {
    /// Log-log slope of the strong error against depth (natural beta).
    pub strong_error_slope: Option<f64>,
    /// Log-log slope of the terminal error.
    pub terminal_error_slope: Option<f64>,
    /// Standard error of `strong_error_slope` over the paths (see [`crate::stats::paired_loglog_slope_se`]).
    pub strong_error_slope_se: Option<f64>,
    /// Standard error of `terminal_error_slope` over the paths.
    pub terminal_error_slope_se: Option<f64>,
    /// Minus the Euler solver's declared strong rate.
    pub expected_slope: f64,
    /// The allowance on the error slopes beyond their sampling error (see
    /// [`crate::limits::Driver::euler_slope_allowance`]).
    pub finite_depth_allowance: f64,
    /// The beta of the limit.
    pub natural_beta: f64,
    /// The mismatched scalings.
    pub mismatched: Vec<MismatchedBeta>,
    /// Keys no claim reads.
    #[serde(flatten)]
    pub rest: Rest,
}

/// One mismatched beta of the `limit` experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MismatchedBeta {
    /// Residual scaling exponent.
    pub beta: f64,
    /// Log-log slope of `||h_L - h_0||` against depth; an overflow when non-finite paths
    /// left no slope to fit.
    pub displacement_slope: Option<Reading>,
    /// Standard error of the displacement slope over the paths (null when a mean is not
    /// finite).
    pub displacement_slope_se: Option<f64>,
    /// Keys no claim reads.
    #[serde(flatten)]
    pub rest: Rest,
}

/// `ode-after-training`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OdeAfterTrainingSummary {
    /// Per `(beta, init, activation)`, the fitted slopes.
    pub slopes: Vec<GapSlopes>,
    /// Per `(beta, init)`, the slopes over activations.
    pub mean_slopes: Vec<MeanGapSlopes>,
    /// Keys no claim reads.
    #[serde(flatten)]
    pub rest: Rest,
}

/// The log-log slopes of the gaps against depth of one `(beta, init, activation)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GapSlopes {
    /// Residual scaling exponent.
    pub beta: f64,
    /// Initialization of the weights.
    pub init: String,
    /// Activation.
    pub activation: String,
    /// Slope of the max gap of `V`.
    pub slope_max_gap_v: Option<f64>,
    /// Slope of the mean gap of `V`.
    pub slope_mean_gap_v: Option<f64>,
    /// Slope of the max gap of `W`.
    pub slope_max_gap_w: Option<f64>,
    /// The max gap of `V`'s plain and depth-corrected log-log fits (a `1 / L` term absorbed).
    pub max_gap_v_fit: Option<crate::stats::DepthCorrectedSlope>,
}

/// The max-gap slopes of one `(beta, init)` over activations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanGapSlopes {
    /// Residual scaling exponent.
    pub beta: f64,
    /// Initialization of the weights.
    pub init: String,
    /// Mean over activations.
    pub mean_slope_max_gap_v: Option<f64>,
    /// Its standard error over the activations (`sd / sqrt(n)`).
    pub se_slope_max_gap_v: Option<f64>,
    /// Smallest over activations.
    pub min_slope: Option<f64>,
    /// Largest over activations.
    pub max_slope: Option<f64>,
}

/// `implicit-regularization`: the keys its claims read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImplicitRegSummary {
    /// Slope of the max increment against depth.
    pub max_increment_slope: Option<f64>,
    /// The max increment's plain and depth-corrected log-log fits (a `1 / L` term absorbed).
    pub max_increment_fit: Option<crate::stats::DepthCorrectedSlope>,
    /// Slope of the distance to the reference network.
    pub distance_slope: Option<f64>,
    /// The distance's plain and depth-corrected log-log fits against the effective depth
    /// `L N / (N - L)` (`N` the reference's).
    pub distance_effective_fit: Option<crate::stats::DepthCorrectedSlope>,
    /// Loss before training.
    pub initial_loss: f64,
    /// Loss after training, per depth.
    pub final_loss: Vec<Option<f64>>,
    /// Keys no claim reads.
    #[serde(flatten)]
    pub rest: Rest,
}

/// `coord-check`: the keys its claims read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoordCheckSummary {
    /// Adam steps.
    pub steps: usize,
    /// The depths `L`, ascending.
    pub depths: Vec<usize>,
    /// Per parameterization, the worst ratio.
    pub flatness: Vec<Flatness>,
    /// Keys no claim reads.
    #[serde(flatten)]
    pub rest: Rest,
}

/// The worst max/min ratio over depth of one parameterization's curves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flatness {
    /// The parameterization's name.
    pub parameterization: String,
    /// The worst ratio; an overflow when a measurement was not finite.
    pub worst_max_min_ratio: Reading,
    /// Whether it is at most the flatness bound.
    pub flat: bool,
    /// Standard error of `ln` of the worst ratio over the images measured (paired across
    /// depths, delta method); null for an overflow.
    pub worst_log_ratio_se: Option<f64>,
    /// The images each `l1` averages over.
    pub images: usize,
}

/// `transfer`: the keys its claims read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferSummary {
    /// The depths of the grid.
    pub depths: Vec<usize>,
    /// One analysis per parameterization.
    pub results: Vec<TransferResult>,
    /// Keys no claim reads.
    #[serde(flatten)]
    pub rest: Rest,
}

/// The drift of `log2 lr*` across depth of one parameterization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferResult {
    /// The parameterization.
    pub parameterization: Parameterization,
    /// Drift of `log2 lr*` from the first to the last depth, in octaves.
    pub drift_octaves: Option<f64>,
    /// Its bootstrap 95% interval over seeds.
    pub drift_octaves_ci95: [Option<f64>; 2],
    /// Keys no claim reads.
    #[serde(flatten)]
    pub rest: Rest,
}

/// `adjoint`: the experiment's own claims.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjointSummary {
    /// Measured against expected.
    pub claims: AdjointClaims,
    /// Keys no claim reads.
    #[serde(flatten)]
    pub rest: Rest,
}

/// The adjoint study's claims.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjointClaims {
    /// Euler gap against steps (expected -1).
    pub euler_gap_slope: AdjointClaim,
    /// RK4 gap against steps (expected -4).
    pub rk4_gap_slope: AdjointClaim,
    /// Smooth weights' reconstruction error against depth (expected -1).
    pub smooth_reconstruction_slope: AdjointClaim,
    /// i.i.d. weights' reconstruction error against depth (expected 0).
    pub iid_reconstruction_slope: AdjointClaim,
    /// States held by back-propagation (expected 1).
    pub backprop_memory_slope: AdjointClaim,
    /// States held by checkpointing (expected 1/2).
    pub checkpoint_memory_slope: AdjointClaim,
    /// States held by the adjoint (expected 0).
    pub adjoint_memory_slope: AdjointClaim,
    /// The i.i.d. reconstruction error at the largest depth.
    pub iid_reconstruction_error_at_largest_depth: AdjointBound,
}

impl AdjointClaims {
    /// Whether every claim holds.
    pub fn all_hold(&self) -> bool {
        [
            &self.euler_gap_slope,
            &self.rk4_gap_slope,
            &self.smooth_reconstruction_slope,
            &self.iid_reconstruction_slope,
            &self.backprop_memory_slope,
            &self.checkpoint_memory_slope,
            &self.adjoint_memory_slope,
        ]
        .iter()
        .all(|c| c.holds)
            && self.iid_reconstruction_error_at_largest_depth.holds
    }
}

/// A measured slope against its expected value and tolerance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjointClaim {
    /// The measured slope (null when there was none to fit).
    pub measured: Option<f64>,
    /// Its standard error, where the draws give one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se: Option<f64>,
    /// The expected slope.
    pub expected: f64,
    /// The tolerance.
    pub tolerance: f64,
    /// Whether `|measured - expected| <= tolerance`.
    pub holds: bool,
}

impl AdjointClaim {
    /// The claim of `measured` (with standard error `se`) against `expected ± tolerance`.
    pub fn new(measured: Option<f64>, se: Option<f64>, expected: f64, tolerance: f64) -> Self {
        let measured = measured.and_then(finite);
        AdjointClaim {
            measured,
            se: se.and_then(finite),
            expected,
            tolerance,
            holds: measured.is_some_and(|m| (m - expected).abs() <= tolerance),
        }
    }
}

/// A measured number against a lower bound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjointBound {
    /// The measured number.
    pub measured: Option<f64>,
    /// Standard error of its logarithm over the draws (a geometric mean's).
    pub log_se: Option<f64>,
    /// The bound.
    pub bound: f64,
    /// Whether the claim holds.
    pub holds: bool,
}
