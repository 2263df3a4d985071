"""A linear probe of word vectors for emotion (session 11): which pre-training to try in LEM.

Each tweet is the mean of its tokens' vectors (the model's own tokenizer; unknown tokens
skipped), standardised on train; one logistic regression per emotion (C = 0.5) is fitted on
SemEval train and scored on dev (macro AP, LRAP over the tweets with an emotion), and on the
plain sentences of ``benchmarks/demo_check.py`` (the most probable emotion right; 40).
A vector set is a word2vec-format file, ``glove`` (the GloVe 6B 50-d vectors of the glove
extra), or several joined by ``+`` (concatenated).

Usage (from the repository root; about a minute per set)::

    lem-keras pretrain-embeddings --input ../shared/data/unlabeled/tweets-en.txt \
        --out runs/ft15.txt --epochs 15
    python benchmarks/experiments/vector_probe.py --data ../shared/data/semeval2018-ec \
        runs/ft15.txt runs/ft15.txt+glove
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from demo_check import read_sentences


def _lookup(name: str):
    """``(width, word -> vector or None)`` of one vector set."""
    if name == "glove":
        from lem_keras.data.embeddings import load_glove

        index, vectors = load_glove()
        return vectors.shape[1], lambda w: None if w not in index else np.asarray(vectors[index[w]])
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(name)
    return kv.vector_size, lambda w: kv[w] if w in kv.key_to_index else None


def _mean_vectors(token_lists, lookups) -> np.ndarray:
    rows = []
    for tokens in token_lists:
        parts = []
        for width, look in lookups:
            found = [v for v in map(look, tokens) if v is not None]
            parts.append(np.mean(found, axis=0) if found else np.zeros(width))
        rows.append(np.concatenate(parts))
    return np.asarray(rows)


def main(argv=None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, label_ranking_average_precision_score

    from lem_keras.data.text import tokenize
    from lem_keras.training import load_splits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the SemEval-2018 E-c directory")
    parser.add_argument("vectors", nargs="+", help="vector sets (FILE, glove, or A+B)")
    args = parser.parse_args(argv)
    splits = load_splits(args.data, "semeval")
    rows = read_sentences()
    names = list(splits.train.emotion_names)
    texts = {"train": splits.train.texts, "dev": splits.dev.texts, "sent": [t for t, _ in rows]}
    tokens = {part: tokenize(list(t), "en") for part, t in texts.items()}
    y_train, y_dev = splits.train.labels, splits.dev.labels
    print("| vectors | dev AP | dev LRAP | plain top-1 (of 40) |")
    print("|---|---|---|---|")
    for name in args.vectors:
        lookups = [_lookup(part) for part in name.split("+")]
        x = {part: _mean_vectors(t, lookups) for part, t in tokens.items()}
        mean, std = x["train"].mean(axis=0), x["train"].std(axis=0) + 1e-6
        x = {part: (v - mean) / std for part, v in x.items()}
        p = {part: np.zeros((len(v), len(names))) for part, v in x.items()}
        for k in range(len(names)):
            fitted = LogisticRegression(C=0.5, max_iter=2000).fit(x["train"], y_train[:, k])
            for part, column in p.items():
                column[:, k] = fitted.predict_proba(x[part])[:, 1]
        ap = np.mean([average_precision_score(y_dev[:, k], p["dev"][:, k]) for k in range(len(names))])
        labelled = y_dev.sum(axis=1) > 0
        lrap = label_ranking_average_precision_score(y_dev[labelled], p["dev"][labelled])
        top = sum(1 for (_, gold), s in zip(rows, p["sent"]) if gold and names[int(np.argmax(s))] in gold)
        print(f"| {name} | {ap:.3f} | {lrap:.3f} | {top} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
