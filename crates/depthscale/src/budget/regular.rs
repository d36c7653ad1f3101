//! Opening untrusted input files without blocking: a FIFO with no writer, a device or a socket
//! given as a config or a data file is refused at once instead of waiting forever.

use crate::{Error, Result};
use std::fs::File;
use std::path::Path;

/// Opens `path` for reading if it is a regular file (symlinks followed), else refuses it in one
/// [`Error::Data`] line naming what it is. On Unix the file is opened with `O_NONBLOCK` and
/// checked with `fstat` on the open descriptor, so a FIFO never blocks the open and the file
/// checked is the file read.
pub fn open_regular(path: &Path) -> Result<File> {
    #[cfg(unix)]
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
    };
    #[cfg(not(unix))]
    let file = File::open(path);
    let file = file.map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_file() {
        return Ok(file);
    }
    Err(Error::data(
        path,
        format!(
            "is {}, not a regular file; configs and data files must be regular files",
            kind(&meta.file_type())
        ),
    ))
}

/// `a directory`, `a FIFO`, ... for errors.
fn kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_open_and_the_rest_is_refused_without_blocking() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("c.toml");
        std::fs::write(&f, "a = 1").unwrap();
        open_regular(&f).unwrap();
        let err = open_regular(t.path()).unwrap_err().to_string();
        assert!(err.contains("a directory"), "{err}");
        #[cfg(unix)]
        {
            let err = open_regular(Path::new("/dev/null"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("character device"), "{err}");
            let fifo = t.path().join("fifo.toml");
            let ok = std::process::Command::new("mkfifo").arg(&fifo).status();
            if ok.is_ok_and(|s| s.success()) {
                let err = open_regular(&fifo).unwrap_err().to_string();
                assert!(err.contains("FIFO") && err.contains("fifo.toml"), "{err}");
            }
        }
    }
}
