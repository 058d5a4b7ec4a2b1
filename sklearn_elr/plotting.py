# SPDX-License-Identifier: BSD-3-Clause
"""Plots of training diagnostics (matplotlib is imported inside each function)."""

__all__ = ["plot_memorization"]

_CURVES = {
    "wrong_to_true": ("wrong labels: predicted true class", "tab:green", "-"),
    "memorized": ("wrong labels: predicted given label (memorized)", "tab:red", "-"),
    "clean_acc": ("correct labels: accuracy", "tab:blue", "--"),
    "test_acc": ("clean test accuracy", "black", ":"),
}


def plot_memorization(history, ax=None):
    """Draw early learning and memorization curves, as in the paper's Fig. 1.

    Parameters
    ----------
    history : sequence of dict, or dict of name -> sequence of dict
        Per-epoch records with ``epoch`` and the keys written by
        :class:`~sklearn_elr.callbacks.MemorizationMonitor` or
        :class:`~sklearn_elr.diagnostics.LinearMemorizationMonitor`
        (``net.history`` or ``estimator.history_``). A dict such as
        ``{"CE": h1, "ELR": h2}`` draws one panel each, side by side.
    ax : matplotlib Axes or array of Axes, default=None
        Where to draw (one per panel); new ones when None.

    Returns
    -------
    axes : list of matplotlib Axes
    """
    import matplotlib.pyplot as plt

    panels = history if isinstance(history, dict) else {"": history}
    if ax is None:
        _, ax = plt.subplots(
            1, len(panels), figsize=(5 * len(panels), 3.5), sharey=True, squeeze=False
        )
        axes = list(ax.ravel())
    else:
        axes = list(ax) if hasattr(ax, "__len__") else [ax]
    if len(axes) != len(panels):
        raise ValueError(f"{len(panels)} histories need {len(panels)} axes, got {len(axes)}.")
    for axis, (title, records) in zip(axes, panels.items()):
        records = [r for r in records if "memorized" in r]
        if not records:
            raise ValueError(
                f"history {title!r} has no memorization records; train with a "
                "MemorizationMonitor."
            )
        needed = {"epoch"} | {key for key in _CURVES if key in records[0]}
        missing = sorted(key for key in needed if any(key not in r for r in records))
        if missing:
            raise ValueError(f"history {title!r} lacks {missing} in its records.")
        epochs = [r["epoch"] for r in records]
        for key, (label, color, style) in _CURVES.items():
            if key in records[0]:
                axis.plot(epochs, [r[key] for r in records], style, color=color, label=label)
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.set_ylim(-0.02, 1.02)
        if len(epochs) > 1 and epochs[-1] / max(epochs[0], 1) > 50:
            axis.set_xscale("log")
    axes[0].set_ylabel("fraction")
    axes[0].legend(loc="best", fontsize="small")
    return axes
