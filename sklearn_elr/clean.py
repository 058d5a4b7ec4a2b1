# SPDX-License-Identifier: BSD-3-Clause
""":class:`ELRCleanLearning`: ELR's label issues, then the user's own classifier.

The cleanlab workflow (``CleanLearning``) with the library's label issues:
an ELR cleaner judges every label from its targets, the user's estimator is
fitted on the cleaned data, and a paired comparison on held-out noisy labels
keeps plain training where cleaning would hurt.
"""

import importlib.util

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _check_method_params, has_fit_parameter

from ._doc_links import DocLinkMixin
from ._selection import choose_paired
from ._validation import check_flag, check_sample_weight, given_labels, restored_on_failure
from .diagnostics import keeps_elr_targets
from .label_issues import find_label_issues
from .meta import DelegatesToFittedEstimator

__all__ = ["ELRCleanLearning"]

MODES = ("drop", "relabel", "weight")

#: The guard holds out this share of the rows (at most ``_GUARD_MAX`` rows)
#: and fits its two models on the others, at most the larger of
#: ``_GUARD_FIT_ROWS`` and a quarter of the rows: on a large table the guard
#: then costs half a fit of the estimator, not two.
_GUARD_SHARE, _GUARD_MAX, _GUARD_FIT_ROWS = 0.25, 2_000, 2_000


def _default_cleaner(random_state):
    """The library's robust default network, or the linear model without torch."""
    if all(importlib.util.find_spec(name) for name in ("torch", "skorch")):
        from .neural import NoisyLabelClassifier

        return NoisyLabelClassifier(random_state=random_state)
    from .linear import LinearELRClassifier

    return LinearELRClassifier(random_state=random_state)


