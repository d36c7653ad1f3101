//! The initialization probe experiments (the paper's Figures 1-5 and 7). STUB.

use super::{Experiment, RunContext};
use crate::Result;
use serde::{Deserialize, Serialize};

/// Config of a `probe` experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// Seed.
    pub seed: u64,
}

impl Experiment for ProbeConfig {
    const KIND: &'static str = "probe";
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn quick(&mut self) {}
    fn run(&self, _ctx: &RunContext) -> Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }
}
