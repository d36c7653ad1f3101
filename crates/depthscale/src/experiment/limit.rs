//! The `limit` experiment: deep ResNets converge to their continuous-depth limit (neural ODE,
//! neural SDE or Young equation) on a shared path, at measured rates.
//!
//! For every path `p` the driving path (and for `res3` the smooth inner path `W`) is drawn once
//! at the reference resolution `N = reference_factor * max(depth)`, the limit is solved on it
//! with `N` steps (RK4 for smooth drivers; the trapezoidal rule for fractional drivers, whose
//! error `O(N^{1/2-2H})` is of higher order than the networks' `O(L^{1-2H})`; Euler-Maruyama,
//! i.e. the depth-`N` network, for Brownian drivers, whose strong error is
//! `sqrt(reference_factor)` times smaller than the largest tested network's and nearly
//! independent of it), and every tested depth `L`
//! (dividing `N`) runs on the increments of the same path on `{k/L}` with the driver's natural
//! `beta` and with each mismatched `beta`. See [`crate::limits`] for the scaling conventions.
//!
//! Stages: the study measures every path (rows, `results.csv`), [`Tables`] averages them into
//! cells (`cells.csv`) and fits the cells; the files and the summary (written by [`output`]) and
//! the figures (`trajectories.png/svg`, `errors.png/svg`, `weak.png/svg`, drawn by [`figures`])
//! read only those tables. The summary holds `strong_error_slope` and `terminal_error_slope` (log-log slopes of
//! the mean errors of the paired networks against `L`) and `expected_slope`, minus the strong
//! rate that the Euler solver (the networks' scheme) declares for the driver.

mod figures;
mod output;

use super::presets::preset_toml;
use super::reproduce::{Claim, claims};
use super::{Experiment, Grid, RunContext};
use super::{Preset, Reproduce};
use crate::accept;
use crate::kernels::with_backend;
use crate::limits::{Driver, NetWorkspace, PathRecord, Study, Tables};
use crate::model::{Activation, BlockKind};
use crate::{Error, Result};
use figures::Names;
use output::{write_cells, write_trajectories};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Config of a `limit` experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// Seed of every random draw.
    #[serde(default)]
    pub seed: u64,
    /// Law of the path driving `V`: `brownian`, `fbm(H)` (`1/2 < H < 1`), `rbf(BANDWIDTH)` or
    /// `sines(MODES)`.
    pub driver: Driver,
    /// `res1` (`h + alpha V act(h)`: limit `dH = dX act(H)`) or `res3` (`h + alpha V act(W h)`
    /// with a smooth `W(t)`: limit `dH = dX act(W(t) H)`).
    #[serde(default = "default_block")]
    pub block: BlockKind,
    /// Smooth law of the inner path `W` (`res3` only): `rbf(BANDWIDTH)` or `sines(MODES)`.
    #[serde(default = "default_inner")]
    pub inner: Driver,
    /// Activation.
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Width `d`, `1..=256`.
    #[serde(default = "default_width")]
    pub width: usize,
    /// Tested depths `L` (each must divide the reference resolution).
    pub depth: Grid,
    /// The reference resolution is `reference_factor * max(depth)`, `1..=1024`.
    #[serde(default = "default_reference_factor")]
    pub reference_factor: usize,
    /// Number of independent paths (each with its own input `h_0`), `2..=100000`.
    #[serde(default = "default_paths")]
    pub paths: usize,
    /// Scalings run on the same paths besides the driver's natural one, each in `(0, 2]`.
    #[serde(default)]
    pub mismatched_beta: Vec<f64>,
    /// Depths whose trajectories on path 0 are drawn (empty: three of the tested depths).
    #[serde(default)]
    pub trajectory_depths: Vec<usize>,
    /// Number of leading coordinates of `h` drawn, `1..=6`.
    #[serde(default = "default_coordinates")]
    pub coordinates: usize,
}

