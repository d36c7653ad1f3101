//! The local executor: this process runs the experiment through the runner, as
//! `depthscale run` always did.

use crate::Result;
use crate::experiment::{ConfigSource, RunOptions, RunReport};
use crate::progress::Progress;

/// Runs `source` with `opts` here ([`crate::experiment::run`]).
pub fn run(source: ConfigSource, opts: &RunOptions, progress: &dyn Progress) -> Result<RunReport> {
    crate::experiment::run(source, opts, progress)
}
