"""LatentEmotionMemory: phases, learning, ablations, embeddings, thresholds, save/load."""

import keras
import numpy as np
import pytest

from lem_keras import LatentEmotionMemory
from lem_keras.metrics import MicroF1, multilabel_report

K, V, T, L = 4, 30, 60, 10
SMALL = {
    "embedding_dim": 16,
    "hops": 2,
    "latent_hidden": 16,
    "led_dim": 8,
    "ef_dim": 8,
    "le_dim": 8,
    "attention_dim": 8,
    "gru_units": 8,
    "dropout": 0.0,
    "word_dropout": 0.0,
}


def _data(n=32, seed=0):
    """Learnable labels: emotion k present iff a token of group k appears."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(5 * K + 1, T, size=(n, L))
    lengths = rng.integers(4, L + 1, size=n)
    labels = (rng.random((n, K)) < 0.35).astype("float32")
    ebow = np.zeros((n, V), "float32")
    for i in range(n):
        for k in np.flatnonzero(labels[i]):
            tokens[i, rng.integers(0, lengths[i])] = 1 + 5 * k + rng.integers(0, 5)
            ebow[i, 3 * k + rng.integers(0, 3)] += 1
        ebow[i, 3 * K + rng.integers(0, V - 3 * K)] += 1
    tokens[np.arange(L)[None] >= lengths[:, None]] = 0
    ebow /= ebow.sum(1, keepdims=True)
    return {"tokens": tokens.astype("int32"), "ebow": ebow}, labels


def _model(**overrides):
    keras.utils.set_random_seed(1)
    config = dict(SMALL, **overrides)
    return LatentEmotionMemory(K, V, T, **config)


def _values(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def test_outputs_and_details():
    x, _ = _data(5)
    x["tokens"][0] = 0  # an all-padding sentence must not give NaN
    model = _model()
    p = keras.ops.convert_to_numpy(model(x))
    assert p.shape == (5, K) and np.isfinite(p).all()
    details = model(x, return_details=True)
    assert details["latent_distribution"].shape == (5, K)
    assert details["attention"].shape == (5, K, L)
    attention = keras.ops.convert_to_numpy(details["attention"])
    np.testing.assert_allclose(attention[1:].sum(-1), 1.0, rtol=1e-5)
    assert np.all(attention[0] == 0)
    padded = np.broadcast_to((x["tokens"] == 0)[:, None, :], attention.shape)
    assert np.all(attention[padded] == 0)


def test_latent_step_leaves_classifier_untouched_joint_step_moves_it():
    x, y = _data(16)
    model = _model(dropout=0.1, word_dropout=0.2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), latent_optimizer=keras.optimizers.Adam(1e-2))
    latent_ids = {id(v) for v in model.latent_module.variables}
    classifier_state = [v for v in model.variables if id(v) not in latent_ids]
    assert len(model.classifier_variables) > 0
    before = _values(classifier_state)
    optimizer_before = _values(model.optimizer.variables)
    latent_before = _values(model.latent_variables)

    model.set_phase("latent")
    logs = model.train_on_batch(x, y, return_dict=True)
    assert logs["phase"] == 0.0
    for a, b in zip(before, _values(classifier_state)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(optimizer_before, _values(model.optimizer.variables)):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(latent_before, _values(model.latent_variables)))
    assert int(model.latent_optimizer.iterations.numpy()) == 1

    model.set_phase("joint")
    logs = model.train_on_batch(x, y, return_dict=True)
    assert logs["phase"] == 1.0
    after = _values(model.classifier_variables)
    classifier_before = [b for v, b in zip(classifier_state, before) if v.trainable]
    moved = [not np.array_equal(a, b) for a, b in zip(classifier_before, after)]
    assert all(moved)
    assert any(not np.array_equal(a, b) for a, b in zip(optimizer_before, _values(model.optimizer.variables)))


@pytest.mark.slow  # trains until it overfits
def test_fit_logs_losses_and_overfits_32_examples():
    x, y = _data(32)
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), metrics=[MicroF1()])
    history = model.fit(x, y, batch_size=16, epochs=40, verbose=0).history
    for key in ("loss", "reconstruction_loss", "kl_loss", "classification_loss", "phase", "micro_f1"):
        assert key in history, key
    assert history["loss"][-1] < history["loss"][0]
    assert history["classification_loss"][-1] < 0.5 * history["classification_loss"][0]
    scores = model.predict(x, verbose=0)
    assert multilabel_report(y, scores, 0.5)["micro_f1"] >= 0.95


def test_ablation_switches_change_the_architecture():
    x, _ = _data(4)
    full = _model()
    no_wled = _model(use_wled=False)
    no_rle = _model(use_rle=False)
    gru_input = lambda m: m.emotion_classifier.bigru.forward_layer.cell.kernel.shape[0]
    assert gru_input(full) == SMALL["embedding_dim"] + SMALL["led_dim"]
    assert gru_input(no_wled) == SMALL["embedding_dim"]
    assert all(not any("query_kernel" in w.path for w in hop.weights) for hop in no_rle.memory_hops)
    for m in (no_wled, no_rle):
        assert keras.ops.convert_to_numpy(m(x)).shape == (4, K)


def test_initial_embedding_matrix_frozen_or_trainable():
    matrix = np.random.default_rng(0).normal(size=(T, 16)).astype("float32")
    frozen = _model(embedding_matrix=matrix, trainable_embeddings=False)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(frozen.token_embedding.embeddings), matrix)
    assert not any(v is frozen.token_embedding.embeddings for v in frozen.trainable_variables)
    trainable = _model(embedding_matrix=matrix)
    assert any(v is trainable.token_embedding.embeddings for v in trainable.trainable_variables)
    with pytest.raises(ValueError):
        _model(embedding_matrix=matrix[:, :5])


@pytest.mark.slow  # fits, saves and reloads .keras files
@pytest.mark.parametrize(
    "options", [{}, {"private_output": True, "classifier_residual": True}, {"wide": True}],
    ids=["shared", "private", "wide"],
)
def test_save_load_safe_mode_identical(tmp_path, options):
    x, y = _data(16)
    model = _model(emotion_names=["anger", "joy", "fear", "sadness"], **options)
    model.compile(optimizer="adam", latent_optimizer=keras.optimizers.Adagrad(0.05), metrics=[MicroF1()])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.set_thresholds([0.3, 0.4, 0.5, 0.6])
    path = tmp_path / "lem.keras"
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    assert isinstance(restored, LatentEmotionMemory)
    np.testing.assert_array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))
    np.testing.assert_allclose(restored.get_thresholds(), [0.3, 0.4, 0.5, 0.6])
    assert restored.emotion_names == ["anger", "joy", "fear", "sadness"]
    assert isinstance(restored.latent_optimizer, keras.optimizers.Adagrad)
    restored.fit(x, y, batch_size=8, epochs=1, verbose=0)  # still trains after reload


def test_config_round_trip():
    model = _model(use_rle=False, hops=3)
    clone = LatentEmotionMemory.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert len(clone.memory_hops) == 3


def test_bad_phase_rejected():
    with pytest.raises(ValueError):
        _model().set_phase("classifier")


def test_config_carries_the_model_options_and_the_keras_base_config():
    """get_config = keras.Model's own (name, dtype policy) + shapes + every ModelConfig field."""
    from lem_keras.config import ModelConfig

    model = _model(dtype="mixed_float16", name="lem_mixed")
    config = model.get_config()
    assert config["name"] == "lem_mixed"
    assert "mixed_float16" in str(config["dtype"])
    assert set(ModelConfig.field_names()) <= set(config)
    clone = LatentEmotionMemory.from_config(config)
    assert clone.dtype_policy.name == "mixed_float16"
    assert clone.options == model.options


