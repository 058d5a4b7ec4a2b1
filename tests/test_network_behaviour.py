# SPDX-License-Identifier: BSD-3-Clause
"""What both network estimators owe a skorch user: callbacks, refits, seeds.

Every test runs on :class:`NoisyLabelClassifier` and :class:`ELRPlusClassifier`
alike (the ``Net`` fixture), since they share one base.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from joblib import Parallel, delayed  # noqa: E402
from skorch.callbacks import (  # noqa: E402
    Callback,
    Checkpoint,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
    ProgressBar,
)
from skorch.dataset import ValidSplit  # noqa: E402
from torch.optim.lr_scheduler import CosineAnnealingLR, StepLR  # noqa: E402

from sklearn_elr import ELRPlusClassifier, NoisyLabelClassifier  # noqa: E402

SMALL = dict(max_epochs=4, batch_size=64, module__hidden_sizes=(32,), random_state=0, lam=3.0)


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X)[:300].astype(np.float32), y[:300]


@pytest.fixture(params=[NoisyLabelClassifier, ELRPlusClassifier], ids=lambda c: c.__name__)
def Net(request):
    return request.param


def _live_networks(net):
    return [net.module_, net.module2_] if isinstance(net, ELRPlusClassifier) else [net.module_]


def _state(net):
    """Every weight and buffer of the fitted networks, as NumPy copies."""
    return [
        t.detach().cpu().numpy().copy()
        for module in _live_networks(net)
        for t in [*module.parameters(), *module.buffers()]
    ]


# -- skorch callbacks --------------------------------------------------------


def test_lr_scheduler_reaches_every_network(Net, data):
    X, y = data
    net = Net(
        **{**SMALL, "max_epochs": 3}, lr=0.02,
        callbacks=[("lr", LRScheduler(StepLR, step_size=1, gamma=0.1))],
    ).fit(X, y)  # fmt: skip
    # Every parameter of every live network is in a group at 0.02 * 0.1**3.
    trained = {id(p) for module in _live_networks(net) for p in module.parameters()}
    in_groups = {
        id(p): group["lr"] for group in net.optimizer_.param_groups for p in group["params"]
    }
    assert trained <= set(in_groups)
    assert_allclose([in_groups[i] for i in trained], 2e-5, rtol=1e-9)


def test_the_papers_sgd_recipe_runs_with_standard_callbacks(Net, data):
    # SGD, momentum 0.9, weight decay, cosine schedule (paper, appendix G).
    X, y = data
    epochs = 5
    net = Net(
        **{**SMALL, "max_epochs": epochs}, lr=0.1, optimizer=torch.optim.SGD,
        optimizer__momentum=0.9, optimizer__weight_decay=1e-3,
        callbacks=[("lr", LRScheduler(CosineAnnealingLR, T_max=epochs, eta_min=1e-4))],
    ).fit(X, y)  # fmt: skip
    groups = net.optimizer_.param_groups
    assert isinstance(net.optimizer_, torch.optim.SGD)
    assert all(g["momentum"] == 0.9 and g["weight_decay"] == 1e-3 for g in groups)
    # After T_max epochs the cosine schedule is at its floor, for both networks.
    assert_allclose([g["lr"] for g in groups], 1e-4, rtol=1e-6)
    assert all(p in net.optimizer_.state for m in _live_networks(net) for p in m.parameters())
    assert net.score(X, y) > 0.5  # ten classes: it learned


def test_on_grad_computed_sees_and_clips_every_network(Net, data):
    X, y = data

    class Recorder(Callback):
        def initialize(self):
            self.norms, self.params = [], set()
            return self

        def on_grad_computed(self, net, named_parameters, **kwargs):
            grads = [p.grad for _, p in named_parameters]
            self.params |= {id(p) for _, p in net.get_all_learnable_params()}
            self.norms.append(torch.norm(torch.stack([g.norm() for g in grads])).item())

    recorder = Recorder()
    # Clipping runs before the recorder (callbacks fire in order).
    net = Net(
        **{**SMALL, "max_epochs": 2},
        callbacks=[("clip", GradientNormClipping(1e-3)), ("record", recorder)],
    ).fit(X, y)  # fmt: skip
    n_batches = 2 * math.ceil(len(X) / SMALL["batch_size"])
    assert len(recorder.norms) == n_batches
    assert max(recorder.norms) <= 1e-3 * (1 + 1e-4)
    trained = {id(p) for module in _live_networks(net) for p in module.parameters()}
    assert recorder.params == trained


def test_early_stopping_checkpoint_and_progress_bar(Net, data, tmp_path, capsys):
    X, y = data
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor="valid_loss_best", load_best=True)
    net = Net(
        **{**SMALL, "max_epochs": 40}, lr=0.05, train_split=ValidSplit(0.25, stratified=True),
        callbacks=[
            ("stop", EarlyStopping(patience=2)), ("checkpoint", checkpoint),
            ("bar", ProgressBar()),
        ],
    ).fit(X, y)  # fmt: skip
    history = net.history
    assert len(history) < 40  # stopped early
    best = int(np.argmin(history[:, "valid_loss"]))
    assert history[best, "event_cp"] is True
    assert (tmp_path / "params.pt").exists() and (tmp_path / "optimizer.pt").exists()
    # load_best restored the checkpointed module_: its validation loss is the best one.
    saved = torch.load(tmp_path / "params.pt", weights_only=True)
    for name, tensor in net.module_.state_dict().items():
        assert torch.equal(tensor, saved[name])
    assert capsys.readouterr().err  # the progress bar wrote to stderr


# -- fits that fail leave the estimator as it was -----------------------------


def test_a_refit_that_diverges_leaves_the_fitted_estimator_as_it_was(Net, data):
    X, y = data
    net = Net(**SMALL, optimizer=torch.optim.SGD, lr=0.01).fit(X, y)
    before, proba = _state(net), net.predict_proba(X)
    history_length = len(net.history)
    net.set_params(lr=1e12)
    with pytest.raises(FloatingPointError):
        net.fit(X, y)
    assert len(net.history) == history_length
    for a, b in zip(before, _state(net)):
        assert_array_equal(a, b)
    assert_array_equal(net.predict_proba(X), proba)


def test_a_refused_refit_changes_no_fitted_attribute(Net, data):
    X, y = data
    net = Net(**SMALL).fit(X, y)
    proba = net.predict_proba(X)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        net.fit(X[:, :10], y[:-1])
    assert net.n_features_in_ == X.shape[1]
    assert_array_equal(net.predict_proba(X), proba)


def test_a_failed_partial_fit_leaves_the_weights_as_they_were(Net, data):
    X, y = data
    net = Net(**SMALL, optimizer=torch.optim.SGD, lr=0.01).fit(X, y)
    before = _state(net)
    net.set_params(lr=1e12)
    with pytest.raises(FloatingPointError):
        net.partial_fit(X, y)
    for a, b in zip(before, _state(net)):
        assert_array_equal(a, b)
    assert np.all(np.isfinite(net.predict_proba(X)))


def test_failed_first_fit_leaves_an_unfitted_estimator(Net, data):
    X, y = data
    net = Net(**SMALL, lr=1e12, optimizer=torch.optim.SGD)
    with pytest.raises(FloatingPointError):
        net.fit(X, y)
    assert not net.initialized_
    assert not hasattr(net, "classes_") or not hasattr(net, "label_encoder_")


@pytest.mark.parametrize(
    "params, name",
    [
        ({"max_epochs": 0}, "max_epochs"),
        ({"lr": float("nan")}, "lr"),
        ({"lr": float("inf")}, "lr"),
        ({"beta": float("nan")}, "beta"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_shared_parameters_are_refused_by_name_before_training(Net, data, params, name):
    X, y = data
    net = Net(**{**SMALL, **params})
    with pytest.raises(ValueError, match=name):
        net.fit(X, y)
    assert not net.initialized_


@pytest.mark.parametrize(
    "Cls, params, name",
    [
        (NoisyLabelClassifier, {"gce_q": float("nan")}, "gce_q"),
        (NoisyLabelClassifier, {"sce_alpha": float("inf")}, "sce_alpha"),
        (NoisyLabelClassifier, {"sce_beta": float("nan")}, "sce_beta"),
        (ELRPlusClassifier, {"mixup_alpha": float("nan")}, "mixup_alpha"),
        (ELRPlusClassifier, {"ema_decay": float("nan")}, "ema_decay"),
        (ELRPlusClassifier, {"ema_rampup": float("inf")}, "ema_rampup"),
        (ELRPlusClassifier, {"lam_rampup": float("nan")}, "lam_rampup"),
        (ELRPlusClassifier, {"reweight_labels": "yes"}, "reweight_labels"),
    ],
)
def test_bad_own_parameters_are_refused_by_name(Cls, params, name, data):
    X, y = data
    with pytest.raises(ValueError, match=name):
        Cls(**{**SMALL, **params}).fit(X, y)


# -- randomness ----------------------------------------------------------------


def test_fits_in_threads_are_reproducible_and_leave_the_callers_generator(Net, data):
    X, y = data
    torch.manual_seed(7)
    state = torch.get_rng_state()
    probas = Parallel(n_jobs=4, backend="threading")(
        delayed(lambda: Net(**SMALL).fit(X, y).predict_proba(X))() for _ in range(4)
    )
    for proba in probas[1:]:
        assert_array_equal(proba, probas[0])
    assert torch.equal(torch.get_rng_state(), state)


class _DropoutNet(torch.nn.Module):
    """A custom module: its init and dropout use torch's global generator."""

    def __init__(self, n_features=64, n_classes=10):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_features, 32), torch.nn.ReLU(), torch.nn.Dropout(0.3),
            torch.nn.Linear(32, n_classes),
        )  # fmt: skip

    def forward(self, X):
        return self.layers(X)


