//! Trainable weight paths `t -> (V(t), W(t))` on `[0, 1]` and their vector-Jacobian products.
//!
//! A [`WeightPath`] holds its parameters `theta` in one flat vector (the `V` part, then the `W`
//! part) and answers two questions at a time `t` of a solver step: the weights there
//! ([`WeightPath::eval`]) and, given cotangents `dV`, `dW` of the weights at `t`, their pull-back
//! onto `theta` ([`WeightPath::pull_back`]).
//!
//! - [`PathKind::Piecewise`]: `L` layers, `V(t) = V_k` on `[(k-1)/L, k/L)`. The layer of an
//!   evaluation is the one that holds the *midpoint of the solver step* (`seg`), not `t`
//!   itself, so a step of a grid that refines the layer grid stays inside one layer (its stages
//!   at the step's right end see the step's layer). With `n = L` Euler steps the model is
//!   exactly the ResNet `h_k = h_{k-1} + (1/L) V_k act(W_k h_{k-1})`.
//! - [`PathKind::Fourier`]: `V_e(t) = sum_b a[b, e] cos(w_b t) + c[b, e] sin(w_b t)` (the
//!   [`crate::limits::FourierPath`] series of the limits module, whose coefficients become
//!   the parameters), smooth in `t`.

use crate::limits::FourierPath;

/// How a path's parameters define the weights over `t`.
#[derive(Clone, Debug, PartialEq)]
pub enum PathKind {
    /// `layers` constant pieces; parameters `[layers, d, d]` per matrix.
    Piecewise {
        /// Number of pieces `L`.
        layers: usize,
    },
    /// Trigonometric series; parameters `(a, c)`, `[terms, d, d]` each, per matrix.
    Fourier {
        /// Angular frequencies of `V`'s series.
        omega_v: Vec<f64>,
        /// Angular frequencies of `W`'s series (empty without `W`).
        omega_w: Vec<f64>,
    },
}

/// Trainable weights `V(t)` (and `W(t)` unless `W = I`) over `t in [0, 1]`, `d x d` each.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightPath {
    dim: usize,
    inner: bool,
    kind: PathKind,
    params: Vec<f64>,
}

impl WeightPath {
    /// Piecewise-constant weights from the stacks `v` (`[L, d, d]`) and, if given, `w` (same
    /// shape).
    ///
    /// # Panics
    /// If the stacks are empty or not `L` square `d x d` matrices (one `L` for both).
    pub fn piecewise(dim: usize, v: &[f64], w: Option<&[f64]>) -> Self {
        let m = dim * dim;
        assert!(
            m > 0 && !v.is_empty() && v.len().is_multiple_of(m),
            "piecewise path: v must hold L x d x d values"
        );
        let layers = v.len() / m;
        let mut params = v.to_vec();
        if let Some(w) = w {
            assert_eq!(w.len(), v.len(), "piecewise path: w must be shaped like v");
            params.extend_from_slice(w);
        }
        Self {
            dim,
            inner: w.is_some(),
            kind: PathKind::Piecewise { layers },
            params,
        }
    }

    /// The smooth path with the series of `v` (and `w`), their coefficients as parameters.
    ///
    /// # Panics
    /// If `w` has another dimension than `v`.
    pub fn fourier(v: &FourierPath, w: Option<&FourierPath>) -> Self {
        let dim = crate::limits::MatrixPath::dim(v);
        let mut params = Vec::new();
        let (a, c) = v.coefficients();
        params.extend_from_slice(a);
        params.extend_from_slice(c);
        let omega_w = match w {
            Some(w) => {
                assert_eq!(
                    crate::limits::MatrixPath::dim(w),
                    dim,
                    "fourier path: w must have v's dimension"
                );
                let (a, c) = w.coefficients();
                params.extend_from_slice(a);
                params.extend_from_slice(c);
                w.frequencies().to_vec()
            }
            None => Vec::new(),
        };
        Self {
            dim,
            inner: w.is_some(),
            kind: PathKind::Fourier {
                omega_v: v.frequencies().to_vec(),
                omega_w,
            },
            params,
        }
    }

    /// The state dimension `d`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Whether the field has an inner matrix `W(t)` (else `W = I`).
    pub fn has_inner(&self) -> bool {
        self.inner
    }

