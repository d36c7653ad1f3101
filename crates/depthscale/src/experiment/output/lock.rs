//! The advisory lock a run holds on its output directory's marker ([`DirLock`]).

use super::files::{WriteMode, open_for_reading, open_for_writing};
use super::{MARKER, has_marker};
use crate::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// An advisory lock on a directory's [`MARKER`], released when dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the exclusive lock of `dir`, creating its marker if needed, and records this
    /// process's pid in the marker. Fails at once with [`Error::InUse`] if another process
    /// holds it; a marker that is not a regular file (a symbolic link) is refused, untouched.
    pub fn exclusive(dir: &Path) -> Result<Self> {
        let path = dir.join(MARKER);
        let mut file = open_for_writing(&path, WriteMode::Keep)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::InUse {
                    path: dir.to_owned(),
                    pid: holder_pid(&path),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let text = format!(
            "# This directory is an output of depthscale; `--force` may replace it.\n\
             depthscale_version = \"{}\"\npid = {}\n",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        );
        file.set_len(0)
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(&path, e))?;
        Ok(Self { _file: file })
    }

    /// Takes a shared lock of `dir` (an input being read) if it has a marker; `None` for a
    /// directory without one (see [`has_marker`]). Fails with [`Error::InUse`] while a run
    /// holds it exclusively.
    pub fn shared(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(MARKER);
        if !has_marker(dir) {
            return Ok(None);
        }
        let file = open_for_reading(&path)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::InUse {
                path: dir.to_owned(),
                pid: holder_pid(&path),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

/// The pid recorded in a marker file, if readable.
fn holder_pid(marker: &Path) -> Option<u32> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut open_for_reading(marker).ok()?, &mut text).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("pid = "))
        .and_then(|p| p.trim().parse().ok())
}
