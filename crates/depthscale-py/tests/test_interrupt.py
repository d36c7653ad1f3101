"""Ctrl-C stops a long call cleanly within a second, and the module keeps working afterwards."""

import _thread
import signal
import threading
import time

import pytest

import depthscale

# The longest a call may take to stop after Ctrl-C (issue 20, item 15).
LATENCY = 1.0


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler, even where the process started with SIGINT ignored (a
    background job of a non-interactive shell): `interrupt_main` does nothing otherwise."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupted_after(delay, call):
    """Calls `call()`, sends Ctrl-C after `delay` seconds; returns the seconds from Ctrl-C to
    the KeyboardInterrupt. Fails when the call returns first."""
    sent = []

    def send():
        sent.append(time.perf_counter())
        _thread.interrupt_main()

    timer = threading.Timer(delay, send)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
        latency = time.perf_counter() - sent[0]
    finally:
        timer.cancel()
    print(f"stopped {latency:.3f} s after Ctrl-C")
    return latency


def test_keyboard_interrupt_stops_a_long_probe(sigint_raises):
    # about 20 s of work on two cores; interrupted after 0.3 s
    long = dict(width=40, depth=1000, beta=[0.5, 1.0], draws=2000, samples=10)
    assert interrupted_after(0.3, lambda: depthscale.probe(**long)) < LATENCY
    # the next call works
    r = depthscale.probe(width=4, depth=10, draws=1, samples=1, beta=0.5, n_in=3)
    assert len(r["h_diff"]) == 1


@pytest.mark.parametrize(
    "preset, delay, set",
    [
        # 50 gradient steps in lockstep; the reference network is cut from 16384 to 1024
        # layers: the run stops between steps (and between a step's phases), and a step of the
        # full preset's reference takes seconds on two cores
        ("implicit-regularization", 1.5, {"reference_depth": 1024}),
        # 40 pairs of networks trained with plain SGD, a few seconds each
        ("ode-after-training", 1.0, None),
    ],
)
def test_keyboard_interrupt_stops_a_long_run(sigint_raises, tmp_path, preset, delay, set):
    out = tmp_path / "r"
    assert interrupted_after(delay, lambda: depthscale.run(preset, out=out, set=set)) < LATENCY
    # not complete: no summary
    assert not (out / "summary.json").exists()


@pytest.mark.parametrize(
    "call",
    [
        # an rbf factor of rank about 500 over 10^5 layers: seconds of pivoted Cholesky in
        # under a GB (the issue's `rbf(0.1)` over 10^7 layers needs 10 GB or so)
        lambda: depthscale.weights("rbf(0.005)", 10**5, 1, 1),
        # i.i.d. draws: 4e8 normals
        lambda: depthscale.weights("gaussian", 4 * 10**8, 1, 1),
        # fractional Gaussian noise: 200 paths of 2^20 points, a Davies-Harte FFT per pair
        lambda: depthscale.fbm(2**20, 0.7, paths=200),
        # a training run of 10 epochs on the bundled data
        lambda: depthscale.train(depth=500, width=30, epochs=10),
    ],
    ids=["rbf", "gaussian", "fbm", "train"],
)
def test_keyboard_interrupt_stops_sampling_and_training(sigint_raises, call):
    assert interrupted_after(0.5, call) < LATENCY
    assert depthscale.weights("gaussian", 2, 2, 2).shape == (2, 2, 2)
