"""
Quickstart: ELR against plain training on noisy labels
======================================================

Digits with 40 % of the training labels redrawn at random (the test labels
stay clean). Plain logistic regression fits the wrong labels; ELR keeps its
early predictions, chooses λ on held-out noisy labels (``lam="auto"``), and
flags the labels it disagrees with.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_elr import LinearELRClassifier, make_symmetric_noise

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
y_noisy, wrong = make_symmetric_noise(y_train, 0.4, random_state=0)
print(f"{wrong.mean():.0%} of the training labels are wrong")

# %%
# Fit both on the noisy labels, score on the clean test labels.
models = {
    "LogisticRegression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    "LinearELRClassifier": make_pipeline(StandardScaler(), LinearELRClassifier(random_state=0)),
}
scores = {name: model.fit(X_train, y_noisy).score(X_test, y_test) for name, model in models.items()}
for name, score in scores.items():
    print(f"{name:22s} clean test accuracy {score:.3f}")

elr = models["LinearELRClassifier"][-1]
print(f"chosen lam: {elr.lam_}")

# %%
# The labels ELR flags (its targets disagree with them) are mostly the wrong ones.
flagged = elr.label_issues_
print(f"flagged {flagged.sum()} labels; {wrong[flagged].mean():.0%} of them are wrong")

fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(list(scores), list(scores.values()), color=["tab:gray", "tab:green"])
ax.set_ylim(0, 1)
ax.set_ylabel("clean test accuracy")
ax.set_title("40 % symmetric label noise")
fig.tight_layout()
