# SPDX-License-Identifier: BSD-3-Clause
"""Every bad input a careful user might try: a clear error that names it.

One table, ``CASES``: each row is (id, call, exception type, words the
message must contain). The NumPy objects are always covered; the network
rows run when torch and skorch are installed. Below the table: inputs are
never modified, refused fits change nothing, and round trips are exact.
"""

import importlib.util
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from sklearn_elr import (
    ELRCleanLearning,
    InstanceDependentNoise,
    LinearELRClassifier,
    PairNoise,
    SymmetricNoise,
    TransitionMatrixNoise,
    WithLabelNoise,
    make_instance_noise,
    make_pair_noise,
    make_symmetric_noise,
    make_transition_noise,
)
from sklearn_elr.datasets import make_early_learning_problem
from sklearn_elr.diagnostics import LinearMemorizationMonitor, memorization_scores

X, Y = load_iris(return_X_y=True)
NAN, INF = float("nan"), float("inf")
HAS_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "skorch"))


def fit(**params):
    return lambda: LinearELRClassifier(**{"lam": 1.0, "max_iter": 5, **params}).fit(X, Y)


def fit_data(X_, y_, **kw):
    return lambda: LinearELRClassifier(lam=1.0, max_iter=5).fit(X_, y_, **kw)


def resample(noise, X_=X, y_=Y):
    return lambda: noise.fit_resample(X_, y_)


def monitor(**kw):
    args = dict(X=X, y_given=Y, y_clean=Y)
    return lambda: LinearMemorizationMonitor(**{**args, **kw})


def returns(value):
    """A linear callback returning ``value``."""
    return fit(callback=lambda est, epoch, coef, intercept: value)


T3 = np.full((3, 3), 1 / 3)