def test_unknown_or_bad_model_option_refused():
    from lem_keras.config import ConfigError

    with pytest.raises(ValueError, match="emotion_bias"):
        _model(emotion_bias=True)  # a pruned option
    with pytest.raises(ConfigError, match="hops"):
        _model(hops=0)


def test_free_bits_leave_kl_above_the_floor_free_and_log_the_plain_kl():
    model = _model(kl_free_bits=0.5)
    kl_rows = np.array([[0.1, 0.9, 0.0, 2.0], [0.3, 0.1, 0.0, 0.0]], "float32")
    latent = {"reconstruction_loss": np.array([3.0, 5.0], "float32"),
              "kl_loss": kl_rows.sum(1), "kl_per_dimension": kl_rows}
    reconstruction, kl, objective = (float(v) for v in model._latent_losses(latent))
    assert reconstruction == pytest.approx(4.0)
    assert kl == pytest.approx(kl_rows.sum(1).mean())  # logged: the plain KL
    # batch means per dimension: 0.2, 0.5, 0.0, 1.0 -> floored at 0.5: 0.5 + 0.5 + 0.5 + 1.0
    assert objective == pytest.approx(4.0 + 2.5)
    plain = _model()
    assert float(plain._latent_losses(latent)[2]) == pytest.approx(4.0 + kl_rows.sum(1).mean())
    with pytest.raises(ValueError, match="kl_free_bits"):
        _model(kl_free_bits=-1.0)


