# SPDX-License-Identifier: BSD-3-Clause
"""Numerical kernels of the noise simulators: transition matrices and sampling.

``T[i, j] = P(noisy = j | clean = i)``, rows summing to one, rows and columns
in the order of the classes. The estimator shells live in ``noise.py``.
"""

import sys

import numpy as np
from scipy.special import expit

from ._validation import check_rate

# -- transition matrices ------------------------------------------------------


def symmetric_transition_matrix(n_classes, rate, *, keep_true=True):
    """Transition matrix of symmetric (uniform) noise.

    Parameters
    ----------
    n_classes : int
        Number of classes, at least 2.
    rate : float in [0, 1]
        Share of labels that are redrawn.
    keep_true : bool, default=True
        True: the redraw is uniform over all classes and may return the true
        one (the paper's convention), ``T = (1 - r) I + r / C``. False: it is
        uniform over the other classes, ``T = (1 - r) I + r / (C - 1) (1 - I)``.

    Returns
    -------
    matrix : ndarray of shape (n_classes, n_classes)
    """
    rate = check_rate(rate)
    if n_classes < 2:
        raise ValueError(f"Symmetric noise needs at least 2 classes, got {n_classes}.")
    eye = np.eye(n_classes)
    if keep_true:
        return (1 - rate) * eye + rate / n_classes
    return (1 - rate) * eye + rate / (n_classes - 1) * (1 - eye)


def pair_transition_matrix(classes, rate, *, mapping=None):
    """Transition matrix of class-dependent flips ``c -> mapping[c]``.

    Parameters
    ----------
    classes : array-like of shape (n_classes,)
        Labels, in the order of the matrix rows.
    rate : float in [0, 1]
        Probability that a label of a mapped class is flipped.
    mapping : dict, default=None
        Label -> label. Classes not in it stay clean. None maps each class to
        the next one in ``classes`` (cyclically).

    Returns
    -------
    matrix : ndarray of shape (n_classes, n_classes)
    """
    rate = check_rate(rate)
    classes = np.asarray(classes)
    n_classes = len(classes)
    position = {label: i for i, label in enumerate(classes.tolist())}
    if mapping is None:
        mapping = {c: classes[(i + 1) % n_classes] for i, c in enumerate(classes.tolist())}
    if not isinstance(mapping, dict):
        raise TypeError(f"mapping must be a dict of label -> label, got {type(mapping)}.")
    matrix = np.eye(n_classes)
    for source, dest in mapping.items():
        for label in (source, dest):
            if python_label(label) not in position:
                raise ValueError(
                    f"mapping refers to the label {label!r}, which is not one of the "
                    f"classes {classes.tolist()}."
                )
        i, j = position[python_label(source)], position[python_label(dest)]
        if i == j:
            raise ValueError(f"mapping sends {source!r} to itself.")
        matrix[i, i], matrix[i, j] = 1 - rate, rate
    return matrix


def python_label(label):
    """A NumPy scalar as the Python value ``tolist`` gives, for dict lookups."""
    return label.item() if isinstance(label, np.generic) else label


# -- sampling -----------------------------------------------------------------


def largest_remainder(quotas, total):
    """Integers ``>= floor(quotas)`` summing to ``total``, by largest remainder."""
    counts = np.floor(quotas).astype(int)
    short = int(total) - counts.sum()
    if short > 0:
        order = np.argsort(-(quotas - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


def exact_counts(class_counts, matrix):
    """Per-class numbers of labels sent to each class, matching ``matrix``.

    The total number of changed labels is the rounded expectation, shared
    over classes by largest remainder, and each class's changes are shared
    over destinations the same way: the realised matrix equals ``matrix`` up
    to one label per cell.
    """
    off_diagonal = 1 - np.diag(matrix)
    flips = largest_remainder(
        class_counts * off_diagonal, round(float(class_counts @ off_diagonal))
    )
    counts = np.zeros(matrix.shape, dtype=int)
    for c, n_flip in enumerate(flips):
        dest = matrix[c].copy()
        dest[c] = 0
        if n_flip > 0:
            counts[c] = largest_remainder(n_flip * dest / dest.sum(), n_flip)
        counts[c, c] = class_counts[c] - n_flip
    return counts


def sample_from_matrix(y_idx, matrix, exact, rng):
    """Noisy class indices drawn from ``matrix`` rows; ``y_idx`` is not modified."""
    noisy = y_idx.copy()
    if not exact:
        return draw_rows(matrix[y_idx], rng)
    class_counts = np.bincount(y_idx, minlength=matrix.shape[0])
    counts = exact_counts(class_counts, matrix)
    for c in np.flatnonzero(class_counts):
        members = np.flatnonzero(y_idx == c)
        n_flip = class_counts[c] - counts[c, c]
        if n_flip == 0:
            continue
        flipped = rng.choice(members, size=n_flip, replace=False)
        dest = np.repeat(np.delete(np.arange(matrix.shape[0]), c), np.delete(counts[c], c))
        noisy[flipped] = rng.permutation(dest)
    return noisy


def draw_rows(probs, rng):
    """One class index per row of ``probs`` (rows sum to one), by inverse CDF."""
    cumulative = np.cumsum(probs, axis=1)
    draws = rng.random_sample(len(probs)) * cumulative[:, -1]
    return np.minimum((draws[:, None] >= cumulative).sum(axis=1), probs.shape[1] - 1)


def as_like(values, y):
    """``values`` in the container and dtype of ``y``: a list stays a list, a
    Series or one-column DataFrame keeps its index and name."""
    if isinstance(y, list):
        return values.tolist()
    pd = sys.modules.get("pandas")  # y can only be pandas once pandas is loaded
    if pd is not None and isinstance(y, pd.Series):
        return pd.Series(values, index=y.index, name=y.name).astype(y.dtype)
    if pd is not None and isinstance(y, pd.DataFrame):
        frame = pd.DataFrame(values.reshape(len(values), 1), index=y.index, columns=y.columns)
        return frame.astype(y.dtypes.iloc[0])
    if isinstance(y, np.ndarray):
        return values.astype(y.dtype, copy=False)
    return values


# Slope of the flip probability in the standardised score: q spans roughly
# rate / 4 to 3 rate (for small rates) across one class.
FLIP_SHARPNESS = 2.0


def calibrated_sigmoid(scores, mean):
    """``sigmoid(a + scores)`` with ``a`` found by bisection so its mean is ``mean``."""
    if mean <= 0:
        return np.zeros_like(scores)
    low, high = -50.0, 50.0
    for _ in range(100):
        mid = (low + high) / 2
        if expit(mid + scores).mean() < mean:
            low = mid
        else:
            high = mid
    return expit((low + high) / 2 + scores)