CASES = [
    # LinearELRClassifier parameters: NaN, inf, out of range, wrong type.
    ("lin-lam-nan", fit(lam=NAN), ValueError, "lam"),
    ("lin-lam-inf", fit(lam=INF), ValueError, "lam"),
    ("lin-lam-neg", fit(lam=-1.0), ValueError, "lam"),
    ("lin-lam-str", fit(lam="big"), (ValueError, TypeError), "lam"),
    ("lin-lams-nan", fit(lam="auto", lams=(0.0, NAN)), ValueError, "lams"),
    ("lin-lams-empty", fit(lam="auto", lams=()), ValueError, "lams"),
    ("lin-beta-nan", fit(beta=NAN), ValueError, "beta"),
    ("lin-beta-one", fit(beta=1.0), ValueError, "beta"),
    ("lin-alpha-inf", fit(alpha=INF), ValueError, "alpha"),
    ("lin-alpha-neg", fit(alpha=-1.0), ValueError, "alpha"),
    ("lin-lr-nan", fit(learning_rate=NAN), ValueError, "learning_rate"),
    ("lin-lr-inf", fit(learning_rate=INF), ValueError, "learning_rate"),
    ("lin-lr-zero", fit(learning_rate=0.0), ValueError, "learning_rate"),
    ("lin-tol-nan", fit(tol=NAN), ValueError, "tol"),
    ("lin-max-iter-0", fit(max_iter=0), ValueError, "max_iter"),
    ("lin-max-iter-float", fit(max_iter=2.5), (ValueError, TypeError), "max_iter"),
    ("lin-batch-0", fit(batch_size=0), ValueError, "batch_size"),
    ("lin-no-change-0", fit(n_iter_no_change=0), ValueError, "n_iter_no_change"),
    ("lin-solver", fit(solver="lbfgs"), ValueError, "solver"),
    (
        "lin-class-weight-nan",
        fit(class_weight={0: NAN, 1: 1.0, 2: 1.0}),
        ValueError,
        "class_weight",
    ),
    ("lin-callback-not-callable", fit(callback=3), ValueError, "callback"),
    ("lin-callback-returns-list", returns([1]), TypeError, "callback must return a dict"),
    (
        "lin-diverges",
        fit(solver="gd", learning_rate=1e6, lam=0.0, max_iter=50),
        FloatingPointError,
        "learning_rate",
    ),
    # LinearELRClassifier data.
    ("lin-X-nan", fit_data(np.where(X > 7, NAN, X), Y), ValueError, "NaN"),
    ("lin-X-inf", fit_data(np.where(X > 7, INF, X), Y), ValueError, "infinity"),
    ("lin-X-1d", fit_data(X[:, 0], Y), ValueError, "2D"),
    ("lin-X-strings", fit_data(X.astype(str).astype(object) + "x", Y), ValueError, "convert"),
    ("lin-y-short", fit_data(X, Y[:-1]), ValueError, "inconsistent numbers of samples"),
    ("lin-y-one-class", fit_data(X, np.zeros(len(Y))), ValueError, "one class"),
    ("lin-y-continuous", fit_data(X, Y + 0.5), ValueError, "continuous"),
    ("lin-y-none", fit_data(X, None), ValueError, "y"),
    (
        "lin-y-missing-label",
        fit_data(X, pd.Series(Y, dtype="Int64").where(Y > 0)),
        ValueError,
        "missing labels",
    ),
    ("lin-sw-negative", fit_data(X, Y, sample_weight=-np.ones(len(Y))), ValueError, "Negative"),
    ("lin-sw-nan", fit_data(X, Y, sample_weight=np.full(len(Y), NAN)), ValueError, "NaN"),
    ("lin-sw-zero", fit_data(X, Y, sample_weight=np.zeros(len(Y))), ValueError, "non-zero"),
    ("lin-sw-short", fit_data(X, Y, sample_weight=np.ones(3)), ValueError, "sample_weight"),
    (
        "lin-sw-overflow",
        fit_data(X, Y, sample_weight=np.full(len(Y), 1e308)),
        ValueError,
        "overflows",
    ),
    ("lin-predict-unfitted", lambda: LinearELRClassifier().predict(X), NotFittedError, "fitted"),
    (
        "lin-predict-width",
        lambda: LinearELRClassifier(lam=0.0, max_iter=3).fit(X, Y).predict(X[:, :2]),
        ValueError,
        "features",
    ),
    # Noise simulators.
    ("sym-nan-exact", resample(SymmetricNoise(NAN)), ValueError, "rate"),
    ("sym-nan-inexact", resample(SymmetricNoise(NAN, exact=False)), ValueError, "rate"),
    ("sym-negative", resample(SymmetricNoise(-0.1)), ValueError, "rate"),
    ("sym-above-one", resample(SymmetricNoise(1.5)), ValueError, "rate"),
    ("sym-rate-str", resample(SymmetricNoise("0.2")), (ValueError, TypeError), "rate"),
    ("pair-inf", resample(PairNoise(INF)), ValueError, "rate"),
    (
        "pair-bad-mapping",
        resample(PairNoise(0.2, mapping={7: 0})),
        ValueError,
        "not one of the classes",
    ),
    ("inst-nan", resample(InstanceDependentNoise(NAN)), ValueError, "rate"),
    (
        "inst-X-nan",
        resample(InstanceDependentNoise(0.2), np.where(X > 7, NAN, X)),
        ValueError,
        "NaN",
    ),
    (
        "trans-not-square",
        resample(TransitionMatrixNoise(np.ones((3, 2)) / 2)),
        ValueError,
        "square",
    ),
    ("trans-rows", resample(TransitionMatrixNoise(np.eye(3) * 0.5)), ValueError, "sum to 1"),
    ("trans-negative", resample(TransitionMatrixNoise(np.eye(3) * 2 - T3)), ValueError, "negative"),
    (
        "trans-nan",
        resample(TransitionMatrixNoise(np.where(np.eye(3) > 0, NAN, 0.0))),
        ValueError,
        "NaN",
    ),
    ("trans-size", resample(TransitionMatrixNoise(np.eye(4))), ValueError, "classes"),
    ("sim-y-continuous", resample(SymmetricNoise(0.2), X, Y + 0.5), ValueError, "continuous"),
    ("sim-y-short", resample(SymmetricNoise(0.2), X, Y[:-1]), ValueError, "inconsistent"),
    ("make-sym-none", lambda: make_symmetric_noise(None, 0.2), ValueError, "y is None"),
    ("make-pair-nan", lambda: make_pair_noise(Y, NAN), ValueError, "rate"),
    ("make-trans-none", lambda: make_transition_noise(None, T3), ValueError, "y is None"),
    ("make-inst-none", lambda: make_instance_noise(X, None, 0.2), ValueError, "y is None"),
    (
        "with-noise-not-sampler",
        lambda: WithLabelNoise(LogisticRegression(), "noise").fit(X, Y),
        TypeError,
        "fit_resample",
    ),
    # Monitors, datasets, scores.
    ("monitor-every-0", monitor(every=0), ValueError, "every"),
    ("monitor-every-list-0", monitor(every=[0, 5]), ValueError, "every"),
    ("monitor-every-float", monitor(every=1.5), (ValueError, TypeError), "every"),
    ("monitor-y-clean-short", monitor(y_clean=Y[:-1]), ValueError, "same rows"),
    ("monitor-y-clean-long", monitor(y_clean=np.r_[Y, Y]), ValueError, "same rows"),
    ("monitor-X-test-alone", monitor(X_test=X), ValueError, "X_test and y_test"),
    ("monitor-test-lengths", monitor(X_test=X, y_test=Y[:3]), ValueError, "rows"),
    ("dataset-sigma-nan", lambda: make_early_learning_problem(sigma=NAN), ValueError, "sigma"),
    ("dataset-sigma-neg", lambda: make_early_learning_problem(sigma=-1.0), ValueError, "sigma"),
    ("dataset-noise-nan", lambda: make_early_learning_problem(noise=NAN), ValueError, "noise"),
    (
        "dataset-n-samples",
        lambda: make_early_learning_problem(n_samples=1),
        ValueError,
        "n_samples",
    ),
    ("scores-lengths", lambda: memorization_scores(Y, Y, Y[:-1]), ValueError, "length"),
]

