# SPDX-License-Identifier: BSD-3-Clause
"""Epoch loop and optimizers for the multinomial linear ELR model.

The model is ``logits = X @ W + b`` with ``W`` of shape (n_features, n_classes).
One epoch visits every row once, so every example's target is updated exactly
once per epoch, as in the paper. A full-batch epoch runs over contiguous row
blocks: each block's logits, softmax, target update and gradient stay in cache
between the two matrix products, and no copy of ``X`` is ever made.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import mean_variance_axis

from ._elr_numpy import elr_step, softmax, update_targets

# Rows per block in a full-batch epoch: 4096 x 10 classes of float64 logits
# is 320 KiB, small enough to stay in cache between the two products, large
# enough for efficient BLAS and few Python-level calls (measured: 1.4x the
# bare two-product time at 4096 rows, 1.9x at 64k).
_BLOCK_ROWS = 4096


class Adam:
    """Adam (Kingma & Ba 2015) over a list of parameter arrays, in place."""

    def __init__(self, params, learning_rate, beta_1=0.9, beta_2=0.999, eps=1e-8):
        self.params = params
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.eps = beta_1, beta_2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        # Bias-corrected step size (the paper's Algorithm 1, final form).
        lr = self.learning_rate * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p -= lr * m / (np.sqrt(v) + self.eps)


class GradientDescent:
    """Plain (stochastic) gradient descent with a constant step, in place."""

    def __init__(self, params, learning_rate):
        self.params = params
        self.learning_rate = learning_rate

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p -= self.learning_rate * g


OPTIMIZERS = {"adam": Adam, "sgd": GradientDescent}


def feature_moments(X, weight):
    """Weighted column means and standard deviations of ``X``, without a copy.

    ``weight`` sums to one. Weighting keeps "a weight of 2 is a repeated row"
    exact. Constant columns get a standard deviation of one.
    """
    if sp.issparse(X):
        mean, var = mean_variance_axis(X, axis=0, weights=weight)
    else:
        mean = weight @ X
        # Squares block by block: (X - mean) ** 2 or X * X would copy X.
        second = np.zeros(X.shape[1], dtype=np.float64)
        for start in range(0, X.shape[0], _BLOCK_ROWS):
            block = X[start : start + _BLOCK_ROWS]
            second += weight[start : start + _BLOCK_ROWS] @ (block * block)
        var = second - mean**2
    std = np.sqrt(np.maximum(var, 0.0))
    return mean, np.where(std > 1e-6 * (1 + np.abs(mean)), std, 1.0)


def fit_linear_elr(
    X,
    y,
    weight,
    coef,
    intercept,
    targets,
    *,
    lam,
    beta,
    alpha,
    fit_intercept,
    solver,
    learning_rate,
    batch_size,
    max_iter,
    tol,
    n_iter_no_change,
    rng,
    callback=None,
):
    """Minimise the ELR objective, updating ``coef``, ``intercept``, ``targets``.

    Objective of one epoch (targets held at their values after this epoch's
    update): ``sum_i weight_i (CE_i + lam * penalty_i) + alpha / 2 * ||W||^2``.

    With ``solver="adam"`` the optimizer works on the coefficients of the
    standardised features, ``W = V / std`` and ``b = c - mean @ W``, without
    ever forming the standardised ``X``. The objective is unchanged; the path
    is not: centred features let the intercept learn as fast as the
    coefficients, so the early predictions, which ELR's targets remember, are
    not skewed by feature offsets. ``"sgd"`` is plain gradient descent on
    ``(W, b)``, the setting of the paper's theory.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) of int
        Class indices.
    weight : ndarray of shape (n_samples,)
        Non-negative, summing to one.
    coef : ndarray of shape (n_features, n_classes)
        Initial ``W``, updated in place.
    intercept : ndarray of shape (n_classes,)
        Initial ``b``, updated in place; stays zero when ``fit_intercept`` is
        False.
    targets : ndarray of shape (n_samples, n_classes)
        Updated in place, once per epoch per row.
    lam, beta, alpha, learning_rate, tol : float
    fit_intercept : bool
    solver : {"adam", "sgd"}
    batch_size : int or None
        None means full batch.
    max_iter, n_iter_no_change : int
    rng : numpy.random.RandomState
        Shuffles the mini-batches.
    callback : callable, default=None
        Called as ``callback(epoch, loss, coef, intercept, targets)`` after
        each epoch; a true return value stops training.

    Returns
    -------
    n_iter : int
        Epochs run.
    loss_curve : list of float
        Objective of each epoch, measured during its pass.
    """
    n_samples, n_features = X.shape
    dtype = coef.dtype
    if solver == "adam":
        mean, std = feature_moments(X, weight)
        if not fit_intercept:
            mean = np.zeros_like(mean)  # no intercept to absorb the centring
    else:
        mean, std = np.zeros(n_features), np.ones(n_features)
    mean, std = mean.astype(dtype), std.astype(dtype)[:, None]
    # Optimizer variables (V, c) for the standardised features.
    v_coef = coef * std
    v_intercept = intercept + mean @ coef
    params = [v_coef, v_intercept] if fit_intercept else [v_coef]
    optimizer = OPTIMIZERS[solver](params, learning_rate)
    grad_coef = np.empty_like(coef)
    grad_intercept = np.empty_like(intercept)

    def sync():
        """Write (W, b) from (V, c)."""
        np.divide(v_coef, std, out=coef)
        if fit_intercept:
            np.subtract(v_intercept, mean @ coef, out=intercept)

    def step():
        """Add the L2 term, map the gradient to (V, c), update."""
        np.add(grad_coef, alpha * coef, out=grad_coef)
        grad_v = (grad_coef - np.outer(mean, grad_intercept)) / std
        optimizer.step([grad_v, grad_intercept])
        sync()

    full_batch = batch_size is None or batch_size >= n_samples
    loss_curve = []
    best_loss, no_improvement = np.inf, 0
    for epoch in range(max_iter):
        epoch_loss = 0.0
        if full_batch:
            grad_coef.fill(0.0)
            grad_intercept.fill(0.0)
            for start in range(0, n_samples, _BLOCK_ROWS):
                block = slice(start, start + _BLOCK_ROWS)
                epoch_loss += _accumulate(
                    X[block], y[block], weight[block], targets[block],
                    coef, intercept, lam, beta, grad_coef, grad_intercept,
                )  # fmt: skip
            step()
        else:
            order = rng.permutation(n_samples)
            for start in range(0, n_samples, batch_size):
                # Sorted rows gather faster and leave the step unchanged.
                batch = np.sort(order[start : start + batch_size])
                # Fancy indexing copies the rows, so write the targets back.
                batch_targets = targets[batch]
                weight_batch = weight[batch]
                batch_mass = weight_batch.sum()
                if batch_mass == 0:
                    # Rows without weight still get their once-per-epoch update.
                    logits = X[batch] @ coef + intercept
                    update_targets(batch_targets, softmax(logits), beta, out=batch_targets)
                    targets[batch] = batch_targets
                    continue
                grad_coef.fill(0.0)
                grad_intercept.fill(0.0)
                epoch_loss += _accumulate(
                    X[batch], y[batch], weight_batch / batch_mass,
                    batch_targets, coef, intercept, lam, beta,
                    grad_coef, grad_intercept,
                ) * float(batch_mass)  # fmt: skip
                targets[batch] = batch_targets
                step()
        epoch_loss += 0.5 * alpha * float(np.vdot(coef, coef))
        loss_curve.append(epoch_loss)

        if callback is not None and callback(epoch, epoch_loss, coef, intercept, targets):
            return epoch + 1, loss_curve
        # scikit-learn's MLP rule: stop after ``n_iter_no_change`` epochs that
        # fail to improve the best loss by at least ``tol``.
        if tol is not None:
            if epoch_loss > best_loss - tol:
                no_improvement += 1
            else:
                no_improvement = 0
            best_loss = min(best_loss, epoch_loss)
            if no_improvement >= n_iter_no_change:
                return epoch + 1, loss_curve
    return max_iter, loss_curve


def _accumulate(Xb, yb, wb, tb, coef, intercept, lam, beta, grad_coef, grad_intercept):
    """Add one block's gradient to ``grad_*``; return its weighted loss."""
    logits = Xb @ coef
    logits += intercept
    ce, penalty = elr_step(logits, yb, tb, lam, wb, beta=beta)
    grad = logits  # ``elr_step`` left the gradient in the logits buffer
    grad_coef += Xb.T @ grad
    grad_intercept += grad.sum(axis=0)
    return ce + lam * penalty