def test_wide_path_adds_a_logistic_regression_on_the_ebow_to_the_logits():
    x, _ = _data(16)
    rng = np.random.default_rng(0)
    scale, kernel, bias = rng.random(V) + 0.5, rng.normal(size=(V, K)), rng.normal(size=K)
    plain = _model()
    wide = _model(wide=True, wide_scale=scale, wide_kernel=kernel, wide_bias=bias)
    features = (x["ebow"] > 0) * scale
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(wide.wide_features(x)), features, rtol=1e-5)
    logit = np.log(plain.predict(x, verbose=0)) - np.log1p(-plain.predict(x, verbose=0))
    expected = 1 / (1 + np.exp(-(logit + features @ kernel + bias)))
    np.testing.assert_allclose(wide.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    # A zero kernel and bias (the default) leave the model as it was.
    untrained = _model(wide=True).predict(x, verbose=0)
    np.testing.assert_allclose(untrained, plain.predict(x, verbose=0), atol=1e-6)
    assert any(v is wide.wide_kernel for v in wide.classifier_variables)
    assert not any(v is wide.wide_scale for v in wide.trainable_variables)


def test_class_lexicon_counts_join_the_wide_features_as_log1p():
    x, _ = _data(8)
    rng = np.random.default_rng(1)
    c = 3
    counts = rng.integers(0, 4, size=(8, c)).astype("float32")
    scale, kernel, bias = rng.random(V + c) + 0.5, rng.normal(size=(V + c, K)), rng.normal(size=K)
    model = _model(wide=True, lexicon_size=c, wide_scale=scale, wide_kernel=kernel, wide_bias=bias)
    features = np.concatenate([(x["ebow"] > 0).astype("float32"), np.log1p(counts)], axis=1) * scale
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    inputs = {**x, "lexicon": counts}
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.wide_features(inputs)), features, rtol=1e-5)
    # The counts move the logits; the reloaded config keeps the size.
    other = {**x, "lexicon": counts + 5}
    assert not np.allclose(model.predict(inputs, verbose=0), model.predict(other, verbose=0))
    assert model.get_config()["lexicon_size"] == c
    with pytest.raises(ValueError, match="'lexicon'"):
        model(x)
    with pytest.raises(ValueError, match="wide=True"):
        _model(lexicon_size=c)


def test_wide_l2_enters_the_joint_loss_only():
    x, y = _data(16)
    kernel = np.full((V, K), 0.5, "float32")
    losses = []
    for l2 in (0.0, 0.1):
        model = _model(wide=True, wide_kernel=kernel, wide_l2=l2)
        model.compile(optimizer=keras.optimizers.SGD(0.0), latent_optimizer=keras.optimizers.SGD(0.0))
        losses.append(model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False).history["loss"][0])
    np.testing.assert_allclose(losses[1] - losses[0], 0.1 * 0.25 * V * K, rtol=1e-4)


def test_wide_values_need_wide_and_the_right_shapes():
    with pytest.raises(ValueError, match="need wide=True"):
        _model(wide_kernel=np.zeros((V, K)))
    with pytest.raises(ValueError, match="expected"):
        _model(wide=True, wide_scale=np.ones(V + 1))
