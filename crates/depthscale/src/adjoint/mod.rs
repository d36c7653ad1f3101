//! Training through the ODE's own theory (issue 23): the continuous-depth model
//! `x -> h(0) = A x`, `dh/dt = V(t) act(W(t) h)` on `[0, 1]`, logits `B h(1)`, and its loss
//! gradient three ways, as composable pieces in the style of diffrax:
//!
//! - weights as a trainable path over `t` ([`WeightPath`]: piecewise constant per layer, which
//!   makes `n = L` Euler steps exactly the ResNet `h_k = h_{k-1} + (1/L) V_k act(W_k h_{k-1})`,
//!   or the smooth Fourier series of [`crate::limits::FourierPath`]);
//! - the model and its vector field with vector-Jacobian products ([`OdeNet`], [`Field`]);
//! - schemes as Butcher tableaux ([`Scheme`]: Euler, Heun, RK4, Dormand-Prince 5(4)), whose
//!   stages a step keeps so that it can be back-propagated and reused on the augmented system;
//! - gradients ([`loss_and_grad`] with a [`GradientMethod`]): back-propagation through the
//!   steps (discretize-then-optimize, `n + 1` states), recursive checkpointing (the same
//!   gradient bit for bit, `~2 sqrt(n)` states), and the adjoint method (optimize-then-
//!   discretize: the augmented system solved backwards from `t = 1`, reconstructing `h`
//!   backwards, two states whatever `n`).
//!
//! - time series ([`series_loss_and_grad`]): one trajectory observed at irregular times, its
//!   squared error and gradient by back-propagation or the adjoint method.
//!
//! Everything here is `f64` on the host: it is the reference that the tests hold to finite
//! differences and to the solvers' orders.
//!
//! The adjoint gradient is not the gradient of the discretized loss: it converges to it at the
//! scheme's order as `n` grows when the weights are smooth, and its backward reconstruction of
//! `h(0)` fails when they are not (i.i.d. weights at `beta = 1/2`, the ResNet of a Brownian
//! limit, whose Euler scheme the backward Euler solve does not invert: the error does not
//! vanish with depth). [`gap_study`] and [`reconstruction_error`] measure both.

mod adaptive;
mod grad;
mod init;
mod model;
mod path;
mod scheme;
mod series;
#[cfg(test)]
mod tests;

pub use adaptive::{AdaptiveReport, Tolerances, adjoint_adaptive};
pub use grad::{
    GradReport, GradientMethod, Solve, evaluate, forward, loss_and_grad, reconstruct,
    relative_error,
};
pub use init::{OdeDims, TAG_ODE, iid_net, smooth_net};
pub use model::{Field, OdeGrads, OdeNet};
pub use path::{PathKind, WeightPath};
pub use scheme::Scheme;
pub use series::{Observations, SeriesReport, predict, series_loss_and_grad};

use crate::Result;

/// For each number of steps, the relative gap `|g_adjoint - g_exact| / |g_exact|` between the
/// adjoint gradient and the exact gradient of the discretized loss (back-propagation), both
/// with `scheme` on that many steps.
///
/// # Errors
/// A typed config error for zero steps or a malformed batch.
pub fn gap_study(
    net: &OdeNet,
    x: &[f64],
    labels: &[u8],
    scheme: Scheme,
    steps: &[usize],
) -> Result<Vec<f64>> {
    steps
        .iter()
        .map(|&n| {
            let solve = Solve { scheme, steps: n };
            let exact = loss_and_grad(net, x, labels, solve, GradientMethod::Backprop)?;
            let adj = loss_and_grad(net, x, labels, solve, GradientMethod::Adjoint)?;
            Ok(relative_error(&adj.grads.flat(), &exact.grads.flat()))
        })
        .collect()
}

/// The relative error of the backward reconstruction of `h(0)` under `solve` (forward to
/// `t = 1`, the same scheme backwards).
pub fn reconstruction_error(net: &OdeNet, x: &[f64], solve: Solve) -> f64 {
    let (h0, back) = reconstruct(net, x, solve);
    relative_error(&back, &h0)
}
