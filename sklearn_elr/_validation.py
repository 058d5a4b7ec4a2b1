# SPDX-License-Identifier: BSD-3-Clause
"""Parameter and input checks shared by the estimators and noise simulators.

Only public scikit-learn API is used here: private
helpers such as ``_check_sample_weight`` change between releases.
"""

import contextlib
import copy
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_scalar
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d


def check_lam_beta(lam, beta, name="lam"):
    """Validate ELR's ``lam`` (>= 0, finite) and ``beta`` (in [0, 1))."""
    check_scalar(lam, name, Real, min_val=0.0)
    check_finite(lam, name)
    check_scalar(beta, "beta", Real, min_val=0.0, max_val=1.0, include_boundaries="left")
    check_finite(beta, "beta")


def check_lam_candidates(lam, lams, beta):
    """Validate ``lam`` (a float or "auto") and ``beta``; return the candidates.

    With ``lam="auto"`` the candidates are ``lams``, sorted and deduplicated
    (ties in the selection go to the smaller λ); otherwise ``[lam]``.
    """
    if isinstance(lam, str) and lam == "auto":
        values = np.array(lams, dtype=np.float64, ndmin=1)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"lams must be a non-empty list of floats, got {lams!r}.")
        for value in values:
            check_lam_beta(value, beta, name="lams")
        return np.unique(values)
    if isinstance(lam, str):
        raise ValueError(f"lam must be a float >= 0 or 'auto', got {lam!r}.")
    check_lam_beta(lam, beta)
    return np.array([float(lam)])


def check_rate(rate, name="rate"):
    """Validate a probability in [0, 1] (NaN refused by name)."""
    check_scalar(rate, name, Real, min_val=0.0, max_val=1.0)
    check_finite(rate, name)
    return float(rate)


def labels_as_numpy(y):
    """Labels in a pandas nullable column (``Int64``, ``boolean``, ``string``)
    as a NumPy array of the matching type, so that ``classes_`` keeps the
    user's label type (NumPy would make ``Int64`` float64). Missing labels are
    refused by name. Anything else is returned as given.
    """
    dtype = getattr(y, "dtype", None)
    if dtype is None or not hasattr(y, "isna") or not hasattr(dtype, "na_value"):
        return y  # not a pandas extension-typed column
    if y.isna().any():
        raise ValueError(
            f"y has {int(y.isna().sum())} missing labels (pd.NA); drop or impute those rows first."
        )
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    if numpy_dtype is None or numpy_dtype.kind not in "biuf":
        return y.to_numpy(dtype=object)  # string labels stay strings
    return y.to_numpy(dtype=numpy_dtype)


@contextlib.contextmanager
def restored_on_failure(estimator, deep_keys=()):
    """Put every attribute of ``estimator`` back if the block raises.

    A refused, failed or interrupted (``KeyboardInterrupt``) fit then leaves
    the estimator exactly as it was: fitted as before, or not fitted.
    Attributes named in ``deep_keys`` are deep-copied (together, so objects
    that refer to each other stay consistent); the others are kept by
    reference, which suffices when the fit replaces rather than mutates them.
    """
    saved = {
        key: copy.copy(value) if isinstance(value, (list, dict, set)) else value
        for key, value in vars(estimator).items()
    }
    deep = {key: saved[key] for key in deep_keys if key in saved}
    saved.update(copy.deepcopy(deep))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(saved)
        raise


def check_positive_int(value, name, allow_none=False):
    """Validate an integer >= 1 (or None when allowed)."""
    if allow_none and value is None:
        return None
    check_scalar(value, name, Integral, min_val=1)
    return int(value)


#: The largest |x| the linear solver takes: it squares values (variances,
#: curvature), and float64 overflows past 1.8e308 = (1.3e154)^2.
MAX_ABS_VALUE = 1e150


def check_magnitude(X):
    """Refuse values whose squares overflow float64, naming the cause."""
    values = X.data if sp.issparse(X) else X
    # Two reductions, no temporary: |X| of a memory-mapped X would be a
    # copy of all of it.
    largest = max(-float(np.min(values, initial=0.0)), float(np.max(values, initial=0.0)))
    if largest > MAX_ABS_VALUE:
        raise ValueError(
            f"X has values as large as {largest:.3g}; the solver squares them "
            f"(column variances, curvature) and float64 overflows beyond "
            f"{MAX_ABS_VALUE:.0e}. Rescale X (e.g. StandardScaler, or other units)."
        )


