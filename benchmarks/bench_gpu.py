# SPDX-License-Identifier: BSD-3-Clause
"""Training speed of the networks against plain skorch and plain PyTorch, one device.

Run ``python benchmarks/bench_gpu.py [--device cuda|cpu]`` (default: CUDA when
available). Prints markdown and writes ``benchmarks/results/gpu_<device>.md``.
Everything is measured side by side in one run and reported as rows per
second over an epoch (median of epochs 2 and 3; epoch 1 warms up) and as
ratios:

1. the default MLP (100-256-256-10, dropout 0.2, Adam 1e-3) at batch 128,
   1024 and 8192: this library's ELR (``lam=3``), the same with
   ``data_on_device=False`` (the DataLoader path), ``loss="ce"`` and ELR+,
   against plain skorch (CE, same architecture) and a plain PyTorch loop with
   the data on the device (CE and ELR, eager; on CUDA also the whole step in
   one CUDA graph);
2. host synchronisations per epoch of this library's ELR (CUDA only,
   ``torch.cuda.set_sync_debug_mode("warn")``), at two batch sizes: zero per
   batch means the count does not grow with the number of batches;
3. a small CNN (4 conv + BatchNorm) on 3x32x32 images: ELR against CE.

On a CPU the absolute numbers mean little (one thread, as the estimators use
for small networks); the ratios still show the host overhead of each path.
About 3 minutes on one H200 and on a 2-core CPU.
"""

import argparse
import platform
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier

from sklearn_elr import ELRPlusClassifier, NoisyLabelClassifier

N_FEATURES, N_CLASSES, EPOCHS = 100, 10, 3
RESULTS = Path(__file__).parent / "results"


