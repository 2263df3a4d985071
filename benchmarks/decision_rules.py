"""Cross-validate the decision rules (and temperature scaling) on saved dev scores.

    python benchmarks/decision_rules.py --runs results/runs --out results/decision_rules.md

Reads the dev scores that ``benchmarks/reproduce.py`` saves (``RUNS/<dataset>__<model>__
seed<k>.npz`` with ``scores`` and ``labels``). For every run and every repeat of a
stratified k-fold split of dev (default 5 folds x 10 repeats), each rule of
``lem_keras.decision`` is fitted on k-1 folds and predicts the held-out fold; the
out-of-fold predictions of a repeat cover all of dev and are scored with
``lem_keras.metrics.multilabel_report``. Tables: mean ± std over runs x repeats; the
"mean rank" ranks the rules on HL, miF1, maF1 and Jaccard in every (run, repeat) of the
``--choose-on`` model and averages (1 = best) — the lowest is the default rule. Then
each rule fitted and scored on the whole dev (in-sample), and the calibration of the
probabilities (ECE, NLL, RL, AP) raw and after temperature scaling fitted out of fold.

``--shrinkage 10,30,100`` adds ``shrunk`` variants with those λ to the cross-validation
(how ``lem_keras.decision.SHRINKAGE`` was chosen).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lem_keras import calibration, decision, metrics
from lem_keras.metrics import multilabel_report

RANKED = ("hamming_loss", "micro_f1", "macro_f1", "jaccard")
LOWER_IS_BETTER = {"hamming_loss", "ranking_loss"}
SHOWN = ("hamming_loss", "micro_f1", "macro_f1", "jaccard")
HEADERS = {"hamming_loss": "HL↓", "micro_f1": "miF1", "macro_f1": "maF1", "jaccard": "Jaccard",
           "ranking_loss": "RL↓", "macro_pr_auc": "AP", "ece": "ECE↓ (mean over emotions)", "nll": "NLL↓"}
RUN_NAME = re.compile(r"^(?P<dataset>[^_]+(?:-[^_]+)*)__(?P<model>.+)__seed(?P<seed>\d+)$")


def load_runs(directory: Path) -> list[dict]:
    runs = []
    for path in sorted(directory.glob("*.npz")):
        match = RUN_NAME.match(path.stem)
        if not match:
            continue
        data = np.load(path)
        runs.append({**match.groupdict(), "name": path.stem, "labels": data["labels"].astype(int),
                     "scores": data["scores"].astype("float64")})
    return runs


def stratified_folds(labels: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold index per example: examples grouped by their rarest gold emotion (or none),
    each group dealt round-robin into the folds after shuffling."""
    prevalence = labels.sum(axis=0)
    rarest = np.where(labels.any(axis=1), np.argmin(np.where(labels > 0, prevalence, np.inf), axis=1), -1)
    fold = np.empty(len(labels), dtype=int)
    offset = 0
    for group in np.unique(rarest):
        members = rng.permutation(np.flatnonzero(rarest == group))
        fold[members] = (np.arange(len(members)) + offset) % folds
        offset += len(members)
    return fold


def candidate_rules(shrinkage: list[float]) -> dict:
    """{name: fit(y, s) -> thresholds}: every rule of lem_keras.decision, and with each λ of
    ``shrinkage`` the shrunk rule (toward the global Jaccard or the balanced threshold) and the
    expected_jaccard rule with that λ."""
    rules = {name: (lambda y, s, name=name: decision.fit_rule(name, y, s)) for name in decision.RULES}
    for strength in shrinkage:
        rules[f"shrunk λ={strength:g}"] = lambda y, s, strength=strength: decision.shrunk(y, s, strength)
        rules[f"shrunk→balanced λ={strength:g}"] = lambda y, s, strength=strength: decision.shrunk(
            y, s, strength, target=decision.global_threshold(y, s, decision._balanced))
        rules[f"expected_jaccard λ={strength:g}"] = rules[f"shrunk λ={strength:g}"]
    return rules


def rule_of(name: str) -> str | None:
    """The rule of ``lem_keras.decision`` that a candidate of :func:`candidate_rules` decides as
    (a λ variant of ``expected_jaccard`` as that rule; the others by their thresholds alone)."""
    rule = name.split(" λ=")[0]
    return rule if rule in decision.SET_RULES else None


