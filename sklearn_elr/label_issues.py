# SPDX-License-Identifier: BSD-3-Clause
"""Label issues in one call: :func:`find_label_issues`."""

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import cross_val_predict
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from ._validation import given_labels
from .diagnostics import (
    final_step,
    keeps_elr_targets,
    label_quality_from_targets,
    resampling_steps,
)

__all__ = ["find_label_issues"]

#: cleanlab's column names, in its order.
COLUMNS = ["is_label_issue", "label_quality", "given_label", "predicted_label"]


def _is(value, name):
    return isinstance(value, str) and value == name


def _judged_by_targets(fitted, X, given):
    """Quality, flags and predicted labels of the given labels from ELR targets.

    Rows without a target (held out by a network's ``train_split`` or its
    λ selection) are judged by the fitted model's out-of-sample
    probabilities, as the estimators' own ``label_quality_`` does.
    """
    final = final_step(fitted)
    targets = np.array(final.targets_, dtype=np.float64)
    targets = targets.mean(axis=0) if targets.ndim == 3 else targets  # ELR+: both nets
    if len(targets) != len(given):
        raise ValueError(
            f"cv='prefit' needs the estimator fitted on these rows: its targets_ have "
            f"{len(targets)} rows, X has {len(given)}."
        )
    unseen = np.flatnonzero(targets.sum(axis=1) == 0)
    if len(unseen):
        targets[unseen] = fitted.predict_proba(_safe_indexing(X, unseen))
    classes = final.classes_
    y_idx = np.searchsorted(classes, given).clip(0, len(classes) - 1)
    unknown = classes[y_idx] != given
    if unknown.any():
        raise ValueError(
            f"y has labels {sorted(set(given[unknown]), key=str)[:5]} that the fitted "
            f"estimator does not know (classes_: {list(classes)[:10]})."
        )
    quality, flagged = label_quality_from_targets(targets, y_idx)
    return quality, flagged, classes[targets.argmax(axis=1)]


def find_label_issues(estimator, X, y, *, cv="auto", **fit_params):
    """Rank the given labels by how likely they are wrong, in one call.

    Two ways to judge each label:

    - **in-sample ELR targets** (``cv="auto"`` with an estimator of this
      library, ``cv=None``, or ``cv="prefit"``): one fit of a clone on all
      rows (``"prefit"``: the estimator as already fitted on these rows); a
      label's quality is its probability under the example's ELR target (the
      moving average of the model's own predictions, which memorizes less
      than the model), and it is an issue when the target's most likely class
      differs (the paper's rule,
      :func:`~sklearn_elr.diagnostics.label_quality_from_targets`). Rows
      without a target (held out by a network's ``train_split`` or λ
      selection) are judged by the model's out-of-sample probabilities.
    - **out-of-sample probabilities** (``cv="auto"`` with any other
      classifier or with a pipeline that resamples, or an int / splitter):
      ``cross_val_predict`` of ``predict_proba``; quality is the held-out
      probability of the given label (cleanlab's "self-confidence"), and the
      label is an issue when the held-out prediction differs (cleanlab's
      ``predicted_neq_given``).

    Parameters
    ----------
    estimator : classifier
        Not modified; clones are fitted (except with ``cv="prefit"``). A
        :class:`~sklearn.pipeline.Pipeline` ending in a classifier of this
        library uses its targets, unless a step before it resamples (an
        imbalanced-learn sampler or a label-noise simulator changes the rows
        or labels the classifier trains on, so its targets would judge other
        labels than the given ones): such a pipeline is judged out of sample.
    X : array-like or sparse matrix of shape (n_samples, ...)
    y : array-like of shape (n_samples,)
        The given (possibly noisy) labels.
    cv : "auto", None, "prefit", int, cross-validation generator or iterable, default="auto"
        ``None`` forces in-sample targets (the estimator must keep them);
        ``"prefit"`` reads them from ``estimator``, already fitted on these
        ``X`` (rows in the same order), without a refit; anything
        ``cross_val_predict`` accepts forces out-of-sample probabilities;
        ``"auto"`` is in-sample for this library's ELR estimators and 5-fold
        otherwise.
    **fit_params : dict
        Passed to ``fit`` (e.g. ``sample_weight``).

    Returns
    -------
    issues : pandas.DataFrame of shape (n_samples, 4)
        cleanlab's columns: ``is_label_issue`` (bool), ``label_quality``
        (in [0, 1], low = likely wrong), ``given_label``,
        ``predicted_label``; the index of ``X`` when it is a DataFrame. Rank
        with ``issues.sort_values("label_quality")``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_elr import LinearELRClassifier, find_label_issues, make_symmetric_noise
    >>> X, y = load_iris(return_X_y=True)
    >>> y_noisy, wrong = make_symmetric_noise(y, 0.2, random_state=0)
    >>> issues = find_label_issues(LinearELRClassifier(lam=3.0, random_state=0), X, y_noisy)
    >>> list(issues.columns)
    ['is_label_issue', 'label_quality', 'given_label', 'predicted_label']
    >>> bool(issues["is_label_issue"][wrong].mean() > issues["is_label_issue"][~wrong].mean())
    True
    """
    import pandas as pd  # the result is a DataFrame; pandas is a dependency

    given = given_labels(X, y)
    resamples = resampling_steps(estimator)
    in_sample = cv is None or _is(cv, "prefit") or (
        _is(cv, "auto") and keeps_elr_targets(estimator) and not resamples
    )  # fmt: skip
    if in_sample:
        if not keeps_elr_targets(estimator):
            raise ValueError(
                f"cv={cv!r} needs an estimator that keeps ELR targets, got "
                f"{type(final_step(estimator)).__name__}; pass cv=5 for out-of-sample "
                "probabilities."
            )
        if resamples:
            raise ValueError(
                f"The pipeline's step {resamples[0]!r} resamples before the classifier, "
                "so its ELR targets judge the labels it made, not the given ones; pass "
                "cv=5 for out-of-sample probabilities of the given labels."
            )
        if _is(cv, "prefit"):
            check_is_fitted(final_step(estimator))
            fitted = estimator
        else:
            fitted = clone(estimator).fit(X, y, **fit_params)
        quality, flagged, predicted = _judged_by_targets(fitted, X, given)
    else:
        folds = 5 if _is(cv, "auto") else cv
        proba = cross_val_predict(
            estimator, X, y, cv=folds, method="predict_proba", params=fit_params or None
        )
        classes = LabelEncoder().fit(given).classes_  # cross_val_predict's column order
        given_idx = np.searchsorted(classes, given)
        quality = proba[np.arange(len(given)), given_idx]
        predicted = classes[proba.argmax(axis=1)]
        flagged = predicted != given
    index = X.index if hasattr(X, "index") and hasattr(X, "columns") else None
    return pd.DataFrame(
        {
            "is_label_issue": np.asarray(flagged, dtype=bool),
            "label_quality": np.asarray(quality, dtype=np.float64),
            "given_label": given,
            "predicted_label": predicted,
        },
        index=index,
    )[COLUMNS]
