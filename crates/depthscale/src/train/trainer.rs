//! The training loop of the paper's protocol: Adam (or SGD), `StepLR`, mini-batches
//! reshuffled every epoch, test metrics after every epoch.
//!
//! Everything inside one run is single-threaded and drawn from streams of the run's seed
//! (weights: see [`super::net`]; the permutation of epoch `e` (0-based) comes from
//! `rng::stream(seed, &[TAG_SHUFFLE, e])`), so the same seed and data give bitwise the same
//! metrics and weights whatever the rayon thread count. A [`Trainer`] owns every buffer of a
//! step, and keeps the network, its gradients and the optimizer's state resident in its backend;
//! steady-state steps do not allocate.

use super::config::TrainConfig;
use super::data::Dataset;
use super::loss::LossKind;
use super::net::{Evaluator, Workspace, init_training, residual_scale};
use super::optim::{Adam, Optimizer, Sgd};
use super::task::{Targets, TrainingSet};
use crate::kernels::{Backend, CpuBackend, NetBatch};
use crate::model::{Params, ResNet, TensorKind, Tensors};
use crate::paths::PathCache;
use crate::progress::Progress;
use crate::{Error, Result, rng};
use rand::seq::SliceRandom;
use std::fmt::Write as _;
use std::time::Instant;

/// Stream tag of the per-epoch shuffles (`"shuf"`).
pub const TAG_SHUFFLE: u64 = 0x7368_7566;

/// Number of test columns evaluated at once.
const EVAL_CHUNK: usize = 500;

/// Batches between two progress notes.
const NOTE_EVERY: usize = 10;

/// What one epoch produced.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean of the epoch's batch losses (`NaN` for the epoch where training diverged).
    pub train_loss: f64,
    /// Mean cross-entropy on the full test set after the epoch (`NaN` if diverged or no test set).
    pub test_loss: f64,
    /// Test accuracy in `[0, 1]` after the epoch (`NaN` if diverged or no test set).
    pub test_accuracy: f64,
    /// Wall-clock seconds of the epoch (training and test evaluation).
    pub seconds: f64,
}

/// The result of [`train`].
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// One entry per epoch run; when training diverged, the last entry is the diverging epoch
    /// with `NaN` losses and accuracy.
    pub metrics: Vec<EpochMetrics>,
    /// Whether a batch loss became non-finite (training then stopped at that batch).
    pub diverged: bool,
    /// The network before training.
    pub initial: ResNet<f32>,
    /// The network after training (when diverged: the parameters that produced the non-finite
    /// loss, no update applied after it).
    pub trained: ResNet<f32>,
}

/// An optimizer's hyper-parameters, step count and state buffers in a backend.
#[derive(Debug)]
enum OptimState<S> {
    /// Adam with its first and second moments (its host moments stay empty).
    Adam {
        adam: Adam<f32>,
        moments: (Tensors<S>, Tensors<S>),
    },
    /// SGD with its momentum buffers (none when the momentum is 0; its host buffers stay
    /// empty).
    Sgd {
        sgd: Sgd<f32>,
        buf: Option<Tensors<S>>,
    },
}

/// One training run's state on backend `B`: network, optimizer and every step buffer, all
/// resident in the backend.
#[derive(Debug)]
pub struct Trainer<B: Backend<f32> = CpuBackend> {
    backend: B,
    net: NetBatch<f32, B>,
    grads: Tensors<B::Buffer>,
    /// The optimizer's hyper-parameters and state, resident in the backend.
    optim: OptimState<B::Buffer>,
    ws: Workspace<f32, B>,
    /// Workspace and gradient of the second half-batch (see [`Trainer::step`]).
    half: (Workspace<f32, B>, Tensors<B::Buffer>),
    eval: Evaluator<B>,
    alpha: f32,
    labels: Vec<u8>,
    /// The batch's target vectors (regression).
    values: Vec<f32>,
    /// Learning-rate multiplier of the per-layer tensors (see [`Trainer::set_hidden_lr_factor`]).
    hidden_lr_factor: f64,
}

