# SPDX-License-Identifier: BSD-3-Clause
"""The ELR network as a skorch estimator: :class:`NoisyLabelClassifier`."""

from sklearn.utils.validation import check_is_fitted

from ._elr_torch import MLP, CELoss, ELRLoss, GCELoss, SCELoss
from ._network import NetworkBase
from ._validation import check_real

__all__ = ["NoisyLabelClassifier", "MLP"]

LOSSES = ("elr", "ce", "gce", "sce")


class NoisyLabelClassifier(NetworkBase):
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
        among ``lams`` on held-out accuracy on the given (noisy) labels: with
        ``cv="auto"`` each candidate trains once, on all rows but a
        stratified hold-out (or the ``train_split``'s validation rows), from
        the same seed, keeps its weights at its best epoch, and the best
        candidate is the fitted network (no refit): about ``len(lams)``
        fits. ELR where the network memorizes, plain cross-entropy
        (``lam=0``) where ELR would hold it to its early predictions.
        Networks memorize, so the largest λ is kept unless cross-entropy wins
        the paired comparison on the held-out rows (rows where the two
        disagree) by one standard deviation. Set a float to train once.
    lams : sequence of float, default=(0.0, 3.0)
        Candidates for ``lam="auto"``.
    cv : int, cross-validation generator, iterable or "auto", default="auto"
        Splits for ``lam="auto"``. ``"auto"``: one stratified hold-out of 25 %
        of the rows up to 2,000, falling smoothly to 10 % from 5,000 (a
        table too small to hold out 8 rows, or whose rarest class has one
        row, trains the largest candidate without a choice). Anything else:
        every candidate on every split, then a refit on all rows for the
        chosen number of epochs (``len(lams)`` fits per split plus one).
    beta : float, default=0.7
        Momentum β of the targets, in [0, 1) (used with ``loss="elr"``).
    gce_q : float, default=0.7
        Exponent q of ``loss="gce"``.
    sce_alpha, sce_beta : float, default=0.1, 1.0
        Weights of cross-entropy and reverse cross-entropy for ``loss="sce"``.
    torch_threads : int, "auto" or None, default="auto"
        torch's intra-op threads during ``fit``, ``partial_fit`` and
        prediction, restored after. ``"auto"``: one thread for networks
        under a million parameters on the CPU (small models gain little from
        threads and lose 10-40x when other work shares the cores), torch's
        setting otherwise. None leaves torch's setting alone.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and the order of the batches;
        CPU training is then reproducible. The default MLP draws from its own
        generators and never touches torch's global one, so fits in threads
        are reproducible and run in parallel. A custom module can only use
        the global generator: it is seeded for the fit, restored after, and
        held by one fit at a time (threads take turns).
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=1e-3
    max_epochs : int, default=60
    batch_size : int, default=128
    train_split : callable or None, default=None
        No internal validation split by default (searches hold data out
        already). With a split, validation uses plain cross-entropy and never
        touches the targets.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        ``"auto"`` picks CUDA when available, else the CPU; the parameter
        stays ``"auto"`` (clones and pickles pick again on their machine).
    data_on_device : {"auto", True, False}, default="auto"
        Move the training rows to ``device`` once per fit and draw each batch
        there by index (the same batches, so the same model, as skorch's
        ``DataLoader``), with the batch losses fetched once per epoch.
        ``"auto"``: unless an ``iterator_*`` setting needs a ``DataLoader``
        (workers, pinned memory, a sampler or collate function), the rows
        take more than half of the free GPU memory, or X is sparse (its
        batches are made dense on the host). False: skorch's
        ``DataLoader`` with one NumPy gather per batch.
    cuda_graph : {"auto", True, False}, default="auto"
        On CUDA, with the rows on the device (``data_on_device``), capture the
        whole training step (the batch's gather, forward, loss and target
        update, backward, optimizer step) once in a CUDA graph and replay it
        for every full batch: the host no longer launches each kernel, which
        is what holds small networks back on a GPU (the default MLP on an
        H200 at batch 1024: 4.1 M rows/s, 0.28 M eager). The same step, so
        the same model up to float rounding. The first three steps and the
        last, shorter batch of each epoch run eagerly. ``"auto"``: where it
        is safe: Adam or AdamW fused (the default on CUDA) or an optimizer
        with ``capturable=True``, no callback that acts per batch (a
        per-batch ``LRScheduler``, gradient clipping, ``BatchScoring``,
        training-set ``EpochScoring``, ``verbose=1``'s progress bar), no
        distributed fit, no ``compile=True``; a step that cannot be captured
        (a module that reads a value on the host) runs eagerly. A change of
        the learning rate between epochs is captured again. True refuses
        what rules it out, by name; False: eager steps.
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
        means likely wrong. Rows the network did not train on (held out to
        choose λ, or by ``train_split``) have no target: they are judged by
        the network's out-of-sample probabilities.
    label_issues_ : ndarray of shape (n_samples,) of bool
        ``argmax(targets_) != y`` (``loss="elr"``), out-of-sample
        probabilities for rows without a target.
    n_epochs_ : int
        With ``lam="auto"`` and ``cv="auto"``: the epoch whose weights were
        kept (``history_`` holds every epoch the candidate trained).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
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

    # The shared parameters (lam, lams, cv, beta, random_state, the skorch
    # defaults) and their defaults are NetworkBase's, kept there once.
    def __init__(
        self, module=MLP, *args, loss="elr", gce_q=0.7, sce_alpha=0.1, sce_beta=1.0, **kwargs
    ):
        super().__init__(module, *args, **kwargs)
        self.loss = loss
        self.gce_q = gce_q
        self.sce_alpha = sce_alpha
        self.sce_beta = sce_beta

    def _check_extra_params(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}.")
        check_real(self.gce_q, "gce_q", min_val=0.0, include_boundaries="neither")
        check_real(self.sce_alpha, "sce_alpha", min_val=0.0)
        check_real(self.sce_beta, "sce_beta", min_val=0.0)

    def _keeps_elr_targets(self):
        return self.loss == "elr"

    @property
    def targets_(self):
        check_is_fitted(self)
        # skorch's compile=True wraps the criterion; the buffer is the original's.
        if not isinstance(getattr(self.criterion_, "_orig_mod", self.criterion_), ELRLoss):
            raise AttributeError(f"targets_ exists with loss='elr' only (loss={self.loss!r}).")
        return super().targets_

    def _final_targets(self):
        return self.targets_ if self._keeps_elr_targets() else None

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
