//! The `adjoint` experiment (issue 23): what training through the ODE's adjoint costs and
//! gains, measured on the continuous-depth model of [`crate::adjoint`] (`f64`, Gaussian
//! inputs and random labels from the seed, so no dataset is read).
//!
//! Three measurements, each a claim of the summary:
//! - the gap between the adjoint gradient and the exact gradient of the discretized network
//!   against the number of steps `n`, for Euler and RK4 on smooth (RBF) weights: it shrinks at
//!   the scheme's order (log-log slope `-1`, `-4`);
//! - the error of the backward reconstruction of `h(0)` (Euler, `n = L`) against depth: of
//!   order `1/L` for smooth weights at `beta = 1`, not vanishing for i.i.d. weights at
//!   `beta = 1/2` (slope `0`);
//! - memory against depth for the three gradient methods: the most states held at once
//!   (slopes `1`, `1/2`, `0` for back-propagation, checkpointing and the adjoint method) and
//!   the seconds of one gradient.
//!
//! Files: `gaps.csv`, `reconstruction.csv`, `memory.csv`, `adjoint.png/svg`, the summary.

use super::presets::preset_toml;
use super::reproduce::claims::K_SE;
use super::reproduce::{Claim, claims};
use super::store::{self, Record, float};
use super::{Experiment, RunContext};
use super::{Preset, Reproduce};
use crate::Error;
use crate::Result;
use crate::accept;
use crate::adjoint::{
    GradientMethod, OdeDims, Scheme, Solve, gap_study, iid_net, loss_and_grad,
    reconstruction_error, smooth_net,
};
use crate::budget::{Footprint, bytes};
use crate::experiment::summary::{
    AdjointBound, AdjointClaim, AdjointClaims, AdjointSummary, finite, rest,
};
use crate::model::Activation;
use crate::plot::{self, LineStyle, Panel, Series};
use crate::rng;
use crate::stats::{loglog_slope, mean_se};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// Stream tag of the experiment's inputs (`"adjx"`).
const TAG_INPUTS: u64 = 0x6164_6a78;

/// Config of an `adjoint` experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjointConfig {
    /// Free text shown in figure titles.
    #[serde(default)]
    pub title: String,
    /// Seed of the weights and inputs.
    #[serde(default)]
    pub seed: u64,
    /// State dimension `d`.
    pub width: usize,
    /// Input dimension (Gaussian inputs).
    pub inputs: usize,
    /// Number of classes (random labels).
    pub classes: usize,
    /// Columns of the batch.
    pub batch: usize,
    /// Independent networks per measurement (gaps and errors are averaged in log).
    pub draws: usize,
    /// Bandwidth of the smooth (RBF) weights.
    pub bandwidth: f64,
    /// Step counts of the Euler gradient gap.
    pub euler_steps: Vec<usize>,
    /// Step counts of the RK4 gradient gap.
    pub rk4_steps: Vec<usize>,
    /// Depths of the reconstruction error.
    pub reconstruction_depths: Vec<usize>,
    /// Depths of the memory and time measurement (Euler, i.i.d. weights at `beta = 1`).
    pub memory_depths: Vec<usize>,
}

fn check_list(field: &str, v: &[usize], min_len: usize) -> Result<()> {
    if v.len() < min_len || v.iter().any(|&x| x == 0 || x > 10_000_000) {
        return Err(Error::config(
            field,
            format!("needs at least {min_len} values in 1..=10000000, got {v:?}"),
        ));
    }
    if v.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::config(
            field,
            format!("must be strictly increasing, got {v:?}"),
        ));
    }
    Ok(())
}

impl AdjointConfig {
    fn dims(&self) -> OdeDims {
        OdeDims {
            n_in: self.inputs,
            width: self.width,
            n_out: self.classes,
        }
    }

    /// The batch of draw `i`: Gaussian inputs, uniform labels.
    fn batch_of(&self, i: usize) -> (Vec<f64>, Vec<u8>) {
        let mut r = rng::stream(self.seed, &[TAG_INPUTS, i as u64]);
        let x = (0..self.inputs * self.batch)
            .map(|_| StandardNormal.sample(&mut r))
            .collect();
        let y = (0..self.batch)
            .map(|_| {
                let u: f64 = rand::Rng::random(&mut r);
                ((u * self.classes as f64) as usize).min(self.classes - 1) as u8
            })
            .collect();
        (x, y)
    }
}

/// Writes a float as `{:e}` (the gaps and reconstruction errors span many decades).
fn exp<S: serde::Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{x:e}"))
}

/// Writes a duration in seconds with 6 decimals.
fn micros<S: serde::Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{x:.6}"))
}

