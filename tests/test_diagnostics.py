# SPDX-License-Identifier: BSD-3-Clause
"""Datasets, diagnostics, memorization monitors, label issues and plotting."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_elr import LinearELRClassifier
from sklearn_elr.datasets import make_early_learning_problem
from sklearn_elr.diagnostics import (
    LinearMemorizationMonitor,
    label_quality_from_targets,
    memorization_scores,
)


def test_early_learning_problem_follows_the_papers_setting():
    data = make_early_learning_problem(4000, 50, sigma=0.2, noise=0.4, random_state=0)
    assert data.X.shape == (4000, 50)
    assert np.bincount(data.y_clean).tolist() == [2000, 2000]
    assert_array_equal(data.noise_mask, data.y != data.y_clean)
    # A fair coin replaces 40 % of the labels: about 20 % end up wrong.
    assert data.noise_mask.mean() == pytest.approx(0.2, abs=0.02)
    # Clusters at +-e1 with spread sigma.
    sign = np.where(data.y_clean == 1, 1.0, -1.0)
    assert_allclose(np.mean(data.X[:, 0] * sign), 1.0, atol=0.02)
    assert np.std(data.X[:, 1:]) == pytest.approx(0.2, rel=0.02)
    X, y = make_early_learning_problem(100, 5, random_state=3, return_X_y=True)
    again = make_early_learning_problem(100, 5, random_state=3)
    assert_array_equal(X, again.X) and assert_array_equal(y, again.y)
    with pytest.raises(ValueError, match="noise == 1.5, must be <= 1"):
        make_early_learning_problem(10, 2, noise=1.5)


def test_memorization_scores_count_the_right_groups():
    y_clean = np.array([0, 0, 1, 1, 2, 2])
    y_given = np.array([0, 1, 1, 0, 2, 0])  # rows 1, 3, 5 are wrong
    y_pred = np.array([0, 1, 0, 1, 2, 2])  # 1 memorized, 3 and 5 recovered
    scores = memorization_scores(y_pred, y_given, y_clean)
    assert scores == {"wrong_to_true": 2 / 3, "memorized": 1 / 3, "clean_acc": 2 / 3}
    assert np.isnan(memorization_scores(y_clean, y_clean, y_clean)["memorized"])
    with pytest.raises(ValueError, match="same length"):
        memorization_scores(y_pred[:-1], y_given, y_clean)


def test_label_quality_from_targets():
    targets = np.array([[0.6, 0.1, 0.0], [0.1, 0.2, 0.4], [0.0, 0.0, 0.0]])
    quality, issues = label_quality_from_targets(targets, np.array([0, 1, 2]))
    assert_allclose(quality[:2], [0.6 / 0.7, 0.2 / 0.7])
    assert np.isnan(quality[2])
    assert_array_equal(issues, [False, True, False])


def test_linear_model_reproduces_the_theory():
    # The paper's section 3: with p/n near one the noisy labels are separable;
    # plain gradient descent memorizes them, ELR does not.
    train = make_early_learning_problem(1100, 1000, sigma=0.2, noise=0.4, random_state=0)
    test = make_early_learning_problem(2000, 1000, sigma=0.2, noise=0.0, random_state=1)
    final = {}
    for lam in (0.0, 3.0):
        monitor = LinearMemorizationMonitor(
            train.X, train.y, train.y_clean, test.X, test.y_clean, every=100
        )
        clf = LinearELRClassifier(
            lam=lam, alpha=0.0, solver="gd", learning_rate=0.5, batch_size=None,
            fit_intercept=False, max_iter=800, tol=None, callback=monitor,
        ).fit(train.X, train.y)  # fmt: skip
        records = [r for r in clf.history_ if "memorized" in r]
        assert [r["epoch"] for r in records] == [1, 101, 201, 301, 401, 501, 601, 701]
        final[lam] = records[-1]
        assert max(r["wrong_to_true"] for r in records) > 0.95  # early learning
    assert final[0.0]["memorized"] > 0.9 and final[0.0]["test_acc"] < 0.9
    assert final[3.0]["memorized"] < 0.05 and final[3.0]["test_acc"] > 0.99


def test_linear_history_and_label_issues(noisy_digits):
    X, _, y_noisy, wrong = noisy_digits
    clf = LinearELRClassifier(lam=3.0, random_state=0, max_iter=50, tol=None).fit(X, y_noisy)
    assert [r["epoch"] for r in clf.history_] == list(range(1, 51))
    assert_allclose([r["loss"] for r in clf.history_], clf.loss_curve_)
    flagged = clf.label_issues_
    precision = np.mean(wrong[flagged])
    recall = np.mean(flagged[wrong])
    assert precision > 0.8 and recall > 0.8, (precision, recall)
    # Low quality ranks wrong labels first.
    assert clf.label_quality_[wrong].mean() < clf.label_quality_[~wrong].mean() - 0.3


def test_callback_must_be_callable(noisy_digits):
    X, _, y, _ = noisy_digits
    with pytest.raises(ValueError, match="callback must be callable"):
        LinearELRClassifier(callback=3).fit(X, y)


def test_skorch_memorization_monitor_and_label_issues(noisy_digits):
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    from sklearn_elr import NoisyLabelClassifier
    from sklearn_elr.callbacks import MemorizationMonitor

    X, y_clean, y_noisy, wrong = noisy_digits
    X = X[:700].astype(np.float32)
    y_clean, y_noisy, wrong = y_clean[:700], y_noisy[:700], wrong[:700]
    final = {}
    for loss in ("ce", "elr"):
        net = NoisyLabelClassifier(
            loss=loss, max_epochs=40, random_state=0,
            callbacks=[("memo", MemorizationMonitor(y_clean, X_test=X, y_test=y_clean, every=5))],
        ).fit(X, y_noisy)  # fmt: skip
        records = [r for r in net.history if "memorized" in r]
        assert [r["epoch"] for r in records] == list(range(1, 41, 5))
        final[loss] = records[-1]
    assert final["elr"]["memorized"] < final["ce"]["memorized"] - 0.3
    quality, issues = net.label_quality_, net.label_issues_
    assert np.mean(issues == wrong) > 0.85
    assert quality[wrong].mean() < quality[~wrong].mean()
    # With an internal split the monitor sees only the training rows.
    split = skorch.dataset.ValidSplit(0.2, stratified=True, random_state=0)
    net = NoisyLabelClassifier(
        max_epochs=2, train_split=split, random_state=0,
        callbacks=[("memo", MemorizationMonitor(y_clean))],
    ).fit(X, y_noisy)  # fmt: skip
    assert 0 <= net.history[-1, "memorized"] <= 1
    # Rows held out by the split have no ELR target; their labels are judged
    # by the network's out-of-sample probabilities.
    held_out = net.targets_.sum(axis=1) == 0
    assert held_out.sum() == pytest.approx(140, abs=2)
    assert np.all(np.isfinite(net.label_quality_))
    proba = net.predict_proba(X[held_out])
    assert_allclose(
        net.label_quality_[held_out], proba[np.arange(len(proba)), y_noisy[held_out]], rtol=1e-6
    )
    del torch


@pytest.mark.parametrize("lam", [3.0, "auto"])
def test_memorization_monitor_on_a_dataframe_fit(noisy_digits, lam):
    # The training rows reach the monitor as an array and the test rows as
    # the user's frame: neither warns about column names (lam="auto": nor in
    # the selection's candidates), and the records are the network's own.
    import warnings

    pd = pytest.importorskip("pandas")
    pytest.importorskip("skorch")
    from sklearn_elr import NoisyLabelClassifier
    from sklearn_elr.callbacks import MemorizationMonitor

    X, y_clean, y_noisy, wrong = noisy_digits
    frame = pd.DataFrame(X[:300].astype(np.float32), columns=[f"px{i}" for i in range(64)])
    y_clean, y_noisy, wrong = y_clean[:300], y_noisy[:300], wrong[:300]
    monitor = MemorizationMonitor(y_clean, X_test=frame, y_test=y_clean)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = NoisyLabelClassifier(
            lam=lam, max_epochs=4, random_state=0, callbacks=[("memo", monitor)]
        ).fit(frame, y_noisy)
        predicted = net.predict(frame)
    if lam == "auto":  # the kept weights are those of the selected epoch
        return
    last = net.history[-1]
    assert last["test_acc"] == pytest.approx(np.mean(predicted == y_clean))
    assert last["memorized"] == pytest.approx(np.mean(predicted[wrong] == y_noisy[wrong]))


def test_plot_memorization_side_by_side():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from sklearn_elr.plotting import plot_memorization

    history = [
        {"epoch": e, "wrong_to_true": 0.5, "memorized": 0.1 * e, "clean_acc": 0.9}
        for e in range(1, 6)
    ]
    axes = plot_memorization({"CE": history, "ELR": history})
    assert [ax.get_title() for ax in axes] == ["CE", "ELR"]
    assert len(axes[0].get_lines()) == 3
    assert_allclose(axes[0].get_lines()[1].get_ydata(), [0.1, 0.2, 0.3, 0.4, 0.5])
    with pytest.raises(ValueError, match="no memorization records"):
        plot_memorization([{"epoch": 1, "loss": 0.3}])


def test_memorization_display_from_an_estimator_draws_its_records(noisy_digits):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_elr import LinearELRClassifier
    from sklearn_elr.plotting import MemorizationDisplay

    X, y, y_noisy, _ = noisy_digits
    monitor = LinearMemorizationMonitor(X, y_noisy, y, every=2)
    model = LinearELRClassifier(lam=3.0, max_iter=10, tol=None, callback=monitor).fit(X, y_noisy)
    _, ax = plt.subplots()
    display = MemorizationDisplay.from_estimator(model, ax=ax, title="ELR")
    assert display.ax_ is ax and display.figure_ is ax.figure
    records = [r for r in model.history_ if "memorized" in r]
    assert set(display.lines_) == {"wrong_to_true", "memorized", "clean_acc"}
    assert_allclose(display.lines_["memorized"].get_ydata(), [r["memorized"] for r in records])
    assert_allclose(display.lines_["memorized"].get_xdata(), [r["epoch"] for r in records])
    # Curves that coincide stay distinguishable: different styles and markers.
    styles = {(line.get_linestyle(), line.get_marker()) for line in display.lines_.values()}
    assert len(styles) == len(display.lines_)
    assert ax.get_title() == "ELR"
    plt.close("all")


def test_label_quality_display_ranks_and_marks_the_flagged_labels(noisy_digits):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_elr import LinearELRClassifier, find_label_issues
    from sklearn_elr.plotting import LabelQualityDisplay

    X, _, y_noisy, mask = noisy_digits
    model = LinearELRClassifier(lam=3.0, random_state=0).fit(X, y_noisy)
    display = LabelQualityDisplay.from_estimator(model, noise_mask=mask)
    ranked = display.line_.get_ydata()
    assert np.all(np.diff(ranked) >= 0)
    assert len(display.flagged_.get_offsets()) == model.label_issues_.sum()
    issues = find_label_issues(LinearELRClassifier(lam=3.0, random_state=0), X, y_noisy)
    again = LabelQualityDisplay.from_issues(issues)
    assert_allclose(again.line_.get_ydata(), ranked)
    with pytest.raises(ValueError, match="label_quality_"):
        from sklearn.linear_model import LogisticRegression

        LabelQualityDisplay.from_estimator(LogisticRegression().fit(X[:100], y_noisy[:100]))
    plt.close("all")
