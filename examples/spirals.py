"""Time series as in Chen et al. (2018), Section 5, the direct fit (issue 23).

Eight noisy 2-D spirals (z' = M z, one damped turn over [0, 1], random starting points), each
observed at 40 random times in [0, 1], are fitted by

  - a neural ODE  h(0) = A z0,  dh/dt = V tanh(W h),  z(t) = B h(t)  (d = 16, constant weights,
    576 parameters), trained with the adjoint method (`depthscale.ode_trajectory`,
    gradient="adjoint", Euler steps of at most 0.01 between observations), and
  - a fixed-depth ResNet with the same parameter count, h_k = h_{k-1} + (1/35) V_k tanh(h_{k-1})
    (35 layers of width 4, 576 parameters), whose layer k stands for t = k/35: it sees each
    observation at the nearest layer and is trained by back-propagation (exact for it).

Both are scored on the noise-free spirals, the eight observed ones and four new ones:
interpolation RMSE on a fine grid of [0, 1] and extrapolation RMSE on (1, 1.5] (the ODE keeps
integrating; the ResNet repeats its last layer, the only way it has to go on). Prints one JSON
line per seed; with matplotlib, writes the figure of seed 0 (trajectories, observations, fits)
to the path given (default spirals.png).

    pip install ./crates/depthscale-py matplotlib
    python examples/spirals.py [out.png]
"""
import json
import sys

import numpy as np

import depthscale

OMEGA, DECAY, NOISE, N_OBS, T_EXTRA = 2 * np.pi, 0.3, 0.03, 40, 1.5
ITERS, LR = 1500, 0.02
N_TRAIN, N_TEST = 8, 4


def spiral(t, z0=(1.0, 0.0)):
    """The damped spiral through z0 at t = 0: z(t) = exp(-DECAY t) R(OMEGA t) z0."""
    r = np.exp(-DECAY * np.asarray(t))
    c, s = np.cos(OMEGA * np.asarray(t)), np.sin(OMEGA * np.asarray(t))
    return np.stack([r * (c * z0[0] - s * z0[1]), r * (s * z0[0] + c * z0[1])], axis=-1)


def starts(rng, n):
    r, phi = rng.uniform(0.6, 1.2, n), rng.uniform(0, 2 * np.pi, n)
    return np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)


def ode_model(rng, d=16):
    g = lambda *s: rng.standard_normal(s)  # noqa: E731
    return {
        "embed": g(d, 2) / np.sqrt(2), "readout": g(2, d) / np.sqrt(d),
        "v_cos": g(1, d, d) / np.sqrt(d), "v_sin": np.zeros((1, d, d)), "v_omega": np.zeros(1),
        "w_cos": g(1, d, d) / np.sqrt(d), "w_sin": np.zeros((1, d, d)), "w_omega": np.zeros(1),
        "activation": "tanh",
    }


def resnet_model(rng, layers=35, d=4):
    g = lambda *s: rng.standard_normal(s)  # noqa: E731
    return {"embed": g(d, 2) / np.sqrt(2), "readout": g(2, d) / np.sqrt(d),
            "v": g(layers, d, d) / np.sqrt(d), "activation": "tanh"}


def n_params(net):
    dead = ("v_sin", "w_sin")  # sin(0 t) = 0: not parameters of a constant path
    return sum(v.size for k, v in net.items() if isinstance(v, np.ndarray) and k not in dead and not k.endswith("omega"))


def train(net, data, gradient, max_dt, grid=None):
    """Adam on the mean squared error over all trajectories (full batch); `grid` rounds the
    observation times (the ResNet's layers)."""
    keys = [k for k in net if isinstance(net[k], np.ndarray) and not k.endswith("omega") and k not in ("v_sin", "w_sin")]
    m = {k: np.zeros_like(net[k]) for k in keys}
    v = {k: np.zeros_like(net[k]) for k in keys}
    for it in range(1, ITERS + 1):
        g = {k: np.zeros_like(net[k]) for k in keys}
        loss = 0.0
        for z0, times, values in data:
            t = times if grid is None else np.round(times * grid) / grid
            gi = depthscale.ode_trajectory(net, z0, t, values, gradient=gradient, max_dt=max_dt)
            loss += gi["loss"] / len(data)
            for k in keys:
                g[k] += gi[k] / len(data)
        for k in keys:
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
            net[k] = net[k] - LR * (m[k] / (1 - 0.9**it)) / (np.sqrt(v[k] / (1 - 0.999**it)) + 1e-8)
    return loss


def rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def observed(rng, z0):
    times = np.sort(rng.uniform(0, 1, N_OBS))
    return z0, times, spiral(times, z0) + NOISE * rng.standard_normal((N_OBS, 2))


def run(seed):
    rng = np.random.default_rng(seed)
    data = [observed(rng, z0) for z0 in starts(rng, N_TRAIN)]
    tests = starts(rng, N_TEST)
    ode, res = ode_model(rng), resnet_model(rng)
    layers = res["v"].shape[0]
    ode_loss = train(ode, data, "adjoint", 0.01)
    res_loss = train(res, data, "backprop", 1.0 / layers, grid=layers)
    fine_in, fine_out = np.linspace(0, 1, 201), np.linspace(1, T_EXTRA, 101)[1:]
    rnd = lambda t: np.round(t * layers) / layers  # noqa: E731

    def err(net, t, dt, z0s):
        """RMSE against the noise-free spirals at t; the ResNet answers at its nearest layer."""
        tm = t if net is ode else rnd(t)
        pred = [depthscale.ode_trajectory(net, z0, tm, max_dt=dt)["predictions"] for z0 in z0s]
        return rmse(np.stack(pred), np.stack([spiral(t, z0) for z0 in z0s]))

    errors = {}
    for name, z0s in (("train", [d[0] for d in data]), ("test", tests)):
        errors[name] = {
            part: {"ode": err(ode, t, 0.01, z0s), "resnet": err(res, t, 1.0 / layers, z0s)}
            for part, t in (("interpolation_rmse", fine_in), ("extrapolation_rmse", fine_out))
        }
    out = {"seed": seed, "params": {"ode": n_params(ode), "resnet": n_params(res)},
           "train_mse": {"ode": ode_loss, "resnet": res_loss}, **errors}
    return out, (data, tests, ode, res, layers)


def figure(path, data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train_data, tests, ode, res, layers = data
    t = np.linspace(0, T_EXTRA, 301)
    tr = np.arange(0, int(T_EXTRA * layers) + 1) / layers
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    for ax, (title, z0, obs) in zip(axes[:2], (("a training spiral", train_data[0][0], train_data[0]),
                                               ("a test spiral (never observed)", tests[0], None))):
        po = depthscale.ode_trajectory(ode, z0, t, max_dt=0.01)["predictions"]
        pr = depthscale.ode_trajectory(res, z0, tr, max_dt=1.0 / layers)["predictions"]
        truth = spiral(t, z0)
        ax.plot(truth[:, 0], truth[:, 1], color="0.6", lw=3, label="true, t in [0, 1.5]")
        if obs is not None:
            ax.scatter(obs[2][:, 0], obs[2][:, 1], s=14, color="k", zorder=3, label="observations (t in [0, 1])")
        ax.plot(po[:, 0], po[:, 1], color="C0", label="neural ODE (adjoint)")
        ax.plot(pr[:, 0], pr[:, 1], color="C3", marker=".", ms=3, lw=1, label="ResNet, 35 layers")
        ax.set_aspect("equal")
        ax.set_title(title)
        ax.legend(fontsize=7, loc="lower left")
    ax = axes[2]
    z0, times, values = train_data[0]
    po = depthscale.ode_trajectory(ode, z0, t, max_dt=0.01)["predictions"]
    pr = depthscale.ode_trajectory(res, z0, tr, max_dt=1.0 / layers)["predictions"]
    ax.plot(t, spiral(t, z0)[:, 0], color="0.6", lw=3, label="true x(t)")
    ax.scatter(times, values[:, 0], s=14, color="k", zorder=3, label="observations")
    ax.plot(t, po[:, 0], color="C0", label="neural ODE (adjoint)")
    ax.step(tr, pr[:, 0], where="mid", color="C3", lw=1, label="ResNet (layer k at t = k/35)")
    ax.axvline(1.0, color="0.3", ls="--", lw=1)
    ax.text(1.02, 0.9 * np.abs(values[:, 0]).max(), "extrapolation", fontsize=8)
    ax.set_xlabel("t")
    ax.set_title("the training spiral's first coordinate")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "spirals.png"
    first = None
    for seed in range(3):
        out, data = run(seed)
        print(json.dumps(out), flush=True)
        first = first or data
    try:
        figure(path, first)
        print(json.dumps({"figure": path}))
    except ImportError:
        print(json.dumps({"figure": None, "why": "matplotlib is not installed"}))