/// A row of `gaps.csv`: the adjoint gradient's relative gap for one scheme, steps and draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct GapRow {
    scheme: String,
    steps: usize,
    draw: usize,
    #[serde(serialize_with = "exp", deserialize_with = "float::deserialize")]
    relative_gap: f64,
}

impl Record for GapRow {
    const COLUMNS: &'static [&'static str] = &["scheme", "steps", "draw", "relative_gap"];
}

/// A row of `reconstruction.csv`: the relative error of the reconstructed `h(0)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ReconstructionRow {
    weights: String,
    depth: usize,
    draw: usize,
    #[serde(serialize_with = "exp", deserialize_with = "float::deserialize")]
    relative_error: f64,
}

impl Record for ReconstructionRow {
    const COLUMNS: &'static [&'static str] = &["weights", "depth", "draw", "relative_error"];
}

/// A row of `memory.csv`: one gradient of a method at a depth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct MemoryRow {
    method: String,
    depth: usize,
    peak_states: usize,
    state_bytes: usize,
    #[serde(serialize_with = "micros", deserialize_with = "float::deserialize")]
    seconds: f64,
}

impl Record for MemoryRow {
    const COLUMNS: &'static [&'static str] =
        &["method", "depth", "peak_states", "state_bytes", "seconds"];
}

/// Geometric mean over draws of `values[draw][i]`, per `i`.
fn geometric_means(values: &[Vec<f64>]) -> Vec<f64> {
    let n = values.first().map_or(0, Vec::len);
    (0..n)
        .map(|i| (values.iter().map(|v| v[i].ln()).sum::<f64>() / values.len() as f64).exp())
        .collect()
}

fn slope(x: &[usize], y: &[f64]) -> Option<f64> {
    let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    loglog_slope(&x, y)
}

/// The standard error of the log-log slope of the geometric means of `by_draw[draw][j]`
/// against `x`: the slope is linear in the logs, so it is the mean of the draws' own slopes,
/// whose standard error this is (`None` with fewer than two draws or a draw without a slope).
fn slope_se(x: &[usize], by_draw: &[Vec<f64>]) -> Option<f64> {
    let s: Vec<f64> = by_draw.iter().filter_map(|y| slope(x, y)).collect();
    if s.len() < by_draw.len() {
        return None;
    }
    finite(mean_se(&s).1)
}

impl Experiment for AdjointConfig {
    const KIND: &'static str = "adjoint";

