#!/usr/bin/env python3
"""Like-for-like speed comparison of depthscale against JAX, PyTorch (eager, optionally
torch.compile) and numpy, on this machine, in one run.

Every row is the same work on the same data: the driver writes one set of weights and inputs
(numpy, seed 0) to a temporary folder, and every side reads them; batched against batched,
per-input against per-input, the same model (the training model's bias included). Each side is a
long-lived worker process (depthscale: `crates/depthscale/benches/peers.rs`; the others:
`bench/peer_*.py`), set up and warmed up (JIT-compiled) once, its first call reported apart; the
sides then take turns, in an order rotated every round, and each cell reports the median (and
min / max) over all rounds. Every turn after the first starts with one untimed call (every side
alike; `--cold-turns` drops it), so that no side is timed on caches the other sides just filled
with their own data: steady-state speed, as in a training loop. The one-core row pins its workers to core 0 (`taskset`) with one
thread each; the others let every side use both cores.

Each peer is checked against depthscale on the same data (relative difference printed): the four
probe measures of every input, the losses of three Adam steps and the parameter change after them
(f32), the first-step losses of the eight networks; for the fBm weights (different random
streams) the autocovariance at lags 0..10 of both sides against the exact fGn one.

Each row reports achieved GFLOP/s (multiply-adds counted as 2 flops; probe: 8 d^2 L per input,
forward and backward to the input; train step: 6 d^2 L b for the layers plus the embedding and
readout) and its fraction of the machine's peak, measured in the same run with a large numpy GEMM
(OpenBLAS) in f64 and f32 on one core and on two.

Usage (from the repository root; CI never runs it):
  python3 -m venv /tmp/venv-jax && /tmp/venv-jax/bin/pip install "jax[cpu]" numpy
  python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install torch numpy
  /tmp/venv-jax/bin/python bench/compare.py --jax-python /tmp/venv-jax/bin/python \\
      --torch-python /tmp/venv-torch/bin/python [--quick] [--compile] [--json OUT] [--before EXE]

The driver itself needs numpy (run it with either environment's Python). `--quick` is a short
sanity run (two rounds, fewer calls); `--compile` adds the torch.compile column (its compilation
at L = 1000 unrolls every layer and can take many minutes; reported apart).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import peers_common as pc  # noqa: E402

PROBE_FLOPS = 8 * pc.PROBE_WIDTH**2 * pc.DEPTH + 2 * pc.PROBE_WIDTH * pc.PROBE_IN + 4 * pc.PROBE_WIDTH
TRAIN_FLOPS = pc.BATCH * (6 * pc.TRAIN_WIDTH**2 * pc.DEPTH + 4 * pc.TRAIN_WIDTH * pc.TRAIN_IN + 6 * pc.TRAIN_WIDTH * pc.CLASSES)

# key, label, units per call, flops per call, precision of the peak, cores, reps per round,
# {side: (worker, workload name in the worker)}
ROWS = [
    ("probe1", "probe res3 L 1000 d 40 f64, one input (latency)", 1, PROBE_FLOPS, "f64", 1, 20,
     {"depthscale": ("ds2", "probe1"), "JAX": ("jax2", "probe1"), "torch eager": ("torch2", "probe1"),
      "torch.compile": ("torch2", "probe1_compiled")}),
    ("probe700", "same, 700 inputs, one core (pinned), per input", 700, 700 * PROBE_FLOPS, "f64", 1, 3,
     {"depthscale": ("ds1", "probe700"), "JAX": ("jax1", "probe700"), "torch eager": ("torch1", "probe700")}),
    ("probe2x700", "same, 2 networks x 700 inputs, two cores, per input", 1400, 1400 * PROBE_FLOPS, "f64", 2, 2,
     {"depthscale": ("ds2", "probe2x700"), "JAX": ("jax2", "probe2x700"), "torch eager": ("torch2", "probe2x700")}),
    ("train", "train step res1 + bias L 1000 d 30 b 128 f32, Adam", 1, TRAIN_FLOPS, "f32", 2, 5,
     {"depthscale": ("ds2", "train"), "JAX": ("jax2", "train"), "torch eager": ("torch2", "train"),
      "torch.compile": ("torch2", "train_compiled")}),
    ("train8", f"{pc.NETWORKS} independent networks, per network-step", pc.NETWORKS, pc.NETWORKS * TRAIN_FLOPS, "f32", 2, 2,
     {"depthscale": ("ds2", "train8"), "JAX": ("jax2", "train8")}),
    ("fbm", "fBm weights, 3,200 paths of length 1000 (H = 0.3)", 1, None, None, 2, 5,
     {"depthscale": ("ds2", "fbm"), "numpy": ("numpy", "fbm")}),
]
PEERS = ["depthscale before", "JAX", "torch eager", "torch.compile", "numpy"]
SIMD = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_vnni",
        "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile"]

PEAK_CODE = """
import sys, time, numpy as np
n, dt = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
a, b = rng.random((n, n)).astype(dt), rng.random((n, n)).astype(dt)
a @ b
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
print(2 * n**3 / best / 1e9)
"""


def cpu_info():
    model, flags = "?", []
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].split()
    return model, [s for s in SIMD if s in flags]


def pinned(cmd, cores):
    return (["taskset", "-c", "0"] + cmd) if cores == 1 and shutil.which("taskset") else cmd


def peak(python, dtype, cores):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(cores), OMP_NUM_THREADS=str(cores), MKL_NUM_THREADS=str(cores))
    n = "2048" if dtype == "f64" else "3072"
    out = subprocess.run(pinned([python, "-c", PEAK_CODE, n, dtype.replace("f", "float")], cores),
                         env=env, check=True, capture_output=True, text=True).stdout
    return float(out)


def write_data(d):
    """The shared weights and inputs, raw little-endian (names and shapes in peers_common)."""
    rng = np.random.default_rng(0)

    def uniform(shape, fan_in, dtype):
        a = (3.0 / fan_in) ** 0.5
        return rng.uniform(-a, a, size=shape).astype(dtype)

    def save(name, arr):
        arr.astype(arr.dtype.newbyteorder("<")).tofile(os.path.join(d, name))

    w, L = pc.PROBE_WIDTH, pc.DEPTH
    for b in range(2):
        save(f"probe_embed{b}.bin", uniform((w, pc.PROBE_IN), pc.PROBE_IN, np.float64))
        save(f"probe_v{b}.bin", uniform((L, w, w), w, np.float64))
        save(f"probe_w{b}.bin", uniform((L, w, w), w, np.float64))
        save(f"probe_readout{b}.bin", uniform((1, w), w, np.float64))
    save("probe_x.bin", rng.random((pc.COLUMNS, pc.PROBE_IN)))
    save("probe_y.bin", rng.random(pc.COLUMNS))
    t = pc.TRAIN_WIDTH
    save("train_embed.bin", uniform((t, pc.TRAIN_IN), pc.TRAIN_IN, np.float32))
    save("train_v.bin", uniform((L, t, t), t, np.float32))
    save("train_readout.bin", uniform((pc.CLASSES, t), t, np.float32))
    save("train_images.bin", rng.random((pc.BATCH, pc.TRAIN_IN)).astype(np.float32))
    save("train_labels.bin", rng.integers(0, pc.CLASSES, pc.BATCH).astype(np.uint8))


def build_depthscale():
    cmd = ["cargo", "bench", "--locked", "-q", "-p", "depthscale", "--bench", "peers", "--no-run",
           "--message-format=json"]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "peers" and msg.get("executable"):
            return msg["executable"]
    raise SystemExit("could not find the peers bench executable")


class Worker:
    def __init__(self, name, cmd, log):
        self.name, self.dead = name, None
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, cwd=HERE)

    def run(self, workload, reps):
        if self.dead:
            return {"error": self.dead}
        try:
            self.proc.stdin.write(f"run {workload} {reps}\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self.dead = f"worker {self.name} exited (see its log)"
            return {"error": self.dead}
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            self.proc.wait(timeout=60)


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def fgn_acov(stack, lags=11):
    """Autocovariance over depth of a [2, L, paths] array, at lags 0..lags-1."""
    a = stack.reshape(2, pc.DEPTH, -1)
    return np.array([np.mean(a[:, : pc.DEPTH - k] * a[:, k:]) for k in range(lags)])


def checks(data, row, cells):
    """One line per peer: how far its numbers are from depthscale's."""
    key, sides = row[0], row[7]
    load = lambda side: np.fromfile(os.path.join(data, f"check-{sides[side][0]}-{sides[side][1]}.bin"), "<f8")  # noqa: E731
    try:
        ours = load("depthscale")
    except FileNotFoundError:
        return {}
    out = {}
    for side in sides:
        if side == "depthscale" or side not in cells or "times" not in cells[side][0]:
            continue
        try:
            theirs = load(side)
        except FileNotFoundError:
            continue
        if key == "train":
            out[side] = (f"losses of 3 steps {rel(theirs[:3], ours[:3]):.1e}, "
                         f"parameter change {rel(theirs[3:], ours[3:]):.1e}")
        elif key == "fbm":
            d = pc.PROBE_WIDTH
            k = np.arange(11.0)
            h2 = 2 * pc.HURST
            exact = 0.5 * (np.abs(k - 1) ** h2 - 2 * k**h2 + (k + 1) ** h2) / d
            a, b = fgn_acov(theirs), fgn_acov(ours)
            out[side] = (f"autocovariance lags 0..10 vs exact: {side} {rel(a, exact):.1e}, "
                         f"depthscale {rel(b, exact):.1e}; between them {rel(a, b):.1e}")
        else:
            out[side] = f"{rel(theirs, ours):.1e}"
    return out


