"""
Noise simulators in cross-validation
====================================

Two ways to study robustness without touching the test folds:

1. ``WithLabelNoise(estimator, noise)`` for plain scikit-learn: each fit
   corrupts its own training labels; every fold is scored on the labels the
   caller passed (clean).
2. The simulators are imbalanced-learn samplers: a step of
   ``imblearn.pipeline.Pipeline`` runs at fit time only.

Both show the same curve: plain training degrades with the noise rate, ELR
much less.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_elr import LinearELRClassifier, SymmetricNoise, WithLabelNoise

X, y = load_digits(return_X_y=True)
rates = [0.0, 0.2, 0.4, 0.6]
models = {
    "LogisticRegression": LogisticRegression(max_iter=1000),
    "LinearELRClassifier (lam=3)": LinearELRClassifier(lam=3.0, random_state=0),
}
curves = {}
for name, model in models.items():
    pipe = make_pipeline(StandardScaler(), model)
    curves[name] = [
        cross_val_score(
            WithLabelNoise(pipe, SymmetricNoise(rate, random_state=0)), X, y, cv=3
        ).mean()
        for rate in rates
    ]
    print(name, [f"{s:.3f}" for s in curves[name]])

# %%
# The same with imbalanced-learn's Pipeline, the simulator as a step.
try:
    from imblearn.pipeline import make_pipeline as make_imb_pipeline
except ImportError:
    print("imbalanced-learn is not installed")
else:
    pipe = make_imb_pipeline(
        SymmetricNoise(0.4, random_state=0), StandardScaler(), LogisticRegression(max_iter=1000)
    )
    print(f"imblearn Pipeline, LR at 40 %: {cross_val_score(pipe, X, y, cv=3).mean():.3f}")

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
for name, scores in curves.items():
    ax.plot(rates, scores, marker="o", label=name)
ax.set_xlabel("symmetric noise rate of the training labels")
ax.set_ylabel("accuracy on clean folds")
ax.legend()
fig.tight_layout()
