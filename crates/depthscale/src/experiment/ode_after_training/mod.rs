//! The revision's "ODE after training": do trained weights still converge as depth doubles?
//!
//! For each `(beta, init, activation)` and each even depth `L` of the grid, a depth-`L` res3
//! network is drawn (`V` and `W` with law `init`, `A` and `B` i.i.d. uniform, no bias by
//! default) and a depth-`L/2` network starts from every other layer of the SAME initial
//! weights: with layers numbered from 1, layer `k` of the short network is layer `2k` of the
//! long one (the same `A` and `B`), so that both sample the weights at `t = k / (L/2)`. The
//! long network is scaled by `L^-beta`, the short one by `(L/2)^-beta`; both train on the same
//! Gaussian regression data (`train_samples` inputs and targets of dimension `width`) with the
//! same batches (the shuffle streams depend only on the seed and the epoch), with the mean
//! squared error (PyTorch's `MSELoss`) and SGD at `lr` for `epochs` epochs (the reference code
//! is PyTorch; its optimizer is not stated in the issue, SGD is the default here, `optimizer`
//! switches). Then, for `k = 1..L/2`, the gaps `||V^L_{2k} - V^{L/2}_k||_F` and the same for
//! `W`, with their max and mean over `k`, against `L`; the log-log slope of the max gap against
//! `L` is fitted per `(beta, init, activation)`.
//!
//! Theory: smooth weights with beta = 1 stay a discretization of a neural ODE after training,
//! and the gap decays like `1/L` (slope about -1).
//!
//! Outputs: `layers.csv` (one row per configuration, depth and `k`), `results.csv` (one row per
//! configuration and depth: max and mean gaps, final training losses, test MSEs), `fits.csv`
//! (fitted slopes), `gaps.png/svg` (max gap of `V` against `L` per `(beta, init)`, one curve
//! per activation, slopes in the legend), and the summary (every slope, and their means per
//! `(beta, init)`).

mod output;

use super::presets::preset_toml;
use super::reproduce::{Claim, claims};
use super::{Experiment, RunContext};
use super::{Preset, Reproduce};
use crate::budget::{Footprint, bytes, check_title};
use crate::kernels::{Backend, NetBatch, with_backend};
use crate::model::{Activation, ResNet};
use crate::paths::{Init, PathCache};
use crate::progress::{Progress, Quiet};
use crate::train::{
    BlockKind, Evaluator, LossKind, Optimizer, Regression, TrainConfig, TrainingSet, init_training,
    residual_scale, train_from_on,
};
use crate::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Config of an `ode-after-training` experiment (every field has the reference's default).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OdeAfterTrainingConfig {
    /// Free text shown in figure titles.
    #[serde(default)]
    pub title: String,
    /// Seed of the weights, the data and the batches (shared by every configuration).
    #[serde(default)]
    pub seed: u64,
    /// Width `d`, also the dimension of the inputs and targets.
    #[serde(default = "default_width")]
    pub width: usize,
    /// Depths `L` of the long networks (even; the short ones have `L/2`).
    #[serde(default = "default_depths")]
    pub depth: Vec<usize>,
    /// Scaling exponents (`alpha = L^-beta`).
    #[serde(default = "default_betas")]
    pub beta: Vec<f64>,
    /// Laws of `V` and `W` over depth (each used for both).
    #[serde(default = "default_inits")]
    pub init: Vec<Init>,
    /// Activations.
    #[serde(default = "default_activations")]
    pub activation: Vec<Activation>,
    /// Number of Gaussian training points.
    #[serde(default = "default_train_samples")]
    pub train_samples: usize,
    /// Number of Gaussian test points.
    #[serde(default = "default_test_samples")]
    pub test_samples: usize,
    /// Passes over the training set.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Mini-batch size (cut to the training set).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Learning rate (constant).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// `sgd` or `adam`.
    #[serde(default = "default_optimizer")]
    pub optimizer: Optimizer,
    /// SGD momentum.
    #[serde(default)]
    pub momentum: f64,
    /// Whether the blocks have a bias.
    #[serde(default)]
    pub bias: bool,
}