def cross_validate(runs: list[dict], rules: dict, folds: int, repeats: int, seed: int,
                   temperature: bool = False):
    """{(model, rule): [HL, miF1, maF1, Jaccard of the out-of-fold predictions, per (run, repeat)]}."""
    results = defaultdict(list)
    for run in runs:
        y, s = run["labels"], run["scores"]
        for repeat in range(repeats):
            fold = stratified_folds(y, folds, np.random.default_rng([seed, repeat]))
            predictions = {name: np.zeros(y.shape, dtype=bool) for name in rules}
            for f in range(folds):
                fit, held = fold != f, fold == f
                s_fit, s_held = s[fit], s[held]
                if temperature:  # as training.finalize: per-emotion T on the fitting folds, then the rules
                    t = calibration.fit_temperature(y[fit], s_fit, per_emotion=True)
                    s_fit = calibration.apply_temperature(s_fit, t)
                    s_held = calibration.apply_temperature(s_held, t)
                for name, rule in rules.items():
                    predictions[name][held] = decision.decide(s_held, rule(y[fit], s_fit), rule_of(name))
            for name in rules:
                results[(run["model"], name)].append(_threshold_metrics(y, predictions[name]))
    return results


def _threshold_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    return {"hamming_loss": metrics.hamming_loss(y, p), "micro_f1": metrics.micro_f1(y, p),
            "macro_f1": metrics.macro_f1(y, p), "jaccard": metrics.jaccard_accuracy(y, p)}


def mean_ranks(results: dict, model: str, rules: list[str]) -> dict[str, float]:
    from scipy.stats import rankdata

    count = len(results[(model, rules[0])])
    ranks = defaultdict(list)
    for i in range(count):
        for metric in RANKED:
            values = np.array([results[(model, name)][i][metric] for name in rules])
            order = rankdata(values if metric in LOWER_IS_BETTER else -values, method="average")
            for name, r in zip(rules, order):
                ranks[name].append(r)
    return {name: float(np.mean(ranks[name])) for name in rules}


def worst_margins(results: dict, model: str, rules: list[str], bar: dict[str, float]) -> dict[str, float]:
    """Per rule, the smallest margin of its mean out-of-fold metrics to ``bar`` (positive:
    every metric clears its bound; HL's margin is bound - HL, the others' metric - bound)."""
    margins = {}
    for name in rules:
        reports = results[(model, name)]
        means = {m: float(np.mean([r[m] for r in reports])) for m in bar}
        margins[name] = min(bar[m] - v if m in LOWER_IS_BETTER else v - bar[m] for m, v in means.items())
    return margins


def parse_bar(text: str) -> dict[str, float]:
    """``"0.16,0.665,0.54,0.55"`` -> ``{hamming_loss: .16, micro_f1: .665, macro_f1: .54, jaccard: .55}``."""
    values = [float(v) for v in text.split(",") if v.strip()]
    if len(values) != len(RANKED):
        raise ValueError(f"--bar needs {len(RANKED)} values (HL,miF1,maF1,Jaccard), got {text!r}")
    return dict(zip(RANKED, values))


def _cell(values: list[float]) -> str:
    values = np.asarray(values)
    return f"{values.mean():.3f} ± {values.std():.3f}" if len(values) > 1 else f"{values.mean():.3f}"


def cv_table(results: dict, runs: list[dict], rules: list[str], choose_on: str,
             bar: dict[str, float] | None = None) -> tuple[str, str]:
    """The out-of-fold table (sorted by worst margin with ``bar``, else by mean rank) and the
    best candidate rule on ``choose_on`` (a ``shrunk λ=…`` variant when one wins)."""
    models = sorted({r["model"] for r in runs}, key=lambda m: (m != choose_on, m))
    extra = " | mean rank |" + (" worst margin |" if bar else "")
    lines = ["| model | rule | " + " | ".join(HEADERS[m] for m in SHOWN) + extra,
             "|---|---|" + "---|" * (len(SHOWN) + 1 + bool(bar))]
    best = None
    for model in models:
        ranks = mean_ranks(results, model, rules)
        margins = worst_margins(results, model, rules, bar) if bar else {}
        order = sorted(rules, key=(lambda n, m=margins: -m[n]) if bar else ranks.get)
        if model == choose_on:
            best = order[0]
        for name in order:
            reports = results[(model, name)]
            cells = [_cell([r[m] for r in reports]) for m in SHOWN]
            seeds = len({r["seed"] for r in runs if r["model"] == model})
            lines.append(f"| {model} ({seeds} seed{'s' * (seeds > 1)}) | {name} | " + " | ".join(cells)
                         + f" | {ranks[name]:.2f} |" + (f" {margins[name]:+.3f} |" if bar else ""))
    return "\n".join(lines), best