fn default_block() -> BlockKind {
    BlockKind::Res1
}
fn default_inner() -> Driver {
    Driver::Rbf { bandwidth: 0.2 }
}
fn default_activation() -> Activation {
    Activation::Relu
}
fn default_width() -> usize {
    16
}
fn default_reference_factor() -> usize {
    16
}
fn default_paths() -> usize {
    64
}
fn default_coordinates() -> usize {
    3
}

/// The largest depth `--quick` keeps.
const QUICK_MAX_DEPTH: usize = 256;

/// Upper bound on the values of one stored grid path (`(N + 1) d^2`): 512 MiB of f64.
const MAX_GRID_VALUES: usize = 1 << 26;

impl LimitConfig {
    /// The tested depths, ascending.
    fn depths(&self) -> Result<Vec<usize>> {
        let mut d = self.depth.integers("depth", 1)?;
        d.sort_unstable();
        d.dedup();
        Ok(d)
    }

    /// The reference resolution `N`.
    fn reference(&self) -> Result<usize> {
        let max = *self.depths()?.last().expect("non-empty grid");
        Ok(max * self.reference_factor)
    }

    /// The trajectory depths (explicit or three of the tested depths).
    fn trajectory_depths(&self) -> Result<Vec<usize>> {
        if !self.trajectory_depths.is_empty() {
            return Ok(self.trajectory_depths.clone());
        }
        let d = self.depths()?;
        let mut picked: Vec<usize> = [0, 2, 4].iter().map(|&i| d[i.min(d.len() - 1)]).collect();
        picked.dedup();
        Ok(picked)
    }
}

impl Experiment for LimitConfig {
    const KIND: &'static str = "limit";

