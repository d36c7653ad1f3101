//! Stage 3, claims: each claim of the paper checked against what an experiment wrote (its
//! `summary.json` and CSV tables), with the theory's value and a tolerance.

use crate::experiment::Experiment;
use crate::experiment::summary::{
    AdjointClaim, AdjointSummary, CoordCheckSummary, CurvePointSummary, FbmPathsSummary,
    ImplicitRegSummary, LimitSummary, OdeAfterTrainingSummary, ProbeSummary, Reading, SweepSummary,
    TransferSummary, WeightsSummary,
};
use crate::stats::{DepthCorrectedSlope, mean_se};
use crate::{Error, Result};
use serde_json::{Value, json};
use std::path::Path;

/// What the theory predicts for a measured number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expected {
    /// `|measured - value| <= tol`.
    Near(f64, f64),
    /// `|measured / value - 1| <= rel`.
    Relative(f64, f64),
    /// `measured > threshold` (an overflow counts as above).
    Above(f64),
    /// `measured < threshold`.
    Below(f64),
    /// `lo < measured < hi`.
    Between(f64, f64),
}

/// What was measured for a claim.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Measured {
    /// A number.
    Value(f64),
    /// The measurement overflowed: evidence of it (an infinite value) was found, so it counts
    /// as above every threshold.
    Overflow,
    /// The number is missing, null or NaN: the claim fails.
    Missing,
}

impl Measured {
    /// `Value(x)` for a finite or infinite `x` (infinite: `Overflow`), `Missing` for NaN.
    pub fn of(x: f64) -> Self {
        if x.is_nan() {
            Measured::Missing
        } else if x.is_infinite() {
            Measured::Overflow
        } else {
            Measured::Value(x)
        }
    }
}

/// One claim of the paper against one measured number.
#[derive(Clone, Debug)]
pub struct Claim {
    /// The preset whose output the number comes from.
    pub experiment: String,
    /// What is claimed.
    pub name: String,
    /// The measured number.
    pub measured: Measured,
    /// The theory's prediction.
    pub expected: Expected,
    /// How the tolerance or threshold was derived (shown in the claim's row).
    pub basis: String,
    /// The mutants ([`crate::mutant::Mutant`] names) this claim must catch (fail on).
    pub mutants: Vec<&'static str>,
    /// Whether the experiment ran below the paper's settings (`--quick`).
    pub reduced: bool,
}

impl Claim {
    /// Whether the measured number agrees with the theory within the tolerance: a missing,
    /// null or NaN value never agrees; an overflow agrees only with an `Above` claim.
    pub fn agrees(&self) -> bool {
        let m = match self.measured {
            Measured::Missing => return false,
            Measured::Overflow => return matches!(self.expected, Expected::Above(_)),
            Measured::Value(m) if m.is_nan() => return false,
            Measured::Value(m) => m,
        };
        match self.expected {
            Expected::Near(v, tol) => (m - v).abs() <= tol,
            Expected::Relative(v, rel) => (m / v - 1.0).abs() <= rel,
            Expected::Above(t) => m > t,
            Expected::Below(t) => m < t,
            Expected::Between(lo, hi) => lo < m && m < hi,
        }
    }

    /// "agrees", "disagrees", or "missing" (no number to check).
    pub fn verdict(&self) -> &'static str {
        if self.agrees() {
            "agrees"
        } else if self.measured == Measured::Missing {
            "missing"
        } else {
            "disagrees"
        }
    }

    /// The measured number as text ("overflow", "missing").
    pub fn measured_text(&self) -> String {
        match self.measured {
            Measured::Overflow => "overflow".into(),
            Measured::Missing => "missing".into(),
            Measured::Value(m) => num(m),
        }
    }

    /// The prediction as text.
    pub fn expected_text(&self) -> String {
        match self.expected {
            Expected::Near(v, _) | Expected::Relative(v, _) => num(v),
            Expected::Above(t) => format!("> {}", num(t)),
            Expected::Below(t) => format!("< {}", num(t)),
            Expected::Between(lo, hi) => format!("in ({}, {})", num(lo), num(hi)),
        }
    }

    /// The tolerance as text, with how it was derived.
    pub fn tolerance_text(&self) -> String {
        let t = match self.expected {
            Expected::Near(_, t) => format!("± {}", num(t)),
            Expected::Relative(_, r) => format!("± {}%", num(100.0 * r)),
            _ => "bound".into(),
        };
        if self.basis.is_empty() {
            t
        } else {
            format!("{t}: {}", self.basis)
        }
    }

    /// The mutants the claim must catch, as text ("none" when it lists none).
    pub fn mutants_text(&self) -> String {
        if self.mutants.is_empty() {
            "none".into()
        } else {
            self.mutants.join(", ")
        }
    }

    /// The claim's row of `summary.json`.
    pub fn json(&self) -> Value {
        let (expected, relation, tolerance) = match self.expected {
            Expected::Near(v, t) => (json!(v), "within", json!(t)),
            Expected::Relative(v, r) => (json!(v), "within relative", json!(r)),
            Expected::Above(t) => (json!(t), "above", Value::Null),
            Expected::Below(t) => (json!(t), "below", Value::Null),
            Expected::Between(lo, hi) => (json!([lo, hi]), "between", Value::Null),
        };
        let measured = match self.measured {
            Measured::Value(m) if m.is_finite() => json!(m),
            Measured::Value(m) => json!(m.to_string()),
            Measured::Overflow => json!("overflow"),
            Measured::Missing => json!("missing"),
        };
        json!({
            "experiment": self.experiment,
            "name": self.name,
            "measured": measured,
            "expected": expected,
            "relation": relation,
            "tolerance": tolerance,
            "tolerance_basis": self.basis,
            "mutants": self.mutants,
            "verdict": self.verdict(),
            "reduced_size": self.reduced,
        })
    }
}

/// A number with 4 significant digits (scientific beyond 1e5 or below 1e-3).
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        format!("{x:.3e}")
    } else {
        let s = format!("{:.*}", (3 - a.log10().floor() as i64).max(0) as usize, x);
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').into()
        } else {
            s
        }
    }
}

/// A summary's optional number: `None` (null in the JSON) is [`Measured::Missing`].
fn val(v: Option<f64>) -> Measured {
    v.map_or(Measured::Missing, Measured::of)
}

impl From<&Reading> for Measured {
    fn from(r: &Reading) -> Self {
        match r {
            Reading::Value(x) => Measured::of(*x),
            Reading::Overflow { .. } => Measured::Overflow,
        }
    }
}

/// The claims of kind `E` on its preset `preset`: the `results` object `r` of its
/// `summary.json` read back as `E`'s typed summary, then [`Experiment::claims`]; on a missing,
/// null or renamed field, one claim that fails as "missing", naming the field (the registry's
/// entry point, [`crate::experiment::registry::Kind::claims`]).
pub(crate) fn claims_of_json<E: Experiment>(
    preset: &str,
    dir: &Path,
    r: &Value,
    reduced: bool,
) -> Result<Vec<Claim>> {
    match serde_path_to_error::deserialize::<_, E::Summary>(r) {
        Ok(summary) => E::claims(preset, dir, &summary, reduced),
        Err(e) => {
            let mut b = Builder::new(preset, reduced);
            b.push(
                format!("summary.json results read as a typed summary ({e})"),
                Measured::Missing,
                Expected::Near(0.0, 0.0),
                "every field a claim reads must be present and a number".into(),
                &[],
            );
            Ok(b.out)
        }
    }
}

/// The number of standard errors of every sampling-error tolerance: a claim agrees when the
/// measured statistic lies within `K_SE` standard errors of the theory (a two-sided z-test at
/// about 6e-5 under normality, so that the roughly 60 claims of a reproduction agree over
/// seeds unless something is wrong).
pub const K_SE: f64 = 4.0;

/// Collects the claims of one experiment (its preset and size).
pub(crate) struct Builder<'a> {
    experiment: &'a str,
    reduced: bool,
    out: Vec<Claim>,
}

impl<'a> Builder<'a> {
    /// An empty list of the claims of `experiment`, at reduced size when `reduced`.
    pub(crate) fn new(experiment: &'a str, reduced: bool) -> Self {
        Self {
            experiment,
            reduced,
            out: Vec::new(),
        }
    }

