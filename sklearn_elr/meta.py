# SPDX-License-Identifier: BSD-3-Clause
""":class:`WithLabelNoise`: any classifier, fitted on labels a simulator corrupts.

For plain scikit-learn pipelines and searches; with imbalanced-learn, the
simulators of ``noise.py`` are pipeline steps themselves.
"""

from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._doc_links import DocLinkMixin
from ._validation import restored_on_failure
from .diagnostics import final_step

__all__ = ["WithLabelNoise"]


def _estimator_has(attr):
    def check(self):
        estimator = getattr(self, "estimator_", self.estimator)
        return hasattr(estimator, attr)

    return check


class DelegatesToFittedEstimator:
    """``predict``, ``predict_proba``, ``predict_log_proba`` and
    ``decision_function`` of a meta-estimator: those of its fitted
    ``estimator_``, present when ``estimator`` has them."""

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(X)


class WithLabelNoise(
    DocLinkMixin, DelegatesToFittedEstimator, MetaEstimatorMixin, ClassifierMixin, BaseEstimator
):
    """Fit a classifier on labels corrupted by a noise simulator.

    ``fit`` corrupts the training labels with a clone of ``noise`` and fits a
    clone of ``estimator`` on them; ``predict``, ``predict_proba``,
    ``decision_function`` and ``score`` delegate to it. Cross-validation,
    ``GridSearchCV`` and ``Pipeline`` therefore score on the labels they were
    given: only training labels are ever corrupted. Grid search reaches both
    parts, e.g. ``estimator__lam`` and ``noise__rate``.

    Parameters
    ----------
    estimator : classifier
        Fitted on the noisy labels (a clone; the object given is untouched).
    noise : noise simulator
        Any object with ``fit_resample(X, y)``, e.g. :class:`SymmetricNoise`.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``.
    noise_ : noise simulator
        The fitted clone of ``noise``, with its ``noise_mask_``.
    classes_ : ndarray of shape (n_classes,)
        Classes of the fitted estimator.
    n_features_in_ : int
        Number of features seen by the estimator during fit, when it records it.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_elr import SymmetricNoise, WithLabelNoise
    >>> X, y = load_iris(return_X_y=True)
    >>> model = WithLabelNoise(LogisticRegression(), SymmetricNoise(0.3, random_state=0))
    >>> scores = cross_val_score(model, X, y)  # test folds keep their clean labels
    """

    def __init__(self, estimator, noise):
        self.estimator = estimator
        self.noise = noise

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Corrupt ``y`` with ``noise``, then fit ``estimator`` on it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Clean labels; not modified.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the estimator's ``fit`` (rows are never dropped, so
            per-row data stays aligned). With metadata routing enabled it
            goes where the estimator requests it (``set_fit_request``).
        **fit_params : dict
            Other parameters of the estimator's ``fit``, passed (or routed)
            the same way.

        Returns
        -------
        self : WithLabelNoise
        """
        if not hasattr(self.noise, "fit_resample"):
            raise TypeError(f"noise must have a fit_resample(X, y) method, got {self.noise!r}.")
        # A refit whose noise or estimator fails keeps the previous pair.
        with restored_on_failure(self):
            for name in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(name, None)
            if sample_weight is not None:
                fit_params["sample_weight"] = sample_weight
            if _routing_enabled():
                fit_params = process_routing(self, "fit", **fit_params).estimator.fit
            self.noise_ = clone(self.noise)
            X_noisy, y_noisy = self.noise_.fit_resample(X, y)
            self.estimator_ = clone(self.estimator).fit(X_noisy, y_noisy, **fit_params)
            self.classes_ = self.estimator_.classes_
            if hasattr(self.estimator_, "n_features_in_"):
                self.n_features_in_ = self.estimator_.n_features_in_
            if hasattr(self.estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    @property
    def label_quality_(self):
        """The fitted estimator's ``label_quality_`` (ELR estimators), on the
        noisy labels it was trained on."""
        return self._from_estimator("label_quality_")

    @property
    def label_issues_(self):
        """The fitted estimator's ``label_issues_``; compare with
        ``noise_.noise_mask_``, the labels the simulator actually changed."""
        return self._from_estimator("label_issues_")

    def _from_estimator(self, name):
        check_is_fitted(self)
        final = final_step(self.estimator_)  # a pipeline's classifier
        if not hasattr(final, name):
            raise AttributeError(
                f"{type(final).__name__} has no {name}; it is kept by the "
                "ELR estimators (or use sklearn_elr.find_label_issues)."
            )
        return getattr(final, name)

    def score(self, X, y, **score_params):
        """Score of the fitted estimator on the labels given (never corrupted).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        **score_params : dict
            Passed to the estimator's ``score`` (e.g. ``sample_weight``).

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        if _routing_enabled():
            score_params = process_routing(self, "score", **score_params).estimator.score
        return self.estimator_.score(X, y, **score_params)

    def get_metadata_routing(self):
        """Metadata routing: ``fit`` and ``score`` parameters go to ``estimator``.

        Returns
        -------
        routing : MetadataRouter
        """
        return MetadataRouter(owner=self).add(
            estimator=self.estimator,
            method_mapping=MethodMapping()
            .add(caller="fit", callee="fit")
            .add(caller="score", callee="score"),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags
