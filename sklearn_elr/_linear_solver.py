# SPDX-License-Identifier: BSD-3-Clause
"""Epoch loop and optimizers for the multinomial linear ELR model.

The model is ``logits = X @ W + b``. Several candidate models, one per value
of λ, can train side by side: their coefficients are the column blocks of one
``W`` of shape (n_features, n_candidates * n_classes), so every pass over
``X`` serves them all. Reading ``X`` dominates these thin products, so three
candidates cost about 1.5 times one (measured on 100,000 x 200, 10 classes).

One epoch visits every row once, so every example's target is updated exactly
once per epoch, as in the paper. A full-batch epoch runs over contiguous row
blocks: each block's logits, softmax, target update and gradient stay in cache
between the two matrix products, and no copy of ``X`` is ever made.
"""

from functools import partial

import numpy as np

from ._elr_numpy import elr_step, softmax
from ._moments import constant_columns, is_dask_array, raw_moments

# Rows per block in a full-batch epoch: 4096 x 10 classes of float64 logits
# is 320 KiB, small enough to stay in cache between the two products, large
# enough for efficient BLAS and few Python-level calls (measured: 1.4x the
# bare two-product time at 4096 rows, 1.9x at 64k).
_BLOCK_ROWS = 4096

#: Held-out accuracy gain that counts as progress for early stopping: below
#: it, gains are a handful of rows, and chasing them costs epochs.
MIN_GAIN = 1e-3


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
    """Gradient descent with a constant step and Nesterov momentum, in place.

    The update is PyTorch's ``SGD(nesterov=True)``: ``m <- mu m + g``, then
    ``p <- p - lr (g + mu m)``. ``momentum=0`` is plain gradient descent.
    """

    def __init__(self, params, learning_rate, momentum=0.9):
        self.params = params
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.m = [np.zeros_like(p) for p in params]

    def step(self, grads):
        mu = self.momentum
        for p, g, m in zip(self.params, grads, self.m):
            if mu:
                m *= mu
                m += g
                g = g + mu * m
            p -= self.learning_rate * g


OPTIMIZERS = {
    "nesterov": GradientDescent,
    "gd": partial(GradientDescent, momentum=0.0),
    "adam": Adam,
}

#: Solvers that train in standardised coordinates ("gd" is the paper's theory
#: setting: plain gradient descent on the raw features).
STANDARDISED = ("nesterov", "adam")


def curvature(X, weight, mean, std, fit_intercept, n_iter=12):
    """Upper estimate of the curvature of the mean cross-entropy.

    The Hessian of the weighted mean softmax cross-entropy, in the
    coordinates of the standardised features ``Z = (X - mean) / std`` (and a
    column of ones for the intercept), is bounded by ``0.5 * lmax(Z^T W Z)``
    (Böhning's bound). ``lmax`` comes from a few power iterations, which
    approach it from below, hence the 10 % margin. No copy of ``X`` is made.
    The start is fixed, so equal data (or weights equal to repeated rows)
    give the same step.
    """
    if is_dask_array(X):
        from ._dask import power_products

        products = power_products(X, weight)
    else:

        def products(mean, x):
            # In X's dtype: a float64 vector would make numpy copy a float32
            # X (or memory map) to float64 for the product.
            u = X @ x.astype(X.dtype, copy=False) - mean @ x
            return X.T @ (weight * u).astype(X.dtype, copy=False), weight @ u

    v = np.random.RandomState(0).standard_normal(X.shape[1])
    norm = 1.0
    for _ in range(n_iter):
        v /= np.linalg.norm(v)
        spread, level = products(mean, v / std)
        v = (spread - mean * level) / std
        norm = float(np.linalg.norm(v))
        if norm == 0.0:  # X is all zeros (after centring): no curvature
            break
    top = norm
    if fit_intercept:
        # Centred columns are orthogonal (in the weighted inner product) to
        # the column of ones, whose eigenvalue is sum(weight) = 1.
        top = max(top, 1.0)
    return 0.55 * top


#: Columns whose spreads are all within this factor of each other keep their
#: relative scale in the solver's coordinates (see :func:`_coordinates`).
SHARED_SCALE_RATIO = 10.0


