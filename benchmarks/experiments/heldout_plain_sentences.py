"""Post-hoc probes for the plain sentences' top emotion, on the held-out fold models.

For every fold model of ``benchmarks/heldout_cv.py`` (the shipped SemEval recipe: two LEM
members and the TF-IDF member), the members' and the member's scores on the fold's held-out
tweets, on dev and on ``benchmarks/demo_sentences.tsv`` are recombined in Python (the shipped
row equals the served probabilities to 1e-6) and each variant is scored: the plain sentences'
top emotion (argmax of the probabilities, summed over the five fold models: out of 200), the
held-out tweets' top-1 precision, and the held-out metrics under ``expected_jaccard`` fitted on
dev. Variants:

* ``w``: the TF-IDF member's blend weight (shipped 0.3);
* ``w per emotion``: each emotion's own blend weight, chosen on dev with its temperature;
* ``platt``: per-emotion Platt scaling (a logit + b) fitted on dev instead of the temperature;
* ``prior a``: label-shift correction, each emotion's logit minus ``a`` x the logit of its dev
  prevalence (a = 1: the odds a uniform prior over the emotions would give);
* ``NRC``: the member refitted with the NRC EmoLex class counts beside its TF-IDF terms;
* ``balanced``: the member fitted with balanced class weights, as the TF-IDF baseline is;
* ``refit``: the member refitted on the fold's training part + dev, temperature and rule kept
  from the member fitted on the training part.

Usage (from the repository root; about 2 minutes on 2 cores)::

    python benchmarks/experiments/heldout_plain_sentences.py --folds DIR --data ../shared/data/semeval2018-ec

``DIR`` holds ``model{f}`` and ``fold{f}.npz`` as written by ``heldout_cv.py --out DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.special import expit, logit

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "benchmarks" / "experiments"))

from demo_check import read_sentences
from heldout_cv import fold_split
from heldout_tfidf_member import _features

from lem_keras import calibration, decision
from lem_keras.metrics import multilabel_report

PARTS = ("held", "dev", "sent")
COLUMNS = ("hamming_loss", "ranking_loss", "micro_f1", "macro_f1", "macro_pr_auc", "jaccard")


def _logit(p):
    return logit(np.clip(np.asarray(p, dtype="float64"), 1e-6, 1 - 1e-6))


def served_blend(z: dict, y_dev, evidence: dict) -> dict:
    """What the served ensemble answers for blended logits ``z`` ({part: (N, K)}): a per-emotion
    temperature fitted on dev (``training.finalize``), 0 for a text without evidence."""
    t = calibration.fit_temperature(y_dev, expit(z["dev"]) * evidence["dev"], per_emotion=True)
    return {p: calibration.apply_temperature(expit(z[p]) * evidence[p], t) for p in z}


def _platt(y, z):
    """Per-emotion ``(a, b)`` minimising the dev cross-entropy of ``sigmoid(a z + b)``."""
    from sklearn.linear_model import LogisticRegression

    a, b = np.ones(z.shape[1]), np.zeros(z.shape[1])
    for k in range(z.shape[1]):
        fitted = LogisticRegression(C=1e6).fit(z[:, [k]], y[:, k])
        a[k], b[k] = fitted.coef_[0, 0], fitted.intercept_[0]
    return a, b


def _per_emotion_weight(y_dev, lem_logits, member_logits, evidence):
    """Each emotion's blend weight and temperature: the pair with the lowest dev cross-entropy."""
    best = None
    for weight in np.arange(8) / 10:
        z = {p: (1 - weight) * lem_logits[p] + weight * member_logits[p] for p in PARTS}
        t = calibration.fit_temperature(y_dev, expit(z["dev"]) * evidence["dev"], per_emotion=True)
        s = {p: calibration.apply_temperature(expit(z[p]) * evidence[p], t) for p in PARTS}
        dev = np.clip(s["dev"], 1e-7, 1 - 1e-7)
        loss = -np.mean(y_dev * np.log(dev) + (1 - y_dev) * np.log1p(-dev), axis=0)
        if best is None:
            best, best_loss = s, loss
            continue
        better = loss < best_loss
        best = {p: np.where(better, s[p], best[p]) for p in PARTS}
        best_loss = np.minimum(loss, best_loss)
    return best