class ELRCleanLearning(
    DocLinkMixin, DelegatesToFittedEstimator, MetaEstimatorMixin, ClassifierMixin, BaseEstimator
):
    """Fit any classifier on labels cleaned with ELR's label issues.

    ``fit`` fits ``cleaner`` (an ELR estimator) on ``X, y`` and reads its
    label issues (:func:`~sklearn_elr.find_label_issues`), then fits a clone
    of ``estimator`` on the cleaned data: the flagged rows relabelled with
    the targets' most likely class (``mode="relabel"``), dropped
    (``"drop"``), or every row weighted by its label quality (``"weight"``). With ``guard=True`` (default) a stratified hold-out of
    the rows decides first whether cleaning helps: ``estimator`` is fitted
    plain and cleaned on the other rows, and the cleaned fit is kept unless
    the plain one wins the paired comparison on the held-out (noisy) labels
    by one standard deviation (McNemar's, as ``lam="auto"`` chooses λ). The
    final estimator is then fitted on all rows.

    ``predict``, ``predict_proba``, ``predict_log_proba``,
    ``decision_function`` and ``score`` delegate to it. Grid search reaches both parts (``estimator__*``,
    ``cleaner__*``).

    Read more in the :ref:`User Guide <clean_learning>`.

    Parameters
    ----------
    estimator : classifier
        Your model, fitted (as a clone) on the cleaned data.
    cleaner : ELR classifier, default=None
        Judges the labels: :class:`~sklearn_elr.NoisyLabelClassifier` (its
        robust defaults) when torch is installed, else
        :class:`~sklearn_elr.LinearELRClassifier`; or a pipeline ending in one.
    mode : {"relabel", "drop", "weight"}, default="relabel"
        What cleaning does to a flagged row: given the targets' class;
        removed; every row weighted by its label quality (``estimator`` must
        take ``sample_weight``). "relabel" did best with gradient boosting on
        the robustness suite (``benchmarks/results/clean.md``: 0.884 mean
        accuracy against 0.876 for "drop", 0.843 for "weight", 0.836 for
        cleanlab's ``CleanLearning`` and 0.770 plain).
    guard : bool, default=True
        Keep plain training when the held-out comparison says cleaning hurts.
        Costs two fits of ``estimator`` on 75-90 % of the rows.
    cv : None, "prefit", int or cross-validation generator, default=None
        None: the cleaner's in-sample ELR targets (one fit). ``"prefit"``:
        ``cleaner`` is already fitted on these X and y (its targets are read,
        it is not refitted or copied). Otherwise the cleaner's out-of-sample
        probabilities on these folds.
    random_state : int, RandomState instance or None, default=None
        Seeds the guard's hold-out and the default cleaner.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``.
    cleaner_ : classifier or None
        The fitted cleaner (None with ``cv``: its clones were fitted per fold).
    label_issues_ : pandas.DataFrame
        The cleaner's verdict on every row, as :func:`find_label_issues` returns it.
    cleaned_ : bool
        Whether ``estimator_`` was fitted on the cleaned data (False when the
        guard kept plain training).
    guard_scores_ : dict
        With ``guard``: held-out accuracy on the noisy labels of the plain and
        the cleaned fit.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        When the estimator records it.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn_elr import ELRCleanLearning, LinearELRClassifier, make_symmetric_noise
    >>> X, y = load_iris(return_X_y=True)
    >>> y_noisy, _ = make_symmetric_noise(y, 0.3, random_state=0)
    >>> model = ELRCleanLearning(
    ...     HistGradientBoostingClassifier(max_iter=20), cleaner=LinearELRClassifier(), random_state=0
    ... ).fit(X, y_noisy)
    >>> model.predict(X[:2]).shape
    (2,)
    """

    def __init__(
        self, estimator, *, cleaner=None, mode="relabel", guard=True, cv=None, random_state=None
    ):
        self.estimator = estimator
        self.cleaner = cleaner
        self.mode = mode
        self.guard = guard
        self.cv = cv
        self.random_state = random_state

    def _check_params(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}.")
        check_flag(self.guard, "guard")
        if isinstance(self.cv, str) and self.cv == "prefit" and self.cleaner is None:
            raise ValueError("cv='prefit' needs a fitted cleaner.")
        if self.cleaner is not None and not keeps_elr_targets(self.cleaner):
            raise ValueError(
                "cleaner must be an ELR estimator (LinearELRClassifier, "
                "NoisyLabelClassifier with loss='elr', ELRPlusClassifier) or a pipeline "
                f"ending in one, got {type(self.cleaner).__name__}."
            )
        if self.mode == "weight" and not has_fit_parameter(self.estimator, "sample_weight"):
            raise ValueError(
                f"mode='weight' needs an estimator whose fit takes sample_weight; "
                f"{type(self.estimator).__name__}.fit does not. Use mode='drop' or 'relabel'."
            )

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Judge the labels with the cleaner, then fit the estimator on the cleaned data.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The given (possibly noisy) labels; not modified.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows, for the cleaner and the estimator (which must
            then take ``sample_weight``). With metadata routing enabled
            (``sklearn.set_config(enable_metadata_routing=True)``) each part
            gets it only where it asks (``set_fit_request``); the default
            cleaner, which cannot be asked, takes the weights your estimator
            asked for.
        **fit_params : dict
            Other parameters of the estimator's and the cleaner's ``fit``,
            with metadata routing only. Per-row ones follow the rows the
            estimator is fitted on.

        Returns
        -------
        self : ELRCleanLearning
        """
        _raise_for_params(fit_params, self, "fit")
        with restored_on_failure(self):
            self._check_params()
            # Array-likes without a length (objects with __array__ only)
            # become arrays; DataFrames stay frames for the user's estimator.
            X = X if hasattr(X, "shape") or hasattr(X, "__len__") else np.asarray(X)
            X = X.tocsr() if sp.issparse(X) else X  # rows are indexed: CSR, not COO
            y = y if hasattr(y, "__len__") else np.asarray(y)
            if sample_weight is not None and not hasattr(sample_weight, "__len__"):
                sample_weight = np.asarray(sample_weight)
            given = given_labels(X, y)
            n_samples = len(given)
            weight, cleaner_params, estimator_params = self._route(
                n_samples, sample_weight, fit_params
            )
            rng = check_random_state(self.random_state)
            cleaner = self.cleaner
            if cleaner is None:
                cleaner = _default_cleaner(rng.randint(np.iinfo(np.int32).max))
            if isinstance(self.cv, str) and self.cv == "prefit":  # a cleaner fitted on X, y
                self.cleaner_ = cleaner
                issues = find_label_issues(cleaner, X, given, cv="prefit")
            elif self.cv is None:
                self.cleaner_ = clone(cleaner).fit(X, given, **cleaner_params)
                issues = find_label_issues(self.cleaner_, X, given, cv="prefit")
            else:
                self.cleaner_ = None
                issues = find_label_issues(cleaner, X, given, cv=self.cv, **cleaner_params)
            self.label_issues_ = issues
            rows = np.arange(n_samples)
            self.cleaned_ = True
            self.__dict__.pop("guard_scores_", None)
            if self.guard:
                self.cleaned_ = self._guard(X, given, weight, estimator_params, issues, rng)
            fit_rows, fit_y, fit_w = self._cleaned(given, weight, issues, rows)
            if not self.cleaned_:
                fit_rows, fit_y, fit_w = rows, given, weight
            self.estimator_ = self._fit_estimator(X, fit_rows, fit_y, fit_w, estimator_params)
            self.classes_ = self.estimator_.classes_
            for name in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(name, None)
                if hasattr(self.estimator_, name):
                    setattr(self, name, getattr(self.estimator_, name))
        return self

    def _cleaned(self, given, weight, issues, rows):
        """``(rows, labels, weights)`` of the cleaned data, restricted to ``rows``."""
        flagged = issues["is_label_issue"].to_numpy()[rows].copy()
        labels = given[rows]
        w = None if weight is None else weight[rows]
        if self.mode in ("drop", "relabel"):
            # A class the cleaning would erase keeps its given labels: the
            # estimator must still know every class (as cleanlab keeps a
            # minimum of examples per class).
            kept = labels[~flagged]
            if self.mode == "relabel":
                kept = np.concatenate([kept, issues["predicted_label"].to_numpy()[rows][flagged]])
            flagged &= np.isin(labels, kept)
        if self.mode == "drop":
            keep = ~flagged
            return rows[keep], labels[keep], None if w is None else w[keep]
        if self.mode == "relabel":
            labels = np.where(flagged, issues["predicted_label"].to_numpy()[rows], labels)
            return rows, labels, w
        quality = np.nan_to_num(issues["label_quality"].to_numpy()[rows], nan=1.0)
        return rows, labels, quality if w is None else quality * w

    def _route(self, n_samples, sample_weight, fit_params):
        """``(estimator weights, cleaner fit params, other estimator fit params)``.

        Without metadata routing, ``sample_weight`` goes to both (the
        estimator must take it). With routing, each gets what it requested;
        the default cleaner, which no one can ask, takes the weights (routing
        refuses them unless the estimator asked for them).
        """
        if not _routing_enabled():
            if sample_weight is None:
                return None, {}, {}
            weight = check_sample_weight(sample_weight, n_samples)
            if not has_fit_parameter(self.estimator, "sample_weight"):
                raise ValueError(
                    f"sample_weight was given, but {type(self.estimator).__name__}.fit "
                    "does not take it."
                )
            return weight, {"sample_weight": weight}, {}
        if sample_weight is not None:
            fit_params = {**fit_params, "sample_weight": sample_weight}
        routed = process_routing(self, "fit", **fit_params)
        estimator_params = dict(routed.estimator.fit)
        weight = estimator_params.pop("sample_weight", None)
        if weight is not None:
            weight = check_sample_weight(weight, n_samples)
        if self.cleaner is not None:
            cleaner_params = dict(routed.cleaner.fit)
        else:
            cleaner_params = {} if sample_weight is None else {"sample_weight": sample_weight}
        return weight, cleaner_params, estimator_params

    def _fit_estimator(self, X, rows, labels, weight, params):
        # Per-row routed parameters follow the rows (as BaggingClassifier's do).
        params = _check_method_params(X, params, indices=rows)
        if weight is not None:
            params["sample_weight"] = weight
        return clone(self.estimator).fit(_safe_indexing(X, rows), labels, **params)

    def get_metadata_routing(self):
        """Metadata routing: ``fit`` parameters go to ``estimator`` and ``cleaner``.

        Returns
        -------
        routing : MetadataRouter
        """
        router = MetadataRouter(owner=self).add(
            estimator=self.estimator, method_mapping=MethodMapping().add(caller="fit", callee="fit")
        )
        if self.cleaner is not None:
            router.add(
                cleaner=self.cleaner, method_mapping=MethodMapping().add(caller="fit", callee="fit")
            )
        return router

    # skops saves arrays, not DataFrames: label_issues_ travels as its columns.
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: the estimator keeps its frame
        issues = state.pop("label_issues_", None)
        if issues is not None:
            import pandas as pd  # loaded already: issues is a DataFrame

            index = None if isinstance(issues.index, pd.RangeIndex) else issues.index.to_numpy()
            state["_label_issues_state"] = {
                "columns": {name: issues[name].to_numpy() for name in issues.columns},
                "index": index,
            }
        return state

    def __setstate__(self, state):
        saved = state.pop("_label_issues_state", None)
        if saved is not None:
            import pandas as pd  # here, not at import: pandas is optional for NumPy input

            state["label_issues_"] = pd.DataFrame(saved["columns"], index=saved["index"])
        super().__setstate__(state)

    def _guard(self, X, given, weight, params, issues, rng):
        """Whether the cleaned fit beats the plain one on held-out noisy labels."""
        n = len(given)
        n_held = int(min(_GUARD_SHARE * n, _GUARD_MAX))
        if np.bincount(np.unique(given, return_inverse=True)[1]).min() < 2 or n_held < 8:
            return True  # too small to compare: trust the cleaner
        n_fit = min(n - n_held, max(_GUARD_FIT_ROWS, n // 4))
        split = StratifiedShuffleSplit(
            1, train_size=n_fit, test_size=n_held, random_state=rng.randint(2**31 - 1)
        )
        train, held_out = next(split.split(np.zeros(n), given))
        plain = self._fit_estimator(
            X, train, given[train], None if weight is None else weight[train], params
        )
        cleaned = self._fit_estimator(X, *self._cleaned(given, weight, issues, train), params)
        X_held, y_held = _safe_indexing(X, held_out), given[held_out]
        correct = [plain.predict(X_held) == y_held, cleaned.predict(X_held) == y_held]
        self.guard_scores_ = {
            "plain": float(correct[0].mean()),
            "cleaned": float(correct[1].mean()),
        }
        return choose_paired(correct) == 1

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = False
        return tags
