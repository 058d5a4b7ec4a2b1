# SPDX-License-Identifier: BSD-3-Clause
"""Choosing λ and the number of epochs on held-out noisy labels.

Shared by :class:`~sklearn_elr.LinearELRClassifier` and the network
estimators (``lam="auto"``). The paper chose λ the same way, on a noisy
validation split: when the noise leaves the true class the most likely label,
the ranking of models by noisy accuracy is the ranking by clean accuracy.
"""

import numpy as np
from sklearn.model_selection import (
    RepeatedKFold,
    RepeatedStratifiedKFold,
    ShuffleSplit,
    StratifiedShuffleSplit,
    check_cv,
)

_MAX_REPEATS = 10


def is_auto(value):
    return isinstance(value, str) and value == "auto"


def selection_splits(cv, X, y_idx, rng, holdout_from, min_held_out=0):
    """The (train, held-out) index pairs of ``cv``.

    ``cv="auto"``: 5 stratified folds below ``holdout_from`` rows (small
    data: one hold-out would choose by noise), a single stratified 10 %
    hold-out from there. Plain folds when a class is too rare to stratify.
    With ``min_held_out``, the folds are repeated (reshuffled, at most 10
    times) until they hold out that many predictions in all: on a table of
    100 rows one split's accuracy moves by a point per example, and the
    candidates differ by less. Anything else goes through
    :func:`~sklearn.model_selection.check_cv`.
    """
    if not is_auto(cv):
        return list(check_cv(cv, y_idx, classifier=True).split(X, y_idx))
    smallest = np.bincount(y_idx).min()
    seed = rng.randint(np.iinfo(np.int32).max)
    if len(y_idx) < holdout_from:
        repeats = int(np.clip(np.ceil(min_held_out / len(y_idx)), 1, _MAX_REPEATS))
        splitter = (
            RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=seed)
            if smallest >= 5
            else RepeatedKFold(n_splits=5, n_repeats=repeats, random_state=seed)
        )
    else:
        splitter = (
            StratifiedShuffleSplit(1, test_size=0.1, random_state=seed)
            if smallest >= 2
            else ShuffleSplit(1, test_size=0.1, random_state=seed)
        )
    return list(splitter.split(np.zeros(len(y_idx)), y_idx))


def mean_curves(curves, max_epochs):
    """Mean over splits of per-epoch scores, shape (n_epochs, n_candidates).

    A split that stopped early keeps its last scores for the later epochs;
    the result ends at the longest split.
    """
    n_run = max(len(curve) for curve in curves)
    padded = [
        np.vstack([curve, np.repeat(curve[-1:], max_epochs - len(curve), axis=0)])
        for curve in curves
    ]
    return np.mean(padded, axis=0)[:n_run]


def choose(mean_scores, slack, prefer="smaller"):
    """Index of the candidate and number of epochs to refit with.

    Within ``slack`` of the best mean score, prefer the smaller candidate
    (candidates are sorted by λ: the closest to plain training), or the
    larger with ``prefer="larger"``, then the later epoch (the further
    trained model), unless the data clearly say otherwise.
    """
    near_best = np.argwhere(mean_scores >= mean_scores.max() - slack)
    k = near_best[:, 1].min() if prefer == "smaller" else near_best[:, 1].max()
    epoch = near_best[near_best[:, 1] == k, 0].max()
    return int(k), int(epoch) + 1
