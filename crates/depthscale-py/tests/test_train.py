"""depthscale.train: metrics, weights, checkpoint, equality with a run."""

import numpy as np
import pytest

import depthscale

SMALL = dict(depth=20, width=8, epochs=2, lr=0.01, train_samples=600, test_samples=300)


def test_train_returns_metrics_weights_and_checkpoint(tmp_path):
    r = depthscale.train(**SMALL, return_weights=True, save=tmp_path / "m.safetensors")
    m = r.metrics
    assert list(m["epoch"]) == [1, 2] and not r.diverged
    assert r.final_test_accuracy > 0.3  # ten classes: chance is 0.1
    assert r.alpha == pytest.approx(20 ** -0.5)
    w, w0 = r.weights, r.initial_weights
    assert w["v"].shape == (20, 8, 8) and w["bias"].shape == (20, 8)
    assert w["embed"].shape == (8, 784) and w["readout"].shape == (10, 8)
    assert w["v"].dtype == np.float32 and not np.array_equal(w["v"], w0["v"])
    assert r.checkpoint.is_file() and r.checkpoint.stat().st_size > 4 * 20 * 8 * 8


def test_metrics_equal_a_train_run_with_the_same_fields(tmp_path):
    r = depthscale.train(**SMALL)
    run = depthscale.run("train", out=tmp_path / "t", set=SMALL)
    for k in ("epoch", "lr", "train_loss", "test_loss", "test_accuracy"):
        np.testing.assert_array_equal(np.asarray(r.metrics[k]), run.results[k].to_numpy(), err_msg=k)


def test_gradient_methods():
    small = dict(SMALL, epochs=1)
    base = depthscale.train(**small)
    cp = depthscale.train(**small, gradient="checkpoint")
    np.testing.assert_array_equal(np.asarray(base.metrics["test_loss"]), np.asarray(cp.metrics["test_loss"]))
    adj = depthscale.train(**small, gradient="adjoint")
    assert adj.final_test_accuracy > 0.3
    with pytest.raises(ValueError, match="gradient"):
        depthscale.train(**small, gradient="tape")


def test_trained_weights_run_through_forward():
    r = depthscale.train(**dict(SMALL, epochs=1), return_weights=True)
    w = {k: v.astype(np.float64) for k, v in r.weights.items()}
    x = np.random.default_rng(0).random((3, 784))
    t = depthscale.forward(w, x, alpha=r.alpha, model="res1")
    assert t["h"].shape == (21, 3, 8) and t["output"].shape == (3, 10)


def test_bad_field_is_a_value_error():
    with pytest.raises(ValueError, match="`lr`"):
        depthscale.train(**dict(SMALL, lr=-1.0))
    with pytest.raises(ValueError, match="`dataset`"):
        depthscale.train(**dict(SMALL, dataset="imagenet", data_dir="/tmp"))


def test_save_refuses_what_is_not_a_regular_file_and_needs_overwrite(tmp_path):
    # issue 20, item 1: save='/dev/null' as root replaced the device with a regular file.
    thesis = tmp_path / "thesis.tex"
    thesis.write_text("mine")
    link = tmp_path / "link.safetensors"
    link.symlink_to(thesis)
    for path, what in [(link, "symbolic link"), (tmp_path, "directory"), ("/dev/null", "device")]:
        for overwrite in (False, True):
            with pytest.raises(ValueError, match=what):
                depthscale.train(**SMALL, save=path, overwrite=overwrite)
    assert thesis.read_text() == "mine" and link.is_symlink()
    existing = tmp_path / "m.safetensors"
    existing.write_text("old")
    with pytest.raises(ValueError, match="overwrite"):
        depthscale.train(**SMALL, save=existing)
    assert existing.read_text() == "old"
    r = depthscale.train(**SMALL, save=existing, overwrite=True)
    assert r.checkpoint == existing and existing.stat().st_size > 100
