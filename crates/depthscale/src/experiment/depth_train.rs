//! What `coord-check` and `transfer` share: a training run of a [`Parameterization`] at one
//! depth, built on the training core ([`Trainer`]), and its batch order.
//!
//! A run's batches follow `train`'s convention: epoch `e` visits the training set in the order
//! of `rng::stream(seed, &[TAG_SHUFFLE, e])`, in chunks of `batch_size`, so the same seed gives
//! the same batches at every depth and learning rate (common random numbers).

use super::parameterization::Parameterization;
use crate::Result;
use crate::kernels::{Backend, BackendChoice, with_backend};
use crate::paths::Init;
use crate::rng;
use crate::train::data::Dataset;
use crate::train::trainer::TAG_SHUFFLE;
use crate::train::{TrainConfig, Trainer};
use rand::seq::SliceRandom;

/// The training config of `p` at depth `depth` with base learning rate `lr` (the rate of the
/// embedding and readout; [`trainer`] applies the depth rule to the hidden tensors); `init_v`
/// overrides the parameterization's law.
#[allow(clippy::needless_update)]
pub(super) fn train_config(
    p: &Parameterization,
    depth: usize,
    width: usize,
    batch_size: usize,
    lr: f64,
    seed: u64,
    init_v: Option<Init>,
) -> Result<TrainConfig> {
    let cfg = TrainConfig {
        seed,
        depth,
        width,
        beta: p.beta,
        lr,
        epochs: 1,
        batch_size,
        lr_step: 1,
        lr_gamma: 1.0,
        init_v: init_v.unwrap_or(p.init_v),
        optimizer: p.optimizer,
        momentum: p.momentum,
        adam_eps: p.eps(depth),
        // fields the training core may gain keep their defaults
        ..TrainConfig::default()
    };
    cfg.validate()?;
    Ok(cfg)
}

/// A freshly initialized trainer on `backend` of `cfg` on `data` with `p`'s learning-rate rule
/// at `cfg.depth`: the rate of the hidden tensors (`V`, biases) multiplied by `L^gamma`
/// (Adam's epsilon `1e-8 L^delta` is already in `cfg`).
pub(super) fn trainer<B: Backend<f32>>(
    backend: B,
    p: &Parameterization,
    cfg: &TrainConfig,
    data: &Dataset,
) -> Result<Trainer<B>> {
    let mut t = Trainer::with_backend(backend, cfg, data.n_features, data.n_classes)?;
    t.set_hidden_lr_factor(p.lr(1.0, cfg.depth));
    Ok(t)
}

/// The training-set order of epoch `epoch` for `seed` (as `train` shuffles it).
pub(super) fn epoch_order(seed: u64, n: usize, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng::stream(seed, &[TAG_SHUFFLE, epoch as u64]));
    order
}

/// What a budgeted run produced.
#[derive(Clone, Copy, Debug)]
pub(super) struct BudgetRun {
    /// Mean batch loss of the last epoch (`NaN` when diverged).
    pub train_loss: f64,
    /// Test loss and accuracy after training (`NaN` when diverged or no test set).
    pub test_loss: f64,
    /// Test accuracy in `[0, 1]`.
    pub test_accuracy: f64,
    /// Whether a batch loss became non-finite (training stopped there).
    pub diverged: bool,
    /// Steps taken.
    pub steps: usize,
}

/// Trains `cfg` (learning rate constant) for `epochs` passes over `data` on `backend`; stops
/// between batches when `progress` is cancelled.
pub(super) fn run_budget(
    backend: &BackendChoice,
    p: &Parameterization,
    cfg: &TrainConfig,
    data: &Dataset,
    epochs: usize,
    progress: &dyn crate::progress::Progress,
) -> Result<BudgetRun> {
    with_backend!(backend, be => run_budget_on(be.clone(), p, cfg, data, epochs, progress))
}

/// [`run_budget`] on the backend `backend`.
fn run_budget_on<B: Backend<f32>>(
    backend: B,
    p: &Parameterization,
    cfg: &TrainConfig,
    data: &Dataset,
    epochs: usize,
    progress: &dyn crate::progress::Progress,
) -> Result<BudgetRun> {
    let mut t = trainer(backend, p, cfg, data)?;
    let n = data.n_train();
    let mut steps = 0;
    let mut last = f64::NAN;
    for epoch in 0..epochs {
        let order = epoch_order(cfg.seed, n, epoch);
        let (mut sum, mut count) = (0.0f64, 0usize);
        for batch in order.chunks(cfg.batch_size) {
            crate::progress::check_cancelled(progress)?;
            let loss = t.step(&data.train_images, &data.train_labels, batch, cfg.lr);
            steps += 1;
            if !loss.is_finite() {
                return Ok(BudgetRun {
                    train_loss: f64::NAN,
                    test_loss: f64::NAN,
                    test_accuracy: f64::NAN,
                    diverged: true,
                    steps,
                });
            }
            sum += loss;
            count += 1;
        }
        last = sum / count.max(1) as f64;
    }
    let (test_loss, test_accuracy) = if data.test_labels.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        t.evaluate(&data.test_images, &data.test_labels)
    };
    Ok(BudgetRun {
        train_loss: last,
        test_loss,
        test_accuracy,
        diverged: !last.is_finite(),
        steps,
    })
}
