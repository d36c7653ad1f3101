"""depthscale from Python: deep ResNets at initialization and in training, at the Rust core's
speed.

The functions call the Rust library directly (no subprocess, no files unless asked): results
come back as NumPy arrays (without a copy) and pandas DataFrames (when pandas is installed).
The GIL is released while Rust works, on all cores, and Ctrl-C stops a long call between jobs.

Functions
---------
run
    Run any experiment (a preset or a TOML file) exactly as ``depthscale run`` does.
probe
    The paper's four measurements at initialization over a grid, as arrays.
weights, fbm
    Weights over depth for any law; fractional Gaussian noise.
forward, ResNet
    Hidden states and gradients of every layer of your own weights.
train
    One training run of the paper's protocol, metrics as a DataFrame.
ode_net, adjoint_gradients, ode_trajectory
    A continuous-depth net ``dh/dt = V(t) act(W(t) h)`` and its loss gradient by
    back-propagation, checkpointing and the adjoint method, as NumPy arrays; one trajectory
    observed at irregular times, its fit and gradient.
coord_check, plot_coord_check
    The depth coord check (mup's columns) as a DataFrame, and its plot.
transfer
    Learning-rate transfer across depth: the loss-vs-lr table and lr* per depth.
reproduce
    The paper's reproduction: its claims table.

The lab functions (``coord_check``, ``transfer``, ``reproduce``) leave nothing on disk unless
given ``out=``. Long calls take ``progress=``: a callable receiving :class:`Progress`
reports, ``True`` for a tqdm bar, and by default a tqdm bar in Jupyter when tqdm is installed.

Errors are ``ValueError`` for a bad argument (the message names the field, as the CLI's does),
:class:`TooLargeError` (a ``MemoryError`` and a ``ValueError``) for sizes over what the
machine's memory (or ``DEPTHSCALE_MAX_MEMORY``) allows, checked before anything is allocated,
``OSError`` for files and directories, ``KeyboardInterrupt`` when Ctrl-C stops a call (within
a second).
"""

from __future__ import annotations

import json
import operator
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._lab import (
    Progress,
    ProgressArg,
    TransferResult,
    _Reporter,
    coord_check,
    plot_coord_check,
    reproduce,
    transfer,
)
from ._tables import as_frame, has_pandas, read_table

__all__ = [
    "Progress",
    "Run",
    "ResNet",
    "TooLargeError",
    "TrainResult",
    "TransferResult",
    "adjoint_gradients",
    "coord_check",
    "fbm",
    "forward",
    "ode_net",
    "ode_trajectory",
    "plot_coord_check",
    "presets",
    "probe",
    "reproduce",
    "run",
    "train",
    "transfer",
    "weights",
    "__version__",
]

__version__: str = _core.version()

TooLargeError = _core.TooLargeError
"""A size, or the memory it needs, over what this machine (or ``DEPTHSCALE_MAX_MEMORY``)
allows; the message names the argument to shrink. A subclass of both ``MemoryError`` and
``ValueError``."""


def _count(name: str, value: Any) -> int:
    """`value` as a count for the core (an unsigned 64-bit integer), or a ValueError naming
    `name`."""
    try:
        n = operator.index(value)
    except TypeError:
        raise ValueError(f"invalid `{name}`: expected an integer, got {value!r}") from None
    if not 0 <= n < 2**64:
        raise ValueError(f"invalid `{name}`: must be a positive integer (>= 1), got {n}")
    return n

Grid = Union[float, int, Sequence[float], Mapping[str, Sequence[float]]]
"""A grid of values as configs accept it: a number, a list, ``{"linspace": [a, b, n]}`` or
``{"geomspace": [a, b, n]}``."""


def presets() -> Dict[str, str]:
    """The shipped experiment presets.

    Returns
    -------
    dict
        ``{name: description}``, e.g. ``"fig1"``, ``"fig7"``, ``"train"``; any of them can be
        given to :func:`run`.
    """
    return dict(_core.presets())


