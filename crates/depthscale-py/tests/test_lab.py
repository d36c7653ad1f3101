"""The lab functions (issue 25, section 4): coord_check, plot_coord_check, transfer, reproduce
in memory; train's every field; progress reports; default run names; Python's argument names
in messages."""

import datetime
import inspect
import os
import tempfile

import numpy as np
import pytest

import depthscale

MUP_COLUMNS = ["parameterization", "depth", "module", "layer", "t", "quantity", "l1"]
FLAT = {"sqrt-depth", "depth-mup", "complete-p"}


@pytest.fixture
def clean_cwd(tmp_path, monkeypatch):
    """Runs the test in an empty directory with its own temporary directory; afterwards both
    must still be empty (no runs/, no temporary directory left behind)."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield cwd
    assert os.listdir(cwd) == [], "left files in the working directory"
    assert os.listdir(tmp) == [], "left a temporary directory behind"


@pytest.fixture(scope="module")
def coords():
    return depthscale.coord_check(quick=True)


def last_h(df, t):
    """l1 of h_L at step t, per (parameterization, depth)."""
    h = df[(df.module == "h") & (df.quantity == "mean_abs") & (df.t == t)]
    h = h[h.layer == h.groupby(["parameterization", "depth"]).layer.transform("max")]
    return h.pivot(index="depth", columns="parameterization", values="l1")


def test_coord_check_standard_grows_with_depth_and_the_flat_ones_do_not(coords, clean_cwd):
    df = depthscale.coord_check(quick=True)  # the cwd check needs a call inside the fixture
    assert list(df.columns) == MUP_COLUMNS
    assert sorted(df.depth.unique()) == [8, 16, 64, 256]
    assert sorted(df.t.unique()) == [0, 1, 2, 3]
    for t in (0, 3):
        m = last_h(df, t)
        ratio = m.max() / m.min()
        # standard (beta = 0): h_L grows exponentially with L
        assert m["standard"][256] > 100 * m["standard"][8], m
        for p in FLAT:
            assert ratio[p] < 2.5, (p, t, m)
    assert set(df.attrs["summary"]["flat"]) == FLAT
    pd = pytest.importorskip("pandas")
    pd.testing.assert_frame_equal(df, coords)  # deterministic


def test_coord_check_out_keeps_the_run(coords, tmp_path):
    df = depthscale.coord_check(quick=True, out=tmp_path / "cc", depths=[4, 32], steps=1)
    assert (tmp_path / "cc" / "coords.csv").is_file()
    assert (tmp_path / "cc" / "coord_check.png").is_file()
    assert sorted(df.depth.unique()) == [4, 32] and sorted(df.t.unique()) == [0, 1]


def test_coord_check_bad_field_names_it():
    with pytest.raises(ValueError, match="`depths`"):
        depthscale.coord_check(quick=True, depths=[8])


def test_plot_coord_check_draws_one_line_per_parameterization_per_step(coords):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    fig = depthscale.plot_coord_check(coords)
    assert len(fig.axes) == 4
    for ax in fig.axes:
        assert len(ax.lines) == 4
        ys = {line.get_label(): line.get_ydata() for line in ax.lines}
        assert ys["standard"][-1] > 100 * ys["standard"][0]
    logits = depthscale.plot_coord_check(coords, module="logits", steps=[0])
    assert len(logits.axes) == 1
    with pytest.raises(ValueError, match="`module`"):
        depthscale.plot_coord_check(coords, module="nope")


def test_transfer_gives_the_loss_table_and_lr_star_with_intervals(clean_cwd):
    r = depthscale.transfer(quick=True)
    cells = r.cells
    assert {"parameterization", "depth", "lr", "seed_index", "final_train_loss", "status"} <= set(cells.columns)
    assert len(cells) == 2 * 2 * 5 * 2  # parameterizations x depths x rates x seeds
    assert list(r.lr_star.columns[:5]) == ["parameterization", "depth", "lr_star", "lr_star_lo", "lr_star_hi"]
    s = r.lr_star[r.lr_star.parameterization == "sqrt-depth"].set_index("depth")
    assert list(s.index) == [8, 64] and s.fitted.all()
    for col in ("lr_star", "lr_star_lo", "lr_star_hi", "log2_lr_star", "min_loss"):
        assert np.isfinite(s[col]).all(), col
    assert (s.lr_star_lo <= s.lr_star).all() and (s.lr_star <= s.lr_star_hi).all()
    lrs = sorted(cells.lr.unique())
    assert ((lrs[0] <= s.lr_star) & (s.lr_star <= lrs[-1])).all()
    np.testing.assert_allclose(s.lr_star, 2.0 ** s.log2_lr_star)
    # the fit's minimum lies within one grid step of the table's best rate
    sq = cells[cells.parameterization == "sqrt-depth"]
    mean = sq.groupby(["depth", "lr"]).final_train_loss.mean()
    step = np.diff(np.log2(lrs)).max()
    for depth in (8, 64):
        best = mean.loc[depth].idxmin()
        assert abs(s.log2_lr_star[depth] - np.log2(best)) <= step, (depth, best)
    d = r.drift.set_index("parameterization").loc["sqrt-depth"]
    assert d.drift_octaves == pytest.approx(s.log2_lr_star[64] - s.log2_lr_star[8], abs=1e-3)
    assert d.drift_lo <= d.drift_octaves <= d.drift_hi


def test_reproduce_returns_the_claims_table_in_memory(clean_cwd):
    c = depthscale.reproduce(quick=True, only=["sde"])
    assert len(c) >= 2 and set(c.experiment) == {"sde"}
    assert c.agrees.all() and (c.verdict == "agrees").all()
    assert np.isfinite(c.measured.astype(float)).all() and c.reduced_size.all()
    assert c.attrs["summary"]["claims_agreeing"] == len(c)


def test_reproduce_out_keeps_the_report(tmp_path):
    c = depthscale.reproduce(quick=True, only=["sde"], out=tmp_path / "r")
    assert (tmp_path / "r" / "report.html").is_file() and (tmp_path / "r" / "sde").is_dir()
    with pytest.raises(ValueError, match="`only`: .*fig99"):
        depthscale.reproduce(quick=True, only=["fig99"], out=tmp_path / "r")
    assert c.agrees.all()
    # an experiment directory holding another config: the message says redo=[...], not --redo
    cfg = tmp_path / "r" / "sde" / "config.toml"
    cfg.write_text(cfg.read_text().replace("seed = 0", "seed = 5"))
    with pytest.raises(ValueError) as e:
        depthscale.reproduce(quick=True, only=["sde"], out=tmp_path / "r")
    assert 'pass redo=["sde"] to replace' in str(e.value) and "--" not in str(e.value), str(e.value)
    again = depthscale.reproduce(quick=True, only=["sde"], out=tmp_path / "r", redo=["sde"])
    assert list(again.measured) == list(c.measured)


def test_running_twice_never_collides(tmp_path, monkeypatch):
    # issue 25, section 2: the second call within the same second failed
    monkeypatch.chdir(tmp_path)
    a = depthscale.run("fig1", quick=True)
    b = depthscale.run("fig1", quick=True)
    assert a.out != b.out and a.out.parent == b.out.parent
    assert (tmp_path / a.out).parent.resolve() == (tmp_path / "runs").resolve()
    assert (a.out / "results.csv").read_bytes() == (b.out / "results.csv").read_bytes()


def test_default_name_takes_a_suffix_when_the_timestamped_one_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    now = datetime.datetime.now(datetime.timezone.utc)
    taken = []
    for s in range(4):  # this second and the next three are taken by a user's directories
        d = tmp_path / "runs" / ("fig6-" + (now + datetime.timedelta(seconds=s)).strftime("%Y%m%d-%H%M%S"))
        d.mkdir(parents=True)
        (d / "mine.txt").write_text("keep")
        taken.append(d)
    r = depthscale.run("fig6", quick=True)
    assert r.out.name in {d.name + "-2" for d in taken}, r.out
    assert all((d / "mine.txt").read_text() == "keep" for d in taken)


def test_messages_name_pythons_arguments(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("x")
    with pytest.raises(ValueError) as e:
        depthscale.run("fig6", quick=True, out=mine)
    assert "force=True" in str(e.value) and "--" not in str(e.value), str(e.value)
    with pytest.raises(ValueError) as e:
        depthscale.run("fig6", quick=True, out=tmp_path / "x", set=["steps"])
    assert "`set`" in str(e.value) and "--set" not in str(e.value), str(e.value)
    assert (mine / "thesis.tex").read_text() == "x"


SMALL = dict(depth=12, width=8, epochs=1, lr=0.01, train_samples=400, test_samples=200)
FIELDS = dict(optimizer="sgd", momentum=0.9, block="res3", activation="tanh", bias=False, init_w="gaussian")


def test_train_takes_every_training_field_of_the_cli(tmp_path):
    params = inspect.signature(depthscale.train).parameters
    preset = depthscale._core.read_toml(depthscale._core.preset_toml("train"))
    fields = set(preset) - {"kind", "title", "save"}
    fields |= {"optimizer", "momentum", "adam_eps", "block", "activation", "bias", "init_w", "gradient"}
    assert fields <= set(params), fields - set(params)
    r = depthscale.train(**SMALL, **FIELDS, return_weights=True)
    run = depthscale.run("train", out=tmp_path / "t", set=dict(SMALL, **FIELDS))
    for k in ("train_loss", "test_loss", "test_accuracy"):
        np.testing.assert_array_equal(np.asarray(r.metrics[k]), run.results[k].to_numpy(), err_msg=k)
    base = depthscale.train(**SMALL)
    assert np.asarray(base.metrics["train_loss"])[0] != np.asarray(r.metrics["train_loss"])[0]
    assert "w" in r.weights and "bias" not in r.weights
    with pytest.raises(ValueError, match="`optimizer`"):
        depthscale.train(**SMALL, optimizer="lion")


def test_progress_callback_sees_the_work_and_can_stop_it():
    seen = []
    depthscale.train(**dict(SMALL, epochs=2), progress=seen.append)
    assert seen and all(isinstance(p, depthscale.Progress) for p in seen)
    last = seen[-1]
    assert last.total > 0 and last.done == last.total, seen[-3:]
    assert all(p.phase for p in seen)

    class Stop(Exception):
        pass

    def stop(p):
        raise Stop(p.phase)

    with pytest.raises(Stop):
        depthscale.train(**dict(SMALL, epochs=50), progress=stop)
    probed = []
    r = depthscale.probe(width=20, depth=[200, 400], beta=[0.5], draws=8, samples=8, progress=probed.append)
    assert probed and probed[-1].done == probed[-1].total > 0
    np.testing.assert_array_equal(r["h_diff"], depthscale.probe(width=20, depth=[200, 400], beta=[0.5], draws=8, samples=8)["h_diff"])
    with pytest.raises(ValueError, match="`progress`"):
        depthscale.coord_check(quick=True, progress="yes")


def test_progress_true_shows_a_bar_or_lines(tmp_path, capsys):
    depthscale.run("fig6", quick=True, out=tmp_path / "r", progress=True)
    err = capsys.readouterr().err
    assert err.strip(), "no progress shown"
