//! The laws of driving paths, as named in configs, and their sampling at a reference resolution.

use super::brownian::{BrownianPath, dyadic_split};
use super::fbm::fbm_grid_path;
use super::path::{GridPath, MatrixPath};
use super::smooth::FourierPath;
use crate::paths::fbm::FgnPlan;
use crate::rng::Rng;
use crate::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// The law of a `d x d` driving path; every entry is scaled by `1/sqrt(d)` so that the network
/// weights built from it have the standard variance `1/d`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Driver {
    /// Brownian motion: i.i.d. Gaussian weights, natural `beta = 1/2`, limit an Ito SDE.
    Brownian,
    /// Fractional Brownian motion of Hurst index `hurst` in `(1/2, 1)`: fGn weights, natural
    /// `beta = H`, limit a Young differential equation.
    Fbm {
        /// Hurst index.
        hurst: f64,
    },
    /// The integral of an RBF Gaussian process (weights smooth in depth), natural `beta = 1`,
    /// limit an ODE.
    Rbf {
        /// Kernel bandwidth, in `[0.01, 10]`.
        bandwidth: f64,
    },
    /// The integral of a deterministic sum of `modes` sines, natural `beta = 1`, limit an ODE.
    Sines {
        /// Number of modes, `1..=64`.
        modes: usize,
    },
}

impl Driver {
    /// The depth scaling `beta` under which networks driven by this law converge: the weights are
    /// `V_k = L^beta (X(k/L) - X((k-1)/L))` and `alpha_L = L^-beta` cancels the factor.
    pub fn natural_beta(&self) -> f64 {
        match *self {
            Driver::Brownian => 0.5,
            Driver::Fbm { hurst } => hurst,
            Driver::Rbf { .. } | Driver::Sines { .. } => 1.0,
        }
    }

    /// The allowance on the log-log slope of the Euler scheme's strong and terminal errors
    /// against depth, beyond their sampling error: lower-order error terms bend the slope at
    /// finite depth. Measured at the reproduction's quick depths (the three largest up to 256: ode
    /// 40 to 160, sde and fbm-limit 64 to 256; they also cover
    /// the full size's deeper grid), seeds 0..4, slope minus the declared rate (paired se 0.001
    /// for smooth drivers, 0.02 to 0.03 for the others): smooth (`ode`) +0.0001 to +0.0033, all
    /// of one sign (the `1/L^2` term); Brownian (`sde`) -0.029 to +0.003, within its sampling
    /// error; fBm (`fbm-limit`, H = 0.7) -0.113 to -0.002.
    pub fn euler_slope_allowance(&self) -> f64 {
        match *self {
            Driver::Brownian => 0.0,
            Driver::Fbm { .. } => 0.1,
            Driver::Rbf { .. } | Driver::Sines { .. } => 0.01,
        }
    }

    /// Whether the path is smooth (the limit is an ODE).
    pub fn is_smooth(&self) -> bool {
        matches!(self, Driver::Rbf { .. } | Driver::Sines { .. })
    }

    /// The name of the limit the networks driven by this law converge to: `SDE` (Brownian),
    /// `Young ODE` (fractional) or `ODE` (smooth).
    pub fn limit_name(&self) -> &'static str {
        match self {
            Driver::Brownian => "SDE",
            Driver::Fbm { .. } => "Young ODE",
            Driver::Rbf { .. } | Driver::Sines { .. } => "ODE",
        }
    }

    /// Checks the parameters; `field` names the config field.
    pub fn validate(&self, field: &str) -> Result<()> {
        match *self {
            Driver::Fbm { hurst } if !(hurst > 0.5 && hurst < 1.0) => Err(Error::config(
                field,
                format!(
                    "the Young limit needs a Hurst index in the open interval (0.5, 1), got {hurst}"
                ),
            )),
            Driver::Rbf { bandwidth } if !(0.01..=10.0).contains(&bandwidth) => Err(Error::config(
                field,
                format!("rbf bandwidth must lie in [0.01, 10], got {bandwidth}"),
            )),
            Driver::Sines { modes } if !(1..=64).contains(&modes) => Err(Error::config(
                field,
                format!("sines needs 1..=64 modes, got {modes}"),
            )),
            _ => Ok(()),
        }
    }

    /// A short name for tables and legends (`brownian`, `fbm(0.75)`, ...).
    pub fn name(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Driver::Brownian => write!(f, "brownian"),
            Driver::Fbm { hurst } => write!(f, "fbm({hurst})"),
            Driver::Rbf { bandwidth } => write!(f, "rbf({bandwidth})"),
            Driver::Sines { modes } => write!(f, "sines({modes})"),
        }
    }
}

