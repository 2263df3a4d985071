"""Self-training the second LEM member on unlabeled tweets, on the held-out folds (session 12).

The shipped SemEval recipe trains two LEM members on the same labelled tweets (seeds 1 and
2) and blends them with the TF-IDF member. Here the second member is a *student*: after the
first member, the blend of it and the TF-IDF member (temperature on dev) labels ``--pool``
unlabeled tweets with its probabilities, and the second member (seed 2, the shipped
configuration and text pipeline) is trained on the fold's labelled tweets plus those soft
labels (binary cross-entropy against the teacher's probability; dropout and word dropout are
the student's noise, as in Noisy Student). Every E-c training tweet is left out of the pool
(``heldout_distillation.unlabeled_pool``), so no held-out tweet is in it.

For each fold the student's scores on the held-out tweets, dev and the plain sentences are
saved in ``--out``; the report then recombines them with the fold model's stored first
member and TF-IDF member exactly as the served blend does and compares, paired per fold:
the shipped pair (member 1 + member 2), member 1 + the student, and each member alone.

Usage (from the repository root; about 10 minutes per fold on 2 cores)::

    python benchmarks/experiments/heldout_self_training.py --folds DIR --data ../shared/data/semeval2018-ec \
        --out /tmp/self_training [--fold F ...] [--report]

``DIR`` holds ``model{f}`` and ``fold{f}.npz`` as written by ``heldout_cv.py --out DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "benchmarks" / "experiments"))

from demo_check import read_sentences
from heldout_cv import fold_split
from heldout_distillation import unlabeled_pool
from heldout_plain_sentences import COLUMNS, PARTS, _logit, _score, load_fold, served_blend


@dataclasses.dataclass
class _Data:
    texts: list
    labels: np.ndarray
    emotion_names: list


def train_student(folds_dir: Path, f: int, splits, pool: list[str], out: Path, rows) -> None:
    """Train fold ``f``'s student and save its scores in ``out/student{f}.npz``."""
    from lem_keras.config import load_config
    from lem_keras.ensemble import LatentEmotionEnsemble
    from lem_keras.training import _train, finalize, load_artifacts, predict_scores

    first, member_pipeline = load_artifacts(folds_dir / f"model{f}" / "members" / "1")
    fitting, held = fold_split(splits.train, 5, f, 20261126)
    model, ensemble_pipeline = load_artifacts(folds_dir / f"model{f}")
    teacher = LatentEmotionEnsemble.from_members([first], tfidf=model.tfidf, tfidf_weight=model.tfidf_weight)
    finalize(teacher, ensemble_pipeline, splits.dev)
    start = time.time()
    soft = predict_scores(teacher, ensemble_pipeline, pool, batch_size=512)
    print(f"fold {f}: teacher labelled {len(pool)} tweets in {time.time() - start:.0f} s "
          f"(mean probability {soft.mean():.3f})", flush=True)
    config = load_config(folds_dir / f"model{f}" / "members" / "2" / "config.json")
    data = _Data(list(fitting.texts) + list(pool), np.concatenate([fitting.labels, soft]).astype("float32"),
                 list(fitting.emotion_names))
    start = time.time()
    result = _train(config, data, splits.dev, None, 2, None, print, None, pipeline=member_pipeline)
    print(f"fold {f}: student trained in {time.time() - start:.0f} s", flush=True)
    texts = {"held": held.texts, "dev": splits.dev.texts, "sent": [text for text, _ in rows]}
    np.savez(out / f"student{f}.npz", **{p: predict_scores(result.model, member_pipeline, list(t))
                                         for p, t in texts.items()})


def report(folds_dir: Path, out: Path, splits, rows) -> int:
    results: dict[str, list] = {}
    for path in sorted(out.glob("student*.npz")):
        f = int(path.stem[7:])
        student = dict(np.load(path))
        fold = load_fold(folds_dir, f, splits, rows)
        model, gold, y_held, y_dev, members = fold.model, fold.gold, fold.y_held, fold.y_dev, fold.members
        features = fold.features
        tfidf = {p: np.asarray(model.tfidf((x["tfidf_ids"], x["tfidf_values"]))) for p, x in features.items()}
        w = float(model.tfidf_weight)

        def served(parts, w=w, tfidf=tfidf, y_dev=y_dev):
            lem = {p: np.mean([m[p] for m in parts], axis=0) for p in PARTS}
            evidence = {p: lem[p].max(axis=1, keepdims=True) > 0 for p in PARTS}
            z = {p: (1 - w) * _logit(lem[p]) + w * tfidf[p] for p in PARTS}
            return served_blend(z, y_dev, evidence)

        variants = {"shipped: member 1 + member 2 + TF-IDF": served(members),
                    "member 1 + student + TF-IDF": served([members[0], student]),
                    "member 1 + student + TF-IDF, w 0.15": served([members[0], student], 0.15),
                    "student + TF-IDF": served([student]),
                    "member 1 + member 2 + student + TF-IDF": served(members + [student]),
                    "member 2 alone": {p: members[1][p] for p in PARTS},
                    "student alone": {p: student[p] for p in PARTS}}
        for label, scores in variants.items():
            results.setdefault(label, []).append(_score(y_held, y_dev, scores, gold))
    emotional = sum(1 for _, accepted in rows if accepted)
    n = len(next(iter(results.values())))
    print(f"{n} folds; mean (± std over folds); plain top-1 per fold model")
    print(f"| variant | plain top-1 (of {emotional}) | held top-1 | " + " | ".join(COLUMNS) + " |")
    print("|---" * (3 + len(COLUMNS)) + "|")
    for label, values in results.items():
        v = np.asarray(values, dtype="float64")
        print(f"| {label} | {', '.join(str(int(x)) for x in v[:, 0])} | {v[:, 1].mean():.3f} | "
              + " | ".join(f"{m:.4f} ± {s:.4f}" for m, s in zip(v[:, 2:].mean(0), v[:, 2:].std(0))) + " |")
    base = np.asarray(results["shipped: member 1 + member 2 + TF-IDF"], dtype="float64")
    for label in ("member 1 + student + TF-IDF", "member 1 + member 2 + student + TF-IDF"):
        d = np.asarray(results[label], dtype="float64") - base
        print(f"paired, {label} - shipped: "
              + ", ".join(f"{c} {m:+.4f} ± {s:.4f}"
                          for c, m, s in zip(COLUMNS, d[:, 2:].mean(0), d[:, 2:].std(0)))
              + f"; plain top-1 {d[:, 0].mean():+.1f}")
    return 0


def main(argv=None) -> int:
    from lem_keras.training import load_splits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True, help="where the students' scores are saved")
    parser.add_argument("--unlabeled", help="default: {data}/../unlabeled/tweets-en.txt")
    parser.add_argument("--pool", type=int, default=5500,
                        help="unlabeled tweets the student also learns from")
    parser.add_argument("--fold", type=int, action="append", help="train only these folds' students")
    parser.add_argument("--report", action="store_true", help="only report the saved students")
    args = parser.parse_args(argv)
    folds_dir, out = Path(args.folds), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    splits = load_splits(args.data, "semeval")
    rows = read_sentences()
    if not args.report:
        unlabeled = Path(args.unlabeled or Path(args.data).parent / "unlabeled" / "tweets-en.txt")
        pool = unlabeled_pool(unlabeled, splits.train.texts, args.pool)
        for f in args.fold or range(5):
            if not (out / f"student{f}.npz").exists():
                train_student(folds_dir, f, splits, pool, out, rows)
    return report(folds_dir, out, splits, rows)


if __name__ == "__main__":
    raise SystemExit(main())
