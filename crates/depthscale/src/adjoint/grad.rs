//! Loss gradients of an [`OdeNet`] three ways (diffrax's `DirectAdjoint` /
//! `RecursiveCheckpointAdjoint` / `BacksolveAdjoint`):
//!
//! - [`GradientMethod::Backprop`]: the exact gradient of the discretized network, every step's
//!   state kept (`n + 1` states), each step differentiated through its stages;
//! - [`GradientMethod::Checkpoint`]: the same gradient, bit for bit, keeping the state every
//!   `c = ceil(sqrt(n))` steps and recomputing one segment at a time (`~2 sqrt(n)` states);
//! - [`GradientMethod::Adjoint`]: optimize-then-discretize. The augmented system
//!   `dh/dt = f(t, h)`, `da/dt = -J_h(t, h)^T a`, `dg/dt = -(df/dtheta)^T a` is solved backwards
//!   from `t = 1` (`a(1) = dloss/dh(1)`, `g(1) = 0`) with the same scheme, reconstructing `h`
//!   backwards: two states whatever `n`, and a gradient that converges to the exact one at the
//!   scheme's order on smooth weights (and not at all when the backward solve cannot invert the
//!   forward one, see [`GradReport::h0_error`]).

use super::model::{Field, OdeGrads, OdeNet};
use super::path::axpy;
use super::scheme::Scheme;
use crate::{Error, Result};

/// How the gradient is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GradientMethod {
    /// Back-propagation through the solver's steps (`O(n)` states).
    #[default]
    Backprop,
    /// The adjoint method: the augmented system solved backwards (`O(1)` states).
    Adjoint,
    /// Checkpoints every `ceil(sqrt(n))` steps, segments recomputed (`O(sqrt(n))` states).
    Checkpoint,
}

impl GradientMethod {
    /// Every method.
    pub const ALL: [GradientMethod; 3] = [
        GradientMethod::Backprop,
        GradientMethod::Adjoint,
        GradientMethod::Checkpoint,
    ];

    /// Whether this is back-propagation (the default, left out of written configs).
    pub fn is_backprop(&self) -> bool {
        *self == GradientMethod::Backprop
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            GradientMethod::Backprop => "backprop",
            GradientMethod::Adjoint => "adjoint",
            GradientMethod::Checkpoint => "checkpoint",
        }
    }
}

impl std::fmt::Display for GradientMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for GradientMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::config(
                    "gradient",
                    format!("unknown method {s:?}; accepted: backprop, adjoint, checkpoint"),
                )
            })
    }
}

/// A fixed-step solve of `[0, 1]`: `scheme` on the uniform grid `{k / steps}`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Solve {
    /// The Runge-Kutta scheme.
    pub scheme: Scheme,
    /// Number of steps `n >= 1`.
    pub steps: usize,
}

/// What one gradient evaluation produced.
#[derive(Clone, Debug)]
pub struct GradReport {
    /// The loss of the discretized forward solve.
    pub loss: f64,
    /// Its gradient (exact for backprop and checkpoint, the adjoint method's otherwise).
    pub grads: OdeGrads,
    /// The most `d x n` states held at once across steps (the memory that grows with `n`;
    /// the scheme's stage buffers, a constant, are not counted).
    pub peak_states: usize,
    /// Adjoint only (`0` otherwise): `|h0_reconstructed - h0| / |h0|`, the relative error of the
    /// backward reconstruction of `h(0)`.
    pub h0_error: f64,
}

/// Stage buffers of one scheme on batches of `len` values.
pub(super) struct Stepper {
    scheme: Scheme,
    field: Field,
    /// Stage slopes `K_i`.
    k: Vec<Vec<f64>>,
    /// Stage inputs `Y_i`.
    ys: Vec<Vec<f64>>,
    /// Cotangents of the stage inputs (back-propagation) or adjoint stage slopes.
    ybar: Vec<Vec<f64>>,
    /// Adjoint stage inputs `A_i`.
    a_s: Vec<Vec<f64>>,
    kbar: Vec<f64>,
}