def _mlp():
    """The default MLP's architecture as a plain torch module."""
    return torch.nn.Sequential(
        torch.nn.Linear(N_FEATURES, 256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(256, N_CLASSES),
    )  # fmt: skip


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    y = (X[:, :N_CLASSES] + rng.normal(size=(n, N_CLASSES))).argmax(axis=1)
    return X, y


def _rows_per_s(net, n):
    return n / float(np.median(net.history[:, "dur"][1:]))


def library(cls, X, y, batch, device, **params):
    net = cls(max_epochs=EPOCHS, batch_size=batch, device=device, random_state=0, **params).fit(
        X, y
    )
    return _rows_per_s(net, len(X))


def plain_skorch(X, y, batch, device):
    net = NeuralNetClassifier(
        _mlp, criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=1e-3,
        max_epochs=EPOCHS, batch_size=batch, train_split=None, device=device,
        iterator_train__shuffle=True, verbose=0,
    ).fit(X, y)  # fmt: skip
    return _rows_per_s(net, len(X))


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _elr_loss(logits, y, targets, idx, lam=3.0, beta=0.7):
    """ELR in a few lines, as a PyTorch user would write it."""
    log_probs = F.log_softmax(logits, dim=1)
    probs = log_probs.exp()
    with torch.no_grad():
        clipped = probs.clamp(1e-4, 1 - 1e-4)
        rows = beta * targets.index_select(0, idx) + (1 - beta) * clipped / clipped.sum(
            1, keepdim=True
        )
        targets.index_copy_(0, idx, rows)
    penalty = torch.log1p(-(probs.clamp(1e-4, 1 - 1e-4) * rows).sum(1))
    return F.nll_loss(log_probs, y) + lam * penalty.mean()


def plain_loop(X, y, batch, device, elr, graph=False):
    """A plain PyTorch training loop with the data on the device; rows/s.

    ``graph=True`` (CUDA) captures the whole step (gather, forward, loss,
    target update, backward, Adam) in one CUDA graph, replayed per batch;
    the epoch then uses full batches only.
    """
    torch.manual_seed(0)
    model = _mlp().to(device)
    Xd, yd = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    targets = torch.zeros(len(X), N_CLASSES, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=graph)

    def step(idx):
        logits = model(Xd.index_select(0, idx))
        labels = yd.index_select(0, idx)
        return _elr_loss(logits, labels, targets, idx) if elr else F.cross_entropy(logits, labels)

    n_full = len(X) // batch * batch
    if graph:
        static_idx = torch.arange(batch, device=device)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up before capture
            for _ in range(3):
                opt.zero_grad(set_to_none=True)
                step(static_idx).backward()
                opt.step()
        torch.cuda.current_stream().wait_stream(side)
        cuda_graph = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(cuda_graph):
            static_loss = step(static_idx)
            static_loss.backward()
            opt.step()
    times = []
    for _ in range(EPOCHS):
        _sync(device)
        start = time.perf_counter()
        order = torch.randperm(len(X), device=device)
        if graph:
            for s in range(0, n_full, batch):
                static_idx.copy_(order[s : s + batch])
                cuda_graph.replay()
        else:
            for s in range(0, len(X), batch):
                opt.zero_grad(set_to_none=True)
                step(order[s : s + batch]).backward()
                opt.step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return (n_full if graph else len(X)) / float(np.median(times[1:]))


def syncs_per_epoch(X, y, batch, device):
    """Host synchronisations in one epoch of the library's ELR (CUDA)."""
    net = NoisyLabelClassifier(lam=3.0, max_epochs=1, batch_size=batch, device=device,
                               random_state=0).fit(X, y)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            net.partial_fit(X, y)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    sites = Counter(
        f"{Path(w.filename).name}:{w.lineno}" for w in caught if "synchroniz" in str(w.message)
    )
    return sum(sites.values()), -(-len(X) // batch), dict(sites)


class SmallCNN(torch.nn.Module):
    """4 conv + BatchNorm layers, two poolings, a linear head."""

    def __init__(self, n_classes=N_CLASSES):
        super().__init__()

        def block(c_in, c_out):
            return [torch.nn.Conv2d(c_in, c_out, 3, padding=1), torch.nn.BatchNorm2d(c_out),
                    torch.nn.ReLU()]  # fmt: skip

        self.layers = torch.nn.Sequential(
            *block(3, 32), *block(32, 32), torch.nn.MaxPool2d(2),
            *block(32, 64), *block(64, 64), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(64 * 8 * 8, n_classes),
        )  # fmt: skip

    def forward(self, X):
        return self.layers(X)


def _fmt(value):
    return f"{value:,.0f}" if isinstance(value, float) else str(value)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    threads = torch.get_num_threads()
    if not cuda:
        torch.set_num_threads(1)  # what the estimators use for small networks
    name = (
        torch.cuda.get_device_name(device)
        if cuda
        else f"CPU ({platform.processor() or 'x86'}), 1 thread"
    )
    lines = [
        f"# Network training speed, {name}\n",
        f"torch {torch.__version__}; rows per second over an epoch (median of epochs 2-{EPOCHS}), "
        "default MLP 100-256-256-10, Adam 1e-3, ELR lam=3; one run, side by side.\n",
        "| batch | rows | ELR | ELR, eager step | ELR, DataLoader path | CE | ELR+ "
        "| plain skorch CE | plain loop CE | plain loop ELR | CUDA graph CE | CUDA graph ELR "
        "| ELR/CE | ELR+/ELR |",
        "|---" * 14 + "|",
    ]
    sizes = (
        {128: 65_536, 1024: 262_144, 8192: 262_144}
        if cuda
        else {128: 8_192, 1024: 16_384, 8192: 16_384}
    )
    for batch, n in sizes.items():
        X, y = _data(n)
        r = {
            "elr": library(NoisyLabelClassifier, X, y, batch, device, lam=3.0),
            "elr_eager": library(
                NoisyLabelClassifier, X, y, batch, device, lam=3.0, cuda_graph=False
            ),  # fmt: skip
            "elr_loader": library(
                NoisyLabelClassifier, X, y, batch, device, lam=3.0, data_on_device=False
            ),  # fmt: skip
            "ce": library(NoisyLabelClassifier, X, y, batch, device, loss="ce"),
            "elr_plus": library(ELRPlusClassifier, X, y, batch, device, lam=3.0),
            "skorch": plain_skorch(X, y, batch, device),
            "loop_ce": plain_loop(X, y, batch, device, elr=False),
            "loop_elr": plain_loop(X, y, batch, device, elr=True),
        }
        for key, elr in (("graph_ce", False), ("graph_elr", True)):
            try:
                r[key] = plain_loop(X, y, batch, device, elr=elr, graph=True) if cuda else "n/a"
            except Exception as exc:  # report, do not lose the other numbers
                r[key] = f"failed ({type(exc).__name__})"
        cells = " | ".join(_fmt(r[k]) for k in r)
        lines.append(f"| {batch} | {n:,} | {cells} | {r['ce'] / r['elr']:.2f} | "
                     f"{r['elr'] / r['elr_plus']:.2f} |")  # fmt: skip
        print(lines[-1], flush=True)
    lines.append(
        "\nELR/CE and ELR+/ELR are time ratios (per epoch) of this library's estimators.\n"
    )

    if cuda:
        lines += [
            "| batch | batches per epoch | host synchronisations in the epoch |",
            "|---|---|---|",
        ]
        X, y = _data(65_536)
        for batch in (1024, 256):
            syncs, batches, sites = syncs_per_epoch(X, y, batch, device)
            lines.append(f"| {batch} | {batches} | {syncs} ({sites}) |")
        lines.append("")

    n_images = 20_000 if cuda else 1_000
    rng = np.random.default_rng(0)
    images = rng.normal(size=(n_images, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, N_CLASSES, n_images)
    cnn = {loss: library(NoisyLabelClassifier, images, labels, 128, device, module=SmallCNN,
                         loss=loss, lam=3.0)  # fmt: skip
           for loss in ("elr", "ce")}  # fmt: skip
    lines += [
        f"CNN (4 conv + BatchNorm), {n_images:,} images 3x32x32, batch 128: ELR "
        f"{cnn['elr']:,.0f} rows/s, CE {cnn['ce']:,.0f} rows/s, ELR/CE time {cnn['ce'] / cnn['elr']:.2f}.",
    ]
    torch.set_num_threads(threads)
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"gpu_{device.type}.md").write_text(text)


if __name__ == "__main__":
    main()