def _coordinates(X, weight, fit_intercept, solver):
    """Centre and scale of the coordinates the solver works in.

    Columns are centred, then divided by their standard deviations, unless
    those are all within ``SHARED_SCALE_RATIO`` of each other: then every
    column is divided by one common scale (their median). Standardising
    columns that are already on one scale gives each low-variance direction
    the weight of the signal: on the paper's two-cluster problem (one
    informative column with 25 times the variance of each of 999 noise
    columns) gradient descent in standardised coordinates memorizes the
    wrong labels within a few epochs, with or without ELR, while on the
    common scale the informative direction is learned first (the
    early-learning phase of the paper's theory). Either way the fit does not
    depend on the units of ``X``: a common factor always, and the units of
    each column once they differ by more than the ratio.
    """
    if solver not in STANDARDISED:
        return np.zeros(X.shape[1]), np.ones(X.shape[1])
    mean, std = raw_moments(X, weight)
    constant = constant_columns(mean, std)
    varying = std[~constant]
    if len(varying) and varying.max() <= SHARED_SCALE_RATIO * varying.min():
        std = np.full_like(std, np.median(varying))
    std[constant] = 1.0
    if not fit_intercept:
        mean = np.zeros_like(mean)  # no intercept to absorb the centring
    return mean, std


def default_learning_rate(X, weight, alpha, fit_intercept, solver):
    """The step size of ``learning_rate="auto"``.

    ``1 / (curvature + alpha)`` for gradient descent, with or without
    momentum (the largest safe constant step for the cross-entropy), 0.01
    for Adam. Computed once per ``fit`` and shared by every split.
    """
    if solver == "adam":
        return 0.01
    mean, std = _coordinates(X, weight, fit_intercept, solver)
    bound = curvature(X, weight, mean, std, fit_intercept) + alpha
    # Zero only when nothing can move (X all zeros, no intercept, alpha=0):
    # any finite step is then exact.
    return 1.0 / bound if bound > 0 else 1.0


def rows_step(Xb, yb, wb, tb, coef, intercept, lam_rows, n_candidates, beta, want_probs=False):
    """One epoch's work on some rows, for every candidate at once.

    The logits of the rows, their targets' update (``tb``, in place), their
    weighted losses and their gradient sums. The one kernel of every path:
    the in-memory blocks, the mini-batches and each Dask chunk.

    Returns
    -------
    grad_coef, grad_intercept : ndarray
        ``Xb.T @ G`` and ``G.sum(axis=0)``.
    ce, penalty : ndarray of shape (n_candidates,)
        Weighted sums over the rows.
    probs : ndarray of shape (n_rows, n_candidates * n_classes) or None
        The rows' probabilities, with ``want_probs``.
    """
    n_classes = coef.shape[1] // n_candidates
    logits = Xb @ coef
    logits += intercept
    m = logits.shape[0]
    view = logits.reshape(m * n_candidates, n_classes)
    probs = softmax(view).reshape(m, -1) if want_probs else None
    ce, penalty = elr_step(
        view, np.repeat(yb, n_candidates), tb.reshape(m * n_candidates, n_classes),
        lam_rows[: m * n_candidates], np.repeat(wb, n_candidates), beta=beta, reduce=False,
    )  # fmt: skip
    # The kernel left the gradient of the logits in ``logits``.
    return (
        Xb.T @ logits,
        logits.sum(axis=0),
        ce.reshape(m, n_candidates).sum(axis=0),
        penalty.reshape(m, n_candidates).sum(axis=0),
        probs,
    )


def blocks_step(X, y, weight, targets, coef, intercept, lam_rows, n_candidates, beta, probs=None):
    """:func:`rows_step` over contiguous blocks of ``_BLOCK_ROWS`` rows, summed.

    Each block's logits, target update and gradient stay in cache between
    the two products; ``targets`` (and ``probs``, when given) are written in
    place. A full-batch epoch on rows in memory, or on one Dask chunk.
    Returns ``(grad_coef, grad_intercept, ce, penalty)``.
    """
    grad_coef = np.zeros_like(coef)
    grad_intercept = np.zeros_like(intercept)
    ce_sum, penalty_sum = np.zeros(n_candidates), np.zeros(n_candidates)
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        block = slice(start, start + _BLOCK_ROWS)
        gc, gi, ce, penalty, block_probs = rows_step(
            X[block], y[block], weight[block], targets[block], coef, intercept, lam_rows,
            n_candidates, beta, want_probs=probs is not None,
        )  # fmt: skip
        if probs is not None:
            probs[block] = block_probs
        np.add(grad_coef, gc, out=grad_coef)
        np.add(grad_intercept, gi, out=grad_intercept)
        ce_sum += ce
        penalty_sum += penalty
    return grad_coef, grad_intercept, ce_sum, penalty_sum


