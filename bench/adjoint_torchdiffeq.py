"""depthscale's adjoint module against torchdiffeq (issue 23): same model, same weights.

The continuous-depth net of ``depthscale.ode_net`` (smooth RBF weights as Fourier series,
``h(0) = A x``, ``dh/dt = V(t) tanh(W(t) h)``, logits ``B h(1)``, mean cross-entropy) is
rebuilt in PyTorch (f64) from the arrays depthscale returns, and its gradient is taken both ways:

  depthscale backprop / checkpoint   <->  torchdiffeq odeint (autograd through the solver's steps)
  depthscale adjoint                 <->  torchdiffeq odeint_adjoint (optimize-then-discretize)

1. Agreement at the same fixed-step scheme (Euler on L uniform steps): relative gap of the
   gradients (the issue asks for 1e-6). torchdiffeq's fixed-step `rk4` is the 3/8 rule, not
   depthscale's classical RK4, so Euler is the fixed-step scheme compared.
2. Agreement of the adaptive adjoint (Dormand-Prince 5(4), rtol = atol = 1e-9 both sides):
   each against the exact gradient of a fine fixed-step solve, and against each other.
3. Speed and memory side by side at L = 1e3, 1e4 Euler steps, batch 128, d = 30: seconds per
   gradient (best of 3, after a first call) and the growth of peak RSS during the first gradient
   call (one fresh process per cell, so peaks do not mix).

depthscale's Python package and torch usually live in different environments: run this script
with the torch one and name the depthscale one (CI never runs it):

    python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install torch numpy torchdiffeq
    python3 -m venv /tmp/venv-ds && /tmp/venv-ds/bin/pip install ./crates/depthscale-py
    /tmp/venv-torch/bin/python bench/adjoint_torchdiffeq.py --depthscale-python /tmp/venv-ds/bin/python
    ... agree | speed      # one part only (default: both), JSON lines
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

PATH_KEYS = ("v_cos", "v_sin", "w_cos", "w_sin")
PARAM_KEYS = ("embed", "readout") + PATH_KEYS
SMALL = dict(n=16, n_in=8, d=6, n_out=3, seed=1)
LARGE = dict(n=128, n_in=64, d=30, n_out=10, seed=2)
FIXED_STEPS = 1000
TOL = 1e-9


def problem(ds, n, n_in, d, n_out, seed):
    """The net (depthscale.ode_net) and a batch, as in bench/adjoint_diffrax.py."""
    net = ds.ode_net(n_in, d, n_out, bandwidth=0.5, activation="tanh", seed=seed)
    rng = np.random.default_rng(seed)
    return net, rng.standard_normal((n, n_in)), rng.integers(0, n_out, n)


def flat(g):
    return np.concatenate([np.ravel(np.asarray(g[k])) for k in PARAM_KEYS])


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ---- depthscale side (run with the depthscale Python) ----

def ds_agree(out):
    import depthscale as ds

    net, x, labels = problem(ds, **SMALL)
    fixed = ds.adjoint_gradients(net, x, labels, scheme="euler", steps=FIXED_STEPS)
    truth = ds.adjoint_gradients(net, x, labels, scheme="dopri5", steps=400, methods=["backprop"])["backprop"]
    adaptive = ds.adjoint_gradients(net, x, labels, rtol=TOL, atol=TOL, methods=["adjoint"])["adjoint"]
    arrays = {f"net_{k}": np.asarray(v) for k, v in net.items() if k != "activation"}
    arrays.update(x=x, labels=labels)
    for m in ("backprop", "checkpoint", "adjoint"):
        arrays[f"euler_{m}"] = flat(fixed[m])
        arrays[f"euler_{m}_loss"] = fixed[m]["loss"]
    arrays["truth"] = flat(truth)
    arrays["adaptive"] = flat(adaptive)
    arrays["adaptive_steps"] = np.array([adaptive["forward_steps"], adaptive["backward_steps"]])
    np.savez(out, **arrays)


def ds_cell(method, steps):
    import depthscale as ds

    net, x, labels = problem(ds, **LARGE)
    return lambda: ds.adjoint_gradients(net, x, labels, steps=steps, methods=[method])


# ---- torchdiffeq side ----

def torch_loss_fn(net, x, labels, adjoint, method, steps=None, tol=None):
    """loss(), with the parameters as leaf tensors (f64), for torchdiffeq's solve."""
    import torch
    from torch import nn
    from torchdiffeq import odeint, odeint_adjoint

    torch.set_default_dtype(torch.float64)

    class Field(nn.Module):
        def __init__(self):
            super().__init__()
            for k in PATH_KEYS:
                setattr(self, k, nn.Parameter(torch.tensor(net[k])))
            self.register_buffer("v_omega", torch.tensor(net["v_omega"]))
            self.register_buffer("w_omega", torch.tensor(net["w_omega"]))

        def forward(self, t, h):
            v = torch.tensordot(torch.cos(self.v_omega * t), self.v_cos, 1) + torch.tensordot(
                torch.sin(self.v_omega * t), self.v_sin, 1)
            w = torch.tensordot(torch.cos(self.w_omega * t), self.w_cos, 1) + torch.tensordot(
                torch.sin(self.w_omega * t), self.w_sin, 1)
            return torch.tanh(h @ w.T) @ v.T

    field = Field()
    embed = nn.Parameter(torch.tensor(net["embed"]))
    readout = nn.Parameter(torch.tensor(net["readout"]))
    xs, ys = torch.tensor(x), torch.tensor(labels, dtype=torch.long)
    t = torch.tensor([0.0, 1.0])
    if steps is not None:
        # the same L uniform steps forward (0 -> 1) and, for the adjoint, backward (1 -> 0)
        kw = dict(method=method, options=dict(grid_constructor=lambda f, y0, t: torch.linspace(t[0], t[-1], steps + 1)))
        if adjoint:
            kw["adjoint_options"] = kw["options"]
    else:
        kw = dict(method=method, rtol=tol, atol=tol)
        if adjoint:
            kw.update(adjoint_rtol=tol, adjoint_atol=tol)
    solve = odeint_adjoint if adjoint else odeint
    params = dict(embed=embed, readout=readout, **{k: getattr(field, k) for k in PATH_KEYS})

    def loss_and_grad():
        for p in params.values():
            p.grad = None
        h1 = solve(field, xs @ embed.T, t, **kw)[-1]
        loss = nn.functional.cross_entropy(h1 @ readout.T, ys)
        loss.backward()
        return float(loss.detach()), {k: p.grad.numpy().copy() for k, p in params.items()}

    return loss_and_grad


