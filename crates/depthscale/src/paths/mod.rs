//! Weights as paths over depth: the law of the sequence `k -> V_k[i, j]`, `k = 1..L`.
//!
//! - [`Init::Uniform`], [`Init::Gaussian`], [`Init::Rademacher`]: i.i.d. over `k`;
//! - [`Init::Fbm`]: fractional Gaussian noise over `k` (Hurst index `H`; `H = 1/2` is i.i.d.);
//! - [`Init::Rbf`]: a smooth Gaussian process over `t = k/L`.
//!
//! Every law gives each entry variance `1/fan_in` (`fan_in` = number of columns).
//! What depends only on `(L, H)` or `(L, bandwidth)` (circulant eigenvalues, FFT plans, Gram
//! factors) is computed once and shared through a [`PathCache`].

mod cache;
pub mod fbm;
mod iid;
pub mod rbf;

pub use cache::PathCache;

use crate::{Error, Float, Result};
use rand::Rng;
use std::fmt;
use std::str::FromStr;

/// How a smooth (RBF) path is turned into weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RbfVariant {
    /// `V_k = path(k/L) / sqrt(d)`: the values of a unit-variance GP (the paper's later code).
    Values,
    /// Increments of the path on the grid `0, 1/L, ..., 1`, normalised to unit variance then by
    /// `sqrt(d)` (the paper's 2022 code).
    Increments,
}

/// The law of a stack of weight matrices over depth.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Init {
    /// i.i.d. uniform on `[-sqrt(3/fan_in), sqrt(3/fan_in)]` (the paper's default).
    Uniform,
    /// i.i.d. `N(0, 1/fan_in)`.
    Gaussian,
    /// i.i.d. `+-1/sqrt(fan_in)`.
    Rademacher,
    /// Unit-variance fractional Gaussian noise of Hurst index `hurst` over depth, over `sqrt(fan_in)`.
    Fbm {
        /// Hurst index, in `(0, 1)`.
        hurst: f64,
    },
    /// Smooth Gaussian process with kernel `exp(-(s-t)^2 / (2 bandwidth^2))` over `t in [0, 1]`.
    Rbf {
        /// Kernel bandwidth, positive.
        bandwidth: f64,
        /// Values or increments of the path.
        variant: RbfVariant,
    },
}

