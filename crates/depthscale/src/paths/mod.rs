//! Weights as paths over depth: the law of the sequence `k -> V_k[i, j]`, `k = 1..L`.
//!
//! - [`Init::Uniform`], [`Init::Gaussian`], [`Init::Rademacher`]: i.i.d. over `k`;
//! - [`Init::Fbm`]: fractional Gaussian noise over `k` (Hurst index `H`; `H = 1/2` is i.i.d.);
//! - [`Init::Rbf`]: a smooth Gaussian process over `t = k/L`;
//! - [`Init::Correlated`]: a layer's entries jointly Gaussian with covariance `C / fan_in` for
//!   one fixed correlation matrix `C`, i.i.d. or smooth over depth ([`correlated`]).
//!
//! Every law gives each entry variance `1/fan_in` (`fan_in` = number of columns).
//! What depends only on `(L, H)` or `(L, bandwidth)` (circulant eigenvalues, FFT plans, Gram
//! factors) is computed once and shared through a [`PathCache`].

mod cache;
pub mod correlated;
pub mod fbm;
mod iid;
pub mod rbf;

pub use cache::PathCache;

use crate::budget::{Footprint, bytes, largest};
use crate::progress::{Progress, Silent, check_cancelled};
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

/// The law over depth under an [`Init::Correlated`] law, before its entries are mixed by `C`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CorrelatedBase {
    /// i.i.d. `N(0, 1)` over depth.
    Gaussian,
    /// Smooth RBF paths over depth, as [`Init::Rbf`].
    Rbf {
        /// Kernel bandwidth, positive.
        bandwidth: f64,
        /// Values or increments of the path.
        variant: RbfVariant,
    },
}

impl CorrelatedBase {
    /// The uncorrelated law with the same law over depth (`gaussian` or `rbf(..)`).
    pub fn uncorrelated(self) -> Init {
        match self {
            CorrelatedBase::Gaussian => Init::Gaussian,
            CorrelatedBase::Rbf { bandwidth, variant } => Init::Rbf { bandwidth, variant },
        }
    }
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
    /// Each layer's entries jointly Gaussian with covariance `C / fan_in` (`C`: the fixed
    /// correlation matrix of [`correlated`]), with the law `base` over depth.
    Correlated {
        /// The law over depth of the entries before they are mixed.
        base: CorrelatedBase,
    },
}

impl Init {
    /// The same law without correlation across entries (itself for the other laws).
    pub fn uncorrelated(self) -> Init {
        match self {
            Init::Correlated { base } => base.uncorrelated(),
            other => other,
        }
    }

    /// Whether the law correlates the entries of a layer.
    pub fn is_correlated(&self) -> bool {
        matches!(self, Init::Correlated { .. })
    }

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
            Init::Correlated { base } => base.uncorrelated().validate(field),
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
        self.sample_stack_cancellable(depth, rows, cols, cache, rng, out, &Silent)
    }

    /// [`Init::sample_stack`], stopping with [`Error::Interrupted`] when `progress` is
    /// cancelled: between blocks of entries, between the steps that build a law's factor.
    #[allow(clippy::too_many_arguments)]
    pub fn sample_stack_cancellable<T: Float, R: Rng + ?Sized>(
        &self,
        depth: usize,
        rows: usize,
        cols: usize,
        cache: &PathCache,
        rng: &mut R,
        out: &mut [T],
        progress: &dyn Progress,
    ) -> Result<()> {
        self.validate("init")?;
        assert_eq!(
            out.len(),
            depth * rows * cols,
            "sample_stack: output has the wrong length"
        );
        let scale = 1.0 / (cols as f64).sqrt();
        match *self {
            Init::Uniform | Init::Gaussian | Init::Rademacher => {
                // in blocks (the draws stay in order): a billion entries take seconds
                for block in out.chunks_mut(IID_BLOCK) {
                    check_cancelled(progress)?;
                    match *self {
                        Init::Uniform => iid::uniform(scale, rng, block),
                        Init::Gaussian => iid::gaussian(scale, rng, block),
                        _ => iid::rademacher(scale, rng, block),
                    }
                }
                // the mutant test's repeated layer (inert unless DEPTHSCALE_MUTANT=iid-same-layer)
                if crate::mutant::is(crate::mutant::Mutant::IidSameLayer) && depth > 1 {
                    let (first, rest) = out.split_at_mut(rows * cols);
                    for layer in rest.chunks_exact_mut(rows * cols) {
                        layer.copy_from_slice(first);
                    }
                }
            }
            Init::Fbm { hurst } => {
                let plan = cache.fgn(depth, hurst)?;
                fbm::sample_stack(&plan, depth, rows * cols, scale, rng, out, progress)?;
            }
            Init::Rbf { bandwidth, variant } => {
                let factor = cache.rbf_cancellable(depth, bandwidth, variant, progress)?;
                check_cancelled(progress)?;
                rbf::sample_stack(&factor, depth, rows * cols, scale, rng, out);
            }
            Init::Correlated { base } => {
                let n = rows * cols;
                let factor = cache.correlation_cancellable(n, progress)?;
                let mut z = vec![0.0f64; out.len()];
                base.uncorrelated()
                    .sample_stack_cancellable(depth, n, 1, cache, rng, &mut z, progress)?;
                check_cancelled(progress)?;
                // z now holds unit-variance entries (fan_in 1): mix them, then scale
                let mut mixed = vec![0.0f64; out.len()];
                factor.mix(&z, depth, &mut mixed);
                for (o, m) in out.iter_mut().zip(&mixed) {
                    *o = T::of(m * scale);
                }
            }
        }
        Ok(())
    }
}

