"""Type stubs of the Rust extension ``depthscale._core`` (see ``src/lib.rs``)."""

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

KINDS: List[str]

class TooLargeError(MemoryError, ValueError): ...

def version() -> str: ...
def presets() -> List[Tuple[str, str]]: ...
def preset_toml(name: str) -> Optional[str]: ...
def read_toml(text: str) -> Dict[str, Any]: ...
def run(
    source: str,
    out: Optional[str] = None,
    quick: bool = False,
    set: Optional[Union[Mapping[str, Any], Sequence[str], str]] = None,
    threads: Optional[int] = None,
    force: bool = False,
    progress: Optional[Callable[[str, int, int, str], None]] = None,
) -> Tuple[str, str]: ...
def reproduce(
    out: str,
    quick: bool = False,
    only: Optional[Sequence[str]] = None,
    redo: Optional[Sequence[str]] = None,
    seed: Optional[int] = None,
    force: bool = False,
    dataset: Optional[str] = None,
    data_dir: Optional[str] = None,
    threads: Optional[int] = None,
    progress: Optional[Callable[[str, int, int, str], None]] = None,
) -> Tuple[str, str]: ...
def probe(
    config: Mapping[str, Any],
    threads: Optional[int] = None,
    progress: Optional[Callable[[str, int, int, str], None]] = None,
) -> Tuple[Dict[str, npt.NDArray[Any]], float]: ...
def weights(
    init: str, depth: int, rows: int, cols: int, seed: int
) -> npt.NDArray[np.float64]: ...
def fbm(n: int, hurst: float, paths: int, seed: int) -> npt.NDArray[np.float64]: ...
def train(
    config: Mapping[str, Any],
    save: Optional[str] = None,
    threads: Optional[int] = None,
    overwrite: bool = False,
    progress: Optional[Callable[[str, int, int, str], None]] = None,
) -> Dict[str, Any]: ...
def trajectory(
    v: npt.NDArray[np.float64],
    w: Optional[npt.NDArray[np.float64]],
    bias: Optional[npt.NDArray[np.float64]],
    embed: npt.NDArray[np.float64],
    readout: npt.NDArray[np.float64],
    activation: str,
    alpha: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
) -> Dict[str, npt.NDArray[np.float64]]: ...
def ode_net(
    n_in: int,
    width: int,
    n_out: int,
    layers: Optional[int] = None,
    beta: float = 1.0,
    bandwidth: float = 0.5,
    inner: bool = True,
    activation: str = "tanh",
    seed: int = 0,
) -> Dict[str, npt.NDArray[np.float64]]: ...
def ode_gradients(
    net: Mapping[str, npt.NDArray[np.float64]],
    x: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    methods: Sequence[str],
    activation: str = "tanh",
    scheme: str = "euler",
    steps: Optional[int] = None,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
) -> Dict[str, Dict[str, Any]]: ...
def ode_series(
    net: Mapping[str, npt.NDArray[np.float64]],
    x0: npt.NDArray[np.float64],
    times: npt.NDArray[np.float64],
    values: Optional[npt.NDArray[np.float64]],
    method: Optional[str] = None,
    activation: str = "tanh",
    scheme: str = "euler",
    max_dt: float = 0.01,
) -> Dict[str, Any]: ...
