# SPDX-License-Identifier: BSD-3-Clause
"""LinearELRClassifier vs LogisticRegression(lbfgs): accuracy and fit time.

Run ``python benchmarks/bench_linear.py [--quick]``. Prints markdown tables and
writes them to ``benchmarks/results/linear.md``. Everything is measured side by
side in one run; compare ratios, not absolute seconds.

1. digits at 0/20/40/60 % symmetric noise (the corrupted labels are drawn
   uniformly and may equal the true one), several splits, clean test labels;
2. a 200,000 x 200, 10-class synthetic set (float32), clean and 40 % noise;
3. one full-batch epoch against the floor of the two matrix products
   ``X @ W`` and ``X.T @ G``.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_elr import LinearELRClassifier, make_symmetric_noise
from sklearn_elr._linear_solver import fit_linear_elr


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def bench_digits(seeds):
    X, y = load_digits(return_X_y=True)
    rows = []
    for rate in (0.0, 0.2, 0.4, 0.6):
        acc = {"lr": [], "elr": []}
        fit_time = {"lr": [], "elr": []}
        for seed in seeds:
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=0.3, stratify=y, random_state=seed
            )
            y_noisy, _ = make_symmetric_noise(y_tr, rate, random_state=seed)
            models = {
                "lr": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                "elr": make_pipeline(StandardScaler(), LinearELRClassifier()),
            }
            for name, model in models.items():
                fit_time[name].append(timed_fit(model, X_tr, y_noisy))
                acc[name].append(model.score(X_te, y_te))
        rows.append(
            f"| {rate:.0%} | {np.mean(acc['lr']):.3f} | {np.mean(acc['elr']):.3f} "
            f"(min {np.min(acc['elr']):.3f}) | {np.mean(fit_time['lr']):.3f} | "
            f"{np.mean(fit_time['elr']):.3f} |"
        )
    header = (
        f"Digits, 70/30 stratified split, mean over {len(seeds)} splits, clean test labels.\n\n"
        "| noise | LogisticRegression acc | LinearELR acc | LR fit s | ELR fit s |\n"
        "|---|---|---|---|---|"
    )
    return "\n".join([header, *rows])


def bench_large(n_samples):
    X, y = make_classification(
        n_samples + 20_000, 200, n_informative=50, n_redundant=10, n_classes=10,
        n_clusters_per_class=1, class_sep=2.0, random_state=0,
    )  # fmt: skip
    X = X.astype(np.float32)
    X_tr, y_tr, X_te, y_te = X[:n_samples], y[:n_samples], X[n_samples:], y[n_samples:]
    rows = []
    for rate in (0.0, 0.4):
        y_noisy, _ = make_symmetric_noise(y_tr, rate, random_state=0)
        lr, elr = LogisticRegression(), LinearELRClassifier()
        t_lr, t_elr = timed_fit(lr, X_tr, y_noisy), timed_fit(elr, X_tr, y_noisy)
        rows.append(
            f"| {rate:.0%} | {lr.score(X_te, y_te):.3f} | {elr.score(X_te, y_te):.3f} | "
            f"{t_lr:.2f} ({lr.n_iter_[0]} it) | {t_elr:.2f} ({elr.n_iter_} ep) | "
            f"{t_elr / t_lr:.2f} |"
        )
    header = (
        f"Synthetic {n_samples} x 200 float32, 10 classes, clean test labels.\n\n"
        "| noise | LR acc | ELR acc | LR fit s | ELR fit s | ELR/LR time |\n"
        "|---|---|---|---|---|---|"
    )
    return "\n".join([header, *rows]), X_tr, y_tr


def bench_epoch(X, y, repeats=5, epochs=6):
    """Epoch time through the solver vs the bare products ``X @ W``, ``X.T @ G``.

    Epochs are timed by the solver's callback, so the per-fit setup (feature
    moments) is excluded. Full batch is the two products plus cache-resident
    elementwise work; the default ``batch_size="auto"`` (4096 rows here) also
    gathers the shuffled rows of every batch.
    """
    n_classes = 10
    W = np.zeros((X.shape[1], n_classes), dtype=X.dtype)
    G = np.zeros((X.shape[0], n_classes), dtype=X.dtype)
    weight = np.full(X.shape[0], 1 / X.shape[0], dtype=X.dtype)
    times = {"floor": [], "full batch": [], "auto (4096 rows)": []}
    for _ in range(repeats):
        start = time.perf_counter()
        X @ W
        X.T @ G
        times["floor"].append(time.perf_counter() - start)
    for name, batch_size in [("full batch", None), ("auto (4096 rows)", 4096)]:
        stamps = []
        fit_linear_elr(
            X, y, weight, np.zeros_like(W), np.zeros(n_classes, dtype=X.dtype),
            np.zeros_like(G), lams=[3.0], beta=0.7, alpha=1e-2, fit_intercept=True,
            solver="adam", learning_rate=0.01, batch_size=batch_size,
            max_iter=epochs, tol=None, n_iter_no_change=10,
            rng=np.random.RandomState(0),
            callback=lambda *args, stamps=stamps: stamps.append(time.perf_counter()),
        )  # fmt: skip
        times[name] = np.diff(stamps).tolist()
    best = {name: min(t) for name, t in times.items()}
    rows = [f"| {name} | {t * 1e3:.1f} | {t / best['floor']:.2f} |" for name, t in best.items()]
    return "\n".join(
        [
            f"One epoch vs the two-product floor (best of {repeats}).\n",
            "| epoch | ms | ratio to floor |",
            "|---|---|---|",
            *rows,
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI smoke runs")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    seeds = range(2) if args.quick else range(5)
    n_samples = 20_000 if args.quick else 200_000
    digits = bench_digits(seeds)
    large, X, y = bench_large(n_samples)
    epoch = bench_epoch(X, y)
    report = "\n\n".join(["# LinearELRClassifier benchmark", digits, large, epoch]) + "\n"
    print(report)
    if not args.quick:
        out = Path(__file__).parent / "results" / "linear.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text(report)


if __name__ == "__main__":
    main()