/// Entries of an i.i.d. law drawn between two cancellation checks (a few milliseconds).
const IID_BLOCK: usize = 1 << 20;

impl Init {
    /// The memory that drawing one `depth x rows x cols` stack of `f64` needs: the stack and
    /// the law's own buffers (the fGn plan, the rbf factor, the correlation factor and the
    /// unmixed copies). The fields are `depth`, `rows` and `cols` (the largest count names a
    /// product).
    pub fn stack_footprint(&self, depth: usize, rows: usize, cols: usize) -> Footprint {
        let entries = rows.saturating_mul(cols);
        let stack = largest(&[("depth", depth), ("rows", rows), ("cols", cols)]);
        let f = Footprint::default().memory(
            stack,
            "the weights (depth x rows x cols f64)",
            bytes(8, &[depth, rows, cols]),
        );
        self.law_footprint(f, depth, entries, stack)
    }

    fn law_footprint(
        &self,
        f: Footprint,
        depth: usize,
        entries: usize,
        stack: &'static str,
    ) -> Footprint {
        match *self {
            Init::Uniform | Init::Gaussian | Init::Rademacher => f,
            Init::Fbm { .. } => fbm::plan_footprint(f, "depth", depth),
            Init::Rbf { bandwidth, .. } => {
                let r = rbf::rank_bound(depth, bandwidth);
                rbf::factor_footprint(f, depth, bandwidth).memory(
                    largest(&[("depth", depth), ("rows", entries)]),
                    "the rbf draws (rank x entries) and the scaled factor",
                    bytes(8, &[r, entries]).saturating_add(bytes(8, &[depth, r])),
                )
            }
            Init::Correlated { base } => {
                let f = f
                    .memory(
                        "rows",
                        "the correlation matrix's factor ((rows x cols)^2 f64)",
                        correlated::CorrelationFactor::bytes(entries),
                    )
                    .memory(
                        stack,
                        "the unmixed and mixed copies of the weights",
                        bytes(16, &[depth, entries]),
                    );
                base.uncorrelated().law_footprint(f, depth, entries, stack)
            }
        }
    }
}

