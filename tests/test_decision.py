"""Decision rules, calibration and the evaluation plot (issue 12 items 1 and 3).

The numpy parts run on hand-made arrays; the wiring (decision.json, `predict`, `evaluate`,
`export` with `--decision`) on one tiny model trained once for the module (a few seconds).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lem_keras import calibration, decision
from lem_keras.cli import main
from lem_keras.metrics import jaccard_accuracy, micro_f1, multilabel_report

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "cli"
DEV = FIXTURES / "semeval" / "tiny-dev.txt"
METRIC_KEYS = {"hamming_loss", "ranking_loss", "micro_f1", "macro_f1", "macro_pr_auc", "lrap", "jaccard"}


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(3)
    y = (rng.random((200, 5)) < np.array([0.4, 0.05, 0.3, 0.15, 0.5])).astype(int)
    s = np.clip(0.35 * y + rng.random(y.shape) * 0.7, 0, 1)
    return y, s


# ----------------------------------------------------------------------------- rules
def test_every_rule_gives_one_threshold_per_emotion_above_zero(case):
    y, s = case
    rules = decision.fit_rules(y, s)
    assert list(rules) == list(decision.RULES) and decision.DEFAULT_RULE in rules
    for name, thresholds in rules.items():
        assert thresholds.shape == (5,) and thresholds.dtype == np.float32, name
        assert np.all(thresholds >= 1e-6), name
    assert np.all(rules["fixed_0.5"] == 0.5)
    for name in ("global_jaccard", "global_micro_f1", "global_balanced"):
        assert len(set(rules[name].tolist())) == 1, name


def test_global_rules_maximise_their_metric_over_the_grid(case):
    y, s = case
    rules = decision.fit_rules(y, s)
    best_jaccard = max(jaccard_accuracy(y, s >= t) for t in decision.GLOBAL_GRID)
    best_micro = max(micro_f1(y, s >= t) for t in decision.GLOBAL_GRID)
    assert jaccard_accuracy(y, s >= rules["global_jaccard"]) == pytest.approx(best_jaccard)
    assert micro_f1(y, s >= rules["global_micro_f1"]) == pytest.approx(best_micro)


def test_shrunk_is_the_positive_weighted_mean_of_own_and_global(case):
    y, s = case
    own = decision.per_emotion_f1(y, s).astype("float64")
    t_g = decision.global_threshold(y, s, "jaccard")
    n = y.sum(axis=0)
    lam = decision.SHRINKAGE
    expected = (n * own + lam * t_g) / (n + lam)
    np.testing.assert_allclose(decision.fit_rule("shrunk", y, s), expected, rtol=1e-6)
    # The emotion with the fewest positives moves furthest toward the global threshold.
    rare = int(np.argmin(n))
    share = np.abs(expected - own) / np.maximum(np.abs(t_g - own), 1e-12)
    assert share[rare] == pytest.approx(lam / (n[rare] + lam))


def _expected_jaccard_by_enumeration(p: np.ndarray, chosen: np.ndarray) -> float:
    """E[Jaccard(gold, chosen)] over every gold set, the emotions independent with probabilities p."""
    import itertools

    value = 0.0
    for gold in itertools.product([0, 1], repeat=len(p)):
        gold = np.array(gold, bool)
        weight = np.prod(np.where(gold, p, 1 - p))
        union = (gold | chosen).sum()
        value += weight * ((gold & chosen).sum() / union if union else 1.0)
    return value


def test_expected_jaccard_sets_are_the_best_top_k_by_enumeration():
    from lem_keras.layers.expected_jaccard import expected_jaccard_sets

    rng = np.random.default_rng(5)
    p = np.concatenate([rng.random((40, 5)) ** rng.uniform(0.3, 3, (40, 1)),
                        [[0.0] * 5, [0.9, 0.05, 0.05, 0.05, 0.05]]]).astype("float32")
    sets = np.asarray(expected_jaccard_sets(p))
    sizes = set()
    for row, chosen in zip(p.astype("float64"), sets):
        order = np.argsort(-row, kind="stable")
        values = []
        for k in range(len(row) + 1):
            top = np.zeros(len(row), bool)
            top[order[:k]] = True
            values.append(_expected_jaccard_by_enumeration(row, top))
        # The chosen set is a top-k set, and no other top-k set is expected to do better.
        k = int(chosen.sum())
        assert set(np.flatnonzero(chosen)) == set(order[:k])
        assert values[k] >= max(values) - 1e-6
        sizes.add(k)
    assert sets[-2].sum() == 0 and sets[-1].tolist() == [True, False, False, False, False]
    assert len(sizes) >= 3  # the rows call for sets of several sizes


def test_decide_unites_the_thresholds_with_the_expected_jaccard_set(case):
    y, s = case
    thresholds = decision.fit_rule("expected_jaccard", y, s)
    strength = decision.EXPECTED_JACCARD_SHRINKAGE
    np.testing.assert_allclose(thresholds, decision.shrunk(y, s, strength=strength))
    above = s >= thresholds
    chosen = decision.decide(s, thresholds, "expected_jaccard")
    assert (chosen >= above).all() and (chosen > above).any()
    np.testing.assert_array_equal(decision.decide(s, thresholds, "shrunk"), above)
    one_text = decision.decide(s[3], thresholds, "expected_jaccard")
    np.testing.assert_array_equal(one_text, chosen[3])
    report = multilabel_report(y, s, thresholds, "expected_jaccard")
    assert report["jaccard"] == pytest.approx(jaccard_accuracy(y, chosen))
    assert report["micro_f1"] == pytest.approx(micro_f1(y, chosen))


def test_unknown_rule_is_named():
    with pytest.raises(ValueError, match="unknown decision rule 'best'.*per_emotion_f1"):
        decision.fit_rule("best", np.zeros((2, 2)), np.zeros((2, 2)))


# ----------------------------------------------------------------------------- calibration
def test_ece_of_a_hand_example():
    # Emotion 0, 2 bins: [.2, .4] (gold 0, 1) -> |1/2 - .3| * 2/3; [.9] (gold 1) -> |1 - .9| * 1/3.
    # Emotion 1: perfectly calibrated bins (scores .5/.5, gold 0/1; and 1.0 gold 1) -> 0.
    y = np.array([[0, 0], [1, 1], [1, 1]])
    s = np.array([[0.2, 0.5], [0.4, 0.5], [0.9, 1.0]])
    np.testing.assert_allclose(calibration.expected_calibration_error(y, s, bins=2),
                               [0.2 * 2 / 3 + 0.1 / 3, 0.0], atol=1e-12)


def test_temperature_formula_keeps_zero_and_order():
    s = np.array([[0.0, 0.1, 0.5, 0.9, 0.999]])
    scaled = calibration.apply_temperature(s, 2.0)
    logit = np.log(s[0, 1:] / (1 - s[0, 1:]))
    np.testing.assert_allclose(scaled[0, 1:], 1 / (1 + np.exp(-logit / 2.0)), rtol=1e-9)
    assert scaled[0, 0] == 0.0 and scaled[0, 2] == pytest.approx(0.5)
    assert np.all(np.diff(scaled[0]) > 0)
    np.testing.assert_allclose(calibration.apply_temperature(s, 1.0), s, atol=1e-12)


def test_fit_temperature_recovers_an_overconfident_model():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, size=(20000, 1))
    y = (rng.random(logits.shape) < 1 / (1 + np.exp(-logits))).astype(int)
    overconfident = 1 / (1 + np.exp(-2.5 * logits))  # the true temperature is 2.5
    assert calibration.fit_temperature(y, overconfident) == pytest.approx(2.5, rel=0.05)
    before = calibration.expected_calibration_error(y, overconfident).mean()
    rescaled = calibration.apply_temperature(overconfident, 2.5)
    after = calibration.expected_calibration_error(y, rescaled).mean()
    assert after < before / 3


def test_temperature_in_graph_equals_the_numpy_formula():
    from lem_keras.model import LatentEmotionMemory

    model = LatentEmotionMemory(num_emotions=3, ebow_size=20, vocab_size=50, embedding_dim=8, hops=1,
                                latent_hidden=8, seed=0)
    x = {"tokens": np.array([[3, 4, 0], [0, 0, 0]]), "ebow": np.r_[np.ones((1, 20)), np.zeros((1, 20))]}
    raw = np.asarray(model(x, training=False))
    assert raw[1].tolist() == [0.0, 0.0, 0.0]  # no evidence
    model.set_temperature([0.5, 2.0, 1.0])
    scaled = np.asarray(model(x, training=False))
    np.testing.assert_allclose(scaled, calibration.apply_temperature(raw, [0.5, 2.0, 1.0]), atol=2e-6)
    assert scaled[0, 2] == raw[0, 2] and scaled[1].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="> 0"):
        model.set_temperature(0.0)


# ----------------------------------------------------------------------------- plot
def test_plot_has_a_pr_panel_per_emotion_and_a_reliability_diagram(case, tmp_path):
    from lem_keras.plots import RELIABILITY_TITLE, plot_evaluation

    y, s = case
    names = ["a", "b", "c", "d", "e"]
    path = tmp_path / "eval.png"
    figure = plot_evaluation(y, s, decision.fit_rule("shrunk", y, s), names, path, rule="shrunk")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = figure.axes
    assert [a.get_title() for a in axes] == [*names, RELIABILITY_TITLE]
    assert all((a.get_xlabel(), a.get_ylabel()) == ("recall", "precision") for a in axes[:5])
    reliability = axes[5]
    assert (reliability.get_xlabel(), reliability.get_ylabel()) == ("mean predicted probability",
                                                                    "observed frequency")
    # The operating point of emotion 0 is the precision and recall at its threshold.
    t0 = decision.fit_rule("shrunk", y, s)[0]
    predicted = s[:, 0] >= t0
    point = axes[0].lines[1].get_xydata()[0]
    tp = np.sum(predicted & (y[:, 0] == 1))
    np.testing.assert_allclose(point, [tp / y[:, 0].sum(), tp / predicted.sum()])


# ----------------------------------------------------------------------------- model directory
def _run(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("decision_model") / "model"
    code, _, stderr = _run(["train", "--data", FIXTURES / "semeval", "--format", "semeval",
                            "--config", FIXTURES / "tiny.json", "--verbose", "0", "--out", out])
    assert code == 0, stderr
    return out


@pytest.fixture
def edited_dir(model_dir, tmp_path):
    """A copy of the model whose global_jaccard thresholds are all 1e-6 (every emotion of a
    text with evidence is predicted) and fixed_0.5's all 1.0 (none is)."""
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    record = json.loads((copy / "decision.json").read_text("utf-8"))
    k = len(record["rules"]["fixed_0.5"])
    record["rules"]["global_jaccard"] = [1e-6] * k
    record["rules"]["fixed_0.5"] = [1.0] * k
    (copy / "decision.json").write_text(json.dumps(record), encoding="utf-8")
    return copy


