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
//! Outputs: `results.csv` (one row per case, depth and path, plus the limit's rows),
//! `trajectories.png/svg`, `errors.png/svg`, `weak.png/svg` and the summary with
//! `strong_error_slope` and `terminal_error_slope` (log-log slopes of the mean errors of the
//! paired networks against `L`).

use super::{Experiment, Grid, RunContext, cell};
use crate::limits::{
    Aggregate, Driver, Names, NetWorkspace, PathRecord, Study, aggregate, errors_figure,
    loglog_fit, trajectories_figure, weak_figure,
};
use crate::model::Activation;
use crate::{Error, Result};
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

    /// Which limit the paired networks converge to.
    fn limit_name(&self) -> &'static str {
        match self.driver {
            Driver::Brownian => "SDE",
            Driver::Fbm { .. } => "Young ODE",
            _ => "ODE",
        }
    }

    /// The slope theory predicts for the paired networks' strong error.
    fn expected_slope(&self) -> f64 {
        match self.driver {
            Driver::Brownian => -0.5,
            Driver::Fbm { hurst } => 1.0 - 2.0 * hurst,
            _ => -1.0,
        }
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

    fn quick(&mut self) {
        if let Ok(d) = self.depths() {
            self.depth = Grid::List(d.into_iter().take(3).map(|l| l as f64).collect());
        }
        self.paths = self.paths.min(6);
        self.reference_factor = self.reference_factor.min(4);
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
        let agg = aggregate(&study, &records);
        self.write_csv(ctx, &study, &records)?;
        let scheme = format!("{}, N = {n}", study.scheme());
        let names = Names {
            limit: self.limit_name().into(),
            reference: scheme.clone(),
        };
        let head = format!(
            "{} limit: driver {}, {:?} {}, d = {}, {} paths",
            self.limit_name(),
            self.driver,
            self.block,
            self.activation,
            self.width,
            self.paths
        )
        .replace("Res1", "res1")
        .replace("Res3", "res3");
        trajectories_figure(
            &ctx.path("trajectories"),
            &head,
            &study,
            &records[0],
            &names,
        )?;
        errors_figure(&ctx.path("errors"), &head, &agg, &names)?;
        weak_figure(&ctx.path("weak"), &study, &records, &agg, &names)?;
        Ok(self.summary(&agg, &records, n, &scheme))
    }
}

impl LimitConfig {
    fn write_csv(&self, ctx: &RunContext, study: &Study, records: &[PathRecord]) -> Result<()> {
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
        for (p, r) in records.iter().enumerate() {
            for (c, beta) in study.betas.iter().enumerate() {
                let case = if c == 0 { "paired" } else { "mismatched" };
                for (i, l) in study.depths.iter().enumerate() {
                    let m = r.levels[c][i];
                    csv.row([
                        case.to_owned(),
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
                study.reference.to_string(),
                p.to_string(),
                String::new(),
                String::new(),
                cell(Some(r.limit_ratio)),
                cell(Some(r.limit_displacement)),
            ])?;
        }
        csv.finish()
    }

    fn summary(
        &self,
        agg: &Aggregate,
        records: &[PathRecord],
        n: usize,
        scheme: &str,
    ) -> serde_json::Value {
        let means = |row: &[(f64, f64)]| row.iter().map(|m| m.0).collect::<Vec<_>>();
        let cis = |row: &[(f64, f64)]| row.iter().map(|m| m.1).collect::<Vec<_>>();
        let slope = |row: &[(f64, f64)]| loglog_fit(&agg.depths, &means(row)).map(|f| f.slope);
        let mismatched: Vec<_> = agg
            .betas
            .iter()
            .enumerate()
            .skip(1)
            .map(|(c, beta)| {
                json!({
                    "beta": beta,
                    "strong_error": means(&agg.strong[c]),
                    "terminal_error": means(&agg.terminal[c]),
                    "displacement": means(&agg.displacement[c]),
                    "strong_error_slope": slope(&agg.strong[c]),
                    "displacement_slope": slope(&agg.displacement[c]),
                    "non_finite_paths": agg.exploded[c],
                    "ks": agg.ks[c],
                    "w1": agg.w1[c],
                })
            })
            .collect();
        let strong_slope = slope(&agg.strong[0]);
        let terminal_slope = slope(&agg.terminal[0]);
        let mut out = json!({
            "strong_error_slope": strong_slope,
            "terminal_error_slope": terminal_slope,
            "expected_slope": self.expected_slope(),
            "limit": self.limit_name(),
            "driver": self.driver.to_string(),
            "natural_beta": self.driver.natural_beta(),
            "block": self.block,
            "activation": self.activation.to_string(),
            "width": self.width,
            "paths": records.len(),
            "depths": agg.depths,
            "reference_resolution": n,
            "reference_scheme": scheme,
            "strong_error": means(&agg.strong[0]),
            "strong_error_ci95": cis(&agg.strong[0]),
            "terminal_error": means(&agg.terminal[0]),
            "terminal_error_ci95": cis(&agg.terminal[0]),
            "displacement": means(&agg.displacement[0]),
            "limit_displacement": agg.limit_displacement.0,
            "mismatched": mismatched,
            "weak": {
                "statistic": "||h_L|| / ||h_0||, coupled samples (network and limit on the same path)",
                "ks": agg.ks[0],
                "w1": agg.w1[0],
                "w1_slope": loglog_fit(&agg.depths, &agg.w1[0]).map(|f| f.slope),
            },
        });
        if let Some(check) = records[0].reference_check {
            out["reference_check"] = json!({
                "what": "max_j ||H_N - H_{N/2}|| on path 0: the reference scheme at N and N/2 steps",
                "value": check,
            });
        }
        if let Driver::Fbm { hurst } = self.driver {
            // the slope over the largest depths, where the L^{1-2H} term dominates
            let k = agg.depths.len().min(4);
            let tail = agg.depths.len() - k;
            let tail_slope =
                loglog_fit(&agg.depths[tail..], &means(&agg.strong[0][tail..])).map(|f| -f.slope);
            out["young"] = json!({
                "hurst": hurst,
                "expected_rate": 2.0 * hurst - 1.0,
                "measured_strong_rate": strong_slope.map(|s| -s),
                "measured_terminal_rate": terminal_slope.map(|s| -s),
                "measured_strong_rate_largest_depths": tail_slope,
                "largest_depths": &agg.depths[tail..],
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
            for key in ["strong_error_slope", "terminal_error_slope"] {
                let s = r[key].as_f64().unwrap_or(f64::NAN);
                assert!(s.is_finite() && s < 0.0, "{name}: {key} = {s}");
            }
            for f in [
                "summary.json",
                "config.toml",
                "results.csv",
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
            // 6 paths x (2 or 3 cases x 3 depths + 1 limit row) + header
            let cases = 1 + r["mismatched"].as_array().unwrap().len();
            assert_eq!(csv.lines().count(), 1 + 6 * (cases * 3 + 1), "{name}");
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