impl Trainer<CpuBackend> {
    /// A freshly initialized network for `n_in` inputs and `n_out` classes, with its optimizer
    /// and buffers for batches of `cfg.batch_size`, on the CPU.
    pub fn new(cfg: &TrainConfig, n_in: usize, n_out: usize) -> Result<Self> {
        Self::with_backend(CpuBackend::new(), cfg, n_in, n_out)
    }
}

impl<B: Backend<f32>> Trainer<B> {
    /// A freshly initialized network for `n_in` inputs and `n_out` classes, with its optimizer
    /// and buffers for batches of `cfg.batch_size`, on `backend`.
    pub fn with_backend(backend: B, cfg: &TrainConfig, n_in: usize, n_out: usize) -> Result<Self> {
        cfg.validate()?;
        let host = init_training::<f32>(cfg, cfg.dims(n_in, n_out), &PathCache::new())?;
        Self::from_network(backend, cfg, &host)
    }

    /// A trainer on `backend` starting from the network `host` (its block and depth must be
    /// `cfg`'s), with `cfg`'s optimizer and buffers for batches of `cfg.batch_size`.
    pub fn from_network(backend: B, cfg: &TrainConfig, host: &ResNet<f32>) -> Result<Self> {
        cfg.validate()?;
        let dims = host.dims;
        if host.block != cfg.block_spec() || dims.depth != cfg.depth || dims.width != cfg.width {
            return Err(Error::config(
                "block",
                format!(
                    "the starting network ({:?}, depth {}, width {}) is not the config's ({:?}, depth {}, width {})",
                    host.block,
                    dims.depth,
                    dims.width,
                    cfg.block_spec(),
                    cfg.depth,
                    cfg.width
                ),
            ));
        }
        let net = NetBatch::from_network(backend.clone(), host)?;
        let block = cfg.block_spec();
        let zeros = || Tensors::from_fn(|k| backend.zeros(dims.tensor_len(&block, k)));
        let optim = match cfg.optimizer {
            Optimizer::Adam => {
                let mut adam = Adam::new(&Params::default());
                adam.eps = cfg.adam_eps;
                OptimState::Adam {
                    adam,
                    moments: (zeros(), zeros()),
                }
            }
            Optimizer::Sgd => OptimState::Sgd {
                buf: (cfg.momentum != 0.0).then(zeros),
                sgd: Sgd::new(&Params::default(), cfg.momentum),
            },
        };
        Ok(Self {
            grads: zeros(),
            optim,
            ws: Workspace::with_gradient(
                backend.clone(),
                &block,
                dims,
                cfg.batch_size.div_ceil(2),
                cfg.gradient,
            ),
            half: (
                Workspace::with_gradient(
                    backend.clone(),
                    &block,
                    dims,
                    cfg.batch_size / 2,
                    cfg.gradient,
                ),
                zeros(),
            ),
            eval: Evaluator::with_backend(backend.clone(), &block, dims, EVAL_CHUNK),
            alpha: residual_scale(cfg.depth, cfg.beta) as f32,
            labels: vec![0; cfg.batch_size],
            values: vec![0.0; cfg.batch_size * dims.n_out],
            hidden_lr_factor: 1.0,
            net,
            backend,
        })
    }

    /// A host copy of the current network.
    pub fn network(&self) -> ResNet<f32> {
        self.net.network(0)
    }

    /// A host copy of the current network, consuming the trainer.
    pub fn into_network(self) -> ResNet<f32> {
        self.network()
    }

    /// The residual scale `L^-beta` in use.
    pub fn alpha(&self) -> f32 {
        self.alpha
    }

    /// Multiplies the learning rate of the hidden (per-layer) tensors `V`, `W` and the biases
    /// by `factor` (default 1), e.g. for a depth rule `lr * L^gamma`; the embedding and readout
    /// keep the step's rate.
    pub fn set_hidden_lr_factor(&mut self, factor: f64) {
        self.hidden_lr_factor = factor;
    }

    /// One optimizer step at learning rate `lr` on the samples `batch` (indices into `labels` and
    /// into the rows of `images`, `labels.len() x n_in` row-major); returns the batch's mean
    /// loss before the update. No update is applied when the loss is non-finite. The two halves
    /// of the batch run concurrently (rayon) and their gradients are summed in a fixed order.
    ///
    /// # Panics
    /// If an index is out of range or a label is `>= n_out`.
    pub fn step(&mut self, images: &[f32], labels: &[u8], batch: &[usize], lr: f64) -> f64 {
        self.step_targets(images, Targets::Labels(labels), batch, lr)
    }

