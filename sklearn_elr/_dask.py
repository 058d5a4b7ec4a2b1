# SPDX-License-Identifier: BSD-3-Clause
"""The linear model on Dask arrays: each pass over X runs chunk by chunk.

Loaded only when :class:`~sklearn_elr.LinearELRClassifier` is given a Dask
array (``import sklearn_elr`` does not import Dask). The computation is the
one of the in-memory solver, in the shape of dask-ml's GLMs: every pass over
``X`` (moments, step size, epochs, held-out scores) is one task per row chunk
on the workers, and only vectors of the features' size travel; the per-row
state (labels, weights, ELR targets, last epoch's probabilities) lives in
persisted chunks beside ``X``. An epoch's task on a chunk is
:func:`~sklearn_elr._linear_solver.blocks_step`, the in-memory full-batch
epoch itself, so the two paths differ only in the order of the sums across
chunks.
"""

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp
from dask import delayed

from ._linear_solver import blocks_step

#: Targets smaller than this are returned as NumPy arrays after a fit.
SMALL_BYTES = 64 * 2**20


def as_row_chunks(X):
    """``X`` with one chunk across its columns (row chunks only)."""
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-d Dask array, got {X.ndim} dimensions.")
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def _check_chunk(Xb):
    values = Xb.data if sp.issparse(Xb) else np.asarray(Xb)
    finite = bool(np.isfinite(values).all())
    return finite, float(np.max(np.abs(values), initial=0.0))


def check_chunks(X):
    """``(all finite, largest |x|)`` of X, one pass."""
    results = dask.compute(*[delayed(_check_chunk)(b) for b in X.to_delayed().ravel()])
    return all(r[0] for r in results), max((r[1] for r in results), default=0.0)