@dataclass
class Run:
    """A completed run of :func:`run`: its output directory and what it wrote.

    Attributes
    ----------
    out : pathlib.Path
        The output directory.
    config : dict
        The resolved config (``config.toml``); ``run(run.out / "config.toml")`` reruns it.
    summary : dict
        ``summary.json``: headline numbers, timings, version.
    results : pandas.DataFrame or dict of numpy.ndarray or None
        The main table: ``results.csv`` (``metrics.csv`` for a training run, ``cells.csv``
        for a sweep), a DataFrame when pandas is installed, else a dict of arrays.
    tables : dict
        Every CSV table of the run by file stem (``"cells"``, ``"critical"``, ...), same types.
    figures : list of pathlib.Path
        The figures (PNG and SVG).
    """

    out: Path
    config: Dict[str, Any]
    summary: Dict[str, Any]
    results: Any
    tables: Dict[str, Any] = field(default_factory=dict)
    figures: List[Path] = field(default_factory=list)

    @classmethod
    def load(cls, out: Union[str, os.PathLike]) -> "Run":
        """Reads a complete output directory (one written by :func:`run` or the CLI).

        Parameters
        ----------
        out : str or path-like
            The directory.

        Returns
        -------
        Run
        """
        out = Path(out)
        config = _core.read_toml((out / "config.toml").read_text())
        summary = json.loads((out / "summary.json").read_text())
        tables = {p.stem: read_table(p) for p in sorted(out.glob("*.csv"))}
        results = None
        for main in ("results", "metrics", "cells"):
            if main in tables:
                results = tables[main]
                break
        figures = sorted(p for p in out.iterdir() if p.suffix in (".png", ".svg"))
        return cls(out, config, summary, results, tables, figures)

    def __repr__(self) -> str:
        kind = self.summary.get("kind", "?")
        return f"Run(out={str(self.out)!r}, kind={kind!r}, tables={sorted(self.tables)})"


def run(
    preset_or_path: Union[str, os.PathLike],
    *,
    out: Optional[Union[str, os.PathLike]] = None,
    quick: bool = False,
    set: Optional[Union[Mapping[str, Any], Sequence[str]]] = None,
    threads: Optional[int] = None,
    force: bool = False,
    progress: ProgressArg = None,
) -> Run:
    """Runs an experiment exactly as ``depthscale run`` does.

    Same preset, overrides and seed give the same bytes as the CLI (``results.csv``,
    ``config.toml``, the tables), for any thread count.

    Parameters
    ----------
    preset_or_path : str or path-like
        A preset name (see :func:`presets`) or a TOML config file.
    out : str or path-like, optional
        Output directory; default ``runs/<name>-<UTC timestamp>``, with a suffix ``-2``,
        ``-3``, ... when that exists (calls within the same second never collide). An
        existing non-empty directory given here is refused unless ``force`` (and then only
        one depthscale created).
    quick : bool, default False
        Shrink the experiment to its smoke size (``--quick``).
    set : dict or list of str, optional
        Overrides, as ``{"depth": 2000, "beta": [0.5, 1.0]}`` or ``["depth=2000"]``
        (``--set``).
    threads : int, optional
        Worker threads (``--threads``); default all cores.
    force : bool, default False
        Replace an existing output directory that depthscale created (``--force``).
    progress : None, bool or callable
        Progress reports (see :data:`ProgressArg`).

    Returns
    -------
    Run
        The output directory and its config, summary, tables and figures.

    Raises
    ------
    ValueError
        A bad config value, override or size (the CLI's one-line message, e.g.
        ``experiment fig1: invalid `width`: ...``).
    OSError
        The output directory cannot be written, or is in use by another process.

    Examples
    --------
    >>> r = depthscale.run("fig1", quick=True, out="runs/fig1-quick")  # doctest: +SKIP
    >>> r.results.groupby(["depth", "beta"]).h_diff.mean()  # doctest: +SKIP
    """
    with _Reporter(progress) as rep:
        dir_, _summary = _core.run(
            os.fspath(preset_or_path),
            out=None if out is None else os.fspath(out),
            quick=quick,
            set=set,
            threads=threads,
            force=force,
            progress=rep.callback,
        )
    return Run.load(dir_)


