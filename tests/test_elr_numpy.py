# SPDX-License-Identifier: BSD-3-Clause
"""Maths of the NumPy ELR kernels: gradients against finite differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import approx_fprime

from sklearn_elr import _elr_numpy as K


def _problem(seed, n=7, k=4, scale=2.0, mass=0.9):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * scale
    y = rng.integers(0, k, n)
    targets = rng.dirichlet(np.ones(k), n) * mass
    return logits, y, targets, rng


def test_softmax_rows_sum_to_one_and_survive_huge_logits(seed):
    logits, *_ = _problem(seed)
    logits[0] += 1e4  # would overflow exp() without the max shift
    probs = K.softmax(logits)
    assert np.all(np.isfinite(probs))
    assert_allclose(probs.sum(axis=1), 1.0)
    assert_allclose(np.exp(K.log_softmax(logits)), probs, atol=1e-12)


def test_softmax_is_shift_invariant(seed):
    logits, *_ = _problem(seed)
    assert_allclose(K.softmax(logits), K.softmax(logits + 123.0), rtol=1e-12)


def test_cross_entropy_matches_definition(seed):
    logits, y, *_ = _problem(seed)
    probs = K.softmax(logits)
    assert_allclose(K.cross_entropy(logits, y), -np.log(probs[np.arange(len(y)), y]))


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.7, 0.99])
def test_target_mass_after_k_updates_is_one_minus_beta_power_k(beta, seed):
    logits, _, _, rng = _problem(seed)
    targets = np.zeros_like(logits)
    for k in range(1, 6):
        probs = K.softmax(rng.normal(size=logits.shape) * 5)
        before = targets.copy()
        new = K.update_targets(targets, probs, beta)
        assert_allclose(new.sum(axis=1), 1 - beta**k, rtol=1e-12)
        assert_allclose(targets, before)  # without out=, the input is untouched
        targets = new


def test_update_targets_uses_clamped_renormalised_probs():
    probs = np.array([[1.0, 0.0, 0.0]])
    new = K.update_targets(np.zeros((1, 3)), probs, beta=0.0)
    clipped = np.array([K.CLAMP_MAX, K.CLAMP_MIN, K.CLAMP_MIN])
    assert_allclose(new[0], clipped / clipped.sum())


@pytest.mark.parametrize("lam", [0.0, 1.0, 3.0, 7.0])
def test_loss_gradient_equals_finite_differences(lam, seed):
    logits, y, targets, rng = _problem(seed)
    weight = rng.uniform(0.1, 2.0, len(y))
    n, k = logits.shape

    def loss(flat):
        return K.elr_loss_grad(flat.reshape(n, k), y, targets, lam, weight)[0]

    _, grad = K.elr_loss_grad(logits, y, targets, lam, weight)
    numeric = approx_fprime(logits.ravel(), loss, 1e-7).reshape(n, k)
    assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_penalty_gradient_with_clamped_entries_equals_finite_differences():
    # Row 0 has two probabilities far below CLAMP_MIN, row 1 one far above
    # CLAMP_MAX: the clamp mask must zero their contribution.
    logits = np.array([[12.0, 0.5, -9.0, -9.5], [20.0, 0.0, 0.1, -0.2]])
    targets = np.array([[0.2, 0.5, 0.2, 0.05], [0.1, 0.3, 0.3, 0.2]])
    probs = K.softmax(logits)
    assert np.any(probs < K.CLAMP_MIN) and np.any(probs > K.CLAMP_MAX)

    def penalty(flat):
        return K.elr_penalty(K.softmax(flat.reshape(2, 4)), targets).sum()

    numeric = approx_fprime(logits.ravel(), penalty, 1e-7).reshape(2, 4)
    assert_allclose(K.elr_penalty_grad(probs, targets), numeric, rtol=1e-4, atol=1e-9)


def test_penalty_gradient_is_the_papers_lemma_without_clamping(seed):
    logits, _, targets, _ = _problem(seed, scale=0.5)
    probs = K.softmax(logits)
    inner = np.sum(probs * targets, axis=1, keepdims=True)
    lemma = probs * (inner - targets) / (1 - inner)
    assert_allclose(K.elr_penalty_grad(probs, targets), lemma, rtol=1e-10)


@pytest.mark.parametrize("beta", [None, 0.7])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_step_matches_the_separate_kernels(beta, dtype, seed):
    logits, y, targets, rng = _problem(seed, n=50, k=6, scale=4.0)
    logits, targets = logits.astype(dtype), targets.astype(dtype)
    weight = rng.uniform(0, 1, len(y)).astype(dtype)
    lam = 3.0
    probs = K.softmax(logits.astype(np.float64))
    expected_targets = targets.astype(np.float64)
    if beta is not None:
        expected_targets = K.update_targets(expected_targets, probs, beta)
    onehot = np.eye(6)[y]
    expected_grad = probs - onehot + lam * K.elr_penalty_grad(probs, expected_targets)
    expected_grad *= weight[:, None]
    expected_ce = weight @ K.cross_entropy(logits.astype(np.float64), y)
    expected_pen = weight @ K.elr_penalty(probs, expected_targets)

    buf, tgt = logits.copy(), targets.copy()
    ce, pen = K.elr_step(buf, y, tgt, lam, weight, beta=beta)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert buf.dtype == dtype and tgt.dtype == dtype
    assert_allclose(buf, expected_grad, rtol=tol, atol=tol)
    assert_allclose(tgt, expected_targets, rtol=tol, atol=tol)
    assert_allclose([ce, pen], [expected_ce, expected_pen], rtol=tol)


def test_loss_grad_does_not_modify_inputs(seed):
    logits, y, targets, _ = _problem(seed)
    copies = logits.copy(), y.copy(), targets.copy()
    K.elr_loss_grad(logits, y, targets, 3.0)
    for original, copy in zip((logits, y, targets), copies):
        assert_allclose(original, copy)


def test_penalty_is_negative_and_finite_for_saturated_predictions():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    targets = np.array([[1.0, 0.0], [0.0, 1.0]])
    penalty = K.elr_penalty(probs, targets)
    assert np.all(np.isfinite(penalty)) and np.all(penalty < 0)
