"""numpy peer of `bench/compare.py` for the fBm weights (protocol in `bench/peers_common.py`):
Davies-Harte fractional Gaussian noise written as a numpy user would, vectorized over paths, the
circulant's eigenvalues computed once; each call draws one weight draw's two stacks
(2 x 40 x 40 paths of length 1000, H = 0.3, scaled by 1/sqrt(40)) into layer-major arrays
`[L, 40, 40]`, as depthscale's `Init::Fbm` writes them.

    python bench/peer_numpy.py DATA_DIR TAG
"""
import sys

import numpy as np

import peers_common as pc


def fgn_plan(n, hurst):
    """sqrt(lambda / m) of the circulant embedding (size m = 2n) of fGn's autocovariance."""
    k = np.arange(n + 1, dtype=np.float64)
    h2 = 2 * hurst
    g = 0.5 * (np.abs(k - 1) ** h2 - 2 * k**h2 + (k + 1) ** h2)
    c = np.concatenate([g, g[-2:0:-1]])
    lam = np.fft.fft(c).real
    return np.sqrt(np.maximum(lam, 0) / len(c))


def setup(name):
    if name != "fbm":
        return "not a numpy workload"
    n, d = pc.DEPTH, pc.PROBE_WIDTH
    sq = fgn_plan(n, pc.HURST)
    rng = np.random.default_rng(0)
    scale = 1 / np.sqrt(d)
    out = []

    def stack():
        z = rng.standard_normal((d * d // 2, 2 * len(sq))).view(np.complex128)
        w = np.fft.fft(sq * z, axis=1)[:, :n]
        paths = np.concatenate([w.real, w.imag]) * scale  # [d * d, n]: two paths per FFT
        return np.ascontiguousarray(paths.T).reshape(n, d, d)

    def call():
        out[:] = [stack(), stack()]

    return call, lambda: np.concatenate([a.ravel() for a in out])


if __name__ == "__main__":
    pc.serve(setup, sys.argv[2], sys.argv[1])
