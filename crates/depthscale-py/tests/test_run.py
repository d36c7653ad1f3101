"""depthscale.run: the CLI's bytes, the Run object, overrides, errors."""

import subprocess

import numpy as np
import pytest

import depthscale


def test_fig1_quick_gives_the_clis_bytes(tmp_path, cli):
    py = depthscale.run("fig1", quick=True, out=tmp_path / "py")
    subprocess.run(
        [str(cli), "run", "fig1", "--quick", "--out", str(tmp_path / "cli")],
        check=True,
        capture_output=True,
    )
    for name in ("results.csv", "cells.csv", "critical.csv", "config.toml"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name


def test_run_object_holds_config_summary_tables_and_figures(tmp_path):
    r = depthscale.run("fig1", quick=True, out=tmp_path / "r", threads=1)
    assert r.out == tmp_path / "r"
    assert r.config["kind"] == "probe" and r.config["seed"] == 0
    assert r.summary["kind"] == "probe" and r.summary["quick"] is True
    assert r.summary["threads"] == 1
    assert list(r.results.columns[:3]) == ["depth", "width", "beta"]
    assert len(r.results) == r.summary["results"]["probes"]
    assert {"results", "cells", "critical"} <= set(r.tables)
    assert any(p.suffix == ".png" for p in r.figures) and all(p.is_file() for p in r.figures)


def test_probe_gives_the_numbers_of_a_run_with_the_same_config(tmp_path):
    kw = dict(width=7, depth=[10, 30], beta=[0.5, 1.0], draws=2, samples=3, seed=5, n_in=4)
    cfg = tmp_path / "p.toml"
    cfg.write_text(
        'kind = "probe"\nwidth = 7\ndepth = [10, 30]\nbeta = [0.5, 1.0]\ndraws = 2\n'
        "samples = 3\nseed = 5\nn_in = 4\n"
    )
    r = depthscale.run(cfg, out=tmp_path / "out")
    p = depthscale.probe(**kw)
    for k in ("depth", "beta", "draw", "sample", "h_ratio", "h_diff", "g_ratio", "g_diff"):
        np.testing.assert_array_equal(r.results[k].to_numpy(), p[k], err_msg=k)


def test_overrides_as_dict_or_list(tmp_path):
    a = depthscale.run("fig6", quick=True, out=tmp_path / "a", set={"steps": 64, "hurst": [0.3, 0.6]})
    assert a.config["steps"] == 64 and a.config["hurst"] == [0.3, 0.6]
    b = depthscale.run("fig6", quick=True, out=tmp_path / "b", set=["steps=64", "hurst=[0.3, 0.6]"])
    assert (a.out / "results.csv").read_bytes() == (b.out / "results.csv").read_bytes()


def test_bad_values_raise_value_error_with_the_clis_message(tmp_path, cli):
    with pytest.raises(ValueError) as e:
        depthscale.run("fig1", quick=True, out=tmp_path / "x", set={"width": 0})
    msg = str(e.value)
    assert msg.startswith("experiment fig1: invalid `width`:"), msg
    p = subprocess.run(
        [str(cli), "run", "fig1", "--quick", "--set", "width=0", "--out", str(tmp_path / "y")],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 1
    assert p.stderr.strip() == f"error: {msg}"


def test_unknown_preset_is_a_value_error():
    with pytest.raises(ValueError, match="neither a preset nor an existing file"):
        depthscale.run("no-such-preset")


def test_unwritable_output_is_an_os_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        depthscale.run("fig6", quick=True, out=blocker / "sub")


def test_presets_are_listed():
    p = depthscale.presets()
    assert {"fig1", "fig7", "train"} <= set(p)
    assert all(isinstance(v, str) and v for v in p.values())
