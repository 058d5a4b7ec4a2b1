# SPDX-License-Identifier: BSD-3-Clause
"""Plots of training diagnostics, the scikit-learn way (Display objects).

:class:`MemorizationDisplay` draws early learning and memorization (the
paper's Fig. 1); :class:`LabelQualityDisplay` draws the ranked label quality
with the flagged labels. Like :class:`sklearn.metrics.ConfusionMatrixDisplay`:
build from an estimator (``from_estimator``) or from data (``from_history``,
``from_issues``), then ``plot(ax=...)`` stores ``ax_``, ``figure_`` and the
artists. matplotlib is imported when drawing only.
"""

import numpy as np

from .diagnostics import final_step

__all__ = ["LabelQualityDisplay", "MemorizationDisplay", "plot_memorization"]

# Curve key -> (label, colour, line style, marker). Styles and markers differ
# so that curves that coincide (memorized and clean accuracy both near 1)
# stay visible; the later ones are drawn thinner, on top.
_CURVES = {
    "wrong_to_true": ("wrong labels: predicted true class", "tab:green", "-", "o"),
    "memorized": ("wrong labels: predicted given label (memorized)", "tab:red", "-", "s"),
    "clean_acc": ("correct labels: accuracy", "tab:blue", "--", "^"),
    "test_acc": ("clean test accuracy", "black", ":", "x"),
}


def _mask(values, name, n_rows):
    """A boolean mask of ``n_rows`` entries, refused by name otherwise.

    Index arrays, strings and 0/1 floats are not masks: ``np.asarray(...,
    dtype=bool)`` would turn them into wrong masks silently.
    """
    mask = np.asarray(values)
    if mask.dtype != bool:
        raise TypeError(
            f"{name} must be a boolean mask, one entry per label, got dtype {mask.dtype}"
            + (" (index arrays: build a mask with np.isin(np.arange(n), indices))."
               if mask.dtype.kind in "iu" else ".")
        )  # fmt: skip
    if mask.shape != (n_rows,):
        raise ValueError(f"{name} has shape {mask.shape}; expected ({n_rows},), one per label.")
    return mask


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    return ax