def test_every_rule_is_stored_and_reloaded(model_dir):
    from lem_keras.training import load_artifacts, load_decision, thresholds_for

    stored = load_decision(model_dir)
    assert stored["default"] == decision.DEFAULT_RULE
    assert list(stored["rules"]) == list(decision.RULES)
    model, _ = load_artifacts(model_dir)
    # The model's own thresholds (those of predict and the SavedModel) are the default rule's.
    np.testing.assert_array_equal(model.get_thresholds(), stored["rules"][decision.DEFAULT_RULE])
    # ... fitted on dev: refitting on the model's dev scores gives the stored thresholds.
    from lem_keras.data.readers import load_dataset
    from lem_keras.training import predict_scores

    dev = load_dataset(DEV, "semeval")
    refit = decision.fit_rules(dev.labels, predict_scores(model, _, dev.texts))
    # The rules are fitted on the calibrated probabilities; the temperature on the raw ones.
    temperature = model.get_temperature()
    model.set_temperature(1.0)
    raw = predict_scores(model, _, dev.texts)
    np.testing.assert_allclose(temperature, calibration.fit_temperature(dev.labels, raw, per_emotion=True),
                               rtol=1e-4)
    assert not np.allclose(temperature, 1.0)
    model.set_temperature(temperature)
    for name in decision.RULES:
        np.testing.assert_allclose(stored["rules"][name], refit[name], atol=1e-6, err_msg=name)
        assert thresholds_for(model_dir, name)[0] == name
    assert thresholds_for(model_dir)[0] == decision.DEFAULT_RULE