    fn push(
        &mut self,
        name: String,
        measured: Measured,
        expected: Expected,
        basis: String,
        mutants: &[&'static str],
    ) {
        self.out.push(Claim {
            experiment: self.experiment.into(),
            name,
            measured,
            expected,
            basis,
            mutants: mutants.to_vec(),
            reduced: self.reduced,
        });
    }

    /// A relative z-test: `measured / theory - 1` within [`K_SE`] relative standard errors
    /// `se / measured`.
    fn z_relative(
        &mut self,
        name: String,
        (measured, se): (f64, f64),
        theory: f64,
        unit: &str,
        mutants: &[&'static str],
    ) {
        let rel = se / measured;
        let basis = format!("{K_SE} relative se, se/value = {} ({unit})", num(rel));
        let m = if rel.is_nan() {
            Measured::Missing
        } else {
            Measured::of(measured)
        };
        self.push(
            name,
            m,
            Expected::Relative(theory, K_SE * rel),
            basis,
            mutants,
        );
    }

    /// A z-test: `measured` within [`K_SE`] standard errors `se` of `theory`.
    fn z(
        &mut self,
        name: String,
        (measured, se): (f64, f64),
        theory: f64,
        unit: &str,
        mutants: &[&'static str],
    ) {
        let basis = format!("{K_SE} se, se = {} ({unit})", num(se));
        let m = if se.is_nan() {
            Measured::Missing
        } else {
            Measured::of(measured)
        };
        self.push(name, m, Expected::Near(theory, K_SE * se), basis, mutants);
    }
}

// the mutants' names, as the claims list them
const M2: &str = "m2";
const SCALE: &str = "residual-scale";
const FROZEN_V: &str = "frozen-v";
const GD_LR: &str = "gd-lr";
const FGN_EXPONENT: &str = "fgn-exponent";
const FGN_VARIANCE: &str = "fgn-variance";
const RBF_GRID: &str = "rbf-grid";
const CORR_UNSCALED: &str = "corr-unscaled";
const IID_SAME_LAYER: &str = "iid-same-layer";
const ADJOINT_SIGN: &str = "adjoint-sign";
const ADJOINT_EULER: &str = "adjoint-euler";
const ADJOINT_STORED: &str = "adjoint-stored-states";
const CHECKPOINT_FIXED: &str = "checkpoint-fixed";
const BETA_IGNORED: &str = "beta-ignored";
const NO_UPDATE: &str = "no-update";

/// The claims checked on the output directory `dir` of preset `preset` (its `summary.json`
/// already read into `summary`).
pub fn claims(preset: &str, dir: &Path, summary: &Value, reduced: bool) -> Result<Vec<Claim>> {
    let mut b = Builder::new(preset, reduced);
    let r = &summary["results"];
    claims_of(&mut b, preset, dir, r)?;
    if b.out.is_empty() {
        return Err(Error::config(
            "reproduce",
            format!(
                "{}: its summary.json holds none of the numbers its claims need",
                dir.display()
            ),
        ));
    }
    Ok(b.out)
}

/// The claims of `preset` on its typed summary `r` (and its tables in `dir`): those of the kind
/// that registers it ([`crate::experiment::Experiment::claims`]), if the reproduction runs it.
fn claims_of(b: &mut Builder, preset: &str, dir: &Path, r: &Value) -> Result<()> {
    if let Some((kind, p)) = crate::experiment::registry::preset_kind(preset)
        && p.reproduce.is_some()
    {
        b.out.extend((kind.claims)(preset, dir, r, b.reduced)?);
    }
    Ok(())
}

/// The claims a kind's collector `of` pushes for its preset `preset` (summary results `r`,
/// tables in `dir`): what the kinds' [`crate::experiment::Experiment::claims`] return.
pub(crate) fn collect<S>(
    preset: &str,
    dir: &Path,
    summary: &S,
    reduced: bool,
    of: fn(&mut Builder, &str, &Path, &S) -> Result<()>,
) -> Result<Vec<Claim>> {
    let mut b = Builder::new(preset, reduced);
    of(&mut b, preset, dir, summary)?;
    Ok(b.out)
}

/// The claims of the `probe` presets (Figures 1 to 5 and 7, and the revision's).
pub(crate) fn of_probe(b: &mut Builder, preset: &str, dir: &Path, p: &ProbeSummary) -> Result<()> {
    match preset {
        "fig1" | "fig1-leaky" => {
            closed_form_claims(b, dir, &p.depth_curves, &["h_diff"], None)?;
        }
        "fig1-correlated" => {
            // the revision's claim: correlation across entries changes nothing, so the
            // uncorrelated weights' closed form (ReLU) still holds
            let relu = crate::model::Activation::Relu.second_moment_ratio();
            closed_form_claims(b, dir, &p.depth_curves, &["h_diff", "g_diff"], relu)?;
            correlation(b, p);
        }
        "fig3" => {
            closed_form_claims(b, dir, &p.depth_curves, &["g_diff"], None)?;
        }
        "fig4" => smooth_claims(b, dir, &["h_diff"])?,
        "fig5" => smooth_claims(b, dir, &["g_diff"])?,
        "fig4-correlated" => {
            smooth_claims(b, dir, &["h_diff", "g_diff"])?;
            correlation(b, p);
        }
        "fig2" => {
            fig2(b, dir, &p.depth_curves)?;
        }
        "fig7" => fig7(b, dir)?,
        _ => {}
    }
    Ok(())
}

/// The claims of the `fbm-paths` preset (Figure 6).
pub(crate) fn of_fbm_paths(b: &mut Builder, _: &str, _: &Path, s: &FbmPathsSummary) -> Result<()> {
    fig6(b, s);
    Ok(())
}

/// The claims of the `weights` preset (Figure 8).
pub(crate) fn of_weights(b: &mut Builder, _: &str, _: &Path, s: &WeightsSummary) -> Result<()> {
    fig8(b, s);
    Ok(())
}

/// The claims of the `sweep` preset (Figure 9).
pub(crate) fn of_sweep(b: &mut Builder, _: &str, _: &Path, s: &SweepSummary) -> Result<()> {
    fig9(b, s);
    Ok(())
}

/// The claims of the `limit` presets (ode, sde, fbm-limit).
pub(crate) fn of_limit(b: &mut Builder, _: &str, _: &Path, s: &LimitSummary) -> Result<()> {
    limit(b, s);
    Ok(())
}

/// The claims of the `ode-after-training` preset.
pub(crate) fn of_ode_after_training(
    b: &mut Builder,
    _: &str,
    _: &Path,
    s: &OdeAfterTrainingSummary,
) -> Result<()> {
    ode_after_training(b, s);
    Ok(())
}

/// The claims of the `implicit-regularization` preset.
pub(crate) fn of_implicit_regularization(
    b: &mut Builder,
    _: &str,
    _: &Path,
    s: &ImplicitRegSummary,
) -> Result<()> {
    implicit_regularization(b, s);
    Ok(())
}

/// The claims of the `coord-check` preset.
pub(crate) fn of_coord_check(
    b: &mut Builder,
    _: &str,
    _: &Path,
    s: &CoordCheckSummary,
) -> Result<()> {
    coord_check(b, s);
    Ok(())
}

/// The claims of the `transfer` preset.
pub(crate) fn of_transfer(b: &mut Builder, _: &str, _: &Path, s: &TransferSummary) -> Result<()> {
    transfer(b, s);
    Ok(())
}

/// The claims of the `adjoint` preset.
pub(crate) fn of_adjoint(b: &mut Builder, _: &str, _: &Path, s: &AdjointSummary) -> Result<()> {
    adjoint(b, s);
    Ok(())
}

/// The closed form of the root-mean-square `h_diff` of the cell `(depth, beta)` of `curves`
/// (NaN where it has none).
fn closed_form_at(curves: &[CurvePointSummary], depth: f64, beta: f64) -> f64 {
    curves
        .iter()
        .find(|p| p.depth as f64 == depth && p.beta == beta)
        .and_then(|p| p.h_diff_closed_form_rms)
        .unwrap_or(f64::NAN)
}

/// One row of a probe's `results.csv`.
#[derive(Clone, Copy, Debug)]
struct ProbeRow {
    depth: f64,
    beta: f64,
    hurst: f64,
    draw: usize,
    /// `h_ratio, h_diff, g_ratio, g_diff`.
    values: [f64; 4],
}

const PROBE_METRICS: [&str; 4] = ["h_ratio", "h_diff", "g_ratio", "g_diff"];

impl ProbeRow {
    fn get(&self, metric: &str) -> f64 {
        let i = PROBE_METRICS
            .iter()
            .position(|m| *m == metric)
            .expect("known metric");
        self.values[i]
    }
}

/// Every row of the probe table `dir/results.csv` (an unreadable number is NaN, an overflow
/// `inf`).
fn probe_rows(dir: &Path) -> Result<Vec<ProbeRow>> {
    let path = dir.join("results.csv");
    let mut rd = csv::Reader::from_path(&path).map_err(|e| Error::data(&path, e.to_string()))?;
    let head = rd
        .headers()
        .map_err(|e| Error::data(&path, e.to_string()))?
        .clone();
    let col = |n: &str| {
        head.iter()
            .position(|h| h == n)
            .ok_or_else(|| Error::data(&path, format!("no column {n}")))
    };
    let (cd, cb, ch, cw) = (col("depth")?, col("beta")?, col("hurst")?, col("draw")?);
    let cm = PROBE_METRICS.map(col);
    let mut cols = [0; 4];
    for (c, m) in cols.iter_mut().zip(cm) {
        *c = m?;
    }
    let mut out = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| Error::data(&path, e.to_string()))?;
        let x = |i: usize| rec[i].parse::<f64>().unwrap_or(f64::NAN);
        out.push(ProbeRow {
            depth: x(cd),
            beta: x(cb),
            hurst: x(ch),
            draw: rec[cw].parse().unwrap_or(usize::MAX),
            values: cols.map(x),
        });
    }
    Ok(out)
}

/// The sorted distinct values of `key` over `rows`.
fn distinct(rows: &[ProbeRow], key: impl Fn(&ProbeRow) -> f64) -> Vec<f64> {
    let mut v: Vec<f64> = rows.iter().map(key).filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// Per draw (the independent unit: samples of one draw share its weights), the mean of `g`
/// over that draw's rows.
fn per_draw<'a>(
    rows: impl Iterator<Item = &'a ProbeRow>,
    g: impl Fn(&ProbeRow) -> f64,
) -> Vec<f64> {
    let mut by: std::collections::BTreeMap<usize, (f64, usize)> = Default::default();
    for r in rows {
        let e = by.entry(r.draw).or_insert((0.0, 0));
        e.0 += g(r);
        e.1 += 1;
    }
    by.values().map(|&(s, n)| s / n as f64).collect()
}

/// The root-mean-square of `metric` over `rows` and its standard error, from the per-draw
/// means of `metric^2` (delta method: `se(rms) = se(mean square) / (2 rms)`), and the number
/// of draws.
fn rms_se<'a>(rows: impl Iterator<Item = &'a ProbeRow>, metric: &str) -> (f64, f64, usize) {
    let sq = per_draw(rows, |r| r.get(metric).powi(2));
    let (m, se) = mean_se(&sq);
    let rms = m.sqrt();
    (rms, se / (2.0 * rms), sq.len())
}

