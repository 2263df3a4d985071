"""How much the held-out check understates the shipped model: 80 % of train against all of it.

The held-out check (``benchmarks/heldout_cv.py``) trains the shipped SemEval recipe on 4/5 of
the training split (about 5,470 tweets) and scores the fifth; the default command trains on all
6,838. Both kinds of model are also scored on the same dev split, under the same rule fitted
on dev (so both are optimistic, presumably alike): the difference is what the fifth of the data the fold
models lack is worth. Reads committed files only: the fold models' dev scores
(``results/heldout/semeval/fold*.npz``) and the shipped models' (``results/runs/
semeval__lem-shipped__seed*.npz``, ``benchmarks/reproduce.py --groups shipped``).

Usage (from the repository root; seconds)::

    python benchmarks/experiments/learning_curve_dev.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from lem_keras import decision
from lem_keras.metrics import multilabel_report

KEYS = ("hamming_loss", "ranking_loss", "micro_f1", "macro_f1", "macro_pr_auc", "lrap", "jaccard")
HEADERS = ("HL↓", "RL↓", "miF1", "maF1", "AP", "LRAP", "Jaccard")


def dev_scores(labels: np.ndarray, scores: np.ndarray, rule: str) -> list[float]:
    """The dev metrics of ``scores`` under ``rule`` fitted on the same dev labels."""
    thresholds = decision.fit_rule(rule, labels, scores)
    report = multilabel_report(labels, scores, thresholds, rule=rule)
    return [report[k] for k in KEYS]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default=str(REPO / "results" / "heldout" / "semeval"))
    parser.add_argument("--runs", default=str(REPO / "results" / "runs"))
    parser.add_argument("--rule", default=decision.DEFAULT_RULE)
    args = parser.parse_args(argv)
    folds = sorted(Path(args.folds).glob("fold*.npz"))
    shipped = sorted(Path(args.runs).glob("semeval__lem-shipped__seed*.npz"))
    if not folds or not shipped:
        parser.error(f"no fold scores in {args.folds} or no shipped runs in {args.runs}")
    rows = {}
    for label, paths, labels_key, scores_key in (
        (f"fold models, 80 % of train ({len(folds)} folds)", folds, "dev_labels", "dev"),
        (f"shipped models, all of train ({len(shipped)} seeds)", shipped, "labels", "scores"),
    ):
        values = []
        for path in paths:
            stored = np.load(path)
            values.append(dev_scores(stored[labels_key], stored[scores_key], args.rule))
        rows[label] = np.asarray(values)
    print(f"| SemEval dev, `{args.rule}` fitted on dev | " + " | ".join(HEADERS) + " |")
    print("|---|" + "---|" * len(HEADERS))
    for label, values in rows.items():
        cells = (f"{m:.3f} ± {s:.3f}" for m, s in zip(values.mean(0), values.std(0)))
        print(f"| {label} | " + " | ".join(cells) + " |")
    first, second = rows.values()
    print("| all of train − 80 % | " + " | ".join(f"{d:+.4f}" for d in second.mean(0) - first.mean(0)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