def split_rows(X, values):
    """``values`` (NumPy, one entry per row) as persisted pieces matching X's row chunks."""
    bounds = np.cumsum((0, *X.chunks[0]))
    pieces = [values[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    client = _client()
    if client is not None:  # straight to the workers, not inside a graph
        return client.scatter(pieces)
    return list(dask.persist(*[delayed(np.asarray)(piece) for piece in pieces]))


def _client():
    """The distributed client in use, or None (Dask's local scheduler)."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def _chunks(X):
    return list(X.to_delayed().ravel())


def _moment1(Xb, wb):
    return np.asarray(wb @ Xb, dtype=np.float64).ravel()


def _moment2(Xb, wb, mean):
    if sp.issparse(Xb):
        # Centred sums, without the cancellation of E[x^2] - mean^2: the
        # stored entries, plus mean^2 for each row's implicit zeros.
        coo = Xb.tocoo()
        rows, cols = coo.row, coo.col
        centred = coo.data.astype(np.float64) - mean[cols]
        d = Xb.shape[1]
        stored = np.bincount(cols, weights=wb[rows] * centred * centred, minlength=d)
        stored_weight = np.bincount(cols, weights=wb[rows], minlength=d)
        # Exactly zero for a column stored in every row (no cancellation).
        full = np.bincount(cols, minlength=d) == Xb.shape[0]
        implicit_weight = np.where(full, 0.0, wb.sum() - stored_weight)
        return stored + mean * mean * implicit_weight
    block = np.asarray(Xb, dtype=np.float64) - mean
    return wb @ (block * block)


def raw_moments(X, weight):
    """Weighted column means and standard deviations, two passes over X."""
    weight = np.asarray(weight, dtype=np.float64)
    weights = split_rows(X, weight / weight.sum())  # as in memory: exactly normalised
    chunks = _chunks(X)
    mean = sum(dask.compute(*[delayed(_moment1)(b, w) for b, w in zip(chunks, weights)]))
    var = sum(dask.compute(*[delayed(_moment2)(b, w, mean) for b, w in zip(chunks, weights)]))
    return mean, np.sqrt(np.maximum(var, 0.0))


def _power_step(Xb, wb, mean, v):
    # In the chunk's dtype, as in memory: a float64 vector would copy a
    # float32 chunk to float64.
    u = Xb @ v.astype(Xb.dtype, copy=False) - mean @ v
    return np.asarray(Xb.T @ (wb * u).astype(Xb.dtype, copy=False)).ravel(), wb @ u


def power_products(X, weight):
    """``v -> (X.T @ (w * (X @ v - mean @ v)), w @ (X @ v - mean @ v))``, one pass each call.

    For :func:`~sklearn_elr._linear_solver.curvature`'s power iterations.
    """
    weights = split_rows(X, np.asarray(weight, dtype=np.float64))
    chunks = _chunks(X)

    def products(mean, v):
        parts = dask.compute(
            *[delayed(_power_step)(b, w, mean, v) for b, w in zip(chunks, weights)]
        )
        return sum(p[0] for p in parts), sum(p[1] for p in parts)

    return products


def _epoch_chunk(Xb, yb, wb, tb, previous, coef, intercept, lam_rows, n_candidates, beta):
    # Persisted chunks may be shared: the new targets are a new array.
    tb = tb.copy()
    probs = None if previous is None else np.empty_like(previous)
    grad_coef, grad_intercept, ce, penalty = blocks_step(
        Xb, yb, wb, tb, coef, intercept, lam_rows, n_candidates, beta, probs=probs
    )
    change = None
    if previous is not None:
        n_classes = coef.shape[1] // n_candidates
        change = wb @ np.abs(probs - previous).reshape(len(yb), n_candidates, n_classes).sum(2)
    return (grad_coef, grad_intercept, ce, penalty, change), tb, probs


class DaskEpochs:
    """The per-row state of a fit on a Dask array, and its full-batch epochs.

    ``epoch(coef, intercept)`` runs one task per chunk (the rows' step of
    every candidate, their targets' update) and returns the summed
    gradients and losses, and with ``track_change`` the mean
    total-variation change of the rows' probabilities since the last epoch.
    """

    def __init__(self, X, y, weight, width, dtype, lam_rows, n_candidates, beta, track_change):
        self.X = X
        self.chunks = _chunks(X)
        self.ys = split_rows(X, y)
        self.weights = split_rows(X, weight)
        self.sizes = X.chunks[0]
        self.width, self.dtype = width, dtype
        zeros = [delayed(np.zeros)((n, width), dtype) for n in self.sizes]
        self.targets = list(dask.persist(*zeros))
        self.probs = list(dask.persist(*zeros)) if track_change else [None] * len(zeros)
        self.lam_rows, self.n_candidates, self.beta = lam_rows, n_candidates, beta
        self.change = None

    def epoch(self, coef, intercept):
        outs = [
            delayed(_epoch_chunk, nout=3)(
                Xb, yb, wb, tb, pb, coef, intercept, self.lam_rows, self.n_candidates, self.beta
            )
            for Xb, yb, wb, tb, pb in zip(
                self.chunks, self.ys, self.weights, self.targets, self.probs
            )
        ]
        # One pass computes everything: the small sums come back, the new
        # targets (and probabilities) stay where they were computed.
        flat = [o for out in outs for o in out]
        client = _client()
        if client is not None:  # one round trip to the scheduler, not two
            persisted = client.compute(flat)
            summaries = client.gather(persisted[0::3])
        else:
            persisted = dask.persist(*flat)
            summaries = dask.compute(*persisted[0::3])
        self.targets = list(persisted[1::3])
        if self.probs[0] is not None:
            self.probs = list(persisted[2::3])
        grad_coef = np.zeros_like(coef)
        grad_intercept = np.zeros_like(intercept)
        ce_sum = np.zeros(self.n_candidates)
        penalty_sum = np.zeros(self.n_candidates)
        changes = []
        for gc, gi, ce, penalty, change in summaries:
            grad_coef += gc
            grad_intercept += gi
            ce_sum += ce
            penalty_sum += penalty
            changes.append(change)
        if self.probs[0] is not None:
            self.change = sum(changes) / 2
        return grad_coef, grad_intercept, ce_sum, penalty_sum

    def targets_array(self):
        """The targets as one Dask array (row chunks as X)."""
        return da.concatenate(
            [
                da.from_delayed(t, shape=(n, self.width), dtype=self.dtype)
                for t, n in zip(self.targets, self.sizes)
            ]
        )


def _quality_chunk(tb, yb):
    from .diagnostics import label_quality_from_targets

    quality, issues = label_quality_from_targets(tb, yb)
    return np.column_stack([quality, issues])


def label_quality(targets, y_idx):
    """``label_quality_from_targets`` chunk by chunk: two Dask arrays."""
    bounds = np.cumsum((0, *targets.chunks[0]))
    ys = [y_idx[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    pairs = da.concatenate(
        [
            da.from_delayed(delayed(_quality_chunk)(t, yb), shape=(len(yb), 2), dtype=np.float64)
            for t, yb in zip(targets.to_delayed().ravel(), ys)
        ]
    )
    return pairs[:, 0], pairs[:, 1].astype(bool)