/// One draw of `depth x rows x cols` weights of law `init` with `rng`, as `f64` (the Python
/// binding's `weights`): sizes checked (zero, overflow, and the memory of
/// [`Init::stack_footprint`] against the machine, see [`crate::budget::check_memory`]), and
/// stopped with [`Error::Interrupted`] when `progress` is cancelled.
pub fn draw_stack<R: Rng + ?Sized>(
    init: Init,
    depth: usize,
    rows: usize,
    cols: usize,
    rng: &mut R,
    progress: &dyn Progress,
) -> Result<Vec<f64>> {
    init.validate("init")?;
    for (field, v) in [("depth", depth), ("rows", rows), ("cols", cols)] {
        if v == 0 {
            return Err(Error::config(field, "must be a positive integer (>= 1)"));
        }
    }
    let field = largest(&[("depth", depth), ("rows", rows), ("cols", cols)]);
    let len = crate::budget::len(field, 8, &[depth, rows, cols])?;
    crate::budget::check_memory(&init.stack_footprint(depth, rows, cols))?;
    let mut out = vec![0.0f64; len];
    init.sample_stack_cancellable(
        depth,
        rows,
        cols,
        &PathCache::new(),
        rng,
        &mut out,
        progress,
    )?;
    Ok(out)
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
            Init::Correlated { base } => write!(f, "correlated({})", base.uncorrelated()),
        }
    }
}

impl FromStr for Init {
    type Err = Error;

