"""Reproduce the LEM paper's comparisons on SemEval-2018 E-c and Ren-CECps, in one command.

    python benchmarks/reproduce.py --semeval ../shared/data/semeval2018-ec \
        --ren ../shared/data/ren-cecps-sample --out results/

Every run trains on train, selects (early stopping) and calibrates per-emotion thresholds
on dev, and is scored on dev with `lem_keras.metrics.multilabel_report` — the same code
for LEM and the baselines. Each run happens in its own subprocess (clean memory, a true
per-run peak RSS) and writes `OUT/runs/<dataset>__<name>__seed<k>.json` plus its dev
scores; finished runs are skipped when the command is repeated, so an interrupted
reproduction resumes. The tables are rebuilt from whatever runs exist:

    OUT/table2.md   main comparison (paper Table 2 layout + LRAP, Jaccard, wall time, RSS)
    OUT/table2_default.md  the same under the default decision rule, with the LEM seed ensemble
    OUT/rules.md    every decision rule fitted and scored on dev, per system
    OUT/table3.md   per-emotion F1 on Ren-CECps dev (Table 3)
    OUT/table4.md   micro-F1 on dev sentences with >=1, >=2, >=3 gold emotions (Table 4)
    OUT/table6.md   macro-F1 by number of hops (Table 6)
    OUT/table7.md   top-10 attended key words per emotion (Table 7), best LEM
    OUT/variants.md word vectors, eBoW lexicon and Chinese segmentation comparisons
    OUT/summary.json

When OUT is this repository's results/, the tables of README.md between `<!-- table:NAME SECTION -->`
and `<!-- /table -->` are rewritten from them too; `--tables-only` rebuilds all of it from
OUT/runs/*.json and *.npz (the dev scores) without training (tests/test_readme_tables.py checks
that they agree):

    python benchmarks/reproduce.py --tables-only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

METRICS = ("hamming_loss", "ranking_loss", "micro_f1", "macro_f1", "macro_pr_auc", "lrap", "jaccard")
HEADERS = ("HL↓", "RL↓", "miF1", "maF1", "AP (macro PR-AUC)", "LRAP", "Jaccard")
PAPER = {
    "semeval": {
        "LEM (paper, test)": (0.142, 0.157, 0.675, 0.567, 0.568, None, None),
        "LEM-Wled (paper, test)": (0.185, 0.197, 0.620, 0.517, 0.527, None, None),
        "LEM-Rle (paper, test)": (0.167, 0.173, 0.640, 0.534, 0.542, None, None),
    },
    "ren-cecps": {
        "LEM (paper, full corpus test)": (0.151, 0.183, 0.501, 0.448, 0.751, None, None),
        "LEM-Wled (paper, full corpus test)": (0.191, 0.204, 0.408, 0.413, 0.711, None, None),
        "LEM-Rle (paper, full corpus test)": (0.168, 0.198, 0.436, 0.427, 0.735, None, None),
    },
}
#: The systems of the main tables, in their order: (run name, row label).
SYSTEMS = (("tfidf", "TF-IDF word+char LR"), ("bigru", "BiGRU (BR)"), ("lem", "LEM"),
           ("lem-shipped", "LEM as shipped (2 seeds + TF-IDF and MiniLM members)"),
           ("lem-wled", "LEM-Wled"), ("lem-rle", "LEM-Rle"), ("lem-words", "LEM (words)"))
PAPER_HOPS = {"semeval": (0.556, 0.562, 0.567, 0.560, 0.550),
              "ren-cecps": (0.434, 0.448, 0.440, 0.436, 0.431)}


# ----------------------------------------------------------------------------- plan


def plan(args) -> list[dict]:
    """Every run: dataset, name, model kind, TrainConfig overrides, seed."""
    from lem_keras.config import named_config

    runs: list[dict] = []
    datasets = []
    if args.semeval:
        datasets.append(("semeval", args.semeval))
    if args.ren:
        datasets.append(("ren-cecps", args.ren))
    for dataset, path in datasets:
        base = {"dataset": dataset, "path": str(path)}
        default_hops = 3 if dataset == "semeval" else 2
        shipped = named_config(dataset)
        # --word-vectors replaces the configuration's own vectors (GloVe included).
        vectors = {}
        if args.word_vectors:
            vectors = {"embeddings": str(args.word_vectors), "embeddings_corpus": None, "concat_glove": False}
        if "main" in args.groups:
            runs.append({**base, "name": "tfidf", "kind": "tfidf", "seed": 0, "overrides": {}})
            for seed in args.seeds:
                runs.append({**base, "name": "lem", "kind": "lem", "seed": seed, "overrides": {**vectors}})
                runs.append({**base, "name": "bigru", "kind": "bigru", "seed": seed,
                             "overrides": {**vectors}})
                runs.append({**base, "name": "lem-wled", "kind": "lem", "seed": seed,
                             "overrides": {**vectors, "use_wled": False}})
                runs.append({**base, "name": "lem-rle", "kind": "lem", "seed": seed,
                             "overrides": {**vectors, "use_rle": False}})
                if dataset == "ren-cecps":
                    # The paper's word-level pipeline (pre-segmented words, no wide path).
                    runs.append({**base, "name": "lem-words", "kind": "lem", "seed": seed,
                                 "config": "ren-cecps-words", "overrides": {}})
        if "shipped" in args.groups and (shipped.ensemble > 1 or shipped.tfidf_blend > 0
                                         or shipped.sentence_blend > 0):
            # The default command's model as it ships (a seed ensemble, a TF-IDF member, a
            # sentence-embedding member), when it is more than the one LEM of "lem".
            for seed in args.seeds:
                runs.append({**base, "name": "lem-shipped", "kind": "lem", "seed": seed, "overrides": {},
                             "shipped": True})
        if "hops" in args.groups:
            for hops in range(1, 6):
                name = "lem" if hops == default_hops else f"lem-hops{hops}"
                runs.append({**base, "name": name, "kind": "lem", "seed": args.seeds[0],
                             "overrides": {**vectors, "hops": hops}})
        if "embeddings" in args.groups and (vectors or shipped.embeddings or shipped.embeddings_corpus
                                            or shipped.concat_glove):
            runs.append({**base, "name": "lem-random-init", "kind": "lem", "seed": args.seeds[0],
                         "overrides": {"embeddings": None, "embeddings_corpus": None,
                                       "vocabulary_from_vectors": False, "concat_glove": False}})
        if "lexicon" in args.groups and shipped.lexicons:
            # The data-selected (chi-squared) eBoW vocabulary against the lexicons.
            runs.append({**base, "name": "lem-chi2", "kind": "lem", "seed": args.seeds[0],
                         "overrides": {**vectors, "lexicons": []}})
        if "segmentation" in args.groups and dataset == "ren-cecps":
            # The word-level reading (the paper's) re-segmented with jieba.
            runs.append({**base, "name": "lem-jieba", "kind": "lem", "seed": args.seeds[0],
                         "config": "ren-cecps-words", "overrides": {"segmentation": "jieba"}})
    # The same run named twice (the hop sweep's default) is trained once.
    unique = {}
    for run in runs:
        unique.setdefault(run_id(run), run)
    return list(unique.values())


def run_id(run: dict) -> str:
    return f"{run['dataset']}__{run['name']}__seed{run['seed']}"


# ----------------------------------------------------------------------------- one run


def _load_splits(dataset: str, path: str):
    from lem_keras.training import load_splits

    splits = load_splits(path, dataset)
    return splits.train, splits.dev


def _config(run: dict, epochs: int | None):
    """The shipped configuration of the run's dataset (what `lem-keras train` trains), with
    its resources found beside the data, and the run's overrides."""
    from lem_keras.config import named_config, resolve_data_paths

    # One LEM per run (seed), without the TF-IDF member: the paper's model and its ablations;
    # the seed-ensemble rows are the mean of the seeds' dev scores. "shipped": as configured.
    single = {} if run.get("shipped") else {"tfidf_blend": 0.0, "sentence_blend": 0.0, "ensemble": 1}
    overrides = {**single, **run["overrides"], "seed": run["seed"]}
    if epochs:
        overrides["epochs"] = epochs
    config = named_config(run.get("config", run["dataset"])).replace(**overrides)
    return resolve_data_paths(config, run["path"], origin=f"{run['dataset']} configuration")


