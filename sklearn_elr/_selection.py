# SPDX-License-Identifier: BSD-3-Clause
"""Choosing λ and the number of epochs on held-out noisy labels.

Shared by :class:`~sklearn_elr.LinearELRClassifier` and the network
estimators (``lam="auto"``). The paper chose λ the same way, on a noisy
validation split: when the noise leaves the true class the most likely label,
the ranking of models by noisy accuracy is the ranking by clean accuracy.
"""

import numpy as np
from sklearn.model_selection import (
    RepeatedStratifiedKFold,
    ShuffleSplit,
    StratifiedShuffleSplit,
    check_cv,
)

#: From this many rows, the linear model's ``cv="auto"`` holds out 10 % once
#: instead of 5 folds (the networks hold out once at any size: ``holdout_split``).
HOLDOUT_FROM = 10_000


def is_auto(value):
    return isinstance(value, str) and value == "auto"


def selection_splits(cv, X, y_idx, rng, holdout_from=HOLDOUT_FROM):
    """The (train, held-out) index pairs of ``cv``; empty when none can be made.

    ``cv="auto"``: 5 stratified folds below ``holdout_from`` rows (small
    data: one hold-out would choose by noise), a single stratified 10 %
    hold-out from there. Plain folds when a class is too rare to stratify.
    On a table too small for 5 folds, as many as the rarest class allows
    (at least 2); below that, no split: the caller trains its preferred
    candidate without a choice. Anything else goes through
    :func:`~sklearn.model_selection.check_cv`.
    """
    if not is_auto(cv):
        splits = list(check_cv(cv, y_idx, classifier=True).split(X, y_idx))
        n_classes = len(np.unique(y_idx))
        for k, (train, _) in enumerate(splits):
            if len(np.unique(y_idx[train])) < n_classes:
                # Its held-out rows of the missing classes score 0 for every
                # candidate: the choice would be made on noise.
                raise ValueError(
                    f"The training rows of cv split {k} lack some classes: every candidate "
                    "would score 0 on their held-out rows. Use a stratified, shuffled "
                    "splitter, e.g. StratifiedKFold(5, shuffle=True, random_state=0)."
                )
        return splits
    smallest = np.bincount(y_idx).min()
    seed = rng.randint(np.iinfo(np.int32).max)
    if len(y_idx) < holdout_from:
        if smallest < 2:
            return []  # a fold without some class would score every candidate 0
        splitter = RepeatedStratifiedKFold(
            n_splits=min(5, smallest), n_repeats=1, random_state=seed
        )
    else:
        splitter = (
            StratifiedShuffleSplit(1, test_size=0.1, random_state=seed)
            if smallest >= 2
            else ShuffleSplit(1, test_size=0.1, random_state=seed)
        )
    return list(splitter.split(np.zeros(len(y_idx)), y_idx))


def holdout_split(y_idx, rng):
    """One stratified hold-out for the networks' ``cv="auto"``, or None.

    The held-out share falls smoothly from 25 % (up to 2,000 rows) to 10 %
    (from 5,000): at least 500 held-out rows where the data allow, without
    a jump in the cost of a fit at any size. None when the rarest class has
    fewer than 2 rows or fewer than 8 rows could be held out.
    """
    n = len(y_idx)
    share = float(np.clip(500 / n, 0.1, 0.25))
    if np.bincount(y_idx).min() < 2 or share * n < 8:
        return None
    seed = rng.randint(np.iinfo(np.int32).max)
    splitter = StratifiedShuffleSplit(1, test_size=share, random_state=seed)
    return next(splitter.split(np.zeros(n), y_idx))


def stack_curves(curves):
    """Per-epoch scores of several candidates, shape (n_epochs, n_candidates).

    A candidate that stopped early (``EarlyStopping``) keeps its last score
    for the later epochs; the result ends at the longest curve.
    """
    longest = max(len(curve) for curve in curves)
    return np.column_stack(
        [np.concatenate([curve, np.repeat(curve[-1:], longest - len(curve))]) for curve in curves]
    )


def choose_paired(correct):
    """The candidate to keep, from their held-out hits on the same rows.

    ``correct`` has shape (n_candidates, n_held_out), candidates sorted by
    λ. The largest λ is kept unless a smaller candidate beats it in the
    paired comparison (McNemar's): ``wins - losses`` on the rows where the
    two disagree must reach one standard deviation of that difference,
    ``sqrt(wins + losses)``, and at least one row. Only disagreements carry
    evidence, so this asks less of a few hundred noisy labels than comparing
    two accuracies, each with its own sampling error. Among smaller
    candidates that win, the largest margin.
    """
    correct = np.asarray(correct, dtype=bool)
    last = len(correct) - 1
    choice, best_margin = last, 0
    for k in range(last):
        wins = int(np.sum(correct[k] & ~correct[last]))
        losses = int(np.sum(~correct[k] & correct[last]))
        margin = wins - losses
        if margin >= max(1.0, np.sqrt(wins + losses)) and margin > best_margin:
            choice, best_margin = k, margin
    return choice


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

    Candidates whose best mean score is within ``slack`` of the overall best
    qualify. With ``prefer="smaller"`` (candidates are sorted by λ: the
    closest to plain training first), the smallest qualifying candidate
    whose curve *holds* (its last score is within ``slack / 2`` of its own
    best) is chosen, else the one whose curve fell least: a candidate that is
    only as good as the others when stopped early is memorizing, and its
    early-stopped refit on all rows memorizes more (on the paper's
    two-cluster problem, λ=1 lost 1.7 held-out points over 17 epochs and
    its refit memorized 36 % of the wrong labels, λ=3 held and memorized
    2 %; on digits with 40 % noise, where no curve held to the slack, the
    smallest candidate, plain training, fell 3 points and λ=3 a third of
    one). With ``prefer="larger"`` the largest qualifying candidate is
    chosen. The epoch is the latest one within ``slack`` of the best (the
    further trained model).
    """
    best = mean_scores.max()
    qualifying = np.flatnonzero(mean_scores.max(axis=0) >= best - slack)
    if prefer == "smaller":
        own_best = mean_scores[:, qualifying].max(axis=0)
        drop = own_best - mean_scores[-1, qualifying]
        holds = qualifying[drop <= slack / 2]
        k = holds.min() if len(holds) else qualifying[np.argmin(drop)]
    else:
        k = qualifying.max()
    epoch = np.flatnonzero(mean_scores[:, k] >= best - slack).max()
    return int(k), int(epoch) + 1