def probe(
    model: str = "res3",
    width: int = 40,
    depth: Grid = 1000,
    beta: Grid = (0.25, 0.5, 1.0),
    init_v: str = "uniform",
    init_w: str = "uniform",
    activation: str = "relu",
    draws: int = 10,
    samples: int = 10,
    seed: int = 0,
    *,
    hurst: Optional[Grid] = None,
    n_in: int = 64,
    n_out: int = 1,
    threads: Optional[int] = None,
    progress: ProgressArg = None,
) -> Dict[str, np.ndarray]:
    """The paper's four measurements at initialization, over a grid, in memory.

    For each weight draw, input ``x ~ U[0,1]^n_in`` and target ``y ~ U[0,1]^n_out``, with
    ``h_0 = A x``, ``h_{k+1} = h_k + L^-beta V_{k+1} act(W_{k+1} h_k)`` and
    ``p_k = d||B h_L - y||^2 / dh_k``::

        h_ratio = ||h_L|| / ||h_0||      h_diff = ||h_L - h_0|| / ||h_0||
        g_ratio = ||p_0|| / ||p_L||      g_diff = ||p_L - p_0|| / ||p_L||

    The numbers are those a ``probe`` run writes to ``results.csv`` for the same config and
    seed, bit for bit.

    Parameters
    ----------
    model : {"res3", "res1"}
        ``res3``: ``h + a V act(W h)``; ``res1``: ``h + a V act(h)``.
    width : int
        Hidden width ``d``.
    depth : int or grid
        Depths ``L``.
    beta : float or grid
        Scaling exponents, ``alpha_L = L^-beta``.
    init_v, init_w : str
        Laws of ``V`` and ``W`` over depth: ``uniform``, ``gaussian``, ``rademacher``,
        ``fbm(H)``, ``fbm`` (H from ``hurst``), ``rbf(BW)``, ``rbf(BW, increments)``,
        ``correlated(gaussian)``, ``correlated(rbf(BW))``.
    activation : str
        ``relu``, ``tanh``, ``sigmoid``, ``identity``, ``gelu``, ``leaky_relu(SLOPE)``.
    draws : int
        Weight draws per (depth, hurst).
    samples : int
        Inputs per (draw, beta).
    seed : int
        Seed of every draw.
    hurst : float or grid, optional
        Hurst indices for inits written as plain ``fbm``.
    n_in, n_out : int
        Input and output dimensions.
    threads : int, optional
        Worker threads; default all cores (the numbers do not depend on it).
    progress : None, bool or callable
        Progress reports (see :data:`ProgressArg`).

    Returns
    -------
    dict of numpy.ndarray
        Equal-length arrays, one entry per (depth, hurst, draw, beta, sample): ``beta``,
        ``draw``, ``sample``, ``depth`` (and ``hurst`` with a Hurst grid), and the four
        measurements ``h_ratio``, ``h_diff``, ``g_ratio``, ``g_diff`` (an overflow is
        ``inf``). ``pandas.DataFrame(result)`` makes it a tidy table.

    Raises
    ------
    ValueError
        A bad argument; the message names it, e.g. ``invalid `width`: ...``.
    TooLargeError
        A grid whose weights and rows need more memory than the machine has.

    Examples
    --------
    >>> r = depthscale.probe(depth=[10, 100, 1000], beta=[0.5, 1.0], draws=20)
    >>> df = pandas.DataFrame(r)  # doctest: +SKIP
    >>> df.groupby(["depth", "beta"]).h_diff.mean()  # doctest: +SKIP
    """
    config: Dict[str, Any] = {
        "model": model,
        "width": width,
        "depth": depth,
        "beta": beta,
        "hurst": hurst,
        "init_v": init_v,
        "init_w": init_w,
        "activation": activation,
        "draws": draws,
        "samples": samples,
        "seed": seed,
        "n_in": n_in,
        "n_out": n_out,
    }
    with _Reporter(progress) as rep:
        columns, _seconds = _core.probe(config, threads=threads, progress=rep.callback)
    return columns


def weights(
    init: str = "fbm(0.7)",
    depth: int = 1000,
    rows: int = 30,
    cols: int = 30,
    seed: int = 0,
) -> np.ndarray:
    """One draw of weights over depth from a law.

    Every entry has variance ``1 / cols`` (the fan-in); each of the ``rows * cols`` entries
    is a path over depth: i.i.d. for ``uniform``/``gaussian``/``rademacher``, fractional
    Gaussian noise for ``fbm(H)``, a smooth Gaussian process for ``rbf(BW)``, and for
    ``correlated(..)`` the layer's entries mixed by a fixed correlation matrix.

    Parameters
    ----------
    init : str
        The law (as in :func:`probe`'s ``init_v``).
    depth : int
        Number of layers.
    rows, cols : int
        Shape of each layer's matrix.
    seed : int
        Seed; the draw uses the stream ``rng::stream(seed, [])``.

    Returns
    -------
    numpy.ndarray
        ``(depth, rows, cols)`` float64, handed over without a copy.

    Raises
    ------
    ValueError
        An unknown law or a non-positive size.
    TooLargeError
        More weights (or, for ``rbf`` and ``correlated`` laws, more of the law's own
        buffers) than the memory allows.
    """
    return _core.weights(
        init,
        _count("depth", depth),
        _count("rows", rows),
        _count("cols", cols),
        _count("seed", seed),
    )


