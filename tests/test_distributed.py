# SPDX-License-Identifier: BSD-3-Clause
"""One network fit across 2 gloo processes on 127.0.0.1 (no GPU needed)."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")
if not torch.distributed.is_available():  # pragma: no cover
    pytest.skip("this torch has no torch.distributed", allow_module_level=True)

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_elr import ELRPlusClassifier, NoisyLabelClassifier, make_symmetric_noise  # noqa: E402
from sklearn_elr.distributed import fit_distributed, fit_in_process_group  # noqa: E402

EPOCHS, BETA = 12, 0.7


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y, test_size=0.3, stratify=y, random_state=0
    )
    y_noisy, _ = make_symmetric_noise(y_train, 0.4, random_state=0)
    return X_train, y_noisy, X_test, y_test


def _net(**params):
    defaults = dict(lam=3.0, beta=BETA, max_epochs=EPOCHS, module__hidden_sizes=(128,))
    return NoisyLabelClassifier(random_state=0, **{**defaults, **params})


def test_two_ranks_update_every_target_once_per_epoch_and_match_one_process(digits):
    X, y, X_test, y_test = digits
    ranks = fit_distributed(_net(), X, y, n_processes=2, timeout=120)
    # Each row lives on one rank and is visited once per epoch: its target's
    # mass is exactly 1 - beta**epochs (a missed or repeated update breaks it).
    np.testing.assert_allclose(ranks.targets_.sum(axis=1), 1 - BETA**EPOCHS, rtol=1e-5)
    assert ranks.label_quality_.shape == (len(y),)
    single = _net().fit(X, y)
    assert abs(ranks.score(X_test, y_test) - single.score(X_test, y_test)) < 0.03
    # A plain estimator: no DDP wrapper, picklable, predicts here.
    assert type(ranks.module_).__name__ == "MLP"
    restored = pickle.loads(pickle.dumps(ranks))
    np.testing.assert_array_equal(restored.predict(X_test), ranks.predict(X_test))


def test_an_uneven_tail_and_sample_weights_do_not_hang(digits):
    # Also: a fitted estimator can be passed (a clone goes to the ranks).
    X, y, _, _ = digits
    X, y = X[:301], y[:301]  # odd rows, neither rank's shard a multiple of the batch
    weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    net = fit_distributed(_net(batch_size=64, max_epochs=3), X, y, sample_weight=weight, timeout=60)
    np.testing.assert_allclose(net.targets_.sum(axis=1), 1 - BETA**3, rtol=1e-5)


def test_what_a_distributed_fit_cannot_do_is_refused_before_it_starts(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="float lam"):
        fit_distributed(NoisyLabelClassifier(), X, y)
    with pytest.raises(TypeError, match="NoisyLabelClassifier"):
        fit_distributed(ELRPlusClassifier(lam=3.0), X, y)
    with pytest.raises(ValueError, match="backend"):
        fit_distributed(_net(), X, y, backend="mpi")
    with pytest.raises(RuntimeError, match="process group"):
        fit_in_process_group(_net(), X, y)