impl Stepper {
    pub(super) fn new(scheme: Scheme, d: usize, n: usize) -> Self {
        let s = scheme.stages();
        let bufs = || vec![vec![0.0; d * n]; s];
        Self {
            scheme,
            field: Field::new(d, n),
            k: bufs(),
            ys: bufs(),
            ybar: bufs(),
            a_s: bufs(),
            kbar: vec![0.0; d * n],
        }
    }

    /// `Y_i = y + dt sum_j a_ij K_j` into `ys[i]`.
    fn stage_input(&mut self, i: usize, dt: f64, y: &[f64]) {
        let ys = &mut self.ys[i];
        ys.copy_from_slice(y);
        for (a, kj) in self.scheme.a(i).iter().zip(&self.k) {
            if *a != 0.0 {
                axpy(dt * a, kj, ys);
            }
        }
    }

    /// One forward step from `(t0, y)` of size `dt` (negative: backwards), keeping the stages.
    pub(super) fn step(&mut self, net: &OdeNet, t0: f64, dt: f64, y: &mut [f64]) {
        let seg = t0 + 0.5 * dt;
        for i in 0..self.scheme.stages() {
            self.stage_input(i, dt, y);
            let t = t0 + self.scheme.c(i) * dt;
            self.field.eval(net, t, seg, &self.ys[i], &mut self.k[i]);
        }
        for (b, k) in self.scheme.b().iter().zip(&self.k) {
            if *b != 0.0 {
                axpy(dt * b, k, y);
            }
        }
    }

    /// Back-propagates through the step from `(t0, y)` of size `dt > 0`: `ybar` holds the
    /// cotangent of the step's output and becomes that of `y`; the weight path's gradient is
    /// added to `grad`.
    pub(super) fn step_back(
        &mut self,
        net: &OdeNet,
        t0: f64,
        dt: f64,
        y: &[f64],
        ybar: &mut [f64],
        grad: &mut [f64],
    ) {
        let mut out = y.to_vec();
        self.step(net, t0, dt, &mut out);
        let seg = t0 + 0.5 * dt;
        let s = self.scheme.stages();
        let b = self.scheme.b();
        for i in (0..s).rev() {
            self.kbar.fill(0.0);
            axpy(dt * b[i], ybar, &mut self.kbar);
            for j in i + 1..s {
                let a = self.scheme.a(j)[i];
                if a != 0.0 {
                    axpy(dt * a, &self.ybar[j], &mut self.kbar);
                }
            }
            let t = t0 + self.scheme.c(i) * dt;
            let (ys, k) = (&self.ys[i], &mut self.k[i]);
            self.field.eval(net, t, seg, ys, k);
            self.ybar[i].fill(0.0);
            self.field.vjp(
                net,
                t,
                seg,
                ys,
                &self.kbar,
                1.0,
                &mut self.ybar[i],
                1.0,
                grad,
            );
        }
        for yb in &self.ybar {
            axpy(1.0, yb, ybar);
        }
    }

