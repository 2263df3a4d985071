"""TextFeaturizer / TextPipeline: parity with `tokenize`, save and reload."""

import itertools
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from lem_keras.data.ebow import compute_ebow, ebow_terms
from lem_keras.data.featurizer import TextFeaturizer, TextPipeline, make_tf_dataset
from lem_keras.data.text import segment_chinese, tokenize

TEXTS = [
    "So happy today :) #blessed",
    "I'm soooo sad :( can't stop crying 😭😭",
    "@friend you're AMAZING!!! 😂😂 https://t.co/x",
    "angry about the traffic again...",
    "happy happy joy joy <3",
    "sad news today, so sad",
    "",
]
LABELS = np.array(
    [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 0]]
)
PROBES = TEXTS + ["   ", "unseen words only", "😭", b"\xff bad bytes".decode("utf-8", "replace")]


@pytest.fixture(scope="module")
def pipeline():
    return TextPipeline().fit(TEXTS, LABELS, language="en", min_count=1, max_length=8, ebow_min_df=1)


def test_fit_builds_deterministic_vocabularies(pipeline):
    assert pipeline.token_vocabulary[:2] == ["", "[UNK]"]
    assert pipeline.featurizer.vocab_size == len(pipeline.token_vocabulary)
    counts = {}
    for tokens in tokenize(TEXTS, "en"):
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
    assert pipeline.token_vocabulary[2:] == sorted(counts, key=lambda w: (-counts[w], w))
    assert "sad" in pipeline.ebow_vocabulary and "the" not in pipeline.ebow_vocabulary
    again = TextPipeline().fit(TEXTS, LABELS, min_count=1, max_length=8, ebow_min_df=1)
    assert again.token_vocabulary == pipeline.token_vocabulary
    assert again.ebow_vocabulary == pipeline.ebow_vocabulary


def test_transform_matches_python_tokenize(pipeline):
    out = pipeline.transform(PROBES)
    assert out["tokens"].dtype == np.int32 and out["ebow"].dtype == np.float32
    assert out["tokens"].shape == (len(PROBES), 8)
    index = {w: i for i, w in enumerate(pipeline.token_vocabulary)}
    token_lists = tokenize(PROBES, "en")
    for row, tokens in zip(out["tokens"], token_lists):
        expected = [index.get(t, 1) for t in tokens][:8]
        expected += [0] * (8 - len(expected))
        assert row.tolist() == expected
    np.testing.assert_array_equal(out["ebow"], compute_ebow(token_lists, pipeline.ebow_vocabulary))
    assert set(np.unique(out["ebow"])) <= {0.0, 1.0}


def test_ebow_is_word_presence_what_the_latent_module_consumes(pipeline):
    # "happy happy joy joy": each eBoW word that occurs is 1.0 however often it occurs.
    out = pipeline.transform(["happy happy happy sad", "nothing here"])
    row = dict(zip(pipeline.ebow_vocabulary, out["ebow"][0].tolist()))
    assert row["happy"] == 1.0 and row["sad"] == 1.0
    assert out["ebow"][0].sum() == 2.0 and out["ebow"][1].sum() == 0.0
    assert not np.isnan(out["ebow"]).any()


def test_any_batch_size_including_empty(pipeline):
    layer = pipeline.featurizer
    empty = layer(tf.constant([], dtype=tf.string))
    assert empty["tokens"].shape == (0, 8)
    assert empty["ebow"].shape == (0, len(pipeline.ebow_vocabulary))
    assert layer(tf.constant([""]))["tokens"].numpy().tolist() == [[0] * 8]
    assert layer(tf.constant([["a b"], ["c"]]))["tokens"].shape == (2, 8)


def test_keras_file_safe_mode_roundtrip(pipeline, tmp_path):
    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, pipeline.featurizer(inputs))
    model.save(tmp_path / "featurizer.keras")
    restored = keras.models.load_model(tmp_path / "featurizer.keras", safe_mode=True)
    strings = tf.constant(PROBES)
    before, after = model(strings), restored(strings)
    for key in ("tokens", "ebow"):
        np.testing.assert_array_equal(np.asarray(before[key]), np.asarray(after[key]))


