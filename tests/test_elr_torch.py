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


def test_the_one_torch_target_update_matches_the_numpy_kernel(seed):
    from sklearn_elr._elr_torch import update_targets_

    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(4) * 0.05, 6)  # rows with entries below the clamp
    buffer = rng.dirichlet(np.ones(4), 10) * 0.5
    index = rng.permutation(10)[:6]
    expected = K.update_targets(buffer[index], probs, 0.7)
    targets = torch.from_numpy(buffer.copy())
    rows = update_targets_(targets, torch.from_numpy(index), torch.from_numpy(probs), 0.7)
    assert_allclose(rows.numpy(), expected, rtol=1e-12)
    assert_allclose(targets.numpy()[index], expected, rtol=1e-12)
    untouched = np.setdiff1d(np.arange(10), index)
    assert_allclose(targets.numpy()[untouched], buffer[untouched])


def test_sample_weights_weigh_each_rows_loss_but_not_the_targets(seed):
    logits, y, targets = _problem(seed)
    weight = np.random.default_rng(seed).uniform(0.1, 3.0, len(y))
    index = torch.arange(len(y))
    plain = ELRLoss(len(y), logits.shape[1]).double()
    weighted = ELRLoss(len(y), logits.shape[1]).double()
    for criterion in (plain, weighted):
        criterion.targets.copy_(torch.from_numpy(targets))
    z = torch.tensor(logits)
    plain(z, torch.from_numpy(y), index)
    loss = weighted(z, torch.from_numpy(y), index, torch.from_numpy(weight))
    assert torch.equal(plain.targets, weighted.targets)
    per_row = K.cross_entropy(logits, y) + 3.0 * K.elr_penalty(
        K.softmax(logits), weighted.targets.numpy()
    )
    assert_allclose(loss.item(), np.average(per_row, weights=weight), rtol=1e-10)
    for criterion in (CELoss(), GCELoss(), SCELoss()):
        rows = [
            criterion(z[i : i + 1], torch.from_numpy(y[i : i + 1])).item() for i in range(len(y))
        ]
        assert_allclose(
            criterion(z, torch.from_numpy(y), None, torch.from_numpy(weight)).item(),
            np.average(rows, weights=weight), rtol=1e-10,
        )  # fmt: skip


def test_reweighted_labels_follow_the_targets():
    from sklearn_elr._elr_torch import elr_plus_loss

    logits, y, targets = _problem(0)
    onehot = np.eye(logits.shape[1])[y]
    mixed = 0.7 * onehot + 0.3 * onehot[::-1]
    z, t = torch.tensor(logits), torch.tensor(targets)
    loss = elr_plus_loss(z, torch.tensor(mixed), t, 2.0, reweight_labels=True)
    labels = mixed * targets
    labels /= labels.sum(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -(labels * log_probs).sum(axis=1) + 2.0 * K.elr_penalty(K.softmax(logits), targets)
    assert_allclose(loss.item(), expected.mean(), rtol=1e-10)
