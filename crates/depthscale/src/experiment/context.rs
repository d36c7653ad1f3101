//! What a running experiment gets from the runner: where to write, how to report progress,
//! which share of the work to do, which backend to compute on.

use super::output::{WriteMode, open_for_writing};
use crate::kernels::BackendChoice;
use crate::progress::Progress;
use crate::{Error, Result};
use std::path::PathBuf;

/// The environment of one experiment run.
pub struct RunContext<'a> {
    /// Directory the experiment writes its files into (a staging directory that the runner
    /// renames to the final output directory once the run completes).
    pub dir: PathBuf,
    /// Progress reporting.
    pub progress: &'a dyn Progress,
    /// `Some((i, n))`: run only the share `i` of `n` of the work (see
    /// [`super::Experiment::shardable`]); `None`: all of it.
    pub shard: Option<(usize, usize)>,
    /// The backend every tensor operation of the run goes through, chosen once by whoever
    /// starts the run ([`super::RunOptions::backend`]); experiments dispatch on it once per job
    /// with `kernels::with_backend!`, never name a backend themselves.
    pub backend: BackendChoice,
}

impl RunContext<'_> {
    /// The path of a file named `name` inside the output directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `contents` to the file `name` inside the output directory (never through a
    /// symbolic link; see [`super::output::open_for_writing`]).
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> Result<()> {
        let p = self.path(name);
        let mut f = open_for_writing(&p, WriteMode::Truncate)?;
        std::io::Write::write_all(&mut f, contents.as_ref()).map_err(|e| Error::io(&p, e))
    }

    /// Writes `contents` to the file `name` atomically (temporary file, fsync, rename; see
    /// [`super::output::write_atomic`]).
    pub fn write_atomic(&self, name: &str, contents: impl AsRef<[u8]>) -> Result<()> {
        super::output::write_atomic(&self.path(name), contents)
    }
}

/// Formats a float for a CSV cell: shortest round-trip representation, `inf`/`-inf`/`nan`
/// spelled the way pandas reads them, empty for a missing value (`None`).
pub fn cell(x: Option<f64>) -> String {
    match x {
        None => String::new(),
        Some(v) if v.is_nan() => "nan".into(),
        Some(v) if v == f64::INFINITY => "inf".into(),
        Some(v) if v == f64::NEG_INFINITY => "-inf".into(),
        Some(v) => format!("{v}"),
    }
}
