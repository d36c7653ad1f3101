//! Training deep ResNets on real data: datasets, loss, optimizer and schedule, trainer, sweeps.
//!
//! - [`data`]: in-memory classification datasets;
//! - [`net`]: the paper's training model (res1, ReLU, bias outside), its loss gradient and
//!   forward-only evaluation;
//! - [`loss`]: softmax cross-entropy and mean squared error;
//! - [`task`]: the block trained, the targets (labels or vectors), training sets (classification
//!   or Gaussian regression);
//! - [`optim`]: Adam, SGD (with momentum) and `StepLR` as in PyTorch;
//! - [`trainer`]: the training loop with per-epoch test metrics;
//! - [`checkpoint`]: networks as safetensors files;
//! - [`roughness`]: Hurst estimates of the weights over depth.

pub mod checkpoint;
mod chunked;
pub mod config;
pub mod data;
pub mod loss;
pub mod net;
pub mod optim;
pub mod roughness;
pub mod task;
pub mod trainer;

#[cfg(test)]
mod gradcheck;

pub use checkpoint::{CheckpointMetadata, check_save_path, load_checkpoint, save_checkpoint};
pub use config::TrainConfig;
pub use loss::LossKind;
pub use net::{
    Evaluator, Workspace, evaluate, init_network, init_training, residual_scale, training_block,
};
pub use optim::{Adam, Optimizer, Sgd, StepLr};
pub use roughness::{hurst_estimate, weight_hurst_estimates};
pub use task::{BlockKind, Regression, Targets, TrainingSet};
pub use trainer::{
    EpochMetrics, TrainOutcome, Trainer, train, train_from, train_from_on, train_on,
};
