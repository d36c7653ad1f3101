//! Adam and the step learning-rate schedule, as in PyTorch (`torch.optim.Adam`,
//! `torch.optim.lr_scheduler.StepLR`).

use crate::Float;
use crate::kernels::{AdamCoeffs, Backend, CpuBackend};
use crate::model::Params;

/// Adam without weight decay, following PyTorch's single-tensor implementation step by step:
///
/// ```text
/// m <- m + (1 - beta1) (g - m)                  (exp_avg.lerp_(grad, 1 - beta1))
/// v <- beta2 v + (1 - beta2) g g                (exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2))
/// denom = sqrt(v) / sqrt(1 - beta2^t) + eps
/// p <- p - (lr / (1 - beta1^t)) m / denom
/// ```
///
/// The bias corrections and the step size are computed in `f64` (Python floats) and rounded to
/// `T` once per step ([`AdamCoeffs`]); the element loop is the backend's
/// ([`Backend::adam_update`]), branch-free and allocation-free.
#[derive(Clone, Debug)]
pub struct Adam<T> {
    /// First-moment decay (`0.9`).
    pub beta1: f64,
    /// Second-moment decay (`0.999`).
    pub beta2: f64,
    /// Denominator offset (`1e-8`).
    pub eps: f64,
    /// First moments, shaped like the parameters.
    pub m: Params<T>,
    /// Second moments, shaped like the parameters.
    pub v: Params<T>,
    /// Number of steps taken.
    pub steps: u64,
}

impl<T: Float> Adam<T> {
    /// PyTorch's defaults (`betas = (0.9, 0.999)`, `eps = 1e-8`) with zero moments shaped like
    /// `params`.
    pub fn new(params: &Params<T>) -> Self {
        let mut m = params.clone();
        m.fill_zero();
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            v: m.clone(),
            m,
            steps: 0,
        }
    }

    /// One update of `params` with gradients `grads` (same shapes as at construction) and
    /// learning rate `lr`.
    ///
    /// # Panics
    /// If a tensor's length differs from the moments'.
    pub fn step(&mut self, params: &mut Params<T>, grads: &Params<T>, lr: f64) {
        self.steps += 1;
        let coeffs = [self.coeffs(self.steps, lr)];
        let grads = grads.named();
        for (((p, g), m), v) in params
            .tensors_mut()
            .into_iter()
            .zip(grads)
            .zip(self.m.tensors_mut())
            .zip(self.v.tensors_mut())
        {
            assert!(
                p.len() == g.1.len() && p.len() == m.len() && p.len() == v.len(),
                "Adam: tensor `{}` changed shape",
                g.0
            );
            // the host parameters are the CPU backend's buffers
            CpuBackend::new().adam_update(&coeffs, p.len(), p, g.1, m, v);
        }
    }

    /// The per-step scalars of step `step` (from 1) at learning rate `lr`, for a backend's
    /// [`Backend::adam_update`] (a trainer that keeps its moments in a backend uses these
    /// hyper-parameters without the host moments).
    pub fn coeffs(&self, step: u64, lr: f64) -> AdamCoeffs<T> {
        AdamCoeffs::new(self.beta1, self.beta2, self.eps, step, lr)
    }
}

/// PyTorch's `StepLR`: the learning rate of epoch `e` (0-based) is
/// `base_lr * gamma^(e / step_size)` (integer division).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLr {
    /// Learning rate of the first epochs.
    pub base_lr: f64,
    /// Number of epochs between decays (`>= 1`).
    pub step_size: usize,
    /// Multiplicative decay.
    pub gamma: f64,
}

