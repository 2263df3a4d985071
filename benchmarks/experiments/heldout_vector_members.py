"""Mixing LEM members trained on two sets of word vectors, on the held-out folds (session 11).

``A`` and ``B`` are two ``benchmarks/heldout_cv.py --out`` folders of the shipped recipe, with
their fold models (``model{f}``: the committed ``results/heldout/semeval`` has only the scores),
on the same folds (two LEM members, seeds 1 and 2, and the TF-IDF member) that differ only in
their word vectors: A the shipped fastText vectors (5 epochs), B fastText vectors pre-trained
for 15 epochs (README "Session 11 experiments"). Each variant averages some of the members'
stored probabilities, blends them with A's TF-IDF member as the model does (weight 0.3 in
logit space), fits the per-emotion temperature and ``expected_jaccard`` on dev, and scores
the held-out tweets; the difference to A is paired fold by fold. The row for A recombines
A's members and must equal A's served scores (checked to 1e-4).

Usage (from the repository root; about a minute)::

    python benchmarks/experiments/heldout_vector_members.py --a DIR_A --b DIR_B \
        --data ../shared/data/semeval2018-ec
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.special import expit

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "benchmarks" / "experiments"))

from heldout_cv import fold_split
from heldout_plain_sentences import _logit

from lem_keras import calibration, decision
from lem_keras.metrics import multilabel_report

KEYS = ("hamming_loss", "ranking_loss", "micro_f1", "macro_f1", "macro_pr_auc", "jaccard")
HEADERS = ("HL↓", "RL↓", "miF1", "maF1", "AP", "Jaccard")
VARIANTS = {
    "A: shipped vectors, seeds 1 + 2": (("a", 0), ("a", 1)),
    "B: 15-epoch vectors, seeds 1 + 2": (("b", 0), ("b", 1)),
    "A seed 1 + B seed 2": (("a", 0), ("b", 1)),
    "B seed 1 + A seed 2": (("b", 0), ("a", 1)),
    "all four members": (("a", 0), ("a", 1), ("b", 0), ("b", 1)),
}


def probe_fold(a_dir: Path, b_dir: Path, f: int, splits, folds: int,
               split_seed: int) -> dict[str, list[float]]:
    from lem_keras.training import load_artifacts

    stored = {"a": dict(np.load(a_dir / f"fold{f}.npz")), "b": dict(np.load(b_dir / f"fold{f}.npz"))}
    model, pipeline = load_artifacts(a_dir / f"model{f}")
    _, held = fold_split(splits.train, folds, f, split_seed)
    y_held, y_dev = stored["a"]["held_labels"], stored["a"]["dev_labels"]
    if not np.array_equal(y_held, held.labels) or not np.array_equal(y_held, stored["b"]["held_labels"]):
        raise ValueError(f"fold {f}: the two folders do not hold the same held-out tweets")
    tfidf = {}
    for part, texts in (("held", held.texts), ("dev", splits.dev.texts)):
        x = pipeline.transform(list(texts))
        tfidf[part] = np.asarray(model.tfidf((x["tfidf_ids"], x["tfidf_values"])))
    w = float(model.tfidf_weight)
    out = {}
    for label, members in VARIANTS.items():
        lem = {p: np.mean([stored[d][f"{p}_member{k}"] for d, k in members], axis=0) for p in tfidf}
        evidence = {p: lem[p].max(axis=1, keepdims=True) > 0 for p in lem}
        z = {p: expit((1 - w) * _logit(lem[p]) + w * tfidf[p]) * evidence[p] for p in lem}
        t = calibration.fit_temperature(y_dev, z["dev"], per_emotion=True)
        scores = {p: calibration.apply_temperature(z[p], t) for p in z}
        if label.startswith("A:") and np.abs(scores["held"] - stored["a"]["held"]).max() > 1e-4:
            raise AssertionError(f"fold {f}: the recombined blend is not the served one")
        thresholds = decision.fit_rule("expected_jaccard", y_dev, scores["dev"])
        report = multilabel_report(y_held, scores["held"], thresholds, rule="expected_jaccard")
        out[label] = [report[k] for k in KEYS]
    return out


def main(argv=None) -> int:
    from lem_keras.training import load_splits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="heldout_cv.py folder of the shipped recipe")
    parser.add_argument("--b", required=True, help="the same with the other vectors")
    parser.add_argument("--data", required=True)
    parser.add_argument("--n-folds", type=int, default=5, help="heldout_cv.py's --folds")
    parser.add_argument("--split-seed", type=int, default=20261126, help="heldout_cv.py's --split-seed")
    args = parser.parse_args(argv)
    splits = load_splits(args.data, "semeval")
    results: dict[str, list] = {}
    for path in sorted(Path(args.a).glob("fold*.npz")):
        f = int(path.stem[4:])
        for label, values in probe_fold(Path(args.a), Path(args.b), f, splits, args.n_folds,
                                        args.split_seed).items():
            results.setdefault(label, []).append(values)
        print(f"fold {f} done", file=sys.stderr, flush=True)
    base = np.asarray(next(iter(results.values())))
    print("| members (expected_jaccard) | " + " | ".join(HEADERS) + " | paired against A (mean ± std) |")
    print("|---|" + "---|" * len(HEADERS) + "---|")
    for label, values in results.items():
        v = np.asarray(values)
        d = v - base
        print(f"| {label} | " + " | ".join(f"{x:.3f}" for x in v.mean(0)) + " | "
              + ", ".join(f"{h} {m:+.4f} ± {s:.4f}" for h, m, s in zip(HEADERS, d.mean(0), d.std(0))) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
