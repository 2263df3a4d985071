"""Top-k decisions with a predicted number of emotions, on the held-out folds (session 11).

Each held-out tweet gets its k most probable emotions, with k:

* the true number of its emotions (an oracle: the top-k rule that knows each tweet's number;
  choosing the best k per tweet would do better still);
* predicted by a multinomial logistic regression fitted on dev, from the text's sorted
  probabilities and their sum (k in 0..5);
* the rounded sum of its probabilities (the expected number under calibration; k in 0..6);

against the shipped ``expected_jaccard`` rule fitted on dev. Reads the committed fold scores of
``benchmarks/heldout_cv.py`` (the shipped recipe's served probabilities).

Usage (from the repository root; seconds)::

    python benchmarks/experiments/heldout_cardinality.py [--folds results/heldout/semeval]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from lem_keras import decision, metrics


def _scores(y, predicted) -> list[float]:
    return [metrics.hamming_loss(y, predicted), metrics.micro_f1(y, predicted),
            metrics.macro_f1(y, predicted), metrics.jaccard_accuracy(y, predicted)]


def top_k(probabilities: np.ndarray, k: np.ndarray) -> np.ndarray:
    """0/1 ``(N, K)``: each row's ``k[i]`` most probable emotions."""
    ranks = np.argsort(np.argsort(-probabilities, axis=1), axis=1)
    return (ranks < np.asarray(k)[:, None]).astype(int)


def _features(probabilities: np.ndarray) -> np.ndarray:
    return np.c_[-np.sort(-probabilities, axis=1), probabilities.sum(axis=1)]


def main(argv=None) -> int:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default=str(REPO / "results" / "heldout" / "semeval"))
    args = parser.parse_args(argv)
    paths = sorted(Path(args.folds).glob("fold*.npz"))
    if not paths:
        parser.error(f"no fold*.npz in {args.folds}")
    rows: dict[str, list] = {}
    for path in paths:
        fold = np.load(path)
        y, p, y_dev, p_dev = fold["held_labels"], fold["held"], fold["dev_labels"], fold["dev"]
        thresholds = decision.fit_rule("expected_jaccard", y_dev, p_dev)
        rows.setdefault("expected_jaccard (shipped)", []).append(
            _scores(y, decision.decide(p, thresholds, "expected_jaccard")))
        rows.setdefault("top-k, k the true number (oracle)", []).append(_scores(y, top_k(p, y.sum(axis=1))))
        counts = LogisticRegression(max_iter=5000).fit(_features(p_dev), np.clip(y_dev.sum(axis=1), 0, 5))
        rows.setdefault("top-k, k predicted by LR fitted on dev", []).append(
            _scores(y, top_k(p, counts.predict(_features(p)))))
        rows.setdefault("top-k, k the rounded sum of the probabilities", []).append(
            _scores(y, top_k(p, np.clip(np.rint(p.sum(axis=1)), 0, 6).astype(int))))
    print(f"| decision ({len(paths)} folds, mean) | HL↓ | miF1 | maF1 | Jaccard |")
    print("|---|---|---|---|---|")
    for label, values in rows.items():
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in np.mean(values, axis=0)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
