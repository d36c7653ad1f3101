//! Which parameters a residual block has.

use super::Activation;

/// Where a residual block's bias sits, if it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiasPosition {
    /// No bias.
    None,
    /// Inside the activation: `V act(W h + b)`.
    Inside,
    /// Outside, scaled with the branch: `alpha (V act(W h) + b)` (the paper's training model).
    Outside,
}

/// The structure of a residual block `h + alpha (V act(W h + b_in) + b_out)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockSpec {
    /// Whether the inner matrix `W` exists (`res3`) or is the identity (`res1`).
    pub inner: bool,
    /// The bias, if any.
    pub bias: BiasPosition,
    /// The activation `act`.
    pub activation: Activation,
}

impl BlockSpec {
    /// `res1`: `h + alpha V act(h)`.
    pub fn res1(activation: Activation) -> Self {
        Self {
            inner: false,
            bias: BiasPosition::None,
            activation,
        }
    }

    /// `res3`: `h + alpha V act(W h)`.
    pub fn res3(activation: Activation) -> Self {
        Self {
            inner: true,
            bias: BiasPosition::None,
            activation,
        }
    }

    /// Whether the block has a bias vector per layer.
    pub fn has_bias(&self) -> bool {
        self.bias != BiasPosition::None
    }
}

/// A residual block by name, `res1` or `res3`: the one block enum of every config (a training
/// run's `block`, a probe's `model`, a limit study's `block`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    /// `h + alpha (V act(h) + b)` (the paper's training model; `b` only with a bias).
    #[default]
    Res1,
    /// `h + alpha (V act(W h) + b)`, with the inner matrix `W`.
    Res3,
}

impl BlockKind {
    /// The block with `activation` and, when `bias`, a bias outside the activation.
    pub fn spec(self, activation: Activation, bias: bool) -> BlockSpec {
        BlockSpec {
            inner: self == BlockKind::Res3,
            bias: if bias {
                BiasPosition::Outside
            } else {
                BiasPosition::None
            },
            activation,
        }
    }
}
