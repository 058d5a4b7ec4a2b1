# SPDX-License-Identifier: BSD-3-Clause
"""Stateless NumPy kernels of the ELR loss (Liu et al., NeurIPS 2020).

Shapes follow scikit-learn's ``_linear_loss`` conventions:

- ``logits`` and ``probs``: ``(n_samples, n_classes)``, one row per example;
- ``targets``: ``(n_samples, n_classes)``, the per-example temporal ensemble
  ``t_i`` of past predictions, starting at zeros;
- ``y``: ``(n_samples,)`` integer class indices in ``0 .. n_classes - 1``.

The loss of one example is

    CE(z_i, y_i) + lam * log(1 - <clip(p_i), t_i>),      p_i = softmax(z_i),

where ``clip`` clamps every probability to ``[CLAMP_MIN, CLAMP_MAX]`` and ``t_i``
is a constant (no gradient flows into it). Cross-entropy uses the unclamped
logits, the penalty the clamped probabilities, as in the reference code.

No scikit-learn imports here: these functions are the contract that the torch
twin (``_elr_torch``) and the estimators both follow.
"""

import numpy as np

#: Clamp applied to probabilities before the penalty and the target update:
#: keeps ``log(1 - <p, t>)`` finite when a prediction saturates.
CLAMP_MIN = 1e-4
CLAMP_MAX = 1.0 - 1e-4


def _row_max(a):
    """Maximum of each row of a 2-d array.

    ``a.max(axis=1)`` runs a reduction per row, which is ten times slower than
    ``n_classes`` vectorised column maxima when rows are short.
    """
    if a.shape[1] > 32:
        return a.max(axis=1)
    out = a[:, 0].copy()
    for column in range(1, a.shape[1]):
        np.maximum(out, a[:, column], out=out)
    return out


def _row_sum(a):
    """Sum of each row; a BLAS matrix-vector product beats ``sum(axis=1)``."""
    return a @ np.ones(a.shape[1], dtype=a.dtype)


def _row_dot(a, b):
    """Row-wise inner products ``<a_i, b_i>``."""
    return _row_sum(a * b)


def softmax(logits, out=None):
    """Row-wise softmax, stable for any finite logits.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
    out : ndarray of shape (n_samples, n_classes), default=None
        Where to write the result; may be ``logits`` itself.

    Returns
    -------
    probs : ndarray of shape (n_samples, n_classes)
    """
    # Subtracting the row maximum makes every exponent <= 0: no overflow.
    out = np.subtract(logits, _row_max(logits)[:, None], out=out)
    np.exp(out, out=out)
    out /= _row_sum(out)[:, None]
    return out


def log_softmax(logits):
    """Row-wise log-softmax, ``logits - logsumexp(logits)``, without overflow.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    log_probs : ndarray of shape (n_samples, n_classes)
    """
    shifted = logits - _row_max(logits)[:, None]
    return shifted - np.log(_row_sum(np.exp(shifted)))[:, None]


def cross_entropy(logits, y):
    """Per-example cross-entropy ``-log softmax(z_i)[y_i]``.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
    y : ndarray of shape (n_samples,) of int

    Returns
    -------
    loss : ndarray of shape (n_samples,)
    """
    return -log_softmax(logits)[np.arange(len(y)), y]


def clip_probs(probs, out=None):
    """Clamp to ``[CLAMP_MIN, CLAMP_MAX]`` (no renormalisation).

    Parameters
    ----------
    probs : ndarray of shape (n_samples, n_classes)
    out : ndarray, default=None

    Returns
    -------
    clipped : ndarray of shape (n_samples, n_classes)
    """
    return np.clip(probs, CLAMP_MIN, CLAMP_MAX, out=out)


def update_targets(targets, probs, beta, out=None):
    """One temporal-ensemble step ``t <- beta * t + (1 - beta) * p_hat``.

    ``p_hat`` is the clamped prediction renormalised to sum to one, so the mass
    of ``t`` after k updates from zero is exactly ``1 - beta**k``. The caller
    passes predictions it treats as constants (the "detach" of the paper).

    Parameters
    ----------
    targets : ndarray of shape (n_samples, n_classes)
    probs : ndarray of shape (n_samples, n_classes)
    beta : float in [0, 1)
    out : ndarray of shape (n_samples, n_classes), default=None
        Where to write the new targets; may be ``targets`` itself.

    Returns
    -------
    targets : ndarray of shape (n_samples, n_classes)
    """
    return _update_from_clipped(targets, clip_probs(probs), beta, out)


def _update_from_clipped(targets, clipped, beta, out=None):
    """:func:`update_targets` for probabilities that are already clamped."""
    out = np.multiply(targets, beta, out=out)
    out += clipped * ((1.0 - beta) / _row_sum(clipped))[:, None]
    return out


