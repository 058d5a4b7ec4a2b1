# SPDX-License-Identifier: BSD-3-Clause
"""Label issues in one call: :func:`find_label_issues`."""

import sys

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ._validation import labels_as_numpy
from .linear import LinearELRClassifier

__all__ = ["find_label_issues"]

#: cleanlab's column names, in its order.
COLUMNS = ["is_label_issue", "label_quality", "given_label", "predicted_label"]


def _keeps_elr_targets(estimator):
    """Whether the (final step of the) estimator keeps ELR targets when fitted."""
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if isinstance(final, LinearELRClassifier):
        return True
    networks = sys.modules.get("sklearn_elr._network")  # loaded with any network class
    return (
        networks is not None
        and isinstance(final, networks.NetworkBase)
        and getattr(final, "loss", "elr") == "elr"
    )


def find_label_issues(estimator, X, y, *, cv="auto", **fit_params):
    """Rank the given labels by how likely they are wrong, in one call.

    Two ways to judge each label:

    - **in-sample ELR targets** (``cv="auto"`` with an estimator of this
      library, or ``cv=None``): one fit of a clone on all rows; a label's
      quality is its probability under the example's ELR target (the moving
      average of the model's own predictions, which memorizes less than the
      model), and it is an issue when the target's most likely class differs
      (the paper's rule, :func:`~sklearn_elr.diagnostics.label_quality_from_targets`).
    - **out-of-sample probabilities** (``cv="auto"`` with any other
      classifier, or an int / splitter): ``cross_val_predict`` of
      ``predict_proba``; quality is the held-out probability of the given label
      (cleanlab's "self-confidence"), and the label is an issue when the
      held-out prediction differs (cleanlab's ``predicted_neq_given``).

    Parameters
    ----------
    estimator : classifier
        Not modified; clones are fitted. A :class:`~sklearn.pipeline.Pipeline`
        ending in a classifier of this library uses its targets.
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,)
        The given (possibly noisy) labels.
    cv : "auto", None, int, cross-validation generator or iterable, default="auto"
        ``None`` forces in-sample targets (the estimator must keep them);
        anything ``cross_val_predict`` accepts forces out-of-sample
        probabilities; ``"auto"`` is in-sample for this library's ELR
        estimators and 5-fold otherwise.
    **fit_params : dict
        Passed to ``fit`` (e.g. ``sample_weight``).

    Returns
    -------
    issues : pandas.DataFrame of shape (n_samples, 4)
        cleanlab's columns: ``is_label_issue`` (bool), ``label_quality``
        (in [0, 1], low = likely wrong; NaN for a row whose target was never
        updated), ``given_label``, ``predicted_label``; the index of ``X``
        when it is a DataFrame. Rank with ``issues.sort_values("label_quality")``.

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

    given = column_or_1d(labels_as_numpy(y), warn=True)
    check_classification_targets(given)
    if len(given) != len(X):
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {len(X)} and {len(given)}."
        )
    in_sample = cv is None or (isinstance(cv, str) and cv == "auto" and _keeps_elr_targets(estimator))
    if in_sample:
        if not _keeps_elr_targets(estimator):
            raise ValueError(
                f"cv=None needs an estimator that keeps ELR targets, got "
                f"{type(estimator).__name__}; pass cv=5 for out-of-sample probabilities."
            )
        fitted = clone(estimator).fit(X, y, **fit_params)
        final = fitted[-1] if isinstance(fitted, Pipeline) else fitted
        # The fit already judged each label from its final targets.
        quality, flagged = final.label_quality_, final.label_issues_
        targets = final.targets_
        targets = targets.mean(axis=0) if targets.ndim == 3 else targets  # ELR+: both nets
        predicted = final.classes_[targets.argmax(axis=1)]
    else:
        folds = 5 if isinstance(cv, str) and cv == "auto" else cv
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
