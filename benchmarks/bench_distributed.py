# SPDX-License-Identifier: BSD-3-Clause
"""One network fit on 2 gloo processes against one process: accuracy and time.

Run ``python benchmarks/bench_distributed.py [--seeds 3]``. Digits, 70/30
split, 40 % symmetric noise on the training labels, clean test labels;
``NoisyLabelClassifier(lam=3, max_epochs=60)`` (default MLP) fitted in this
process and with :func:`sklearn_elr.distributed.fit_distributed` on 2 CPU
processes, same seed. Writes ``benchmarks/results/distributed.md``. On a
2-core machine the two ranks share the cores, so the time says what the
communication costs, not what more machines gain.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_elr import NoisyLabelClassifier, make_symmetric_noise
from sklearn_elr.distributed import fit_distributed

RESULTS = Path(__file__).parent / "results"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    rows = []
    for seed in range(args.seeds):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        y_noisy, _ = make_symmetric_noise(y_tr, 0.4, random_state=seed)
        net = NoisyLabelClassifier(lam=3.0, random_state=seed)
        start = time.perf_counter()
        one = net.fit(X_tr, y_noisy).score(X_te, y_te)
        one_s = time.perf_counter() - start
        start = time.perf_counter()
        two = fit_distributed(net, X_tr, y_noisy, n_processes=2).score(X_te, y_te)
        two_s = time.perf_counter() - start
        rows.append((seed, one, two, one_s, two_s))
        print(rows[-1], flush=True)
    one, two = np.mean([r[1] for r in rows]), np.mean([r[2] for r in rows])
    lines = [
        "# One network fit on 2 gloo processes against one process\n",
        "Digits 70/30, 40 % symmetric noise, clean test labels, "
        "NoisyLabelClassifier(lam=3), 60 epochs; 2-core CPU.\n",
        "| seed | 1 process | 2 processes | 1 process s | 2 processes s (incl. start) |",
        "|---|---|---|---|---|",
        *[f"| {s} | {a:.3f} | {b:.3f} | {ta:.1f} | {tb:.1f} |" for s, a, b, ta, tb in rows],
        f"| mean | {one:.3f} | {two:.3f} | | |",
        "",
        f"Difference of the means: {two - one:+.3f}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "distributed.md").write_text(text)


if __name__ == "__main__":
    main()