def test_export_archive_tracks_layer(pipeline, tmp_path):
    layer = pipeline.featurizer
    archive = keras.export.ExportArchive()
    archive.track(layer)
    archive.add_endpoint(
        "serve", lambda x: layer(x), input_signature=[tf.TensorSpec([None], tf.string)]
    )
    archive.write_out(str(tmp_path / "saved"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "saved")).serve(tf.constant(PROBES))
    local = layer(tf.constant(PROBES))
    np.testing.assert_array_equal(served["tokens"].numpy(), np.asarray(local["tokens"]))


def test_pipeline_json_roundtrip(pipeline, tmp_path):
    path = pipeline.save(tmp_path / "pipe")
    config = json.loads(path.read_text("utf-8"))
    assert config["language"] == "en" and config["max_length"] == 8
    assert "😭" in path.read_text("utf-8")  # UTF-8, not \\u escapes
    loaded = TextPipeline.load(tmp_path / "pipe")
    assert loaded.token_vocabulary == pipeline.token_vocabulary
    assert loaded.ebow_vocabulary == pipeline.ebow_vocabulary
    for key in ("tokens", "ebow"):
        np.testing.assert_array_equal(loaded.transform(PROBES)[key], pipeline.transform(PROBES)[key])


def test_config_reconstructs_layer(pipeline):
    clone = TextFeaturizer.from_config(pipeline.featurizer.get_config())
    np.testing.assert_array_equal(
        np.asarray(clone(tf.constant(PROBES))["ebow"]),
        np.asarray(pipeline.featurizer(tf.constant(PROBES))["ebow"]),
    )


def test_max_length_auto_and_lexicon(tmp_path):
    lexicon = tmp_path / "lex.txt"
    lexicon.write_text("happy\nsad\nangry\n")
    pipe = TextPipeline().fit(TEXTS, LABELS, max_length="auto", lexicon_paths=[lexicon])
    lengths = [len(t) for t in tokenize(TEXTS, "en")]
    assert pipe.max_length == int(np.ceil(np.percentile(lengths, 95)))
    assert set(pipe.ebow_vocabulary) <= {"happy", "sad", "angry", "😂", "😭", "<smile>", "<sad>", "<heart>"}
    assert {"happy", "sad"} <= set(pipe.ebow_vocabulary)


def test_chinese_pipeline_raw_and_presegmented(tmp_path):
    texts = ["我 今天 非常 高兴 。", "我 今天 非常 难过 。", "我 很 高兴", "他 很 难过"]
    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    pipe = TextPipeline().fit(texts, labels, language="zh", min_count=1, max_length=6)
    assert {"高兴", "难过"} <= set(pipe.ebow_vocabulary)
    raw = ["我今天很高兴。"]
    segmented = segment_chinese(raw, "jieba")
    assert pipe.prepare(raw) == segmented and segmented != raw
    np.testing.assert_array_equal(pipe.transform(raw)["tokens"], pipe.transform(segmented)["tokens"])
    assert pipe.transform(raw)["tokens"][0, 0] == pipe.token_vocabulary.index("我")
    loaded = TextPipeline.load(pipe.save(tmp_path))
    np.testing.assert_array_equal(loaded.transform(raw)["ebow"], pipe.transform(raw)["ebow"])


def test_make_tf_dataset(pipeline):
    dataset = make_tf_dataset(pipeline, TEXTS, LABELS, batch_size=3, shuffle=True, seed=1)
    features, labels = next(iter(dataset))
    assert features["tokens"].shape == (3, 8) and features["tokens"].dtype == tf.int32
    assert labels.dtype == tf.float32 and labels.shape == (3, 3)
    total = sum(int(b[1].shape[0]) for b in dataset)
    assert total == len(TEXTS)
    unlabeled = make_tf_dataset(pipeline, TEXTS[:2], batch_size=4)
    assert set(next(iter(unlabeled))) == {"tokens", "ebow"}


