# SPDX-License-Identifier: BSD-3-Clause
"""The ELR network as a skorch estimator: :class:`NoisyLabelClassifier`."""

import contextlib
from collections.abc import Mapping
from numbers import Real

import numpy as np
from sklearn.base import clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

try:
    import torch
    import torch.nn.functional as F
    from skorch import NeuralNetClassifier
    from skorch.callbacks import (
        EpochScoring,
        EpochTimer,
        PassthroughScoring,
        PrintLog,
        ProgressBar,
    )
    from skorch.utils import to_tensor
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError(
        "The network estimators need PyTorch and skorch: install torch for your "
        "CPU or CUDA (https://pytorch.org), then `pip install sklearn-elr[torch]`."
    ) from exc

from ._elr_torch import MLP, CELoss, ELRLoss, GCELoss, SCELoss, input_moments
from ._selection import choose, is_auto, mean_curves, selection_splits
from ._validation import check_lam_candidates

#: From this many rows, ``cv="auto"`` holds out 10 % once instead of 5 folds.
_HOLDOUT_FROM = 5_000
from .diagnostics import label_quality_from_targets

__all__ = ["NoisyLabelClassifier", "MLP"]

LOSSES = ("elr", "ce", "gce", "sce")
_INDEX = "sample_idx"  # key of the example positions in the dict-X of fit


def _is_index_dict(X):
    return isinstance(X, Mapping) and _INDEX in X


class _RowBatches(torch.utils.data.Dataset):
    """Training rows with their positions, fetched a whole batch at a time.

    ``dataset[rows]`` with a list of positions returns one batch,
    ``({"X": X[rows], "sample_idx": rows}, y[rows])``, so a batch costs one
    NumPy gather instead of skorch's per-row indexing and collation. An int
    position returns one example, for custom iterators. ``X`` and ``y`` are
    attributes so skorch's ``data_from_dataset`` finds them.
    """

    def __init__(self, X, y):
        self.X = X
        self.y = y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, rows):
        rows = np.asarray(rows)
        return {"X": torch.as_tensor(self.X[rows]), _INDEX: torch.as_tensor(rows)}, (
            torch.as_tensor(self.y[rows])
        )


class _FixedSplit:
    """A skorch ``train_split`` that holds out given rows of the training set."""

    def __init__(self, train, held_out):
        self.train = train
        self.held_out = held_out

    def __call__(self, dataset, y=None, **kwargs):
        subset = torch.utils.data.Subset
        return subset(dataset, self.train), subset(dataset, self.held_out)


def _root_dataset(dataset):
    while isinstance(dataset, torch.utils.data.Subset):
        dataset = dataset.dataset
    return dataset


def _encoded_accuracy(net, X, y):
    """Validation accuracy on skorch's internal, already encoded labels."""
    return float(np.mean(net.predict_proba(X).argmax(axis=1) == np.asarray(y)))


