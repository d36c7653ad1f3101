//! Output directories: which paths depthscale may create, replace or delete, how it claims them,
//! and how it writes the files that mark a run complete.
//!
//! The rules, all enforced here:
//! - **Paths are normalized first** ([`normalize`]): absolute, `.`, `..` and trailing separators
//!   resolved, so `--out runs/x/` stages into `runs/x.partial`, never `runs/x/.partial`.
//! - **Every output directory carries a marker**, the file [`MARKER`] (`.depthscale`), written
//!   when depthscale creates the directory. `--force` replaces only a directory holding one, and
//!   never the root, the home directory, the current directory or any directory containing it,
//!   nor (for `merge`) an input or a directory containing one ([`Protected`]). Anything else is
//!   refused in one line saying why.
//! - **A run holds an exclusive advisory lock** on its directory's marker for its whole
//!   duration ([`DirLock`], `flock` through `std::fs::File::try_lock`); a second process on the
//!   same directory fails at once with [`Error::InUse`] naming the holder's pid (recorded in the
//!   marker). `merge` takes shared locks on its inputs, so it cannot read a shard still being
//!   written.
//! - **A resumable run resumes only a directory holding the marker**: a directory without one is
//!   never adopted (even with a `config.toml` equal to the run's) and never gets a marker, but
//!   an empty one, which holds nothing to lose.
//! - **Nothing is written through a symbolic link**: every file of an output directory (marker,
//!   tables, figures, summaries, temporaries) is opened with [`open_for_writing`] (`O_NOFOLLOW`,
//!   regular files only); a link, FIFO, device or directory in the way is refused, untouched.
//!   A marker that is not a regular file is no marker.
//! - **Completion is atomic**: staged runs write `DIR.partial` and rename it to `DIR` last;
//!   completion files (`summary.json`, rewritten tables) are written to a new temporary file,
//!   fsynced and renamed over their name ([`write_atomic`]), and the directory is fsynced.

mod files;
mod lock;

pub(crate) use files::take_capped;
pub use files::{
    WriteMode, non_regular, open_for_reading, open_for_writing, read_capped, refuse_non_regular,
    replace_with, sync_dir, write_atomic,
};
pub use lock::DirLock;

use crate::{Error, Result};
use std::path::{Component, Path, PathBuf};

/// Name of the marker file proving a directory is a depthscale output.
pub const MARKER: &str = ".depthscale";

/// Suffix of the staging directory of a run in progress.
pub const STAGING_SUFFIX: &str = ".partial";

/// The absolute form of `path` with `.`, `..` and trailing separators resolved: its longest
/// existing prefix is canonicalized (symlinks resolved, as the OS would), the rest is applied
/// lexically. `field` names the option in errors.
pub fn normalize(field: &str, path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::config(field, "the path is empty"));
    }
    let abs = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    let comps: Vec<Component> = abs.components().collect();
    let (mut base, rest) = (1..=comps.len())
        .rev()
        .find_map(|k| {
            let prefix: PathBuf = comps[..k].iter().collect();
            prefix.canonicalize().ok().map(|c| (c, &comps[k..]))
        })
        .unwrap_or_else(|| (PathBuf::from(comps[0].as_os_str()), &comps[1..]));
    for c in rest {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                base.pop();
            }
            other => base.push(other.as_os_str()),
        }
    }
    Ok(base)
}

/// `dir` with [`STAGING_SUFFIX`] appended to its last component (`dir` normalized).
pub fn staging_path(dir: &Path) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(STAGING_SUFFIX);
    PathBuf::from(s)
}

/// Most suffixes [`create_fresh`] and [`fresh_name`] try before giving up.
const MAX_SUFFIX: u32 = 100_000;

/// The name `stem`, or `stem-2`, `stem-3`, ... (`k`-th candidate, from 1).
fn candidate(parent: &Path, stem: &str, k: u32) -> PathBuf {
    if k == 1 {
        parent.join(stem)
    } else {
        parent.join(format!("{stem}-{k}"))
    }
}

/// Whether anything (even a dangling symbolic link) is at `dir` or at its staging path.
fn taken(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok() || std::fs::symlink_metadata(staging_path(dir)).is_ok()
}

