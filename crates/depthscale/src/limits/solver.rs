//! Solvers of the limit equation `dH = dX(t) act(W(t) H)` with one step interface, each declaring
//! its orders of convergence (as diffrax's `AbstractSolver.order` and `strong_order`).
//!
//! A [`Solver`] advances the state over one step `[(k-1)/n, k/n]` of a uniform grid, seeing the
//! equation only through its [`Term`]. Its declared orders say how fast it converges for each
//! kind of control, and [`Solver::strong_rate`] turns them into the rate expected for a
//! [`Driver`]:
//!
//! | solver | ODE (smooth control) | Ito SDE (Brownian), strong / weak | Young (fBm, `1/2 < H < 1`) |
//! |---|---|---|---|
//! | [`Euler`] (the network's scheme) | 1 | 1/2 / 1 | `2H - 1` |
//! | [`Heun`] (trapezoidal) | 2 | none (converges to the Stratonovich solution) | `min(2H - 1/2, 1)` |
//! | [`Rk4`] | 4 | needs `dX/dt` | needs `dX/dt` |
//!
//! Rates are for general (non-commutative) noise, which is the case of a `d x d` driving matrix:
//! Euler's Young error is the sum of squared increments `sum_k dX_k^2 ~ N^{1-2H}` (Young
//! integrals obey the ordinary chain rule, Euler misses its second-order term); the trapezoidal
//! rule keeps that term and leaves the Levy areas of the increments, whose sum is of size
//! `N^{1/2-2H}` for `H < 3/4` and `N^{-1}` above (Deya, Neuenkirch and Tindel, *A Milstein-type
//! scheme without Levy area terms for SDEs driven by fractional Brownian motion*, AIHP 2012).
//! The ODE orders assume a smooth field; with a ReLU the field is only Lipschitz, and each
//! crossing of a pre-activation through zero costs one step of local error `O(h^2)`, so RK4's
//! global error is `O(h^2)` in practice (still far below the networks' `O(1/L)`).
//!
//! The depth-`L` network with the driver's natural scaling is the [`Euler`] scheme on the grid
//! `{k/L}`, so the slope expected for its errors is `-Euler.strong_rate(driver)`; the reference
//! solution is computed by [`reference_solver`], the most accurate solver that converges for the
//! driver.

use super::driver::Driver;
use super::term::{Term, TermScratch, add_product};

/// A fixed-step solver of `dH = dX(t) act(W(t) H)`.
///
/// Implementations own their scratch, sized at construction for one state dimension: a step
/// allocates nothing.
pub trait Solver: Send {
    /// Short name, e.g. `"Euler"`.
    fn name(&self) -> &'static str;

    /// The name for a driver (e.g. Euler is called Euler-Maruyama on Brownian controls).
    fn label(&self, driver: &Driver) -> String {
        let _ = driver;
        self.name().into()
    }

    /// Global order for ODEs with a smooth control and field: error `O(N^-order)` in `N` steps.
    fn order(&self) -> f64;

    /// Strong order for Ito SDEs with general noise (`E max_k |H_k - H(t_k)| = O(N^-order)`),
    /// `None` when the scheme does not converge to the Ito solution.
    fn strong_order(&self) -> Option<f64>;

    /// Weak order for Ito SDEs (`|E f(H_N) - E f(H(1))| = O(N^-order)` for smooth `f`), `None`
    /// when the scheme does not converge to the Ito solution.
    fn weak_order(&self) -> Option<f64>;

    /// Strong order for Young equations driven by fractional Brownian motion of Hurst index
    /// `hurst` in `(1/2, 1)`, general noise; `None` when the scheme cannot run on such a control.
    fn young_order(&self, hurst: f64) -> Option<f64>;

    /// Whether a step needs the control's derivative `V = dX/dt` (smooth controls only).
    fn needs_velocity(&self) -> bool {
        false
    }