def test_fit_stores_the_emotion_names_in_pipeline_json(tmp_path):
    names = ["joy", "sadness", "anger"]
    fitted = TextPipeline().fit(TEXTS, LABELS, min_count=1, ebow_min_df=1, emotion_names=names)
    assert fitted.emotion_names == names
    config = json.loads(fitted.save(tmp_path).read_text("utf-8"))
    assert config["emotion_names"] == names
    assert TextPipeline.load(tmp_path).emotion_names == names
    with pytest.raises(ValueError, match="2 emotion_names for 3 label columns"):
        TextPipeline().fit(TEXTS, LABELS, min_count=1, ebow_min_df=1, emotion_names=names[:2])


def test_reserved_tokens_have_one_definition():
    from lem_keras import explain
    from lem_keras.data import embeddings, featurizer, text

    assert text.RESERVED_TOKENS == (text.PAD_TOKEN, text.OOV_TOKEN) == ("", "[UNK]")
    assert (featurizer.PAD_TOKEN, featurizer.OOV_TOKEN) == text.RESERVED_TOKENS
    assert explain.SPECIAL_TOKENS is text.RESERVED_TOKENS
    assert embeddings.RESERVED_TOKENS is text.RESERVED_TOKENS
    assert not hasattr(text, "PLACEHOLDER_TOKENS")  # was never used


def test_chinese_characters_read_raw_and_presegmented_text_alike(tmp_path):
    texts = ["我 今天 非常 高兴 。", "我 今天 非常 难过 。", "我 很 高兴", "他 很 难过", "高兴 ！ ipad 好 用"]
    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 0]])
    pipe = TextPipeline().fit(texts, labels, language="zh", segmentation="characters", min_count=1,
                              max_length=12, ebow_min_df=1, ebow_ngrams=2)
    assert pipe.tokenize(["高兴！iPad好用 😀"]) == [["高", "兴", "！", "ipad", "好", "用", "😀"]]
    assert {"高兴", "难过"} <= set(pipe.ebow_vocabulary)  # character bigrams
    raw = [t.replace(" ", "") for t in texts] + ["他今天很高兴。"]
    segmented = [*texts, "他 今天 很 高兴 。"]
    for key in ("tokens", "ebow"):
        np.testing.assert_array_equal(pipe.transform(raw)[key], pipe.transform(segmented)[key])
    terms = [ebow_terms(tokens, 2) for tokens in pipe.tokenize(raw)]
    expected = compute_ebow(terms, pipe.ebow_vocabulary)
    np.testing.assert_allclose(pipe.transform(raw)["ebow"], expected, rtol=1e-6)
    df = {w: sum(w in t for t in terms[:5]) for w in pipe.ebow_vocabulary}
    np.testing.assert_allclose(pipe.ebow_idf, [np.log(6 / (1 + df[w])) + 1 for w in pipe.ebow_vocabulary])
    loaded = TextPipeline.load(pipe.save(tmp_path))
    assert loaded.ebow_idf == pipe.ebow_idf and loaded.ebow_ngrams == 2
    np.testing.assert_array_equal(loaded.transform(raw)["ebow"], pipe.transform(raw)["ebow"])
    layer = TextFeaturizer.from_config(pipe.featurizer.get_config())
    np.testing.assert_array_equal(layer(tf.constant(raw))["tokens"], pipe.transform(raw)["tokens"])
    odd = ["", "   ", "高" * 100_000, "ＡＢＣ１２３！萬歲", "中文 English 😂👍🏽 #标签", "\x00\x01"]
    features = pipe.transform(odd)
    assert features["tokens"].shape == (6, 12) and np.isfinite(features["ebow"]).all()


