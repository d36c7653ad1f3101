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

use depthscale::progress::Progress;
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// How often the waiting thread checks for signals.
const POLL: Duration = Duration::from_millis(50);

/// A silent [`Progress`] whose [`Progress::cancelled`] turns true after Ctrl-C.
#[derive(Debug, Default)]
pub struct Cancel {
    flag: AtomicBool,
}

impl Progress for Cancel {
    fn start(&self, _message: &str, _total: u64) {}
    fn advance(&self, _units: u64) {}
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
    let cancel = Cancel::default();
    if tiny {
        return Ok(py.detach(|| work(&cancel)));
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
                Ok(result) => return Ok(result),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(e) = py.check_signals() {
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