    /// How the parameters define the path.
    pub fn kind(&self) -> &PathKind {
        &self.kind
    }

    /// The flat parameters `theta` (the `V` part, then the `W` part).
    pub fn params(&self) -> &[f64] {
        &self.params
    }

    /// The flat parameters, mutable (an optimizer's update).
    pub fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    /// Number of parameters of the `V` part.
    fn v_len(&self) -> usize {
        let m = self.dim * self.dim;
        match &self.kind {
            PathKind::Piecewise { layers } => layers * m,
            PathKind::Fourier { omega_v, .. } => 2 * omega_v.len() * m,
        }
    }

    /// The piece holding the step midpoint `seg` (piecewise paths).
    fn layer(layers: usize, seg: f64) -> usize {
        ((seg * layers as f64).floor().max(0.0) as usize).min(layers - 1)
    }

    /// Writes `V(t)` into `v` and, with an inner matrix, `W(t)` into `w`, for an evaluation at
    /// `t` inside the solver step whose midpoint is `seg`.
    pub fn eval(&self, t: f64, seg: f64, v: &mut [f64], w: &mut [f64]) {
        let m = self.dim * self.dim;
        let (pv, pw) = self.params.split_at(self.v_len());
        match &self.kind {
            PathKind::Piecewise { layers } => {
                let k = Self::layer(*layers, seg);
                v.copy_from_slice(&pv[k * m..(k + 1) * m]);
                if self.inner {
                    w.copy_from_slice(&pw[k * m..(k + 1) * m]);
                }
            }
            PathKind::Fourier { omega_v, omega_w } => {
                series(omega_v, pv, m, t, v);
                if self.inner {
                    series(omega_w, pw, m, t, w);
                }
            }
        }
    }

    /// Adds `scale` times the pull-back of the weight cotangents `dv` (and `dw`) at `t` (step
    /// midpoint `seg`) to `grad` (shaped like [`WeightPath::params`]).
    pub fn pull_back(
        &self,
        t: f64,
        seg: f64,
        scale: f64,
        dv: &[f64],
        dw: &[f64],
        grad: &mut [f64],
    ) {
        let m = self.dim * self.dim;
        let (gv, gw) = grad.split_at_mut(self.v_len());
        match &self.kind {
            PathKind::Piecewise { layers } => {
                let k = Self::layer(*layers, seg);
                axpy(scale, dv, &mut gv[k * m..(k + 1) * m]);
                if self.inner {
                    axpy(scale, dw, &mut gw[k * m..(k + 1) * m]);
                }
            }
            PathKind::Fourier { omega_v, omega_w } => {
                series_pull_back(omega_v, m, t, scale, dv, gv);
                if self.inner {
                    series_pull_back(omega_w, m, t, scale, dw, gw);
                }
            }
        }
    }
}

/// `y += a x`.
pub(crate) fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `out = sum_b cos(w_b t) a_b + sin(w_b t) c_b` with `p = (a, c)`, `[terms, m]` each.
fn series(omega: &[f64], p: &[f64], m: usize, t: f64, out: &mut [f64]) {
    let (a, c) = p.split_at(omega.len() * m);
    out.fill(0.0);
    for ((w, a), c) in omega.iter().zip(a.chunks_exact(m)).zip(c.chunks_exact(m)) {
        let (s, co) = (w * t).sin_cos();
        for ((o, x), y) in out.iter_mut().zip(a).zip(c) {
            *o += co * x + s * y;
        }
    }
}

/// The transpose of [`series`]: `grad_a[b] += scale cos(w_b t) d`, `grad_c[b] += scale sin(w_b t) d`.
fn series_pull_back(omega: &[f64], m: usize, t: f64, scale: f64, d: &[f64], grad: &mut [f64]) {
    let (ga, gc) = grad.split_at_mut(omega.len() * m);
    for ((w, ga), gc) in omega
        .iter()
        .zip(ga.chunks_exact_mut(m))
        .zip(gc.chunks_exact_mut(m))
    {
        let (s, co) = (w * t).sin_cos();
        axpy(scale * co, d, ga);
        axpy(scale * s, d, gc);
    }
}
