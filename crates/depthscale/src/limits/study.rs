//! One path of a convergence study: draw the driving path(s), solve the limit on it, run the
//! network at every depth and scaling, and measure the distances.

use super::driver::{Driver, Sampled, Sampler};
use super::net::{NetWorkspace, PathNet};
use super::smooth::FourierPath;
use super::solver::{Euler, Solver, integrate, reference_solver};
use super::term::Term;
use crate::kernels::Backend;
use crate::model::Activation;
use crate::{Result, rng};
use rand_distr::{Distribution, StandardNormal};

/// Everything fixed across the paths of a study.
pub struct Study {
    /// The network structure (its `natural_beta` is the driver's).
    pub net: PathNet,
    /// Law of the path driving `V`.
    pub driver: Driver,
    /// Width `d`.
    pub width: usize,
    /// Tested depths; each divides `reference`.
    pub depths: Vec<usize>,
    /// Resolution `N` of the reference solution: the steps of [`Study::reference_solver`].
    pub reference: usize,
    /// Scalings run on every path: the first is the driver's natural `beta`, the others are
    /// mismatched.
    pub betas: Vec<f64>,
    /// Depths whose trajectories are kept for path 0 (each divides `reference`).
    pub trajectory_depths: Vec<usize>,
    /// Number of leading coordinates of `h` kept in trajectories.
    pub coordinates: usize,
    /// Experiment seed.
    pub seed: u64,
    sampler: Sampler,
    inner: Option<Sampler>,
}

/// Distances of one network (one depth, one scaling, one path) to the limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelRecord {
    /// `max_k ||h_k - H(k/L)||` (`||h_0|| = 1`).
    pub strong: f64,
    /// `||h_L - H(1)||`.
    pub terminal: f64,
    /// `||h_L|| / ||h_0||`.
    pub ratio: f64,
    /// `||h_L - h_0|| / ||h_0||`: how far the network moved its input.
    pub displacement: f64,
}

impl LevelRecord {
    const EXPLODED: Self = Self {
        strong: f64::INFINITY,
        terminal: f64::INFINITY,
        ratio: f64::INFINITY,
        displacement: f64::INFINITY,
    };
}

/// A trajectory `t -> h(t)` restricted to the kept coordinates, with `||h(t)||`.
#[derive(Clone, Debug, Default)]
pub struct Trajectory {
    /// Times.
    pub t: Vec<f64>,
    /// `coords[c][j]`: coordinate `c` at time `t[j]`.
    pub coords: Vec<Vec<f64>>,
    /// `||h(t[j])||`.
    pub norm: Vec<f64>,
}

impl Trajectory {
    fn new(coordinates: usize) -> Self {
        Self {
            coords: vec![Vec::new(); coordinates],
            ..Self::default()
        }
    }

    fn push(&mut self, t: f64, h: &[f64]) {
        self.t.push(t);
        for (c, v) in self.coords.iter_mut().zip(h) {
            c.push(*v);
        }
        self.norm.push(norm(h));
    }
}

/// What one path contributes.
#[derive(Clone, Debug)]
pub struct PathRecord {
    /// `levels[case][i]`: the network of scaling `betas[case]` at depth `depths[i]`.
    pub levels: Vec<Vec<LevelRecord>>,
    /// `||H(1)|| / ||h_0||` of the limit.
    pub limit_ratio: f64,
    /// `||H(1) - h_0|| / ||h_0||` of the limit.
    pub limit_displacement: f64,
    /// Path 0 only: the limit's trajectory (at most ~2000 points).
    pub limit_trajectory: Option<Trajectory>,
    /// Path 0 only: `(case, depth, trajectory)` for every trajectory depth and case.
    pub trajectories: Vec<(usize, usize, Trajectory)>,
    /// Path 0 only: `max_j ||H_N - H_{N/2}||` between the reference solutions at `N` and `N/2`
    /// steps on their common grid (the size of the coarser one's error).
    pub reference_check: Option<f64>,
}

