"""JAX peer of `bench/compare.py` (protocol in `bench/peers_common.py`), written as a JAX user
would: `jit`, `lax.scan` over the layers, `vmap` over inputs (probes) or networks (train8), `pmap`
over the host's devices for the two-core rows, f64 where depthscale uses f64.

    python bench/peer_jax.py DATA_DIR TAG DEVICES

DEVICES is the number of host devices (`--xla_force_host_platform_device_count`): 1 for the
pinned one-core worker (which also turns XLA's intra-op threads off), 2 for the two-core one.
"""
import os
import sys

DATA, TAG, DEVICES = sys.argv[1], sys.argv[2], int(sys.argv[3])
flags = [f"--xla_force_host_platform_device_count={DEVICES}"]
if DEVICES == 1:
    flags.append("--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ["XLA_FLAGS"] = " ".join(flags)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

import peers_common as pc  # noqa: E402


def probe_one(p, x, y):
    """One input's probe: forward through the scan, p_L = d||B h_L - y||^2/dh_L, p_0 by the VJP."""
    h0 = p["embed"] @ x

    def layer(h, vw):
        v, w = vw
        return h + pc.ALPHA * (v @ jax.nn.relu(w @ h)), None

    def forward(h):
        return lax.scan(layer, h, (p["v"], p["w"]))[0]

    hL, back = jax.vjp(forward, h0)
    pL = 2.0 * p["readout"].T @ (p["readout"] @ hL - y)
    (p0,) = back(pL)
    return h0, hL, p0, pL


# vmap over the inputs (the weights shared), jit; pmap of it over networks for two devices
probe_batch = jax.vmap(probe_one, in_axes=(None, 0, 0))
probe_jit = jax.jit(probe_batch)
probe_pmap = jax.pmap(probe_batch, in_axes=(0, None, None))


def train_loss(p, x, labels):
    h = x @ p["embed"].T

    def layer(h, vb):
        v, b = vb
        return h + pc.ALPHA * (jax.nn.relu(h) @ v.T + b), None

    h = lax.scan(layer, h, (p["v"], p["bias"]))[0]
    logits = h @ p["readout"].T
    lse = jax.nn.logsumexp(logits, axis=1)
    return jnp.mean(lse - jnp.take_along_axis(logits, labels[:, None], axis=1)[:, 0])


def adam_step(p, m, v, t, x, labels, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam step (PyTorch's defaults and formula), returning the loss before it."""
    loss, g = jax.value_and_grad(train_loss)(p, x, labels)
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    c1, c2 = 1 - b1**t, 1 - b2**t
    p = jax.tree.map(lambda p, m, v: p - pc.LR / c1 * m / (jnp.sqrt(v) / jnp.sqrt(c2) + eps), p, m, v)
    return p, m, v, loss


train_jit = jax.jit(adam_step)
# K networks: vmap over networks, pmap over the devices
train_many = jax.pmap(jax.vmap(adam_step, in_axes=(0, 0, 0, None, None, None)), in_axes=(0, 0, 0, None, None, None))


def setup(name):
    if name in ("probe1", "probe700", "probe2x700"):
        x, y = pc.probe_inputs(DATA)
        x, y = jnp.asarray(x), jnp.asarray(y)[:, None]
        if name == "probe2x700":
            if DEVICES < 2:
                return "needs two devices"
            nets = [pc.probe_net(DATA, b) for b in range(2)]
            p = {k: jnp.asarray(np.stack([n[k] for n in nets])) for k in nets[0]}

            def call():
                return jax.block_until_ready(probe_pmap(p, x, y))
        else:
            n = 1 if name == "probe1" else pc.COLUMNS
            p = {k: jnp.asarray(a) for k, a in pc.probe_net(DATA, 0).items()}
            x, y = x[:n], y[:n]

            def call():
                return jax.block_until_ready(probe_jit(p, x, y))
        return call, lambda: pc.measures(*call())
    if name in ("train", "train8"):
        params, images, labels = pc.train_data(DATA)
        x, lab = jnp.asarray(images), jnp.asarray(labels)
        p0 = {k: jnp.asarray(a) for k, a in params.items()}
        zeros = {k: jnp.zeros_like(a) for k, a in p0.items()}
        if name == "train":
            state = [p0, zeros, zeros, 0]

            def call():
                p, m, v, t = state
                p, m, v, loss = train_jit(p, m, v, jnp.float32(t + 1), x, lab)
                state[:] = [p, m, v, t + 1]
                return jax.block_until_ready(loss)

            def check():
                p, m, v, losses = p0, zeros, zeros, []
                for t in range(3):
                    p, m, v, loss = train_jit(p, m, v, jnp.float32(t + 1), x, lab)
                    losses.append(float(loss))
                delta = [np.ravel(np.asarray(p[k], np.float64) - np.asarray(p0[k], np.float64)) for k in pc.TRAIN_KEYS]
                return np.concatenate([losses] + delta)

            return call, check
        if DEVICES < 2 or pc.NETWORKS % DEVICES:
            return "needs two devices"
        shape = (DEVICES, pc.NETWORKS // DEVICES)
        stack = lambda tree: {k: jnp.broadcast_to(a, shape + a.shape) for k, a in tree.items()}  # noqa: E731
        state = [stack(p0), stack(zeros), stack(zeros), 0]
        first = []

        def call():
            p, m, v, t = state
            p, m, v, loss = train_many(p, m, v, jnp.float32(t + 1), x, lab)
            state[:] = [p, m, v, t + 1]
            loss = jax.block_until_ready(loss)
            if not first:
                first.append(np.ravel(np.asarray(loss)))
            return loss

        return call, lambda: first[0]
    return "not a JAX workload"


if __name__ == "__main__":
    pc.serve(setup, TAG, DATA)
