# SPDX-License-Identifier: BSD-3-Clause
"""Property tests (hypothesis): invariants over random labels, rates and data."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sklearn_elr import (  # noqa: E402
    LinearELRClassifier,
    PairNoise,
    SymmetricNoise,
    TransitionMatrixNoise,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

label_pools = st.sampled_from(
    [
        [0, 1, 2],
        [-5, -1, 7, 100],
        ["cat", "dog", "a much longer label"],
        [True, False],
        [1.0, -2.0, 4.0],  # integral floats (non-integral ones are "continuous")
    ]
)


@st.composite
def labelled(draw):
    """Labels drawn from one pool (at least two classes), in a random container."""
    pool = draw(label_pools)
    n = draw(st.integers(min_value=2, max_value=60))
    idx = draw(st.lists(st.integers(0, len(pool) - 1), min_size=n, max_size=n))
    idx[:2] = [0, 1]  # at least two classes
    y = np.array([pool[i] for i in idx])
    container = draw(st.sampled_from(["array", "list", "series"]))
    if container == "list":
        return y.tolist()
    if container == "series":
        return pd.Series(y, index=np.arange(n) * 3 + 1, name="label")
    return y


@SETTINGS
@given(y=labelled(), rate=st.floats(0.0, 1.0), exact=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_symmetric_noise_keeps_labels_container_and_rate(y, rate, exact, seed):
    values = np.asarray(y)
    noise = SymmetricNoise(rate, keep_true=False, exact=exact, random_state=seed)
    X = np.zeros((len(values), 1))
    X_out, y_out = noise.fit_resample(X, y)
    assert X_out is X
    assert type(y_out) is type(y)
    out = np.asarray(y_out)
    assert len(out) == len(values)
    assert set(out.tolist()) <= set(values.tolist())  # no new labels
    assert_array_equal(noise.noise_mask_, out != values)
    if isinstance(y, pd.Series):
        assert_array_equal(y_out.index, y.index)
        assert y_out.name == y.name
    if exact:
        # keep_true=False: every class's expected number of changes, rounded.
        expected = rate * len(values)
        assert abs(noise.noise_mask_.sum() - expected) <= len(np.unique(values))
    assert_allclose(
        noise.transition_matrix_.sum(axis=1)[~np.isnan(noise.transition_matrix_[:, 0])], 1.0
    )


@SETTINGS
@given(y=labelled(), rate=st.floats(0.0, 0.5), seed=st.integers(0, 2**31 - 1))
def test_pair_noise_only_moves_labels_to_the_next_class(y, rate, seed):
    values = np.asarray(y)
    noise = PairNoise(rate, random_state=seed)
    _, y_out = noise.fit_resample(None, y)
    out = np.asarray(y_out)
    classes = noise.classes_
    position = {label: i for i, label in enumerate(classes.tolist())}
    for given_label, noisy in zip(
        values[noise.noise_mask_].tolist(), out[noise.noise_mask_].tolist()
    ):
        assert position[noisy] == (position[given_label] + 1) % len(classes)


@SETTINGS
@given(
    y=labelled(),
    seed=st.integers(0, 2**31 - 1),
    concentration=st.floats(0.1, 10.0),
)
def test_transition_noise_realises_a_row_stochastic_matrix(y, seed, concentration):
    classes = np.unique(np.asarray(y))
    rng = np.random.default_rng(seed)
    matrix = rng.dirichlet(np.full(len(classes), concentration), size=len(classes))
    noise = TransitionMatrixNoise(matrix, random_state=seed).fit(None, y)
    realised = noise.transition_matrix_
    present = ~np.isnan(realised).any(axis=1)
    assert_allclose(realised[present].sum(axis=1), 1.0)
    assert np.all(realised[present] >= 0)


@st.composite
def small_problem(draw):
    n = draw(st.integers(6, 40))
    p = draw(st.integers(1, 6))
    k = draw(st.integers(2, 4))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    scale = draw(st.sampled_from([1e-20, 1e-3, 1.0, 1e3, 1e15]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, p)) * scale).astype(dtype)
    y = rng.integers(0, k, n)
    y[:2] = [0, 1]
    pool = draw(st.sampled_from([None, ["a", "b", "c", "d"], [-3, 5, 8, 11]]))
    if pool is not None:
        y = np.array(pool)[y]
    return X, y


@SETTINGS
@given(
    problem=small_problem(),
    lam=st.sampled_from([0.0, 1.0, 3.0]),
    solver=st.sampled_from(["nesterov", "gd", "adam"]),
)
def test_linear_model_gives_finite_probabilities_on_any_small_problem(problem, lam, solver):
    X, y = problem
    model = LinearELRClassifier(lam=lam, solver=solver, max_iter=20, tol=None, random_state=0)
    model.fit(X, y)
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    assert_array_equal(model.classes_, np.unique(y))
    assert model.classes_.dtype == np.asarray(y).dtype
