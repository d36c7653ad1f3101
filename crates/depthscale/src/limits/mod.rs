//! Continuous-depth limits: deep ResNets as discretizations of neural ODEs, SDEs and Young
//! differential equations, with the limits solved on the same paths the networks see.
//!
//! The pieces compose like a differential-equation library:
//! - paths ([`MatrixPath`]): `d x d` matrix-valued `X(t)`, `t in [0, 1]`, observed through
//!   increments on uniform grids. [`BrownianPath`] (refinable by Brownian bridges, old values
//!   kept exactly), fractional Brownian paths on nested grids ([`fbm_grid_path`]), smooth
//!   [`FourierPath`]s (the RBF Gaussian process as a trigonometric series, evaluable at any `t`,
//!   or a deterministic sum of sines); [`Driver`] names their laws in configs;
//! - the network driven by a path ([`PathNet`]): depth `L` uses `X`'s increments on `{k/L}`;
//! - the term ([`Term`]): the controlled vector field `dH = dX(t) act(W(t) H)`, the one place
//!   `act(W h)` is written here;
//! - solvers ([`Solver`]: [`Euler`], [`Heun`], [`Rk4`]) with one step interface, each declaring
//!   its ODE, strong, weak and Young orders; [`Solver::strong_rate`] gives the rate expected for
//!   a [`Driver`], and [`reference_solver`] picks the most accurate one that converges for it
//!   (RK4 for smooth drivers, the trapezoidal rule for fractional ones, Euler-Maruyama for
//!   Brownian ones), run at a reference resolution `N` on the same path;
//! - [`Study`]: one path of a convergence measurement; [`Tables`]: its rows, cells and fits,
//!   which is all that figures and summaries read (they are drawn by the `limit` experiment,
//!   not here).
//!
//! # Scaling conventions
//!
//! Every driver has entries scaled by `1/sqrt(d)`, and layer `k` of the depth-`L` network has
//! `V_k = L^{beta0} (X(k/L) - X((k-1)/L))`, which makes `V_k` a standard weight (entries of
//! variance `1/d`) for the driver's natural exponent `beta0`. The block is
//! `h_k = h_{k-1} + L^{-beta} V_k act(W_k h_{k-1})` (`W_k = I` for `res1`, else a smooth path
//! `W((k-1)/L)`), so with `beta = beta0` the network is exactly the Euler scheme
//! `h_k = h_{k-1} + (X(k/L) - X((k-1)/L)) act(W_k h_{k-1})` of `dH = dX act(W(t) H)`:
//!
//! - Brownian, `beta0 = 1/2`: `X = B / sqrt(d)`, so `V_k = sqrt(L) (B(k/L) - B((k-1)/L)) / sqrt(d)`
//!   has i.i.d. `N(0, 1/d)` entries (a standard i.i.d. initialization) and the network is
//!   Euler-Maruyama for the Ito SDE `dH = (dB / sqrt(d)) act(H)`: strong error `O(L^{-1/2})`
//!   (the noise is not commutative, so no better);
//! - fractional Brownian, `beta0 = H > 1/2`: `X = B_H / sqrt(d)`, increments of size `L^{-H}`,
//!   `V_k = L^H (B_H(k/L) - B_H((k-1)/L)) / sqrt(d)` is unit-variance fGn over `sqrt(d)`, and
//!   the limit is the Young equation `dH = dX act(H)`; the Euler error is `O(L^{1-2H})`;
//! - smooth, `beta0 = 1`: `X(t) = int_0^t V(s) ds` for a smooth weight function `V` with
//!   entries of variance `1/d`, so `V_k = L (X(k/L) - X((k-1)/L))` is the mean of `V` over the
//!   layer's interval, `V((k - 1/2)/L) + O(L^{-2})`: the network is a first-order (explicit
//!   Euler type) scheme for `dH/dt = V(t) act(W(t) H)`, error `O(1/L)`.
//!
//! Mismatched scalings keep the same weights and change `alpha_L = L^{-beta}`: smooth weights
//! with `beta = 1/2` sum `L` coherent terms of size `L^{-1/2}` and explode as `L` grows; i.i.d.
//! weights with `beta = 1` sum `L` centred terms of size `1/L` and collapse to the identity.

mod brownian;
mod driver;
mod fbm;
mod net;
mod path;
mod smooth;
mod solver;
mod study;
mod table;
mod term;
#[cfg(test)]
mod tests;

pub use brownian::{BrownianPath, dyadic_split};
pub use driver::{Driver, Sampled, Sampler};
pub use fbm::fbm_grid_path;
pub use net::{NetWorkspace, PathNet};
pub use path::{GridPath, MatrixPath};
pub use smooth::FourierPath;
pub use solver::{Euler, Heun, Rk4, Solver, integrate, reference_solver, solvers};
pub use study::{LevelRecord, PathRecord, Study, Trajectory};
pub use table::{Cells, Fit, Fits, PathRow, Table, Tables, Trajectories, loglog_fit, means};
pub use term::{Term, TermScratch};
