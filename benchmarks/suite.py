# SPDX-License-Identifier: BSD-3-Clause
"""The robustness suite: regimes of data and kinds of label noise.

Shared by ``bench_robustness.py`` (and usable on its own): every dataset
either ships with scikit-learn or is generated here, so the suite runs
offline. Each regime returns standardised train/test splits with *clean*
labels; the noise is applied to the training labels only, by the library's
own simulators.

Regimes (``REGIMES``):

- ``iris``, ``wine``, ``breast_cancer``, ``digits``: real low-dimensional
  tables shipped with scikit-learn (a linear model cannot memorize them);
- ``weak_nggp``: n >> p where the best linear model is weak (clean accuracy
  about 0.5, 8 classes);
- ``strong_nggp``: n >> p where a linear model is strong;
- ``rff``: p > n, digits plus 2,000 random Fourier features (a linear model
  memorizes anything);
- ``sparse_text``: a sparse bag-of-words problem, 6,000 terms, 1,500 rows;
- ``many_classes``: 30 classes;
- ``imbalanced``: 4 classes with shares 70/20/7/3 %.

Noise kinds (``NOISES``): symmetric (may keep the true class, the paper's
convention), pair (class c -> c + 1), instance-dependent, and a random
transition matrix with the given mean off-diagonal mass.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.kernel_approximation import RBFSampler
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler, normalize

from sklearn_elr import (
    make_instance_noise,
    make_pair_noise,
    make_symmetric_noise,
    make_transition_noise,
)


def _split(X, y, seed, test_size=0.3):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=seed
    )
    if sp.issparse(X_tr):
        return X_tr, X_te, y_tr, y_te
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def _loader(load):
    def regime(seed):
        X, y = load(return_X_y=True)
        return _split(X, y, seed)

    return regime


def _synthetic(n_samples, n_features, n_informative, n_classes, class_sep,
               weights=None):  # fmt: skip
    def regime(seed):
        X, y = make_classification(
            n_samples, n_features, n_informative=n_informative, n_redundant=0,
            n_classes=n_classes, n_clusters_per_class=1, class_sep=class_sep,
            weights=weights, flip_y=0.0, random_state=1000 + seed,
        )  # fmt: skip
        return _split(X, y, seed, test_size=0.25)

    return regime


def _rff(seed):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    features = RBFSampler(gamma=1.0 / 64, n_components=2000, random_state=seed)
    return _split(np.hstack([X, features.fit_transform(X)]), y, seed)


def _sparse_text(seed, n_samples=1500, n_terms=6000, n_classes=5, doc_len=60):
    """Bag of words: each class prefers its own 5 % of the vocabulary."""
    rng = np.random.RandomState(2000 + seed)
    y = rng.randint(n_classes, size=n_samples)
    base = rng.dirichlet(np.full(n_terms, 0.1))
    topics = np.empty((n_classes, n_terms))
    for c in range(n_classes):
        boost = np.zeros(n_terms)
        boost[rng.choice(n_terms, n_terms // 20, replace=False)] = 1.0
        topic = base + 0.6 * boost / boost.sum()
        topics[c] = topic / topic.sum()
    counts = np.vstack([rng.multinomial(doc_len, topics[label]) for label in y])
    X = normalize(sp.csr_matrix(np.log1p(counts)))
    return _split(X, y, seed)


REGIMES = {
    "iris": _loader(load_iris),
    "wine": _loader(load_wine),
    "breast_cancer": _loader(load_breast_cancer),
    "digits": _loader(load_digits),
    "weak_nggp": _synthetic(20_000, 40, 8, 8, 0.4),
    "strong_nggp": _synthetic(20_000, 40, 20, 8, 2.0),
    "rff": _rff,
    "sparse_text": _sparse_text,
    "many_classes": _synthetic(8_000, 60, 40, 30, 2.0),
    "imbalanced": _synthetic(8_000, 20, 10, 4, 1.0, weights=[0.7, 0.2, 0.07, 0.03]),
}


def random_transition_matrix(n_classes, rate, rng):
    """``(1 - rate) I + rate R``, R's rows random over the other classes."""
    R = rng.dirichlet(np.ones(n_classes - 1), size=n_classes)
    matrix = np.zeros((n_classes, n_classes))
    for c in range(n_classes):
        matrix[c, np.arange(n_classes) != c] = rate * R[c]
        matrix[c, c] = 1.0 - rate
    return matrix


def add_noise(kind, X, y, rate, seed):
    """Noisy copy of the training labels ``y``."""
    if rate == 0:
        return y.copy()
    if kind == "symmetric":
        return make_symmetric_noise(y, rate, random_state=seed)[0]
    if kind == "pair":
        return make_pair_noise(y, rate, random_state=seed)[0]
    if kind == "instance":
        dense = X.toarray() if sp.issparse(X) else X
        return make_instance_noise(dense, y, rate, random_state=seed)[0]
    if kind == "transition":
        rng = np.random.RandomState(seed)
        classes = np.unique(y)
        matrix = random_transition_matrix(len(classes), rate, rng)
        return make_transition_noise(y, matrix, classes=classes, random_state=seed)[0]
    raise ValueError(kind)


NOISES = ("symmetric", "pair", "instance", "transition")
#: Pair noise beyond 50 % makes the wrong class the majority: not learnable.
RATES = {"symmetric": (0.2, 0.4, 0.6), "pair": (0.2, 0.4),
         "instance": (0.2, 0.4), "transition": (0.2, 0.4, 0.6)}  # fmt: skip
