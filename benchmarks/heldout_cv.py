"""Estimate the held-out (test-set) scores of the default recipe by cross-validation on train.

    python benchmarks/heldout_cv.py --data ../shared/data/semeval2018-ec --format semeval \\
        --out runs/heldout --fold 0          # one fold (run folds side by side, resumable)
    python benchmarks/heldout_cv.py --data ../shared/data/semeval2018-ec --out runs/heldout --tfidf
    python benchmarks/heldout_cv.py --out runs/heldout --tables-only [--write results/heldout_cv.md]

The training split is cut into ``--folds`` stratified folds. For fold f the shipped
configuration (ensemble, decision rule, temperature and all) is trained exactly as
``lem-keras train`` trains it — on train minus fold f, with the official dev split for
early stopping, temperature and thresholds — and then scores fold f, which it has never
seen: the situation of the official test set, on ``len(train)`` held-out texts instead of
886 dev texts. Every decision rule is fitted on the fold model's dev probabilities (as
``finalize`` fits them) and applied to its held-out fold; the members' own probabilities
are kept too, so single models and the ensemble are compared on the same folds; ``--tfidf``
adds the TF-IDF + LR baseline, fitted on the same fitting parts.

Each fold writes ``OUT/fold<f>.npz`` (held-out and dev probabilities of the ensemble and of
each member, the labels) and, with ``--sentences``, the plain-sentence counts of
``demo_check.py`` in ``OUT/fold<f>.json``. The tables: mean ± std over folds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from decision_rules import _cell, candidate_rules, rule_of, stratified_folds

from lem_keras.decision import DEFAULT_RULE
from lem_keras.metrics import multilabel_report

KEYS = ("hamming_loss", "ranking_loss", "micro_f1", "macro_f1", "macro_pr_auc", "lrap", "jaccard")
HEADERS = ("HL↓", "RL↓", "miF1", "maF1", "AP", "LRAP", "Jaccard")


def fold_split(train, folds: int, fold: int, seed: int):
    """``(fitting part, held-out part)`` of ``train`` for ``fold`` (stratified, seeded)."""
    from lem_keras.data.readers import Dataset

    index = stratified_folds(np.asarray(train.labels), folds, np.random.default_rng(seed))

    def subset(mask):
        rows = np.flatnonzero(mask)
        return Dataset([train.texts[i] for i in rows], np.asarray(train.labels)[rows],
                       list(train.emotion_names), [train.ids[i] for i in rows])

    return subset(index != fold), subset(index == fold)


def run_fold(args) -> None:
    from demo_check import check, read_sentences

    from lem_keras.config import load_config, resolve_data_paths
    from lem_keras.training import load_splits, predict_scores, train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"fold{args.fold}.npz"
    if target.exists():
        print(f"{target}: done already")
        return
    config = load_config(args.config or args.format)
    config = resolve_data_paths(config, args.data, origin=f"{args.config or args.format} configuration")
    config = config.replace(seed=args.seed)
    splits = load_splits(args.data, args.format)
    fitting, held = fold_split(splits.train, args.folds, args.fold, args.split_seed)
    print(f"fold {args.fold}/{args.folds}: training on {len(fitting)}, holding out {len(held)}", flush=True)
    result = train(config, fitting, splits.dev, out_dir=out / f"model{args.fold}", verbose=2)
    model, pipeline = result.model, result.pipeline
    members = list(getattr(model, "members", [model]))
    arrays = {"held_labels": held.labels, "dev_labels": splits.dev.labels,
              "held": predict_scores(model, pipeline, held.texts),
              "dev": predict_scores(model, pipeline, splits.dev.texts)}
    for k, member in enumerate(members):
        arrays[f"held_member{k}"] = predict_scores(member, pipeline, held.texts)
        arrays[f"dev_member{k}"] = predict_scores(member, pipeline, splits.dev.texts)
    record = {"fold": args.fold, "folds": args.folds, "held_out": len(held), "members": len(members)}
    if args.sentences:
        counts = check(model, pipeline, read_sentences(Path(args.sentences)))
        record["sentences"] = {k: v for k, v in counts.items() if k != "failures"}
    (out / f"fold{args.fold}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    np.savez_compressed(target, **arrays)
    print(f"{target}: written", flush=True)


def add_tfidf(args) -> None:
    """Score every fold's held-out part and dev with TF-IDF + LR fitted on the fold's
    fitting part (seconds each); stored as ``held_tfidf`` / ``dev_tfidf`` in the fold's npz."""
    from lem_keras.baselines import TfidfLogisticRegression
    from lem_keras.training import load_splits

    splits = load_splits(args.data, args.format)
    for path in sorted(Path(args.out).glob("fold*.npz")):
        arrays = dict(np.load(path))
        fold = int(path.stem[len("fold"):])
        fitting, held = fold_split(splits.train, args.folds, fold, args.split_seed)
        if not np.array_equal(held.labels, arrays["held_labels"]):
            raise ValueError(f"{path}: its held-out labels are not fold {fold} of {args.data} (other split?)")
        model = TfidfLogisticRegression(class_weight="balanced")
        model.fit(fitting.texts, fitting.labels)
        arrays["held_tfidf"] = model.predict_scores(held.texts)
        arrays["dev_tfidf"] = model.predict_scores(splits.dev.texts)
        np.savez_compressed(path, **arrays)
        print(f"{path}: TF-IDF + LR added", flush=True)


