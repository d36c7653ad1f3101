//! The fBm sample paths (the paper's Figure 6). STUB.

use super::{Experiment, RunContext};
use crate::Result;
use serde::{Deserialize, Serialize};

/// Config of an `fbm-paths` experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FbmPathsConfig {
    /// Seed.
    pub seed: u64,
}

impl Experiment for FbmPathsConfig {
    const KIND: &'static str = "fbm-paths";
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn quick(&mut self) {}
    fn run(&self, _ctx: &RunContext) -> Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }
}
