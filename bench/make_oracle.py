#!/usr/bin/env python3
"""Writes the PyTorch oracle of one res1 training step, in the manner of llm.c's test fixtures.

The model is depthscale's training model (crates/depthscale/src/train/net.rs), written here
independently in PyTorch:

    h_0 = A x,   h_{k+1} = h_k + L^-beta (V_{k+1} relu(h_k) + b_{k+1}),   logits = B h_L,
    loss = mean softmax cross-entropy,   one torch.optim.Adam step (single-tensor, PyTorch defaults
    betas = (0.9, 0.999), eps = 1e-8) from a given optimizer state.

At L = 8, d = 6, 5 inputs, 3 classes and a batch of 4, everything is computed in float64 and
dumped into crates/depthscale/tests/fixtures/res1_step_L8_d6.safetensors (about 10 KB):

    x [4, 5]            the batch (row n is sample n: depthscale's column-major n_in x n)
    labels [4] (U8)     its classes
    embed [6, 5], v [8, 6, 6], bias [8, 6], readout [3, 6]       the weights before the step
    logits [4, 3]       B h_L (row n is sample n)
    loss []             the mean cross-entropy
    grad_<name>         d loss / d <name> for every weight tensor
    adam_<name>         the weights after the Adam step

The Adam state before the step is not stored but given by exact formulas, so that the step does
not reduce to lr * sign(grad) as a first step would: for the i-th entry of a tensor (row-major),
exp_avg = ((7 i) mod 13 - 6) / 1000, exp_avg_sq = ((5 i) mod 11 + 1) / 100000, after 3 steps.
crates/depthscale/tests/torch_oracle.rs rebuilds the same state and compares depthscale's forward,
backward and Adam update against this file in f64 and f32.

Run once, from the repository root, with a Python that has torch and numpy:
    /root/torchenv/bin/python bench/make_oracle.py
The safetensors file is written by hand (its format is a little-endian u64 header length, a JSON
header and the raw tensors), so no other package is needed.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

L, D, N_IN, N_OUT, BATCH = 8, 6, 5, 3, 4
BETA, LR, STEPS_BEFORE = 0.5, 0.01, 3
SEED = 20240531

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "crates", "depthscale", "tests", "fixtures", "res1_step_L8_d6.safetensors")


def uniform(rng, shape, fan_in):
    """i.i.d. uniform entries of variance 1 / fan_in, as depthscale's `uniform` law."""
    a = (3.0 / fan_in) ** 0.5
    return rng.uniform(-a, a, size=shape)


def moments(shape):
    """The Adam state before the step (exact in binary64, rebuilt the same way in Rust)."""
    i = np.arange(int(np.prod(shape)))
    m = (((7 * i) % 13) - 6) / 1000.0
    v = (((5 * i) % 11) + 1) / 100000.0
    return m.reshape(shape), v.reshape(shape)


def forward(x, labels, p):
    alpha = float(L) ** -BETA
    h = x @ p["embed"].T
    for k in range(L):
        h = h + alpha * (torch.relu(h) @ p["v"][k].T + p["bias"][k])
    logits = h @ p["readout"].T
    return logits, torch.nn.functional.cross_entropy(logits, labels)


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, (dtype, array) in tensors.items():
        raw = np.ascontiguousarray(array).astype("<f8" if dtype == "F64" else "u1").tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(SEED)
    x = rng.uniform(0.0, 1.0, size=(BATCH, N_IN))
    labels = np.array([0, 2, 1, 2], dtype=np.uint8)
    weights = {
        "embed": uniform(rng, (D, N_IN), N_IN),
        "v": uniform(rng, (L, D, D), D),
        "bias": rng.normal(0.0, 0.1, size=(L, D)),
        "readout": uniform(rng, (N_OUT, D), D),
    }
    params = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items()}
    logits, loss = forward(torch.tensor(x), torch.tensor(labels, dtype=torch.long), params)
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in params.items()}

    names = list(params)
    opt = torch.optim.Adam([params[k] for k in names], lr=LR, foreach=False)
    for k in names:
        m, v = moments(params[k].shape)
        opt.state[params[k]] = {
            "step": torch.tensor(float(STEPS_BEFORE)),
            "exp_avg": torch.tensor(m),
            "exp_avg_sq": torch.tensor(v),
        }
    opt.step()

    tensors = {"x": ("F64", x), "labels": ("U8", labels)}
    tensors.update({k: ("F64", v) for k, v in weights.items()})
    tensors["logits"] = ("F64", logits.detach().numpy())
    tensors["loss"] = ("F64", loss.detach().numpy().reshape(()))
    tensors.update({f"grad_{k}": ("F64", g.numpy()) for k, g in grads.items()})
    tensors.update({f"adam_{k}": ("F64", params[k].detach().numpy()) for k in names})
    metadata = {
        "depth": str(L), "width": str(D), "n_in": str(N_IN), "n_out": str(N_OUT), "beta": str(BETA),
        "lr": str(LR), "adam_steps_before": str(STEPS_BEFORE),
        "adam_state": "exp_avg[i] = ((7 i) mod 13 - 6) / 1000, exp_avg_sq[i] = ((5 i) mod 11 + 1) / 1e5",
        "generator": f"bench/make_oracle.py, torch {torch.__version__}, numpy {np.__version__}, seed {SEED}",
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    write_safetensors(OUT, tensors, metadata)
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes), loss {loss.item():.17g}", file=sys.stderr)


if __name__ == "__main__":
    main()
