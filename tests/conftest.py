# SPDX-License-Identifier: BSD-3-Clause
"""Shared fixtures: seeds and small noisy-label problems."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler


@pytest.fixture(params=[0, 1, 2], ids=lambda s: f"seed{s}")
def seed(request):
    """A few seeds, like scikit-learn's ``global_random_seed``."""
    return request.param


@pytest.fixture(scope="session")
def digits():
    """Standardised digits features and labels."""
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="session")
def noisy_digits(digits):
    """Digits with 40 % of the labels redrawn uniformly, and the wrong mask."""
    X, y = digits
    rng = np.random.RandomState(0)
    y_noisy = y.copy()
    chosen = rng.rand(len(y)) < 0.4
    y_noisy[chosen] = rng.randint(0, 10, chosen.sum())
    return X, y, y_noisy, y_noisy != y


@pytest.fixture(scope="session")
def small_noisy_digits(digits):
    """The first 500 standardised digits, 30 % symmetric noise: the Dask tests' problem."""
    from sklearn_elr import make_symmetric_noise

    X, y = digits
    y_noisy, _ = make_symmetric_noise(y[:500], 0.3, random_state=0)
    return X[:500], y_noisy