fn norm(h: &[f64]) -> f64 {
    h.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// Seed tags of the random streams of one path.
const TAG_DRIVER: u64 = 1;
const TAG_INNER: u64 = 2;
const TAG_INPUT: u64 = 3;

impl Study {
    /// Sets up a study; `inner` is the smooth law of `W` for `res3` (`None` for `res1`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        driver: Driver,
        inner: Option<Driver>,
        activation: Activation,
        width: usize,
        depths: Vec<usize>,
        reference: usize,
        mismatched: &[f64],
        trajectory_depths: Vec<usize>,
        coordinates: usize,
        seed: u64,
    ) -> Result<Self> {
        if let Some(d) = inner.filter(|d| !d.is_smooth()) {
            return Err(crate::Error::config(
                "inner",
                format!("the inner path W must be smooth: rbf(BANDWIDTH) or sines(MODES), got {d}"),
            ));
        }
        let sampler = Sampler::new(driver, width, reference)?;
        let inner = inner
            .map(|d| Sampler::new(d, width, reference))
            .transpose()?;
        let mut betas = vec![driver.natural_beta()];
        betas.extend_from_slice(mismatched);
        Ok(Self {
            net: PathNet::new(activation, inner.is_some(), driver.natural_beta()),
            driver,
            width,
            depths,
            reference,
            betas,
            trajectory_depths,
            coordinates: coordinates.min(width),
            seed,
            sampler,
            inner,
        })
    }

    /// The unit-norm input `h_0` of path `p`.
    pub fn input(&self, p: u64) -> Vec<f64> {
        let mut r = rng::stream(self.seed, &[TAG_INPUT, p]);
        loop {
            let h: Vec<f64> = (0..self.width)
                .map(|_| StandardNormal.sample(&mut r))
                .collect();
            let n = norm(&h);
            if n > 0.0 {
                return h.into_iter().map(|x| x / n).collect();
            }
        }
    }

    /// Measures path `p` (deterministic in `(seed, p)`).
    pub fn measure<B: Backend<f64>>(&self, p: u64, ws: &mut NetWorkspace<B>) -> Result<PathRecord> {
        let x = self
            .sampler
            .sample(rng::stream(self.seed, &[TAG_DRIVER, p]))?;
        let w = match &self.inner {
            Some(s) => match s.sample(rng::stream(self.seed, &[TAG_INNER, p]))? {
                Sampled::Smooth(f) => Some(f),
                Sampled::Grid(_) => unreachable!("inner paths are checked smooth in Study::new"),
            },
            None => None,
        };
        let h0 = self.input(p);
        let keep = p == 0;
        let (d, n) = (self.width, self.reference);
        // the reference trajectory H(j/N), j = 0..=N, time-major
        let mut reference = vec![0.0; (n + 1) * d];
        let stride = n.div_ceil(2000).max(1);
        let mut limit_traj = keep.then(|| Trajectory::new(self.coordinates));
        let mut record_ref = |j: usize, h: &[f64]| {
            reference[j * d..(j + 1) * d].copy_from_slice(h);
            if let Some(tr) = limit_traj.as_mut()
                && (j.is_multiple_of(stride) || j == n)
            {
                tr.push(j as f64 / n as f64, h);
            }
        };
        let term = Term::new(&x, w.as_ref(), self.net.block.activation);
        let mut solver = self.reference_solver();
        let mut h = h0.clone();
        if !integrate(solver.as_mut(), &term, n, &mut h, &mut record_ref) {
            return Err(crate::Error::Numerical(format!(
                "the reference solution of path {p} is not finite"
            )));
        }
        let mut reference_check = None;
        if keep && n % 2 == 0 {
            let mut worst: f64 = 0.0;
            let mut h = h0.clone();
            integrate(solver.as_mut(), &term, n / 2, &mut h, |j, y| {
                worst = worst.max(dist(y, &reference[2 * j * d..(2 * j + 1) * d]));
            });
            reference_check = Some(worst);
        }
        let h_ref_end = &reference[n * d..];
        let limit_ratio = norm(h_ref_end);
        let limit_displacement = dist(h_ref_end, &h0);

        let mut levels = Vec::with_capacity(self.betas.len());
        let mut trajectories = Vec::new();
        let mut h = vec![0.0; d];
        for (case, &beta) in self.betas.iter().enumerate() {
            let mut row = Vec::with_capacity(self.depths.len());
            for &l in &self.depths {
                let traj_here = keep && self.trajectory_depths.contains(&l);
                let (rec, tr) = self.level(
                    &x,
                    w.as_ref(),
                    &h0,
                    l,
                    beta,
                    &reference,
                    traj_here,
                    &mut h,
                    ws,
                );
                row.push(rec);
                if let Some(tr) = tr {
                    trajectories.push((case, l, tr));
                }
            }
            // trajectory depths that are not tested depths
            if keep {
                for &l in &self.trajectory_depths {
                    if !self.depths.contains(&l) {
                        let (_, tr) =
                            self.level(&x, w.as_ref(), &h0, l, beta, &reference, true, &mut h, ws);
                        trajectories.push((case, l, tr.expect("trajectory kept")));
                    }
                }
            }
            levels.push(row);
        }
        trajectories.sort_by_key(|(c, l, _)| (*c, *l));
        Ok(PathRecord {
            levels,
            limit_ratio,
            limit_displacement,
            limit_trajectory: limit_traj,
            trajectories,
            reference_check,
        })
    }

    /// Runs one network and measures it against the reference.
    #[allow(clippy::too_many_arguments)]
    fn level<B: Backend<f64>>(
        &self,
        x: &Sampled,
        w: Option<&FourierPath>,
        h0: &[f64],
        depth: usize,
        beta: f64,
        reference: &[f64],
        keep: bool,
        h: &mut [f64],
        ws: &mut NetWorkspace<B>,
    ) -> (LevelRecord, Option<Trajectory>) {
        let d = self.width;
        let s = self.reference / depth;
        let mut traj = keep.then(|| Trajectory::new(self.coordinates));
        let mut strong: f64 = 0.0;
        let mut terminal = 0.0;
        h.copy_from_slice(h0);
        let ok = self.net.run(x.as_path(), w, depth, beta, h, ws, |k, hk| {
            let e = dist(hk, &reference[k * s * d..(k * s + 1) * d]);
            strong = strong.max(e);
            if k == depth {
                terminal = e;
            }
            if let Some(tr) = traj.as_mut() {
                tr.push(k as f64 / depth as f64, hk);
            }
        });
        let rec = if ok {
            LevelRecord {
                strong,
                terminal,
                ratio: norm(h),
                displacement: dist(h, h0),
            }
        } else {
            LevelRecord::EXPLODED
        };
        (rec, traj)
    }

    /// A fresh reference solver: the most accurate one that converges for the driver (see
    /// [`reference_solver`]).
    pub fn reference_solver(&self) -> Box<dyn Solver> {
        reference_solver(&self.driver, self.width)
    }

    /// The reference solver's name for the driver (`RK4`, `trapezoidal`, `Euler-Maruyama`).
    pub fn scheme(&self) -> String {
        self.reference_solver().label(&self.driver)
    }

    /// The strong rate at which the paired networks converge: they are the [`Euler`] scheme of
    /// the limit, so this is Euler's declared rate for the driver (`1` smooth, `1/2` Brownian,
    /// `2H - 1` fractional).
    pub fn network_rate(&self) -> f64 {
        Euler::new(self.width)
            .strong_rate(&self.driver)
            .expect("Euler converges for every driver")
    }

    /// The strong rate of the reference solver for the driver.
    pub fn reference_rate(&self) -> f64 {
        self.reference_solver()
            .strong_rate(&self.driver)
            .expect("the reference solver converges for the driver")
    }
}
