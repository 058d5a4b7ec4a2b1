"""
Finding label issues
====================

:func:`~sklearn_elr.find_label_issues` returns one row per example with
cleanlab's columns. With an ELR estimator it reads the in-sample targets (one
fit); with any other classifier it uses out-of-sample probabilities from
cross-validation. :class:`~sklearn_elr.plotting.LabelQualityDisplay` draws
the ranked quality; in a simulation the known wrong labels are marked.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_elr import LinearELRClassifier, find_label_issues, make_symmetric_noise
from sklearn_elr.plotting import LabelQualityDisplay

X, y = load_digits(return_X_y=True)
y_noisy, wrong = make_symmetric_noise(y, 0.3, random_state=0)

elr = find_label_issues(
    make_pipeline(StandardScaler(), LinearELRClassifier(lam=3.0, random_state=0)), X, y_noisy
)
oos = find_label_issues(
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), X, y_noisy, cv=5
)
print(elr.sort_values("label_quality").head())


def f1(flagged):
    tp = (flagged & wrong).sum()
    return 2 * tp / (flagged.sum() + wrong.sum())


print(
    f"F1 against the true noise: ELR targets {f1(elr['is_label_issue'].to_numpy()):.3f}, "
    f"out-of-sample LogisticRegression {f1(oos['is_label_issue'].to_numpy()):.3f}"
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
LabelQualityDisplay.from_issues(elr, noise_mask=wrong, ax=axes[0])
axes[0].set_title("ELR targets (in-sample)")
LabelQualityDisplay.from_issues(oos, noise_mask=wrong, ax=axes[1])
axes[1].set_title("LogisticRegression (5-fold)")
fig.tight_layout()
