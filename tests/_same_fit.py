# SPDX-License-Identifier: BSD-3-Clause
"""Two network fits that must train the same model: their state, compared."""

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
