# SPDX-License-Identifier: BSD-3-Clause
"""Data plumbing of the network estimators: row-indexed batches, devices, seeds."""

import contextlib
import threading
from collections.abc import Mapping

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

#: Keys of the dict-X that ``fit`` hands to skorch.
INDEX = "sample_idx"
WEIGHT = "sample_weight"
MAX_SEED = np.iinfo(np.int32).max


def is_index_dict(X):
    """True for the dict-X of our own fits (rows with their positions)."""
    return isinstance(X, Mapping) and INDEX in X


class RowBatches(torch.utils.data.Dataset):
    """Training rows with their positions, fetched a whole batch at a time.

    ``dataset[rows]`` with a list of positions returns one batch,
    ``({"X": X[rows], "sample_idx": rows[, "sample_weight": w[rows]]}, y[rows])``,
    so a batch costs one NumPy gather instead of skorch's per-row indexing
    and collation. An int position returns one example. This is also how a
    callback reads the training rows (see ``callbacks.MemorizationMonitor``):
    ``dataset_train[list(range(len(dataset_train)))]`` works for the dataset
    and for the ``Subset`` a ``train_split`` makes of it.
    """

    def __init__(self, X, y, weight=None):
        self.X = X
        self.y = y
        self.weight = weight

    def __len__(self):
        return len(self.X)

    def __getitem__(self, rows):
        rows = np.asarray(rows)
        batch = {"X": torch.as_tensor(self.X[rows]), INDEX: torch.as_tensor(rows)}
        if self.weight is not None:
            batch[WEIGHT] = torch.as_tensor(self.weight[rows])
        return batch, torch.as_tensor(self.y[rows])


class FixedSplit:
    """A skorch ``train_split`` that holds out given rows of the training set."""

    def __init__(self, train, held_out):
        self.train = train
        self.held_out = held_out

    def __call__(self, dataset, y=None, **kwargs):
        subset = torch.utils.data.Subset
        return subset(dataset, self.train), subset(dataset, self.held_out)


def root_dataset(dataset):
    """The dataset under any ``Subset`` a ``train_split`` made of it."""
    while isinstance(dataset, torch.utils.data.Subset):
        dataset = dataset.dataset
    return dataset


def make_loader(dataset, batch_size, generator, shuffle=False, drop_last=False, **kwargs):
    """A ``DataLoader`` drawing its randomness from ``generator`` only.

    On :class:`RowBatches` (or a subset of them) it samples whole batches of
    positions, one NumPy gather per batch.
    """
    if not isinstance(root_dataset(dataset), RowBatches):
        return DataLoader(
            dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
            generator=generator, **kwargs,
        )  # fmt: skip
    sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return DataLoader(
        dataset, batch_size=None, sampler=BatchSampler(sampler, batch_size, drop_last),
        generator=generator, **kwargs,
    )  # fmt: skip


def resolve_device(device):
    """``"auto"`` becomes ``"cuda"`` when available, else ``"cpu"``."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


# Fits of modules other than the default MLP can only seed torch's global
# generator; they take this lock so that threads take turns with it.
_GLOBAL_GENERATOR = threading.RLock()


@contextlib.contextmanager
def global_torch_seed(seed, device):
    """Seed torch's global generator inside the block; restore it after."""
    cuda = device is not None and torch.device(device).type == "cuda"
    devices = [torch.device(device).index or 0] if cuda else []
    with _GLOBAL_GENERATOR, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


# torch's intra-op thread count is one setting for the whole process. Fits
# that ask for a count share it: the first sets it, the last one out puts the
# caller's value back, so concurrent fits (threads) never leave it changed.
_THREADS = threading.Lock()
_threads_users = 0
_threads_before = None


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run the block with ``n_threads`` torch threads (None: as they are)."""
    global _threads_users, _threads_before
    if n_threads is None:
        yield
        return
    with _THREADS:
        if _threads_users == 0:
            _threads_before = torch.get_num_threads()
            if _threads_before != n_threads:
                torch.set_num_threads(n_threads)
        _threads_users += 1
    try:
        yield
    finally:
        with _THREADS:
            _threads_users -= 1
            if _threads_users == 0 and torch.get_num_threads() != _threads_before:
                torch.set_num_threads(_threads_before)
