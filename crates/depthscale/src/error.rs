//! The library's typed errors.

use std::path::PathBuf;

/// Everything that can go wrong inside depthscale.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration field holds a value outside its accepted range.
    #[error("invalid `{field}`: {message}")]
    Config {
        /// The offending field, as spelled in the TOML config.
        field: String,
        /// What was wrong and what is accepted.
        message: String,
    },
    /// A dataset or checkpoint file is malformed.
    #[error("{}: {message}", path.display())]
    Data {
        /// The file that was being read.
        path: PathBuf,
        /// What was wrong with it.
        message: String,
    },
    /// An I/O operation on a named path failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A numerical routine could not produce a trustworthy answer.
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// Another depthscale process holds the output directory (its advisory lock is taken).
    #[error(
        "{} is in use by another depthscale process{}; wait for it to finish or choose another directory",
        path.display(),
        pid.map_or(String::new(), |p| format!(" (pid {p})"))
    )]
    InUse {
        /// The directory.
        path: PathBuf,
        /// The process holding it, as recorded in its marker file.
        pid: Option<u32>,
    },
    /// A run or a file needs more than a limit allows (memory, disk, a format's cap), or a
    /// buffer size does not fit in 64 bits; `field` names what to shrink.
    #[error("`{field}` is too large: {message}")]
    TooLarge {
        /// The config field (or file) to shrink.
        field: String,
        /// What was needed, what is allowed, and how to get under the limit.
        message: String,
    },
    /// The caller cancelled the work ([`crate::progress::Progress::cancelled`]).
    #[error("interrupted")]
    Interrupted,
    /// Drawing a figure failed.
    #[error("plot {}: {message}", path.display())]
    Plot {
        /// The figure being drawn.
        path: PathBuf,
        /// The backend's message.
        message: String,
    },
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for a [`Error::Config`] error.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for an [`Error::Data`] error.
    pub fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Shorthand for an [`Error::TooLarge`] error.
    pub fn too_large(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::TooLarge {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