CASES += [
    (
        "monitor-pipeline-raw-X",
        lambda: (
            __import__("sklearn.pipeline")
            .pipeline.make_pipeline(
                __import__("sklearn.preprocessing").preprocessing.PolynomialFeatures(),
                LinearELRClassifier(
                    lam=1.0, max_iter=2, callback=LinearMemorizationMonitor(X, Y, Y)
                ),
            )
            .fit(X, Y)
        ),
        ValueError,
        "transformed rows",
    ),
    ("linear-X-1e300", lambda: LinearELRClassifier().fit(X * 1e300, Y), ValueError, "Rescale X"),
    (
        "linear-column-1e200",
        lambda: LinearELRClassifier().fit(X * [1e200, 1, 1, 1], Y),
        ValueError,
        "as large as",
    ),
]

if importlib.util.find_spec("matplotlib"):
    import matplotlib

    matplotlib.use("Agg")
    from sklearn_elr.plotting import LabelQualityDisplay, MemorizationDisplay, plot_memorization

    ISSUES = pd.DataFrame({"is_label_issue": Y == 1, "label_quality": np.linspace(0, 1, len(Y))})

    def quality(issues=ISSUES, **kwargs):
        return lambda: LabelQualityDisplay.from_issues(issues, **kwargs)

    CASES += [
        (
            "plot-no-records",
            lambda: plot_memorization([{"epoch": 1, "loss": 0.1}]),
            ValueError,
            "MemorizationMonitor",
        ),
        (
            "plot-no-epoch",
            lambda: plot_memorization([{"memorized": 0.1, "wrong_to_true": 0.2}]),
            ValueError,
            "epoch",
        ),
        ("display-issues-none", quality(None), TypeError, "DataFrame of find_label_issues"),
        ("display-issues-dict", quality({}), TypeError, "DataFrame of find_label_issues"),
        ("display-issues-array", quality(np.zeros((3, 4))), TypeError, "find_label_issues"),
        ("display-mask-short", quality(noise_mask=Y[:-1] == 1), ValueError, "noise_mask has shape"),
        ("display-mask-indices", quality(noise_mask=np.array([0, 5, 9])), TypeError, "np.isin"),
        (
            "display-flags-strings",
            lambda: LabelQualityDisplay(np.ones(3), np.array(["False", "True", "False"])).plot(),
            TypeError,
            "boolean mask",
        ),
        (
            "display-quality-2d",
            lambda: LabelQualityDisplay(np.ones((3, 2)), np.ones(3, bool)).plot(),
            ValueError,
            "1-D",
        ),
        (
            "display-curve-unknown",
            lambda: MemorizationDisplay([1, 2], {"acc": [0.1, 0.2]}).plot(),
            ValueError,
            "Unknown curves",
        ),
        (
            "display-curve-length",
            lambda: MemorizationDisplay([1, 2], {"memorized": [0.1]}).plot(),
            ValueError,
            "one value per record",
        ),
    ]