def test_custom_modules_in_threads_take_turns_with_the_global_generator(Net, data):
    X, y = data
    params = {**SMALL, "module": _DropoutNet}
    del params["module__hidden_sizes"]
    state = torch.get_rng_state()
    probas = Parallel(n_jobs=3, backend="threading")(
        delayed(lambda: Net(**params).fit(X, y).predict_proba(X))() for _ in range(3)
    )
    for proba in probas[1:]:
        assert_array_equal(proba, probas[0])
    assert torch.equal(torch.get_rng_state(), state)


# -- sample weights ------------------------------------------------------------


def test_unit_weights_are_the_unweighted_fit(Net, data):
    X, y = data
    a = Net(**SMALL).fit(X, y).predict_proba(X)
    b = Net(**SMALL).fit(X, y, sample_weight=np.ones(len(y))).predict_proba(X)
    assert_array_equal(a, b)


def test_sample_weight_weighs_the_loss_and_not_the_targets(Net, data):
    X, y = data
    weight = np.where(y < 5, 3.0, 0.5)
    # lr ~ 0: the networks do not move, so the targets only depend on them.
    still = {**SMALL, "lr": 1e-12, "max_epochs": 2}
    plain = Net(**still).fit(X, y)
    weighted = Net(**still).fit(X, y, sample_weight=weight)
    assert_allclose(weighted.targets_, plain.targets_, rtol=1e-6)
    # With training, heavy classes are learned better than in the plain fit.
    plain = Net(**{**SMALL, "max_epochs": 2}).fit(X, y)
    weighted = Net(**{**SMALL, "max_epochs": 2}).fit(X, y, sample_weight=weight)
    heavy = y < 5
    assert np.mean(weighted.predict(X[heavy]) == y[heavy]) >= np.mean(
        plain.predict(X[heavy]) == y[heavy]
    )
    assert not np.allclose(weighted.predict_proba(X), plain.predict_proba(X))


