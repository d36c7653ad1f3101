//! Deliberately wrong implementations ("mutants") that the claims of `depthscale reproduce`
//! must catch (issue 21, section 2).
//!
//! A mutant is switched on only by the environment variable [`ENV`] (`DEPTHSCALE_MUTANT=NAME`),
//! read once per process, here and nowhere else; it is meant for the mutant tests
//! (`crates/depthscale-cli/tests/mutants.rs`) and is not part of the command-line interface.
//! Without the variable every function of this module is inert. A reproduction run under a
//! mutant says so in its report and `summary.json`.

use std::sync::OnceLock;

/// The environment variable that selects a mutant.
pub const ENV: &str = "DEPTHSCALE_MUTANT";

/// One deliberately wrong implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutant {
    /// The activation's second-moment ratio `m2` (the closed forms' constant) 20% too high.
    ActivationM2,
    /// The residual scale `L^-beta` replaced by `L^(-beta/2)`.
    ResidualScale,
    /// Fractional Gaussian noise with the reference code's circulant bug: `r[N] = 0` and the
    /// first eigenvalue reused for the last.
    FgnReference,
    /// Every RBF bandwidth doubled.
    RbfBandwidth,
    /// Adam without its bias corrections.
    AdamBiasCorrection,
    /// Gradient descent of the implicit-regularization experiment at `lr` instead of `lr L`.
    GdLrDepth,
    /// Training that never updates the residual weights `V`.
    FrozenV,
    /// fGn whose circulant uses the autocovariance with exponent `H` instead of `2H` (the fGn
    /// of index `H/2`; the theory's autocovariance is left exact).
    FgnExponent,
    /// fGn with half its variance (the complex normal's `1/sqrt 2` applied although both the
    /// real and the imaginary part are used as paths).
    FgnVariance,
    /// The RBF kernel evaluated on the layer index `k` instead of `t = k/L` (the weights come
    /// out i.i.d. over depth).
    RbfGrid,
    /// Correlated weights mixed by the centred matrix without scaling its rows to unit norm
    /// (the covariance's factor times `n - 1`, not the correlation's).
    CorrelationUnscaled,
    /// Every layer of an i.i.d. stack a copy of the first (one random stream reused per layer).
    IidSameLayer,
    /// The adjoint equation with the wrong sign: `da/dt = +J^T a`.
    AdjointSign,
    /// The backward (adjoint) solve takes explicit Euler steps whatever the scheme.
    AdjointEuler,
    /// The adjoint method keeps every forward state and reads `h` back from them instead of
    /// reconstructing it (back-propagation's memory, an exact `h(0)`).
    AdjointStoredStates,
    /// Checkpointing every 2 steps whatever `n`, instead of every `ceil(sqrt(n))`.
    CheckpointFixed,
    /// The residual scale `L^-1` whatever the configured beta (the beta not passed through to
    /// the one place the scale is computed, so that it falls back to the neural-ODE scaling).
    BetaIgnored,
    /// Training that updates no weight at all (the optimizer's step dropped: the issue's
    /// untrained `lr = 1e-12` models).
    NoUpdate,
}

impl Mutant {
    /// Every mutant, in a fixed order.
    pub const ALL: [Mutant; 18] = [
        Mutant::ActivationM2,
        Mutant::ResidualScale,
        Mutant::FgnReference,
        Mutant::RbfBandwidth,
        Mutant::AdamBiasCorrection,
        Mutant::GdLrDepth,
        Mutant::FrozenV,
        Mutant::FgnExponent,
        Mutant::FgnVariance,
        Mutant::RbfGrid,
        Mutant::CorrelationUnscaled,
        Mutant::IidSameLayer,
        Mutant::AdjointSign,
        Mutant::AdjointEuler,
        Mutant::AdjointStoredStates,
        Mutant::CheckpointFixed,
        Mutant::BetaIgnored,
        Mutant::NoUpdate,
    ];