def fmt_ms(s):
    ms = s * 1e3
    return f"{ms:.3g} ms" if ms < 1000 else f"{s:.3g} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jax-python", default=os.environ.get("JAX_PYTHON"))
    ap.add_argument("--torch-python", default=os.environ.get("TORCH_PYTHON"))
    ap.add_argument("--depthscale", help="the peers bench executable (default: built with cargo bench --no-run)")
    ap.add_argument("--before", help="a second peers bench executable, built from an earlier commit: adds a "
                    "'depthscale before' side, so before/after is measured side by side (ratio > 1: faster now)")
    ap.add_argument("--cpu-path", choices=["portable", "avx2", "avx512"],
                    help="the CPU backend path of depthscale's training workloads (default: the widest this CPU has; "
                    "avx2 times the AVX2 kernels on an AVX-512 machine)")
    ap.add_argument("--rounds", type=int, help="rounds of turns (default 7; 2 with --quick)")
    ap.add_argument("--quick", action="store_true", help="a short sanity run")
    ap.add_argument("--compile", action="store_true", help="add torch.compile (slow to compile)")
    ap.add_argument("--only", help="comma-separated row keys (" + ",".join(r[0] for r in ROWS) + ")")
    ap.add_argument("--cell-budget", type=float, default=40.0,
                    help="seconds after which a cell (row and side) skips its later rounds (default 40)")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--cold-turns", action="store_true",
                    help="time each turn from its first call, right after the other sides' turns (default: one "
                    "untimed call starts every turn, for every side)")
    args = ap.parse_args()
    rounds = args.rounds or (2 if args.quick else 7)
    rows = [r for r in ROWS if not args.only or r[0] in args.only.split(",")]
    if args.before:
        rows = [r[:7] + ({**r[7], "depthscale before": ("db" + r[7]["depthscale"][0][2:], r[7]["depthscale"][1])},)
                for r in rows]

    model, simd = cpu_info()
    print(f"CPU: {model}, {os.cpu_count()} logical cores; SIMD: {' '.join(simd)}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    # the workers run in bench/: executables given relative to the current directory are
    # resolved now
    exe = os.path.abspath(args.depthscale) if args.depthscale else build_depthscale()
    if args.before:
        args.before = os.path.abspath(args.before)
    python = args.jax_python or args.torch_python or sys.executable
    peaks = {(p, c): peak(python, p, c) for p in ("f64", "f32") for c in (1, 2)}
    print("peak (numpy GEMM, GFLOP/s): " + ", ".join(f"{p} {c} core{'s' if c > 1 else ''} {v:.1f}" for (p, c), v in peaks.items()))

    print("turns: " + ("cold (timed from their first call)" if args.cold_turns
                       else "warm (each starts with one untimed call, every side alike)"))
    if args.cpu_path:
        os.environ["DEPTHSCALE_CPU_PATH"] = args.cpu_path
        print(f"depthscale's training workloads on the {args.cpu_path} path")
    data = tempfile.mkdtemp(prefix="depthscale-compare-")
    write_data(data)
    cmds = {"ds1": pinned([exe, data, "ds1", "1"], 1), "ds2": [exe, data, "ds2", "2"]}
    if args.before:
        cmds["db1"] = pinned([args.before, data, "db1", "1"], 1)
        cmds["db2"] = [args.before, data, "db2", "2"]
    if args.jax_python:
        cmds["jax1"] = pinned([args.jax_python, "peer_jax.py", data, "jax1", "1"], 1)
        cmds["jax2"] = [args.jax_python, "peer_jax.py", data, "jax2", "2"]
        cmds["numpy"] = [args.jax_python, "peer_numpy.py", data, "numpy"]
    if args.torch_python:
        cmds["torch1"] = pinned([args.torch_python, "peer_torch.py", data, "torch1", "1"], 1)
        cmds["torch2"] = [args.torch_python, "peer_torch.py", data, "torch2", "2"]
    if "numpy" not in cmds:
        cmds["numpy"] = [python, "peer_numpy.py", data, "numpy"]
    workers = {n: Worker(n, c, open(os.path.join(data, f"{n}.log"), "w")) for n, c in cmds.items()}

    cells = {r[0]: {} for r in rows}  # key -> side -> list of replies
    loads, spent = [os.getloadavg()[0]], {}
    t0 = time.time()
    for rnd in range(rounds):
        for row in rows:
            key, reps, sides = row[0], row[6], row[7]
            reps = max(1, reps // 2) if args.quick else reps
            order = [s for s in sides if s != "torch.compile" or args.compile]
            order = [s for s in order if sides[s][0] in workers]
            order = order[rnd % len(order):] + order[: rnd % len(order)]
            for side in order:
                worker, name = sides[side]
                if spent.get((key, side), 0.0) > args.cell_budget:
                    continue  # enough calls of a slow cell (a loaded machine): the later rounds skip it
                t = time.perf_counter()
                if rnd > 0 and not args.cold_turns:
                    # one untimed call first, so that each turn is timed warm (caches refilled after
                    # the other sides' turns) like the first one, which follows the worker's set-up
                    # call; every side gets it
                    workers[worker].run(name, 1)
                cells[key].setdefault(side, []).append(workers[worker].run(name, reps))
                spent[(key, side)] = spent.get((key, side), 0.0) + time.perf_counter() - t
        loads.append(os.getloadavg()[0])
        print(f"round {rnd + 1}/{rounds} done ({time.time() - t0:.0f} s, load {loads[-1]:.2f})", file=sys.stderr, flush=True)
    for w in workers.values():
        w.close()

    results = []
    sides_shown = ["depthscale"] + [p for p in PEERS if any(p in cells[r[0]] for r in rows)]
    print(f"\nload average (1 min) during the rounds: min {min(loads):.2f}, max {max(loads):.2f}; "
          f"at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n| workload (per unit) | " + " | ".join(sides_shown) + " |")
    print("|---" * (len(sides_shown) + 1) + "|")
    detail = []
    for row in rows:
        key, label, units, flops, prec, cores = row[:6]
        pk = peaks.get((prec, cores))
        stats = {}
        for side, replies in cells[key].items():
            times = [t / units for r in replies for t in r.get("times", [])]
            first = next((r["first_call_s"] for r in replies if "first_call_s" in r), None)
            why = next((r.get("skipped") or r.get("error") for r in replies if "times" not in r), None)
            if times:
                med = statistics.median(times)
                gf = flops / units / med / 1e9 if flops else None
                stats[side] = {"median_s": med, "min_s": min(times), "max_s": max(times), "calls": len(times),
                               "gflops": gf, "peak_fraction": gf / pk if gf and pk else None, "first_call_s": first}
            elif why:
                stats[side] = {"skipped": why}
        ours = stats.get("depthscale", {}).get("median_s")
        line = []
        for side in sides_shown:
            s = stats.get(side)
            if not s or "median_s" not in s:
                line.append("–")
                continue
            cell = fmt_ms(s["median_s"])
            extra = []
            if side != "depthscale" and ours:
                extra.append(f"{s['median_s'] / ours:.2f}x")
            if s["gflops"]:
                extra.append(f"{s['gflops']:.1f} GFLOP/s, {100 * s['peak_fraction']:.0f}% of {prec} peak")
            if side == "torch.compile" and s["first_call_s"]:
                extra.append(f"compile {s['first_call_s']:.0f} s")
            line.append(cell + (f" ({'; '.join(extra)})" if extra else ""))
        print(f"| {label} | " + " | ".join(line) + " |")
        chk = checks(data, row, cells[key])
        results.append({"workload": key, "label": label, "cores": cores, "sides": stats, "checks": chk})
        for side, s in stats.items():
            if "median_s" in s:
                detail.append(f"  {key:11} {side:14} min {fmt_ms(s['min_s']):>10}  median {fmt_ms(s['median_s']):>10}  "
                              f"max {fmt_ms(s['max_s']):>10}  ({s['calls']} calls; first call {s['first_call_s'] or 0:.2f} s)"
                              + (f"  check vs depthscale: {chk[side]}" if side in chk else ""))
            else:
                detail.append(f"  {key:11} {side:14} {s['skipped']}")
    print("\nper unit, over all rounds (ratios above: peer median / depthscale median):")
    print("\n".join(detail))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": model, "simd": simd, "peaks_gflops": {f"{p}_{c}core": v for (p, c), v in peaks.items()},
                       "load_min_max": [min(loads), max(loads)], "rounds": rounds,
                       "warm_turns": not args.cold_turns, "rows": results}, f, indent=2)
    dead = [w.name for w in workers.values() if w.dead]
    if dead:
        print(f"workers that stopped: {', '.join(dead)}; their logs are in {data}", file=sys.stderr)
    else:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
