# SPDX-License-Identifier: BSD-3-Clause
"""The device-resident batches (``data_on_device``) against the DataLoader path.

The two paths draw the same batches in the same order, so on one device they
train the same model: the tests hold them equal exactly on the CPU (and on
CUDA where there is one), then check what the device path changes: batch
losses fetched once per epoch, the NaN guard at epoch end, the fallbacks.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from _network_checks import assert_same_fit, fitted_state, host_synchronisations  # noqa: E402
from skorch.callbacks import Callback, LRScheduler  # noqa: E402
from skorch.dataset import ValidSplit  # noqa: E402

from sklearn_elr import ELRPlusClassifier, NoisyLabelClassifier  # noqa: E402
from sklearn_elr._torch_data import DeviceBatches  # noqa: E402

SMALL = dict(max_epochs=3, batch_size=50, module__hidden_sizes=(16,), random_state=0, lam=3.0)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:230].astype(np.float32), y[:230]  # 230 rows: a short tail batch


@pytest.fixture(params=[NoisyLabelClassifier, ELRPlusClassifier], ids=lambda c: c.__name__)
def Net(request):
    return request.param


@pytest.mark.parametrize(
    "case",
    [
        {},
        {"weighted": True},
        {"train_split": ValidSplit(4, stratified=True)},
        {"lam": "auto"},  # candidates on a stratified hold-out (FixedSplit)
        {"iterator_train__drop_last": True},
        {"iterator_train__shuffle": False},
    ],
    ids=["plain", "sample_weight", "train_split", "lam_auto", "drop_last", "no_shuffle"],
)
def test_device_batches_train_the_same_model_as_the_dataloader(Net, data, case):
    X, y = data
    case = dict(case)
    fit_kwargs = {}
    if case.pop("weighted", False):
        fit_kwargs["sample_weight"] = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    params = {**SMALL, **case}
    on = Net(data_on_device=True, **params).fit(X, y, **fit_kwargs)
    off = Net(data_on_device=False, **params).fit(X, y, **fit_kwargs)
    assert_same_fit(on, off)
    # and partial_fit continues both the same way
    assert_same_fit(on.partial_fit(X, y, **fit_kwargs), off.partial_fit(X, y, **fit_kwargs))


def test_the_default_fit_uses_device_batches(data):
    X, y = data
    seen = []

    class Spy(Callback):
        def on_epoch_begin(self, net, dataset_train=None, **kwargs):
            seen.append(type(net.get_iterator(dataset_train, training=True)))

    NoisyLabelClassifier(**SMALL, callbacks=[Spy()]).fit(X, y)
    assert seen and all(kind is DeviceBatches for kind in seen)
    seen.clear()
    NoisyLabelClassifier(**SMALL, callbacks=[Spy()], iterator_train__num_workers=0).fit(X, y)
    assert all(kind is DeviceBatches for kind in seen)  # a default value is no setting


def test_batch_losses_are_floats_each_matching_its_batch(Net, data):
    X, y = data
    net = Net(**SMALL).fit(X, y)
    for epoch in net.history:
        losses = [b["train_loss"] for b in epoch["batches"]]
        assert all(type(loss) is float for loss in losses)
        sizes = [b["train_batch_size"] for b in epoch["batches"]]
        assert sizes == [50, 50, 50, 50, 30]
        # skorch's epoch train_loss is the size-weighted mean of the batches'
        assert epoch["train_loss"] == pytest.approx(np.average(losses, weights=sizes))


class _ReadsBatchLoss(Callback):
    """A user's callback that reads each batch's loss as it ends."""

    def on_train_begin(self, net, **kwargs):
        self.types = []

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.types.append(type(net.history[-1, "batches", -1, "train_loss"]))


@pytest.mark.parametrize(
    "callback",
    [_ReadsBatchLoss(), LRScheduler("StepLR", step_size=2, step_every="batch")],
    ids=["user", "lr_per_batch"],
)
def test_callbacks_reading_batch_losses_see_floats_during_the_epoch(Net, data, callback):
    X, y = data
    on = Net(**SMALL, callbacks=[callback]).fit(X, y)
    off = Net(**SMALL, callbacks=[callback], data_on_device=False).fit(X, y)
    if isinstance(callback, _ReadsBatchLoss):
        assert callback.types and set(callback.types) == {float}
    assert_same_fit(on, off)


def test_nan_guard_runs_at_epoch_end_and_undoes_the_fit(Net, data):
    X, y = data
    net = Net(**SMALL).fit(X, y)
    before = fitted_state(net)
    with pytest.raises(FloatingPointError, match="training loss became nan in epoch 1"):
        net.set_params(lr=1e30).fit(X * 1e30, y)
    weights, targets, batches = before
    assert_array_equal(net.targets_, targets)
    assert [sorted(b.items()) for e in net.history for b in e["batches"]] == batches


def test_data_on_device_true_refuses_what_it_cannot_serve(data):
    X, y = data
    net = NoisyLabelClassifier(**SMALL, data_on_device=True, iterator_train__num_workers=1)
    with pytest.raises(
        ValueError, match=r"data_on_device=True but iterator settings \['num_workers'\]"
    ):
        net.fit(X, y)
    with pytest.raises(ValueError, match="data_on_device must be 'auto', True or False"):
        NoisyLabelClassifier(**SMALL, data_on_device="yes").fit(X, y)
    # "auto" falls back to the DataLoader with workers and trains the same model
    auto = NoisyLabelClassifier(**SMALL, iterator_train__num_workers=1).fit(X, y)
    assert_same_fit(auto, NoisyLabelClassifier(**SMALL, data_on_device=False).fit(X, y))


def test_device_defaults_to_auto(Net):
    assert Net().get_params()["device"] == "auto"
    assert Net().device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_fused_adam_only_where_it_runs(Net, data):
    X, y = data
    net = Net(**SMALL).fit(X, y)
    assert not net.optimizer_.defaults.get("fused")  # CPU: torch's default Adam
    chosen = Net(**SMALL, optimizer__foreach=False).fit(X, y)
    assert chosen.optimizer_.defaults["foreach"] is False


# -- CUDA -------------------------------------------------------------------


@CUDA
def test_cuda_device_batches_train_the_same_model_as_the_dataloader(Net, data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the defaults warn of nothing on CUDA either
        on = Net(**SMALL, device="cuda", data_on_device=True).fit(X, y)
    off = Net(**SMALL, device="cuda", data_on_device=False).fit(X, y)
    assert on.optimizer_.defaults["fused"] is True
    for wa, wb in zip(fitted_state(on)[0], fitted_state(off)[0]):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)


@CUDA
def test_cuda_synchronisations_do_not_grow_with_the_batches(Net, data):
    """Zero host synchronisations per batch: an epoch of 16 batches does not
    synchronise more often than one of 4 (the losses are fetched once, at its
    end; an H200 counted 6 and 5)."""
    X, y = data
    counts = []
    for batch_size in (64, 16):
        # The eager step (the graphed one: tests/test_step_graph.py).
        params = {**SMALL, "batch_size": batch_size, "max_epochs": 1, "cuda_graph": False}
        net = Net(**params, device="cuda").fit(X, y)  # then one more epoch, watched
        counts.append(host_synchronisations(net.partial_fit, X, y))
    # 12 more batches: per-batch synchronisations would add 12 or more
    assert counts[1] <= counts[0] + 1, counts
