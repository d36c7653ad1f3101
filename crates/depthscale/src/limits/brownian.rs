//! Brownian matrix paths, refinable by Brownian bridges.
//!
//! A path is first drawn on a coarse grid `{k/n0}` from independent Gaussian increments, then
//! refined by halving every interval: given `B(s)` and `B(t)`, the midpoint is
//! `B((s+t)/2) = (B(s) + B(t))/2 + sqrt((t - s)/4) Z` with `Z` standard normal and independent of
//! everything drawn before (the Brownian bridge). Refinement only inserts values; the values
//! already on the grid are kept bit for bit, so a depth-`L` network and a depth-`2L` network
//! observe the same path and every coarse increment is unchanged.

use super::path::{GridPath, MatrixPath};
use crate::{Error, Result, rng::Rng};
use rand_distr::{Distribution, StandardNormal};

/// `scale * B` for a `d x d` matrix `B` of independent standard Brownian motions on `[0, 1]`,
/// known on a uniform grid that [`BrownianPath::refine`] doubles.
pub struct BrownianPath {
    grid: GridPath,
    scale: f64,
    rng: Rng,
}

impl BrownianPath {
    /// Draws the path on the grid `{k/n0}`; `rng` is kept for later refinements.
    pub fn new(dim: usize, n0: usize, scale: f64, mut rng: Rng) -> Result<Self> {
        if dim == 0 || n0 == 0 {
            return Err(Error::config(
                "width",
                "a Brownian path needs dim >= 1 and n0 >= 1",
            ));
        }
        let m = dim * dim;
        let sd = scale / (n0 as f64).sqrt();
        let mut values = vec![0.0; (n0 + 1) * m];
        for k in 1..=n0 {
            let (prev, next) = values.split_at_mut(k * m);
            let prev = &prev[(k - 1) * m..];
            for (x, p) in next[..m].iter_mut().zip(prev) {
                let z: f64 = StandardNormal.sample(&mut rng);
                *x = p + sd * z;
            }
        }
        Ok(Self {
            grid: GridPath::from_values(dim, n0, values),
            scale,
            rng,
        })
    }

    /// Doubles the resolution with Brownian-bridge midpoints (old values kept exactly).
    pub fn refine(&mut self) {
        let (dim, n) = (self.grid.dim(), self.grid.resolution());
        let m = dim * dim;
        // Var(midpoint | ends) = (1/n) / 4
        let sd = self.scale * (0.25 / n as f64).sqrt();
        let old = self.grid.values();
        let mut values = vec![0.0; (2 * n + 1) * m];
        for k in 0..n {
            let (a, b) = (&old[k * m..(k + 1) * m], &old[(k + 1) * m..(k + 2) * m]);
            values[2 * k * m..(2 * k + 1) * m].copy_from_slice(a);
            for ((x, p), q) in values[(2 * k + 1) * m..(2 * k + 2) * m]
                .iter_mut()
                .zip(a)
                .zip(b)
            {
                let z: f64 = StandardNormal.sample(&mut self.rng);
                *x = 0.5 * (p + q) + sd * z;
            }
        }
        values[2 * n * m..].copy_from_slice(&old[n * m..]);
        self.grid = GridPath::from_values(dim, 2 * n, values);
    }

    /// Refines until the resolution is `n`, which must be the current resolution times a power
    /// of two.
    pub fn refine_to(&mut self, n: usize) -> Result<()> {
        let cur = self.grid.resolution();
        if n < cur || !n.is_multiple_of(cur) || !(n / cur).is_power_of_two() {
            return Err(Error::config(
                "reference",
                format!(
                    "cannot refine a Brownian path of resolution {cur} to {n}: need {cur} * 2^j"
                ),
            ));
        }
        while self.grid.resolution() < n {
            self.refine();
        }
        Ok(())
    }

    /// The current resolution `n` (values known at `k/n`).
    pub fn resolution(&self) -> usize {
        self.grid.resolution()
    }

    /// The values on the current grid.
    pub fn grid(&self) -> &GridPath {
        &self.grid
    }

    /// Drops the generator, keeping the values.
    pub fn into_grid(self) -> GridPath {
        self.grid
    }
}