def _run_tfidf(run, train, dev):
    from lem_keras.baselines import TfidfLogisticRegression

    model = TfidfLogisticRegression(class_weight="balanced")
    model.fit(train.texts, train.labels)
    return model.predict_scores(dev.texts), {}


def _run_bigru(run, train, dev, epochs):
    """The BiGRU baseline on LEM's own recipe: the same pipeline, vectors and datasets
    (tokens only), binary cross-entropy, early stopping on the dev loss."""
    import keras
    import tensorflow as tf

    from lem_keras.baselines import build_bigru_classifier
    from lem_keras.callbacks import ShuffleEpoch
    from lem_keras.training import prepare

    prepared = prepare(_config(run, None), train, dev)
    config = prepared.config

    @tf.autograph.experimental.do_not_convert
    def tokens_only(features, labels):
        return features["tokens"], labels

    train_ds, dev_ds = prepared.train_ds.map(tokens_only), prepared.dev_ds.map(tokens_only)
    model = build_bigru_classifier(len(prepared.pipeline.token_vocabulary), config.embedding_dim,
                                   prepared.pipeline.max_length, train.labels.shape[1],
                                   embedding_matrix=prepared.embedding_matrix)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    # The same epoch-by-epoch shuffle as LEM's: the order of epoch e derives from (seed, e).
    reshuffle = ShuffleEpoch(prepared.shuffle_epoch)
    model.fit(train_ds, validation_data=dev_ds, epochs=epochs or 30, callbacks=[reshuffle, stop], verbose=2)
    scores = model.predict(dev_ds.map(lambda x, y: x), verbose=0)
    return scores, {"best_epoch": int(stop.best_epoch) + 1 if stop.best_epoch is not None else None}


