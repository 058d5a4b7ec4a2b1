# SPDX-License-Identifier: BSD-3-Clause
"""Torch twins of the ELR kernels, and the baseline robust losses.

Only ``neural.py`` imports this module (it needs torch). The ELR loss follows
the contract of ``_elr_numpy`` exactly; ``tests/test_elr_torch.py`` checks that
the two give the same loss, gradient and targets.

All criteria subclass :class:`torch.nn.CrossEntropyLoss`: skorch then applies a
softmax in ``predict_proba``, and validation uses plain cross-entropy.
"""

import math
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ._elr_numpy import CLAMP_MAX, CLAMP_MIN
from ._moments import feature_moments
from ._validation import check_real


def elr_penalty(probs, targets):
    """Per-example ``log(1 - <clip(p_i), t_i>)``; shapes (n, k) -> (n,)."""
    return torch.log1p(-(probs.clamp(CLAMP_MIN, CLAMP_MAX) * targets).sum(dim=1))


@torch.no_grad()
def update_targets_(targets, index, probs, beta):
    """``t[index] <- beta t[index] + (1 - beta) p_hat`` in place; returns the rows.

    The torch twin of :func:`~sklearn_elr._elr_numpy.update_targets`, the one
    target update of both network estimators: ``p_hat`` is ``probs`` clamped
    to [1e-4, 1 - 1e-4] and renormalised, so a row's mass after k updates from
    zero is exactly ``1 - beta**k``. One gather and one scatter of the buffer.
    """
    clipped = probs.clamp(CLAMP_MIN, CLAMP_MAX)
    clipped /= clipped.sum(dim=1, keepdim=True)
    rows = targets.index_select(0, index).mul_(beta)
    rows.add_(clipped.to(rows.dtype), alpha=1 - beta)
    # index_copy_, not ``targets[index] = rows``: the same writes, and never
    # a host synchronisation on CUDA.
    targets.index_copy_(0, index, rows)
    return rows


def weighted_mean(values, weight=None):
    """Mean of per-example ``values``, weighted by ``weight`` when given."""
    if weight is None:
        return values.mean()
    weight = weight.to(values.dtype)
    return (values * weight).sum() / weight.sum()


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

    def forward(self, logits, y, index=None, weight=None):
        """Mean loss of a batch; without ``index`` it is plain cross-entropy.

        With ``index`` (positions of the batch rows in the training ``X``) the
        rows' targets are updated first, from the detached probabilities
        (:func:`update_targets_`), then used as constants in the penalty.
        ``weight`` weighs each row's loss; the targets ignore it.
        """
        log_probs = F.log_softmax(logits, dim=1)
        ce = F.nll_loss(log_probs, y, reduction="none")
        if index is None:
            return weighted_mean(ce, weight)
        probs = log_probs.exp()
        batch_targets = update_targets_(self.targets, index, probs.detach(), self.beta)
        penalty = elr_penalty(probs, batch_targets.to(probs.dtype))
        return weighted_mean(ce + self.lam * penalty, weight)


class CELoss(torch.nn.CrossEntropyLoss):
    """Plain cross-entropy that accepts (and ignores) the batch ``index``."""

    def forward(self, logits, y, index=None, weight=None):
        return weighted_mean(F.cross_entropy(logits, y, reduction="none"), weight)


class GCELoss(torch.nn.CrossEntropyLoss):
    """Generalized cross-entropy ``(1 - p_y^q) / q`` (Zhang & Sabuncu, 2018).

    ``q -> 0`` gives cross-entropy, ``q = 1`` the mean absolute error.
    """

    def __init__(self, q=0.7):
        super().__init__()
        self.q = q

    def forward(self, logits, y, index=None, weight=None):
        p_y = F.softmax(logits, dim=1).gather(1, y[:, None]).squeeze(1)
        return weighted_mean((1 - p_y.clamp_min(1e-12) ** self.q) / self.q, weight)


