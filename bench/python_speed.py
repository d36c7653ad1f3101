"""Speed of the Python binding against the CLI, for the same work.

1. Throughput: one probe batch (res3, d = 40, L = 1000, 10 betas x 10 samples x DRAWS draws)
   through `depthscale.probe` (wall time of the Python call, arrays included) against the
   probing stage of `depthscale run` on the same config (its `probes_per_second` in
   summary.json, which leaves out the CLI's start, config and CSV writing: the stricter
   comparison). Best of REPEATS each.
2. Per-call overhead of a tiny call (depth 10, one draw, one sample): the Python call's wall time
   minus the Rust probing stage's own time (returned by `_core.probe`), mean over CALLS calls.

    python bench/python_speed.py --cli target/release/depthscale
"""

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import depthscale
from depthscale import _core

parser = argparse.ArgumentParser()
parser.add_argument("--cli", default="target/release/depthscale")
parser.add_argument("--draws", type=int, default=60)
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--calls", type=int, default=3000)
args = parser.parse_args()

betas = [round(0.1 * i, 1) for i in range(1, 11)]
kw = dict(model="res3", width=40, depth=1000, beta=betas, draws=args.draws, samples=10, seed=0)
probes = len(betas) * 10 * args.draws

py_best, py_stage_best, cli_best = float("inf"), float("inf"), 0.0
with tempfile.TemporaryDirectory() as tmp:
    cfg = Path(tmp) / "batch.toml"
    cfg.write_text(
        'kind = "probe"\nmodel = "res3"\nwidth = 40\ndepth = 1000\n'
        f"beta = {betas}\ndraws = {args.draws}\nsamples = 10\nseed = 0\n"
    )
    # alternate the two sides, so that both see the same load on a shared machine
    for i in range(args.repeats):
        t0 = time.perf_counter()
        r, stage = _core.probe(dict(kw))
        py_best = min(py_best, time.perf_counter() - t0)
        py_stage_best = min(py_stage_best, stage)
        out = Path(tmp) / f"out{i}"
        subprocess.run([args.cli, "run", str(cfg), "--out", str(out)], check=True, capture_output=True)
        s = json.loads((out / "summary.json").read_text())
        cli_best = max(cli_best, s["results"]["probes_per_second"])
assert len(r["h_diff"]) == probes

py_rate = probes / py_best
print(f"throughput: {probes} probes (L = 1000, d = 40)")
print(f"  python depthscale.probe: {py_best:.3f} s wall, {py_rate:.0f} probes/s")
print(f"  python call's probing stage: {py_stage_best:.3f} s")
print(f"  cli probing stage:       {probes / cli_best:.3f} s, {cli_best:.0f} probes/s")
print(f"  python / cli: {100 * py_rate / cli_best:.1f}%")

tiny = dict(model="res3", width=40, depth=10, beta=0.5, draws=1, samples=1, seed=0)
config = {k: v for k, v in tiny.items()}
for _ in range(200):  # warm up
    depthscale.probe(**tiny)
core, inner, public = 0.0, 0.0, 0.0
for _ in range(args.calls):  # interleaved, so that both see the same load
    t0 = time.perf_counter()
    _, seconds = _core.probe(config)
    t1 = time.perf_counter()
    depthscale.probe(**tiny)
    t2 = time.perf_counter()
    core += t1 - t0
    inner += seconds
    public += t2 - t1
us = lambda x: 1e6 * x / args.calls  # noqa: E731
print(f"tiny call (depth 10, d = 40, 1 probe: sampling 35,000 weights and one pass), mean of {args.calls}:")
print(f"  depthscale.probe: {us(public):.1f} us per call")
print(f"  _core.probe: {us(core):.1f} us per call, of which the library's probing stage {us(inner):.1f} us")
print(f"  overhead of the binding (depthscale.probe minus the probing stage): {us(public - inner):.1f} us")
