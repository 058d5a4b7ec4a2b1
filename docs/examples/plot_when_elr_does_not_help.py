"""
When ELR does not help
======================

ELR steers a model towards its early predictions, which pays where the
model would otherwise memorize the wrong labels. A weak linear model on many
rows and few features (n >> p, clean accuracy about 0.3) cannot memorize
anything: a fixed λ = 3 only holds it to its first, poor predictions.
``lam="auto"`` compares λ = 0 and smaller values on held-out noisy labels,
picks a mild one here and matches plain training; the robustness benchmark
measures this regime and the others (:ref:`robustness`).
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_elr import LinearELRClassifier, make_symmetric_noise

X, y = make_classification(
    20_000,
    40,
    n_informative=8,
    n_redundant=0,
    n_classes=8,
    n_clusters_per_class=1,
    class_sep=0.4,
    random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
y_noisy, _ = make_symmetric_noise(y_train, 0.4, random_state=0)

models = {
    "LogisticRegression": LogisticRegression(max_iter=1000),
    "ELR, lam=3": LinearELRClassifier(lam=3.0, random_state=0),
    'ELR, lam="auto"': LinearELRClassifier(random_state=0),
}
scores = {name: m.fit(X_train, y_noisy).score(X_test, y_test) for name, m in models.items()}
for name, score in scores.items():
    print(f"{name:20s} clean test accuracy {score:.3f}")
print("lam chosen by auto:", models['ELR, lam="auto"'].lam_)

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(list(scores), list(scores.values()), color=["tab:gray", "tab:red", "tab:green"])
ax.set_ylabel("clean test accuracy")
ax.set_title("weak model, n >> p, 40 % noise")
fig.tight_layout()
