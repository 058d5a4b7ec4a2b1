# SPDX-License-Identifier: BSD-3-Clause
"""skorch callbacks for the network estimators (imports torch and skorch)."""

import numpy as np
import torch
from skorch.callbacks import (
    Callback,
    EpochScoring,
    EpochTimer,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)

from ._validation import check_every, check_test_set, records_epoch
from .diagnostics import memorization_scores

__all__ = ["MemorizationMonitor"]

#: Held-out accuracy within this of the best counts as a tie where the number
#: of held-out rows is unknown (a user's train_split); the cap with a ``cv``.
MAX_SLACK = 0.01


def validation_monitors(callbacks):
    """``(name, monitor)`` of the callbacks that read validation scores."""
    for item in callbacks or ():
        name, callback = item if isinstance(item, tuple) else (type(item).__name__, item)
        monitor = getattr(callback, "monitor", None)
        if isinstance(monitor, str) and monitor.startswith("valid"):
            yield name, monitor


def reads_batch_losses(callbacks, verbose):
    """Whether any of skorch's ``callbacks_`` may read a batch's loss in its batch.

    Scoring callbacks only cache the batch outputs, and the progress bar
    runs only when verbose; a callback that overrides ``on_batch_end`` for
    anything else (an ``LRScheduler`` stepping per batch, a user's own) is
    assumed to read the record.
    """
    for _, callback in callbacks or ():
        if isinstance(callback, _VerboseProgressBar):
            if _is_verbose(verbose):
                return True
        elif not (
            isinstance(callback, EpochScoring)
            or type(callback).on_batch_end is Callback.on_batch_end
        ):
            return True
    return False


def graph_unsafe_callback(callbacks, verbose):
    """Name of the first of ``callbacks_`` that rules out a graphed step, or None.

    A replayed step runs no Python: a callback that acts per batch (between
    the steps, on the gradients, on a training batch's predictions, which
    live in the graph's buffer) or the verbose progress bar needs the eager
    step. Scoring on validation data and epoch-level callbacks are fine.
    """
    for name, callback in callbacks or ():
        if isinstance(callback, _VerboseProgressBar):
            if _is_verbose(verbose):
                return name
            continue
        if isinstance(callback, EpochScoring):
            if callback.on_train and callback.use_caching:
                return name
            continue
        hooks = ("on_batch_begin", "on_batch_end", "on_grad_computed")
        if any(getattr(type(callback), hook) is not getattr(Callback, hook) for hook in hooks):
            return name
    return None


def _state_tensors(net):
    """Every tensor that makes up a fitted network's state, in a fixed order.

    Parameters and buffers of the modules and criteria (the ELR targets are
    a buffer), then the optimizers' per-parameter state (Adam's moments and
    step counts).
    """
    tensors = []
    for name in net._modules + net._criteria:
        component = getattr(net, f"{name}_")
        tensors += [*component.parameters(), *component.buffers()]
    for name in net._optimizers:
        for state in getattr(net, f"{name}_").state.values():
            tensors += [value for value in state.values() if isinstance(value, torch.Tensor)]
    return tensors


class KeepSelectedEpoch(Callback):
    """Keep a copy of the network at its selected epoch (``lam="auto"``).

    After each epoch (once ``valid_acc`` is recorded), the components are
    copied whenever the held-out accuracy is within ``slack_for`` of the best
    so far: the copy that remains is the latest epoch within one standard
    error of this candidate's best. A few hundred noisy held-out labels move
    by several points from epoch to epoch by chance; stopping at their exact
    best kept an ELR network at epoch 7 of 60 (breast cancer, 40 % pair
    noise: 0.77 against 0.92 trained to the end), while memorization by
    cross-entropy shows as a decline of many standard errors. Internal; added
    to each candidate of the networks' λ selection.
    """

    def __init__(self, n_held_out=None):
        self.n_held_out = n_held_out

    @staticmethod
    def slack_for(n_held_out, score):
        """One standard error of a held-out accuracy ``score`` (at least one row)."""
        if not n_held_out:
            return MAX_SLACK
        return max(np.sqrt(score * (1 - score) / n_held_out), 1.0 / n_held_out)

    def on_train_begin(self, net, **kwargs):
        self.best_ = -np.inf
        self.epoch_ = 0
        self.state_ = None

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1].get("valid_acc")
        if score is None:
            return
        self.best_ = max(self.best_, score)
        if score >= self.best_ - self.slack_for(self.n_held_out, self.best_):
            self.epoch_ = len(net.history)
            tensors = _state_tensors(net)
            with torch.no_grad():
                if self.state_ is None or len(self.state_) != len(tensors):
                    self.state_ = [tensor.detach().clone() for tensor in tensors]
                else:  # one multi-tensor copy into the first copy's memory
                    torch._foreach_copy_(self.state_, tensors)

    def restore(self, net):
        """Put the kept copy back into ``net``'s components (the optimizers'
        hyper-parameters, such as a scheduled learning rate, stay as they are)."""
        if self.state_ is None:
            return
        with torch.no_grad():
            torch._foreach_copy_(_state_tensors(net), self.state_)
        self.state_ = None  # the copy now lives in the network


