//! Helpers shared by the end-to-end tests: run the built binary, assert success.

// each test binary compiles this module and uses only part of it
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs the built `depthscale` with `args` (no backtraces, so errors stay one line).
pub fn depthscale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_depthscale"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the binary runs")
}

/// Asserts a successful run; returns its stdout.
#[track_caller]
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
pub mod hostile;
