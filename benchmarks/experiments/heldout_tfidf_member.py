"""Probes of the TF-IDF member and of decoding on the held-out folds (session 9).

    python benchmarks/experiments/heldout_tfidf_member.py --folds DIR --data ../shared/data/semeval2018-ec

``DIR`` holds what ``benchmarks/heldout_cv.py --out DIR`` wrote for the shipped recipe:
``fold<f>.npz`` and the fold models ``model<f>/`` (not committed: about 1 GB). For each fold
the members' mean probabilities are blended with a TF-IDF member refitted here, on the fold's
fitting part, with the package's own features (``TextPipeline.fit_tfidf``) and regressions:

1. the blend weight w and the regressions' C;
2. the NRC EmoLex class counts of the text appended to the TF-IDF features (weight 1);
3. NB-LR: the features scaled per emotion by their log-count ratio;
4. decoding with w = 0.3: the top emotion added to an empty prediction; emotions under a
   fraction of the text's top probability dropped; the expected-Jaccard set united with
   ``shrunk`` at several λ.

Temperature and rules are fitted on dev as ``training.finalize`` does. Prints the mean over
folds of HL / miF1 / maF1 / Jaccard / AP.

    python benchmarks/experiments/heldout_tfidf_member.py --folds results/heldout/ren-cecps \
        --data ../shared/data/ren-cecps-sample --format ren-cecps

(``--format ren-cecps``: the committed folds of the single character model, no fold models
needed: the pipeline and the member are fitted per fold from the shipped configuration, and
the blend with w = 0.3 is scored, RL and AP included.)

    python benchmarks/experiments/heldout_tfidf_member.py --dev-blends results/runs

(the reproduction's saved SemEval dev scores: LEM seeds 0 and 1 blended with the TF-IDF
baseline and with the BiGRU (seeds 0 and 1) as well, scored out of fold on dev under
``expected_jaccard``, 5 folds x 10 repeats.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from heldout_cv import fold_split

from lem_keras import calibration, decision, metrics


def _scores(y, s, predicted) -> list[float]:
    thresholded = (metrics.hamming_loss, metrics.micro_f1, metrics.macro_f1, metrics.jaccard_accuracy)
    return [metric(y, predicted) for metric in thresholded] + [metrics.macro_pr_auc(y, s)]


def _features(pipeline, texts, lexicon=None):
    from scipy import sparse

    f = pipeline.transform(list(texts))
    ids, values = f["tfidf_ids"], f["tfidf_values"]
    x = sparse.csr_matrix((values.ravel(), (np.repeat(np.arange(len(ids)), ids.shape[1]), ids.ravel())),
                          shape=(len(ids), pipeline.featurizer.tfidf_size))
    if lexicon is None:
        return x
    names = list(lexicon)
    counts = np.zeros((len(texts), len(names)))
    for i, tokens in enumerate(pipeline.tokenize(list(texts))):
        for t in tokens:
            for c, words in enumerate(lexicon.values()):
                counts[i, c] += t in words
    counts = np.log1p(counts)
    counts /= np.maximum(np.linalg.norm(counts, axis=1, keepdims=True), 1e-9)
    return sparse.hstack([x, sparse.csr_matrix(counts)]).tocsr()


def _nb_logits(x_fit, y_fit, xs, c: float):
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    out = [np.zeros((x.shape[0], y_fit.shape[1])) for x in xs]
    binary = (x_fit > 0).astype(float)
    for k in range(y_fit.shape[1]):
        pos = np.asarray(binary[y_fit[:, k] == 1].sum(0)).ravel() + 1
        neg = np.asarray(binary[y_fit[:, k] == 0].sum(0)).ravel() + 1
        scale = sparse.diags(np.log((pos / pos.sum()) / (neg / neg.sum())))
        model = LogisticRegression(C=c, solver="liblinear").fit(x_fit @ scale, y_fit[:, k])
        for o, x in zip(out, xs):
            o[:, k] = model.decision_function(x @ scale)
    return out


def main(argv=None) -> int:
    from scipy.special import expit, logit

    from lem_keras.data.ebow import load_class_lexicon
    from lem_keras.layers.expected_jaccard import expected_jaccard_sets
    from lem_keras.training import _logistic_regressions, load_artifacts, load_splits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds")
    parser.add_argument("--data")
    parser.add_argument("--dev-blends", metavar="RUNS", help="the reproduction's runs folder (see above)")
    parser.add_argument("--lexicon", help="NRC EmoLex word-level file (default: beside the data)")
    parser.add_argument("--format", default="semeval", choices=("semeval", "ren-cecps"))
    args = parser.parse_args(argv)
    if args.dev_blends:
        return dev_blends(Path(args.dev_blends))
    if not (args.folds and args.data):
        parser.error("--folds and --data are needed (or --dev-blends)")
    if args.format == "ren-cecps":
        return ren_cecps(Path(args.folds), args.data)
    folds_dir = Path(args.folds)
    lexicon = load_class_lexicon(args.lexicon or Path(args.data).parent / "lexicons"
                                 / "NRC-Emotion-Lexicon-Wordlevel-v0.92.txt")
    lexicon = {name: set(words) for name, words in lexicon.items()}
    splits = load_splits(args.data, "semeval")
    rows: dict[str, list] = {}
    for path in sorted(folds_dir.glob("fold*.npz")):
        f = int(path.stem[4:])
        stored = dict(np.load(path))
        model, pipeline = load_artifacts(folds_dir / f"model{f}")
        fitting, held = fold_split(splits.train, 5, f, 20261126)
        y, dev_y = stored["held_labels"], stored["dev_labels"]
        lem = {part: np.mean([stored[f"{part}_member{k}"] for k in range(len(model.members))], axis=0)
               for part in ("held", "dev")}
        evidence = {part: (lem[part].max(axis=1, keepdims=True) > 0) for part in lem}
        logits = {}
        for extra in (None, "lexicon"):
            x_fit, x_held, x_dev = (_features(pipeline, t, lexicon if extra else None)
                                    for t in (fitting.texts, held.texts, splits.dev.texts))
            for c in ((1.0, 2.0, 4.0, 8.0, 16.0) if extra is None else (4.0,)):
                kernel, bias = _logistic_regressions(x_fit, fitting.labels, c)
                logits[f"C {c:g}" + (", + NRC classes" if extra else "")] = (x_held @ kernel + bias,
                                                                             x_dev @ kernel + bias)
            if extra is None:
                logits["NB-LR, C 4"] = tuple(_nb_logits(x_fit, fitting.labels, [x_held, x_dev], 4.0))
        for name, (held_logits, dev_logits) in logits.items():
            for w in ((0.2, 0.3, 0.4, 0.5, 0.6) if name == "C 4" else (0.3,)):
                blend = {part: expit((1 - w) * logit(np.clip(lem[part], 1e-6, 1 - 1e-6)) + w * z)
                         * evidence[part] for part, z in (("held", held_logits), ("dev", dev_logits))}
                t = calibration.fit_temperature(dev_y, blend["dev"], per_emotion=True)
                blend = {k: calibration.apply_temperature(v, t) * evidence[k] for k, v in blend.items()}
                thresholds = decision.shrunk(dev_y, blend["dev"])
                h = blend["held"]
                rows.setdefault(f"{name}, w {w:g}, shrunk", []).append(_scores(y, h, h >= thresholds))
                if name != "C 4" or w != 0.3:
                    continue
                base = h >= thresholds
                empty = ~base.any(axis=1) & (h.max(axis=1) > 0)
                top = h == h.max(axis=1, keepdims=True)
                fallback = base | (empty[:, None] & top)
                rows.setdefault("  + top emotion when none", []).append(_scores(y, h, fallback))
                for a in (0.3, 0.4):
                    keep = base & (h >= a * h.max(axis=1, keepdims=True))
                    rows.setdefault(f"  only p >= {a:g} x the top", []).append(_scores(y, h, keep))
                sets = np.asarray(expected_jaccard_sets(h.astype("float32")))
                for strength in (50, 100, 200, 300):
                    t_s = decision.shrunk(dev_y, blend["dev"], strength=strength)
                    rows.setdefault(f"  expected-Jaccard set ∪ shrunk λ={strength}", []).append(
                        _scores(y, h, sets | (h >= t_s)))
        print(f"fold {f} done", file=sys.stderr, flush=True)
    print("mean over folds | HL↓ | miF1 | maF1 | Jaccard | AP")
    for label, values in rows.items():
        print(f"{label:45s}", " ".join(f"{v:.3f}" for v in np.mean(values, axis=0)))
    return 0


def dev_blends(runs: Path) -> int:
    """Blends of the saved SemEval dev scores, out of fold on dev under ``expected_jaccard``."""
    from decision_rules import stratified_folds
    from scipy.special import expit, logit

    def scores(name):
        with np.load(runs / f"semeval__{name}.npz") as data:
            return data["labels"].astype(int), data["scores"].astype("float64")

    y = scores("lem__seed0")[0]

    def calibrated(s):
        return calibration.apply_temperature(s, calibration.fit_temperature(y, s, per_emotion=True))

    lem = np.mean([calibrated(scores(f"lem__seed{k}")[1]) for k in (0, 1)], axis=0)
    bigru = np.mean([calibrated(scores(f"bigru__seed{k}")[1]) for k in (0, 1)], axis=0)
    tfidf = scores("tfidf__seed0")[1]
    blends = {"LEM (2 seeds)": [(1.0, lem)], "LEM 0.7 + TF-IDF 0.3": [(0.7, lem), (0.3, tfidf)],
              "LEM 0.7 + BiGRU 0.3": [(0.7, lem), (0.3, bigru)],
              "LEM 0.6 + TF-IDF 0.25 + BiGRU 0.15": [(0.6, lem), (0.25, tfidf), (0.15, bigru)],
              "LEM 0.5 + TF-IDF 0.25 + BiGRU 0.25": [(0.5, lem), (0.25, tfidf), (0.25, bigru)]}
    print("out of fold on dev | HL↓ | miF1 | maF1 | Jaccard | AP")
    for label, parts in blends.items():
        s = expit(sum(w * logit(np.clip(p, 1e-6, 1 - 1e-6)) for w, p in parts))
        values = []
        for repeat in range(10):
            fold = stratified_folds(y, 5, np.random.default_rng([0, repeat]))
            predicted = np.zeros(y.shape, dtype=bool)
            for f in range(5):
                fit, held = fold != f, fold == f
                t = calibration.fit_temperature(y[fit], s[fit], per_emotion=True)
                s_fit, s_held = (calibration.apply_temperature(part, t) for part in (s[fit], s[held]))
                thresholds = decision.fit_rule("expected_jaccard", y[fit], s_fit)
                predicted[held] = decision.decide(s_held, thresholds, "expected_jaccard")
            values.append(_scores(y, s, predicted))
        print(f"{label:40s}", " ".join(f"{v:.3f}" for v in np.mean(values, axis=0)))
    return 0


def ren_cecps(folds_dir: Path, data: str) -> int:
    """The shipped member (C = 4, w = 0.3) on Ren-CECps's committed held-out folds."""
    from scipy.special import expit, logit

    from lem_keras.config import load_config, resolve_data_paths
    from lem_keras.training import fit_pipeline, fit_tfidf_member, load_splits

    config = resolve_data_paths(load_config("ren-cecps"), data, origin="ren-cecps configuration")
    splits = load_splits(data, "ren-cecps")
    keys = ("hamming_loss", "ranking_loss", "micro_f1", "macro_f1", "macro_pr_auc", "jaccard")
    rows: dict[str, list] = {}
    for path in sorted(folds_dir.glob("fold*.npz")):
        stored = dict(np.load(path))
        fitting, held = fold_split(splits.train, 5, int(path.stem[4:]), 20261126)
        pipeline = fit_pipeline(config, fitting)
        member = fit_tfidf_member(pipeline, fitting.texts, fitting.labels)
        y, dev_y = stored["held_labels"], stored["dev_labels"]
        for w in (0.0, 0.3):
            blend = {}
            for part, texts in (("held", held.texts), ("dev", splits.dev.texts)):
                f = pipeline.transform(list(texts))
                z = np.asarray(member((f["tfidf_ids"], f["tfidf_values"])))
                evidence = stored[part].max(axis=1, keepdims=True) > 0
                blend[part] = expit((1 - w) * logit(np.clip(stored[part], 1e-6, 1 - 1e-6)) + w * z) * evidence
                if not w:
                    blend[part] = stored[part]
            if w:
                t = calibration.fit_temperature(dev_y, blend["dev"], per_emotion=True)
                blend = {k: calibration.apply_temperature(v, t) * (stored[k].max(axis=1, keepdims=True) > 0)
                         for k, v in blend.items()}
            report = metrics.multilabel_report(y, blend["held"], decision.shrunk(dev_y, blend["dev"]))
            rows.setdefault(f"w {w:g}, shrunk", []).append([report[k] for k in keys])
    print("mean over folds | HL↓ | RL↓ | miF1 | maF1 | AP | Jaccard")
    for label, values in rows.items():
        print(f"{label:20s}", " ".join(f"{v:.3f}" for v in np.mean(values, axis=0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