    const PRESETS: &'static [Preset] = &[Preset {
        name: "adjoint",
        toml: preset_toml!("adjoint"),
        listed: 0,
        reproduce: Some(Reproduce {
            place: 20,
            quick: None,
            quick_seconds: 1.0,
            full_seconds: 8.0,
            data: false,
            claim: "Beyond the paper (issue 23, Chen et al. 2018): the adjoint gradient converges to the exact gradient of the discretized network at the scheme's order (Euler 1, RK4 4); its backward reconstruction of h(0) fails for i.i.d. weights at beta = 1/2; it holds two states whatever the depth, checkpointing sqrt(L), back-propagation L.",
        }),
    }];

    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        claims::collect(preset, dir, summary, reduced, claims::of_adjoint)
    }

    fn validate(&self) -> Result<()> {
        accept::integers(&[
            ("width", self.width, 1..=256),
            ("inputs", self.inputs, 1..=4096),
            ("batch", self.batch, 1..=4096),
            ("draws", self.draws, 1..=1000),
            ("classes", self.classes, 2..=256),
        ])?;
        accept::real("bandwidth", self.bandwidth, 0.01..=10.0)?;
        check_list("euler_steps", &self.euler_steps, 2)?;
        check_list("rk4_steps", &self.rk4_steps, 2)?;
        check_list("reconstruction_depths", &self.reconstruction_depths, 2)?;
        check_list("memory_depths", &self.memory_depths, 2)
    }

    fn quick(&mut self) {
        self.draws = self.draws.min(2);
        self.batch = self.batch.min(8);
        self.euler_steps = vec![16, 32, 64, 128];
        self.rk4_steps = vec![16, 32, 64];
        self.reconstruction_depths = vec![100, 1000];
        self.memory_depths = vec![100, 1000, 10000];
    }

    fn footprint(&self) -> Result<Footprint> {
        let (d, n) = (self.width, self.batch);
        let deepest = self
            .memory_depths
            .iter()
            .chain(&self.reconstruction_depths)
            .copied()
            .max()
            .unwrap_or(1);
        let longest = self
            .euler_steps
            .iter()
            .chain(&self.rk4_steps)
            .copied()
            .max()
            .unwrap_or(1);
        let threads = rayon::current_num_threads();
        Ok(Footprint::default()
            .memory(
                "memory_depths",
                "the states of back-propagation and the i.i.d. weights at the largest depth",
                bytes(8, &[deepest, d, n + 2 * d]),
            )
            .memory(
                "euler_steps",
                "the states of the gap measurements (one draw per thread)",
                bytes(8, &[longest, d, n, 8]).saturating_mul(threads as u128),
            )
            .disk("memory_depths", "the tables and figures", 8 << 20))
    }

    type Summary = AdjointSummary;

    fn run(&self, ctx: &RunContext) -> Result<AdjointSummary> {
        let dims = self.dims();
        let act = Activation::Tanh;
        // 1. gradient gaps, one job per (scheme, draw)
        ctx.progress.start("gradient gaps", 2 * self.draws as u64);
        let schemes = [
            (Scheme::Euler, &self.euler_steps),
            (Scheme::Rk4, &self.rk4_steps),
        ];
        let jobs: Vec<(usize, usize)> = (0..2)
            .flat_map(|s| (0..self.draws).map(move |i| (s, i)))
            .collect();
        let gaps: Vec<Vec<f64>> = jobs
            .par_iter()
            .map(|&(s, i)| {
                crate::progress::check_cancelled(ctx.progress)?;
                let net = smooth_net(dims, self.bandwidth, true, act, self.seed ^ i as u64)?;
                let (x, y) = self.batch_of(i);
                let g = gap_study(&net, &x, &y, schemes[s].0, schemes[s].1)?;
                ctx.progress.advance(1);
                Ok(g)
            })
            .collect::<Result<_>>()?;
        ctx.progress.finish();
        let rows: Vec<GapRow> = jobs
            .iter()
            .zip(&gaps)
            .flat_map(|(&(s, draw), g)| {
                schemes[s].1.iter().zip(g).map(move |(&steps, &v)| GapRow {
                    scheme: schemes[s].0.name().to_owned(),
                    steps,
                    draw,
                    relative_gap: v,
                })
            })
            .collect();
        store::rewrite(&ctx.path("gaps.csv"), &rows)?;
        let (euler_gaps, rk4_gaps) = gaps.split_at(self.draws);
        let euler_mean = geometric_means(euler_gaps);
        let rk4_mean = geometric_means(rk4_gaps);
        let euler_slope = slope(&self.euler_steps, &euler_mean);
        let rk4_slope = slope(&self.rk4_steps, &rk4_mean);

        // 2. reconstruction of h(0): (depth, draw) jobs, smooth and i.i.d. weights
        let depths = &self.reconstruction_depths;
        ctx.progress
            .start("reconstruction", (depths.len() * self.draws) as u64);
        let jobs: Vec<(usize, usize)> = depths
            .iter()
            .flat_map(|&l| (0..self.draws).map(move |i| (l, i)))
            .collect();
        let recon: Vec<(f64, f64)> = jobs
            .par_iter()
            .map(|&(l, i)| {
                crate::progress::check_cancelled(ctx.progress)?;
                let (x, _) = self.batch_of(i);
                let euler = Solve {
                    scheme: Scheme::Euler,
                    steps: l,
                };
                let seed = self.seed ^ i as u64;
                let smooth = smooth_net(dims, self.bandwidth, false, act, seed)?;
                let iid = iid_net(dims, l, 0.5, false, act, seed);
                let out = (
                    reconstruction_error(&smooth, &x, euler),
                    reconstruction_error(&iid, &x, euler),
                );
                ctx.progress.advance(1);
                Ok(out)
            })
            .collect::<Result<_>>()?;
        ctx.progress.finish();
        let rows: Vec<ReconstructionRow> = jobs
            .iter()
            .zip(&recon)
            .flat_map(|(&(depth, draw), &(s, r))| {
                [("smooth", s), ("iid_beta_half", r)].map(|(w, v)| ReconstructionRow {
                    weights: w.to_owned(),
                    depth,
                    draw,
                    relative_error: v,
                })
            })
            .collect();
        store::rewrite(&ctx.path("reconstruction.csv"), &rows)?;
        let by_draw = |pick: fn(&(f64, f64)) -> f64| -> Vec<Vec<f64>> {
            (0..self.draws)
                .map(|i| {
                    (0..depths.len())
                        .map(|j| pick(&recon[j * self.draws + i]))
                        .collect()
                })
                .collect()
        };
        let (smooth_draws, iid_draws) = (by_draw(|r| r.0), by_draw(|r| r.1));
        let smooth_err = geometric_means(&smooth_draws);
        let iid_err = geometric_means(&iid_draws);
        let smooth_slope = slope(depths, &smooth_err);
        let iid_slope = slope(depths, &iid_err);
        let iid_slope_se = slope_se(depths, &iid_draws);
        // the standard error of the log of the i.i.d. error's geometric mean at the largest depth
        let iid_log_se = depths.len().checked_sub(1).and_then(|j| {
            let logs: Vec<f64> = iid_draws.iter().map(|d| d[j].ln()).collect();
            let se = mean_se(&logs).1;
            se.is_finite().then_some(se)
        });

        // 3. memory and time, run one after the other (timings)
        let mdepths = &self.memory_depths;
        ctx.progress
            .start("memory", (mdepths.len() * GradientMethod::ALL.len()) as u64);
        let (x, y) = self.batch_of(0);
        let mut rows = Vec::new();
        let mut memory = Vec::new();
        for method in GradientMethod::ALL {
            let mut states = Vec::new();
            let mut seconds = Vec::new();
            for &l in mdepths {
                crate::progress::check_cancelled(ctx.progress)?;
                let net = iid_net(dims, l, 1.0, true, act, self.seed);
                let solve = Solve {
                    scheme: Scheme::Euler,
                    steps: l,
                };
                let start = Instant::now();
                let r = loss_and_grad(&net, &x, &y, solve, method)?;
                let s = start.elapsed().as_secs_f64();
                let state_bytes = r.peak_states * self.width * self.batch * 8;
                rows.push(MemoryRow {
                    method: method.name().to_owned(),
                    depth: l,
                    peak_states: r.peak_states,
                    state_bytes,
                    seconds: s,
                });
                states.push(r.peak_states as f64);
                seconds.push(s);
                ctx.progress.advance(1);
            }
            memory.push((method, states, seconds));
        }
        store::rewrite(&ctx.path("memory.csv"), &rows)?;
        ctx.progress.finish();

        self.plot(
            ctx,
            (&euler_mean, &rk4_mean),
            (&smooth_err, &iid_err),
            &memory,
        )?;

        let mem_slope = |m: GradientMethod| {
            memory
                .iter()
                .find(|e| e.0 == m)
                .and_then(|e| slope(mdepths, &e.1))
        };
        let last = |v: &[f64]| v.last().copied();
        let claims = AdjointClaims {
            euler_gap_slope: AdjointClaim::new(
                euler_slope,
                slope_se(&self.euler_steps, euler_gaps),
                -1.0,
                0.2,
            ),
            rk4_gap_slope: AdjointClaim::new(
                rk4_slope,
                slope_se(&self.rk4_steps, rk4_gaps),
                -4.0,
                0.6,
            ),
            smooth_reconstruction_slope: AdjointClaim::new(
                smooth_slope,
                slope_se(depths, &smooth_draws),
                -1.0,
                0.2,
            ),
            // a Brownian path cannot be run backwards: the error does not vanish with L (slope
            // 0); the draws' standard error is recorded, but the slope over the study's two
            // depths carries a finite-depth offset far beyond it (quick, seed 0: -0.151, se
            // 0.016), so the bound stays fixed
            iid_reconstruction_slope: AdjointClaim::new(iid_slope, iid_slope_se, 0.0, 0.2),
            backprop_memory_slope: AdjointClaim::new(
                mem_slope(GradientMethod::Backprop),
                None,
                1.0,
                0.05,
            ),
            checkpoint_memory_slope: AdjointClaim::new(
                mem_slope(GradientMethod::Checkpoint),
                None,
                0.5,
                0.1,
            ),
            adjoint_memory_slope: AdjointClaim::new(
                mem_slope(GradientMethod::Adjoint),
                None,
                0.0,
                0.01,
            ),
            iid_reconstruction_error_at_largest_depth: AdjointBound {
                measured: last(&iid_err).and_then(finite),
                log_se: iid_log_se,
                bound: 0.01,
                // 4 se of the log below the geometric mean still clear the bound
                holds: last(&iid_err)
                    .zip(iid_log_se)
                    .is_some_and(|(e, se)| e * (-K_SE * se).exp() > 0.01)
                    && last(&smooth_err)
                        .is_some_and(|s| last(&iid_err).is_some_and(|e| e > 10.0 * s)),
            },
        };
        let all_hold = claims.all_hold();
        let seconds: serde_json::Map<String, serde_json::Value> = memory
            .iter()
            .map(|(m, _, s)| (m.name().to_string(), serde_json::json!(s)))
            .collect();
        Ok(AdjointSummary {
            claims,
            rest: rest(serde_json::json!({
            "all_claims_hold": all_hold,
            "euler_gaps": euler_mean,
            "rk4_gaps": rk4_mean,
            "smooth_reconstruction_errors": smooth_err,
            "iid_reconstruction_errors": iid_err,
            "memory_depths": mdepths,
            "seconds_per_gradient": seconds,
            })),
        })
    }
}

