# SPDX-License-Identifier: BSD-3-Clause
"""find_label_issues: one call, cleanlab's columns, in-sample or out-of-sample."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_elr import (
    LinearELRClassifier,
    SymmetricNoise,
    WithLabelNoise,
    find_label_issues,
)

COLUMNS = ["is_label_issue", "label_quality", "given_label", "predicted_label"]


def _f1(flagged, mask):
    tp = np.sum(flagged & mask)
    return 2 * tp / (flagged.sum() + mask.sum())


def test_in_sample_targets_find_the_flipped_labels(noisy_digits):
    X, _, y_noisy, mask = noisy_digits
    model = LinearELRClassifier(lam=3.0, random_state=0)
    issues = find_label_issues(model, X, y_noisy)
    assert list(issues.columns) == COLUMNS
    assert issues["is_label_issue"].dtype == bool
    assert_array_equal(issues["given_label"], y_noisy)
    # The same as the estimator's own attributes after one fit.
    fitted = clone(model).fit(X, y_noisy)
    assert_array_equal(issues["is_label_issue"], fitted.label_issues_)
    assert_array_equal(issues["label_quality"], fitted.label_quality_)
    assert _f1(issues["is_label_issue"].to_numpy(), mask) > 0.8
    # Ranking: the lowest qualities are mostly flipped labels.
    worst = issues.sort_values("label_quality").index[: mask.sum() // 2]
    assert mask[worst].mean() > 0.9
    assert "lam" in model.get_params() and not hasattr(model, "targets_")  # untouched


def test_out_of_sample_is_crossvalidated_self_confidence(noisy_digits):
    X, _, y_noisy, _ = noisy_digits
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    model = LogisticRegression(max_iter=200)
    issues = find_label_issues(model, X, y_noisy, cv=cv)
    proba = cross_val_predict(model, X, y_noisy, cv=cv, method="predict_proba")
    assert_array_equal(issues["label_quality"], proba[np.arange(len(y_noisy)), y_noisy])
    assert_array_equal(issues["predicted_label"], proba.argmax(axis=1))
    assert_array_equal(issues["is_label_issue"], proba.argmax(axis=1) != y_noisy)


def test_auto_picks_targets_for_elr_pipelines_and_cv_for_others(noisy_digits):
    X, _, y_noisy, _ = noisy_digits
    pipe = make_pipeline(StandardScaler(), LinearELRClassifier(lam=3.0, random_state=0))
    in_sample = find_label_issues(pipe, X, y_noisy)
    fitted = clone(pipe).fit(X, y_noisy)
    assert_array_equal(in_sample["label_quality"], fitted[-1].label_quality_)
    with pytest.raises(ValueError, match="cv=5"):
        find_label_issues(LogisticRegression(), X, y_noisy, cv=None)


def test_labels_and_index_come_back_as_given():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), index=np.arange(60) * 10 + 5)
    y = np.array(["ant", "bee", "cat"])[rng.integers(0, 3, 60)]
    issues = find_label_issues(LinearELRClassifier(lam=1.0, random_state=0), X, y)
    assert_array_equal(issues.index, X.index)
    assert_array_equal(issues["given_label"], y)
    assert set(issues["predicted_label"]) <= {"ant", "bee", "cat"}
    with pytest.raises(ValueError, match="inconsistent"):
        find_label_issues(LinearELRClassifier(), X, y[:-1])


def test_with_label_noise_exposes_the_estimators_label_issues(digits):
    X, y = digits
    model = WithLabelNoise(
        LinearELRClassifier(lam=3.0, random_state=0), SymmetricNoise(0.3, random_state=0)
    ).fit(X, y)
    assert_array_equal(model.label_issues_, model.estimator_.label_issues_)
    assert _f1(model.label_issues_, model.noise_.noise_mask_) > 0.7
    plain = WithLabelNoise(LogisticRegression(), SymmetricNoise(0.3, random_state=0)).fit(
        X[:200], y[:200]
    )
    with pytest.raises(AttributeError, match="find_label_issues"):
        _ = plain.label_issues_


def test_networks_use_their_targets(noisy_digits):
    pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from sklearn_elr import ELRPlusClassifier, NoisyLabelClassifier

    X, _, y_noisy, mask = noisy_digits
    X = X.astype(np.float32)
    for net in (
        NoisyLabelClassifier(lam=3.0, max_epochs=15, random_state=0),
        ELRPlusClassifier(lam=3.0, max_epochs=15, random_state=0),
    ):
        issues = find_label_issues(net, X, y_noisy)
        assert _f1(issues["is_label_issue"].to_numpy(), mask) > 0.7


# -- workflows that crashed or answered wrongly (issue 18) -----------------------


def test_sparse_x_works_and_matches_dense(noisy_digits):
    import scipy.sparse as sp

    X, _, y_noisy, _ = noisy_digits
    model = LinearELRClassifier(lam=3.0, random_state=0)
    dense = find_label_issues(model, X, y_noisy)
    sparse = find_label_issues(model, sp.csr_matrix(X), y_noisy)
    assert len(sparse) == len(y_noisy)
    assert (sparse["is_label_issue"] == dense["is_label_issue"]).mean() > 0.98


def test_a_pipeline_that_resamples_is_judged_on_the_given_labels(digits):
    # The simulator corrupts the labels inside the pipeline: its classifier's
    # targets judge the corrupted labels. Out of sample, clean y has few
    # issues, and none whose given label is the prediction.
    from imblearn.pipeline import make_pipeline as make_imb_pipeline

    X, y = digits
    pipe = make_imb_pipeline(
        SymmetricNoise(0.4, random_state=0), LinearELRClassifier(random_state=0)
    )
    issues = find_label_issues(pipe, X, y)
    pd.testing.assert_frame_equal(issues, find_label_issues(pipe, X, y, cv=5))
    flagged = issues["is_label_issue"]
    assert flagged.mean() < 0.2  # in-sample on the corrupted labels: about 0.4
    assert not (flagged & (issues["given_label"] == issues["predicted_label"])).any()
    with pytest.raises(ValueError, match="step 'symmetricnoise' resamples"):
        find_label_issues(pipe, X, y, cv=None)


def test_an_imbalanced_learn_pipeline_that_drops_rows_works(digits):
    from imblearn.pipeline import make_pipeline as make_imb_pipeline
    from imblearn.under_sampling import RandomUnderSampler

    X, y = digits
    keep = (y < 3) & ((y > 0) | (np.arange(len(y)) % 3 == 0))  # class 0 a third the size
    pipe = make_imb_pipeline(
        RandomUnderSampler(random_state=0), LinearELRClassifier(lam=3.0, random_state=0)
    )
    issues = find_label_issues(pipe, X[keep], y[keep])
    assert len(issues) == keep.sum()
    assert_array_equal(issues["given_label"], y[keep])


def test_prefit_reads_the_fitted_targets_without_a_refit(noisy_digits):
    X, _, y_noisy, _ = noisy_digits
    model = LinearELRClassifier(lam=3.0, random_state=0).fit(X, y_noisy)
    coef = model.coef_.copy()
    prefit = find_label_issues(model, X, y_noisy, cv="prefit")
    fresh = find_label_issues(LinearELRClassifier(lam=3.0, random_state=0), X, y_noisy)
    pd.testing.assert_frame_equal(prefit, fresh)
    assert_array_equal(model.coef_, coef)
    with pytest.raises(ValueError, match="targets_ have"):
        find_label_issues(model, X[:100], y_noisy[:100], cv="prefit")
    with pytest.raises(ValueError, match="keeps ELR targets"):
        find_label_issues(LogisticRegression().fit(X, y_noisy), X, y_noisy, cv="prefit")


def test_rows_a_network_never_trained_on_get_its_prediction(noisy_digits):
    pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from skorch.dataset import ValidSplit

    from sklearn_elr import NoisyLabelClassifier

    X, _, y_noisy, _ = noisy_digits
    X = X.astype(np.float32)[:400]
    y_noisy = y_noisy[:400]
    net = NoisyLabelClassifier(lam=3.0, max_epochs=5, random_state=0, train_split=ValidSplit(4))
    issues = find_label_issues(net, X, y_noisy)
    fitted = clone(net).fit(X, y_noisy)
    held_out = fitted.targets_.sum(axis=1) == 0
    assert held_out.sum() >= 90
    assert_array_equal(issues["predicted_label"][held_out], fitted.predict(X[held_out]))
    assert not issues["label_quality"].isna().any()


def test_with_label_noise_and_displays_unwrap_a_pipeline(digits):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from sklearn_elr.plotting import LabelQualityDisplay

    X, y = digits
    pipe = make_pipeline(StandardScaler(), LinearELRClassifier(lam=3.0, random_state=0))
    model = WithLabelNoise(pipe, SymmetricNoise(0.3, random_state=0)).fit(X, y)
    assert_array_equal(model.label_issues_, model.estimator_[-1].label_issues_)
    display = LabelQualityDisplay.from_estimator(
        model.estimator_, noise_mask=model.noise_.noise_mask_
    )
    assert len(display.line_.get_xdata()) == len(y)