fn default_width() -> usize {
    40
}
fn default_depths() -> Vec<usize> {
    vec![250, 500, 1000, 2000, 4000]
}
fn default_betas() -> Vec<f64> {
    vec![0.5, 1.0]
}
fn default_inits() -> Vec<Init> {
    ["gaussian", "rbf(0.1)"]
        .map(|s| s.parse().expect("the default laws parse"))
        .to_vec()
}
fn default_activations() -> Vec<Activation> {
    ["relu", "sigmoid", "tanh", "identity"]
        .map(|s| s.parse().expect("the default activations parse"))
        .to_vec()
}
fn default_train_samples() -> usize {
    1
}
fn default_test_samples() -> usize {
    200
}
fn default_epochs() -> usize {
    5
}
fn default_batch_size() -> usize {
    1
}
fn default_lr() -> f64 {
    0.01
}
fn default_optimizer() -> Optimizer {
    Optimizer::Sgd
}

/// One `(beta, init, activation)` configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Case {
    pub beta: f64,
    pub init: Init,
    pub activation: Activation,
}

/// What one pair of networks (depths `L` and `L/2`) gave.
#[derive(Clone, Debug)]
pub(crate) struct Pair {
    pub case: Case,
    pub depth: usize,
    /// `||V^L_{2k} - V^{L/2}_k||_F` for `k = 1..L/2`.
    pub gap_v: Vec<f64>,
    /// The same for `W`.
    pub gap_w: Vec<f64>,
    /// Mean `||V^L_k||_F` of the trained long network (the scale of the gaps).
    pub norm_v: f64,
    pub train_loss: [f64; 2],
    pub test_mse: [f64; 2],
    pub diverged: bool,
}

/// The half-depth network that starts from every other layer of `long`: its layer `k`, counted
/// from 1, is `long`'s layer `2k` (0-based, index `k - 1` takes index `2k - 1`), with the same
/// embedding and readout, copied bit for bit.
///
/// # Errors
/// If `long`'s depth is odd.
pub fn every_other_layer(long: &ResNet<f32>) -> Result<ResNet<f32>> {
    let l = long.dims.depth;
    if !l.is_multiple_of(2) || l < 2 {
        return Err(Error::config(
            "depth",
            format!("must be even and >= 2 to halve, got {l}"),
        ));
    }
    let mut dims = long.dims;
    dims.depth = l / 2;
    let mut short = ResNet::zeros(long.block, dims)?;
    let d = dims.width;
    short.params.embed.clone_from(&long.params.embed);
    short.params.readout.clone_from(&long.params.readout);
    for (t, size) in [(0usize, d * d), (1, d * d), (2, d)] {
        let (src, dst) = match t {
            0 => (&long.params.v, &mut short.params.v),
            1 => (&long.params.w, &mut short.params.w),
            _ => (&long.params.bias, &mut short.params.bias),
        };
        for (k, layer) in dst.chunks_exact_mut(size).enumerate() {
            let at = (2 * k + 1) * size;
            layer.copy_from_slice(&src[at..at + size]);
        }
    }
    Ok(short)
}

