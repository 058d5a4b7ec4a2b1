# SPDX-License-Identifier: BSD-3-Clause
"""Checks shared by the network tests: two fits' state compared, host waits counted."""

import warnings

from numpy.testing import assert_array_equal


def fitted_state(net):
    """Weights, targets and every batch record of a fitted network."""
    weights = [p.detach().cpu().numpy() for name in net._modules
               for p in getattr(net, f"{name}_").parameters()]  # fmt: skip
    batches = [sorted(b.items()) for epoch in net.history for b in epoch["batches"]]
    return weights, net.targets_, batches


def assert_same_fit(a, b):
    """Equal weights, targets and batch records, exactly."""
    weights_a, targets_a, batches_a = fitted_state(a)
    weights_b, targets_b, batches_b = fitted_state(b)
    for wa, wb in zip(weights_a, weights_b):
        assert_array_equal(wa, wb)
    assert_array_equal(targets_a, targets_b)
    assert batches_a == batches_b


def host_synchronisations(call, *args):
    """How often ``call(*args)`` makes the host wait for the GPU (CUDA only).

    Counted with ``torch.cuda.set_sync_debug_mode("warn")``, which warns at
    every synchronising operation.
    """
    import torch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            call(*args)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)
