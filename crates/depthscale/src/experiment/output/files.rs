//! Writing the files that mark a run complete atomically, and reading inputs with a cap.

use crate::{Error, Result};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically: a temporary file next to it, fsynced, renamed over
/// `path`, then the directory fsynced. A reader sees the old file or the whole new one.
pub fn write_atomic(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    let tmp = temp_path(path);
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(contents.as_ref())?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    rename_synced(&tmp, path)
}

/// A temporary name next to `path` (hidden, unique to this process).
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Renames `tmp` over `path` and fsyncs the directory.
pub(crate) fn rename_synced(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        Error::io(path, e)
    })?;
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => Ok(()),
    }
}

/// Fsyncs a directory (its entries: creations and renames). A no-op where directories cannot
/// be opened as files.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let f = File::open(dir).map_err(|e| Error::io(dir, e))?;
        f.sync_all().map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads at most `cap` bytes of `path`; a longer input is an [`Error::TooLarge`] naming
/// `field`. Only a regular file is read ([`crate::budget::open_regular`]): a FIFO, a device or
/// a socket is refused at once.
pub fn read_capped(path: &Path, cap: u64, field: &str) -> Result<Vec<u8>> {
    let file = crate::budget::open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > cap {
        return Err(Error::too_large(
            field,
            format!(
                "{} is larger than the {} accepted",
                path.display(),
                crate::budget::human(u128::from(cap))
            ),
        ));
    }
    Ok(bytes)
}
