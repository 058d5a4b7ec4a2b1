# SPDX-License-Identifier: BSD-3-Clause
"""NoisyLabelClassifier: accuracy under label noise and the cost of ELR per epoch.

Run ``python benchmarks/bench_network.py [--quick] [--device cuda]``. Prints
markdown tables and writes them to ``benchmarks/results/network_<device>.md``.

1. digits at 0/20/40/60 % symmetric noise, several splits, clean test labels:
   ``loss="elr"`` (default settings) against ``"ce"``, ``"gce"`` and ``"sce"``
   with the same module and epochs;
2. epoch time of ``loss="elr"`` against a plain skorch
   ``NeuralNetClassifier`` with ``CrossEntropyLoss`` on the same module, data
   and batch size, measured in the same run (median of skorch's ``dur``);
3. epoch time on a sparse bag-of-words matrix (CSR, made dense a batch at a
   time) against the same rows as a dense array.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier

from sklearn_elr import NoisyLabelClassifier, make_symmetric_noise
from sklearn_elr.neural import MLP


def bench_digits(seeds, device):
    X, y = load_digits(return_X_y=True)
    losses = ("elr", "ce", "gce", "sce")
    rows = []
    for rate in (0.0, 0.2, 0.4, 0.6):
        acc = {loss: [] for loss in losses}
        for seed in seeds:
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=0.3, stratify=y, random_state=seed
            )
            y_noisy, _ = make_symmetric_noise(y_tr, rate, random_state=seed)
            for loss in losses:
                net = NoisyLabelClassifier(loss=loss, random_state=seed, device=device)
                model = make_pipeline(StandardScaler(), net).fit(X_tr, y_noisy)
                acc[loss].append(model.score(X_te, y_te))
        cells = " | ".join(f"{np.mean(acc[loss]):.3f}" for loss in losses)
        rows.append(f"| {rate:.0%} | {cells} | {np.min(acc['elr']):.3f} |")
    header = (
        f"Digits, 70/30 split, mean over {len(seeds)} splits, clean test labels; "
        f"default MLP, 60 epochs, Adam 1e-3, batch 128, device {device}.\n\n"
        "| noise | ELR | CE | GCE | SCE | ELR min |\n|---|---|---|---|---|---|"
    )
    return "\n".join([header, *rows])


def _median_epoch(net):
    return float(np.median(net.history[:, "dur"][1:]))  # epoch 1 warms caches


def bench_epoch_time(n_samples, epochs, device):
    X, y = make_classification(n_samples, 100, n_informative=40, n_classes=10, random_state=0)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    common = dict(
        max_epochs=epochs, batch_size=128, lr=1e-3, optimizer=torch.optim.Adam,
        train_split=None, iterator_train__shuffle=True, device=device, verbose=0,
    )  # fmt: skip
    module = dict(module__n_features=100, module__n_classes=10)
    results = {"plain": [], "ce": [], "elr": []}
    # Interleave the three, three rounds each, so drifts hit all alike.
    for _ in range(3):
        for loss in ("elr", "ce"):
            net = NoisyLabelClassifier(**common, loss=loss, lam=3.0, random_state=0).fit(X, y)
            results[loss].append(_median_epoch(net))
        plain = NeuralNetClassifier(
            MLP, criterion=torch.nn.CrossEntropyLoss, **common, **module
        ).fit(X, y)
        results["plain"].append(_median_epoch(plain))
    best = {name: min(times) for name, times in results.items()}
    return (
        f"Epoch time, {n_samples} x 100, 10 classes, default MLP (256, 256), batch 128, "
        f"device {device}; best of 3 medians. NoisyLabelClassifier fetches each "
        "batch with one gather (skorch indexes row by row), so its own `loss='ce'` "
        "column isolates the cost of the ELR term.\n\n"
        "| plain skorch CE s/epoch | ours, loss='ce' | ours, loss='elr' | "
        "ELR / plain skorch | ELR / ours CE |\n|---|---|---|---|---|\n"
        f"| {best['plain']:.4f} | {best['ce']:.4f} | {best['elr']:.4f} | "
        f"{best['elr'] / best['plain']:.3f} | {best['elr'] / best['ce']:.3f} |"
    )


def bench_sparse_epoch(n_samples, n_terms, epochs, device):
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    X = sp.random(n_samples, n_terms, density=0.01, format="csr", dtype=np.float32, random_state=0)
    y = rng.integers(0, 5, n_samples)
    dense = X.toarray()
    common = dict(max_epochs=epochs, lam=3.0, random_state=0, device=device)
    results = {"sparse": [], "dense": []}
    for _ in range(3):  # interleaved, as above
        results["sparse"].append(_median_epoch(NoisyLabelClassifier(**common).fit(X, y)))
        results["dense"].append(_median_epoch(NoisyLabelClassifier(**common).fit(dense, y)))
    best = {name: min(times) for name, times in results.items()}
    return (
        f"Sparse input: epoch time on {n_samples} x {n_terms} (1 % nonzero, CSR), "
        f"loss='elr', default MLP, device {device}; best of 3 medians, against the same "
        f"rows as a dense array ({dense.nbytes / 2**20:.0f} MiB).\n\n"
        "| CSR s/epoch | dense s/epoch | CSR / dense |\n|---|---|---|\n"
        f"| {best['sparse']:.4f} | {best['dense']:.4f} | {best['sparse'] / best['dense']:.2f} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    seeds = range(2) if args.quick else range(5)
    digits = bench_digits(seeds, args.device)
    epoch = bench_epoch_time(5_000 if args.quick else 50_000, 6, args.device)
    sparse = bench_sparse_epoch(2_000 if args.quick else 20_000, 5_000, 4, args.device)
    report = "\n\n".join(["# NoisyLabelClassifier benchmark", digits, epoch, sparse]) + "\n"
    print(report)
    if not args.quick:
        out = Path(__file__).parent / "results" / f"network_{args.device}.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text(report)


if __name__ == "__main__":
    main()
