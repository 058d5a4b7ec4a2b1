# SPDX-License-Identifier: BSD-3-Clause
"""One network fit across 2 gloo processes on 127.0.0.1 (no GPU needed)."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")
if not torch.distributed.is_available():  # pragma: no cover
    pytest.skip("this torch has no torch.distributed", allow_module_level=True)

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_elr import (  # noqa: E402
    ELRPlusClassifier,
    LinearELRClassifier,
    NoisyLabelClassifier,
    make_symmetric_noise,
)
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


def test_elr_plus_trains_both_networks_across_ranks(digits):
    X, y, X_test, y_test = digits
    net = ELRPlusClassifier(
        lam=3.0, beta=BETA, max_epochs=4, module__hidden_sizes=(64,), random_state=0, mixup=True
    )
    ranks = fit_distributed(net, X, y, timeout=120)
    assert ranks.targets_.shape == (2, len(y), 10)
    np.testing.assert_allclose(ranks.targets_.sum(axis=2), 1 - BETA**4, rtol=1e-5)
    assert [type(m).__name__ for m in (ranks.module_, ranks.module2_)] == ["MLP", "MLP"]
    single = clone(net).fit(X, y)  # other shards and batches: the same learning
    assert abs(ranks.score(X_test, y_test) - single.score(X_test, y_test)) < 0.05


def test_lam_auto_chooses_the_same_on_every_rank(digits):
    X, y, X_test, y_test = digits
    net = NoisyLabelClassifier(max_epochs=8, module__hidden_sizes=(64,), random_state=0)
    ranks = fit_distributed(net, X, y, timeout=120)  # raises if the ranks disagree
    assert ranks.lam_ in (0.0, 3.0) and 1 <= ranks.n_epochs_ <= 8
    # Rows the chosen candidate trained on were updated once per epoch up to
    # its kept epoch; the held-out rows never.
    mass = ranks.targets_.sum(axis=1)
    trained = mass > 0
    np.testing.assert_allclose(mass[trained], 1 - BETA**ranks.n_epochs_, rtol=1e-5)
    assert 0.6 < trained.mean() < 0.9  # 25 % held out at this size
    single = clone(net).fit(X, y)
    assert abs(ranks.score(X_test, y_test) - single.score(X_test, y_test)) < 0.05


def test_what_a_distributed_fit_cannot_do_is_refused_before_it_starts(digits):
    X, y, _, _ = digits
    with pytest.raises(TypeError, match="NoisyLabelClassifier and ELRPlusClassifier"):
        fit_distributed(LinearELRClassifier(), X, y)
    with pytest.raises(ValueError, match="backend"):
        fit_distributed(_net(), X, y, backend="mpi")
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="need dense X"):
        fit_distributed(_net(), sp.csr_matrix(X), y)
    with pytest.raises(RuntimeError, match="process group"):
        fit_in_process_group(_net(), X, y)


def test_a_dataloader_setting_is_refused_in_a_distributed_fit(digits):
    # One rank in this process: what fit_in_process_group sees under torchrun.
    import torch.distributed as dist

    from sklearn_elr.distributed import _free_port

    X, y, _, _ = digits
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1
    )
    try:
        with pytest.raises(ValueError, match="draws its batches on the device"):
            fit_in_process_group(_net(max_epochs=1, iterator_train__num_workers=1), X, y)
        fitted = fit_in_process_group(_net(max_epochs=2), X[:200], y[:200])
        np.testing.assert_allclose(fitted.targets_.sum(axis=1), 1 - BETA**2, rtol=1e-5)
    finally:
        dist.destroy_process_group()