impl FromStr for Driver {
    type Err = Error;

    /// Parses `brownian`, `fbm(H)`, `rbf(BANDWIDTH)` or `sines(MODES)`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let bad = || {
            Error::config(
                "driver",
                format!(
                    "unknown path law {s:?}; accepted: brownian, fbm(H) with 0.5 < H < 1, \
                     rbf(BANDWIDTH), sines(MODES)"
                ),
            )
        };
        let d = if s == "brownian" {
            Driver::Brownian
        } else {
            let (name, rest) = s.split_once('(').ok_or_else(bad)?;
            let arg = rest.strip_suffix(')').ok_or_else(bad)?.trim();
            match name.trim() {
                "fbm" => Driver::Fbm {
                    hurst: arg.parse().map_err(|_| bad())?,
                },
                "rbf" => Driver::Rbf {
                    bandwidth: arg.parse().map_err(|_| bad())?,
                },
                "sines" => Driver::Sines {
                    modes: arg.parse().map_err(|_| bad())?,
                },
                _ => return Err(bad()),
            }
        };
        d.validate("driver")?;
        Ok(d)
    }
}

impl TryFrom<String> for Driver {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Driver> for String {
    fn from(d: Driver) -> String {
        d.to_string()
    }
}

/// One sampled driving path.
pub enum Sampled {
    /// Brownian or fractional Brownian values on the reference grid.
    Grid(GridPath),
    /// A smooth path, known at every `t`.
    Smooth(FourierPath),
}

impl Sampled {
    /// The path as a [`MatrixPath`].
    pub fn as_path(&self) -> &dyn MatrixPath {
        match self {
            Sampled::Grid(g) => g,
            Sampled::Smooth(s) => s,
        }
    }

    /// The smooth path, if it is one.
    pub fn smooth(&self) -> Option<&FourierPath> {
        match self {
            Sampled::Grid(_) => None,
            Sampled::Smooth(s) => Some(s),
        }
    }
}

/// What sampling a driver at a resolution needs, computed once (the fGn plan).
pub struct Sampler {
    driver: Driver,
    dim: usize,
    resolution: usize,
    fgn: Option<FgnPlan>,
}

impl Sampler {
    /// Prepares draws of `driver` for `dim x dim` paths observable on every grid dividing
    /// `resolution`.
    pub fn new(driver: Driver, dim: usize, resolution: usize) -> Result<Self> {
        driver.validate("driver")?;
        let fgn = match driver {
            Driver::Fbm { hurst } => Some(FgnPlan::new(resolution, hurst)?),
            _ => None,
        };
        Ok(Self {
            driver,
            dim,
            resolution,
            fgn,
        })
    }

    /// One path. Brownian paths are drawn at the odd part of the resolution and refined by
    /// Brownian bridges up to it.
    pub fn sample(&self, mut rng: Rng) -> Result<Sampled> {
        let scale = 1.0 / (self.dim as f64).sqrt();
        Ok(match self.driver {
            Driver::Brownian => {
                let (n0, _) = dyadic_split(self.resolution);
                let mut b = BrownianPath::new(self.dim, n0, scale, rng)?;
                b.refine_to(self.resolution)?;
                Sampled::Grid(b.into_grid())
            }
            Driver::Fbm { .. } => Sampled::Grid(fbm_grid_path(
                self.dim,
                self.fgn.as_ref().expect("fbm plan"),
                scale,
                &mut rng,
            )),
            Driver::Rbf { bandwidth } => {
                Sampled::Smooth(FourierPath::rbf(self.dim, bandwidth, scale, &mut rng)?)
            }
            Driver::Sines { modes } => Sampled::Smooth(FourierPath::sines(self.dim, modes, scale)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prints_and_validates() {
        for s in ["brownian", "fbm(0.75)", "rbf(0.2)", "sines(3)"] {
            let d: Driver = s.parse().unwrap();
            assert_eq!(d.to_string(), s);
        }
        for bad in [
            "fbm(0.3)", "fbm(1)", "rbf(0)", "sines(0)", "wiener", "rbf(x)",
        ] {
            assert!(bad.parse::<Driver>().is_err(), "{bad}");
        }
        assert_eq!("fbm(0.7)".parse::<Driver>().unwrap().natural_beta(), 0.7);
        assert_eq!(Driver::Brownian.natural_beta(), 0.5);
        assert!(Driver::Sines { modes: 2 }.is_smooth());
    }
}
