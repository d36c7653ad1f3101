//! The classical Runge-Kutta method and the vector field of the neural ODE.
//!
//! [`Rk4`] integrates `y' = f(t, y)` with fixed steps (global error `O(h^4)` for smooth `f`).
//! With a ReLU the field is only Lipschitz: each crossing of a pre-activation through zero costs
//! one step of local error `O(h^2)`, a global `O(h^2)` that stays far below the network's
//! `O(1/L)` at the reference resolution. [`NeuralOdeField`] is `f(t, H) = V(t) act(W(t) H)`
//! for smooth `V`, `W`, caching the weights at the two most recent times (a step of RK4 uses
//! `t`, `t + h/2` twice and `t + h`, which is the next step's `t`).

use super::smooth::FourierPath;
use crate::model::Activation;

/// Scratch of the classical fourth-order Runge-Kutta method in `R^n`.
#[derive(Clone, Debug)]
pub struct Rk4 {
    k: [Vec<f64>; 4],
    tmp: Vec<f64>,
}

impl Rk4 {
    /// Scratch for states of dimension `n`.
    pub fn new(n: usize) -> Self {
        Self {
            k: std::array::from_fn(|_| vec![0.0; n]),
            tmp: vec![0.0; n],
        }
    }

    /// Integrates `y' = f(t, y, out)` from `t0` to `t1` in `steps` equal steps, updating `y` in
    /// place and calling `on_step(j, y_j)` for `j = 0..=steps` (`y_j` at
    /// `t0 + j (t1 - t0) / steps`).
    pub fn integrate(
        &mut self,
        mut f: impl FnMut(f64, &[f64], &mut [f64]),
        t0: f64,
        t1: f64,
        steps: usize,
        y: &mut [f64],
        mut on_step: impl FnMut(usize, &[f64]),
    ) {
        assert_eq!(
            y.len(),
            self.tmp.len(),
            "rk4: state has the wrong dimension"
        );
        assert!(steps >= 1, "rk4 needs at least one step");
        let time = |j: usize| t0 + (t1 - t0) * j as f64 / steps as f64;
        on_step(0, y);
        let [k1, k2, k3, k4] = &mut self.k;
        let tmp = &mut self.tmp;
        for j in 0..steps {
            let (t, tn) = (time(j), time(j + 1));
            let h = tn - t;
            let mid = t + 0.5 * h;
            f(t, y, k1);
            axpy_into(tmp, y, 0.5 * h, k1);
            f(mid, tmp, k2);
            axpy_into(tmp, y, 0.5 * h, k2);
            f(mid, tmp, k3);
            axpy_into(tmp, y, h, k3);
            f(tn, tmp, k4);
            for i in 0..y.len() {
                y[i] += h / 6.0 * (k1[i] + 2.0 * (k2[i] + k3[i]) + k4[i]);
            }
            on_step(j + 1, y);
        }
    }
}

/// `out = y + a * k`.
fn axpy_into(out: &mut [f64], y: &[f64], a: f64, k: &[f64]) {
    for ((o, y), k) in out.iter_mut().zip(y).zip(k) {
        *o = y + a * k;
    }
}

/// `out = m x` for a row-major `d x d` matrix `m`.
fn matvec(m: &[f64], x: &[f64], out: &mut [f64]) {
    let d = x.len();
    for (o, row) in out.iter_mut().zip(m.chunks_exact(d)) {
        *o = row.iter().zip(x).map(|(a, b)| a * b).sum();
    }
}

/// One cached evaluation of the weights.
#[derive(Clone, Debug)]
struct Slot {
    t: f64,
    v: Vec<f64>,
    w: Vec<f64>,
}

/// The field `f(t, H) = V(t) act(W(t) H)` (`W = I` for `res1`) of the neural ODE.
#[derive(Clone, Debug)]
pub struct NeuralOdeField<'a> {
    v: &'a FourierPath,
    w: Option<&'a FourierPath>,
    activation: Activation,
    slots: [Slot; 2],
    next: usize,
    pre: Vec<f64>,
}

impl<'a> NeuralOdeField<'a> {
    /// The field of `dH/dt = V(t) act(W(t) H)`; without `w`, `dH/dt = V(t) act(H)`.
    pub fn new(v: &'a FourierPath, w: Option<&'a FourierPath>, activation: Activation) -> Self {
        use super::MatrixPath;
        let d = v.dim();
        let slot = Slot {
            t: f64::NAN,
            v: vec![0.0; d * d],
            w: vec![0.0; d * d],
        };
        Self {
            v,
            w,
            activation,
            slots: [slot.clone(), slot],
            next: 0,
            pre: vec![0.0; d],
        }
    }

    /// Writes `f(t, h)` into `out`.
    pub fn eval(&mut self, t: f64, h: &[f64], out: &mut [f64]) {
        let i = match self.slots.iter().position(|s| s.t == t) {
            Some(i) => i,
            None => {
                let i = self.next;
                self.next = 1 - i;
                let s = &mut self.slots[i];
                s.t = t;
                self.v.value(t, &mut s.v);
                if let Some(w) = self.w {
                    w.value(t, &mut s.w);
                }
                i
            }
        };
        let s = &self.slots[i];
        match self.w {
            Some(_) => matvec(&s.w, h, &mut self.pre),
            None => self.pre.copy_from_slice(h),
        }
        for p in self.pre.iter_mut() {
            *p = self.activation.apply(*p);
        }
        matvec(&s.v, &self.pre, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `y' = A y` with `A = [[-a, -w], [w, -a]]`: `y(t) = e^{-a t} R(w t) y0`.
    fn rotation_error(steps: usize) -> f64 {
        let (a, w) = (0.3, 2.0);
        let f = |_t: f64, y: &[f64], out: &mut [f64]| {
            out[0] = -a * y[0] - w * y[1];
            out[1] = w * y[0] - a * y[1];
        };
        let mut y = vec![1.0, 0.5];
        let mut worst: f64 = 0.0;
        let t1 = 2.0;
        let mut rk = Rk4::new(2);
        rk.integrate(f, 0.0, t1, steps, &mut y, |j, yj| {
            let t = t1 * j as f64 / steps as f64;
            let (s, c) = (w * t).sin_cos();
            let e = (-a * t).exp();
            let want = [e * (c * 1.0 - s * 0.5), e * (s * 1.0 + c * 0.5)];
            worst = worst.max(((yj[0] - want[0]).powi(2) + (yj[1] - want[1]).powi(2)).sqrt());
        });
        worst
    }

    #[test]
    fn rk4_matches_the_matrix_exponential_at_fourth_order() {
        let e1 = rotation_error(50);
        let e2 = rotation_error(100);
        assert!(e1 < 1e-5, "error {e1}");
        // halving the step divides the error by 2^4 = 16
        let ratio = e1 / e2;
        assert!((ratio - 16.0).abs() < 1.0, "ratio {ratio}");
    }
}