class MemorizationDisplay:
    """Early learning and memorization curves over epochs.

    Build with :meth:`from_history` or :meth:`from_estimator`, or from
    arrays, then :meth:`plot`.

    Parameters
    ----------
    epochs : array-like of shape (n_records,)
    curves : dict of str -> array-like of shape (n_records,)
        Any of ``wrong_to_true``, ``memorized``, ``clean_acc``, ``test_acc``
        (:func:`~sklearn_elr.diagnostics.memorization_scores`).
    title : str, default=None

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict of str -> matplotlib Line2D
    """

    def __init__(self, epochs, curves, *, title=None):
        self.epochs = epochs
        self.curves = curves
        self.title = title

    def _check(self):
        if not isinstance(self.curves, dict) or not self.curves:
            raise TypeError(
                f"curves must be a non-empty dict of name -> values, got {self.curves!r}."
            )
        unknown = sorted(set(self.curves) - set(_CURVES))
        if unknown:
            raise ValueError(f"Unknown curves {unknown}; expected some of {list(_CURVES)}.")
        epochs = np.asarray(self.epochs)
        for key, values in self.curves.items():
            if np.shape(values) != epochs.shape or epochs.ndim != 1:
                raise ValueError(
                    f"curve {key!r} has shape {np.shape(values)}; epochs has {epochs.shape} "
                    "(both one value per record)."
                )
        return epochs

    @classmethod
    def from_history(cls, history, *, title=None, ax=None):
        """Plot the records of a memorization monitor.

        Parameters
        ----------
        history : sequence of dict
            ``estimator.history_`` (:class:`~sklearn_elr.diagnostics.LinearMemorizationMonitor`)
            or ``net.history`` (:class:`~sklearn_elr.callbacks.MemorizationMonitor`).
        title : str, default=None
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : MemorizationDisplay
        """
        records = [r for r in history if "memorized" in r]
        if not records:
            raise ValueError(
                f"history {title or ''!r} has no memorization records; train with a "
                "MemorizationMonitor."
            )
        needed = {"epoch"} | {key for key in _CURVES if key in records[0]}
        missing = sorted(key for key in needed if any(key not in r for r in records))
        if missing:
            raise ValueError(f"history {title or ''!r} lacks {missing} in its records.")
        curves = {key: [r[key] for r in records] for key in _CURVES if key in needed}
        display = cls([r["epoch"] for r in records], curves, title=title)
        return display.plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, *, title=None, ax=None):
        """Plot the memorization records of a fitted estimator.

        Parameters
        ----------
        estimator : fitted estimator
            Its ``history_`` (linear) or ``history`` (networks) holds the
            monitor's records.
        title : str, default=None
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : MemorizationDisplay
        """
        history = getattr(estimator, "history_", None)
        if history is None:
            history = getattr(estimator, "history", None)
        if history is None:
            raise ValueError(f"{type(estimator).__name__} has no training history.")
        return cls.from_history(history, title=title, ax=ax)

    def plot(self, ax=None, *, title=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        title : str, default=None
            Overrides the display's title.

        Returns
        -------
        display : MemorizationDisplay
        """
        epochs = self._check()
        ax = _axes(ax)
        self.lines_ = {}
        marks = max(len(epochs) // 10, 1)
        for width, key in zip((2.6, 2.0, 1.5, 1.2), [k for k in _CURVES if k in self.curves]):
            label, color, style, marker = _CURVES[key]
            (self.lines_[key],) = ax.plot(
                epochs, np.asarray(self.curves[key]), linestyle=style, color=color,
                marker=marker, markevery=marks, markersize=4, linewidth=width, label=label,
            )  # fmt: skip
        ax.set_xlabel("epoch")
        ax.set_ylabel("fraction")
        ax.set_ylim(-0.02, 1.02)
        if len(epochs) > 1 and epochs[-1] / max(epochs[0], 1) > 50:
            ax.set_xscale("log")
        ax.set_title(title if title is not None else (self.title or ""))
        ax.legend(loc="best", fontsize="small")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class LabelQualityDisplay:
    """The given labels ranked by quality, with the flagged ones marked.

    Parameters
    ----------
    label_quality : array-like of shape (n_samples,)
        Low means likely wrong (NaN rows are left out).
    is_label_issue : array-like of shape (n_samples,) of bool
    noise_mask : array-like of shape (n_samples,) of bool, default=None
        The labels known to be wrong (a simulation), drawn as a rug.

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
    line_ : matplotlib Line2D (the ranked quality)
    flagged_ : matplotlib PathCollection (the flagged labels)
    """

    def __init__(self, label_quality, is_label_issue, *, noise_mask=None):
        self.label_quality = label_quality
        self.is_label_issue = is_label_issue
        self.noise_mask = noise_mask

    @classmethod
    def from_issues(cls, issues, *, noise_mask=None, ax=None):
        """From the DataFrame of :func:`~sklearn_elr.find_label_issues`.

        Returns
        -------
        display : LabelQualityDisplay
        """
        columns = getattr(issues, "columns", None)
        if columns is None or not {"label_quality", "is_label_issue"} <= set(columns):
            raise TypeError(
                "issues must be the DataFrame of find_label_issues (columns "
                f"'label_quality' and 'is_label_issue'), got {type(issues).__name__}."
            )
        display = cls(
            issues["label_quality"].to_numpy(), issues["is_label_issue"].to_numpy(),
            noise_mask=noise_mask,
        )  # fmt: skip
        return display.plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, *, noise_mask=None, ax=None):
        """From a fitted ELR estimator's ``label_quality_`` and ``label_issues_``.

        Returns
        -------
        display : LabelQualityDisplay
        """
        final = final_step(estimator)  # a pipeline's classifier
        if not hasattr(final, "label_quality_"):
            raise ValueError(
                f"{type(final).__name__} has no label_quality_; fit an ELR "
                "estimator, or use find_label_issues and from_issues."
            )
        display = cls(final.label_quality_, final.label_issues_, noise_mask=noise_mask)
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the ranked quality.

        Parameters
        ----------
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : LabelQualityDisplay
        """
        quality = np.asarray(self.label_quality, dtype=float)
        if quality.ndim != 1:
            raise ValueError(
                f"label_quality must be 1-D, one value per label; got shape {quality.shape}."
            )
        flagged = _mask(self.is_label_issue, "is_label_issue", len(quality))
        noise_mask = None
        if self.noise_mask is not None:
            noise_mask = _mask(self.noise_mask, "noise_mask", len(quality))
        kept = ~np.isnan(quality)
        order = np.argsort(quality[kept], kind="stable")
        ranked, ranked_flags = quality[kept][order], flagged[kept][order]
        ranks = np.arange(len(ranked))
        ax = _axes(ax)
        (self.line_,) = ax.plot(
            ranks, ranked, color="tab:blue", linewidth=1.5, label="label quality"
        )
        self.flagged_ = ax.scatter(
            ranks[ranked_flags], ranked[ranked_flags], s=8, color="tab:red", zorder=3,
            label=f"flagged ({ranked_flags.sum()})",
        )  # fmt: skip
        if noise_mask is not None:
            wrong = noise_mask[kept][order]
            ax.plot(ranks[wrong], np.full(wrong.sum(), -0.04), "|", color="black",
                    markersize=6, label=f"known wrong ({wrong.sum()})")  # fmt: skip
        ax.set_xlabel("labels, ranked by quality")
        ax.set_ylabel("quality of the given label")
        ax.set_ylim(-0.08, 1.02)
        ax.legend(loc="lower right", fontsize="small")
        self.ax_, self.figure_ = ax, ax.figure
        return self


def plot_memorization(history, ax=None):
    """Memorization curves of one history, or of several side by side.

    Parameters
    ----------
    history : sequence of dict, or dict of name -> sequence of dict
        A dict such as ``{"CE": h1, "ELR": h2}`` draws one panel each.
    ax : matplotlib Axes or array of Axes, default=None

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
        MemorizationDisplay.from_history(records, title=title, ax=axis)
    return axes