def test_bad_sample_weight_is_refused_before_training(Net, data):
    X, y = data
    net = Net(**SMALL)
    with pytest.raises(ValueError, match="sample_weight"):
        net.fit(X, y, sample_weight=np.ones(len(y) - 1))
    with pytest.raises(ValueError, match="Negative"):
        net.fit(X, y, sample_weight=-np.ones(len(y)))
    assert not net.initialized_


def test_sample_weight_reaches_lam_auto_and_the_input_is_not_modified(Net, data):
    X, y = data
    weight = np.linspace(0.5, 2.0, len(y))
    copy = weight.copy()
    net = Net(**{**SMALL, "lam": "auto", "cv": 2}).fit(X, y, sample_weight=weight)
    assert net.lam_ in (0.0, 3.0)
    assert_array_equal(weight, copy)


# -- weights-only persistence --------------------------------------------------


def test_save_params_load_params_into_a_fresh_estimator(Net, data, tmp_path):
    X, y = data
    labels = np.array(list("abcdefghij"))[y]
    net = Net(**SMALL).fit(X, labels)
    files = {"f_params": tmp_path / "module.pt"}
    if isinstance(net, ELRPlusClassifier):
        files["f_module2"] = tmp_path / "module2.pt"
    net.save_params(**files)
    fresh = Net(
        module__hidden_sizes=(32,), module__n_features=X.shape[1], module__n_classes=10,
        classes=net.classes_,
    ).initialize()  # fmt: skip
    fresh.load_params(**files)
    assert_array_equal(fresh.classes_, net.classes_)
    assert_allclose(fresh.predict_proba(X), net.predict_proba(X), rtol=1e-6)
    assert_array_equal(fresh.predict(X), net.predict(X))