    /// The mutant's name (the value of [`ENV`]).
    pub fn name(self) -> &'static str {
        match self {
            Mutant::ActivationM2 => "m2",
            Mutant::ResidualScale => "residual-scale",
            Mutant::FgnReference => "fgn-reference",
            Mutant::RbfBandwidth => "rbf-bandwidth",
            Mutant::AdamBiasCorrection => "adam-bias",
            Mutant::GdLrDepth => "gd-lr",
            Mutant::FrozenV => "frozen-v",
            Mutant::FgnExponent => "fgn-exponent",
            Mutant::FgnVariance => "fgn-variance",
            Mutant::RbfGrid => "rbf-grid",
            Mutant::CorrelationUnscaled => "corr-unscaled",
            Mutant::IidSameLayer => "iid-same-layer",
            Mutant::AdjointSign => "adjoint-sign",
            Mutant::AdjointEuler => "adjoint-euler",
            Mutant::AdjointStoredStates => "adjoint-stored-states",
            Mutant::CheckpointFixed => "checkpoint-fixed",
            Mutant::BetaIgnored => "beta-ignored",
            Mutant::NoUpdate => "no-update",
        }
    }

    /// What the mutant gets wrong, in a few words.
    pub fn description(self) -> &'static str {
        match self {
            Mutant::ActivationM2 => "the activation's second moment m2 20% too high",
            Mutant::ResidualScale => "residual scale L^(-beta/2) instead of L^-beta",
            Mutant::FgnReference => "fGn with the reference's r[N] = 0 circulant bug",
            Mutant::RbfBandwidth => "RBF bandwidth doubled",
            Mutant::AdamBiasCorrection => "Adam without bias correction",
            Mutant::GdLrDepth => "gradient descent at lr instead of lr L",
            Mutant::FrozenV => "training that does not update V",
            Mutant::FgnExponent => "fGn autocovariance with exponent H instead of 2H",
            Mutant::FgnVariance => "fGn with half its variance",
            Mutant::RbfGrid => "RBF kernel on layer indices k instead of t = k/L",
            Mutant::CorrelationUnscaled => "correlation factor rows not scaled to unit norm",
            Mutant::IidSameLayer => "every i.i.d. layer a copy of the first",
            Mutant::AdjointSign => "adjoint equation with the wrong sign",
            Mutant::AdjointEuler => "adjoint solved backwards by Euler whatever the scheme",
            Mutant::AdjointStoredStates => "adjoint that keeps the forward states",
            Mutant::CheckpointFixed => "checkpoints every 2 steps instead of every sqrt(n)",
            Mutant::BetaIgnored => "residual scale L^-1 whatever beta",
            Mutant::NoUpdate => "training that updates no weight",
        }
    }

    /// The mutant called `name`, if any.
    pub fn from_name(name: &str) -> Option<Mutant> {
        Mutant::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The mutant of this process: `Ok(None)` without [`ENV`] (or with it empty), an error naming
/// the variable and its value for an unknown name.
pub fn from_env() -> crate::Result<Option<Mutant>> {
    match std::env::var(ENV) {
        Err(_) => Ok(None),
        Ok(s) if s.is_empty() => Ok(None),
        Ok(s) => Mutant::from_name(&s).map(Some).ok_or_else(|| {
            crate::Error::config(
                ENV,
                format!(
                    "unknown mutant {s:?}; accepted: {}",
                    Mutant::ALL.map(Mutant::name).join(", ")
                ),
            )
        }),
    }
}

/// The mutant switched on in this process (read once; an unknown name switches none on).
pub fn active() -> Option<Mutant> {
    static ACTIVE: OnceLock<Option<Mutant>> = OnceLock::new();
    *ACTIVE.get_or_init(|| from_env().ok().flatten())
}

/// Whether mutant `m` is switched on.
pub fn is(m: Mutant) -> bool {
    active() == Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for m in Mutant::ALL {
            assert_eq!(Mutant::from_name(m.name()), Some(m));
        }
        assert_eq!(Mutant::from_name("nope"), None);
        // the unit tests run without the variable: no mutant is active
        assert_eq!(active(), None);
    }
}