    /// [`Trainer::step`] with any [`Targets`] (labels: cross-entropy; target vectors,
    /// `n x n_out` row-major: mean squared error).
    ///
    /// # Panics
    /// If an index is out of range or a label is `>= n_out`.
    pub fn step_targets(
        &mut self,
        images: &[f32],
        targets: Targets<'_, f32>,
        batch: &[usize],
        lr: f64,
    ) -> f64 {
        let (n_in, n_out) = (self.net.dims().n_in, self.net.dims().n_out);
        let n = batch.len();
        // The batch is always split into the same two halves, computed concurrently (columns
        // are independent through the whole depth) and summed in a fixed order: the result does
        // not depend on the number of threads.
        let split = n.div_ceil(2);
        let gather = |part: &[usize], x: &mut [f32]| {
            for (col, &i) in x.chunks_exact_mut(n_in).zip(part) {
                col.copy_from_slice(&images[i * n_in..(i + 1) * n_in]);
            }
        };
        let (b0, b1) = batch.split_at(split);
        self.ws.write_inputs(n_in, b0.len(), |x| gather(b0, x));
        let (ws1, g1) = &mut self.half;
        if !b1.is_empty() {
            ws1.write_inputs(n_in, b1.len(), |x| gather(b1, x));
        }
        let (y0, y1) = match targets {
            Targets::Labels(labels) => {
                self.labels.resize(n, 0);
                for (y, &i) in self.labels.iter_mut().zip(batch) {
                    *y = labels[i];
                }
                let (y0, y1) = self.labels.split_at(split);
                (Targets::Labels(y0), Targets::Labels(y1))
            }
            Targets::Values(values) => {
                self.values.resize(n * n_out, 0.0);
                for (y, &i) in self.values.chunks_exact_mut(n_out).zip(batch) {
                    y.copy_from_slice(&values[i * n_out..(i + 1) * n_out]);
                }
                let (y0, y1) = self.values.split_at(split * n_out);
                (Targets::Values(y0), Targets::Values(y1))
            }
        };
        let (net, alpha, backend) = (&self.net, self.alpha, &self.backend);
        let (ws0, g0) = (&mut self.ws, &mut self.grads);
        let (l0, l1) = rayon::join(
            || ws0.loss_and_grad_targets(net, alpha, y0, n, g0),
            || {
                if b1.is_empty() {
                    for kind in TensorKind::ALL {
                        backend.fill(g1.get_mut(kind), net.tensor_len(kind), 0.0);
                    }
                    0.0
                } else {
                    ws1.loss_and_grad_targets(net, alpha, y1, n, g1)
                }
            },
        );
        // the halves' gradients are summed by the update (in the Adam pass itself)
        let loss = l0 + l1;
        if loss.is_finite() {
            self.update(lr);
        }
        loss
    }

    /// One optimizer update of every tensor from the gradient of the whole batch: the sum of
    /// the two halves' gradients, `self.grads + self.half.1` (Adam sums them in its own pass;
    /// SGD first adds the second half into `self.grads`).
    fn update(&mut self, lr: f64) {
        let lens = TensorKind::ALL.map(|k| self.net.tensor_len(k));
        let (backend, params) = (&self.backend, self.net.params_mut());
        let (grads, half) = (&mut self.grads, &self.half.1);
        // the hidden (per-layer) tensors take `lr * hidden_lr_factor`, the embedding and readout `lr`
        let hidden_lr = lr * self.hidden_lr_factor;
        let rate = |kind: TensorKind| match kind {
            TensorKind::Embed | TensorKind::Readout => lr,
            TensorKind::V | TensorKind::W | TensorKind::Bias => hidden_lr,
        };
        // the mutant test's frozen V (inert unless DEPTHSCALE_MUTANT=frozen-v)
        // and the mutant test's dropped step (inert unless DEPTHSCALE_MUTANT=no-update)
        let frozen = |kind: TensorKind| {
            (kind == TensorKind::V && crate::mutant::is(crate::mutant::Mutant::FrozenV))
                || crate::mutant::is(crate::mutant::Mutant::NoUpdate)
        };
        match &mut self.optim {
            OptimState::Adam { adam, moments } => {
                adam.steps += 1;
                let (m, v) = moments;
                for (kind, len) in TensorKind::ALL.into_iter().zip(lens) {
                    if len > 0 && !frozen(kind) {
                        backend.adam_update_sum(
                            &[adam.coeffs(adam.steps, rate(kind))],
                            len,
                            params.get_mut(kind),
                            grads.get(kind),
                            half.get(kind),
                            m.get_mut(kind),
                            v.get_mut(kind),
                        );
                    }
                }
            }
            OptimState::Sgd { sgd, buf } => {
                sgd.steps += 1;
                for (kind, len) in TensorKind::ALL.into_iter().zip(lens) {
                    if len > 0 && !frozen(kind) {
                        backend.axpy(1.0, half.get(kind), grads.get_mut(kind), len);
                        backend.sgd_update(
                            &[sgd.coeffs(sgd.steps, rate(kind))],
                            len,
                            params.get_mut(kind),
                            grads.get(kind),
                            buf.as_mut().map(|b| b.get_mut(kind)),
                        );
                    }
                }
            }
        }
    }

