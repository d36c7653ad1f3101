//! The harness of the hostile-use tests (`abuse*.rs`, replayed by `tests/abuse.sh` against the
//! release binary): run the executable under a memory cap and a timeout, and assert a clean
//! one-line refusal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The executable under test.
pub fn bin() -> PathBuf {
    std::env::var_os("DEPTHSCALE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_depthscale")))
}

/// Runs the executable in `cwd` with `args`, under `mem_kib` KiB of virtual memory and a
/// 120 s timeout.
pub fn run_capped(cwd: &Path, args: &[&str], env: &[(&str, &str)], mem_kib: u64) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {mem_kib} 2>/dev/null; exec timeout 120 \"$@\""
        ))
        .arg("sh")
        .arg(bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RAYON_NUM_THREADS")
        .env_remove("DEPTHSCALE_MAX_MEMORY")
        .env_remove("DEPTHSCALE_MAX_DISK")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("sh runs")
}

/// [`run_capped`] with 4 GiB.
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    run_capped(cwd, args, &[], 4 << 20)
}

/// Whether `line` is a plain progress line (printed when stderr is not a terminal, as here):
/// `PHASE: DONE/TOTAL (P%), elapsed ...` or `PHASE: P%, elapsed ...`.
pub fn is_progress(line: &str) -> bool {
    !line.starts_with("error: ")
        && !line.starts_with("warning: ")
        && (line.contains("), elapsed ") || line.contains("%, elapsed "))
}

/// Asserts one refused run: status 1 or 2 (not a signal, not a panic's 101), exactly one
/// non-empty stderr line besides progress lines ([`is_progress`]), starting with `error: `,
/// holding every needle.
#[track_caller]
pub fn refused(out: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code();
    assert!(
        matches!(code, Some(1 | 2)),
        "expected a clean refusal, got {:?}: {err}",
        out.status
    );
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !is_progress(l))
        .collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "error line lacks {n:?}: {err}");
    }
    lines[0].to_owned()
}

/// Asserts `dir` does not look like a complete run.
#[track_caller]
pub fn not_complete(dir: &Path) {
    assert!(
        !dir.join("summary.json").exists(),
        "{} looks complete",
        dir.display()
    );
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Waits until `path` exists (at most 60 s).
pub fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A sweep of 8 cells that takes a second or two (about 0.15 s per cell on one core).
pub const SMALL_SWEEP: [&str; 16] = [
    "run",
    "fig9",
    "--set",
    "lr=[0.01, 0.001]",
    "--set",
    "hurst=[0.3, 0.7]",
    "--set",
    "beta=[0.5, 1.0]",
    "--set",
    "epochs=2",
    "--set",
    "train_samples=2000",
    "--set",
    "test_samples=500",
    "--set",
    "depth=500",
];
