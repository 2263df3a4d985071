"""Shapes, config round trips and the batched-vs-per-emotion equivalence of the LEM layers."""

import keras
import numpy as np
import pytest

from lem_keras.layers import (
    EmotionMemoryHop,
    EmotionSequenceClassifier,
    GaussianSampling,
    LatentEmotionModule,
    MaskedLatentEmbedding,
)

B, L, E, K, V, F, D, A = 3, 7, 6, 4, 20, 5, 8, 9


def _hop_inputs(seed=0):
    rng = np.random.default_rng(seed)
    tokens = rng.normal(size=(B, L, E)).astype("float32")
    mask = np.ones((B, L), bool)
    mask[1, 4:] = False
    mask[2, :] = False  # an all-padding sentence
    context = rng.normal(size=(B, K, E)).astype("float32")
    queries = rng.normal(size=(B, K, D)).astype("float32")
    w_ef = rng.normal(size=(V, F)).astype("float32")
    return tokens, mask, context, queries, w_ef


def test_latent_module_shapes_and_losses():
    vae = LatentEmotionModule(K, hidden_dim=8, latent_embedding_dim=5, feature_embedding_dim=F, seed=1)
    ebow = (np.random.default_rng(0).random((B, V)) < 0.3).astype("float32")
    ebow[:2, 0] = 1.0
    ebow[2] = 0.0  # empty eBoW row
    out = vae(ebow, training=True)
    assert out["latent_distribution"].shape == (B, K)
    assert out["reconstruction_logits"].shape == (B, V)
    z = keras.ops.convert_to_numpy(out["latent_distribution"])
    np.testing.assert_allclose(z.sum(-1), 1.0, rtol=1e-5)
    rec = keras.ops.convert_to_numpy(out["reconstruction_loss"])
    assert rec.shape == (B,) and rec[2] == 0.0 and np.all(rec[:2] > 0)
    assert np.all(keras.ops.convert_to_numpy(out["kl_loss"]) >= 0)
    assert vae.feature_embedding.shape == (V, F) and vae.latent_embedding.shape == (K, 5)
    assert not vae.kl_weight.trainable
    # Inference uses the mean: deterministic.
    a = keras.ops.convert_to_numpy(vae(ebow, training=False)["z_sample"])
    b = keras.ops.convert_to_numpy(vae(ebow, training=False)["mu"])
    np.testing.assert_array_equal(a, b)


def test_latent_module_uses_the_ebow_as_given():
    # The featurizer emits presence; the layer does not re-binarise: eq. 6's NLL is
    # -sum_v x_v log x_hat_v with x exactly the input.
    vae = LatentEmotionModule(K, hidden_dim=8, latent_embedding_dim=5, feature_embedding_dim=F, seed=1)
    ebow = np.zeros((2, V), "float32")
    ebow[0, :3] = [0.5, 2.0, 1.0]
    ebow[1, 1] = 1.0
    out = vae(ebow, training=False)
    log_probs = keras.ops.convert_to_numpy(keras.ops.log_softmax(out["reconstruction_logits"], axis=-1))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(out["reconstruction_loss"]), -(ebow * log_probs).sum(-1), rtol=1e-5
    )
    assert "binary_bow" not in vae.get_config()


def test_sampling_adds_noise_only_in_training():
    layer = GaussianSampling(seed=3)
    mu = np.zeros((4, K), "float32")
    assert np.all(keras.ops.convert_to_numpy(layer((mu, mu), training=False)) == 0)
    assert np.any(keras.ops.convert_to_numpy(layer((mu, mu), training=True)) != 0)


def test_masked_latent_embedding_selects_scaled_rows():
    layer = MaskedLatentEmbedding(D)
    z = np.random.default_rng(0).dirichlet(np.ones(K), size=B).astype("float32")
    w_led = np.random.default_rng(1).normal(size=(K, 5)).astype("float32")
    queries, rows = layer(z, w_led)
    assert queries.shape == (B, K, D)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rows), z[:, :, None] * w_led[None], rtol=1e-6)
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in (layer.kernel, layer.bias))
    k = 2
    expected = np.tanh(rows[:, k] @ kernel[k] + bias[k])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(queries)[:, k], expected, atol=1e-5)


@pytest.mark.parametrize("use_query", [True, False])
def test_memory_hop_equals_per_emotion_loop(use_query):
    tokens, mask, context, queries, w_ef = _hop_inputs()
    hop = EmotionMemoryHop(A, use_emotion_query=use_query)
    hop(tokens, mask, context, queries, w_ef)
    # Random non-zero bias so that every weight matters.
    hop.attention_bias.assign(np.random.default_rng(5).normal(size=(K, A)).astype("float32"))
    out = {k: keras.ops.convert_to_numpy(v) for k, v in hop(tokens, mask, context, queries, w_ef).items()}
    W = keras.ops.convert_to_numpy(hop.token_kernel)
    U = keras.ops.convert_to_numpy(hop.query_kernel) if use_query else None
    bias = keras.ops.convert_to_numpy(hop.attention_bias)
    v = keras.ops.convert_to_numpy(hop.score_vector)
    Bm = keras.ops.convert_to_numpy(hop.memory_kernel)
    for b in range(B):
        for k in range(K):
            states = tokens[b] + context[b, k]  # (L, E): eq. 13's token states for emotion k
            pre = states @ W[k] + bias[k]
            if use_query:
                pre = pre + queries[b, k] @ U[k]
            scores = np.tanh(pre) @ v[k]
            if mask[b].any():
                e = np.exp(scores[mask[b]] - scores[mask[b]].max())
                alpha = np.zeros(L)
                alpha[mask[b]] = e / e.sum()
            else:
                alpha = np.zeros(L)
            r_input = alpha @ tokens[b] + context[b, k]
            memory = w_ef @ Bm[k]  # M_k, (V, E)
            logits = memory @ r_input / np.sqrt(F)
            beta = np.exp(logits - logits.max())
            beta /= beta.sum()
            r_output = beta @ memory
            np.testing.assert_allclose(out["input_attention"][b, k], alpha, atol=1e-5)
            np.testing.assert_allclose(out["input_summary"][b, k], r_input, atol=1e-5)
            np.testing.assert_allclose(out["memory_attention"][b, k], beta, atol=1e-5)
            np.testing.assert_allclose(out["memory_read"][b, k], r_output, atol=1e-5)
            np.testing.assert_allclose(out["context"][b, k], context[b, k] + r_output, atol=1e-5)
    assert np.isfinite(out["context"]).all()
    assert np.all(out["input_attention"][2] == 0)  # all-padding row: no NaN, no weight


def test_memory_hop_without_query_ignores_queries():
    tokens, mask, context, queries, w_ef = _hop_inputs()
    hop = EmotionMemoryHop(A, use_emotion_query=False)
    a = keras.ops.convert_to_numpy(hop(tokens, mask, context, queries, w_ef)["context"])
    b = keras.ops.convert_to_numpy(hop(tokens, mask, context, queries * 0 + 3.0, w_ef)["context"])
    np.testing.assert_array_equal(a, b)
    assert not any("query" in w.path for w in hop.weights)


def test_sequence_classifier_shape():
    layer = EmotionSequenceClassifier(units=4, dropout=0.1)
    p = keras.ops.convert_to_numpy(layer(np.ones((B, K, 5), "float32")))
    assert p.shape == (B, K) and np.all((p > 0) & (p < 1))


