# SPDX-License-Identifier: BSD-3-Clause
"""Early-Learning Regularization for scikit-learn: classifiers for noisy labels.

Importing this package never imports torch; the network estimators load it
when they are first used.
"""

from ._version import __version__
from .clean import ELRCleanLearning
from .label_issues import find_label_issues
from .linear import LinearELRClassifier
from .noise import (
    InstanceDependentNoise,
    PairNoise,
    SymmetricNoise,
    TransitionMatrixNoise,
    WithLabelNoise,
    make_instance_noise,
    make_pair_noise,
    make_symmetric_noise,
    make_transition_noise,
)

#: The types of this package that ``skops.io.load`` may trust: plain
#: scikit-learn estimators whose state is arrays and parameters, so loading
#: them runs no code. ``skops.io.load(path, trusted=SKOPS_TRUSTED_TYPES)``.
#: The network estimators are saved weights-only (``save_params``).
SKOPS_TRUSTED_TYPES = [
    "sklearn_elr.clean.ELRCleanLearning",
    "sklearn_elr.linear.LinearELRClassifier",
    "sklearn_elr.meta.WithLabelNoise",
    "sklearn_elr.noise.InstanceDependentNoise",
    "sklearn_elr.noise.PairNoise",
    "sklearn_elr.noise.SymmetricNoise",
    "sklearn_elr.noise.TransitionMatrixNoise",
]

# The network estimators import torch; load them on first use only.
_LAZY = {"NoisyLabelClassifier": "neural", "ELRPlusClassifier": "elr_plus"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = [
    "ELRCleanLearning",
    "InstanceDependentNoise",
    "LinearELRClassifier",
    "PairNoise",
    "SKOPS_TRUSTED_TYPES",
    "SymmetricNoise",
    "TransitionMatrixNoise",
    "WithLabelNoise",
    "__version__",
    "find_label_issues",
    "make_instance_noise",
    "make_pair_noise",
    "make_symmetric_noise",
    "make_transition_noise",
]
