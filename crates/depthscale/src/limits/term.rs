//! The term of the limit equation (diffrax's "term"): the controlled vector field of
//! `dH = dX(t) act(W(t) H)`.
//!
//! A [`Term`] pairs the control `X` (a [`MatrixPath`], with its derivative `V = dX/dt` when it
//! is smooth) with the field `g(t, h) = act(W(t) h)` (`W = I` for `res1`). Solvers only see the
//! term: they ask for increments `dX` over a step, for `g` at a time, and, for ODE solvers, for
//! the ODE right-hand side `V(t) g(t, h)`. This file is the only place of the limits module where
//! `act(W h)` is written (the network itself runs through the engine's kernel, see
//! [`super::PathNet`]; a test checks that the [`super::Euler`] solver on the term and the network
//! agree to rounding).

use super::driver::Sampled;
use super::path::MatrixPath;
use super::smooth::FourierPath;
use crate::model::Activation;

/// The controlled vector field `dH = dX(t) act(W(t) H)` on `R^d`.
#[derive(Clone, Copy)]
pub struct Term<'a> {
    control: &'a dyn MatrixPath,
    velocity: Option<&'a FourierPath>,
    inner: Option<&'a FourierPath>,
    activation: Activation,
}

impl<'a> Term<'a> {
    /// The term driven by a sampled path (smooth paths also give the control's derivative) with
    /// the smooth inner path `inner` (`None` for `res1`).
    pub fn new(
        control: &'a Sampled,
        inner: Option<&'a FourierPath>,
        activation: Activation,
    ) -> Self {
        match control {
            Sampled::Grid(g) => Self::rough(g, inner, activation),
            Sampled::Smooth(s) => Self::smooth(s, inner, activation),
        }
    }

    /// A term whose control is only known through its increments (Brownian, fractional).
    pub fn rough(
        control: &'a dyn MatrixPath,
        inner: Option<&'a FourierPath>,
        activation: Activation,
    ) -> Self {
        assert_inner_dim(control.dim(), inner);
        Self {
            control,
            velocity: None,
            inner,
            activation,
        }
    }

    /// A term with the smooth control `X(t) = int_0^t V`, `V` given by `velocity`.
    pub fn smooth(
        velocity: &'a FourierPath,
        inner: Option<&'a FourierPath>,
        activation: Activation,
    ) -> Self {
        assert_inner_dim(velocity.dim(), inner);
        Self {
            control: velocity,
            velocity: Some(velocity),
            inner,
            activation,
        }
    }

    /// The state dimension `d`.
    pub fn dim(&self) -> usize {
        self.control.dim()
    }

    /// Whether the control's derivative `V(t)` is known (ODE solvers need it).
    pub fn is_smooth(&self) -> bool {
        self.velocity.is_some()
    }

    /// The activation of the field.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Whether the control can be observed on the grid `{k/n}`.
    pub fn observes(&self, n: usize) -> bool {
        self.control.observes(n)
    }

    /// Writes the control's increment `X(k/n) - X((k-1)/n)` (`d x d`, row-major) into `out`.
    pub fn increment(&self, n: usize, k: usize, out: &mut [f64]) {
        self.control.increment(n, k, out);
    }

    /// `out = g(t, h) = act(W(t) h)`, the weights at `t` taken from (or put into) `scratch`.
    pub fn field(&self, t: f64, h: &[f64], out: &mut [f64], scratch: &mut TermScratch) {
        let s = scratch.slot(self, t, false);
        field(self.activation, s.inner(self), h, out);
    }

    /// `out = V(t) act(W(t) h)`, the right-hand side of the neural ODE `dH/dt = V(t) g(t, H)`.
    ///
    /// # Panics
    /// If the control is not smooth (a programming error: solvers that need `V` declare it, see
    /// [`super::Solver::needs_velocity`]).
    pub fn ode_field(&self, t: f64, h: &[f64], out: &mut [f64], scratch: &mut TermScratch) {
        assert!(
            self.is_smooth(),
            "the ODE right-hand side needs a smooth control"
        );
        let TermScratch { slots, g, .. } = scratch;
        let i = TermScratch::slot_index(slots, &mut scratch.next, self, t, true);
        let s = &slots[i];
        field(self.activation, s.inner(self), h, g);
        product(out, &s.v, g);
    }
}