class _CandidatesState:
    """The coefficients of the candidates side by side, and one epoch of them.

    Holds ``W, b`` (the caller's arrays, updated in place), the optimizer's
    variables ``V = W * std, c = b + mean @ W`` in the solver's coordinates,
    and the gradient buffers. ``probs`` (set by a stopping rule that needs
    them) receives each row's probabilities as its block passes.
    """

    def __init__(self, X, y, weight, coef, intercept, targets, *, lams, beta, alpha,
                 fit_intercept, solver, learning_rate, most_rows):  # fmt: skip
        self.X, self.y, self.weight, self.targets = X, y, weight, targets
        self.coef, self.intercept = coef, intercept
        self.lams = np.asarray(lams, dtype=np.float64)
        self.n_candidates = len(self.lams)
        self.n_classes = coef.shape[1] // self.n_candidates
        self.beta, self.alpha, self.fit_intercept = beta, alpha, fit_intercept
        dtype = coef.dtype
        mean, std = _coordinates(X, weight, fit_intercept, solver)
        self.mean, self.std = mean.astype(dtype), std.astype(dtype)[:, None]
        self.v_coef = coef * self.std
        self.v_intercept = intercept + self.mean @ coef
        params = [self.v_coef, self.v_intercept] if fit_intercept else [self.v_coef]
        self.optimizer = OPTIMIZERS[solver](params, learning_rate)
        self.grad_coef = np.empty_like(coef)
        self.grad_intercept = np.empty_like(intercept)
        # Row r of a block, candidate k, is row r * n_candidates + k of the
        # (rows * n_candidates, n_classes) view that the kernel works on.
        self.lam_rows = np.tile(self.lams.astype(dtype), most_rows)
        self.probs = None
        # On a Dask array the per-row state lives in chunks beside X
        # (``_dask.DaskEpochs``), made at the first epoch.
        self.track_change = False
        self.dask_epochs = None

    def _sync(self):
        """Write (W, b) from (V, c)."""
        np.divide(self.v_coef, self.std, out=self.coef)
        if self.fit_intercept:
            np.subtract(self.v_intercept, self.mean @ self.coef, out=self.intercept)

    def _step(self):
        """Map the gradient to (V, c), add the L2 term, update."""
        grad_v = (self.grad_coef - np.outer(self.mean, self.grad_intercept)) / self.std
        grad_v += self.alpha * self.v_coef
        self.optimizer.step([grad_v, self.grad_intercept])
        self._sync()

    def _zero_grad(self):
        self.grad_coef.fill(0.0)
        self.grad_intercept.fill(0.0)

    def _accumulate(self, rows, wb, tb):
        """Add the gradient of ``rows`` to the buffers; return their losses."""
        gc, gi, ce, penalty, probs = rows_step(
            self.X[rows], self.y[rows], wb, tb, self.coef, self.intercept, self.lam_rows,
            self.n_candidates, self.beta, want_probs=self.probs is not None,
        )  # fmt: skip
        if probs is not None:
            self.probs[rows] = probs
        np.add(self.grad_coef, gc, out=self.grad_coef)
        np.add(self.grad_intercept, gi, out=self.grad_intercept)
        return ce, penalty

    def full_batch_epoch(self):
        """One step on all rows, over contiguous blocks; the epoch's (CE, penalty) sums."""
        if is_dask_array(self.X):
            if self.dask_epochs is None:
                from ._dask import DaskEpochs

                self.dask_epochs = DaskEpochs(
                    self.X, self.y, self.weight, self.coef.shape[1], self.coef.dtype,
                    self.lam_rows, self.n_candidates, self.beta, self.track_change,
                )  # fmt: skip
            parts = self.dask_epochs.epoch(self.coef, self.intercept)
        else:
            parts = blocks_step(
                self.X, self.y, self.weight, self.targets, self.coef, self.intercept,
                self.lam_rows, self.n_candidates, self.beta, probs=self.probs,
            )  # fmt: skip
        self.grad_coef[:], self.grad_intercept[:], ce_sum, penalty_sum = parts
        self._step()
        return ce_sum, penalty_sum

    def minibatch_epoch(self, rng, batch_size):
        """One step per shuffled batch; the epoch's weighted (CE, penalty) sums."""
        ce_sum, penalty_sum = np.zeros(self.n_candidates), np.zeros(self.n_candidates)
        order = rng.permutation(len(self.y))
        for start in range(0, len(self.y), batch_size):
            # Sorted rows gather faster and leave the step unchanged.
            batch = np.sort(order[start : start + batch_size])
            # Fancy indexing copies the rows, so write the targets back.
            batch_targets = self.targets[batch]
            weight_batch = self.weight[batch]
            batch_mass = weight_batch.sum()
            self._zero_grad()
            if batch_mass == 0:
                # Rows without weight still get their once-per-epoch
                # target update; zero weights leave the gradient at zero.
                self._accumulate(batch, weight_batch, batch_targets)
                self.targets[batch] = batch_targets
                continue
            ce, penalty = self._accumulate(batch, weight_batch / batch_mass, batch_targets)
            ce_sum += ce * batch_mass
            penalty_sum += penalty * batch_mass
            self.targets[batch] = batch_targets
            self._step()
        return ce_sum, penalty_sum

    def objective(self, ce_sum, penalty_sum):
        """Each candidate's epoch objective, with the L2 term of ``V``."""
        loss = ce_sum + self.lams * penalty_sum
        squares = np.square(self.v_coef).reshape(-1, self.n_candidates, self.n_classes)
        return loss + 0.5 * self.alpha * squares.sum(axis=(0, 2))


