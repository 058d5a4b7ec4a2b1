# SPDX-License-Identifier: BSD-3-Clause
"""Weighted column moments of X, without a copy: shared NumPy helpers.

Used by the linear solver (its coordinates and step size) and by the default
MLP of the networks (its input standardisation), which therefore do not
depend on each other.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import mean_variance_axis

#: Rows per block of the dense moments: float64 blocks of a float32 X stay
#: small (no float64 copy of all of X).
BLOCK_ROWS = 4096


def feature_moments(X, weight):
    """Weighted column means and standard deviations of ``X``, without a copy.

    ``weight`` sums to one. Weighting keeps "a weight of 2 is a repeated row"
    exact. Constant columns get a standard deviation of one.
    """
    mean, std = raw_moments(X, weight)
    return mean, np.where(constant_columns(mean, std), 1.0, std)


def is_dask_array(X):
    """Whether X is a Dask array (checked without importing Dask)."""
    return type(X).__module__.partition(".")[0] == "dask" and hasattr(X, "chunks")


def raw_moments(X, weight):
    """``feature_moments`` before constant columns are given a scale of one."""
    if is_dask_array(X):
        from ._dask import raw_moments as dask_moments

        return dask_moments(X, weight)
    if sp.issparse(X):
        # scikit-learn's sparse moments want weights of X's dtype: float64
        # moments of float32 data (a TfidfVectorizer(dtype=float32)) from a
        # float64 copy of the stored values, not float32 arithmetic.
        X = X.astype(np.float64, copy=False)
        mean, var = mean_variance_axis(X, axis=0, weights=np.asarray(weight, dtype=np.float64))
    else:
        # Block by block, in float64 whatever the dtype of X and weight:
        # squares of large float32 values (1e19) overflow, and a float64
        # matrix product with all of a float32 X would copy it.
        # Renormalised in float64: float32 weights sum to 1 only within 1e-7,
        # which would give a constant column a spread of 1e-7 times its value.
        weight = np.asarray(weight, dtype=np.float64)
        weight = weight / weight.sum()
        blocks = [slice(start, start + BLOCK_ROWS) for start in range(0, X.shape[0], BLOCK_ROWS)]
        mean = sum(weight[rows] @ X[rows].astype(np.float64, copy=False) for rows in blocks)
        var = np.zeros(X.shape[1], dtype=np.float64)
        for rows in blocks:
            block = X[rows].astype(np.float64, copy=False) - mean
            var += weight[rows] @ (block * block)
    return mean, np.sqrt(np.maximum(var, 0.0))


def constant_columns(mean, std):
    """Columns whose spread is at the rounding level of their mean.

    They get a scale of one. The rule is relative, so a feature measured in
    1e-30 units is a feature like any other: the fit does not depend on the
    scale of X.
    """
    return (std <= 1e-10 * np.abs(mean)) | (std == 0)