if HAS_TORCH:
    from sklearn_elr import ELRPlusClassifier, NoisyLabelClassifier
    from sklearn_elr.callbacks import MemorizationMonitor

    Xf = X.astype(np.float32)

    def net(cls=NoisyLabelClassifier, **params):
        small = {"lam": 1.0, "max_epochs": 1, "module__hidden_sizes": (8,), **params}
        return lambda: cls(**small).fit(Xf, Y)

    CASES += [
        ("net-max-epochs-0", net(max_epochs=0), ValueError, "max_epochs"),
        ("net-lr-nan", net(lr=NAN), ValueError, "lr"),
        ("net-beta-inf", net(beta=INF), ValueError, "beta"),
        ("net-loss", net(loss="mse"), ValueError, "loss"),
        ("net-gce-nan", net(gce_q=NAN), ValueError, "gce_q"),
        ("net-criterion", net(criterion=object), ValueError, "criterion"),
        ("net-batch-0", net(batch_size=0), ValueError, "batch_size"),
        ("net-cuda-missing", net(device="cuda"), ValueError, "CUDA"),
        ("net-meta", net(device="meta"), ValueError, "device='meta'"),
        ("net-device-typo", net(device="gpu"), ValueError, "not a torch device"),
        (
            "net-predict-meta",
            lambda: net()().set_params(device="meta").predict(Xf),
            ValueError,
            "device='meta'",
        ),
        (
            "linear-cv-missing-class",
            lambda: LinearELRClassifier(
                cv=__import__("sklearn.model_selection").model_selection.KFold(3)
            ).fit(X, Y),
            ValueError,
            "lack some classes",
        ),
        (
            "net-cv-missing-class",
            net(lam="auto", cv=__import__("sklearn.model_selection").model_selection.KFold(3)),
            ValueError,
            "lack some classes",
        ),
        (
            "net-y-short",
            lambda: NoisyLabelClassifier(lam=1.0).fit(Xf, Y[:-1]),
            ValueError,
            "inconsistent",
        ),
        (
            "net-sw-negative",
            lambda: NoisyLabelClassifier(lam=1.0).fit(Xf, Y, sample_weight=-Y),
            ValueError,
            "Negative",
        ),
        (
            "net-dataset",
            lambda: NoisyLabelClassifier(lam=1.0).fit(
                __import__("torch").utils.data.TensorDataset(__import__("torch").zeros(3)), Y
            ),
            TypeError,
            "array-like X",
        ),
        ("net-dropout-nan", net(module__dropout=NAN), ValueError, "dropout"),
        ("net-dropout-one", net(module__dropout=1.0), ValueError, "dropout"),
        ("net-hidden-zero", net(module__hidden_sizes=(0,)), ValueError, "hidden_sizes"),
        ("plus-mixup-nan", net(ELRPlusClassifier, mixup_alpha=NAN), ValueError, "mixup_alpha"),
        ("plus-ema-nan", net(ELRPlusClassifier, ema_decay=NAN), ValueError, "ema_decay"),
        ("plus-networks-3", net(ELRPlusClassifier, n_networks=3), ValueError, "n_networks"),
        ("plus-mixup-str", net(ELRPlusClassifier, mixup="no"), ValueError, "mixup"),
        ("torch-monitor-every-0", lambda: MemorizationMonitor(Y, every=0), ValueError, "every"),
        (
            "torch-monitor-X-test-alone",
            lambda: MemorizationMonitor(Y, X_test=X),
            ValueError,
            "X_test and y_test",
        ),
        (
            "torch-monitor-short",
            net(callbacks=[MemorizationMonitor(Y[:-1])]),
            ValueError,
            "y_clean",
        ),
    ]