def _chunk_logits(Xb, coef, intercept):
    return Xb @ coef + intercept


class _HeldOutStop:
    """Record each candidate's held-out accuracy per epoch; stop once none gains.

    Stops when no candidate has gained ``MIN_GAIN`` over its best for
    ``n_iter_no_change`` epochs. The caller picks the candidate and epoch.
    """

    def __init__(self, validation, n_iter_no_change):
        self.X, self.y, self.weight = validation
        if is_dask_array(self.X):  # gathered once, kept beside the training chunks
            self.X = self.X.persist()
        self.n_iter_no_change = n_iter_no_change
        self.scores = []
        self.floor = None
        self.last_progress = 0

    def after_epoch(self, state, epoch):
        if is_dask_array(self.X):
            # Chunk by chunk: Dask's matmul cannot multiply sparse chunks.
            logits = self.X.map_blocks(
                _chunk_logits, state.coef, state.intercept, dtype=state.coef.dtype,
                chunks=(self.X.chunks[0], (state.coef.shape[1],)),
            ).compute()  # fmt: skip
        else:
            logits = self.X @ state.coef + state.intercept
        predicted = logits.reshape(-1, state.n_candidates, state.n_classes).argmax(axis=2)
        score = self.weight @ (predicted == self.y[:, None])
        self.scores.append(score)
        floor = np.full(state.n_candidates, -np.inf) if self.floor is None else self.floor
        progress = score > floor + MIN_GAIN
        self.floor = np.where(progress, score, floor)
        if progress.any():
            self.last_progress = epoch + 1
        return epoch + 1 - self.last_progress >= self.n_iter_no_change


class _SettledStop:
    """Stop once the training probabilities have settled.

    The mean total-variation change of each row's probabilities over one
    epoch stays below ``tol`` (every candidate) for ``n_iter_no_change``
    epochs. Gives the state a ``probs`` buffer to fill.
    """

    def __init__(self, state, tol, n_iter_no_change):
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        state.track_change = True
        if not is_dask_array(state.X):  # Dask chunks keep their own
            self.current = np.zeros_like(state.targets)
            self.previous = np.zeros_like(state.targets)
            state.probs = self.current
        self.quiet = 0

    def after_epoch(self, state, epoch):
        if state.dask_epochs is not None:
            change = state.dask_epochs.change
        else:
            n, k, c = len(state.y), state.n_candidates, state.n_classes
            current, previous = self.current, self.previous
            change = state.weight @ np.abs(current - previous).reshape(n, k, c).sum(axis=2) / 2
            self.previous, self.current = current, previous
            state.probs = self.current
        self.quiet = self.quiet + 1 if epoch and np.all(change < self.tol) else 0
        return self.quiet >= self.n_iter_no_change


