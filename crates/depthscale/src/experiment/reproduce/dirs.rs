//! The experiment directories `DIR/<preset>/` of a reproduction: how each stands against the
//! config the plan expects ([`state`]), what a run of the plan does with it ([`action`],
//! checked for every planned experiment before anything is written), and the claim that keeps
//! other processes out of `DIR` while a reproduction runs ([`Running`],
//! [`refuse_inside_running`]).

use super::super::output::{self, DirLock, MARKER};
use crate::{Error, Result};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// The largest `summary.json` or `config.toml` of an experiment that is read.
const FILE_CAP: u64 = 256 << 20;

/// How an experiment directory stands against the config the plan expects.
#[derive(Debug)]
pub enum State {
    /// Absent, or an empty directory.
    Missing,
    /// depthscale's marker, the expected config and a readable `summary.json` (given).
    Complete(serde_json::Value),
    /// depthscale's marker and the expected config, no `summary.json`: an interrupted run that
    /// resumes in place.
    Resumable,
    /// depthscale's marker, but not a complete run of the expected config: why.
    Stale(String),
    /// Not empty and without depthscale's marker (or not a directory): never replaced.
    Foreign,
}

/// What `dir` (the directory of `preset`'s experiment) holds, compared with `config` (the
/// resolved `config.toml` the plan expects); `resumable`: whether the experiment resumes in
/// place. Reads only; follows no symbolic link at `dir`.
pub fn state(dir: &Path, config: &str, resumable: bool) -> Result<State> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::Missing),
        Err(e) => return Err(Error::io(dir, e)),
    };
    if !meta.is_dir() {
        return Ok(State::Foreign);
    }
    let empty = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .next()
        .is_none();
    if empty {
        return Ok(State::Missing);
    }
    if !std::fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|m| m.is_file()) {
        return Ok(State::Foreign);
    }
    let cfg_path = dir.join("config.toml");
    if !std::fs::symlink_metadata(&cfg_path).is_ok_and(|m| m.is_file()) {
        return Ok(State::Stale("holds no config.toml".into()));
    }
    let old = match output::read_capped(&cfg_path, FILE_CAP, "config.toml")
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
    {
        Some(t) => t,
        None => return Ok(State::Stale("has an unreadable config.toml".into())),
    };
    let new: toml::Table = toml::from_str(config).expect("the runner writes valid TOML");
    let summary_path = dir.join("summary.json");
    let has_summary = std::fs::symlink_metadata(&summary_path).is_ok();
    if let Some(key) = output::first_difference(&old, &new) {
        return Ok(State::Stale(format!(
            "holds {} with another config (`{key}` differs)",
            if has_summary {
                "a run"
            } else {
                "an interrupted run"
            }
        )));
    }
    if !has_summary {
        return Ok(if resumable {
            State::Resumable
        } else {
            State::Stale("is incomplete (no summary.json)".into())
        });
    }
    let summary = std::fs::symlink_metadata(&summary_path)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .and_then(|_| output::read_capped(&summary_path, FILE_CAP, "summary.json").ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter(|v| v.get("results").is_some());
    Ok(match summary {
        Some(s) => State::Complete(s),
        None => State::Stale("has an unreadable summary.json".into()),
    })
}

/// What a reproduction does with a planned experiment's directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Already complete with the expected config: reused as it is.
    Reuse,
    /// Run it (into a missing directory, or resuming an interrupted run).
    Run,
    /// Replace it (`--redo`): run it again with `--force`.
    Redo,
}

/// The action for `preset`'s directory `dir` in state `state`; `redo`: whether `--redo` names
/// it. Refuses a stale directory without `--redo` (naming the flag) and a directory
/// depthscale did not create.
pub fn action(preset: &str, dir: &Path, state: &State, redo: bool) -> Result<Action> {
    Ok(match (state, redo) {
        (State::Foreign, _) => {
            return Err(Error::config(
                "--out",
                format!(
                    "{} is not empty and was not created by depthscale (it has no {MARKER} marker); \
                     move it away: neither --redo nor --force replaces it",
                    dir.display()
                ),
            ));
        }
        (State::Missing, _) => Action::Run,
        (_, true) => Action::Redo,
        (State::Complete(_), false) => Action::Reuse,
        (State::Resumable, false) => Action::Run,
        (State::Stale(why), false) => {
            return Err(Error::config(
                "--out",
                format!(
                    "{} {why}; pass --redo {preset} to replace just that experiment (the others are kept)",
                    dir.display()
                ),
            ));
        }
    })
}

