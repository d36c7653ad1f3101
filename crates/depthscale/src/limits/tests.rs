//! Tests across the pieces: solvers against closed forms, networks against limits.

use super::*;
use crate::model::Activation;
use crate::rng;

/// `X(t) = mu t + sigma B(t)` (1 x 1): the control of `dY = mu Y dt + sigma Y dB`.
struct Drifted {
    b: GridPath,
    mu: f64,
}

impl MatrixPath for Drifted {
    fn dim(&self) -> usize {
        1
    }
    fn observes(&self, n: usize) -> bool {
        self.b.observes(n)
    }
    fn increment(&self, n: usize, k: usize, out: &mut [f64]) {
        self.b.increment(n, k, out);
        out[0] += self.mu / n as f64;
    }
}

/// One GBM path: (Euler-Maruyama `Y_n` at each of `levels`, exact `Y(1)`), `Y(0) = 1`.
fn gbm(mu: f64, sigma: f64, levels: &[usize], seed: u64, p: u64) -> (Vec<f64>, f64) {
    let n = *levels.iter().max().unwrap();
    let mut b = BrownianPath::new(1, 1, sigma, rng::stream(seed, &[p])).unwrap();
    b.refine_to(n).unwrap();
    let b1 = b.grid().value(n)[0];
    let x = Drifted {
        b: b.into_grid(),
        mu,
    };
    let net = PathNet::new(Activation::Identity, false, 0.5);
    let mut ws = NetWorkspace::default();
    let em = levels
        .iter()
        .map(|&l| {
            let mut y = [1.0];
            // beta = natural beta: h + (X(k/l) - X((k-1)/l)) h, Euler-Maruyama
            assert!(net.run(&x, None, l, 0.5, &mut y, &mut ws, |_, _| {}));
            y[0]
        })
        .collect();
    // exact solution: exp((mu - sigma^2/2) t + sigma B(t)); b1 = sigma B(1)
    (em, ((mu - 0.5 * sigma * sigma) + b1).exp())
}

#[test]
fn euler_maruyama_of_gbm_has_the_closed_form_moments() {
    // E Y(1) = e^mu, E Y(1)^2 = e^{2 mu + sigma^2}. Euler-Maruyama with n = 512 steps has
    // E Y_n = (1 + mu/n)^n and E Y_n^2 = ((1 + mu/n)^2 + sigma^2/n)^n, relative biases
    // 2.4e-4 and 1.2e-3 here. With 6000 paths, Y(1) (cv sqrt(e^{sigma^2} - 1) = 0.53) has a
    // sample mean of relative sd 0.0069 and Y(1)^2 (cv sqrt(e^{4 sigma^2} - 1) = 1.31) 0.017:
    // tolerances of 4 sd plus the bias.
    let (mu, sigma, paths) = (0.5, 0.5, 6000);
    let (mut m1, mut m2) = (0.0, 0.0);
    for p in 0..paths {
        let (em, _) = gbm(mu, sigma, &[512], 1, p);
        m1 += em[0] / paths as f64;
        m2 += em[0] * em[0] / paths as f64;
    }
    let (w1, w2) = (mu.exp(), (2.0 * mu + sigma * sigma).exp());
    assert!((m1 / w1 - 1.0).abs() < 0.03, "E Y_1 = {m1} vs {w1}");
    assert!((m2 / w2 - 1.0).abs() < 0.07, "E Y_1^2 = {m2} vs {w2}");
}

#[test]
fn euler_maruyama_of_gbm_converges_strongly_at_rate_one_half() {
    // Strong error E|Y_n - Y(1)| against the exact solution on the same bridge-refined path,
    // n = 16 .. 1024. For GBM the leading error is (sigma^2/2) Y sum (dB^2 - dt), of size
    // n^{-1/2}: slope -1/2. 300 paths put the slope's sd near 0.02; 0.1 is 5 sd.
    let levels = [16, 64, 256, 1024];
    let mut err = [0.0; 4];
    for p in 0..300 {
        let (em, exact) = gbm(0.2, 0.8, &levels, 2, p);
        for (e, y) in err.iter_mut().zip(&em) {
            *e += (y - exact).abs();
        }
    }
    let x: Vec<f64> = levels.iter().map(|&l| l as f64).collect();
    let slope = crate::stats::loglog_slope(&x, &err).unwrap();
    let declared = Euler::new(1).strong_order().unwrap();
    assert!(
        (slope + declared).abs() < 0.1,
        "slope {slope}, errors {err:?}"
    );
}

