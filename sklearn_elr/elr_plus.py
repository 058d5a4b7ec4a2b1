# SPDX-License-Identifier: BSD-3-Clause
"""ELR+ (Liu et al., NeurIPS 2020, section 4.3): :class:`ELRPlusClassifier`."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from sklearn.utils import check_random_state, check_scalar

from ._elr_torch import MLP, ELRPlusLoss, ema_update, elr_plus_loss, sigmoid_rampup
from ._validation import check_lam_candidates
from .neural import _INDEX, NoisyLabelClassifier, _is_index_dict

__all__ = ["ELRPlusClassifier"]


class ELRPlusClassifier(NoisyLabelClassifier):
    """ELR+: two networks, weight averaging and mixup around the ELR loss.

    Each network ``k`` keeps an exponential moving average (EMA) of its
    weights. The targets of network ``k`` are updated from the **other**
    network's EMA on the un-mixed batch, ``t <- beta t + (1 - beta) p_ema``;
    then one mixup coefficient ``l ~ Beta(a, a)``, ``l' = max(l, 1 - l)``, and
    one permutation mix the inputs, the one-hot labels and the targets, and
    the loss is soft-label cross-entropy on the mixed batch plus
    ``lam * log(1 - <p, t_mixed>)``.

    Differences from the reference code, on purpose: both networks train on
    the same rows and the same noisy labels (the reference re-drew the split
    and the noise per network); they see the same batches, network 1 then
    network 2 on each batch; everything is seeded from ``random_state``.

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
        ELR strength λ; ``"auto"`` chooses it among ``lams`` and the number
        of epochs on held-out noisy labels, as in
        :class:`~sklearn_elr.NoisyLabelClassifier`.
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
    mixup : bool, default=True
        False trains on the un-mixed batch (ablation).
    random_state, optimizer, lr, max_epochs, batch_size, train_split, device, verbose, **kwargs
        As in :class:`~sklearn_elr.NoisyLabelClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    targets_ : ndarray of shape (n_networks, n_samples, n_classes)
        Final targets of each network, rows in the order of the training ``X``.
    label_quality_, label_issues_ : ndarray of shape (n_samples,)
        As in :class:`~sklearn_elr.NoisyLabelClassifier`, from the mean of the
        networks' targets.
    module_, module2_ : torch modules
        The live networks (``module2_`` with two networks).
    ema_, ema2_ : torch modules
        Their weight averages.
    n_features_in_ : int
    """

    def __init__(
        self,
        module=MLP,
        *args,
        lam="auto",
        lams=(0.0, 3.0),
        cv="auto",
        beta=0.7,
        mixup_alpha=1.0,
        ema_decay=0.997,
        ema_rampup=40,
        lam_rampup=0,
        n_networks=2,
        mixup=True,
        random_state=None,
        criterion=None,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=60,
        batch_size=128,
        train_split=None,
        verbose=0,
        iterator_train__shuffle=True,
        **kwargs,
    ):
        # Skip NoisyLabelClassifier.__init__: its loss-choice parameters do
        # not apply, and skorch makes every attribute a parameter.
        NeuralNetClassifier.__init__(
            self,
            module,
            *args,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            iterator_train__shuffle=iterator_train__shuffle,
            **kwargs,
        )
        self.lam = lam
        self.lams = lams
        self.cv = cv
        self.beta = beta
        self.mixup_alpha = mixup_alpha
        self.ema_decay = ema_decay
        self.ema_rampup = ema_rampup
        self.lam_rampup = lam_rampup
        self.n_networks = n_networks
        self.mixup = mixup
        self.random_state = random_state

    def _uses_elr(self):
        return True

    def _check_elr_params(self):
        lams = check_lam_candidates(self.lam, self.lams, self.beta)
        check_scalar(
            self.mixup_alpha, "mixup_alpha", Real, min_val=0.0, include_boundaries="neither"
        )
        check_scalar(
            self.ema_decay, "ema_decay", Real, min_val=0.0, max_val=1.0,
            include_boundaries="left",
        )  # fmt: skip
        check_scalar(self.ema_rampup, "ema_rampup", Real, min_val=0.0)
        check_scalar(self.lam_rampup, "lam_rampup", Real, min_val=0.0)
        check_scalar(self.n_networks, "n_networks", Integral, min_val=1, max_val=2)
        if not isinstance(self.mixup, (bool, np.bool_)):
            raise ValueError(f"mixup must be True or False, got {self.mixup!r}.")
        if self.criterion is not None:
            raise ValueError(f"ELRPlusClassifier sets its own criterion; got {self.criterion!r}.")
        return lams

    # -- components ---------------------------------------------------------

    def _live(self):
        return [self.module_, self.module2_] if self.n_networks == 2 else [self.module_]

    def _averages(self):
        return [self.ema_, self.ema2_] if self.n_networks == 2 else [self.ema_]

    def initialize_module(self):
        super().initialize_module()  # module_, sized from the data
        if self.n_networks == 2:
            # Built after module_, from the advanced generator: other weights.
            self.module2_ = self.initialized_instance(self.module, self._module_kwargs())
        # The averages start as copies of the live networks.
        self.ema_ = copy.deepcopy(self.module_).requires_grad_(False)
        if self.n_networks == 2:
            self.ema2_ = copy.deepcopy(self.module2_).requires_grad_(False)
        return self

    def initialize_criterion(self):
        self.criterion_ = ELRPlusLoss(self.n_networks, self.n_train_samples_, len(self.classes_))
        return self

    def initialize_optimizer(self, *args, **kwargs):
        # One optimizer per live network; the averages are never optimized.
        for name, module in zip(("optimizer_", "optimizer2_"), self._live()):
            opt_args, opt_kwargs = self.get_params_for_optimizer(
                "optimizer", module.named_parameters()
            )
            setattr(self, name, self.optimizer(*opt_args, **opt_kwargs))
        return self

    @property
    def targets_(self):
        return self.criterion_.targets.detach().cpu().numpy()

    def _final_targets(self):
        return self.targets_.mean(axis=0)  # both networks' views of each row

    # -- training -----------------------------------------------------------

    def fit(self, X, y, **fit_params):
        """Train both networks from scratch; see :meth:`NoisyLabelClassifier.fit`."""
        self.global_step_ = 0
        # Mixup draws (coefficients, permutations) from their own seeded stream.
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self.mix_rng_ = np.random.RandomState(seed)
        return super().fit(X, y, **fit_params)

    def get_iterator(self, dataset, training=False):
        iterator = super().get_iterator(dataset, training=training)
        if training:
            self.batches_per_epoch_ = max(len(iterator), 1)
        return iterator

    def train_step(self, batch, **fit_params):
        Xi, yi = unpack_data(batch)
        if not _is_index_dict(Xi):
            raise TypeError("ELRPlusClassifier trains on the rows given to fit only.")
        X = to_tensor(Xi["X"], device=self.device)
        index = to_tensor(Xi[_INDEX], device=self.device)
        y = to_tensor(yi, device=self.device)
        onehot = F.one_hot(y, len(self.classes_)).to(X.dtype)
        epoch_progress = self.global_step_ / self.batches_per_epoch_
        lam = self.lam_ * sigmoid_rampup(epoch_progress, self.lam_rampup)
        decay = float(self.ema_decay) * sigmoid_rampup(
            (self.global_step_ + 1) / self.batches_per_epoch_, self.ema_rampup
        )
        live, averages = self._live(), self._averages()
        optimizers = [self.optimizer_, getattr(self, "optimizer2_", None)]
        losses, first_logits = [], None
        for k, (net, optimizer) in enumerate(zip(live, optimizers)):
            teacher = averages[(k + 1) % len(averages)]  # the other network's EMA
            with torch.no_grad():
                teacher.eval()
                p_teacher = F.softmax(teacher(X, **fit_params), dim=1)
                targets = self.criterion_.targets[k]
                batch_targets = targets[index].mul_(float(self.beta))
                batch_targets.add_(p_teacher.to(targets.dtype), alpha=1 - float(self.beta))
                targets[index] = batch_targets
            x_in, labels, mixed_targets = self._mix(X, onehot, batch_targets)
            net.train()
            logits = net(x_in, **fit_params)
            loss = elr_plus_loss(logits, labels, mixed_targets.to(logits.dtype), lam)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            ema_update(averages[k], net, decay)
            losses.append(loss.detach())
            first_logits = logits.detach() if first_logits is None else first_logits
        self.global_step_ += 1
        return {"loss": torch.stack(losses).mean(), "y_pred": first_logits}

    def _mix(self, X, onehot, targets):
        """Mixup of inputs, labels and targets with one l' and one permutation."""
        if not self.mixup:
            return X, onehot, targets
        mix = self.mix_rng_.beta(self.mixup_alpha, self.mixup_alpha)
        mix = max(mix, 1.0 - mix)  # the mixed batch stays closer to its own rows
        perm = torch.from_numpy(self.mix_rng_.permutation(len(X))).to(X.device)
        return (
            mix * X + (1 - mix) * X[perm],
            mix * onehot + (1 - mix) * onehot[perm],
            mix * targets + (1 - mix) * targets[perm],
        )

    # -- prediction ---------------------------------------------------------

    def infer(self, x, **fit_params):
        """Mean of the live networks' logits (prediction and validation)."""
        if _is_index_dict(x):
            x = to_tensor(x["X"], device=self.device)
        else:
            x = to_tensor(x, device=self.device)
        logits = [net(x, **fit_params) for net in self._live()]
        return torch.stack(logits).mean(dim=0)