def elr_penalty(probs, targets):
    """Per-example ELR penalty ``log(1 - <clip(p_i), t_i>)``.

    It is negative, so the total loss may go below zero; that is expected.

    Parameters
    ----------
    probs : ndarray of shape (n_samples, n_classes)
    targets : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    penalty : ndarray of shape (n_samples,)
    """
    return np.log1p(-_row_dot(clip_probs(probs), targets))


def elr_penalty_grad(probs, targets):
    """Gradient of :func:`elr_penalty` with respect to the logits.

    With the clamp mask ``m_c = [CLAMP_MIN < p_c < CLAMP_MAX]`` and
    ``u = m * t``, the chain rule through the softmax gives

        g_c = p_c * (<u, p> - u_c) / (1 - <clip(p), t>),

    which is the paper's Lemma, ``p_c (<p, t> - t_c) / (1 - <p, t>)``, wherever
    no probability sits at a clamp bound (clamped entries have zero slope).

    Parameters
    ----------
    probs : ndarray of shape (n_samples, n_classes)
    targets : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    grad : ndarray of shape (n_samples, n_classes)
    """
    clipped = clip_probs(probs)
    u = targets * (clipped == probs)  # clamped entries are those clipping moved
    scale = 1.0 / (1.0 - _row_dot(clipped, targets))
    return probs * (_row_dot(u, probs)[:, None] - u) * scale[:, None]


def elr_step(logits, y, targets, lam, weight, beta=None, reduce=True):
    """Fused forward/backward of the ELR loss on one block of rows.

    Computes what :func:`cross_entropy`, :func:`update_targets`,
    :func:`elr_penalty` and :func:`elr_penalty_grad` compute, in the reference
    code's order: probabilities first, then (if ``beta`` is given) the target
    update from them, then the loss with the new targets. Work is done in
    place, with a handful of temporaries, so a block stays in cache; this is
    the training hot path.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
        Overwritten with the weighted gradient ``w_i * dloss_i / dz_i``.
    y : ndarray of shape (n_samples,) of int
    targets : ndarray of shape (n_samples, n_classes)
        Updated in place when ``beta`` is not None.
    lam : float or ndarray of shape (n_samples,)
        One λ for all rows, or one per row (several models trained side by
        side, see ``_linear_solver``).
    weight : ndarray of shape (n_samples,)
        Per-example weight of the loss (e.g. ``sample_weight / sum``).
    beta : float or None, default=None
        None leaves the targets unchanged.
    reduce : bool, default=True
        False returns the per-row terms ``weight_i * CE_i`` and
        ``weight_i * log(1 - <clip(p_i), t_i>)`` instead of their sums.

    Returns
    -------
    ce : float or ndarray of shape (n_samples,)
        ``sum_i weight_i * CE_i``.
    penalty : float or ndarray of shape (n_samples,)
        ``sum_i weight_i * log(1 - <clip(p_i), t_i>)``.
    """
    rows = np.arange(logits.shape[0])
    logits -= _row_max(logits)[:, None]
    z_y = logits[rows, y]
    np.exp(logits, out=logits)
    norm = _row_sum(logits)
    logits /= norm[:, None]
    probs = logits  # the buffer now holds softmax(z)
    ce = np.log(norm) - z_y

    clipped = clip_probs(probs)
    if beta is not None:
        _update_from_clipped(targets, clipped, beta, out=targets)
    inner = _row_dot(clipped, targets)
    # The weighted gradient w * (p - onehot(y) + lam * g), g as in
    # elr_penalty_grad, is written p * (a + s * u) - w * onehot(y) with
    # s = -w * lam / (1 - inner) and a = w - s * <u, p>: three passes.
    u = targets * (clipped == probs)
    scale = weight * (-lam / (1.0 - inner))
    u *= scale[:, None]
    u += (weight - _row_dot(u, probs))[:, None]
    probs *= u
    probs[rows, y] -= weight
    if not reduce:
        return weight * ce, weight * np.log1p(-inner)
    return float(weight @ ce), float(weight @ np.log1p(-inner))


def elr_loss_grad(logits, y, targets, lam, sample_weight=None):
    """Weighted mean ELR loss and its gradient with respect to the logits.

    ``loss = sum_i w_i (CE_i + lam * penalty_i) / sum_i w_i`` with the targets
    held constant. Inputs are not modified.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
    y : ndarray of shape (n_samples,) of int
    targets : ndarray of shape (n_samples, n_classes)
    lam : float
    sample_weight : ndarray of shape (n_samples,), default=None
        None means unit weights.

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_samples, n_classes)
    """
    n_samples = logits.shape[0]
    w = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight)
    grad = np.array(logits, dtype=float)
    ce, penalty = elr_step(grad, y, targets, lam, w / w.sum())
    return ce + lam * penalty, grad
