//! The losses of a training run: [`LossKind`] picks softmax cross-entropy against labels or the
//! mean squared error against target vectors. Their kernels, forward and backward side by side,
//! live with the backends (`kernels::loss`, re-exported here), which compute them.

use crate::Error;
pub use crate::kernels::loss::{cross_entropy, cross_entropy_sum, mse, squared_error_sum};
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
