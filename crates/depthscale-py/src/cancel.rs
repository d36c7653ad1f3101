//! Running library work with the GIL released, stoppable by Ctrl-C.
//!
//! Python runs signal handlers only on its main thread, and only when that thread runs Python
//! code; a long Rust call would hide Ctrl-C until it returns. So a call whose work is not tiny
//! runs on a helper thread (which hands the parallel work to rayon's pool as the calling
//! thread would), while the calling thread waits with the GIL released and, every
//! [`POLL`], takes the GIL back for [`Python::check_signals`]. When a handler raises
//! (`KeyboardInterrupt`), the [`Cancel`] flag is set: the library sees it through
//! [`Progress::cancelled`] between jobs and returns [`depthscale::Error::Interrupted`], the
//! helper thread ends, and the Python exception propagates. Tiny calls run inline (still with
//! the GIL released), so their overhead is a few microseconds.
//!
//! With a progress callback ([`run_with_progress`]), the work's reports are kept as one
//! snapshot (the current phase, units done and total, the latest note); at every poll the
//! waiting thread, holding the GIL, calls the callback with the snapshot when it changed
//! (`callback(phase, done, total, note)`), and once more when the work returns. An exception
//! raised by the callback stops the work as Ctrl-C does and propagates.

use depthscale::progress::Progress;
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// How often the waiting thread checks for signals.
const POLL: Duration = Duration::from_millis(50);

/// The latest state of the work's progress reports.
#[derive(Clone, Debug, Default, PartialEq)]
struct Snapshot {
    /// The current phase's message.
    phase: String,
    /// Units of the current phase done.
    done: u64,
    /// Units of the current phase in all.
    total: u64,
    /// The latest one-line note.
    note: String,
    /// Bumped on every report, so that the waiting thread sees a change.
    version: u64,
}

/// A [`Progress`] whose [`Progress::cancelled`] turns true after Ctrl-C; it records the
/// reports in a [`Snapshot`] when `tracking`.
#[derive(Debug, Default)]
pub struct Cancel {
    flag: AtomicBool,
    tracking: bool,
    state: Mutex<Snapshot>,
}

impl Cancel {
    fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        if self.tracking {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut s);
            s.version += 1;
        }
    }

    fn snapshot(&self) -> Snapshot {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Progress for Cancel {
    fn start(&self, message: &str, total: u64) {
        self.update(|s| {
            s.phase = message.to_owned();
            s.total = total;
            s.done = 0;
        });
    }
    fn advance(&self, units: u64) {
        self.update(|s| s.done = s.done.saturating_add(units));
    }
    fn note(&self, message: &str) {
        self.update(|s| s.note = message.to_owned());
    }
    fn finish(&self) {
        self.update(|s| s.done = s.done.max(s.total));
    }
    fn cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

/// Runs `work` with the GIL released: inline when `tiny`, else on a helper thread while this
/// thread watches for signals (see the module doc). A signal handler's exception wins over
/// the work's result.
pub fn run<T, F>(py: Python<'_>, tiny: bool, work: F) -> PyResult<depthscale::Result<T>>
where
    T: Send,
    F: FnOnce(&Cancel) -> depthscale::Result<T> + Send,
{
    run_with_progress(py, tiny, None, work)
}

/// [`run`], calling `callback(phase, done, total, note)` (when given and not `None`) with the
/// work's progress at every poll where it changed, and once at the end.
pub fn run_with_progress<T, F>(
    py: Python<'_>,
    tiny: bool,
    callback: Option<&Bound<'_, PyAny>>,
    work: F,
) -> PyResult<depthscale::Result<T>>
where
    T: Send,
    F: FnOnce(&Cancel) -> depthscale::Result<T> + Send,
{
    let callback = callback.filter(|c| !c.is_none());
    let cancel = Cancel {
        tracking: callback.is_some(),
        ..Cancel::default()
    };
    let mut seen = 0u64;
    let report = |seen: &mut u64| -> PyResult<()> {
        let Some(cb) = callback else { return Ok(()) };
        let s = cancel.snapshot();
        if s.version != *seen {
            *seen = s.version;
            cb.call1((s.phase, s.done, s.total, s.note))?;
        }
        Ok(())
    };
    if tiny {
        let out = py.detach(|| work(&cancel));
        report(&mut seen)?;
        return Ok(out);
    }
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        // a Mutex makes the receiver shareable with the GIL-free closures below
        let rx = Mutex::new(rx);
        let recv = |timeout: Option<Duration>| {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            match timeout {
                Some(t) => rx.recv_timeout(t),
                None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            }
        };
        let cancel = &cancel;
        s.spawn(move || {
            // the receiver outlives the scope's threads: the send cannot fail
            let _ = tx.send(work(cancel));
        });
        loop {
            match py.detach(|| recv(Some(POLL))) {
                Ok(result) => {
                    report(&mut seen)?;
                    return Ok(result);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(e) = py.check_signals().and_then(|()| report(&mut seen)) {
                        cancel.flag.store(true, Ordering::Relaxed);
                        // wait for the work to stop at its next check, GIL released
                        let _ = py.detach(|| recv(None));
                        return Err(e);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(pyo3::exceptions::PyRuntimeError::new_err(
                        "depthscale: the worker thread ended without a result (a panic)",
                    ));
                }
            }
        }
    })
}
