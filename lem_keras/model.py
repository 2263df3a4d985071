"""The Latent Emotion Memory network (Fei et al., AAAI 2020) as a subclassed Keras model.

The training loop needs ``tf.GradientTape``: this module runs on the TensorFlow backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from lem_keras.callbacks import SCHEDULE_STATE_SIZE
from lem_keras.config import ModelConfig
from lem_keras.layers import (
    EmotionMemoryHop,
    EmotionSequenceClassifier,
    LatentEmotionModule,
    MaskedLatentEmbedding,
)

PHASES = ("latent", "joint")


class DecisionThresholds:
    """The per-emotion decision thresholds of a model with ``num_emotions`` outputs and a
    non-trainable ``thresholds`` weight (K,): shared by the single model and the seed
    ensemble. ``decision_rule`` names the rule they belong to (``lem_keras.decision``; set
    by ``training.finalize``, saved in the ``.keras`` file; None: thresholds alone)."""

    decision_rule: str | None = None

    def decision_config(self) -> dict:
        """``{"decision_rule": rule}`` for ``get_config`` (empty without a rule), so that the
        ``.keras`` file keeps the rule its thresholds belong to."""
        return {"decision_rule": self.decision_rule} if self.decision_rule is not None else {}

    def with_decision_rule(self, rule: str | None):
        """``self``, its ``decision_rule`` set (``from_config``)."""
        self.decision_rule = rule
        return self

    def set_thresholds(self, thresholds) -> None:
        """Set the per-emotion decision thresholds (a float or an array of shape (K,))."""
        values = np.broadcast_to(np.asarray(thresholds, dtype="float32"), (self.num_emotions,))
        self.thresholds.assign(values)

    def get_thresholds(self) -> np.ndarray:
        """The per-emotion decision thresholds as a numpy array (K,)."""
        # .numpy(): numpy 2 warns on np.array(variable) (TF's __array__ takes no `copy`).
        return np.asarray(self.thresholds.numpy(), dtype="float32")

    def predict_labels(self, inputs, batch_size: int = 256) -> np.ndarray:
        """Binary predictions (N, K) by the stored thresholds and ``decision_rule``."""
        from lem_keras.decision import predict

        scores = self.predict(inputs, batch_size=batch_size, verbose=0)
        return predict(scores, self.get_thresholds(), self.decision_rule)


def logit(probabilities, eps: float = 1e-7):
    """``log(p / (1 - p))`` of probabilities clipped to ``[eps, 1 - eps]`` (Keras ops)."""
    p = ops.clip(probabilities, eps, 1.0 - eps)
    return ops.log(p) - ops.log1p(-p)


class TemperatureScaling:
    """The per-emotion temperature T_k of a model's served probabilities,
    ``sigmoid(logit(p_k) / T_k)``, held in a non-trainable ``temperature`` weight (K,);
    ``training.finalize`` fits it on dev when the model has one (a seed ensemble has one
    only with a TF-IDF member). Shared by the single model and the seed ensemble."""

    def apply_temperature(self, probabilities):
        """``sigmoid(logit(p_k) / T_k)`` with the model's ``temperature``; an emotion whose T_k
        is 1 keeps its probability exactly (``lem_keras.calibration.apply_temperature`` in numpy)."""
        t = ops.cast(self.temperature, probabilities.dtype)
        return ops.where(ops.equal(t, 1.0), probabilities, ops.sigmoid(logit(probabilities) / t))

    def set_temperature(self, temperature) -> None:
        """Set the per-emotion temperature (a float or an array (K,), each > 0)."""
        values = np.broadcast_to(np.asarray(temperature, dtype="float32"), (self.num_emotions,))
        if not np.all(values > 0):
            raise ValueError(f"temperatures must be > 0, got {values.tolist()}")
        self.temperature.assign(values)

    def get_temperature(self) -> np.ndarray:
        """The per-emotion temperature (K,)."""
        return np.asarray(self.temperature.numpy(), dtype="float32")


def wide_features(ebow, scale, lexicon=None):
    """The wide path's input: eBoW presence, then (with a class lexicon) ``log1p`` of the
    class word counts, times the per-feature ``scale``, L2-normalised per row. Keras ops:
    the model computes it in-graph and ``training.fit_wide`` on numpy arrays.

    Args:
        ebow: (N, V) eBoW presence.
        scale: (V,) or (V + C,) weights (idf).
        lexicon: optional (N, C) class word counts.
    """
    x = ops.cast(ops.greater(ebow, 0), "float32")
    if lexicon is not None:
        x = ops.concatenate([x, ops.log1p(ops.cast(lexicon, "float32"))], axis=-1)
    x = x * ops.cast(scale, "float32")
    norm = ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True))
    return x / ops.maximum(norm, 1e-12)


@keras.saving.register_keras_serializable(package="lem_keras")
class LatentEmotionMemory(DecisionThresholds, TemperatureScaling, keras.Model):
    """Latent Emotion Memory network for multi-label emotion classification.

    A VAE over the emotion bag-of-words infers the latent emotion distribution Z
    (eqs. 1-6); K private memory modules attend over the tokens guided by Z (eqs. 7-14);
    a BiGRU over the emotion axis predicts each emotion (eqs. 15-16). Training alternates
    a *latent* phase (eq. 6 only, only the latent module moves, with ``latent_optimizer``)
    and a *joint* phase (eq. 6 + eq. 17, everything moves, with ``optimizer``); see
    ``set_phase`` and ``lem_keras.callbacks.AlternatingSchedule``.

    Args:
        num_emotions: K.
        ebow_size: V, size of the eBoW vocabulary.
        vocab_size: size of the token vocabulary (index 0 = padding).
        emotion_names: optional K names (kept in the config).
        embedding_initializer: initializer of the token embedding.
        embedding_matrix: optional (vocab_size, embedding_dim) initial embedding; not
            stored in the config (the saved weights carry it).
        seed: optional seed of the stochastic layers.
        **kwargs: the network's options, the fields of
            :class:`lem_keras.config.ModelConfig` (``embedding_dim``, ``hops``,
            ``use_wled``, ``use_rle``, ``latent_hidden``, ``led_dim``, ``ef_dim``,
            ``le_dim``, ``attention_dim``, ``gru_units``, ``dropout``, ``word_dropout``,
            ``kl_free_bits``, ``classifier_residual``, ``private_output``,
            ``trainable_embeddings``, ``wide``, ``wide_l2``; defaults and meaning there),
            checked there and kept
            as ``model.options``; and ``keras.Model``'s own (``name``, ``dtype``).
        lexicon_size: C, the number of class-lexicon features (the featurizer's
            ``"lexicon"`` output, class word counts), read by the wide path; 0: none.
            Only with ``wide=True``.
        wide_scale: optional (V + C,) per-feature weights of the wide path's input (the
            eBoW terms' idf, then the lexicon classes'; ones when None). Not stored in the
            config (the saved weights carry it), like ``wide_kernel`` (V + C, K) and
            ``wide_bias`` (K,), the optional initial values of the wide path (a logistic
            regression fitted on the training set, ``training.fit_wide``). Only with
            ``wide=True``.

    Call arguments:
        inputs: dict ``{"tokens": int (batch, L), "ebow": float (batch, V)}``, plus
            ``"lexicon": float (batch, C)`` when ``lexicon_size`` > 0.
        training: Python bool.
        return_details: if true, return a dict with ``probabilities`` (batch, K),
            ``latent_distribution`` (batch, K) and ``attention`` (batch, K, L) (last hop's
            input attention) instead of the probabilities alone.

    A text without evidence (no token in the vocabulary and no eBoW word: an empty or blank
    text, or only unknown words) gets probability 0 for every emotion (see ``has_evidence``).

    Example:
    >>> import numpy as np
    >>> model = LatentEmotionMemory(num_emotions=3, ebow_size=20, vocab_size=50,
    ...                             embedding_dim=8, hops=2, latent_hidden=8)
    >>> x = {"tokens": np.array([[3, 4, 0]]), "ebow": np.ones((1, 20), "float32")}
    >>> tuple(model(x).shape)
    (1, 3)

    References:
        Fei, Zhang, Ren, Ji. Latent Emotion Memory for Multi-Label Emotion
        Classification. AAAI 2020. Equations 1-17.
    """

    def __init__(
        self,
        num_emotions: int,
        ebow_size: int,
        vocab_size: int,
        emotion_names: Sequence[str] | None = None,
        embedding_initializer="uniform",
        embedding_matrix: np.ndarray | None = None,
        seed: int | None = None,
        lexicon_size: int = 0,
        wide_scale: np.ndarray | None = None,
        wide_kernel: np.ndarray | None = None,
        wide_bias: np.ndarray | None = None,
        **kwargs,
    ):
        # The network's options are ModelConfig's fields (checked there); the rest of
        # kwargs are keras.Model's (name, dtype, trainable).
        option_names = ModelConfig.field_names()
        self.options = ModelConfig(**{k: kwargs.pop(k) for k in option_names if k in kwargs})
        super().__init__(**kwargs)
        if emotion_names is not None and len(emotion_names) != num_emotions:
            raise ValueError(f"emotion_names has {len(emotion_names)} names for {num_emotions} emotions.")
        self.num_emotions = int(num_emotions)
        self.ebow_size = int(ebow_size)
        self.vocab_size = int(vocab_size)
        self.lexicon_size = int(lexicon_size)
        if self.lexicon_size < 0 or (self.lexicon_size and not self.options.wide):
            raise ValueError(f"lexicon_size {lexicon_size!r}: class-lexicon features need wide=True "
                             "and a size >= 0.")
        self.emotion_names = (
            [str(n) for n in emotion_names]
            if emotion_names is not None
            else [f"emotion_{k}" for k in range(num_emotions)]
        )
        self.embedding_initializer = keras.initializers.get(embedding_initializer)
        self.seed = seed
        options = self.options
        embedding_dim, hops, dropout = options.embedding_dim, options.hops, options.dropout
        self.embedding_dim, self.hops = embedding_dim, hops

        policy = self.dtype_policy
        self.token_embedding = keras.layers.Embedding(
            vocab_size,
            embedding_dim,
            embeddings_initializer=self.embedding_initializer,
            trainable=options.trainable_embeddings,
            name="token_embedding",
            dtype=policy,
        )
        self.token_dropout = keras.layers.Dropout(dropout, seed=seed, dtype=policy)
        self.latent_module = LatentEmotionModule(
            num_emotions,
            hidden_dim=options.latent_hidden,
            latent_embedding_dim=options.led_dim,
            feature_embedding_dim=options.ef_dim,
            word_dropout=options.word_dropout,
            seed=seed,
            name="latent_module",
            dtype=policy,
        )
        self.latent_embedding_layer = MaskedLatentEmbedding(
            options.le_dim, name="masked_latent_embedding", dtype=policy
        )
        self.memory_hops = [
            EmotionMemoryHop(
                options.attention_dim, use_emotion_query=options.use_rle, name=f"memory_hop_{h + 1}",
                dtype=policy,
            )
            for h in range(self.hops)
        ]
        self.emotion_classifier = EmotionSequenceClassifier(
            options.gru_units,
            dropout=dropout,
            residual=options.classifier_residual,
            private_output=options.private_output,
            name="emotion_classifier",
            dtype=policy,
        )
        self._build_all()
        if options.wide:
            width = ebow_size + self.lexicon_size
            self.wide_scale = self.add_weight(
                shape=(width,), initializer="ones", trainable=False, name="wide_scale", dtype="float32"
            )
            self.wide_kernel = self.add_weight(
                shape=(width, num_emotions), initializer="zeros", name="wide_kernel", dtype="float32"
            )
            self.wide_bias = self.add_weight(
                shape=(num_emotions,), initializer="zeros", name="wide_bias", dtype="float32"
            )
            for variable, value, shape in ((self.wide_scale, wide_scale, (width,)),
                                           (self.wide_kernel, wide_kernel, (width, num_emotions)),
                                           (self.wide_bias, wide_bias, (num_emotions,))):
                if value is not None:
                    value = np.asarray(value, dtype="float32")
                    if value.shape != shape:
                        raise ValueError(f"{variable.name} has shape {value.shape}, expected {shape}.")
                    variable.assign(value)
        elif any(v is not None for v in (wide_scale, wide_kernel, wide_bias)):
            raise ValueError("wide_scale, wide_kernel and wide_bias need wide=True.")
        self.thresholds = self.add_weight(
            shape=(num_emotions,),
            initializer=keras.initializers.Constant(0.5),
            trainable=False,
            name="thresholds",
            dtype="float32",
        )
        # AlternatingSchedule's state (layout: lem_keras.callbacks.ScheduleSlot), kept in the
        # model so that BackupAndRestore restores it with the weights.
        self.schedule_state = self.add_weight(
            shape=(SCHEDULE_STATE_SIZE,), initializer="zeros", trainable=False, name="schedule_state",
            dtype="float64"
        )
        # Per-emotion temperature T_k of the served probabilities, sigmoid(logit(p_k) / T_k),
        # fitted on dev after training (training.finalize); 1 = the network's own.
        self.temperature = self.add_weight(
            shape=(num_emotions,), initializer="ones", trainable=False, name="temperature", dtype="float32"
        )
        if embedding_matrix is not None:
            matrix = np.asarray(embedding_matrix)
            if matrix.shape != (vocab_size, embedding_dim):
                raise ValueError(
                    f"embedding_matrix has shape {matrix.shape}, expected {(vocab_size, embedding_dim)}."
                )
            self.token_embedding.embeddings.assign(matrix.astype(self.token_embedding.embeddings.dtype))

        self._phase = "joint"
        self._phase_functions = {}
        self.latent_optimizer = None
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.classification_tracker = keras.metrics.Mean(name="classification_loss")
        self.total_tracker = keras.metrics.Mean(name="loss")

    # ------------------------------------------------------------------ building
    def _build_all(self) -> None:
        # Every dimension is known from the constructor, so build eagerly: both optimizers
        # can then be built in compile(), before any step runs.
        k, e = self.num_emotions, self.embedding_dim
        self.token_embedding.build((None, None))
        self.latent_module.build((None, self.ebow_size))
        options = self.options
        w_led_shape = (k, options.led_dim)
        self.latent_embedding_layer.build((None, k), w_led_shape)
        for hop in self.memory_hops:
            hop.build(
                (None, None, e),
                (None, None),
                (None, k, e),
                (None, k, options.le_dim),
                (self.ebow_size, options.ef_dim),
            )
        feature_dim = e + (options.led_dim if options.use_wled else 0)
        self.emotion_classifier.build((None, k, feature_dim))
        self.built = True

    def build(self, input_shape=None):
        if not self.built:
            self._build_all()

    # ------------------------------------------------------------------ forward
    def wide_features(self, inputs):
        """The wide path's input (:func:`wide_features` of ``inputs`` and ``wide_scale``)."""
        lexicon = inputs["lexicon"] if self.lexicon_size else None
        return wide_features(inputs["ebow"], self.wide_scale, lexicon)

    def _wide_logits(self, inputs):
        if self.lexicon_size and "lexicon" not in inputs:
            raise ValueError(f"this model reads {self.lexicon_size} class-lexicon features: its inputs "
                             "need the featurizer's 'lexicon' (TextPipeline.transform gives it)")
        return ops.matmul(self.wide_features(inputs), self.wide_kernel) + self.wide_bias

    def _classify(self, inputs, latent: dict, training: bool):
        tokens = inputs["tokens"]
        token_mask = ops.not_equal(tokens, 0)
        token_states = self.token_dropout(self.token_embedding(tokens), training=training)
        z = latent["latent_distribution"]
        queries, scaled_rows = self.latent_embedding_layer(z, self.latent_module.latent_embedding)
        context = ops.zeros(
            (ops.shape(tokens)[0], self.num_emotions, self.embedding_dim), dtype=token_states.dtype
        )
        for hop in self.memory_hops:
            hop_out = hop(token_states, token_mask, context, queries, self.latent_module.feature_embedding)
            context = hop_out["context"]
        features = hop_out["input_summary"] + hop_out["memory_read"]
        if self.options.use_wled:
            features = ops.concatenate([features, ops.cast(scaled_rows, features.dtype)], axis=-1)
        offset = self._wide_logits(inputs) if self.options.wide else None
        probabilities = self.emotion_classifier(features, training=training, logit_offset=offset)
        return probabilities, hop_out["input_attention"]

    def call(self, inputs, training=None, return_details: bool = False):
        latent = self.latent_module(inputs["ebow"], training=training)
        probabilities, attention = self._classify(inputs, latent, training=training)
        # A text without evidence (no in-vocabulary token, no eBoW word: empty, blank or only
        # unknown words) predicts no emotion: probability 0 for every emotion.
        probabilities = self.apply_temperature(probabilities)
        probabilities = probabilities * self.has_evidence(inputs, probabilities.dtype)
        if return_details:
            return {
                "probabilities": probabilities,
                "latent_distribution": latent["latent_distribution"],
                "attention": attention,
            }
        return probabilities

    @staticmethod
    def has_evidence(inputs, dtype="float32"):
        """``(batch, 1)``: 1 where the text has a token in the vocabulary (id > 1: neither
        padding nor OOV) or an eBoW word, else 0."""
        tokens = ops.any(ops.greater(inputs["tokens"], 1), axis=-1, keepdims=True)
        words = ops.any(ops.greater(inputs["ebow"], 0), axis=-1, keepdims=True)
        return ops.cast(ops.logical_or(tokens, words), dtype)

    def compute_output_spec(self, inputs, training=None, return_details: bool = False):
        batch = inputs["tokens"].shape[0]
        probabilities = keras.KerasTensor((batch, self.num_emotions), self.compute_dtype)
        if not return_details:
            return probabilities
        return {
            "probabilities": probabilities,
            "latent_distribution": keras.KerasTensor((batch, self.num_emotions), self.compute_dtype),
            "attention": keras.KerasTensor(
                (batch, self.num_emotions, inputs["tokens"].shape[1]), self.compute_dtype
            ),
        }

    # ------------------------------------------------------------------ phases
    @property
    def phase(self) -> str:
        """The training phase, ``"latent"`` or ``"joint"``."""
        return self._phase

    def set_phase(self, phase: str) -> None:
        """Switch between the latent-only and the joint training phase.

        Each phase traces its own train/test graph (the phase is read at trace time); the
        graphs of both phases are kept, so alternating does not retrace.
        """
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {phase!r}.")
        if phase == self._phase:
            return
        self._phase_functions[self._phase] = (self.train_function, self.test_function)
        self._phase = phase
        train_function, test_function = self._phase_functions.get(phase, (None, None))
        self.train_function, self.test_function = train_function, test_function
        if getattr(self, "compiled", False):
            # fit() reads self.train_function at every step: it must never be None mid-fit.
            if self.train_function is None:
                self.make_train_function(force=True)
            if self.test_function is None:
                self.make_test_function(force=True)

    @property
    def latent_variables(self) -> list:
        """Trainable variables of the latent module (moved in both phases)."""
        return list(self.latent_module.trainable_variables)

    @property
    def classifier_variables(self) -> list:
        """Trainable variables outside the latent module (moved only in the joint phase)."""
        latent_ids = {id(v) for v in self.latent_module.trainable_variables}
        return [v for v in self.trainable_variables if id(v) not in latent_ids]

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit``; a ``tf.data.Dataset`` is taken as already shuffled (as
        ``make_tf_dataset(shuffle=True, seed=...)`` shuffles it, per epoch), so fit's
        ``shuffle`` defaults to False for one instead of warning that True is ignored."""
        if isinstance(x, tf.data.Dataset) and len(args) < 7:  # shuffle is fit's 9th argument
            kwargs.setdefault("shuffle", False)
        return super().fit(x, y, *args, **kwargs)

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="adam", latent_optimizer=None, metrics=None, **kwargs):
        """Configure training.

        Args:
            optimizer: optimizer of the joint phase (all trainable variables).
            latent_optimizer: optimizer of the latent phase (latent module only);
                defaults to Adam with learning rate 1e-3.
            metrics: compiled metrics, evaluated on the probabilities.
            **kwargs: passed to ``keras.Model.compile`` (``loss`` is not accepted: the
                losses are the model's own, eqs. 6 and 17).
        """
        if kwargs.get("loss") is not None:
            raise ValueError("LatentEmotionMemory computes its own losses; do not pass `loss`.")
        kwargs.pop("loss", None)
        self._phase_functions = {}
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)
        if latent_optimizer is None:
            latent_optimizer = keras.optimizers.Adam(learning_rate=1e-3)
        self.latent_optimizer = keras.optimizers.get(latent_optimizer)
        # Build both now so that a latent step never creates state in the main optimizer.
        self.optimizer.build(self.trainable_variables)
        self.latent_optimizer.build(self.latent_variables)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config and self.latent_optimizer is not None:
            config["latent_optimizer"] = keras.saving.serialize_keras_object(self.latent_optimizer)
        return config

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        config.pop("loss", None)
        self.compile(**config)

    # ------------------------------------------------------------------ steps
    def _latent_losses(self, latent: dict):
        """(reconstruction, KL, objective) of eq. 6, batch means; the objective's KL term
        uses free bits when ``kl_free_bits`` > 0."""
        reconstruction = ops.mean(latent["reconstruction_loss"])
        kl = ops.mean(latent["kl_loss"])
        kl_term = kl
        if self.options.kl_free_bits > 0:
            per_dimension = ops.mean(latent["kl_per_dimension"], axis=0)
            kl_term = ops.sum(ops.maximum(per_dimension, self.options.kl_free_bits))
        weight = ops.cast(self.latent_module.kl_weight, "float32")
        return reconstruction, kl, reconstruction + weight * kl_term

    def _classification_loss(self, y, probabilities, sample_weight=None):
        # Eq. 17: binary cross-entropy averaged over the K emotions.
        y = ops.cast(y, "float32")
        p = ops.clip(ops.cast(probabilities, "float32"), 1e-7, 1.0 - 1e-7)
        per_example = -ops.mean(y * ops.log(p) + (1.0 - y) * ops.log(1.0 - p), axis=-1)
        if sample_weight is not None:
            w = ops.cast(ops.reshape(sample_weight, (-1,)), "float32")
            return ops.sum(per_example * w) / ops.maximum(ops.sum(w), 1e-9)
        return ops.mean(per_example)

    def _update_logs(self, x, y, probabilities, reconstruction, kl, classification, total, sample_weight):
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        self.classification_tracker.update_state(classification)
        self.total_tracker.update_state(total)
        logs = self.compute_metrics(x, y, probabilities, sample_weight=sample_weight)
        logs = dict(logs)
        logs["phase"] = ops.convert_to_tensor(1.0 if self._phase == "joint" else 0.0)
        return logs

    @staticmethod
    def _per_replica(loss):
        # Under a tf.distribute strategy the replicas' gradients are summed: divide by
        # their number so that a step equals the single-device step on the global batch.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss / replicas if replicas > 1 else loss

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if self._phase == "latent":
            latent_vars = self.latent_variables
            with tf.GradientTape() as tape:
                latent = self.latent_module(x["ebow"], training=True)
                reconstruction, kl, total = self._latent_losses(latent)
                scaled = self.latent_optimizer.scale_loss(self._per_replica(total))
            grads = tape.gradient(scaled, latent_vars)
            self.latent_optimizer.apply(grads, latent_vars)
            # Outside the tape and in inference mode: the classifier (dropout seeds
            # included) is untouched; it only feeds the logged metrics.
            probabilities, _ = self._classify(x, latent, training=False)
            classification = self._classification_loss(y, probabilities, sample_weight)
        else:
            trainable = self.trainable_variables
            with tf.GradientTape() as tape:
                latent = self.latent_module(x["ebow"], training=True)
                probabilities, _ = self._classify(x, latent, training=True)
                reconstruction, kl, latent_total = self._latent_losses(latent)
                classification = self._classification_loss(y, probabilities, sample_weight)
                total = latent_total + classification
                if self.options.wide and self.options.wide_l2 > 0:
                    total = total + self.options.wide_l2 * ops.sum(ops.square(self.wide_kernel))
                scaled = self.optimizer.scale_loss(self._per_replica(total))
            grads = tape.gradient(scaled, trainable)
            self.optimizer.apply(grads, trainable)
        return self._update_logs(
            x, y, probabilities, reconstruction, kl, classification, total, sample_weight
        )

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        latent = self.latent_module(x["ebow"], training=False)
        probabilities, _ = self._classify(x, latent, training=False)
        reconstruction, kl, total = self._latent_losses(latent)
        classification = self._classification_loss(y, probabilities, sample_weight)
        if self._phase == "joint":
            total = total + classification
        return self._update_logs(
            x, y, probabilities, reconstruction, kl, classification, total, sample_weight
        )

    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """``keras.Model.predict``; features of no text give an empty ``(0, K)`` result (Keras's
        loop fails on input without a batch)."""
        tokens = x.get("tokens") if isinstance(x, dict) else None
        if tokens is not None and getattr(tokens, "shape", (None,))[0] == 0:
            return ops.convert_to_numpy(self(x, training=False))
        return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)

    # ------------------------------------------------------------------ saving
    def _seed_states(self) -> list:
        """The random-number states of the dropout and sampling layers (model order)."""
        return [v for v in self.variables if v.path.endswith("seed_generator_state")]

    def save_own_variables(self, store):
        # Keras leaves the seed generators' states out of saved weights; with them a run
        # resumed by BackupAndRestore draws the same dropout masks and VAE noise as an
        # uninterrupted one.
        super().save_own_variables(store)
        for i, state in enumerate(self._seed_states()):
            store[f"seed_state_{i}"] = keras.ops.convert_to_numpy(state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        super().load_own_variables({k: store[k] for k in keys if not k.startswith("seed_state_")})
        for i, state in enumerate(self._seed_states()):
            if f"seed_state_{i}" in keys:
                state.assign(np.asarray(store[f"seed_state_{i}"]))

    # ------------------------------------------------------------------ config
    def get_config(self):
        return {
            **super().get_config(),
            "num_emotions": self.num_emotions,
            "ebow_size": self.ebow_size,
            "vocab_size": self.vocab_size,
            "lexicon_size": self.lexicon_size,
            "emotion_names": self.emotion_names,
            "embedding_initializer": keras.initializers.serialize(self.embedding_initializer),
            "seed": self.seed,
            **self.options.model_options(),
            **self.decision_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        rule = config.pop("decision_rule", None)
        config["embedding_initializer"] = keras.initializers.deserialize(config["embedding_initializer"])
        return cls(**config).with_decision_rule(rule)
