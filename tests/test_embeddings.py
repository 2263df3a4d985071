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