/// Figures 1, 3, the leaky and the correlated revision: at the largest depth and every beta,
/// the root-mean-square of each metric against the closed form
/// `sqrt((1 + m2 L^-2beta)^L - 1)` (exact in expectation for `h_diff` at any width; the paper's
/// gradients follow it too), a z-test over the draws. The closed form is the summary's, or the
/// one of `m2` where the summary has none (correlated weights).
fn closed_form_claims(
    b: &mut Builder,
    dir: &Path,
    curves: &[CurvePointSummary],
    metrics: &[&str],
    m2: Option<f64>,
) -> Result<()> {
    let rows = probe_rows(dir)?;
    let depth = distinct(&rows, |r| r.depth)
        .last()
        .copied()
        .unwrap_or(f64::NAN);
    for beta in distinct(&rows, |r| r.beta) {
        let cf = closed_form_at(curves, depth, beta);
        let cf = match m2 {
            Some(m2) if cf.is_nan() => {
                crate::experiment::init_probe::closed_form_h_diff(depth, beta, m2)
            }
            _ => cf,
        };
        // below the critical beta the draws are too heavy-tailed for a z-test of the mean
        // square (measured: a 4-se miss at fig1-leaky, beta = 1/4, seed 3)
        if cf.is_nan() || cf > 10.0 {
            continue;
        }
        for &metric in metrics {
            let here = rows.iter().filter(|r| r.depth == depth && r.beta == beta);
            let (rms, se, n) = rms_se(here, metric);
            // relative: the standard error of an exploding mutant grows with its mean
            let rel = se / rms;
            b.push(
                format!(
                    "rms {metric} at L = {}, beta = {} vs closed form sqrt((1 + m2 L^-2beta)^L - 1)",
                    num(depth),
                    num(beta)
                ),
                if rel.is_nan() {
                    Measured::Missing
                } else {
                    Measured::of(rms)
                },
                Expected::Relative(cf, K_SE * rel),
                format!(
                    "{K_SE} relative se, se/rms = {} (delta method over {n} draws)",
                    num(rel)
                ),
                // the correlated weights' 15 draws do not resolve m2 20% off
                if m2.is_some() {
                    &[SCALE, CORR_UNSCALED]
                } else {
                    &[M2, SCALE]
                },
            );
        }
    }
    Ok(())
}

/// Figures 4 and 5 (smooth weights, critical beta = 1): between the two largest depths, the
/// mean of each metric does not move at beta = 1 (a neural ODE limit), and at beta = 2 the
/// mean `log10` falls like `L^-1` (the identity at rate `alpha_L L = L^-1`); z-tests over the
/// independent draws of both depths.
fn smooth_claims(b: &mut Builder, dir: &Path, metrics: &[&str]) -> Result<()> {
    let rows = probe_rows(dir)?;
    let depths = distinct(&rows, |r| r.depth);
    let [.., l0, l1] = depths[..] else {
        return Ok(());
    };
    for &metric in metrics {
        for beta in distinct(&rows, |r| r.beta) {
            let at = |l: f64, g: &dyn Fn(&ProbeRow) -> f64| {
                mean_se(&per_draw(
                    rows.iter().filter(|r| r.depth == l && r.beta == beta),
                    g,
                ))
            };
            let diff = |g: &dyn Fn(&ProbeRow) -> f64| {
                let ((m0, s0), (m1, s1)) = (at(l0, g), at(l1, g));
                (m1 - m0, s0.hypot(s1))
            };
            if (beta - 1.0).abs() < 1e-9 {
                b.z(
                    format!(
                        "beta = 1: mean log10 {metric} at L = {} minus at L = {} (no drift: an ODE limit)",
                        num(l1),
                        num(l0)
                    ),
                    diff(&|r| r.get(metric).log10()),
                    0.0,
                    "independent draws at both depths",
                    &[SCALE, RBF_GRID],
                );
            } else if (beta - 2.0).abs() < 1e-9 {
                b.z(
                    format!(
                        "beta = 2: mean log10 {metric} at L = {} minus at L = {} vs log10({}/{}) (identity at rate 1/L)",
                        num(l1),
                        num(l0),
                        num(l0),
                        num(l1)
                    ),
                    diff(&|r| r.get(metric).log10()),
                    (l0 / l1).log10(),
                    "independent draws at both depths",
                    &[SCALE, RBF_GRID],
                );
            }
        }
    }
    Ok(())
}

/// Figure 2: the root-mean-square `h_ratio` against `sqrt((1 + m2 L^-2beta)^L)`, a z-test over
/// the draws (samples of a draw share its weights and are not independent).
fn fig2(b: &mut Builder, dir: &Path, curves: &[CurvePointSummary]) -> Result<()> {
    let rows = probe_rows(dir)?;
    let depth = distinct(&rows, |r| r.depth)
        .last()
        .copied()
        .unwrap_or(f64::NAN);
    let beta = distinct(&rows, |r| r.beta)
        .last()
        .copied()
        .unwrap_or(f64::NAN);
    let cf = closed_form_at(curves, depth, beta);
    let (rms, se, n) = rms_se(rows.iter(), "h_ratio");
    b.z_relative(
        format!(
            "rms ||h_L||/||h_0|| over {} samples at L = {}, beta = {} vs sqrt(1 + closed form^2)",
            rows.len(),
            num(depth),
            num(beta)
        ),
        (rms, se),
        (1.0 + cf * cf).sqrt(),
        &format!("delta method over {n} draws"),
        &[M2, SCALE],
    );
    Ok(())
}

/// Figure 6: per Hurst index, the lag-1 correlation of the fGn increments and their variance
/// times `n^2H` against theory (`2^(2H-1) - 1` and 1), z-tests over the independent paths.
fn fig6(b: &mut Builder, r: &FbmPathsSummary) {
    for inc in &r.increments {
        let (h, paths) = (inc.hurst, inc.paths);
        // the fgn-reference mutant (r[N] = 0 and the first eigenvalue reused for the last) moves
        // these statistics by less than their tolerance (H = 0.8: lag-1 0.520 against 0.516),
        // so they do not list it: the reference's own generator (0.445) differs further
        b.z(
            format!("lag-1 correlation of fGn increments, H = {}", num(h)),
            (inc.lag1_autocorrelation, inc.lag1_autocorrelation_se),
            inc.lag1_autocorrelation_theory,
            &format!("over {paths} paths"),
            &[FGN_EXPONENT],
        );
        b.z(
            format!(
                "variance of fGn increments times n^2H, H = {} (theory 1)",
                num(h)
            ),
            (inc.scaled_variance, inc.scaled_variance_se),
            1.0,
            &format!("over {paths} paths"),
            &[FGN_VARIANCE],
        );
    }
}

/// Finite-depth allowance of Figure 7's level below H = 1/2, times `ln L`: the level sits below
/// 1/2 by an offset that shrinks like `1 / ln L` (measured at `--quick` sizes, 10 draws, seed 0:
/// 0.060 at L = 100, 0.043 at L = 1000, 0.037 at L = 3000, i.e. 0.28 to 0.30 over `ln L`).
const FIG7_LEVEL_ALLOWANCE_LN: f64 = 0.4;
/// Finite-depth allowance of Figure 7's slope above H = 0.6: at L = 1000 the critical beta sits
/// 0.10 below the line at H = 0.65 and 0.07 at H = 0.95 (both codes), so the fitted slope is
/// about 1.1.
const FIG7_SLOPE_ALLOWANCE: f64 = 0.15;