def dev_table(runs: list[dict], temperature: bool = True) -> str:
    """Each shipped rule fitted and scored on the whole dev (after per-emotion temperature
    scaling fitted on dev, unless ``temperature`` is false): mean ± std over seeds."""
    keys = ("hamming_loss", "ranking_loss", "micro_f1", "macro_f1", "macro_pr_auc", "jaccard")
    lines = ["| model | rule | " + " | ".join(HEADERS[k] for k in keys) + " |",
             "|---|---|" + "---|" * len(keys)]
    for model in sorted({r["model"] for r in runs}):
        mine = [r for r in runs if r["model"] == model]
        if temperature:
            mine = [{**r, "scores": calibration.apply_temperature(r["scores"], calibration.fit_temperature(
                r["labels"], r["scores"], per_emotion=True))} for r in mine]
        for name in decision.RULES:
            fitted = [decision.fit_rule(name, r["labels"], r["scores"]) for r in mine]
            reports = [multilabel_report(r["labels"], r["scores"], t, name) for r, t in zip(mine, fitted)]
            label = f"{model} ({len(mine)} seed{'s' * (len(mine) > 1)})"
            cells = " | ".join(_cell([x[k] for x in reports]) for k in keys)
            lines.append(f"| {label} | {name} | {cells} |")
    return "\n".join(lines)


def calibration_table(runs: list[dict], folds: int, repeats: int, seed: int) -> str:
    """ECE, NLL, RL and AP of the raw scores and of out-of-fold temperature scaling."""
    variants = {"raw": None, "one temperature T": False, "per-emotion T_k": True}
    rows = defaultdict(lambda: defaultdict(list))
    temperatures = defaultdict(list)
    for run in runs:
        y, s = run["labels"], run["scores"]
        for repeat in range(repeats):
            fold = stratified_folds(y, folds, np.random.default_rng([seed, repeat]))
            for variant, per_emotion in variants.items():
                scaled = s.copy()
                if per_emotion is not None:
                    for f in range(folds):
                        held = fold == f
                        t = calibration.fit_temperature(y[~held], s[~held], per_emotion=per_emotion)
                        scaled[held] = calibration.apply_temperature(s[held], t)
                        if not per_emotion:
                            temperatures[run["model"]].append(t)
                report = multilabel_report(y, scaled, 0.5)
                clipped = np.clip(scaled, 1e-7, 1 - 1e-7)
                nll = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
                ece = float(calibration.expected_calibration_error(y, scaled).mean())
                for key, value in (("ece", ece), ("nll", nll), ("ranking_loss", report["ranking_loss"]),
                                   ("macro_pr_auc", report["macro_pr_auc"])):
                    rows[(run["model"], variant)][key].append(value)
    keys = ("ece", "nll", "ranking_loss", "macro_pr_auc")
    lines = ["| model | probabilities | " + " | ".join(HEADERS[k] for k in keys) + " |",
             "|---|---|" + "---|" * len(keys)]
    for (model, variant), values in rows.items():
        lines.append(f"| {model} | {variant} | " + " | ".join(_cell(values[k]) for k in keys) + " |")
    fitted = ", ".join(f"{m}: T = {_cell(v)}" for m, v in temperatures.items())
    return "\n".join(lines) + f"\n\nFitted single temperatures (per fold): {fitted}."