def load_folds(out: Path) -> list[dict]:
    folds = []
    for path in sorted(out.glob("fold*.npz")):
        data = dict(np.load(path))
        meta = out / f"{path.stem}.json"
        data["record"] = json.loads(meta.read_text("utf-8")) if meta.is_file() else {}
        folds.append(data)
    return folds


def tables(folds: list[dict], shrinkage: list[float]) -> str:
    """Markdown: every rule on the ensemble, then the shipped rule on single members."""
    rules = candidate_rules(shrinkage)
    held_out = sum(len(f["held_labels"]) for f in folds)
    lines = [(f"{len(folds)} folds, {held_out} held-out texts; rules fitted on each fold model's dev "
              "probabilities, scored on its held-out fold (mean ± std over folds)."), "",
             "| model | rule | " + " | ".join(HEADERS) + " |", "|---|---|" + "---|" * len(KEYS)]
    members = min(int(f["record"].get("members", 1)) for f in folds)
    lem = "LEM" + (f" ({members}-member ensemble)" if members > 1 else "")
    variants = [(lem, "")]
    if members > 1:
        variants += [(f"member {k}", f"_member{k}") for k in range(members)]
    if all("held_tfidf" in f for f in folds):
        variants.append(("TF-IDF + LR", "_tfidf"))
    for label, suffix in variants:
        shown = (DEFAULT_RULE, "shrunk", "per_emotion_f1")
        names = rules if label == lem else {n: rules[n] for n in dict.fromkeys(shown)}
        for name, rule in names.items():
            fitted = [rule(f["dev_labels"], f["dev" + suffix]) for f in folds]
            reports = [multilabel_report(f["held_labels"], f["held" + suffix], t, rule_of(name))
                       for f, t in zip(folds, fitted)]
            cells = " | ".join(_cell([r[k] for r in reports]) for k in KEYS)
            lines.append(f"| {label} | {name} | {cells} |")
    sentences = [f["record"]["sentences"] for f in folds if "sentences" in f["record"]]
    if sentences:
        top = [s["top1"] for s in sentences]
        gold = [s["any_gold"] for s in sentences]
        lines += ["", (f"Plain sentences ({sentences[0]['emotional']} with an emotion), the fold models: "
                       f"top emotion right {', '.join(map(str, top))}; a gold emotion predicted "
                       f"{', '.join(map(str, gold))}.")]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", help="the dataset directory (train and dev files)")
    parser.add_argument("--format", default="semeval", help="the format (and shipped configuration)")
    parser.add_argument("--config", help="a shipped configuration name or JSON file; none: --format's")
    parser.add_argument("--out", required=True, help="folder for the fold models and scores")
    parser.add_argument("--folds", type=int, default=5, help="folds of the training split")
    parser.add_argument("--fold", type=int, help="train and score this fold")
    parser.add_argument("--seed", type=int, default=1,
                        help="the training seed (the README's default command's)")
    parser.add_argument("--split-seed", type=int, default=20261126, help="seed of the fold split")
    parser.add_argument("--sentences", default=str(REPO / "benchmarks" / "demo_sentences.tsv"),
                        help="plain sentences for demo_check's counts ('' to skip)")
    parser.add_argument("--shrinkage", default="30,100,300",
                        help="extra λ for the shrunk rule, comma-separated")
    parser.add_argument("--tfidf", action="store_true",
                        help="add TF-IDF + LR, fitted on each fold's fitting part, to the folds in --out")
    parser.add_argument("--tables-only", action="store_true")
    parser.add_argument("--write", help="also write the tables to this Markdown file")
    args = parser.parse_args(argv)
    if args.tfidf:
        if args.data is None:
            parser.error("--tfidf needs --data")
        add_tfidf(args)
    elif not args.tables_only:
        if args.fold is None or args.data is None:
            parser.error("--fold and --data are needed unless --tables-only")
        if not 0 <= args.fold < args.folds:
            parser.error(f"--fold {args.fold}: expected 0 ≤ fold < --folds ({args.folds})")
        run_fold(args)
        return 0
    folds = load_folds(Path(args.out))
    if not folds:
        parser.error(f"{args.out}: no fold*.npz here")
    text = tables(folds, [float(v) for v in args.shrinkage.split(",") if v.strip()])
    print(text)
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
