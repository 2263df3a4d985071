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
