"""
Keep your own model: clean the labels with ELR
==============================================

Most noisy tabular labels end up in a gradient-boosted model, not in an ELR
network. :class:`~sklearn_elr.ELRCleanLearning` lets ELR judge the labels and
fits *your* model on the cleaned data: the flagged rows dropped, relabelled,
or every row weighted by its label quality. A held-out comparison on the
noisy labels keeps plain training where cleaning would hurt.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_elr import ELRCleanLearning, LinearELRClassifier, make_symmetric_noise

X, y = load_wine(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
y_noisy, wrong = make_symmetric_noise(y_train, 0.4, random_state=0)  # test labels clean

hgb = HistGradientBoostingClassifier(max_iter=100, random_state=0)
scores = {"HGB on noisy labels": hgb.fit(X_train, y_noisy).score(X_test, y_test)}
# The linear model as the cleaner keeps this example fast; the default
# cleaner is the robust NoisyLabelClassifier().
cleaner = LinearELRClassifier(random_state=0)
for mode in ("drop", "relabel", "weight"):
    model = ELRCleanLearning(hgb, cleaner=cleaner, mode=mode, random_state=0)
    model.fit(X_train, y_noisy)
    scores[f"ELRCleanLearning\nmode={mode!r}"] = model.score(X_test, y_test)
    print(f"{mode}: cleaned={model.cleaned_}, held-out noisy accuracy {model.guard_scores_}")

flagged = model.label_issues_["is_label_issue"].to_numpy()
print(f"{flagged.sum()} labels flagged, {wrong[flagged].mean():.0%} of them really wrong")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(scores), list(scores.values()), color=["gray"] + ["tab:blue"] * 3)
for i, value in enumerate(scores.values()):
    ax.text(value + 0.005, i, f"{value:.3f}", va="center")
ax.set_xlim(0.5, 1.05)
ax.set_xlabel("clean test accuracy (40 % of training labels wrong)")
ax.invert_yaxis()
fig.tight_layout()
print({key.replace("\n", " "): round(value, 3) for key, value in scores.items()})
