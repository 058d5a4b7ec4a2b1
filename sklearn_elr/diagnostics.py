# SPDX-License-Identifier: BSD-3-Clause
"""NumPy-only diagnostics: memorization scores and label-quality from targets."""

import numpy as np

from ._validation import check_every, check_test_set, records_epoch

__all__ = ["memorization_scores", "label_quality_from_targets", "LinearMemorizationMonitor"]


def memorization_scores(y_pred, y_given, y_clean):
    """How predictions on training examples relate to given and clean labels.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
        Predictions on the training examples.
    y_given : array-like of shape (n_samples,)
        The (noisy) labels the model was trained on.
    y_clean : array-like of shape (n_samples,)
        The true labels.

    Returns
    -------
    scores : dict of float
        ``wrong_to_true``: share of wrongly labelled examples predicted as
        their true class (early learning); ``memorized``: share predicted as
        their wrong label; ``clean_acc``: accuracy on correctly labelled
        examples. NaN where a group is empty.
    """
    y_pred, y_given, y_clean = (np.asarray(a) for a in (y_pred, y_given, y_clean))
    if not (len(y_pred) == len(y_given) == len(y_clean)):
        raise ValueError(
            "y_pred, y_given and y_clean must have the same length, got "
            f"{len(y_pred)}, {len(y_given)} and {len(y_clean)}."
        )
    wrong = y_given != y_clean

    def share(hits, rows):
        return float(np.mean(hits[rows])) if rows.any() else float("nan")

    return {
        "wrong_to_true": share(y_pred == y_clean, wrong),
        "memorized": share(y_pred == y_given, wrong),
        "clean_acc": share(y_pred == y_clean, ~wrong),
    }


def final_step(estimator):
    """The last step of a :class:`~sklearn.pipeline.Pipeline`, else the estimator."""
    from sklearn.pipeline import Pipeline

    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def keeps_elr_targets(estimator):
    """Whether the estimator (a pipeline's final step) keeps ELR targets when fitted.

    Answered by the estimators themselves (``_keeps_elr_targets``): the
    linear model always, a network with the ELR loss.
    """
    method = getattr(final_step(estimator), "_keeps_elr_targets", None)
    return bool(method is not None and method())


def resampling_steps(estimator):
    """Names of a pipeline's steps that resample (imbalanced-learn samplers,
    the label-noise simulators): they change the rows or labels the final
    step trains on."""
    steps = getattr(estimator, "steps", None) or []
    return [name for name, step in steps[:-1] if hasattr(step, "fit_resample")]


def warn_if_collapsed(targets, y_idx, lam, name):
    """Warn when ELR's targets put every row on one class the labels do not.

    On features that carry no signal the ELR term is unbounded below: a
    fixed λ then drives every prediction to probability one on a single
    class. That model is useless, so say so instead of returning it quietly.
    """
    targets = np.asarray(targets, dtype=np.float64)
    mass = targets.sum(axis=1)
    seen = mass > 0
    if lam <= 0 or not seen.any():
        return
    top = targets[seen].argmax(axis=1)
    confidence = targets[seen].max(axis=1) / mass[seen]
    if np.all(top == top[0]) and confidence.mean() > 0.99:
        share = np.mean(y_idx[seen] == top[0])
        if share < 0.9:
            import warnings

            warnings.warn(
                f"{name}'s ELR targets put every training row on one class (probability "
                f"{confidence.mean():.3f}) that only {share:.0%} of the labels give: "
                f"lam={lam:g} overpowers features that barely predict the labels. "
                "Use lam='auto', a smaller lam, or more informative features.",
                UserWarning,
                stacklevel=4,
            )


def label_quality_from_targets(targets, y_idx):
    """Per-example label quality and issue flags from ELR targets.

    Parameters
    ----------
    targets : ndarray of shape (n_samples, n_classes)
        ELR targets (moving averages of the model's predictions).
    y_idx : ndarray of shape (n_samples,) of int
        Given labels as class indices.

    Returns
    -------
    quality : ndarray of shape (n_samples,)
        The target's probability of the given label, ``t[i, y_i] / sum(t[i])``
        (the targets' mass grows as ``1 - beta**k``); NaN for rows whose
        target was never updated. Rank by it: low means likely wrong.
    issues : ndarray of shape (n_samples,) of bool
        True where the target's most likely class is not the given label
        (``argmax t_i != y_i``, the paper's rule).
    """
    targets = np.asarray(targets, dtype=np.float64)
    mass = targets.sum(axis=1)
    rows = np.arange(len(y_idx))
    with np.errstate(invalid="ignore", divide="ignore"):
        quality = np.where(mass > 0, targets[rows, y_idx] / mass, np.nan)
    issues = (mass > 0) & (targets.argmax(axis=1) != y_idx)
    return quality, issues


class LinearMemorizationMonitor:
    """Per-epoch memorization record for :class:`~sklearn_elr.LinearELRClassifier`.

    Pass it as ``LinearELRClassifier(callback=monitor)``; each epoch's scores
    (see :func:`memorization_scores`, plus ``test_acc`` when a held-out set is
    given) are added to the estimator's ``history_``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The training data given to ``fit``.
    y_given : array-like of shape (n_samples,)
        The (noisy) training labels given to ``fit``.
    y_clean : array-like of shape (n_samples,)
        Their true values.
    X_test, y_test : array-like, default=None
        Optional clean held-out set.
    every : int or array-like of int, default=1
        Record every ``every`` epochs (and the first), or at the listed
        (1-based) epochs, e.g. log-spaced ones for a long run.
    """

    def __init__(self, X, y_given, y_clean, X_test=None, y_test=None, every=1):
        # A callback, not an estimator: it checks what it is given at once,
        # so a mistake shows before a long fit rather than in its first epoch.
        self.X = X
        self.y_given = np.asarray(y_given)
        self.y_clean = np.asarray(y_clean)
        if not (len(self.y_given) == len(self.y_clean) == len(X)):
            raise ValueError(
                "X, y_given and y_clean must describe the same rows: got "
                f"{len(X)}, {len(self.y_given)} and {len(self.y_clean)}."
            )
        self.X_test = X_test
        self.y_test = None if y_test is None else np.asarray(y_test)
        check_test_set(X_test, self.y_test)
        self.every = check_every(every)

    def __call__(self, estimator, epoch, coef, intercept):
        if not records_epoch(self.every, epoch + 1):
            return None
        classes = np.unique(self.y_given)
        for name, X in (("X", self.X), ("X_test", self.X_test)):
            if X is not None and np.shape(X)[1:] != (coef.shape[0],):
                raise ValueError(
                    f"LinearMemorizationMonitor's {name} has shape {np.shape(X)}, but the "
                    f"model it watches sees {coef.shape[0]} features: pass the data the "
                    "LinearELRClassifier itself is fitted on (in a pipeline, the "
                    "transformed rows, e.g. pipe[:-1].fit_transform(X))."
                )

        def predict(X):
            return classes[np.asarray(X @ coef + intercept).argmax(axis=1)]

        record = memorization_scores(predict(self.X), self.y_given, self.y_clean)
        if self.X_test is not None:
            record["test_acc"] = float(np.mean(predict(self.X_test) == self.y_test))
        return record
