//! The residual network: activations, block structure, shapes, parameters, and the convention
//! for drawing them at random.
//!
//! A ResNet of depth `L` and width `d` maps `h_0 = A x` through
//! `h_{k+1} = h_k + alpha * (V_{k+1} act(W_{k+1} h_k + b_in) + b_out)` and reads out `B h_L`.
//! Which of `W`, `b_in`, `b_out` exist is the [`BlockSpec`]; the passes themselves run on a
//! [`crate::kernels::Backend`], whole stacks at a time.

mod activation;
mod block;
mod resnet;
mod streams;

pub use activation::Activation;
pub use block::{BiasPosition, BlockKind, BlockSpec};
pub use resnet::{Dims, Params, ResNet, TensorKind, Tensors};
pub use streams::{DrawStream, NetworkStreams, TAG_INIT};
