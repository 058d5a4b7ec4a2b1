# SPDX-License-Identifier: BSD-3-Clause
"""Keep your own model: ELRCleanLearning against cleanlab's CleanLearning.

Run ``python benchmarks/bench_clean.py [--seeds 2] [--tables iris,...]``. On the robustness
suite's four real tables and its six network noise settings, side by side in
one run, clean test labels, with ``HistGradientBoostingClassifier`` (and
``LogisticRegression``, ``--estimators hgb,lr``) as the user's model:

- the model on the noisy labels;
- cleanlab's ``CleanLearning(model)`` (5-fold out-of-sample pruning);
- ``ELRCleanLearning(model, mode=...)`` for each mode, with the default
  cleaner (``NoisyLabelClassifier()``), fitted once per case and seed and
  shared by the modes (``cv="prefit"``); the guard on.

Reports each one's mean accuracy, how often ``ELRCleanLearning``'s default
mode is within 0.5 point of ``CleanLearning`` and within 1 point of the plain
model, and the fit time of the default against one cleaner fit plus the
plain model's fit. Writes ``benchmarks/results/clean.md``.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from suite import REGIMES, add_noise

from sklearn_elr import ELRCleanLearning, NoisyLabelClassifier

RESULTS = Path(__file__).parent / "results"
TABLES = ["iris", "wine", "breast_cancer", "digits"]
CASES = [("symmetric", 0.2), ("symmetric", 0.4), ("symmetric", 0.6),
         ("pair", 0.4), ("instance", 0.4), ("transition", 0.4)]  # fmt: skip
MODES = ("drop", "relabel", "weight")
DEFAULT = "relabel"
ESTIMATORS = {
    "hgb": lambda seed: HistGradientBoostingClassifier(random_state=seed),
    "lr": lambda seed: LogisticRegression(max_iter=1000),
}


def _timed(model, X, y):
    """``model`` fitted on ``X, y``, and the seconds it took."""
    start = time.perf_counter()
    model.fit(X, y)
    return model, time.perf_counter() - start


def run(estimator_name, seeds, tables=TABLES):
    import torch
    from cleanlab.classification import CleanLearning

    torch.set_num_threads(1)
    make = ESTIMATORS[estimator_name]
    names = ["plain", "CleanLearning", *MODES]
    rows, summary = [], {"vs_cl": [], "vs_plain": [], "time_ratio": [], "downstream": []}
    for table in tables:
        for kind, rate in CASES:
            acc = {name: [] for name in names}
            for seed in seeds:
                X_tr, X_te, y_tr, y_te = REGIMES[table](seed)
                X_tr, X_te = X_tr.astype(np.float32), X_te.astype(np.float32)
                y_noisy = add_noise(kind, X_tr, y_tr, rate, seed)
                plain, plain_s = _timed(make(seed), X_tr, y_noisy)
                acc["plain"].append(plain.score(X_te, y_te))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cl = CleanLearning(make(seed), seed=seed, verbose=False)
                    acc["CleanLearning"].append(cl.fit(X_tr, y_noisy).score(X_te, y_te))
                cleaner, cleaner_s = _timed(NoisyLabelClassifier(random_state=seed), X_tr, y_noisy)
                for mode in MODES:
                    model, model_s = _timed(
                        ELRCleanLearning(
                            make(seed), cleaner=cleaner, cv="prefit", mode=mode, random_state=seed
                        ),
                        X_tr,
                        y_noisy,
                    )
                    acc[mode].append(model.score(X_te, y_te))
                    if mode == DEFAULT:
                        summary["time_ratio"].append((cleaner_s + model_s) / (cleaner_s + plain_s))
                        # The cleaner is prefit: the rest is the guard and the final fit.
                        summary["downstream"].append(model_s / plain_s)
            mean = {name: float(np.mean(values)) for name, values in acc.items()}
            summary["vs_cl"].append(mean[DEFAULT] - mean["CleanLearning"])
            summary["vs_plain"].append(mean[DEFAULT] - mean["plain"])
            rows.append(
                f"| {table} | {kind} | {rate:.0%} | "
                + " | ".join(f"{mean[name]:.3f}" for name in names)
                + f" | {summary['vs_cl'][-1]:+.3f} |"
            )
            print(rows[-1], flush=True)
    table = np.array([[float(x) for x in row.split("|")[4 : 6 + len(MODES)]] for row in rows])
    per_mode = []
    for i, mode in enumerate(MODES):
        gap_cl, gap_plain = table[:, 2 + i] - table[:, 1], table[:, 2 + i] - table[:, 0]
        per_mode.append(
            f"- {mode}: mean {table[:, 2 + i].mean():.3f}; >= CleanLearning - 0.5 point in "
            f"{np.sum(gap_cl >= -0.005)} of {len(rows)} (mean gap {gap_cl.mean():+.3f}); "
            f">= plain - 1 point in {np.sum(gap_plain >= -0.01)} (worst {gap_plain.min():+.3f})"
        )
    per_mode.append(f"- plain {table[:, 0].mean():.3f}, CleanLearning {table[:, 1].mean():.3f}")
    vs_cl, vs_plain = np.array(summary["vs_cl"]), np.array(summary["vs_plain"])
    ratio, downstream = np.array(summary["time_ratio"]), np.array(summary["downstream"])
    header = (
        f"## {estimator_name}: {len(rows)} cases x {len(seeds)} seeds\n\n"
        "| table | noise | rate | plain | CleanLearning | "
        + " | ".join(f"ELR {mode}" for mode in MODES)
        + f" | ELR {DEFAULT} - CleanLearning |\n|"
        + "---|" * (len(names) + 4)
    )
    text = (
        f"{header}\n" + "\n".join(rows) + "\n\n"
        f"ELRCleanLearning (mode={DEFAULT!r}, guard on) >= CleanLearning - 0.5 point in "
        f"{np.sum(vs_cl >= -0.005)} of {len(vs_cl)} cases (mean {vs_cl.mean():+.3f}); "
        f">= plain - 1 point in {np.sum(vs_plain >= -0.01)} of {len(vs_plain)} (worst "
        f"{vs_plain.min():+.3f}). Mean accuracy per mode: "
        + ", ".join(
            f"{mode} {np.mean([float(r.split('|')[6 + i]) for r in rows]):.3f}"
            for i, mode in enumerate(MODES)
        )
        + f". Fit time (cleaner + guarded {DEFAULT} fit) / (cleaner + plain fit): median "
        f"{np.median(ratio):.2f}, max {ratio.max():.2f}; the guarded fit without the cleaner "
        f"(cv='prefit') / the plain fit: median {np.median(downstream):.2f}, max "
        f"{downstream.max():.2f}.\n\n" + "\n".join(per_mode) + "\n"
    )
    return text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--estimators", default="hgb")
    parser.add_argument("--tables", default=",".join(TABLES), help="regimes of benchmarks/suite.py")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    tables = args.tables.split(",")
    parts = [run(name, seeds, tables) for name in args.estimators.split(",")]
    text = (
        "# Keep your own model: ELRCleanLearning against CleanLearning\n\n"
        "Robustness suite tables, clean test labels, default NoisyLabelClassifier as the "
        "cleaner; CPU, one thread.\n\n" + "\n".join(parts)
    )
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "clean.md").write_text(text)


if __name__ == "__main__":
    main()
