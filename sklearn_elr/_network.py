# SPDX-License-Identifier: BSD-3-Clause
"""The shared base of the two network estimators (imports torch and skorch).

:class:`NetworkBase` holds everything :class:`~sklearn_elr.NoisyLabelClassifier`
and :class:`~sklearn_elr.ELRPlusClassifier` have in common: parameter checks,
label encoding, the row-indexed batches that ELR's per-example targets need,
seeding from ``random_state``, the choice of λ on held-out noisy labels, the
NaN guard, the default callbacks, prediction, and putting the estimator back
as it was when a fit fails. The two estimators are siblings that add their
criterion (or training step) and their own parameters.
"""

import contextlib
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

try:
    import torch
    import torch.nn.functional as F
    from skorch import NeuralNetClassifier
    from skorch.utils import to_tensor
    from torch.utils.data import DataLoader
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError(
        "The network estimators need PyTorch and skorch: install torch for your "
        "CPU or CUDA (https://pytorch.org), then `pip install sklearn-elr[torch]`."
    ) from exc

from . import _distributed
from ._doc_links import DocLinkMixin
from ._elr_torch import MLP, input_moments, weighted_mean
from ._selection import (
    choose,
    choose_paired,
    holdout_split,
    is_auto,
    mean_curves,
    selection_splits,
    stack_curves,
)
from ._step_graph import StepGraph, graph_obstacle
from ._torch_data import (
    INDEX,
    MAX_SEED,
    WEIGHT,
    DeviceBatches,
    FixedSplit,
    RowBatches,
    device_batches_fit,
    global_torch_seed,
    is_index_dict,
    make_loader,
    resolve_device,
    torch_threads,
)
from ._validation import (
    check_flag,
    check_lam_candidates,
    check_real,
    check_sample_weight,
    labels_as_numpy,
    restored_on_failure,
)
from .callbacks import (
    MAX_SLACK,
    KeepSelectedEpoch,
    default_callbacks,
    reads_batch_losses,
    validation_monitors,
)
from .diagnostics import label_quality_from_targets, warn_if_collapsed

#: Networks with fewer parameters train with one torch thread by default.
_SMALL_NETWORK = 1_000_000


def _raised_by_callback(exc):
    """Whether a KeyboardInterrupt was raised by a skorch callback's own code.

    skorch's ``EarlyStopping`` (and callbacks written like it) stop training
    by raising KeyboardInterrupt; a Ctrl-C arrives wherever the interpreter
    is, almost always in the forward or backward pass.
    """
    from skorch.callbacks import Callback

    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return isinstance(tb.tb_frame.f_locals.get("self"), Callback)