/// Figure 7: the shape of the critical beta against H, from each draw's own critical betas
/// (where its mean `log10 h_diff` over samples crosses 0): the level below H = 1/2 near 1/2 and
/// the slope above H = 0.6 near 1 and clearly above 1/2; intervals over the draws.
fn fig7(b: &mut Builder, dir: &Path) -> Result<()> {
    let rows = probe_rows(dir)?;
    let depth = distinct(&rows, |r| r.depth)
        .last()
        .copied()
        .unwrap_or(f64::NAN);
    let rows: Vec<&ProbeRow> = rows.iter().filter(|r| r.depth == depth).collect();
    let betas = distinct(&rows.iter().map(|r| **r).collect::<Vec<_>>(), |r| r.beta);
    let hursts = distinct(&rows.iter().map(|r| **r).collect::<Vec<_>>(), |r| r.hurst);
    let draws: Vec<usize> = {
        let mut d: Vec<usize> = rows.iter().map(|r| r.draw).collect();
        d.sort_unstable();
        d.dedup();
        d
    };
    // critical[draw][hurst]
    let mut level = Vec::new();
    let mut slope = Vec::new();
    for &d in &draws {
        let crit: Vec<f64> = hursts
            .iter()
            .map(|&h| {
                let values: Vec<f64> = betas
                    .iter()
                    .map(|&beta| {
                        let v: Vec<f64> = rows
                            .iter()
                            .filter(|r| r.draw == d && r.hurst == h && r.beta == beta)
                            .map(|r| r.get("h_diff").log10())
                            .collect();
                        v.iter().sum::<f64>() / v.len() as f64
                    })
                    .collect();
                crate::experiment::init_probe::critical_beta(&betas, &values)
            })
            .collect();
        let low: Vec<f64> = hursts
            .iter()
            .zip(&crit)
            .filter(|(h, _)| **h < 0.5)
            .map(|(_, c)| *c)
            .collect();
        level.push(low.iter().sum::<f64>() / low.len() as f64);
        let high: Vec<(f64, f64)> = hursts
            .iter()
            .zip(&crit)
            .filter(|(h, _)| **h > 0.6)
            .map(|(h, c)| (*h, *c))
            .collect();
        slope.push(fit_slope(&high));
    }
    let n = draws.len();
    let (lm, ls) = mean_se(&level);
    let allowance = FIG7_LEVEL_ALLOWANCE_LN / depth.ln();
    b.push(
        format!(
            "critical beta at L = {}, mean over H < 1/2 (the level 1/2)",
            num(depth)
        ),
        if ls.is_nan() {
            Measured::Missing
        } else {
            Measured::of(lm)
        },
        Expected::Near(0.5, K_SE * ls + allowance),
        format!(
            "{K_SE} se + finite-depth allowance {FIG7_LEVEL_ALLOWANCE_LN}/ln L = {}; se = {} over {n} draws",
            num(allowance),
            num(ls)
        ),
        &[SCALE, FGN_VARIANCE],
    );
    let (sm, ss) = mean_se(&slope);
    b.push(
        format!(
            "critical beta at L = {}, slope against H over H > 0.6 (theory 1: beta = H)",
            num(depth)
        ),
        if ss.is_nan() {
            Measured::Missing
        } else {
            Measured::of(sm)
        },
        Expected::Near(1.0, K_SE * ss + FIG7_SLOPE_ALLOWANCE),
        format!(
            "{K_SE} se + {FIG7_SLOPE_ALLOWANCE} finite-depth allowance; se = {} over {n} draws",
            num(ss)
        ),
        &[SCALE, FGN_EXPONENT],
    );
    b.push(
        format!(
            "critical beta at L = {}, slope over H > 0.6 minus {K_SE} se (clearly above 1/2)",
            num(depth)
        ),
        if ss.is_nan() {
            Measured::Missing
        } else {
            Measured::of(sm - K_SE * ss)
        },
        Expected::Above(0.5),
        format!(
            "{K_SE} se below the mean slope, se = {} over {n} draws",
            num(ss)
        ),
        &[SCALE, FGN_EXPONENT],
    );
    Ok(())
}

