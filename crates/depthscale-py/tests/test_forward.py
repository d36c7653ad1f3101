"""depthscale.forward / ResNet: every layer's state and gradient, checked by hand."""

import numpy as np
import pytest

import depthscale


def relu(z):
    return np.maximum(z, 0)


def make(L=12, d=6, n_in=5, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        v=rng.normal(size=(L, d, d)) / np.sqrt(d),
        w=rng.normal(size=(L, d, d)) / np.sqrt(d),
        embed=rng.normal(size=(d, n_in)),
        readout=rng.normal(size=(n_out, d)),
    )


def test_states_follow_the_recursion_and_p_L_is_the_loss_gradient():
    W = make()
    rng = np.random.default_rng(1)
    x, y = rng.random((4, 5)), rng.random((4, 3))
    t = depthscale.forward(W, x, beta=0.5, y=y, model="res3")
    L = 12
    a = L ** -0.5
    assert t["h"].shape == (L + 1, 4, 6) and t["p"].shape == (L + 1, 4, 6)
    h = x @ W["embed"].T
    np.testing.assert_allclose(t["h"][0], h, rtol=1e-12)
    for k in range(L):
        h = h + a * relu(h @ W["w"][k].T) @ W["v"][k].T
        np.testing.assert_allclose(t["h"][k + 1], h, rtol=1e-10, atol=1e-12)
    out = h @ W["readout"].T
    np.testing.assert_allclose(t["output"], out, rtol=1e-10)
    np.testing.assert_allclose(t["loss"], ((out - y) ** 2).sum(axis=1), rtol=1e-10)
    np.testing.assert_allclose(t["p"][L], 2 * (out - y) @ W["readout"], rtol=1e-10)


def test_p0_is_the_input_gradient_by_central_differences():
    W = make(L=20)
    x, y = np.linspace(0, 1, 5)[None, :], np.ones((1, 3))
    net = depthscale.ResNet.from_weights(W, activation="tanh")
    t = net.forward(x, beta=1.0, y=y)
    grad = t["p"][0] @ W["embed"]  # dloss/dx = A^T p_0
    eps = 1e-6
    for i in range(5):
        e = np.zeros_like(x)
        e[0, i] = eps
        num = (net.forward(x + e, beta=1.0, y=y)["loss"][0] - net.forward(x - e, beta=1.0, y=y)["loss"][0]) / (2 * eps)
        assert grad[0, i] == pytest.approx(num, rel=1e-5, abs=1e-7)


def test_res1_with_identity_embedding_and_bias():
    rng = np.random.default_rng(2)
    L, d = 8, 4
    v, b = rng.normal(size=(L, d, d)) / 2, rng.normal(size=(L, d))
    x = rng.normal(size=(3, d))
    t = depthscale.forward({"v": v, "bias": b}, x, alpha=0.1)
    h = x.copy()
    for k in range(L):
        h = h + 0.1 * (relu(h) @ v[k].T + b[k])
    np.testing.assert_allclose(t["h"][-1], h, rtol=1e-10)


def test_results_are_not_copied():
    t = depthscale.forward(make(), np.ones((2, 5)))
    for arr in t.values():
        assert arr.base is not None and not arr.flags.owndata


def test_shape_mismatches_raise_value_error_naming_the_tensor():
    W = make()
    with pytest.raises(ValueError, match="`x`"):
        depthscale.forward(W, np.ones((2, 4)))
    bad = dict(W, w=W["w"][:-1])
    with pytest.raises(ValueError, match="`w`"):
        depthscale.forward(bad, np.ones((2, 5)))
    with pytest.raises(ValueError, match="`model`"):
        depthscale.forward(W, np.ones((2, 5)), model="res1")


def gelu(z):
    from math import erf, sqrt

    return 0.5 * z * (1 + np.vectorize(erf)(z / sqrt(2)))


def test_inner_width_differs_from_width_as_in_implicit_regularization():
    # x_{k+1} = x_k + (1/L) V_k gelu(W_k x_k), V (L, d, m), W (L, m, d), m != d
    rng = np.random.default_rng(3)
    L, d, m = 16, 5, 9
    v, w = rng.normal(size=(L, d, m)) / 3, rng.normal(size=(L, m, d)) / 2
    x, y = rng.normal(size=(4, d)), rng.normal(size=(4, d))
    net = depthscale.ResNet(v, w, activation="gelu")
    t = net.forward(x, beta=1.0, y=y)
    assert t["h"].shape == (L + 1, 4, d) and t["p"].shape == (L + 1, 4, d)
    h = x.copy()
    for k in range(L):
        h = h + gelu(h @ w[k].T) @ v[k].T / L
        np.testing.assert_allclose(t["h"][k + 1], h, rtol=1e-12, atol=1e-14)
    # p_0 = dloss/dx by central differences
    eps = 1e-6
    for i in range(d):
        e = np.zeros_like(x)
        e[:, i] = eps
        num = (net.forward(x + e, beta=1.0, y=y)["loss"] - net.forward(x - e, beta=1.0, y=y)["loss"]) / (2 * eps)
        np.testing.assert_allclose(t["p"][0][:, i], num, rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError, match=r"`w`: expected shape \[16, 9, 5\]"):
        depthscale.forward({"v": v, "w": w[:, :, :4]}, x, activation="gelu")
    with pytest.raises(ValueError, match="`v`: must be"):
        depthscale.forward({"v": v}, x)
