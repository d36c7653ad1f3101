//! Writing the files of an output directory: never through a symbolic link, never into anything
//! but a regular file ([`open_for_writing`], the one way depthscale opens a file it writes),
//! completion files atomically ([`write_atomic`]), and reading inputs with a cap.

use crate::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// How [`open_for_writing`] opens a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Creates the file, or empties an existing regular file.
    Truncate,
    /// Creates the file, or appends to an existing regular file.
    Append,
    /// Creates the file; anything already at the path is an error.
    New,
    /// Opens for reading and writing, creating the file, keeping what it holds.
    Keep,
}

/// What is at `path` when something is there that is not a regular file (`"a symbolic link"`,
/// `"a directory"`, `"a FIFO"`, ...); `None` when nothing is there or a regular file is. A
/// symbolic link is never followed.
pub fn non_regular(path: &Path) -> Result<Option<&'static str>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(describe(&m.file_type())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// `None` for a regular file, else what the file type is.
fn describe(t: &std::fs::FileType) -> Option<&'static str> {
    #[cfg(unix)]
    use std::os::unix::fs::FileTypeExt;
    if t.is_file() {
        return None;
    }
    Some(if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else {
        #[cfg(unix)]
        {
            if t.is_fifo() {
                "a FIFO"
            } else if t.is_socket() {
                "a socket"
            } else if t.is_char_device() {
                "a character device"
            } else if t.is_block_device() {
                "a block device"
            } else {
                "a special file"
            }
        }
        #[cfg(not(unix))]
        "a special file"
    })
}

/// The refusal to write `path`, which is `what` (see [`non_regular`]).
pub fn refuse_non_regular(path: &Path, what: &str) -> Error {
    Error::data(
        path,
        format!(
            "is {what}, not a regular file; depthscale never writes through one: remove it or choose another directory"
        ),
    )
}

/// Opens `path` without following a symbolic link, without blocking on a FIFO.
fn open_raw(path: &Path, mode: WriteMode) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true);
    match mode {
        WriteMode::Truncate => o.create(true),
        WriteMode::Append => o.append(true).create(true),
        WriteMode::New => o.create_new(true),
        WriteMode::Keep => o.read(true).create(true),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    o.open(path)
}

/// Opens `path` (inside an output directory) for writing as `mode` says, never through a
/// symbolic link (`O_NOFOLLOW`) and only as a regular file: a link, directory, FIFO, socket
/// or device at the path is refused in one line, and nothing is written. Every file depthscale
/// writes goes through here.
pub fn open_for_writing(path: &Path, mode: WriteMode) -> Result<File> {
    #[cfg(not(unix))]
    if let Some(what) = non_regular(path)? {
        return Err(refuse_non_regular(path, what));
    }
    let file = open_raw(path, mode).map_err(|e| match non_regular(path) {
        Ok(Some(what)) => refuse_non_regular(path, what),
        _ => Error::io(path, e),
    })?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if let Some(what) = describe(&meta.file_type()) {
        return Err(refuse_non_regular(path, what));
    }
    if mode == WriteMode::Truncate {
        file.set_len(0).map_err(|e| Error::io(path, e))?;
    }
    Ok(file)
}

/// Opens the regular file `path` for reading, never through a symbolic link.
pub fn open_for_reading(path: &Path) -> Result<File> {
    if let Some(what) = non_regular(path)? {
        return Err(refuse_non_regular(path, what));
    }
    let mut o = OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = o.open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    match describe(&meta.file_type()) {
        Some(what) => Err(refuse_non_regular(path, what)),
        None => Ok(file),
    }
}

/// Writes `contents` to `path` atomically: a new temporary file next to it ([`create_temp`]),
/// fsynced, renamed over `path`, then the directory fsynced. A reader sees the old file or the
/// whole new one. Anything at `path` that is not a regular file is refused, untouched.
pub fn write_atomic(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    replace_with(path, |tmp, mut f| {
        f.write_all(contents.as_ref())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(tmp, e))
    })
}

/// Replaces `path` atomically with what `write` puts in a new temporary file (given by path
/// and open handle; `write` must fsync it): refuses anything at `path` that is not a regular
/// file, removes the temporary on failure, renames it over `path` on success.
pub fn replace_with(path: &Path, write: impl FnOnce(&Path, File) -> Result<()>) -> Result<()> {
    if let Some(what) = non_regular(path)? {
        return Err(refuse_non_regular(path, what));
    }
    let (tmp, file) = create_temp(path)?;
    if let Err(e) = write(&tmp, file) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Some(what) = non_regular(path)? {
        let _ = std::fs::remove_file(&tmp);
        return Err(refuse_non_regular(path, what));
    }
    rename_synced(&tmp, path)
}

/// Creates a new, empty temporary file next to `path` (hidden, named after this process, with
/// `path`'s extension kept so that writers choosing a format by extension still work); a name
/// already taken, by anything, is skipped, never opened.
pub(crate) fn create_temp(path: &Path) -> Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
        _ => (name.clone(), String::new()),
    };
    let pid = std::process::id();
    for k in 0..1000u32 {
        let tag = if k == 0 {
            format!("{pid}")
        } else {
            format!("{pid}-{k}")
        };
        let tmp = path.with_file_name(format!(".{stem}.{tag}.tmp{ext}"));
        match open_raw(&tmp, WriteMode::New) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&tmp, e)),
        }
    }
    Err(Error::data(
        path,
        "no free name for a temporary file next to it",
    ))
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
    take_capped(file, path, cap, field)
}

/// Reads at most `cap` bytes of the open `file` (see [`read_capped`]).
pub(crate) fn take_capped(file: File, path: &Path, cap: u64, field: &str) -> Result<Vec<u8>> {
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
