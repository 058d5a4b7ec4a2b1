# SPDX-License-Identifier: BSD-3-Clause
"""Synthetic noisy-label problems."""

import numpy as np
from sklearn.utils import Bunch, check_random_state, check_scalar

from ._validation import check_rate, check_real


def make_early_learning_problem(
    n_samples=1100, n_features=1000, *, sigma=0.2, noise=0.4, return_X_y=False,
    random_state=None,
):  # fmt: skip
    """The two-cluster setting of the paper's theory (section 3).

    Points are ``x = +v + sigma * z`` (class 1) or ``x = -v + sigma * z``
    (class 0) with ``v = e_1``, ``z ~ N(0, I)`` and balanced classes. Each
    label is then, with probability ``noise``, replaced by a fair coin (which
    may equal the truth), so about ``noise / 2`` of the labels are wrong. With
    ``n_features / n_samples`` close to one the noisy labels are linearly
    separable, and a linear model trained long enough memorizes them all.

    Parameters
    ----------
    n_samples : int, default=1100
    n_features : int, default=1000
    sigma : float, default=0.2
        Spread of each cluster; its radius is about ``sigma * sqrt(n_features)``.
    noise : float in [0, 1], default=0.4
        Probability Δ that a label is replaced by a coin flip.
    return_X_y : bool, default=False
        Return ``(X, y)`` (noisy labels) instead of a Bunch.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : Bunch
        ``X`` (n_samples, n_features), ``y`` (noisy labels in {0, 1}),
        ``y_clean``, ``noise_mask`` (where ``y != y_clean``) and ``direction``
        (``v``).
    (X, y) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from sklearn_elr.datasets import make_early_learning_problem
    >>> data = make_early_learning_problem(200, 100, random_state=0)
    >>> data.X.shape
    (200, 100)
    >>> sorted(data)
    ['X', 'direction', 'noise_mask', 'y', 'y_clean']
    """
    check_scalar(n_samples, "n_samples", (int, np.integer), min_val=2)
    check_scalar(n_features, "n_features", (int, np.integer), min_val=1)
    check_real(sigma, "sigma", min_val=0.0)
    noise = check_rate(noise, "noise")
    rng = check_random_state(random_state)
    y_clean = rng.permutation(np.arange(n_samples) % 2)
    direction = np.zeros(n_features)
    direction[0] = 1.0
    X = sigma * rng.standard_normal((n_samples, n_features))
    X += np.where(y_clean[:, None] == 1, direction, -direction)
    coin = rng.rand(n_samples) < noise
    y = y_clean.copy()
    y[coin] = rng.randint(0, 2, coin.sum())
    if return_X_y:
        return X, y
    return Bunch(X=X, y=y, y_clean=y_clean, noise_mask=y != y_clean, direction=direction)
