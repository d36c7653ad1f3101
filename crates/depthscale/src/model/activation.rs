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
}

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
        }
    }

    /// `m2 = E[act(z)^2] / E[z^2]` for every symmetric `z`, where this ratio does not depend on
    /// `z`'s law: the positively homogeneous activations (`act(z)^2 = z^2` on one side of 0 and
    /// `slope^2 z^2` on the other, each side carrying half of `E z^2` by symmetry). ReLU `1/2`,
    /// leaky ReLU `(1 + slope^2)/2`, identity `1`; `None` for tanh and sigmoid.
    ///
    /// For res3 with symmetric weights of variance `1/d`, `E||h_{k+1}||^2 = (1 + alpha^2 m2)
    /// E||h_k||^2`, which gives the closed forms of the initialization probes.
    pub fn second_moment_ratio(self) -> Option<f64> {
        match self {
            Activation::Relu => Some(0.5),
            Activation::LeakyRelu(s) => Some(0.5 * (1.0 + s * s)),
            Activation::Identity => Some(1.0),
            Activation::Tanh | Activation::Sigmoid => None,
        }
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
        }
    }
}

impl FromStr for Activation {
    type Err = Error;

    /// Parses `relu`, `tanh`, `sigmoid`, `identity`, `leaky_relu` (slope 0.01) or `leaky_relu(SLOPE)`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let bad = || {
            Error::config(
                "activation",
                format!(
                    "unknown activation {s:?}; accepted: relu, tanh, sigmoid, identity, leaky_relu, leaky_relu(SLOPE)"
                ),
            )
        };
        Ok(match s {
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "identity" => Activation::Identity,
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
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let acts = [
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::LeakyRelu(0.2),
            Activation::Identity,
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
        for s in ["relu", "tanh", "sigmoid", "identity", "leaky_relu(0.2)"] {
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