/// Creates a new empty directory `parent/stem`, or `parent/stem-2`, `parent/stem-3`, ... when
/// that name is taken (by anything, or by a run's staging directory `NAME.partial`), and returns
/// it: the default output directory of a run, which never collides with another's, even one
/// started in the same second by another process (`create_dir` is atomic: two processes never
/// get the same directory). The run then claims it as an empty `--out`; a run that fails
/// should remove it again (`std::fs::remove_dir` removes it only while it is empty).
pub fn create_fresh(parent: &Path, stem: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    for k in 1..=MAX_SUFFIX {
        let dir = candidate(parent, stem, k);
        if taken(&dir) {
            continue;
        }
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&dir, e)),
        }
    }
    Err(too_many(parent, stem))
}

/// The first of `parent/stem`, `parent/stem-2`, `parent/stem-3`, ... where nothing is (nor a
/// staging directory), without creating it: for a command that checks its options before it
/// creates its output (`depthscale reproduce`).
pub fn fresh_name(parent: &Path, stem: &str) -> Result<PathBuf> {
    (1..=MAX_SUFFIX)
        .map(|k| candidate(parent, stem, k))
        .find(|d| !taken(d))
        .ok_or_else(|| too_many(parent, stem))
}

fn too_many(parent: &Path, stem: &str) -> Error {
    Error::config(
        "--out",
        format!(
            "{} already holds {MAX_SUFFIX} directories named {stem}-N; pass --out DIR",
            parent.display()
        ),
    )
}

/// Whether `dir` holds the depthscale [`MARKER`], a regular file (a symbolic link named like it
/// is not a marker).
pub fn has_marker(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|m| m.is_file())
}

/// Directories that must never be removed or replaced, nor any directory containing them.
#[derive(Clone, Debug)]
pub struct Protected {
    paths: Vec<(PathBuf, &'static str)>,
}

impl Protected {
    /// The current directory and the home directory.
    pub fn standard() -> Self {
        let mut paths = Vec::new();
        if let Ok(cwd) = std::env::current_dir().and_then(|d| d.canonicalize()) {
            paths.push((cwd, "the current directory"));
        }
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
            && let Ok(home) = Path::new(&home).canonicalize()
        {
            paths.push((home, "your home directory"));
        }
        Self { paths }
    }

    /// Adds `dirs` (e.g. the inputs of a merge), described as `what` in errors.
    pub fn with(mut self, dirs: &[PathBuf], what: &'static str) -> Self {
        for d in dirs {
            if let Ok(c) = d.canonicalize() {
                self.paths.push((c, what));
            }
        }
        self
    }

    /// Refuses to remove or replace `dir` (an existing directory) if it is the root or a
    /// protected directory, or contains one.
    pub fn check(&self, field: &str, dir: &Path) -> Result<()> {
        let canon = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
        let refuse = |why: String| {
            Err(Error::config(
                field,
                format!(
                    "refusing to replace {}: {why}; depthscale only replaces its own output directories: choose a new directory",
                    dir.display()
                ),
            ))
        };
        if canon.parent().is_none() {
            return refuse("it is the root directory".into());
        }
        for (p, what) in &self.paths {
            if p == &canon {
                return refuse(format!("it is {what}"));
            }
            if p.starts_with(&canon) {
                return refuse(format!("it contains {what} ({})", p.display()));
            }
        }
        Ok(())
    }
}

/// Whether `dir` exists and holds at least one entry.
fn non_empty(dir: &Path) -> Result<bool> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .next()
        .is_some())
}

