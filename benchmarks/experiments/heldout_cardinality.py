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
sys.path.insert(0, str(REPO / "benchmarks" / "experiments"))

from heldout_decoding import print_decision_probes


def top_k(probabilities: np.ndarray, k: np.ndarray) -> np.ndarray:
    """0/1 ``(N, K)``: each row's ``k[i]`` most probable emotions."""
    ranks = np.argsort(np.argsort(-probabilities, axis=1), axis=1)
    return (ranks < np.asarray(k)[:, None]).astype(int)


def _features(probabilities: np.ndarray) -> np.ndarray:
    return np.c_[-np.sort(-probabilities, axis=1), probabilities.sum(axis=1)]


def probe(fold) -> dict[str, np.ndarray]:
    """The top-k decisions of one fold's held-out texts."""
    from sklearn.linear_model import LogisticRegression

    y, p, y_dev, p_dev = fold["held_labels"], fold["held"], fold["dev_labels"], fold["dev"]
    counts = LogisticRegression(max_iter=5000).fit(_features(p_dev), np.clip(y_dev.sum(axis=1), 0, 5))
    return {
        "top-k, k the true number (oracle)": top_k(p, y.sum(axis=1)),
        "top-k, k predicted by LR fitted on dev": top_k(p, counts.predict(_features(p))),
        "top-k, k the rounded sum of the probabilities":
            top_k(p, np.clip(np.rint(p.sum(axis=1)), 0, 6).astype(int)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default=str(REPO / "results" / "heldout" / "semeval"))
    args = parser.parse_args(argv)
    print_decision_probes(args.folds, probe, shipped_label="expected_jaccard (shipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
