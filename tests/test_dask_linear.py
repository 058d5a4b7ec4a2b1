# SPDX-License-Identifier: BSD-3-Clause
"""One fit of the linear model on a Dask array, chunk by chunk (and on a memmap).

The equality tests run on Dask's local scheduler (fast); one runs on a
loopback ``LocalCluster`` to show the same fit on workers.
"""

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_elr import LinearELRClassifier

da = pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def data(small_noisy_digits):
    return small_noisy_digits


def _same_fit(a, b, atol=1e-8):
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(b.intercept_, a.intercept_, rtol=0, atol=atol)
    assert (a.n_iter_, a.lam_) == (b.n_iter_, b.lam_)
    np.testing.assert_allclose(np.asarray(b.targets_), a.targets_, rtol=0, atol=atol)
    np.testing.assert_array_equal(np.asarray(b.label_issues_), a.label_issues_)


@pytest.mark.parametrize(
    "params",
    [
        dict(lam=3.0),  # fixed λ: stops once the probabilities settle
        dict(max_iter=20),  # lam="auto": 5 folds, held-out rows scored per epoch
        dict(cv=2, lams=(0.0, 1.0, 3.0), max_iter=20),
        dict(solver="gd", lam=1.0, max_iter=20, tol=None),
        dict(lam=3.0, fit_intercept=False),
    ],
    ids=["lam3", "auto", "cv2", "gd", "no-intercept"],
)
def test_a_dask_fit_equals_the_in_memory_fit(data, params):
    X, y = data
    model = LinearELRClassifier(random_state=0, **params)
    local = clone(model).fit(X, y)
    chunked = clone(model).fit(da.from_array(X, chunks=(130, 16)), y)  # uneven tail
    _same_fit(local, chunked)
    assert chunked.n_features_in_ == X.shape[1]


def test_dask_sparse_chunks_weights_and_float32(data):
    import scipy.sparse as sp

    X, y = data
    weight = np.random.default_rng(0).uniform(0.0, 2.0, len(y))
    sparse_chunks = da.from_array(X, chunks=(100, -1)).map_blocks(sp.csr_matrix)
    for params in (dict(lam=3.0), dict(max_iter=20)):  # lam="auto": held-out sparse chunks
        model = LinearELRClassifier(random_state=0, **params)
        local = clone(model).fit(sp.csr_matrix(X), y, weight)
        chunked = clone(model).fit(sparse_chunks, y, weight)
        _same_fit(local, chunked)
    X32 = X.astype(np.float32)
    local32 = LinearELRClassifier(lam=3.0, random_state=0).fit(X32, y)
    chunked32 = LinearELRClassifier(lam=3.0, random_state=0).fit(da.from_array(X32, chunks=100), y)
    assert chunked32.coef_.dtype == np.float32
    _same_fit(local32, chunked32, atol=1e-4)


def test_dask_predictions_are_lazy_and_equal(data):
    X, y = data
    Xd = da.from_array(X, chunks=(100, 64))
    model = LinearELRClassifier(lam=3.0, random_state=0).fit(Xd, y)
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        lazy = getattr(model, method)(Xd)
        assert isinstance(lazy, da.Array)
        np.testing.assert_allclose(lazy.compute(), getattr(model, method)(X))


def test_large_targets_stay_chunked(data, monkeypatch):
    import sklearn_elr._dask as dask_path

    X, y = data
    local = LinearELRClassifier(lam=3.0, random_state=0).fit(X, y)
    monkeypatch.setattr(dask_path, "SMALL_BYTES", 0)
    chunked = LinearELRClassifier(lam=3.0, random_state=0).fit(da.from_array(X, chunks=100), y)
    assert isinstance(chunked.targets_, da.Array) and isinstance(chunked.label_quality_, da.Array)
    np.testing.assert_allclose(chunked.label_quality_.compute(), local.label_quality_, atol=1e-8)
    np.testing.assert_array_equal(chunked.label_issues_.compute(), local.label_issues_)


@pytest.mark.parametrize(
    "params, words",
    [
        (dict(solver="adam"), "full-batch"),
        (dict(batch_size=64), "full-batch"),
    ],
)
def test_what_a_dask_array_cannot_train_is_refused(data, params, words):
    X, y = data
    with pytest.raises(ValueError, match=words):
        LinearELRClassifier(**params).fit(da.from_array(X, chunks=100), y)
    bad = X.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LinearELRClassifier().fit(da.from_array(bad, chunks=100), y)


def test_a_memory_mapped_x_is_never_copied(tmp_path):
    import tracemalloc

    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32,
                                  shape=(50_000, 100))  # fmt: skip
    X[:] = rng.normal(size=X.shape)
    y = (X[:, 0] > 0).astype(int)
    X_read = np.load(tmp_path / "X.npy", mmap_mode="r")
    tracemalloc.start()
    try:
        model = LinearELRClassifier(lam=3.0, max_iter=3, tol=None, random_state=0).fit(X_read, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.75 * X.nbytes, peak  # no copy of X (20 MB), only blocks of it
    assert model.coef_.dtype == np.float32


def test_a_fit_on_a_local_cluster_runs_on_its_workers(data):
    distributed = pytest.importorskip("distributed")
    X, y = data
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    )  # fmt: skip
    try:
        with distributed.Client(cluster) as client, distributed.get_task_stream(client) as stream:
            Xd = da.from_array(X, chunks=(130, -1)).persist()
            chunked = LinearELRClassifier(lam=3.0, max_iter=10, tol=None, random_state=0).fit(Xd, y)
        local = LinearELRClassifier(lam=3.0, max_iter=10, tol=None, random_state=0).fit(X, y)
        _same_fit(local, chunked)
        names = {t["key"][0] if isinstance(t["key"], tuple) else t["key"] for t in stream.data}
        assert any("_epoch_chunk" in str(name) for name in names)
    finally:
        cluster.close()