def _balanced_logistic_regressions(x, labels, c: float):
    """The member's regressions with ``class_weight="balanced"`` (the TF-IDF baseline's)."""
    from sklearn.linear_model import LogisticRegression

    kernel, bias = np.zeros((x.shape[1], labels.shape[1])), np.zeros(labels.shape[1])
    for k in range(labels.shape[1]):
        fitted = LogisticRegression(C=c, solver="liblinear", class_weight="balanced").fit(x, labels[:, k])
        kernel[:, k], bias[k] = fitted.coef_[0], fitted.intercept_[0]
    return kernel, bias


def _score(y_held, y_dev, scores, gold) -> list[float]:
    """``[plain top-1, held-out top-1 precision, *COLUMNS]`` for scores of every part."""
    thresholds = decision.fit_rule("expected_jaccard", y_dev, scores["dev"])
    report = multilabel_report(y_held, scores["held"], thresholds, rule="expected_jaccard")
    top = sum(1 for g, s in zip(gold, scores["sent"]) if g and int(np.argmax(s)) in g)
    labelled = y_held.sum(axis=1) > 0
    first = y_held[np.arange(len(y_held)), scores["held"].argmax(axis=1)] > 0
    return [top, float(first[labelled].mean())] + [report[k] for k in COLUMNS]


@dataclasses.dataclass
class Fold:
    """Fold ``f`` of ``heldout_cv.py --out DIR``: its model, data and the members' scores."""

    model: object
    pipeline: object
    gold: list  # per plain sentence, the indices of its accepted emotions
    fitting: object  # the fold's training part (a Dataset)
    y_held: np.ndarray
    y_dev: np.ndarray
    texts: dict  # {part: texts} for PARTS
    features: dict  # {part: the pipeline's features}
    members: list  # per LEM member, {part: probabilities} (held and dev as heldout_cv stored them)


def load_fold(folds_dir: Path, f: int, splits, rows) -> Fold:
    """Read fold ``f``'s scores and model, featurize its parts and score the plain sentences."""
    from lem_keras.training import load_artifacts

    stored = dict(np.load(folds_dir / f"fold{f}.npz"))
    model, pipeline = load_artifacts(folds_dir / f"model{f}")
    names = list(model.emotion_names)
    fitting, held = fold_split(splits.train, 5, f, 20261126)
    texts = {"held": held.texts, "dev": splits.dev.texts, "sent": [text for text, _ in rows]}
    features = {part: pipeline.transform(list(t)) for part, t in texts.items()}
    members = [{"held": stored[f"held_member{k}"], "dev": stored[f"dev_member{k}"],
                "sent": np.asarray(m.predict(features["sent"], verbose=0))}
               for k, m in enumerate(model.members)]
    return Fold(model, pipeline, [[names.index(g) for g in accepted] for _, accepted in rows], fitting,
                stored["held_labels"], stored["dev_labels"], texts, features, members)