    /// Advances `h` (the state at `(k-1)/n`) to the state at `k/n`, `1 <= k <= n`.
    ///
    /// # Panics
    /// If `h` or the term has another dimension than the solver's scratch, the grid is not
    /// observable, or the solver needs a smooth control and the term's is not (programming
    /// errors: the study checks these up front).
    fn step(&mut self, term: &Term<'_>, n: usize, k: usize, h: &mut [f64]);

    /// The strong rate of convergence expected on paths of `driver`, from the declared orders:
    /// [`Solver::order`] for smooth drivers, [`Solver::strong_order`] for Brownian ones,
    /// [`Solver::young_order`] for fractional ones; `None` when the solver does not converge
    /// (or cannot run) there.
    fn strong_rate(&self, driver: &Driver) -> Option<f64> {
        match *driver {
            _ if driver.is_smooth() => Some(self.order()),
            _ if self.needs_velocity() => None,
            Driver::Fbm { hurst } => self.young_order(hurst),
            _ => self.strong_order(),
        }
    }
}

/// Integrates the term over `[0, 1]` in `n` steps from `h` (updated in place), calling
/// `on_step(k, h_k)` for `k = 0..=n`; stops and returns `false` as soon as a state is not finite.
///
/// # Panics
/// If `h` does not have the term's dimension or the term's control cannot be observed on `{k/n}`.
pub fn integrate(
    solver: &mut dyn Solver,
    term: &Term<'_>,
    n: usize,
    h: &mut [f64],
    mut on_step: impl FnMut(usize, &[f64]),
) -> bool {
    assert_eq!(h.len(), term.dim(), "h must have the term's dimension");
    assert!(
        term.observes(n),
        "the control cannot be observed on {n} steps"
    );
    assert!(
        !solver.needs_velocity() || term.is_smooth(),
        "{} needs a smooth control",
        solver.name()
    );
    on_step(0, h);
    for k in 1..=n {
        solver.step(term, n, k, h);
        if !h.iter().all(|v| v.is_finite()) {
            return false;
        }
        on_step(k, h);
    }
    true
}

/// Every solver, with scratch for dimension `d` (add a new solver here to make it a candidate
/// reference).
pub fn solvers(d: usize) -> Vec<Box<dyn Solver>> {
    vec![
        Box::new(Euler::new(d)),
        Box::new(Heun::new(d)),
        Box::new(Rk4::new(d)),
    ]
}

/// The reference solver for paths of `driver`: among [`solvers`], the one of highest
/// [`Solver::strong_rate`] (RK4 for smooth drivers, the trapezoidal rule for fractional ones,
/// Euler-Maruyama for Brownian ones).
pub fn reference_solver(driver: &Driver, d: usize) -> Box<dyn Solver> {
    solvers(d)
        .into_iter()
        .filter_map(|s| s.strong_rate(driver).map(|r| (r, s)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s)
        .expect("Euler converges for every driver")
}

/// `(t_{k-1}, t_k)` of step `k` of the grid `{j/n}`.
fn times(n: usize, k: usize) -> (f64, f64) {
    ((k - 1) as f64 / n as f64, k as f64 / n as f64)
}

/// The explicit Euler scheme `h <- h + dX_k act(W(t_{k-1}) h)`: the depth-`n` network with its
/// natural scaling, Euler-Maruyama on Brownian controls.
#[derive(Clone, Debug)]
pub struct Euler {
    scratch: TermScratch,
    dx: Vec<f64>,
    g: Vec<f64>,
}

impl Euler {
    /// Scratch for states of dimension `d`.
    pub fn new(d: usize) -> Self {
        Self {
            scratch: TermScratch::new(d),
            dx: vec![0.0; d * d],
            g: vec![0.0; d],
        }
    }
}

impl Solver for Euler {
    fn name(&self) -> &'static str {
        "Euler"
    }

    fn label(&self, driver: &Driver) -> String {
        match driver {
            Driver::Brownian => "Euler-Maruyama".into(),
            _ => "Euler".into(),
        }
    }

    fn order(&self) -> f64 {
        1.0
    }

    fn strong_order(&self) -> Option<f64> {
        Some(0.5)
    }

    fn weak_order(&self) -> Option<f64> {
        Some(1.0)
    }

    fn young_order(&self, hurst: f64) -> Option<f64> {
        Some(2.0 * hurst - 1.0)
    }

    fn step(&mut self, term: &Term<'_>, n: usize, k: usize, h: &mut [f64]) {
        let (t0, _) = times(n, k);
        term.increment(n, k, &mut self.dx);
        term.field(t0, h, &mut self.g, &mut self.scratch);
        add_product(h, &self.dx, &self.g, 1.0);
    }
}

/// The trapezoidal (Heun) scheme: the predictor `p = h + dX_k g(t_{k-1}, h)`, then
/// `h <- h + dX_k (g(t_{k-1}, h) + g(t_k, p)) / 2`.
///
/// It reproduces the ordinary chain rule to second order, so for Young equations it is far more
/// accurate than Euler (see the module docs); for Brownian controls it converges to the
/// Stratonovich solution, not to the Ito limit of the networks, hence no strong or weak order.
#[derive(Clone, Debug)]
pub struct Heun {
    scratch: TermScratch,
    dx: Vec<f64>,
    f0: Vec<f64>,
    f1: Vec<f64>,
    p: Vec<f64>,
}

impl Heun {
    /// Scratch for states of dimension `d`.
    pub fn new(d: usize) -> Self {
        Self {
            scratch: TermScratch::new(d),
            dx: vec![0.0; d * d],
            f0: vec![0.0; d],
            f1: vec![0.0; d],
            p: vec![0.0; d],
        }
    }
}

impl Solver for Heun {
    fn name(&self) -> &'static str {
        "trapezoidal"
    }