def agree(ds_python):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ds.npz")
        subprocess.run([ds_python, __file__, "ds-agree", path], check=True)
        z = dict(np.load(path))
    net = {k[4:]: z[k] for k in z if k.startswith("net_")}
    x, labels = z["x"], z["labels"]
    lb, gb = torch_loss_fn(net, x, labels, False, "euler", steps=FIXED_STEPS)()
    la, ga = torch_loss_fn(net, x, labels, True, "euler", steps=FIXED_STEPS)()
    print(json.dumps({
        "part": "fixed", "scheme": "euler", "steps": FIXED_STEPS,
        "loss_gap": abs(lb - float(z["euler_backprop_loss"])),
        "backprop_vs_odeint": rel(z["euler_backprop"], flat(gb)),
        "checkpoint_vs_odeint": rel(z["euler_checkpoint"], flat(gb)),
        "adjoint_vs_odeint_adjoint": rel(z["euler_adjoint"], flat(ga)),
        "odeint_adjoint_vs_odeint": rel(flat(ga), flat(gb)),
        "adjoint_vs_exact": rel(z["euler_adjoint"], z["euler_backprop"]),
    }), flush=True)
    _, gt = torch_loss_fn(net, x, labels, True, "dopri5", tol=TOL)()
    print(json.dumps({
        "part": "adaptive", "rtol": TOL, "atol": TOL,
        "depthscale_steps": [int(s) for s in z["adaptive_steps"]],
        "depthscale_vs_truth": rel(z["adaptive"], z["truth"]),
        "torchdiffeq_vs_truth": rel(flat(gt), z["truth"]),
        "depthscale_vs_torchdiffeq": rel(z["adaptive"], flat(gt)),
    }), flush=True)


def run_cell(tool, method, steps, data):
    """One speed/memory cell, in this (fresh) process."""
    if tool == "depthscale":
        fn = ds_cell(method, steps)
    else:
        z = dict(np.load(data))
        net = {k[4:]: z[k] for k in z if k.startswith("net_")}
        fn = torch_loss_fn(net, z["x"], z["labels"], method == "odeint_adjoint", "euler", steps=steps)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    grow = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    secs = []
    for _ in range(3):
        t = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - t)
    print(json.dumps({"part": "speed", "tool": tool, "method": method, "steps": steps,
                      "seconds": min(secs), "first_call_seconds": first,
                      "peak_rss_growth_mib": grow / 1024}), flush=True)


def ds_dump_large(out):
    import depthscale as ds

    net, x, labels = problem(ds, **LARGE)
    arrays = {f"net_{k}": np.asarray(v) for k, v in net.items() if k != "activation"}
    np.savez(out, x=x, labels=labels, **arrays)


def speed(ds_python, steps_list):
    print(json.dumps({"part": "load", "loadavg": os.getloadavg(), "cpus": os.cpu_count()}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "large.npz")
        subprocess.run([ds_python, __file__, "ds-dump", data], check=True)
        for steps in steps_list:
            cells = [(ds_python, "depthscale", m) for m in ("backprop", "checkpoint", "adjoint")]
            cells += [(sys.executable, "torchdiffeq", m) for m in ("odeint", "odeint_adjoint")]
            for python, tool, method in cells:
                out = subprocess.run([python, __file__, "cell", tool, method, str(steps), data],
                                     capture_output=True, text=True, check=True)
                print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("ds-agree", "ds-dump", "cell"):
        what = sys.argv[1]
        if what == "ds-agree":
            ds_agree(sys.argv[2])
        elif what == "ds-dump":
            ds_dump_large(sys.argv[2])
        else:
            run_cell(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", nargs="?", default="all", choices=["all", "agree", "speed"])
    ap.add_argument("--depthscale-python", default=os.environ.get("DEPTHSCALE_PYTHON", sys.executable))
    ap.add_argument("--steps", default="1000,10000", help="step counts of the speed part")
    args = ap.parse_args()
    if args.part in ("all", "agree"):
        agree(args.depthscale_python)
    if args.part in ("all", "speed"):
        speed(args.depthscale_python, [int(s) for s in args.steps.split(",")])
