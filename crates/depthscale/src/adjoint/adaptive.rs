//! The adjoint method with adaptive Dormand-Prince 5(4) steps (torchdiffeq's `odeint_adjoint`
//! with `dopri5`, diffrax's `BacksolveAdjoint` with a `PIDController`): the forward solve and
//! the backward solve of the augmented system each choose their steps by error control.
//!
//! A step of size `dt` is accepted when the RMS over the state (forward: `h`; backward:
//! `(h, a)`) of `err_i / (atol + rtol max(|y_i|, |y'_i|))` is at most 1, `err` the difference
//! between the fifth- and fourth-order solutions; the next size is `dt * clamp(0.9 e^-1/5, 0.2,
//! 5)`. The parameter gradient of a backward step is added only when the step is accepted.
//! Piecewise-constant paths are refused (their jumps defeat error control; use fixed steps,
//! which align with the layers).

use super::grad::{GradReport, relative_error};
use super::model::{Field, OdeGrads, OdeNet};
use super::path::{PathKind, axpy};
use super::scheme::Scheme;
use crate::{Error, Result};

/// Tolerances of an adaptive solve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

/// What an adaptive adjoint gradient produced, beyond the [`GradReport`].
#[derive(Clone, Debug)]
pub struct AdaptiveReport {
    /// Loss, gradient, states held (2) and the reconstruction error of `h(0)`.
    pub report: GradReport,
    /// Accepted forward steps.
    pub forward_steps: usize,
    /// Accepted backward steps.
    pub backward_steps: usize,
    /// Rejected steps, both directions.
    pub rejected: usize,
}

const SAFETY: f64 = 0.9;
const MIN_FACTOR: f64 = 0.2;
const MAX_FACTOR: f64 = 5.0;
const MAX_STEPS: usize = 1_000_000;

/// Stage buffers of Dormand-Prince on a state of `len` values, with the adjoint's.
struct Dopri {
    field: Field,
    kh: Vec<Vec<f64>>,
    ka: Vec<Vec<f64>>,
    yh: Vec<f64>,
    ya: Vec<f64>,
    hn: Vec<f64>,
    an: Vec<f64>,
    grad: Vec<f64>,
}

fn error_norm(err: &[f64], y0: &[f64], y1: &[f64], tol: Tolerances) -> f64 {
    let s: f64 = err
        .iter()
        .zip(y0)
        .zip(y1)
        .map(|((e, a), b)| {
            let sc = tol.atol + tol.rtol * a.abs().max(b.abs());
            (e / sc) * (e / sc)
        })
        .sum();
    (s / err.len().max(1) as f64).sqrt()
}

fn next_dt(dt: f64, norm: f64) -> f64 {
    let f = if norm == 0.0 {
        MAX_FACTOR
    } else {
        (SAFETY * norm.powf(-0.2)).clamp(MIN_FACTOR, MAX_FACTOR)
    };
    dt * f
}

impl Dopri {
    fn new(d: usize, n: usize, n_params: usize) -> Self {
        let s = Scheme::Dopri5.stages();
        let bufs = || vec![vec![0.0; d * n]; s];
        Self {
            field: Field::new(d, n),
            kh: bufs(),
            ka: bufs(),
            yh: vec![0.0; d * n],
            ya: vec![0.0; d * n],
            hn: vec![0.0; d * n],
            an: vec![0.0; d * n],
            grad: vec![0.0; n_params],
        }
    }

    /// Attempts a step of size `dt` (negative: backwards) from `(t0, h[, a])`, writing the
    /// candidate into `hn` (`an`) and, with an adjoint, its parameter increment into `grad`;
    /// returns the error norm.
    fn attempt(
        &mut self,
        net: &OdeNet,
        t0: f64,
        dt: f64,
        h: &[f64],
        a: Option<&[f64]>,
        tol: Tolerances,
    ) -> f64 {
        let sch = Scheme::Dopri5;
        let seg = t0 + 0.5 * dt;
        let b = sch.b();
        self.grad.fill(0.0);
        for (i, &bi) in b.iter().enumerate() {
            self.yh.copy_from_slice(h);
            for (c, k) in sch.a(i).iter().zip(&self.kh) {
                axpy(dt * c, k, &mut self.yh);
            }
            let t = t0 + sch.c(i) * dt;
            self.field.eval(net, t, seg, &self.yh, &mut self.kh[i]);
            if let Some(a) = a {
                self.ya.copy_from_slice(a);
                for (c, k) in sch.a(i).iter().zip(&self.ka) {
                    axpy(dt * c, k, &mut self.ya);
                }
                self.ka[i].fill(0.0);
                // da/dt = -J^T a ; dg/dt = -(df/dtheta)^T a, integrated with step dt < 0
                self.field.vjp(
                    net,
                    t,
                    seg,
                    &self.yh,
                    &self.ya,
                    -1.0,
                    &mut self.ka[i],
                    -dt * bi,
                    &mut self.grad,
                );
            }
        }
        self.hn.copy_from_slice(h);
        for (bi, k) in b.iter().zip(&self.kh) {
            axpy(dt * bi, k, &mut self.hn);
        }
        let mut err = vec![0.0; h.len()];
        for (e, k) in sch.b_err().iter().zip(&self.kh) {
            axpy(dt * e, k, &mut err);
        }
        let mut norm2 = error_norm(&err, h, &self.hn, tol).powi(2);
        if let Some(a) = a {
            self.an.copy_from_slice(a);
            for (bi, k) in b.iter().zip(&self.ka) {
                axpy(dt * bi, k, &mut self.an);
            }
            err.fill(0.0);
            for (e, k) in sch.b_err().iter().zip(&self.ka) {
                axpy(dt * e, k, &mut err);
            }
            norm2 = 0.5 * (norm2 + error_norm(&err, a, &self.an, tol).powi(2));
        }
        norm2.sqrt()
    }
}

