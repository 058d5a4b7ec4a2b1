# SPDX-License-Identifier: BSD-3-Clause
"""Torch twins of the ELR kernels, and the baseline robust losses.

Only ``neural.py`` imports this module (it needs torch). The ELR loss follows
the contract of ``_elr_numpy`` exactly; ``tests/test_elr_torch.py`` checks that
the two give the same loss, gradient and targets.

All criteria subclass :class:`torch.nn.CrossEntropyLoss`: skorch then applies a
softmax in ``predict_proba``, and validation uses plain cross-entropy.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from ._elr_numpy import CLAMP_MAX, CLAMP_MIN
from ._linear_solver import feature_moments


def elr_penalty(probs, targets):
    """Per-example ``log(1 - <clip(p_i), t_i>)``; shapes (n, k) -> (n,)."""
    return torch.log1p(-(probs.clamp(CLAMP_MIN, CLAMP_MAX) * targets).sum(dim=1))


class ELRLoss(torch.nn.CrossEntropyLoss):
    """Cross-entropy plus ELR, with the per-example targets as a buffer.

    The targets are a registered buffer of shape (n_samples, n_classes), so
    they live on the module's device, follow ``.to(device)``, are saved in the
    ``state_dict`` and unpickle from CUDA to CPU with the rest of the net.

    Parameters
    ----------
    n_samples : int
        Rows of the training ``X``; ``index`` values are positions in it.
    n_classes : int
    lam : float, default=3.0
    beta : float, default=0.7
    """

    def __init__(self, n_samples, n_classes, lam=3.0, beta=0.7):
        super().__init__()
        self.lam = lam
        self.beta = beta
        self.register_buffer("targets", torch.zeros(n_samples, n_classes))

    def forward(self, logits, y, index=None):
        """Mean loss of a batch; without ``index`` it is plain cross-entropy.

        With ``index`` (positions of the batch rows in the training ``X``) the
        rows' targets are updated first, from the clamped, renormalised,
        detached probabilities, then used as constants in the penalty.
        """
        if index is None:
            return F.cross_entropy(logits, y)
        log_probs = F.log_softmax(logits, dim=1)
        ce = F.nll_loss(log_probs, y)
        probs = log_probs.exp()
        with torch.no_grad():
            clipped = probs.clamp(CLAMP_MIN, CLAMP_MAX)
            clipped /= clipped.sum(dim=1, keepdim=True)
            # One gather and one scatter of the buffer per batch; the batch's
            # new targets are then used as constants below.
            batch_targets = self.targets[index].mul_(self.beta)
            batch_targets.add_(clipped.to(batch_targets.dtype), alpha=1 - self.beta)
            self.targets[index] = batch_targets
        penalty = elr_penalty(probs, batch_targets.to(probs.dtype)).mean()
        return ce + self.lam * penalty


class CELoss(torch.nn.CrossEntropyLoss):
    """Plain cross-entropy that accepts (and ignores) the batch ``index``."""

    def forward(self, logits, y, index=None):
        return F.cross_entropy(logits, y)


class GCELoss(torch.nn.CrossEntropyLoss):
    """Generalized cross-entropy ``(1 - p_y^q) / q`` (Zhang & Sabuncu, 2018).

    ``q -> 0`` gives cross-entropy, ``q = 1`` the mean absolute error.
    """

    def __init__(self, q=0.7):
        super().__init__()
        self.q = q

    def forward(self, logits, y, index=None):
        p_y = F.softmax(logits, dim=1).gather(1, y[:, None]).squeeze(1)
        return ((1 - p_y.clamp_min(1e-12) ** self.q) / self.q).mean()


class SCELoss(torch.nn.CrossEntropyLoss):
    """Symmetric cross-entropy ``alpha CE + beta RCE`` (Wang et al., 2019).

    The reverse cross-entropy ``-sum_c p_c log y_c`` takes ``log 0`` as
    ``log 1e-4``, as the reference code does: ``RCE = -log(1e-4) (1 - p_y)``.
    """

    def __init__(self, alpha=0.1, beta=1.0):
        super().__init__()
        self.alpha = alpha
        self.beta = beta

    def forward(self, logits, y, index=None):
        p_y = F.softmax(logits, dim=1).gather(1, y[:, None]).squeeze(1)
        rce = -math.log(1e-4) * (1 - p_y)
        return self.alpha * F.cross_entropy(logits, y) + self.beta * rce.mean()


def input_moments(X):
    """Per-input mean and scale of ``X`` (flattened), as float32 arrays.

    The linear model's :func:`~sklearn_elr._linear_solver.feature_moments`
    with equal weights: float64 blocks, no copy, constant inputs scaled by one.
    """
    flat = X.reshape(len(X), -1)
    mean, std = feature_moments(flat, np.full(len(flat), 1.0 / len(flat)))
    return mean.astype(np.float32), std.astype(np.float32)


class MLP(torch.nn.Module):
    """Default network: a multilayer perceptron returning logits.

    Inputs of any shape (n, ...) are flattened, so images work too, then
    standardised with the training moments (kept as buffers, so they are
    saved and moved with the weights): the network does not depend on the
    scale of the features.

    Parameters
    ----------
    n_features : int
        Input size after flattening; set by the estimator at fit.
    n_classes : int
        Set by the estimator at fit.
    hidden_sizes : tuple of int, default=(256, 256)
    dropout : float, default=0.2
    input_mean, input_scale : array-like of shape (n_features,), default=None
        Set by the estimator at fit; None means 0 and 1.
    """

    def __init__(
        self, n_features, n_classes, hidden_sizes=(256, 256), dropout=0.2,
        input_mean=None, input_scale=None,
    ):  # fmt: skip
        super().__init__()
        mean = torch.zeros(n_features) if input_mean is None else torch.as_tensor(input_mean)
        scale = torch.ones(n_features) if input_scale is None else torch.as_tensor(input_scale)
        self.register_buffer("input_mean", mean.float().reshape(n_features))
        self.register_buffer("input_scale", scale.float().reshape(n_features))
        layers, width = [], n_features
        for size in hidden_sizes:
            layers += [torch.nn.Linear(width, size), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
            width = size
        layers.append(torch.nn.Linear(width, n_classes))
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, X):
        flat = X.reshape(len(X), -1)
        return self.layers((flat - self.input_mean.to(flat.dtype)) / self.input_scale.to(flat.dtype))


# -- ELR+ ---------------------------------------------------------------------


def sigmoid_rampup(current, length):
    """The paper's ramp ``exp(-5 (1 - min(current, length) / length)^2)``.

    ``length == 0`` means no ramp (always one).
    """
    if length <= 0:
        return 1.0
    phase = 1.0 - min(current, length) / length
    return math.exp(-5.0 * phase * phase)


def elr_plus_loss(logits, soft_labels, targets, lam):
    """Soft-label cross-entropy plus ``lam`` times the ELR penalty (batch means).

    Parameters
    ----------
    logits : tensor of shape (n, k)
    soft_labels : tensor of shape (n, k)
        Mixed one-hot labels.
    targets : tensor of shape (n, k)
        Mixed ELR targets, constants.
    lam : float
        λ after its ramp.
    """
    log_probs = F.log_softmax(logits, dim=1)
    ce = -(soft_labels * log_probs).sum(dim=1).mean()
    return ce + lam * elr_penalty(log_probs.exp(), targets).mean()


@torch.no_grad()
def ema_update(average, live, decay):
    """``average <- decay * average + (1 - decay) * live`` for the parameters.

    Buffers (BatchNorm running statistics) are copied from the live network:
    they are statistics of the data, not weights, and averaging them across
    changing weights would describe no network.
    """
    for avg, param in zip(average.parameters(), live.parameters()):
        avg.mul_(decay).add_(param, alpha=1.0 - decay)
    for avg, buf in zip(average.buffers(), live.buffers()):
        avg.copy_(buf)


class ELRPlusLoss(torch.nn.CrossEntropyLoss):
    """Holder of ELR+'s per-network target buffers, shape (n_networks, n, k).

    Called as a criterion it is plain cross-entropy (validation); training
    uses :func:`elr_plus_loss` with mixed labels and targets.
    """

    def __init__(self, n_networks, n_samples, n_classes):
        super().__init__()
        self.register_buffer("targets", torch.zeros(n_networks, n_samples, n_classes))

    def forward(self, logits, y, index=None):
        return F.cross_entropy(logits, y)
