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
    assert!((slope + 0.5).abs() < 0.1, "slope {slope}, errors {err:?}");
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

#[test]
fn rk4_on_a_time_dependent_linear_field_matches_its_closed_form() {
    let (path, exact) = commuting_path();
    let h0 = [0.6, -0.8];
    let mut errs = Vec::new();
    for steps in [32, 64] {
        let mut field = NeuralOdeField::new(&path, None, Activation::Identity);
        let mut h = h0.to_vec();
        let mut worst: f64 = 0.0;
        Rk4::new(2).integrate(
            |t, y, out| field.eval(t, y, out),
            0.0,
            1.0,
            steps,
            &mut h,
            |j, y| {
                let want = exact(j as f64 / steps as f64, h0);
                worst = worst.max((y[0] - want[0]).abs().max((y[1] - want[1]).abs()));
            },
        );
        errs.push(worst);
    }
    assert!(errs[1] < 1e-6, "errors {errs:?}");
    let ratio = errs[0] / errs[1];
    assert!((ratio - 16.0).abs() < 2.0, "fourth order: ratio {ratio}");
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
fn study_measures_small_errors_that_shrink_with_depth() {
    for (driver, inner) in [
        ("rbf(0.3)", Some("rbf(0.3)")),
        ("brownian", None),
        ("fbm(0.8)", None),
    ] {
        let driver: Driver = driver.parse().unwrap();
        let inner = inner.map(|s| s.parse().unwrap());
        let study = Study::new(
            driver,
            inner,
            Activation::Relu,
            6,
            vec![8, 32, 128],
            512,
            &[],
            vec![8],
            2,
            3,
        )
        .unwrap();
        let mut ws = NetWorkspace::default();
        let mut strong = [0.0; 3];
        for p in 0..8 {
            let rec = study.measure(p, &mut ws).unwrap();
            for (s, l) in strong.iter_mut().zip(&rec.levels[0]) {
                assert!(l.strong.is_finite() && l.terminal <= l.strong);
                *s += l.strong;
            }
            if p == 0 {
                assert_eq!(rec.trajectories.len(), 1);
                assert_eq!(rec.trajectories[0].2.t.len(), 9);
                assert!(rec.limit_trajectory.is_some());
                assert!(rec.reference_check.is_some_and(f64::is_finite));
            }
        }
        assert!(
            strong[0] > strong[1] && strong[1] > strong[2],
            "{driver}: {strong:?}"
        );
    }
}
