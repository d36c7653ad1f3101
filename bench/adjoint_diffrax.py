"""depthscale's adjoint module against diffrax (issue 23): same model, same weights.

The continuous-depth net of ``depthscale.ode_net`` (smooth RBF weights as Fourier series,
``h(0) = A x``, ``dh/dt = V(t) tanh(W(t) h)``, logits ``B h(1)``, mean cross-entropy) is
rebuilt in JAX from the arrays depthscale returns, and its gradient is taken both ways:

  depthscale backprop / checkpoint   <->  diffrax RecursiveCheckpointAdjoint (exact, discrete)
  depthscale adjoint                 <->  diffrax BacksolveAdjoint (optimize-then-discretize)

1. Agreement at the same fixed-step scheme (Euler, Heun, Dopri5 on L uniform steps): relative
   gap of the gradients (the issue asks for 1e-6).
2. Agreement of the adaptive adjoint (Dormand-Prince 5(4), rtol = atol = 1e-9 both sides):
   each against the exact gradient of a fine fixed-step solve, and against each other.
3. Speed and memory side by side at L = 1e3, 1e4 Euler steps, batch 128, d = 30: seconds per
   gradient (best of 3, after a warm-up/compile call) and the growth of peak RSS during the
   first gradient call (one fresh process per cell, so peaks do not mix).

torchdiffeq needs torch, whose Linux wheels on PyPI pull several GB of CUDA libraries; this
script uses diffrax (JAX on CPU), the issue's other anchor. CI never runs it; run by hand:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install ./crates/depthscale-py jax diffrax
    /tmp/venv/bin/python bench/adjoint_diffrax.py            # all three parts, JSON lines
    /tmp/venv/bin/python bench/adjoint_diffrax.py agree      # parts 1 and 2 only
"""
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

import depthscale

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")
import diffrax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

PATH_KEYS = ("v_cos", "v_sin", "w_cos", "w_sin")
PARAM_KEYS = ("embed", "readout") + PATH_KEYS


def problem(n=16, n_in=8, d=6, n_out=3, seed=1):
    net = depthscale.ode_net(n_in, d, n_out, bandwidth=0.5, activation="tanh", seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_in))
    labels = rng.integers(0, n_out, n)
    return net, x, labels


def jax_loss_fn(net, x, labels, solver, adjoint, dt0=None, controller=None, max_steps=None):
    """loss(params) in JAX for the net's frequencies, batch and solve."""
    wv, ww = jnp.asarray(net["v_omega"]), jnp.asarray(net["w_omega"])
    xs, ys = jnp.asarray(x), jnp.asarray(labels)

    def series(omega, a, c, t):
        return jnp.tensordot(jnp.cos(omega * t), a, 1) + jnp.tensordot(jnp.sin(omega * t), c, 1)

    def field(t, h, p):
        v = series(wv, p["v_cos"], p["v_sin"], t)
        w = series(ww, p["w_cos"], p["w_sin"], t)
        return jnp.tanh(h @ w.T) @ v.T  # rows are samples: V tanh(W h) per column

    def loss(p):
        h0 = xs @ p["embed"].T
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field),
            solver,
            t0=0.0,
            t1=1.0,
            dt0=dt0,
            y0=h0,
            args={k: p[k] for k in PATH_KEYS},
            stepsize_controller=controller or diffrax.ConstantStepSize(),
            adjoint=adjoint,
            max_steps=max_steps,
            saveat=diffrax.SaveAt(t1=True),
        )
        logits = sol.ys[-1] @ p["readout"].T
        lse = jax.nn.logsumexp(logits, axis=1)
        return jnp.mean(lse - logits[jnp.arange(len(ys)), ys])

    return jax.jit(jax.value_and_grad(loss))


def flat(g):
    return np.concatenate([np.ravel(np.asarray(g[k])) for k in PARAM_KEYS])


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def params(net):
    return {k: jnp.asarray(net[k]) for k in PARAM_KEYS}


SOLVERS = {"euler": diffrax.Euler, "heun": diffrax.Heun, "dopri5": diffrax.Dopri5}


