# SPDX-License-Identifier: BSD-3-Clause
"""Data plumbing of the network estimators: row-indexed batches, devices, seeds."""

import contextlib
import threading
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
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

    Also serves sparse rows to predict (without labels): a CSR matrix is
    made dense one batch at a time.

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
        self._on_device = {}

    def on_device(self, device):
        """``(X, y, weight)`` as tensors on ``device``, moved once per dataset.

        The training and validation subsets of one fit share the copy. On the
        CPU the tensors share the arrays' memory (no copy).
        """
        key = str(torch.device(device))
        if key not in self._on_device:
            self._on_device[key] = tuple(
                None if a is None else torch.as_tensor(a, device=device)
                for a in (self.X, self.y, self.weight)
            )  # fmt: skip
        return self._on_device[key]

    def nbytes(self):
        """Bytes of X, y and the weights (what ``on_device`` moves)."""
        return sum(np.asarray(a).nbytes for a in (self.X, self.y, self.weight) if a is not None)

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, rows):
        rows = np.asarray(rows)
        if sp.issparse(self.X):  # CSR: the batch's rows, made dense
            X = self.X[np.atleast_1d(rows)].toarray().reshape(rows.shape + self.X.shape[1:])
        else:
            X = self.X[rows]
        batch = {"X": torch.as_tensor(X), INDEX: torch.as_tensor(rows)}
        if self.weight is not None:
            batch[WEIGHT] = torch.as_tensor(self.weight[rows])
        # Rows to predict come without labels: zeros, as skorch's Dataset.
        y = torch.zeros(rows.shape) if self.y is None else torch.as_tensor(self.y[rows])
        return batch, y


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


def subset_rows(dataset):
    """Positions in the root dataset of the rows of ``dataset`` (None: all)."""
    rows = None
    while isinstance(dataset, torch.utils.data.Subset):
        indices = np.asarray(dataset.indices, dtype=np.int64)
        rows = indices if rows is None else indices[rows]
        dataset = dataset.dataset
    return rows


class DeviceBatches:
    """The batches of :func:`make_loader`, gathered on the device.

    X, y and the weights go to ``device`` once (``RowBatches.on_device``);
    each epoch draws the order on the host from ``generator`` exactly as the
    ``DataLoader`` of :func:`make_loader` does (its base seed, then a
    permutation, then the second permutation ``RandomSampler`` draws when it
    runs out), copies it to the device once, and each batch is an
    ``index_select`` there: the same batches as the generic path, so the same
    model, without a host gather, a blocking copy or a DataLoader per batch.
    ``tests/test_network_behaviour.py`` holds the two paths equal.
    """

    def __init__(
        self, dataset, batch_size, generator, device, shuffle=False, drop_last=False,
        n_batches=None,
    ):  # fmt: skip
        self.dataset = dataset
        self.n_batches = n_batches
        self.batch_size = batch_size
        self.generator = generator
        self.device = torch.device(device)
        self.shuffle = shuffle
        self.drop_last = drop_last
        rows = subset_rows(dataset)
        self.rows = None if rows is None else torch.as_tensor(rows, device=self.device)
        self.n_rows = len(dataset)

    def __len__(self):
        if self.n_batches is not None:
            return self.n_batches
        if self.drop_last:
            return self.n_rows // self.batch_size
        return -(-self.n_rows // self.batch_size)

    def __iter__(self):
        return (self.gather(index) for index in self.indices())

    def gather(self, index):
        """The batch of the rows at ``index`` (positions in the root dataset)."""
        X, y, weight = root_dataset(self.dataset).on_device(self.device)
        batch = {"X": X.index_select(0, index), INDEX: index}
        if weight is not None:
            batch[WEIGHT] = weight.index_select(0, index)
        return batch, y.index_select(0, index)

    def indices(self):
        """Each batch's positions in the root dataset, as a device tensor."""
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)  # base seed
        if self.shuffle:
            order = torch.randperm(self.n_rows, generator=self.generator)
            torch.randperm(self.n_rows, generator=self.generator)
            order = order.to(self.device)
        else:
            order = torch.arange(self.n_rows, device=self.device)
        rows = order if self.rows is None else self.rows[order]
        if self.n_batches is None:
            bounds = range(0, len(self) * self.batch_size + 1, self.batch_size)
        else:  # a fixed count (distributed ranks): nearly equal batches
            bounds = np.linspace(0, self.n_rows, self.n_batches + 1).round().astype(int)
        for start, stop in zip(bounds[:-1], bounds[1:]):
            yield rows[start:stop]


#: ``iterator_*`` settings the device path reproduces; any other (workers,
#: pinned memory, a sampler or collate function) keeps the DataLoader.
_DEVICE_LOADER_KWARGS = {"shuffle", "drop_last"}


def device_batches_fit(dataset, kwargs, device, policy):
    """Whether :class:`DeviceBatches` serves ``dataset`` (``data_on_device``).

    The rows given to fit (our :class:`RowBatches` with labels, not rows to
    predict) go to the device with ``policy`` True or "auto" when they are
    dense, the loader has no setting the device path lacks and ("auto",
    CUDA) they take at most half of the device's free memory. True refuses
    the others by name.
    """
    root = root_dataset(dataset)
    if policy is False or not isinstance(root, RowBatches) or root.y is None:
        return False
    settings = {key for key, value in kwargs.items() if value not in (None, 0, False)}
    reason = None
    if sp.issparse(root.X):
        reason = "sparse X is made dense batch by batch on the host"
    elif settings - _DEVICE_LOADER_KWARGS:
        reason = f"iterator settings {sorted(settings - _DEVICE_LOADER_KWARGS)} need a DataLoader"
    elif policy == "auto" and torch.device(device).type == "cuda":
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        if 2 * root.nbytes() > free:
            reason = "the data does not fit in half of the free device memory"
    if reason is not None and policy is True:
        raise ValueError(f"data_on_device=True but {reason}; use data_on_device='auto'.")
    return reason is None


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
