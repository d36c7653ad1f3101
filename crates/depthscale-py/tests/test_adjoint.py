"""`ode_net` and `adjoint_gradients` (issue 23): the three gradients of one net on one batch."""

import numpy as np
import pytest

import depthscale

PARAMS = ("embed", "readout", "v_cos", "v_sin", "w_cos", "w_sin")


def batch(n_in=4, n_out=3, n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_in)), rng.integers(0, n_out, n)


def flat(g, keys=PARAMS):
    return np.concatenate([np.ravel(g[k]) for k in keys])


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_shapes_follow_the_net():
    net = depthscale.ode_net(4, 3, 2, seed=1)
    terms = net["v_omega"].shape[0]
    assert net["v_cos"].shape == (terms, 3, 3) and net["embed"].shape == (3, 4)
    g = depthscale.adjoint_gradients(net, np.ones((5, 4)), [0, 1, 0, 1, 1], steps=8)
    assert sorted(g) == ["adjoint", "backprop", "checkpoint"]
    for m in g.values():
        for k in PARAMS:
            assert m[k].shape == net[k].shape, k
    assert g["backprop"]["peak_states"] == 9 and g["adjoint"]["peak_states"] == 2
    piecewise = depthscale.ode_net(4, 3, 2, layers=7, inner=False)
    assert "w" not in piecewise and piecewise["v"].shape == (7, 3, 3)


@pytest.mark.parametrize("scheme", ["euler", "rk4"])
def test_checkpoint_is_backprop_bit_for_bit(scheme):
    x, y = batch()
    for net in (depthscale.ode_net(4, 5, 3, seed=2), depthscale.ode_net(4, 5, 3, layers=10, beta=0.5)):
        g = depthscale.adjoint_gradients(net, x, y, scheme=scheme, steps=10, methods=["backprop", "checkpoint"])
        for k in net:
            if k in ("activation", "v_omega", "w_omega"):
                continue
            np.testing.assert_array_equal(g["backprop"][k], g["checkpoint"][k], err_msg=k)
        assert g["backprop"]["loss"] == g["checkpoint"]["loss"]


def test_backprop_matches_finite_differences_of_the_discrete_loss():
    net = depthscale.ode_net(4, 3, 3, seed=3)
    x, y = batch()
    g = depthscale.adjoint_gradients(net, x, y, scheme="heun", steps=6, methods=["backprop"])["backprop"]
    eps = 1e-6
    for key, idx in (("v_cos", (1, 0, 2)), ("w_sin", (0, 2, 1)), ("embed", (1, 3)), ("readout", (2, 0))):
        loss = []
        for s in (eps, -eps):
            p = {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in net.items()}
            p[key][idx] += s
            loss.append(depthscale.adjoint_gradients(p, x, y, scheme="heun", steps=6, methods=["backprop"])["backprop"]["loss"])
        fd = (loss[0] - loss[1]) / (2 * eps)
        assert abs(fd - g[key][idx]) < 1e-7 * max(1.0, abs(fd)), key


def test_adjoint_converges_to_backprop_at_the_scheme_order():
    net = depthscale.ode_net(4, 5, 3, seed=4)
    x, y = batch()
    gaps = []
    for steps in (16, 32):
        g = depthscale.adjoint_gradients(net, x, y, scheme="euler", steps=steps, methods=["backprop", "adjoint"])
        gaps.append(rel(flat(g["adjoint"]), flat(g["backprop"])))
    assert 1.7 < gaps[0] / gaps[1] < 2.3  # first order
    g = depthscale.adjoint_gradients(net, x, y, scheme="rk4", steps=64, methods=["backprop", "adjoint"])
    assert 0 < rel(flat(g["adjoint"]), flat(g["backprop"])) < 1e-7
    assert g["adjoint"]["h0_error"] < 1e-9


def test_adaptive_adjoint_meets_its_tolerance():
    net = depthscale.ode_net(4, 5, 3, seed=5)
    x, y = batch()
    truth = depthscale.adjoint_gradients(net, x, y, scheme="dopri5", steps=200, methods=["backprop"])["backprop"]
    a = depthscale.adjoint_gradients(net, x, y, rtol=1e-9, atol=1e-9, methods=["adjoint"])["adjoint"]
    assert a["forward_steps"] >= 1 and a["backward_steps"] >= 1
    assert rel(flat(a), flat(truth)) < 1e-6