impl Init {
    /// Checks the parameters; `field` names the config field in the error.
    pub fn validate(&self, field: &str) -> Result<()> {
        match *self {
            Init::Fbm { hurst } if !(hurst > 0.0 && hurst < 1.0) => Err(Error::config(
                field,
                format!("Hurst index must lie in the open interval (0, 1), got {hurst}"),
            )),
            Init::Rbf { bandwidth, .. } if !(bandwidth > 0.0 && bandwidth.is_finite()) => {
                Err(Error::config(
                    field,
                    format!("rbf bandwidth must be positive and finite, got {bandwidth}"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The Hurst index of an fBm law, `0.5` for Gaussian i.i.d. laws, `None` otherwise.
    pub fn hurst(&self) -> Option<f64> {
        match *self {
            Init::Fbm { hurst } => Some(hurst),
            _ => None,
        }
    }

    /// Fills `out` (`depth x rows x cols`, layer-major, row-major inside a layer) with one draw.
    pub fn sample_stack<T: Float, R: Rng + ?Sized>(
        &self,
        depth: usize,
        rows: usize,
        cols: usize,
        cache: &PathCache,
        rng: &mut R,
        out: &mut [T],
    ) -> Result<()> {
        self.validate("init")?;
        assert_eq!(
            out.len(),
            depth * rows * cols,
            "sample_stack: output has the wrong length"
        );
        let scale = 1.0 / (cols as f64).sqrt();
        match *self {
            Init::Uniform => iid::uniform(scale, rng, out),
            Init::Gaussian => iid::gaussian(scale, rng, out),
            Init::Rademacher => iid::rademacher(scale, rng, out),
            Init::Fbm { hurst } => fbm::sample_stack(
                &*cache.fgn(depth, hurst)?,
                depth,
                rows * cols,
                scale,
                rng,
                out,
            ),
            Init::Rbf { bandwidth, variant } => rbf::sample_stack(
                &*cache.rbf(depth, bandwidth, variant)?,
                depth,
                rows * cols,
                scale,
                rng,
                out,
            ),
        }
        Ok(())
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Uniform => write!(f, "uniform"),
            Init::Gaussian => write!(f, "gaussian"),
            Init::Rademacher => write!(f, "rademacher"),
            Init::Fbm { hurst } => write!(f, "fbm({hurst})"),
            Init::Rbf { bandwidth, variant } => match variant {
                RbfVariant::Values => write!(f, "rbf({bandwidth})"),
                RbfVariant::Increments => write!(f, "rbf({bandwidth}, increments)"),
            },
        }
    }
}

impl FromStr for Init {
    type Err = Error;

    /// Parses `uniform`, `gaussian`, `rademacher`, `fbm(H)`, `rbf(BW)`, `rbf(BW, values)` or
    /// `rbf(BW, increments)`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let bad = || {
            Error::config(
                "init",
                format!(
                    "unknown initialization {s:?}; accepted: uniform, gaussian, rademacher, fbm(H) with 0 < H < 1, \
                     rbf(BANDWIDTH), rbf(BANDWIDTH, increments)"
                ),
            )
        };
        let init = match s {
            "uniform" => Init::Uniform,
            "gaussian" => Init::Gaussian,
            "rademacher" => Init::Rademacher,
            _ => {
                let (name, rest) = s.split_once('(').ok_or_else(bad)?;
                let args: Vec<&str> = rest
                    .strip_suffix(')')
                    .ok_or_else(bad)?
                    .split(',')
                    .map(str::trim)
                    .collect();
                let num = |a: &str| a.parse::<f64>().map_err(|_| bad());
                match (name.trim(), args.as_slice()) {
                    ("fbm", [h]) => Init::Fbm { hurst: num(h)? },
                    ("rbf", [bw]) | ("rbf", [bw, "values"]) => Init::Rbf {
                        bandwidth: num(bw)?,
                        variant: RbfVariant::Values,
                    },
                    ("rbf", [bw, "increments"]) => Init::Rbf {
                        bandwidth: num(bw)?,
                        variant: RbfVariant::Increments,
                    },
                    _ => return Err(bad()),
                }
            }
        };
        init.validate("init")?;
        Ok(init)
    }
}

impl TryFrom<String> for Init {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Init> for String {
    fn from(i: Init) -> String {
        i.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for s in [
            "uniform",
            "gaussian",
            "rademacher",
            "fbm(0.3)",
            "rbf(0.1)",
            "rbf(0.1, increments)",
        ] {
            let i: Init = s.parse().unwrap();
            assert_eq!(i.to_string(), s);
        }
        assert!("fbm(1.2)".parse::<Init>().is_err());
        assert!("fbm(0)".parse::<Init>().is_err());
        assert!("rbf(-1)".parse::<Init>().is_err());
        assert!("normal".parse::<Init>().is_err());
    }

    /// The mean of `x^2` over a `64 x 20 x 25` stack and its standard error. The 500 entries are
    /// independent paths over the 64 layers (correlated along depth for fbm and rbf), so the
    /// standard error is the spread of the 500 per-entry means of `x^2` over `sqrt(500)`.
    fn second_moment<T: Float>(init: Init, cache: &PathCache) -> (f64, f64) {
        let (depth, rows, cols) = (64, 20, 25);
        let entries = rows * cols;
        let mut out = vec![T::zero(); depth * entries];
        let mut rng = crate::rng::stream(17, &[]);
        init.sample_stack(depth, rows, cols, cache, &mut rng, &mut out)
            .unwrap();
        assert!(out.iter().all(|x| x.is_finite()));
        // the stack is depth-major: entry e of layer k is out[k * entries + e]
        let per_entry: Vec<f64> = (0..entries)
            .map(|e| {
                (0..depth)
                    .map(|k| out[k * entries + e].f64().powi(2))
                    .sum::<f64>()
                    / depth as f64
            })
            .collect();
        let n = entries as f64;
        let mean = per_entry.iter().sum::<f64>() / n;
        let var = per_entry.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, (var / n).sqrt())
    }

    #[test]
    fn every_law_has_entry_variance_one_over_fan_in() {
        // Within 4 standard errors of 1/25 (plus f32 rounding of the entries, 1e-6 relative):
        // about 3% for i.i.d. Gaussian entries, at most 25% for the smooth rbf paths (at worst
        // constant over the 64 layers, so that only the 500 entries average out), 0 for
        // Rademacher.
        let cache = PathCache::new();
        for s in [
            "uniform",
            "gaussian",
            "rademacher",
            "fbm(0.2)",
            "fbm(0.5)",
            "fbm(0.8)",
            "rbf(0.1)",
            "rbf(0.1, increments)",
        ] {
            let init: Init = s.parse().unwrap();
            for (mean, se) in [
                second_moment::<f64>(init, &cache),
                second_moment::<f32>(init, &cache),
            ] {
                let want = 1.0 / 25.0;
                let tol = 4.0 * se + 1e-6 * want;
                assert!(
                    (mean - want).abs() <= tol,
                    "{s}: E x^2 = {mean} vs 1/25, tolerance {tol} (standard error {se})"
                );
            }
        }
    }
}