thread_local! {
    /// The reproduction directories this thread is writing (its own runs may go inside them).
    static RUNNING: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// A reproduction in progress in this thread, writing into its directory (normalized) until
/// dropped: [`refuse_inside_running`] lets this thread's runs into it.
#[derive(Debug)]
pub struct Running(PathBuf);

impl Running {
    /// Marks `dir` as written by this thread's reproduction.
    pub fn enter(dir: &Path) -> Self {
        RUNNING.with(|r| r.borrow_mut().push(dir.to_owned()));
        Self(dir.to_owned())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.with(|r| {
            let mut r = r.borrow_mut();
            if let Some(i) = r.iter().rposition(|d| d == &self.0) {
                r.remove(i);
            }
        });
    }
}

/// Refuses an output directory `dir` (normalized) directly inside a depthscale directory that
/// another process (or another thread's reproduction) holds, e.g. an experiment directory
/// `DIR/fig1` of a reproduction in progress: fails with [`Error::InUse`] naming that directory.
pub fn refuse_inside_running(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    if !output::has_marker(parent) || RUNNING.with(|r| r.borrow().iter().any(|d| d == parent)) {
        return Ok(());
    }
    DirLock::shared(parent).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = "kind = \"fbm_paths\"\nseed = 1\n";

    #[test]
    fn states_of_an_experiment_directory() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("fig6");
        assert!(matches!(state(&d, CFG, false).unwrap(), State::Missing));
        std::fs::create_dir(&d).unwrap();
        assert!(matches!(state(&d, CFG, false).unwrap(), State::Missing));
        std::fs::write(d.join("notes.md"), "mine").unwrap();
        assert!(matches!(state(&d, CFG, false).unwrap(), State::Foreign));
        assert!(action("fig6", &d, &State::Foreign, true).is_err());
        std::fs::write(d.join(MARKER), "").unwrap();
        std::fs::write(d.join("config.toml"), CFG).unwrap();
        assert!(matches!(state(&d, CFG, true).unwrap(), State::Resumable));
        let s = state(&d, CFG, false).unwrap();
        assert!(matches!(s, State::Stale(_)), "{s:?}");
        let e = action("fig6", &d, &s, false).unwrap_err().to_string();
        assert!(e.contains("--redo fig6") && !e.contains("--force"), "{e}");
        assert_eq!(action("fig6", &d, &s, true).unwrap(), Action::Redo);
        std::fs::write(d.join("summary.json"), "{ not json").unwrap();
        assert!(matches!(state(&d, CFG, true).unwrap(), State::Stale(_)));
        std::fs::write(d.join("summary.json"), "{\"results\": 1}").unwrap();
        let s = state(&d, CFG, true).unwrap();
        assert!(matches!(s, State::Complete(_)));
        assert_eq!(action("fig6", &d, &s, false).unwrap(), Action::Reuse);
        match state(&d, "kind = \"fbm_paths\"\nseed = 2\n", true).unwrap() {
            State::Stale(why) => assert!(why.contains("`seed` differs"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn runs_inside_a_held_directory_are_refused_except_by_its_own_thread() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("r");
        std::fs::create_dir(&root).unwrap();
        refuse_inside_running(&root.join("fig1")).unwrap();
        let lock = DirLock::exclusive(&root).unwrap();
        let err = refuse_inside_running(&root.join("fig1")).unwrap_err();
        assert!(matches!(err, Error::InUse { .. }), "{err}");
        let running = Running::enter(&root);
        refuse_inside_running(&root.join("fig1")).unwrap();
        let other = root.clone();
        std::thread::spawn(move || refuse_inside_running(&other.join("fig1")).unwrap_err())
            .join()
            .unwrap();
        drop(running);
        assert!(refuse_inside_running(&root.join("fig1")).is_err());
        drop(lock);
        refuse_inside_running(&root.join("fig1")).unwrap();
    }
}