def fbm(n: int, hurst: float, paths: int = 1, seed: int = 0) -> np.ndarray:
    """Unit-variance fractional Gaussian noise: the increments of fractional Brownian motion.

    ``np.cumsum(fbm(n, H), axis=1) * n**-H`` is fBm on the grid ``k / n`` of ``[0, 1]``.
    The lag-``k`` autocorrelation is ``(|k+1|^{2H} - 2|k|^{2H} + |k-1|^{2H}) / 2``, e.g.
    ``2^{2H-1} - 1`` at lag 1. Sampled exactly (Davies-Harte).

    Parameters
    ----------
    n : int
        Length of each path.
    hurst : float
        Hurst index in (0, 1).
    paths : int
        Number of independent paths.
    seed : int
        Seed (``weights(f"fbm({hurst})", n, paths, 1, seed)``, transposed).

    Returns
    -------
    numpy.ndarray
        ``(paths, n)`` float64.

    Raises
    ------
    ValueError
        ``hurst`` outside (0, 1) or a non-positive size.
    TooLargeError
        ``paths x n`` values (and the FFT's buffers) over what the memory allows.
    """
    return _core.fbm(_count("n", n), float(hurst), _count("paths", paths), _count("seed", seed))


def _f64(name: str, a: Any, ndim: int) -> np.ndarray:
    arr = np.ascontiguousarray(a, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"invalid `{name}`: expected a {ndim}-d array, got shape {arr.shape}")
    return arr


