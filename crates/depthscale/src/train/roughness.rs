//! Roughness of weights over depth: a variogram estimate of the Hurst exponent.
//!
//! A sequence `x_1..x_L` (e.g. `k -> V_k[i, j]`) is read as the increments of the path
//! `X_0 = 0, X_k = x_1 + ... + x_k`. For fractional Brownian motion of index `H`,
//! `E |X_{k+l} - X_k|^2 = l^{2H} E x^2`, so the slope of `log mean_k |X_{k+l} - X_k|^2` against
//! `log l`, divided by 2, estimates `H`: i.i.d. weights give about `1/2`, fractional Gaussian
//! noise of index `H` about `H`, weights that vary smoothly with depth about `1`.
//!
//! Lags are `1, 2, 4, ...` up to `L / 8`, so that even the largest lag averages over many
//! pairs; the sequence is not centred (a constant offset is a smooth component and pushes the
//! estimate towards 1, as it should).

use crate::model::ResNet;
use crate::stats::linear_fit;

/// Shortest sequence with an estimate (lags 1, 2, 4).
pub const MIN_LEN: usize = 32;

/// The variogram Hurst estimate of the path whose increments are `seq`.
///
/// `None` when `seq` is shorter than [`MIN_LEN`], holds a non-finite value, or the path is
/// constant at some lag (e.g. all zeros).
pub fn hurst_estimate(seq: &[f64]) -> Option<f64> {
    let mut path = Vec::with_capacity(seq.len() + 1);
    estimate_with(seq, &mut path)
}

/// [`hurst_estimate`] with a reusable path buffer.
fn estimate_with(seq: &[f64], path: &mut Vec<f64>) -> Option<f64> {
    let n = seq.len();
    if n < MIN_LEN || seq.iter().any(|x| !x.is_finite()) {
        return None;
    }
    path.clear();
    path.push(0.0);
    let mut acc = 0.0;
    for &x in seq {
        acc += x;
        path.push(acc);
    }
    let (mut log_lag, mut log_var) = (Vec::new(), Vec::new());
    let mut lag = 1;
    while lag <= n / 8 {
        let pairs = path.len() - lag;
        let sum: f64 = path[lag..]
            .iter()
            .zip(&path[..pairs])
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        if !sum.is_finite() || sum <= 0.0 {
            return None;
        }
        log_lag.push((lag as f64).ln());
        log_var.push((sum / pairs as f64).ln());
        lag *= 2;
    }
    linear_fit(&log_lag, &log_var).map(|(slope, _)| slope / 2.0)
}