def test_initialize_without_data_or_sizes_names_what_is_missing(Net):
    with pytest.raises(ValueError, match="classes"):
        Net().initialize()
    with pytest.raises(ValueError, match="module__n_features"):
        Net(module__n_classes=3).initialize()


def test_fit_never_modifies_its_inputs(Net, data):
    X, y = data
    X_, y_, w_ = X.copy(), y.copy(), np.linspace(0.5, 1.5, len(y))
    copies = [a.copy() for a in (X_, y_, w_)]
    for a in (X_, y_, w_):
        a.setflags(write=False)
    Net(**SMALL).fit(X_, y_, sample_weight=w_).predict(X_)
    for a, b in zip((X_, y_, w_), copies):
        assert_array_equal(a, b)


# -- lam="auto": one fit per candidate, callbacks, Ctrl-C, threads ------------


class _CountFits(Callback):
    """Counts fits and torch threads in class attributes: a candidate of
    lam="auto" trains with a clone of the callbacks."""

    fits = 0
    threads = set()

    @classmethod
    def reset(cls):
        cls.fits, cls.threads = 0, set()
        return cls()

    def on_train_begin(self, net, **kwargs):
        type(self).fits += 1

    def on_batch_end(self, net, **kwargs):
        type(self).threads.add(torch.get_num_threads())


def _noisy(data):
    X, y = data
    y_noisy = y.copy()
    y_noisy[::3] = (y_noisy[::3] + 1) % 10  # a third of the labels wrong
    return X, y_noisy


def test_auto_trains_each_candidate_once_and_keeps_one(Net, data):
    X, y = _noisy(data)
    counter = _CountFits.reset()
    net = Net(**{**SMALL, "lam": "auto"}, callbacks=[("count", counter)]).fit(X, y)
    assert counter.fits == 2  # one fit per candidate, no refit
    assert net.lam_ in (0.0, 3.0)
    assert net.cv_scores_.shape == (4, 2)
    # The kept network is the chosen candidate at its selected epoch: the
    # latest within one standard error (75 held-out rows) of its best so far.
    column = [0.0, 3.0].index(net.lam_)
    curve = net.cv_scores_[:, column]
    best = np.maximum.accumulate(curve)
    slack = np.maximum(np.sqrt(best * (1 - best) / 75), 1 / 75)
    assert net.n_epochs_ == np.flatnonzero(curve >= best - slack).max() + 1
    assert len(net.history) == 4 and "valid_acc" in net.history[-1]
    assert "keep_selected_epoch" not in dict(net.callbacks_)
    # Every row has a label quality; held-out rows from out-of-sample predictions.
    assert np.all(np.isfinite(net.label_quality_))
    assert net.get_params()["lam"] == "auto" and net.get_params()["train_split"] is None


