//! depthscale: a laboratory for very deep residual networks.
//!
//! A ResNet of depth `L` and width `d` maps `h_0 = A x` through
//! `h_{k+1} = h_k + alpha_L * V_{k+1} act(W_{k+1} h_k + b_{k+1})` with `alpha_L = L^-beta`
//! and reads out `B h_L`. The crate is organised along the flow of one experiment:
//!
//! - [`paths`]: weights as paths over depth (i.i.d. laws, fractional Gaussian noise, RBF Gaussian processes);
//! - [`model`]: activations, residual blocks, the ResNet's shape and tensors, the random-stream convention;
//! - [`kernels`]: the backend seam (whole stacks on batches of networks, storage owned by the backend) and its CPU implementation;
//! - [`probe`]: what the paper measures at initialization;
//! - [`limits`]: neural ODE/SDE reference solutions driven by the same paths;
//! - [`train`]: datasets, loss, optimizer, trainer and sweeps;
//! - [`experiment`]: configuration, presets, runners and outputs;
//! - [`plot`]: figures as PNG and SVG;
//! - [`budget`]: checked buffer sizes and the memory/disk limits a run is checked against.

pub(crate) mod accept;
pub mod adjoint;
pub mod budget;
pub mod error;
pub mod executor;
pub mod experiment;
pub mod float;
pub mod kernels;
pub mod limits;
pub mod linalg;
pub mod model;
pub mod mutant;
pub mod paths;
pub mod plot;
pub mod probe;
pub mod progress;
pub mod rng;
pub mod special;
pub mod stats;
pub mod train;

pub use error::{Error, Result};
pub use float::Float;
