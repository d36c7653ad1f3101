//! The hyper-parameters of one training run ([`TrainConfig`]), their validation, and what they
//! imply for the model (block, dimensions, learning-rate schedule).

use super::loss::LossKind;
use super::optim::{Optimizer, StepLr};
use super::task::BlockKind;
use crate::accept;
use crate::adjoint::GradientMethod;
use crate::model::{Activation, BlockSpec, Dims};
use crate::paths::Init;
use crate::{Error, Result};

/// Hyper-parameters of one training run; `Default` is the paper's protocol.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Seed of every random stream of the run.
    pub seed: u64,
    /// Number of residual layers `L`.
    pub depth: usize,
    /// Hidden width `d`.
    pub width: usize,
    /// Residual scale exponent: `alpha_L = L^-beta`.
    pub beta: f64,
    /// Initial learning rate.
    pub lr: f64,
    /// Number of passes over the training set.
    pub epochs: usize,
    /// Mini-batch size (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Epochs between learning-rate decays.
    pub lr_step: usize,
    /// Learning-rate decay factor.
    pub lr_gamma: f64,
    /// Law of the residual weights `V` over depth.
    pub init_v: Init,
    /// The optimizer: Adam (the paper's) or SGD.
    pub optimizer: Optimizer,
    /// SGD momentum (`0`: plain SGD); must be 0 with Adam.
    pub momentum: f64,
    /// Adam's denominator offset `eps`.
    pub adam_eps: f64,
    /// The loss: `cross_entropy` (against labels) or `mse` (against target vectors).
    pub loss: LossKind,
    /// The residual block: `res1` (the paper's training model) or `res3` (`W` trained too).
    pub block: BlockKind,
    /// The block's activation.
    pub activation: Activation,
    /// Whether the block has a bias (outside the activation, starting at zero).
    pub bias: bool,
    /// Law of the inner weights `W` over depth (res3).
    pub init_w: Init,
    /// How gradients are computed: `backprop` (a tape of every layer), `checkpoint` (states
    /// every `ceil(sqrt(L))` layers, the same gradient bit for bit) or `adjoint` (the adjoint
    /// method with the Euler scheme, memory independent of `L`; issue 23).
    #[serde(skip_serializing_if = "GradientMethod::is_backprop")]
    pub gradient: GradientMethod,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            depth: 1000,
            width: 30,
            beta: 0.5,
            lr: 1e-3,
            epochs: 10,
            batch_size: 128,
            lr_step: 5,
            lr_gamma: 0.1,
            init_v: Init::Uniform,
            optimizer: Optimizer::Adam,
            momentum: 0.0,
            adam_eps: 1e-8,
            loss: LossKind::CrossEntropy,
            block: BlockKind::Res1,
            activation: Activation::Relu,
            bias: true,
            init_w: Init::Uniform,
            gradient: GradientMethod::Backprop,
        }
    }
}

impl TrainConfig {
    /// Checks every field against its accepted range.
    pub fn validate(&self) -> Result<()> {
        accept::positive_integers(&[
            ("depth", self.depth),
            ("width", self.width),
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("lr_step", self.lr_step),
        ])?;
        if !self.beta.is_finite() {
            return Err(Error::config(
                "beta",
                format!(
                    "must be finite (accepted range: any real number), got {}",
                    self.beta
                ),
            ));
        }
        accept::positive("lr", self.lr)?;
        accept::positive("lr_gamma", self.lr_gamma)?;
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return Err(Error::config(
                "momentum",
                format!(
                    "must be in [0, 1) (accepted range: 0 <= momentum < 1), got {}",
                    self.momentum
                ),
            ));
        }
        if self.optimizer == Optimizer::Adam && self.momentum != 0.0 {
            return Err(Error::config(
                "momentum",
                format!(
                    "applies to optimizer = \"sgd\" only, got {} with optimizer = \"adam\" (accepted: 0 with adam)",
                    self.momentum
                ),
            ));
        }
        accept::positive("adam_eps", self.adam_eps)?;
        self.init_v.validate("init_v")?;
        self.init_w.validate("init_w")
    }

    /// The residual block trained.
    pub fn block_spec(&self) -> BlockSpec {
        self.block.spec(self.activation, self.bias)
    }

    /// The learning-rate schedule.
    pub fn schedule(&self) -> StepLr {
        StepLr {
            base_lr: self.lr,
            step_size: self.lr_step,
            gamma: self.lr_gamma,
        }
    }

    /// The network shape for `n_in` inputs and `n_out` classes.
    pub fn dims(&self, n_in: usize, n_out: usize) -> Dims {
        Dims {
            n_in,
            width: self.width,
            n_out,
            depth: self.depth,
            inner_width: self.width,
        }
    }
}