def _training_rows(dataset):
    """Positions, rows of X and encoded labels of skorch's training dataset.

    Read through the estimators' dataset interface: indexing it (or the
    ``Subset`` a ``train_split`` makes of it) with a list of positions returns
    one batch, ``({"X": ..., "sample_idx": ...}, y)``.
    """
    batch, y_encoded = dataset[list(range(len(dataset)))]
    return batch["sample_idx"].numpy(), batch["X"].numpy(), y_encoded.numpy()


class MemorizationMonitor(Callback):
    """Record early learning and memorization in ``net.history`` every epoch.

    For a single fit of :class:`~sklearn_elr.NoisyLabelClassifier` or
    :class:`~sklearn_elr.ELRPlusClassifier` whose clean labels are known (a
    simulation). After each epoch it predicts the training rows (eval mode)
    and records :func:`~sklearn_elr.diagnostics.memorization_scores`:
    ``wrong_to_true``, ``memorized`` and ``clean_acc``, plus ``test_acc`` on
    an optional clean held-out set. ``y_clean`` is aligned with the ``X``
    given to ``fit``, so the monitor is not meant for cross-validation.

    Parameters
    ----------
    y_clean : array-like of shape (n_samples,)
        True labels of the training rows, in the order of ``X``.
    X_test, y_test : array-like, default=None
    every : int or array-like of int, default=1
        Record every ``every`` epochs (and the first), or at the listed
        (1-based) epochs.
    """

    def __init__(self, y_clean, X_test=None, y_test=None, every=1):
        self.y_clean = y_clean
        self.X_test = X_test
        self.y_test = y_test
        check_test_set(X_test, y_test)
        self.every = check_every(every)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if y is not None and len(self.y_clean) != len(y):
            raise ValueError(
                f"y_clean has {len(self.y_clean)} labels but fit was given "
                f"{len(y)} rows; pass the true labels of the rows given to fit."
            )

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        if not records_epoch(self.every, len(net.history)):
            return
        rows, X_rows, y_encoded = _training_rows(dataset_train)
        # net.predict would check the validated rows again, and warn that
        # they lack the column names of a DataFrame the network was fitted on.
        predicted = _encoded_predictions(net, X_rows)
        scores = memorization_scores(
            net.classes_[predicted], net.classes_[y_encoded], np.asarray(self.y_clean)[rows]
        )
        if self.X_test is not None:
            scores["test_acc"] = float(np.mean(net.predict(self.X_test) == np.asarray(self.y_test)))
        for key, value in scores.items():
            net.history.record(key, value)


# -- the estimators' default callbacks -------------------------------------------


def default_callbacks():
    """skorch's defaults, with validation accuracy and a progress bar when verbose."""
    return [
        ("epoch_timer", EpochTimer()),
        ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ("valid_loss", PassthroughScoring(name="valid_loss")),
        ("valid_acc", _ValidAccuracy(_encoded_accuracy, name="valid_acc", lower_is_better=False)),
        ("progress_bar", _VerboseProgressBar()),
        ("print_log", PrintLog()),
    ]


class _ValidAccuracy(EpochScoring):
    """skorch's ``EpochScoring`` of a plain function, called as it is.

    skorch resolves the scoring through scikit-learn's ``check_scoring``
    every epoch, whose parameter validation took an eighth of an epoch of a
    small network (iris: 0.25 ms of 2 ms); for a function it returns the
    function.
    """

    def _scoring(self, net, X_test, y_test):
        if not callable(self.scoring_):  # callbacks__valid_acc__scoring="f1" and the like
            return super()._scoring(net, X_test, y_test)
        return self.scoring_(net, X_test, y_test)


def _encoded_predictions(net, X):
    """Encoded class of each (already validated) row: the argmax of the logits.

    The argmax of the probabilities, without a full ``predict_proba`` call
    or a second check of the rows.
    """
    return net.forward(X, training=False).argmax(dim=1).numpy()


def _encoded_accuracy(net, X, y):
    """Validation accuracy on skorch's internal, already encoded labels.

    From the validation pass's outputs (skorch caches them for scoring).
    """
    return float(np.mean(_encoded_predictions(net, X) == np.asarray(y)))


class _VerboseProgressBar(ProgressBar):
    """skorch's progress bar, shown only while ``net.verbose`` is set."""

    def on_epoch_begin(self, net, **kwargs):
        if _is_verbose(net.verbose):
            super().on_epoch_begin(net, **kwargs)

    def on_batch_end(self, net, **kwargs):
        if _is_verbose(net.verbose):
            super().on_batch_end(net, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        if _is_verbose(net.verbose):
            super().on_epoch_end(net, **kwargs)


def _is_verbose(verbose):
    return isinstance(verbose, (int, np.integer)) and verbose > 0