def probe_fold(folds_dir: Path, f: int, splits, lexicon, rows) -> dict[str, list[float]]:
    """``{variant: _score(...)}`` for fold model ``f``."""
    from lem_keras.training import _logistic_regressions

    fold = load_fold(folds_dir, f, splits, rows)
    model, gold, fitting, y_held, y_dev = fold.model, fold.gold, fold.fitting, fold.y_held, fold.y_dev
    pipeline, texts, features = fold.pipeline, fold.texts, fold.features
    w = float(model.tfidf_weight)
    lem = {part: np.mean([m[part] for m in fold.members], axis=0) for part in PARTS}
    evidence = {part: lem[part].max(axis=1, keepdims=True) > 0 for part in PARTS}
    tfidf = {part: np.asarray(model.tfidf((x["tfidf_ids"], x["tfidf_values"])))
             for part, x in features.items()}
    out: dict[str, list[float]] = {}

    def blended(member_logits, weight=w):
        return {p: (1 - weight) * _logit(lem[p]) + weight * member_logits[p] for p in PARTS}

    def temperature(z):
        return calibration.fit_temperature(y_dev, expit(z["dev"]) * evidence["dev"], per_emotion=True)

    def tempered(z, t=None):
        t = temperature(z) if t is None else t
        return {p: calibration.apply_temperature(expit(z[p]) * evidence[p], t) for p in PARTS}

    def add(label, scores):
        out[label] = _score(y_held, y_dev, scores, gold)

    z = blended(tfidf)
    shipped = tempered(z)
    served = np.asarray(model.predict(features["held"], verbose=0))
    if np.abs(served - shipped["held"]).max() > 1e-5:
        raise AssertionError(f"fold {f}: the recombined blend is not the served one")
    add(f"shipped (w {w:g}, temperature)", shipped)
    for weight in (0.0, 0.2, 0.4, 0.5):
        add(f"w {weight:g}", tempered(blended(tfidf, weight)))
    add("w per emotion (the dev cross-entropy's best of 0, 0.1, ..., 0.7)", _per_emotion_weight(
        y_dev, {p: _logit(lem[p]) for p in PARTS}, tfidf, evidence))
    a, b = _platt(y_dev, z["dev"])
    add("platt instead of the temperature", {p: expit(a * z[p] + b) * evidence[p] for p in PARTS})
    prior = _logit(np.clip(y_dev.mean(axis=0), 1e-3, 1 - 1e-3))
    for strength in (0.25, 0.5, 1.0):
        add(f"prior correction a {strength:g}",
            {p: expit(_logit(shipped[p]) - strength * prior) * evidence[p] for p in PARTS})
    kernel, bias = _logistic_regressions(_features(pipeline, fitting.texts, lexicon), fitting.labels, 4.0)
    nrc = {p: np.asarray(_features(pipeline, t, lexicon) @ kernel + bias) for p, t in texts.items()}
    add("NRC class counts in the member", tempered(blended(nrc)))
    fit_x = _features(pipeline, fitting.texts)
    plain = {p: _features(pipeline, t) for p, t in texts.items()}
    kernel, bias = _balanced_logistic_regressions(fit_x, fitting.labels, 4.0)
    add("member with balanced class weights",
        tempered(blended({p: np.asarray(x @ kernel + bias) for p, x in plain.items()})))
    refit_x = sparse.vstack([fit_x, plain["dev"]]).tocsr()
    kernel, bias = _logistic_regressions(refit_x, np.concatenate([fitting.labels, y_dev]), 4.0)
    refit = {p: np.asarray(x @ kernel + bias) for p, x in plain.items()}
    refit_scores = tempered(blended(refit), temperature(z))
    refit_scores["dev"] = shipped["dev"]  # the rule stays the one fitted before the refit
    add("member refitted on train + dev", refit_scores)
    return out


def main(argv=None) -> int:
    from lem_keras.data.ebow import load_class_lexicon
    from lem_keras.training import load_splits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args(argv)
    folds_dir = Path(args.folds)
    splits = load_splits(args.data, "semeval")
    lexicon = load_class_lexicon(Path(args.data).parent / "lexicons"
                                 / "NRC-Emotion-Lexicon-Wordlevel-v0.92.txt")
    lexicon = {name: set(words) for name, words in lexicon.items()}
    rows = read_sentences()
    results: dict[str, list] = {}
    for path in sorted(folds_dir.glob("fold*.npz")):
        f = int(path.stem[4:])
        for label, values in probe_fold(folds_dir, f, splits, lexicon, rows).items():
            results.setdefault(label, []).append(values)
        print(f"fold {f} done", file=sys.stderr, flush=True)
    emotional = sum(1 for _, accepted in rows if accepted)
    print(f"| variant | plain top-1 (models x {emotional}) | per model | held top-1 "
          "| HL↓ | RL↓ | miF1 | maF1 | AP | Jaccard |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, values in results.items():
        v = np.asarray(values, dtype="float64")
        per_model = ", ".join(str(int(x)) for x in v[:, 0])
        print(f"| {label} | {int(v[:, 0].sum())}/{emotional * len(v)} | {per_model} | {v[:, 1].mean():.3f} | "
              + " | ".join(f"{x:.3f}" for x in v[:, 2:].mean(axis=0)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