impl StepLr {
    /// The learning rate of epoch `epoch` (0-based), multiplied by `gamma` once per completed
    /// period as PyTorch's chained form does (bitwise the same `f64`).
    pub fn lr(&self, epoch: usize) -> f64 {
        let decays = epoch / self.step_size.max(1);
        (0..decays).fold(self.base_lr, |lr, _| lr * self.gamma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, BiasPosition, BlockSpec, Dims};

    fn tiny() -> Params<f64> {
        let block = BlockSpec {
            inner: false,
            bias: BiasPosition::Outside,
            activation: Activation::Relu,
        };
        let dims = Dims {
            n_in: 2,
            width: 2,
            n_out: 1,
            depth: 1,
            inner_width: 2,
        };
        let mut p = Params::zeros(&block, dims);
        for (i, t) in p.tensors_mut().into_iter().enumerate() {
            for (j, x) in t.iter_mut().enumerate() {
                *x = 0.1 * (i + j) as f64 - 0.2;
            }
        }
        p
    }

    #[test]
    fn first_steps_match_the_closed_form() {
        let mut p = tiny();
        let p0 = p.clone();
        let mut g = p.clone();
        for (i, t) in g.tensors_mut().into_iter().enumerate() {
            for (j, x) in t.iter_mut().enumerate() {
                *x = (i as f64 - 1.5) * 0.3 + j as f64 * 0.01;
            }
        }
        let mut adam = Adam::new(&p);
        adam.step(&mut p, &g, 1e-3);
        // step 1: m_hat = g, v_hat = g^2, so p moves by lr * g / (|g| + eps) ~ lr sign(g)
        for ((a, b), c) in p.v.iter().zip(&p0.v).zip(&g.v) {
            let want = b - 1e-3 * c / (c.abs() + 1e-8);
            assert!((a - want).abs() < 1e-15, "{a} vs {want}");
        }
        // step 2 with the same gradient: moments stay g and g^2 after bias correction
        adam.step(&mut p, &g, 1e-3);
        for ((a, b), c) in p.readout.iter().zip(&p0.readout).zip(&g.readout) {
            let want = b - 2.0 * 1e-3 * c / (c.abs() + 1e-8);
            assert!((a - want).abs() < 1e-12, "{a} vs {want}");
        }
        assert_eq!(adam.steps, 2);
    }

    /// Runs six Adam steps with the gradient sequence `g_t` (the same on every entry) under
    /// `StepLR(step_size = 2, gamma = 0.5)` from `lr = 0.1`, one scheduler step per Adam step,
    /// from `p = 1` everywhere, and returns each step's learning rate and displacement of every
    /// entry.
    fn varying_sequence<T: Float>() -> Vec<(f64, Vec<f64>)> {
        let block = BlockSpec {
            inner: false,
            bias: BiasPosition::Outside,
            activation: Activation::Relu,
        };
        let dims = Dims {
            n_in: 2,
            width: 2,
            n_out: 1,
            depth: 1,
            inner_width: 2,
        };
        let mut p = Params::<T>::zeros(&block, dims);
        for x in p.tensors_mut().into_iter().flatten() {
            *x = T::one();
        }
        let p0 = p.clone();
        let mut g = p.clone();
        let schedule = StepLr {
            base_lr: 0.1,
            step_size: 2,
            gamma: 0.5,
        };
        let mut adam = Adam::new(&p);
        [0.5, -1.5, 2.0, -0.25, 1.0, 0.75]
            .iter()
            .enumerate()
            .map(|(t, &gt)| {
                for x in g.tensors_mut().into_iter().flatten() {
                    *x = T::of(gt);
                }
                let lr = schedule.lr(t);
                adam.step(&mut p, &g, lr);
                let moved = p
                    .named()
                    .iter()
                    .zip(p0.named())
                    .flat_map(|(a, b)| a.1.iter().zip(b.1).map(|(x, y)| x.f64() - y.f64()))
                    .collect();
                (lr, moved)
            })
            .collect()
    }

    /// PyTorch 2.15 (`torch.optim.Adam(foreach=False)` with `StepLR(step_size=2, gamma=0.5)`,
    /// float64, `p0 = 1`) and the textbook recursion by hand in Python floats agree bitwise on
    /// these learning rates and positions `p_t` after steps 1..6 for `g = 0.5, -1.5, 2, -0.25,
    /// 1, 0.75`. Step 1 moves by `lr g / (|g| + eps)`; the sign change at step 2 turns the first
    /// moment (`m_2 = -0.105`) and the parameter moves back up.
    const TORCH_SEQUENCE: [(f64, f64); 6] = [
        (0.1, 0.900000002),
        (0.1, 0.9494189848877799),
        (0.05, 0.9361989738783835),
        (0.05, 0.9282593244979807),
        (0.025, 0.9201699422747476),
        (0.025, 0.9100049266107101),
    ];

    #[test]
    fn adam_with_step_lr_matches_pytorch_over_varying_gradients() {
        for (tol, steps) in [
            (1e-15, varying_sequence::<f64>()),
            (1e-6, varying_sequence::<f32>()),
        ] {
            for ((lr, moved), (want_lr, want_p)) in steps.iter().zip(TORCH_SEQUENCE) {
                assert_eq!(*lr, want_lr);
                assert_eq!(moved.len(), 12);
                for m in moved {
                    // displacement from p0 = 1: want_p - 1
                    assert!((m - (want_p - 1.0)).abs() < tol, "{m} vs {}", want_p - 1.0);
                }
            }
        }
    }

    #[test]
    fn step_lr_decays_every_step_size_epochs() {
        let s = StepLr {
            base_lr: 1e-3,
            step_size: 5,
            gamma: 0.1,
        };
        assert_eq!(s.lr(0), 1e-3);
        assert_eq!(s.lr(4), 1e-3);
        assert_eq!(s.lr(5), 1e-3 * 0.1);
        assert_eq!(s.lr(9), 1e-3 * 0.1);
        assert_eq!(s.lr(10), 1e-3 * 0.1 * 0.1);
    }
}