impl MatrixPath for BrownianPath {
    fn dim(&self) -> usize {
        self.grid.dim()
    }
    fn observes(&self, n: usize) -> bool {
        self.grid.observes(n)
    }
    fn increment(&self, n: usize, k: usize, out: &mut [f64]) {
        self.grid.increment(n, k, out);
    }
}

/// The odd part `n0` of `n` and the number `j` of halvings, `n = n0 * 2^j`: a Brownian path
/// drawn at resolution `n0` and refined `j` times has resolution `n`.
pub fn dyadic_split(n: usize) -> (usize, u32) {
    let j = n.trailing_zeros();
    (n >> j, j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    #[test]
    fn refinement_keeps_coarse_increments_bitwise() {
        let mut p = BrownianPath::new(3, 5, 0.7, rng::stream(1, &[])).unwrap();
        let m = 9;
        let coarse: Vec<Vec<f64>> = (1..=5)
            .map(|k| {
                let mut out = vec![0.0; m];
                p.increment(5, k, &mut out);
                out
            })
            .collect();
        p.refine_to(5 * 64).unwrap();
        assert_eq!(p.resolution(), 320);
        let mut out = vec![0.0; m];
        let mut sum = vec![0.0; m];
        for (k, want) in coarse.iter().enumerate() {
            p.increment(5, k + 1, &mut out);
            assert_eq!(&out, want, "coarse increment {k} changed bitwise");
            // ... and it is the sum of the 64 fine increments inside it (up to rounding)
            sum.fill(0.0);
            for j in 1..=64 {
                p.increment(320, k * 64 + j, &mut out);
                for (s, o) in sum.iter_mut().zip(&out) {
                    *s += o;
                }
            }
            for (s, w) in sum.iter().zip(want) {
                assert!((s - w).abs() < 1e-12, "{s} vs {w}");
            }
        }
        assert!(p.refine_to(321).is_err());
    }

    #[test]
    fn refined_increments_are_independent_with_variance_dt() {
        // 400 paths of 4 x 4 entries refined from 1 to 64 steps: 6400 entry paths per step. The
        // sample variance of n * (increment / scale)^2 has relative sd sqrt(2/6400) = 0.018 per
        // step; averaged over 64 steps it is far smaller. 0.05 is > 2.5 sd per step (checked on
        // the worst step) and the lag-1 correlation (sd 1/sqrt(6400 * 63) = 0.0016) is within 0.01.
        let (dim, n, scale) = (4, 64, 0.5);
        let mut var = vec![0.0; n];
        let (mut lag1, mut count) = (0.0, 0.0);
        let paths = 400;
        for p in 0..paths {
            let mut b = BrownianPath::new(dim, 1, scale, rng::stream(7, &[p])).unwrap();
            b.refine_to(n).unwrap();
            let mut prev = vec![0.0; dim * dim];
            let mut cur = vec![0.0; dim * dim];
            for k in 1..=n {
                b.increment(n, k, &mut cur);
                for (e, x) in cur.iter().enumerate() {
                    let z = x / scale * (n as f64).sqrt();
                    var[k - 1] += z * z;
                    if k > 1 {
                        lag1 += z * prev[e] / scale * (n as f64).sqrt();
                        count += 1.0;
                    }
                }
                std::mem::swap(&mut prev, &mut cur);
            }
        }
        let samples = (paths as usize * dim * dim) as f64;
        for (k, v) in var.iter().enumerate() {
            let v = v / samples;
            assert!((v - 1.0).abs() < 0.07, "step {k}: variance {v}");
        }
        let mean_var = var.iter().sum::<f64>() / samples / n as f64;
        assert!((mean_var - 1.0).abs() < 0.01, "mean variance {mean_var}");
        assert!(
            (lag1 / count).abs() < 0.01,
            "lag-1 correlation {}",
            lag1 / count
        );
    }

    #[test]
    fn dyadic_split_recovers_odd_part() {
        assert_eq!(dyadic_split(16384), (1, 14));
        assert_eq!(dyadic_split(20480), (5, 12));
        assert_eq!(dyadic_split(7), (7, 0));
    }
}