class ResNet:
    """A ResNet built from NumPy weight stacks, to probe your own weights.

    ``h_0 = embed @ x``, ``h_k = h_{k-1} + alpha (v[k-1] @ act(w[k-1] @ h_{k-1}) + bias[k-1])``
    for ``k = 1..L`` (``res1`` without ``w``; ``bias`` optional), output ``readout @ h_L``.

    Parameters
    ----------
    v : array_like, shape (L, d, m)
        Residual weights (``m = d`` for ``res1``).
    w : array_like, shape (L, m, d), optional
        Inner weights (``res3``, inner width ``m``, which may differ from ``d``); ``None``
        for ``res1``.
    embed : array_like, shape (d, n_in), optional
        Embedding; default the identity (inputs are hidden states).
    readout : array_like, shape (n_out, d), optional
        Readout; default the identity.
    bias : array_like, shape (L, d), optional
        Biases outside the activation (the training model's).
    activation : str
        ``relu``, ``tanh``, ``sigmoid``, ``identity``, ``gelu``, ``leaky_relu(SLOPE)``.

    Examples
    --------
    >>> V = depthscale.weights("gaussian", depth=100, rows=16, cols=16)
    >>> net = depthscale.ResNet(V)
    >>> t = net.forward(np.ones((4, 16)), beta=0.5)
    >>> t["h"].shape, t["p"].shape
    ((101, 4, 16), (101, 4, 16))
    """

    def __init__(
        self,
        v: Any,
        w: Any = None,
        *,
        embed: Any = None,
        readout: Any = None,
        bias: Any = None,
        activation: str = "relu",
    ) -> None:
        self.v = _f64("v", v, 3)
        depth, d, _ = self.v.shape
        self.w = None if w is None else _f64("w", w, 3)
        self.embed = np.eye(d) if embed is None else _f64("embed", embed, 2)
        self.readout = np.eye(d) if readout is None else _f64("readout", readout, 2)
        self.bias = None if bias is None else _f64("bias", bias, 2)
        self.activation = activation

    @classmethod
    def from_weights(cls, weights: Mapping[str, Any], activation: str = "relu") -> "ResNet":
        """A network from a dict of tensors (``v`` and optionally ``w``, ``embed``,
        ``readout``, ``bias``), e.g. :func:`train`'s ``weights``.
        """
        unknown = set(weights) - {"v", "w", "embed", "readout", "bias"}
        if unknown:
            raise ValueError(
                f"invalid `weights`: unknown tensors {sorted(unknown)}; "
                "accepted: v, w, embed, readout, bias"
            )
        if "v" not in weights:
            raise ValueError("invalid `weights`: needs `v` (L, d, m)")
        return cls(
            weights["v"],
            weights.get("w"),
            embed=weights.get("embed"),
            readout=weights.get("readout"),
            bias=weights.get("bias"),
            activation=activation,
        )

    @property
    def depth(self) -> int:
        """Number of residual layers ``L``."""
        return int(self.v.shape[0])

    @property
    def width(self) -> int:
        """Hidden width ``d``."""
        return int(self.v.shape[1])

    def forward(
        self,
        x: Any,
        *,
        beta: Union[float, Sequence[float]] = 0.5,
        alpha: Optional[Union[float, Sequence[float]]] = None,
        y: Any = None,
    ) -> Dict[str, np.ndarray]:
        """Hidden states and loss gradients of every layer.

        Parameters
        ----------
        x : array_like, shape (n, n_in) or (n_in,)
            Inputs, one per row.
        beta : float or sequence of float
            ``alpha = L^-beta`` (one per input, or one for all).
        alpha : float or sequence of float, optional
            The residual scale itself (overrides ``beta``).
        y : array_like, shape (n, n_out), optional
            Targets of the loss ``||readout @ h_L - y||^2``; default zeros.

        Returns
        -------
        dict of numpy.ndarray
            ``h`` ``(L+1, n, d)``: ``h_0..h_L``; ``p`` ``(L+1, n, d)``: ``p_k = dloss/dh_k``;
            ``output`` ``(n, n_out)``; ``loss`` ``(n,)``.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        x = _f64("x", x, 2)
        n = x.shape[0]
        n_out = self.readout.shape[0]
        y = np.zeros((n, n_out)) if y is None else _f64("y", np.atleast_2d(y), 2)
        if alpha is None:
            a = float(self.depth) ** -np.asarray(beta, dtype=np.float64)
        else:
            a = np.asarray(alpha, dtype=np.float64)
        a = np.ascontiguousarray(np.broadcast_to(a, (n,)), dtype=np.float64)
        return _core.trajectory(
            self.v, self.w, self.bias, self.embed, self.readout, self.activation, a, x, y
        )

    def __repr__(self) -> str:
        model = "res1" if self.w is None else "res3"
        return f"ResNet({model}, depth={self.depth}, width={self.width}, activation={self.activation!r})"


def forward(
    weights: Union[ResNet, Mapping[str, Any], np.ndarray],
    x: Any,
    *,
    beta: Union[float, Sequence[float]] = 0.5,
    model: Optional[str] = None,
    activation: str = "relu",
    y: Any = None,
    alpha: Optional[Union[float, Sequence[float]]] = None,
) -> Dict[str, np.ndarray]:
    """Hidden states ``h_0..h_L`` and gradients ``p_0..p_L`` of a network given by its weights.

    Parameters
    ----------
    weights : ResNet, dict or array_like
        A :class:`ResNet`, a dict of tensors (``v``, ``w``, ``embed``, ``readout``,
        ``bias``), or the ``(L, d, d)`` stack ``V`` alone (``res1``).
    x : array_like, shape (n, n_in)
        Inputs.
    beta : float or sequence of float
        ``alpha = L^-beta``.
    model : {"res1", "res3"}, optional
        Checked against the weights when given: ``res3`` needs ``w``, ``res1`` has none.
    activation : str
        The activation (when ``weights`` is not a :class:`ResNet`).
    y : array_like, optional
        Targets (default zeros).
    alpha : float or sequence of float, optional
        The residual scale itself (overrides ``beta``).

    Returns
    -------
    dict of numpy.ndarray
        As :meth:`ResNet.forward`.

    Raises
    ------
    ValueError
        Shapes that do not fit, or ``model`` disagreeing with the weights.
    TooLargeError
        States of every layer (``2 (L+1) n d`` floats) over what the memory allows.
    """
    if isinstance(weights, ResNet):
        net = weights
    elif isinstance(weights, Mapping):
        net = ResNet.from_weights(weights, activation=activation)
    else:
        net = ResNet(weights, activation=activation)
    if model is not None:
        if model not in ("res1", "res3"):
            raise ValueError(f"invalid `model`: {model!r}; accepted: res1, res3")
        if (model == "res3") != (net.w is not None):
            raise ValueError(
                f"invalid `model`: {model} "
                + ("needs inner weights `w`" if model == "res3" else "takes no inner weights `w`")
            )
    return net.forward(x, beta=beta, alpha=alpha, y=y)


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    metrics : pandas.DataFrame or dict of numpy.ndarray
        One row per epoch: ``epoch, lr, train_loss, test_loss, test_accuracy, seconds``
        (the columns of ``metrics.csv``).
    diverged : bool
        Whether a batch loss became non-finite (training stopped there).
    dataset : str
        The dataset's name.
    alpha : float
        The residual scale ``L^-beta`` the network was trained with.
    weights : dict of numpy.ndarray or None
        The trained network (``embed``, ``v``, ``bias``, ``readout``; float32), when asked.
    initial_weights : dict of numpy.ndarray or None
        The network before training, when asked.
    checkpoint : pathlib.Path or None
        The safetensors file written (``save``).
    """

    metrics: Any
    diverged: bool
    dataset: str
    alpha: float
    weights: Optional[Dict[str, np.ndarray]] = None
    initial_weights: Optional[Dict[str, np.ndarray]] = None
    checkpoint: Optional[Path] = None

    @property
    def final_test_accuracy(self) -> float:
        """The last epoch's test accuracy (``nan`` if none completed)."""
        acc = np.asarray(self.metrics["test_accuracy"])
        return float(acc[-1]) if len(acc) else float("nan")


