"""Ctrl-C stops a long call cleanly, and the module keeps working afterwards."""

import _thread
import signal
import threading
import time

import pytest

import depthscale


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler, even where the process started with SIGINT ignored (a
    background job of a non-interactive shell): `interrupt_main` does nothing otherwise."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_keyboard_interrupt_stops_a_long_probe(sigint_raises):
    # about 20 s of work on two cores; interrupted after 0.3 s
    long = dict(width=40, depth=1000, beta=[0.5, 1.0], draws=2000, samples=10)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        depthscale.probe(**long)
    elapsed = time.perf_counter() - start
    timer.cancel()
    assert elapsed < 5, elapsed
    # the next call works
    r = depthscale.probe(width=4, depth=10, draws=1, samples=1, beta=0.5, n_in=3)
    assert len(r["h_diff"]) == 1
