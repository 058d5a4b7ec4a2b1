# SPDX-License-Identifier: BSD-3-Clause
"""Multinomial linear classifier trained with Early-Learning Regularization."""

import warnings
from collections.abc import Mapping
from numbers import Real

import numpy as np
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._doc_links import DocLinkMixin
from ._elr_numpy import log_softmax, softmax
from ._linear_solver import OPTIMIZERS, default_learning_rate, fit_linear_elr
from ._moments import is_dask_array
from ._selection import choose, is_auto, mean_curves, selection_splits
from ._validation import (
    MAX_ABS_VALUE,
    check_finite,
    check_lam_candidates,
    check_magnitude,
    check_positive_int,
    check_sample_weight,
    labels_as_numpy,
    restored_on_failure,
)
from .diagnostics import label_quality_from_targets, warn_if_collapsed


class LinearELRClassifier(DocLinkMixin, ClassifierMixin, BaseEstimator):
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
    lam : float or "auto", default="auto"
        Strength λ of the ELR term; ``lam=0`` is plain softmax regression.
        ``"auto"`` chooses λ among ``lams``, and the number of epochs, by
        held-out accuracy on the given (noisy) labels over the splits of
        ``cv``, then refits on all rows: ELR where it helps, plain training
        where it does not (see the :ref:`robustness benchmark <robustness>`).
        With a float, training runs until the predictions settle.
    lams : sequence of float, default=(0.0, 3.0, 10.0)
        Candidates for ``lam="auto"``. They train side by side, sharing
        every pass over ``X``. Ties within one held-out example go to the
        smaller λ whose held-out accuracy holds to the end of training (one
        that only ties when stopped early is memorizing), else to the one
        whose accuracy fell least. λ=10 is chosen only where it is clearly
        better; its slower early learning also keeps the held-out runs going
        long enough to show which candidates memorize.
    cv : int, cross-validation generator, iterable or "auto", default="auto"
        Splits for ``lam="auto"``, as in :func:`~sklearn.model_selection.check_cv`.
        ``"auto"``: 5 stratified folds below 10,000 rows (fewer when the
        rarest class has fewer than 5 rows), one stratified 10 % hold-out
        from there.
    beta : float, default=0.7
        Momentum β of the per-example targets, in [0, 1).
    alpha : float or "auto", default="auto"
        L2 penalty ``alpha / 2 * ||V||^2`` on the coefficients ``V`` of the
        standardised features, added to the mean loss (the intercept is not
        penalised). ``"auto"`` is ``1 / sum(sample_weight)``, the penalty of
        ``LogisticRegression(C=1)`` after a StandardScaler.
    fit_intercept : bool, default=True
        Whether to learn an intercept.
    solver : {"nesterov", "gd", "adam"}, default="nesterov"
        ``"nesterov"``: full-batch gradient descent with Nesterov momentum
        (0.9) in centred and scaled coordinates, so the units of ``X`` do not
        matter: each column is divided by its standard deviation, unless
        these are all within a factor of 10 of each other (already
        standardised data, the paper's two-cluster problem), where
        one common scale keeps the features' relative variances and with them
        the early-learning phase. ``"gd"``: plain gradient descent on the raw features, the
        setting of the paper's theory. ``"adam"``: Adam on mini-batches in
        standardised coordinates (it reaches memorization in high
        dimension before the targets accumulate; not recommended there).
    learning_rate : float or "auto", default="auto"
        Step size. ``"auto"``: ``1 / L`` for the gradient-descent solvers,
        with ``L`` an upper estimate of the curvature of the cross-entropy
        (from a few power iterations on ``X``, no copy); 0.01 for Adam.
    batch_size : int, "auto" or None, default="auto"
        Rows per gradient step. ``"auto"``: the full batch for the
        gradient-descent solvers; ``n_samples // 50`` clipped to
        [32, 4096] for Adam. None is the full batch.
    max_iter : int, default=300
        Maximum number of epochs. Each epoch updates every target once.
    tol : float or None, default=1e-3
        With a float ``lam``: training stops once the predicted
        probabilities change by less than ``tol`` per epoch (mean total
        variation over the training rows) for ``n_iter_no_change`` epochs.
        The ELR loss itself keeps falling as the targets sharpen, so it is
        no stopping signal. None runs ``max_iter`` epochs.
    n_iter_no_change : int, default=10
        Patience of the ``tol`` rule, and of early stopping on held-out
        accuracy with ``lam="auto"`` (a gain below 0.1 point does not
        count).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``;
        ``"balanced"`` uses ``n_samples / (n_classes * bincount(y))``.
    warm_start : bool, default=False
        Reuse the previous ``coef_`` and ``intercept_`` as initialisation of
        the final fit, and ``targets_`` when the new ``X`` has as many rows
        (it is assumed to hold the same examples in the same order).
    random_state : int, RandomState instance or None, default=None
        Draws the splits of ``cv="auto"`` and shuffles Adam's mini-batches.
    verbose : int, default=0
        Print the loss of every epoch of the final fit when positive.
    callback : callable or None, default=None
        Called after every epoch of the final fit as ``callback(estimator,
        epoch, coef, intercept)`` with the current parameters in the
        solver's layout (``coef`` of shape (n_features, n_classes)); a
        returned dict is added to that epoch's record in ``history_``. See
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
    lam_ : float
        The λ of the final model (``lam`` itself unless ``lam="auto"``).
    cv_scores_ : ndarray of shape (n_epochs, len(lams))
        With ``lam="auto"``: mean held-out accuracy (on the given labels) of
        each candidate after each epoch.
    n_iter_ : int
        Number of epochs of the final fit.
    loss_curve_ : list of float
        Training objective per epoch of the final fit (ELR makes it negative once targets are
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
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
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
    >>> clf.lam_ in clf.lams
    True
    >>> clf.targets_.shape
    (150, 3)
    """

    def __init__(
        self,
        *,
        lam="auto",
        lams=(0.0, 3.0, 10.0),
        cv="auto",
        beta=0.7,
        alpha="auto",
        fit_intercept=True,
        solver="nesterov",
        learning_rate="auto",
        batch_size="auto",
        max_iter=300,
        tol=1e-3,
        n_iter_no_change=10,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        callback=None,
    ):
        self.lam = lam
        self.lams = lams
        self.cv = cv
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
        """Validate the parameters; return the candidate values of λ."""
        lams = check_lam_candidates(self.lam, self.lams, self.beta)
        if not is_auto(self.alpha):
            check_scalar(self.alpha, "alpha", Real, min_val=0.0)
            check_finite(self.alpha, "alpha")
        if not is_auto(self.learning_rate):
            check_scalar(
                self.learning_rate, "learning_rate", Real, min_val=0.0,
                include_boundaries="neither",
            )  # fmt: skip
            check_finite(self.learning_rate, "learning_rate")
        if self.solver not in OPTIMIZERS:
            raise ValueError(f"solver must be one of {sorted(OPTIMIZERS)}, got {self.solver!r}.")
        if not is_auto(self.batch_size):
            check_positive_int(self.batch_size, "batch_size", allow_none=True)
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        if self.tol is not None:
            check_scalar(self.tol, "tol", Real, min_val=0.0)
            check_finite(self.tol, "tol")
        if self.callback is not None and not callable(self.callback):
            raise ValueError(f"callback must be callable or None, got {self.callback!r}.")
        return lams

    def fit(self, X, y, sample_weight=None):
        """Fit the model on (possibly noisy) labels.

        With ``lam="auto"`` every value of ``lams`` trains side by side on
        each cross-validation split, the value and the number of epochs with
        the best held-out accuracy (on the given, noisy labels) are kept, and
        the model is refit on all rows with them. A table whose rarest class
        has a single row cannot hold rows out: it trains the smallest
        candidate of ``lams`` (plain softmax regression by default).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            float64 or float32 (kept: float32 trains in float32). Trained in C
            order: a Fortran-ordered array or a DataFrame is copied once (for
            1M x 100 float32, 381 MiB); pass ``np.ascontiguousarray(X)`` to
            control when. Sparse input is used as CSR.
        y : array-like of shape (n_samples,)
            Labels of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-example weights; a weight of k acts as k copies of the row.

        Returns
        -------
        self : LinearELRClassifier
            Fitted estimator.
        """
        # A refused, failed or interrupted fit leaves the estimator as it was.
        with restored_on_failure(self):
            self.__dict__.pop("cv_scores_", None)  # from an earlier auto fit
            return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        lams = self._check_params()
        # C order for the row blocks of the solver: a Fortran-ordered array
        # or a DataFrame is copied once here (documented in ``fit``).
        if is_dask_array(X):
            X, y = self._validate_dask(X, y)
        else:
            X, y = validate_data(
                self, X, labels_as_numpy(y), accept_sparse="csr",
                dtype=[np.float64, np.float32], order="C",
            )  # fmt: skip
            check_magnitude(X)
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
            if not np.all(np.isfinite(per_class) & (per_class >= 0)):
                raise ValueError(
                    f"class_weight must be finite and non-negative, got {self.class_weight!r}."
                )
            weight *= per_class[y_idx]
        with np.errstate(over="ignore"):  # refused just below, by name
            total = weight.sum()
        if not np.isfinite(total):
            raise ValueError("sample_weight is too large: its sum overflows.")
        # LogisticRegression(C=1)'s penalty, for the mean loss.
        alpha = 1.0 / total if is_auto(self.alpha) else float(self.alpha)
        rng = check_random_state(self.random_state)
        learning_rate = (
            default_learning_rate(X, weight / total, alpha, self.fit_intercept, self.solver)
            if is_auto(self.learning_rate)
            else float(self.learning_rate)
        )
        fit_options = dict(
            beta=float(self.beta), alpha=alpha, fit_intercept=self.fit_intercept,
            solver=self.solver, learning_rate=learning_rate,
            batch_size=self._batch_size(n_samples), n_iter_no_change=self.n_iter_no_change,
        )  # fmt: skip

        selection = (
            self._select(X, y_idx, weight, lams, rng, fit_options) if is_auto(self.lam) else None
        )
        if selection is not None:
            lam, max_iter, cv_scores = selection
            tol = None  # the number of epochs was chosen on held-out rows
        else:
            # A float λ, or a table too small to hold rows out: the smallest
            # candidate (plain training with the default ``lams``).
            lam, max_iter, tol, cv_scores = lams[0], self.max_iter, self.tol, None

        coef, intercept, targets = self._initial_state(
            classes, n_samples, n_features, dtype, rows_in_memory=not is_dask_array(X)
        )
        history = []

        def on_epoch(epoch, loss, coef, intercept, targets):
            record = {"epoch": epoch + 1, "loss": loss}
            if self.callback is not None:
                extra = self.callback(self, epoch, coef, intercept)
                if extra is not None and not isinstance(extra, Mapping):
                    raise TypeError(
                        "callback must return a dict of values to record, or None; "
                        f"it returned {type(extra).__name__} in epoch {epoch + 1}."
                    )
                record.update(extra or {})
            history.append(record)
            if self.verbose:
                print(f"Epoch {epoch + 1}, loss = {loss:.6f}")

        result = fit_linear_elr(
            X, y_idx, (weight / total).astype(dtype), coef, intercept, targets,
            lams=[lam], max_iter=max_iter, tol=tol, rng=rng, callback=on_epoch,
            **fit_options,
        )  # fmt: skip
        if tol is not None and not result["converged"]:
            warnings.warn(
                f"LinearELRClassifier stopped at max_iter={self.max_iter} epochs "
                "before its predictions settled; increase max_iter.",
                ConvergenceWarning,
                stacklevel=3,  # the caller of fit
            )

        self.classes_ = classes
        if n_classes == 2:
            # softmax([z0, z1])[1] == sigmoid(z1 - z0): one row, as LogisticRegression.
            self.coef_ = (coef[:, 1] - coef[:, 0])[None, :]
            self.intercept_ = np.array([intercept[1] - intercept[0]])
        else:
            self.coef_ = np.ascontiguousarray(coef.T)
            self.intercept_ = intercept
        self.lam_ = float(lam)
        if cv_scores is not None:
            self.cv_scores_ = cv_scores
        if targets is None:  # a Dask array: the targets come back chunked
            from ._dask import SMALL_BYTES, label_quality

            targets = result["targets"]
            if targets.nbytes <= SMALL_BYTES:
                targets = targets.compute()
        self.targets_ = targets
        if is_dask_array(targets):
            self.label_quality_, self.label_issues_ = label_quality(targets, y_idx)
        else:
            self.label_quality_, self.label_issues_ = label_quality_from_targets(targets, y_idx)
            warn_if_collapsed(targets, y_idx, self.lam_, type(self).__name__)
        self.n_iter_ = result["n_iter"]
        self.loss_curve_ = result["loss"][:, 0].tolist()
        self.history_ = history
        return self

    def _select(self, X, y_idx, weight, lams, rng, fit_options):
        """Choose λ and the number of epochs on held-out rows (noisy labels).

        Every candidate trains on each split's training rows, side by side;
        the held-out rows are not copied out of ``X``: they take part with a
        weight of zero. Returns ``(lam, n_epochs, mean_scores)``.
        """
        n_samples, n_features = X.shape
        n_classes = int(y_idx.max()) + 1
        width = len(lams) * n_classes
        curves, held_out_mass = [], 0.0
        splits = selection_splits(self.cv, X, y_idx, rng)
        if not splits:
            return None
        for train, held_out in splits:
            fold_weight = np.zeros(n_samples)
            fold_weight[train] = weight[train]
            val_weight = weight[held_out]
            if fold_weight.sum() <= 0 or val_weight.sum() <= 0:
                continue  # a split without weight on one side says nothing
            coef = np.zeros((n_features, width), dtype=X.dtype)
            intercept = np.zeros(width, dtype=X.dtype)
            # On a Dask array the targets live in chunks beside X.
            targets = None if is_dask_array(X) else np.zeros((n_samples, width), dtype=X.dtype)
            result = fit_linear_elr(
                X, y_idx, (fold_weight / fold_weight.sum()).astype(X.dtype),
                coef, intercept, targets, lams=lams, max_iter=self.max_iter, tol=None,
                rng=rng, validation=(X[held_out], y_idx[held_out], val_weight / val_weight.sum()),
                **fit_options,
            )  # fmt: skip
            held_out_mass += val_weight.sum() / weight.sum() * len(y_idx)
            curves.append(result["scores"])
        if not curves:
            raise ValueError(
                "Every cross-validation split has zero total sample_weight on one side."
            )
        mean_scores = mean_curves(curves, self.max_iter)
        # One held-out example's worth of accuracy, per split.
        k, n_epochs = choose(mean_scores, slack=len(curves) / max(held_out_mass, 1.0))
        return lams[k], n_epochs, mean_scores

    def _batch_size(self, n_samples):
        if not is_auto(self.batch_size):
            return self.batch_size
        # Gradient descent takes the whole batch; Adam about 50 steps an epoch.
        return None if self.solver != "adam" else int(np.clip(n_samples // 50, 32, 4096))

    def _initial_state(self, classes, n_samples, n_features, dtype, rows_in_memory=True):
        """Zero parameters and targets, or the previous fit's with warm_start.

        Without ``rows_in_memory`` (a Dask array) the targets are None: the
        solver keeps them in chunks beside X.
        """
        n_classes = len(classes)
        coef = np.zeros((n_features, n_classes), dtype=dtype)
        intercept = np.zeros(n_classes, dtype=dtype)
        targets = np.zeros((n_samples, n_classes), dtype=dtype) if rows_in_memory else None
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
        if targets is not None and self.targets_.shape == targets.shape:
            targets[:] = self.targets_
        return coef, intercept, targets

    def _keeps_elr_targets(self):
        return True

    def _validate_dask(self, X, y):
        """``validate_data`` for a Dask array X: checked chunk by chunk, never loaded.

        y and sample_weight (one value per row) are read into memory; X is
        rechunked to row chunks only. Full-batch solvers only: a mini-batch
        epoch gathers random rows, which a chunked array cannot serve.
        """
        from ._dask import as_row_chunks, check_chunks

        if self.solver == "adam" or not is_auto(self.batch_size):
            raise ValueError(
                "A Dask array trains with full-batch epochs: use solver='nesterov' or "
                f"'gd' and batch_size='auto' (got solver={self.solver!r}, "
                f"batch_size={self.batch_size!r})."
            )
        if self.warm_start and hasattr(self, "coef_"):
            raise ValueError("warm_start=True is not supported with a Dask array X.")
        X = as_row_chunks(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        y = labels_as_numpy(y.compute() if is_dask_array(y) else y)
        y = column_or_1d(y, warn=True)
        if len(y) != X.shape[0]:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {X.shape[0]} and {len(y)}."
            )
        finite, largest = check_chunks(X)
        if not finite:
            raise ValueError("Input X contains NaN or infinity.")
        if largest > MAX_ABS_VALUE:
            check_magnitude(np.array([largest]))  # the same message as in memory
        self.__dict__.pop("feature_names_in_", None)
        self.n_features_in_ = X.shape[1]
        return X, y

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
        if is_dask_array(X):
            return self._per_chunk("decision_function", X)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False)
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
        if is_dask_array(X):
            return self._per_chunk("predict_proba", X)
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
        if is_dask_array(X):
            return self._per_chunk("predict_log_proba", X)
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
        # The argmax of predict_proba, ties included (a binary score of 1e-19
        # has probabilities 0.5 / 0.5 in float64; "score > 0" would disagree).
        if is_dask_array(X):
            return self._per_chunk("predict", X)
        proba = self.predict_proba(X)  # first: it raises NotFittedError
        return self.classes_[proba.argmax(axis=1)]

    def _per_chunk(self, method, X):
        """``method`` on each row chunk of a Dask array X: a lazy Dask array."""
        from ._dask import as_row_chunks

        check_is_fitted(self)
        X = as_row_chunks(X)
        one_column = method == "predict" or (
            method == "decision_function" and len(self.classes_) == 2
        )
        dtype = self.classes_.dtype if method == "predict" else np.result_type(X.dtype, self.coef_)
        if one_column:
            return X.map_blocks(getattr(self, method), drop_axis=1, dtype=dtype)
        width = (len(self.classes_),)
        return X.map_blocks(getattr(self, method), chunks=(X.chunks[0], width), dtype=dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
