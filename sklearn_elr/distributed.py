# SPDX-License-Identifier: BSD-3-Clause
"""One network fit across processes (or GPUs) with ``torch.distributed``.

:func:`fit_distributed` spawns the processes itself (gloo on CPUs, NCCL on
GPUs, one device per process); :func:`fit_in_process_group` is the same fit
for a process group you started yourself (``torchrun``). Each rank owns a
fixed shard of the rows and the ELR targets of those rows, so targets never
travel during training; DDP averages the gradients; the targets are summed
across ranks once, at the end. Imports torch when called.

Design notes (``docs/user_guide.rst``, "Scaling out"):

- shards: one permutation of the rows drawn from ``random_state`` (the same
  on every rank), rank ``r`` taking every ``world``-th row of it;
- every rank runs the same number of batches per epoch (its shard split
  into equal parts), so the collectives pair up and no rank waits on an
  uneven tail, and every row's target is updated once per epoch;
- the loss of each rank is scaled so that DDP's mean of the gradients is the
  gradient of the global (weighted) mean loss.
"""

import contextlib
import os
import pickle
import socket
import tempfile
from datetime import timedelta

from sklearn.base import clone

__all__ = ["fit_distributed", "fit_in_process_group"]


def fit_in_process_group(estimator, X, y, sample_weight=None):
    """Fit a clone of ``estimator`` as one rank of the current process group.

    Call it on every rank with the same estimator, X and y (each rank trains
    on its own shard of the rows). Every rank returns the same fitted
    estimator: a normal, picklable one.

    Parameters
    ----------
    estimator : NoisyLabelClassifier or ELRPlusClassifier
        ``lam="auto"`` chooses λ as in one process: each candidate trains on
        the ranks' shards of the training rows, and every rank scores the
        whole hold-out with the same (synchronised) network, so every rank
        makes the same choice.
    X, y : array-like
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    estimator : NoisyLabelClassifier or ELRPlusClassifier
        Fitted.
    """
    import torch.distributed as dist

    _check_estimator(estimator, X)
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(
            "fit_in_process_group needs an initialized torch.distributed process "
            "group (torchrun, or torch.distributed.init_process_group); "
            "fit_distributed starts one for you."
        )
    net = clone(estimator)
    net._rank_world = (dist.get_rank(), dist.get_world_size())
    try:
        net.fit(X, y, sample_weight=sample_weight)
    finally:
        net.__dict__.pop("_rank_world", None)
    # The ranks must have made the same choice and trained the same network.
    summary = (net.lam_, net.__dict__.get("n_epochs_"), len(net.history_))
    summaries = [None] * dist.get_world_size()
    dist.all_gather_object(summaries, summary)
    if any(other != summary for other in summaries):
        raise RuntimeError(f"The ranks' fits disagree (lam_, n_epochs_, epochs): {summaries}.")
    return net


def _check_estimator(estimator, X):
    """Refuse, before any process starts, what a distributed fit cannot do."""
    import scipy.sparse as sp

    from .elr_plus import ELRPlusClassifier
    from .neural import NoisyLabelClassifier

    if type(estimator) not in (NoisyLabelClassifier, ELRPlusClassifier):
        raise TypeError(
            "Distributed fits support NoisyLabelClassifier and ELRPlusClassifier, got "
            f"{type(estimator).__name__}."
        )
    if sp.issparse(X):  # the ranks draw their batches on the device, dense
        raise TypeError(
            "Distributed fits need dense X; a sparse matrix trains in one process "
            "(made dense a batch at a time)."
        )


def _free_port():
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank, world, backend, port, estimator, X, y, sample_weight, out, timeout):
    import torch
    import torch.distributed as dist

    if backend == "nccl":
        torch.cuda.set_device(rank)
        estimator = clone(estimator).set_params(device=f"cuda:{rank}")
    dist.init_process_group(
        backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world,
        timeout=timedelta(seconds=timeout),
    )  # fmt: skip
    try:
        fitted = fit_in_process_group(estimator, X, y, sample_weight)
        if rank == 0:
            if backend == "nccl":
                fitted.set_params(device="cpu")  # for the caller's process
            with open(out, "wb") as f:
                pickle.dump(fitted, f)
    finally:
        dist.destroy_process_group()


def fit_distributed(
    estimator, X, y, *, sample_weight=None, n_processes=2, backend="gloo", timeout=300
):
    """Fit ``estimator`` across ``n_processes`` local processes; return it fitted.

    Parameters
    ----------
    estimator : NoisyLabelClassifier or ELRPlusClassifier
        Not modified; a clone is fitted (see :func:`fit_in_process_group`).
    X, y : array-like
    sample_weight : array-like of shape (n_samples,), default=None
    n_processes : int, default=2
        Ranks; with ``backend="nccl"``, one GPU each (``cuda:rank``).
    backend : {"gloo", "nccl"}, default="gloo"
        gloo trains on CPUs, nccl on GPUs.
    timeout : float, default=300
        Seconds a rank waits for the others before giving up.

    Returns
    -------
    estimator : NoisyLabelClassifier or ELRPlusClassifier
        Fitted, in this process (on the CPU when trained with nccl).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_elr import NoisyLabelClassifier
    >>> from sklearn_elr.distributed import fit_distributed
    >>> X, y = load_digits(return_X_y=True)
    >>> net = fit_distributed(NoisyLabelClassifier(lam=3.0, max_epochs=3, random_state=0),
    ...                       X.astype("float32"), y)  # doctest: +SKIP
    """
    import torch.multiprocessing as mp

    _check_estimator(estimator, X)
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo' or 'nccl', got {backend!r}.")
    # An unfitted clone goes to the ranks: a fitted one would carry its
    # tensors through torch's shared-memory pickling.
    estimator = clone(estimator)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "fitted.pkl")
        args = (n_processes, backend, _free_port(), estimator, X, y, sample_weight, out, timeout)
        mp.spawn(_worker, args=args, nprocs=n_processes, join=True)
        with open(out, "rb") as f:
            return pickle.load(f)