def agree():
    net, x, labels = problem()
    p = params(net)
    for scheme, L in (("euler", 1000), ("heun", 200), ("dopri5", 50)):
        ds = depthscale.adjoint_gradients(net, x, labels, scheme=scheme, steps=L)
        exact = jax_loss_fn(net, x, labels, SOLVERS[scheme](), diffrax.RecursiveCheckpointAdjoint(), 1.0 / L, max_steps=L)
        back = jax_loss_fn(net, x, labels, SOLVERS[scheme](), diffrax.BacksolveAdjoint(), 1.0 / L, max_steps=L)
        (le, ge), (lb, gb) = exact(p), back(p)
        print(json.dumps({
            "part": "fixed", "scheme": scheme, "steps": L,
            "loss_gap": abs(float(le) - ds["backprop"]["loss"]),
            "backprop_vs_recursive_checkpoint": rel(flat(ds["backprop"]), flat(ge)),
            "checkpoint_vs_recursive_checkpoint": rel(flat(ds["checkpoint"]), flat(ge)),
            "adjoint_vs_backsolve": rel(flat(ds["adjoint"]), flat(gb)),
            "adjoint_vs_exact": rel(flat(ds["adjoint"]), flat(ds["backprop"])),
        }))
    tol = 1e-9
    truth = flat(depthscale.adjoint_gradients(net, x, labels, scheme="dopri5", steps=400, methods=["backprop"])["backprop"])
    ds = depthscale.adjoint_gradients(net, x, labels, rtol=tol, atol=tol, methods=["adjoint"])["adjoint"]
    back = jax_loss_fn(net, x, labels, diffrax.Dopri5(), diffrax.BacksolveAdjoint(), 0.01,
                       controller=diffrax.PIDController(rtol=tol, atol=tol), max_steps=100000)
    _, gb = back(p)
    print(json.dumps({
        "part": "adaptive", "rtol": tol, "atol": tol,
        "depthscale_steps": [ds["forward_steps"], ds["backward_steps"]],
        "depthscale_vs_truth": rel(flat(ds), truth),
        "diffrax_vs_truth": rel(flat(gb), truth),
        "depthscale_vs_diffrax": rel(flat(ds), flat(gb)),
    }))


def cell(tool, method, L):
    """One speed/memory cell, in this (fresh) process."""
    net, x, labels = problem(n=128, n_in=64, d=30, n_out=10, seed=2)
    p = params(net)
    if tool == "diffrax":
        adjoint = {
            "backsolve": diffrax.BacksolveAdjoint(),
            "recursive_checkpoint": diffrax.RecursiveCheckpointAdjoint(),
        }[method]
        fn = jax_loss_fn(net, x, labels, diffrax.Euler(), adjoint, 1.0 / L, max_steps=L)

        def run():
            jax.block_until_ready(fn(p))
    else:
        def run():
            depthscale.adjoint_gradients(net, x, labels, steps=L, methods=[method])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    run()
    first = time.perf_counter() - t
    grow = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    secs = []
    for _ in range(3):
        t = time.perf_counter()
        run()
        secs.append(time.perf_counter() - t)
    print(json.dumps({"part": "speed", "tool": tool, "method": method, "steps": L,
                      "seconds": min(secs), "first_call_seconds": first,
                      "peak_rss_growth_mib": grow / 1024}))


def speed():
    cells = [("depthscale", m) for m in ("backprop", "checkpoint", "adjoint")]
    cells += [("diffrax", m) for m in ("recursive_checkpoint", "backsolve")]
    print(json.dumps({"part": "load", "loadavg": os.getloadavg(), "cpus": os.cpu_count()}))
    for L in (1000, 10000):
        for tool, method in cells:
            out = subprocess.run([sys.executable, __file__, "cell", tool, method, str(L)],
                                 capture_output=True, text=True, check=True)
            print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what == "cell":
        cell(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        if what in ("all", "agree"):
            agree()
        if what in ("all", "speed"):
            speed()