    /// One step of the augmented adjoint system from `t1` to `t1 - dt` (`dt > 0`): `h` and
    /// `a` move backwards, `grad += dt sum_i b_i (df/dtheta)^T A_i`.
    pub(super) fn adjoint_step(
        &mut self,
        net: &OdeNet,
        t1: f64,
        dt: f64,
        h: &mut [f64],
        a: &mut [f64],
        grad: &mut [f64],
    ) {
        let seg = t1 - 0.5 * dt;
        // the mutant test's Euler adjoint (inert unless DEPTHSCALE_MUTANT=adjoint-euler)
        let euler = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let b = if crate::mutant::is(crate::mutant::Mutant::AdjointEuler) {
            &euler[..self.scheme.stages()]
        } else {
            self.scheme.b()
        };
        // the mutant test's sign error (inert unless DEPTHSCALE_MUTANT=adjoint-sign)
        let sign = if crate::mutant::is(crate::mutant::Mutant::AdjointSign) {
            1.0
        } else {
            -1.0
        };
        for (i, &bi) in b.iter().enumerate() {
            // stage inputs with step -dt: ys[i] (state), a_s[i] (adjoint)
            self.stage_input(i, -dt, h);
            let ai = &mut self.a_s[i];
            ai.copy_from_slice(a);
            for (c, kj) in self.scheme.a(i).iter().zip(&self.ybar) {
                if *c != 0.0 {
                    axpy(-dt * c, kj, ai);
                }
            }
            let t = t1 - self.scheme.c(i) * dt;
            self.field.eval(net, t, seg, &self.ys[i], &mut self.k[i]);
            // adjoint slope -J^T A_i into ybar[i]
            self.ybar[i].fill(0.0);
            self.field.vjp(
                net,
                t,
                seg,
                &self.ys[i],
                &self.a_s[i],
                sign,
                &mut self.ybar[i],
                dt * bi,
                grad,
            );
        }
        for ((bi, k), ka) in b.iter().zip(&self.k).zip(&self.ybar) {
            if *bi != 0.0 {
                axpy(-dt * bi, k, h);
                axpy(-dt * bi, ka, a);
            }
        }
    }
}

