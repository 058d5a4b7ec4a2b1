# SPDX-License-Identifier: BSD-3-Clause
"""Early learning, memorization and label-issue detection.

Run ``python benchmarks/bench_diagnostics.py [--quick]``; writes
``benchmarks/results/diagnostics.md``. Needs cleanlab (benchmark-only
dependency: ``pip install sklearn-elr[benchmarks]``).

1. The paper's theory experiment with ``LinearELRClassifier``: p = 1000,
   n = 1100, sigma = 0.2, noise 0.4 (fair coin: about 20 % wrong), full-batch
   gradient descent with step 0.5, no L2, no intercept, 2e4 iterations, logged
   at log-spaced iterations; ``lam=0`` against ``lam=3, beta=0.7``, clean test
   set of 5000.
2. Label issues on digits with 20 % and 40 % symmetric noise: precision,
   recall and F1 against the true noise mask for ELR's ``label_issues_``
   (``argmax(targets) != given label``) and for cleanlab's
   ``find_label_issues`` fed 5-fold out-of-sample probabilities from
   ``LogisticRegression``.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_elr import LinearELRClassifier, find_label_issues, make_symmetric_noise
from sklearn_elr.datasets import make_early_learning_problem
from sklearn_elr.diagnostics import LinearMemorizationMonitor


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--part", choices=("all", "label_issues"), default="all")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    iterations = 2_000 if args.quick else 20_000
    parts = ["# Diagnostics benchmark"]
    if args.part == "all":
        for seed in (0,) if args.quick else (0, 1):
            parts.append(theory_section(seed, iterations))
    parts.append(label_issue_section(range(1) if args.quick else range(3)))
    report = "\n\n".join(parts) + "\n"
    print(report)
    if not args.quick:
        name = "diagnostics.md" if args.part == "all" else "label_issues.md"
        out = Path(__file__).parent / "results" / name
        out.parent.mkdir(exist_ok=True)
        out.write_text(report)


def theory_section(seed, iterations):
    train = make_early_learning_problem(1100, 1000, sigma=0.2, noise=0.4, random_state=seed)
    test = make_early_learning_problem(5000, 1000, sigma=0.2, noise=0.0, random_state=seed + 100)
    log_epochs = np.unique(np.geomspace(1, iterations, 12).astype(int))
    histories, seconds = {}, {}
    for name, lam in (("CE", 0.0), ("ELR", 3.0)):
        monitor = LinearMemorizationMonitor(
            train.X, train.y, train.y_clean, test.X, test.y_clean, every=log_epochs
        )
        start = time.perf_counter()
        clf = LinearELRClassifier(
            lam=lam, beta=0.7, alpha=0.0, solver="gd", learning_rate=0.5,
            batch_size=None, fit_intercept=False, max_iter=iterations, tol=None,
            callback=monitor,
        ).fit(train.X, train.y)  # fmt: skip
        seconds[name] = time.perf_counter() - start
        histories[name] = {r["epoch"]: r for r in clf.history_ if "memorized" in r}
    rows = []
    for epoch in log_epochs:
        cells = []
        for name in ("CE", "ELR"):
            r = histories[name][epoch]
            cells += [f"{r['wrong_to_true']:.2f}", f"{r['memorized']:.2f}", f"{r['test_acc']:.3f}"]
        rows.append(f"| {epoch} | " + " | ".join(cells) + " |")
    return "\n".join(
        [
            f"Theory experiment, seed {seed}: {train.noise_mask.mean():.1%} wrong labels; "
            f"fit time CE {seconds['CE']:.1f} s, ELR {seconds['ELR']:.1f} s.\n",
            "| iteration | CE wrong→true | CE memorized | CE test | ELR wrong→true | "
            "ELR memorized | ELR test |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )


def _scores(flagged, mask):
    return (
        precision_score(mask, flagged, zero_division=0),
        recall_score(mask, flagged),
        f1_score(mask, flagged),
    )


def label_issue_section(seeds):
    from cleanlab.filter import find_label_issues as cleanlab_find_label_issues

    from sklearn_elr import NoisyLabelClassifier

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    rows = []
    for rate in (0.2, 0.4):
        results = {}
        for seed in seeds:
            y_noisy, mask = make_symmetric_noise(y, rate, random_state=seed)
            linear = LinearELRClassifier(random_state=seed)
            cv = StratifiedKFold(5, shuffle=True, random_state=seed)
            ours = {
                "ELR network, targets": find_label_issues(
                    NoisyLabelClassifier(random_state=seed), X.astype(np.float32), y_noisy
                ),
                "LinearELR, targets": find_label_issues(linear, X, y_noisy),
                "LinearELR, 5-fold": find_label_issues(linear, X, y_noisy, cv=cv),
                "LogisticRegression, 5-fold": find_label_issues(lr, X, y_noisy, cv=cv),
            }
            for name, issues in ours.items():
                flagged = issues["is_label_issue"].to_numpy()
                results.setdefault(f"find_label_issues: {name}", []).append(_scores(flagged, mask))
            # cleanlab on the same out-of-sample probabilities and model families.
            for name, model in (("LinearELR", linear), ("LogisticRegression", lr)):
                proba = cross_val_predict(model, X, y_noisy, cv=cv, method="predict_proba")
                flagged = cleanlab_find_label_issues(labels=y_noisy, pred_probs=proba)
                results.setdefault(f"cleanlab: {name}, 5-fold", []).append(_scores(flagged, mask))
        for name, scores in results.items():
            p, r, f = np.mean(scores, axis=0)
            rows.append(f"| {rate:.0%} | {name} | {p:.3f} | {r:.3f} | {f:.3f} |")
    return "\n".join(
        [
            f"Label issues on digits (1797 labels), symmetric noise that may keep the "
            f"true class, mean over {len(seeds)} seeds. ``sklearn_elr.find_label_issues`` "
            "(in-sample ELR targets, or 5-fold out-of-sample probabilities with the "
            "predicted != given rule) against ``cleanlab.filter.find_label_issues`` fed the "
            "same 5-fold probabilities of the same models.\n",
            "| noise | method | precision | recall | F1 |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )


if __name__ == "__main__":
    main()
