"""Reading depthscale's tidy CSV tables into pandas DataFrames or dicts of NumPy arrays."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Dict

import numpy as np

try:  # pandas is optional
    import pandas as _pd
except ImportError:  # pragma: no cover - exercised only without pandas
    _pd = None


def has_pandas() -> bool:
    """Whether pandas is importable (tables are then DataFrames)."""
    return _pd is not None


def _column(values: list) -> np.ndarray:
    """A CSV column as the narrowest NumPy array: int64, float64 (``inf``, ``nan`` and empty
    cells as floats), else strings."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.array([float(v) if v != "" else np.nan for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=object)


def as_frame(columns: Dict[str, np.ndarray]) -> Any:
    """A dict of equal-length arrays as a pandas DataFrame (the dict itself without pandas)."""
    if _pd is None:
        return columns
    return _pd.DataFrame(columns)


def read_table(path: Path) -> Any:
    """A CSV file as a pandas DataFrame, or a dict of NumPy arrays without pandas."""
    if _pd is not None:
        return _pd.read_csv(path)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return {name: _column([r[i] for r in body]) for i, name in enumerate(header)}