/// Refuses a path that exists but is not a directory.
fn require_dir(field: &str, dir: &Path) -> Result<bool> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(true),
        Ok(_) => Err(Error::config(
            field,
            format!(
                "{} exists and is not a directory; choose another path",
                dir.display()
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // a dangling symlink is "there" but not usable
            if std::fs::symlink_metadata(dir).is_ok() {
                return Err(Error::config(
                    field,
                    format!(
                        "{} is a symbolic link to nothing; choose another path",
                        dir.display()
                    ),
                ));
            }
            Ok(false)
        }
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// The refusal of a non-empty directory without a marker.
fn not_ours(field: &str, dir: &Path) -> Error {
    Error::config(
        field,
        format!(
            "{} is not empty and was not created by depthscale (it has no {MARKER} marker); \
             --force only replaces depthscale's own output directories: choose another directory",
            dir.display()
        ),
    )
}

/// Creates `dir`'s parent directories.
fn create_parent(dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    Ok(())
}

/// Where a run writes, and what it holds while writing.
#[derive(Debug)]
pub struct Output {
    final_dir: PathBuf,
    work_dir: PathBuf,
    staged: bool,
    /// The lock of the directory being written (moves with it at commit).
    _lock: DirLock,
    /// The lock of the directory being replaced (`--force` on a staged run).
    replaced: Option<DirLock>,
}

impl Output {
    /// Claims `final_dir` (normalized) for a staged run: checks it may be created or replaced,
    /// creates `DIR.partial` with its marker and locks it. A stale staging directory of a
    /// killed run (with a marker, not locked) is removed; one without a marker is refused.
    pub fn staged(final_dir: &Path, force: bool, protected: &Protected) -> Result<Self> {
        let field = "--out";
        if final_dir.parent().is_none() {
            return Err(Error::config(field, "refusing to write the root directory"));
        }
        let mut replaced = None;
        if require_dir(field, final_dir)? {
            protected.check(field, final_dir)?;
            if non_empty(final_dir)? {
                if !force {
                    return Err(Error::config(
                        field,
                        format!(
                            "{} already exists and is not empty; choose another directory or pass --force to replace it",
                            final_dir.display()
                        ),
                    ));
                }
                if !has_marker(final_dir) {
                    return Err(not_ours(field, final_dir));
                }
                replaced = Some(DirLock::exclusive(final_dir)?);
            }
        }
        let staging = staging_path(final_dir);
        if require_dir(field, &staging)? {
            if !has_marker(&staging) && non_empty(&staging)? {
                return Err(Error::config(
                    field,
                    format!(
                        "{} exists and was not created by depthscale; remove it or choose another directory",
                        staging.display()
                    ),
                ));
            }
            protected.check(field, &staging)?;
            let stale = DirLock::exclusive(&staging)?;
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
            drop(stale);
        }
        create_parent(&staging)?;
        std::fs::create_dir(&staging).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::InUse {
                path: staging.clone(),
                pid: None,
            },
            _ => Error::io(&staging, e),
        })?;
        let lock = DirLock::exclusive(&staging)?;
        Ok(Self {
            final_dir: final_dir.to_owned(),
            work_dir: staging,
            staged: true,
            _lock: lock,
            replaced,
        })
    }

    /// Claims `final_dir` (normalized) for a resumable run written in place. Returns the output
    /// and whether an earlier run with the same config (`config_text`) is being resumed: the
    /// directory holds the [`MARKER`] and a `config.toml` equal to `config_text` as TOML.
    /// `force` empties a marked directory (keeping nothing) instead. A non-empty directory
    /// without the marker is refused, with or without `force`, and left as it is.
    pub fn in_place(
        final_dir: &Path,
        force: bool,
        config_text: &str,
        protected: &Protected,
    ) -> Result<(Self, bool)> {
        let field = "--out";
        let claim = |lock: DirLock| Self {
            final_dir: final_dir.to_owned(),
            work_dir: final_dir.to_owned(),
            staged: false,
            _lock: lock,
            replaced: None,
        };
        if !require_dir(field, final_dir)? {
            std::fs::create_dir_all(final_dir).map_err(|e| Error::io(final_dir, e))?;
            return Ok((claim(DirLock::exclusive(final_dir)?), false));
        }
        if !non_empty(final_dir)? {
            return Ok((claim(DirLock::exclusive(final_dir)?), false));
        }
        if !has_marker(final_dir) {
            return Err(not_ours(field, final_dir));
        }
        if force {
            protected.check(field, final_dir)?;
            let lock = DirLock::exclusive(final_dir)?;
            empty_except_marker(final_dir)?;
            return Ok((claim(lock), false));
        }
        let lock = DirLock::exclusive(final_dir)?;
        let cfg_path = final_dir.join("config.toml");
        let hint = "choose another directory or pass --force to replace it";
        if let Some(what) = non_regular(&cfg_path)? {
            return Err(refuse_non_regular(&cfg_path, what));
        }
        if !cfg_path.exists() {
            return Err(Error::config(
                field,
                format!(
                    "{} already exists and holds no config.toml of an earlier run; {hint}",
                    final_dir.display()
                ),
            ));
        }
        let old = super::config::read_toml(&cfg_path)?;
        let new: toml::Table = toml::from_str(config_text).expect("the runner writes valid TOML");
        if let Some(key) = first_difference(&old, &new) {
            return Err(Error::config(
                field,
                format!(
                    "{} holds a run with another config (`{key}` differs); rerun the same command to resume it, choose another directory, or pass --force to start over",
                    final_dir.display(),
                ),
            ));
        }
        let summary = final_dir.join("summary.json");
        if std::fs::symlink_metadata(&summary).is_ok() {
            std::fs::remove_file(&summary).map_err(|e| Error::io(&summary, e))?;
        }
        Ok((claim(lock), true))
    }

    /// The directory the run writes into (the staging directory of a staged run).
    pub fn dir(&self) -> &Path {
        &self.work_dir
    }

    /// The directory the run ends up in.
    pub fn final_dir(&self) -> &Path {
        &self.final_dir
    }

    /// Gives up a staged output: removes the staging directory this claim created (an output
    /// written in place is left as it is) and releases its lock.
    pub fn abandon(self) -> Result<()> {
        if self.staged {
            std::fs::remove_dir_all(&self.work_dir).map_err(|e| Error::io(&self.work_dir, e))?;
        }
        Ok(())
    }

    /// Makes the output complete: fsyncs it and, for a staged run, moves it to its final name
    /// (replacing the directory claimed with `--force`, or an empty one). Returns the final
    /// directory.
    pub fn commit(self) -> Result<PathBuf> {
        sync_dir(&self.work_dir)?;
        if !self.staged {
            return Ok(self.final_dir);
        }
        if self.replaced.is_some() {
            std::fs::remove_dir_all(&self.final_dir).map_err(|e| Error::io(&self.final_dir, e))?;
        } else if self.final_dir.is_dir() {
            // Only an empty directory can be here (checked when claimed); remove_dir refuses
            // one that was filled meanwhile.
            std::fs::remove_dir(&self.final_dir).map_err(|e| {
                Error::config(
                    "--out",
                    format!(
                        "{} was filled while the run was writing ({e}); the complete run is kept in {}",
                        self.final_dir.display(),
                        self.work_dir.display()
                    ),
                )
            })?;
        }
        std::fs::rename(&self.work_dir, &self.final_dir)
            .map_err(|e| Error::io(&self.final_dir, e))?;
        if let Some(parent) = self.final_dir.parent() {
            sync_dir(parent)?;
        }
        Ok(self.final_dir)
    }
}

