# SPDX-License-Identifier: BSD-3-Clause
"""LinearELRClassifier: behaviour, input handling, scikit-learn integration."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_elr import LinearELRClassifier
from sklearn_elr.datasets import make_early_learning_problem


@pytest.fixture
def blobs():
    X, y = make_blobs(120, n_features=5, centers=3, random_state=0)
    return X, y


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LinearELRClassifier(**params).fit(X, y)


def test_import_does_not_load_torch():
    code = "import sys, sklearn_elr; assert 'torch' not in sys.modules, 'torch loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_probabilities_sum_to_one_and_agree_with_predict(n_classes):
    X, y = make_blobs(150, n_features=4, centers=n_classes, random_state=0)
    clf = _fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, n_classes)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-10)
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


@pytest.mark.parametrize("n_classes", [2, 4])
def test_coef_layout_matches_logistic_regression(n_classes):
    X, y = make_blobs(100, n_features=3, centers=n_classes, random_state=1)
    clf = _fit(X, y)
    rows = 1 if n_classes == 2 else n_classes
    assert clf.coef_.shape == (rows, 3)
    assert clf.intercept_.shape == (rows,)
    scores = clf.decision_function(X)
    assert_allclose(scores, (X @ clf.coef_.T + clf.intercept_).squeeze())
    assert clf.targets_.shape == (100, n_classes)
    assert clf.n_iter_ == len(clf.loss_curve_) >= 1


def test_fitted_targets_are_the_temporal_ensemble(blobs):
    X, y = blobs
    clf = _fit(X, y, lam=3.0, beta=0.7, max_iter=7, tol=None)
    # Targets start at zero; after k updates their mass is 1 - beta**k.
    assert_allclose(clf.targets_.sum(axis=1), 1 - 0.7**7, rtol=1e-10)
    assert np.all(clf.targets_ >= 0)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "emu"]),
        np.array([-3, 7, 11]),
        np.array(["x", "y", "z"], dtype=object),
    ],
    ids=["str", "negative-int", "object"],
)
def test_any_label_type_round_trips_through_classes(blobs, labels):
    X, y = blobs
    y_labels = labels[y]
    clf = _fit(X, y_labels, random_state=0)
    assert_array_equal(clf.classes_, np.sort(labels))
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, y_labels) > 0.9


def test_pandas_dataframe_and_categorical_labels(blobs):
    X, y = blobs
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = pd.Series(pd.Categorical(np.array(["a", "b", "c"])[y]))
    clf = _fit(frame, labels)
    assert_array_equal(clf.feature_names_in_, frame.columns)
    assert_array_equal(clf.classes_, ["a", "b", "c"])
    assert clf.score(frame, labels) > 0.9


@pytest.mark.parametrize("batch_size", [None, 16])
def test_sparse_csr_gives_the_dense_result(blobs, batch_size):
    X, y = blobs
    dense = _fit(X, y, batch_size=batch_size, random_state=0, max_iter=20)
    sparse = _fit(sp.csr_matrix(X), y, batch_size=batch_size, random_state=0, max_iter=20)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(sparse.targets_, dense.targets_, rtol=1e-6, atol=1e-8)


def test_float32_input_trains_in_float32(blobs):
    X, y = blobs
    clf32 = _fit(X.astype(np.float32), y)
    clf64 = _fit(X, y)
    assert clf32.coef_.dtype == np.float32 and clf32.targets_.dtype == np.float32
    assert np.mean(clf32.predict(X) == clf64.predict(X)) > 0.97


def test_sample_weight_two_equals_a_duplicated_row(blobs):
    # Exact with full-batch training; shuffled mini-batches only in expectation.
    X, y = blobs
    weights = np.ones(len(y))
    weights[:10] = 2
    X_dup, y_dup = np.vstack([X, X[:10]]), np.concatenate([y, y[:10]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = LinearELRClassifier(lam=3.0, max_iter=30).fit(X, y, sample_weight=weights)
        duplicated = LinearELRClassifier(lam=3.0, max_iter=30).fit(X_dup, y_dup)
    assert_allclose(weighted.coef_, duplicated.coef_, rtol=1e-7, atol=1e-10)


def test_class_weight_balanced_equals_explicit_sample_weight(blobs):
    X, y = blobs
    X, y = X[:100], y[:100]  # unbalanced after the cut
    counts = np.bincount(y)
    explicit = len(y) / (len(counts) * counts[y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = LinearELRClassifier(class_weight="balanced", max_iter=20, random_state=0)
        b = LinearELRClassifier(max_iter=20, random_state=0)
        a.fit(X, y)
        b.fit(X, y, sample_weight=explicit)
    assert_allclose(a.coef_, b.coef_, rtol=1e-7)


def test_warm_start_continues_from_previous_fit(blobs):
    X, y = blobs
    clf = _fit(X, y, lam=3.0, max_iter=5, tol=None, warm_start=True, beta=0.5, random_state=0)
    first = clf.coef_.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    # Targets kept their mass from the first fit: 1 - beta**(5 + 5).
    assert_allclose(clf.targets_.sum(axis=1), 1 - 0.5**10, rtol=1e-10)
    cold = _fit(X, y, lam=3.0, max_iter=5, tol=None, beta=0.5, random_state=0)
    assert_allclose(cold.coef_, first)
    assert not np.allclose(clf.coef_, first)


def test_minibatch_training_is_reproducible_with_random_state(blobs):
    X, y = blobs
    a = _fit(X, y, batch_size=8, random_state=3, max_iter=5)
    b = _fit(X, y, batch_size=8, random_state=3, max_iter=5)
    c = _fit(X, y, batch_size=8, random_state=4, max_iter=5)
    assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)


def test_elr_memorizes_fewer_wrong_labels_than_plain_training(noisy_digits):
    X, y_clean, y_noisy, wrong = noisy_digits
    plain = _fit(X, y_noisy, lam=0.0, alpha=0.0, max_iter=300, tol=None, random_state=0)
    elr = _fit(X, y_noisy, lam=3.0, max_iter=300, tol=None, random_state=0)
    memorized, recovered = {}, {}
    for name, model in [("plain", plain), ("elr", elr)]:
        predicted = model.predict(X[wrong])
        memorized[name] = np.mean(predicted == y_noisy[wrong])
        recovered[name] = np.mean(predicted == y_clean[wrong])
    assert memorized["elr"] < memorized["plain"] / 2, memorized
    assert recovered["elr"] > recovered["plain"] + 0.04, recovered


def test_inputs_are_not_modified(blobs):
    X, y = blobs
    X32 = np.asarray(X, dtype=np.float64, order="C")
    weights = np.linspace(0.5, 1.5, len(y))
    copies = X32.copy(), y.copy(), weights.copy()
    _fit(X32, y, class_weight="balanced").fit(X32, y, sample_weight=weights)
    for original, copy in zip((X32, y, weights), copies):
        assert_array_equal(original, copy)


def test_verbose_prints_the_loss(blobs, capsys):
    X, y = blobs
    _fit(X, y, lam=3.0, verbose=1, max_iter=3, tol=None)
    assert capsys.readouterr().out.count("loss =") == 3


def test_max_iter_reached_warns(blobs):
    X, y = blobs
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        LinearELRClassifier(lam=3.0, max_iter=2).fit(*blobs)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lam": -1.0}, "lam == -1.0, must be >= 0"),
        ({"lam": np.inf}, "lam must be finite"),
        ({"lam": "best"}, "lam must be a float >= 0 or 'auto'"),
        ({"lams": []}, "lams must be a non-empty list"),
        ({"lams": [0.0, -1.0]}, "lams == -1.0, must be >= 0"),
        ({"lams": [np.nan]}, "lams must be finite"),
        ({"beta": np.nan}, "beta must be finite"),
        ({"alpha": np.inf}, "alpha must be finite"),
        ({"learning_rate": np.nan}, "learning_rate must be finite"),
        ({"tol": np.nan}, "tol must be finite"),
        ({"beta": 1.0}, "beta == 1.0, must be < 1"),
        ({"beta": -0.1}, "beta == -0.1, must be >= 0"),
        ({"alpha": -1}, "alpha == -1, must be >= 0"),
        ({"learning_rate": 0}, "learning_rate == 0, must be > 0"),
        ({"solver": "lbfgs"}, "solver must be one of"),
        ({"batch_size": 0}, "batch_size == 0, must be >= 1"),
        ({"max_iter": 0}, "max_iter == 0, must be >= 1"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(blobs, params, match):
    with pytest.raises(ValueError, match=match):
        LinearELRClassifier(**params).fit(*blobs)


def test_bad_input_raises_clear_errors(blobs):
    X, y = blobs
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LinearELRClassifier().fit(X_nan, y)
    X_inf = X.copy()
    X_inf[1, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        LinearELRClassifier().fit(X_inf, y)
    with pytest.raises(ValueError, match="only one class"):
        LinearELRClassifier().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LinearELRClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="Negative values"):
        LinearELRClassifier().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="all sample_weight values are zero"):
        LinearELRClassifier().fit(X, y, sample_weight=np.zeros(len(y)))
    fitted = _fit(X, y)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :3])


def test_pipeline_grid_search_cross_val_clone_pickle(noisy_digits):
    X, _, y_noisy, _ = noisy_digits
    pipe = make_pipeline(StandardScaler(), LinearELRClassifier(max_iter=50))
    search = GridSearchCV(
        pipe, {"linearelrclassifier__lam": [0.0, 3.0], "linearelrclassifier__beta": [0.7, 0.9]},
        cv=3,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y_noisy)
        scores = cross_val_score(LinearELRClassifier(max_iter=50), X, y_noisy, cv=3)
    assert len(search.cv_results_["params"]) == 4
    assert scores.shape == (3,) and np.all(scores > 0.3)
    fitted = search.best_estimator_
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.predict(X), fitted.predict(X))
    fresh = clone(fitted[-1])
    assert not hasattr(fresh, "coef_") and fresh.get_params() == fitted[-1].get_params()


def test_auto_lam_picks_from_the_grid_and_equals_the_fixed_refit(blobs):
    X, y = blobs
    y = y.copy()
    y[::5] = (y[::5] + 1) % 3  # 20 % wrong labels
    auto = LinearELRClassifier(lams=(0.0, 1.0, 3.0), cv=3, random_state=0).fit(X, y)
    assert auto.lam_ in (0.0, 1.0, 3.0)
    assert auto.cv_scores_.shape[1] == 3
    assert np.all((auto.cv_scores_ >= 0) & (auto.cv_scores_ <= 1 + 1e-12))
    # The chosen epoch count is the best mean held-out accuracy of lam_.
    column = list((0.0, 1.0, 3.0)).index(auto.lam_)
    best = auto.cv_scores_.max()
    assert auto.cv_scores_[auto.n_iter_ - 1, column] >= best - 3 / len(y)
    # The final model is the fixed-lam fit with the chosen number of epochs.
    fixed = LinearELRClassifier(lam=auto.lam_, max_iter=auto.n_iter_, tol=None).fit(X, y)
    assert_allclose(auto.coef_, fixed.coef_, rtol=1e-10)


def test_auto_lam_with_one_candidate_uses_it(blobs):
    X, y = blobs
    clf = LinearELRClassifier(lams=[2.0], cv=3, random_state=0).fit(X, y)
    assert clf.lam_ == 2.0


@pytest.mark.parametrize("cv", [3, "splits"])
def test_cv_accepts_ints_and_explicit_splits(blobs, cv):
    X, y = blobs
    if cv == "splits":
        cv = [(np.arange(0, 80), np.arange(80, 120)), (np.arange(40, 120), np.arange(40))]
    clf = LinearELRClassifier(cv=cv, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9


def test_default_fits_do_not_warn_on_standardised_data():
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine

    for load in (load_iris, load_wine, load_breast_cancer):
        X, y = load(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            clf = LinearELRClassifier(random_state=0).fit(X, y)
            fixed = LinearELRClassifier(lam=3.0, random_state=0).fit(X, y)
        assert fixed.n_iter_ < fixed.max_iter  # the settling rule fired
        assert clf.score(X, y) > 0.9


def test_iris_docstring_example_is_close_to_logistic_regression():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    plain = LogisticRegression().fit(X, y).score(X, y)
    assert LinearELRClassifier(random_state=0).fit(X, y).score(X, y) >= plain - 0.02


def test_divergence_raises_floating_point_error(blobs):
    X, y = blobs
    with pytest.raises(FloatingPointError, match="learning_rate"):
        LinearELRClassifier(lam=3.0, learning_rate=1e12, max_iter=50).fit(X * 1e6, y)


def test_scale_of_x_does_not_change_the_model(blobs):
    # Columns on different scales are standardised: rescaling a feature only
    # rescales its coefficient.
    X, y = blobs
    scale = np.array([1e-3, 1.0, 1e3, 5.0, 1e2])
    other = scale * np.array([7.0, 1 / 3, 2.0, 0.5, 11.0])
    a = LinearELRClassifier(random_state=0).fit(X * scale, y)
    b = LinearELRClassifier(random_state=0).fit(X * other, y)
    assert_allclose(b.coef_ * other, a.coef_ * scale, rtol=1e-6, atol=1e-9)
    assert_array_equal(a.predict(X * scale), b.predict(X * other))


@pytest.mark.parametrize("factor", [1e-6, 3.0, 1e6])
def test_common_factor_does_not_change_the_model(blobs, factor):
    # Columns already on one scale share it: a common factor rescales it.
    X, y = blobs
    a = LinearELRClassifier(random_state=0).fit(X, y)
    b = LinearELRClassifier(random_state=0).fit(X * factor, y)
    assert_allclose(b.coef_ * factor, a.coef_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_defaults_do_not_memorize_the_papers_problem(seed):
    # The paper's linear theory: gradient descent learns the clean direction
    # first, then memorizes the wrong labels. The defaults must stop short.
    train = make_early_learning_problem(random_state=seed)
    test = make_early_learning_problem(n_samples=2000, random_state=seed + 100)
    clf = LinearELRClassifier(random_state=0).fit(train.X, train.y)
    wrong = train.noise_mask
    memorized = np.mean(clf.predict(train.X[wrong]) == train.y[wrong])
    assert memorized <= 0.05
    assert clf.score(test.X, test.y_clean) >= 0.99


@pytest.mark.parametrize("y", [[0, 0, 1, 1], [0, 1, 1, 1, 1], ["a", "b", "b", "c", "c", "c"]])
def test_tiny_tables_fit_where_logistic_regression_does(y):
    # Too few rows to hold out: fewer folds, or plain training (lam_ = 0).
    X = np.arange(len(y) * 2, dtype=float).reshape(len(y), 2) ** 1.5
    clf = LinearELRClassifier(random_state=0).fit(X, y)
    assert clf.lam_ in clf.lams
    if min(np.unique(y, return_counts=True)[1]) < 2:
        assert clf.lam_ == 0.0 and not hasattr(clf, "cv_scores_")
    else:
        assert clf.cv_scores_.shape[1] == len(clf.lams)
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_large_adam_batches_and_several_candidates(blobs):
    X, y = blobs
    X_big, y_big = np.tile(X, (40, 1)), np.tile(y, 40)  # 4,800 rows
    clf = LinearELRClassifier(solver="adam", batch_size=4500, cv=2, random_state=0)
    clf.fit(X_big, y_big)
    assert clf.score(X_big, y_big) > 0.9


def test_float32_sparse_input_fits_as_float64_sparse_does():
    import scipy.sparse as sp
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    for solver in ("nesterov", "adam"):
        model = LinearELRClassifier(solver=solver, random_state=0)
        m32 = clone(model).fit(sp.csr_matrix(X.astype(np.float32)), y)
        m64 = clone(model).fit(sp.csr_matrix(X), y)
        assert m32.coef_.dtype == np.float32
        assert np.mean(m32.predict(X) == m64.predict(X)) > 0.97


@pytest.mark.parametrize("sparse", [False, True])
def test_all_zero_features_give_the_class_prior(sparse):
    # LogisticRegression's answer: nothing to learn from X but the prior.
    import scipy.sparse as sp

    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.zeros((100, 4))
    X = sp.csr_matrix(X) if sparse else X
    prior = np.tile([0.6, 0.3, 0.1], (100, 1))
    plain = LinearELRClassifier(lam=0.0, random_state=0).fit(X, y)
    assert_allclose(plain.predict_proba(X), prior, atol=1e-3)
    # lam="auto": every epoch scores the same on held-out rows, and the
    # earliest is kept, short of convergence
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        default = LinearELRClassifier(random_state=0).fit(X, y)
    assert_allclose(default.predict_proba(X), prior, atol=0.03)


def test_a_fixed_lam_collapsing_onto_one_class_warns():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    with pytest.warns(UserWarning, match="every training row on one class"):
        model = LinearELRClassifier(lam=3.0, random_state=0).fit(np.zeros((100, 4)), y)
    assert model.predict_proba(np.zeros((1, 4))).max() > 0.99


def test_float32_constant_columns_are_constant():
    # float32 weights sum to 1 within 1e-7: the moments renormalise them, or a
    # constant column gets a spread of 1e-7 times its value, is "standardised"
    # by it, and the coefficients explode (1e13 on digits' constant pixels).
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:500]  # some pixels constant, not 0
    y = y[:500]
    m32 = LinearELRClassifier(lam=3.0, random_state=0).fit(X.astype(np.float32), y)
    m64 = LinearELRClassifier(lam=3.0, random_state=0).fit(X, y)
    assert_allclose(m32.coef_, m64.coef_, atol=1e-2)