/// The Hurst estimate of every entry `(i, j)` of the residual weights `V` over depth, at index
/// `i * d + j`; `NaN` where [`hurst_estimate`] has none (e.g. a network shallower than
/// [`MIN_LEN`]).
pub fn weight_hurst_estimates(net: &ResNet<f32>) -> Vec<f64> {
    let (d, l) = (net.dims.width, net.dims.depth);
    let dd = d * d;
    let mut seq = vec![0.0; l];
    let mut path = Vec::with_capacity(l + 1);
    (0..dd)
        .map(|e| {
            for (k, s) in seq.iter_mut().enumerate() {
                *s = f64::from(net.params.v[k * dd + e]);
            }
            estimate_with(&seq, &mut path).unwrap_or(f64::NAN)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, BlockSpec, Dims};
    use crate::paths::{Init, PathCache};
    use crate::rng;
    use rand_distr::{Distribution, StandardNormal};

    fn gaussian(seed: u64, n: usize) -> Vec<f64> {
        let mut r = rng::stream(seed, &[7]);
        (0..n).map(|_| StandardNormal.sample(&mut r)).collect()
    }

    /// Exact fractional Gaussian noise by Cholesky factorization of its covariance.
    fn fgn_factor(n: usize, h: f64) -> Vec<f64> {
        let g = |k: f64| {
            0.5 * ((k + 1.0).powf(2.0 * h) - 2.0 * k.powf(2.0 * h) + (k - 1.0).abs().powf(2.0 * h))
        };
        let mut c = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let mut s = g((i - j) as f64);
                for k in 0..j {
                    s -= c[i * n + k] * c[j * n + k];
                }
                c[i * n + j] = if i == j { s.sqrt() } else { s / c[j * n + j] };
            }
        }
        c
    }

    fn mean(xs: &[f64]) -> f64 {
        xs.iter().sum::<f64>() / xs.len() as f64
    }

    #[test]
    fn iid_noise_gives_one_half() {
        let est: Vec<f64> = (0..200)
            .map(|s| hurst_estimate(&gaussian(s, 1000)).unwrap())
            .collect();
        let m = mean(&est);
        // 200 estimates with a spread of ~0.05 each: the mean is within 0.02 of its target
        assert!((m - 0.5).abs() < 0.02, "mean estimate {m}");
        let within = est.iter().filter(|h| (*h - 0.5).abs() < 0.1).count();
        assert!(within >= 180, "{within} of 200 within 0.1");
    }

    #[test]
    fn fractional_gaussian_noise_gives_its_index() {
        let n = 512;
        for h in [0.25, 0.75] {
            let c = fgn_factor(n, h);
            let est: Vec<f64> = (0..30)
                .map(|s| {
                    let z = gaussian(100 + s, n);
                    let x: Vec<f64> = (0..n)
                        .map(|i| (0..=i).map(|k| c[i * n + k] * z[k]).sum())
                        .collect();
                    hurst_estimate(&x).unwrap()
                })
                .collect();
            let m = mean(&est);
            assert!((m - h).abs() < 0.05, "H = {h}: mean estimate {m}");
        }
    }

    #[test]
    fn smoother_sequences_give_larger_estimates() {
        let z = gaussian(1, 1000);
        // a random walk as the sequence: the path is once differentiable
        let walk: Vec<f64> = z
            .iter()
            .scan(0.0, |s, x| {
                *s += x;
                Some(*s)
            })
            .collect();
        let h_walk = hurst_estimate(&walk).unwrap();
        assert!(h_walk > 0.9, "{h_walk}");
        // a moving average over 16 steps: smooth below 16, rough above
        let ma: Vec<f64> = (0..1000 - 16).map(|i| z[i..i + 16].iter().sum()).collect();
        let h_ma = hurst_estimate(&ma).unwrap();
        assert!(h_ma > 0.65 && h_ma < 1.0, "{h_ma}");
        // a sine with two periods over depth
        let sine: Vec<f64> = (0..1000)
            .map(|k| (2.0 * std::f64::consts::PI * 2.0 * k as f64 / 1000.0).sin())
            .collect();
        let h_sine = hurst_estimate(&sine).unwrap();
        assert!((h_sine - 1.0).abs() < 0.05, "{h_sine}");
    }

    #[test]
    fn degenerate_inputs_have_no_estimate() {
        assert_eq!(hurst_estimate(&[1.0; 10]), None);
        assert_eq!(hurst_estimate(&[0.0; 100]), None);
        let mut x = gaussian(3, 100);
        x[5] = f64::NAN;
        assert_eq!(hurst_estimate(&x), None);
        // a constant offset is perfectly smooth
        assert!((hurst_estimate(&[0.3; 100]).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn iid_uniform_weights_of_a_network_give_one_half() {
        let dims = Dims {
            n_in: 2,
            width: 10,
            n_out: 2,
            depth: 1000,
            inner_width: 10,
        };
        let mut net = ResNet::<f32>::zeros(BlockSpec::res1(Activation::Relu), dims).unwrap();
        Init::Uniform
            .sample_stack(
                1000,
                10,
                10,
                &PathCache::new(),
                &mut rng::stream(5, &[]),
                &mut net.params.v,
            )
            .unwrap();
        let est = weight_hurst_estimates(&net);
        assert_eq!(est.len(), 100);
        let m = mean(&est);
        assert!((m - 0.5).abs() < 0.02, "{m}");
        let shallow =
            ResNet::<f32>::zeros(BlockSpec::res1(Activation::Relu), Dims { depth: 8, ..dims })
                .unwrap();
        assert!(weight_hurst_estimates(&shallow).iter().all(|h| h.is_nan()));
    }
}