def test_auto_keeps_the_chosen_candidate_at_its_selected_epoch(Net, data):
    # The kept weights are the chosen candidate's after n_epochs_ epochs:
    # that candidate trained for exactly n_epochs_ epochs on the same split,
    # from the same seed, ends with the same weights.
    from sklearn_elr._selection import holdout_split
    from sklearn_elr._torch_data import MAX_SEED, FixedSplit

    X, y = _noisy(data)
    net = Net(**{**SMALL, "lam": "auto", "max_epochs": 6}).fit(X, y)
    rng = np.random.RandomState(0)
    split = holdout_split(y, rng)  # digits labels 0..9: encoded labels are y
    seed = rng.randint(MAX_SEED)
    params = {**SMALL, "lam": net.lam_, "max_epochs": net.n_epochs_, "random_state": seed}
    again = Net(**params, train_split=FixedSplit(*split)).fit(X, y)
    for a, b in zip(_state(net), _state(again)):
        assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert_allclose(net.targets_, again.targets_, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("monitor", ["valid_loss", "valid_acc", "train_loss"])
def test_early_stopping_works_with_lam_auto(Net, data, monitor):
    X, y = _noisy(data)
    lower = monitor != "valid_acc"
    # No gain counts (threshold 10 in absolute terms): stops after 2 epochs.
    stop = EarlyStopping(
        monitor=monitor, patience=1, lower_is_better=lower, threshold=10, threshold_mode="abs"
    )
    net = Net(**{**SMALL, "lam": "auto", "max_epochs": 30}, lr=0.05,
              callbacks=[("stop", stop)]).fit(X, y)  # fmt: skip
    assert len(net.history) == 2  # stopped early
    assert net.cv_scores_.shape[1] == 2 and net.n_epochs_ <= len(net.history)


def test_early_stopping_without_validation_is_refused_before_training(Net, data):
    X, y = data
    counter = _CountFits.reset()
    net = Net(**SMALL, callbacks=[("stop", EarlyStopping()), ("count", counter)])
    with pytest.raises(ValueError, match="'stop' monitors 'valid_loss'.*no validation"):
        net.fit(X, y)
    assert counter.fits == 0
    explicit_cv = Net(**{**SMALL, "lam": "auto"}, cv=2, callbacks=[("stop", EarlyStopping())])
    with pytest.raises(ValueError, match="no validation"):
        explicit_cv.fit(X, y)


class _CtrlCModule(torch.nn.Module):
    """Raises KeyboardInterrupt in its forward after ``after`` calls (a Ctrl-C)."""

    calls = 0

    def __init__(self, after=10):
        super().__init__()
        self.after = after
        self.linear = torch.nn.Linear(64, 10)

    def forward(self, X):
        type(self).calls += 1
        if type(self).calls == self.after:
            raise KeyboardInterrupt
        return self.linear(X)


def test_ctrl_c_during_selection_raises_and_leaves_the_estimator(Net, data):
    X, y = data
    _CtrlCModule.calls = 0
    net = Net(module=_CtrlCModule, **{**SMALL, "lam": "auto"})
    del net.module__hidden_sizes
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y)
    assert not hasattr(net, "lam_") and not net.initialized_


def test_torch_threads_during_fit_and_restored_after(Net, data):
    X, y = data
    before = torch.get_num_threads()
    counter = _CountFits.reset()
    Net(**SMALL, device="cpu", callbacks=[("count", counter)]).fit(X, y)
    assert counter.threads == {1}  # a small network on the CPU: one thread by default
    assert torch.get_num_threads() == before
    counter = _CountFits.reset()
    Net(**SMALL, torch_threads=None, callbacks=[("count", counter)]).fit(X, y)
    assert counter.threads == {before}
    with pytest.raises(ValueError, match="torch_threads"):
        Net(**SMALL, torch_threads=0).fit(X, y)


