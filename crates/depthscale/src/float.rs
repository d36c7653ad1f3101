//! The floating-point types the engine is generic over: `f64` for initialization and limit
//! studies (explosion-regime norms stay finite far longer), `f32` for training.

use std::fmt::{Debug, Display};
use std::iter::Sum;

/// A real scalar the engine computes with (`f32` or `f64`).
pub trait Float:
    num_traits::Float
    + num_traits::FromPrimitive
    + num_traits::NumAssign
    + Default
    + Debug
    + Display
    + Sum
    + Send
    + Sync
    + bytemuck::Pod
    + faer::traits::RealField
    + 'static
{
    /// Human-readable name of the type (`"f32"` or `"f64"`).
    const NAME: &'static str;
    /// Converts from `f64`, rounding to nearest.
    fn of(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn f64(self) -> f64;
    /// The error function `erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt` (`f32`: libm's `erff`;
    /// `f64`: [`crate::special::erf`], within about `1e-15`, without branches).
    fn erf(self) -> Self;
    /// `exp(x)` for the activations' pointwise loops (`f32`: the standard library's; `f64`:
    /// [`crate::special::exp`], within 2 ulp, without branches, so those loops vectorize).
    fn exp_pointwise(self) -> Self;
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn erf(self) -> Self {
        libm::erff(self)
    }
    #[inline(always)]
    fn exp_pointwise(self) -> Self {
        self.exp()
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn erf(self) -> Self {
        crate::special::erf(self)
    }
    #[inline(always)]
    fn exp_pointwise(self) -> Self {
        crate::special::exp(self)
    }
}
