"""SavedModel export for TensorFlow Serving: raw UTF-8 strings in, emotions out.

The whole text pipeline (normalisation, tokenisation, vocabulary lookup, eBoW counts) is
the :class:`~lem_keras.data.featurizer.TextFeaturizer` layer, pure TensorFlow ops, so the
exported graph needs neither Python nor lem_keras at serving time. Export goes through
Keras's own ``keras.export.ExportArchive``.

Signature ``serving_default``:
    input  ``texts``: tf.string (batch,)
    output ``probabilities`` float32 (batch, K), ``emotions`` int32 (batch, K) — multi-hot by
    the model's decision rule (``model.decision_rule``: at its calibrated thresholds, and for
    ``expected_jaccard`` also each text's expected-Jaccard set, computed in-graph) — and
    ``latent_distribution`` float32 (batch, K).

The model is a :class:`~lem_keras.model.LatentEmotionMemory` or a seed ensemble
(:class:`~lem_keras.ensemble.LatentEmotionEnsemble`): the same signature, the ensemble's
``probabilities`` and ``latent_distribution`` being the means over its members, compared
with the ensemble's own thresholds (both classes answer ``return_details=True`` alike).

Character-level Chinese models (``segmentation: characters``, the shipped Ren-CECps
configuration) take raw text, segmented or not: the characters are split in-graph.
Word-level Chinese models take pre-segmented text (tokens separated by spaces); clients
segment raw text with jieba first (`lem_keras.data.text.segment_chinese`), exactly as
`lem-keras predict` does.

Layout: ``OUT/1/`` is the SavedModel (``OUT`` is TF Serving's model base path), and
``OUT/1/assets.extra/emotions.json`` lists the emotion names in output order.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

SIGNATURE = "serving_default"


def serving_function(model, featurizer):
    """The serving computation: strings (B,) -> dict of outputs. Traced by the exporter."""
    from keras import ops

    from lem_keras.decision import SET_RULES
    from lem_keras.layers.expected_jaccard import expected_jaccard_sets

    with_sets = model.decision_rule in SET_RULES

    def serve(texts):
        features = featurizer(texts)
        details = model(features, training=False, return_details=True)
        probabilities = details["probabilities"]
        chosen = ops.greater_equal(probabilities, model.thresholds)
        if with_sets:  # lem_keras.decision.decide, in-graph
            chosen = ops.logical_or(chosen, expected_jaccard_sets(probabilities))
        emotions = ops.cast(chosen, "int32")
        return {
            "probabilities": probabilities,
            "emotions": emotions,
            "latent_distribution": details["latent_distribution"],
        }

    return serve


@contextlib.contextmanager
def _unrolled_recurrences(model):
    """Trace the model's recurrent layers unrolled, then put their setting back.

    LEM's only recurrence is the BiGRU over the K emotions (a static length), so the
    unrolled graph is K copies of the cell: the same arithmetic, but without a while
    loop, whose control-flow nodes dominated single-sentence latency in the exported
    graph (measured: about half of a one-sentence call). A recurrence over a dynamic
    length cannot be unrolled and is left alone.
    """
    import keras

    changed = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.RNN) and not layer.unroll:
            changed.append(layer)
            layer.unroll = True
    try:
        yield
    finally:
        for layer in changed:
            layer.unroll = False


def export_saved_model(model, pipeline, out: str | Path, version: int = 1) -> Path:
    """Write ``out/<version>/`` as a TF Serving SavedModel; returns that directory."""
    import keras
    import tensorflow as tf

    target = Path(out) / str(version)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target}: already holds a model version; choose another --out or --version")
    featurizer = pipeline.featurizer
    if not featurizer.built:
        featurizer(tf.constant([""]))  # a freshly loaded featurizer builds on first call
    with _unrolled_recurrences(model):
        archive = keras.export.ExportArchive()
        archive.track(featurizer)
        archive.track(model)
        archive.add_endpoint(
            name=SIGNATURE,
            fn=serving_function(model, featurizer),
            input_signature=[tf.TensorSpec(shape=(None,), dtype=tf.string, name="texts")],
        )
        archive.write_out(str(target), verbose=False)
    extra = target / "assets.extra"
    extra.mkdir(exist_ok=True)
    (extra / "emotions.json").write_text(
        json.dumps(
            {
                "emotions": list(model.emotion_names),
                "thresholds": [float(t) for t in model.get_thresholds()],
                "decision": model.decision_rule,
                "language": pipeline.language,
                "input": "pre-segmented text (tokens separated by spaces)"
                if pipeline.language == "zh" and pipeline.segmentation != "characters"
                else "raw text",
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return target
