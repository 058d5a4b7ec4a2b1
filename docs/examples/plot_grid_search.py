"""
Grid search over ``lam`` and ``beta`` in a Pipeline
===================================================

``lam`` and ``beta`` are ordinary parameters: search them like any other.
The search scores on held-out folds of the *noisy* labels (the only labels a
user has); the best model is then checked on clean test labels.
``lam="auto"`` does this search over ``lam`` internally, with the number of
epochs.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_elr import LinearELRClassifier, make_pair_noise

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
y_noisy, _ = make_pair_noise(y_train, 0.3, random_state=0)  # class c -> c + 1

pipe = make_pipeline(StandardScaler(), LinearELRClassifier(random_state=0))
grid = {
    "linearelrclassifier__lam": [0.0, 1.0, 3.0, 7.0],
    "linearelrclassifier__beta": [0.5, 0.7, 0.9],
}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X_train, y_noisy)
print("best:", search.best_params_)
print(f"clean test accuracy of the best model: {search.score(X_test, y_test):.3f}")

# %%
scores = search.cv_results_["mean_test_score"].reshape(len(grid["linearelrclassifier__lam"]), -1)
fig, ax = plt.subplots(figsize=(5, 3.5))
image = ax.imshow(scores, cmap="viridis", aspect="auto")
ax.set_xticks(range(3), grid["linearelrclassifier__beta"])
ax.set_yticks(range(4), grid["linearelrclassifier__lam"])
ax.set_xlabel("beta")
ax.set_ylabel("lam")
for (i, j), value in np.ndenumerate(scores):
    ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="white", fontsize=8)
fig.colorbar(image, label="held-out accuracy on noisy labels")
fig.tight_layout()
