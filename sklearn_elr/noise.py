# SPDX-License-Identifier: BSD-3-Clause
"""Label-noise simulators that corrupt only the training labels.

One convention throughout: a transition matrix ``T`` has
``T[i, j] = P(noisy = j | clean = i)``, rows summing to one, rows and columns
in the order of ``classes_`` (sorted labels unless given).

Each simulator implements imbalanced-learn's sampler protocol by duck typing:
``fit_resample(X, y)`` returns ``X`` untouched (the same object) and a noisy
copy of ``y``, so it is a step of ``imblearn.pipeline.Pipeline`` that runs at
fit time only; held-out folds are scored on the labels the caller gave. For
plain scikit-learn, :class:`WithLabelNoise` wraps any classifier instead.
Function twins (``make_*_noise``) serve users outside pipelines.

The number of rows never changes, so ``sample_weight`` and other per-row data
stay aligned.
"""

import sys

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin
from sklearn.utils import check_array, check_consistent_length, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d, validate_data

from ._doc_links import DocLinkMixin
from ._noise_kernels import (
    FLIP_SHARPNESS,
    as_like,
    calibrated_sigmoid,
    draw_rows,
    largest_remainder,
    pair_transition_matrix,
    python_label,
    sample_from_matrix,
    symmetric_transition_matrix,
)
from ._validation import check_flag, check_rate, check_transition_matrix, labels_as_numpy
from .meta import WithLabelNoise

__all__ = [
    "SymmetricNoise",
    "PairNoise",
    "TransitionMatrixNoise",
    "InstanceDependentNoise",
    "WithLabelNoise",
    "make_symmetric_noise",
    "make_pair_noise",
    "make_transition_noise",
    "make_instance_noise",
    "symmetric_transition_matrix",
    "pair_transition_matrix",
]


# -- simulators ---------------------------------------------------------------


