"""depthscale.probe: shapes, closed forms, equality with a run, threads, errors."""

import threading

import numpy as np
import pytest

import depthscale

SMALL = dict(width=8, depth=[5, 20], beta=[0.5, 1.0], draws=3, samples=4, n_in=6)


def test_columns_have_equal_length_and_the_grid_order():
    r = depthscale.probe(**SMALL)
    n = 2 * 3 * 2 * 4
    assert set(r) == {"beta", "draw", "sample", "depth", "h_ratio", "h_diff", "g_ratio", "g_diff"}
    assert all(len(v) == n for v in r.values())
    assert r["h_diff"].dtype == np.float64 and r["draw"].dtype == np.uint64
    # job order: depth, draw, beta, sample
    assert list(r["depth"][:24]) == [5] * 24 and list(r["depth"][24:]) == [20] * 24
    assert list(r["sample"][:4]) == [0, 1, 2, 3]
    assert list(r["beta"][:8]) == [0.5] * 4 + [1.0] * 4
    assert np.all(r["h_ratio"] > 0) and np.all(np.isfinite(r["g_diff"]))


def test_hurst_grid_adds_a_hurst_column():
    r = depthscale.probe(width=6, depth=30, beta=0.5, init_v="fbm", hurst=[0.3, 0.7], draws=2, samples=2, n_in=4)
    assert sorted(set(r["hurst"])) == [0.3, 0.7]
    assert len(r["hurst"]) == len(r["h_diff"]) == 2 * 2 * 2


@pytest.mark.parametrize("beta", [0.5, 1.0])
def test_mean_square_h_diff_matches_the_closed_form_at_depth_1000(beta):
    # res3, ReLU, i.i.d. uniform weights: E h_diff^2 = (1 + L^-2beta / 2)^L - 1 exactly, so
    # the mean over draws is checked within 4 standard errors (draws are independent).
    L, draws, samples = 1000, 24, 8
    r = depthscale.probe(width=20, depth=L, beta=beta, draws=draws, samples=samples, seed=3)
    sq = r["h_diff"] ** 2
    per_draw = sq.reshape(draws, samples).mean(axis=1)
    expected = (1 + L ** (-2 * beta) / 2) ** L - 1
    se = per_draw.std(ddof=1) / np.sqrt(draws)
    assert abs(per_draw.mean() - expected) < 4 * se, (per_draw.mean(), expected, se)
    # and the closed form of the root-mean-square itself, as the paper plots it
    assert np.sqrt(sq.mean()) == pytest.approx(np.sqrt(expected), rel=0.1)


def test_explosion_is_recorded_as_inf_not_dropped():
    r = depthscale.probe(width=8, depth=2000, beta=-1.0, draws=1, samples=2, n_in=4)
    assert len(r["h_diff"]) == 2
    assert np.all(np.isinf(r["h_diff"])) and np.all(r["h_diff"] > 0)


def test_same_numbers_for_any_thread_count():
    a = depthscale.probe(**SMALL, threads=1)
    b = depthscale.probe(**SMALL, threads=2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_two_python_threads_probing_at_once_match_one_at_a_time():
    kwargs = [dict(SMALL, seed=s, depth=200, draws=6) for s in (1, 2)]
    alone = [depthscale.probe(**k) for k in kwargs]
    together = [None, None]

    def work(i):
        together[i] = depthscale.probe(**kwargs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for a, b in zip(alone, together):
        assert b is not None
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


def test_results_are_handed_over_without_a_copy():
    r = depthscale.probe(**SMALL)
    for v in r.values():
        assert v.base is not None and not v.flags.owndata


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(width=0), "width"),
        (dict(draws=-1), "draws"),
        (dict(init_v="nonsense"), "init_v"),
        (dict(model="res9"), "model"),
        (dict(activation="swish"), "activation"),
        (dict(beta="abc"), "beta"),
        (dict(hurst=[0.5]), "hurst"),
        (dict(depth=[]), "depth"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_field(kwargs, field):
    args = dict(SMALL, **kwargs)
    with pytest.raises(ValueError, match=f"`{field}`"):
        depthscale.probe(**args)


def test_help_teaches():
    doc = depthscale.probe.__doc__
    for word in ("Parameters", "Returns", "h_diff", "init_v", "Raises"):
        assert word in doc
