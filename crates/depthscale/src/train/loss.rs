//! The losses, forward and backward side by side: softmax cross-entropy against labels and
//! the mean squared error against target vectors ([`LossKind`] picks one for a training run).
//!
//! Logits are a column-major `n_classes x n` batch (each sample's logits contiguous). Each
//! column is reduced in `f64` with the log-sum-exp trick
//! `loss_c = log sum_j exp(z_j - m) + (m - z_y)` (`m = max_j z_j`), so large logits neither
//! overflow nor cancel; batch sums are accumulated in `f64`.

use crate::{Error, Float};
use std::fmt;
use std::str::FromStr;

/// The loss of a training run (the config field `loss`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LossKind {
    /// Softmax cross-entropy against class labels ([`cross_entropy`]).
    #[default]
    CrossEntropy,
    /// Mean squared error against target vectors, as PyTorch's `MSELoss` ([`mse`]).
    Mse,
}

impl fmt::Display for LossKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LossKind::CrossEntropy => "cross_entropy",
            LossKind::Mse => "mse",
        })
    }
}

impl FromStr for LossKind {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.trim() {
            "cross_entropy" => Ok(LossKind::CrossEntropy),
            "mse" => Ok(LossKind::Mse),
            other => Err(Error::config(
                "loss",
                format!("unknown loss {other:?}; accepted: cross_entropy, mse"),
            )),
        }
    }
}

impl TryFrom<String> for LossKind {
    type Error = Error;
    fn try_from(s: String) -> crate::Result<Self> {
        s.parse()
    }
}

impl From<LossKind> for String {
    fn from(l: LossKind) -> String {
        l.to_string()
    }
}

/// Mean squared error of a batch as PyTorch's `MSELoss(reduction="mean")`: the mean over all
/// `n_out x n` entries, `sum (z - y)^2 / (n_out n)`, writing its gradient
/// `dout = 2 (z - y) / (n_out n)` alongside. The sum is accumulated in `f64`.
///
/// `out`, `targets` and `dout` are `n_out x n` column-major (each sample contiguous). Returns
/// `NaN` for an empty batch.
///
/// # Panics
/// If the slices differ in length or are not a multiple of `n_out`.
pub fn mse<T: Float>(out: &[T], targets: &[T], n_out: usize, dout: &mut [T]) -> f64 {
    assert!(
        out.len() == targets.len()
            && out.len() == dout.len()
            && out.len().is_multiple_of(n_out.max(1)),
        "out, targets and dout must be n_out x n"
    );
    let count = out.len() as f64;
    let scale = 2.0 / count;
    let mut total = 0.0f64;
    for ((&z, &y), g) in out.iter().zip(targets).zip(dout.iter_mut()) {
        let r = z.f64() - y.f64();
        total += r * r;
        *g = T::of(scale * r);
    }
    total / count
}

/// The summed squared error `sum (z - y)^2` of a batch (no gradient), accumulated in `f64`;
/// same layout as [`mse`].
///
/// # Panics
/// If the slices differ in length.
pub fn squared_error_sum<T: Float>(out: &[T], targets: &[T]) -> f64 {
    assert_eq!(
        out.len(),
        targets.len(),
        "out and targets must be n_out x n"
    );
    out.iter()
        .zip(targets)
        .map(|(&z, &y)| {
            let r = z.f64() - y.f64();
            r * r
        })
        .sum()
}

/// Mean softmax cross-entropy of a batch (PyTorch's `cross_entropy` with `reduction="mean"`),
/// writing its gradient `dlogits = (softmax(z) - onehot(y)) / n` alongside.
///
/// `logits` and `dlogits` are `n_classes x n` column-major with `n = labels.len()`. Returns the
/// mean loss (`NaN` for an empty batch; non-finite whenever a logit is).
///
/// # Panics
/// If the slices do not hold `n_classes x n` values or a label is `>= n_classes`.
pub fn cross_entropy<T: Float>(
    logits: &[T],
    labels: &[u8],
    n_classes: usize,
    dlogits: &mut [T],
) -> f64 {
    let n = labels.len();
    assert_eq!(logits.len(), n_classes * n, "logits must be n_classes x n");
    assert_eq!(
        dlogits.len(),
        n_classes * n,
        "dlogits must be n_classes x n"
    );
    let inv_n = 1.0 / n as f64;
    let mut total = 0.0f64;
    for ((z, g), &y) in logits
        .chunks_exact(n_classes)
        .zip(dlogits.chunks_exact_mut(n_classes))
        .zip(labels)
    {
        let y = usize::from(y);
        assert!(y < n_classes, "label {y} out of range 0..{n_classes}");
        let m = max_logit(z);
        let sum_exp: f64 = z.iter().map(|&v| (v.f64() - m).exp()).sum();
        total += sum_exp.ln() + (m - z[y].f64());
        let scale = inv_n / sum_exp;
        for (gj, &zj) in g.iter_mut().zip(z) {
            *gj = T::of((zj.f64() - m).exp() * scale);
        }
        g[y] = T::of(((z[y].f64() - m).exp() / sum_exp - 1.0) * inv_n);
    }
    total * inv_n
}

