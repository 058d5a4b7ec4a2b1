# SPDX-License-Identifier: BSD-3-Clause
"""ELR+ (Liu et al., NeurIPS 2020, section 4.3): :class:`ELRPlusClassifier`."""

import copy
from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_scalar
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from . import _distributed
from ._elr_torch import (
    MLP,
    ELRPlusLoss,
    elr_plus_loss,
    ema_update,
    sigmoid_rampup,
    update_targets_,
)
from ._network import NetworkBase
from ._selection import is_auto
from ._torch_data import INDEX, MAX_SEED, is_index_dict
from ._validation import check_flag, check_real

__all__ = ["ELRPlusClassifier"]


class ELRPlusClassifier(NetworkBase):
    """ELR+: two networks, weight averaging and mixup around the ELR loss.

    Each network ``k`` keeps an exponential moving average (EMA) of its
    weights. The targets of network ``k`` are updated from the **other**
    network's EMA on the un-mixed batch, ``t <- beta t + (1 - beta) p_ema``;
    then (on images and signals, see ``mixup``) one mixup coefficient
    ``l ~ Beta(a, a)``, ``l' = max(l, 1 - l)``, and one permutation mix the
    inputs, the one-hot labels and the targets, and the loss is soft-label
    cross-entropy on the mixed batch plus ``lam * log(1 - <p, t_mixed>)``.

    Differences from the reference code, on purpose: both networks train on
    the same rows and the same noisy labels (the reference re-drew the split
    and the noise per network); no mixup on tables unless asked (the paper
    mixes images); they see the same batches, and one optimizer
    steps both (their losses are independent, so this is the same update as
    two optimizers): skorch's ``LRScheduler``, gradient clipping and
    ``Checkpoint``'s ``f_optimizer`` then reach both networks. The targets use
    the same update as :class:`~sklearn_elr.NoisyLabelClassifier` (clamped
    and renormalised predictions); everything is seeded from ``random_state``.

    - **Prediction**: softmax of the mean of the two live networks' logits
      (the reference's single-GPU rule; not the EMAs).
    - **Target pass**: the other network's EMA in eval mode (no dropout;
      BatchNorm uses running statistics). EMA parameters are averaged and
      BatchNorm buffers copied from the live network (see
      :func:`~sklearn_elr._elr_torch.ema_update`).
    - **Ramps** (the paper's sigmoid ``exp(-5 (1 - x)^2)``), over epochs:
      EMA decay ``ramp * ema_decay`` during ``ema_rampup`` epochs, and
      optionally λ during ``lam_rampup`` epochs (CIFAR-100 in the paper).
      Both advance per batch.

    Read more in the :ref:`User Guide <elr_plus>`.

    Parameters
    ----------
    module : torch module class, default=MLP
        Both networks are built from it, with different initial weights.
    lam : float or "auto", default="auto"
        ELR strength λ; ``"auto"`` chooses it among ``lams`` on held-out
        noisy labels, as in :class:`~sklearn_elr.NoisyLabelClassifier`
        (each candidate trains once; the best is kept, without a refit).
        There, the λ=0 candidate is **plain training**: one network,
        cross-entropy, no mixup or averages — the very network, batches and
        held-out scores of ``NoisyLabelClassifier``'s λ=0 candidate — so ELR+
        is kept only where it beats plain training, and a default fit costs
        one ELR+ fit plus one plain fit (on 75-90 % of the rows). When the
        plain candidate wins, the fitted model is that one network
        (``targets_`` of shape (1, n_samples, n_classes), no ``module2_``
        or averages). A float ``lam``, 0 included, always trains ELR+.
    lams : sequence of float, default=(0.0, 3.0)
    cv : int, cross-validation generator, iterable or "auto", default="auto"
    beta : float, default=0.7
    mixup_alpha : float, default=1.0
        α of the Beta distribution of the mixup coefficient; must be > 0.
    ema_decay : float, default=0.997
        γ, per batch; in [0, 1). 0 disables weight averaging (the "EMA" is
        the live network).
    ema_rampup : float, default=40
        Epochs of the EMA decay's ramp-up; 0 for none. Early in the ramp the
        decay is about ``0.0067 * ema_decay``, so the averages track the live
        networks while they learn, and average over about
        ``1 / (1 - ema_decay)`` batches after. A ramp over two thirds of
        training did best on digits (``benchmarks/bench_elr_plus.py``); the
        paper's CIFAR ramp (40,000 iterations) is 57 % of training.
    lam_rampup : float, default=0
        Epochs of λ's ramp-up; 0 for none.
    n_networks : {1, 2}, default=2
        With 1, a network takes its targets from its own EMA (ablation).
    mixup : bool or "auto", default="auto"
        Whether to train on mixed batches. ``"auto"``: for inputs of more
        than two dimensions (images, signals: the paper's setting), not for
        tables (2-D ``X``). On the robustness suite's four tables mixup cost
        up to 22 points under pair and instance-dependent noise (wine, 40 %
        instance-dependent: 0.728 with it, 0.951 without, 3 seeds) and gained
        at most 3.7 (user guide, ELR+ section). The choice is ``mixup_``.
    reweight_labels : bool, default=False
        Multiply the (mixed) one-hot labels by the (mixed) targets and
        renormalise, as the reference code does for CIFAR-100 only (paper,
        appendix F): labels the targets disagree with lose weight. Off by
        default: on digits it gained 1.9 points at 80 % symmetric noise but
        lost 1.7 at 40 % pair noise (user guide, ELR+ section).
    random_state, torch_threads, data_on_device, optimizer, lr, max_epochs, batch_size, train_split, device, verbose, **kwargs
        As in :class:`~sklearn_elr.NoisyLabelClassifier`. The optimizer holds
        the parameters of both live networks (not the averages), so
        ``optimizer__*`` and skorch callbacks apply to both.
    cuda_graph : {"auto", True, False}, default="auto"
        ELR+ steps eagerly: each step draws its mixup weight and reads its
        ramps on the host, which a captured graph would freeze. ``"auto"``
        and False are the same; True is refused.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    targets_ : ndarray of shape (n_networks, n_samples, n_classes)
        Final targets of each network, rows in the order of the training ``X``
        (one network after the plain candidate of ``lam="auto"`` won).
    label_quality_, label_issues_ : ndarray of shape (n_samples,)
        As in :class:`~sklearn_elr.NoisyLabelClassifier`, from the mean of the
        networks' targets.
    module_, module2_ : torch modules
        The live networks (``module2_`` with two networks, not after the
        plain candidate of ``lam="auto"`` won). skorch's
        ``save_params(f_params=...)`` saves ``module_``; add
        ``f_module2=``, ``f_ema=`` and ``f_ema2=`` for the others (the same
        keyword arguments work in ``Checkpoint``).
    ema_, ema2_ : torch modules
        Their weight averages (none after the plain candidate won).
    mixup_ : bool
        Whether the networks trained on mixed batches (``mixup``).
    n_features_in_ : int
    """

    # The shared parameters and their defaults are NetworkBase's, kept there once.
    def __init__(
        self,
        module=MLP,
        *args,
        mixup_alpha=1.0,
        ema_decay=0.997,
        ema_rampup=40,
        lam_rampup=0,
        n_networks=2,
        mixup="auto",
        reweight_labels=False,
        **kwargs,
    ):
        super().__init__(module, *args, **kwargs)
        self.mixup_alpha = mixup_alpha
        self.ema_decay = ema_decay
        self.ema_rampup = ema_rampup
        self.lam_rampup = lam_rampup
        self.n_networks = n_networks
        self.mixup = mixup
        self.reweight_labels = reweight_labels

    def _check_extra_params(self):
        check_real(self.mixup_alpha, "mixup_alpha", min_val=0.0, include_boundaries="neither")
        check_real(self.ema_decay, "ema_decay", min_val=0.0, max_val=1.0, include_boundaries="left")
        check_real(self.ema_rampup, "ema_rampup", min_val=0.0)
        check_real(self.lam_rampup, "lam_rampup", min_val=0.0)
        check_scalar(self.n_networks, "n_networks", Integral, min_val=1, max_val=2)
        check_flag(self.mixup, "mixup", allow_auto=True)
        check_flag(self.reweight_labels, "reweight_labels")

    def _prepare_fit(self, X, y, reset, sample_weight=None):
        data, y_encoded = super()._prepare_fit(X, y, reset, sample_weight)
        if reset:  # partial_fit keeps the first fit's choice
            mixup = data["X"].ndim > 2 if is_auto(self.mixup) else bool(self.mixup)
            if self.reweight_labels and not mixup:
                raise ValueError(
                    "reweight_labels=True changes nothing without mixup (a one-hot label "
                    "times the targets, renormalised, is the label), and mixup is off for "
                    f"this {data['X'].ndim}-D X. Set mixup=True, or reweight_labels=False."
                )
            self.mixup_ = mixup
        return data, y_encoded

    # -- components ---------------------------------------------------------

    def _train_plain(self, plain):
        # lam="auto"'s λ=0 candidate (and its refit) is a plain network: see
        # the class docstring. A fitted state keeps the flag, so prediction
        # and partial_fit use the networks this fit built.
        self._plain_fit_ = bool(plain)

    def _is_plain(self):
        return self.__dict__.get("_plain_fit_", False)

    def _n_live(self):
        return 1 if self._is_plain() else self.n_networks

    def _live(self):
        return [self.module_, self.module2_] if self._n_live() == 2 else [self.module_]

    def _averages(self):
        if self._is_plain():
            return []
        return [self.ema_, self.ema2_] if self._n_live() == 2 else [self.ema_]

    def initialize_module(self):
        # A refit may build fewer networks than the last fit (the plain
        # candidate, n_networks=1): skorch would keep training the old ones.
        for name in ("module2_", "ema_", "ema2_"):
            if name in self.__dict__:
                delattr(self, name)  # skorch's __delattr__ unregisters it
        self.module_ = self._build_module(0)
        if self._n_live() == 2:
            self.module2_ = self._build_module(1)  # its own seed: other weights
        if not self._is_plain():  # the averages start as copies of the live networks
            self.ema_ = copy.deepcopy(self.module_).requires_grad_(False)
            if self._n_live() == 2:
                self.ema2_ = copy.deepcopy(self.module2_).requires_grad_(False)
        return self

    def initialize_criterion(self):
        self.criterion_ = ELRPlusLoss(self._n_live(), self.n_train_samples_, len(self.classes_))
        return self

    def _set_training(self, training=True):
        # The averages only ever run in eval mode (the target pass): set
        # here, once per call of skorch's, instead of once per batch.
        super()._set_training(training)
        for average in self._averages():
            average.eval()

    def get_all_learnable_params(self):
        # The live networks only: the averages follow them by EMA, so they
        # stay out of the optimizer, the LR schedule and gradient clipping.
        averaged = {id(p) for average in self._averages() for p in average.parameters()}
        for name, param in super().get_all_learnable_params():
            if id(param) not in averaged:
                yield name, param

    def _final_targets(self):
        return self.targets_.mean(axis=0)  # both networks' views of each row

    # -- training -----------------------------------------------------------

    def _start_training(self):
        self.global_step_ = 0
        self._mix_generator_ = None
        if self._is_plain() or not self.mixup_:
            self.mix_rng_ = None  # batches drawn as NoisyLabelClassifier draws them
            return
        # Mixup draws (coefficients, permutations) from their own seeded stream.
        seed = int(torch.randint(MAX_SEED, (1,), generator=self.data_generator_))
        self.mix_rng_ = np.random.RandomState(seed)

    def _permutation(self, n, device):
        """A random permutation of ``n`` drawn on ``device`` (no host copy).

        From a generator on the device seeded from ``mix_rng_`` at its first
        use in a fit (or after unpickling: generators stay out of pickles).
        """
        generator = self.__dict__.get("_mix_generator_")
        if generator is None or generator.device != device:
            seed = int(self.mix_rng_.randint(MAX_SEED))
            generator = self._mix_generator_ = torch.Generator(device=device).manual_seed(seed)
        return torch.randperm(n, generator=generator, device=device)

    def _graphs_steps(self):
        # Each step draws its mixup weight and reads the ramp-ups on the host.
        return False

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_mix_generator_", None)
        return state

    def get_iterator(self, dataset, training=False):
        iterator = super().get_iterator(dataset, training=training)
        if training:
            self.batches_per_epoch_ = max(len(iterator), 1)
        return iterator

    def train_step_single(self, batch, **fit_params):
        """Both networks' losses on one batch, and their gradients.

        skorch's ``train_step`` around it zeroes the gradients, notifies
        ``on_grad_computed`` (gradient clipping) and steps the optimizer.
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        if not is_index_dict(Xi):
            raise TypeError("ELRPlusClassifier trains on the rows given to fit only.")
        X = to_tensor(Xi["X"], device=self.device)
        index = to_tensor(Xi[INDEX], device=self.device)
        weight = self._batch_weight(Xi)
        y = to_tensor(yi, device=self.device)
        onehot = F.one_hot(y, len(self.classes_)).to(X.dtype)
        lam = self.lam_ * sigmoid_rampup(
            self.global_step_ / self.batches_per_epoch_, self.lam_rampup
        )
        averages, plain = self._averages(), self._is_plain()
        losses, first_logits = [], None
        for k, net in enumerate(self._live()):
            if plain:  # cross-entropy; targets from the network's own predictions
                logits = net(X, **fit_params)
                p_teacher = F.softmax(logits.detach(), dim=1)
            else:
                teacher = averages[(k + 1) % len(averages)]  # the other network's EMA
                with torch.no_grad():
                    p_teacher = F.softmax(teacher(X, **fit_params), dim=1)
            batch_targets = update_targets_(
                self.criterion_.targets[k], index, p_teacher, float(self.beta)
            )
            if not plain:
                x_in, onehot_in, batch_targets, weight_in = self._mix(
                    X, onehot, batch_targets, weight
                )
                logits = net(x_in, **fit_params)
            else:
                onehot_in, weight_in = onehot, weight
            losses.append(
                elr_plus_loss(
                    logits,
                    onehot_in,
                    batch_targets.to(logits.dtype),
                    lam,
                    weight=weight_in,
                    reweight_labels=self.reweight_labels and not plain,
                )  # fmt: skip
            )
            first_logits = logits.detach() if first_logits is None else first_logits
        # The networks' losses are independent: one backward of their sum
        # gives each network its own gradient.
        total = torch.stack(losses).sum()
        if self._distributed():  # DDP's mean gradient: the global mean's
            total = _distributed.global_mean(total, y, weight, self._rank_world[1])
        total.backward()
        return {"loss": torch.stack(losses).detach().mean(), "y_pred": first_logits}

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        decay = float(self.ema_decay) * sigmoid_rampup(
            (self.global_step_ + 1) / self.batches_per_epoch_, self.ema_rampup
        )
        for average, net in zip(self._averages(), self._live()):
            ema_update(average, net, decay)
        self.global_step_ += 1
        return step

    def _mix(self, X, onehot, targets, weight=None):
        """Mixup of inputs, labels, targets (and weights) with one l' and one permutation."""
        if not self.mixup_:
            return X, onehot, targets, weight
        mix = self.mix_rng_.beta(self.mixup_alpha, self.mixup_alpha)
        mix = max(mix, 1.0 - mix)  # the mixed batch stays closer to its own rows
        perm = self._permutation(len(X), X.device)
        mixed = [mix * t + (1 - mix) * t[perm] for t in (X, onehot, targets)]
        return (*mixed, None if weight is None else mix * weight + (1 - mix) * weight[perm])

    # -- prediction ---------------------------------------------------------

    def infer(self, x, **fit_params):
        """Mean of the live networks' logits (prediction and validation)."""
        if is_index_dict(x):
            x = to_tensor(x["X"], device=self.device)
        else:
            x = to_tensor(x, device=self.device)
        logits = [net(x, **fit_params) for net in self._live()]
        return torch.stack(logits).mean(dim=0)
