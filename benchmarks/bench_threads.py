# SPDX-License-Identifier: BSD-3-Clause
"""Torch threads under a parallel search: oversubscription, measured.

Run ``python benchmarks/bench_threads.py``; prints a table (no file): two
network fits at once through joblib's threading backend (what a Dask worker
with two threads does), with torch using every core per fit vs one thread,
side by side in one run. Process-based joblib workers (loky, the default for
``n_jobs``) already set ``OMP_NUM_THREADS`` so torch uses one thread each.
"""

import time

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.datasets import make_classification

from sklearn_elr import NoisyLabelClassifier


def _two_fits(X, y):
    def fit(seed):
        return NoisyLabelClassifier(lam=3.0, max_epochs=2, random_state=seed).fit(X, y)

    start = time.perf_counter()
    Parallel(n_jobs=2, backend="threading")(delayed(fit)(s) for s in range(2))
    return time.perf_counter() - start


def main():
    X, y = make_classification(50_000, 50, n_informative=20, n_classes=5, random_state=0)
    X = X.astype(np.float32)
    cores = torch.get_num_threads()
    times = {cores: [], 1: []}
    for _ in range(2):  # interleaved rounds
        for threads in times:
            torch.set_num_threads(threads)
            times[threads].append(_two_fits(X, y))
    torch.set_num_threads(cores)
    best = {threads: min(t) for threads, t in times.items()}
    print(
        f"Two concurrent fits (threading), 50,000 x 50, 2 epochs, {cores} cores; best of 2.\n\n"
        "| torch threads per fit | wall s | ratio to 1 thread |\n|---|---|---|\n"
        + "\n".join(f"| {t} | {s:.2f} | {s / best[1]:.2f} |" for t, s in best.items())
    )


if __name__ == "__main__":
    main()