fn assert_inner_dim(d: usize, inner: Option<&FourierPath>) {
    if let Some(w) = inner {
        assert_eq!(
            w.dim(),
            d,
            "the inner path must have the control's dimension"
        );
    }
}

/// The weights of the term at one time.
#[derive(Clone, Debug)]
struct Slot {
    t: f64,
    w: Vec<f64>,
    v: Vec<f64>,
    has_v: bool,
}

impl Slot {
    fn inner<'s>(&'s self, term: &Term<'_>) -> Option<&'s [f64]> {
        term.inner.map(|_| &self.w[..])
    }
}

/// Scratch of term evaluations, sized once for dimension `d`: the weights `W(t)` (and `V(t)`)
/// at the two most recent times (a step of every solver here evaluates at most three distinct
/// times, the last of which is the next step's first), and one intermediate vector.
#[derive(Clone, Debug)]
pub struct TermScratch {
    slots: [Slot; 2],
    next: usize,
    g: Vec<f64>,
}

impl TermScratch {
    /// Scratch for terms of dimension `d`.
    pub fn new(d: usize) -> Self {
        let slot = Slot {
            t: f64::NAN,
            w: vec![0.0; d * d],
            v: vec![0.0; d * d],
            has_v: false,
        };
        Self {
            slots: [slot.clone(), slot],
            next: 0,
            g: vec![0.0; d],
        }
    }

    fn slot(&mut self, term: &Term<'_>, t: f64, need_v: bool) -> &Slot {
        let i = Self::slot_index(&mut self.slots, &mut self.next, term, t, need_v);
        &self.slots[i]
    }

    fn slot_index(
        slots: &mut [Slot; 2],
        next: &mut usize,
        term: &Term<'_>,
        t: f64,
        need_v: bool,
    ) -> usize {
        let m = term.dim() * term.dim();
        assert_eq!(slots[0].w.len(), m, "term scratch has the wrong dimension");
        let i = match slots.iter().position(|s| s.t == t) {
            Some(i) => i,
            None => {
                let i = *next;
                *next = 1 - i;
                let s = &mut slots[i];
                s.t = t;
                s.has_v = false;
                if let Some(w) = term.inner {
                    w.value(t, &mut s.w);
                }
                i
            }
        };
        let s = &mut slots[i];
        if need_v && !s.has_v {
            if let Some(v) = term.velocity {
                v.value(t, &mut s.v);
            }
            s.has_v = true;
        }
        i
    }
}

/// `out = act(W h)` (`W = I` without `w`; `w` is `d x d` row-major).
pub fn field(act: Activation, w: Option<&[f64]>, h: &[f64], out: &mut [f64]) {
    let d = h.len();
    match w {
        Some(w) => {
            for (o, row) in out.iter_mut().zip(w.chunks_exact(d)) {
                *o = act.apply(row.iter().zip(h).map(|(a, b)| a * b).sum::<f64>());
            }
        }
        None => {
            for (o, x) in out.iter_mut().zip(h) {
                *o = act.apply(*x);
            }
        }
    }
}

/// `out = m g` for a row-major `d x d` matrix `m`.
pub fn product(out: &mut [f64], m: &[f64], g: &[f64]) {
    let d = g.len();
    for (o, row) in out.iter_mut().zip(m.chunks_exact(d)) {
        *o = row.iter().zip(g).map(|(a, b)| a * b).sum();
    }
}

/// `y += s * m g` for a row-major `d x d` matrix `m`.
pub fn add_product(y: &mut [f64], m: &[f64], g: &[f64], s: f64) {
    let d = y.len();
    for (x, row) in y.iter_mut().zip(m.chunks_exact(d)) {
        *x += s * row.iter().zip(g).map(|(a, b)| a * b).sum::<f64>();
    }
}