class SCELoss(torch.nn.CrossEntropyLoss):
    """Symmetric cross-entropy ``alpha CE + beta RCE`` (Wang et al., 2019).

    The reverse cross-entropy ``-sum_c p_c log y_c`` takes ``log 0`` as
    ``log 1e-4``, as the reference code does: ``RCE = -log(1e-4) (1 - p_y)``.
    """

    def __init__(self, alpha=0.1, beta=1.0):
        super().__init__()
        self.alpha = alpha
        self.beta = beta

    def forward(self, logits, y, index=None, weight=None):
        p_y = F.softmax(logits, dim=1).gather(1, y[:, None]).squeeze(1)
        rce = -math.log(1e-4) * (1 - p_y)
        ce = F.cross_entropy(logits, y, reduction="none")
        return weighted_mean(self.alpha * ce + self.beta * rce, weight)


def input_moments(X):
    """Per-input mean and scale of ``X`` (flattened), as float32 arrays.

    The linear model's :func:`~sklearn_elr._moments.feature_moments`
    with equal weights: float64 blocks, no copy, constant inputs scaled by one.
    """
    flat = X if sp.issparse(X) else X.reshape(len(X), -1)
    mean, std = feature_moments(flat, np.full(flat.shape[0], 1.0 / flat.shape[0]))
    return mean.astype(np.float32), std.astype(np.float32)


class GeneratorDropout(torch.nn.Module):
    """:class:`torch.nn.Dropout` drawing its masks from its own generator.

    With a ``seed``, dropout never draws from torch's global generator: fits
    in threads stay reproducible and the caller's random stream is left as it
    was. The generator lives on the input's device; copies and unpickled
    modules restart it from ``seed``. Without a seed it is plain dropout.
    """

    def __init__(self, p, seed=None):
        super().__init__()
        self.p = p
        self.seed = seed
        self._generator = None

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.p >= 1:
            return torch.zeros_like(x)
        return x * self._scaled_mask(x)

    # Under torch.compile (skorch's compile=True) the mask is drawn eagerly:
    # a private generator cannot be traced, and each layer's own seed would
    # otherwise be a constant that recompiles the network once per layer.
    @torch.compiler.disable
    def _scaled_mask(self, x):
        if self.seed is None:
            return F.dropout(torch.ones_like(x), self.p, training=True)
        if self._generator is None or self._generator.device != x.device:
            self._generator = torch.Generator(device=x.device).manual_seed(self.seed)
        # uniform_ then lt_ draws the same Bernoulli(1 - p) mask as bernoulli_
        # at half the cost on a CPU (90 vs 190 us for 128 x 256).
        scale = torch.empty_like(x).uniform_(generator=self._generator).lt_(1 - self.p)
        return scale.mul_(1 / (1 - self.p))

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generator"] = None  # generators are per device and per process
        return state

    def extra_repr(self):
        return f"p={self.p}"


def _linear(n_in, n_out, generator):
    """``torch.nn.Linear`` with its default initialisation drawn from ``generator``.

    Built uninitialised (``skip_init``) so that no draw touches torch's global
    generator; then ``Linear.reset_parameters`` with the generator.
    """
    if generator is None:
        return torch.nn.Linear(n_in, n_out)
    layer = torch.nn.utils.skip_init(torch.nn.Linear, n_in, n_out)
    torch.nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    bound = 1 / math.sqrt(n_in) if n_in > 0 else 0
    torch.nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return layer