def test_an_english_pipeline_from_before_negation_marking_warns_on_load(pipeline, tmp_path):
    import warnings

    path = pipeline.save(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TextPipeline.load(tmp_path)  # today's format: no warning
    config = json.loads(path.read_text("utf-8"))
    config["format_version"] = 1
    path.write_text(json.dumps(config), "utf-8")
    with pytest.warns(UserWarning, match=r"pipeline.json: written before English negation marking.*retrain"):
        loaded = TextPipeline.load(tmp_path)
    assert loaded.token_vocabulary == pipeline.token_vocabulary  # still usable


def test_class_lexicon_counts_words_in_raw_chinese_and_english(tmp_path):
    """The featurizer counts each class's words: character n-grams for raw Chinese (words
    longer than LEXICON_MAX_NGRAMS left out), whole tokens for English; the counts survive
    pipeline.json and a .keras round trip, and an empty batch keeps their width."""
    from lem_keras.data.featurizer import LEXICON_MAX_NGRAMS

    zh = TextPipeline().fit(
        ["我 很 开心", "我 很 难过", "今天 很 开心"], np.array([[1, 0], [0, 1], [1, 0]]), language="zh",
        segmentation="characters", min_count=1, ebow_min_df=1,
        class_lexicon={"乐": ["开心", "高兴"], "哀": ["难过", "伤心欲绝" + "啊" * LEXICON_MAX_NGRAMS]},
    )
    assert zh.lexicon == {"乐": ["开心", "高兴"], "哀": ["难过"]}
    texts = ["我今天很开心，非常开心！", "又 难 过 又 高 兴", "", "伤心欲绝啊啊啊啊", "ABC"]
    expected = [[2, 0], [1, 1], [0, 0], [0, 0], [0, 0]]
    np.testing.assert_array_equal(zh.transform(texts)["lexicon"], expected)
    zh.save(tmp_path / "zh")
    np.testing.assert_array_equal(TextPipeline.load(tmp_path / "zh").transform(texts)["lexicon"], expected)
    assert zh.transform([])["lexicon"].shape == (0, 2)
    none_fit = TextPipeline().fit(["我 很 开心"], np.array([[1]]), language="zh", segmentation="characters",
                                  min_count=1, ebow_min_df=1, class_lexicon={"乐": ["开" * 9]})
    assert none_fit.lexicon == {"乐": []}
    np.testing.assert_array_equal(none_fit.transform(["开开开开开开开开开"])["lexicon"], [[0]])

    en = TextPipeline().fit(["so happy", "so sad", "happy day", "sad day"],
                            np.array([[1, 0], [0, 1], [1, 0], [0, 1]]), language="en", min_count=1,
                            ebow_min_df=1,
                            class_lexicon={"joy": ["happy", "glad"], "sadness": ["sad", "feeling down"]})
    assert en.lexicon == {"joy": ["glad", "happy"], "sadness": ["sad"]}  # one token per English word
    counts = en.transform(["Happy happy, glad!", "not happy", "sad :("])["lexicon"]
    np.testing.assert_array_equal(counts, [[3, 0], [0, 0], [0, 1]])  # "not happy" reads not_happy
    layer = en.featurizer
    model = keras.Sequential([keras.Input(shape=(), dtype="string"), layer])
    model.save(tmp_path / "en.keras")
    loaded = keras.saving.load_model(tmp_path / "en.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded(tf.constant(["glad and sad"]))["lexicon"], [[1, 1]])


def _dense_tfidf(features: dict, size: int) -> np.ndarray:
    dense = np.zeros((len(features["tfidf_ids"]), size), np.float64)
    for row, (ids, values) in enumerate(zip(features["tfidf_ids"], features["tfidf_values"])):
        np.add.at(dense[row], ids, values)
    return dense[:, 1:]  # id 0 is padding


def test_tfidf_features_are_scikit_learns_on_the_tokens(tmp_path):
    """The TF-IDF member's inputs: word 1-2-grams and char_wb 2-5-grams of the standardised
    tokens, sublinear tf times smoothed idf, L2-normalised per kind, as scikit-learn's
    TfidfVectorizer pair computes them on the same tokens (vocabulary fitted on TEXTS)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    fitted = TextPipeline().fit(TEXTS, LABELS, language="en", min_count=1, max_length=8, ebow_min_df=1)
    assert "tfidf_ids" not in fitted.transform(TEXTS[:1])
    fitted.fit_tfidf(TEXTS)
    words, chars = fitted.tfidf_vocabulary
    assert "so happy" in words and " hap" in chars

    def word_terms(text):
        tokens = text.split()
        return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]

    fit_texts, probe_texts = ([" ".join(t) for t in fitted.tokenize(texts)] for texts in (TEXTS, PROBES))
    expected = []
    for vectorizer, vocabulary in ((TfidfVectorizer(analyzer=word_terms, sublinear_tf=True), words),
                                   (TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                                    lowercase=False), chars)):
        vectorizer.fit(fit_texts)
        assert set(vectorizer.vocabulary_) == set(vocabulary)
        columns = [vectorizer.vocabulary_[term] for term in vocabulary]
        expected.append(vectorizer.transform(probe_texts).toarray()[:, columns])
    got = _dense_tfidf(fitted.transform(PROBES), fitted.featurizer.tfidf_size)
    np.testing.assert_allclose(got, np.hstack(expected), rtol=0, atol=1e-5)
    assert fitted.transform(["", "   "])["tfidf_ids"].max() == 0  # no text, no term
    # Saved and loaded with the pipeline; fitting the vocabularies again drops it.
    loaded = TextPipeline.load(fitted.save(tmp_path))
    values = fitted.transform(PROBES)["tfidf_values"]
    np.testing.assert_array_equal(loaded.transform(PROBES)["tfidf_values"], values)
    refitted = TextPipeline.load(tmp_path).fit(TEXTS, LABELS, language="en", min_count=1, ebow_min_df=1)
    assert refitted.tfidf_vocabulary is None and "tfidf_ids" not in refitted.transform(TEXTS[:1])


def test_a_long_text_keeps_its_heaviest_tfidf_terms_normalised():
    from lem_keras.data.featurizer import TFIDF_MAX_TERMS

    rng = np.random.default_rng(0)
    words = [f"w{i}x" for i in range(600)]
    texts = [" ".join(rng.choice(words, 30)) for _ in range(60)]
    labels = rng.integers(0, 2, (60, 2))
    fitted = TextPipeline().fit(texts, labels, language="en", min_count=1, ebow_min_df=1).fit_tfidf(texts)
    common = " ".join(words[:5])  # in many texts: low idf
    features = fitted.transform([" ".join(words) + " " + common * 3, texts[0]])
    ids, values = features["tfidf_ids"], features["tfidf_values"]
    assert (ids[0] > 0).sum() == TFIDF_MAX_TERMS and (ids[1] > 0).sum() < TFIDF_MAX_TERMS
    split = len(fitted.tfidf_vocabulary[0])
    for row in range(2):
        for part in (ids[row] > 0) & (ids[row] <= split), ids[row] > split:
            assert np.sqrt(np.sum(values[row][part] ** 2)) == pytest.approx(1.0, abs=1e-5)
    # What is kept is the heaviest: (1 + ln count) * idf of every vocabulary term of the text.
    from collections import Counter

    from lem_keras.data.featurizer import tfidf_terms

    long_text = fitted.prepare([" ".join(words) + " " + common * 3])[0]
    word_terms, char_terms = tfidf_terms(fitted.featurizer.split(tf.constant([long_text])))
    counts = Counter()
    for start, vocabulary, terms in ((1, fitted.tfidf_vocabulary[0], word_terms),
                                     (split + 1, fitted.tfidf_vocabulary[1], char_terms)):
        index = {t: start + i for i, t in enumerate(vocabulary)}
        counts.update(index[t] for t in (t.decode() for t in terms[0].numpy()) if t in index)
    weight = {i: (1 + np.log(c)) * fitted.tfidf_idf[i - 1] for i, c in counts.items()}
    cut = sorted(weight.values(), reverse=True)[TFIDF_MAX_TERMS - 1]
    kept = set(ids[0][ids[0] > 0].tolist())
    assert len(weight) > TFIDF_MAX_TERMS and kept <= set(weight)
    assert min(weight[i] for i in kept) >= cut - 1e-4 >= max(weight[i] for i in set(weight) - kept) - 2e-4