/// Summed cross-entropy and number of correct arg-max predictions of a batch (no gradient).
///
/// Ties go to the lowest class index (as `argmax` in PyTorch); a column with a `NaN` logit
/// counts as wrong. Same layout and panics as [`cross_entropy`].
pub fn cross_entropy_sum<T: Float>(logits: &[T], labels: &[u8], n_classes: usize) -> (f64, usize) {
    let n = labels.len();
    assert_eq!(logits.len(), n_classes * n, "logits must be n_classes x n");
    let mut total = 0.0f64;
    let mut correct = 0usize;
    for (z, &y) in logits.chunks_exact(n_classes).zip(labels) {
        let y = usize::from(y);
        assert!(y < n_classes, "label {y} out of range 0..{n_classes}");
        let m = max_logit(z);
        let sum_exp: f64 = z.iter().map(|&v| (v.f64() - m).exp()).sum();
        total += sum_exp.ln() + (m - z[y].f64());
        if argmax(z) == Some(y) {
            correct += 1;
        }
    }
    (total, correct)
}

/// The largest logit as `f64` (`NaN` if any logit is `NaN`).
fn max_logit<T: Float>(z: &[T]) -> f64 {
    z.iter().fold(f64::NEG_INFINITY, |m, &v| {
        let v = v.f64();
        if v.is_nan() || m.is_nan() {
            f64::NAN
        } else {
            m.max(v)
        }
    })
}

/// Index of the first maximal entry; `None` when an entry is `NaN`.
fn argmax<T: Float>(z: &[T]) -> Option<usize> {
    let mut best = 0;
    for (j, &v) in z.iter().enumerate() {
        if v.is_nan() {
            return None;
        }
        if v > z[best] {
            best = j;
        }
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(z: &[f64], y: usize) -> f64 {
        let s: f64 = z.iter().map(|v| v.exp()).sum();
        s.ln() - z[y]
    }

    #[test]
    fn matches_the_naive_formula_and_its_gradient() {
        let logits = [0.3, -1.2, 2.0, 0.5, 0.1, -0.7];
        let labels = [2u8, 0];
        let mut g = [0.0; 6];
        let loss = cross_entropy(&logits, &labels, 3, &mut g);
        let want = (naive(&logits[..3], 2) + naive(&logits[3..], 0)) / 2.0;
        assert!((loss - want).abs() < 1e-14);
        // central differences of the mean loss
        let mut scratch = [0.0; 6];
        for i in 0..6 {
            let mut zp = logits;
            let mut zm = logits;
            zp[i] += 1e-6;
            zm[i] -= 1e-6;
            let fd = (cross_entropy(&zp, &labels, 3, &mut scratch)
                - cross_entropy(&zm, &labels, 3, &mut scratch))
                / 2e-6;
            assert!((fd - g[i]).abs() < 1e-9, "entry {i}: {fd} vs {}", g[i]);
        }
        // gradient columns sum to zero
        assert!(g[..3].iter().sum::<f64>().abs() < 1e-15);
        let (sum, correct) = cross_entropy_sum(&logits, &labels, 3);
        assert!((sum - 2.0 * want).abs() < 1e-14);
        assert_eq!(correct, 2);
    }

    #[test]
    fn mse_matches_its_definition_and_finite_differences() {
        let out = [0.3, -1.2, 2.0, 0.5, 0.1, -0.7];
        let y = [0.0, 1.0, 1.5, -0.5, 0.2, 0.3];
        let mut g = [0.0; 6];
        let loss = mse(&out, &y, 3, &mut g);
        let want: f64 = out
            .iter()
            .zip(&y)
            .map(|(z, y)| (z - y) * (z - y))
            .sum::<f64>()
            / 6.0;
        assert!((loss - want).abs() < 1e-15, "{loss} vs {want}");
        assert!((squared_error_sum(&out, &y) - 6.0 * want).abs() < 1e-14);
        let mut scratch = [0.0; 6];
        for i in 0..6 {
            let (mut up, mut down) = (out, out);
            up[i] += 1e-6;
            down[i] -= 1e-6;
            let fd = (mse(&up, &y, 3, &mut scratch) - mse(&down, &y, 3, &mut scratch)) / 2e-6;
            assert!((fd - g[i]).abs() < 1e-9, "entry {i}: {fd} vs {}", g[i]);
        }
        assert!(mse::<f64>(&[], &[], 3, &mut []).is_nan());
        for l in [LossKind::CrossEntropy, LossKind::Mse] {
            assert_eq!(l.to_string().parse::<LossKind>().unwrap(), l);
        }
        assert!("l1".parse::<LossKind>().is_err());
    }

    #[test]
    fn is_stable_for_huge_logits() {
        let logits = [1000.0f32, -1000.0, 0.0, 1e30, 1e30, -1e30];
        let labels = [0u8, 1];
        let mut g = [0.0f32; 6];
        let loss = cross_entropy(&logits, &labels, 3, &mut g);
        // column 0: loss ~ 0; column 1: log 2 (two equal winners)
        assert!((loss - std::f64::consts::LN_2 / 2.0).abs() < 1e-6, "{loss}");
        assert!(g.iter().all(|v| v.is_finite()));
        assert!((g[4] - (0.5 - 1.0) / 2.0).abs() < 1e-7);
        // a tie goes to the lowest index: column 1 predicts class 0, which is wrong
        assert_eq!(cross_entropy_sum(&logits, &labels, 3).1, 1);
    }

    #[test]
    fn non_finite_logits_give_a_non_finite_loss() {
        let mut g = [0.0f32; 2];
        assert!(!cross_entropy(&[f32::NAN, 0.0], &[0], 2, &mut g).is_finite());
        assert!(!cross_entropy(&[f32::INFINITY, 0.0], &[1], 2, &mut g).is_finite());
        assert_eq!(cross_entropy_sum(&[f32::NAN, 0.0], &[0], 2).1, 0);
    }
}
