"""Figure 1 of Marion et al. (2025) from Python: h_diff = ||h_L - h_0|| / ||h_0|| against depth
for beta in {0.25, 0.5, 1}, res3 with i.i.d. uniform weights, with the closed form of its
root-mean-square, sqrt((1 + L^-2beta / 2)^L - 1).

    pip install ./crates/depthscale-py matplotlib pandas
    python examples/fig1.py            # the paper's size (50 draws, 10 depths): 13 s measured on 2 shared cores
    python examples/fig1.py --quick    # 10 draws, 4 depths: 7 s
Writes fig1-python.png next to where it is run.
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import depthscale

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="fewer draws and depths")
parser.add_argument("--out", default="fig1-python.png")
args = parser.parse_args()

depths = [10, 340, 670, 1000] if args.quick else list(np.linspace(10, 1000, 10).astype(int))
betas = [0.25, 0.5, 1.0]
r = depthscale.probe(
    model="res3", width=40, depth=depths, beta=betas, draws=10 if args.quick else 50, samples=1
)
df = pd.DataFrame(r)
cells = df.groupby(["beta", "depth"]).h_diff.agg(["mean", "std", "count"]).reset_index()

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for ax, beta in zip(axes, betas):
    c = cells[cells.beta == beta]
    band = 1.96 * c["std"] / np.sqrt(c["count"])
    ax.plot(c.depth, c["mean"], "o-", label="mean over draws")
    ax.fill_between(c.depth, c["mean"] - band, c["mean"] + band, alpha=0.3, label="95% band")
    L = np.linspace(10, 1000, 200)
    ax.plot(L, np.sqrt((1 + L ** (-2 * beta) / 2) ** L - 1), "k--", label="closed form (rms)")
    ax.set(title=f"beta = {beta}", xlabel="depth L", ylabel="||h_L - h_0|| / ||h_0||", yscale="log")
    ax.legend(fontsize=8)
fig.suptitle("Figure 1 from Python: res3, d = 40, i.i.d. uniform weights")
fig.tight_layout()
fig.savefig(args.out, dpi=120)
print(cells.to_string(index=False))
print(f"wrote {args.out}")