    /// Mean loss and accuracy of the current network on `images` (`labels.len() x n_in`,
    /// row-major) with `labels`.
    pub fn evaluate(&mut self, images: &[f32], labels: &[u8]) -> (f64, f64) {
        self.eval.evaluate(&self.net, self.alpha, images, labels)
    }

    /// Mean loss and accuracy (`NaN` for target vectors, whose loss is the mean squared error)
    /// of the current network on `images` with `targets`.
    pub fn evaluate_targets(&mut self, images: &[f32], targets: Targets<'_, f32>) -> (f64, f64) {
        self.eval
            .evaluate_targets(&self.net, self.alpha, images, targets)
    }
}

/// Checks a run's loss fits its data's targets.
fn check_loss(cfg: &TrainConfig, data: &dyn TrainingSet) -> Result<()> {
    match (cfg.loss, data.train_split().1) {
        (LossKind::CrossEntropy, Targets::Labels(_)) | (LossKind::Mse, Targets::Values(_)) => {
            Ok(())
        }
        (loss, _) => Err(Error::config(
            "loss",
            format!(
                "{loss} does not fit dataset {}; accepted: cross_entropy for a classification set, mse for a regression set",
                data.name()
            ),
        )),
    }
}

/// Checks a dataset is self-consistent before training on it.
pub(super) fn check_dataset(data: &Dataset) -> Result<()> {
    let bad = |msg: String| Err(Error::data(&data.name, msg));
    if data.n_features == 0 || data.n_classes == 0 || data.n_classes > 256 {
        return bad(format!(
            "needs n_features >= 1 and 1 <= n_classes <= 256, got {} and {}",
            data.n_features, data.n_classes
        ));
    }
    if data.n_train() == 0 {
        return bad("the training set is empty".into());
    }
    for (split, images, labels) in [
        ("train", &data.train_images, &data.train_labels),
        ("test", &data.test_images, &data.test_labels),
    ] {
        if images.len() != labels.len() * data.n_features {
            return bad(format!(
                "{split} set: {} pixel values for {} labels of {} features",
                images.len(),
                labels.len(),
                data.n_features
            ));
        }
        if let Some(y) = labels.iter().find(|&&y| usize::from(y) >= data.n_classes) {
            return bad(format!(
                "{split} set: label {y} out of range 0..{}",
                data.n_classes
            ));
        }
    }
    Ok(())
}