    const PRESETS: &'static [Preset] = &[
        Preset {
            name: "ode",
            toml: preset_toml!("ode"),
            listed: 11,
            reproduce: Some(Reproduce {
                place: 10,
                quick: None,
                quick_seconds: 0.3,
                full_seconds: 9.0,
                data: false,
                claim: "Smooth weights with beta = 1: the ResNet is the Euler scheme of a neural ODE and converges to it at rate 1/L; beta = 1/2 explodes.",
            }),
        },
        Preset {
            name: "sde",
            toml: preset_toml!("sde"),
            listed: 12,
            reproduce: Some(Reproduce {
                place: 11,
                quick: None,
                quick_seconds: 0.3,
                full_seconds: 12.0,
                data: false,
                claim: "I.i.d. weights with beta = 1/2: the ResNet converges strongly to a neural SDE at rate L^-1/2; beta = 1 collapses to the identity.",
            }),
        },
        Preset {
            name: "fbm-limit",
            toml: preset_toml!("fbm-limit"),
            listed: 13,
            reproduce: Some(Reproduce {
                place: 12,
                quick: None,
                quick_seconds: 0.2,
                full_seconds: 3.0,
                data: false,
                claim: "fBm(H) weights with beta = H > 1/2: the ResNet converges to a Young ODE at rate L^-(2H-1); beta = 1/2 explodes and beta = 1 collapses to the identity.",
            }),
        },
    ];

    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        claims::collect(preset, dir, summary, reduced, claims::of_limit)
    }

    fn validate(&self) -> Result<()> {
        self.driver.validate("driver")?;
        if self.block == BlockKind::Res3 {
            self.inner.validate("inner")?;
            if !self.inner.is_smooth() {
                return Err(Error::config(
                    "inner",
                    format!(
                        "the inner path W must be smooth: rbf(BANDWIDTH) or sines(MODES), got {}",
                        self.inner
                    ),
                ));
            }
        }
        accept::integers(&[
            ("width", self.width, 1..=256),
            ("reference_factor", self.reference_factor, 1..=1024),
            ("paths", self.paths, 2..=100_000),
        ])?;
        let depths = self.depths()?;
        if depths.len() < 2 {
            return Err(Error::config(
                "depth",
                "give at least two depths to fit a slope",
            ));
        }
        let n = self.reference()?;
        let grid_values = (n + 1).saturating_mul(self.width * self.width);
        if !self.driver.is_smooth() && grid_values > MAX_GRID_VALUES {
            return Err(Error::config(
                "reference_factor",
                format!(
                    "the reference path would hold (N + 1) d^2 = {grid_values} values \
                     (N = {n}, d = {}); at most {MAX_GRID_VALUES}: lower the depths, the width or \
                     the factor",
                    self.width
                ),
            ));
        }
        if n > 1 << 24 {
            return Err(Error::config(
                "reference_factor",
                format!("the reference resolution {n} exceeds 2^24 steps"),
            ));
        }
        if let Some(bad) = depths.iter().find(|&&l| !n.is_multiple_of(l)) {
            return Err(Error::config(
                "depth",
                format!(
                    "depth {bad} does not divide the reference resolution N = {n}: networks must \
                     observe the path on subgrids of the reference grid; use nested depths such \
                     as {{ geomspace = [16, 1024, 7] }}"
                ),
            ));
        }
        let natural = self.driver.natural_beta();
        for &b in &self.mismatched_beta {
            if !(b > 0.0 && b <= 2.0) || b == natural {
                return Err(Error::config(
                    "mismatched_beta",
                    format!(
                        "values must lie in (0, 2] and differ from the driver's natural beta \
                         {natural}, got {b}"
                    ),
                ));
            }
        }
        if self.mismatched_beta.len() > 4 {
            return Err(Error::config("mismatched_beta", "give at most 4 values"));
        }
        if self.trajectory_depths.len() > 6 {
            return Err(Error::config("trajectory_depths", "give at most 6 depths"));
        }
        if let Some(bad) = self
            .trajectory_depths
            .iter()
            .find(|&&l| l == 0 || !n.is_multiple_of(l))
        {
            return Err(Error::config(
                "trajectory_depths",
                format!("depth {bad} must be positive and divide the reference resolution {n}"),
            ));
        }
        if !(1..=6).contains(&self.coordinates) || self.coordinates > self.width {
            return Err(Error::config(
                "coordinates",
                format!("must lie in 1..=min(6, width), got {}", self.coordinates),
            ));
        }
        Ok(())
    }

    fn footprint(&self) -> Result<crate::budget::Footprint> {
        use crate::budget::{Footprint, bytes};
        let (n, d) = (self.reference()?, self.width);
        let cases = self.depths()?.len() * (1 + self.mismatched_beta.len());
        let threads = rayon::current_num_threads().min(self.paths).max(1) as u128;
        let grid = if self.driver.is_smooth() {
            0
        } else {
            bytes(24, &[n + 1, d, d])
        };
        Ok(Footprint::default()
            .memory("reference_factor", "the reference solution ((N + 1) x width f64 per path in flight)", bytes(8, &[n + 1, d]).saturating_mul(threads))
            .memory("reference_factor", "the driving path on the reference grid ((N + 1) x width^2 f64, 3x while refined, per path in flight)", grid.saturating_mul(threads))
            .memory("paths", "the per-path records", bytes(256, &[self.paths, cases + 1]))
            .disk("paths", "results.csv (about 200 bytes per row)", bytes(200, &[self.paths, cases + 1]))
            .disk("coordinates", "the figures", 16 << 20))
    }

    /// The three largest depths up to 256 (the three smallest if fewer than two
    /// are that small), at most 48 paths, the reference factor capped at 16: small enough for a
    /// second, deep enough to be in the asymptotic regime, so that the fitted slopes stay within
    /// about 0.1 of theory (measured on the presets over seeds 0..8: ode within 0.002, sde 0.03,
    /// fbm-limit 0.12).
    fn quick(&mut self) {
        if let Ok(d) = self.depths() {
            let small: Vec<usize> = d
                .iter()
                .copied()
                .filter(|&l| l <= QUICK_MAX_DEPTH)
                .collect();
            let pick = if small.len() >= 2 {
                &small[small.len().saturating_sub(3)..]
            } else {
                &d[..d.len().min(3)]
            };
            self.depth = Grid::List(pick.iter().map(|&l| l as f64).collect());
        }
        self.paths = self.paths.min(48);
        self.reference_factor = self.reference_factor.min(16);
        self.trajectory_depths.clear();
    }

    type Summary = crate::experiment::summary::LimitSummary;

    fn run(&self, ctx: &RunContext) -> Result<Self::Summary> {
        let depths = self.depths()?;
        let n = self.reference()?;
        let inner = (self.block == BlockKind::Res3).then_some(self.inner);
        let study = Study::new(
            self.driver,
            inner,
            self.activation,
            self.width,
            depths.clone(),
            n,
            &self.mismatched_beta,
            self.trajectory_depths()?,
            self.coordinates,
            self.seed,
        )?;
        ctx.progress.start(
            &format!(
                "{} paths, depths {:?}, reference N = {n}",
                self.paths, depths
            ),
            self.paths as u64,
        );
        let records: Vec<PathRecord> = with_backend!(&ctx.backend, be => {
            (0..self.paths as u64)
                .into_par_iter()
                .map_init(
                    || NetWorkspace::new(be.clone()),
                    |ws, p| {
                        crate::progress::check_cancelled(ctx.progress)?;
                        let r = study.measure(p, ws);
                        ctx.progress.advance(1);
                        r
                    },
                )
                .collect::<Result<_>>()
        })?;
        ctx.progress.finish();
        // rows -> cells -> fits; everything below reads only the tables
        let tables = Tables::new(study.depths.clone(), study.betas.clone(), records);
        self.write_results(ctx, &tables, n)?;
        write_cells(ctx, &tables)?;
        write_trajectories(ctx, &tables, n)?;
        let scheme = format!("{}, N = {n}", study.scheme());
        let names = Names {
            limit: self.driver.limit_name().into(),
            reference: scheme.clone(),
        };
        let head = format!(
            "{} limit: driver {}, {:?} {}, d = {}, {} paths",
            self.driver.limit_name(),
            self.driver,
            self.block,
            self.activation,
            self.width,
            self.paths
        )
        .replace("Res1", "res1")
        .replace("Res3", "res3");
        figures::trajectories_figure(&ctx.path("trajectories"), &head, &tables, &names)?;
        figures::errors_figure(&ctx.path("errors"), &head, &tables, &names)?;
        figures::weak_figure(&ctx.path("weak"), &tables, &names)?;
        Ok(self.summary(&study, &tables, n, &scheme))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{ConfigSource, RunOptions, run};
    use crate::progress::Silent;

    fn run_preset(name: &str, quick: bool, out: &std::path::Path) -> serde_json::Value {
        let opts = RunOptions {
            quick,
            out: Some(out.to_path_buf()),
            ..RunOptions::default()
        };
        run(ConfigSource::resolve(name).unwrap(), &opts, &Silent)
            .unwrap()
            .summary
    }

    #[test]
    fn quick_presets_run_end_to_end() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["ode", "sde", "fbm-limit"] {
            let out = dir.path().join(name);
            let summary = run_preset(name, true, &out);
            let r = &summary["results"];
            // theory: -1 (ode), -1/2 (sde), -(2H - 1) = -1/2 (fbm-limit), from the Euler solver's
            // declared rates; at quick size every seed 0..8 lands within 0.12 of it
            let expected = r["expected_slope"].as_f64().unwrap();
            let theory = match name {
                "ode" => -1.0,
                _ => -0.5,
            };
            assert!(
                (expected - theory).abs() < 1e-12,
                "{name}: expected {expected}"
            );
            for key in ["strong_error_slope", "terminal_error_slope"] {
                let s = r[key].as_f64().unwrap_or(f64::NAN);
                assert!(
                    (s - expected).abs() < 0.15,
                    "{name}: {key} = {s}, theory {expected}"
                );
            }
            for f in [
                "summary.json",
                "config.toml",
                "results.csv",
                "cells.csv",
                "trajectories.csv",
                "trajectories.png",
                "trajectories.svg",
                "errors.png",
                "errors.svg",
                "weak.png",
                "weak.svg",
            ] {
                assert!(out.join(f).exists(), "{name}: {f} missing");
            }
            let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
            assert!(csv.starts_with("case,beta,depth,path,strong_error,terminal_error"));
            // 48 paths x (2 or 3 cases x 3 depths + 1 limit row) + header
            let cases = 1 + r["mismatched"].as_array().unwrap().len();
            assert_eq!(csv.lines().count(), 1 + 48 * (cases * 3 + 1), "{name}");
            // cells.csv: one row per case and depth, its means those of the summary
            let rows: Vec<output::CellRow> =
                crate::experiment::store::read(&out.join("cells.csv"), false, 1 << 20).unwrap();
            assert_eq!(rows.len(), cases * 3, "{name}");
            let strong = r["strong_error"].as_array().unwrap();
            for (row, want) in rows.iter().zip(strong) {
                assert_eq!(row.case, "paired");
                assert_eq!(
                    row.strong_error,
                    want.as_f64().unwrap(),
                    "{name}: cells.csv strong error"
                );
            }
            // trajectories.csv: the limit's rows first, then the networks'
            let traj = std::fs::read_to_string(out.join("trajectories.csv")).unwrap();
            assert!(traj.starts_with("series,beta,depth,t,norm,h1"), "{name}");
            let first = traj.lines().nth(1).unwrap();
            assert!(first.starts_with("limit,,"), "{name}: {first}");
            assert!(traj.lines().any(|l| l.starts_with("paired,")), "{name}");
        }
    }

    #[test]
    fn invalid_configs_name_the_field() {
        let parse = |extra: &str| -> Result<()> {
            let mut table: toml::Table =
                toml::from_str("driver = \"brownian\"\ndepth = [16, 32]").unwrap();
            for line in extra.lines() {
                crate::experiment::apply_override(&mut table, line)?;
            }
            let cfg: LimitConfig = crate::experiment::runner::typed(table)?;
            cfg.validate()
        };
        assert!(parse("").is_ok());
        let field = |extra: &str| match parse(extra) {
            Err(Error::Config { field, .. }) => field,
            other => panic!("{extra}: expected a config error, got {other:?}"),
        };
        assert_eq!(field("width = 0"), "width");
        assert_eq!(field("paths = 1"), "paths");
        assert_eq!(field("mismatched_beta = [0.5]"), "mismatched_beta");
        assert_eq!(field("depth = [16, 24]\nreference_factor = 1"), "depth");
        assert_eq!(field("block = \"res3\"\ninner = \"brownian\""), "inner");
        assert_eq!(field("trajectory_depths = [7]"), "trajectory_depths");
        assert_eq!(field("driver = \"fbm(0.3)\""), "driver");
        assert_eq!(field("wdith = 3"), "wdith");
    }

    /// The presets at default settings: `cargo test --release -p depthscale presets_at_default
    /// -- --ignored --nocapture` prints the slopes and wall times.
    #[test]
    #[ignore = "full presets; run with --release --ignored --nocapture"]
    fn presets_at_default_settings() {
        // LIMIT_OUT=DIR keeps the outputs in DIR/<preset>
        let tmp = tempfile::tempdir().unwrap();
        let dir = std::env::var_os("LIMIT_OUT").map_or(tmp.path().to_path_buf(), Into::into);
        for name in ["ode", "sde", "fbm-limit"] {
            let t = std::time::Instant::now();
            let opts = RunOptions {
                out: Some(dir.join(name)),
                force: true,
                ..RunOptions::default()
            };
            let s = run(ConfigSource::resolve(name).unwrap(), &opts, &Silent)
                .unwrap()
                .summary;
            let r = &s["results"];
            eprintln!(
                "{name}: strong_error_slope {:.4}, terminal_error_slope {:.4} (expected {}), \
                 {:.1} s on {} threads",
                r["strong_error_slope"].as_f64().unwrap_or(f64::NAN),
                r["terminal_error_slope"].as_f64().unwrap_or(f64::NAN),
                r["expected_slope"],
                t.elapsed().as_secs_f64(),
                rayon::current_num_threads()
            );
            eprintln!("  strong errors {}", r["strong_error"]);
            eprintln!("  mismatched {}", r["mismatched"]);
            eprintln!("  weak {}", r["weak"]);
            if let Some(c) = r.get("reference_check") {
                eprintln!("  reference check {c}");
            }
            if let Some(y) = r.get("young") {
                eprintln!("  young {y}");
            }
        }
    }
}
