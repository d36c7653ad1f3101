//! Adam, SGD (with optional momentum) and the step learning-rate schedule, as in PyTorch
//! (`torch.optim.Adam`, `torch.optim.SGD`, `torch.optim.lr_scheduler.StepLR`).

use crate::kernels::{AdamCoeffs, Backend, CpuBackend, SgdCoeffs};
use crate::model::Params;
use crate::{Error, Float};
use std::fmt;
use std::str::FromStr;

/// Which optimizer a training run uses (the config field `optimizer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Optimizer {
    /// Adam ([`Adam`]), the paper's optimizer.
    #[default]
    Adam,
    /// Stochastic gradient descent, with optional momentum ([`Sgd`]).
    Sgd,
}

impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Optimizer::Adam => "adam",
            Optimizer::Sgd => "sgd",
        })
    }
}

impl FromStr for Optimizer {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.trim() {
            "adam" => Ok(Optimizer::Adam),
            "sgd" => Ok(Optimizer::Sgd),
            other => Err(Error::config(
                "optimizer",
                format!("unknown optimizer {other:?}; accepted: adam, sgd"),
            )),
        }
    }
}

impl TryFrom<String> for Optimizer {
    type Error = Error;
    fn try_from(s: String) -> crate::Result<Self> {
        s.parse()
    }
}

impl From<Optimizer> for String {
    fn from(o: Optimizer) -> String {
        o.to_string()
    }
}

/// SGD without dampening, weight decay or Nesterov, following PyTorch's single-tensor
/// implementation:
///
/// ```text
/// momentum = 0:  p <- p - lr g
/// otherwise:     buf <- g (first step), buf <- momentum buf + g (later steps); p <- p - lr buf
/// ```
///
/// The element loop is the backend's ([`Backend::sgd_update`]).
#[derive(Clone, Debug)]
pub struct Sgd<T> {
    /// Momentum factor (`0`: plain SGD, no buffer).
    pub momentum: f64,
    /// Momentum buffers, shaped like the parameters (empty when `momentum` is 0).
    pub buf: Params<T>,
    /// Number of steps taken.
    pub steps: u64,
}

impl<T: Float> Sgd<T> {
    /// SGD with momentum `momentum` for parameters shaped like `params`.
    pub fn new(params: &Params<T>, momentum: f64) -> Self {
        let mut buf = params.clone();
        if momentum == 0.0 {
            buf = Params::default();
        } else {
            buf.fill_zero();
        }
        Self {
            momentum,
            buf,
            steps: 0,
        }
    }

    /// One update of `params` with gradients `grads` (same shapes as at construction) and
    /// learning rate `lr`.
    ///
    /// # Panics
    /// If a tensor's length differs from the buffers'.
    pub fn step(&mut self, params: &mut Params<T>, grads: &Params<T>, lr: f64) {
        self.steps += 1;
        let coeffs = [self.coeffs(self.steps, lr)];
        let with_buf = self.momentum != 0.0;
        let grads = grads.named();
        for ((p, g), b) in params
            .tensors_mut()
            .into_iter()
            .zip(grads)
            .zip(self.buf.tensors_mut())
        {
            assert!(
                p.len() == g.1.len() && (!with_buf || p.len() == b.len()),
                "SGD: tensor `{}` changed shape",
                g.0
            );
            let buf = with_buf.then_some(b);
            CpuBackend::new().sgd_update(&coeffs, p.len(), p, g.1, buf);
        }
    }

    /// The per-step scalars of step `step` (from 1) at learning rate `lr`.
    pub fn coeffs(&self, step: u64, lr: f64) -> SgdCoeffs<T> {
        SgdCoeffs::new(lr, self.momentum, step)
    }
}

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
    fn sgd_and_momentum_match_a_hand_computation() {
        let g_seq = [0.5, -1.5, 2.0];
        let lr = 0.1;
        for momentum in [0.0, 0.9] {
            let mut p = tiny();
            let p0 = p.clone();
            let mut g = p.clone();
            let mut sgd = Sgd::new(&p, momentum);
            assert_eq!(sgd.buf.v.is_empty(), momentum == 0.0);
            // by hand: buf_1 = g_1, buf_t = momentum buf_{t-1} + g_t, p_t = p_{t-1} - lr buf_t
            let (mut buf, mut want) = (0.0f64, vec![0.0f64; 3]);
            for (t, &gt) in g_seq.iter().enumerate() {
                for x in g.tensors_mut().into_iter().flatten() {
                    *x = gt;
                }
                sgd.step(&mut p, &g, lr);
                buf = if t == 0 { gt } else { momentum * buf + gt };
                want[t] = if t == 0 {
                    -lr * buf
                } else {
                    want[t - 1] - lr * buf
                };
                for (a, b) in p.v.iter().zip(&p0.v) {
                    assert!(
                        (a - b - want[t]).abs() < 1e-15,
                        "{momentum} step {t}: {}",
                        a - b
                    );
                }
            }
            // plain: -0.1 (0.5 - 1.5 + 2) = -0.1; momentum 0.9: buffers 0.5, -1.05, 1.055
            let total = if momentum == 0.0 {
                -0.1
            } else {
                -0.1 * (0.5 - 1.05 + 1.055)
            };
            assert!((want[2] - total).abs() < 1e-15, "{}", want[2]);
            assert_eq!(sgd.steps, 3);
        }
    }

    #[test]
    fn sgd_is_bitwise_the_same_split_across_threads() {
        // longer than one parallel chunk, so the update runs in several tasks
        let n = (1 << 16) * 3 + 17;
        let g: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 1e-2)
            .collect();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let mut p: Vec<f32> = (0..n).map(|i| (i % 13) as f32 * 0.1).collect();
                    let mut buf = vec![0.0f32; n];
                    let backend = CpuBackend::new();
                    for step in 1..=3 {
                        let c = [SgdCoeffs::new(0.01, 0.9, step)];
                        backend.sgd_update(&c, n, &mut p, &g, Some(&mut buf));
                    }
                    p
                })
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn optimizer_names_round_trip() {
        for o in [Optimizer::Adam, Optimizer::Sgd] {
            assert_eq!(o.to_string().parse::<Optimizer>().unwrap(), o);
        }
        assert!(matches!(
            "lbfgs".parse::<Optimizer>(),
            Err(Error::Config { field, .. }) if field == "optimizer"
        ));
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