def seed_ensembles(runs: list[dict], sizes: list[int]) -> list[dict]:
    """For each N, one run per combination of N LEM seeds: the mean of their dev scores."""
    from itertools import combinations

    lem = sorted((r for r in runs if r["model"] == "lem"), key=lambda r: int(r["seed"]))
    made = []
    for size in sizes:
        for k, group in enumerate(combinations(lem, size)):
            made.append({"dataset": group[0]["dataset"], "model": f"lem-ens{size}", "seed": str(k),
                         "name": f"{group[0]['dataset']}__lem-ens{size}__seed{k}",
                         "labels": group[0]["labels"],
                         "scores": np.mean([r["scores"] for r in group], axis=0)})
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=Path, default=REPO / "results" / "runs", help="directory of <run>.npz")
    parser.add_argument("--dataset", default="semeval", help="dataset prefix of the runs to use")
    parser.add_argument("--out", type=Path, help="markdown file to write (default: print only)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--choose-on", default="lem", help="the model whose ranks choose the default rule")
    parser.add_argument("--shrinkage", default="", help="comma-separated λ values of extra `shrunk` variants")
    parser.add_argument("--no-calibration", action="store_true", help="skip the temperature-scaling table")
    parser.add_argument("--ensembles", default="",
                        help="comma-separated sizes N: add `lem-ensN` runs, the mean of every N LEM seeds' "
                        "dev probabilities (what `lem-keras train --ensemble N` serves)")
    parser.add_argument("--bar", default="",
                        help="HL,miF1,maF1,Jaccard bounds (e.g. issue 12's 0.16,0.665,0.54,0.55): choose the "
                        "rule with the largest worst margin to them instead of the best mean rank")
    parser.add_argument("--raw", action="store_true",
                        help="fit the rules on the raw scores (default: after per-emotion temperature "
                        "scaling fitted on the same folds, as training.finalize does)")
    args = parser.parse_args(argv)

    runs = [r for r in load_runs(args.runs) if r["dataset"] == args.dataset]
    if not runs:
        print(f"{args.runs}: no {args.dataset}__*.npz dev scores", file=sys.stderr)
        return 2
    runs += seed_ensembles(runs, [int(v) for v in args.ensembles.split(",") if v])
    shrinkage = [float(v) for v in args.shrinkage.split(",") if v]
    bar = parse_bar(args.bar) if args.bar else None
    if args.choose_on not in {r["model"] for r in runs}:
        print(f"--choose-on {args.choose_on}: no such model among the runs", file=sys.stderr)
        return 2
    rules = candidate_rules(shrinkage)
    results = cross_validate(runs, rules, args.folds, args.repeats, args.seed, temperature=not args.raw)
    table, best = cv_table(results, runs, list(rules), args.choose_on, bar)
    criterion = (f"the largest worst margin to the bar HL ≤ {bar['hamming_loss']:g}, "
                 f"miF1 ≥ {bar['micro_f1']:g}, maF1 ≥ {bar['macro_f1']:g}, Jaccard ≥ {bar['jaccard']:g} "
                 "(rules sorted by it)" if bar else "the best mean rank")
    names = ", ".join(r["name"] for r in runs)
    text = [
        f"# Decision rules, {args.dataset}: cross-validated on dev",
        "",
        (f"Runs: {names}. Generated by `python benchmarks/decision_rules.py --runs {args.runs} "
        f"--dataset {args.dataset}{' --shrinkage ' + args.shrinkage if shrinkage else ''}"
        f"{' --ensembles ' + args.ensembles if args.ensembles else ''}"
        f"{' --choose-on ' + args.choose_on if args.choose_on != 'lem' else ''}"
        f"{' --bar ' + args.bar if bar else ''}`."),
        "",
        (f"## Out-of-fold ({args.folds} stratified folds x {args.repeats} repeats; "
        "mean ± std over runs x repeats)"),
        "",
        ("Raw scores. " if args.raw else "Per-emotion temperature scaling fitted on the fitting folds first. "
         )
        + ("Each rule is fitted on 4/5 of dev and predicts the other fifth; mean rank over HL, miF1, maF1 "
        f"and Jaccard (1 = best). Best on {args.choose_on} by {criterion}: **{best}** "
        f"(shipped default: `{decision.DEFAULT_RULE}`; `shrunk` λ = {decision.SHRINKAGE:g}, "
        f"`expected_jaccard` λ = {decision.EXPECTED_JACCARD_SHRINKAGE:g})."),
        "",
        table,
        "",
        "## Each rule fitted and scored on the whole dev (in-sample; mean ± std over seeds)",
        "",
        dev_table(runs, temperature=not args.raw),
    ]
    if not args.no_calibration:
        text += ["", "## Calibration: raw probabilities and temperature scaling fitted out of fold", "",
                 "ECE: 10 equal bins per emotion, mean over emotions; NLL: binary cross-entropy per cell.",
                 "",
                 calibration_table(runs, args.folds, args.repeats, args.seed)]
    output = "\n".join(text) + "\n"
    print(output)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(output, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
