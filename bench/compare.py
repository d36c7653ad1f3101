#!/usr/bin/env python3
"""Side-by-side speed comparison of depthscale against the PyTorch eager baseline.

Runs, on this machine and one after the other:
  1. the PyTorch baseline (bench/torch_baseline.py, kept next to this script) with 2 threads, and
  2. depthscale's criterion benches (`cargo bench --bench hot` and `--bench train`),
then prints each workload's time per unit and the speed ratio (baseline time / depthscale time).

Usage (from the repository root):
  python3 bench/compare.py [--torch-python /path/to/venv/bin/python] [--baseline PATH] [--json OUT]

The baseline needs torch and numpy (pip install torch numpy into a virtual environment outside the
repository); CI never runs this script. Only the standard library is used here.
"""
import argparse, json, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_torch(python, script, threads):
    out = subprocess.run([python, script, str(threads)], check=True, capture_output=True, text=True).stdout
    return {d["workload"]: d["median_s"] for d in map(json.loads, filter(None, out.splitlines()))}


def run_criterion(bench):
    cmd = ["cargo", "bench", "-q", "-p", "depthscale", "--bench", bench, "--", "--output-format", "bencher"]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    res = {}
    for m in re.finditer(r"^test (\S+) \.\.\. bench:\s+([\d,]+) ns/iter", out, re.M):
        res[m.group(1)] = int(m.group(2).replace(",", "")) * 1e-9
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-python", default=os.environ.get("TORCH_PYTHON", "python3"))
    ap.add_argument("--baseline", default=os.path.join(HERE, "torch_baseline.py"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the table as JSON to this file")
    args = ap.parse_args()

    print("running the PyTorch baseline ...", file=sys.stderr)
    torch = run_torch(args.torch_python, args.baseline, args.threads)
    print("running depthscale benches ...", file=sys.stderr)
    ours = {}
    for bench in ["hot", "train"]:
        ours.update(run_criterion(bench))

    # (label, torch workload, torch units per call, our bench id, our units per iteration)
    cores = args.threads
    rows = [
        ("probe res3 L=1000 d=40, one at a time (latency)", "init_pass_L1000_d40", 1, "probe_res3_L1000_d40/batch1", 1),
        ("probe res3 L=1000 d=40, batched on one core", "init_pass_L1000_d40", 1, "probe_res3_L1000_d40/batch700", 700),
        (f"probe res3 L=1000 d=40, batched on all cores ({cores})", "init_pass_L1000_d40", 1,
         "probe_res3_L1000_d40/all_cores_batch700", 700 * cores),
        ("fBm weights, 2 x 40 x 40 paths of length 1000", "fbm_2x40x40_paths_L1000", 1, "fbm_weights/2x40x40_paths_L1000", 1),
        ("train step res1 L=1000 d=30 batch 128 (784 inputs)", "train_step_L1000_d30_b128_mnist", 1, "train_step", 1),
    ]
    table = []
    print(f"\n{'workload':58} {'pytorch':>12} {'depthscale':>12} {'ratio':>8}")
    for label, tk, tu, ok, ou in rows:
        if tk not in torch or ok not in ours:
            print(f"{label:58} (missing: {tk if tk not in torch else ok})")
            continue
        t, o = torch[tk] / tu, ours[ok] / ou
        table.append({"workload": label, "pytorch_s": t, "depthscale_s": o, "ratio": t / o})
        print(f"{label:58} {t * 1e3:10.3f}ms {o * 1e3:10.4f}ms {t / o:7.1f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=2)


if __name__ == "__main__":
    main()
