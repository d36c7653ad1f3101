"""Hostile arguments (issue 20, items 10 and 11): sizes no machine can hold, self-referencing
and very deep values. Each call runs in its own interpreter, so a regression (an abort on a
failed allocation, a segfault on unbounded recursion, a hang) fails its case instead of
killing pytest. The interpreter runs with its address space capped (RLIMIT_AS) and with
`DEPTHSCALE_MAX_MEMORY=1G`: an unchecked allocation fails at once instead of swapping, and a
checked one is refused whatever the machine's memory."""

import json
import os
import resource
import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import json, sys
import numpy as np
import depthscale
from depthscale import _core

def deep(n):
    x = 0
    for _ in range(n):
        x = [x]
    return x

loop = []
loop.append(loop)
cycle = {}
cycle["a"] = cycle
try:
    CALL
    print(json.dumps({"raised": None}))
except BaseException as e:
    print(json.dumps({"raised": [c.__name__ for c in type(e).__mro__], "message": str(e)}))
"""

# generous: an address space cap for a Python process with NumPy, pandas and a thread pool
ADDRESS_SPACE = 8 << 30


def _cap():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def hostile(call: str, timeout: float = 60) -> dict:
    """Runs `call` in a fresh interpreter; returns what it raised (class names of its MRO) and
    the message. Fails when the interpreter dies or hangs."""
    code = PRELUDE.replace("CALL", call)
    env = dict(os.environ, DEPTHSCALE_MAX_MEMORY="1G")
    try:
        p = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            preexec_fn=_cap,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{call}: still running after {timeout} s")
    assert p.returncode == 0, f"{call}: exit {p.returncode}\n{p.stderr[-2000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1])


# Item 10: (call, field named in the message). Each must raise MemoryError (too large for the
# machine: depthscale.TooLargeError, which is also a ValueError) or ValueError, never abort.
TOO_LARGE = [
    # weights
    ("depthscale.weights('gaussian', 10**12, 1, 1)", "depth"),
    ("depthscale.weights('uniform', 10**5, 10**3, 10**3)", "depth"),
    ("depthscale.weights('gaussian', 2**62, 2**62, 2)", "depth"),
    ("depthscale.weights('correlated(gaussian)', 2, 300, 300)", "rows"),
    ("depthscale.weights('correlated(rbf(0.1))', 10, 500, 500)", "rows"),
    ("depthscale.weights('rbf(0.1)', 10**9, 1, 1)", "depth"),
    ("depthscale.weights('rbf(1e-9)', 10**6, 1, 1)", "depth"),
    ("depthscale.weights('fbm(0.7)', 10**10, 1, 1)", "depth"),
    ("depthscale.weights('fbm(0.7)', 10, 10**6, 10**6)", "rows"),
    # fbm
    ("depthscale.fbm(10**12, .5)", "n"),
    ("depthscale.fbm(10, .5, paths=10**12)", "paths"),
    ("depthscale.fbm(10**9, .7, paths=10)", "n"),
    # probe
    ("depthscale.probe(width=40000, depth=2, draws=1, samples=1)", "width"),
    ("depthscale.probe(width=10**9, depth=1, draws=1, samples=1)", "width"),
    ("depthscale.probe(width=2, depth=10**12, draws=1, samples=1)", "depth"),
    ("depthscale.probe(width=2, depth=2, draws=10**15, samples=1)", "draws"),
    ("depthscale.probe(width=2, depth=2, draws=1, samples=10**15)", "samples"),
    ("depthscale.probe(width=2, depth=2, draws=1, samples=1, n_in=10**12)", "n_in"),
    ("depthscale.probe(width=400, depth=2, draws=1, samples=1, init_v='correlated(gaussian)')", "width"),
    # train
    ("depthscale.train(depth=10**8, epochs=1, train_samples=10, test_samples=10)", "depth"),
    ("depthscale.train(depth=2, width=10**6, epochs=1, train_samples=10, test_samples=10)", "width"),
    ("depthscale.train(depth=2, width=2, epochs=10**12, train_samples=10, test_samples=10)", "epochs"),
    # forward
    ("depthscale.forward(np.zeros((1000, 16, 16)), np.zeros((10**6, 16)))", "x"),
    ("depthscale.ResNet(np.zeros((10**4, 4, 4))).forward(np.zeros((10**6, 4)))", "x"),
]


@pytest.mark.parametrize("call, field", TOO_LARGE)
def test_sizes_over_the_machine_raise_instead_of_aborting(call, field):
    r = hostile(call)
    assert r["raised"] is not None, f"{call}: returned normally"
    assert "MemoryError" in r["raised"] or "ValueError" in r["raised"], r
    assert f"`{field}`" in r["message"], r


def test_too_large_is_both_a_memory_error_and_a_value_error():
    r = hostile("depthscale.weights('gaussian', 10**12, 1, 1)")
    assert {"TooLargeError", "MemoryError", "ValueError"} <= set(r["raised"]), r
    assert "DEPTHSCALE_MAX_MEMORY" in r["message"], r


# Sizes that are not counts: negative or beyond 64 bits. ValueError naming the field.
BAD_COUNTS = [
    ("depthscale.weights('gaussian', -5, 1, 1)", "depth"),
    ("depthscale.weights('gaussian', 10, 10**30, 1)", "rows"),
    ("depthscale.fbm(10**30, .5)", "n"),
    ("depthscale.fbm(10, .5, paths=-1)", "paths"),
]


@pytest.mark.parametrize("call, field", BAD_COUNTS)
def test_bad_counts_raise_value_error_naming_the_field(call, field):
    r = hostile(call)
    assert r["raised"] is not None and "ValueError" in r["raised"], r
    assert f"`{field}`" in r["message"], r


# Item 11: self-referencing and very deep values.
DEEP = [
    ("depthscale.probe(depth=loop)", "depth"),
    ("depthscale.probe(depth=cycle)", "depth"),
    ("depthscale.probe(depth=deep(200_000))", "depth"),
    ("depthscale.probe(width=4, depth=10, beta=deep(100_000), draws=1, samples=1)", "beta"),
    ("depthscale.run('fig6', set={'hurst': loop}, out='never')", "hurst"),
    ("depthscale.run('fig6', set={'hurst': deep(200_000)}, out='never')", "hurst"),
    ("depthscale.train(init_v=loop)", "init_v"),
]


@pytest.mark.parametrize("call, field", DEEP)
def test_self_referencing_and_deep_values_raise_value_error(call, field):
    r = hostile(call)
    assert r["raised"] is not None and "ValueError" in r["raised"], r
    assert f"`{field}`" in r["message"] and "deep" in r["message"], r


@pytest.mark.parametrize(
    "call",
    [
        "_core.read_toml('a = ' + '[' * 200_000)",
        "depthscale.run('fig6', set=['hurst=' + '[' * 200_000 + ']' * 200_000], out='never')",
    ],
)
def test_deep_toml_text_raises_value_error(call):
    r = hostile(call)
    assert r["raised"] is not None and "ValueError" in r["raised"], r


def test_moderate_nesting_is_still_accepted():
    # a grid as a dict inside the config: two levels, far below the bound
    import depthscale

    r = depthscale.probe(
        width=4, depth={"linspace": [10, 20, 2]}, beta=[0.5], draws=1, samples=1, n_in=3
    )
    assert len(r["h_diff"]) == 2
