# SPDX-License-Identifier: BSD-3-Clause
"""Multinomial linear classifier trained with Early-Learning Regularization."""

import warnings
from numbers import Real

import numpy as np
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._elr_numpy import log_softmax, softmax
from ._linear_solver import OPTIMIZERS, fit_linear_elr
from .diagnostics import label_quality_from_targets
from ._validation import check_lam_beta, check_positive_int, check_sample_weight


class LinearELRClassifier(ClassifierMixin, BaseEstimator):
    """Multinomial linear classifier robust to noisy labels through ELR.

    Softmax regression trained on cross-entropy plus the Early-Learning
    Regularization term of Liu et al. (2020). Every training example keeps a
    target ``t_i``, a moving average of the model's own past predictions,
    updated once per epoch as ``t_i <- beta * t_i + (1 - beta) * p_i``; the
    loss adds ``lam * log(1 - <p_i, t_i>)``, which keeps the model close to
    what it learned early and stops it from memorizing wrong labels.

    Read more in the :ref:`User Guide <linear>`.

    Parameters
    ----------
    lam : float, default=3.0
        Strength λ of the ELR term; ``lam=0`` is plain softmax regression.
    beta : float, default=0.7
        Momentum β of the per-example targets, in [0, 1).
    alpha : float, default=1e-2
        L2 penalty ``alpha / 2 * ||coef||^2`` added to the mean loss. The
        intercept is not penalised.
    fit_intercept : bool, default=True
        Whether to learn an intercept.
    solver : {"adam", "sgd"}, default="adam"
        ``"adam"`` needs no step-size tuning on standardised features;
        ``"sgd"`` is plain gradient descent with a constant step, the setting
        of the paper's theory.
    learning_rate : float, default=0.01
        Step size of the solver. The defaults were chosen on digits with 40 %
        label noise (``benchmarks/bench_linear.py``).
    batch_size : int, "auto" or None, default="auto"
        Rows per gradient step. ``"auto"`` uses ``n_samples // 50`` clipped to
        [32, 4096]: about 50 steps per epoch, so the model learns between two
        updates of the targets, as a network does within an epoch. None trains
        on the full batch: one step per epoch, the paper's theory setting and
        the fastest epoch, but the targets then follow the model step by step
        and ELR can lock in half-learned predictions.
    max_iter : int, default=200
        Maximum number of epochs. Each epoch updates every target once.
    tol : float or None, default=1e-4
        Training stops when the epoch loss has not improved by at least
        ``tol`` for ``n_iter_no_change`` epochs. None disables the rule.
    n_iter_no_change : int, default=10
        Patience of the ``tol`` rule.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``;
        ``"balanced"`` uses ``n_samples / (n_classes * bincount(y))``.
    warm_start : bool, default=False
        Reuse the previous ``coef_`` and ``intercept_`` as initialisation, and
        ``targets_`` when the new ``X`` has as many rows (it is assumed to hold
        the same examples in the same order).
    random_state : int, RandomState instance or None, default=None
        Shuffles the mini-batches (unused with full-batch training).
    verbose : int, default=0
        Print the loss of every epoch when positive.
    callback : callable or None, default=None
        Called after every epoch as ``callback(estimator, epoch, coef,
        intercept)`` with the current parameters in the solver's layout
        (``coef`` of shape (n_features, n_classes)); a returned dict is added
        to that epoch's record in ``history_``. See
        :class:`~sklearn_elr.diagnostics.LinearMemorizationMonitor`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients, laid out as :class:`~sklearn.linear_model.LogisticRegression`'s:
        one row for binary problems (the log-odds of ``classes_[1]``).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts, laid out as ``coef_``.
    targets_ : ndarray of shape (n_samples, n_classes)
        Final per-example soft targets, rows in the order of the training ``X``.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training objective per epoch (ELR makes it negative once targets are
        confident; that is expected).
    history_ : list of dict
        One record per epoch: ``epoch``, ``loss`` and what ``callback``
        returned.
    label_quality_ : ndarray of shape (n_samples,)
        The final target's probability of each given label (low: likely a
        wrong label); rank by it.
    label_issues_ : ndarray of shape (n_samples,) of bool
        True where the target's most likely class differs from the given
        label.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same model without ELR.
    sklearn_elr.NoisyLabelClassifier : ELR for neural networks.

    References
    ----------
    S. Liu, J. Niles-Weed, N. Razavian and C. Fernandez-Granda,
    "Early-Learning Regularization Prevents Memorization of Noisy Labels",
    NeurIPS 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_elr import LinearELRClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LinearELRClassifier(random_state=0).fit(X, y)
    >>> clf.predict(X[:2])
    array([0, 0])
    >>> clf.targets_.shape
    (150, 3)
    """

    def __init__(
        self,
        *,
        lam=3.0,
        beta=0.7,
        alpha=1e-2,
        fit_intercept=True,
        solver="adam",
        learning_rate=0.01,
        batch_size="auto",
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        callback=None,
    ):
        self.lam = lam
        self.beta = beta
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.callback = callback

    def _check_params(self):
        check_lam_beta(self.lam, self.beta)
        check_scalar(self.alpha, "alpha", Real, min_val=0.0)
        check_scalar(
            self.learning_rate, "learning_rate", Real, min_val=0.0,
            include_boundaries="neither",
        )  # fmt: skip
        if self.solver not in OPTIMIZERS:
            raise ValueError(
                f"solver must be one of {sorted(OPTIMIZERS)}, got {self.solver!r}."
            )
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_positive_int(self.batch_size, "batch_size", allow_none=True)
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        if self.tol is not None:
            check_scalar(self.tol, "tol", Real, min_val=0.0)
        if self.callback is not None and not callable(self.callback):
            raise ValueError(f"callback must be callable or None, got {self.callback!r}.")

    def fit(self, X, y, sample_weight=None):
        """Fit the model on (possibly noisy) labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 input is kept in float32.
        y : array-like of shape (n_samples,)
            Labels of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-example weights; a weight of k acts as k copies of the row.

        Returns
        -------
        self : LinearELRClassifier
            Fitted estimator.
        """
        self._check_params()
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
            order="C",
        )  # fmt: skip
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        classes = encoder.classes_
        if len(classes) < 2:
            raise ValueError(
                "LinearELRClassifier needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes[0]!r}."
            )
        y_idx = encoder.transform(y)
        n_samples, n_features = X.shape
        n_classes = len(classes)
        dtype = X.dtype

        weight = check_sample_weight(sample_weight, n_samples, dtype=np.float64)
        if self.class_weight is not None:
            per_class = compute_class_weight(self.class_weight, classes=classes, y=y)
            weight *= per_class[y_idx]
        weight /= weight.sum()
        weight = weight.astype(dtype)

        coef, intercept, targets = self._initial_state(
            classes, n_samples, n_features, dtype
        )
        rng = check_random_state(self.random_state)
        history = []

        def on_epoch(epoch, loss, coef, intercept, targets):
            record = {"epoch": epoch + 1, "loss": loss}
            if self.callback is not None:
                record.update(self.callback(self, epoch, coef, intercept) or {})
            history.append(record)
            if self.verbose:
                print(f"Epoch {epoch + 1}, loss = {loss:.6f}")

        n_iter, loss_curve = fit_linear_elr(
            X, y_idx, weight, coef, intercept, targets,
            lam=float(self.lam), beta=float(self.beta), alpha=float(self.alpha),
            fit_intercept=self.fit_intercept, solver=self.solver,
            learning_rate=float(self.learning_rate),
            batch_size=self._batch_size(n_samples),
            max_iter=self.max_iter, tol=self.tol,
            n_iter_no_change=self.n_iter_no_change, rng=rng, callback=on_epoch,
        )  # fmt: skip
        if n_iter == self.max_iter and self.tol is not None:
            warnings.warn(
                f"LinearELRClassifier stopped at max_iter={self.max_iter} epochs "
                "before the loss settled; increase max_iter.",
                ConvergenceWarning,
                stacklevel=2,
            )

        self.classes_ = classes
        if n_classes == 2:
            # softmax([z0, z1])[1] == sigmoid(z1 - z0): one row, as LogisticRegression.
            self.coef_ = (coef[:, 1] - coef[:, 0])[None, :]
            self.intercept_ = np.array([intercept[1] - intercept[0]])
        else:
            self.coef_ = np.ascontiguousarray(coef.T)
            self.intercept_ = intercept
        self.targets_ = targets
        self.label_quality_, self.label_issues_ = label_quality_from_targets(targets, y_idx)
        self.n_iter_ = n_iter
        self.loss_curve_ = loss_curve
        self.history_ = history
        return self

    def _batch_size(self, n_samples):
        if isinstance(self.batch_size, str):  # "auto"
            return int(np.clip(n_samples // 50, 32, 4096))
        return self.batch_size

    def _initial_state(self, classes, n_samples, n_features, dtype):
        """Zero parameters and targets, or the previous fit's with warm_start."""
        n_classes = len(classes)
        coef = np.zeros((n_features, n_classes), dtype=dtype)
        intercept = np.zeros(n_classes, dtype=dtype)
        targets = np.zeros((n_samples, n_classes), dtype=dtype)
        if not (self.warm_start and hasattr(self, "coef_")):
            return coef, intercept, targets
        if not np.array_equal(self.classes_, classes):
            raise ValueError(
                "warm_start=True needs the same classes as the previous fit: "
                f"{self.classes_!r} then {classes!r}."
            )
        if self.coef_.shape[1] == n_features:
            if n_classes == 2:
                # Split the log-odds symmetrically over the two logits.
                coef[:, 1] = self.coef_[0] / 2
                coef[:, 0] = -coef[:, 1]
                intercept[1] = self.intercept_[0] / 2
                intercept[0] = -intercept[1]
            else:
                coef[:] = self.coef_.T
                intercept[:] = self.intercept_
        if self.targets_.shape == targets.shape:
            targets[:] = self.targets_
        return coef, intercept, targets

    def decision_function(self, X):
        """Logits of each class (log-odds of ``classes_[1]`` when binary).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            # expit(-s) rather than 1 - expit(s): exact for tiny probabilities.
            return np.column_stack([expit(-scores), expit(scores)])
        return softmax(scores)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores)

    def predict(self, X):
        """Most probable class of each row, as a label from ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[scores.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
