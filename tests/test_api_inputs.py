"""The Python API at its edges: what a caller may pass (issue 14, items 7, 8 and 13).

A tiny fitted pipeline and an untrained tiny model are enough: the checks are about
shapes, types and the no-evidence rule, not about what a trained model predicts.
"""

import keras
import numpy as np
import pytest

from lem_keras import LatentEmotionMemory
from lem_keras.data.featurizer import TextPipeline, check_texts
from lem_keras.training import predict_scores

TEXTS = [
    "so happy today :) #blessed",
    "so sad, can't stop crying",
    "happy happy joy joy",
    "angry about the traffic again",
    "sad news today, so sad",
    "angry and sad",
]
LABELS = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]])


@pytest.fixture(scope="module")
def pipeline():
    return TextPipeline().fit(TEXTS, LABELS, language="en", min_count=1, max_length=8, ebow_min_df=1)


@pytest.fixture(scope="module")
def model(pipeline):
    keras.utils.set_random_seed(3)
    return LatentEmotionMemory(
        num_emotions=3,
        ebow_size=len(pipeline.ebow_vocabulary),
        vocab_size=len(pipeline.token_vocabulary),
        embedding_dim=8,
        hops=1,
        latent_hidden=8,
        led_dim=4,
        ef_dim=4,
        le_dim=4,
        attention_dim=4,
        gru_units=4,
    )


# ----------------------------------------------------------------------------- item 7: texts


@pytest.mark.parametrize("bad", ["a bare string", b"bytes", None, 42])
def test_not_a_list_of_strings_is_a_type_error(pipeline, model, bad):
    for call in (
        lambda: pipeline.transform(bad),
        lambda: predict_scores(model, pipeline, bad),
        lambda: check_texts(bad),
    ):
        with pytest.raises(TypeError, match="texts must be a list of strings"):
            call()


def test_a_bare_string_says_how_to_pass_one_text(pipeline):
    with pytest.raises(TypeError, match=r"got a single str; wrap one text in a list: \[text\]"):
        pipeline.transform("a bare string")


@pytest.mark.parametrize("bad_item", [None, 3.5, b"bytes", ["nested"]])
def test_a_non_string_item_is_named_by_its_index(pipeline, model, bad_item):
    texts = ["fine", "also fine", bad_item]
    for call in (lambda: pipeline.transform(texts), lambda: predict_scores(model, pipeline, texts)):
        with pytest.raises(TypeError, match=r"texts\[2\] is \w+ .*expected a str"):
            call()


def test_any_iterable_of_strings_is_accepted(pipeline, model):
    expected = predict_scores(model, pipeline, ["so happy", "so sad"])
    for texts in (("so happy", "so sad"), np.array(["so happy", "so sad"]), iter(["so happy", "so sad"])):
        np.testing.assert_allclose(predict_scores(model, pipeline, texts), expected, rtol=1e-6)


# ----------------------------------------------------------------------------- item 8: no text


def test_no_text_gives_an_empty_result(pipeline, model):
    features = pipeline.transform([])
    assert features["tokens"].shape == (0, pipeline.max_length)
    assert np.asarray(model(features)).shape == (0, 3)
    details = model(features, return_details=True)
    assert np.asarray(details["latent_distribution"]).shape == (0, 3)
    assert np.asarray(details["attention"]).shape == (0, 3, pipeline.max_length)
    predicted = model.predict(features, verbose=0)
    assert isinstance(predicted, np.ndarray) and predicted.shape == (0, 3)
    assert model.predict_labels(features).shape == (0, 3)
    assert predict_scores(model, pipeline, []).shape == (0, 3)


# ----------------------------------------------------------------------------- item 13: no evidence

NO_EVIDENCE = ["", "   \t ", "zzyzx qwfp", "😶", "\u200b"]


def test_a_text_without_evidence_predicts_no_emotion(pipeline, model):
    scores = predict_scores(model, pipeline, NO_EVIDENCE + ["so happy today"])
    np.testing.assert_array_equal(scores[:-1], 0.0)
    assert np.all(scores[-1] > 0)
    thresholds = model.get_thresholds()
    assert not (scores[:-1] >= thresholds).any()


def test_the_model_itself_masks_texts_without_evidence(pipeline, model):
    """In the call (so predict, explain and the SavedModel agree): token ids 0 (padding) and
    1 (OOV) and an all-zero eBoW carry no evidence; one known token or one eBoW word does."""
    length, size = pipeline.max_length, len(pipeline.ebow_vocabulary)
    tokens = np.zeros((4, length), "int32")
    tokens[1, :3] = 1  # only unknown words
    tokens[2, 0] = 2  # one known token
    ebow = np.zeros((4, size), "float32")
    ebow[3, 0] = 1.0  # one eBoW word (tokens empty)
    features = {"tokens": tokens, "ebow": ebow}
    has_evidence = np.asarray(LatentEmotionMemory.has_evidence(features))
    assert has_evidence[:, 0].tolist() == [0, 0, 1, 1]
    for probabilities in (
        model(features),
        model(features, return_details=True)["probabilities"],
        model.predict(features, verbose=0),
    ):
        probabilities = np.asarray(probabilities)
        np.testing.assert_array_equal(probabilities[:2], 0.0)
        assert np.all(probabilities[2:] > 0)


def test_calibrated_thresholds_stay_above_zero():
    from lem_keras.metrics import calibrate_thresholds

    # The best F1 predicts every example, the one without evidence (score 0) included.
    labels = np.array([[1], [1], [1]])
    scores = np.array([[0.9], [0.0005], [0.0]], "float32")
    assert calibrate_thresholds(labels, scores)[0] > 0
