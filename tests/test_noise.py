# SPDX-License-Identifier: BSD-3-Clause
"""Label-noise simulators and WithLabelNoise: rates, conventions, isolation."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from sklearn_elr import (
    InstanceDependentNoise,
    LinearELRClassifier,
    PairNoise,
    SymmetricNoise,
    TransitionMatrixNoise,
    WithLabelNoise,
    make_instance_noise,
    make_pair_noise,
    make_symmetric_noise,
    make_transition_noise,
)
from sklearn_elr.noise import pair_transition_matrix, symmetric_transition_matrix

SIMULATORS = [
    SymmetricNoise(0.3, random_state=0),
    SymmetricNoise(0.3, keep_true=False, random_state=0),
    PairNoise(0.3, random_state=0),
    TransitionMatrixNoise(symmetric_transition_matrix(4, 0.3), random_state=0),
    InstanceDependentNoise(0.3, random_state=0),
]


def _labels(n_per_class=(50, 37, 61, 52)):
    return np.repeat(np.arange(len(n_per_class)), n_per_class)


def _X(y, seed=0):
    return np.random.default_rng(seed).normal(size=(len(y), 3)) + y[:, None]


@pytest.fixture
def separated_blobs():
    """Blobs so far apart that 1-NN is perfect on clean labels."""
    X, y = make_blobs(400, centers=4, cluster_std=0.3, center_box=(-20, 20), random_state=0)
    return X, y


@pytest.mark.parametrize("simulator", SIMULATORS, ids=lambda s: repr(s)[:40])
def test_x_untouched_rows_kept_y_not_modified(simulator):
    y = _labels()
    X = _X(y)
    X_before, y_before = X.copy(), y.copy()
    X_out, y_noisy = simulator.fit_resample(X, y)
    assert X_out is X
    assert_array_equal(X, X_before)
    assert_array_equal(y, y_before)
    assert y_noisy.shape == y.shape and y_noisy.dtype == y.dtype
    assert_array_equal(simulator.noise_mask_, y_noisy != y)
    assert simulator.noise_rate_ == pytest.approx(np.mean(y_noisy != y))
    assert_allclose(simulator.transition_matrix_.sum(axis=1), 1.0)


@pytest.mark.parametrize("simulator", SIMULATORS, ids=lambda s: repr(s)[:40])
def test_same_random_state_same_noise(simulator):
    y = _labels()
    X = _X(y)
    _, first = simulator.fit_resample(X, y)
    _, second = simulator.fit_resample(X, y)
    assert_array_equal(first, second)
    other = simulator.set_params(random_state=1)
    _, third = other.fit_resample(X, y)
    assert not np.array_equal(first, third)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25, 0.4, 0.8, 1.0])
def test_exact_mode_hits_the_rate(rate):
    y = _labels()
    noise = SymmetricNoise(rate, keep_true=False, random_state=0).fit(_X(y), y)
    assert noise.noise_rate_ == round(rate * len(y)) / len(y)
    flips = np.bincount(y[noise.noise_mask_], minlength=4)
    counts = np.bincount(y)
    # Largest remainder: each class gets the floor or the ceiling of its share.
    assert np.all(flips >= np.floor(rate * counts)) and np.all(flips <= np.ceil(rate * counts))


def test_keep_true_convention_leaves_some_redraws_correct():
    y = np.repeat(np.arange(10), 100)
    noise = SymmetricNoise(0.4, random_state=0).fit(np.zeros((1000, 1)), y)
    assert noise.noise_rate_ == pytest.approx(0.4 * 9 / 10, abs=1e-3)
    assert_allclose(noise.transition_matrix_, symmetric_transition_matrix(10, 0.4), atol=0.01)


@pytest.mark.parametrize(
    "simulator",
    [SymmetricNoise(0.3, keep_true=False, exact=False), PairNoise(0.3, exact=False),
     InstanceDependentNoise(0.3, exact=False)],
    ids=["symmetric", "pair", "instance"],
)  # fmt: skip
def test_independent_mode_is_unbiased_over_seeds(simulator):
    y = _labels()
    X = _X(y)
    rates = [simulator.set_params(random_state=seed).fit(X, y).noise_rate_ for seed in range(300)]
    standard_error = np.std(rates) / np.sqrt(len(rates))
    assert np.std(rates) > 0  # really independent draws
    assert abs(np.mean(rates) - 0.3) < 4 * standard_error


def test_pair_swap_flips_each_class_from_its_original_label():
    # cat <-> dog swap plus a chain; the reference code's in-place loop would
    # flip some cats twice.
    y = np.array(["cat"] * 100 + ["dog"] * 100 + ["emu"] * 100 + ["fox"] * 100)
    mapping = {"cat": "dog", "dog": "cat", "emu": "fox"}
    y_noisy, mask = make_pair_noise(y, 0.4, mapping=mapping, random_state=0)
    for source, dest in mapping.items():
        rows = y == source
        assert np.mean(mask[rows]) == 0.4
        assert np.all(y_noisy[rows & mask] == dest)
    assert not mask[y == "fox"].any()


def test_pair_default_maps_to_next_class_cyclically():
    matrix = pair_transition_matrix([3, 5, 9], 0.25)
    expected = np.array([[0.75, 0.25, 0], [0, 0.75, 0.25], [0.25, 0, 0.75]])
    assert_allclose(matrix, expected)


def test_transition_matrix_noise_realises_the_matrix():
    matrix = np.array([[0.6, 0.3, 0.1], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6]])
    y = np.repeat(["a", "b", "c"], 1000)
    y_noisy, _ = make_transition_noise(y, matrix, random_state=0)
    realised = pd.crosstab(y, y_noisy, normalize="index").reindex(
        index=["a", "b", "c"], columns=["a", "b", "c"], fill_value=0
    )
    assert_allclose(realised.to_numpy(), matrix, atol=1e-3)


def test_explicit_classes_order_the_matrix_rows():
    matrix = np.array([[1.0, 0.0], [1.0, 0.0]])  # everything becomes "z"
    y = np.array(["a", "z", "a"])
    y_noisy, _ = make_transition_noise(y, matrix, classes=["z", "a"], random_state=0)
    assert_array_equal(y_noisy, ["z", "z", "z"])


def test_instance_noise_depends_on_the_features():
    X, y = make_blobs(2000, n_features=5, centers=3, random_state=0)
    noise = InstanceDependentNoise(0.3, random_state=0).fit(X, y)
    q = noise.flip_probability_
    assert q.mean() == pytest.approx(0.3, abs=1e-6)
    assert q.std() > 0.05
    assert q[noise.noise_mask_].mean() > q[~noise.noise_mask_].mean() + 0.05
    assert noise.noise_rate_ == round(0.3 * 2000) / 2000
    y_noisy, mask = make_instance_noise(X, y, 0.3, random_state=0)
    assert_array_equal(mask, noise.noise_mask_)


def test_pandas_series_keeps_index_name_and_dtype():
    y = pd.Series(pd.Categorical(["x", "y", "z"] * 20), index=np.arange(100, 160), name="label")
    _, y_noisy = SymmetricNoise(0.5, random_state=0).fit_resample(np.zeros((60, 1)), y)
    assert isinstance(y_noisy, pd.Series)
    assert_array_equal(y_noisy.index, y.index)
    assert y_noisy.name == "label" and y_noisy.dtype == y.dtype
    assert (y_noisy != y).sum() > 0


def test_negative_integer_labels():
    y = np.repeat([-5, -1, 3], 40)
    y_noisy, mask = make_symmetric_noise(y, 0.5, keep_true=False, random_state=0)
    assert set(np.unique(y_noisy)) <= {-5, -1, 3}
    assert mask.mean() == 0.5


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SymmetricNoise(-0.1), "rate == -0.1, must be >= 0"),
        (lambda: SymmetricNoise(1.5), "rate == 1.5, must be <= 1"),
        (lambda: PairNoise(0.2, mapping={0: 7}), "label 7, which is not one of the classes"),
        (lambda: PairNoise(0.2, mapping={0: 0}), "sends 0 to itself"),
        (lambda: TransitionMatrixNoise(np.ones((2, 3)) / 3), "must be square"),
        (lambda: TransitionMatrixNoise(np.eye(3)), "3 x 3 but there are 4 classes"),
        (lambda: TransitionMatrixNoise([[1.5, -0.5], [0, 1]] + [[0] * 2] * 0),
         "negative entries"),
        (lambda: TransitionMatrixNoise(np.full((4, 4), 0.3)), "must sum to 1; rows"),
        (lambda: TransitionMatrixNoise(np.full((4, 4), np.nan)), "NaN"),
        (lambda: TransitionMatrixNoise(np.eye(4), classes=[0, 1, 2, 2]), "repeated"),
        (lambda: TransitionMatrixNoise(np.eye(3), classes=[0, 1, 2]), "not in classes"),
        (lambda: InstanceDependentNoise(1.0), "below 1"),
        (lambda: SymmetricNoise(0.2, exact="yes"), "exact must be True or False"),
    ],
)  # fmt: skip
def test_invalid_settings_raise_naming_the_problem(make, match):
    y = _labels()
    if "2, 3" in match or "negative" in match:
        y = y[y < 2]
    with pytest.raises(ValueError, match=match):
        make().fit(_X(y), y)


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SymmetricNoise(0.2).fit_resample(np.zeros((5, 1)), np.arange(4))


def test_with_label_noise_scores_on_clean_folds(separated_blobs):
    # 1-NN reproduces its training labels: trained on 30 % wrong labels it is
    # right on ~70 % of clean test points. Corrupted test folds would give ~0.5.
    X, y = separated_blobs
    model = WithLabelNoise(
        KNeighborsClassifier(1), SymmetricNoise(0.3, keep_true=False, random_state=0)
    )
    scores = cross_val_score(model, X, y, cv=5)
    assert scores.mean() == pytest.approx(0.7, abs=0.05)
    fitted = model.fit(X, y)
    assert fitted.noise_.noise_rate_ == pytest.approx(0.3)
    assert_array_equal(fitted.classes_, np.unique(y))


class _LabelRecorder(ClassifierMixin, BaseEstimator):
    """Records the labels it is fitted and scored on; X[:, 0] is a row id."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.fit_labels_ = (X[:, 0].astype(int), np.asarray(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        SCORED.append((X[:, 0].astype(int), np.asarray(y)))
        return 0.0


