"""README's results tables are generated from results/runs/*.json (issue 14, item 17).

`python benchmarks/reproduce.py --tables-only` rebuilds results/*.md and the README blocks between
`<!-- table:NAME SECTION -->` and `<!-- /table -->`; these tests rebuild them in memory from the
committed runs and compare. Table 7 (key words) needs the trained models, which are not committed:
its README blocks are compared with results/table7.md.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
README = REPO / "README.md"


def _reproduce():
    spec = importlib.util.spec_from_file_location("reproduce", REPO / "benchmarks" / "reproduce.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reproduce = _reproduce()


@pytest.fixture(scope="module")
def tables() -> dict[str, str]:
    runs = reproduce._load_runs(RESULTS)
    assert runs, "no runs in results/runs/"
    return reproduce.render_tables(RESULTS, runs, keywords=False)


def _results_section(text: str) -> list[tuple[int, str]]:
    """(line number, line) of README's "## Results" section."""
    lines = text.splitlines()
    start = lines.index("## Results")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [(i + 1, lines[i]) for i in range(start, end)]


@pytest.mark.parametrize("name", ["table2", "table2_default", "rules", "table3", "table4", "table6",
                                  "variants"])
def test_results_files_match_the_runs(tables, name):
    # results/*.md are rebuilt from results/runs/*.json: a run added without rebuilding fails here.
    assert (RESULTS / f"{name}.md").read_text("utf-8") == tables[name], (
        f"results/{name}.md is stale: run `python benchmarks/reproduce.py --tables-only`")


def test_readme_tables_match_the_results(tables):
    readme = README.read_text("utf-8")
    expected = reproduce.update_readme(readme, tables)
    stale = [f"README.md:{line}: <!-- table:{name} {section} -->"
             for (name, section, body, line), (_, _, new, _) in zip(
                 reproduce.readme_blocks(readme), reproduce.readme_blocks(expected)) if body != new]
    assert readme == expected, ("README tables differ from results/ (run `python benchmarks/reproduce.py "
                                "--tables-only`): " + ", ".join(stale))


def test_every_results_table_is_in_the_readme(tables):
    present = {(name, section) for name, section, _, _ in reproduce.readme_blocks(README.read_text("utf-8"))}
    wanted = {(name, section) for name, text in tables.items()
              for section in reproduce.markdown_sections(text) if section or name in ("table6", "variants")}
    assert wanted <= present, f"results tables missing from README: {sorted(wanted - present)}"


def test_no_results_table_row_outside_the_markers():
    # Every table row of "## Results" is generated (<!-- table:... -->) or explicitly kept by hand as
    # history (<!-- history --> ... <!-- /history -->: measurements whose runs are not in results/runs).
    inside = None
    loose = []
    for number, line in _results_section(README.read_text("utf-8")):
        if re.match(r"<!-- (table:[\w-]+( [\w-]+)?|history) -->$", line):
            assert inside is None, f"README.md:{number}: a block opens inside another"
            inside = "history" if "history" in line else "table"
        elif line in ("<!-- /table -->", "<!-- /history -->"):
            assert inside == line[6:-4], f"README.md:{number}: {line} closes no {line[6:-4]} block"
            inside = None
        elif line.startswith("|") and inside is None:
            loose.append(f"README.md:{number}: {line[:60]}")
    assert inside is None, "README.md: a block is not closed"
    assert not loose, "table rows outside generated/history blocks:\n" + "\n".join(loose)


def test_update_readme_rewrites_only_the_blocks():
    tables = {"table2": "# Title\n\n## semeval\n\n| a |\n|---|\n| 1 |\n",
              "table6": "# T\n\n| h |\n|---|\n| 2 |\n"}
    readme = ("intro\n<!-- table:table2 semeval -->\n| a |\n|---|\n| 0 |\n<!-- /table -->\nmiddle\n"
              "<!-- table:table6 -->\nold\n<!-- /table -->\nend\n")
    assert reproduce.update_readme(readme, tables) == (
        "intro\n<!-- table:table2 semeval -->\n\n| a |\n|---|\n| 1 |\n\n<!-- /table -->\nmiddle\n"
        "<!-- table:table6 -->\n\n| h |\n|---|\n| 2 |\n\n<!-- /table -->\nend\n")
    with pytest.raises(ValueError, match=r"README.md:1: table2.md has no section 'ren-cecps'"):
        reproduce.update_readme("<!-- table:table2 ren-cecps -->\n<!-- /table -->\n", tables)
    with pytest.raises(ValueError, match=r"README.md:1: unknown table 'table9'"):
        reproduce.update_readme("<!-- table:table9 -->\n<!-- /table -->\n", tables)
    with pytest.raises(ValueError, match=r"README.md:2: .*without its <!-- /table -->"):
        reproduce.update_readme("x\n<!-- table:table6 -->\n| 1 |\n", tables)


