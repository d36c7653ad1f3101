//! How long-running library work reports progress without depending on a terminal.

/// Receives progress reports; the CLI draws them as progress bars, tests ignore them.
pub trait Progress: Sync {
    /// Starts a new phase of `total` units of work described by `message`.
    fn start(&self, message: &str, total: u64);
    /// `units` more units of the current phase are done.
    fn advance(&self, units: u64);
    /// A one-line status update (e.g. the latest metrics) for the current phase.
    fn note(&self, _message: &str) {}
    /// The current phase is over.
    fn finish(&self) {}
    /// Whether the caller asked the work to stop (e.g. Ctrl-C in the Python binding).
    /// Long-running loops check it between independent jobs (a probe batch, a training
    /// batch, a sweep cell, a limit path) and then return [`crate::Error::Interrupted`];
    /// nothing is left half-written beyond what an interrupted process would leave.
    /// Default: never.
    fn cancelled(&self) -> bool {
        false
    }
}

/// [`crate::Error::Interrupted`] if `progress` was [`Progress::cancelled`].
pub fn check_cancelled(progress: &dyn Progress) -> crate::Result<()> {
    if progress.cancelled() {
        Err(crate::Error::Interrupted)
    } else {
        Ok(())
    }
}

/// Discards every report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _message: &str, _total: u64) {}
    fn advance(&self, _units: u64) {}
}

/// Discards every report but passes on the cancellation of `0`: for work nested inside a
/// phase that reports on its own (a training run inside a sweep cell), which must still stop
/// when the caller asks.
#[derive(Clone, Copy)]
pub struct Quiet<'a>(pub &'a dyn Progress);

impl Progress for Quiet<'_> {
    fn start(&self, _message: &str, _total: u64) {}
    fn advance(&self, _units: u64) {}
    fn cancelled(&self) -> bool {
        self.0.cancelled()
    }
}
