# SPDX-License-Identifier: BSD-3-Clause
"""The training step captured in a CUDA graph (``cuda_graph``).

A replayed graph runs the kernels its capture recorded, so the graphed fit
must train the model the eager fit trains. On the CPU the capture and the
replay are stood in for by the eager step run on the graph's own static
index (``host_graph``): that holds everything around the graph exactly
equal (which batches replay, the index copies, the warm-up, the eager tail
batch, the per-batch loss records, a fresh capture when the learning rate
changes). The CUDA tests check the real graph where there is a GPU.
"""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from _network_checks import assert_same_fit, fitted_state, host_synchronisations  # noqa: E402
from skorch.callbacks import (  # noqa: E402
    BatchScoring,
    Callback,
    EarlyStopping,
    EpochScoring,
    GradientNormClipping,
    LRScheduler,
)

from sklearn_elr import ELRPlusClassifier, NoisyLabelClassifier, _step_graph  # noqa: E402
from sklearn_elr.callbacks import MemorizationMonitor, graph_unsafe_callback  # noqa: E402

SMALL = dict(max_epochs=3, batch_size=50, module__hidden_sizes=(16,), random_state=0, lam=3.0)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:230].astype(np.float32), y[:230]  # 4 batches of 50 and a tail of 30


@pytest.fixture
def host_graph(monkeypatch):
    """Graphs on the CPU: the capture records the step, each replay runs it.

    Returns the list of (captures, replays) counts, one entry per StepGraph.
    """
    counts = []

    def capture(self):
        self.graph = "host"
        counts[-1][0] += 1

    def replay(self):
        self.batch, self.out = self._run(self.index)  # reads the static index
        counts[-1][1] += 1

    def warmup(self, index):
        return self._run(index)

    init = _step_graph.StepGraph.__init__

    def tracked_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        counts.append([0, 0])

    monkeypatch.setattr(_step_graph, "_device_obstacle", lambda net: None)
    monkeypatch.setattr(_step_graph.StepGraph, "__init__", tracked_init)
    monkeypatch.setattr(_step_graph.StepGraph, "_capture", capture)
    monkeypatch.setattr(_step_graph.StepGraph, "_replay", replay)
    monkeypatch.setattr(_step_graph.StepGraph, "_warmup", warmup)
    return counts


@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "sample_weight"])
def test_graphed_steps_train_the_eager_model(host_graph, data, weighted):
    X, y = data
    fit_kwargs = {}
    if weighted:
        fit_kwargs["sample_weight"] = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    graphed = NoisyLabelClassifier(**SMALL, cuda_graph=True).fit(X, y, **fit_kwargs)
    eager = NoisyLabelClassifier(**SMALL, cuda_graph=False).fit(X, y, **fit_kwargs)
    assert_same_fit(graphed, eager)
    # 3 epochs of 4 full batches: 3 warm-up steps, then one capture and 9
    # replays; the 3 tail batches ran eagerly.
    assert host_graph == [[1, 9]]
    # partial_fit captures afresh (a graph lives for one fit_loop)
    assert_same_fit(graphed.partial_fit(X, y, **fit_kwargs), eager.partial_fit(X, y, **fit_kwargs))
    assert host_graph[-1] == [1, 9]
    assert "_step_graph_" not in vars(graphed)


def test_graphed_selection_trains_the_eager_candidates(host_graph, data):
    X, y = data
    params = {**SMALL, "lam": "auto", "max_epochs": 4}
    graphed = NoisyLabelClassifier(**params).fit(X, y)
    eager = NoisyLabelClassifier(**params, cuda_graph=False).fit(X, y)
    assert graphed.lam_ == eager.lam_
    assert_array_equal(graphed.cv_scores_, eager.cv_scores_)
    assert_same_fit(graphed, eager)
    assert len(host_graph) >= 2 and all(replays > 0 for _, replays in host_graph)


def test_a_changed_learning_rate_is_captured_again(host_graph, data):
    """A captured step holds the learning rate as a constant: an epoch-level
    change (skorch's LRScheduler steps per epoch) must reach the graph."""
    X, y = data

    class Halve(Callback):
        def on_epoch_end(self, net, **kwargs):
            for group in net.optimizer_.param_groups:
                group["lr"] /= 2

    graphed = NoisyLabelClassifier(**SMALL, callbacks=[Halve()]).fit(X, y)
    eager = NoisyLabelClassifier(**SMALL, callbacks=[Halve()], cuda_graph=False).fit(X, y)
    assert_same_fit(graphed, eager)
    assert len(host_graph) == 3  # one graph per learning rate


def test_a_step_that_cannot_be_captured_runs_eagerly(host_graph, data, monkeypatch):
    """A module that needs the host mid-step fails its capture: "auto" goes on
    eagerly (capturing records, it runs nothing), True says why."""
    X, y = data

    def refuse(self):
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(_step_graph.StepGraph, "_capture", refuse)
    graphed = NoisyLabelClassifier(**SMALL).fit(X, y)
    assert_same_fit(graphed, NoisyLabelClassifier(**SMALL, cuda_graph=False).fit(X, y))
    with pytest.raises(RuntimeError, match="cuda_graph=True but the training step cannot be"):
        NoisyLabelClassifier(**SMALL, cuda_graph=True).fit(X, y)