class NetworkBase(DocLinkMixin, NeuralNetClassifier):
    """Private base of the network estimators; see their docstrings.

    Subclasses add their parameters (calling ``super().__init__``), the
    criterion (``initialize_criterion``) or training step, and the hooks
    ``_check_extra_params``, ``_keeps_elr_targets``, ``_final_targets`` and
    ``_start_training``.
    """

    def __init__(
        self,
        module=MLP,
        *args,
        lam="auto",
        lams=(0.0, 3.0),
        cv="auto",
        beta=0.7,
        random_state=None,
        torch_threads="auto",
        data_on_device="auto",
        cuda_graph="auto",
        criterion=None,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=60,
        batch_size=128,
        train_split=None,
        device="auto",
        verbose=0,
        iterator_train__shuffle=True,
        **kwargs,
    ):
        super().__init__(
            module,
            *args,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            iterator_train__shuffle=iterator_train__shuffle,
            **kwargs,
        )
        self.lam = lam
        self.lams = lams
        self.cv = cv
        self.beta = beta
        self.random_state = random_state
        self.torch_threads = torch_threads
        self.data_on_device = data_on_device
        self.cuda_graph = cuda_graph

    # -- device -------------------------------------------------------------

    # ``device="auto"`` is resolved at every read, in this one place: skorch's
    # internals (module placement, infer, loading) see "cuda" or "cpu", while
    # the parameter itself stays "auto" for get_params, clones and pickles.
    # Nothing ever writes the resolved value back, so no call can leave it set.
    @property
    def device(self):
        return resolve_device(self.__dict__.get("device", "cpu"))

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        if "device" in params:
            params["device"] = self.__dict__["device"]
        return params

    # -- parameters and data ------------------------------------------------

    def _check_params(self):
        """Refuse bad parameters by name, before anything is trained."""
        lams = check_lam_candidates(self.lam, self.lams, self.beta)
        check_scalar(self.max_epochs, "max_epochs", Integral, min_val=1)
        if not (self.torch_threads is None or is_auto(self.torch_threads)):
            check_scalar(self.torch_threads, "torch_threads", Integral, min_val=1)
        check_real(self.lr, "lr", min_val=0.0, include_boundaries="neither")
        check_flag(self.data_on_device, "data_on_device", allow_auto=True)
        check_flag(self.cuda_graph, "cuda_graph", allow_auto=True)
        if not (
            isinstance(self.batch_size, Integral)
            and (self.batch_size >= 1 or self.batch_size == -1)
        ):
            raise ValueError(f"batch_size must be an int >= 1 or -1, got {self.batch_size!r}.")
        self._refuse_unusable_device()
        if self.criterion is not None:
            raise ValueError(
                f"{type(self).__name__} sets its own criterion; leave criterion=None "
                f"(got {self.criterion!r})."
            )
        self._check_extra_params()
        return lams

    def _refuse_unusable_device(self):
        """Refuse a device this machine cannot compute on, by name (fit and predict)."""
        device, given = self.device, self.__dict__.get("device")
        if device is None:
            return
        try:
            kind = torch.device(device).type
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device={given!r} is not a torch device: {exc}") from None
        if kind == "meta":
            raise ValueError(
                "device='meta' holds shapes, not data: nothing can be trained or "
                "predicted there. Use 'cpu', 'cuda' or 'auto'."
            )
        if kind == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={given!r} but this torch has no CUDA "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}). "
                "Use device='cpu', device='auto' (CUDA when available), or a "
                "CUDA build of torch."
            )

    def _check_extra_params(self):
        """Subclasses check their own parameters here."""

    def _keeps_elr_targets(self):
        return True

    def _validate_X(self, X, reset):
        """float32 array for numeric input; torch Datasets pass through."""
        if isinstance(X, torch.utils.data.Dataset) or is_index_dict(X):
            return X
        # Sparse rows (CSR) are made dense a batch at a time, as skorch does.
        return validate_data(
            self, X, reset=reset, dtype=np.float32, allow_nd=True, accept_sparse="csr",
            ensure_min_samples=1, force_writeable=True,
        )  # fmt: skip

    def _prepare_fit(self, X, y, reset, sample_weight=None):
        """The dict-X for skorch and the encoded labels; sets the data's sizes."""
        name = type(self).__name__
        if isinstance(X, torch.utils.data.Dataset):
            raise TypeError(
                f"{name}.fit needs array-like X: the ELR targets are indexed by row. "
                "Pass the data as an array (images as (n, C, H, W))."
            )
        X = self._validate_X(X, reset=reset)
        names = self.__dict__.pop("_parent_feature_names_", None)
        if reset and names is not None:  # a selection candidate, see _candidate
            self.feature_names_in_ = names
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None.")
        y = column_or_1d(labels_as_numpy(y), warn=True)
        check_classification_targets(y)
        n_samples = X.shape[0]
        if len(y) != n_samples:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {n_samples} and {len(y)}."
            )
        data = {"X": X, INDEX: np.arange(n_samples)}
        if sample_weight is not None:
            weight = check_sample_weight(sample_weight, n_samples, dtype=np.float32)
            if np.ptp(weight) > 0:  # equal weights are the unweighted loss
                data[WEIGHT] = weight
        if reset:
            encoder = LabelEncoder().fit(y if self.classes is None else self.classes)
            if len(encoder.classes_) < 2:
                raise ValueError(
                    f"{name} needs samples of at least 2 classes in the "
                    f"data, but the data contains only one class: {encoder.classes_[0]!r}."
                )
            self.label_encoder_ = encoder
            self.n_train_samples_ = n_samples
            self.n_inputs_ = int(np.prod(X.shape[1:]))
            if self.module is MLP:
                # The default MLP standardises its input with the training
                # moments: raw features (digits x 1000 + 5e4) otherwise
                # collapse it to one class, silently.
                self.input_mean_, self.input_scale_ = input_moments(X)
        unknown = set(np.unique(y)) - set(self.classes_)
        if unknown:
            raise ValueError(f"y contains labels {sorted(unknown, key=str)} not in classes_.")
        return data, self.label_encoder_.transform(y).astype(np.int64)

    @property
    def classes_(self):
        return self.label_encoder_.classes_

    @property
    def targets_(self):
        check_is_fitted(self)
        return self.criterion_.targets.detach().cpu().numpy()

    # -- fitting ------------------------------------------------------------

    def _restored_on_failure(self, deep=False):
        """:func:`restored_on_failure`; ``partial_fit`` trains the existing
        modules in place (``deep=True`` copies them, with their optimizers)."""
        names = [f"{name}_" for name in self._modules + self._criteria + self._optimizers]
        return restored_on_failure(self, [*names, "history_"] if deep else ())

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train from scratch on (possibly noisy) labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            float64 input is accepted (converted to a float32 copy); a
            sparse matrix is converted to CSR and made dense a batch at a time.
        y : array-like of shape (n_samples,)
            Labels of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows' losses; the ELR targets do not depend on them.
            With ``lam="auto"`` the held-out accuracy is unweighted.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : object
        """
        # A warm start trains the fitted networks in place: a failure puts
        # their weights back too, not only the attributes.
        warm = bool(self.warm_start) and bool(getattr(self, "initialized_", False))
        with self._restored_on_failure(deep=warm):
            lams = self._check_params()
            before = self._data_sizes() if warm else None
            data, y_encoded = self._prepare_fit(X, y, reset=True, sample_weight=sample_weight)
            if warm and self._data_sizes() != before:
                raise ValueError(
                    "warm_start=True continues training the fitted networks, whose sizes "
                    "come from the first fit's data: (rows, inputs, classes) were "
                    f"{before[0]}, {before[1]}, {np.asarray(before[2]).tolist()}; now "
                    f"{self.n_train_samples_}, {self.n_inputs_}, {self.classes_.tolist()}. "
                    "Refit with warm_start=False for other data."
                )
            rng = check_random_state(self.random_state)
            # A selection candidate (see _candidate) is told whether it is the
            # plain one (None: not a candidate); its label quality, and the
            # warnings about it, are left to the fit that chooses.
            candidate_plain = self.__dict__.pop("_plain_candidate_", None)
            for name in ("cv_scores_", "n_epochs_"):
                self.__dict__.pop(name, None)  # from an earlier auto fit
            auto = self._keeps_elr_targets() and is_auto(self.lam) and len(lams) > 1
            if self._distributed():
                self._check_distributed()
            if auto and is_auto(self.cv):
                self._fit_candidates(data, y_encoded, lams, rng, sample_weight, **fit_params)
            else:
                self._check_validation_monitors()
                if auto:
                    self.lam_, epochs, self.cv_scores_ = self._cross_validate(
                        data, y_encoded, lams, rng, sample_weight, **fit_params
                    )
                    fit_params = {**fit_params, "epochs": epochs}
                else:
                    self.lam_ = float(lams[0])
                if not warm:  # lam="auto" trains λ=0 as plain training
                    auto_plain = is_auto(self.lam) and self.lam_ == 0
                    self._train_plain(auto_plain if candidate_plain is None else candidate_plain)
                self._fit_one(data, y_encoded, rng, **fit_params)
            if candidate_plain is None:  # not a candidate
                self._record_label_quality(data, y_encoded)
        return self

    def _n_threads(self):
        """torch's intra-op threads while the networks run, or None."""
        if not is_auto(self.torch_threads):
            return self.torch_threads
        device = self.device
        if device is not None and torch.device(device).type != "cpu":
            return None
        # Small networks gain nothing from intra-op threads on a free machine
        # (digits: 1.3 ms per batch with 2 threads, 1.6 ms with 1) and lose
        # 10-40x when other work shares the cores; large ones keep torch's.
        n_params = sum(
            p.numel() for name in self._modules for p in getattr(self, f"{name}_").parameters()
        )
        return 1 if n_params < _SMALL_NETWORK else None

    def _start_training(self):
        """Subclasses reset their per-fit training state here."""

    def _train_plain(self, plain):
        """``lam="auto"``: whether this fit trains the λ=0 candidate.

        That candidate is plain training; for NoisyLabelClassifier it is
        ``lam=0`` itself, ELRPlusClassifier makes it one plain network.
        """

    def _torch_randomness(self, seed):
        """Where torch's randomness comes from during a fit.

        The default MLP draws initialisation and dropout from its own seeded
        generators and the batches from ``data_generator_``: nothing touches
        torch's global generator, so fits in threads are reproducible and run
        in parallel. Other modules can only use the global generator: it is
        seeded, restored after, and held by one fit at a time.
        """
        if self.module is MLP:
            return contextlib.nullcontext()
        return global_torch_seed(seed, self.device)

    def _data_sizes(self):
        """What a fitted network's shapes depend on: rows (ELR targets), inputs, classes."""
        return (
            self.__dict__.get("n_train_samples_"),
            self.__dict__.get("n_inputs_"),
            tuple(self.label_encoder_.classes_) if hasattr(self, "label_encoder_") else None,
        )

    def _check_validation_monitors(self):
        """Refuse, before training, callbacks that need validation data it lacks."""
        if self.train_split is not None:
            return
        for name, monitor in validation_monitors(self.callbacks):
            raise ValueError(
                f"The callback {name!r} monitors {monitor!r}, but this fit has no "
                "validation data (train_split=None). Use lam='auto' with cv='auto' "
                "(its held-out rows are the validation data), or pass a train_split, "
                "e.g. skorch.dataset.ValidSplit(5)."
            )

    def _candidate(self, lam, train_split, seed, callbacks=()):
        """A clone that trains candidate ``lam`` on ``train_split``'s rows."""
        user = list(self.callbacks or [])
        # Quiet: no epoch table is built (skorch builds it even when silent).
        net = clone(self).set_params(
            lam=float(lam), train_split=train_split, verbose=0, random_state=seed,
            callbacks=[*user, *callbacks] or None, callbacks__print_log=None,
        )  # fmt: skip
        if self._distributed():  # a rank's candidate is a rank of the same fit
            net._rank_world = self._rank_world
        net._plain_candidate_ = lam == 0
        # Trained on the validated array, it still knows a DataFrame's column
        # names: a callback predicting the user's frames must not warn.
        net._parent_feature_names_ = self.__dict__.get("feature_names_in_")
        return net

    def _fit_candidates(self, data, y_encoded, lams, rng, sample_weight=None, **fit_params):
        """``lam="auto"``, ``cv="auto"``: train each candidate once, keep the best.

        Each candidate trains on the same rows (all but one stratified
        hold-out, or the user's ``train_split``), from the same seed (the
        comparison is paired: same initial weights, same batches), and keeps
        its weights at its best epoch on the held-out rows (the latest epoch
        within one standard error of its best, see
        :class:`~sklearn_elr.callbacks.KeepSelectedEpoch`). The candidate with the
        best held-out accuracy is the fitted network, as it is, without a
        refit: a default fit costs ``len(lams)`` fits on 75-90 % of the rows.
        Networks memorize, so the largest λ is kept unless a smaller one wins
        the paired comparison on the held-out rows by one standard deviation
        (:func:`~sklearn_elr._selection.choose_paired`).
        """
        if self.train_split is None:
            split = holdout_split(y_encoded, rng)
            if split is None:  # too few rows to hold any out: ELR, untested
                self.lam_ = float(lams[-1])
                self._train_plain(self.lam_ == 0)
                return self._fit_one(data, y_encoded, rng, **fit_params)
            train_split, n_held_out = FixedSplit(*split), len(split[1])
        else:
            train_split, n_held_out = self.train_split, None
        seed = rng.randint(MAX_SEED)
        labels = self.classes_[y_encoded]
        nets, curves = [], []
        if self.verbose:
            rows = (
                f"{n_held_out} held-out rows" if n_held_out else "the train_split's validation rows"
            )
            print(f"Choosing lam among {tuple(float(lam) for lam in lams)} on {rows}: "
                  f"{len(lams)} fits of {self.max_epochs} epochs.", flush=True)  # fmt: skip
        for lam in lams:
            keeper = KeepSelectedEpoch(n_held_out)
            net = self._candidate(lam, train_split, seed, [("keep_selected_epoch", keeper)])
            net.fit(data["X"], labels, sample_weight=sample_weight, **fit_params)
            if net.__dict__.get("_interrupted"):
                raise KeyboardInterrupt  # a Ctrl-C, not a callback stopping one candidate
            if "valid_acc" not in net.history[-1]:
                raise ValueError(
                    "lam='auto' chooses on held-out accuracy: the train_split must "
                    "leave validation rows (history has no 'valid_acc')."
                )
            nets.append((net, keeper))
            curves.append(np.asarray(net.history[:, "valid_acc"], dtype=float))
        self.cv_scores_ = stack_curves(curves)
        best = [curve.max() for curve in curves]
        for net, keeper in nets:
            keeper.restore(net)
            if self._distributed():  # the kept copy holds this rank's rows only
                _distributed.sum_targets(net)
        if n_held_out:
            held_out = split[1]
            rows, truth = data["X"][held_out], y_encoded[held_out]
            correct = [net._proba(rows).argmax(axis=1) == truth for net, _ in nets]
            k = choose_paired(correct)
        else:  # a user's train_split: compare the best accuracies, ties to the larger λ
            k = max(i for i, b in enumerate(best) if b >= max(best) - MAX_SLACK)
        net, keeper = nets[k]
        self._adopt(net)
        self.callbacks_ = [(n, cb) for n, cb in self.callbacks_ if cb is not keeper]
        self.lam_ = float(lams[k])
        self.n_epochs_ = keeper.epoch_
        if self.verbose:
            scores = ", ".join(f"lam={float(lam):g}: {b:.3f}" for lam, b in zip(lams, best))
            print(f"Chose lam={self.lam_:g}, epoch {self.n_epochs_} (held-out accuracy "
                  f"{scores}).", flush=True)  # fmt: skip

    def _fit_one(self, data, y_encoded, rng, **fit_params):
        """One skorch fit on all rows (or the ``train_split``'s), seeded from ``rng``."""
        self.torch_seed_ = rng.randint(MAX_SEED)
        self.data_generator_ = torch.Generator().manual_seed(self.torch_seed_)
        self._start_training()
        with self._torch_randomness(self.torch_seed_):
            super().fit(data, y_encoded, **fit_params)
        if self._distributed():
            _distributed.finish(self)

    # -- one fit across ranks (``sklearn_elr.distributed``) -----------------

    def _distributed(self):
        """Whether this fit is one rank of a ``torch.distributed`` fit."""
        return self.__dict__.get("_rank_world") is not None

    def _check_distributed(self):
        # FixedSplit is the λ selection's own hold-out, the same on every rank.
        if not (self.train_split is None or isinstance(self.train_split, FixedSplit)) or (
            self.data_on_device is False
        ):
            raise ValueError(
                "A distributed fit shards the rows itself: leave train_split=None and "
                "data_on_device='auto'."
            )

    def get_split_datasets(self, X, y=None, **fit_params):
        if not (self._distributed() and is_index_dict(X)):
            return super().get_split_datasets(X, y, **fit_params)
        # This rank's shard of the training rows. The held-out rows of the
        # λ selection are validated whole on every rank: the networks are
        # the same on all ranks (DDP), so are their scores and the choice.
        dataset = self.get_dataset(X, y)
        train, valid = (dataset, None) if self.train_split is None else self.train_split(dataset)
        self._n_training_rows_ = len(train)
        rows = _distributed.shard(len(train), *self._rank_world, self.torch_seed_)
        return torch.utils.data.Subset(train, rows), valid

    def _adopt(self, net):
        """Take the fitted state of a candidate clone (not its parameters)."""
        # The candidate's own parameters (callbacks__print_log=None) stay
        # behind: taken over, a refit's clone would pass them on.
        params = set(self.get_params(deep=False)) | set(net.get_params(deep=False))
        for key, value in net.__dict__.items():
            if key not in params and key != "device" and not key.startswith("_params_"):
                self.__dict__[key] = value

    def _cross_validate(self, data, y_encoded, lams, rng, sample_weight=None, **fit_params):
        """``lam="auto"`` with an explicit ``cv``: every candidate on every split.

        Each candidate is a clone with that ``lam`` whose ``train_split``
        holds out one split's rows; its ``valid_acc`` after each epoch is the
        score. Returns ``(lam, n_epochs, mean_scores)``; the refit trains on
        all rows for ``n_epochs``. Costs ``len(lams)`` fits per split plus
        the refit.
        """
        splits = selection_splits(self.cv, data["X"], y_encoded, rng)
        labels = self.classes_[y_encoded]
        curves, n_held_out = [], 0
        if self.verbose:
            print(f"Choosing lam among {tuple(float(lam) for lam in lams)} on {len(splits)} "
                  f"splits: {len(splits) * len(lams)} fits, then a refit.", flush=True)  # fmt: skip
        for train, held_out in splits:
            n_held_out += len(held_out)
            seed = rng.randint(MAX_SEED)
            scores = []
            for lam in lams:
                net = self._candidate(lam, FixedSplit(train, held_out), seed)
                net.fit(data["X"], labels, sample_weight=sample_weight, **fit_params)
                if net.__dict__.get("_interrupted"):
                    raise KeyboardInterrupt
                scores.append(np.asarray(net.history[:, "valid_acc"], dtype=float))
            curves.append(stack_curves(scores))
        mean_scores = mean_curves(curves, self.max_epochs)
        # Networks memorize, so ELR is the prior: plain cross-entropy must win
        # by one held-out example per split (at most 1 point) to be chosen.
        slack = min(len(curves) / n_held_out, MAX_SLACK)
        k, n_epochs = choose(mean_scores, slack=slack, prefer="larger")
        if self.verbose:
            print(f"Chose lam={float(lams[k]):g}, {n_epochs} epochs.", flush=True)
        return float(lams[k]), n_epochs, mean_scores

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        # Training runs with the torch threads of ``torch_threads``, decided
        # from the networks just built. skorch swallows a KeyboardInterrupt and returns the partly trained
        # net. Ours too, but it notes a Ctrl-C (as opposed to a callback such
        # as EarlyStopping stopping training), so that lam="auto" raises it
        # instead of choosing among half-trained candidates.
        try:
            with torch_threads(self._n_threads()):
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as exc:
            self._interrupted = not _raised_by_callback(exc)
            raise
        finally:
            # A captured step holds device memory and is not picklable: it
            # lives for one call of fit_loop.
            self.__dict__.pop("_step_graph_", None)

    def _record_label_quality(self, data, y_encoded):
        """``label_quality_`` and ``label_issues_`` from the final targets.

        Rows the network never trained on (held out to choose λ, or by a
        ``train_split``) have no target: they are judged by the network's
        out-of-sample probabilities instead.
        """
        targets = self._final_targets()
        if targets is None:
            return
        unseen = targets.sum(axis=1) == 0
        if unseen.any():
            targets = targets.copy()
            # Validated already: a DataFrame's rows are an array here, and
            # checking them again would warn that the names are missing.
            targets[unseen] = self._proba(data["X"][unseen])
        self.label_quality_, self.label_issues_ = label_quality_from_targets(targets, y_encoded)
        warn_if_collapsed(targets, y_encoded, self.lam_, type(self).__name__)

    def _final_targets(self):
        return self.targets_

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Continue training on the same rows as the first fit.

        ELR's targets are indexed by row, so ``X`` must hold the training
        examples of the first ``fit`` in the same order; chunked or streaming
        ``partial_fit`` is not supported. A call that fails leaves the
        estimator as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
        classes : ignored
        sample_weight : array-like of shape (n_samples,), default=None
        **fit_params : dict

        Returns
        -------
        self : object
        """
        if is_index_dict(X):  # called by our own fit through skorch's fit
            return super().partial_fit(X, y, classes, **fit_params)
        if not self.initialized_:
            return self.fit(X, y, sample_weight=sample_weight, **fit_params)
        with self._restored_on_failure(deep=True):
            self._check_params()
            data, y_encoded = self._prepare_fit(X, y, reset=False, sample_weight=sample_weight)
            if len(y_encoded) != self.n_train_samples_:
                raise ValueError(
                    "partial_fit continues training on the rows of the first fit: "
                    f"expected {self.n_train_samples_} rows, got {len(y_encoded)}."
                )
            seed = int(torch.randint(MAX_SEED, (1,), generator=self.data_generator_))
            with self._torch_randomness(seed):
                super().partial_fit(data, y_encoded, **fit_params)
            self._record_label_quality(data, y_encoded)
        return self

    # -- components ---------------------------------------------------------

    def initialize(self):
        """Build the components; without a fit, from the parameters alone.

        Weights saved with ``save_params`` load into a fresh estimator: set
        ``classes`` (or ``module__n_classes``) and, for the default MLP,
        ``module__n_features`` and ``module__n_classes``, then ``initialize()``
        and ``load_params``.
        """
        if not hasattr(self, "label_encoder_"):
            n_classes = self.get_params_for("module").get("n_classes")
            classes = self.classes if self.classes is not None else n_classes
            if classes is None:
                raise ValueError(
                    f"{type(self).__name__} learns its classes in fit: call fit, or set "
                    "classes (and, for the default MLP, module__n_features and "
                    "module__n_classes) before initialize()."
                )
            classes = np.arange(classes) if isinstance(classes, Integral) else classes
            self.label_encoder_ = LabelEncoder().fit(classes)
            self.n_train_samples_ = 0  # no targets: load_params, then predict
            self.lam_ = 0.0 if is_auto(self.lam) else float(self.lam)
            self.torch_seed_ = check_random_state(self.random_state).randint(MAX_SEED)
        super().initialize()
        if self._distributed():
            _distributed.wrap(self)  # DDP around the network, for this fit
        return self

    def _module_kwargs(self, seed):
        """``module__*`` parameters, plus the data's sizes for the default MLP."""
        kwargs = self.get_params_for("module")
        if self.module is MLP:
            if hasattr(self, "n_inputs_"):
                kwargs.setdefault("n_features", self.n_inputs_)
                kwargs.setdefault("input_mean", self.input_mean_)
                kwargs.setdefault("input_scale", self.input_scale_)
            kwargs.setdefault("n_classes", len(self.classes_))
            kwargs.setdefault("seed", seed)
            if "n_features" not in kwargs:
                raise ValueError(
                    "The default MLP is sized from the data: call fit, or set "
                    "module__n_features and module__n_classes."
                )
        return kwargs

    def _build_module(self, k=0):
        """Network ``k`` of this fit, with its own seed."""
        seed = int(np.random.SeedSequence([self.torch_seed_, k]).generate_state(1)[0] >> 1)
        return self.initialized_instance(self.module, self._module_kwargs(seed))

    def initialize_module(self):
        self.module_ = self._build_module(0)
        return self

    def get_dataset(self, X, y=None):
        if is_index_dict(X):
            return RowBatches(X["X"], y, X.get(WEIGHT))
        if sp.issparse(X):  # rows to predict, made dense a batch at a time
            return RowBatches(X, y)
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training=False):
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = self.iterator_train if training else self.iterator_valid
        if iterator is not DataLoader:
            return super().get_iterator(dataset, training=training)
        kwargs = self.get_params_for(prefix)
        batch_size = kwargs.pop("batch_size", self.batch_size)
        batch_size = len(dataset) if batch_size == -1 else batch_size
        # Every DataLoader draws a base seed when it starts: from the fit's
        # generator (training) or a fresh one, never torch's global generator.
        # One generator per fit: every epoch draws a new order and refits
        # with the same random_state repeat the sequence.
        generator = kwargs.pop("generator", None)
        if generator is None:
            generator = getattr(self, "data_generator_", None) if training else None
            generator = torch.Generator() if generator is None else generator
        on_device = device_batches_fit(dataset, kwargs, self.device, self.data_on_device)
        if training and self._distributed() and not on_device:
            # A DataLoader cannot give every rank the same number of batches.
            raise ValueError(
                "A distributed fit draws its batches on the device: it needs dense X "
                "and no iterator_train__* setting that needs a DataLoader (workers, "
                "pinned memory, a sampler or collate function)."
            )
        if on_device:
            return DeviceBatches(
                dataset, batch_size, generator, self.device,
                shuffle=kwargs.get("shuffle", False), drop_last=kwargs.get("drop_last", False),
                n_batches=_distributed.n_batches(self, batch_size) if training else None,
            )  # fmt: skip
        return make_loader(dataset, batch_size, generator, **kwargs)

    def _defers_losses(self, iterator):
        """Whether this epoch's batch losses can wait on the device until its end."""
        return isinstance(iterator, DeviceBatches) and not reads_batch_losses(
            self.callbacks_, self.verbose
        )

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch, keeping the batch losses on the device until its end.

        ``loss.item()`` after every batch makes the host wait for the device
        each step. On the device path, when no callback reads the batch
        losses during the epoch, this is skorch's loop line for line except
        that each loss is recorded as a device scalar and all of them are
        fetched at once after the last batch (one synchronisation per
        epoch), before ``on_epoch_end``: the history holds the same floats.
        The NaN guard then runs on the epoch's losses.
        """
        # A graphed step rules out the callbacks that read a batch's loss.
        graph = self._step_graph(iterator, step_fn, fit_params) if training else None
        if graph is None and not self._defers_losses(iterator):
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        losses = []
        for index in iterator.indices():
            if graph is not None and graph.takes(index):
                batch, step = graph.step(index)
                # The callbacks (none acts per batch) see it as it ran.
                self.notify("on_batch_begin", batch=batch, training=training)
            else:
                batch = iterator.gather(index)
                self.notify("on_batch_begin", batch=batch, training=training)
                step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            self.history.record_batch(prefix + "_loss", losses[-1])
            self.history.record_batch(prefix + "_batch_size", len(batch[1]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        if losses:
            values = torch.stack(losses).tolist()
            records = self.history[-1]["batches"][-len(losses) :]
            for record, value in zip(records, values):
                record[prefix + "_loss"] = value
            if training:
                for value in values:
                    self._check_finite(value)
        self.history.record(prefix + "_batch_count", len(losses))

    def _step_graph(self, iterator, step_fn, fit_params):
        """The :class:`~sklearn_elr._step_graph.StepGraph` of this fit_loop, or None.

        ``cuda_graph="auto"`` graphs the steps where it is safe; True refuses
        the settings that rule it out, by name.
        """
        if self.cuda_graph is False:
            return None
        graph = self.__dict__.get("_step_graph_")
        if graph is not None and graph.iterator is iterator and graph.still_valid():
            return graph
        reason = (
            graph_obstacle(self)
            if isinstance(iterator, DeviceBatches)
            else "the training rows are not on the device (see data_on_device)"
        )
        if reason is not None:
            if self.cuda_graph is True:
                raise ValueError(f"cuda_graph=True but {reason}; use cuda_graph='auto'.")
            return None
        graph = self._step_graph_ = StepGraph(
            self, iterator, step_fn, fit_params, strict=self.cuda_graph is True
        )
        return graph

    def _graphs_steps(self):
        """Whether this estimator's training step can be captured in a graph."""
        return True

    def infer(self, x, **fit_params):
        if is_index_dict(x):
            return self.module_(to_tensor(x["X"], device=self.device), **fit_params)
        return super().infer(x, **fit_params)

    def _batch_weight(self, X):
        """The batch's sample weights as a tensor, or None."""
        if is_index_dict(X) and WEIGHT in X:
            return to_tensor(X[WEIGHT], device=self.device)
        return None

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device)
        weight = self._batch_weight(X)
        if training and is_index_dict(X):
            index = to_tensor(X[INDEX], device=self.device)
            loss = self.criterion_(y_pred, y_true, index, weight)
            if self._distributed():
                loss = _distributed.global_mean(loss, y_true, weight, self._rank_world[1])
            return loss
        # Validation and scoring: plain cross-entropy, targets untouched.
        return weighted_mean(F.cross_entropy(y_pred, y_true, reduction="none"), weight)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            # Plain indexing: History's tuple lookup costs more per batch.
            loss = self.history[-1]["batches"][-1]["train_loss"]
            if not isinstance(loss, torch.Tensor):  # deferred: checked at epoch end
                self._check_finite(loss)

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        # On CUDA, the default Adam steps as one fused kernel instead of ~15
        # multi-tensor launches per batch: the same update rule. Left alone
        # when the user chose the optimizer's implementation.
        if (
            self.optimizer in (torch.optim.Adam, torch.optim.AdamW)
            and torch.device(self.device).type == "cuda"
            and not {"fused", "foreach"} & kwargs.keys()
        ):
            kwargs["fused"] = True
        return args, kwargs

    def _check_finite(self, loss):
        """The NaN guard: a non-finite training loss ends the fit."""
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"The training loss became {loss} in epoch {len(self.history)}; "
                "the model is unusable. Lower lr or lam, or standardise X."
            )

    @property
    def _default_callbacks(self):
        return default_callbacks()

    # -- prediction ---------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or torch Dataset

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            float64, rows sum to one.
        """
        check_is_fitted(self)
        self._refuse_unusable_device()
        return self._proba(self._validate_X(X, reset=False))

    def _proba(self, X):
        """``predict_proba`` of rows already validated (the training rows in ``fit``)."""
        with torch_threads(self._n_threads()):
            proba = super().predict_proba(X)
        proba = proba.astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class of each row, as labels from ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or torch Dataset

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)  # first: it raises NotFittedError
        return self.classes_[proba.argmax(axis=1)]

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_step_graph_", None)  # a callback pickling the net mid-fit
        return state

    def __setstate__(self, state):
        # skorch maps the tensors to the stored device; "auto" means what
        # this machine has, and stays "auto" in the parameter.
        device = state.get("device")
        if isinstance(device, str) and device == "auto":
            state["device"] = resolve_device("auto")
            super().__setstate__(state)
            self.device = "auto"
        else:
            super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        tags.non_deterministic = False
        return tags