def test_a_directory_without_decision_json_has_its_per_emotion_thresholds(model_dir, tmp_path):
    from lem_keras.training import load_decision, thresholds_for

    copy = tmp_path / "old"
    shutil.copytree(model_dir, copy)
    (copy / "decision.json").unlink()
    metrics = json.loads((copy / "metrics.json").read_text("utf-8"))
    stored = load_decision(copy)
    assert stored["default"] == "per_emotion_f1"
    np.testing.assert_allclose(stored["rules"]["per_emotion_f1"], metrics["thresholds"])
    message = "no thresholds for decision rule 'shrunk'; this model has: per_emotion_f1$"
    with pytest.raises(ValueError, match=message):
        thresholds_for(copy, "shrunk")
    code, _, stderr = _run(["evaluate", "--model", copy, "--data", DEV, "--decision", "shrunk"])
    assert code == 2 and stderr.startswith("lem-keras: error: ") and "decision.json" in stderr


def test_predict_decision_changes_the_emotions_never_the_probabilities(edited_dir, tmp_path):
    texts = ["so happy and glad today", "terrified of the dark", "", "zzzz qqqq"]
    path = tmp_path / "in.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    runs = {}
    for rule in ("global_jaccard", "fixed_0.5", None):
        argv = ["predict", "--model", edited_dir, "--input", path] + (["--decision", rule] if rule else [])
        code, stdout, stderr = _run(argv)
        assert code == 0, stderr
        runs[rule] = [json.loads(line) for line in stdout.splitlines()]
    for records in runs.values():
        assert [r["probabilities"] for r in records] == [r["probabilities"] for r in runs[None]]
    names = list(runs[None][0]["probabilities"])
    for record in runs["global_jaccard"]:
        evidence = any(p > 0 for p in record["probabilities"].values())
        # Every emotion clears the lowest threshold, listed the most probable first.
        ranked = sorted(names, key=lambda n: -record["probabilities"][n])
        assert record["emotions"] == (ranked if evidence else [])
    assert all(r["emotions"] == [] for r in runs["fixed_0.5"])
    assert any(r["emotions"] for r in runs["global_jaccard"])
    # The Python API agrees with the CLI.
    from lem_keras.training import load_artifacts, predict_emotions

    model, pipeline = load_artifacts(edited_dir)
    scores, emotions = predict_emotions(model, pipeline, texts, decision="global_jaccard",
                                        model_dir=edited_dir)
    assert emotions == [r["emotions"] for r in runs["global_jaccard"]]
    default_scores, _ = predict_emotions(model, pipeline, texts)
    np.testing.assert_array_equal(scores, default_scores)


