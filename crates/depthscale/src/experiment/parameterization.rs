//! Depth parameterizations as data: the residual exponent `beta`, the law of the residual
//! weights, and the optimizer with its depth rule (learning rate times `L^lr_exponent`, Adam's
//! epsilon times `L^eps_exponent`). `coord-check` and `transfer` take a list of them.
//!
//! Named parameterizations (what each rule was checked against is in the README section
//! "Choosing a scaling for your depth"):
//!
//! | name | beta | lr rule (Adam) | eps rule | source |
//! |---|---|---|---|---|
//! | `standard` | 0 | none | none | plain ResNet |
//! | `sqrt-depth` | 1/2 | none | none | 1/sqrt(L) branches, no optimizer rule |
//! | `depth-mup` | 1/2 | `L^-1/2` | none | Yang, Yu, Zhu, Hayou, arXiv 2310.02244 |
//! | `complete-p` | 1 | none (`L^(alpha-1)`, alpha = 1) | `L^-1` (`L^-alpha`) | Dey et al., arXiv 2505.01618 |
//! | `depth-mup-sgd` | 1/2 | SGD, lr unchanged | - | Yang, Yu, Zhu, Hayou, arXiv 2310.02244 |
//!
//! The learning-rate rule multiplies the rate of the hidden tensors (the residual weights `V`
//! and biases `b`), as the papers do for the hidden weights; the embedding and readout keep
//! the base rate. The epsilon rule applies to every tensor.
//! In a config, a parameterization is a name or a table:
//!
//! ```toml
//! parameterizations = ["standard", "depth-mup"]
//! # or
//! parameterizations = ["depth-mup", { name = "mine", beta = 0.75, init_v = "fbm(0.75)", lr_exponent = -0.25 }]
//! ```

use crate::paths::Init;
use crate::train::Optimizer;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// One parameterization: a scaling of the residual branches, a weight law and an optimizer rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameterization {
    /// Name shown in tables and legends.
    pub name: String,
    /// Residual exponent: branches scaled by `L^-beta`.
    pub beta: f64,
    /// Law of the residual weights `V` over depth.
    #[serde(default = "default_init")]
    pub init_v: Init,
    /// The optimizer: `adam` or `sgd`.
    #[serde(default)]
    pub optimizer: Optimizer,
    /// SGD momentum in `[0, 1)` (0 with Adam).
    #[serde(default)]
    pub momentum: f64,
    /// `gamma`: the hidden tensors' learning rate is `lr * L^gamma`.
    #[serde(default)]
    pub lr_exponent: f64,
    /// `delta`: Adam's epsilon is `1e-8 * L^delta`.
    #[serde(default)]
    pub eps_exponent: f64,
}

fn default_init() -> Init {
    Init::Uniform
}

/// PyTorch's Adam epsilon, the base of every epsilon rule.
pub const BASE_EPS: f64 = 1e-8;

/// The names [`Parameterization::named`] accepts.
pub const NAMED: [&str; 4] = ["standard", "sqrt-depth", "depth-mup", "complete-p"];

/// The names [`Parameterization::named`] accepts besides [`NAMED`] (the Adam ones).
pub const NAMED_SGD: [&str; 1] = ["depth-mup-sgd"];

impl Parameterization {
    /// The named parameterization `name` (see the module doc), with i.i.d. uniform weights and
    /// Adam.
    pub fn named(name: &str) -> Result<Self> {
        let (beta, lr_exponent, eps_exponent) = match name {
            "standard" => (0.0, 0.0, 0.0),
            "sqrt-depth" => (0.5, 0.0, 0.0),
            "depth-mup" => (0.5, -0.5, 0.0),
            "complete-p" => (1.0, 0.0, -1.0),
            "depth-mup-sgd" => {
                return Ok(Self {
                    name: name.to_string(),
                    beta: 0.5,
                    init_v: Init::Uniform,
                    optimizer: Optimizer::Sgd,
                    momentum: 0.0,
                    lr_exponent: 0.0,
                    eps_exponent: 0.0,
                });
            }
            other => {
                return Err(Error::config(
                    "parameterizations",
                    format!(
                        "unknown parameterization {other:?}; accepted: {}, {}, or a table {{ name, beta, init_v, optimizer, momentum, lr_exponent, eps_exponent }}",
                        NAMED.join(", "),
                        NAMED_SGD.join(", ")
                    ),
                ));
            }
        };
        Ok(Self {
            name: name.to_string(),
            beta,
            init_v: Init::Uniform,
            optimizer: Optimizer::Adam,
            momentum: 0.0,
            lr_exponent,
            eps_exponent,
        })
    }

