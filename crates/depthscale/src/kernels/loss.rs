//! The loss kernels, forward and backward side by side, on host slices: softmax cross-entropy
//! against labels and the mean squared error against target vectors (the arithmetic behind
//! [`super::Backend::cross_entropy`] and [`super::Backend::mse`] on the CPU, and the reference
//! any backend is checked against; `crate::train::LossKind` picks one for a training run).
//!
//! Logits are a column-major `n_classes x n` batch (each sample's logits contiguous). Each
//! column is reduced in `f64` with the log-sum-exp trick
//! `loss_c = log sum_j exp(z_j - m) + (m - z_y)` (`m = max_j z_j`), so large logits neither
//! overflow nor cancel; batch sums are accumulated in `f64`.

use crate::Float;

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