/// Moves the complete run `from` (a directory depthscale created, holding `summary.json`) to
/// `to` (normalized): `to` must be absent or empty, or, with `replace`, a directory depthscale
/// created (then removed first). Used by executors whose jobs ran a run elsewhere.
pub fn adopt(from: &Path, to: &Path, replace: bool) -> Result<()> {
    let field = "--out";
    if !has_marker(from) || !from.join("summary.json").is_file() {
        return Err(Error::config(
            field,
            format!("{} is not a complete run of depthscale", from.display()),
        ));
    }
    if require_dir(field, to)? {
        if non_empty(to)? {
            if !replace {
                return Err(Error::config(
                    field,
                    format!(
                        "{} already exists and is not empty; the run is kept in {}",
                        to.display(),
                        from.display()
                    ),
                ));
            }
            if !has_marker(to) {
                return Err(not_ours(field, to));
            }
            let lock = DirLock::exclusive(to)?;
            std::fs::remove_dir_all(to).map_err(|e| Error::io(to, e))?;
            drop(lock);
        } else {
            std::fs::remove_dir(to).map_err(|e| Error::io(to, e))?;
        }
    }
    create_parent(to)?;
    std::fs::rename(from, to).map_err(|e| Error::io(to, e))?;
    if let Some(parent) = to.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Removes every entry of `dir` but its marker.
fn empty_except_marker(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if entry.file_name() == MARKER {
            continue;
        }
        let p = entry.path();
        let is_dir = entry.file_type().map_err(|e| Error::io(&p, e))?.is_dir();
        if is_dir {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        }
        .map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}

/// The first top-level key whose value differs between two tables (`None` if equal).
pub(crate) fn first_difference(a: &toml::Table, b: &toml::Table) -> Option<String> {
    a.keys()
        .chain(b.keys())
        .find(|k| a.get(*k) != b.get(*k))
        .cloned()
}

#[cfg(test)]
mod tests;