def given_labels(X, y):
    """The given classification labels as a NumPy array, one per row of ``X``.

    For the functions that take any estimator's data (``find_label_issues``,
    ``ELRCleanLearning``): X may be an array, a sparse matrix or a DataFrame.
    """
    given = column_or_1d(labels_as_numpy(y), warn=True)
    check_classification_targets(given)
    n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
    if len(given) != n_samples:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {n_samples} and {len(given)}."
        )
    return given


def check_finite(value, name):
    """Refuse NaN and infinity, naming the parameter."""
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")


def check_sample_weight(sample_weight, n_samples, dtype=np.float64):
    """Return sample weights as a new 1-d array of length ``n_samples``.

    Accepts None (unit weights), a scalar, or an array-like. Raises
    ``ValueError`` for a wrong shape, non-finite or negative values, or weights
    that are all zero (nothing to fit).
    """
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, Real):
        weights = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        weights = np.array(sample_weight, dtype=dtype)  # a copy: never alias
        if weights.ndim != 1:
            raise ValueError(
                f"sample_weight must be 1D array or scalar, got shape {weights.shape}."
            )
        if weights.shape[0] != n_samples:
            raise ValueError(f"sample_weight.shape == {weights.shape}, expected ({n_samples},)!")
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(weights < 0):
        raise ValueError("Negative values in data passed to sample_weight.")
    if not np.any(weights > 0):
        raise ValueError(
            "Sample weights must contain at least one non-zero number; "
            "all sample_weight values are zero."
        )
    return weights


def check_transition_matrix(matrix, n_classes=None, atol=1e-8):
    """Return ``matrix`` as a float array after checking it is row-stochastic.

    ``matrix[i, j] = P(noisy = j | clean = i)``: square, finite, non-negative,
    every row summing to one, and ``n_classes`` wide when that is given.
    """
    matrix = np.array(matrix, dtype=float)  # a copy: the caller's stays as is
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"The transition matrix must be square, got shape {matrix.shape}.")
    if n_classes is not None and matrix.shape[0] != n_classes:
        raise ValueError(
            f"The transition matrix is {matrix.shape[0]} x {matrix.shape[1]} but "
            f"there are {n_classes} classes."
        )
    if not np.all(np.isfinite(matrix)):
        raise ValueError("The transition matrix contains NaN or infinity.")
    if np.any(matrix < 0):
        raise ValueError(f"The transition matrix has negative entries: min {matrix.min():.3g}.")
    row_sums = matrix.sum(axis=1)
    bad = np.flatnonzero(np.abs(row_sums - 1) > atol)
    if bad.size:
        raise ValueError(
            "Each row of the transition matrix (P(noisy = j | clean = i)) must "
            f"sum to 1; rows {bad.tolist()} sum to {row_sums[bad].round(6).tolist()}."
        )
    return matrix


def check_real(value, name, min_val=None, max_val=None, include_boundaries="both"):
    """A finite real number within bounds, refused by name otherwise."""
    check_scalar(
        value, name, Real, min_val=min_val, max_val=max_val,
        include_boundaries=include_boundaries,
    )  # fmt: skip
    check_finite(value, name)


def check_flag(value, name, allow_auto=False):
    """True or False (or ``"auto"`` where allowed), refused by name otherwise."""
    if allow_auto and isinstance(value, str) and value == "auto":
        return
    if not isinstance(value, (bool, np.bool_)):
        choices = "'auto', True or False" if allow_auto else "True or False"
        raise ValueError(f"{name} must be {choices}, got {value!r}.")


def check_test_set(X_test, y_test):
    """``X_test`` and ``y_test`` come together, with one label per row."""
    if (X_test is None) != (y_test is None):
        raise ValueError("Give both X_test and y_test, or neither.")
    if X_test is not None and len(X_test) != len(y_test):
        raise ValueError(f"X_test and y_test have {len(X_test)} and {len(y_test)} rows.")


def check_every(every):
    """``every``: an int >= 1, or a non-empty list of 1-based epochs."""
    if np.ndim(every):
        epochs = np.asarray(every)
        if epochs.size == 0 or epochs.dtype.kind not in "iu" or epochs.min() < 1:
            raise ValueError(f"every must list epochs >= 1, got {every!r}.")
        return every
    check_scalar(every, "every", Integral, min_val=1)
    return every


def records_epoch(every, epoch):
    """Whether a monitor with ``every`` records 1-based ``epoch``: the first
    and every ``every``-th after it, or the listed epochs."""
    if np.ndim(every):
        return epoch in set(np.asarray(every).tolist())
    return (epoch - 1) % every == 0
