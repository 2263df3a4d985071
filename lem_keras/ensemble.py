"""A seed ensemble of LEM networks served as one Keras model.

:class:`LatentEmotionEnsemble` holds N trained :class:`~lem_keras.model.LatentEmotionMemory`
members (the same text pipeline, different seeds) and answers as one model: the mean of
their probabilities (blended, optionally, with a TF-IDF + logistic-regression member in
logit space, then rescaled by a per-emotion temperature), with its own decision thresholds
(tuned on the ensemble's dev probabilities by ``training.finalize``). It has the
interface the rest of the package uses on a model (``emotion_names``, ``num_emotions``,
``thresholds``, ``set_thresholds``, ``get_thresholds``, ``predict`` on the feature dict,
``return_details=True``), so
``predict_scores``, ``explain`` and the SavedModel export take either class. It saves to
and loads from one ``.keras`` file (``keras.saving.load_model(path, safe_mode=True)``
after ``import lem_keras``). ``training.train`` builds one when ``TrainConfig.ensemble``
> 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from lem_keras.layers import SentenceEncoder, SparseLinear
from lem_keras.model import DecisionThresholds, LatentEmotionMemory, TemperatureScaling, logit

_DETAILS = ("probabilities", "latent_distribution", "attention")


@keras.saving.register_keras_serializable(package="lem_keras")
class LatentEmotionEnsemble(DecisionThresholds, TemperatureScaling, keras.Model):
    """The mean of N LatentEmotionMemory members' probabilities, as one model.

    Args:
        members: the trained members (at least one); they must share the emotions (names
            and order) and the inputs (token and eBoW vocabulary sizes: one text pipeline).
            They are used as given; :meth:`from_members` makes inference-only copies.
        tfidf: optional TF-IDF member, a :class:`~lem_keras.layers.SparseLinear` with K
            units (a logistic regression per emotion on the featurizer's ``tfidf_ids`` /
            ``tfidf_values``; ``training.fit_tfidf_member``). With it the ensemble serves
            ``sigmoid(((1 - w) logit(mean) + w tfidf_logits) / T_k)``, ``T_k`` its
            ``temperature`` (fitted on dev by ``training.finalize``).
        tfidf_weight: w, in [0, 1).
        sentence: optional sentence-embedding member, a
            :class:`~lem_keras.layers.SentenceEncoder` with K outputs (a logistic regression
            per emotion on all-MiniLM-L6-v2's embedding of the featurizer's
            ``wordpiece_ids``; ``training.fit_sentence_member``), blended in the same way with
            weight ``sentence_weight`` = s: ``sigmoid(((1 - w - s) logit(mean) + w tfidf_logits
            + s sentence_logits) / T_k)``.
        sentence_weight: s, in [0, 1), with w + s < 1.
        **kwargs: ``keras.Model``'s own (``name``, ``dtype``).

    Call arguments:
        inputs: dict ``{"tokens": int (batch, L), "ebow": float (batch, V)}``, as for a member
            (with a TF-IDF member also ``"tfidf_ids"`` and ``"tfidf_values"``, with a
            sentence-embedding member ``"wordpiece_ids"``).
        training: Python bool.
        return_details: if true, a dict with the members' MEAN ``probabilities`` (batch, K),
            their MEAN latent distribution Z ``latent_distribution`` (batch, K) and their
            MEAN last-hop input ``attention`` (batch, K, L) (each member's attention rows sum
            to one over the tokens, and so does their mean); otherwise the mean probabilities.
            With a TF-IDF or sentence-embedding member, ``probabilities`` (either way) is the
            blend, not the mean.

    A text without evidence gets probability 0 from every member, so from the ensemble too.

    Example:
    >>> import numpy as np
    >>> sizes = dict(num_emotions=3, ebow_size=20, vocab_size=50, embedding_dim=8, hops=1, latent_hidden=8)
    >>> members = [LatentEmotionMemory(seed=s, **sizes) for s in (0, 1)]
    >>> ensemble = LatentEmotionEnsemble(members)
    >>> x = {"tokens": np.array([[3, 4, 0]]), "ebow": np.ones((1, 20), "float32")}
    >>> mean = (np.asarray(members[0](x)) + np.asarray(members[1](x))) / 2
    >>> bool(np.allclose(np.asarray(ensemble(x)), mean, atol=1e-6))
    True
    """

    def __init__(self, members: Sequence[LatentEmotionMemory], tfidf: SparseLinear | None = None,
                 tfidf_weight: float = 0.0, sentence: SentenceEncoder | None = None,
                 sentence_weight: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        members = list(members)
        if not members:
            raise ValueError("an ensemble needs at least one member")
        first = members[0]
        for k, member in enumerate(members[1:], start=2):
            if list(member.emotion_names) != list(first.emotion_names):
                raise ValueError(
                    f"member {k} predicts emotions {list(member.emotion_names)}, "
                    f"member 1 {list(first.emotion_names)}"
                )
            if (member.ebow_size, member.vocab_size) != (first.ebow_size, first.vocab_size):
                raise ValueError(
                    f"member {k} reads eBoW/token vocabularies of sizes "
                    f"{member.ebow_size}/{member.vocab_size}, member 1 {first.ebow_size}/{first.vocab_size}: "
                    "the members must share one text pipeline"
                )
        self.members = members
        self.num_emotions = int(first.num_emotions)
        self.emotion_names = list(first.emotion_names)
        self.thresholds = self.add_weight(
            shape=(self.num_emotions,),
            initializer=keras.initializers.Constant(0.5),
            trainable=False,
            name="thresholds",
            dtype="float32",
        )
        self.tfidf, self.tfidf_weight, self.temperature = None, 0.0, None
        if tfidf is not None:
            if int(tfidf.units) != self.num_emotions:
                raise ValueError(f"the TF-IDF member has {tfidf.units} outputs, "
                                 f"the members {self.num_emotions}")
            if not 0.0 <= float(tfidf_weight) < 1.0:
                raise ValueError(f"tfidf_weight must be in [0, 1), got {tfidf_weight!r}")
            if not tfidf.built:
                tfidf.build(None)
            self.tfidf, self.tfidf_weight = tfidf, float(tfidf_weight)
        self.sentence, self.sentence_weight = None, 0.0
        if sentence is not None:
            if int(sentence.num_emotions) != self.num_emotions:
                raise ValueError(f"the sentence-embedding member has {sentence.num_emotions} outputs, "
                                 f"the members {self.num_emotions}")
            if not 0.0 <= float(sentence_weight) < 1.0 - self.tfidf_weight:
                raise ValueError(f"sentence_weight must be in [0, 1 - tfidf_weight), got {sentence_weight!r} "
                                 f"(tfidf_weight {self.tfidf_weight!r})")
            if not sentence.built:
                sentence.build()
            self.sentence, self.sentence_weight = sentence, float(sentence_weight)
        if self.tfidf is not None or self.sentence is not None:
            self.temperature = self.add_weight(
                shape=(self.num_emotions,), initializer="ones", trainable=False, name="temperature",
                dtype="float32",
            )
        self.built = True

    @classmethod
    def from_members(cls, members: Sequence[LatentEmotionMemory], **kwargs) -> LatentEmotionEnsemble:
        """An ensemble of inference-only copies of ``members`` (their weights, without their
        optimizers and compiled metrics), so that the ensemble saves only what it serves;
        ``kwargs``: the constructor's others (``tfidf``, ``tfidf_weight``, ``sentence``,
        ``sentence_weight``, ``name``)."""
        copies = []
        for k, member in enumerate(members, start=1):
            # Named by position: members loaded from files all carry the same name.
            copy = LatentEmotionMemory.from_config({**member.get_config(), "name": f"member_{k}"})
            copy.set_weights(member.get_weights())
            copies.append(copy)
        return cls(copies, **kwargs)

    def build(self, input_shape=None):
        self.built = True

    def call(self, inputs, training=None, return_details: bool = False):
        outputs = [member(inputs, training=training, return_details=True) for member in self.members]
        mean = {key: ops.mean(ops.stack([out[key] for out in outputs], axis=0), axis=0) for key in _DETAILS}
        if self.tfidf is not None or self.sentence is not None:
            mean["probabilities"] = self._blend(inputs, mean["probabilities"])
        return mean if return_details else mean["probabilities"]

    def _blend(self, inputs, probabilities):
        """``sigmoid(((1 - w - s) logit(p) + w tfidf_logits + s sentence_logits) / T_k)``; 0 for a
        text without evidence."""
        w, s = self.tfidf_weight, self.sentence_weight
        z = (1.0 - w - s) * logit(probabilities, eps=1e-6)
        if self.tfidf is not None:
            z = z + w * ops.cast(self.tfidf((inputs["tfidf_ids"], inputs["tfidf_values"])), z.dtype)
        if self.sentence is not None:
            z = z + s * ops.cast(self.sentence(inputs["wordpiece_ids"]), z.dtype)
        blended = ops.sigmoid(z / ops.cast(self.temperature, z.dtype))
        return blended * LatentEmotionMemory.has_evidence(inputs, blended.dtype)

    def compute_output_spec(self, inputs, training=None, return_details: bool = False):
        return self.members[0].compute_output_spec(inputs, training=training, return_details=return_details)

    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """``keras.Model.predict``; features of no text give an empty ``(0, K)`` result."""
        tokens = x.get("tokens") if isinstance(x, dict) else None
        if tokens is not None and getattr(tokens, "shape", (None,))[0] == 0:
            return ops.convert_to_numpy(self(x, training=False))
        return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)

    # ------------------------------------------------------------------ config
    def get_config(self):
        members = []
        for member in self.members:
            serialized = keras.saving.serialize_keras_object(member)
            serialized.pop("compile_config", None)  # served, not trained: no optimizers
            members.append(serialized)
        config = {**super().get_config(), "members": members, **self.decision_config()}
        if self.tfidf is not None:
            config.update(tfidf=keras.saving.serialize_keras_object(self.tfidf),
                          tfidf_weight=self.tfidf_weight)
        if self.sentence is not None:
            config.update(sentence=keras.saving.serialize_keras_object(self.sentence),
                          sentence_weight=self.sentence_weight)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        rule = config.pop("decision_rule", None)
        members = [keras.saving.deserialize_keras_object(m) for m in config.pop("members")]
        for key in ("tfidf", "sentence"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(members, **config).with_decision_rule(rule)