def train(
    *,
    depth: int = 1000,
    width: int = 30,
    beta: float = 0.5,
    lr: float = 1e-3,
    epochs: int = 10,
    batch_size: int = 128,
    lr_step: int = 5,
    lr_gamma: float = 0.1,
    init_v: str = "uniform",
    seed: int = 0,
    gradient: str = "backprop",
    optimizer: str = "adam",
    momentum: float = 0.0,
    adam_eps: float = 1e-8,
    block: str = "res1",
    activation: str = "relu",
    bias: bool = True,
    init_w: str = "uniform",
    dataset: str = "mnist-10k",
    data_dir: Optional[Union[str, os.PathLike]] = None,
    train_samples: Optional[int] = None,
    test_samples: Optional[int] = None,
    return_weights: bool = False,
    save: Optional[Union[str, os.PathLike]] = None,
    threads: Optional[int] = None,
    overwrite: bool = False,
    progress: ProgressArg = None,
) -> TrainResult:
    """One training run of the paper's protocol (the ``train`` preset's fields).

    By default res1 blocks ``h + L^-beta (V relu(h) + b)``, Adam with ``StepLR``, mini-batches
    reshuffled every epoch, test metrics after every epoch; bitwise the same metrics as
    ``depthscale train`` with the same fields.

    Parameters
    ----------
    depth, width, beta, lr, epochs, batch_size, lr_step, lr_gamma, init_v, seed
        As in the ``train`` preset (``depthscale show train``); defaults: the paper's.
    gradient : str, default "backprop"
        ``backprop``, ``checkpoint`` (states every ``sqrt(L)`` layers: the same metrics bit
        for bit) or ``adjoint`` (the adjoint method: activation memory independent of depth).
    optimizer : {"adam", "sgd"}
        The optimizer (``momentum`` in ``[0, 1)`` for SGD, 0 with Adam; ``adam_eps`` Adam's
        denominator offset).
    block : {"res1", "res3"}
        ``res1``: ``h + a (V act(h) + b)``; ``res3``: ``h + a (V act(W h) + b)`` (``W`` trained
        too, drawn from ``init_w``).
    activation : str
        ``relu``, ``tanh``, ``sigmoid``, ``identity``, ``gelu``, ``leaky_relu(SLOPE)``.
    bias : bool
        Whether the block has a bias ``b``.
    init_w : str
        Law of ``W`` over depth (``res3``), as ``init_v``.
    dataset : str
        ``mnist-10k`` (bundled), ``mnist``, ``fashion-mnist`` or ``cifar10``.
    data_dir : str or path-like, optional
        Directory (or CIFAR-10 archive) of a dataset other than ``mnist-10k``.
    train_samples, test_samples : int, optional
        Use only the first ``n`` training / test images.
    return_weights : bool, default False
        Also return the networks before and after training as NumPy arrays.
    save : str or path-like, optional
        Write the trained network to this safetensors file. A path holding anything but a
        regular file (a symbolic link, directory, FIFO, device) is refused, before training.
    overwrite : bool, default False
        Replace an existing regular file at ``save`` (refused otherwise, before training).
    threads : int, optional
        Worker threads.
    progress : None, bool or callable
        Progress reports (see :data:`ProgressArg`).

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        A bad field (named in the message), or a ``save`` path that may not be written.
    TooLargeError
        A network or a run needing more memory than the machine has.
    OSError
        A dataset file that cannot be read, or a checkpoint that cannot be written.
    """
    config: Dict[str, Any] = {
        "depth": depth,
        "width": width,
        "beta": beta,
        "lr": lr,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr_step": lr_step,
        "lr_gamma": lr_gamma,
        "init_v": init_v,
        "seed": seed,
        "gradient": gradient,
        "optimizer": optimizer,
        "momentum": momentum,
        "adam_eps": adam_eps,
        "block": block,
        "activation": activation,
        "bias": bias,
        "init_w": init_w,
        "dataset": dataset,
        "data_dir": None if data_dir is None else os.fspath(data_dir),
        "train_samples": train_samples,
        "test_samples": test_samples,
    }
    with _Reporter(progress) as rep:
        out = _core.train(
            config,
            save=None if save is None else os.fspath(save),
            threads=threads,
            overwrite=bool(overwrite),
            progress=rep.callback,
        )
    metrics = {k: out[k] for k in ("epoch", "lr", "train_loss", "test_loss", "test_accuracy", "seconds")}
    return TrainResult(
        metrics=as_frame(metrics),
        diverged=bool(out["diverged"]),
        dataset=out["dataset"],
        alpha=float(out["alpha"]),
        weights=out["trained"] if return_weights else None,
        initial_weights=out["initial"] if return_weights else None,
        checkpoint=None if out["checkpoint"] is None else Path(out["checkpoint"]),
    )


