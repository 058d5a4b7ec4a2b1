# SPDX-License-Identifier: BSD-3-Clause
"""ELRPlusClassifier: two networks, weight averaging, mixup."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn_elr import ELRPlusClassifier  # noqa: E402
from sklearn_elr._elr_torch import ema_update, sigmoid_rampup  # noqa: E402

EPOCHS = 6
SMALL = dict(max_epochs=EPOCHS, batch_size=64, module__hidden_sizes=(32,), random_state=0, lam=3.0)


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X)[:400], y[:400]


def test_predictions_average_the_two_live_networks(data):
    X, y = data
    labels = np.array(list("abcdefghij"))[y]
    net = ELRPlusClassifier(**SMALL).fit(X, labels)
    proba = net.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    x = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        net.module_.eval(), net.module2_.eval()
        mean_logits = (net.module_(x) + net.module2_(x)) / 2
    assert_allclose(proba, torch.softmax(mean_logits, 1).numpy(), rtol=1e-5, atol=1e-7)
    assert_array_equal(net.predict(X), net.classes_[proba.argmax(axis=1)])
    assert net.score(X, labels) > 0.7


def test_each_network_has_targets_updated_once_per_epoch(data):
    X, y = data
    net = ELRPlusClassifier(**SMALL, beta=0.5).fit(X, y)
    targets = net.targets_
    assert targets.shape == (2, len(X), 10)
    # Both networks saw every row once per epoch (same rows, same labels).
    assert_allclose(targets.sum(axis=2), 1 - 0.5**EPOCHS, rtol=1e-5)
    # Each network's targets come from the *other* network's average.
    assert not np.allclose(targets[0], targets[1])


def test_networks_start_different_and_refits_reproduce(data):
    X, y = data
    net = ELRPlusClassifier(**{**SMALL, "max_epochs": 1}, lr=1e-12).fit(X, y)
    w1 = next(net.module_.parameters()).detach().numpy()
    w2 = next(net.module2_.parameters()).detach().numpy()
    assert not np.allclose(w1, w2)
    a = ELRPlusClassifier(**SMALL).fit(X, y).predict_proba(X)
    b = ELRPlusClassifier(**SMALL).fit(X, y).predict_proba(X)
    assert_array_equal(a, b)


def test_without_weight_averaging_the_average_is_the_live_network(data):
    X, y = data
    net = ELRPlusClassifier(**SMALL, ema_decay=0.0).fit(X, y)
    for live, average in [(net.module_, net.ema_), (net.module2_, net.ema2_)]:
        for p, q in zip(live.parameters(), average.parameters()):
            assert_array_equal(p.detach().numpy(), q.numpy())
            assert not q.requires_grad
    # One optimizer holds both live networks, never the averages.
    optimized = {id(p) for g in net.optimizer_.param_groups for p in g["params"]}
    live = [*net.module_.parameters(), *net.module2_.parameters()]
    assert optimized == {id(p) for p in live}


@pytest.mark.parametrize("params", [dict(n_networks=1), dict(mixup=False)])
def test_ablations_train(data, params):
    X, y = data
    net = ELRPlusClassifier(**SMALL, **params).fit(X, y)
    assert net.targets_.shape[0] == params.get("n_networks", 2)
    assert net.score(X, y) > 0.5


def test_ema_update_averages_parameters_and_copies_batchnorm_buffers():
    live = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    average = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    live(torch.randn(8, 3))  # moves live's running statistics
    before = [p.detach().clone() for p in average.parameters()]
    ema_update(average, live, 0.9)
    for old, new, p in zip(before, average.parameters(), live.parameters()):
        assert_allclose(new.detach(), 0.9 * old + 0.1 * p.detach(), rtol=1e-6)
    assert_allclose(average[1].running_mean, live[1].running_mean)


def test_sigmoid_rampup_matches_the_paper():
    assert sigmoid_rampup(0, 10) == pytest.approx(np.exp(-5))
    assert sigmoid_rampup(5, 10) == pytest.approx(np.exp(-5 * 0.25))
    assert sigmoid_rampup(10, 10) == sigmoid_rampup(50, 10) == 1.0
    assert sigmoid_rampup(0, 0) == 1.0


@pytest.mark.parametrize(
    "params, match",
    [
        ({"mixup_alpha": 0.0}, "mixup_alpha == 0.0, must be > 0"),
        ({"mixup_alpha": -1.0}, "mixup_alpha == -1.0, must be > 0"),
        ({"ema_decay": 1.0}, "ema_decay == 1.0, must be < 1"),
        ({"ema_decay": -0.1}, "ema_decay == -0.1, must be >= 0"),
        ({"n_networks": 3}, "n_networks == 3, must be <= 2"),
        ({"lam": -1.0}, "lam == -1.0, must be >= 0"),
        ({"beta": 1.0}, "beta == 1.0, must be < 1"),
        ({"ema_rampup": -1}, "ema_rampup == -1, must be >= 0"),
    ],
)
def test_bad_parameters(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        ELRPlusClassifier(**params).fit(X, y)


def test_bad_input(data):
    X, y = data
    X_nan = X.copy()
    X_nan[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ELRPlusClassifier(**SMALL).fit(X_nan, y)
    net = ELRPlusClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        net.predict(X[:, :5])


def test_grid_search_clone_pickle_and_validation_split(data):
    skorch = pytest.importorskip("skorch")
    X, y = data
    search = GridSearchCV(
        ELRPlusClassifier(**{**SMALL, "max_epochs": 2}), {"lam": [1.0, 3.0], "beta": [0.7]},
        cv=2,
    )  # fmt: skip
    search.fit(X, y)
    fitted = search.best_estimator_
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.predict(X), fitted.predict(X))
    assert not clone(fitted).initialized_
    split = skorch.dataset.ValidSplit(0.25, stratified=True, random_state=0)
    net = ELRPlusClassifier(**SMALL, train_split=split).fit(X, y)
    held_out = net.targets_[0].sum(axis=1) == 0
    assert held_out.sum() == pytest.approx(100, abs=2)
    assert 0.3 < net.history[-1, "valid_acc"] <= 1


def test_auto_lam_selects_with_the_same_rule(data):
    X, y = data
    net = ELRPlusClassifier(**{**SMALL, "lam": "auto", "cv": 2}).fit(X, y)
    assert net.lam_ in (0.0, 3.0)
    assert net.cv_scores_.shape == (EPOCHS, 2)
    assert 1 <= len(net.history) <= EPOCHS


def test_reweight_labels_option_trains_and_changes_the_loss(data):
    X, y = data
    a = ELRPlusClassifier(**SMALL, mixup=True).fit(X, y)
    b = ELRPlusClassifier(**SMALL, mixup=True, reweight_labels=True).fit(X, y)
    assert b.score(X, y) > 0.7
    assert not np.allclose(a.predict_proba(X), b.predict_proba(X))
    # Without mixup it would change nothing: refused by name.
    with pytest.raises(ValueError, match="reweight_labels=True changes nothing without mixup"):
        ELRPlusClassifier(**SMALL, reweight_labels=True).fit(X, y)


class Flatten(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(64, 10)

    def forward(self, x):
        return self.linear(x.flatten(1))


def test_mixup_auto_mixes_images_not_tables(data):
    X, y = data
    params = {**SMALL, "max_epochs": 2}
    tables = ELRPlusClassifier(**params).fit(X, y)
    assert tables.mixup_ is False and tables.mix_rng_ is None
    assert ELRPlusClassifier(**params, mixup=True).fit(X, y).mixup_ is True
    del params["module__hidden_sizes"]
    images = X.reshape(-1, 1, 8, 8).astype(np.float32)
    assert ELRPlusClassifier(Flatten, **params).fit(images, y).mixup_ is True
    assert ELRPlusClassifier(Flatten, **params, mixup=False).fit(images, y).mixup_ is False


def test_auto_lam_compares_elr_plus_with_the_plain_network_of_noisy_label_classifier(data):
    # lam="auto"'s λ=0 candidate is plain training: the same network, batches
    # and held-out scores as NoisyLabelClassifier's λ=0 candidate (one
    # network, cross-entropy, no mixup), at a third of an ELR+ candidate's cost.
    from sklearn_elr import NoisyLabelClassifier

    X, y = data
    params = {**SMALL, "lam": "auto"}
    for cv in ("auto", 2):
        plus = ELRPlusClassifier(**params, cv=cv).fit(X, y)
        plain = NoisyLabelClassifier(**params, cv=cv).fit(X, y)
        assert_array_equal(plus.cv_scores_[:, 0], plain.cv_scores_[:, 0])
        assert not np.array_equal(plus.cv_scores_[:, 1], plain.cv_scores_[:, 1])


def test_when_auto_keeps_the_plain_candidate_the_fit_is_that_one_network(data, monkeypatch):
    import sklearn_elr._network as network

    X, y = data
    params = {**SMALL, "lam": "auto"}
    elr_plus = ELRPlusClassifier(**params).fit(X, y)
    monkeypatch.setattr(network, "choose_paired", lambda correct: 0)  # the plain one wins
    net = ELRPlusClassifier(**params).fit(X, y)
    assert net.lam_ == 0.0
    assert net.targets_.shape == (1, len(X), 10)
    assert not any(hasattr(net, name) for name in ("module2_", "ema_", "ema2_"))
    x = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        net.module_.eval()
        expected = torch.softmax(net.module_(x), 1).numpy()
    assert_allclose(net.predict_proba(X), expected, rtol=1e-5, atol=1e-7)
    restored = pickle.loads(pickle.dumps(net))
    assert_array_equal(restored.predict(X), net.predict(X))
    n_params = sum(p.numel() for p in net.module_.parameters())
    net.partial_fit(X, y)  # continues the one network
    assert sum(p.numel() for group in net.optimizer_.param_groups for p in group["params"]) == (
        n_params
    )
    # A refit that keeps ELR+ builds its two networks and averages again,
    # and trains only those: nothing of the plain fit is left behind.
    monkeypatch.setattr(network, "choose_paired", lambda correct: len(correct) - 1)
    net.fit(X, y)
    assert net.lam_ == 3.0 and net.targets_.shape == (2, len(X), 10)
    assert_allclose(net.predict_proba(X), elr_plus.predict_proba(X), rtol=1e-5, atol=1e-7)
    trained = {id(p) for group in net.optimizer_.param_groups for p in group["params"]}
    assert trained == {id(p) for m in (net.module_, net.module2_) for p in m.parameters()}
