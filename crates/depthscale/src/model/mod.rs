//! The residual network: activations, block structure, parameters, forward and backward passes.
//!
//! A ResNet of depth `L` and width `d` maps `h_0 = A x` through
//! `h_{k+1} = h_k + alpha * (V_{k+1} act(W_{k+1} h_k + b_in) + b_out)` and reads out `B h_L`.
//! Which of `W`, `b_in`, `b_out` exist is the [`BlockSpec`]; the per-layer arithmetic lives in
//! [`crate::kernels`], this module strings the layers together.

mod activation;
mod block;
mod resnet;

pub use activation::Activation;
pub use block::{BiasPosition, BlockSpec};
pub use resnet::{Dims, Params, ResNet, Tape};