def test_reconstruction_fails_for_iid_weights_at_beta_one_half():
    # Euler backwards inverts Euler forwards up to O(1/L) on smooth weights, not on i.i.d. ones
    x, y = batch()

    def h0_error(net, steps):
        return depthscale.adjoint_gradients(net, x, y, steps=steps, methods=["adjoint"])["adjoint"]["h0_error"]

    smooth = depthscale.ode_net(4, 5, 3, seed=6)
    assert h0_error(smooth, 1024) < h0_error(smooth, 64) / 8
    rough = [h0_error(depthscale.ode_net(4, 5, 3, layers=L, beta=0.5, seed=6), L) for L in (64, 1024)]
    assert rough[1] > 0.5 * rough[0] and rough[1] > 10 * h0_error(smooth, 1024)


def test_bad_arguments_name_the_field():
    net = depthscale.ode_net(4, 3, 2, seed=1)
    x = np.ones((2, 4))
    with pytest.raises(ValueError, match="steps"):
        depthscale.adjoint_gradients(net, x, [0, 1])
    with pytest.raises(ValueError, match="labels"):
        depthscale.adjoint_gradients(net, x, [0, 2], steps=4)
    with pytest.raises(ValueError, match="methods"):
        depthscale.adjoint_gradients(net, x, [0, 1], steps=4, methods=["tape"])
    with pytest.raises(ValueError, match="scheme"):
        depthscale.adjoint_gradients(net, x, [0, 1], steps=4, scheme="rk45")
    with pytest.raises(ValueError, match="`x`"):
        depthscale.adjoint_gradients(net, np.ones((2, 5)), [0, 1], steps=4)
    with pytest.raises(ValueError, match="v_sin"):
        depthscale.adjoint_gradients(dict(net, v_sin=net["v_sin"][:, :2]), x, [0, 1], steps=4)
    with pytest.raises(ValueError, match="rtol"):
        depthscale.adjoint_gradients(net, x, [0, 1], rtol=1e-6, methods=["adjoint"])


def test_trajectory_gradients_and_predictions():
    net = depthscale.ode_net(2, 4, 2, seed=7)
    times = np.array([0.0, 0.2, 0.35, 0.9, 1.2])
    values = np.cos(np.arange(10.0)).reshape(5, 2)
    z0 = np.array([1.0, 0.0])
    fine = [depthscale.ode_trajectory(net, z0, times, values, gradient=g, max_dt=1e-3) for g in ("backprop", "adjoint")]
    assert fine[0]["predictions"].shape == (5, 2) and fine[0]["v_cos"].shape == net["v_cos"].shape
    assert rel(flat(fine[1]), flat(fine[0])) < 1e-2
    coarse = [depthscale.ode_trajectory(net, z0, times, values, gradient=g, max_dt=1e-2) for g in ("backprop", "adjoint")]
    assert rel(flat(fine[1]), flat(fine[0])) < rel(flat(coarse[1]), flat(coarse[0])) / 5  # first order
    p = depthscale.ode_trajectory(net, z0, times, max_dt=1e-3)["predictions"]
    np.testing.assert_array_equal(p, fine[0]["predictions"])
    assert np.isclose(fine[0]["loss"], np.mean((p - values) ** 2), rtol=1e-12)


def test_trajectory_bad_arguments():
    net = depthscale.ode_net(2, 4, 2, seed=7)
    z0 = np.zeros(2)
    with pytest.raises(ValueError, match="times"):
        depthscale.ode_trajectory(net, z0, [0.5, 0.2])
    with pytest.raises(ValueError, match="values"):
        depthscale.ode_trajectory(net, z0, [0.5], gradient="adjoint")
    with pytest.raises(ValueError, match="gradient"):
        depthscale.ode_trajectory(net, z0, [0.5], np.zeros((1, 2)), gradient="checkpoint")