SCORED = []


def test_grid_search_never_scores_on_corrupted_labels():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 120)
    X = np.column_stack([np.arange(120), rng.normal(size=120)])
    SCORED.clear()
    search = GridSearchCV(
        WithLabelNoise(_LabelRecorder(), SymmetricNoise(0.5, keep_true=False)),
        {"noise__rate": [0.3, 0.5]}, cv=3, refit=True,
    )  # fmt: skip
    search.fit(X, y)
    assert len(SCORED) == 6
    for rows, labels in SCORED:
        assert_array_equal(labels, y[rows])
    rows, labels = search.best_estimator_.estimator_.fit_labels_
    assert np.mean(labels != y[rows]) == pytest.approx(search.best_params_["noise__rate"])


def test_grid_search_over_estimator_and_noise_parameters():
    X, y = make_blobs(150, centers=3, random_state=0)
    search = GridSearchCV(
        WithLabelNoise(LinearELRClassifier(max_iter=20), SymmetricNoise(random_state=0)),
        {"estimator__lam": [0.0, 3.0], "noise__rate": [0.2, 0.4]}, cv=3,
    )  # fmt: skip
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4


def test_with_label_noise_forwards_sample_weight():
    X, y = make_blobs(100, centers=2, random_state=0)
    weights = np.where(y == 0, 10.0, 0.1)
    model = WithLabelNoise(LogisticRegression(), SymmetricNoise(0.0))
    direct = LogisticRegression().fit(X, y, sample_weight=weights)
    assert_allclose(model.fit(X, y, sample_weight=weights).estimator_.coef_, direct.coef_)


