# SPDX-License-Identifier: BSD-3-Clause
"""Early-Learning Regularization for scikit-learn: classifiers for noisy labels.

Importing this package never imports torch; the network estimators load it
when they are first used.
"""

from ._version import __version__
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

__all__ = [
    "InstanceDependentNoise",
    "LinearELRClassifier",
    "PairNoise",
    "SymmetricNoise",
    "TransitionMatrixNoise",
    "WithLabelNoise",
    "__version__",
    "make_instance_noise",
    "make_pair_noise",
    "make_symmetric_noise",
    "make_transition_noise",
]