def test_table7_keeps_sections_whose_model_is_missing():
    previous = ("# Table 7\n\n## semeval\n\nModel `m`.\n\n"
                "| emotion | key words |\n|---|---|\n| joy | happy |\n")
    runs = [{"dataset": "semeval", "name": "lem", "kind": "lem", "seed": 0, "model_dir": "/nonexistent",
             "dev": {"macro_f1": 0.5}}]
    sections = reproduce.markdown_sections(reproduce.table7(runs, previous))
    assert sections["semeval"] == "Model `m`.\n\n| emotion | key words |\n|---|---|\n| joy | happy |"


def _npz_runs(out: Path) -> tuple[list[dict], np.ndarray, list[np.ndarray]]:
    """Ren-CECps runs: TF-IDF and two LEM seeds with dev scores, a BiGRU run without."""
    rng = np.random.default_rng(0)
    labels = (rng.random((60, 8)) < 0.3).astype(int)
    (out / "runs").mkdir()
    runs, lem_scores = [], []
    for name, seed in (("tfidf", 0), ("lem", 0), ("lem", 1), ("bigru", 0)):
        run = {"dataset": "ren-cecps", "name": name, "seed": seed,
               "thresholds": [0.3 + 0.05 * k for k in range(8)]}
        runs.append(run)
        scores = np.clip(0.4 * labels + 0.6 * rng.random(labels.shape), 0.01, 0.99)
        if name != "bigru":
            np.savez(out / "runs" / f"{reproduce.run_id(run)}.npz", scores=scores, labels=labels)
        if name == "lem":
            lem_scores.append(scores)
    return runs, labels, lem_scores


def _row(section: str, label: str) -> list[str]:
    """The cells after the label of the row `label` of a markdown table."""
    return next(line.strip("| ").split(" | ")[1:] for line in section.splitlines()
                if line.startswith(f"| {label} |"))


def test_tables_from_dev_scores(tmp_path):
    from lem_keras.decision import DEFAULT_RULE, RULES, fit_rule
    from lem_keras.metrics import multilabel_report

    runs, labels, lem_scores = _npz_runs(tmp_path)
    results = reproduce.rule_results(tmp_path, runs)
    rules = reproduce.markdown_sections(reproduce.rules_table(results))["ren-cecps"]
    assert "no dev scores" in rules and "ren-cecps__bigru__seed0" in rules  # named, not silently left out
    ensemble = "LEM, ensemble of 2 seeds (mean probabilities)"
    for label in ("TF-IDF word+char LR", "LEM", ensemble):
        shown = [line.split(" | ")[1] for line in rules.splitlines() if line.startswith(f"| {label} |")]
        assert shown == [f"**{r}** (default)" if r == DEFAULT_RULE else r for r in RULES]
    # The ensemble: the mean of the seeds' calibrated probabilities, under the default rule.
    mean = np.mean([reproduce._calibrated(labels, s) for s in lem_scores], axis=0)
    report = multilabel_report(labels, mean, fit_rule(DEFAULT_RULE, labels, mean), DEFAULT_RULE)
    default = reproduce.markdown_sections(reproduce.table2_default(results))["ren-cecps"]
    assert _row(default, ensemble)[1:] == [f"{report[m]:.3f}" for m in reproduce.METRICS]
    assert _row(default, "LEM")[0] == "2"
    # Table 3: the paper's column order, each run's JSON thresholds; Avg. = macro-F1.
    table3 = reproduce.markdown_sections(reproduce.table3(tmp_path, runs))["ren-cecps"]
    assert ("| system | seeds | anxiety | joy | love | expectation | hate | sorrow | anger | surprise "
            "| Avg. |") in table3
    tfidf = np.load(tmp_path / "runs" / "ren-cecps__tfidf__seed0.npz")
    predicted = tfidf["scores"] >= np.array(runs[0]["thresholds"])
    anxiety = 2 * np.sum(predicted[:, 4] & (labels[:, 4] == 1)) / (predicted[:, 4].sum() + labels[:, 4].sum())
    cells = _row(table3, "TF-IDF word+char LR")
    assert cells[1] == f"{anxiety:.3f}"
    macro = multilabel_report(labels, tfidf["scores"], runs[0]["thresholds"])["macro_f1"]
    assert cells[-1] == f"{macro:.3f}"


def test_reproduction_runs_train_the_paper_s_single_lem(tmp_path):
    # The shipped SemEval configuration adds a seed and a TF-IDF member; the reproduction's
    # LEM rows (and their ablations) are one LEM each.
    (tmp_path / "semeval").mkdir()
    (tmp_path / "unlabeled").mkdir()
    (tmp_path / "unlabeled" / "tweets-en.txt").write_text("a tweet\n", "utf-8")
    (tmp_path / "lexicons").mkdir()
    for name in ("NRC-Emotion-Lexicon-Wordlevel-v0.92.txt", "mpqa-subjclueslen1-HLTEMNLP05.tff",
                 "opinion-lexicon-negative-words.txt", "opinion-lexicon-positive-words.txt"):
        (tmp_path / "lexicons" / name).write_text("", "utf-8")
    run = {"dataset": "semeval", "overrides": {"hops": 2}, "seed": 4, "path": str(tmp_path / "semeval")}
    config = reproduce._config(run, epochs=None)
    assert (config.ensemble, config.tfidf_blend, config.seed, config.hops) == (1, 0.0, 4, 2)
