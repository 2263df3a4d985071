"""benchmarks/heldout_cv.py: held-out estimates by cross-validation on the training split."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def cv_script():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("heldout_cv", BENCHMARKS / "heldout_cv.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_folds_partition_the_training_split(cv_script):
    from lem_keras.data.readers import Dataset

    rng = np.random.default_rng(0)
    labels = (rng.random((103, 4)) < [0.4, 0.3, 0.1, 0.05]).astype(int)
    train = Dataset([f"text {i}" for i in range(103)], labels, ["a", "b", "c", "d"])
    held_ids = []
    for fold in range(5):
        fitting, held = cv_script.fold_split(train, 5, fold, seed=7)
        assert len(fitting) + len(held) == 103
        assert not set(fitting.ids) & set(held.ids)
        assert 19 <= len(held) <= 22
        for text, row, ident in zip(held.texts, held.labels, held.ids):   # rows travel with their labels
            assert text == f"text {ident}" and (row == labels[int(ident)]).all()
        held_ids += held.ids
    assert sorted(held_ids, key=int) == train.ids   # every text held out exactly once
    again = cv_script.fold_split(train, 5, 2, seed=7)[1]
    assert again.ids == cv_script.fold_split(train, 5, 2, seed=7)[1].ids


def test_tables_score_each_rule_on_the_held_out_fold(cv_script, tmp_path):
    rng = np.random.default_rng(1)
    for fold in range(2):
        held_labels = (rng.random((60, 3)) < 0.3).astype(int)
        dev_labels = (rng.random((40, 3)) < 0.3).astype(int)
        noisy = lambda y: np.clip(0.6 * y + 0.5 * rng.random(y.shape), 0, 1)
        arrays = {"held_labels": held_labels, "dev_labels": dev_labels, "held": noisy(held_labels),
                  "dev": noisy(dev_labels)}
        for k in range(2):
            arrays[f"held_member{k}"], arrays[f"dev_member{k}"] = noisy(held_labels), noisy(dev_labels)
        np.savez(tmp_path / f"fold{fold}.npz", **arrays)
        sentences = {"top1": 30 + fold, "any_gold": 36, "emotional": 40}
        record = {"fold": fold, "members": 2, "sentences": sentences}
        (tmp_path / f"fold{fold}.json").write_text(json.dumps(record))
    folds = cv_script.load_folds(tmp_path)
    text = cv_script.tables(folds, [30.0])
    from lem_keras.metrics import multilabel_report

    # fixed_0.5 needs no fitting: its row is the mean of the two folds' held-out reports.
    expected = np.mean([multilabel_report(f["held_labels"], f["held"], 0.5)["hamming_loss"] for f in folds])
    lem = "| LEM (2-member ensemble) |"
    row = next(line for line in text.splitlines() if line.startswith(f"{lem} fixed_0.5 |"))
    assert row.split("|")[3].strip().startswith(f"{expected:.3f} ±")
    assert f"{lem} shrunk λ=30 |" in text and "| member 1 | shrunk |" in text
    assert "top emotion right 30, 31" in text


@pytest.mark.parametrize("dataset, table", [("semeval", "heldout_cv.md"),
                                            ("ren-cecps", "heldout_cv_ren-cecps.md")])
def test_committed_table_matches_the_committed_folds(cv_script, dataset, table):
    # results/<table> is rebuilt from results/heldout/<dataset>/fold*.npz: a stale table fails here.
    repo = BENCHMARKS.parent
    folds = cv_script.load_folds(repo / "results" / "heldout" / dataset)
    assert len(folds) == 5 and all("held_tfidf" in f for f in folds)
    expected = cv_script.tables(folds, [30.0, 100.0, 300.0])
    assert (repo / "results" / table).read_text("utf-8") == expected, (
        f"results/{table} is stale: run `python benchmarks/heldout_cv.py --out results/heldout/{dataset} "
        f"--tables-only --write results/{table}`")
