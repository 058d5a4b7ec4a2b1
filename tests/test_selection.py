# SPDX-License-Identifier: BSD-3-Clause
"""The rule that picks λ and the number of epochs from held-out curves."""

import numpy as np

from sklearn_elr._selection import choose


def _curves(*columns):
    """Mean held-out accuracy per epoch (rows) of each candidate (columns)."""
    return np.column_stack(columns)


def test_ties_go_to_the_smallest_candidate_that_holds():
    rising = np.linspace(0.80, 0.90, 20)
    memorizing = np.r_[np.linspace(0.80, 0.90, 10), np.linspace(0.90, 0.80, 10)]
    # λ=0 ties at its peak but falls back: the next candidate, which holds, wins
    k, epoch = choose(_curves(memorizing, rising, rising - 0.001), slack=0.005)
    assert k == 1 and epoch == 20
    # both hold: the smaller
    k, _ = choose(_curves(rising, rising - 0.001), slack=0.005)
    assert k == 0


def test_without_a_curve_that_holds_the_one_that_fell_least():
    """Digits at 40 % noise (issue 16): no curve held to half an example per
    split; the smallest, plain training, had fallen 3 points, λ=3 a third of
    one. The one that fell least is the one that memorizes least."""
    epochs = np.arange(34)
    plain = 0.589 - 0.0011 * np.maximum(epochs - 8, 0)  # peaks early, falls 3 points
    elr = np.minimum(0.55 + 0.004 * epochs, 0.592) - 0.00015 * np.maximum(epochs - 12, 0)
    scores = _curves(plain, elr)
    drop = scores.max(axis=0) - scores[-1]
    assert np.all(drop > 0.005 / 2)  # neither holds
    k, epoch = choose(scores, slack=0.005)
    assert k == 1
    assert scores[epoch - 1, 1] >= scores.max() - 0.005
    assert epoch == np.flatnonzero(scores[:, 1] >= scores.max() - 0.005).max() + 1


def test_a_candidate_outside_the_slack_never_wins():
    low = np.full(10, 0.70)  # holds perfectly, but 10 points down
    high = np.r_[np.linspace(0.70, 0.80, 5), np.linspace(0.80, 0.76, 5)]
    k, epoch = choose(_curves(low, high), slack=0.005)
    assert k == 1 and epoch == 6  # the later of the two epochs at 0.80


def test_prefer_larger_takes_the_largest_qualifying_candidate():
    flat = np.full(8, 0.9)
    k, epoch = choose(_curves(flat, flat, flat - 0.1), slack=0.01, prefer="larger")
    assert k == 1 and epoch == 8