@pytest.mark.parametrize("call, error, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_naming_the_problem(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words.lower() in str(info.value).lower(), str(info.value)


def test_the_table_is_broad():
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)


# -- nothing the user passed is modified or lost ---------------------------------


def _frozen(*arrays):
    copies = [a.copy() for a in arrays]
    for a in arrays:
        a.setflags(write=False)  # any in-place write raises
    return copies


@pytest.mark.parametrize(
    "make",
    [
        lambda: LinearELRClassifier(lam=1.0, max_iter=5),
        lambda: LinearELRClassifier(max_iter=5, cv=2),
        lambda: WithLabelNoise(LogisticRegression(), SymmetricNoise(0.2, random_state=0)),
    ],
    ids=["linear", "linear-auto", "with-noise"],
)
def test_inputs_are_never_modified(make):
    X_, y_, w_ = X.copy(), Y.copy(), np.linspace(0.5, 1.5, len(Y))
    copies = _frozen(X_, y_, w_)
    model = make().fit(X_, y_, sample_weight=w_)
    model.predict(X_)
    for a, b in zip((X_, y_, w_), copies):
        assert_array_equal(a, b)


@pytest.mark.parametrize(
    "noise",
    [SymmetricNoise(0.3), PairNoise(0.3), InstanceDependentNoise(0.3), TransitionMatrixNoise(T3)],
    ids=lambda n: type(n).__name__,
)
def test_simulators_never_modify_their_input(noise):
    X_, y_ = X.copy(), Y.copy()
    copies = _frozen(X_, y_)
    X_out, y_out = noise.set_params(random_state=0).fit_resample(X_, y_)
    assert X_out is X_
    assert y_out is not y_
    for a, b in zip((X_, y_), copies):
        assert_array_equal(a, b)


def test_a_refused_refit_leaves_the_linear_model_as_it_was():
    model = LinearELRClassifier(lam=1.0, max_iter=5).fit(X, Y)
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(model).items()}
    for bad in [
        lambda: model.fit(X[:, :2], Y[:-1]),
        lambda: model.set_params(beta=NAN).fit(X, Y),
        lambda: model.set_params(beta=0.7).fit(X, Y, sample_weight=-np.ones(len(Y))),
    ]:
        with pytest.raises(ValueError):
            bad()
    model.set_params(beta=0.7)
    assert vars(model).keys() == state.keys()
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            assert_array_equal(vars(model)[key], value)
    assert model.n_features_in_ == X.shape[1]


def test_an_interrupted_first_fit_leaves_an_unfitted_model():
    def interrupt(estimator, epoch, coef, intercept):
        raise KeyboardInterrupt

    model = LinearELRClassifier(lam=1.0, callback=interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y)
    with pytest.raises(NotFittedError):
        model.predict(X)


# -- persistence: exact round trips ----------------------------------------------


