//! The backend a run computes on: chosen once, where the run starts (the CLI, the Python
//! binding, a test), carried in [`crate::experiment::RunContext::backend`] to every
//! experiment.
//!
//! [`BackendChoice`] is an enum, not a trait object: an experiment dispatches on it once per
//! job (a training run, a batch of probes) with `with_backend!`, and everything inside the
//! job is monomorphised for the concrete backend (no dynamic dispatch per layer or per call).

use super::backend::Backend;
use super::cpu::CpuBackend;

/// `with_backend!(choice, be => expr)`: evaluates `expr` with `be` bound to the concrete
/// backend (`&B`, `B: RunBackend`) that `choice` (a `&BackendChoice`) holds, so that `expr`
/// is compiled once per backend type.
macro_rules! with_backend {
    ($choice:expr, $be:ident => $body:expr) => {
        match $choice {
            // `be.clone()` in `$body` serves every backend; the CPU's happens to be `Copy`
            #[allow(clippy::clone_on_copy)]
            $crate::kernels::BackendChoice::Cpu($be) => $body,
            #[cfg(test)]
            $crate::kernels::BackendChoice::Checked($be) => $body,
        }
    };
}
pub(crate) use with_backend;

/// A backend every experiment can run on: one type that computes in `f32` (training) and in
/// `f64` (initialization, limits).
pub trait RunBackend: Backend<f32> + Backend<f64> + 'static {}

impl<B: Backend<f32> + Backend<f64> + 'static> RunBackend for B {}

/// The backend of a run (see the module doc). `Default` is the CPU backend, with its AVX-512
/// path where the CPU has it: the one place the CLI and the Python binding name a backend.
#[derive(Clone, Debug)]
pub enum BackendChoice {
    /// The CPU ([`CpuBackend`]).
    Cpu(CpuBackend),
    /// The test backend ([`super::checked::CheckedBackend`]): staged buffers, poisoned before
    /// they are written, every read checked; bitwise the CPU backend it delegates to.
    #[cfg(test)]
    Checked(super::checked::CheckedBackend),
}

impl Default for BackendChoice {
    fn default() -> Self {
        Self::Cpu(CpuBackend::new())
    }
}

impl BackendChoice {
    /// A short description of the backend (`"cpu (avx512)"`).
    pub fn describe(&self) -> String {
        with_backend!(self, be => <_ as Backend<f32>>::describe(be))
    }
}
