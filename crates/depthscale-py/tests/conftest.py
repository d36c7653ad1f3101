"""Shared fixtures: the CLI binary (for byte-for-byte comparisons) and small sizes."""

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `depthscale` executable: $DEPTHSCALE_CLI (required to exist when set, as in CI),
    else the workspace's release or debug build, else one on PATH; skipped when none."""
    given = os.environ.get("DEPTHSCALE_CLI")
    if given:
        assert Path(given).is_file(), f"DEPTHSCALE_CLI={given} does not exist"
        return Path(given)
    for p in (REPO / "target/release/depthscale", REPO / "target/debug/depthscale"):
        if p.is_file():
            return p
    found = shutil.which("depthscale")
    if found:
        return Path(found)
    pytest.skip("no depthscale executable (build it with cargo build --release -p depthscale-cli)")
