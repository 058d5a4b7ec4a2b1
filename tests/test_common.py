# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's estimator checks on every NumPy estimator.

Every waived check is listed in ``EXPECTED_FAILED`` with its reason (none
for LinearELRClassifier; WithLabelNoise and ELRCleanLearning waive
weight/repeat equivalence, which random label noise and a random hold-out
cannot give; the network estimators waive skorch's
own conventions and the equivalence that mini-batch training cannot give). The noise simulators are not run through these checks on purpose:
they never look at ``X`` (it may be images, text or a table with NaN, and is
returned as the same object), while the checks demand that ``fit`` validate
``X`` as a numeric matrix. ``tests/test_noise.py`` tests their contract.
"""

from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_elr import ELRCleanLearning, LinearELRClassifier, SymmetricNoise, WithLabelNoise

_MINIBATCH_WEIGHT_REASON = (
    "a weight of 2 and a repeated row give the same loss but not the "
    "same mini-batch training: repeated rows change the batches, the "
    "number of steps per epoch and the held-out splits of lam='auto'"
)
_SKORCH_WAIVERS = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets history_, initialized_ and "
        "virtual_params_, and stores dunder parameters such as "
        "module__hidden_sizes as attributes"
    ),
    "check_set_params": (
        "skorch keeps its internal _params_to_validate set among the "
        "parameters; the check overwrites it with a float and skorch's "
        "set_params then calls .add on it"
    ),
    "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_WEIGHT_REASON,
    "check_sample_weight_equivalence_on_sparse_data": _MINIBATCH_WEIGHT_REASON,
}
_NOISE_WEIGHT_REASON = (
    "the simulator corrupts each row independently, so a row repeated twice "
    "may get two different noisy labels where a row of weight 2 gets one: "
    "weights and repeats are different noisy data sets"
)
_CLEAN_WEIGHT_REASON = (
    "repeated rows change the guard's random hold-out and what the cleaner "
    "learns from them (a row of weight 2 is judged once, two copies twice): "
    "weights and repeats are different cleaning problems"
)
EXPECTED_FAILED = {
    "ELRCleanLearning": {
        "check_sample_weight_equivalence_on_dense_data": _CLEAN_WEIGHT_REASON,
        "check_sample_weight_equivalence_on_sparse_data": _CLEAN_WEIGHT_REASON,
    },
    "WithLabelNoise": {
        "check_sample_weight_equivalence_on_dense_data": _NOISE_WEIGHT_REASON,
        "check_sample_weight_equivalence_on_sparse_data": _NOISE_WEIGHT_REASON,
    },
    "NoisyLabelClassifier": _SKORCH_WAIVERS,
    "ELRPlusClassifier": _SKORCH_WAIVERS,
}

ESTIMATORS = [
    LinearELRClassifier(random_state=0),
    WithLabelNoise(LogisticRegression(), SymmetricNoise(0.05, random_state=0)),
    ELRCleanLearning(
        LogisticRegression(), cleaner=LinearELRClassifier(lam=3.0, max_iter=30), random_state=0
    ),
]
try:  # the network runs the same checks when torch and skorch are there
    from sklearn_elr import ELRPlusClassifier, NoisyLabelClassifier

    # cv=2 keeps the default lam="auto" path at a third of its cost.
    ESTIMATORS += [
        NoisyLabelClassifier(max_epochs=20, module__hidden_sizes=(32,), cv=2, random_state=0),
        ELRPlusClassifier(max_epochs=20, module__hidden_sizes=(32,), cv=2, random_state=0),
    ]
except ImportError:
    pass


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED.get(type(est).__name__, {}),
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
