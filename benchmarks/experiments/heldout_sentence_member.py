"""The sentence-embedding member's weight and regularisation, on the held-out folds (session 12).

    python benchmarks/experiments/heldout_sentence_member.py --folds DIR --data ../shared/data/semeval2018-ec

``DIR`` holds what ``benchmarks/heldout_cv.py --out DIR`` wrote for session 11's recipe (two LEM
members blended with the TF-IDF member, w = 0.3): ``fold<f>.npz`` and the fold models
``model<f>/`` (not committed). all-MiniLM-L6-v2 (``training.minilm_encoder``, the package's own
Keras port) embeds train, dev and the plain sentences once; for each fold a logistic regression
per emotion is fitted on the fold's fitting part (``C`` of a small grid), and its logits join the
fold model's members and TF-IDF member in the served blend
``sigmoid((a logit(LEM) + w TF-IDF + s MiniLM) / T_k)`` over a grid of weights; the temperature
and ``expected_jaccard`` are fitted on dev as ``training.finalize`` does. Prints, per variant,
the plain sentences' top emotion per fold model, the held-out metrics (mean over folds) and the
paired difference from the session-11 blend (mean ± std over folds).
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

from demo_check import read_sentences
from heldout_cv import stratified_folds
from heldout_plain_sentences import COLUMNS, PARTS, _logit, _score, served_blend

WEIGHTS = ((0.7, 0.3, 0.0), (0.6, 0.2, 0.2), (0.55, 0.3, 0.15), (0.5, 0.25, 0.25), (0.5, 0.2, 0.3),
           (0.4, 0.2, 0.4))


def main(argv=None) -> int:
    from lem_keras.data.minilm import load_minilm
    from lem_keras.training import (
        _logistic_regressions,
        load_artifacts,
        load_splits,
        minilm_encoder,
        sentence_embeddings,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split-seed", type=int, default=20261126)
    args = parser.parse_args(argv)
    folds_dir = Path(args.folds)
    splits = load_splits(args.data, "semeval")
    rows = read_sentences()
    sentences = [text for text, _ in rows]
    index = stratified_folds(np.asarray(splits.train.labels), 5, np.random.default_rng(args.split_seed))
    _, pipeline = load_artifacts(folds_dir / "model0")
    pipeline.set_wordpiece(load_minilm()[0])
    encoder = minilm_encoder(len(splits.train.emotion_names))
    embedded = {part: sentence_embeddings(encoder, pipeline, texts) for part, texts in
                (("train", splits.train.texts), ("dev", splits.dev.texts), ("sent", sentences))}
    print("embedded train, dev and the plain sentences", file=sys.stderr, flush=True)
    results: dict[str, list] = {}
    for path in sorted(folds_dir.glob("fold*.npz")):
        f = int(path.stem[4:])
        stored = dict(np.load(path))
        model, pipeline = load_artifacts(folds_dir / f"model{f}")
        names = list(model.emotion_names)
        gold = [[names.index(g) for g in accepted] for _, accepted in rows]
        y_held, y_dev = stored["held_labels"], stored["dev_labels"]
        held = index == f
        if not np.array_equal(y_held, np.asarray(splits.train.labels)[held]):
            raise ValueError(f"{path}: its held-out labels are not fold {f} of split seed {args.split_seed}")
        features = {"held": pipeline.transform([t for t, h in zip(splits.train.texts, held) if h]),
                    "dev": pipeline.transform(splits.dev.texts), "sent": pipeline.transform(sentences)}
        lem = {p: np.mean([stored[f"{p}_member{k}"] for k in range(len(model.members))], axis=0)
               for p in ("held", "dev")}
        lem["sent"] = np.mean([m.predict(features["sent"], verbose=0) for m in model.members], axis=0)
        evidence = {p: lem[p].max(axis=1, keepdims=True) > 0 for p in PARTS}
        logits = {"lem": {p: _logit(lem[p]) for p in PARTS},
                  "tfidf": {p: np.asarray(model.tfidf((x["tfidf_ids"], x["tfidf_values"])))
                            for p, x in features.items()}}
        x = {"held": embedded["train"][held], "dev": embedded["dev"], "sent": embedded["sent"]}
        for c in (1.0, 4.0):
            fit_y = np.asarray(splits.train.labels)[~held]
            kernel, bias = _logistic_regressions(embedded["train"][~held], fit_y, c, solver="lbfgs",
                                                 max_iter=2000)
            logits[f"minilm C {c:g}"] = {p: x[p] @ kernel + bias for p in PARTS}
            results.setdefault(f"MiniLM member alone, C {c:g}", []).append(
                _score(y_held, y_dev, {p: expit(logits[f"minilm C {c:g}"][p]) for p in PARTS}, gold))
            for a, w, s in WEIGHTS:
                if not s and c != 1.0:
                    continue
                z = {p: a * logits["lem"][p] + w * logits["tfidf"][p] + s * logits[f"minilm C {c:g}"][p]
                     for p in PARTS}
                scores = served_blend(z, y_dev, evidence)
                label = ("session 11: LEM 0.7, TF-IDF 0.3" if not s
                         else f"LEM {a:g}, TF-IDF {w:g}, MiniLM {s:g} (C {c:g})")
                results.setdefault(label, []).append(_score(y_held, y_dev, scores, gold))
        print(f"fold {f} done", file=sys.stderr, flush=True)
    base = np.asarray(results["session 11: LEM 0.7, TF-IDF 0.3"], dtype="float64")
    print(f"| blend ({len(base)} folds) | plain top-1 per fold model | " + " | ".join(COLUMNS)
          + " | paired Jaccard | paired miF1 | paired maF1 |")
    print("|---" * (2 + len(COLUMNS) + 3) + "|")
    for label, values in results.items():
        v = np.asarray(values, dtype="float64")
        d = v - base
        paired = [f"{d[:, k].mean():+.4f} ± {d[:, k].std():.4f}" for k in (7, 4, 5)]
        print(f"| {label} | {', '.join(str(int(t)) for t in v[:, 0])} | "
              + " | ".join(f"{m:.4f}" for m in v[:, 2:].mean(0)) + " | " + " | ".join(paired) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