    /// A parameterization of the (H, beta) phase diagram: fBm(H) weights, Adam, no rule. Its
    /// name shows H and beta to 12 significant digits ([`phase_label`]: `H=0.3`, not the
    /// `0.30000000000000004` a linspace grid holds).
    pub fn phase(hurst: f64, beta: f64) -> Self {
        Self {
            name: format!("H={} beta={}", phase_label(hurst), phase_label(beta)),
            beta,
            init_v: Init::Fbm { hurst },
            optimizer: Optimizer::Adam,
            momentum: 0.0,
            lr_exponent: 0.0,
            eps_exponent: 0.0,
        }
    }

    /// Checks every field; errors name `field` (the config's list).
    pub fn validate(&self, field: &str) -> Result<()> {
        for (what, v) in [
            ("beta", self.beta),
            ("lr_exponent", self.lr_exponent),
            ("eps_exponent", self.eps_exponent),
        ] {
            if !v.is_finite() {
                return Err(Error::config(
                    format!("{field}.{what}"),
                    format!("parameterization {:?}: must be finite, got {v}", self.name),
                ));
            }
        }
        if self.name.is_empty() || self.name.chars().count() > 100 {
            return Err(Error::config(
                format!("{field}.name"),
                format!(
                    "a parameterization needs a name of 1 to 100 characters, got {} characters",
                    self.name.chars().count()
                ),
            ));
        }
        crate::budget::check_printable(&format!("{field}.name"), &self.name)?;
        let momentum_ok = match self.optimizer {
            Optimizer::Adam => self.momentum == 0.0,
            Optimizer::Sgd => (0.0..1.0).contains(&self.momentum),
        };
        if !momentum_ok {
            return Err(Error::config(
                format!("{field}.momentum"),
                format!(
                    "parameterization {:?}: got {} with optimizer {}; accepted: 0 with adam, [0, 1) with sgd",
                    self.name, self.momentum, self.optimizer
                ),
            ));
        }
        self.init_v.validate(&format!("{field}.init_v"))
    }