    fn order(&self) -> f64 {
        2.0
    }

    fn strong_order(&self) -> Option<f64> {
        None
    }

    fn weak_order(&self) -> Option<f64> {
        None
    }

    fn young_order(&self, hurst: f64) -> Option<f64> {
        Some((2.0 * hurst - 0.5).min(1.0))
    }

    fn step(&mut self, term: &Term<'_>, n: usize, k: usize, h: &mut [f64]) {
        let (t0, t1) = times(n, k);
        term.increment(n, k, &mut self.dx);
        term.field(t0, h, &mut self.f0, &mut self.scratch);
        self.p.copy_from_slice(h);
        add_product(&mut self.p, &self.dx, &self.f0, 1.0);
        term.field(t1, &self.p, &mut self.f1, &mut self.scratch);
        add_product(h, &self.dx, &self.f0, 0.5);
        add_product(h, &self.dx, &self.f1, 0.5);
    }
}

/// The classical fourth-order Runge-Kutta method on the neural ODE `dH/dt = V(t) g(t, H)`
/// (smooth controls only).
#[derive(Clone, Debug)]
pub struct Rk4 {
    scratch: TermScratch,
    k: [Vec<f64>; 4],
    tmp: Vec<f64>,
}

impl Rk4 {
    /// Scratch for states of dimension `d`.
    pub fn new(d: usize) -> Self {
        Self {
            scratch: TermScratch::new(d),
            k: std::array::from_fn(|_| vec![0.0; d]),
            tmp: vec![0.0; d],
        }
    }
}

/// `out = y + a * k`.
fn axpy_into(out: &mut [f64], y: &[f64], a: f64, k: &[f64]) {
    for ((o, y), k) in out.iter_mut().zip(y).zip(k) {
        *o = y + a * k;
    }
}

impl Solver for Rk4 {
    fn name(&self) -> &'static str {
        "RK4"
    }

    fn order(&self) -> f64 {
        4.0
    }

    fn strong_order(&self) -> Option<f64> {
        None
    }

    fn weak_order(&self) -> Option<f64> {
        None
    }

    fn young_order(&self, _hurst: f64) -> Option<f64> {
        None
    }

    fn needs_velocity(&self) -> bool {
        true
    }

    fn step(&mut self, term: &Term<'_>, n: usize, k: usize, y: &mut [f64]) {
        let (t, tn) = times(n, k);
        let h = tn - t;
        let mid = t + 0.5 * h;
        let [k1, k2, k3, k4] = &mut self.k;
        let (tmp, s) = (&mut self.tmp, &mut self.scratch);
        term.ode_field(t, y, k1, s);
        axpy_into(tmp, y, 0.5 * h, k1);
        term.ode_field(mid, tmp, k2, s);
        axpy_into(tmp, y, 0.5 * h, k2);
        term.ode_field(mid, tmp, k3, s);
        axpy_into(tmp, y, h, k3);
        term.ode_field(tn, tmp, k4, s);
        for i in 0..y.len() {
            y[i] += h / 6.0 * (k1[i] + 2.0 * (k2[i] + k3[i]) + k4[i]);
        }
    }
}
