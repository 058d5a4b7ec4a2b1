# SPDX-License-Identifier: BSD-3-Clause
"""The noise simulators as imbalanced-learn samplers: its own checks.

Every waived check is listed with its reason: they test what a *balancing*
sampler owes (a sampling strategy, class counts), which label noise is not.
"""

import numpy as np
import pytest

pytest.importorskip("imblearn")

from imblearn.base import is_sampler  # noqa: E402
from imblearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from sklearn_elr import (  # noqa: E402
    InstanceDependentNoise,
    PairNoise,
    SymmetricNoise,
    TransitionMatrixNoise,
)

SAMPLERS = [
    SymmetricNoise(0.1, random_state=0),
    PairNoise(0.1, random_state=0),
    InstanceDependentNoise(0.1, random_state=0),
    TransitionMatrixNoise(np.full((3, 3), 1 / 3), random_state=0),
]
WAIVED = {
    "check_samplers_fit": (
        "sampling_strategy_ is the class-count target of a resampling sampler; "
        "a noise simulator changes labels, not counts, and has none"
    ),
    "check_samplers_one_label": (
        "a balancing sampler must refuse one class; with one class label noise "
        "has nothing to swap and returns the labels as given (tests/test_noise.py)"
    ),
    "check_samplers_multiclass_ova": (
        "label noise acts on class labels; one-hot (multilabel-indicator) targets "
        "are refused by check_classification_targets with a clear error"
    ),
}


@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda s: type(s).__name__)
def test_imbalanced_learn_sees_a_sampler(sampler):
    assert is_sampler(sampler)


def waived(sampler):
    checks = dict(WAIVED)
    if isinstance(sampler, InstanceDependentNoise):
        checks["check_samplers_pandas_sparse"] = (
            "it scores rows by their features, read as a dense array; sparse X "
            "gets scikit-learn's clear TypeError"
        )
    if isinstance(sampler, TransitionMatrixNoise):
        # Its matrix fixes the number of classes (3 here); these checks use 2.
        reason = "the checks' data has 2 classes; this matrix is for 3"
        checks["check_sampler_get_feature_names_out"] = reason
        checks["check_sampler_get_feature_names_out_pandas"] = reason
        # With one class, the size mismatch is refused before the one-class
        # question arises, so the check passes for a different reason.
        del checks["check_samplers_one_label"]
    return checks


@parametrize_with_checks(SAMPLERS, expected_failed_checks=waived)
def test_imbalanced_learn_sampler_checks(estimator, check):
    check(estimator)


def test_fit_resample_refuses_fit_parameters_by_name():
    X, y = np.zeros((6, 1)), np.array([0, 1] * 3)
    with pytest.raises(TypeError, match="sample_weight"):
        SymmetricNoise(0.2).fit_resample(X, y, sample_weight=np.ones(6))


def test_no_module_imports_pandas_at_load():
    # pandas is optional for NumPy input; the simulators import it only when
    # handed pandas objects. (scikit-learn may load it anyway when installed.)
    import ast
    from pathlib import Path

    import sklearn_elr

    for path in Path(sklearn_elr.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(name.split(".")[0] == "pandas" for name in names), path.name
