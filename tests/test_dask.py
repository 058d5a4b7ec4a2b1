# SPDX-License-Identifier: BSD-3-Clause
"""Grid searches on a Dask cluster through joblib's dask backend."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

distributed = pytest.importorskip("distributed")

from joblib import parallel_config  # noqa: E402

from sklearn_elr import LinearELRClassifier  # noqa: E402


@pytest.fixture(scope="module")
def client():
    # TCP on loopback only, no dashboard, worker threads in this process:
    # nothing leaves the machine and the cluster starts in about a second.
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    )  # fmt: skip
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def data(small_noisy_digits):
    return small_noisy_digits


def test_linear_grid_search_on_dask_matches_the_local_one(client, data):
    X, y = data
    grid = {"lam": [0.0, 3.0], "beta": [0.5, 0.7]}
    model = LinearELRClassifier(max_iter=30, tol=None, random_state=0)
    local = GridSearchCV(model, grid, cv=2).fit(X, y)
    with parallel_config(backend="dask"), distributed.get_task_stream(client) as stream:
        remote = GridSearchCV(model, grid, cv=2, n_jobs=-1).fit(X, y)
    # The fits ran on the cluster's workers (joblib batches them into tasks).
    assert stream.data and {t["worker"] for t in stream.data} <= set(
        client.scheduler_info()["workers"]
    )
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert remote.best_params_ == local.best_params_
    assert len(client.scheduler_info()["workers"]) == 2


def test_network_grid_search_on_dask(client, data):
    pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from sklearn_elr import NoisyLabelClassifier

    X, y = data
    net = NoisyLabelClassifier(max_epochs=3, module__hidden_sizes=(32,), random_state=0)
    grid = {"lam": [0.0, 3.0], "beta": [0.7]}
    local = GridSearchCV(net, grid, cv=2).fit(X.astype(np.float32), y)
    with parallel_config(backend="dask"):
        remote = GridSearchCV(net, grid, cv=2, n_jobs=-1).fit(X.astype(np.float32), y)
    # The default MLP draws from its own generators: threads on the workers
    # reproduce the local fits exactly.
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
