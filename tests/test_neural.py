# SPDX-License-Identifier: BSD-3-Clause
"""NoisyLabelClassifier: the skorch ELR network."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from sklearn_elr import NoisyLabelClassifier  # noqa: E402

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
EPOCHS = 10
SMALL = dict(max_epochs=EPOCHS, batch_size=32, module__hidden_sizes=(64,), random_state=0, lam=3.0)


@pytest.fixture(scope="module")
def data(request):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:600]
    return X, y[:600]


def test_fit_predict_with_string_labels(data):
    X, y = data
    labels = np.array([f"digit-{d}" for d in range(10)])[y]
    net = NoisyLabelClassifier(**SMALL).fit(X, labels)
    assert_array_equal(net.classes_, np.sort(np.unique(labels)))
    proba = net.predict_proba(X)
    assert proba.shape == (len(X), 10) and proba.dtype == np.float64
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(net.predict(X), net.classes_[proba.argmax(axis=1)])
    assert net.score(X, labels) > 0.8


def test_targets_are_updated_once_per_epoch_per_row(data):
    X, y = data
    net = NoisyLabelClassifier(**SMALL, beta=0.6).fit(X, y)
    targets = net.targets_
    assert targets.shape == (len(X), 10)
    assert_allclose(targets.sum(axis=1), 1 - 0.6**EPOCHS, rtol=1e-5)


def test_validation_split_rows_keep_zero_targets(data):
    # The buffer is indexed by position in the X given to fit, so the rows
    # skorch holds out for validation are never updated.
    X, y = data
    split = skorch.dataset.ValidSplit(0.25, stratified=True, random_state=0)
    net = NoisyLabelClassifier(**SMALL, train_split=split).fit(X, y)
    mass = net.targets_.sum(axis=1)
    held_out = mass == 0
    assert held_out.sum() == pytest.approx(0.25 * len(X), abs=2)
    assert_allclose(mass[~held_out], 1 - 0.7**EPOCHS, rtol=1e-5)
    assert 0 <= net.history[-1, "valid_acc"] <= 1
    assert net.history[-1, "valid_acc"] > 0.5  # scored on encoded labels


def test_refit_recreates_the_buffer_and_random_state_reproduces(data):
    X, y = data
    net = NoisyLabelClassifier(**SMALL)
    first = net.fit(X, y).predict_proba(X)
    first_targets = net.targets_
    second = net.fit(X, y).predict_proba(X)
    assert_array_equal(first, second)
    assert_array_equal(first_targets, net.targets_)
    other = NoisyLabelClassifier(**{**SMALL, "random_state": 1}).fit(X, y).predict_proba(X)
    assert not np.array_equal(first, other)


def test_fit_leaves_the_global_torch_generator_alone(data):
    X, y = data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    NoisyLabelClassifier(**SMALL).fit(X, y)
    assert_array_equal(torch.rand(3), expected)


@pytest.mark.parametrize("loss", ["ce", "gce", "sce"])
def test_baseline_losses_train_and_have_no_targets(data, loss):
    X, y = data
    net = NoisyLabelClassifier(**SMALL, loss=loss).fit(X, y)
    assert net.score(X, y) > 0.5
    with pytest.raises(AttributeError, match="loss='elr' only"):
        _ = net.targets_


def test_elr_memorizes_fewer_noisy_labels_than_ce(data):
    X, y = data
    rng = np.random.RandomState(0)
    y_noisy = y.copy()
    wrong = rng.rand(len(y)) < 0.4
    y_noisy[wrong] = (y[wrong] + rng.randint(1, 10, wrong.sum())) % 10
    # lam="auto" as by default; 3 folds instead of the repeated 5 keep it quick.
    params = dict(max_epochs=60, random_state=0, cv=3)
    memorized = {}
    for loss in ("ce", "elr"):
        net = NoisyLabelClassifier(loss=loss, **params).fit(X, y_noisy)
        memorized[loss] = np.mean(net.predict(X[wrong]) == y_noisy[wrong])
    assert memorized["elr"] < memorized["ce"] - 0.3, memorized


def test_images_with_a_cnn_and_the_default_mlp(data):
    X, y = data
    images = X.reshape(-1, 1, 8, 8)

    class CNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 8, 3, padding=1)
            self.head = torch.nn.Linear(8 * 8 * 8, 10)

        def forward(self, X):
            return self.head(torch.relu(self.conv(X)).flatten(1))

    for module in (CNN, NoisyLabelClassifier().module):
        net = NoisyLabelClassifier(module, max_epochs=3, random_state=0).fit(images, y)
        assert net.predict(images).shape == (len(X),)
        assert net.targets_.shape == (len(X), 10)


def test_float64_and_pandas_input_are_not_modified(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    before = frame.copy()
    net = NoisyLabelClassifier(**SMALL).fit(frame, pd.Series(y))
    pd.testing.assert_frame_equal(frame, before)
    assert_array_equal(net.feature_names_in_, frame.columns)
    assert net.n_features_in_ == 64


@pytest.mark.parametrize("name", ["NoisyLabelClassifier", "ELRPlusClassifier"])
def test_default_fit_on_a_dataframe_does_not_warn(data, name):
    # lam="auto" holds rows out; their label quality comes from the fitted
    # network's probabilities, which must not re-check the frame's names.
    import sklearn_elr

    X, y = data
    frame = pd.DataFrame(X[:300], columns=[f"px{i}" for i in range(64)])
    small = {**SMALL, "lam": "auto", "max_epochs": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = getattr(sklearn_elr, name)(**small).fit(frame, y[:300])
        assert net.predict(frame).shape == (300,)
    assert np.isfinite(net.label_quality_).all()


@pytest.mark.parametrize("name", ["NoisyLabelClassifier", "ELRPlusClassifier"])
def test_sparse_input_trains_the_network_of_its_dense_rows(data, name):
    # Made dense a batch at a time: the same batches, so the same network,
    # as the dense array; predictions from either form agree.
    import scipy.sparse as sp

    import sklearn_elr

    X, y = data
    X = np.where(np.abs(X) < 0.5, 0.0, X)[:300]  # about half zeros
    y = y[:300]
    Net = getattr(sklearn_elr, name)
    dense = Net(**SMALL, data_on_device=False).fit(X, y)
    for matrix in (sp.csr_matrix(X), sp.coo_array(X)):
        net = Net(**SMALL).fit(matrix, y)
        assert_allclose(net.predict_proba(X), dense.predict_proba(X), rtol=1e-4, atol=1e-6)
        assert_allclose(net.predict_proba(matrix), net.predict_proba(X), rtol=1e-5, atol=1e-7)
        assert_allclose(net.targets_, dense.targets_, rtol=1e-4, atol=1e-6)
    auto = Net(**{**SMALL, "lam": "auto"}).fit(sp.csr_matrix(X), y)  # rows held out
    assert np.isfinite(auto.label_quality_).all()
    with pytest.raises(ValueError, match="sparse X is made dense batch by batch"):
        Net(**SMALL, data_on_device=True).fit(sp.csr_matrix(X), y)
    # Rows to predict are not training rows: no refusal there.
    on_device = Net(**SMALL, data_on_device=True).fit(X, y)
    assert_allclose(on_device.predict_proba(sp.csr_matrix(X)), on_device.predict_proba(X))


def test_partial_fit_continues_on_the_same_rows(data):
    X, y = data
    net = NoisyLabelClassifier(**SMALL, beta=0.5).fit(X, y)
    net.partial_fit(X, y)
    assert_allclose(net.targets_.sum(axis=1), 1 - 0.5 ** (2 * EPOCHS), rtol=1e-5)
    with pytest.raises(ValueError, match="expected 600 rows, got 599"):
        net.partial_fit(X[:-1], y[:-1])


def test_verbose_shows_the_epoch_log(data, capsys):
    X, y = data
    NoisyLabelClassifier(**{**SMALL, "max_epochs": 2}, verbose=1).fit(X, y)
    out = capsys.readouterr()
    assert "train_loss" in out.out


@pytest.mark.parametrize(
    "params, match",
    [
        ({"loss": "mae"}, "loss must be one of"),
        ({"lam": -1.0}, "lam == -1.0, must be >= 0"),
        ({"lam": "best"}, "lam must be a float >= 0 or 'auto'"),
        ({"lams": []}, "lams must be a non-empty list"),
        ({"beta": np.nan}, "beta must be finite"),
        ({"beta": 1.0}, "beta == 1.0, must be < 1"),
        ({"gce_q": 0}, "gce_q == 0, must be > 0"),
        ({"criterion": torch.nn.NLLLoss}, "leave criterion=None"),
    ],
)
def test_bad_parameters(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        NoisyLabelClassifier(**params).fit(X, y)


def test_bad_input(data):
    X, y = data
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NoisyLabelClassifier(**SMALL).fit(X_nan, y)
    with pytest.raises(ValueError, match="only one class"):
        NoisyLabelClassifier(**SMALL).fit(X, np.zeros(len(y)))
    net = NoisyLabelClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        net.predict(X[:, :10])


def test_a_diverging_run_is_reported_not_returned(data):
    X, y = data
    net = NoisyLabelClassifier(**{**SMALL, "max_epochs": 30}, optimizer=torch.optim.SGD, lr=1e6)
    with pytest.raises(FloatingPointError, match="training loss became"):
        net.fit(X * 1e3, y)


def test_pipeline_grid_search_parallel_cross_val_clone_pickle(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), NoisyLabelClassifier(**SMALL))
    search = GridSearchCV(
        pipe,
        {"noisylabelclassifier__lam": [1.0, 3.0], "noisylabelclassifier__beta": [0.7, 0.9]},
        cv=2, n_jobs=2,
    )  # fmt: skip
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_[-1].lam in (1.0, 3.0)
    scores = cross_val_score(NoisyLabelClassifier(**SMALL), X, y, cv=2)
    assert np.all(scores > 0.5)
    fitted = search.best_estimator_
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.predict(X), fitted.predict(X))
    fresh = clone(fitted[-1])
    assert not fresh.initialized_


def test_device_auto_resolves_per_call_and_stays_auto(data):
    X, y = data
    net = NoisyLabelClassifier(**SMALL, device="auto").fit(X, y)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    # The parameter stays "auto"; skorch's internals read the resolved device.
    assert net.get_params()["device"] == "auto"
    assert clone(net).get_params()["device"] == "auto"
    assert net.device == expected
    assert net.criterion_.targets.device.type == expected
    restored = pickle.loads(pickle.dumps(net))
    assert restored.get_params()["device"] == "auto"
    assert_array_equal(restored.predict(X), net.predict(X))


def test_device_auto_is_never_written_back_by_an_abandoned_prediction(data):
    X, y = data
    net = NoisyLabelClassifier(**SMALL, device="auto").fit(X, y)
    batches = net.forward_iter(X.astype(np.float32))
    next(batches)  # a consumer that stops early never closes the generator
    assert net.get_params()["device"] == "auto"
    assert vars(net)["device"] == "auto"


@CUDA
def test_cuda_training_keeps_the_buffer_on_the_gpu_and_pickles(data):
    X, y = data
    net = NoisyLabelClassifier(**SMALL, device="cuda").fit(X, y)
    assert net.criterion_.targets.is_cuda
    assert next(net.module_.parameters()).is_cuda
    restored = pickle.loads(pickle.dumps(net))
    assert_array_equal(restored.predict(X), net.predict(X))
    assert net.targets_.shape == (len(X), 10)


@CUDA
def test_cuda_model_loads_on_cpu(data, tmp_path):
    X, y = data
    net = NoisyLabelClassifier(**SMALL, device="cuda").fit(X, y)
    path = tmp_path / "net.pkl"
    path.write_bytes(pickle.dumps(net))
    # What a CPU-only machine does: skorch maps CUDA tensors to the CPU.
    code = (
        "import pickle, sys, torch, warnings\n"
        "torch.cuda.is_available = lambda: False\n"
        "warnings.simplefilter('ignore')\n"
        f"net = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "assert net.criterion_.targets.device.type == 'cpu', net.criterion_.targets.device\n"
    )
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_error_names_the_extra(monkeypatch):
    import builtins
    import importlib
    import sys

    real_import = builtins.__import__

    def no_skorch(name, *args, **kwargs):
        if name == "skorch" or name.startswith("skorch."):
            raise ImportError("no skorch here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_skorch)
    monkeypatch.delitem(sys.modules, "sklearn_elr.neural", raising=False)
    monkeypatch.delitem(sys.modules, "sklearn_elr._network", raising=False)
    with pytest.raises(ImportError, match=r"sklearn-elr\[torch\]"):
        importlib.import_module("sklearn_elr.neural")
    monkeypatch.undo()
    assert (
        importlib.import_module("sklearn_elr.neural").NoisyLabelClassifier is NoisyLabelClassifier
    )


def test_torch_dataset_is_refused_before_any_state_is_set(data):
    X, y = data
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    net = NoisyLabelClassifier(**SMALL)
    with pytest.raises(TypeError, match="indexed by row"):
        net.fit(dataset, y)
    assert not hasattr(net, "label_encoder_") and not hasattr(net, "n_features_in_")


def test_auto_lam_chooses_from_lams_and_refits_for_the_chosen_epochs(data):
    X, y = data
    y_noisy = y.copy()
    y_noisy[::3] = (y_noisy[::3] + 1) % 10  # a third of the labels wrong
    params = {**SMALL, "lam": "auto", "lams": (0.0, 3.0), "cv": 2}
    net = NoisyLabelClassifier(**params).fit(X, y_noisy)
    assert net.lam_ in (0.0, 3.0)
    assert net.cv_scores_.shape == (EPOCHS, 2)
    assert np.all((net.cv_scores_ >= 0) & (net.cv_scores_ <= 1))
    # The final network trained on all rows for the chosen number of epochs.
    assert 1 <= len(net.history) <= EPOCHS
    column = [0.0, 3.0].index(net.lam_)
    best = net.cv_scores_.max()
    assert net.cv_scores_[len(net.history) - 1, column] >= best - 0.01
    assert net.targets_.sum(axis=1).min() > 0  # every row is a training row


def test_a_float_lam_trains_once_without_selection(data):
    X, y = data
    net = NoisyLabelClassifier(**SMALL).fit(X, y)
    assert net.lam_ == 3.0 and not hasattr(net, "cv_scores_")
    assert len(net.history) == EPOCHS


def test_default_mlp_is_robust_to_feature_scale(data):
    X, y = data
    raw = X * 1000 + 5e4  # unscaled, offset features
    scaled = NoisyLabelClassifier(**SMALL).fit(X, y)
    unscaled = NoisyLabelClassifier(**SMALL).fit(raw, y)
    assert unscaled.score(raw, y) >= scaled.score(X, y) - 0.02
    assert len(np.unique(unscaled.predict(raw))) == 10
    # The moments are buffers: saved and restored with the weights.
    state = unscaled.module_.state_dict()
    assert_allclose(state["input_mean"].numpy(), raw.mean(axis=0), rtol=1e-5)