class MLP(torch.nn.Module):
    """Default network: a multilayer perceptron returning logits.

    Inputs of any shape (n, ...) are flattened, so images work too, then
    standardised with the training moments (kept as buffers, so they are
    saved and moved with the weights): the network does not depend on the
    scale of the features. With a ``seed``, initialisation and dropout draw
    from private generators, never from torch's global one.

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
    seed : int, default=None
        Set by the estimator from its ``random_state``; None draws from
        torch's global generator.
    """

    def __init__(
        self, n_features, n_classes, hidden_sizes=(256, 256), dropout=0.2,
        input_mean=None, input_scale=None, seed=None,
    ):  # fmt: skip
        super().__init__()
        check_real(dropout, "dropout", min_val=0.0, max_val=1.0, include_boundaries="left")
        if not all(isinstance(size, Integral) and size >= 1 for size in hidden_sizes):
            raise ValueError(f"hidden_sizes must be ints >= 1, got {hidden_sizes!r}.")
        mean = torch.zeros(n_features) if input_mean is None else torch.as_tensor(input_mean)
        scale = torch.ones(n_features) if input_scale is None else torch.as_tensor(input_scale)
        self.register_buffer("input_mean", mean.float().reshape(n_features))
        self.register_buffer("input_scale", scale.float().reshape(n_features))
        generator = None if seed is None else torch.Generator().manual_seed(seed)

        def dropout_seed():  # each dropout layer its own stream
            return (
                None if generator is None else int(torch.randint(2**62, (1,), generator=generator))
            )

        layers, width = [], n_features
        for size in hidden_sizes:
            layers += [
                _linear(width, size, generator), torch.nn.ReLU(),
                GeneratorDropout(dropout, dropout_seed()),
            ]  # fmt: skip
            width = size
        layers.append(_linear(width, n_classes, generator))
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, X):
        flat = X.reshape(len(X), -1)
        return self.layers(
            (flat - self.input_mean.to(flat.dtype)) / self.input_scale.to(flat.dtype)
        )


# -- ELR+ ---------------------------------------------------------------------


def sigmoid_rampup(current, length):
    """The paper's ramp ``exp(-5 (1 - min(current, length) / length)^2)``.

    ``length == 0`` means no ramp (always one).
    """
    if length <= 0:
        return 1.0
    phase = 1.0 - min(current, length) / length
    return math.exp(-5.0 * phase * phase)


def elr_plus_loss(logits, soft_labels, targets, lam, weight=None, reweight_labels=False):
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
    weight : tensor of shape (n,), default=None
        Mixed sample weights.
    reweight_labels : bool, default=False
        Replace the labels by ``labels * targets``, renormalised (the
        reference code's CIFAR-100 rule): a label the targets disagree with
        loses weight.
    """
    if reweight_labels:
        soft_labels = soft_labels * targets
        soft_labels = soft_labels / soft_labels.sum(dim=1, keepdim=True)
    log_probs = F.log_softmax(logits, dim=1)
    ce = -(soft_labels * log_probs).sum(dim=1)
    return weighted_mean(ce + lam * elr_penalty(log_probs.exp(), targets), weight)


@torch.no_grad()
def ema_update(average, live, decay):
    """``average <- decay * average + (1 - decay) * live`` for the parameters.

    Buffers (BatchNorm running statistics) are copied from the live network:
    they are statistics of the data, not weights, and averaging them across
    changing weights would describe no network.
    """
    # One multi-tensor launch per operation instead of two per parameter:
    # the same arithmetic, a fraction of the per-batch overhead.
    averages, params = list(average.parameters()), list(live.parameters())
    if averages:
        torch._foreach_mul_(averages, decay)
        torch._foreach_add_(averages, params, alpha=1.0 - decay)
    buffers = list(average.buffers())
    if buffers:
        torch._foreach_copy_(buffers, list(live.buffers()))


class ELRPlusLoss(torch.nn.CrossEntropyLoss):
    """Holder of ELR+'s per-network target buffers, shape (n_networks, n, k).

    Called as a criterion it is plain cross-entropy (validation); training
    uses :func:`elr_plus_loss` with mixed labels and targets.
    """

    def __init__(self, n_networks, n_samples, n_classes):
        super().__init__()
        self.register_buffer("targets", torch.zeros(n_networks, n_samples, n_classes))

    def forward(self, logits, y, index=None, weight=None):
        return weighted_mean(F.cross_entropy(logits, y, reduction="none"), weight)
