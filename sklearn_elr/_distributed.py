# SPDX-License-Identifier: BSD-3-Clause
"""The pieces of one network fit across ``torch.distributed`` ranks.

Used by :class:`~sklearn_elr._network.NetworkBase` when a fit is one rank of
a process group (``sklearn_elr.distributed`` sets it up): the shard of the
training rows this rank owns (the λ selection's held-out rows are validated
whole on every rank, so every rank makes the same choice), the batch count all ranks share, the DDP wrapper, the loss
scale that makes DDP's mean gradient the global mean's, and the end of the
fit (targets summed across ranks, the network unwrapped).
"""

import numpy as np
import torch


def shard(n_rows, rank, world, seed):
    """This rank's rows: every ``world``-th row of one seeded permutation."""
    order = np.random.RandomState(seed % 2**32).permutation(n_rows)
    return np.sort(order[rank::world])


def n_batches(net, batch_size):
    """Batches per epoch on every rank (None when not distributed).

    ``batch_size`` is the global batch, as in a single-process fit: the
    epoch has the same number of steps, and each rank splits its shard into
    that many nearly equal batches (about ``batch_size / world`` rows each).
    Every collective of an epoch then has a partner on every rank, whatever
    the tail, and every row is still visited once.
    """
    if not net._distributed():
        return None
    return max(-(-net._n_training_rows_ // batch_size), 1)


def wrap(net):
    """DDP around the live network(s) (parameters broadcast from rank 0)."""
    from torch.nn.parallel import DistributedDataParallel

    device = torch.device(net.device)
    device_ids = [device] if device.type == "cuda" else None
    for name in _live_modules(net):  # ELR+: both live networks, not their averages
        module = getattr(net, name)
        if not isinstance(module, DistributedDataParallel):
            setattr(net, name, DistributedDataParallel(module, device_ids=device_ids))


def _live_modules(net):
    return [name for name in ("module_", "module2_") if name in net.__dict__]


def global_mean(loss, y_true, weight, world):
    """Scale a rank's batch mean so that DDP's mean gradient is the global mean's.

    With ``m_r`` the rank's weighted mean over its batch and ``s_r`` its
    weight (rows, when unweighted), the rank's loss becomes
    ``world * m_r * s_r / sum(s)``: the mean over ranks of these is
    ``sum_r s_r m_r / sum(s)``, the weighted mean of the global batch.
    """
    import torch.distributed as dist

    local = (
        torch.tensor(float(len(y_true)), device=loss.device)
        if weight is None
        else weight.sum().to(loss.dtype)
    )
    total = local.detach().clone()
    dist.all_reduce(total)
    return loss * (world * local.detach() / total)


def finish(net):
    """After training: every rank's targets summed (the shards are disjoint),
    and the network unwrapped, so that the estimator is a plain one."""
    from torch.nn.parallel import DistributedDataParallel

    sum_targets(net)
    for name in _live_modules(net):
        module = getattr(net, name)
        if isinstance(module, DistributedDataParallel):
            setattr(net, name, module.module)
    net.__dict__.pop("_n_training_rows_", None)


def sum_targets(net):
    """Every rank's targets summed: each row's target from the rank that owns it."""
    import torch.distributed as dist

    with torch.no_grad():
        dist.all_reduce(net.criterion_.targets)
