"""Seed ensembles served as one model (issue 12, item 2).

Fast: the ``ensemble`` option (config, override, CLI), LatentEmotionEnsemble on untrained
members (the mean of their probabilities, Z and attention; thresholds; the empty batch;
``.keras`` reload with safe_mode in a fresh process). Slow: a two-member run on the tiny
SemEval fixture, stopped during member 2 and resumed by `lem-keras train --ensemble 2`; the
finished ensemble against its members through predict_scores, explain and the SavedModel
(in a process without lem_keras); the single-model layout.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from lem_keras.cli import _training_setup, build_parser, main
from lem_keras.config import ConfigError, TrainConfig, apply_overrides
from lem_keras.ensemble import LatentEmotionEnsemble
from lem_keras.model import LatentEmotionMemory
from tests.sizes import TINY_NETWORK

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "cli"
SEMEVAL_DIR = FIXTURES / "semeval"
K, V, T, L = 3, 20, 50, 6
SIZES = TINY_NETWORK
TEXTS = ["so happy today :)", "", "I am furious and scared", "sad sad sad", "zzqx unknownword"]


def _python(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """``python -c args[0] args[1:]`` in a fresh interpreter (TF quiet); it must succeed."""
    result = subprocess.run(
        [sys.executable, "-c", *args], cwd=cwd, env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _served(saved: Path, texts: list[str], cwd: Path) -> np.ndarray:
    """The SavedModel's probabilities for ``texts``, from a process without lem_keras."""
    script = textwrap.dedent(
        """
        import json, sys
        import tensorflow as tf
        signature = tf.saved_model.load(sys.argv[2]).signatures["serving_default"]
        out = signature(texts=tf.constant(json.loads(sys.argv[1]), dtype=tf.string))
        assert not [m for m in sys.modules if m.startswith("lem_keras")], "lem_keras imported"
        print(json.dumps(out["probabilities"].numpy().tolist()))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = _python([script, json.dumps(texts), str(saved)], cwd, env)
    return np.array(json.loads(result.stdout.strip().splitlines()[-1]))


def _features(n: int = 5, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, T, size=(n, L)).astype("int32")
    tokens[0] = 0  # a text without evidence (no token, no eBoW word)
    ebow = (rng.random((n, V)) < 0.2).astype("float32")
    ebow[0] = 0
    return {"tokens": tokens, "ebow": ebow}


def _members(n: int = 2) -> list[LatentEmotionMemory]:
    return [LatentEmotionMemory(K, V, T, emotion_names=["a", "b", "c"], seed=s, **SIZES) for s in range(n)]


# ----------------------------------------------------------------------------- configuration


def test_ensemble_is_a_training_option_checked_at_construction():
    assert TrainConfig().ensemble == 1
    assert "ensemble" not in TrainConfig().model_options()  # not a network option
    with pytest.raises(ConfigError, match=r"^ensemble must be an integer >= 1, got 0$"):
        TrainConfig(ensemble=0)
    assert apply_overrides(TrainConfig(), ensemble=3).ensemble == 3
    assert apply_overrides(TrainConfig(ensemble=2), ensemble=None).ensemble == 2


# `lem-keras train` on the SemEval fixture with the tiny configuration.
TINY_TRAIN_ARGS = ["train", "--data", str(SEMEVAL_DIR), "--format", "semeval",
                   "--config", str(FIXTURES / "tiny.json")]


def test_cli_train_ensemble_option(tmp_path):
    argv = TINY_TRAIN_ARGS + ["--out", str(tmp_path)]
    *_, config, _ = _training_setup(build_parser().parse_args(argv + ["--ensemble", "3"]))
    assert config.ensemble == 3
    *_, config, _ = _training_setup(build_parser().parse_args(argv))
    assert config.ensemble == 1


# ----------------------------------------------------------------------------- the model


def test_ensemble_returns_the_mean_of_its_members():
    members = _members(3)
    ensemble = LatentEmotionEnsemble(members)
    x = _features()
    each = [m(x, training=False, return_details=True) for m in members]
    mean = {
        key: np.mean([np.asarray(d[key]) for d in each], axis=0)
        for key in ("probabilities", "latent_distribution", "attention")
    }
    assert np.abs(mean["probabilities"] - np.asarray(each[0]["probabilities"])).max() > 1e-4  # members differ
    details = ensemble(x, training=False, return_details=True)
    for key, value in mean.items():
        np.testing.assert_allclose(np.asarray(details[key]), value, rtol=0, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), mean["probabilities"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ensemble.predict(x, verbose=0)[0], np.zeros(K))  # no evidence: 0
    assert ensemble.emotion_names == ["a", "b", "c"] and ensemble.num_emotions == K


def test_empty_batch_and_thresholds():
    ensemble = LatentEmotionEnsemble.from_members(_members(2))
    empty = {"tokens": np.zeros((0, L), "int32"), "ebow": np.zeros((0, V), "float32")}
    assert ensemble.predict(empty).shape == (0, K)
    np.testing.assert_array_equal(ensemble.get_thresholds(), np.full(K, 0.5, "float32"))
    ensemble.set_thresholds([0.1, 0.2, 0.3])
    np.testing.assert_allclose(ensemble.get_thresholds(), [0.1, 0.2, 0.3])
    x = _features()
    expected = (ensemble.predict(x, verbose=0) >= np.array([0.1, 0.2, 0.3])).astype("int32")
    np.testing.assert_array_equal(ensemble.predict_labels(x), expected)


def test_members_must_agree():
    a = LatentEmotionMemory(K, V, T, emotion_names=["a", "b", "c"], **SIZES)
    with pytest.raises(ValueError, match="member 2 predicts emotions"):
        LatentEmotionEnsemble([a, LatentEmotionMemory(K, V, T, emotion_names=["a", "c", "b"], **SIZES)])
    with pytest.raises(ValueError, match="one text pipeline"):
        LatentEmotionEnsemble([a, LatentEmotionMemory(K, V + 1, T, emotion_names=["a", "b", "c"], **SIZES)])
    with pytest.raises(ValueError, match="at least one member"):
        LatentEmotionEnsemble([])


def test_keras_file_reloads_with_safe_mode_after_import_lem_keras(tmp_path):
    members = _members(2)
    for member in members:  # compiled, as trained members are: the ensemble keeps no optimizer
        member.compile(optimizer="adam", latent_optimizer=keras.optimizers.Adam(1e-3))
    # Members loaded from their files all carry the same name; the copies are named by position.
    ensemble = LatentEmotionEnsemble.from_members(members)
    ensemble.set_thresholds([0.3, 0.4, 0.6])
    path = tmp_path / "model.keras"
    ensemble.save(path)
    x = _features()
    np.savez(tmp_path / "x.npz", **x)
    np.save(tmp_path / "expected.npy", ensemble.predict(x, verbose=0))
    code = textwrap.dedent(
        f"""
        import numpy as np, keras, lem_keras
        model = keras.saving.load_model({str(path)!r}, safe_mode=True)
        x = dict(np.load({str(tmp_path / "x.npz")!r}))
        gap = np.abs(model.predict(x, verbose=0) - np.load({str(tmp_path / "expected.npy")!r})).max()
        names = [m.name for m in model.members]
        print(type(model).__name__, names, model.get_thresholds().tolist(), gap < 1e-6)
        """
    )
    result = _python([code], tmp_path, dict(os.environ, PYTHONPATH=str(ROOT)))
    thresholds = [float(np.float32(t)) for t in (0.3, 0.4, 0.6)]
    assert (
        result.stdout.split("\n")[-2] == f"LatentEmotionEnsemble ['member_1', 'member_2'] {thresholds} True"
    )


def _tfidf_member(terms: int = 9, seed: int = 3):
    from lem_keras.layers import SparseLinear

    rng = np.random.default_rng(seed)
    layer = SparseLinear(terms, K, name="tfidf")
    layer.build(None)
    layer.set_weights([rng.normal(size=(terms, K)).astype("float32"), rng.normal(size=K).astype("float32")])
    return layer


def _tfidf_features(n: int = 5, terms: int = 9) -> dict:
    rng = np.random.default_rng(7)
    ids = rng.integers(0, terms, size=(n, 4)).astype("int32")
    values = rng.random((n, 4)).astype("float32") * (ids > 0)
    return {**_features(n), "tfidf_ids": ids, "tfidf_values": values}


def test_a_tfidf_member_is_blended_in_logit_space_then_tempered():
    from scipy.special import expit, logit

    members, tfidf = _members(2), _tfidf_member()
    ensemble = LatentEmotionEnsemble.from_members(members, tfidf=tfidf, tfidf_weight=0.3)
    x = _tfidf_features()
    mean = np.mean([np.asarray(m(x, training=False)) for m in members], axis=0)
    dense = np.zeros((len(x["tfidf_ids"]), 9), "float64")
    for row, (ids, values) in enumerate(zip(x["tfidf_ids"], x["tfidf_values"])):
        np.add.at(dense[row], ids, values)
    kernel, bias = (np.asarray(w, "float64") for w in tfidf.get_weights())
    logits = 0.7 * logit(np.clip(mean, 1e-6, 1 - 1e-6)) + 0.3 * (dense @ kernel + bias)
    temperature = np.array([0.5, 1.0, 2.0])
    ensemble.set_temperature(temperature)
    expected = expit(logits / temperature)
    expected[0] = 0.0  # the text without evidence
    got = ensemble.predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    details = ensemble(x, training=False, return_details=True)
    np.testing.assert_allclose(np.asarray(details["probabilities"]), got, rtol=0, atol=1e-6)
    # Z and attention stay the members' mean.
    z = np.mean([np.asarray(m(x, return_details=True)["latent_distribution"]) for m in members], axis=0)
    np.testing.assert_allclose(np.asarray(details["latent_distribution"]), z, rtol=0, atol=1e-6)
    # Without a TF-IDF member there is no temperature: the mean is served as it is.
    assert LatentEmotionEnsemble(members).temperature is None
    with pytest.raises(ValueError, match="tfidf_weight must be in"):
        LatentEmotionEnsemble(members, tfidf=_tfidf_member(), tfidf_weight=1.0)


def test_a_blended_ensemble_reloads_from_its_keras_file(tmp_path):
    ensemble = LatentEmotionEnsemble.from_members(_members(2), tfidf=_tfidf_member(), tfidf_weight=0.25)
    ensemble.set_temperature([0.8, 1.0, 1.3])
    ensemble.set_thresholds([0.3, 0.4, 0.6])
    ensemble.decision_rule = "expected_jaccard"
    ensemble.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    x = _tfidf_features()
    assert loaded.tfidf_weight == 0.25
    # The rule the thresholds belong to travels with them; a member keeps its own (none here).
    assert loaded.decision_rule == "expected_jaccard" and loaded.members[0].decision_rule is None
    np.testing.assert_allclose(loaded.get_temperature(), [0.8, 1.0, 1.3])
    expected = ensemble.predict(x, verbose=0)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=0, atol=1e-6)


def test_tfidf_blend_is_a_checked_training_option():
    assert TrainConfig(tfidf_blend=0.3).tfidf_blend == 0.3
    for bad in (-0.1, 1.0, "0.3"):
        with pytest.raises(ConfigError, match="tfidf_blend"):
            TrainConfig(tfidf_blend=bad)


# ----------------------------------------------------------------------------- training (slow)

SINGLE_ARGS = TINY_TRAIN_ARGS + ["--epochs", "4", "--verbose", "2"]
TRAIN_ARGS = SINGLE_ARGS + ["--ensemble", "2"]


class _StopDuringSecondMember(keras.callbacks.Callback):
    """Raises after the second member's epoch 2 was backed up (as a kill would stop it)."""

    def __init__(self):
        super().__init__()
        self.fits = 0

    def on_train_begin(self, logs=None):
        self.fits += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.fits == 2 and epoch == 1:
            raise KeyboardInterrupt("killed during member 2")


def _mtimes(directory: Path) -> dict[str, int]:
    return {
        str(p.relative_to(directory)): p.stat().st_mtime_ns
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory):
    """A 2-member ensemble stopped during member 2, then finished by the same CLI command."""
    from lem_keras.training import train

    out = tmp_path_factory.mktemp("ensemble") / "out"
    args = build_parser().parse_args(TRAIN_ARGS + ["--out", str(out)])
    train_data, dev_data, config, _ = _training_setup(args)
    with pytest.raises(KeyboardInterrupt):
        train(
            config,
            train_data,
            dev_data,
            out_dir=out,
            verbose=0,
            log=lambda *_: None,
            extra_callbacks=[_StopDuringSecondMember()],
        )
    first_member = _mtimes(out / "members" / "1")
    stopped = {
        "finished": (out / "members" / "1" / "model.keras").is_file(),
        "second_finished": (out / "members" / "2" / "model.keras").exists(),
        "second_backup": (out / "members" / "2" / "backup").is_dir(),
        "ensemble": (out / "model.keras").exists(),
    }
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(TRAIN_ARGS + ["--out", str(out)])
    return {
        "out": out,
        "code": code,
        "stderr": stderr.getvalue(),
        "stopped": stopped,
        "first_member_before": first_member,
        "dev": dev_data,
        "config": config,
    }


def _member_scores(out: Path, texts: list[str]) -> list[np.ndarray]:
    from lem_keras.training import load_artifacts, predict_scores

    scores = []
    for k in (1, 2):
        model, pipeline = load_artifacts(out / "members" / str(k))
        scores.append(predict_scores(model, pipeline, texts))
    return scores


@pytest.mark.slow
def test_stopped_run_resumes_at_the_member_it_was_training(ensemble_run):
    run, out = ensemble_run, ensemble_run["out"]
    assert run["stopped"] == {
        "finished": True,
        "second_finished": False,
        "second_backup": True,
        "ensemble": False,
    }
    assert run["code"] == 0, run["stderr"][-3000:]
    # Member 1 was loaded, not retrained: its files are untouched.
    assert _mtimes(out / "members" / "1") == run["first_member_before"]
    assert "ensemble member 1/2 (seed 0): finished, loaded from" in run["stderr"]
    assert "ensemble member 2/2 (seed 1)" in run["stderr"]
    # Member 2 resumed after its last backed-up epoch (epoch 2 of 4): Keras printed epochs 3 and 4 only.
    epochs = [line.split()[1] for line in run["stderr"].splitlines() if line.startswith("Epoch ")]
    assert epochs == ["3/4", "4/4"]
    assert not (out / "members" / "2" / "backup").exists()
    for name in ("model.keras", "pipeline.json", "config.json", "metrics.json"):
        assert (out / name).is_file(), name
        assert (out / "members" / "2" / name).is_file(), name
    assert json.loads((out / "config.json").read_text("utf-8"))["ensemble"] == 2
    seeds = [
        json.loads((out / "members" / str(k) / "config.json").read_text("utf-8"))["seed"] for k in (1, 2)
    ]
    assert seeds == [0, 1]
    # One text pipeline: the members' and the ensemble's are the same file.
    pipelines = {(out / d / "pipeline.json").read_text("utf-8") for d in (".", "members/1", "members/2")}
    assert len(pipelines) == 1


class _FixedScores:
    """A stand-in model for finalize: fixed dev probabilities, thresholds kept."""

    def __init__(self, scores):
        self.scores, self.num_emotions = scores, scores.shape[1]

    def predict(self, features, **_):
        return self.scores

    def set_thresholds(self, thresholds):
        self.thresholds = thresholds


@pytest.mark.slow
def test_ensemble_probabilities_are_the_mean_of_the_members(ensemble_run):
    from lem_keras.training import finalize, load_artifacts, predict_scores

    out, dev = ensemble_run["out"], ensemble_run["dev"]
    model, pipeline = load_artifacts(out)
    assert isinstance(model, LatentEmotionEnsemble) and len(model.members) == 2
    texts = list(dev.texts) + TEXTS
    mean = np.mean(_member_scores(out, texts), axis=0)
    np.testing.assert_allclose(predict_scores(model, pipeline, texts), mean, rtol=0, atol=1e-6)
    # Thresholds are tuned (by finalize, whatever its rule) on the ensemble's own dev probabilities.
    n = len(dev.texts)
    expected = finalize(_FixedScores(mean[:n]), pipeline, dev).thresholds
    np.testing.assert_allclose(model.get_thresholds(), expected, rtol=0, atol=1e-6)
    member_1 = finalize(_FixedScores(_member_scores(out, texts)[0][:n]), pipeline, dev).thresholds
    assert np.abs(member_1 - expected).max() > 1e-3  # not a member's thresholds
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    np.testing.assert_allclose(metrics["thresholds"], model.get_thresholds(), atol=1e-7)


@pytest.mark.slow
def test_explain_averages_z_and_attention(ensemble_run):
    from lem_keras.explain import explain_text
    from lem_keras.training import load_artifacts

    out, text = ensemble_run["out"], "I am so happy and a bit scared"
    model, pipeline = load_artifacts(out)
    members = [explain_text(*load_artifacts(out / "members" / str(k)), text) for k in (1, 2)]
    explanation = explain_text(model, pipeline, text)
    assert explanation["tokens"] == members[0]["tokens"]
    for key in ("latent_distribution", "probabilities"):
        for name, value in explanation[key].items():
            assert value == pytest.approx((members[0][key][name] + members[1][key][name]) / 2, abs=1e-6)
    for name, row in explanation["attention"].items():
        expected = (np.array(members[0]["attention"][name]) + np.array(members[1]["attention"][name])) / 2
        np.testing.assert_allclose(row, expected, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_saved_model_serves_the_mean_in_a_process_without_lem_keras(ensemble_run, tmp_path):
    from lem_keras.training import load_artifacts

    out = ensemble_run["out"]
    exported = []
    for source, name in ((out, "ensemble"), (out / "members" / "1", "m1"), (out / "members" / "2", "m2")):
        assert main(["export", "--model", str(source), "--out", str(tmp_path / name)]) == 0
        exported.append(str(tmp_path / name / "1"))
    meta = json.loads((tmp_path / "ensemble" / "1" / "assets.extra" / "emotions.json").read_text("utf-8"))
    model, _ = load_artifacts(out)
    np.testing.assert_allclose(meta["thresholds"], model.get_thresholds(), atol=1e-7)
    script = textwrap.dedent(
        """
        import json, sys
        import numpy as np
        import tensorflow as tf
        texts = tf.constant(json.loads(sys.argv[1]), dtype=tf.string)
        outs = []
        for path in sys.argv[2:5]:
            signature = tf.saved_model.load(path).signatures["serving_default"]
            assert sorted(signature.structured_input_signature[1]) == ["texts"]
            outs.append({k: v.numpy() for k, v in signature(texts=texts).items()})
        imported = [m for m in sys.modules if m == "lem_keras" or m.startswith("lem_keras.")]
        assert not imported, "lem_keras imported"
        ensemble, members = outs[0], outs[1:]
        for key in ("probabilities", "latent_distribution"):
            gap = np.abs(ensemble[key] - (members[0][key] + members[1][key]) / 2).max()
            assert gap <= 1e-6, (key, gap)
        assert sorted(ensemble) == ["emotions", "latent_distribution", "probabilities"]
        assert ensemble["emotions"].dtype == np.int32
        assert ensemble["probabilities"].shape == (len(texts.numpy()), 4)
        print("OK", ensemble["probabilities"].shape)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    texts = list(ensemble_run["dev"].texts) + TEXTS
    result = _python([script, json.dumps(texts), *exported], tmp_path, env)
    assert result.stdout.strip().endswith(f"OK ({len(texts)}, 4)")


@pytest.mark.slow
def test_a_finished_member_trained_otherwise_is_refused(ensemble_run, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(ensemble_run["out"] / "members", out / "members")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(TRAIN_ARGS + ["--seed", "5", "--out", str(out)])
    assert status == 2
    assert (
        "members/1/config.json: this finished ensemble member was trained with seed=0, this run asks for 5"
        in stderr.getvalue()
    )


@pytest.mark.slow
def test_single_model_path_is_unchanged(ensemble_run, tmp_path):
    """ensemble 1 (the default): one LatentEmotionMemory, no members/; an ensemble directory
    holds the same files (but logs/) plus members/, each member laid out like a single model."""
    from lem_keras.training import load_artifacts

    out = tmp_path / "single"
    argv = SINGLE_ARGS + ["--epochs", "2", "--out", str(out)]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main(argv) == 0, stderr.getvalue()[-3000:]
    single = sorted(p.name for p in out.iterdir())
    assert {".lock", "config.json", "logs", "metrics.json", "model.keras", "pipeline.json"} <= set(single)
    assert "members" not in single and "backup" not in single
    # The members' TensorBoard logs are in members/<k>/logs.
    ensemble_files = sorted(p.name for p in ensemble_run["out"].iterdir())
    assert ensemble_files == sorted([name for name in single if name != "logs"] + ["members"])
    for k in (1, 2):
        member = sorted(p.name for p in (ensemble_run["out"] / "members" / str(k)).iterdir())
        assert member == [name for name in single if name != ".lock"]
    model, _ = load_artifacts(out)
    assert type(model) is LatentEmotionMemory
    assert "ensemble member" not in stderr.getvalue()


@pytest.mark.slow
def test_evaluate_and_predict_take_the_ensemble_directory(ensemble_run, tmp_path):
    out = ensemble_run["out"]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["evaluate", "--model", str(out), "--data", str(SEMEVAL_DIR / "tiny-dev.txt"), "--json"])
    assert code == 0, stderr.getvalue()[-3000:]
    report, saved = json.loads(stdout.getvalue()), json.loads((out / "metrics.json").read_text("utf-8"))
    for key in ("micro_f1", "macro_f1", "jaccard", "hamming_loss"):
        assert report[key] == pytest.approx(saved[key], abs=1e-5), key
    (tmp_path / "in.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        assert main(["predict", "--model", str(out), "--input", str(tmp_path / "in.txt")]) == 0
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    mean = np.mean(_member_scores(out, TEXTS), axis=0)
    got = np.array([[line["probabilities"][name] for name in line["probabilities"]] for line in lines])
    np.testing.assert_allclose(got, mean, rtol=0, atol=2e-6)  # predict rounds to 6 decimals


@pytest.mark.slow
def test_a_tfidf_blend_trains_resumes_and_serves_without_lem_keras(tmp_path):
    """``tfidf_blend`` > 0 with one member: an ensemble holding the TF-IDF member; a
    finished member saved before the field existed is reused; the SavedModel serves what
    Python predicts, in a process without lem_keras."""
    import shutil

    from lem_keras.training import load_artifacts, predict_scores

    config = {**json.loads((FIXTURES / "tiny.json").read_text("utf-8")), "tfidf_blend": 0.3}
    (tmp_path / "blend.json").write_text(json.dumps(config), "utf-8")
    argv = ["train", "--data", str(SEMEVAL_DIR), "--format", "semeval", "--config",
            str(tmp_path / "blend.json"), "--epochs", "2", "--verbose", "0"]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main(argv + ["--out", str(tmp_path / "a")]) == 0, stderr.getvalue()[-3000:]
    model, pipeline = load_artifacts(tmp_path / "a")
    assert isinstance(model, LatentEmotionEnsemble) and len(model.members) == 1
    assert model.tfidf is not None and model.tfidf_weight == 0.3
    assert json.loads((tmp_path / "a" / "config.json").read_text("utf-8"))["tfidf_blend"] == 0.3
    texts = TEXTS + ["joy joy", "I hate this so much"]
    scores = predict_scores(model, pipeline, texts)
    member = predict_scores(model.members[0], pipeline, texts)
    assert np.abs(scores - member)[2:].max() > 1e-3  # the blend moves the probabilities
    np.testing.assert_array_equal(scores[[1, 4]], 0.0)  # empty text, unknown words: no evidence

    # A member written before the field existed (no "tfidf_blend" in its config) is reused.
    shutil.copytree(tmp_path / "a" / "members", tmp_path / "b" / "members")
    member_config = tmp_path / "b" / "members" / "1" / "config.json"
    saved = json.loads(member_config.read_text("utf-8"))
    assert saved.pop("tfidf_blend") == 0.0
    member_config.write_text(json.dumps(saved), "utf-8")
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main(argv + ["--out", str(tmp_path / "b")]) == 0, stderr.getvalue()[-3000:]
    assert "ensemble member 1/1 (seed 0): finished, loaded" in stdout.getvalue() + stderr.getvalue()
    again = predict_scores(*load_artifacts(tmp_path / "b"), texts)
    np.testing.assert_allclose(again, scores, rtol=0, atol=1e-6)

    assert main(["export", "--model", str(tmp_path / "a"), "--out", str(tmp_path / "saved")]) == 0
    np.testing.assert_allclose(_served(tmp_path / "saved" / "1", texts, tmp_path), scores, rtol=0, atol=1e-5)

    # A pipeline without the member's vocabulary (a member's own) is refused by name.
    shutil.copy(tmp_path / "a" / "members" / "1" / "pipeline.json", tmp_path / "a" / "pipeline.json")
    with pytest.raises(ValueError, match=r"pipeline.json: the model's TF-IDF member reads \d+ term ids, "
                                         r"this text pipeline gives 0"):
        load_artifacts(tmp_path / "a")


@pytest.mark.slow
def test_a_sentence_blend_trains_and_serves_without_lem_keras(tmp_path):
    """``sentence_blend`` > 0: the ensemble holds the all-MiniLM-L6-v2 member, its logistic
    regressions fitted on the training texts; the SavedModel (WordPiece in core TensorFlow ops)
    serves what Python predicts, in a process without lem_keras; a pipeline without the
    member's WordPiece vocabulary is refused by name."""
    from lem_keras.training import load_artifacts, predict_scores

    config = {**json.loads((FIXTURES / "tiny.json").read_text("utf-8")), "tfidf_blend": 0.2,
              "sentence_blend": 0.3}
    (tmp_path / "blend.json").write_text(json.dumps(config), "utf-8")
    argv = ["train", "--data", str(SEMEVAL_DIR), "--format", "semeval", "--config",
            str(tmp_path / "blend.json"), "--epochs", "1", "--verbose", "0", "--out", str(tmp_path / "a")]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main(argv) == 0, stderr.getvalue()[-3000:]
    model, pipeline = load_artifacts(tmp_path / "a")
    assert model.sentence is not None and (model.sentence_weight, model.tfidf_weight) == (0.3, 0.2)
    assert float(np.abs(model.sentence.kernel.numpy()).max()) > 0  # the regressions were fitted
    texts = TEXTS + ["joy joy", "I hate this so much", "Café naïve 😂 #blessed"]
    scores = predict_scores(model, pipeline, texts)
    without = LatentEmotionEnsemble.from_members(model.members, tfidf=model.tfidf, tfidf_weight=0.2)
    without.set_temperature(model.temperature.numpy())
    assert np.abs(scores - predict_scores(without, pipeline, texts)).max() > 1e-3  # the member counts

    assert main(["export", "--model", str(tmp_path / "a"), "--out", str(tmp_path / "saved")]) == 0
    np.testing.assert_allclose(_served(tmp_path / "saved" / "1", texts, tmp_path), scores, rtol=0, atol=1e-5)

    saved = json.loads((tmp_path / "a" / "pipeline.json").read_text("utf-8"))
    saved["wordpiece_vocabulary"] = None
    (tmp_path / "a" / "pipeline.json").write_text(json.dumps(saved), "utf-8")
    with pytest.raises(ValueError, match=r"pipeline.json: the model's sentence-embedding member reads 30522 "
                                         r"WordPiece ids, this text pipeline gives 0"):
        load_artifacts(tmp_path / "a")
