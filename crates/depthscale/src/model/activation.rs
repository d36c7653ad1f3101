//! Pointwise activations with their derivatives side by side.

use crate::{Error, Float};
use std::fmt;
use std::str::FromStr;

/// A pointwise nonlinearity `act` of the residual block.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Activation {
    /// `max(z, 0)`; derivative 0 at 0, as in PyTorch.
    Relu,
    /// `tanh(z)`.
    Tanh,
    /// `1 / (1 + exp(-z))`.
    Sigmoid,
    /// `z` for `z > 0`, `slope * z` otherwise.
    LeakyRelu(f64),
    /// `z`.
    Identity,
    /// `z Phi(z) = z (1 + erf(z / sqrt 2)) / 2`, the exact (erf) GELU, PyTorch's default
    /// `nn.GELU()`. Not positively homogeneous: no second-moment ratio.
    Gelu,
}

/// `1 / sqrt(2)`.
const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// `1 / sqrt(2 pi)`, the standard normal density at 0.
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

impl Activation {
    /// `act(z)`.
    #[inline(always)]
    pub fn apply<T: Float>(self, z: T) -> T {
        match self {
            Activation::Relu => z.max(T::zero()),
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => T::one() / (T::one() + (-z).exp()),
            Activation::LeakyRelu(s) => {
                if z > T::zero() {
                    z
                } else {
                    T::of(s) * z
                }
            }
            Activation::Identity => z,
            Activation::Gelu => T::of(0.5) * z * (T::one() + (z * T::of(FRAC_1_SQRT_2)).erf()),
        }
    }

    /// `act'(z)`.
    #[inline(always)]
    pub fn derivative<T: Float>(self, z: T) -> T {
        match self {
            Activation::Relu => {
                if z > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::Tanh => {
                let t = z.tanh();
                T::one() - t * t
            }
            Activation::Sigmoid => {
                let s = T::one() / (T::one() + (-z).exp());
                s * (T::one() - s)
            }
            Activation::LeakyRelu(s) => {
                if z > T::zero() {
                    T::one()
                } else {
                    T::of(s)
                }
            }
            Activation::Identity => T::one(),
            // Phi(z) + z phi(z)
            Activation::Gelu => {
                let cdf = T::of(0.5) * (T::one() + (z * T::of(FRAC_1_SQRT_2)).erf());
                cdf + z * T::of(FRAC_1_SQRT_2PI) * (T::of(-0.5) * z * z).exp_pointwise()
            }
        }
    }

    /// `(act(z), act'(z))`, bitwise equal to [`Activation::apply`] and
    /// [`Activation::derivative`], sharing the work they have in common (GELU's `erf`).
    #[inline(always)]
    pub fn value_and_derivative<T: Float>(self, z: T) -> (T, T) {
        match self {
            Activation::Gelu => {
                let e = (z * T::of(FRAC_1_SQRT_2)).erf();
                let value = T::of(0.5) * z * (T::one() + e);
                let cdf = T::of(0.5) * (T::one() + e);
                (
                    value,
                    cdf + z * T::of(FRAC_1_SQRT_2PI) * (T::of(-0.5) * z * z).exp_pointwise(),
                )
            }
            _ => (self.apply(z), self.derivative(z)),
        }
    }

    /// `m2 = E[act(z)^2] / E[z^2]` for every symmetric `z`, where this ratio does not depend on
    /// `z`'s law: the positively homogeneous activations (`act(z)^2 = z^2` on one side of 0 and
    /// `slope^2 z^2` on the other, each side carrying half of `E z^2` by symmetry). ReLU `1/2`,
    /// leaky ReLU `(1 + slope^2)/2`, identity `1`; `None` for tanh, sigmoid and GELU (whose
    /// ratio depends on the law of `z`, so the probes' closed form does not apply).
    ///
    /// For res3 with symmetric weights of variance `1/d`, `E||h_{k+1}||^2 = (1 + alpha^2 m2)
    /// E||h_k||^2`, which gives the closed forms of the initialization probes.
    pub fn second_moment_ratio(self) -> Option<f64> {
        let m2 = match self {
            Activation::Relu => Some(0.5),
            Activation::LeakyRelu(s) => Some(0.5 * (1.0 + s * s)),
            Activation::Identity => Some(1.0),
            Activation::Tanh | Activation::Sigmoid | Activation::Gelu => None,
        };
        // the mutant test's wrong m2 (inert unless DEPTHSCALE_MUTANT=m2)
        let off = if crate::mutant::is(crate::mutant::Mutant::ActivationM2) {
            1.2
        } else {
            1.0
        };
        m2.map(|m| m * off)
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Relu => write!(f, "relu"),
            Activation::Tanh => write!(f, "tanh"),
            Activation::Sigmoid => write!(f, "sigmoid"),
            Activation::LeakyRelu(s) => write!(f, "leaky_relu({s})"),
            Activation::Identity => write!(f, "identity"),
            Activation::Gelu => write!(f, "gelu"),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;

    /// Parses `relu`, `tanh`, `sigmoid`, `identity`, `gelu`, `leaky_relu` (slope 0.01) or
    /// `leaky_relu(SLOPE)`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let bad = || {
            Error::config(
                "activation",
                format!(
                    "unknown activation {s:?}; accepted: relu, tanh, sigmoid, identity, gelu, leaky_relu, leaky_relu(SLOPE)"
                ),
            )
        };
        Ok(match s {
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "identity" => Activation::Identity,
            "gelu" => Activation::Gelu,
            "leaky_relu" => Activation::LeakyRelu(0.01),
            _ => {
                let inner = s
                    .strip_prefix("leaky_relu(")
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(bad)?;
                let slope: f64 = inner.trim().parse().map_err(|_| bad())?;
                if !slope.is_finite() {
                    return Err(Error::config(
                        "activation",
                        "leaky_relu slope must be finite",
                    ));
                }
                Activation::LeakyRelu(slope)
            }
        })
    }
}

