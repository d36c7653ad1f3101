//! The tables, fits, figure and summary of an `ode-after-training` run, from its pairs only.
//!
//! The data flows through four stages, each reading only what the one before produced:
//! 1. rows ([`rows`]): `layers.csv` and `results.csv`, written from the pairs;
//! 2. tables ([`fits`]): the log-log fits per `(beta, init, activation)`, from `results.csv`
//!    read back, written to `fits.csv`;
//! 3. figures ([`figures`]): `gaps.png/svg`, from `results.csv` and `fits.csv` read back;
//! 4. summary ([`summary`]): from the fits and the rows of `results.csv`.

mod figures;
mod fits;
mod rows;
mod summary;

use super::{Case, OdeAfterTrainingConfig, Pair};
use crate::Result;
use crate::experiment::RunContext;
use crate::experiment::summary::OdeAfterTrainingSummary;

/// Writes `layers.csv`, `results.csv`, `fits.csv`, `gaps.png/svg`; returns the summary.
pub(super) fn write(
    cfg: &OdeAfterTrainingConfig,
    ctx: &RunContext,
    cases: &[Case],
    pairs: &[Pair],
) -> Result<OdeAfterTrainingSummary> {
    rows::write(ctx, pairs)?;
    let results = rows::read_results(&ctx.dir, pairs.len())?;
    let fits = fits::fit(cases, &results);
    fits::write(ctx, &fits)?;
    figures::gaps(cfg, ctx, pairs.len(), cases.len())?;
    Ok(summary::summarize(cfg, &fits, &results))
}
