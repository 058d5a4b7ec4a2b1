# SPDX-License-Identifier: BSD-3-Clause
"""The README demo: ELR vs plain training on digits with 40 % label noise.

Run with ``python -m sklearn_elr.demo`` (or ``make demo``). Training labels are
corrupted with symmetric noise; every model is scored on the clean test labels.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_elr import LinearELRClassifier, make_symmetric_noise

NOISE_RATE = 0.4
SEED = 0


def _models():
    models = {
        "LogisticRegression": LogisticRegression(max_iter=1000),
        "LinearELRClassifier": LinearELRClassifier(random_state=SEED),
    }
    try:  # the network estimators need torch and skorch
        from sklearn_elr.neural import NoisyLabelClassifier
    except ImportError:
        return models
    models["NoisyLabelClassifier (loss='ce')"] = NoisyLabelClassifier(loss="ce", random_state=SEED)
    models["NoisyLabelClassifier (ELR)"] = NoisyLabelClassifier(random_state=SEED)
    return models


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=SEED
    )
    y_noisy, mask = make_symmetric_noise(y_train, NOISE_RATE, random_state=SEED)
    print(
        f"digits: {len(y_train)} training labels, {NOISE_RATE:.0%} symmetric noise "
        f"({np.mean(y_noisy != y_train):.1%} actually wrong); "
        f"{len(y_test)} clean test labels\n"
    )
    print(f"{'model':<36} {'clean test acc':>14} {'fit time (s)':>13}")
    for name, model in _models().items():
        pipe = make_pipeline(StandardScaler(), model)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipe.fit(X_train, y_noisy)
        elapsed = time.perf_counter() - start
        print(f"{name:<36} {pipe.score(X_test, y_test):>14.3f} {elapsed:>13.2f}")


if __name__ == "__main__":
    main()