def _fitted_objects():
    yield LinearELRClassifier(lam=1.0, max_iter=5).fit(X, Y)
    yield WithLabelNoise(
        LinearELRClassifier(lam=1.0, max_iter=5), PairNoise(0.2, random_state=0)
    ).fit(X, Y)
    for noise in (
        SymmetricNoise(0.2),
        PairNoise(0.2),
        InstanceDependentNoise(0.2),
        TransitionMatrixNoise(T3),
    ):
        yield noise.set_params(random_state=0).fit(X, Y)
    yield ELRCleanLearning(
        LogisticRegression(), cleaner=LinearELRClassifier(lam=1.0, max_iter=5), random_state=0
    ).fit(X, Y)


@pytest.mark.parametrize("obj", list(_fitted_objects()), ids=lambda o: type(o).__name__)
def test_pickle_and_joblib_round_trips_are_exact(obj, tmp_path):
    path = tmp_path / "model.joblib"
    before = set(vars(obj))
    joblib.dump(obj, path)
    for restored in (pickle.loads(pickle.dumps(obj)), joblib.load(path)):
        assert type(restored) is type(obj)
        assert set(vars(obj)) == before  # saving takes nothing from the estimator
        assert set(vars(restored)) == before
        for key, value in vars(obj).items():
            if isinstance(value, np.ndarray):
                assert_array_equal(vars(restored)[key], value)
        if hasattr(obj, "predict_proba"):
            assert_array_equal(restored.predict_proba(X), obj.predict_proba(X))


def test_nullable_pandas_labels_keep_their_type():
    for labels, dtype in [
        (pd.Series(Y, dtype="Int64"), np.int64),
        (pd.Series(Y == 1, dtype="boolean"), np.bool_),
    ]:
        model = LinearELRClassifier(lam=1.0, max_iter=5).fit(X, labels)
        assert model.classes_.dtype == dtype
        assert model.predict(X).dtype == dtype


def test_binary_predict_is_the_argmax_of_predict_proba():
    model = LinearELRClassifier(lam=0.0, max_iter=5).fit(X[Y < 2], Y[Y < 2])
    model.coef_[:] = 0.0
    model.intercept_[:] = 1e-19  # probabilities 0.5 / 0.5 in float64
    proba = model.predict_proba(X)
    assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])


# -- safe persistence with skops ---------------------------------------------------


def test_skops_round_trips_trust_exactly_the_documented_types(tmp_path):
    sio = pytest.importorskip("skops.io")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_elr import SKOPS_TRUSTED_TYPES

    objects = [
        *_fitted_objects(),
        make_pipeline(StandardScaler(), LinearELRClassifier(lam=1.0, max_iter=5)).fit(X, Y),
    ]
    needed = set()
    for obj in objects:
        path = tmp_path / "model.skops"
        sio.dump(obj, path)
        untrusted = set(sio.get_untrusted_types(file=path))
        needed |= untrusted
        assert untrusted <= set(SKOPS_TRUSTED_TYPES)
        with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
            sio.load(path)  # nothing is trusted silently
        restored = sio.load(path, trusted=SKOPS_TRUSTED_TYPES)
        if hasattr(obj, "predict_proba"):
            assert_array_equal(restored.predict_proba(X), obj.predict_proba(X))
        else:
            assert_array_equal(restored.noise_mask_, obj.noise_mask_)
        if isinstance(getattr(obj, "label_issues_", None), pd.DataFrame):  # saved as its columns
            pd.testing.assert_frame_equal(restored.label_issues_, obj.label_issues_)
    assert needed == set(SKOPS_TRUSTED_TYPES)  # the list is exact: nothing unused


def test_a_failed_refit_of_with_label_noise_keeps_the_previous_pair():
    model = WithLabelNoise(
        LinearELRClassifier(lam=1.0, max_iter=5), SymmetricNoise(0.2, random_state=0)
    )
    model.fit(X, Y)
    noise, estimator = model.noise_, model.estimator_
    with pytest.raises(ValueError, match="beta"):
        model.set_params(estimator__beta=NAN).fit(X, Y)
    assert model.noise_ is noise and model.estimator_ is estimator