def test_with_label_noise_rejects_a_non_simulator():
    with pytest.raises(TypeError, match="fit_resample"):
        WithLabelNoise(LogisticRegression(), LogisticRegression()).fit([[0], [1]], [0, 1])


def test_imblearn_pipeline_corrupts_only_at_fit(separated_blobs):
    pipeline = pytest.importorskip("imblearn.pipeline")
    X, y = separated_blobs
    pipe = pipeline.Pipeline(
        [("noise", SymmetricNoise(0.3, keep_true=False, random_state=0)),
         ("knn", KNeighborsClassifier(1))]
    )  # fmt: skip
    scores = cross_val_score(pipe, X, y, cv=5)
    assert scores.mean() == pytest.approx(0.7, abs=0.05)
    pipe.fit(X, y)
    assert pipe.named_steps["noise"].noise_rate_ == pytest.approx(0.3)
    # Prediction skips the simulator: training points get their noisy labels.
    assert np.mean(pipe.predict(X) == y) == pytest.approx(0.7, abs=1e-9)


def test_with_label_noise_routes_sample_weight_where_requested():
    import sklearn
    from sklearn.datasets import load_iris
    from sklearn.exceptions import UnsetMetadataPassedError
    from sklearn.model_selection import GridSearchCV

    from sklearn_elr import LinearELRClassifier, SymmetricNoise, WithLabelNoise

    X, y = load_iris(return_X_y=True)
    w = np.linspace(0.5, 2.0, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        inner = (
            LinearELRClassifier(lam=1.0, random_state=0)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True)
        )
        model = WithLabelNoise(inner, SymmetricNoise(0.2, random_state=0)).fit(
            X, y, sample_weight=w
        )
        y_noisy = SymmetricNoise(0.2, random_state=0).fit_resample(X, y)[1]
        direct = LinearELRClassifier(lam=1.0, random_state=0).fit(X, y_noisy, sample_weight=w)
        np.testing.assert_array_equal(model.predict_proba(X), direct.predict_proba(X))
        # Through a grid search too, and refused when not requested.
        search = GridSearchCV(model, {"estimator__lam": [0.0, 1.0]}, cv=2, error_score="raise")
        search.fit(X, y, sample_weight=w)
        assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
        plain = WithLabelNoise(LinearELRClassifier(lam=1.0), SymmetricNoise(0.2))
        with pytest.raises(UnsetMetadataPassedError):
            plain.fit(X, y, sample_weight=w)
