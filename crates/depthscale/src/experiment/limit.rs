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
//! cells (`cells.csv`) and fits the cells; the figures (`trajectories.png/svg`,
//! `errors.png/svg`, `weak.png/svg`, drawn by [`figures`]) and the summary read only those
//! tables. The summary holds `strong_error_slope` and `terminal_error_slope` (log-log slopes of
//! the mean errors of the paired networks against `L`) and `expected_slope`, minus the strong
//! rate that the Euler solver (the networks' scheme) declares for the driver.

mod figures;

use super::{Experiment, Grid, RunContext, cell};
use crate::limits::{Driver, NetWorkspace, PathRecord, Study, Tables, Trajectory, means};
use crate::model::Activation;
use crate::{Error, Result};
use figures::Names;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The residual block of a limit study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitBlock {
    /// `h + alpha V act(h)`: limit `dH = dX act(H)`.
    Res1,
    /// `h + alpha V act(W h)` with a smooth `W(t)`: limit `dH = dX act(W(t) H)`.
    Res3,
}

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
    /// `res1` or `res3`.
    #[serde(default = "default_block")]
    pub block: LimitBlock,
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

fn default_block() -> LimitBlock {
    LimitBlock::Res1
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

    fn validate(&self) -> Result<()> {
        self.driver.validate("driver")?;
        if self.block == LimitBlock::Res3 {
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
        if !(1..=256).contains(&self.width) {
            return Err(Error::config(
                "width",
                format!("must lie in 1..=256, got {}", self.width),
            ));
        }
        let depths = self.depths()?;
        if depths.len() < 2 {
            return Err(Error::config(
                "depth",
                "give at least two depths to fit a slope",
            ));
        }
        if !(1..=1024).contains(&self.reference_factor) {
            return Err(Error::config(
                "reference_factor",
                format!("must lie in 1..=1024, got {}", self.reference_factor),
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
        if !(2..=100_000).contains(&self.paths) {
            return Err(Error::config(
                "paths",
                format!("must lie in 2..=100000, got {}", self.paths),
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

    /// The three largest depths up to [`QUICK_MAX_DEPTH`] (the three smallest if fewer than two
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

    fn run(&self, ctx: &RunContext) -> Result<serde_json::Value> {
        let depths = self.depths()?;
        let n = self.reference()?;
        let inner = (self.block == LimitBlock::Res3).then_some(self.inner);
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
        let records: Vec<PathRecord> = (0..self.paths as u64)
            .into_par_iter()
            .map_init(NetWorkspace::default, |ws, p| {
                let r = study.measure(p, ws);
                ctx.progress.advance(1);
                r
            })
            .collect::<Result<_>>()?;
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

/// The name of case `c` in the tables.
fn case_name(c: usize) -> &'static str {
    if c == 0 { "paired" } else { "mismatched" }
}

/// `cells.csv`: one row per (case, depth), the means over paths with their 95% half-widths.
fn write_cells(ctx: &RunContext, t: &Tables) -> Result<()> {
    let mut csv = ctx.csv("cells.csv")?;
    csv.row([
        "case",
        "beta",
        "depth",
        "strong_error",
        "strong_error_ci95",
        "terminal_error",
        "terminal_error_ci95",
        "displacement",
        "displacement_ci95",
        "non_finite_paths",
        "ks",
        "w1",
    ])?;
    let c = &t.cells;
    for (case, beta) in t.betas.iter().enumerate() {
        for (i, l) in t.depths.iter().enumerate() {
            let (s, e, m) = (
                c.strong[case][i],
                c.terminal[case][i],
                c.displacement[case][i],
            );
            csv.row([
                case_name(case).to_owned(),
                cell(Some(*beta)),
                l.to_string(),
                cell(Some(s.0)),
                cell(Some(s.1)),
                cell(Some(e.0)),
                cell(Some(e.1)),
                cell(Some(m.0)),
                cell(Some(m.1)),
                c.exploded[case][i].to_string(),
                cell(Some(c.ks[case][i])),
                cell(Some(c.w1[case][i])),
            ])?;
        }
    }
    csv.finish()
}

/// `trajectories.csv`: path 0's trajectories, one row per (series, time), the kept coordinates
/// of `h` and its norm; the limit's rows have an empty `beta` and `depth` = `N`.
fn write_trajectories(ctx: &RunContext, t: &Tables, n: usize) -> Result<()> {
    let tr = &t.trajectories;
    let coords = tr.limit.coords.len();
    let mut csv = ctx.csv("trajectories.csv")?;
    let mut header: Vec<String> = ["series", "beta", "depth", "t", "norm"]
        .map(String::from)
        .to_vec();
    header.extend((1..=coords).map(|c| format!("h{c}")));
    csv.row(&header)?;
    let mut write = |series: &str, beta: String, depth: String, tr: &Trajectory| -> Result<()> {
        for j in 0..tr.t.len() {
            let mut row = vec![
                series.to_owned(),
                beta.clone(),
                depth.clone(),
                cell(Some(tr.t[j])),
                cell(Some(tr.norm[j])),
            ];
            row.extend(tr.coords.iter().map(|c| cell(Some(c[j]))));
            csv.row(&row)?;
        }
        Ok(())
    };
    if !tr.limit.t.is_empty() {
        write("limit", String::new(), n.to_string(), &tr.limit)?;
    }
    for (case, depth, traj) in &tr.networks {
        write(
            case_name(*case),
            cell(Some(t.betas[*case])),
            depth.to_string(),
            traj,
        )?;
    }
    csv.finish()
}

impl LimitConfig {
    /// `results.csv`: one row per (path, case, depth) and one limit row per path.
    fn write_results(&self, ctx: &RunContext, t: &Tables, n: usize) -> Result<()> {
        let mut csv = ctx.csv("results.csv")?;
        csv.row([
            "case",
            "beta",
            "depth",
            "path",
            "strong_error",
            "terminal_error",
            "h_ratio",
            "displacement",
        ])?;
        for (p, r) in t.rows.iter().enumerate() {
            for (c, beta) in t.betas.iter().enumerate() {
                for (i, l) in t.depths.iter().enumerate() {
                    let m = r.levels[c][i];
                    csv.row([
                        case_name(c).to_owned(),
                        cell(Some(*beta)),
                        l.to_string(),
                        p.to_string(),
                        cell(Some(m.strong)),
                        cell(Some(m.terminal)),
                        cell(Some(m.ratio)),
                        cell(Some(m.displacement)),
                    ])?;
                }
            }
            csv.row([
                "limit".to_owned(),
                String::new(),
                n.to_string(),
                p.to_string(),
                String::new(),
                String::new(),
                cell(Some(r.limit_ratio)),
                cell(Some(r.limit_displacement)),
            ])?;
        }
        csv.finish()
    }

    fn summary(&self, study: &Study, t: &Tables, n: usize, scheme: &str) -> serde_json::Value {
        let (cells, fits) = (&t.cells, &t.fits);
        let cis = |row: &[(f64, f64)]| row.iter().map(|m| m.1).collect::<Vec<_>>();
        let slope = |f: Option<crate::limits::Fit>| f.map(|f| f.slope);
        let mismatched: Vec<_> = t
            .betas
            .iter()
            .enumerate()
            .skip(1)
            .map(|(c, beta)| {
                json!({
                    "beta": beta,
                    "strong_error": means(&cells.strong[c]),
                    "terminal_error": means(&cells.terminal[c]),
                    "displacement": means(&cells.displacement[c]),
                    "strong_error_slope": slope(fits.strong[c]),
                    "displacement_slope": slope(fits.displacement[c]),
                    "non_finite_paths": cells.exploded[c],
                    "ks": cells.ks[c],
                    "w1": cells.w1[c],
                })
            })
            .collect();
        let network_rate = study.network_rate();
        let mut out = json!({
            "strong_error_slope": slope(fits.strong[0]),
            "terminal_error_slope": slope(fits.terminal[0]),
            "expected_slope": -network_rate,
            "expected_slope_source": "minus the strong rate the Euler solver (the networks' scheme) declares for the driver",
            "limit": self.driver.limit_name(),
            "driver": self.driver.to_string(),
            "natural_beta": self.driver.natural_beta(),
            "block": self.block,
            "activation": self.activation.to_string(),
            "width": self.width,
            "paths": t.rows.len(),
            "depths": t.depths,
            "reference_resolution": n,
            "reference_scheme": scheme,
            "reference_rate": study.reference_rate(),
            "strong_error": means(&cells.strong[0]),
            "strong_error_ci95": cis(&cells.strong[0]),
            "terminal_error": means(&cells.terminal[0]),
            "terminal_error_ci95": cis(&cells.terminal[0]),
            "displacement": means(&cells.displacement[0]),
            "limit_displacement": cells.limit_displacement.0,
            "mismatched": mismatched,
            "weak": {
                "statistic": "||h_L|| / ||h_0||, coupled samples (network and limit on the same path)",
                "ks": cells.ks[0],
                "w1": cells.w1[0],
                "w1_slope": slope(fits.w1),
            },
        });
        if let Some(check) = t.reference_check {
            out["reference_check"] = json!({
                "what": "max_j ||H_N - H_{N/2}|| on path 0: the reference scheme at N and N/2 steps",
                "value": check,
            });
        }
        if let Driver::Fbm { hurst } = self.driver {
            // the slope over the largest depths, where the L^{1-2H} term dominates
            out["young"] = json!({
                "hurst": hurst,
                "expected_rate": network_rate,
                "measured_strong_rate": slope(fits.strong[0]).map(|s| -s),
                "measured_terminal_rate": slope(fits.terminal[0]).map(|s| -s),
                "measured_strong_rate_largest_depths": slope(fits.strong_tail).map(|s| -s),
                "largest_depths": fits.tail_depths,
            });
        }
        out
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
            let cells = std::fs::read_to_string(out.join("cells.csv")).unwrap();
            let rows: Vec<Vec<&str>> = cells
                .lines()
                .skip(1)
                .map(|l| l.split(',').collect())
                .collect();
            assert_eq!(rows.len(), cases * 3, "{name}");
            let strong = r["strong_error"].as_array().unwrap();
            for (row, want) in rows.iter().zip(strong) {
                assert_eq!(row[0], "paired");
                let got: f64 = row[3].parse().unwrap();
                assert_eq!(
                    got,
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
