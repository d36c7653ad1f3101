//! The backend seam: a [`Backend`] owns its buffers and runs whole stacks of residual layers
//! on batches of networks, the embedding and readout products, the loss and the Adam update.
//!
//! Everything that is arithmetic on tensors lives behind [`Backend`]; the probe
//! ([`crate::probe::Prober`]), training ([`crate::train::Workspace`],
//! [`crate::train::Evaluator`], [`crate::train::Trainer`]) and the limit networks
//! ([`crate::limits::PathNet`]) only string its calls together, and are generic over it.
//! [`CpuBackend`] is the one production implementation (tests add `checked::CheckedBackend`:
//! staged buffers, poisoned before written, every read checked); [`NetBatch`] holds a batch of
//! networks' parameters in a backend's storage; [`conformance`] checks any backend against the
//! CPU; [`BackendChoice`] is the backend of a run, handed to every experiment in
//! [`crate::experiment::RunContext`].
//!
//! # Adding a backend (a GPU)
//! Implement [`Backend`] for a device handle: `Buffer` is device memory (with cudarc, a
//! `CudaSlice<T>`), `read`/`write` go through a host staging vector, `forward_stack` advances
//! all `B` networks layer after layer with strided batched GEMMs (weights `[B, L, d, m]`,
//! states `[B, d, n]`: the strides are `L d m` and `d n`) and one fused pointwise kernel, or
//! one kernel for the whole stack, captured once as a graph; the tapes stay on the device.
//! Then run [`conformance::check`] in its tests: results must agree with the CPU in `f64`
//! within tolerance (a GPU's sums are not in the CPU's order, so not bitwise). Finally add it
//! to [`BackendChoice`] and its arm to `with_backend!` (`choice.rs`): every experiment then
//! runs on it.

mod backend;
mod batch;
#[cfg(test)]
pub(crate) mod checked;
mod choice;
pub mod conformance;
mod cpu;
pub(crate) mod loss;

pub use backend::{
    AdamCoeffs, Backend, Keep, Op, ProductShape, SgdCoeffs, StackGrads, StackShape, StackWeights,
    Tape, ensure_len,
};
pub use batch::{NetBatch, grads_of, weights_of};
pub(crate) use choice::with_backend;
pub use choice::{BackendChoice, RunBackend};
pub use cpu::{CpuBackend, CpuPath};
