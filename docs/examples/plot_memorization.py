"""
Early learning and memorization, with and without ELR
=====================================================

The paper's Fig. 1 and A.1 in two panels each: the share of wrongly labelled
training examples predicted as their **true** class rises first (early
learning), then plain training **memorizes** their wrong labels. ELR keeps
the early predictions.

1. The linear model of the theory (section 3): two Gaussian clusters in
   1000 dimensions, 1100 points, 40 % of the labels replaced by a coin.
2. The default network on digits with 40 % symmetric noise.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_elr import LinearELRClassifier, make_symmetric_noise
from sklearn_elr.datasets import make_early_learning_problem
from sklearn_elr.diagnostics import LinearMemorizationMonitor
from sklearn_elr.plotting import plot_memorization

# %%
# The linear model: full-batch gradient descent, as in the theory.
train = make_early_learning_problem(1100, 1000, sigma=0.2, noise=0.4, random_state=0)
test = make_early_learning_problem(2000, 1000, sigma=0.2, noise=0.0, random_state=1)
epochs = np.unique(np.geomspace(1, 2000, 30).astype(int))
linear = {}
for name, lam in [("linear, cross-entropy", 0.0), ("linear, ELR", 3.0)]:
    monitor = LinearMemorizationMonitor(
        train.X, train.y, train.y_clean, test.X, test.y_clean, every=epochs
    )
    clf = LinearELRClassifier(
        lam=lam, alpha=0.0, solver="gd", learning_rate=0.5, batch_size=None,
        fit_intercept=False, max_iter=2000, tol=None, callback=monitor,
    ).fit(train.X, train.y)  # fmt: skip
    linear[name] = clf.history_

# %%
# The network on digits, with the skorch callback.
try:
    from sklearn_elr import NoisyLabelClassifier
    from sklearn_elr.callbacks import MemorizationMonitor
except ImportError:  # torch is optional
    network = {}
else:
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    y_noisy, _ = make_symmetric_noise(y_tr, 0.4, random_state=0)
    network = {}
    for name, loss in [("MLP, cross-entropy", "ce"), ("MLP, ELR", "elr")]:
        net = NoisyLabelClassifier(
            loss=loss, lam=3.0, max_epochs=60, random_state=0,
            callbacks=[("memo", MemorizationMonitor(y_tr, X_test=X_te, y_test=y_te))],
        ).fit(X_tr, y_noisy)  # fmt: skip
        network[name] = net.history

# %%
rows = 1 + bool(network)
fig, axes = plt.subplots(rows, 2, figsize=(10, 3.8 * rows), sharey=True, squeeze=False)
plot_memorization(linear, ax=axes[0])
if network:
    plot_memorization(network, ax=axes[1])
fig.tight_layout()
