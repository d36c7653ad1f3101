//! Time series (Chen et al. 2018, Section 5, the direct fit): one trajectory `h(0) = A x0`,
//! `dh/dt = V(t) act(W(t) h)`, observed through `B h(t_i)` at irregular times `t_i >= 0`
//! (beyond 1 too: the path is evaluated there, a piecewise path keeps its last piece), with the
//! mean squared error to the observations and its gradient by back-propagation through the
//! steps or by the adjoint method, whose backward solve adds `dloss/dh(t_i)` to the adjoint at
//! each observation time as it passes it.
//!
//! The solve steps from observation to observation, each gap cut into the fewest equal steps of
//! at most `max_dt`, so that every observation falls on a step end.

use super::grad::{GradientMethod, Stepper};
use super::model::{OdeGrads, OdeNet};
use super::path::axpy;
use super::scheme::Scheme;
use crate::{Error, Result};

/// A trajectory's observations: sorted times and `n_out` values per time.
#[derive(Clone, Copy, Debug)]
pub struct Observations<'a> {
    /// The initial input `x0` (`n_in` values).
    pub x0: &'a [f64],
    /// Observation times, non-decreasing, `>= 0`.
    pub times: &'a [f64],
    /// Observed values, `n_out` per time, time-major.
    pub values: &'a [f64],
}

/// The loss, gradient and fitted values of a trajectory.
#[derive(Clone, Debug)]
pub struct SeriesReport {
    /// Mean over times and coordinates of the squared error.
    pub loss: f64,
    /// Its gradient.
    pub grads: OdeGrads,
    /// `B h(t_i)`, `n_out` per time.
    pub predictions: Vec<f64>,
}

/// A step from `t0` of size `dt`, or the observation `i` at the current time.
#[derive(Clone, Copy, Debug)]
enum Event {
    Step(f64, f64),
    Observe(usize),
}

fn events(times: &[f64], max_dt: f64) -> Vec<Event> {
    let mut out = Vec::new();
    let mut prev = 0.0;
    for (i, &t) in times.iter().enumerate() {
        let span = t - prev;
        if span > 0.0 {
            // the fewest steps of at most max_dt (a relative slack absorbs rounding of aligned grids)
            let m = ((span / max_dt) * (1.0 - 1e-12)).ceil().max(1.0) as usize;
            let dt = span / m as f64;
            out.extend((0..m).map(|j| Event::Step(prev + j as f64 * dt, dt)));
        }
        out.push(Event::Observe(i));
        prev = t;
    }
    out
}

fn check(net: &OdeNet, obs: &Observations<'_>, max_dt: f64) -> Result<()> {
    if obs.x0.len() != net.n_in {
        return Err(Error::config(
            "x0",
            format!("needs n_in = {} values, got {}", net.n_in, obs.x0.len()),
        ));
    }
    if obs.times.is_empty() || obs.values.len() != obs.times.len() * net.n_out {
        return Err(Error::config(
            "values",
            format!(
                "needs n_out = {} values per time for >= 1 times, got {} values for {} times",
                net.n_out,
                obs.values.len(),
                obs.times.len()
            ),
        ));
    }
    let mut prev = 0.0;
    for &t in obs.times {
        if !(t.is_finite() && t >= prev) {
            return Err(Error::config(
                "times",
                format!("must be finite, >= 0 and non-decreasing, got {t} after {prev}"),
            ));
        }
        prev = t;
    }
    if !(max_dt.is_finite() && max_dt > 0.0) {
        return Err(Error::config(
            "max_dt",
            format!("must be finite and positive, got {max_dt}"),
        ));
    }
    Ok(())
}

/// `B h(t)` at each of `times` (non-decreasing, `>= 0`), `n_out` per time, under `scheme` with
/// steps of at most `max_dt`.
///
/// # Errors
/// A typed config error for a malformed `x0`, unsorted or negative times, or a bad `max_dt`.
pub fn predict(
    net: &OdeNet,
    x0: &[f64],
    times: &[f64],
    scheme: Scheme,
    max_dt: f64,
) -> Result<Vec<f64>> {
    let values = vec![0.0; times.len() * net.n_out];
    let obs = Observations {
        x0,
        times,
        values: &values,
    };
    Ok(series_loss_and_grad(net, &obs, scheme, max_dt, None)?.predictions)
}

/// The mean squared error of `B h(t_i)` against the observations and (with a `method`) its
/// gradient: `Backprop` is exact for the discretization (every step's state kept), `Adjoint`
/// the adjoint method (two states), `Checkpoint` is refused.
///
/// # Errors
/// A typed config error for malformed observations, a bad `max_dt`, or `Checkpoint`.
pub fn series_loss_and_grad(
    net: &OdeNet,
    obs: &Observations<'_>,
    scheme: Scheme,
    max_dt: f64,
    method: Option<GradientMethod>,
) -> Result<SeriesReport> {
    check(net, obs, max_dt)?;
    if method == Some(GradientMethod::Checkpoint) {
        return Err(Error::config(
            "gradient",
            "checkpoint is not available for time series; use backprop or adjoint",
        ));
    }
    let (d, n_out) = (net.dim(), net.n_out);
    let events = events(obs.times, max_dt);
    let mut st = Stepper::new(scheme, d, 1);
    let mut grads = OdeGrads::zeros(net);
    let mut h = vec![0.0; d];
    net.embed_into(obs.x0, &mut h);
    let keep = method == Some(GradientMethod::Backprop);
    let mut states = Vec::new();
    let mut cotangents = vec![0.0; obs.times.len() * d];
    let mut predictions = vec![0.0; obs.times.len() * n_out];
    let scale = 1.0 / (obs.values.len() as f64);
    let mut loss = 0.0;
    for ev in &events {
        match *ev {
            Event::Step(t0, dt) => {
                if keep {
                    states.extend_from_slice(&h);
                }
                st.step(net, t0, dt, &mut h);
            }
            Event::Observe(i) => {
                let pred = &mut predictions[i * n_out..(i + 1) * n_out];
                let cot = &mut cotangents[i * d..(i + 1) * d];
                let y = &obs.values[i * n_out..(i + 1) * n_out];
                for (j, row) in net.readout.chunks_exact(d).enumerate() {
                    pred[j] = row.iter().zip(&h).map(|(b, x)| b * x).sum();
                    let r = pred[j] - y[j];
                    loss += r * r * scale;
                    axpy(2.0 * r * scale, row, cot);
                    axpy(2.0 * r * scale, &h, &mut grads.readout[j * d..(j + 1) * d]);
                }
            }
        }
    }
    let Some(method) = method else {
        return Ok(SeriesReport {
            loss,
            grads,
            predictions,
        });
    };
    let mut a = vec![0.0; d];
    let mut k = states.len() / d.max(1);
    for ev in events.iter().rev() {
        match *ev {
            Event::Observe(i) => axpy(1.0, &cotangents[i * d..(i + 1) * d], &mut a),
            Event::Step(t0, dt) => {
                if method == GradientMethod::Backprop {
                    k -= 1;
                    let y = &states[k * d..(k + 1) * d];
                    st.step_back(net, t0, dt, y, &mut a, &mut grads.path);
                } else {
                    st.adjoint_step(net, t0 + dt, dt, &mut h, &mut a, &mut grads.path);
                }
            }
        }
    }
    for (ai, row) in a.iter().zip(grads.embed.chunks_exact_mut(net.n_in)) {
        axpy(*ai, obs.x0, row);
    }
    Ok(SeriesReport {
        loss,
        grads,
        predictions,
    })
}
