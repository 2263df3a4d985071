"""Distilling the served blend into the TF-IDF member over the unlabeled tweets (session 12).

The shipped SemEval recipe uses the 193k unlabeled tweets only for word vectors. Here the
fold model of ``benchmarks/heldout_cv.py`` (two LEM members + the TF-IDF member, temperature
on dev) labels a sample of them with its served probabilities, and the TF-IDF member is
refitted on the fold's labelled tweets plus those soft labels (each unlabeled tweet enters
each emotion's logistic regression twice: as a positive with weight ``a p`` and as a negative
with weight ``a (1 - p)``, i.e. the cross-entropy against the teacher's probability). The
refitted member replaces the shipped one in the blend, temperature and ``expected_jaccard``
are fitted on dev again, and the held-out fold and the plain sentences are scored as in
``heldout_plain_sentences.py``.

The unlabeled file holds the E-c training tweets too; every one of them (whitespace
normalised) is left out of the pool, so no held-out tweet is ever in it (dev and test were
removed from the file by its makers).

Usage (from the repository root; the teacher's scores are cached in ``--cache``)::

    python benchmarks/experiments/heldout_distillation.py --folds DIR --data ../shared/data/semeval2018-ec

``DIR`` holds ``model{f}`` and ``fold{f}.npz`` as written by ``heldout_cv.py --out DIR``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "benchmarks" / "experiments"))

from demo_check import read_sentences
from heldout_plain_sentences import COLUMNS, PARTS, _logit, _score, load_fold, served_blend
from heldout_tfidf_member import _features
from scipy.special import expit


def _normal(text: str) -> str:
    return " ".join(text.split())


def unlabeled_pool(path: Path, exclude, size: int, seed: int = 12) -> list[str]:
    """``size`` tweets drawn at random from ``path`` (one per line), none of ``exclude``."""
    excluded = {_normal(t) for t in exclude}
    with open(path, encoding="utf-8") as handle:
        pool = [line.rstrip("\n") for line in handle]
    pool = [t for t in pool if t.strip() and _normal(t) not in excluded]
    order = np.random.default_rng(seed).permutation(len(pool))[:size]
    return [pool[i] for i in sorted(order)]


def soft_logistic_regressions(x_gold, y_gold, x_soft, p_soft, weight: float, c: float = 4.0):
    """One liblinear regression per emotion on gold 0/1 labels plus soft labels ``p_soft``
    (each soft row twice, weights ``weight p`` and ``weight (1 - p)``): ``(kernel, bias)``."""
    from sklearn.linear_model import LogisticRegression

    x = sparse.vstack([x_gold, x_soft, x_soft]).tocsr()
    k = y_gold.shape[1]
    kernel, bias = np.zeros((x.shape[1], k)), np.zeros(k)
    n = x_soft.shape[0]
    for j in range(k):
        y = np.concatenate([y_gold[:, j], np.ones(n), np.zeros(n)])
        w = np.concatenate([np.ones(len(y_gold)), weight * p_soft[:, j], weight * (1 - p_soft[:, j])])
        fitted = LogisticRegression(C=c, solver="liblinear").fit(x, y, sample_weight=w)
        kernel[:, j], bias[j] = fitted.coef_[0], fitted.intercept_[0]
    return kernel, bias


def probe_fold(folds_dir: Path, f: int, splits, rows, pool, cache: Path, weights) -> dict[str, list[float]]:
    from lem_keras.training import _logistic_regressions, predict_scores

    fold = load_fold(folds_dir, f, splits, rows)
    model, pipeline, gold, fitting, y_held, y_dev = (fold.model, fold.pipeline, fold.gold, fold.fitting,
                                                      fold.y_held, fold.y_dev)
    texts = fold.texts
    w = float(model.tfidf_weight)
    lem = {part: np.mean([m[part] for m in fold.members], axis=0) for part in PARTS}
    evidence = {part: lem[part].max(axis=1, keepdims=True) > 0 for part in PARTS}
    cached = cache / f"teacher{f}_{len(pool)}.npy"
    if cached.exists():
        teacher = np.load(cached)
    else:
        start = time.time()
        teacher = predict_scores(model, pipeline, pool, batch_size=512)
        np.save(cached, teacher)
        print(f"fold {f}: teacher on {len(pool)} tweets in {time.time() - start:.0f} s", file=sys.stderr)

    def tempered(member_logits, weight):
        z = {p: (1 - weight) * _logit(lem[p]) + weight * member_logits[p] for p in PARTS}
        return served_blend(z, y_dev, evidence)

    out: dict[str, list[float]] = {}
    fit_x = _features(pipeline, fitting.texts)
    plain = {p: _features(pipeline, t) for p, t in texts.items()}
    kernel, bias = _logistic_regressions(fit_x, fitting.labels, 4.0)
    refit = {p: np.asarray(x @ kernel + bias) for p, x in plain.items()}
    out[f"shipped member (w {w:g})"] = _score(y_held, y_dev, tempered(refit, w), gold)
    out["shipped member alone (w 1)"] = _score(
        y_held, y_dev, {p: expit(refit[p]) for p in PARTS}, gold)
    pool_x = _features(pipeline, pool)
    for a in weights:
        start = time.time()
        kernel, bias = soft_logistic_regressions(fit_x, fitting.labels, pool_x, teacher, a)
        student = {p: np.asarray(x @ kernel + bias) for p, x in plain.items()}
        seconds = time.time() - start
        alone = {p: expit(student[p]) for p in PARTS}
        out[f"student a {a:g} alone (w 1)"] = _score(y_held, y_dev, alone, gold)
        for weight in (w, 0.5):
            out[f"student a {a:g}, w {weight:g}"] = _score(y_held, y_dev, tempered(student, weight), gold)
        print(f"fold {f}: student a {a:g} fitted in {seconds:.0f} s", file=sys.stderr, flush=True)
    return out


def main(argv=None) -> int:
    from lem_keras.training import load_splits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--unlabeled", help="default: {data}/../unlabeled/tweets-en.txt")
    parser.add_argument("--pool", type=int, default=30000, help="unlabeled tweets drawn")
    parser.add_argument("--weights", default="1,0.25", help="soft-label weights a, comma-separated")
    parser.add_argument("--cache", default="/tmp/distillation", help="where the teacher's scores are kept")
    parser.add_argument("--fold", type=int, action="append", help="only these folds")
    args = parser.parse_args(argv)
    folds_dir, cache = Path(args.folds), Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    splits = load_splits(args.data, "semeval")
    unlabeled = Path(args.unlabeled or Path(args.data).parent / "unlabeled" / "tweets-en.txt")
    pool = unlabeled_pool(unlabeled, splits.train.texts, args.pool)
    weights = [float(a) for a in args.weights.split(",")]
    rows = read_sentences()
    results: dict[str, list] = {}
    for path in sorted(folds_dir.glob("fold*.npz")):
        f = int(path.stem[4:])
        if args.fold and f not in args.fold:
            continue
        for label, values in probe_fold(folds_dir, f, splits, rows, pool, cache, weights).items():
            results.setdefault(label, []).append(values)
        print(f"fold {f} done", file=sys.stderr, flush=True)
    emotional = sum(1 for _, accepted in rows if accepted)
    print(f"pool: {len(pool)} unlabeled tweets")
    print(f"| variant | plain top-1 (models x {emotional}) | per model | held top-1 | "
          + " | ".join(COLUMNS) + " |")
    print("|---" * (4 + len(COLUMNS)) + "|")
    for label, values in results.items():
        v = np.asarray(values, dtype="float64")
        per_model = ", ".join(str(int(x)) for x in v[:, 0])
        print(f"| {label} | {int(v[:, 0].sum())}/{emotional * len(v)} | {per_model} | {v[:, 1].mean():.3f} | "
              + " | ".join(f"{x:.4f}" for x in v[:, 2:].mean(axis=0)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