/// The least-squares slope of `y` against `x` (NaN with fewer than two points or any NaN).
fn fit_slope(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len() as f64;
    if pts.len() < 2 {
        return f64::NAN;
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

/// Figure 8's floors at the reproduction's sizes: the test accuracy every model must reach
/// (chance is 0.1; measured 0.84 to 0.86 at `--quick` for seeds 0..4, lr = 1e-12 gives 0.08)
/// and the relative change of `V` (measured 0.05 to 0.20; a frozen `V` gives 0).
const FIG8_ACCURACY_FLOOR: f64 = 0.5;
const FIG8_CHANGE_FLOOR: f64 = 0.01;

/// Figure 8: each trained model learned (test accuracy above a floor, minus [`K_SE`] binomial
/// standard errors), its `V` moved (relative change above a floor), and the roughness of the
/// trained weights (median variogram Hurst estimate: near 1 for smooth weights, near 1/2 for
/// i.i.d. weights at beta = 1/2).
fn fig8(b: &mut Builder, r: &WeightsSummary) {
    let n_test = r.n_test as f64;
    for m in &r.models {
        let (init, beta, label) = (m.init_v.as_str(), m.beta, &m.model);
        let acc = m.final_test_accuracy.unwrap_or(f64::NAN);
        let se = (acc * (1.0 - acc) / n_test).sqrt();
        b.push(
            format!("{label}: final test accuracy minus {K_SE} binomial se (it learned)"),
            val(m.final_test_accuracy).and_then(|a| a - K_SE * se),
            Expected::Above(FIG8_ACCURACY_FLOOR),
            format!(
                "floor for this budget (measured 0.84 to 0.86, untrained 0.08); se = sqrt(p(1-p)/{}) = {}",
                num(n_test),
                num(se)
            ),
            // i.i.d. weights at beta = 1 still learn under L^(-1/2) (measured 0.81); an
            // untrained model (no update) sits at chance
            if init.starts_with("rbf") || (beta - 0.5).abs() < 1e-9 {
                &[SCALE, NO_UPDATE]
            } else {
                &[NO_UPDATE]
            },
        );
        b.push(
            format!("{label}: relative change of V in training (the weights moved)"),
            val(m.relative_change_v),
            Expected::Above(FIG8_CHANGE_FLOOR),
            "floor; no sampling error enters (the change is a deterministic function of the seed) and a V that is not updated gives exactly 0, so the floor sits 5x below the smallest change measured (0.05 to 0.20)".into(),
            &[FROZEN_V, NO_UPDATE],
        );
        // the roughness is classified against the midpoint 3/4 of rough (1/2) and smooth (1):
        // the variogram estimator is biased at finite depth (untrained: 0.495 for i.i.d., 0.997
        // for rbf(0.1)) and training moves the i.i.d. median by about 0.015, both far below the
        // gap between the two regimes
        let smooth = if init.starts_with("rbf") {
            true
        } else if (beta - 0.5).abs() < 1e-9 {
            false
        } else {
            continue;
        };
        let se = m.hurst_after_median_se.unwrap_or(f64::NAN);
        let median = if m.hurst_after_median_se.is_some() {
            val(m.hurst_after_median)
        } else {
            Measured::Missing
        };
        let (what, measured, expected, mutants): (_, _, _, &[&'static str]) = if smooth {
            (
                "smooth: median minus",
                median.and_then(|h| h - K_SE * se),
                Expected::Above(HURST_MIDPOINT),
                &[RBF_GRID],
            )
        } else {
            (
                "rough: median plus",
                median.and_then(|h| h + K_SE * se),
                Expected::Below(HURST_MIDPOINT),
                &[IID_SAME_LAYER],
            )
        };
        b.push(
            format!("{label}: Hurst estimate of the trained V, {what} {K_SE} se (roughness)"),
            measured,
            expected,
            format!(
                "{K_SE} se of the median over entries (order statistics), se = {}; midpoint of rough 1/2 and smooth 1",
                num(se)
            ),
            mutants,
        );
    }
}

/// The midpoint of the Hurst index of rough (i.i.d., 1/2) and smooth (1) weights.
const HURST_MIDPOINT: f64 = 0.75;

/// Figure 9's absolute floor on the mean best accuracy above the line at the reproduction's
/// `--quick` budget (one epoch on 2000 images: measured 0.6x for seeds 0..4; the paper's
/// protocol reaches about 0.93 on mnist-10k after 10 epochs).
const FIG9_ABOVE_FLOOR: f64 = 0.5;

/// Figure 9: best accuracy over learning rates above vs below the line `beta = max(H, 1/2)`,
/// and an absolute floor above it.
fn fig9(b: &mut Builder, r: &SweepSummary) {
    let (mut above, mut below) = (Vec::new(), Vec::new());
    let mut missing = false;
    for c in &r.best_over_lr {
        let (h, beta) = (c.hurst.unwrap_or(f64::NAN), c.beta);
        let acc = match c.test_accuracy {
            Some(a) => a,
            None => {
                missing = true;
                continue;
            }
        };
        let line = h.max(0.5);
        if beta > line + 1e-9 {
            above.push(acc);
        } else if beta < line - 1e-9 {
            below.push(acc);
        }
    }
    let (ma, sa) = mean_se(&above);
    let (mb, sb) = mean_se(&below);
    let gate = |x: f64| {
        if missing {
            Measured::Missing
        } else {
            Measured::of(x)
        }
    };
    b.push(
        format!(
            "mean best accuracy above the line ({} cells) minus below it ({} cells), minus {K_SE} se",
            above.len(),
            below.len()
        ),
        gate(ma - mb - K_SE * sa.hypot(sb)),
        Expected::Above(0.0),
        format!("{K_SE} se over cells, se = {}", num(sa.hypot(sb))),
        &[BETA_IGNORED, NO_UPDATE],
    );
    b.push(
        format!(
            "mean best accuracy above the line ({} cells) minus {K_SE} se",
            above.len()
        ),
        gate(ma - K_SE * sa),
        Expected::Above(FIG9_ABOVE_FLOOR),
        format!(
            "floor for this budget (see the claims' source); se = {} over cells",
            num(sa)
        ),
        &[SCALE, NO_UPDATE],
    );
}

/// The depth coord check: the worst max/min ratio over depth of each parameterization's curves
/// against the bound between the regimes, with [`K_SE`] standard errors of its logarithm over
/// the measured images on the far side of the bound (`ratio x exp(K se)` below it,
/// `ratio / exp(K se)` above it). Flat (depth-mup, complete-p) is a ratio of 1 and sqrt-depth
/// grows like `sqrt(L)`, a ratio of `sqrt(L_max / L_min)`: the bound between them is their
/// geometric midpoint `(L_max / L_min)^(1/4)` (4.76 over the reproduction's L = 8 to 4096;
/// measured at `--quick`, seeds 0..4, with the se: complete-p 1.12 to 1.21, depth-mup 1.53 to
/// 2.30, sqrt-depth 7.1 to 42). Standard explodes (an overflow, or above `1e3`).
fn coord_check(b: &mut Builder, r: &CoordCheckSummary) {
    let span = match (r.depths.first(), r.depths.last()) {
        (Some(&lo), Some(&hi)) if lo > 0 => hi as f64 / lo as f64,
        _ => f64::NAN,
    };
    let midpoint = span.powf(0.25);
    for fl in &r.flatness {
        let name = fl.parameterization.as_str();
        let (expected, mutants): (Expected, &[&'static str]) = match name {
            "complete-p" => (Expected::Below(midpoint), &[SCALE]),
            "depth-mup" => (Expected::Below(midpoint), &[SCALE]),
            "sqrt-depth" => (Expected::Above(midpoint), &[FROZEN_V, BETA_IGNORED]),
            "standard" => (Expected::Above(1e3), &[BETA_IGNORED]),
            _ => continue,
        };
        let below = matches!(expected, Expected::Below(_));
        let (measured, se_text) = match (
            Measured::from(&fl.worst_max_min_ratio),
            fl.worst_log_ratio_se,
        ) {
            // a diverged parameterization's overflow carries its evidence (the first
            // non-finite measurement)
            (Measured::Overflow, _) => (Measured::Overflow, "an overflow: no se".to_string()),
            (Measured::Value(x), Some(se)) => {
                let k = (K_SE * se).exp();
                (
                    Measured::of(if below { x * k } else { x / k }),
                    format!("se of ln ratio = {} over {} images", num(se), fl.images),
                )
            }
            (other, _) => (
                if matches!(other, Measured::Value(_)) {
                    Measured::Missing
                } else {
                    other
                },
                "no se".to_string(),
            ),
        };
        b.push(
            format!(
                "{name}: worst max/min ratio over L of l1(h_L) and l1(logits), t <= {}, {} {K_SE} se",
                r.steps,
                if below { "plus" } else { "minus" }
            ),
            measured,
            expected,
            format!(
                "{K_SE} se of its log on the far side of the bound; the bound between flat (1) and sqrt-depth (sqrt(L_max/L_min) = {}) is their geometric midpoint, standard explodes; {se_text} (paired across depths, delta method)",
                num(span.sqrt())
            ),
            mutants,
        );
    }
}

/// A quarter octave, the transfer lr grid's half step, added to complete-p's drift tolerance.
const TRANSFER_GRID_ALLOWANCE: f64 = 0.25;

/// Learning-rate transfer: the drift of log2 lr* across depth, in octaves (sqrt-depth drifts
/// down by more than half an octave, complete-p stays, depth-mup drifts far less than
/// sqrt-depth; depth-mup's own drift depends on the budget: -0.07 at the full size, -0.36 at
/// the reproduction's, so it is only compared). Each drift's standard error is the summary's
/// bootstrap 95% interval over seeds read as a normal one: `se = (hi - lo) / (2 x 1.96)`.
fn transfer(b: &mut Builder, r: &TransferSummary) {
    // (drift, se) of a parameterization; NaN where the summary has no number
    let drift = |name: &str| {
        r.results
            .iter()
            .find(|p| p.parameterization.name == name)
            .map_or((f64::NAN, f64::NAN), |p| {
                let [lo, hi] = p.drift_octaves_ci95.map(|x| x.unwrap_or(f64::NAN));
                (
                    p.drift_octaves.unwrap_or(f64::NAN),
                    (hi - lo) / (2.0 * 1.96),
                )
            })
    };
    let span = match (r.depths.first(), r.depths.last()) {
        (Some(a), Some(z)) => format!("L = {a} to {z}"),
        _ => "no depths".into(),
    };
    let se_text = |se: f64| {
        format!(
            "se = {} (bootstrap 95% interval over seeds / 3.92)",
            num(se)
        )
    };
    let (sd, sd_se) = drift("sqrt-depth");
    b.push(
        format!(
            "sqrt-depth: drift of log2 lr* from {span} plus {K_SE} se (octaves; it drifts down)"
        ),
        if sd_se.is_nan() {
            Measured::Missing
        } else {
            Measured::of(sd + K_SE * sd_se)
        },
        Expected::Below(-0.5),
        format!(
            "{K_SE} se above the drift, below half an octave down; {}",
            se_text(sd_se)
        ),
        &[SCALE],
    );
    // two seeds' bootstrap interval understates the spread over seeds (quick, seeds 0..4: se
    // 0.0016 to 0.039 while the drift ranged -0.08 to 0.14): the lr grid's half step is added
    let (cp, cp_se) = drift("complete-p");
    b.push(
        format!("complete-p: drift of log2 lr* from {span} (octaves)"),
        if cp_se.is_nan() { Measured::Missing } else { Measured::of(cp) },
        Expected::Near(0.0, K_SE * cp_se + TRANSFER_GRID_ALLOWANCE),
        format!(
            "{K_SE} se + {TRANSFER_GRID_ALLOWANCE} octave (the lr grid's half step: two seeds' interval understates their spread); {}",
            se_text(cp_se)
        ),
        &[SCALE],
    );
    let (m, m_se) = drift("depth-mup");
    let gap_se = sd_se.hypot(m_se);
    b.push(
        format!("|drift| of sqrt-depth minus |drift| of depth-mup minus {K_SE} se, {span} (octaves)"),
        if gap_se.is_nan() {
            Measured::Missing
        } else {
            Measured::of(sd.abs() - m.abs() - K_SE * gap_se)
        },
        Expected::Above(0.5),
        format!(
            "{K_SE} se below the difference, above half an octave; se = {} (both bootstrap intervals, unpaired)",
            num(gap_se)
        ),
        &[SCALE],
    );
}

/// The adjoint method: gap and reconstruction slopes, memory slopes, the i.i.d. reconstruction
/// error (the experiment's own claims, read back with their expected values).
fn adjoint(b: &mut Builder, r: &AdjointSummary) {
    let c = &r.claims;
    let se = |claim: &AdjointClaim| claim.se.map_or("missing".into(), num);
    let order = |claim: &AdjointClaim| {
        format!(
            "the scheme's order (Euler 1, RK4 4), a fixed bound; se of the draws' slopes = {}",
            se(claim)
        )
    };
    let near = |claim: &AdjointClaim| Expected::Near(claim.expected, claim.tolerance);
    let counted = || "states held are counted, not timed: O(L), O(sqrt L), O(1) exactly".into();
    let iid = &c.iid_reconstruction_slope;
    // back-propagation's O(L) states are the baseline the other two are compared with, not a
    // claim a wrong implementation of them could fail: its memory slope is left out
    for (claim, what, expected, basis, mutants) in [
        (
            &c.euler_gap_slope,
            "slope of |adjoint - exact gradient| against steps, Euler",
            near(&c.euler_gap_slope),
            order(&c.euler_gap_slope),
            &[ADJOINT_SIGN][..],
        ),
        (
            &c.rk4_gap_slope,
            "slope of |adjoint - exact gradient| against steps, RK4",
            near(&c.rk4_gap_slope),
            order(&c.rk4_gap_slope),
            &[ADJOINT_SIGN, ADJOINT_EULER][..],
        ),
        (
            &c.smooth_reconstruction_slope,
            "slope of the h(0) reconstruction error against L, smooth weights",
            near(&c.smooth_reconstruction_slope),
            order(&c.smooth_reconstruction_slope),
            &[ADJOINT_STORED][..],
        ),
        (
            iid,
            "slope of the h(0) reconstruction error against L, i.i.d. weights at beta = 1/2",
            Expected::Above(-0.5),
            format!(
                "one-sided: the error of a Brownian path run backwards does not vanish with L \
                 (slope 0 in the limit; -0.12 to -0.26 over seeds 0..4 at quick size, a \
                 finite-depth offset), far above the smooth weights' first-order -1; se of the \
                 draws' slopes = {}",
                se(iid)
            ),
            &[ADJOINT_STORED][..],
        ),
        (
            &c.checkpoint_memory_slope,
            "slope of the states held against L, checkpointing",
            near(&c.checkpoint_memory_slope),
            counted(),
            &[CHECKPOINT_FIXED][..],
        ),
        (
            &c.adjoint_memory_slope,
            "slope of the states held against L, adjoint",
            near(&c.adjoint_memory_slope),
            counted(),
            &[ADJOINT_STORED][..],
        ),
    ] {
        let measured = if claim.tolerance.is_nan() {
            Measured::Missing
        } else {
            val(claim.measured)
        };
        b.push(what.into(), measured, expected, basis, mutants);
    }
    let bound = &c.iid_reconstruction_error_at_largest_depth;
    b.push(
        format!("h(0) reconstruction error at the largest L, i.i.d. weights at beta = 1/2 (geometric mean over draws), divided by e^({K_SE} se)"),
        match bound.log_se {
            Some(se) => val(bound.measured).and_then(|e| e * (-K_SE * se).exp()),
            None => Measured::Missing,
        },
        Expected::Above(0.01),
        format!(
            "{K_SE} se of its log below the geometric mean, above 0.01: a Brownian path cannot be run backwards, the error does not vanish with L; se = {} over the draws",
            bound.log_se.map_or("none".into(), num)
        ),
        &[ADJOINT_STORED],
    );
}

/// The limits: fitted slopes against the summary's expected slope, z-tests with the slope's
/// standard error over the paths (the summary's `*_slope_se`: the delta method over paired
/// paths, [`crate::stats::paired_loglog_slope_se`]); mismatched scalings explode (below the
/// natural beta: the displacement's slope clearly above 0) or collapse to the identity at rate
/// `L^(natural - beta)` (exact to first order: no allowance).
fn limit(b: &mut Builder, r: &LimitSummary) {
    let allowance = r.finite_depth_allowance;
    let paths = "delta method over the paths, paired across depths";
    let basis = |se: f64, allowance: f64| {
        if allowance > 0.0 {
            format!(
                "{K_SE} se + finite-depth allowance {} (the Euler scheme's lower-order terms at these depths; see Driver::euler_slope_allowance); se = {} ({paths})",
                num(allowance),
                num(se)
            )
        } else {
            format!("{K_SE} se, se = {} ({paths})", num(se))
        }
    };
    let gate = |m: Measured, se: Option<f64>| if se.is_some() { m } else { Measured::Missing };
    let expected = r.expected_slope;
    // the fBm limit's Euler rate depends on H: an fGn of index H/2 moves it; a beta left at 1
    // is no longer the natural scaling of the SDE and fBm limits
    let rate_mutants: &[&'static str] = match b.experiment {
        "fbm-limit" => &[SCALE, FGN_EXPONENT, BETA_IGNORED],
        "sde" => &[SCALE, BETA_IGNORED],
        _ => &[SCALE],
    };
    for (key, slope, se) in [
        (
            "strong error slope",
            r.strong_error_slope,
            r.strong_error_slope_se,
        ),
        (
            "terminal error slope",
            r.terminal_error_slope,
            r.terminal_error_slope_se,
        ),
    ] {
        let s = se.unwrap_or(f64::NAN);
        b.push(
            format!("{key} vs -(declared Euler rate)"),
            gate(val(slope), se),
            Expected::Near(expected, K_SE * s + allowance),
            basis(s, allowance),
            rate_mutants,
        );
    }
    let natural = r.natural_beta;
    for m in &r.mismatched {
        let beta = m.beta;
        let slope = m
            .displacement_slope
            .as_ref()
            .map_or(Measured::Missing, Measured::from);
        let se = m.displacement_slope_se;
        let s = se.unwrap_or(f64::NAN);
        if beta < natural {
            // an overflow (non-finite paths) is an explosion; a slope must clear 0 by K_SE
            // standard errors: a network that never sees the mismatched beta converges (slope
            // about 0) or collapses (negative)
            b.push(
                format!(
                    "beta = {} explodes: slope of ||h_L - h_0|| in L minus {K_SE} se (clearly above 0)",
                    num(beta)
                ),
                match slope {
                    Measured::Value(x) => gate(Measured::of(x - K_SE * s), se),
                    other => other,
                },
                Expected::Above(0.0),
                format!("{K_SE} se below the slope; se = {} ({paths})", num(s)),
                &[BETA_IGNORED],
            );
        } else {
            b.push(
                format!("beta = {} collapses to the identity: slope of ||h_L - h_0|| vs natural beta - beta", num(beta)),
                gate(slope, se),
                Expected::Near(natural - beta, K_SE * s),
                basis(s, 0.0),
                &[SCALE],
            );
        }
    }
}

/// The basis of a claim on a depth-corrected slope (its tolerance
/// [`DepthCorrectedSlope::tolerance`]).
fn corrected_basis(f: &DepthCorrectedSlope) -> String {
    format!(
        "{K_SE} se + |correction|: se = {} (the larger of the plain and corrected fits' residual errors over the depths), correction = {} (a 1/L term fitted: plain slope {})",
        num(f.plain_se.max(f.se.unwrap_or(0.0))),
        num(f.slope - f.plain_slope),
        num(f.plain_slope)
    )
}

/// Largest spread (max - min over activations) of the smooth beta = 1 slopes of the max gap:
/// measured at most 0.012 at `--quick` over seeds 0..4 for rbf(0.1), while i.i.d. Gaussian
/// weights at beta = 1 give 0.08 (their slopes -0.94 to -1.02).
const ODE_SPREAD: f64 = 0.04;

/// The revision's "ODE after training": for smooth (`rbf`) weights at beta = 1, the fitted
/// log-log slope of the max gap against L, per activation near -1, and what separates a
/// neural ODE from i.i.d. weights that happen to give a similar mean slope: the slopes agree
/// across activations (the gap is the discretization error of one ODE whatever the
/// activation), and i.i.d. weights at beta = 1/2 decay clearly slower than 1/L.
fn ode_after_training(b: &mut Builder, r: &OdeAfterTrainingSummary) {
    let is = |v_beta: f64, init: &str, beta: f64, smooth: bool| {
        v_beta == beta && init.starts_with("rbf") == smooth
    };
    for s in r.slopes.iter().filter(|v| is(v.beta, &v.init, 1.0, true)) {
        let fit = s.max_gap_v_fit;
        let tolerance = fit.map_or(f64::NAN, |f| f.tolerance(K_SE));
        b.push(
            format!(
                "smooth {} weights, beta = 1, {}: depth-corrected slope of the max gap in L",
                s.init, s.activation
            ),
            fit.map_or(Measured::Missing, |f| Measured::of(f.slope)),
            Expected::Near(-1.0, tolerance),
            fit.map_or_else(|| "no fit".into(), |f| corrected_basis(&f)),
            &[SCALE, FROZEN_V],
        );
    }
    for g in &r.mean_slopes {
        if is(g.beta, &g.init, 1.0, true) {
            // the standard error of the spread: both extreme slopes' plain-fit errors
            let plain = |x: Option<f64>| {
                r.slopes
                    .iter()
                    .filter(|v| is(v.beta, &v.init, 1.0, true) && v.init == g.init)
                    .find(|v| x.is_some() && v.slope_max_gap_v == x)
                    .and_then(|v| v.max_gap_v_fit)
                    .map(|f| f.plain_se)
            };
            let se = match (plain(g.max_slope), plain(g.min_slope)) {
                (Some(a), Some(b)) => Some(a.hypot(b)),
                _ => None,
            };
            b.push(
                format!(
                    "smooth {} weights, beta = 1: spread (max - min) of the slopes over activations plus {K_SE} se",
                    g.init
                ),
                match se {
                    Some(se) => {
                        Measured::both(val(g.max_slope), val(g.min_slope), |hi, lo| {
                            hi - lo + K_SE * se
                        })
                    }
                    None => Measured::Missing,
                },
                Expected::Below(ODE_SPREAD),
                format!(
                    "{K_SE} se above the spread, below the bound between smooth (<= 0.012) and i.i.d. gaussian (0.08) weights; se = {} (both extremes' residual errors)",
                    se.map_or("none".into(), num)
                ),
                &[SCALE, FROZEN_V, RBF_GRID],
            );
        } else if is(g.beta, &g.init, 0.5, false) {
            let se = g.se_slope_max_gap_v.unwrap_or(f64::NAN);
            b.push(
                format!(
                    "i.i.d. {} weights, beta = 1/2: mean slope over activations minus {K_SE} se (clearly above the ODE's -1)",
                    g.init
                ),
                if g.se_slope_max_gap_v.is_some() {
                    val(g.mean_slope_max_gap_v).and_then(|m| m - K_SE * se)
                } else {
                    Measured::Missing
                },
                Expected::Above(-1.0),
                format!(
                    "{K_SE} se below the mean, above 1/L's -1; se = {} over the activations",
                    num(se)
                ),
                &[FROZEN_V],
            );
        }
    }
}

/// The revision's correlation block: correlated against uncorrelated means at the largest
/// depth, a z-test of the difference with the standard errors of both cells (each correlated
/// draw is its uncorrelated counterpart's entries mixed, but only the cells' means and
/// intervals are recorded, so the difference's error is taken as unpaired: conservative).
fn correlation(b: &mut Builder, r: &ProbeSummary) {
    let Some(rows) = &r.correlation else {
        b.push(
            "correlated against uncorrelated weights (summary.json has no correlation)".into(),
            Measured::Missing,
            Expected::Near(0.0, 0.0),
            "the preset compares with uncorrelated weights".into(),
            &[CORR_UNSCALED],
        );
        return;
    };
    for c in rows {
        let beta = num(c.beta);
        for (metric, x) in [("h_diff", &c.h_diff), ("g_diff", &c.g_diff)] {
            let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
            let se = |v: Option<f64>| nan(v) / 1.96;
            let (cm, um) = (nan(x.correlated_mean), nan(x.uncorrelated_mean));
            // heavy-tailed explosions are compared on their relative difference
            let scale = um.abs().max(1e-300);
            b.z(
                format!(
                    "mean {metric} at L = {}, beta = {beta}: (correlated - uncorrelated) / uncorrelated",
                    c.depth
                ),
                (
                    (cm - um) / scale,
                    se(x.correlated_ci95).hypot(se(x.uncorrelated_ci95)) / scale,
                ),
                0.0,
                "unpaired, from both cells' 95% intervals",
                &[CORR_UNSCALED],
            );
        }
    }
}

/// The follow-up's Figure 1: the largest increment between consecutive trained layers decays
/// like `1/L` (Lipschitz weights), so does the distance to the reference network, and training
/// moved the loss (the depth-`L` network trains at `lr L`).
fn implicit_regularization(b: &mut Builder, r: &ImplicitRegSummary) {
    for (what, fit, mutants) in [
        (
            "max over k and steps of ||Z_(k+1) - Z_k||_F against L",
            r.max_increment_fit,
            &[GD_LR, SCALE][..],
        ),
        (
            "the distance to the reference network of depth N (t = k/L) against the effective depth L N/(N - L) (the two sit O(1/L) and O(1/N) from the limit on the same side)",
            r.distance_effective_fit,
            &[SCALE][..],
        ),
    ] {
        b.push(
            format!("depth-corrected slope of {what}"),
            fit.map_or(Measured::Missing, |f| Measured::of(f.slope)),
            Expected::Near(-1.0, fit.map_or(f64::NAN, |f| f.tolerance(K_SE))),
            fit.map_or_else(|| "no fit".into(), |f| corrected_basis(&f)),
            mutants,
        );
    }
    let last = r
        .final_loss
        .last()
        .copied()
        .flatten()
        .map_or(Measured::Missing, Measured::of);
    b.push(
        "final loss / initial loss at the largest depth (training at lr L moved it)".into(),
        Measured::both(last, Measured::of(r.initial_loss), |l, i| l / i),
        Expected::Below(IMPLICIT_LOSS_RATIO),
        "bound; no sampling error enters (full-batch gradient descent on a fixed problem is deterministic): 0.95 sits between the measured 0.875 and the 0.99 of lr without its L factor".into(),
        &[GD_LR, SCALE],
    );
}

/// Largest final / initial loss of the deepest network: measured 0.875 at `--quick`.
const IMPLICIT_LOSS_RATIO: f64 = 0.95;

impl Measured {
    /// `g` applied to the value; an overflow or a missing value stays what it is.
    fn and_then(self, g: impl FnOnce(f64) -> f64) -> Measured {
        match self {
            Measured::Value(x) => Measured::of(g(x)),
            other => other,
        }
    }

    /// `g` of two values: missing if either is, else an overflow if either is.
    fn both(a: Measured, b: Measured, g: impl FnOnce(f64, f64) -> f64) -> Measured {
        match (a, b) {
            (Measured::Value(x), Measured::Value(y)) => Measured::of(g(x, y)),
            (Measured::Missing, _) | (_, Measured::Missing) => Measured::Missing,
            _ => Measured::Overflow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(measured: Measured, expected: Expected) -> Claim {
        Claim {
            experiment: "x".into(),
            name: "y".into(),
            measured,
            expected,
            basis: String::new(),
            mutants: Vec::new(),
            reduced: false,
        }
    }

    #[test]
    fn verdicts_follow_the_tolerances() {
        use Measured::*;
        assert!(claim(Value(1.05), Expected::Relative(1.0, 0.1)).agrees());
        assert!(!claim(Value(1.15), Expected::Relative(1.0, 0.1)).agrees());
        assert!(claim(Overflow, Expected::Above(10.0)).agrees());
        assert!(!claim(Overflow, Expected::Below(10.0)).agrees());
        assert!(!claim(Value(f64::NAN), Expected::Near(0.0, 1.0)).agrees());
        assert!(claim(Value(-0.45), Expected::Near(-0.5, 0.1)).agrees());
        assert!(!claim(Value(0.05), Expected::Between(0.05, 10.0)).agrees());
        assert_eq!(
            claim(Overflow, Expected::Above(1.0)).json()["measured"],
            "overflow"
        );
    }

    /// The claims of `preset` on the summary results `r` (no tables).
    fn run_claims(preset: &str, r: &Value) -> Vec<Claim> {
        let mut b = Builder::new(preset, true);
        claims_of(&mut b, preset, Path::new("/nonexistent"), r).unwrap();
        b.out
    }

    /// Issue 26, part 1: a missing, null or NaN number never agrees, not even with an
    /// `Above` claim, and is reported as "missing".
    #[test]
    fn a_missing_null_or_nan_value_never_agrees() {
        assert_eq!(val(None), Measured::Missing);
        assert_eq!(Measured::of(f64::NAN), Measured::Missing);
        assert_eq!(val(Some(2.0)), Measured::Value(2.0));
        for e in [
            Expected::Above(-1e300),
            Expected::Below(1e300),
            Expected::Near(0.0, 1e300),
            Expected::Between(-1e300, 1e300),
        ] {
            let c = claim(Measured::Missing, e);
            assert!(!c.agrees(), "{e:?}");
            assert_eq!(c.verdict(), "missing");
            assert_eq!(c.measured_text(), "missing");
            assert_eq!(c.json()["measured"], "missing");
        }
        // a NaN written by an experiment becomes null in its summary.json: read back, its
        // claims fail as missing
        let written =
            crate::experiment::summary::to_json(&crate::experiment::summary::FbmPathsSummary {
                increments: vec![crate::experiment::summary::FgnIncrements {
                    hurst: 0.7,
                    paths: 100,
                    lag1_autocorrelation: f64::NAN,
                    lag1_autocorrelation_se: 0.01,
                    lag1_autocorrelation_theory: 0.32,
                    scaled_variance: 1.0,
                    scaled_variance_se: 0.01,
                }],
            });
        assert!(written["increments"][0]["lag1_autocorrelation"].is_null());
        let out = run_claims("fig6", &written);
        assert!(out.iter().all(|c| c.verdict() == "missing"), "{out:?}");
    }

    /// Issue 21: the coord check's bound is the geometric midpoint of flat (1) and sqrt-depth
    /// (`sqrt(4096 / 8)`), 4.76, and the ratio must clear it by 4 se of its log.
    #[test]
    fn coord_check_claims_clear_the_regime_midpoint_by_four_se() {
        let run = |name: &str, ratio: f64, se: f64| {
            let out = run_claims(
                "coord-check",
                &json!({"steps": 5, "depths": [8, 4096], "flatness": [
                    {"parameterization": name, "worst_max_min_ratio": ratio, "flat": false,
                     "worst_log_ratio_se": se, "images": 64}]}),
            );
            assert_eq!(out.len(), 1);
            out[0].agrees()
        };
        // depth-mup 2.3 x e^(4 x 0.024) = 2.53 < 4.76
        assert!(run("depth-mup", 2.3, 0.024));
        // 4.5 is below the midpoint, but not by 4 se of 0.05
        assert!(!run("complete-p", 4.5, 0.05));
        // sqrt-depth 12 / e^0.16 = 10.2 > 4.76; 5 / e^0.4 = 3.35 is not
        assert!(run("sqrt-depth", 12.0, 0.04));
        assert!(!run("sqrt-depth", 5.0, 0.1));
        // no se: missing
        let out = run_claims(
            "coord-check",
            &json!({"steps": 5, "depths": [8, 4096], "flatness": [
                {"parameterization": "depth-mup", "worst_max_min_ratio": 1.1, "flat": true,
                 "worst_log_ratio_se": null, "images": 64}]}),
        );
        assert_eq!(out[0].verdict(), "missing");
    }

    /// Issue 26, part 1: a renamed or missing summary key makes the claims fail as "missing",
    /// never agree (before the typed summaries, a renamed coord-check key made both of its
    /// "above" claims agree).
    #[test]
    fn a_renamed_or_missing_summary_key_fails_its_claims() {
        let good = json!({"steps": 5, "depths": [8, 4096], "flatness": [
            {"parameterization": "standard", "worst_max_min_ratio": {"overflow": "l1 = inf at L = 64"},
             "flat": false, "worst_log_ratio_se": null, "images": 64},
            {"parameterization": "sqrt-depth", "worst_max_min_ratio": 9.0, "flat": false,
             "worst_log_ratio_se": 0.04, "images": 64},
        ]});
        let out = run_claims("coord-check", &good);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(Claim::agrees), "{out:?}");
        assert_eq!(out[0].measured, Measured::Overflow);
        for bad in [
            json!({"steps": 5, "flatness": [
                {"parameterization": "standard", "worst_ratio_renamed": 1e9, "flat": false}]}),
            json!({"steps": 5, "flatness": [
                {"parameterization": "sqrt-depth", "worst_max_min_ratio": null, "flat": false}]}),
            json!({"steps": 5, "flatness_renamed": []}),
        ] {
            let out = run_claims("coord-check", &bad);
            assert!(!out.is_empty());
            assert!(out.iter().all(|c| c.verdict() == "missing"), "{out:?}");
        }
        // every kind: an empty summary fails to deserialize, and its claims say so
        for preset in [
            "fig1",
            "fig2",
            "fig6",
            "fig8",
            "fig9",
            "ode",
            "ode-after-training",
            "implicit-regularization",
            "coord-check",
            "transfer",
            "adjoint",
        ] {
            let out = run_claims(preset, &json!({}));
            assert_eq!(out.len(), 1, "{preset}");
            assert_eq!(out[0].verdict(), "missing", "{preset}");
            assert!(
                out[0].name.contains("missing field"),
                "{preset}: {}",
                out[0].name
            );
        }
        // a missing accuracy fails fig9 instead of counting as 0
        let r = json!({"best_over_lr": [
            {"hurst": 0.1, "beta": 0.9, "best_lr": 0.1, "test_accuracy": 0.9, "cells_done": 1},
            {"hurst": 0.1, "beta": 0.8, "best_lr": 0.1, "test_accuracy": 0.9, "cells_done": 1},
            {"hurst": 0.1, "beta": 0.1, "best_lr": null, "test_accuracy": null, "cells_done": 0},
            {"hurst": 0.1, "beta": 0.2, "best_lr": 0.1, "test_accuracy": 0.1, "cells_done": 1},
            {"hurst": 0.1, "beta": 0.3, "best_lr": 0.1, "test_accuracy": 0.1, "cells_done": 1},
        ]});
        let out = run_claims("fig9", &r);
        assert!(out.iter().all(|c| c.verdict() == "missing"), "{out:?}");
    }

    #[test]
    fn implicit_regularization_claims_read_both_slopes_and_the_loss() {
        // the increment's corrected slope -1.001 is within 4 x 0.003 + 0.019 of -1; the
        // distance's straight -0.7 is not
        let r = json!({"max_increment_slope": -1.02, "distance_slope": -0.7,
            "max_increment_fit": {"slope": -1.001, "se": 0.003, "plain_slope": -1.02, "plain_se": 0.002},
            "distance_effective_fit": {"slope": -0.7, "se": 0.001, "plain_slope": -0.7, "plain_se": 0.001},
            "initial_loss": 2.0, "final_loss": [1.7, 1.99]});
        let out = run_claims("implicit-regularization", &r);
        assert_eq!(out.len(), 3);
        assert!(out[0].agrees(), "{:?}", out[0]);
        assert!(!out[1].agrees(), "a slope of -0.7 is not -1");
        assert!(!out[2].agrees(), "a loss that did not move");
        // no fit (fewer than three depths): missing, not agreeing
        let r = json!({"max_increment_slope": -1.0, "distance_slope": -1.0,
            "initial_loss": 2.0, "final_loss": [1.0]});
        let out = run_claims("implicit-regularization", &r);
        assert!(!out[0].agrees() && !out[1].agrees());
    }

    /// Issue 21: the limits' slopes are z-tests with the slope's standard error over paths,
    /// and an explosion must clear 0 by 4 se: a network that ignores the mismatched beta (the
    /// beta-ignored mutant: it converges, slope about 0) fails.
    #[test]
    fn limit_claims_use_the_slopes_standard_errors() {
        let summary = |slope: f64, disp_slope: Value, disp_se: Value| {
            json!({
                "strong_error_slope": slope, "terminal_error_slope": slope,
                "strong_error_slope_se": 0.01, "terminal_error_slope_se": 0.01,
                "expected_slope": -1.0, "natural_beta": 1.0, "finite_depth_allowance": 0.01,
                "mismatched": [{"beta": 0.5, "displacement_slope": disp_slope,
                    "displacement_slope_se": disp_se}],
            })
        };
        let good = run_claims("ode", &summary(-1.03, json!(3.3), json!(0.2)));
        assert_eq!(good.len(), 3);
        assert!(good.iter().all(Claim::agrees), "{good:?}");
        assert!(good[0].tolerance_text().contains("4 se"));
        // a slope 7 se off (beyond 4 se and the 0.01 allowance) fails
        let off = run_claims("ode", &summary(-1.07, json!(3.3), json!(0.2)));
        assert!(!off[0].agrees());
        // the beta-ignored mutant: the displacement converges, slope about 0
        let flat = run_claims("ode", &summary(-1.0, json!(0.01), json!(0.02)));
        assert!(!flat[2].agrees(), "{:?}", flat[2]);
        // an overflow (no slope to fit, non-finite paths): an explosion
        let boom = run_claims(
            "ode",
            &summary(
                -1.0,
                json!({"overflow": "3 non-finite paths at L = 256"}),
                Value::Null,
            ),
        );
        assert!(boom[2].agrees(), "{:?}", boom[2]);
        // no standard error: missing
        let none = run_claims("ode", &summary(-1.0, json!(3.3), Value::Null));
        assert_eq!(none[2].verdict(), "missing");
    }

    /// Issue 21: transfer's drifts are tested with the standard error of the summary's
    /// bootstrap interval (the quick run's numbers, seed 0), and fail when they move.
    #[test]
    fn transfer_claims_use_the_bootstrap_interval() {
        let result = |name: &str, drift: f64, lo: f64, hi: f64| {
            let p = crate::experiment::parameterization::Parameterization::named(name).unwrap();
            json!({"parameterization": p, "drift_octaves": drift,
                   "drift_octaves_ci95": [lo, hi]})
        };
        let run = |sd: f64, cp: f64| {
            run_claims(
                "transfer",
                &json!({"depths": [8, 512], "results": [
                    result("sqrt-depth", sd, sd - 0.07, sd + 0.05),
                    result("depth-mup", -0.364, -0.382, -0.321),
                    result("complete-p", cp, cp - 0.09, cp + 0.06),
                ]}),
            )
        };
        let good = run(-1.393, 0.021);
        assert_eq!(good.len(), 3);
        assert!(good.iter().all(Claim::agrees), "{good:?}");
        assert!(good[1].tolerance_text().contains("bootstrap"));
        // complete-p drifting by 0.45 octave: beyond 4 se (0.039) and the quarter octave
        assert!(!run(-1.393, 0.45)[1].agrees());
        // sqrt-depth drifting less than half an octave (after 4 se): no longer clearly down
        let flat = run(-0.6, 0.021);
        assert!(!flat[0].agrees() && !flat[2].agrees(), "{flat:?}");
    }

    #[test]
    fn numbers_print_with_four_digits() {
        assert_eq!(num(0.80530445), "0.8053");
        assert_eq!(num(2549.99), "2550");
        assert_eq!(num(2.0e8), "2.000e8");
        assert_eq!(num(-0.5), "-0.5");
    }

    /// The i.i.d. Gaussian weights at beta = 1 of the quick run (seed 0: slopes -0.941 to
    /// -1.021, mean -0.989) fail the spread claim that the smooth weights pass.
    #[test]
    fn iid_weights_at_beta_one_fail_the_ode_after_training_claim() {
        // the extremes' slopes with their plain fits' residual errors (measured at --quick,
        // seed 0: smooth 0.0001 to 0.0026, i.i.d. gaussian at beta = 1 0.011 to 0.047)
        let run = |init: &str, (lo, lo_se): (f64, f64), (hi, hi_se): (f64, f64), mean: f64| {
            let slope = |a: &str, x: f64, se: f64| {
                json!({"beta": 1.0, "init": init, "activation": a, "slope_max_gap_v": x,
                       "max_gap_v_fit": {"slope": x, "se": se, "plain_slope": x, "plain_se": se}})
            };
            run_claims(
                "ode-after-training",
                &json!({"slopes": [slope("relu", lo, lo_se), slope("tanh", hi, hi_se)],
                        "mean_slopes": [{"beta": 1.0, "init": init, "min_slope": lo,
                            "max_slope": hi, "mean_slope_max_gap_v": mean}]}),
            )
            .into_iter()
            .filter(|c| c.name.contains("spread"))
            .collect::<Vec<_>>()
        };
        let smooth = run("rbf(0.1)", (-0.9992, 0.0001), (-0.9869, 0.0026), -0.9946);
        assert_eq!(smooth.len(), 1);
        assert!(smooth[0].agrees(), "{smooth:?}");
        // the i.i.d. numbers, relabelled as if they were smooth: the claim rejects them
        let iid = run("rbf(0.1)", (-1.0212, 0.0142), (-0.9415, 0.0468), -0.9886);
        assert!(!iid[0].agrees(), "{iid:?}");
    }

    #[test]
    fn closed_form_claims_test_the_rms_against_the_closed_form() {
        let tmp = tempfile::tempdir().unwrap();
        let mut csv = String::from(
            "depth,width,beta,hurst,draw,sample,init_v,init_w,h_ratio,h_diff,g_ratio,g_diff\n",
        );
        // 40 draws of h_diff with rms 0.805 (the closed form at beta = 1/2, L = 1000)
        for d in 0..40 {
            let x = 0.805 * (1.0 + if d % 2 == 0 { 0.1 } else { -0.1 });
            csv.push_str(&format!("1000,40,0.5,,{d},0,u,u,1,{x},1,{x}\n"));
        }
        std::fs::write(tmp.path().join("results.csv"), csv).unwrap();
        let cf = 0.805_f64.hypot(0.0);
        let summary = |cf: f64| {
            vec![CurvePointSummary {
                depth: 1000,
                beta: 0.5,
                hurst: None,
                h_diff_mean: None,
                h_diff_ci95: None,
                h_diff_closed_form_rms: Some(cf),
                g_diff_mean: None,
                g_diff_ci95: None,
            }]
        };
        let mut b = Builder::new("fig1", true);
        closed_form_claims(&mut b, tmp.path(), &summary(cf), &["h_diff"], None).unwrap();
        assert!(b.out[0].agrees(), "{:?}", b.out);
        // m2 20% too high moves the closed form to 0.907: 4 standard errors are far less
        b.out.clear();
        let m2_mutant = (0.6f64.exp() - 1.0).sqrt();
        closed_form_claims(&mut b, tmp.path(), &summary(m2_mutant), &["h_diff"], None).unwrap();
        assert!(!b.out[0].agrees(), "{:?}", b.out);
        assert!(b.out[0].tolerance_text().contains("4 relative se"));
    }
}
