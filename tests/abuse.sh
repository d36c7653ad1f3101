#!/usr/bin/env bash
# Replays the hostile cases of crates/depthscale-cli/tests/abuse*.rs against the release binary:
# data loss (--force on the current, home or a foreign directory, trailing slashes, two
# processes on one output, kill and resume), sizes that overflow or exceed the machine, unbounded
# reads (gzip bombs, /dev/zero), thread and title caps, and one-line errors. Each case must exit
# non-zero with one `error:` line and no panic, leave no directory that looks complete, and
# never remove a file it did not create. Every child runs under `ulimit -v` and a timeout.
#
#   tests/abuse.sh            # builds the release binary first
#   DEPTHSCALE_BIN=PATH tests/abuse.sh   # another binary (e.g. an older build, to see it fail)
#
# The test harness is compiled like the README's test command (`--release --workspace`, the same
# features), so after that command nothing is compiled again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${DEPTHSCALE_BIN:-}" ]]; then
    cargo build --release --locked --workspace --bin depthscale
    DEPTHSCALE_BIN="$PWD/target/release/depthscale"
fi
export DEPTHSCALE_BIN
cargo test --release --locked --workspace --test 'abuse*'