def test_sequence_classifier_builds_inside_load_models_object_sharing_scope(monkeypatch):
    # load_model keys shared objects by id(); a template GRU whose id() was seen before (a freed
    # one's address reused, here forced by handing out one template) made the forward GRU the
    # previous layer's backward GRU, and loading a seed ensemble failed at random.
    from keras.src.saving.serialization_lib import ObjectSharingScope

    template = keras.layers.GRU(4, return_sequences=True)
    monkeypatch.setattr(keras.layers, "GRU", lambda *args, **kwargs: template)
    from keras.src.backend.common import global_state

    with ObjectSharingScope():
        maps = global_state.get_global_attribute("shared_objects/id_to_obj_map")
        layers = [EmotionSequenceClassifier(units=4) for _ in range(3)]
        assert global_state.get_global_attribute("shared_objects/id_to_obj_map") is maps  # restored
    for layer in layers:
        assert not layer.bigru.forward_layer.go_backwards
        assert layer.bigru.backward_layer.go_backwards
    forwards = {id(layer.bigru.forward_layer) for layer in layers}
    assert len(forwards) == 3  # no GRU shared between layers


def test_sequence_classifier_residual_reads_each_step():
    x = np.random.default_rng(0).normal(size=(B, K, 5)).astype("float32")
    plain = EmotionSequenceClassifier(units=4)
    plain(x)
    assert plain.classifier.kernel.shape == (8, 1)
    residual = EmotionSequenceClassifier(units=4, residual=True)
    residual(x)
    assert residual.classifier.kernel.shape == (8 + 5, 1)
    # The logit of step k moves with step k's own input through the residual weights only:
    # zero the BiGRU part of the kernel and the classifier is linear in x[:, k].
    kernel = np.zeros((13, 1), "float32")
    kernel[8:, 0] = [1, 0, 0, 0, 0]
    residual.classifier.kernel.assign(kernel)
    residual.classifier.bias.assign([0.5])
    p = keras.ops.convert_to_numpy(residual(x))
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(x[..., 0] + 0.5))), rtol=1e-5)


def test_sequence_classifier_private_output_gives_each_emotion_its_own_unit():
    x = np.random.default_rng(1).normal(size=(B, K, 5)).astype("float32")
    layer = EmotionSequenceClassifier(units=4, residual=True, private_output=True)
    layer(x)
    assert layer.private_kernel.shape == (K, 8 + 5) and layer.private_bias.shape == (K,)
    assert not hasattr(layer, "classifier")
    # Emotion k's unit reads only step k's features: with the BiGRU part of every kernel
    # zeroed, p_k is the logistic of emotion k's own weights on x[:, k].
    rng = np.random.default_rng(2)
    kernel = np.zeros((K, 13), "float32")
    kernel[:, 8:] = rng.normal(size=(K, 5))
    bias = rng.normal(size=K).astype("float32")
    layer.private_kernel.assign(kernel)
    layer.private_bias.assign(bias)
    p = keras.ops.convert_to_numpy(layer(x))
    expected = 1 / (1 + np.exp(-(np.einsum("bkf,kf->bk", x, kernel[:, 8:]) + bias)))
    np.testing.assert_allclose(p, expected, rtol=1e-5)
    # Changing emotion 0's unit moves emotion 0's probability and no other.
    kernel[0, 8:] += 1.0
    layer.private_kernel.assign(kernel)
    q = keras.ops.convert_to_numpy(layer(x))
    assert not np.allclose(q[:, 0], p[:, 0])
    np.testing.assert_allclose(q[:, 1:], p[:, 1:], rtol=1e-6)


@pytest.mark.parametrize(
    "layer",
    [
        GaussianSampling(seed=2),
        LatentEmotionModule(
            K, hidden_dim=8, latent_embedding_dim=3, feature_embedding_dim=4, word_dropout=0.3
        ),
        MaskedLatentEmbedding(D, kernel_initializer="he_normal"),
        EmotionMemoryHop(A, use_emotion_query=False, kernel_initializer="orthogonal"),
        EmotionSequenceClassifier(units=6, dropout=0.2),
        EmotionSequenceClassifier(units=6, residual=True),
        EmotionSequenceClassifier(units=6, private_output=True),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"].startswith("lem_keras>")
    restored = keras.saving.deserialize_keras_object(serialized, safe_mode=True)
    assert restored.get_config() == config