impl AdjointConfig {
    fn plot(
        &self,
        ctx: &RunContext,
        (euler, rk4): (&[f64], &[f64]),
        (smooth, iid): (&[f64], &[f64]),
        memory: &[(GradientMethod, Vec<f64>, Vec<f64>)],
    ) -> Result<()> {
        let series = |label: &str, x: &[usize], y: &[f64]| Series {
            label: label.into(),
            x: x.iter().map(|&v| v as f64).collect(),
            y: y.to_vec(),
            band: None,
            style: LineStyle::Solid,
            markers: true,
        };
        let title = if self.title.is_empty() {
            format!(
                "Adjoint method: d = {}, batch {}, {} draws, tanh",
                self.width, self.batch, self.draws
            )
        } else {
            self.title.clone()
        };
        plot::line_panels(
            &ctx.path("adjoint"),
            &title,
            &[
                Panel {
                    x_ticks: None,
                    notes: Vec::new(),
                    title: "Adjoint vs exact discrete gradient".into(),
                    x_label: "steps n".into(),
                    y_label: "relative gap".into(),
                    log_x: true,
                    log_y: true,
                    series: vec![
                        series("Euler", &self.euler_steps, euler),
                        series("RK4", &self.rk4_steps, rk4),
                    ],
                },
                Panel {
                    x_ticks: None,
                    notes: Vec::new(),
                    title: "Backward reconstruction of h(0)".into(),
                    x_label: "depth L (Euler, n = L)".into(),
                    y_label: "relative error".into(),
                    log_x: true,
                    log_y: true,
                    series: vec![
                        series("smooth, beta = 1", &self.reconstruction_depths, smooth),
                        series("i.i.d., beta = 1/2", &self.reconstruction_depths, iid),
                    ],
                },
                Panel {
                    x_ticks: None,
                    notes: Vec::new(),
                    title: "States held at once".into(),
                    x_label: "depth L".into(),
                    y_label: "states (d x batch each)".into(),
                    log_x: true,
                    log_y: true,
                    series: memory
                        .iter()
                        .map(|(m, s, _)| series(m.name(), &self.memory_depths, s))
                        .collect(),
                },
            ],
            3,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::experiment::{ConfigSource, RunOptions, run};
    use crate::progress::Silent;

    #[test]
    fn the_quick_preset_writes_its_tables_and_its_claims_hold() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("adjoint");
        let opts = RunOptions {
            quick: true,
            out: Some(out.clone()),
            ..RunOptions::default()
        };
        let report = run(ConfigSource::resolve("adjoint").unwrap(), &opts, &Silent).unwrap();
        let r = &report.summary["results"];
        assert_eq!(r["all_claims_hold"], true, "{r:#}");
        let slope = |k: &str| r["claims"][k]["measured"].as_f64().unwrap();
        assert!((slope("euler_gap_slope") + 1.0).abs() < 0.2);
        assert!((slope("rk4_gap_slope") + 4.0).abs() < 0.6);
        assert_eq!(slope("adjoint_memory_slope"), 0.0);
        for f in [
            "gaps.csv",
            "reconstruction.csv",
            "memory.csv",
            "adjoint.png",
            "adjoint.svg",
        ] {
            assert!(out.join(f).is_file(), "{f}");
        }
        let memory = std::fs::read_to_string(out.join("memory.csv")).unwrap();
        // backprop at L = 10000 keeps 10001 states, checkpointing 100 + 100, the adjoint 2
        assert!(memory.contains("backprop,10000,10001,"), "{memory}");
        assert!(memory.contains("checkpoint,10000,200,"), "{memory}");
        assert!(memory.contains("adjoint,10000,2,"), "{memory}");
    }

    #[test]
    fn bad_fields_are_named() {
        let mut t: toml::Table =
            toml::from_str(crate::experiment::preset("adjoint").unwrap().toml).unwrap();
        t.remove("kind");
        t.insert(
            "euler_steps".into(),
            toml::Value::Array(vec![16.into(), 8.into()]),
        );
        let cfg: super::AdjointConfig = crate::experiment::runner::typed(t).unwrap();
        let e = crate::experiment::Experiment::validate(&cfg).unwrap_err();
        assert!(e.to_string().contains("euler_steps"), "{e}");
    }
}