/// `V(t) = s(t) A` with `s(t) = 1 + cos(2 pi t) + 0.5 sin(4 pi t)` and the 2 x 2 generator
/// `A = [[-a, -w], [w, -a]]`: the field commutes with itself at all times, so
/// `H(t) = exp(S(t) A) h0` with `S(t) = int_0^t s`.
fn commuting_path() -> (FourierPath, impl Fn(f64, [f64; 2]) -> [f64; 2]) {
    let (a, w) = (0.4, 1.5);
    let gen_ = [-a, -w, w, -a];
    let tau = 2.0 * std::f64::consts::PI;
    let omega = vec![0.0, tau, 2.0 * tau];
    let (sc, ss) = ([1.0, 1.0, 0.0], [0.0, 0.0, 0.5]);
    let mut ca = Vec::new();
    let mut cs = Vec::new();
    for b in 0..3 {
        for g in gen_ {
            ca.push(sc[b] * g);
            cs.push(ss[b] * g);
        }
    }
    let path = FourierPath::from_coefficients(2, omega, ca, cs);
    let exact = move |t: f64, h0: [f64; 2]| {
        let s = t + (tau * t).sin() / tau + 0.5 * (1.0 - (2.0 * tau * t).cos()) / (2.0 * tau);
        let (sn, cs) = (w * s).sin_cos();
        let e = (-a * s).exp();
        [e * (cs * h0[0] - sn * h0[1]), e * (sn * h0[0] + cs * h0[1])]
    };
    (path, exact)
}

/// The worst error of `solver` on the commuting closed form with `steps` steps.
fn commuting_error(solver: &mut dyn Solver, steps: usize) -> f64 {
    let (path, exact) = commuting_path();
    let h0 = [0.6, -0.8];
    let term = Term::smooth(&path, None, Activation::Identity);
    let mut h = h0.to_vec();
    let mut worst: f64 = 0.0;
    assert!(integrate(solver, &term, steps, &mut h, |j, y| {
        let want = exact(j as f64 / steps as f64, h0);
        worst = worst.max((y[0] - want[0]).abs().max((y[1] - want[1]).abs()));
    }));
    worst
}

#[test]
fn rk4_on_a_time_dependent_linear_field_matches_its_closed_form() {
    let mut rk = Rk4::new(2);
    let errs = [commuting_error(&mut rk, 32), commuting_error(&mut rk, 64)];
    assert!(errs[1] < 1e-6, "errors {errs:?}");
    let ratio = errs[0] / errs[1];
    assert!((ratio - 16.0).abs() < 2.0, "fourth order: ratio {ratio}");
}

#[test]
fn every_solver_converges_at_its_declared_ode_order() {
    // A smooth linear field with a closed form: the log-log slope of the worst error over
    // steps in {16 .. 256} is minus the declared order (1 Euler, 2 trapezoidal, 4 RK4).
    let steps = [16usize, 32, 64, 128, 256];
    let x: Vec<f64> = steps.iter().map(|&n| n as f64).collect();
    for mut solver in solvers(2) {
        let errs: Vec<f64> = steps
            .iter()
            .map(|&n| commuting_error(solver.as_mut(), n))
            .collect();
        let slope = crate::stats::loglog_slope(&x, &errs).unwrap();
        let order = solver.order();
        assert!(
            (slope + order).abs() < 0.15,
            "{}: slope {slope} vs order {order}, errors {errs:?}",
            solver.name()
        );
    }
}

#[test]
fn rk4_solves_a_constant_rotation_at_fourth_order() {
    // y' = A y, A = [[-a, -w], [w, -a]] constant: y(t) = e^{-a t} R(w t) y0 over [0, 1].
    let (a, w) = (0.3, 2.0);
    let path = FourierPath::from_coefficients(2, vec![0.0], vec![-a, -w, w, -a], vec![0.0; 4]);
    let term = Term::smooth(&path, None, Activation::Identity);
    let error = |steps: usize| {
        let mut y = vec![1.0, 0.5];
        let mut worst: f64 = 0.0;
        integrate(&mut Rk4::new(2), &term, steps, &mut y, |j, yj| {
            let t = j as f64 / steps as f64;
            let (s, c) = (w * t).sin_cos();
            let e = (-a * t).exp();
            let want = [e * (c - s * 0.5), e * (s + c * 0.5)];
            worst = worst.max(((yj[0] - want[0]).powi(2) + (yj[1] - want[1]).powi(2)).sqrt());
        });
        worst
    };
    let (e1, e2) = (error(25), error(50));
    assert!(e1 < 1e-5, "error {e1}");
    let ratio = e1 / e2;
    assert!((ratio - 16.0).abs() < 1.0, "ratio {ratio}");
}