/// The mean cross-entropy of `net` on `x` with `labels` and its adjoint gradient, both solves
/// with adaptive Dormand-Prince 5(4) steps at tolerances `tol`.
///
/// # Errors
/// A typed config error for tolerances that are not positive and finite, a piecewise-constant
/// path, a malformed batch, or more than a million steps.
pub fn adjoint_adaptive(
    net: &OdeNet,
    x: &[f64],
    labels: &[u8],
    tol: Tolerances,
) -> Result<AdaptiveReport> {
    for (field, v) in [("rtol", tol.rtol), ("atol", tol.atol)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::config(
                field,
                format!("must be finite and positive, got {v}"),
            ));
        }
    }
    if matches!(net.path.kind(), PathKind::Piecewise { .. }) {
        return Err(Error::config(
            "path",
            "adaptive steps need a smooth (Fourier) path; piecewise-constant weights take fixed steps",
        ));
    }
    if labels.is_empty() || x.len() != net.n_in * labels.len() {
        return Err(Error::config(
            "batch",
            format!(
                "needs n_in x n inputs for n >= 1 labels, got {} values for {} labels",
                x.len(),
                labels.len()
            ),
        ));
    }
    let (d, n) = (net.dim(), labels.len());
    let mut st = Dopri::new(d, n, net.path.params().len());
    let mut grads = OdeGrads::zeros(net);
    let mut h = vec![0.0; d * n];
    net.embed_into(x, &mut h);
    let h0 = h.clone();
    let (mut t, mut dt): (f64, f64) = (0.0, 0.01);
    let (mut forward_steps, mut backward_steps, mut rejected) = (0, 0, 0);
    let too_many = || Error::config("rtol", format!("needs more than {MAX_STEPS} steps"));
    while t < 1.0 {
        let step = dt.min(1.0 - t);
        let norm = st.attempt(net, t, step, &h, None, tol);
        if norm <= 1.0 {
            h.copy_from_slice(&st.hn);
            t = if step == 1.0 - t { 1.0 } else { t + step };
            forward_steps += 1;
        } else {
            rejected += 1;
        }
        dt = next_dt(step, norm);
        if forward_steps + rejected > MAX_STEPS {
            return Err(too_many());
        }
    }
    let mut a = vec![0.0; d * n];
    let loss = net.loss_and_cotangent(&h, labels, &mut a, &mut grads.readout);
    while t > 0.0 {
        let step = dt.min(t);
        let norm = st.attempt(net, t, -step, &h, Some(&a), tol);
        if norm <= 1.0 {
            h.copy_from_slice(&st.hn);
            a.copy_from_slice(&st.an);
            axpy(1.0, &st.grad, &mut grads.path);
            t = if step == t { 0.0 } else { t - step };
            backward_steps += 1;
        } else {
            rejected += 1;
        }
        dt = next_dt(step, norm);
        if backward_steps + forward_steps + rejected > MAX_STEPS {
            return Err(too_many());
        }
    }
    for (ac, xc) in a.chunks_exact(d).zip(x.chunks_exact(net.n_in)) {
        for (ai, row) in ac.iter().zip(grads.embed.chunks_exact_mut(net.n_in)) {
            axpy(*ai, xc, row);
        }
    }
    Ok(AdaptiveReport {
        report: GradReport {
            loss,
            grads,
            peak_states: 2,
            h0_error: relative_error(&h, &h0),
        },
        forward_steps,
        backward_steps,
        rejected,
    })
}
