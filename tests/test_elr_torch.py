# SPDX-License-Identifier: BSD-3-Clause
"""The torch losses: parity with the NumPy kernels, baselines' formulas."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

torch = pytest.importorskip("torch")

from sklearn_elr import _elr_numpy as K  # noqa: E402
from sklearn_elr._elr_torch import (  # noqa: E402
    MLP,
    CELoss,
    ELRLoss,
    GCELoss,
    SCELoss,
)


def _problem(seed, n=12, k=5):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 3
    y = rng.integers(0, k, n)
    targets = rng.dirichlet(np.ones(k), n) * 0.8
    return logits, y, targets


@pytest.mark.parametrize("lam, beta", [(3.0, 0.7), (1.0, 0.9), (7.0, 0.0)])
def test_torch_loss_matches_numpy_loss_gradient_and_targets(lam, beta, seed):
    logits, y, targets = _problem(seed)
    n_rows = 20
    index = np.random.default_rng(seed).permutation(n_rows)[: len(y)]
    buffer = np.zeros((n_rows, logits.shape[1]))
    buffer[index] = targets

    criterion = ELRLoss(n_rows, logits.shape[1], lam=lam, beta=beta).double()
    criterion.targets.copy_(torch.from_numpy(buffer))
    z = torch.tensor(logits, requires_grad=True)
    loss = criterion(z, torch.from_numpy(y), torch.from_numpy(index))
    loss.backward()

    expected_targets = K.update_targets(targets, K.softmax(logits), beta)
    expected_loss, expected_grad = K.elr_loss_grad(logits, y, expected_targets, lam)
    assert_allclose(loss.item(), expected_loss, rtol=1e-10)
    assert_allclose(z.grad.numpy(), expected_grad, rtol=1e-8, atol=1e-12)
    new_buffer = criterion.targets.numpy()
    assert_allclose(new_buffer[index], expected_targets, rtol=1e-12)
    untouched = np.setdiff1d(np.arange(n_rows), index)
    assert_allclose(new_buffer[untouched], 0.0)
    assert not criterion.targets.requires_grad


def test_without_index_elr_is_plain_cross_entropy():
    logits, y, _ = _problem(0)
    criterion = ELRLoss(len(y), logits.shape[1]).double()
    loss = criterion(torch.tensor(logits), torch.from_numpy(y))
    assert_allclose(loss.item(), K.cross_entropy(logits, y).mean(), rtol=1e-12)
    assert torch.count_nonzero(criterion.targets) == 0


def test_gce_limits_and_sce_formula():
    logits, y, _ = _problem(1)
    z, t = torch.tensor(logits), torch.from_numpy(y)
    p_y = K.softmax(logits)[np.arange(len(y)), y]
    ce = K.cross_entropy(logits, y).mean()
    assert_allclose(GCELoss(q=1e-6)(z, t).item(), ce, rtol=1e-4)
    assert_allclose(GCELoss(q=1.0)(z, t).item(), np.mean(1 - p_y), rtol=1e-10)
    sce = SCELoss(alpha=0.1, beta=1.0)(z, t).item()
    assert_allclose(sce, 0.1 * ce + np.mean(-np.log(1e-4) * (1 - p_y)), rtol=1e-10)
    assert_allclose(CELoss()(z, t, torch.arange(len(y))).item(), ce, rtol=1e-12)


@pytest.mark.parametrize("criterion", [CELoss(), GCELoss(), SCELoss(), ELRLoss(4, 3)])
def test_criteria_give_softmax_probabilities_in_skorch(criterion):
    # skorch applies softmax in predict_proba to CrossEntropyLoss subclasses.
    assert isinstance(criterion, torch.nn.CrossEntropyLoss)


def test_mlp_flattens_images():
    module = MLP(n_features=64, n_classes=10, hidden_sizes=(16,))
    assert module(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
