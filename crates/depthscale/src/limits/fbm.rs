//! Fractional Brownian matrix paths on nested grids.
//!
//! Each entry is an independent standard fBm `B_H` drawn at `k/n`, `k = 0..=n`, as the
//! cumulative sum of unit-variance fractional Gaussian noise times `n^{-H}` (so
//! `Var B_H(t) = t^{2H}`), with the circulant-embedding sampler of [`crate::paths::fbm`]. A
//! network of depth `L` (with `L` dividing `n`) uses the increments of the same stored values
//! on the subgrid `{k/L}`: the path observed on nested grids.

use super::path::GridPath;
use crate::paths::fbm::FgnPlan;
use rand::Rng;
use rustfft::num_complex::Complex;

/// `scale * B_H` for a `dim x dim` matrix of independent standard fBms of the plan's Hurst
/// index, at the plan's resolution `n` (`k/n`, `k = 0..=n`).
pub fn fbm_grid_path<R: Rng + ?Sized>(
    dim: usize,
    plan: &FgnPlan,
    scale: f64,
    rng: &mut R,
) -> GridPath {
    let (n, m) = (plan.len(), dim * dim);
    let c = scale * (n as f64).powf(-plan.hurst());
    let mut values = vec![0.0; (n + 1) * m];
    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
    let mut scratch: Vec<Complex<f64>> = Vec::new();
    for e in (0..m).step_by(2) {
        plan.fill_pair(rng, &mut scratch, &mut a, &mut b);
        for (col, noise) in [(e, &a), (e + 1, &b)] {
            if col >= m {
                break;
            }
            let mut acc = 0.0;
            for (k, x) in noise.iter().enumerate() {
                acc += x;
                values[(k + 1) * m + col] = acc * c;
            }
        }
    }
    GridPath::from_values(dim, n, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MatrixPath;
    use crate::rng;

    #[test]
    fn nested_grids_see_the_same_path_with_fbm_scaling() {
        // 300 paths of 3 x 3 entries (2700 fBm paths) at resolution 256, H = 0.75.
        let (dim, n, h) = (3, 256, 0.75);
        let plan = FgnPlan::new(n, h).unwrap();
        let mut var = [0.0; 3];
        let levels = [4usize, 16, 256];
        let paths = 300;
        let mut out = vec![0.0; 9];
        let mut sum = [0.0; 9];
        for p in 0..paths {
            let x = fbm_grid_path(dim, &plan, 2.0, &mut rng::stream(3, &[p]));
            // coarse increments are sums of the fine ones (nested grids)
            x.increment(4, 2, &mut out);
            sum.fill(0.0);
            for k in 65..=128 {
                let mut fine = vec![0.0; 9];
                x.increment(256, k, &mut fine);
                for (s, f) in sum.iter_mut().zip(&fine) {
                    *s += f;
                }
            }
            for (s, o) in sum.iter().zip(&out) {
                assert!((s - o).abs() < 1e-12);
            }
            for (v, &l) in var.iter_mut().zip(&levels) {
                x.increment(l, 1, &mut out);
                *v += out.iter().map(|y| y * y).sum::<f64>();
            }
        }
        // Var(increment over [0, 1/L]) = scale^2 L^{-2H}; 2700 samples give the sample
        // variance a relative sd of sqrt(2/2700) = 0.027, so 0.12 is > 4 sd.
        for (v, &l) in var.iter().zip(&levels) {
            let v = v / (paths as f64 * 9.0);
            let want = 4.0 * (l as f64).powf(-2.0 * h);
            assert!((v / want - 1.0).abs() < 0.12, "L={l}: {v} vs {want}");
        }
    }
}