def ode_net(
    n_in: int,
    width: int,
    n_out: int,
    *,
    layers: Optional[int] = None,
    beta: float = 1.0,
    bandwidth: float = 0.5,
    inner: bool = True,
    activation: str = "tanh",
    seed: int = 0,
) -> Dict[str, Any]:
    """A random continuous-depth net ``x -> h(0) = embed x``, ``dh/dt = V(t) act(W(t) h)`` on
    ``[0, 1]``, logits ``readout h(1)``, as a dict for :func:`adjoint_gradients`.

    Parameters
    ----------
    n_in, width, n_out : int
        Input dimension, state dimension ``d``, number of classes.
    layers : int, optional
        ``None``: smooth weights (RBF Gaussian processes of ``bandwidth``, entries of variance
        ``1/d``) as Fourier series, keys ``v_cos``, ``v_sin`` ``(terms, d, d)`` and ``v_omega``
        ``(terms,)`` (and ``w_...``), ``V(t) = sum_b cos(v_omega[b] t) v_cos[b] +
        sin(v_omega[b] t) v_sin[b]``. An integer ``L``: i.i.d. piecewise-constant weights
        ``v``, ``w`` ``(L, d, d)``, the depth-``L`` ResNet at residual exponent ``beta`` under
        ``L`` Euler steps.
    inner : bool, default True
        Whether the field has ``W(t)`` (else ``W = I``).
    activation : str, default "tanh"
        Stored under ``"activation"``.
    seed : int
        The draw.

    Returns
    -------
    dict
        ``embed (d, n_in)``, ``readout (n_out, d)``, the path's arrays (above), ``activation``.
    """
    net = _core.ode_net(
        _count("n_in", n_in),
        _count("width", width),
        _count("n_out", n_out),
        None if layers is None else _count("layers", layers),
        float(beta),
        float(bandwidth),
        bool(inner),
        str(activation),
        _count("seed", seed),
    )
    net["activation"] = str(activation)
    return net


_GRADIENT_METHODS = ("backprop", "checkpoint", "adjoint")