def _run_lem(run, train, dev, epochs, model_dir):
    from lem_keras.training import predict_scores
    from lem_keras.training import train as train_lem

    result = train_lem(_config(run, epochs), train, dev, out_dir=model_dir, verbose=2)
    scores = predict_scores(result.model, result.pipeline, dev.texts)
    extra = {"best_epoch": result.best_epoch, "epochs_run": len(result.history.get("loss", [])),
             "config": result.config.to_dict()}
    return scores, extra


def run_one(run: dict, out: Path, epochs: int | None) -> dict:
    """Train and score one run (called in a subprocess)."""
    from lem_keras.metrics import calibrate_thresholds, multilabel_report

    start = time.perf_counter()
    train, dev = _load_splits(run["dataset"], run["path"])
    model_dir = None
    if run["kind"] == "tfidf":
        scores, extra = _run_tfidf(run, train, dev)
    elif run["kind"] == "bigru":
        scores, extra = _run_bigru(run, train, dev, epochs)
    else:
        model_dir = out / "models" / run_id(run)
        scores, extra = _run_lem(run, train, dev, epochs, model_dir)
    seconds = time.perf_counter() - start
    thresholds = calibrate_thresholds(dev.labels, scores)
    record = {
        **run,
        "dev": multilabel_report(dev.labels, scores, thresholds),
        "dev_at_0.5": multilabel_report(dev.labels, scores, 0.5),
        "thresholds": [float(t) for t in thresholds],
        "micro_f1_by_gold_count": by_gold_count(dev.labels, scores, thresholds),
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "model_dir": str(model_dir) if model_dir else None,
        **extra,
    }
    np.savez_compressed(out / "runs" / f"{run_id(run)}.npz", scores=scores, labels=dev.labels)
    (out / "runs" / f"{run_id(run)}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


# ----------------------------------------------------------------------------- tables


def _load_runs(out: Path) -> list[dict]:
    return [json.loads(p.read_text("utf-8")) for p in sorted((out / "runs").glob("*.json"))]


def _fmt(values: list[float], digits: int = 3) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _group(runs: list[dict], dataset: str, name: str) -> list[dict]:
    return [r for r in runs if r["dataset"] == dataset and r["name"] == name]


def table2(runs: list[dict]) -> str:
    lines = ["# Table 2 layout: dev metrics (thresholds calibrated on dev), mean ± std over seeds", ""]
    for dataset in ("semeval", "ren-cecps"):
        if not any(r["dataset"] == dataset for r in runs):
            continue
        lines += [f"## {dataset}", "",
                  "| system | seeds | " + " | ".join(HEADERS) + " | wall time (s) | peak RSS (MB) |",
                  "|---" * (len(HEADERS) + 4) + "|"]
        for name, label in SYSTEMS:
            group = _group(runs, dataset, name)
            if not group:
                continue
            cells = [_fmt([r["dev"][m] for r in group]) for m in METRICS]
            secs = _fmt([r["seconds"] for r in group], digits=0)
            rss = max(r["peak_rss_mb"] for r in group)
            lines.append(f"| {label} | {len(group)} | " + " | ".join(cells) + f" | {secs} | {rss:.0f} |")
        for label, values in PAPER[dataset].items():
            cells = ["—" if v is None else f"{v:.3f}" for v in values]
            lines.append(f"| {label} | — | " + " | ".join(cells) + " | — | — |")
        lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- tables from dev scores
# The rules table, Table 2 under the default rule and Table 3 need each run's dev scores
# (OUT/runs/<id>.npz, committed with the JSON); a run without them is named in a note.

RULE_SYSTEMS = ("tfidf", "bigru", "lem", "lem-shipped", "lem-words")
# Ren-CECps columns in the paper's Table 3 order (the data's `expect` is its "expectation").
TABLE3_EMOTIONS = ("anxiety", "joy", "love", "expect", "hate", "sorrow", "anger", "surprise")
PAPER_TABLE3 = (0.571, 0.530, 0.509, 0.454, 0.336, 0.507, 0.369, 0.321, 0.448)


def _dev_scores(out: Path, run: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """(labels, scores) saved beside the run's JSON, or None when the .npz is missing."""
    path = out / "runs" / f"{run_id(run)}.npz"
    if not path.exists():
        return None
    with np.load(path) as data:
        return data["labels"].astype(int), data["scores"].astype("float64")


def _calibrated(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Scores after per-emotion temperature scaling fitted on the same dev, as training.finalize
    does (close to a no-op for scores saved by a model that already applies its temperature)."""
    from lem_keras.calibration import apply_temperature, fit_temperature

    return apply_temperature(scores, fit_temperature(labels, scores, per_emotion=True))


def _rule_reports(labels: np.ndarray, scores: np.ndarray) -> dict[str, dict]:
    """{rule: dev report} of every rule of lem_keras.decision, fitted and scored on these data."""
    from lem_keras.decision import fit_rules
    from lem_keras.metrics import multilabel_report

    return {rule: multilabel_report(labels, scores, t, rule) for rule, t in fit_rules(labels, scores).items()}


def _with_scores(out: Path, group: list[dict]) -> tuple[list[tuple[dict, tuple]], list[str]]:
    """The group's runs with their (labels, scores) where saved, and the ids of those without."""
    found = [(r, _dev_scores(out, r)) for r in group]
    return [(r, s) for r, s in found if s is not None], [run_id(r) for r, s in found if s is None]


def _ensemble(calibrated: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray] | None:
    """(labels, mean of the members' calibrated probabilities), as a seed ensemble serves them;
    None for fewer than two members or members scored on different dev labels."""
    if len(calibrated) < 2 or any(not np.array_equal(y, calibrated[0][0]) for y, _ in calibrated):
        return None
    return calibrated[0][0], np.mean([s for _, s in calibrated], axis=0)


def _dataset_rule_results(out: Path, runs: list[dict], dataset: str) -> dict:
    """{"rows": [(name, label, [{rule: report} per seed])], "skipped": [(name, run id)]} of every
    system of SYSTEMS, and of the LEM seed ensemble (name "lem-ensemble") after "lem"."""
    rows, skipped = [], []
    for name, label in SYSTEMS:
        scores, missing = _with_scores(out, _group(runs, dataset, name))
        skipped += [(name, m) for m in missing]
        calibrated = [(y, _calibrated(y, s)) for _, (y, s) in scores]
        if calibrated:
            rows.append((name, label, [_rule_reports(y, s) for y, s in calibrated]))
        ensemble = _ensemble(calibrated) if name == "lem" else None
        if ensemble is not None:
            rows.append(("lem-ensemble", f"LEM, ensemble of {len(calibrated)} seeds (mean probabilities)",
                         [_rule_reports(*ensemble)]))
    return {"rows": rows, "skipped": skipped}


def rule_results(out: Path, runs: list[dict]) -> dict[str, dict]:
    """`_dataset_rule_results` of each dataset with runs (computed once for the rules table and
    Table 2 under the default rule)."""
    return {dataset: _dataset_rule_results(out, runs, dataset)
            for dataset in ("semeval", "ren-cecps") if any(r["dataset"] == dataset for r in runs)}


def _skipped_note(skipped: list[tuple[str, str]], names) -> list[str]:
    """A note naming the runs of `names` left out for want of their dev scores."""
    ids = [run for name, run in skipped if name in names]
    if not ids:
        return []
    return [f"Not in this table (no dev scores `results/runs/<run>.npz`): {', '.join(ids)}.", ""]


def _metric_header(*first: str) -> list[str]:
    return ["| " + " | ".join((*first, *HEADERS)) + " |", "|---" * (len(first) + len(HEADERS)) + "|"]


def _metric_cells(reports: list[dict]) -> str:
    return " | ".join(_fmt([r[m] for r in reports]) for m in METRICS)


def rules_table(results: dict[str, dict]) -> str:
    """Every decision rule fitted and scored on the whole dev (in-sample), mean ± std over seeds."""
    from lem_keras.decision import DEFAULT_RULE, RULES

    lines = ["# Decision rules on dev: every rule of lem_keras.decision fitted and scored on the whole dev",
             "", ("(after per-emotion temperature scaling fitted on dev, as training.finalize does; "
                  "in-sample: the cross-validated choice of the default is in decision_rules.md)"), ""]
    for dataset, found in results.items():
        rows = [row for row in found["rows"] if row[0] in (*RULE_SYSTEMS, "lem-ensemble")]
        lines += [f"## {dataset}", "", *_skipped_note(found["skipped"], RULE_SYSTEMS)]
        lines += _metric_header("system", "rule", "seeds") if rows else []
        for _, label, per_seed in rows:
            for rule in RULES:
                shown = f"**{rule}** (default)" if rule == DEFAULT_RULE else rule
                cells = _metric_cells([reports[rule] for reports in per_seed])
                lines.append(f"| {label} | {shown} | {len(per_seed)} | {cells} |")
        lines.append("")
    return "\n".join(lines)


def table2_default(results: dict[str, dict]) -> str:
    """Table 2 under the shipped default decision rule, with the LEM seed ensemble."""
    from lem_keras.decision import DEFAULT_RULE

    lines = [f"# Table 2 layout under the default decision rule ({DEFAULT_RULE}): dev, mean ± std over seeds",
             "", "(after per-emotion temperature scaling fitted on dev, as training.finalize does)", ""]
    for dataset, found in results.items():
        lines += [f"## {dataset}", "", *_skipped_note(found["skipped"], [n for n, _ in SYSTEMS])]
        lines += _metric_header("system", "seeds")
        for _, label, per_seed in found["rows"]:
            cells = _metric_cells([reports[DEFAULT_RULE] for reports in per_seed])
            lines.append(f"| {label} | {len(per_seed)} | {cells} |")
        for label, values in PAPER[dataset].items():
            lines.append(f"| {label} | — | " + " | ".join("—" if v is None else f"{v:.3f}" for v in values)
                         + " |")
        lines.append("")
    return "\n".join(lines)


def _per_emotion_f1(labels: np.ndarray, scores: np.ndarray, thresholds) -> np.ndarray:
    """F1 of each emotion (K,) of the predictions `scores >= thresholds` (0 when never gold nor predicted)."""
    predicted = scores >= np.asarray(thresholds, dtype="float64")
    gold = labels.astype(bool)
    tp = np.sum(predicted & gold, axis=0)
    denominator = np.sum(predicted, axis=0) + np.sum(gold, axis=0)
    return np.divide(2 * tp, denominator, out=np.zeros(tp.shape), where=denominator > 0)


def table3(out: Path, runs: list[dict]) -> str:
    """Paper Table 3 layout (Ren-CECps): per-emotion F1 on dev at each run's per-emotion F1
    thresholds (the `thresholds` of its JSON), mean ± std over seeds; Avg. = macro-F1."""
    from lem_keras.data.readers import REN_CECPS_EMOTIONS

    columns = [REN_CECPS_EMOTIONS.index(e) for e in TABLE3_EMOTIONS]
    names = [("expectation" if e == "expect" else e) for e in TABLE3_EMOTIONS]
    lines = ["# Table 3 layout: per-emotion F1 on Ren-CECps dev, mean ± std over seeds", "",
             ("(at each run's per-emotion F1 thresholds, the `thresholds` of its JSON, as in "
              "table2.md; Avg. = macro-F1)"), ""]
    if not any(r["dataset"] == "ren-cecps" for r in runs):
        return "\n".join(lines)
    lines += ["## ren-cecps", ""]
    rows, skipped = [], []
    for name, label in SYSTEMS:
        if name not in RULE_SYSTEMS:
            continue
        scores, missing = _with_scores(out, _group(runs, "ren-cecps", name))
        skipped += [(name, m) for m in missing]
        f1 = [_per_emotion_f1(y, s, r["thresholds"]) for r, (y, s) in scores]
        if f1:
            cells = [_fmt([v[j] for v in f1]) for j in columns] + [_fmt([float(v.mean()) for v in f1])]
            rows.append(f"| {label} | {len(f1)} | " + " | ".join(cells) + " |")
    paper = " | ".join(f"{v:.3f}" for v in PAPER_TABLE3)
    lines += [*_skipped_note(skipped, RULE_SYSTEMS), "| system | seeds | " + " | ".join(names) + " | Avg. |",
              "|---" * (len(names) + 3) + "|", *rows, f"| LEM (paper, full corpus test) | — | {paper} |", ""]
    return "\n".join(lines)


def by_gold_count(labels, scores, thresholds) -> dict[str, float]:
    """Micro-F1 on the sentences with at least 1, 2, 3 gold emotions (Table 4)."""
    from lem_keras.metrics import multilabel_report

    values = {}
    for at_least in (1, 2, 3):
        keep = labels.sum(axis=1) >= at_least
        if keep.any():
            values[str(at_least)] = multilabel_report(labels[keep], scores[keep], thresholds)["micro_f1"]
    return values


def _micro_f1_by_gold_count(out: Path, run: dict) -> dict[str, float]:
    # Stored in the run's JSON; older runs: from their dev scores, when still there.
    if "micro_f1_by_gold_count" in run:
        return run["micro_f1_by_gold_count"]
    path = out / "runs" / f"{run_id(run)}.npz"
    if not path.exists():
        return {}
    data = np.load(path)
    return by_gold_count(data["labels"], data["scores"], run["thresholds"])


def table4(out: Path, runs: list[dict]) -> str:
    lines = ["# Table 4 layout: micro-F1 on dev sentences by number of gold emotions", ""]
    for dataset in ("semeval", "ren-cecps"):
        names = [n for n, _ in SYSTEMS if _group(runs, dataset, n)]
        if not names:
            continue
        lines += [f"## {dataset}", "", "| system | ≥1 | ≥2 | ≥3 |", "|---|---|---|---|"]
        for name in names:
            cells = []
            for at_least in (1, 2, 3):
                values = []
                for r in _group(runs, dataset, name):
                    value = _micro_f1_by_gold_count(out, r).get(str(at_least))
                    if value is not None:
                        values.append(value)
                cells.append(_fmt(values))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def table6(runs: list[dict]) -> str:
    lines = ["# Table 6 layout: macro-F1 on dev by number of memory hops (one seed)", "",
             "| dataset | 1 hop | 2 hops | 3 hops | 4 hops | 5 hops |", "|---|---|---|---|---|---|"]
    for dataset in ("semeval", "ren-cecps"):
        cells = []
        for hops in range(1, 6):
            found = [r for r in runs if r["dataset"] == dataset and r["kind"] == "lem"
                     and r.get("config", {}).get("hops") == hops
                     and r["name"] in ("lem", f"lem-hops{hops}") and r["seed"] == min(
                         [x["seed"] for x in runs if x["dataset"] == dataset] or [0])]
            cells.append(f"{found[0]['dev']['macro_f1']:.3f}" if found else "—")
        if any(c != "—" for c in cells):
            lines.append(f"| {dataset} (ours, dev) | " + " | ".join(cells) + " |")
            paper = " | ".join(f"{v:.3f}" for v in PAPER_HOPS[dataset])
            lines.append(f"| {dataset} (paper, test) | {paper} |")
    return "\n".join(lines) + "\n"


def _keyword_skip(pipeline) -> set[str]:
    """Stop words, punctuation and placeholders: not key words (the paper lists content words)."""
    from lem_keras.data.ebow import ENGLISH_STOPWORDS

    vocabulary = pipeline.token_vocabulary
    punctuation = {w for w in vocabulary if w and not any(ch.isalnum() for ch in w)}
    skip = {"", "[UNK]", "<user>", "<url>", *punctuation}
    if pipeline.language == "en":
        skip |= set(ENGLISH_STOPWORDS)
    elif pipeline.segmentation == "characters":
        skip |= CHINESE_FUNCTION_CHARACTERS  # every token is a character: skip the function ones
    else:
        skip |= {w for w in vocabulary if len(w) == 1}  # single characters: particles, pronouns
    return skip


#: Particles, pronouns and other function characters: not key words of a character model.
CHINESE_FUNCTION_CHARACTERS = frozenset(
    "的了是我你他她它们在也就都和与这那有着吧吗呢啊哦呀嘛个一要会到说去地得把被给对而又还及其之所为以于"
)


def table7(runs: list[dict], previous: str = "") -> str:
    """Key words per emotion from the best LEM model of each dataset. A dataset whose model is
    not on disk (results/models/ is not committed) keeps its section of `previous`, the
    table7.md written before, so that rebuilding the tables in a fresh clone loses nothing."""
    kept = markdown_sections(previous)
    lines = ["# Table 7 layout: top-10 key words per emotion from the memory attention",
             "", "(stop words, punctuation and placeholders are not candidates)", ""]
    for dataset in ("semeval", "ren-cecps"):
        group = [r for r in _group(runs, dataset, "lem")
                 if r.get("model_dir") and Path(r["model_dir"]).exists()]
        if not group:
            if dataset in kept:
                lines += [f"## {dataset}", "", kept[dataset], ""]
            continue
        from lem_keras.explain import emotion_keywords
        from lem_keras.training import load_artifacts

        best = max(group, key=lambda r: r["dev"]["macro_f1"])
        model, pipeline = load_artifacts(best["model_dir"])
        train, dev = _load_splits(dataset, best["path"])
        keywords = emotion_keywords(model, pipeline, train.texts + dev.texts, skip=_keyword_skip(pipeline))
        lines += [f"## {dataset}", "",
                  (f"Model `{run_id(best)}` (the best seed by dev macro-F1); the top-3 attended tokens of "
                   "each sentence of train+dev, counted."), "", "| emotion | key words |", "|---|---|"]
        for emotion, words in keywords.items():
            lines.append(f"| {emotion} | " + " ".join(w for w, _ in words) + " |")
        lines.append("")
    return "\n".join(lines)


def variants(runs: list[dict]) -> str:
    lines = ["# Variants (one seed): word vectors, eBoW lexicon, Chinese segmentation", "",
             "| dataset | run | " + " | ".join(HEADERS) + " | wall time (s) |",
             "|---" * (len(HEADERS) + 3) + "|"]
    for r in runs:
        if r["kind"] != "lem" or r["seed"] != min(x["seed"] for x in runs):
            continue
        if r["name"] in ("lem", "lem-random-init", "lem-chi2", "lem-jieba"):
            cells = [f"{r['dev'][m]:.3f}" for m in METRICS]
            lines.append(f"| {r['dataset']} | {r['name']} | " + " | ".join(cells)
                         + f" | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def render_tables(out: Path, runs: list[dict], keywords: bool = True) -> dict[str, str]:
    """Every results table as markdown, by file name without `.md`. Table 7 needs the trained
    models (slow); with keywords=False, or where a model is missing, it is kept from OUT/table7.md."""
    previous = out / "table7.md"
    previous = previous.read_text("utf-8") if previous.exists() else ""
    results = rule_results(out, runs)
    tables = {"table2": table2(runs), "table2_default": table2_default(results),
              "rules": rules_table(results), "table3": table3(out, runs), "table4": table4(out, runs),
              "table6": table6(runs), "variants": variants(runs), "table7": previous}
    if keywords:
        try:
            tables["table7"] = table7(runs, previous)
        except (OSError, ValueError, KeyError) as error:  # the other tables must not be lost to it
            print(f"table7 failed, kept as it was: {error}", file=sys.stderr)
    return tables


def markdown_sections(text: str) -> dict[str, str]:
    """A table file's parts: "" for what follows the `# ` title before any `## ` heading, else
    the first word of each `## ` heading (the dataset); each part without its heading, stripped."""
    sections: dict[str, list[str]] = {"": []}
    key = ""
    for line in text.splitlines():
        if line.startswith("## "):
            key = line[3:].split()[0] if line[3:].split() else ""
            sections[key] = []
        elif not line.startswith("# "):
            sections[key].append(line)
    return {k: "\n".join(v).strip() for k, v in sections.items() if "\n".join(v).strip()}


# In README.md a generated table sits between `<!-- table:NAME SECTION -->` and `<!-- /table -->`
# (NAME a results/NAME.md file, SECTION one of its `## ` datasets, left out for a file without
# any); `update_readme` rewrites the lines between the markers from the tables.
BLOCK = re.compile(r"^<!-- table:(?P<name>[\w-]+)(?: (?P<section>[\w-]+))? -->\n"
                   r"(?P<body>.*?)^<!-- /table -->$", re.MULTILINE | re.DOTALL)


def readme_blocks(readme: str) -> list[tuple[str, str, str, int]]:
    """The generated blocks of a README: (name, section, body, line of the opening marker)."""
    return [(m["name"], m["section"] or "", m["body"], readme.count("\n", 0, m.start()) + 1)
            for m in BLOCK.finditer(readme)]


def update_readme(readme: str, tables: dict[str, str], path: str = "README.md") -> str:
    """README text with every generated block rewritten from `tables` (see `render_tables`)."""

    def body(match: re.Match) -> str:
        name, section = match["name"], match["section"] or ""
        line = readme.count("\n", 0, match.start()) + 1
        if name not in tables:
            raise ValueError(f"{path}:{line}: unknown table {name!r}; expected one of {sorted(tables)}")
        parts = markdown_sections(tables[name])
        if section not in parts:
            raise ValueError(f"{path}:{line}: {name}.md has no section {section!r}; "
                             f"it has {sorted(k for k in parts if k)}")
        marker = f"<!-- table:{name}{' ' + section if section else ''} -->"
        return f"{marker}\n\n{parts[section]}\n\n<!-- /table -->"

    # A marker is a line of its own (a marker quoted inside a line is text).
    opening = re.compile(r"^<!-- table:", re.MULTILINE)
    for match in BLOCK.finditer(readme):
        if opening.search(match["body"]):
            line = readme.count("\n", 0, match.start()) + 1
            raise ValueError(f"{path}:{line}: a <!-- table:... --> marker without its <!-- /table -->")
    starts = [m.start() for m in opening.finditer(readme)]
    if len(starts) != len(BLOCK.findall(readme)):
        line = readme.count("\n", 0, starts[-1]) + 1
        raise ValueError(f"{path}:{line}: a <!-- table:... --> marker without its <!-- /table -->")
    return BLOCK.sub(body, readme)


def write_tables(out: Path, readme: Path | None = None) -> None:
    """Rebuild OUT/*.md and OUT/summary.json from OUT/runs/*.json; when OUT is this repository's
    results/ (or `readme` is given), rewrite the generated tables of README.md too."""
    runs = _load_runs(out)
    tables = render_tables(out, runs)
    for name, text in tables.items():
        (out / f"{name}.md").write_text(text, encoding="utf-8")
    summary = {run_id(r): {"dev": r["dev"], "seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"]}
               for r in runs}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if readme is None and out.resolve() == (REPO / "results").resolve():
        readme = REPO / "README.md"
    if readme is not None:
        text = readme.read_text("utf-8")
        updated = update_readme(text, tables, str(readme))
        if updated != text:
            readme.write_text(updated, encoding="utf-8")
        print(f"{readme}: {len(readme_blocks(updated))} generated tables "
              f"({'rewritten' if updated != text else 'already up to date'})")
    print(tables["table2"])


# ----------------------------------------------------------------------------- main


def _launch(run: dict, args, env: dict) -> str:
    """Train one run in a subprocess; its log goes to OUT/runs/<id>.log. Returns a summary line."""
    print(f"== {run_id(run)} started", flush=True)
    command = [sys.executable, __file__, "--out", str(args.out), "--run-one", json.dumps(run)]
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    with (args.out / "runs" / f"{run_id(run)}.log").open("w") as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    if code != 0:
        return f"== {run_id(run)} failed (exit {code}); see {log.name}"
    record = json.loads((args.out / "runs" / f"{run_id(run)}.json").read_text("utf-8"))
    return (f"== {run_id(run)} done  " + "  ".join(f"{k}={record['dev'][k]:.3f}" for k in METRICS)
            + f"  ({record['seconds']:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--semeval", type=Path,
                        help="directory with the SemEval-2018 E-c train and dev files")
    parser.add_argument("--ren", type=Path, help="directory with the Ren-CECps train and dev files")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    groups = ["main", "shipped", "hops", "embeddings", "lexicon", "segmentation"]
    parser.add_argument("--groups", nargs="+", default=groups, choices=groups)
    parser.add_argument("--only", nargs="+", help="run only these names (e.g. tfidf lem)")
    parser.add_argument("--word-vectors", type=Path,
                        help="word vectors for every LEM and BiGRU run instead of the shipped "
                        "configuration's (SemEval: fastText pre-trained on ../unlabeled/tweets-en.txt "
                        "beside the data, cached, with GloVe 6B appended)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs trained at once (each gets cores/jobs TensorFlow threads)")
    parser.add_argument("--epochs", type=int, help="override the maximum epochs of every run")
    parser.add_argument("--tables-only", action="store_true", help="rebuild the tables from finished runs")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "runs").mkdir(exist_ok=True)

    if args.run_one:
        run_one(json.loads(args.run_one), args.out, args.epochs)
        return 0
    if not args.tables_only:
        todo = []
        for run in plan(args):
            if args.only and run["name"] not in args.only:
                continue
            if (args.out / "runs" / f"{run_id(run)}.json").exists():
                print(f"== {run_id(run)}: done before, skipped", flush=True)
                continue
            todo.append(run)
        threads = str(max(1, (os.cpu_count() or 1) // max(1, args.jobs)))
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=threads,
                   TF_NUM_INTEROP_THREADS=threads)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for line in pool.map(lambda run: _launch(run, args, env), todo):
                print(line, flush=True)
    write_tables(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
