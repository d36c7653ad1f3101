"""The lab functions: the depth coord check, learning-rate transfer and the paper's
reproduction as tables in memory, and progress reporting (a callback, or a tqdm bar)."""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import _core
from ._tables import as_frame, read_table


class Progress(NamedTuple):
    """One progress report, as given to a ``progress`` callback.

    Attributes
    ----------
    phase : str
        What runs now (e.g. ``"training"``, ``"fig6: probing"``).
    done, total : int
        Units of the phase done, and in all (``total`` may be 0 for a phase without units).
    note : str
        The latest one-line status (e.g. the latest metrics), or ``""``.
    """

    phase: str
    done: int
    total: int
    note: str


ProgressArg = Union[None, bool, Callable[[Progress], Any]]
"""``progress=`` of the long calls: ``None`` (default: a tqdm bar in a Jupyter notebook when
tqdm is installed, else nothing), ``False`` (nothing), ``True`` (a tqdm bar, or plain lines on
stderr without tqdm) or a callable taking a :class:`Progress`."""


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - IPython without a shell
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


class _Bar:
    """A tqdm bar per phase (``tqdm.auto``: a widget in notebooks), or plain stderr lines."""

    def __init__(self) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self._tqdm = tqdm
        self._bar: Any = None
        self._phase: Optional[str] = None

    def __call__(self, p: Progress) -> None:
        if self._tqdm is None:
            print(f"{p.phase}: {p.done}/{p.total} {p.note}".rstrip(), file=sys.stderr)
            return
        if p.phase != self._phase or self._bar is None:
            self.close()
            self._phase = p.phase
            self._bar = self._tqdm(total=p.total or None, desc=p.phase or "depthscale", leave=False)
        self._bar.n = p.done
        if p.note:
            self._bar.set_postfix_str(p.note[:60], refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class _Reporter:
    """Turns ``progress=`` into the core's ``callback(phase, done, total, note)``."""

    def __init__(self, progress: ProgressArg) -> None:
        self._bar: Optional[_Bar] = None
        self._fn: Optional[Callable[[Progress], Any]] = None
        if progress is None:
            if _in_notebook():
                try:
                    import tqdm.auto  # noqa: F401

                    self._bar = _Bar()
                except ImportError:
                    pass
        elif progress is True:
            self._bar = _Bar()
        elif progress is False:
            pass
        elif callable(progress):
            self._fn = progress
        else:
            raise ValueError(
                f"invalid `progress`: expected None, True, False or a callable, got {progress!r}"
            )
        if self._bar is not None:
            self._fn = self._bar

    @property
    def callback(self) -> Optional[Callable[[str, int, int, str], None]]:
        if self._fn is None:
            return None
        fn = self._fn

        def cb(phase: str, done: int, total: int, note: str) -> None:
            fn(Progress(phase, done, total, note))

        return cb

    def __enter__(self) -> "_Reporter":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.close()


def _float(v: Any) -> float:
    """A summary number (a number, or a string such as ``"0.0123"``, ``"inf"``) as a float;
    ``nan`` for anything else."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _name(p: Any) -> str:
    return p.get("name", str(p)) if isinstance(p, dict) else str(p)


def _overrides(**fields: Any) -> Dict[str, Any]:
    """The fields given (not ``None``), paths as strings."""
    out = {}
    for k, v in fields.items():
        if v is None:
            continue
        if isinstance(v, os.PathLike):
            v = os.fspath(v)
        if isinstance(v, np.ndarray):
            v = v.tolist()
        out[k] = v
    return out


def _run_tables(
    preset: str,
    sets: Dict[str, Any],
    *,
    quick: bool,
    out: Optional[Union[str, os.PathLike]],
    threads: Optional[int],
    force: bool,
    progress: ProgressArg,
) -> tuple:
    """Runs `preset` with `sets` into `out`, or into a temporary directory removed afterwards;
    returns ``(tables, summary, out or None)``."""

    def go(dir_: Path) -> tuple:
        with _Reporter(progress) as rep:
            done, summary = _core.run(
                preset,
                out=os.fspath(dir_),
                quick=quick,
                set=sets,
                threads=threads,
                force=force,
                progress=rep.callback,
            )
        d = Path(done)
        tables = {p.stem: read_table(p) for p in sorted(d.glob("*.csv"))}
        return tables, json.loads(summary), d

    if out is not None:
        return go(Path(out))
    with tempfile.TemporaryDirectory(prefix="depthscale-") as tmp:
        tables, summary, _ = go(Path(tmp) / preset)
    return tables, summary, None


def coord_check(
    parameterizations: Optional[Sequence[Union[str, Dict[str, Any]]]] = None,
    depths: Optional[Any] = None,
    *,
    steps: Optional[int] = None,
    lr: Optional[float] = None,
    width: Optional[int] = None,
    batch_size: Optional[int] = None,
    samples: Optional[int] = None,
    layers: Optional[int] = None,
    flat_ratio: Optional[float] = None,
    seed: Optional[int] = None,
    dataset: Optional[str] = None,
    data_dir: Optional[Union[str, os.PathLike]] = None,
    train_samples: Optional[int] = None,
    quick: bool = False,
    out: Optional[Union[str, os.PathLike]] = None,
    force: bool = False,
    threads: Optional[int] = None,
    progress: ProgressArg = None,
) -> Any:
    """The depth coord check (microsoft/mup's coord check over depth), as a table.

    For each parameterization and depth ``L``, the training model is trained ``steps`` Adam
    steps from one seed, and after every step ``t`` the mean absolute value (mup's ``l1``) of
    the hidden states, residual updates, logits and weight changes is recorded on log-spaced
    layers. A curve of ``l1`` flat in ``L`` means the parameterization is depth-stable.
    Arguments left ``None`` take the ``coord-check`` preset's values (``depthscale show
    coord-check``), shrunk by ``quick``.

    Parameters
    ----------
    parameterizations : list of str or dict, optional
        ``standard`` (beta = 0), ``sqrt-depth`` (beta = 1/2), ``depth-mup`` (beta = 1/2, Adam
        lr / sqrt(L)), ``complete-p`` (beta = 1, Adam eps / L), or tables of your own.
    depths : list of int or grid, optional
        Depths ``L`` (at least two distinct).
    steps, lr, width, batch_size, samples, layers, flat_ratio, seed, dataset, data_dir, train_samples
        The preset's fields.
    quick : bool
        The preset's smoke size (depths up to 256, 3 steps, 1,000 training images); explicit
        arguments win.
    out : str or path-like, optional
        Also keep the run's directory (``coords.csv``, ``coord_check.png``, ``summary.json``)
        there; by default nothing is left on disk (a temporary directory is removed).
    force : bool
        Replace an existing ``out`` that depthscale created.
    threads : int, optional
        Worker threads; the numbers do not depend on it.
    progress : None, bool or callable
        See :data:`ProgressArg`.

    Returns
    -------
    pandas.DataFrame
        mup's columns ``parameterization, depth, module, layer, t, quantity, l1`` (``module``
        ``h``, ``logits``, ``v``, ...); ``df.attrs["summary"]`` holds each curve's log-log slope
        and max/min ratio over depth and ``df.attrs["summary"]["flat"]`` the flat
        parameterizations. A dict of arrays without pandas.

    Examples
    --------
    >>> df = depthscale.coord_check(quick=True)  # doctest: +SKIP
    >>> depthscale.plot_coord_check(df)  # doctest: +SKIP
    """
    sets = _overrides(
        parameterizations=parameterizations,
        depths=depths,
        steps=steps,
        lr=lr,
        width=width,
        batch_size=batch_size,
        samples=samples,
        layers=layers,
        flat_ratio=flat_ratio,
        seed=seed,
        dataset=dataset,
        data_dir=data_dir,
        train_samples=train_samples,
    )
    tables, summary, _ = _run_tables(
        "coord-check", sets, quick=quick, out=out, threads=threads, force=force, progress=progress
    )
    df = tables["coords"]
    if hasattr(df, "attrs"):
        df.attrs["summary"] = summary.get("results", {})
    return df


def plot_coord_check(
    df: Any,
    module: str = "h",
    steps: Optional[Sequence[int]] = None,
    ax: Any = None,
) -> Any:
    """Plots a :func:`coord_check` table as mup does: ``l1`` of the last layer against depth,
    log-log, one line per parameterization, one panel per step ``t``.

    Parameters
    ----------
    df : pandas.DataFrame
        What :func:`coord_check` returned.
    module : str
        ``h`` (the last hidden state, default) or ``logits``.
    steps : list of int, optional
        The steps ``t`` to draw (default all).
    ax : sequence of matplotlib Axes, optional
        One per step; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    df = pd.DataFrame(df)
    sel = df[df["module"] == module]
    if sel.empty:
        raise ValueError(
            f"invalid `module`: {module!r} is not in the table; present: {sorted(df['module'].unique())}"
        )
    last = sel.groupby(["parameterization", "depth"])["layer"].transform("max")
    sel = sel[sel["layer"] == last]
    ts = sorted(sel["t"].unique()) if steps is None else list(steps)
    if ax is None:
        fig, axes = plt.subplots(1, len(ts), figsize=(3.2 * len(ts), 3.2), sharey=True, squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(np.atleast_1d(ax))
        fig = axes[0].figure
        if len(axes) != len(ts):
            raise ValueError(f"invalid `ax`: {len(axes)} axes for {len(ts)} steps")
    order = list(dict.fromkeys(sel["parameterization"]))
    for a, t in zip(axes, ts):
        for p in order:
            c = sel[(sel["parameterization"] == p) & (sel["t"] == t)].sort_values("depth")
            a.plot(c["depth"], c["l1"], marker="o", ms=3, label=p)
        a.set_xscale("log", base=2)
        a.set_yscale("log")
        a.set_title(f"t = {t}")
        a.set_xlabel("depth L")
    axes[0].set_ylabel(f"l1 of {'h_L' if module == 'h' else module}")
    axes[-1].legend(fontsize="small", loc="best")
    fig.tight_layout()
    return fig


class TransferResult(NamedTuple):
    """What :func:`transfer` returns.

    Attributes
    ----------
    cells : pandas.DataFrame
        The loss-vs-lr table: one row per (parameterization, depth, lr, seed) cell with its
        final training loss and status (``cells.csv``).
    lr_star : pandas.DataFrame
        One row per (parameterization, depth): ``lr_star`` and its bootstrap 95% interval
        ``lr_star_lo, lr_star_hi`` (also in ``log2_*``), ``min_loss``, ``fitted``,
        ``at_grid_edge``, ``cells_done``, ``cells_diverged``.
    drift : pandas.DataFrame
        One row per parameterization: ``drift_octaves`` of log2 lr* from the first to the last
        depth, its interval ``drift_lo, drift_hi``, ``slope_octaves_per_doubling``.
    summary : dict
        The run's ``summary.json`` results.
    """

    cells: Any
    lr_star: Any
    drift: Any
    summary: Dict[str, Any]


def transfer(
    parameterizations: Optional[Sequence[Union[str, Dict[str, Any]]]] = None,
    depths: Optional[Any] = None,
    lr: Optional[Any] = None,
    *,
    seeds: Optional[int] = None,
    epochs: Optional[int] = None,
    width: Optional[int] = None,
    batch_size: Optional[int] = None,
    fit_points: Optional[int] = None,
    bootstrap: Optional[int] = None,
    seed: Optional[int] = None,
    dataset: Optional[str] = None,
    data_dir: Optional[Union[str, os.PathLike]] = None,
    train_samples: Optional[int] = None,
    test_samples: Optional[int] = None,
    quick: bool = False,
    out: Optional[Union[str, os.PathLike]] = None,
    force: bool = False,
    threads: Optional[int] = None,
    progress: ProgressArg = None,
) -> TransferResult:
    """Learning-rate transfer across depth: final training loss against lr, and lr* per depth.

    Every cell (parameterization, depth, lr, seed) trains the training model ``epochs`` passes
    at the parameterization's rate; lr* is fitted per depth (quadratic in log2 lr) with a
    bootstrap 95% interval over seeds. Arguments left ``None`` take the ``transfer`` preset's
    values (``depthscale show transfer``), shrunk by ``quick``.

    Parameters
    ----------
    parameterizations, depths, lr, seeds, epochs, width, batch_size, fit_points, bootstrap, seed
        The preset's fields (``lr`` a list or ``{"geomspace": [a, b, n]}``).
    dataset, data_dir, train_samples, test_samples
        The data.
    quick : bool
        The preset's smoke size (2 parameterizations, 2 depths up to 64, 5 rates, 2 seeds,
        1,000 training images); explicit arguments win.
    out : str or path-like, optional
        Also keep the run's directory there; by default nothing is left on disk.
    force, threads, progress
        As in :func:`coord_check`.

    Returns
    -------
    TransferResult
        ``.cells`` (the loss-vs-lr table), ``.lr_star`` (lr* per depth with its interval),
        ``.drift`` (per parameterization), ``.summary``.
    """
    sets = _overrides(
        parameterizations=parameterizations,
        depths=depths,
        lr=lr,
        seeds=seeds,
        epochs=epochs,
        width=width,
        batch_size=batch_size,
        fit_points=fit_points,
        bootstrap=bootstrap,
        seed=seed,
        dataset=dataset,
        data_dir=data_dir,
        train_samples=train_samples,
        test_samples=test_samples,
    )
    tables, summary, _ = _run_tables(
        "transfer", sets, quick=quick, out=out, threads=threads, force=force, progress=progress
    )
    results = summary.get("results", {})
    star: Dict[str, List[Any]] = {k: [] for k in (
        "parameterization", "depth", "lr_star", "lr_star_lo", "lr_star_hi", "log2_lr_star",
        "log2_lr_star_lo", "log2_lr_star_hi", "min_loss", "fitted", "at_grid_edge",
        "cells_done", "cells_diverged",
    )}
    drift: Dict[str, List[Any]] = {k: [] for k in (
        "parameterization", "drift_octaves", "drift_lo", "drift_hi", "slope_octaves_per_doubling",
    )}
    for p in results.get("results", []):
        name = _name(p.get("parameterization"))
        for d in p.get("depths", []):
            lo, hi = (_float(v) for v in d.get("log2_lr_star_ci95", [None, None]))
            x = _float(d.get("log2_lr_star"))
            star["parameterization"].append(name)
            star["depth"].append(int(d["depth"]))
            star["lr_star"].append(2.0 ** x)
            star["lr_star_lo"].append(2.0 ** lo)
            star["lr_star_hi"].append(2.0 ** hi)
            star["log2_lr_star"].append(x)
            star["log2_lr_star_lo"].append(lo)
            star["log2_lr_star_hi"].append(hi)
            star["min_loss"].append(_float(d.get("min_loss")))
            star["fitted"].append(bool(d.get("fitted")))
            star["at_grid_edge"].append(bool(d.get("at_grid_edge")))
            star["cells_done"].append(int(d.get("cells_done", 0)))
            star["cells_diverged"].append(int(d.get("cells_diverged", 0)))
        dlo, dhi = (_float(v) for v in p.get("drift_octaves_ci95", [None, None]))
        drift["parameterization"].append(name)
        drift["drift_octaves"].append(_float(p.get("drift_octaves")))
        drift["drift_lo"].append(dlo)
        drift["drift_hi"].append(dhi)
        drift["slope_octaves_per_doubling"].append(_float(p.get("slope_octaves_per_doubling")))
    return TransferResult(
        cells=tables["cells"],
        lr_star=as_frame({k: np.asarray(v) for k, v in star.items()}),
        drift=as_frame({k: np.asarray(v) for k, v in drift.items()}),
        summary=results,
    )


def reproduce(
    *,
    quick: bool = False,
    only: Optional[Sequence[str]] = None,
    seed: Optional[int] = None,
    out: Optional[Union[str, os.PathLike]] = None,
    redo: Optional[Sequence[str]] = None,
    force: bool = False,
    dataset: Optional[str] = None,
    data_dir: Optional[Union[str, os.PathLike]] = None,
    threads: Optional[int] = None,
    progress: ProgressArg = None,
) -> Any:
    """Reproduces the paper as ``depthscale reproduce`` does and returns its claims table.

    Parameters
    ----------
    quick : bool
        Reduced sizes (every claim checked at that size, with the tolerance shown).
    only : list of str, optional
        Run only these presets (e.g. ``["sde", "fig6"]``).
    seed : int, optional
        Every experiment's seed (default each preset's own).
    out : str or path-like, optional
        Keep the reproduction there (``report.html``, one directory per experiment); an
        existing reproduction there is resumed. By default nothing is left on disk.
    redo : list of str, optional
        With ``out``: run these experiments again, replacing their directories.
    force : bool
        Start ``out`` over (only a directory depthscale created).
    dataset, data_dir : str, optional
        Dataset of the training presets (fig8, fig9).
    threads, progress
        As in :func:`coord_check`.

    Returns
    -------
    pandas.DataFrame
        One row per claim: ``experiment, name, measured, expected, relation, tolerance,
        tolerance_basis, verdict, agrees, reduced_size`` (``measured`` a float: ``inf`` for an
        overflow, ``nan`` when missing). ``df.attrs["summary"]`` is ``summary.json``. A dict of
        arrays without pandas.
    """

    def go(dir_: Path) -> Dict[str, Any]:
        with _Reporter(progress) as rep:
            _, summary = _core.reproduce(
                os.fspath(dir_),
                quick=quick,
                only=None if only is None else list(only),
                redo=None if redo is None else list(redo),
                seed=seed,
                force=force,
                dataset=dataset,
                data_dir=None if data_dir is None else os.fspath(data_dir),
                threads=threads,
                progress=rep.callback,
            )
        return json.loads(summary)

    if out is not None:
        summary = go(Path(out))
    else:
        with tempfile.TemporaryDirectory(prefix="depthscale-") as tmp:
            summary = go(Path(tmp) / "reproduce")
    claims = summary.get("claims", [])
    cols: Dict[str, List[Any]] = {k: [] for k in (
        "experiment", "name", "measured", "expected", "relation", "tolerance",
        "tolerance_basis", "verdict", "agrees", "reduced_size",
    )}
    for c in claims:
        m = c.get("measured")
        cols["experiment"].append(c.get("experiment"))
        cols["name"].append(c.get("name"))
        cols["measured"].append(math.inf if m == "overflow" else _float(m))
        e = c.get("expected")
        cols["expected"].append(tuple(e) if isinstance(e, list) else _float(e))
        cols["relation"].append(c.get("relation"))
        cols["tolerance"].append(_float(c.get("tolerance")))
        cols["tolerance_basis"].append(c.get("tolerance_basis", ""))
        cols["verdict"].append(c.get("verdict"))
        cols["agrees"].append(c.get("verdict") == "agrees")
        cols["reduced_size"].append(bool(c.get("reduced_size")))
    expected = np.empty(len(claims), dtype=object)
    for i, e in enumerate(cols.pop("expected")):
        expected[i] = e
    arrays = {k: np.asarray(v) for k, v in cols.items()}
    arrays["expected"] = expected
    arrays = {k: arrays[k] for k in ("experiment", "name", "measured", "expected", "relation",
                                     "tolerance", "tolerance_basis", "verdict", "agrees",
                                     "reduced_size")}
    df = as_frame(arrays)
    if hasattr(df, "attrs"):
        df.attrs["summary"] = summary
    return df
