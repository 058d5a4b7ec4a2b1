"""
A small CNN on images with noisy labels
=======================================

:class:`~sklearn_elr.NoisyLabelClassifier` trains any torch module that
returns logits. Here a two-layer CNN on the 8x8 digit images, shaped
``(n, 1, 8, 8)``, with 40 % symmetric label noise; ELR against plain
cross-entropy (``loss="ce"``) on the same module and epochs.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_elr import NoisyLabelClassifier, make_symmetric_noise


class SmallCNN(torch.nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
        )
        self.head = torch.nn.Linear(32 * 2 * 2, n_classes)

    def forward(self, X):
        return self.head(self.features(X).flatten(1))


X, y = load_digits(return_X_y=True)
images = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
X_train, X_test, y_train, y_test = train_test_split(images, y, stratify=y, random_state=0)
y_noisy, _ = make_symmetric_noise(y_train, 0.4, random_state=0)

# %%
scores = {}
for name, loss in [("cross-entropy", "ce"), ("ELR", "elr")]:
    net = NoisyLabelClassifier(
        SmallCNN, loss=loss, lam=3.0, max_epochs=40, lr=3e-3, random_state=0
    ).fit(X_train, y_noisy)
    scores[name] = net.score(X_test, y_test)
    print(f"{name:14s} clean test accuracy {scores[name]:.3f}")

# %%
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(list(scores), list(scores.values()), color=["tab:gray", "tab:green"])
ax.set_ylim(0, 1)
ax.set_ylabel("clean test accuracy")
ax.set_title("CNN, 40 % noisy labels")
fig.tight_layout()