class _BaseNoise(DocLinkMixin, OneToOneFeatureMixin, BaseEstimator):
    """Shared shell: validate, encode labels, corrupt, record what happened.

    Subclasses define ``_matrix(classes)`` (the transition matrix), or
    override ``_corrupt`` when the noise depends on the features.
    """

    # imbalanced-learn's marker of a sampler (``imblearn.base.is_sampler``),
    # set without importing imbalanced-learn, which stays optional.
    _estimator_type = "sampler"

    def fit(self, X, y):
        """Corrupt ``y`` and record the mask, realised matrix and rate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Passed through; only instance-dependent noise reads it.
        y : array-like of shape (n_samples,)
            Clean labels of any type. Not modified.

        Returns
        -------
        self : object
        """
        self._fit(X, y)
        return self

    def fit_resample(self, X, y, **params):
        """Return ``X`` untouched and a noisy copy of ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        **params : dict
            imbalanced-learn's signature; the simulators take no fit
            parameters, so any given is refused by name.

        Returns
        -------
        X : the same object as given
        y_noisy : array-like of shape (n_samples,)
            Same container as ``y``; a pandas Series keeps its index, name and
            dtype.
        """
        if params:
            raise TypeError(
                f"{type(self).__name__}.fit_resample takes no fit parameters, got {sorted(params)}."
            )
        return X, self._fit(X, y)

    def _fit(self, X, y):
        self._check_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y_values = column_or_1d(labels_as_numpy(y), warn=True)
        check_consistent_length(X, y_values)
        check_classification_targets(y_values)
        classes, y_idx = self._encode(y_values)
        self._record_features(X)
        rng = check_random_state(self.random_state)
        noisy_idx = self._corrupt(X, y_idx, classes, rng)

        self.classes_ = classes
        self.noise_mask_ = noisy_idx != y_idx
        self.noise_rate_ = float(self.noise_mask_.mean()) if len(y_idx) else 0.0
        counts = np.zeros((len(classes), len(classes)))
        np.add.at(counts, (y_idx, noisy_idx), 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.transition_matrix_ = counts / counts.sum(axis=1, keepdims=True)
        return as_like(classes[noisy_idx], y)

    def _record_features(self, X):
        """``n_features_in_`` (and ``feature_names_in_``) for
        ``get_feature_names_out``, when ``X`` has columns; X is not converted."""
        for name in ("n_features_in_", "feature_names_in_"):
            self.__dict__.pop(name, None)
        try:
            validate_data(self, X, skip_check_array=True, reset=True)
        except (TypeError, ValueError):  # text, or anything without columns
            pass

    def _encode(self, y_values):
        classes_param = getattr(self, "classes", None)
        if classes_param is None:
            classes, y_idx = np.unique(y_values, return_inverse=True)
            return classes, y_idx.ravel()
        classes = np.asarray(classes_param)
        if len(np.unique(classes)) != len(classes):
            raise ValueError(f"classes has repeated labels: {classes.tolist()}.")
        position = {label: i for i, label in enumerate(classes.tolist())}
        unknown = sorted({python_label(v) for v in y_values} - position.keys(), key=str)
        if unknown:
            raise ValueError(f"y has labels {unknown} that are not in classes.")
        return classes, np.array([position[python_label(v)] for v in y_values], dtype=int)

    def _check_params(self):
        check_flag(self.exact, "exact")

    def _corrupt(self, X, y_idx, classes, rng):
        """Noisy class indices; class-conditional unless overridden."""
        return sample_from_matrix(y_idx, self._matrix(classes), self.exact, rng)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        # imbalanced-learn's sampler tags, once the user has imported it. Not
        # imported here: importing imbalanced-learn adds "fit_resample" to
        # scikit-learn's metadata-routing methods, which breaks clones of
        # routing requests made before the import.
        if "imblearn" not in sys.modules:
            return tags
        from imblearn.utils._tags import InputTags, SamplerTags, Tags

        # X passes through untouched: any array, sparse matrix or DataFrame.
        input_tags = InputTags(two_d_array=True, sparse=True, dataframe=True)
        return Tags(
            estimator_type="sampler", target_tags=tags.target_tags,
            transformer_tags=None, classifier_tags=None, regressor_tags=None,
            sampler_tags=SamplerTags(), input_tags=input_tags,
            non_deterministic=tags.non_deterministic,
        )  # fmt: skip


class SymmetricNoise(_BaseNoise):
    """Replace a share of the labels with uniformly drawn classes.

    Parameters
    ----------
    rate : float in [0, 1], default=0.2
        Share of labels that are redrawn.
    keep_true : bool, default=True
        Whether the redraw may return the true class (the paper's convention:
        the expected share of wrong labels is ``rate * (C - 1) / C``). With
        False every redrawn label is wrong.
    exact : bool, default=True
        True realises the expected number of changes of each class exactly
        (largest-remainder rounding); False draws every label independently.
    random_state : int, RandomState instance or None, default=None
        An int gives the same noise on every fit of the same labels.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    noise_mask_ : ndarray of shape (n_samples,) of bool
        True where the noisy label differs from the given one.
    noise_rate_ : float
        Realised share of changed labels.
    transition_matrix_ : ndarray of shape (n_classes, n_classes)
        Realised ``P(noisy = j | clean = i)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_elr import SymmetricNoise
    >>> y = np.repeat([0, 1, 2, 3], 25)
    >>> noise = SymmetricNoise(0.4, keep_true=False, random_state=0)
    >>> _, y_noisy = noise.fit_resample(np.zeros((100, 1)), y)
    >>> noise.noise_rate_
    0.4
    """

    def __init__(self, rate=0.2, *, keep_true=True, exact=True, random_state=None):
        self.rate = rate
        self.keep_true = keep_true
        self.exact = exact
        self.random_state = random_state

    def _matrix(self, classes):
        if len(classes) < 2:
            return np.eye(len(classes))  # nothing to swap with
        return symmetric_transition_matrix(len(classes), self.rate, keep_true=self.keep_true)

    def _check_params(self):
        super()._check_params()
        check_rate(self.rate)


class PairNoise(_BaseNoise):
    """Flip labels of class ``c`` to ``mapping[c]`` with probability ``rate``.

    Each example is flipped at most once, chosen by its original label, so
    swaps (cat <-> dog) and chains flip every mapped class at ``rate``.

    Parameters
    ----------
    rate : float in [0, 1], default=0.2
    mapping : dict, default=None
        Label -> label, e.g. CIFAR-10's ``{9: 1, 2: 0, 3: 5, 5: 3, 4: 7}``.
        Classes missing from it stay clean. None: each class goes to the next
        one in ``classes_`` order, cyclically.
    exact : bool, default=True
        See :class:`SymmetricNoise`.
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    classes_, noise_mask_, noise_rate_, transition_matrix_
        See :class:`SymmetricNoise`.
    """

    def __init__(self, rate=0.2, *, mapping=None, exact=True, random_state=None):
        self.rate = rate
        self.mapping = mapping
        self.exact = exact
        self.random_state = random_state

    def _matrix(self, classes):
        if self.mapping is None and len(classes) < 2:
            return np.eye(len(classes))  # the default mapping needs two classes
        return pair_transition_matrix(classes, self.rate, mapping=self.mapping)

    def _check_params(self):
        super()._check_params()
        check_rate(self.rate)


class TransitionMatrixNoise(_BaseNoise):
    """Class-conditional noise from a full transition matrix.

    Parameters
    ----------
    matrix : array-like of shape (n_classes, n_classes)
        ``matrix[i, j] = P(noisy = j | clean = i)``; rows sum to one. Checked
        at fit: square, finite, non-negative, row-stochastic, one row per class.
    classes : array-like of shape (n_classes,), default=None
        Labels of the rows and columns; None means the sorted labels of ``y``.
        (cleanlab's ``noise_matrix`` is the transpose of ours.)
    exact : bool, default=True
        See :class:`SymmetricNoise`.
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    classes_, noise_mask_, noise_rate_, transition_matrix_
        See :class:`SymmetricNoise`. Rows of classes absent from ``y`` are NaN.
    """

    def __init__(self, matrix, *, classes=None, exact=True, random_state=None):
        self.matrix = matrix
        self.classes = classes
        self.exact = exact
        self.random_state = random_state

    def _matrix(self, classes):
        return check_transition_matrix(self.matrix, n_classes=len(classes))


class InstanceDependentNoise(_BaseNoise):
    """Noise whose flip probability and direction depend on the features.

    A documented variant of part-dependent noise (Xia et al., NeurIPS 2020):
    with standardised features ``x`` and random projections ``W_c`` drawn from
    ``random_state``,

    - the flip probability is ``q_i = sigmoid(a + 2 s_i)``, where ``s_i`` is
      ``x_i . w_{y_i}`` standardised within class ``y_i`` and the offset ``a``
      is solved so that the mean of ``q`` equals ``rate``;
    - a flipped label goes to class ``j != y_i`` with probability
      ``softmax_j(x_i W_{y_i})`` over the other classes.

    With ``exact=True`` each class has exactly ``round(rate * n_c)`` flips
    (largest remainder), drawn without replacement with probabilities ``q``;
    otherwise each example flips independently with probability ``q_i``.

    Parameters
    ----------
    rate : float in [0, 1), default=0.2
        Mean flip probability.
    exact : bool, default=True
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    classes_, noise_mask_, noise_rate_, transition_matrix_
        See :class:`SymmetricNoise`.
    flip_probability_ : ndarray of shape (n_samples,)
        The per-example ``q_i``.
    """

    def __init__(self, rate=0.2, *, exact=True, random_state=None):
        self.rate = rate
        self.exact = exact
        self.random_state = random_state

    def _check_params(self):
        super()._check_params()
        check_rate(self.rate)
        if self.rate >= 1:
            raise ValueError(f"rate must be below 1 for instance noise, got {self.rate}.")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False  # it reads the features as a dense array
        return tags

    def _corrupt(self, X, y_idx, classes, rng):
        X = check_array(X, dtype=float, accept_sparse=False)
        n_samples, n_features = X.shape
        n_classes = len(classes)
        if n_classes < 2:
            self.flip_probability_ = np.zeros(n_samples)
            return y_idx.copy()
        # Standardise so the noise does not depend on the units of X; the
        # 1/sqrt(d) keeps the scores O(1) whatever the number of features.
        scale = X.std(axis=0)
        Z = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0) / np.sqrt(n_features)
        projections = rng.standard_normal((n_classes, n_features, n_classes))
        rows = np.arange(n_samples)
        scores = np.einsum("nf,nfc->nc", Z, projections[y_idx])
        # The flip score is standardised within each class, so that the
        # feature dependence survives exact mode's per-class counts.
        own = scores[rows, y_idx]
        for c in range(n_classes):
            members = y_idx == c
            if members.sum() > 1:
                spread = own[members].std()
                own[members] = (own[members] - own[members].mean()) / (spread or 1.0)
        q = calibrated_sigmoid(FLIP_SHARPNESS * own, self.rate)
        self.flip_probability_ = q

        if self.exact:
            class_counts = np.bincount(y_idx, minlength=n_classes)
            n_flips = largest_remainder(self.rate * class_counts, round(self.rate * n_samples))
            flipped = np.zeros(n_samples, dtype=bool)
            for c in np.flatnonzero(n_flips):
                members = np.flatnonzero(y_idx == c)
                weights = np.maximum(q[members], 1e-12)  # choice needs p > 0 to fill
                chosen = rng.choice(members, n_flips[c], replace=False, p=weights / weights.sum())
                flipped[chosen] = True
        else:
            flipped = rng.random_sample(n_samples) < q
        # Destination: softmax of the projections over the other classes.
        scores[rows, y_idx] = -np.inf
        scores -= scores.max(axis=1, keepdims=True)
        dest = np.exp(scores)
        noisy = y_idx.copy()
        noisy[flipped] = draw_rows(dest[flipped] / dest[flipped].sum(axis=1, keepdims=True), rng)
        return noisy