def test_verbose_auto_says_what_it_trains_and_what_it_chose(Net, data, capsys):
    X, y = _noisy(data)
    Net(**{**SMALL, "lam": "auto"}, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "Choosing lam among (0.0, 3.0) on 75 held-out rows: 2 fits of 4 epochs." in out
    assert "Chose lam=" in out and "held-out accuracy" in out


@pytest.mark.parametrize("y", [[0, 0, 1, 1], [0, 1, 1, 1, 1, 1, 1, 1]])
def test_tiny_tables_fit(Net, y):
    X = np.random.RandomState(0).normal(size=(len(y), 3)).astype(np.float32)
    net = Net(max_epochs=2, random_state=0).fit(X, y)
    assert net.lam_ == 3.0 and not hasattr(net, "cv_scores_")
    assert_allclose(net.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)


def test_choose_paired_keeps_the_largest_lam_unless_a_smaller_one_wins_clearly():
    from sklearn_elr._selection import choose_paired

    rng = np.random.RandomState(0)
    both = rng.rand(200) < 0.7
    # No disagreement: no evidence, the largest λ.
    assert choose_paired([both, both]) == 1
    # Wins minus losses against the largest λ must reach sqrt(wins + losses).
    for wins, losses, expected in [
        (3, 0, 0),
        (1, 0, 0),
        (2, 1, 1),
        (6, 2, 0),
        (5, 2, 0),
        (4, 3, 1),
        (0, 4, 1),
    ]:
        smaller, larger = both.copy(), both.copy()
        rows = np.flatnonzero(both)[: wins + losses]
        smaller[rows[wins:]] = False  # the smaller λ misses these: losses
        larger[rows[:wins]] = False  # the larger λ misses these: wins
        assert choose_paired([smaller, larger]) == expected, (wins, losses)
    # Of several smaller winners, the largest margin.
    a, b, c = both.copy(), both.copy(), both.copy()
    c[np.flatnonzero(both)[:9]] = False
    b[np.flatnonzero(both)[:3]] = False
    assert choose_paired([a, b, c]) == 0


def test_skorch_compile_trains_the_same_model(Net, data):
    # skorch's compile=True wraps module and criterion in torch.compile; the
    # targets stay reachable and the dropout masks come from the same seeds.
    X, y = data
    params = {**SMALL, "max_epochs": 2}
    eager = Net(**params).fit(X, y)
    compiled = Net(**params, compile=True, compile__backend="aot_eager").fit(X, y)
    assert_allclose(compiled.targets_, eager.targets_, rtol=1e-4, atol=1e-6)
    assert_allclose(compiled.predict_proba(X), eager.predict_proba(X), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("change", ["rows", "features", "classes"])
def test_a_warm_start_on_other_data_is_refused_and_changes_nothing(Net, data, change):
    X, y = data
    net = Net(**SMALL, warm_start=True).fit(X, y)
    weights, targets = _state(net), net.targets_.copy()
    other = {
        "rows": (X[:200], y[:200]),
        "features": (X[:, :40], y),
        "classes": (X, np.where(y == 9, 8, y)),
    }[change]
    with pytest.raises(ValueError, match="warm_start=True continues training"):
        net.fit(*other)
    for before, after in zip(weights, _state(net)):
        assert_array_equal(before, after)
    assert_array_equal(net.targets_, targets)
    net.fit(X, y)  # the same data continues training
    assert any((a != b).any() for a, b in zip(weights, _state(net)))


def test_valid_acc_takes_another_scoring(Net, data):
    # The default valid_acc calls its function directly; a scoring set by
    # name still goes through skorch and scikit-learn, to the same accuracy.
    X, y = data
    split = ValidSplit(4, stratified=True)
    default = Net(**SMALL, train_split=split).fit(X, y)
    named = Net(**SMALL, train_split=split, callbacks__valid_acc__scoring="accuracy").fit(X, y)
    assert_allclose(named.history[:, "valid_acc"], default.history[:, "valid_acc"])
