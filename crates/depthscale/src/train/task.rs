//! What a training run learns: the residual block it trains ([`BlockKind`], defined in
//! [`crate::model`] and shared by every config with a `block` or `model` field), what a sample is
//! trained to produce ([`Targets`]: class labels or target vectors) and the sets it trains and
//! is tested on ([`TrainingSet`]: a classification [`Dataset`] or a [`Regression`] set).

use super::data::Dataset;
pub use crate::model::BlockKind;
use crate::{Error, Result, rng};
use rand_distr::{Distribution, StandardNormal};

/// Stream tag of a Gaussian regression set (`"regr"`).
pub const TAG_REGRESSION: u64 = 0x7265_6772;

/// What the samples of a batch or a split are trained to produce.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a, T> {
    /// One class label per sample (cross-entropy).
    Labels(&'a [u8]),
    /// One vector of `n_out` values per sample, `n x n_out` row-major (mean squared error).
    Values(&'a [T]),
}

impl<T> Targets<'_, T> {
    /// Number of samples, for outputs of dimension `n_out`.
    pub fn samples(&self, n_out: usize) -> usize {
        match self {
            Targets::Labels(l) => l.len(),
            Targets::Values(v) => v.len() / n_out.max(1),
        }
    }
}

/// A training set and a test set of inputs (`n x n_features`, row-major) with their targets.
pub trait TrainingSet: Sync {
    /// Short name (in figures and summaries).
    fn name(&self) -> &str;
    /// Input dimension.
    fn n_features(&self) -> usize;
    /// Output dimension (classes, or the dimension of the target vectors).
    fn n_outputs(&self) -> usize;
    /// Number of training samples.
    fn n_train(&self) -> usize;
    /// The training inputs and targets.
    fn train_split(&self) -> (&[f32], Targets<'_, f32>);
    /// The test inputs and targets.
    fn test_split(&self) -> (&[f32], Targets<'_, f32>);
    /// Checks the set is self-consistent (sizes, labels in range).
    fn check(&self) -> Result<()>;
}

impl TrainingSet for Dataset {
    fn name(&self) -> &str {
        &self.name
    }
    fn n_features(&self) -> usize {
        self.n_features
    }
    fn n_outputs(&self) -> usize {
        self.n_classes
    }
    fn n_train(&self) -> usize {
        Dataset::n_train(self)
    }
    fn train_split(&self) -> (&[f32], Targets<'_, f32>) {
        (&self.train_images, Targets::Labels(&self.train_labels))
    }
    fn test_split(&self) -> (&[f32], Targets<'_, f32>) {
        (&self.test_images, Targets::Labels(&self.test_labels))
    }
    fn check(&self) -> Result<()> {
        super::trainer::check_dataset(self)
    }
}

/// A regression set: inputs and target vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    /// Short name (`gaussian-regression`).
    pub name: String,
    /// Input dimension.
    pub n_features: usize,
    /// Target dimension.
    pub n_outputs: usize,
    /// Training inputs, `n_train x n_features`, row-major.
    pub train_x: Vec<f32>,
    /// Training targets, `n_train x n_outputs`, row-major.
    pub train_y: Vec<f32>,
    /// Test inputs, `n_test x n_features`, row-major.
    pub test_x: Vec<f32>,
    /// Test targets, `n_test x n_outputs`, row-major.
    pub test_y: Vec<f32>,
}

impl Regression {
    /// Standard Gaussian inputs and targets (the revision's "ODE after training" data): the
    /// training and test inputs and targets each from their own stream
    /// `rng::stream(seed, &[TAG_REGRESSION, split, t])` (`split`: train 0, test 1; `t`: inputs
    /// 0, targets 1), drawn in `f64` and rounded to `f32`.
    pub fn gaussian(
        seed: u64,
        n_features: usize,
        n_outputs: usize,
        n_train: usize,
        n_test: usize,
    ) -> Result<Self> {
        let draw = |split: u64, t: u64, n: usize, dim: usize| -> Result<Vec<f32>> {
            let len = crate::budget::len("train_samples", 4, &[n, dim])?;
            let mut r = rng::stream(seed, &[TAG_REGRESSION, split, t]);
            Ok((0..len)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(&mut r);
                    z as f32
                })
                .collect())
        };
        Ok(Self {
            name: "gaussian-regression".into(),
            n_features,
            n_outputs,
            train_x: draw(0, 0, n_train, n_features)?,
            train_y: draw(0, 1, n_train, n_outputs)?,
            test_x: draw(1, 0, n_test, n_features)?,
            test_y: draw(1, 1, n_test, n_outputs)?,
        })
    }
}

impl TrainingSet for Regression {
    fn name(&self) -> &str {
        &self.name
    }
    fn n_features(&self) -> usize {
        self.n_features
    }
    fn n_outputs(&self) -> usize {
        self.n_outputs
    }
    fn n_train(&self) -> usize {
        self.train_y.len() / self.n_outputs.max(1)
    }
    fn train_split(&self) -> (&[f32], Targets<'_, f32>) {
        (&self.train_x, Targets::Values(&self.train_y))
    }
    fn test_split(&self) -> (&[f32], Targets<'_, f32>) {
        (&self.test_x, Targets::Values(&self.test_y))
    }
    fn check(&self) -> Result<()> {
        let (f, o) = (self.n_features, self.n_outputs);
        let consistent = f > 0
            && o > 0
            && self.train_x.len().is_multiple_of(f)
            && self.test_x.len().is_multiple_of(f)
            && self.train_x.len() / f * o == self.train_y.len()
            && self.test_x.len() / f * o == self.test_y.len();
        if !consistent {
            return Err(Error::data(
                &self.name,
                format!(
                    "inputs and targets disagree: {} + {} inputs of {f} features, {} + {} targets of {o}",
                    self.train_x.len(),
                    self.test_x.len(),
                    self.train_y.len(),
                    self.test_y.len()
                ),
            ));
        }
        if self.train_y.is_empty() {
            return Err(Error::data(&self.name, "the training set is empty"));
        }
        Ok(())
    }
}