# -- function twins -----------------------------------------------------------


def _run(simulator, X, y):
    if y is None:
        raise ValueError("y is None: pass the labels to corrupt.")
    _, y_noisy = simulator.fit_resample(np.empty((len(y), 0)) if X is None else X, y)
    return y_noisy, simulator.noise_mask_


def make_symmetric_noise(y, rate, *, keep_true=True, exact=True, random_state=None):
    """Noisy copy of ``y`` with symmetric noise, and the mask of changed labels.

    See :class:`SymmetricNoise` for the parameters.

    Returns
    -------
    y_noisy : array-like of shape (n_samples,)
    noise_mask : ndarray of shape (n_samples,) of bool
    """
    simulator = SymmetricNoise(rate, keep_true=keep_true, exact=exact, random_state=random_state)
    return _run(simulator, None, y)


def make_pair_noise(y, rate, *, mapping=None, exact=True, random_state=None):
    """Noisy copy of ``y`` with pair flips, and the mask of changed labels.

    See :class:`PairNoise` for the parameters.

    Returns
    -------
    y_noisy : array-like of shape (n_samples,)
    noise_mask : ndarray of shape (n_samples,) of bool
    """
    simulator = PairNoise(rate, mapping=mapping, exact=exact, random_state=random_state)
    return _run(simulator, None, y)


def make_transition_noise(y, matrix, *, classes=None, exact=True, random_state=None):
    """Noisy copy of ``y`` drawn from a transition matrix, and the change mask.

    See :class:`TransitionMatrixNoise` for the parameters.

    Returns
    -------
    y_noisy : array-like of shape (n_samples,)
    noise_mask : ndarray of shape (n_samples,) of bool
    """
    simulator = TransitionMatrixNoise(
        matrix, classes=classes, exact=exact, random_state=random_state
    )
    return _run(simulator, None, y)


def make_instance_noise(X, y, rate, *, exact=True, random_state=None):
    """Noisy copy of ``y`` with feature-dependent noise, and the change mask.

    See :class:`InstanceDependentNoise` for the parameters.

    Returns
    -------
    y_noisy : array-like of shape (n_samples,)
    noise_mask : ndarray of shape (n_samples,) of bool
    """
    simulator = InstanceDependentNoise(rate, exact=exact, random_state=random_state)
    return _run(simulator, X, y)