    /// Parses `uniform`, `gaussian`, `rademacher`, `fbm(H)`, `rbf(BW)`, `rbf(BW, values)`,
    /// `rbf(BW, increments)`, `correlated(gaussian)` or `correlated(rbf(..))`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let bad = || {
            Error::config(
                "init",
                format!(
                    "unknown initialization {s:?}; accepted: uniform, gaussian, rademacher, fbm(H) with 0 < H < 1, \
                     rbf(BANDWIDTH), rbf(BANDWIDTH, increments), correlated(gaussian), correlated(rbf(BANDWIDTH))"
                ),
            )
        };
        if let Some(inner) = s
            .strip_prefix("correlated")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
        {
            let base = match inner.trim().parse::<Init>().map_err(|_| bad())? {
                Init::Gaussian => CorrelatedBase::Gaussian,
                Init::Rbf { bandwidth, variant } => CorrelatedBase::Rbf { bandwidth, variant },
                _ => return Err(bad()),
            };
            return Ok(Init::Correlated { base });
        }
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

    struct Cancelled;
    impl Progress for Cancelled {
        fn start(&self, _: &str, _: u64) {}
        fn advance(&self, _: u64) {}
        fn cancelled(&self) -> bool {
            true
        }
    }

    #[test]
    fn fgn_rows_are_the_fbm_stack_transposed() {
        let (n, paths) = (50, 7);
        let rows = fbm::fgn_rows(n, 0.6, paths, &mut crate::rng::stream(4, &[]), &Silent).unwrap();
        let stack = draw_stack(
            Init::Fbm { hurst: 0.6 },
            n,
            paths,
            1,
            &mut crate::rng::stream(4, &[]),
            &Silent,
        )
        .unwrap();
        for p in 0..paths {
            for k in 0..n {
                assert_eq!(rows[p * n + k].to_bits(), stack[k * paths + p].to_bits());
            }
        }
    }

    #[test]
    fn draws_check_sizes_and_stop_when_cancelled() {
        let mut rng = crate::rng::stream(0, &[]);
        for init in ["gaussian", "fbm(0.7)", "rbf(0.1)", "correlated(gaussian)"] {
            let init: Init = init.parse().unwrap();
            let r = draw_stack(init, 100, 3, 3, &mut rng, &Cancelled);
            assert!(matches!(r, Err(Error::Interrupted)), "{init}: {r:?}");
        }
        let err = draw_stack(Init::Gaussian, 0, 3, 3, &mut rng, &Silent).unwrap_err();
        assert!(err.to_string().contains("`depth`"), "{err}");
        let err = draw_stack(Init::Gaussian, usize::MAX, 2, 3, &mut rng, &Silent).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        let huge = Init::Correlated {
            base: CorrelatedBase::Gaussian,
        };
        let err = draw_stack(huge, 2, 1 << 16, 1 << 16, &mut rng, &Silent).unwrap_err();
        assert!(err.to_string().starts_with("`rows` is too large"), "{err}");
        assert!(matches!(
            fbm::fgn_rows(10, 0.5, 3, &mut rng, &Cancelled),
            Err(Error::Interrupted)
        ));
    }

    #[test]
    fn parses_and_prints_round_trip() {
        for s in [
            "uniform",
            "gaussian",
            "rademacher",
            "fbm(0.3)",
            "rbf(0.1)",
            "rbf(0.1, increments)",
            "correlated(gaussian)",
            "correlated(rbf(0.1))",
            "correlated(rbf(0.1, increments))",
        ] {
            let i: Init = s.parse().unwrap();
            assert_eq!(i.to_string(), s);
        }
        assert!("fbm(1.2)".parse::<Init>().is_err());
        assert!("fbm(0)".parse::<Init>().is_err());
        assert!("rbf(-1)".parse::<Init>().is_err());
        assert!("normal".parse::<Init>().is_err());
        assert!("correlated(uniform)".parse::<Init>().is_err());
        assert!("correlated(correlated(gaussian))".parse::<Init>().is_err());
        assert!("correlated(rbf(-1))".parse::<Init>().is_err());
        assert!("correlated(gaussian".parse::<Init>().is_err());
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
            "correlated(gaussian)",
            "correlated(rbf(0.1))",
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

    /// The sample covariance of the `n` entries of one layer against `C / fan_in`, pair by pair,
    /// within 5 standard errors: for unit-variance jointly Gaussian entries of correlation
    /// `rho`, the product of two has variance `1 + rho^2`, so the mean of `N` products has
    /// standard error `sqrt((1 + rho^2) / N) / fan_in` in the weights' units.
    fn check_layer_covariance(init: Init, depth: usize, layers: impl Fn(&[f64]) -> Vec<Vec<f64>>) {
        let (rows, cols) = (3, 4);
        let n = rows * cols;
        let cache = PathCache::new();
        let factor = cache.correlation(n).unwrap();
        let mut samples: Vec<Vec<f64>> = Vec::new();
        for draw in 0..400u64 {
            let mut out = vec![0.0f64; depth * n];
            let mut rng = crate::rng::stream(5, &[draw]);
            init.sample_stack(depth, rows, cols, &cache, &mut rng, &mut out)
                .unwrap();
            samples.extend(layers(&out));
        }
        let count = samples.len() as f64;
        let fan_in = cols as f64;
        let mut worst: f64 = 0.0;
        for i in 0..n {
            for j in 0..=i {
                let cov = samples.iter().map(|x| x[i] * x[j]).sum::<f64>() / count;
                let rho = factor.correlation(i, j);
                let se = ((1.0 + rho * rho) / count).sqrt() / fan_in;
                worst = worst.max((cov - rho / fan_in).abs() / se);
            }
        }
        assert!(
            worst < 5.0,
            "{init}: sample covariance off C / fan_in by {worst:.2} standard errors"
        );
    }

    #[test]
    fn correlated_laws_have_covariance_c_over_fan_in() {
        let n = 12;
        // i.i.d. over depth: every layer of every draw is an independent sample
        check_layer_covariance("correlated(gaussian)".parse().unwrap(), 20, |out| {
            out.chunks_exact(n).map(<[f64]>::to_vec).collect()
        });
        // smooth over depth: layers of one draw are dependent, so one layer per draw
        check_layer_covariance("correlated(rbf(0.1))".parse().unwrap(), 16, |out| {
            vec![out[7 * n..8 * n].to_vec()]
        });
    }

    #[test]
    fn correlated_rbf_weights_stay_smooth_over_depth() {
        // neighbouring layers of correlated(rbf(0.5)) at L = 50 are nearly equal: the mean
        // square increment is a small fraction of the entries' variance
        let (depth, d) = (50, 5);
        let mut out = vec![0.0f64; depth * d * d];
        let init: Init = "correlated(rbf(0.5))".parse().unwrap();
        init.sample_stack(
            depth,
            d,
            d,
            &PathCache::new(),
            &mut crate::rng::stream(1, &[]),
            &mut out,
        )
        .unwrap();
        let n = d * d;
        let var = out.iter().map(|x| x * x).sum::<f64>() / out.len() as f64;
        let inc = (1..depth)
            .flat_map(|k| (0..n).map(move |e| (k, e)))
            .map(|(k, e)| (out[k * n + e] - out[(k - 1) * n + e]).powi(2))
            .sum::<f64>()
            / ((depth - 1) * n) as f64;
        assert!(inc < 0.01 * var, "increments {inc} vs variance {var}");
    }
}