#[test]
fn declared_rates_pick_the_reference_solvers() {
    let rate = |s: &dyn Solver, d: &str| s.strong_rate(&d.parse().unwrap());
    let (euler, heun, rk4) = (Euler::new(1), Heun::new(1), Rk4::new(1));
    assert_eq!(rate(&euler, "rbf(0.2)"), Some(1.0));
    assert_eq!(rate(&euler, "brownian"), Some(0.5));
    assert!((rate(&euler, "fbm(0.75)").unwrap() - 0.5).abs() < 1e-12);
    assert_eq!(rate(&heun, "brownian"), None);
    assert_eq!(rate(&heun, "fbm(0.6)"), Some(2.0 * 0.6 - 0.5));
    assert_eq!(rate(&heun, "fbm(0.9)"), Some(1.0));
    assert_eq!(rate(&rk4, "sines(2)"), Some(4.0));
    assert_eq!(rate(&rk4, "fbm(0.7)"), None);
    assert_eq!(euler.weak_order(), Some(1.0));
    for (driver, want) in [
        ("rbf(0.2)", "RK4"),
        ("fbm(0.75)", "trapezoidal"),
        ("brownian", "Euler-Maruyama"),
    ] {
        let d: Driver = driver.parse().unwrap();
        assert_eq!(reference_solver(&d, 3).label(&d), want, "{driver}");
    }
}

