"""Expected-Jaccard decisions under a pairwise label dependence, on the held-out folds (session 11).

``expected_jaccard`` takes the emotions as independent given the text. This probe corrects
the independent joint with a pairwise term fitted on dev — ``P(Y | x) ∝ Π_k p_k^y_k
(1 - p_k)^(1 - y_k) exp(Σ_{j<k} W_jk y_j y_k)``, W (55 weights, L2-penalised) maximising the
dev label sets' likelihood over all 2^11 sets — and takes, per text, the top-k emotions
(k = 0..6) of highest expected Jaccard under that joint. W = 0 must reproduce the
independent sets (checked). Reads the committed fold scores of ``benchmarks/heldout_cv.py``.

Usage (from the repository root; about 2 minutes)::

    python benchmarks/experiments/heldout_label_dependence.py [--folds results/heldout/semeval]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks" / "experiments"))

from heldout_decoding import print_decision_probes

from lem_keras.layers.expected_jaccard import expected_jaccard_sets


class PairwiseJoint:
    """All label sets of K emotions and the pairwise-corrected joint over them."""

    def __init__(self, k: int):
        self.sets = np.array(list(itertools.product([0, 1], repeat=k)), dtype="float64")
        self.upper = np.triu_indices(k, 1)
        self.pairs = self.sets[:, self.upper[0]] * self.sets[:, self.upper[1]]
        self.index = 1 << np.arange(k)[::-1]

    def log_scores(self, p, w):
        p = np.clip(p, 1e-6, 1 - 1e-6)
        s = np.log(p) @ self.sets.T + np.log1p(-p) @ (1 - self.sets).T + self.pairs @ w
        return s - s.max(axis=1, keepdims=True)

    def posterior(self, p, w):
        joint = np.exp(self.log_scores(p, w))
        return joint / joint.sum(axis=1, keepdims=True)

    def fit(self, p, y, l2: float) -> np.ndarray:
        from scipy.optimize import minimize

        observed = y[:, self.upper[0]] * y[:, self.upper[1]]
        rows = (y.astype(int) * self.index).sum(axis=1)

        def loss(w):
            s = self.log_scores(p, w)
            log_z = np.log(np.exp(s).sum(axis=1))
            post = np.exp(s - log_z[:, None])
            value = -(s[np.arange(len(y)), rows] - log_z).mean() + l2 * (w**2).sum()
            gradient = -(observed - post @ self.pairs).mean(axis=0) + 2 * l2 * w
            return value, gradient

        return minimize(loss, np.zeros(len(self.upper[0])), jac=True, method="L-BFGS-B").x

    def top_k_sets(self, p, w, max_k: int = 6) -> np.ndarray:
        post = self.posterior(p, w)
        order = np.argsort(-p, axis=1)
        out = np.zeros(p.shape, dtype=bool)
        for i in range(len(p)):
            best, best_value = 0, -1.0
            for k in range(max_k + 1):
                chosen = np.zeros(p.shape[1])
                chosen[order[i, :k]] = 1
                union = ((self.sets + chosen) > 0).sum(axis=1)
                jaccard = np.where(union == 0, 1.0, (self.sets @ chosen) / np.maximum(union, 1))
                value = post[i] @ jaccard
                if value > best_value + 1e-12:
                    best, best_value = k, value
            out[i, order[i, :best]] = True
        return out


def probe(fold) -> dict[str, np.ndarray]:
    """The expected-Jaccard sets of one fold's held-out texts, independent and pairwise."""
    p, y_dev, p_dev = fold["held"], fold["dev_labels"], fold["dev"]
    joint = PairwiseJoint(p.shape[1])
    independent = np.asarray(expected_jaccard_sets(p.astype("float32")))
    if not np.array_equal(joint.top_k_sets(p, np.zeros(len(joint.upper[0]))), independent):
        raise AssertionError("W = 0 does not reproduce the independent sets")
    out = {"expected-Jaccard sets alone (independent emotions)": independent}
    for l2 in (0.01, 0.003):
        out[f"expected-Jaccard sets under the pairwise joint, L2 {l2:g}"] = joint.top_k_sets(
            p, joint.fit(p_dev, y_dev, l2))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default=str(REPO / "results" / "heldout" / "semeval"))
    args = parser.parse_args(argv)
    print_decision_probes(args.folds, probe,
                          shipped_label="`expected_jaccard` (shipped: the sets ∪ `shrunk`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
