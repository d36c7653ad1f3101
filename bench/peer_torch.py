"""PyTorch peer of `bench/compare.py` (protocol in `bench/peers_common.py`), written as a PyTorch
user would: `nn.Module`s with an `nn.ModuleList` of blocks, eager mode, batched inputs, autograd,
`torch.optim.Adam`; optionally `torch.compile` of the same modules (workloads `probe1_compiled`,
`train_compiled`; their first call, the compilation, is reported apart).

    python bench/peer_torch.py DATA_DIR TAG THREADS
"""
import sys

import numpy as np
import torch
from torch import nn

import peers_common as pc

DATA, TAG, THREADS = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(THREADS)


class Res3Block(nn.Module):
    """h + alpha V relu(W h)."""

    def __init__(self, d, alpha):
        super().__init__()
        self.w = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.alpha = alpha

    def forward(self, h):
        return h + self.alpha * self.v(torch.relu(self.w(h)))


class Res3(nn.Module):
    def __init__(self, net):
        super().__init__()
        d = pc.PROBE_WIDTH
        self.embed = nn.Linear(pc.PROBE_IN, d, bias=False)
        self.layers = nn.ModuleList(Res3Block(d, pc.ALPHA) for _ in range(pc.DEPTH))
        self.readout = nn.Linear(d, 1, bias=False)
        self.double()
        with torch.no_grad():
            self.embed.weight.copy_(torch.from_numpy(net["embed"]))
            self.readout.weight.copy_(torch.from_numpy(net["readout"]))
            for k, block in enumerate(self.layers):
                block.v.weight.copy_(torch.from_numpy(net["v"][k]))
                block.w.weight.copy_(torch.from_numpy(net["w"][k]))
        self.requires_grad_(False)  # the probe back-propagates to the hidden states only

    def stack(self, h):
        for block in self.layers:
            h = block(h)
        return h


def probe(model, stack, x, y):
    """The probe of each row of x: loss sum ||B h_L - y||^2, gradients at h_0 and h_L."""
    h0 = model.embed(x).requires_grad_(True)
    hL = stack(h0)
    loss = ((model.readout(hL)[:, 0] - y) ** 2).sum()
    p0, pL = torch.autograd.grad(loss, (h0, hL))
    return h0.detach(), hL.detach(), p0, pL


class Res1Block(nn.Module):
    """h + alpha (V relu(h) + b)."""

    def __init__(self, d, alpha):
        super().__init__()
        self.v = nn.Linear(d, d)
        self.alpha = alpha

    def forward(self, h):
        return h + self.alpha * self.v(torch.relu(h))


class Res1(nn.Module):
    def __init__(self, params):
        super().__init__()
        d = pc.TRAIN_WIDTH
        self.embed = nn.Linear(pc.TRAIN_IN, d, bias=False)
        self.layers = nn.ModuleList(Res1Block(d, pc.ALPHA) for _ in range(pc.DEPTH))
        self.readout = nn.Linear(d, pc.CLASSES, bias=False)
        with torch.no_grad():
            self.embed.weight.copy_(torch.from_numpy(params["embed"]))
            self.readout.weight.copy_(torch.from_numpy(params["readout"]))
            for k, block in enumerate(self.layers):
                block.v.weight.copy_(torch.from_numpy(params["v"][k]))
                block.v.bias.zero_()

    def forward(self, x):
        h = self.embed(x)
        for block in self.layers:
            h = block(h)
        return self.readout(h)

    def flat(self, key):
        if key in ("embed", "readout"):
            return getattr(self, key).weight.detach().numpy().ravel()
        attr = "weight" if key == "v" else "bias"
        return np.concatenate([getattr(b.v, attr).detach().numpy().ravel() for b in self.layers])


def setup(name):
    compiled = name.endswith("_compiled")
    base = name.removesuffix("_compiled")
    if base in ("probe1", "probe700", "probe2x700"):
        x, y = (torch.from_numpy(a) for a in pc.probe_inputs(DATA))
        models = [Res3(pc.probe_net(DATA, b)) for b in range(2 if base == "probe2x700" else 1)]
        n = 1 if base == "probe1" else pc.COLUMNS
        x, y = x[:n], y[:n]
        stacks = [torch.compile(m.stack) if compiled else m.stack for m in models]

        def call():
            return [probe(m, s, x, y) for m, s in zip(models, stacks)]

        return call, lambda: np.concatenate([pc.measures(*r) for r in call()])
    if base == "train":
        params, images, labels = pc.train_data(DATA)
        x, lab = torch.from_numpy(images), torch.from_numpy(labels)

        def trainer():
            model = Res1(params)
            opt = torch.optim.Adam(model.parameters(), lr=pc.LR, eps=1e-8)
            fwd = torch.compile(model) if compiled else model

            def step():
                opt.zero_grad()
                loss = nn.functional.cross_entropy(fwd(x), lab)
                loss.backward()
                opt.step()
                return loss.item()

            return model, step

        _, call = trainer()

        def check():
            model, step = trainer()
            before = {k: model.flat(k).astype(np.float64) for k in pc.TRAIN_KEYS}
            losses = [step() for _ in range(3)]
            return np.concatenate([losses] + [model.flat(k) - before[k] for k in pc.TRAIN_KEYS])

        return call, (None if compiled else check)
    return "not run in PyTorch (no batched multi-network training in eager mode)"


if __name__ == "__main__":
    pc.serve(setup, TAG, DATA)