impl TryFrom<String> for Activation {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Activation> for String {
    fn from(a: Activation) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_moment_ratio_matches_monte_carlo() {
        // E[act(z)^2] / E[z^2] over 200k standard normals (and a symmetric uniform, since the
        // ratio must not depend on the law), within 1%
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = crate::rng::stream(9, &[]);
        let z: Vec<f64> = (0..200_000)
            .map(|i| {
                let g: f64 = StandardNormal.sample(&mut rng);
                if i % 2 == 0 {
                    g
                } else {
                    g.signum() * g.abs().fract()
                }
            })
            .collect();
        let ez2 = z.iter().map(|x| x * x).sum::<f64>();
        for act in [
            Activation::Relu,
            Activation::LeakyRelu(0.8),
            Activation::LeakyRelu(0.2),
            Activation::Identity,
        ] {
            let m2 = act.second_moment_ratio().unwrap();
            let got = z.iter().map(|&x| act.apply(x).powi(2)).sum::<f64>() / ez2;
            assert!((got - m2).abs() < 0.01 * m2, "{act}: {got} vs {m2}");
        }
        assert_eq!(Activation::Tanh.second_moment_ratio(), None);
        assert_eq!(Activation::Sigmoid.second_moment_ratio(), None);
        assert_eq!(Activation::Gelu.second_moment_ratio(), None);
    }

    #[test]
    fn gelu_is_the_exact_erf_form() {
        // z Phi(z) at +-1, +-2 (Phi from the standard normal table: Phi(1) = 0.8413447460685429,
        // Phi(2) = 0.9772498680518208), in f64 and f32, with its derivative Phi + z phi
        let phi = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        for (z, cdf) in [
            (1.0, 0.841_344_746_068_542_9),
            (-1.0, 1.0 - 0.841_344_746_068_542_9),
            (2.0, 0.977_249_868_051_820_8),
            (-2.0, 1.0 - 0.977_249_868_051_820_8),
            (0.0f64, 0.5f64),
        ] {
            let g = Activation::Gelu;
            assert!((g.apply(z) - z * cdf).abs() < 1e-15, "gelu({z})");
            assert!(
                (g.apply(z as f32) as f64 - z * cdf).abs() < 1e-6,
                "f32 gelu({z})"
            );
            let want = cdf + z * phi(z);
            assert!((g.derivative(z) - want).abs() < 1e-15, "gelu'({z})");
            assert_eq!(g.value_and_derivative(z), (g.apply(z), g.derivative(z)));
        }
        // not positively homogeneous: gelu(2z) != 2 gelu(z)
        let g = |z: f64| Activation::Gelu.apply(z);
        assert!((g(2.0) - 2.0 * g(1.0)).abs() > 0.1);
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let acts = [
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::LeakyRelu(0.2),
            Activation::Identity,
            Activation::Gelu,
        ];
        for act in acts {
            for &z in &[-1.3f64, -0.4, 0.3, 0.9, 2.1] {
                let e = 1e-6;
                let fd = (act.apply(z + e) - act.apply(z - e)) / (2.0 * e);
                assert!((fd - act.derivative(z)).abs() < 1e-7, "{act} at {z}");
            }
        }
    }

    #[test]
    fn parses_and_prints_round_trip() {
        for s in [
            "relu",
            "tanh",
            "sigmoid",
            "identity",
            "gelu",
            "leaky_relu(0.2)",
        ] {
            let a: Activation = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
        assert_eq!(
            "leaky_relu".parse::<Activation>().unwrap(),
            Activation::LeakyRelu(0.01)
        );
        assert!("softmax".parse::<Activation>().is_err());
        assert!("leaky_relu(x)".parse::<Activation>().is_err());
    }
}
