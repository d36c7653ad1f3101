"""Shared by the peer workers of `bench/compare.py`: the workloads' sizes, the data files the
driver writes, and the worker loop.

A worker reads commands from standard input, one per line: `run WORKLOAD REPS` sets the
workload up on first use (its first call, compilation included, is timed apart as
`first_call_s`, and its check values are written to `DIR/check-TAG-WORKLOAD.bin` as
little-endian f64), then times REPS calls and answers one JSON line; `quit` stops it. A workload
the peer does not run answers `{"workload": .., "skipped": reason}`. The depthscale worker
(`crates/depthscale/benches/peers.rs`) speaks the same protocol.
"""
import json
import os
import sys
import time

import numpy as np

DEPTH = 1000
PROBE_WIDTH, PROBE_IN, COLUMNS = 40, 64, 700
TRAIN_WIDTH, TRAIN_IN, CLASSES, BATCH = 30, 784, 10, 128
NETWORKS = 8  # train8
LR = 1e-3
ALPHA = DEPTH ** -0.5
HURST = 0.3


def load(data_dir, name, dtype, shape):
    """One raw little-endian array written by the driver."""
    return np.fromfile(os.path.join(data_dir, name), dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def probe_net(data_dir, b):
    """Network b of the probe workloads: embed [d, n_in], V [L, d, d], W [L, d, d], readout [1, d]
    (row-major, f64): h_0 = A x, h_{k+1} = h_k + alpha V_k relu(W_k h_k)."""
    d, L = PROBE_WIDTH, DEPTH
    return {
        "embed": load(data_dir, f"probe_embed{b}.bin", "f8", (d, PROBE_IN)),
        "v": load(data_dir, f"probe_v{b}.bin", "f8", (L, d, d)),
        "w": load(data_dir, f"probe_w{b}.bin", "f8", (L, d, d)),
        "readout": load(data_dir, f"probe_readout{b}.bin", "f8", (1, d)),
    }


def probe_inputs(data_dir):
    """x [700, 64] (row n is column n), y [700], f64."""
    return load(data_dir, "probe_x.bin", "f8", (COLUMNS, PROBE_IN)), load(data_dir, "probe_y.bin", "f8", (COLUMNS,))


def train_data(data_dir):
    """The training model's initial weights (f32; bias zero) and one batch:
    h_0 = A x, h_{k+1} = h_k + alpha (V_k relu(h_k) + b_k), logits B h_L, mean cross-entropy."""
    d, L = TRAIN_WIDTH, DEPTH
    params = {
        "embed": load(data_dir, "train_embed.bin", "f4", (d, TRAIN_IN)),
        "v": load(data_dir, "train_v.bin", "f4", (L, d, d)),
        "bias": np.zeros((L, d), np.float32),
        "readout": load(data_dir, "train_readout.bin", "f4", (CLASSES, d)),
    }
    images = load(data_dir, "train_images.bin", "f4", (BATCH, TRAIN_IN))
    labels = load(data_dir, "train_labels.bin", "u1", (BATCH,)).astype(np.int64)
    return params, images, labels


# the order of the parameter change in the train check (depthscale's Params::named; W is empty)
TRAIN_KEYS = ("embed", "v", "bias", "readout")


def measures(h0, hL, p0, pL):
    """The four probe measures of each row (as depthscale's ProbeMeasure), flattened."""
    n = np.linalg.norm
    h0, hL, p0, pL = (np.asarray(a, np.float64).reshape(-1, a.shape[-1]) for a in (h0, hL, p0, pL))
    out = np.stack([n(hL, axis=1) / n(h0, axis=1), n(hL - h0, axis=1) / n(h0, axis=1),
                    n(p0, axis=1) / n(pL, axis=1), n(pL - p0, axis=1) / n(pL, axis=1)], axis=1)
    return out.ravel()


def serve(setup, tag, data_dir):
    """The worker loop: `setup(name)` returns (call, check values or None), or a string saying
    why the peer skips the workload."""
    workloads = {}
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        _, name, reps = words
        reply = {"workload": name}
        if name not in workloads:
            made = setup(name)
            if isinstance(made, str):
                workloads[name] = made
            else:
                fn, check = made
                t = time.perf_counter()
                fn()
                reply["first_call_s"] = time.perf_counter() - t
                if check is not None:
                    np.asarray(check(), "<f8").tofile(os.path.join(data_dir, f"check-{tag}-{name}.bin"))
                workloads[name] = fn
        fn = workloads[name]
        if isinstance(fn, str):
            reply["skipped"] = fn
        else:
            times = []
            for _ in range(int(reps)):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            reply["times"] = times
        print(json.dumps(reply), flush=True)