@pytest.mark.parametrize(
    "callback, name",
    [
        (
            LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=5, step_every="batch"),
            "LRScheduler",
        ),  # fmt: skip
        (GradientNormClipping(1.0), "GradientNormClipping"),
        (BatchScoring("accuracy", on_train=True), "BatchScoring"),
        (EpochScoring("accuracy", on_train=True), "EpochScoring"),
    ],
)
def test_per_batch_callbacks_keep_the_eager_step(host_graph, data, callback, name):
    X, y = data
    net = NoisyLabelClassifier(**SMALL, callbacks=[callback]).fit(X, y)
    assert host_graph == []  # "auto": eager, and trained
    assert np.isfinite(net.history[-1, "train_loss"])
    with pytest.raises(ValueError, match=f"cuda_graph=True but the callback '{name}' works"):
        NoisyLabelClassifier(**SMALL, callbacks=[callback], cuda_graph=True).fit(X, y)


def test_epoch_level_callbacks_allow_the_graph():
    net = NoisyLabelClassifier(
        callbacks=[
            EarlyStopping(monitor="train_loss"),
            EpochScoring("accuracy"),
            MemorizationMonitor(np.zeros(2)),
        ],  # fmt: skip
    ).initialize_callbacks()
    assert graph_unsafe_callback(net.callbacks_, net.verbose) is None
    verbose = NoisyLabelClassifier(verbose=1).initialize_callbacks()
    assert graph_unsafe_callback(verbose.callbacks_, verbose.verbose) == "progress_bar"


def test_cuda_graph_parameter_is_checked(data):
    X, y = data
    with pytest.raises(ValueError, match="cuda_graph must be 'auto', True or False"):
        NoisyLabelClassifier(**SMALL, cuda_graph="yes").fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda_graph=True but it needs a CUDA device"):
            NoisyLabelClassifier(**SMALL, cuda_graph=True).fit(X, y)
    with pytest.raises(ValueError, match="cuda_graph=True but the training rows are not on"):
        NoisyLabelClassifier(**SMALL, cuda_graph=True, data_on_device=False).fit(X, y)


def test_elr_plus_refuses_a_graph_by_name(host_graph, data):
    X, y = data
    net = ELRPlusClassifier(**SMALL).fit(X, y)
    assert host_graph == [] and net.history[-1, "epoch"] == SMALL["max_epochs"]
    with pytest.raises(ValueError, match="ELRPlusClassifier draws host-side randomness"):
        ELRPlusClassifier(**SMALL, cuda_graph=True).fit(X, y)


# -- CUDA -------------------------------------------------------------------


@CUDA
def test_cuda_graph_trains_the_eager_model(data):
    """The real graph: without dropout the graphed and eager fits agree to
    float rounding (the kernels are the same; their order on the stream is)."""
    X, y = data
    params = {**SMALL, "device": "cuda", "module__dropout": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. autograd's stream-mismatch warning
        graphed = NoisyLabelClassifier(**params, cuda_graph=True).fit(X, y)
    eager = NoisyLabelClassifier(**params, cuda_graph=False).fit(X, y)
    for wa, wb in zip(fitted_state(graphed)[0], fitted_state(eager)[0]):
        assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)
    assert_allclose(graphed.targets_, eager.targets_, rtol=1e-4, atol=1e-5)
    losses = graphed.history[:, "batches", :, "train_loss"]
    assert_allclose(losses, eager.history[:, "batches", :, "train_loss"], rtol=1e-4)
    # capturable only during the capture: an unpickled copy's eager steps
    # would otherwise warn that it slows them down
    assert not graphed.optimizer_.param_groups[0]["capturable"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(graphed)).partial_fit(X, y)


@CUDA
def test_cuda_graph_with_dropout_learns(noisy_digits):
    """With dropout the masks come from other draws; the network learns as well."""
    X, y, y_noisy, _ = noisy_digits
    train, test = np.arange(len(y)) % 4 != 0, np.arange(len(y)) % 4 == 0
    params = dict(lam=3.0, device="cuda", max_epochs=30, random_state=0, batch_size=64)
    graphed = NoisyLabelClassifier(**params, cuda_graph=True).fit(X[train], y_noisy[train])
    eager = NoisyLabelClassifier(**params, cuda_graph=False).fit(X[train], y_noisy[train])
    assert graphed.score(X[test], y[test]) >= eager.score(X[test], y[test]) - 0.02
    # each replay drew fresh dropout masks: the batch losses all differ
    losses = np.ravel(graphed.history[-1, "batches", :, "train_loss"])
    assert len(np.unique(losses)) == len(losses)


@CUDA
def test_cuda_graph_synchronises_once_per_epoch_at_most(data):
    X, y = data
    counts = []
    for batch_size in (64, 16):  # 3 and 14 full batches an epoch
        net = NoisyLabelClassifier(**{**SMALL, "batch_size": batch_size}, device="cuda")
        net.fit(X, y)
        counts.append(host_synchronisations(net.partial_fit, X, y))
    # 11 more batches per epoch, 3 epochs: per-batch syncs would add 33
    assert counts[1] <= counts[0] + 3, counts