def test_evaluate_prints_a_row_per_rule_and_keeps_the_json_keys(edited_dir, tmp_path):
    code, stdout, stderr = _run(["evaluate", "--model", edited_dir, "--data", DEV])
    assert code == 0, stderr
    lines = stdout.splitlines()
    rows = [line.split()[0] for line in lines[2:2 + len(decision.RULES)]]
    assert rows == [r + ("*" if r == decision.DEFAULT_RULE else "") for r in decision.RULES]
    assert lines[1].split() == ["rule", *["hamming_loss", "ranking_loss", "micro_f1", "macro_f1",
                                          "macro_pr_auc", "lrap", "jaccard"]]
    assert "expected calibration error" in stdout

    reports = {}
    for rule in (None, "global_jaccard"):
        argv = ["evaluate", "--model", edited_dir, "--data", DEV, "--json"]
        argv += ["--decision", rule] if rule else []
        code, stdout, stderr = _run(argv)
        assert code == 0, stderr
        reports[rule] = json.loads(stdout)
    default, chosen = reports[None], reports["global_jaccard"]
    assert METRIC_KEYS | {"file", "examples"} <= set(default)
    assert default["decision"] == decision.DEFAULT_RULE and chosen["decision"] == "global_jaccard"
    assert set(default["rules"]) == set(decision.RULES)
    for key in METRIC_KEYS:
        assert default[key] == default["rules"][decision.DEFAULT_RULE][key]
        assert chosen[key] == default["rules"]["global_jaccard"][key]
    # All emotions predicted (global_jaccard edited to 1e-6) and none (fixed_0.5 at 1.0): the
    # ranking metrics stay, the thresholded ones move.
    assert chosen["ranking_loss"] == default["ranking_loss"]
    assert default["rules"]["fixed_0.5"]["micro_f1"] == 0.0
    assert chosen["micro_f1"] > 0
    assert 0 <= default["ece"] <= 1 and len(default["ece_per_emotion"]) == 4


