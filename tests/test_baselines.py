"""Tests for lem_keras.baselines (fast, no real data)."""

import numpy as np
import pytest

from lem_keras.baselines import TfidfLogisticRegression, build_bigru_classifier


def test_bigru_shapes_and_one_training_step():
    rng = np.random.default_rng(0)
    model = build_bigru_classifier(
        vocab_size=50, embedding_dim=8, max_length=12, num_labels=4, units=6
    )
    tokens = rng.integers(1, 50, size=(16, 12)).astype("int32")
    tokens[:, 9:] = 0  # padding
    labels = rng.integers(0, 2, size=(16, 4)).astype("float32")
    out = model(tokens)
    assert tuple(out.shape) == (16, 4)
    assert np.all((np.asarray(out) >= 0) & (np.asarray(out) <= 1))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(tokens, labels, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = model.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(before, after))


def test_bigru_embedding_matrix():
    matrix = np.arange(20 * 3, dtype="float32").reshape(20, 3)
    model = build_bigru_classifier(20, 3, 5, 2, units=4, embedding_matrix=matrix)
    np.testing.assert_allclose(model.get_layer("embedding").get_weights()[0], matrix)
    with pytest.raises(ValueError):
        build_bigru_classifier(20, 4, 5, 2, embedding_matrix=matrix)


TOY_TEXTS = [
    "i am so happy today",
    "what a happy joyful day",
    "this makes me furious and angry",
    "angry angry angry at you",
    "happy but also angry now",
    "so angry yet happy",
    "the weather is cloudy",
    "a table and a chair",
    "feeling happy and glad",
    "furious with rage",
]
#             happy angry
TOY_LABELS = np.array(
    [[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, 1], [0, 0], [0, 0], [1, 0], [0, 1]]
)


def test_tfidf_learns_toy_multilabel():
    model = TfidfLogisticRegression(C=10.0).fit(TOY_TEXTS, TOY_LABELS)
    scores = model.predict_scores(
        ["happy happy day", "so angry and furious", "happy and angry"]
    )
    assert scores.shape == (3, 2)
    assert scores.dtype == np.float32
    assert scores[0, 0] > scores[0, 1]
    assert scores[1, 1] > scores[1, 0]
    assert scores[0, 0] > scores[1, 0]
    assert scores[1, 1] > scores[0, 1]
    preds = model.predict(["happy happy day", "so angry and furious"])
    assert preds.tolist() == [[1, 0], [0, 1]]


def test_tfidf_constant_label_column():
    labels = np.concatenate(
        [TOY_LABELS, np.zeros((10, 1), int), np.ones((10, 1), int)], axis=1
    )
    model = TfidfLogisticRegression().fit(TOY_TEXTS, labels)
    scores = model.predict_scores(["happy", "something else entirely"])
    assert scores.shape == (2, 4)
    np.testing.assert_array_equal(scores[:, 2], 0.0)
    np.testing.assert_array_equal(scores[:, 3], 1.0)


def test_tfidf_errors():
    with pytest.raises(RuntimeError):
        TfidfLogisticRegression().predict_scores(["x"])
    with pytest.raises(ValueError):
        TfidfLogisticRegression().fit(["a", "b"], np.zeros((3, 2)))