# A diverging run overflows on its way to the FloatingPointError it raises.
@np.errstate(over="ignore", invalid="ignore")
def fit_linear_elr(
    X,
    y,
    weight,
    coef,
    intercept,
    targets,
    *,
    lams,
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
    validation=None,
    callback=None,
):
    """Minimise the ELR objective of one or more candidates, in place.

    Objective of candidate ``k`` in one epoch (targets held at their values
    after this epoch's update): ``sum_i weight_i (CE_i + lams[k] penalty_i) +
    alpha / 2 * ||V_k||^2``, where ``V`` are the coefficients of the
    standardised features.

    "nesterov" and "adam" work on the coefficients of the standardised
    features, ``W = V / std`` and ``b = c - mean @ W``, without ever forming
    the standardised ``X``: the path (and the L2 penalty) is the one of a
    StandardScaler in front of the model, whatever the scale of ``X``.
    "gd" is plain gradient descent on the raw features, the setting of the
    paper's theory. The state and its epochs are :class:`_CandidatesState`;
    the stopping rules :class:`_HeldOutStop` and :class:`_SettledStop`.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) of int
        Class indices.
    weight : ndarray of shape (n_samples,)
        Non-negative, summing to one.
    coef : ndarray of shape (n_features, n_candidates * n_classes)
        Initial ``W``, updated in place; candidate ``k`` owns the columns
        ``k * n_classes : (k + 1) * n_classes``.
    intercept : ndarray of shape (n_candidates * n_classes,)
        Initial ``b``, updated in place; stays zero when ``fit_intercept`` is
        False.
    targets : ndarray of shape (n_samples, n_candidates * n_classes)
        Updated in place, once per epoch per row.
    lams : ndarray of shape (n_candidates,)
    beta, alpha, tol : float
    fit_intercept : bool
    solver : {"nesterov", "gd", "adam"}
    learning_rate : float
        See :func:`default_learning_rate`.
    batch_size : int or None
        None means full batch.
    max_iter, n_iter_no_change : int
    rng : numpy.random.RandomState
        Shuffles the mini-batches.
    validation : tuple (X_val, y_val, weight_val) or None
        With held-out rows, training records each candidate's weighted
        accuracy on them after every epoch (the caller picks the candidate
        and the epoch, then refits), and stops once no candidate has gained
        ``MIN_GAIN`` for ``n_iter_no_change`` epochs.
        Without, training stops once the predictions have settled: the mean
        total-variation change of the training probabilities over one epoch
        stays below ``tol`` for ``n_iter_no_change`` epochs.
    callback : callable, default=None
        Called as ``callback(epoch, loss, coef, intercept, targets)`` after
        each epoch; a true return value stops training.

    Returns
    -------
    result : dict
        ``n_iter`` (epochs run), ``converged`` (a stopping rule fired),
        ``loss`` (array of shape (n_iter, n_candidates)) and, with
        validation, ``scores`` (same shape).

    Raises
    ------
    FloatingPointError
        When the loss becomes NaN or infinite.
    """
    n_samples = X.shape[0]
    full_batch = batch_size is None or batch_size >= n_samples
    state = _CandidatesState(
        X, y, weight, coef, intercept, targets, lams=lams, beta=beta, alpha=alpha,
        fit_intercept=fit_intercept, solver=solver, learning_rate=learning_rate,
        most_rows=min(n_samples, _BLOCK_ROWS if full_batch else batch_size),
    )  # fmt: skip
    if validation is not None:
        rule = _HeldOutStop(validation, n_iter_no_change)
    elif tol is not None:
        rule = _SettledStop(state, tol, n_iter_no_change)
    else:
        rule = None
    losses, converged = [], False
    for epoch in range(max_iter):
        sums = state.full_batch_epoch() if full_batch else state.minibatch_epoch(rng, batch_size)
        loss = state.objective(*sums)
        if not np.all(np.isfinite(loss)):
            raise FloatingPointError(
                f"The training loss became {loss.tolist()} in epoch {epoch + 1}; "
                "the model is unusable. Lower learning_rate or lam."
            )
        losses.append(loss)
        if callback is not None and callback(epoch, float(loss[0]), coef, intercept, targets):
            break
        if rule is not None and rule.after_epoch(state, epoch):
            converged = True
            break

    result = {"n_iter": len(losses), "converged": converged, "loss": np.array(losses)}
    if validation is not None:
        result["scores"] = np.array(rule.scores)
    if state.dask_epochs is not None:
        result["targets"] = state.dask_epochs.targets_array()
    return result