def resolve_device(device):
    """``"auto"`` becomes ``"cuda"`` when available, else ``"cpu"``."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@contextlib.contextmanager
def _seeded_torch(seed, device):
    """Seed torch inside the block and restore the global generators after.

    Module initialisation and dropout draw from torch's global generator;
    forking it keeps the user's own random stream untouched by ``fit``.
    """
    cuda = torch.device(device).type == "cuda" if device is not None else False
    devices = [torch.device(device).index or 0] if cuda else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class _VerboseProgressBar(ProgressBar):
    """skorch's progress bar, shown only while ``net.verbose`` is set."""

    def on_epoch_begin(self, net, **kwargs):
        if _is_verbose(net):
            super().on_epoch_begin(net, **kwargs)

    def on_batch_end(self, net, **kwargs):
        if _is_verbose(net):
            super().on_batch_end(net, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        if _is_verbose(net):
            super().on_epoch_end(net, **kwargs)


def _is_verbose(net):
    return isinstance(net.verbose, (int, np.integer)) and net.verbose > 0


class NoisyLabelClassifier(NeuralNetClassifier):
    """Neural network classifier trained with Early-Learning Regularization.

    A skorch :class:`~skorch.NeuralNetClassifier` whose loss is
    cross-entropy plus ``lam * log(1 - <p_i, t_i>)``, where ``t_i`` is a
    per-example moving average of the network's own predictions (Liu et al.,
    NeurIPS 2020). Any torch module that returns logits works; the default is
    an :class:`MLP` sized from the data at fit. Labels of any type go in and
    come out of ``predict``.

    Parameters
    ----------
    module : torch module class or instance, default=MLP
        Returns logits of shape (n, n_classes). Pass the class, not an
        instance, so that clones start from fresh weights. With the default,
        ``module__hidden_sizes`` and ``module__dropout`` set its shape.
    loss : {"elr", "ce", "gce", "sce"}, default="elr"
        ``"elr"``: cross-entropy + ELR. Baselines: ``"ce"`` (plain
        cross-entropy), ``"gce"`` (generalized cross-entropy, Zhang &
        Sabuncu 2018) and ``"sce"`` (symmetric cross-entropy, Wang et al.
        2019).
    lam : float or "auto", default="auto"
        ELR strength λ (used with ``loss="elr"``). ``"auto"`` chooses it
        among ``lams``, with the number of epochs, by held-out accuracy on
        the given (noisy) labels over the splits of ``cv``, then refits on
        all rows for that many epochs: ELR where the network memorizes,
        plain cross-entropy (``lam=0``) where ELR would hold it to its early
        predictions. Networks memorize, so ties within one held-out example
        (per split, at most 1 point) go to the larger λ. It costs ``len(lams)`` fits per split plus the refit;
        set a float to train once.
    lams : sequence of float, default=(0.0, 3.0)
        Candidates for ``lam="auto"``.
    cv : int, cross-validation generator, iterable or "auto", default="auto"
        Splits for ``lam="auto"``: ``"auto"`` is 5 stratified folds below
        5,000 rows, one stratified 10 % hold-out from there.
    beta : float, default=0.7
        Momentum β of the targets, in [0, 1) (used with ``loss="elr"``).
    gce_q : float, default=0.7
        Exponent q of ``loss="gce"``.
    sce_alpha, sce_beta : float, default=0.1, 1.0
        Weights of cross-entropy and reverse cross-entropy for ``loss="sce"``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and the order of the batches.
        CPU training is then reproducible; the global torch generator is
        restored after ``fit``.
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=1e-3
    max_epochs : int, default=60
    batch_size : int, default=128
    train_split : callable or None, default=None
        No internal validation split by default (searches hold data out
        already). With a split, validation uses plain cross-entropy and never
        touches the targets.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        ``"auto"`` picks CUDA when available, at every fit and unpickling.
    verbose : int, default=0
        With 1 or more, a progress bar and skorch's epoch table.
    **kwargs
        Any other skorch parameter (``callbacks``, ``iterator_train__*``,
        ``optimizer__*``, ``module__*``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    lam_ : float
        The λ of the final network (``lam`` itself unless ``"auto"``).
    cv_scores_ : ndarray of shape (n_epochs, len(lams))
        With ``lam="auto"``: mean held-out accuracy of each candidate after
        each epoch.
    targets_ : ndarray of shape (n_samples, n_classes)
        Final ELR targets, rows in the order of the training ``X`` (``loss="elr"``
        only).
    label_quality_ : ndarray of shape (n_samples,)
        The target's probability of each given label (``loss="elr"``); low
        means likely wrong. NaN for rows held out by ``train_split``.
    label_issues_ : ndarray of shape (n_samples,) of bool
        ``argmax(targets_) != y`` (``loss="elr"``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When ``X`` is a DataFrame with string column names.
    module_, criterion_, optimizer_, history_
        skorch's fitted components; ``criterion_.targets`` is the buffer.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_elr import NoisyLabelClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> net = NoisyLabelClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> net.predict_proba(X[:2]).shape
    (2, 3)
    """

    def __init__(
        self,
        module=MLP,
        *args,
        loss="elr",
        lam="auto",
        lams=(0.0, 3.0),
        cv="auto",
        beta=0.7,
        gce_q=0.7,
        sce_alpha=0.1,
        sce_beta=1.0,
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
        super().__init__(
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
        self.loss = loss
        self.lam = lam
        self.lams = lams
        self.cv = cv
        self.beta = beta
        self.gce_q = gce_q
        self.sce_alpha = sce_alpha
        self.sce_beta = sce_beta
        self.random_state = random_state

    # -- parameters and data ------------------------------------------------

    def _check_elr_params(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}.")
        lams = check_lam_candidates(self.lam, self.lams, self.beta)
        check_scalar(self.gce_q, "gce_q", Real, min_val=0.0, include_boundaries="neither")
        check_scalar(self.sce_alpha, "sce_alpha", Real, min_val=0.0)
        check_scalar(self.sce_beta, "sce_beta", Real, min_val=0.0)
        if self.criterion is not None:
            raise ValueError(
                "NoisyLabelClassifier chooses its criterion from `loss`; leave "
                f"criterion=None (got {self.criterion!r})."
            )
        return lams

    def _validate_X(self, X, reset):
        """float32 array for numeric input; torch Datasets pass through."""
        if isinstance(X, torch.utils.data.Dataset) or _is_index_dict(X):
            return X
        return validate_data(
            self, X, reset=reset, dtype=np.float32, allow_nd=True,
            ensure_min_samples=1, force_writeable=True,
        )  # fmt: skip

    def _prepare_fit(self, X, y, reset):
        # Checked before any fitted attribute is set: a refused fit leaves
        # the estimator as it was.
        name = type(self).__name__
        if isinstance(X, torch.utils.data.Dataset):
            raise TypeError(
                f"{name}.fit needs array-like X: the ELR targets are indexed by row. "
                "Pass the data as an array (images as (n, C, H, W))."
            )
        X = self._validate_X(X, reset=reset)
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if len(y) != len(X):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {len(X)} and {len(y)}."
            )
        if reset:
            encoder = LabelEncoder().fit(y if self.classes is None else self.classes)
            if len(encoder.classes_) < 2:
                raise ValueError(
                    f"{name} needs samples of at least 2 classes in the "
                    f"data, but the data contains only one class: {encoder.classes_[0]!r}."
                )
            self.label_encoder_ = encoder
            self.n_train_samples_ = len(X)
            self.n_inputs_ = int(np.prod(X.shape[1:])) if hasattr(X, "shape") else None
            if self.module is MLP:
                # The default MLP standardises its input with the training
                # moments: raw features (digits x 1000 + 5e4) otherwise
                # collapse it to one class, silently.
                self.input_mean_, self.input_scale_ = input_moments(X)
        unknown = set(np.unique(y)) - set(self.classes_)
        if unknown:
            raise ValueError(f"y contains labels {sorted(unknown, key=str)} not in classes_.")
        y_encoded = self.label_encoder_.transform(y).astype(np.int64)
        return {"X": X, _INDEX: np.arange(len(X))}, y_encoded

    @property
    def classes_(self):
        return self.label_encoder_.classes_

    @property
    def targets_(self):
        check_is_fitted(self)
        if not isinstance(self.criterion_, ELRLoss):
            raise AttributeError(f"targets_ exists with loss='elr' only (loss={self.loss!r}).")
        return self.criterion_.targets.detach().cpu().numpy()

    # -- fitting ------------------------------------------------------------

    @contextlib.contextmanager
    def _device_resolved(self):
        """Run a block with ``self.device`` resolved when it is ``"auto"``."""
        if not (isinstance(self.device, str) and self.device == "auto"):
            yield
            return
        self.device = resolve_device("auto")
        try:
            yield
        finally:
            self.device = "auto"

    def fit(self, X, y, **fit_params):
        """Train from scratch on (possibly noisy) labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            float64 input is accepted (converted to a float32 copy).
        y : array-like of shape (n_samples,)
            Labels of any type.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : NoisyLabelClassifier
        """
        lams = self._check_elr_params()
        data, y_encoded = self._prepare_fit(X, y, reset=True)
        rng = check_random_state(self.random_state)
        if self._uses_elr() and is_auto(self.lam):
            self.lam_, epochs, self.cv_scores_ = self._select_lam(
                data, y_encoded, lams, rng, **fit_params
            )
            fit_params = {**fit_params, "epochs": epochs}
        else:
            self.lam_ = float(lams[0])
        seed = rng.randint(np.iinfo(np.int32).max)
        with self._device_resolved(), _seeded_torch(seed, self.device):
            self.data_generator_ = torch.Generator().manual_seed(seed)
            super().fit(data, y_encoded, **fit_params)
        self._record_label_quality(y_encoded)
        return self

    def _uses_elr(self):
        return self.loss == "elr"

    def _select_lam(self, data, y_encoded, lams, rng, **fit_params):
        """Choose λ and the number of epochs on held-out noisy labels.

        Each candidate is a clone with that ``lam`` whose ``train_split``
        holds out one split's rows (their targets stay zero, as with any
        skorch split); its ``valid_acc`` after each epoch is the score.
        Returns ``(lam, n_epochs, mean_scores)``; the refit trains on all
        rows for ``n_epochs``.
        """
        splits = selection_splits(
            self.cv, data["X"], y_encoded, rng, holdout_from=_HOLDOUT_FROM
        )
        curves, n_held_out = [], 0
        for train, held_out in splits:
            n_held_out += len(held_out)
            scores = []
            for lam in lams:
                net = clone(self).set_params(
                    lam=float(lam), train_split=_FixedSplit(train, held_out), verbose=0,
                    random_state=rng.randint(np.iinfo(np.int32).max),
                )  # fmt: skip
                net.fit(data["X"], self.label_encoder_.classes_[y_encoded], **fit_params)
                scores.append(net.history[:, "valid_acc"])
            curves.append(np.array(scores).T)
        mean_scores = mean_curves(curves, self.max_epochs)
        # Networks memorize, so ELR is the prior: plain cross-entropy must win
        # by one held-out example per split (at most 1 point) to be chosen.
        slack = min(len(curves) / n_held_out, 0.01)
        k, n_epochs = choose(mean_scores, slack=slack, prefer="larger")
        return float(lams[k]), n_epochs, mean_scores

    def _record_label_quality(self, y_encoded):
        """``label_quality_`` and ``label_issues_`` from the final targets."""
        targets = self._final_targets()
        if targets is not None:
            self.label_quality_, self.label_issues_ = label_quality_from_targets(
                targets, y_encoded
            )

    def _final_targets(self):
        return self.targets_ if self.loss == "elr" else None

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Continue training on the same rows as the first fit.

        ELR's targets are indexed by row, so ``X`` must hold the training
        examples of the first ``fit`` in the same order; chunked or streaming
        ``partial_fit`` is not supported.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
        classes : ignored
        **fit_params : dict

        Returns
        -------
        self : NoisyLabelClassifier
        """
        if _is_index_dict(X):  # called by our own fit through skorch's fit
            return super().partial_fit(X, y, classes, **fit_params)
        if not self.initialized_:
            return self.fit(X, y, **fit_params)
        data, y_encoded = self._prepare_fit(X, y, reset=False)
        if len(y_encoded) != self.n_train_samples_:
            raise ValueError(
                "partial_fit continues training on the rows of the first fit: "
                f"expected {self.n_train_samples_} rows, got {len(y_encoded)}."
            )
        with self._device_resolved():
            super().partial_fit(data, y_encoded, **fit_params)
        self._record_label_quality(y_encoded)
        return self

    def _module_kwargs(self):
        """``module__*`` parameters, plus the data's sizes for the default MLP."""
        kwargs = self.get_params_for("module")
        if self.module is MLP:
            if not hasattr(self, "n_inputs_"):
                raise ValueError("The default MLP is sized from the data: call fit.")
            kwargs.setdefault("n_features", self.n_inputs_)
            kwargs.setdefault("input_mean", self.input_mean_)
            kwargs.setdefault("input_scale", self.input_scale_)
            kwargs.setdefault("n_classes", len(self.classes_))
        return kwargs

    def initialize_module(self):
        self.module_ = self.initialized_instance(self.module, self._module_kwargs())
        return self

    def initialize_criterion(self):
        kwargs = self.get_params_for("criterion")
        if self.loss == "elr":
            criterion = ELRLoss(
                self.n_train_samples_, len(self.classes_), lam=self.lam_,
                beta=float(self.beta), **kwargs,
            )  # fmt: skip
        elif self.loss == "gce":
            criterion = GCELoss(q=float(self.gce_q), **kwargs)
        elif self.loss == "sce":
            criterion = SCELoss(alpha=float(self.sce_alpha), beta=float(self.sce_beta), **kwargs)
        else:
            criterion = CELoss(**kwargs)
        self.criterion_ = criterion
        return self

    def get_dataset(self, X, y=None):
        if _is_index_dict(X):
            return _RowBatches(X["X"], y)
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training=False):
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = self.iterator_train if training else self.iterator_valid
        if not (isinstance(_root_dataset(dataset), _RowBatches) and iterator is DataLoader):
            return super().get_iterator(dataset, training=training)
        # Our rows, the default loader: sample whole batches of positions.
        kwargs = self.get_params_for(prefix)
        batch_size = kwargs.pop("batch_size", self.batch_size)
        batch_size = len(dataset) if batch_size == -1 else batch_size
        shuffle, drop_last = kwargs.pop("shuffle", False), kwargs.pop("drop_last", False)
        # Seeded shuffling: one generator per fit, so every epoch draws a new
        # order and refits with the same random_state repeat the sequence.
        generator = kwargs.pop("generator", getattr(self, "data_generator_", None))
        sampler = (
            RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        )
        return DataLoader(
            dataset, batch_size=None, sampler=BatchSampler(sampler, batch_size, drop_last),
            **kwargs,
        )  # fmt: skip

    def infer(self, x, **fit_params):
        if _is_index_dict(x):
            return self.module_(to_tensor(x["X"], device=self.device), **fit_params)
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device)
        if training and _is_index_dict(X):
            index = to_tensor(X[_INDEX], device=self.device)
            return self.criterion_(y_pred, y_true, index)
        # Validation and scoring: plain cross-entropy, targets untouched.
        return F.cross_entropy(y_pred, y_true)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            # Plain indexing: History's tuple lookup costs more per batch.
            loss = self.history[-1]["batches"][-1]["train_loss"]
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"The training loss became {loss} in epoch {len(self.history)}; "
                    "the model is unusable. Lower lr or lam, or standardise X."
                )

    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            (
                "valid_acc",
                EpochScoring(_encoded_accuracy, name="valid_acc", lower_is_better=False),
            ),
        ]
        return callbacks + [("progress_bar", _VerboseProgressBar()), ("print_log", PrintLog())]

    # -- prediction ---------------------------------------------------------

    def forward_iter(self, X, training=False, device="cpu"):
        with self._device_resolved():
            yield from super().forward_iter(X, training=training, device=device)

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
        proba = super().predict_proba(self._validate_X(X, reset=False))
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

    def __setstate__(self, state):
        # A net pickled with device="auto" unpickles onto what this machine has.
        if isinstance(state.get("device"), str) and state["device"] == "auto":
            state["device"] = resolve_device("auto")
            super().__setstate__(state)
            self.device = "auto"
        else:
            super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags
