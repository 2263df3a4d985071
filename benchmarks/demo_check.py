"""Check the demo model on plain everyday sentences it has never seen.

``benchmarks/demo_sentences.tsv`` holds 42 sentences (40 with an emotion) written by hand (not by
``tools/make_demo_corpus.py`` and not from its templates), each with the emotions
a reader would accept. For every seed this script trains the shipped ``demo``
configuration on the embedded demo corpus (exactly what ``lem-keras train --seed S``
trains) — or loads a trained model with ``--model DIR`` — and prints:

* ``top-1``: sentences whose most probable emotion is one of the accepted ones;
* ``gold predicted``: accepted emotions that are in the predicted set (probability at
  or above the model's calibrated threshold), out of all accepted emotions, and the
  sentences with at least one of their accepted emotions predicted;
* ``empty``: emotional sentences with no predicted emotion; ``neutral clean``:
  neutral sentences with no predicted emotion;
* the dev metrics, the range of the probabilities (saturation) and of Z.

Usage (from the repository root; one training at a time, ≈ 1 minute each on 2 cores)::

    python benchmarks/demo_check.py --seeds 0 1 2
    python benchmarks/demo_check.py --model runs/demo -v
    python benchmarks/demo_check.py --tfidf ../shared/data/semeval2018-ec   # the TF-IDF + LR baseline

``--tfidf DIR`` fits the TF-IDF + LR baseline (``lem_keras.baselines``; without and with
balanced class weights) on the dataset's training split and prints its top-1 count: how hard
the sentences are for the baseline that issue 12 quotes (27 of its own 40).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

SENTENCES = Path(__file__).with_name("demo_sentences.tsv")


def read_sentences(path: Path = SENTENCES) -> list[tuple[str, list[str]]]:
    """``[(sentence, accepted emotions)]`` from the TSV (``#`` lines are comments)."""
    rows = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, _, gold = line.partition("\t")
        if not text.strip():
            raise ValueError(f"{path}:{number}: empty sentence")
        rows.append((text, [g.strip() for g in gold.split(",") if g.strip()]))
    return rows


def check(model, pipeline, rows: list[tuple[str, list[str]]], verbose: bool = False) -> dict:
    """Score ``model`` on ``rows``; returns the counts printed by :func:`report`."""
    from lem_keras.decision import decide

    names = list(model.emotion_names)
    for _, gold in rows:
        unknown = set(gold) - set(names)
        if unknown:
            raise ValueError(f"unknown emotions {sorted(unknown)} (model has {names})")
    details = model(pipeline.transform([text for text, _ in rows]), return_details=True)
    probs = np.asarray(details["probabilities"])
    z = np.asarray(details["latent_distribution"])
    predicted = decide(probs, model.get_thresholds(), model.decision_rule)
    out = {"emotional": 0, "top1": 0, "gold": 0, "gold_predicted": 0, "any_gold": 0, "empty": 0, "neutral": 0,
           "neutral_clean": 0, "failures": []}
    for i, (text, gold) in enumerate(rows):
        chosen = [names[k] for k in np.flatnonzero(predicted[i])]
        top = names[int(np.argmax(probs[i]))]
        if gold:
            out["emotional"] += 1
            out["top1"] += top in gold
            out["gold"] += len(gold)
            out["gold_predicted"] += sum(g in chosen for g in gold)
            out["any_gold"] += any(g in chosen for g in gold)
            out["empty"] += not chosen
            ok = top in gold and bool(chosen)
        else:
            out["neutral"] += 1
            out["neutral_clean"] += not chosen
            ok = not chosen
        if not ok:
            out["failures"].append(
                f"{text!r}: gold {gold}, top {top} {probs[i].max():.2f}, predicted {chosen}"
            )
        if verbose:
            shown = ", ".join(f"{names[k]} {probs[i, k]:.2f}" for k in np.argsort(-probs[i])[:3])
            print(f"{'ok ' if ok else 'BAD'} {text[:60]:60s} gold {','.join(gold) or '-':24s} "
                  f"pred {','.join(chosen) or '-':28s} top3 {shown}")
    out["prob_min"], out["prob_max"] = float(probs.min()), float(probs.max())
    out["saturated"] = float(np.mean((probs < 0.005) | (probs > 0.995)))
    out["z_min"], out["z_max"] = float(z.min()), float(z.max())
    out["thresholds"] = {n: round(float(t), 3) for n, t in zip(names, model.get_thresholds())}
    return out


def report(label: str, result: dict, dev: dict | None = None, seconds: float | None = None,
           epochs: str = "") -> None:
    r = result
    line = (f"{label}: top-1 {r['top1']}/{r['emotional']} ({r['top1'] / r['emotional']:.0%}), "
            f"gold predicted {r['gold_predicted']}/{r['gold']} (a gold emotion predicted for "
            f"{r['any_gold']}/{r['emotional']} sentences), empty {r['empty']}, "
            f"neutral clean {r['neutral_clean']}/{r['neutral']}; "
            f"p in [{r['prob_min']:.3f}, {r['prob_max']:.3f}], saturated {r['saturated']:.0%}; "
            f"Z in [{r['z_min']:.3f}, {r['z_max']:.3f}]; "
            f"thresholds in [{min(r['thresholds'].values()):.2f}, {max(r['thresholds'].values()):.2f}]")
    if dev is not None:
        line += f"; dev miF1 {dev['micro_f1']:.3f} maF1 {dev['macro_f1']:.3f} AP {dev['macro_pr_auc']:.3f}"
    if seconds is not None:
        line += f"; {seconds:.0f} s"
    line += epochs
    print(line, flush=True)
    for failure in r["failures"]:
        print("   miss:", failure)


def train_demo(seed: int, config_path: str | None = None, out_dir: str | None = None):
    """Train the shipped demo configuration (or ``config_path``) with ``seed``."""
    from lem_keras.data.demo import load_demo
    from lem_keras.training import TrainConfig, named_config, train

    if config_path:
        config = TrainConfig.from_dict(json.loads(Path(config_path).read_text("utf-8")))
    else:
        config = named_config("demo")
    config.seed = seed
    train_data, dev_data = load_demo("en")
    return train(config, train_data, dev_data, out_dir=out_dir, verbose=0, log=lambda *_: None)


def report_members(model, pipeline, rows: list[tuple[str, list[str]]], verbose: bool = False) -> None:
    """For an ensemble, the top-1 count of each LEM member, the TF-IDF member and the MiniLM
    member alone (and,
    ``verbose``, the sentences each misses)."""
    members = list(getattr(model, "members", []))
    if not members:
        return
    names = list(model.emotion_names)
    emotional = [(text, gold) for text, gold in rows if gold]
    features = pipeline.transform([text for text, _ in emotional])
    scores = {f"member {k + 1}": m.predict(features, verbose=0) for k, m in enumerate(members)}
    if getattr(model, "tfidf", None) is not None:
        scores["TF-IDF member"] = np.asarray(model.tfidf((features["tfidf_ids"], features["tfidf_values"])))
    if getattr(model, "sentence", None) is not None:
        scores["MiniLM member"] = np.asarray(model.sentence(features["wordpiece_ids"]))
    misses = {label: [i for i, ((_, gold), s) in enumerate(zip(emotional, values))
                      if names[int(np.argmax(s))] not in gold] for label, values in scores.items()}
    print("   alone, top-1: " + ", ".join(f"{label} {len(emotional) - len(m)}/{len(emotional)}"
                                         for label, m in misses.items()))
    if verbose:
        for label, missed in misses.items():
            print(f"   {label} misses: " + "; ".join(emotional[i][0][:40] for i in missed))


def check_tfidf(data: str, rows: list[tuple[str, list[str]]], format: str = "semeval") -> None:
    """Print the top-1 count of TF-IDF + LR fitted on ``data``'s training split."""
    from lem_keras.baselines import TfidfLogisticRegression
    from lem_keras.training import load_splits

    train = load_splits(data, format).train
    names = list(train.emotion_names)
    emotional = [(text, gold) for text, gold in rows if gold]
    for class_weight in (None, "balanced"):
        model = TfidfLogisticRegression(class_weight=class_weight).fit(train.texts, train.labels)
        scores = model.predict_scores([text for text, _ in emotional])
        misses = [f"{text!r}: gold {gold}, top {names[int(np.argmax(s))]}"
                  for (text, gold), s in zip(emotional, scores) if names[int(np.argmax(s))] not in gold]
        print(f"TF-IDF + LR (class_weight={class_weight}): top-1 "
              f"{len(emotional) - len(misses)}/{len(emotional)}", flush=True)
        for miss in misses:
            print("   miss:", miss)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a trained model directory (default: train the demo)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds to train")
    parser.add_argument("--config", help="a JSON of TrainConfig fields instead of the shipped demo.json")
    parser.add_argument("--sentences", type=Path, default=SENTENCES)
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per sentence")
    parser.add_argument("--tfidf", metavar="DIR", help="score TF-IDF + LR fitted on this SemEval directory")
    args = parser.parse_args(argv)
    rows = read_sentences(args.sentences)
    if args.tfidf:
        check_tfidf(args.tfidf, rows)
        return 0
    if args.model:
        from lem_keras.training import load_artifacts

        model, pipeline = load_artifacts(args.model)
        report(args.model, check(model, pipeline, rows, args.verbose))
        report_members(model, pipeline, rows, args.verbose)
        return 0
    for seed in args.seeds:
        start = time.perf_counter()
        result = train_demo(seed, args.config)
        seconds = time.perf_counter() - start
        epochs = f" ({len(result.history['loss'])} epochs, best {result.best_epoch})"
        report(f"seed {seed}", check(result.model, result.pipeline, rows, args.verbose),
               result.dev_metrics, seconds, epochs)
        if args.verbose:
            for key in ("loss", "val_classification_loss", "val_macro_pr_auc", "val_micro_f1"):
                if key in result.history:
                    print(f"   {key}: " + " ".join(f"{v:.3f}" for v in result.history[key]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
