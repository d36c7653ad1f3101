"""depthscale.fbm and depthscale.weights: laws over depth, against closed forms."""

import numpy as np
import pytest

import depthscale


def lag_corr(x, lag=1):
    """Mean over rows of the lag-`lag` autocorrelation (rows of unit variance, mean zero)."""
    return float(np.mean(np.sum(x[:, :-lag] * x[:, lag:], axis=1) / np.sum(x * x, axis=1)))


@pytest.mark.parametrize("hurst", [0.3, 0.5, 0.8])
def test_fbm_lag1_autocorrelation_is_2_pow_2h_minus_1_minus_1(hurst):
    x = depthscale.fbm(4096, hurst, paths=40, seed=1)
    assert x.shape == (40, 4096)
    expected = 2 ** (2 * hurst - 1) - 1
    assert lag_corr(x) == pytest.approx(expected, abs=0.02)


def test_fbm_has_unit_variance_and_cumsum_scales_as_t_pow_2h():
    n, h = 1024, 0.7
    x = depthscale.fbm(n, h, paths=400, seed=2)
    assert x.var() == pytest.approx(1.0, rel=0.05)
    path = np.cumsum(x, axis=1) * n ** -h  # fBm on k / n
    # Var B_H(1) = 1, Var B_H(1/4) = 4^-2H
    assert path[:, -1].var() == pytest.approx(1.0, rel=0.2)
    assert path[:, n // 4 - 1].var() == pytest.approx(4 ** (-2 * h), rel=0.2)


def test_weights_have_variance_one_over_fan_in_for_every_law():
    for law in ("uniform", "gaussian", "rademacher", "fbm(0.7)", "rbf(0.1)"):
        w = depthscale.weights(law, depth=200, rows=20, cols=25, seed=0)
        assert w.shape == (200, 20, 25)
        assert w.var() == pytest.approx(1 / 25, rel=0.15), law


def test_fbm_weights_are_correlated_over_depth_and_iid_ones_are_not():
    w = depthscale.weights("fbm(0.8)", depth=1024, rows=10, cols=10, seed=4)
    paths = w.reshape(1024, 100).T * np.sqrt(10)
    assert lag_corr(paths) == pytest.approx(2 ** 0.6 - 1, abs=0.03)
    g = depthscale.weights("gaussian", depth=1024, rows=10, cols=10, seed=4)
    assert abs(lag_corr(g.reshape(1024, 100).T)) < 0.02


def test_same_seed_same_draw_other_seed_other_draw():
    a = depthscale.weights("fbm(0.6)", 64, 4, 4, seed=7)
    b = depthscale.weights("fbm(0.6)", 64, 4, 4, seed=7)
    c = depthscale.weights("fbm(0.6)", 64, 4, 4, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # fbm(n, H, paths) is the (n, paths, 1) stack transposed
    column = depthscale.weights("fbm(0.6)", 64, 16, 1, seed=7)
    np.testing.assert_array_equal(depthscale.fbm(64, 0.6, 16, seed=7), column.reshape(64, 16).T)


def test_arrays_are_not_copied():
    for arr in (depthscale.weights("gaussian", 10, 3, 3), depthscale.fbm(32, 0.5, 2)):
        assert arr.base is not None and not arr.flags.owndata


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: depthscale.fbm(100, 1.5), "hurst"),
        (lambda: depthscale.fbm(0, 0.5), "n"),
        (lambda: depthscale.weights("fbm(2)", 10, 3, 3), "init"),
        (lambda: depthscale.weights("gaussian", 10, 0, 3), "rows"),
    ],
)
def test_bad_laws_and_sizes_raise_value_error(call, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        call()
