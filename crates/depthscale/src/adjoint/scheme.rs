//! Explicit Runge-Kutta schemes as Butcher tableaux, for the adjoint module's forward,
//! backward (augmented) and back-propagated solves.
//!
//! The limits module's [`crate::limits::Solver`]s step the *controlled* equation
//! `dH = dX act(W H)` through the increments of a (possibly rough) control, one state at a time.
//! Training needs more of a scheme than a step: its stages, so that a step can be
//! differentiated (back-propagation) and reused on the augmented adjoint system. A [`Scheme`]
//! is therefore a tableau: the same methods (Euler, the trapezoidal rule Heun, RK4, with the
//! same declared orders, checked against the limits solvers in the tests), plus
//! Dormand-Prince 5(4) with its embedded error estimate for adaptive steps.

/// An explicit Runge-Kutta scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Explicit Euler (one stage; with `n = L` steps on piecewise weights: the ResNet).
    Euler,
    /// The trapezoidal rule (Heun's method), order 2.
    Heun,
    /// The classical fourth-order Runge-Kutta method.
    Rk4,
    /// Dormand-Prince 5(4): fifth-order steps with an embedded fourth-order error estimate.
    Dopri5,
}

/// `(c, a (lower triangle, row-major by stage), b, b_err = b - b_embedded)` of a tableau.
type Tableau = (
    &'static [f64],
    &'static [&'static [f64]],
    &'static [f64],
    &'static [f64],
);

const EULER: Tableau = (&[0.0], &[&[]], &[1.0], &[]);
const HEUN: Tableau = (&[0.0, 1.0], &[&[], &[1.0]], &[0.5, 0.5], &[]);
const RK4: Tableau = (
    &[0.0, 0.5, 0.5, 1.0],
    &[&[], &[0.5], &[0.0, 0.5], &[0.0, 0.0, 1.0]],
    &[1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
    &[],
);
const DOPRI5: Tableau = (
    &[0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0],
    &[
        &[],
        &[0.2],
        &[3.0 / 40.0, 9.0 / 40.0],
        &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
        &[
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
        ],
        &[
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
        ],
        &[
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
        ],
    ],
    &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
        0.0,
    ],
    &[
        35.0 / 384.0 - 5179.0 / 57600.0,
        0.0,
        500.0 / 1113.0 - 7571.0 / 16695.0,
        125.0 / 192.0 - 393.0 / 640.0,
        -2187.0 / 6784.0 + 92097.0 / 339200.0,
        11.0 / 84.0 - 187.0 / 2100.0,
        0.0 - 1.0 / 40.0,
    ],
);

impl Scheme {
    /// Every scheme.
    pub const ALL: [Scheme; 4] = [Scheme::Euler, Scheme::Heun, Scheme::Rk4, Scheme::Dopri5];

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Euler => "euler",
            Scheme::Heun => "heun",
            Scheme::Rk4 => "rk4",
            Scheme::Dopri5 => "dopri5",
        }
    }

    /// Global order of convergence on smooth ODEs.
    pub fn order(self) -> f64 {
        match self {
            Scheme::Euler => 1.0,
            Scheme::Heun => 2.0,
            Scheme::Rk4 => 4.0,
            Scheme::Dopri5 => 5.0,
        }
    }

    fn tableau(self) -> Tableau {
        match self {
            Scheme::Euler => EULER,
            Scheme::Heun => HEUN,
            Scheme::Rk4 => RK4,
            Scheme::Dopri5 => DOPRI5,
        }
    }

    /// Number of stages.
    pub fn stages(self) -> usize {
        self.tableau().0.len()
    }

    /// The node `c_i` of stage `i`.
    pub fn c(self, i: usize) -> f64 {
        self.tableau().0[i]
    }

    /// The coefficients `a_ij`, `j < i`, of stage `i`.
    pub fn a(self, i: usize) -> &'static [f64] {
        self.tableau().1[i]
    }

    /// The weights `b_i` of the step.
    pub fn b(self) -> &'static [f64] {
        self.tableau().2
    }

    /// `b_i - b*_i` of the embedded lower-order method (empty: no error estimate).
    pub fn b_err(self) -> &'static [f64] {
        self.tableau().3
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