    /// Checks what the rules give at depth `depth`: the residual scale `L^-beta`, the learning
    /// rate factor `L^gamma` and Adam's epsilon `1e-8 L^delta` must be positive and finite in
    /// `f32` (the training model's precision); errors name `{field}.beta`, `.lr_exponent` or
    /// `.eps_exponent` with its value.
    pub fn check_at(&self, field: &str, depth: usize) -> Result<()> {
        let l = depth as f64;
        for (what, v, got) in [
            (
                "beta",
                self.beta,
                ("the residual scale L^-beta", l.powf(-self.beta)),
            ),
            (
                "lr_exponent",
                self.lr_exponent,
                (
                    "the learning-rate factor L^lr_exponent",
                    l.powf(self.lr_exponent),
                ),
            ),
            (
                "eps_exponent",
                self.eps_exponent,
                ("Adam's epsilon 1e-8 L^eps_exponent", self.eps(depth)),
            ),
        ] {
            let x = got.1 as f32;
            if !(x.is_finite() && x > 0.0) {
                return Err(Error::config(
                    format!("{field}.{what}"),
                    format!(
                        "parameterization {:?}: {what} = {} makes {} at depth {depth} {} in f32; give a smaller |{what}|",
                        self.name,
                        phase_label(v),
                        got.0,
                        if x > 0.0 { "infinite" } else { "zero" },
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The hidden tensors' learning rate at depth `depth` for the base rate `lr`: `lr * L^gamma`.
    pub fn lr(&self, lr: f64, depth: usize) -> f64 {
        lr * (depth as f64).powf(self.lr_exponent)
    }

    /// Adam's epsilon at depth `depth`: `1e-8 * L^delta`.
    pub fn eps(&self, depth: usize) -> f64 {
        BASE_EPS * (depth as f64).powf(self.eps_exponent)
    }
}

/// `x` to 12 significant digits, in exponent notation outside `[1e-4, 1e15)` (so a huge
/// value is `1e300`, not 301 digits): how phase names and messages show grid values.
pub fn phase_label(x: f64) -> String {
    let tidy = format!("{x:.11e}").parse::<f64>().unwrap_or(x);
    let a = tidy.abs();
    if a == 0.0 || (1e-4..1e15).contains(&a) || !a.is_finite() {
        format!("{tidy}")
    } else {
        format!("{tidy:e}")
    }
}

/// What a parameterization is, in error messages.
const EXPECTING: &str = "a parameterization: a name (standard, sqrt-depth, depth-mup, complete-p, depth-mup-sgd) or a table { name, beta, init_v, optimizer, momentum, lr_exponent, eps_exponent }";

/// A parameterization as a config writes it: a name or a full table. A table's errors name
/// its field (`missing field `beta``, `` `optimizer`: unknown variant `lbfgs` ``).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamSpec {
    /// A named parameterization.
    Named(String),
    /// A parameterization given in full.
    Custom(Parameterization),
}

impl<'de> Deserialize<'de> for ParamSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        match toml::Value::deserialize(d)? {
            toml::Value::String(name) => Ok(ParamSpec::Named(name)),
            toml::Value::Table(t) => {
                let given = t.clone();
                serde_path_to_error::deserialize(toml::Value::Table(t))
                    .map(ParamSpec::Custom)
                    .map_err(|e| {
                        let path = e.path().to_string();
                        let inner = super::config::one_line(&e.into_inner().to_string());
                        // a value type's own "invalid `its-name`: " prefix names it worse
                        let inner = inner
                            .strip_prefix("invalid `")
                            .and_then(|rest| rest.split_once("`: "))
                            .map_or(inner.as_str(), |(_, m)| m)
                            .replace(&format!(" in `{path}`"), "");
                        match given.get(&path) {
                            _ if path == "." => D::Error::custom(inner),
                            Some(v) => D::Error::custom(format!("`{path} = {v}`: {inner}")),
                            None => D::Error::custom(format!("`{path}`: {inner}")),
                        }
                    })
            }
            other => Err(D::Error::custom(format!(
                "expected {EXPECTING}, got {other}"
            ))),
        }
    }
}

impl ParamSpec {
    /// The parameterization, validated; errors name `field`. A table may not take the name of
    /// a built-in parameterization (tables and figures would show it under that name).
    pub fn resolve(&self, field: &str) -> Result<Parameterization> {
        let p = match self {
            ParamSpec::Named(n) => Parameterization::named(n)?,
            ParamSpec::Custom(p) => {
                if NAMED.contains(&p.name.as_str()) || NAMED_SGD.contains(&p.name.as_str()) {
                    return Err(Error::config(
                        format!("{field}.name"),
                        format!(
                            "{:?} is the name of a built-in parameterization; give the table another name (or write just \"{}\" for the built-in one)",
                            p.name, p.name
                        ),
                    ));
                }
                p.clone()
            }
        };
        p.validate(field)?;
        Ok(p)
    }
}

/// Resolves a config's list: non-empty, names distinct.
pub fn resolve_all(specs: &[ParamSpec], field: &str) -> Result<Vec<Parameterization>> {
    if specs.is_empty() {
        return Err(Error::config(
            field,
            "the list is empty; give at least one parameterization",
        ));
    }
    let all: Vec<Parameterization> = specs
        .iter()
        .map(|s| s.resolve(field))
        .collect::<Result<_>>()?;
    for (i, p) in all.iter().enumerate() {
        if all[..i].iter().any(|q| q.name == p.name) {
            return Err(Error::config(
                field,
                format!("the name {:?} appears twice", p.name),
            ));
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    #[test]
    fn phase_names_show_the_grid_values_not_their_rounding_noise() {
        // linspace(0.1, 0.9, 5) holds 0.1 + 2 * 0.2 = 0.30000000000000004
        let p = Parameterization::phase(0.1 + 0.2, 0.75);
        assert_eq!(p.name, "H=0.3 beta=0.75");
        assert_eq!(p.init_v, Init::Fbm { hurst: 0.1 + 0.2 });
        assert_eq!(Parameterization::phase(0.5, 1.0).name, "H=0.5 beta=1");
        assert_eq!(
            Parameterization::phase(1.0 / 3.0, 0.5).name,
            "H=0.333333333333 beta=0.5"
        );
    }

    /// Issue 20, item 19: each error of a table names its field and value; item 24: a table
    /// may not take a built-in name; huge exponents are refused by field, not by their effect.
    #[test]
    fn table_errors_name_the_field_and_the_value() {
        #[derive(Debug, Deserialize)]
        struct C {
            #[allow(dead_code)]
            parameterizations: Vec<ParamSpec>,
        }
        let err = |table: &str| -> String {
            let t: toml::Table = toml::from_str(&format!("parameterizations = [{table}]")).unwrap();
            match serde_path_to_error::deserialize::<_, C>(toml::Value::Table(t)) {
                Err(e) => {
                    let path = e.path().to_string();
                    format!("{path}: {}", e.into_inner())
                }
                Ok(c) => resolve_all(&c.parameterizations, "parameterizations")
                    .and_then(|ps| {
                        ps.iter()
                            .try_for_each(|p| p.check_at("parameterizations", 64))
                    })
                    .unwrap_err()
                    .to_string(),
            }
        };
        let cases: [(&str, &[&str]); 6] = [
            (r#"{ name = "m" }"#, &["parameterizations[0]", "`beta`"]),
            (
                r#"{ name = "m", beta = 1, optimizer = "lbfgs" }"#,
                &["optimizer", "lbfgs"],
            ),
            (
                r#"{ name = "m", beta = 1, init_v = "fbm(2)" }"#,
                &["init_v", "fbm(2)"],
            ),
            (r#"{ name = "m", beta = 1, extra = 3 }"#, &["`extra`"]),
            (
                r#"{ name = "m", beta = 1, eps_exponent = -1e300 }"#,
                &["eps_exponent", "-1e300"],
            ),
            (
                r#"{ name = "depth-mup", beta = 0.5 }"#,
                &["depth-mup", "built-in"],
            ),
        ];
        let mut seen = std::collections::HashSet::new();
        for (table, needles) in cases {
            let e = err(table);
            for n in needles {
                assert!(e.contains(n), "{table}: {e:?} lacks {n:?}");
            }
            assert!(!e.contains("untagged") && !e.contains("adam_eps"), "{e}");
            assert!(seen.insert(e.clone()), "two cases give {e}");
        }
        assert_eq!(phase_label(1e300), "1e300");
        assert_eq!(phase_label(0.1 + 0.2), "0.3");
        assert_eq!(phase_label(-2.5e-7), "-2.5e-7");
    }

    #[test]
    fn standard_has_no_scaling_and_no_rule() {
        let p = Parameterization::named("standard").unwrap();
        assert_eq!(p.beta, 0.0);
        for l in [1, 8, 4096] {
            assert_eq!(p.lr(3e-3, l), 3e-3);
            assert_eq!(p.eps(l), BASE_EPS);
        }
    }

    #[test]
    fn sqrt_depth_scales_branches_only() {
        let p = Parameterization::named("sqrt-depth").unwrap();
        assert_eq!(p.beta, 0.5);
        assert_eq!(crate::train::residual_scale(64, p.beta), 0.125);
        assert_eq!(p.lr(1e-3, 64), 1e-3);
        assert_eq!(p.eps(64), BASE_EPS);
    }

    #[test]
    fn depth_mup_divides_adam_lr_by_sqrt_depth() {
        let p = Parameterization::named("depth-mup").unwrap();
        assert_eq!(p.beta, 0.5);
        assert_eq!(p.optimizer, Optimizer::Adam);
        // lr(L) sqrt(L) is the base rate at every depth; epsilon unchanged
        for l in [4, 16, 256, 1000] {
            assert!(close(p.lr(1e-2, l) * (l as f64).sqrt(), 1e-2));
            assert_eq!(p.eps(l), BASE_EPS);
        }
        assert!(close(p.lr(1e-2, 16) / p.lr(1e-2, 64), 2.0));
    }

    #[test]
    fn complete_p_keeps_lr_and_divides_eps_by_depth() {
        let p = Parameterization::named("complete-p").unwrap();
        assert_eq!(p.beta, 1.0);
        assert_eq!(crate::train::residual_scale(50, p.beta), 1.0 / 50.0);
        for l in [2, 50, 512] {
            assert_eq!(p.lr(1e-3, l), 1e-3);
            assert!(close(p.eps(l) * l as f64, BASE_EPS));
        }
    }

    #[test]
    fn depth_mup_with_sgd_keeps_the_learning_rate() {
        let p = Parameterization::named("depth-mup-sgd").unwrap();
        assert_eq!(
            (p.beta, p.optimizer, p.momentum),
            (0.5, Optimizer::Sgd, 0.0)
        );
        for l in [4, 256, 4096] {
            assert_eq!(p.lr(0.1, l), 0.1);
        }
    }

    #[test]
    fn configs_spell_names_and_tables() {
        #[derive(Deserialize)]
        struct C {
            p: Vec<ParamSpec>,
        }
        let c: C = toml::from_str(
            r#"p = ["depth-mup", { name = "mine", beta = 0.75, init_v = "fbm(0.75)", lr_exponent = -0.25 }]"#,
        )
        .unwrap();
        let all = resolve_all(&c.p, "p").unwrap();
        assert_eq!(all[0], Parameterization::named("depth-mup").unwrap());
        assert_eq!(all[1].init_v, Init::Fbm { hurst: 0.75 });
        assert!(close(all[1].lr(1.0, 16), 0.5));
        let bad = |s: &str| {
            let c: std::result::Result<C, _> = toml::from_str(s);
            match c {
                Err(e) => e.to_string(),
                Ok(c) => resolve_all(&c.p, "p").unwrap_err().to_string(),
            }
        };
        assert!(bad(r#"p = ["nope"]"#).contains("unknown parameterization"));
        assert!(bad(r#"p = ["standard", "standard"]"#).contains("twice"));
        assert!(bad(r#"p = []"#).contains("empty"));
        assert!(bad(r#"p = [{ name = "s", beta = 0.5, momentum = 0.9 }]"#).contains("p.momentum"));
        let sgd: C = toml::from_str(
            r#"p = [{ name = "s", beta = 0.5, optimizer = "sgd", momentum = 0.9 }]"#,
        )
        .unwrap();
        assert_eq!(
            resolve_all(&sgd.p, "p").unwrap()[0].optimizer,
            Optimizer::Sgd
        );
    }
}