/// Trains the paper's model on `data` with `cfg`: one progress phase per epoch, `on_epoch`
/// called with each epoch's metrics as soon as they are known.
///
/// A non-finite batch loss stops training cleanly (`diverged`, see [`TrainOutcome`]). Runs on
/// the CPU; [`train_on`] takes the backend.
pub fn train(
    cfg: &TrainConfig,
    data: &dyn TrainingSet,
    progress: &dyn Progress,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<TrainOutcome> {
    train_on(CpuBackend::new(), cfg, data, progress, on_epoch)
}

/// [`train`] on `backend`.
pub fn train_on<B: Backend<f32>>(
    backend: B,
    cfg: &TrainConfig,
    data: &dyn TrainingSet,
    progress: &dyn Progress,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<TrainOutcome> {
    cfg.validate()?;
    data.check()?;
    check_loss(cfg, data)?;
    let trainer = Trainer::with_backend(backend, cfg, data.n_features(), data.n_outputs())?;
    train_with(cfg, trainer, data, progress, on_epoch)
}

/// [`train`] from the network `initial` (of `cfg`'s block, depth and width, with
/// `data.n_features()` inputs and `data.n_outputs()` outputs) instead of a fresh draw; on the
/// CPU ([`train_from_on`] takes the backend).
pub fn train_from(
    cfg: &TrainConfig,
    initial: &ResNet<f32>,
    data: &dyn TrainingSet,
    progress: &dyn Progress,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<TrainOutcome> {
    train_from_on(CpuBackend::new(), cfg, initial, data, progress, on_epoch)
}

/// [`train_from`] on `backend`.
pub fn train_from_on<B: Backend<f32>>(
    backend: B,
    cfg: &TrainConfig,
    initial: &ResNet<f32>,
    data: &dyn TrainingSet,
    progress: &dyn Progress,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<TrainOutcome> {
    cfg.validate()?;
    data.check()?;
    check_loss(cfg, data)?;
    if initial.dims != cfg.dims(data.n_features(), data.n_outputs()) {
        return Err(Error::config(
            "depth",
            format!(
                "the starting network's shape {:?} does not fit the config and data",
                initial.dims
            ),
        ));
    }
    let trainer = Trainer::from_network(backend, cfg, initial)?;
    train_with(cfg, trainer, data, progress, on_epoch)
}

/// The training loop of [`train`] with a ready trainer.
fn train_with<B: Backend<f32>>(
    cfg: &TrainConfig,
    mut trainer: Trainer<B>,
    data: &dyn TrainingSet,
    progress: &dyn Progress,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<TrainOutcome> {
    let (train_x, train_y) = data.train_split();
    let (test_x, test_y) = data.test_split();
    let initial = trainer.network();
    let schedule = cfg.schedule();
    let n = data.n_train();
    let n_batches = n.div_ceil(cfg.batch_size);
    let mut order: Vec<usize> = (0..n).collect();
    let mut note = String::with_capacity(64);
    let mut metrics = Vec::with_capacity(cfg.epochs);
    let mut diverged = false;
    for epoch in 0..cfg.epochs {
        let start = Instant::now();
        for (i, o) in order.iter_mut().enumerate() {
            *o = i;
        }
        order.shuffle(&mut rng::stream(cfg.seed, &[TAG_SHUFFLE, epoch as u64]));
        progress.start(
            &format!("epoch {}/{}", epoch + 1, cfg.epochs),
            n_batches as u64,
        );
        let lr = schedule.lr(epoch);
        let mut loss_sum = 0.0f64;
        for (b, batch) in order.chunks(cfg.batch_size).enumerate() {
            crate::progress::check_cancelled(progress)?;
            let loss = trainer.step_targets(train_x, train_y, batch, lr);
            if !loss.is_finite() {
                diverged = true;
                break;
            }
            loss_sum += loss;
            progress.advance(1);
            if (b + 1) % NOTE_EVERY == 0 || b + 1 == n_batches {
                note.clear();
                let _ = write!(note, "loss {:.4}", loss_sum / (b + 1) as f64);
                progress.note(&note);
            }
        }
        let m = if diverged {
            EpochMetrics {
                epoch: epoch + 1,
                train_loss: f64::NAN,
                test_loss: f64::NAN,
                test_accuracy: f64::NAN,
                seconds: start.elapsed().as_secs_f64(),
            }
        } else {
            let (test_loss, test_accuracy) = trainer.evaluate_targets(test_x, test_y);
            EpochMetrics {
                epoch: epoch + 1,
                train_loss: loss_sum / n_batches as f64,
                test_loss,
                test_accuracy,
                seconds: start.elapsed().as_secs_f64(),
            }
        };
        progress.finish();
        metrics.push(m);
        on_epoch(&m);
        if diverged {
            break;
        }
    }
    Ok(TrainOutcome {
        metrics,
        diverged,
        initial,
        trained: trainer.into_network(),
    })
}

#[cfg(test)]
mod tests;