/// `||a_{2k} - b_k||_F` for every layer `k` of `b` (layers of `size` values).
fn layer_gaps(long: &[f32], short: &[f32], size: usize) -> Vec<f64> {
    short
        .chunks_exact(size)
        .enumerate()
        .map(|(k, b)| {
            let a = &long[(2 * k + 1) * size..(2 * k + 2) * size];
            a.iter()
                .zip(b)
                .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}

impl OdeAfterTrainingConfig {
    /// Every `(beta, init, activation)`, in table order.
    pub(crate) fn cases(&self) -> Vec<Case> {
        let mut out = Vec::new();
        for &beta in &self.beta {
            for &init in &self.init {
                for &activation in &self.activation {
                    out.push(Case {
                        beta,
                        init,
                        activation,
                    });
                }
            }
        }
        out
    }

    /// The training config of the depth-`depth` network of `case`.
    fn train_config(&self, case: Case, depth: usize) -> TrainConfig {
        TrainConfig {
            seed: self.seed,
            depth,
            width: self.width,
            beta: case.beta,
            lr: self.lr,
            epochs: self.epochs,
            batch_size: self.batch_size.min(self.train_samples.max(1)),
            lr_step: self.epochs.max(1),
            lr_gamma: 1.0,
            init_v: case.init,
            optimizer: self.optimizer,
            momentum: self.momentum,
            loss: LossKind::Mse,
            block: BlockKind::Res3,
            activation: case.activation,
            bias: self.bias,
            init_w: case.init,
            ..TrainConfig::default()
        }
    }

    /// The data: Gaussian inputs and targets from the seed's streams.
    fn data(&self) -> Result<Regression> {
        Regression::gaussian(
            self.seed,
            self.width,
            self.width,
            self.train_samples,
            self.test_samples,
        )
    }

    /// Trains the pair of `case` at depth `l` (long) and `l / 2` (short) on `backend`; stops
    /// when `progress` is cancelled (between batches).
    #[allow(clippy::too_many_arguments)]
    fn run_pair<B: Backend<f32>>(
        &self,
        backend: &B,
        case: Case,
        l: usize,
        data: &Regression,
        train_only: &Regression,
        cache: &PathCache,
        progress: &dyn Progress,
    ) -> Result<Pair> {
        let cfg_long = self.train_config(case, l);
        let cfg_short = self.train_config(case, l / 2);
        let long0 = init_training::<f32>(&cfg_long, cfg_long.dims(self.width, self.width), cache)?;
        let short0 = every_other_layer(&long0)?;
        let mut train_loss = [f64::NAN; 2];
        let mut test_mse = [f64::NAN; 2];
        let mut diverged = false;
        let mut nets = Vec::with_capacity(2);
        for (i, (cfg, start)) in [(&cfg_long, &long0), (&cfg_short, &short0)]
            .into_iter()
            .enumerate()
        {
            // no per-epoch test evaluation: the test MSE is measured once, after training
            crate::progress::check_cancelled(progress)?;
            let out = train_from_on(
                backend.clone(),
                cfg,
                start,
                train_only,
                &Quiet(progress),
                &mut |_| {},
            )?;
            diverged |= out.diverged;
            train_loss[i] = out.metrics.last().map_or(f64::NAN, |m| m.train_loss);
            let (x, y) = data.test_split();
            let net = NetBatch::from_network(backend.clone(), &out.trained)?;
            let alpha = residual_scale(cfg.depth, cfg.beta) as f32;
            let (block, dims) = (&out.trained.block, out.trained.dims);
            let mut eval = Evaluator::with_backend(backend.clone(), block, dims, 256);
            test_mse[i] = eval.evaluate_targets(&net, alpha, x, y).0;
            nets.push(out.trained);
        }
        let (long, short) = (&nets[0], &nets[1]);
        let d = self.width;
        let norm_v = long
            .params
            .v
            .chunks_exact(d * d)
            .map(|m| m.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt())
            .sum::<f64>()
            / l as f64;
        let gap_v = layer_gaps(&long.params.v, &short.params.v, d * d);
        let gap_w = layer_gaps(&long.params.w, &short.params.w, d * d);
        // any non-finite value (weights blown up without a non-finite loss, a NaN test MSE)
        // marks the pair diverged, as a non-finite loss does
        let all_finite = gap_v
            .iter()
            .chain(&gap_w)
            .chain(&train_loss)
            .chain(&test_mse)
            .chain([&norm_v])
            .all(|x| x.is_finite());
        Ok(Pair {
            case,
            depth: l,
            gap_v,
            gap_w,
            norm_v,
            train_loss,
            test_mse,
            diverged: diverged || !all_finite,
        })
    }
}

impl Experiment for OdeAfterTrainingConfig {
    const KIND: &'static str = "ode-after-training";

    const PRESETS: &'static [Preset] = &[Preset {
        name: "ode-after-training",
        toml: preset_toml!("ode-after-training"),
        listed: 17,
        reproduce: Some(Reproduce {
            place: 16,
            quick: None,
            quick_seconds: 4.0,
            full_seconds: 52.0,
            data: false,
            claim: "Revision: after training (MSE, SGD), smooth weights with beta = 1 stay a discretization of a neural ODE: the gap between the trained layers 2k of depth L and k of depth L/2 (same initialization) decays like 1/L.",
        }),
    }];

    fn claims(
        preset: &str,
        dir: &Path,
        summary: &Self::Summary,
        reduced: bool,
    ) -> Result<Vec<Claim>> {
        claims::collect(preset, dir, summary, reduced, claims::of_ode_after_training)
    }

    fn validate(&self) -> Result<()> {
        check_title("title", &self.title)?;
        for (field, empty) in [
            ("depth", self.depth.is_empty()),
            ("beta", self.beta.is_empty()),
            ("init", self.init.is_empty()),
            ("activation", self.activation.is_empty()),
        ] {
            if empty {
                return Err(Error::config(field, "must list at least one value"));
            }
        }
        twice("depth", &self.depth, |l| l.to_string())?;
        twice("beta", &self.beta, |b| b.to_string())?;
        twice("init", &self.init, |i| i.to_string())?;
        twice("activation", &self.activation, |a| a.to_string())?;
        if let Some(&l) = self
            .depth
            .iter()
            .find(|&&l| l < 2 || !l.is_multiple_of(2) || l > 1_000_000)
        {
            return Err(Error::config(
                "depth",
                format!("every depth must be even, in 2..=1000000, got {l}"),
            ));
        }
        crate::accept::positive_integers(&[
            ("width", self.width),
            ("train_samples", self.train_samples),
            ("test_samples", self.test_samples),
        ])?;
        for &init in &self.init {
            init.validate("init")?;
        }
        for &case in &self.cases() {
            for l in [case_depth(&self.depth), 2] {
                self.train_config(case, l).validate()?;
            }
        }
        Ok(())
    }

    fn quick(&mut self) {
        // seven depths, a factor sqrt 2 apart: the depth-corrected slope of the claims fits three
        // coefficients, so its scatter is estimated with four degrees of freedom
        self.depth = vec![64, 90, 128, 180, 256, 362, 512];
        self.test_samples = self.test_samples.min(50);
    }

    fn footprint(&self) -> Result<Footprint> {
        let l = self.depth.iter().copied().max().unwrap_or(2);
        let d = self.width;
        let threads = rayon::current_num_threads().max(1) as u128;
        let jobs = (self.cases().len() * self.depth.len()) as u128;
        let rows: usize = self.depth.iter().sum::<usize>() / 2 * self.cases().len();
        Ok(Footprint::default()
            .memory(
                "depth",
                "two networks' V and W with gradients, optimizer state and host copies (16 x depth x width^2 f32 per pair in flight)",
                bytes(64, &[l, d, d]).saturating_mul(threads),
            )
            .memory(
                "test_samples",
                "the data and the evaluation buffers",
                bytes(8, &[self.train_samples + self.test_samples + 256, d]).saturating_mul(threads),
            )
            .memory("depth", "the per-layer gaps", bytes(16, &[rows]).saturating_add(bytes(256, &[jobs as usize])))
            .memory(
                "epochs",
                "the per-epoch metrics of the networks in training",
                bytes(64, &[self.epochs]).saturating_mul(threads),
            )
            .disk("depth", "layers.csv", bytes(80, &[rows]))
            .disk("depth", "results.csv, fits.csv and the figures", 8 << 20))
    }

    type Summary = crate::experiment::summary::OdeAfterTrainingSummary;

    fn run(&self, ctx: &RunContext) -> Result<Self::Summary> {
        let data = self.data()?;
        data.check()?;
        let train_only = Regression {
            test_x: Vec::new(),
            test_y: Vec::new(),
            ..data.clone()
        };
        let cases = self.cases();
        let jobs: Vec<(Case, usize)> = cases
            .iter()
            .flat_map(|&c| self.depth.iter().map(move |&l| (c, l)))
            .collect();
        let cache = PathCache::new();
        ctx.progress
            .start("training pairs of networks", jobs.len() as u64);
        let pairs = jobs
            .par_iter()
            .map(|&(case, l)| {
                let pair = with_backend!(&ctx.backend, be => {
                    self.run_pair(be, case, l, &data, &train_only, &cache, ctx.progress)
                });
                ctx.progress.advance(1);
                pair
            })
            .collect::<Result<Vec<Pair>>>()?;
        ctx.progress.finish();
        output::write(self, ctx, &cases, &pairs)
    }
}

/// Refuses a list that holds a value twice (its rows and fits would be duplicated).
fn twice<T: PartialEq>(field: &str, values: &[T], show: impl Fn(&T) -> String) -> Result<()> {
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(Error::config(
                field,
                format!("{} appears twice; list each value once", show(v)),
            ));
        }
    }
    Ok(())
}

/// The largest depth (for validation).
fn case_depth(depths: &[usize]) -> usize {
    depths.iter().copied().max().unwrap_or(2)
}

#[cfg(test)]
mod tests;
