//! Parameter grids in configs: a single value, an explicit list, or a generated range.
//!
//! ```toml
//! depth = 1000                                # one value
//! beta = [0.25, 0.5, 1.0]                     # a list
//! hurst = { linspace = [0.05, 0.97, 51] }     # start, stop, count (inclusive, like numpy)
//! depth = { geomspace = [10, 10000, 7] }      # log-spaced, inclusive
//! ```

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The largest count of a generated range (`linspace`, `geomspace`).
pub const MAX_COUNT: f64 = 1e7;

/// The largest integer an integer grid (depths) accepts.
pub const MAX_INTEGER: usize = 1_000_000_000;

/// A grid of values for one config field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    untagged,
    deny_unknown_fields,
    expecting = "a grid: a number, a list of numbers, { linspace = [start, stop, count] } or { geomspace = [start, stop, count] }"
)]
pub enum Grid {
    /// One value.
    One(f64),
    /// Explicit values.
    List(Vec<f64>),
    /// `count` evenly spaced values from `start` to `stop` inclusive.
    Linspace {
        /// `[start, stop, count]`.
        linspace: [f64; 3],
    },
    /// `count` log-spaced values from `start` to `stop` inclusive (both positive).
    Geomspace {
        /// `[start, stop, count]`.
        geomspace: [f64; 3],
    },
}

impl Grid {
    /// The grid's values, checked to be finite and non-empty; `field` names the field in errors.
    pub fn values(&self, field: &str) -> Result<Vec<f64>> {
        let count = |c: f64| -> Result<usize> {
            if c >= 1.0 && c.fract() == 0.0 && c <= MAX_COUNT {
                Ok(c as usize)
            } else {
                Err(Error::config(
                    field,
                    format!(
                        "the count of a range must be an integer in 1..={}, got {c}",
                        MAX_COUNT as u64
                    ),
                ))
            }
        };
        let v = match self {
            Grid::One(x) => vec![*x],
            Grid::List(v) => v.clone(),
            Grid::Linspace {
                linspace: [a, b, c],
            } => crate::stats::linspace(*a, *b, count(*c)?),
            Grid::Geomspace {
                geomspace: [a, b, c],
            } => {
                if !(*a > 0.0 && *b > 0.0) {
                    return Err(Error::config(field, "geomspace bounds must be positive"));
                }
                // tidied: 2^-10 .. 2^-5 holds 0.001953125, not 0.0019531250000000004
                let n = count(*c)?;
                let mut v: Vec<f64> = crate::stats::linspace(a.ln(), b.ln(), n)
                    .into_iter()
                    .map(|x| crate::stats::tidy_within(x.exp(), 64.0))
                    .collect();
                // the ends exactly as given
                v[0] = *a;
                if n > 1 {
                    v[n - 1] = *b;
                }
                v
            }
        };
        if v.is_empty() {
            return Err(Error::config(
                field,
                "the grid is empty; give at least one value",
            ));
        }
        if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
            return Err(Error::config(
                field,
                format!("values must be finite numbers, got {bad}"),
            ));
        }
        Ok(v)
    }

    /// The values as integers `>= min` (ranges are rounded to the nearest integer, duplicates
    /// removed); `field` names the field in errors.
    pub fn integers(&self, field: &str, min: usize) -> Result<Vec<usize>> {
        let mut out: Vec<usize> = Vec::new();
        for x in self.values(field)? {
            let generated = !matches!(self, Grid::One(_) | Grid::List(_));
            let r = x.round();
            if (!generated && r != x) || r < min as f64 || r > MAX_INTEGER as f64 {
                return Err(Error::config(
                    field,
                    format!("values must be integers in {min}..={MAX_INTEGER}, got {x}"),
                ));
            }
            if out.last() != Some(&(r as usize)) {
                out.push(r as usize);
            }
        }
        Ok(out)
    }

    /// Keeps at most `n` values spread over the grid (first and last kept); used by `--quick`.
    pub fn shrink(&mut self, n: usize) {
        if let Ok(v) = self.values("grid")
            && v.len() > n
        {
            let pick = |i: usize| {
                if n == 1 {
                    0
                } else {
                    i * (v.len() - 1) / (n - 1)
                }
            };
            *self = Grid::List((0..n).map(|i| v[pick(i)]).collect());
        }
    }

    /// Replaces every value above `max` by `max` (duplicates removed); used by `--quick`.
    pub fn cap(&mut self, max: f64) {
        if let Ok(v) = self.values("grid") {
            let mut capped: Vec<f64> = v.iter().map(|x| x.min(max)).collect();
            capped.dedup();
            *self = if capped.len() == 1 {
                Grid::One(capped[0])
            } else {
                Grid::List(capped)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geomspace_values_are_short_decimals() {
        let g = Grid::Geomspace {
            geomspace: [0.0009765625, 0.03125, 6.0],
        };
        let text: Vec<String> = g.values("lr").unwrap().iter().map(f64::to_string).collect();
        assert_eq!(
            text,
            [
                "0.0009765625",
                "0.001953125",
                "0.00390625",
                "0.0078125",
                "0.015625",
                "0.03125"
            ]
        );
    }

    #[test]
    fn generates_and_validates() {
        let g: Grid = toml::from_str::<toml::Table>("g = { linspace = [0, 1, 3] }").unwrap()["g"]
            .clone()
            .try_into()
            .unwrap();
        assert_eq!(g.values("g").unwrap(), vec![0.0, 0.5, 1.0]);
        let d = Grid::Geomspace {
            geomspace: [10.0, 1000.0, 3.0],
        }
        .integers("depth", 1)
        .unwrap();
        assert_eq!(d, vec![10, 100, 1000]);
        assert!(Grid::One(-5.0).integers("depth", 1).is_err());
        assert!(Grid::One(2.5).integers("depth", 1).is_err());
        assert!(Grid::List(vec![]).values("beta").is_err());
        assert!(Grid::One(f64::NAN).values("beta").is_err());
        let err = Grid::One(1_000_000_001.0)
            .integers("depth", 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("1..=1000000000"), "{err}");
        let mut s = Grid::Linspace {
            linspace: [0.0, 1.0, 11.0],
        };
        s.shrink(3);
        assert_eq!(s.values("x").unwrap(), vec![0.0, 0.5, 1.0]);
    }

    #[test]
    fn a_value_that_is_no_grid_says_what_a_grid_is() {
        for bad in [
            "g = \"many\"",
            "g = { range = [1, 2] }",
            "g = [1, \"a\"]",
            "g = true",
        ] {
            let t: toml::Table = toml::from_str(bad).unwrap();
            let err = t["g"].clone().try_into::<Grid>().unwrap_err().to_string();
            assert!(!err.contains("untagged"), "{bad}: {err}");
            assert!(
                err.contains("linspace") && err.contains("a list of numbers"),
                "{bad}: {err}"
            );
        }
    }
}