def adjoint_gradients(
    net: Mapping[str, Any],
    x: Any,
    labels: Any,
    *,
    scheme: str = "euler",
    steps: Optional[int] = None,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    methods: Sequence[str] = _GRADIENT_METHODS,
) -> Dict[str, Dict[str, Any]]:
    """The mean cross-entropy of a continuous-depth net on one batch and its gradient three
    ways, as NumPy arrays.

    ``backprop`` is the exact gradient of the discretized network (``scheme`` on ``steps``
    uniform steps, every state kept); ``checkpoint`` is the same gradient, bit for bit, from
    states kept every ``ceil(sqrt(steps))`` steps; ``adjoint`` solves the augmented system
    backwards from ``t = 1``, reconstructing ``h`` backwards (two states whatever
    ``steps``): it converges to the others at the scheme's order as ``steps`` grows on smooth
    weights. With ``rtol`` and ``atol``, ``adjoint`` uses adaptive Dormand-Prince 5(4) steps
    (torchdiffeq's ``odeint_adjoint``, diffrax's ``BacksolveAdjoint``) instead.

    Parameters
    ----------
    net : dict
        As :func:`ode_net` returns: ``embed``, ``readout``, and ``v`` (``w``) or ``v_cos``,
        ``v_sin``, ``v_omega`` (``w_...``); ``activation`` (default ``tanh``).
    x : array_like, shape (n, n_in)
        The batch.
    labels : array_like of int, shape (n,)
        Classes in ``0..n_out``.
    scheme : str, default "euler"
        ``euler``, ``heun``, ``rk4`` or ``dopri5`` (fixed steps).
    steps : int, optional
        Number of uniform steps; needed by every fixed-step method.
    rtol, atol : float, optional
        Both or neither: the tolerances of the adaptive adjoint.
    methods : sequence of str
        Any of ``backprop``, ``checkpoint``, ``adjoint``.

    Returns
    -------
    dict
        ``{method: {"loss": float, "embed": ..., "readout": ..., <path arrays>: ...,
        "peak_states": int, "h0_error": float}}``: the gradient has the keys and shapes of
        ``net``'s parameters; ``peak_states`` is the most ``(n, d)`` states held at once,
        ``h0_error`` the relative error of the adjoint's backward reconstruction of ``h(0)``
        (0 for the others); the adaptive adjoint adds ``forward_steps`` and
        ``backward_steps``.

    Raises
    ------
    ValueError
        A missing or misshapen tensor, a label out of range, an unknown method or scheme,
        a fixed-step method without ``steps``.

    Examples
    --------
    >>> net = depthscale.ode_net(4, 3, 2, seed=1)
    >>> g = depthscale.adjoint_gradients(net, np.ones((5, 4)), [0, 1, 0, 1, 1], steps=64)
    >>> sorted(g)
    ['adjoint', 'backprop', 'checkpoint']
    """
    methods = list(methods)
    for m in methods:
        if m not in _GRADIENT_METHODS:
            raise ValueError(
                f"invalid `methods`: unknown method {m!r}; accepted: backprop, checkpoint, adjoint"
            )
    tensors = {
        k: np.ascontiguousarray(v, dtype=np.float64)
        for k, v in net.items()
        if k != "activation"
    }
    activation = str(net.get("activation", "tanh"))
    xs = _f64("x", x, 2)
    ys = np.ascontiguousarray(labels, dtype=np.int64)
    if ys.ndim != 1:
        raise ValueError(f"invalid `labels`: expected a 1-d array, got shape {ys.shape}")
    return _core.ode_gradients(
        tensors,
        xs,
        ys,
        methods,
        activation=activation,
        scheme=str(scheme),
        steps=None if steps is None else _count("steps", steps),
        rtol=None if rtol is None else float(rtol),
        atol=None if atol is None else float(atol),
    )


def ode_trajectory(
    net: Mapping[str, Any],
    x0: Any,
    times: Any,
    values: Any = None,
    *,
    gradient: Optional[str] = None,
    scheme: str = "euler",
    max_dt: float = 0.01,
) -> Dict[str, Any]:
    """One trajectory of a continuous-depth net observed at irregular times (a direct neural-ODE
    fit of a time series, Chen et al. 2018 Section 5), and the gradient of its squared error.

    ``h(0) = embed x0``, ``dh/dt = V(t) act(W(t) h)``, observed as ``readout h(t_i)``; the solve
    steps from one time to the next in the fewest equal steps of at most ``max_dt``. Times may
    go beyond 1 (extrapolation): the weights are evaluated there, a piecewise net keeps its
    last layer.

    Parameters
    ----------
    net : dict
        As for :func:`adjoint_gradients`.
    x0 : array_like, shape (n_in,)
        The input of ``h(0)``.
    times : array_like, shape (T,)
        Non-decreasing times ``>= 0``.
    values : array_like, shape (T, n_out), optional
        Observations; needed with ``gradient``.
    gradient : str, optional
        ``backprop`` (exact for the discretization) or ``adjoint`` (the adjoint method, the
        adjoint jumping by ``dloss/dh(t_i)`` at each observation).
    scheme : str, default "euler"
    max_dt : float, default 0.01

    Returns
    -------
    dict
        ``loss`` (mean squared error over times and coordinates; 0 meaningless without
        ``values``), ``predictions (T, n_out)``, and with ``gradient`` the gradient under the
        net's keys.
    """
    tensors = {
        k: np.ascontiguousarray(v, dtype=np.float64)
        for k, v in net.items()
        if k != "activation"
    }
    return _core.ode_series(
        tensors,
        _f64("x0", x0, 1),
        _f64("times", times, 1),
        None if values is None else _f64("values", values, 2),
        method=None if gradient is None else str(gradient),
        activation=str(net.get("activation", "tanh")),
        scheme=str(scheme),
        max_dt=float(max_dt),
    )
