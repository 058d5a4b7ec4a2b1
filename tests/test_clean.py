# SPDX-License-Identifier: BSD-3-Clause
"""ELRCleanLearning: the user's classifier on labels cleaned with ELR's issues."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_elr.clean as clean_module
from sklearn_elr import (
    ELRCleanLearning,
    LinearELRClassifier,
    find_label_issues,
    make_symmetric_noise,
)

CLEANER = LinearELRClassifier(lam=3.0, random_state=0)


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X, y


class Spy(ClassifierMixin, BaseEstimator):
    """Records the rows, labels and weights its fit is given."""

    def fit(self, X, y, sample_weight=None):
        self.n_rows_, self.y_, self.sample_weight_ = len(X), np.asarray(y), sample_weight
        self.model_ = LogisticRegression().fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def _model(**params):
    params = {"cleaner": CLEANER, "guard": False, "random_state": 0, **params}
    return ELRCleanLearning(Spy(), **params)


def test_each_mode_cleans_what_the_cleaner_flags(wine):
    X, y = wine
    y_noisy, _ = make_symmetric_noise(y, 0.3, random_state=0)
    issues = find_label_issues(CLEANER, X, y_noisy)
    flagged = issues["is_label_issue"].to_numpy()
    assert 0 < flagged.sum() < len(y)

    drop = _model(mode="drop").fit(X, y_noisy)
    assert drop.estimator_.n_rows_ == len(y) - flagged.sum()
    assert_array_equal(drop.estimator_.y_, y_noisy[~flagged])
    pd.testing.assert_frame_equal(drop.label_issues_, issues)

    relabel = _model(mode="relabel").fit(X, y_noisy)
    assert relabel.estimator_.n_rows_ == len(y)
    assert_array_equal(relabel.estimator_.y_[flagged], issues["predicted_label"][flagged])
    assert_array_equal(relabel.estimator_.y_[~flagged], y_noisy[~flagged])

    weight = _model(mode="weight").fit(X, y_noisy, sample_weight=np.full(len(y), 2.0))
    quality = weight.label_issues_["label_quality"]  # of the weighted cleaner
    np.testing.assert_allclose(weight.estimator_.sample_weight_, 2 * quality)


def test_cleaning_helps_a_boosted_model_on_noisy_labels(wine):
    X, y = wine
    plain, cleaned = [], []
    for seed in range(3):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        y_noisy, _ = make_symmetric_noise(y_tr, 0.4, random_state=seed)
        hgb = HistGradientBoostingClassifier(max_iter=50, random_state=0)
        plain.append(clone(hgb).fit(X_tr, y_noisy).score(X_te, y_te))
        model = ELRCleanLearning(hgb, cleaner=CLEANER, random_state=seed).fit(X_tr, y_noisy)
        cleaned.append(model.score(X_te, y_te))
    assert np.mean(cleaned) > np.mean(plain) + 0.05, (plain, cleaned)


def test_the_guard_keeps_plain_training_when_cleaning_hurts(wine, monkeypatch):
    X, y = wine

    def ruinous_issues(cleaner, X, y, cv=None, **kwargs):
        # Classes 0 and 1 "swapped" on every row: the cleaned model calls
        # class-0 rows 1, and the held-out labels say so.
        y = np.asarray(y)
        flagged = y < 2
        return pd.DataFrame({
            "is_label_issue": flagged, "label_quality": np.where(flagged, 0.0, 1.0),
            "given_label": y, "predicted_label": np.where(flagged, 1 - y, y),
        })  # fmt: skip

    monkeypatch.setattr(clean_module, "find_label_issues", ruinous_issues)
    model = ELRCleanLearning(LogisticRegression(), cleaner=CLEANER, mode="relabel", random_state=0)
    model.fit(X, y)
    assert not model.cleaned_
    assert model.guard_scores_["plain"] > model.guard_scores_["cleaned"]
    assert np.mean(model.predict(X)[y == 0] == 0) > 0.9  # plain training
    unguarded = clone(model).set_params(guard=False).fit(X, y)
    assert unguarded.cleaned_ and np.mean(unguarded.predict(X)[y == 0] == 0) < 0.1


class CountingSpy(Spy):
    """A Spy that also counts the rows of every fit of its clones."""

    rows = []

    def fit(self, X, y, sample_weight=None):
        CountingSpy.rows.append(len(X))
        return super().fit(X, y, sample_weight=sample_weight)


def test_on_a_large_table_the_guard_costs_half_a_fit(wine, monkeypatch):
    # At most the larger of _GUARD_FIT_ROWS and a quarter of the rows per
    # guard fit: scaled down to wine's 178 rows here.
    X, y = wine
    monkeypatch.setattr(clean_module, "_GUARD_FIT_ROWS", 30)
    CountingSpy.rows = []
    model = ELRCleanLearning(CountingSpy(), cleaner=CLEANER, random_state=0).fit(X, y)
    n_held = int(0.25 * len(y))
    assert CountingSpy.rows == [len(y) // 4, len(y) // 4, len(y)]  # relabel keeps every row
    assert set(model.guard_scores_) == {"plain", "cleaned"}
    monkeypatch.setattr(
        clean_module, "_GUARD_FIT_ROWS", 2_000
    )  # small tables: all but the held-out
    CountingSpy.rows = []
    ELRCleanLearning(CountingSpy(), cleaner=CLEANER, random_state=0).fit(X, y)
    assert CountingSpy.rows == [len(y) - n_held, len(y) - n_held, len(y)]


def test_a_class_the_cleaning_would_erase_is_kept(wine, monkeypatch):
    X, y = wine

    def flag_class_2(cleaner, X, y, cv=None, **kwargs):
        flagged = np.asarray(y) == 2
        return pd.DataFrame({
            "is_label_issue": flagged, "label_quality": np.where(flagged, 0.0, 1.0),
            "given_label": y, "predicted_label": np.where(flagged, 1, y),
        })  # fmt: skip

    monkeypatch.setattr(clean_module, "find_label_issues", flag_class_2)
    for mode in ("drop", "relabel"):
        model = _model(mode=mode).fit(X, y)
        assert_array_equal(model.classes_, [0, 1, 2])


def test_a_plain_meta_estimator(wine):
    X, y = wine
    y_noisy, _ = make_symmetric_noise(y, 0.3, random_state=0)
    model = ELRCleanLearning(
        make_pipeline(StandardScaler(), KNeighborsClassifier()), cleaner=CLEANER, random_state=0
    )
    search = GridSearchCV(
        model,
        {"estimator__kneighborsclassifier__n_neighbors": [3, 7], "cleaner__lam": [1.0, 3.0]},
        cv=2,
    ).fit(X, y_noisy)
    best = search.best_estimator_
    assert best.predict_proba(X[:3]).shape == (3, 3)
    assert_array_equal(best.classes_, [0, 1, 2])
    restored = pickle.loads(pickle.dumps(best))
    assert_array_equal(restored.predict(X), best.predict(X))
    assert not hasattr(model, "estimator_")  # searches fit clones


@pytest.mark.parametrize(
    "params, fit_kwargs, error, words",
    [
        (dict(mode="prune"), {}, ValueError, "mode must be one of"),
        (dict(guard="yes"), {}, ValueError, "guard must be True or False"),
        (dict(cleaner=LogisticRegression()), {}, ValueError, "ELR estimator"),
        (dict(estimator=KNeighborsClassifier(), mode="weight"), {}, ValueError, "sample_weight"),
        (
            dict(estimator=KNeighborsClassifier()),
            {"sample_weight": np.ones(178)},
            ValueError,
            "does not take it",
        ),
    ],
)
def test_bad_settings_are_refused_by_name(wine, params, fit_kwargs, error, words):
    X, y = wine
    params = {"estimator": LogisticRegression(), "cleaner": CLEANER, **params}
    with pytest.raises(error, match=words):
        ELRCleanLearning(**params).fit(X, y, **fit_kwargs)


def test_the_default_cleaner_takes_sparse_input(wine):
    # The network (or, without torch, the linear model) judges CSR rows as
    # it judges their dense form.
    import scipy.sparse as sp

    X, y = wine
    y_noisy, _ = make_symmetric_noise(y, 0.3, random_state=0)
    matrix = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    model = ELRCleanLearning(LogisticRegression(), random_state=0).fit(matrix, y_noisy)
    dense = ELRCleanLearning(LogisticRegression(), random_state=0).fit(matrix.toarray(), y_noisy)
    assert_array_equal(model.label_issues_["is_label_issue"], dense.label_issues_["is_label_issue"])
    assert model.predict(matrix).shape == (len(y),)


def test_a_prefit_cleaner_is_used_as_it_is(wine):
    X, y = wine
    y_noisy, _ = make_symmetric_noise(y, 0.3, random_state=0)
    cleaner = clone(CLEANER).fit(X, y_noisy)
    coef = cleaner.coef_.copy()
    prefit = _model(cleaner=cleaner, cv="prefit").fit(X, y_noisy)
    fresh = _model().fit(X, y_noisy)
    assert prefit.cleaner_ is cleaner
    assert_array_equal(cleaner.coef_, coef)
    pd.testing.assert_frame_equal(prefit.label_issues_, fresh.label_issues_)
    with pytest.raises(ValueError, match="fitted cleaner"):
        ELRCleanLearning(LogisticRegression(), cv="prefit").fit(X, y_noisy)


class TaggedSpy(Spy):
    """A Spy whose fit takes one more per-row parameter."""

    def fit(self, X, y, sample_weight=None, tag=None):
        self.tag_ = tag
        return super().fit(X, y, sample_weight=sample_weight)


def test_metadata_routing_sends_each_part_what_it_requests(wine):
    import sklearn

    X, y = wine
    y_noisy, _ = make_symmetric_noise(y, 0.3, random_state=0)
    weight = np.linspace(0.5, 1.5, len(y))
    tag = np.arange(len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        asks = TaggedSpy().set_fit_request(sample_weight=True, tag=True)
        model = ELRCleanLearning(
            asks, cleaner=clone(CLEANER).set_fit_request(sample_weight=False),
            mode="drop", guard=False, random_state=0,
        ).fit(X, y_noisy, sample_weight=weight, tag=tag)  # fmt: skip
        kept = tag[~model.label_issues_["is_label_issue"].to_numpy()]
        # Per-row parameters follow the rows the estimator is fitted on.
        assert_array_equal(model.estimator_.tag_, kept)
        assert_array_equal(model.estimator_.sample_weight_, weight[kept])
        # The cleaner did not ask for the weights: its label quality is the unweighted one.
        unweighted = find_label_issues(CLEANER, X, y_noisy)
        pd.testing.assert_frame_equal(model.label_issues_, unweighted)
        # The estimator alone not asking: it gets none, the cleaner still can.
        model = ELRCleanLearning(
            Spy().set_fit_request(sample_weight=False),
            cleaner=clone(CLEANER).set_fit_request(sample_weight=True),
            guard=False, random_state=0,
        ).fit(X, y_noisy, sample_weight=weight)  # fmt: skip
        assert model.estimator_.sample_weight_ is None
        weighted = find_label_issues(CLEANER, X, y_noisy, sample_weight=weight)
        pd.testing.assert_frame_equal(model.label_issues_, weighted)
        # The default cleaner cannot be asked: it takes the weights the estimator asked for.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(clean_module, "_default_cleaner", lambda seed: clone(CLEANER))
            model = ELRCleanLearning(
                Spy().set_fit_request(sample_weight=True), guard=False, random_state=0
            ).fit(X, y_noisy, sample_weight=weight)
        pd.testing.assert_frame_equal(model.label_issues_, weighted)
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):  # asked by no one
            ELRCleanLearning(Spy(), cleaner=CLEANER, guard=False).fit(
                X, y_noisy, sample_weight=weight
            )
    with pytest.raises(ValueError, match="tag"):  # other parameters need routing
        _model().fit(X, y_noisy, tag=tag)