def test_evaluate_plot(model_dir, tmp_path):
    path = tmp_path / "plot.png"
    code, _, stderr = _run(["evaluate", "--model", model_dir, "--data", DEV, "--plot", path])
    assert code == 0, stderr
    assert path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_export_bakes_the_chosen_rule(edited_dir, tmp_path):
    import tensorflow as tf

    saved = tmp_path / "saved"
    code, _, stderr = _run(["export", "--model", edited_dir, "--out", saved, "--decision", "global_jaccard"])
    assert code == 0, stderr
    info = json.loads((saved / "1" / "assets.extra" / "emotions.json").read_text("utf-8"))
    assert info["thresholds"] == pytest.approx([1e-6] * 4)
    signature = tf.saved_model.load(str(saved / "1")).signatures["serving_default"]
    out = signature(texts=tf.constant(["so happy and glad today", ""]))
    assert out["emotions"].numpy().tolist() == [[1, 1, 1, 1], [0, 0, 0, 0]]
    # The model directory is untouched: its default rule still answers `predict`.
    from lem_keras.training import load_artifacts, thresholds_for

    model, _ = load_artifacts(edited_dir)
    np.testing.assert_array_equal(model.get_thresholds(), thresholds_for(edited_dir)[1])
    # expected_jaccard with thresholds of 1: the emotions are the per-text sets alone, in-graph.
    record = json.loads((edited_dir / "decision.json").read_text("utf-8"))
    record["rules"]["expected_jaccard"] = [1.0] * 4
    (edited_dir / "decision.json").write_text(json.dumps(record), encoding="utf-8")
    code, _, stderr = _run(["export", "--model", edited_dir, "--out", tmp_path / "sets", "--decision",
                            "expected_jaccard"])
    assert code == 0, stderr
    info = json.loads((tmp_path / "sets" / "1" / "assets.extra" / "emotions.json").read_text("utf-8"))
    assert info["decision"] == "expected_jaccard"
    texts = ["so happy and glad today", "terrified of the dark", "angry and sad", ""]
    signature = tf.saved_model.load(str(tmp_path / "sets" / "1")).signatures["serving_default"]
    out = signature(texts=tf.constant(texts))
    from lem_keras.layers.expected_jaccard import expected_jaccard_sets

    sets = np.asarray(expected_jaccard_sets(out["probabilities"].numpy())).astype("int32")
    np.testing.assert_array_equal(out["emotions"].numpy(), sets)
    assert sets[:3].sum(axis=1).min() >= 1 and sets[3].sum() == 0