fn check(net: &OdeNet, x: &[f64], labels: &[u8], solve: Solve) -> Result<()> {
    if solve.steps == 0 {
        return Err(Error::config("steps", "must be >= 1, got 0"));
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
    Ok(())
}

/// `h(1)` of the inputs `x` (`n_in x n`, column-major) under the fixed-step `solve`.
pub fn forward(net: &OdeNet, x: &[f64], solve: Solve) -> Vec<f64> {
    let (d, n) = (net.dim(), x.len() / net.n_in);
    let mut h = vec![0.0; d * n];
    net.embed_into(x, &mut h);
    let mut st = Stepper::new(solve.scheme, d, n);
    let dt = 1.0 / solve.steps as f64;
    for k in 0..solve.steps {
        st.step(net, k as f64 * dt, dt, &mut h);
    }
    h
}

/// Mean cross-entropy and accuracy on `x` with `labels` under `solve`.
pub fn evaluate(net: &OdeNet, x: &[f64], labels: &[u8], solve: Solve) -> (f64, f64) {
    net.loss_and_accuracy(&forward(net, x, solve), labels)
}

/// `(h(0), the backward reconstruction of h(0))`: `solve` forward to `t = 1`, then the same
/// scheme backwards (negative steps) to `t = 0`.
pub fn reconstruct(net: &OdeNet, x: &[f64], solve: Solve) -> (Vec<f64>, Vec<f64>) {
    let (d, n) = (net.dim(), x.len() / net.n_in);
    let mut h0 = vec![0.0; d * n];
    net.embed_into(x, &mut h0);
    let mut h = h0.clone();
    let mut st = Stepper::new(solve.scheme, d, n);
    let dt = 1.0 / solve.steps as f64;
    for k in 0..solve.steps {
        st.step(net, k as f64 * dt, dt, &mut h);
    }
    for k in (1..=solve.steps).rev() {
        st.step(net, k as f64 * dt, -dt, &mut h);
    }
    // the mutant test's stored states: h(0) read back instead of reconstructed
    if crate::mutant::is(crate::mutant::Mutant::AdjointStoredStates) {
        h.copy_from_slice(&h0);
    }
    (h0, h)
}

/// `|a - b| / |b|` (Euclidean norms).
pub fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

/// The mean cross-entropy of `net` on the batch `x` (`n_in x n`, column-major) with `labels`
/// under the fixed-step `solve`, and its gradient by `method`.
///
/// # Errors
/// A typed config error for zero steps or a batch whose size does not match its labels.
pub fn loss_and_grad(
    net: &OdeNet,
    x: &[f64],
    labels: &[u8],
    solve: Solve,
    method: GradientMethod,
) -> Result<GradReport> {
    check(net, x, labels, solve)?;
    let (d, n) = (net.dim(), labels.len());
    let len = d * n;
    let steps = solve.steps;
    let dt = 1.0 / steps as f64;
    let mut st = Stepper::new(solve.scheme, d, n);
    let mut grads = OdeGrads::zeros(net);
    let mut h = vec![0.0; len];
    net.embed_into(x, &mut h);
    let mut a = vec![0.0; len];
    let (loss, peak_states, h0_error) = match method {
        GradientMethod::Backprop => {
            let mut states = Vec::with_capacity((steps + 1) * len);
            states.extend_from_slice(&h);
            for k in 0..steps {
                st.step(net, k as f64 * dt, dt, &mut h);
                states.extend_from_slice(&h);
            }
            let loss = net.loss_and_cotangent(&h, labels, &mut a, &mut grads.readout);
            for k in (0..steps).rev() {
                let y = &states[k * len..(k + 1) * len];
                st.step_back(net, k as f64 * dt, dt, y, &mut a, &mut grads.path);
            }
            (loss, steps + 1, 0.0)
        }
        GradientMethod::Checkpoint => {
            // the mutant test's fixed interval (inert unless DEPTHSCALE_MUTANT=checkpoint-fixed)
            let c = if crate::mutant::is(crate::mutant::Mutant::CheckpointFixed) {
                2.min(steps)
            } else {
                (steps as f64).sqrt().ceil() as usize
            };
            let segments = steps.div_ceil(c);
            let mut checkpoints = Vec::with_capacity(segments * len);
            for k in 0..steps {
                if k % c == 0 {
                    checkpoints.extend_from_slice(&h);
                }
                st.step(net, k as f64 * dt, dt, &mut h);
            }
            let loss = net.loss_and_cotangent(&h, labels, &mut a, &mut grads.readout);
            let mut seg = Vec::with_capacity(c * len);
            for s in (0..segments).rev() {
                let (k0, k1) = (s * c, ((s + 1) * c).min(steps));
                seg.clear();
                let mut y = checkpoints[s * len..(s + 1) * len].to_vec();
                for k in k0..k1 {
                    seg.extend_from_slice(&y);
                    st.step(net, k as f64 * dt, dt, &mut y);
                }
                for k in (k0..k1).rev() {
                    let y = &seg[(k - k0) * len..(k - k0 + 1) * len];
                    st.step_back(net, k as f64 * dt, dt, y, &mut a, &mut grads.path);
                }
            }
            (loss, segments + c, 0.0)
        }
        GradientMethod::Adjoint => {
            // the mutant test's stored states (inert unless
            // DEPTHSCALE_MUTANT=adjoint-stored-states): h read back, not reconstructed
            let stored = crate::mutant::is(crate::mutant::Mutant::AdjointStoredStates);
            let mut states = Vec::new();
            for k in 0..steps {
                if stored {
                    states.extend_from_slice(&h);
                }
                st.step(net, k as f64 * dt, dt, &mut h);
            }
            let loss = net.loss_and_cotangent(&h, labels, &mut a, &mut grads.readout);
            for k in (1..=steps).rev() {
                st.adjoint_step(net, k as f64 * dt, dt, &mut h, &mut a, &mut grads.path);
                if stored {
                    h.copy_from_slice(&states[(k - 1) * len..k * len]);
                }
            }
            let mut h0 = vec![0.0; len];
            net.embed_into(x, &mut h0);
            let peak = if stored { steps + 1 } else { 2 };
            (loss, peak, relative_error(&h, &h0))
        }
    };
    // dloss/dA = sum over columns of a(0) x^T
    for (ac, xc) in a.chunks_exact(d).zip(x.chunks_exact(net.n_in)) {
        for (ai, row) in ac.iter().zip(grads.embed.chunks_exact_mut(net.n_in)) {
            axpy(*ai, xc, row);
        }
    }
    Ok(GradReport {
        loss,
        grads,
        peak_states,
        h0_error,
    })
}
