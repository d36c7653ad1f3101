//! A weight law as a config spells it, parsed once at config time: a fixed [`Init`], or plain
//! `fbm`, whose Hurst index comes from the experiment's `hurst` grid (the probe and the sweep).

use crate::paths::Init;
use crate::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// The law of a weight stack in a config with an optional `hurst` grid.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LawSpec {
    /// `fbm`: fractional Gaussian noise with the Hurst index of the cell (from `hurst`).
    HurstGrid,
    /// Any law of [`Init`], the same in every cell.
    Fixed(Init),
}

impl LawSpec {
    /// Whether the law takes its Hurst index from the `hurst` grid.
    pub fn uses_grid(self) -> bool {
        self == LawSpec::HurstGrid
    }

    /// The law at Hurst index `hurst` (`None`: the config has no grid); errors name `field`.
    pub fn at(self, field: &str, hurst: Option<f64>) -> Result<Init> {
        match self {
            LawSpec::Fixed(init) => Ok(init),
            LawSpec::HurstGrid => {
                let hurst = hurst.ok_or_else(|| {
                    Error::config(
                        field,
                        "plain `fbm` takes its Hurst index from a `hurst` grid; add one or write fbm(H)",
                    )
                })?;
                let init = Init::Fbm { hurst };
                init.validate("hurst")?;
                Ok(init)
            }
        }
    }
}

impl fmt::Display for LawSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LawSpec::HurstGrid => f.write_str("fbm"),
            LawSpec::Fixed(init) => init.fmt(f),
        }
    }
}

impl FromStr for LawSpec {
    type Err = Error;

    /// `fbm`, or anything [`Init`] parses.
    fn from_str(s: &str) -> Result<Self> {
        if s.trim() == "fbm" {
            Ok(LawSpec::HurstGrid)
        } else {
            s.parse().map(LawSpec::Fixed)
        }
    }
}

impl TryFrom<String> for LawSpec {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<LawSpec> for String {
    fn from(l: LawSpec) -> String {
        l.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fbm_takes_the_grid_and_other_laws_are_fixed() {
        let grid: LawSpec = " fbm ".parse().unwrap();
        assert!(grid.uses_grid());
        assert_eq!(
            grid.at("init_v", Some(0.3)).unwrap(),
            Init::Fbm { hurst: 0.3 }
        );
        assert!(grid.at("init_v", None).is_err());
        assert!(grid.at("init_v", Some(1.5)).is_err());
        let fixed: LawSpec = "fbm(0.7)".parse().unwrap();
        assert!(!fixed.uses_grid());
        assert_eq!(
            fixed.at("init_v", Some(0.3)).unwrap(),
            Init::Fbm { hurst: 0.7 }
        );
        assert_eq!(fixed.to_string(), "fbm(0.7)");
        assert!("fbm(2)".parse::<LawSpec>().is_err());
        assert!("nope".parse::<LawSpec>().is_err());
    }
}
