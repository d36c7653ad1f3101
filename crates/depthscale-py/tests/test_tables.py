"""Tables without pandas: dicts of NumPy arrays with the CLI's spellings of inf and nan."""

import numpy as np

import depthscale
from depthscale import _tables


def test_csv_reads_as_typed_arrays_without_pandas(tmp_path, monkeypatch):
    p = tmp_path / "t.csv"
    p.write_text("depth,h_diff,init_v,hurst\n10,inf,uniform,\n20,0.5,fbm,0.7\n")
    monkeypatch.setattr(_tables, "_pd", None)
    t = _tables.read_table(p)
    assert t["depth"].dtype == np.int64 and list(t["depth"]) == [10, 20]
    assert np.isinf(t["h_diff"][0]) and t["h_diff"][1] == 0.5
    assert list(t["init_v"]) == ["uniform", "fbm"]
    assert np.isnan(t["hurst"][0]) and t["hurst"][1] == 0.7
    r = depthscale.train(depth=10, width=4, epochs=1, train_samples=200, test_samples=100)
    assert isinstance(r.metrics, dict) and r.metrics["epoch"].tolist() == [1]