#[test]
fn the_network_is_the_euler_scheme_of_its_term() {
    // PathNet runs through the engine's kernel; the Euler solver through the term. With the
    // natural beta they are the same scheme: equal to rounding on every kind of driver.
    for (driver, inner) in [
        ("brownian", None),
        ("fbm(0.7)", None),
        ("rbf(0.3)", Some("sines(2)")),
        ("sines(3)", None),
    ] {
        let driver: Driver = driver.parse().unwrap();
        let d = 5;
        let x = Sampler::new(driver, d, 64)
            .unwrap()
            .sample(rng::stream(9, &[1]))
            .unwrap();
        let w = inner.map(|s: &str| {
            match Sampler::new(s.parse().unwrap(), d, 64)
                .unwrap()
                .sample(rng::stream(9, &[2]))
                .unwrap()
            {
                Sampled::Smooth(f) => f,
                Sampled::Grid(_) => unreachable!(),
            }
        });
        let act = Activation::Tanh;
        let h0: Vec<f64> = (0..d).map(|i| 0.3 * i as f64 - 0.5).collect();
        let net = PathNet::new(act, w.is_some(), driver.natural_beta());
        let term = Term::new(&x, w.as_ref(), act);
        for depth in [8, 64] {
            let mut by_net = Vec::new();
            let mut h = h0.clone();
            assert!(net.run(
                x.as_path(),
                w.as_ref(),
                depth,
                driver.natural_beta(),
                &mut h,
                &mut NetWorkspace::default(),
                |_, hk| by_net.extend_from_slice(hk),
            ));
            let mut by_euler = Vec::new();
            let mut h = h0.clone();
            assert!(integrate(
                &mut Euler::new(d),
                &term,
                depth,
                &mut h,
                |_, hk| { by_euler.extend_from_slice(hk) }
            ));
            assert_eq!(by_net.len(), by_euler.len());
            for (a, b) in by_net.iter().zip(&by_euler) {
                assert!((a - b).abs() < 1e-12, "{driver} L = {depth}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn heun_solves_scalar_young_equations_far_better_than_euler() {
    // dY = Y dX for a scalar fBm X (H = 0.75): Y(t) = exp(X(t)) by the Young chain rule.
    // Euler's error is ~ (1/2) sum dX^2 ~ n^{1-2H}/2 = 0.03 at n = 256; the trapezoidal
    // rule's is O(n^{1-3H}) (commutative case), below 1e-3.
    let plan = crate::paths::fbm::FgnPlan::new(1024, 0.75).unwrap();
    let (mut e_heun, mut e_euler) = (0.0, 0.0);
    let paths = 50;
    for p in 0..paths {
        let x = fbm_grid_path(1, &plan, 1.0, &mut rng::stream(4, &[p]));
        let exact = x.value(1024)[0].exp();
        let term = Term::rough(&x, None, Activation::Identity);
        let mut y = [1.0];
        assert!(integrate(&mut Heun::new(1), &term, 256, &mut y, |_, _| {}));
        e_heun += (y[0] - exact).abs() / paths as f64;
        let mut y = [1.0];
        assert!(integrate(&mut Euler::new(1), &term, 256, &mut y, |_, _| {}));
        e_euler += (y[0] - exact).abs() / paths as f64;
    }
    assert!(e_heun < 1e-3, "heun {e_heun}");
    assert!(e_euler > 20.0 * e_heun, "euler {e_euler} vs heun {e_heun}");
}

#[test]
fn network_driven_by_a_smooth_path_converges_at_rate_one() {
    // The same closed form: the depth-L network (res1, identity) is a first-order scheme.
    let (path, exact) = commuting_path();
    let h0 = [0.6, -0.8];
    let net = PathNet::new(Activation::Identity, false, 1.0);
    let mut ws = NetWorkspace::default();
    let depths = [20usize, 40, 80, 160, 320];
    let errs: Vec<f64> = depths
        .iter()
        .map(|&l| {
            let mut h = h0.to_vec();
            let mut worst: f64 = 0.0;
            assert!(net.run(&path, None, l, 1.0, &mut h, &mut ws, |k, y| {
                let want = exact(k as f64 / l as f64, h0);
                worst = worst.max(((y[0] - want[0]).powi(2) + (y[1] - want[1]).powi(2)).sqrt());
            }));
            worst
        })
        .collect();
    let x: Vec<f64> = depths.iter().map(|&l| l as f64).collect();
    let slope = crate::stats::loglog_slope(&x, &errs).unwrap();
    assert!((slope + 1.0).abs() < 0.05, "slope {slope}, errors {errs:?}");
    // beta = 1/2 with the same weights moves much further than the limit
    let mut h = h0.to_vec();
    net.run(&path, None, 320, 0.5, &mut h, &mut ws, |_, _| {});
    let limit = exact(1.0, h0);
    assert!(((h[0] - limit[0]).powi(2) + (h[1] - limit[1]).powi(2)).sqrt() > 0.1);
}

#[test]
fn study_errors_fall_at_the_rate_the_euler_solver_declares() {
    // The paired networks are the Euler scheme of the limit: their strong and terminal errors
    // against the reference solution fall as L^-rate with Euler's declared rate for the driver
    // (1 smooth, 1/2 Brownian, 2H - 1 = 0.6 fractional). At d = 2 and L in {32, 128, 512}
    // (beyond the pre-asymptotic range L ~ 4 d^2 of the fractional cross terms), seeds 0..6 give
    // slopes within 0.035 (rbf, 16 paths), 0.065 (Brownian, 128 paths) and 0.056 (fbm, 128
    // paths) of theory; 0.1 is the tolerance.
    for (driver, inner, paths) in [
        ("rbf(0.3)", Some("rbf(0.3)"), 16),
        ("brownian", None, 128),
        ("fbm(0.8)", None, 128),
    ] {
        let driver: Driver = driver.parse().unwrap();
        let inner = inner.map(|s| s.parse().unwrap());
        let study = Study::new(
            driver,
            inner,
            Activation::Relu,
            2,
            vec![32, 128, 512],
            8192,
            &[],
            vec![32],
            2,
            3,
        )
        .unwrap();
        let mut ws = NetWorkspace::default();
        let records: Vec<PathRecord> = (0..paths)
            .map(|p| study.measure(p, &mut ws).unwrap())
            .collect();
        for r in &records {
            for l in &r.levels[0] {
                assert!(l.strong.is_finite() && l.terminal <= l.strong);
            }
        }
        let first = &records[0];
        assert_eq!(first.trajectories.len(), 1);
        assert_eq!(first.trajectories[0].2.t.len(), 33);
        assert!(first.limit_trajectory.is_some());
        assert!(first.reference_check.is_some_and(f64::is_finite));
        let tables = Tables::new(study.depths.clone(), study.betas.clone(), records);
        let rate = study.network_rate();
        let want = match driver {
            Driver::Brownian => 0.5,
            Driver::Fbm { .. } => 0.6,
            _ => 1.0,
        };
        assert!(
            (rate - want).abs() < 1e-12,
            "{driver}: declared rate {rate}"
        );
        for (what, fit) in [
            ("strong", tables.fits.strong[0]),
            ("terminal", tables.fits.terminal[0]),
        ] {
            let slope = fit.unwrap().slope;
            assert!(
                (slope + rate).abs() < 0.1,
                "{driver}: {what} slope {slope} vs -{rate}, errors {:?}",
                tables.cells.strong[0]
            );
        }
    }
}
