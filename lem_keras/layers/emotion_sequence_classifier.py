"""BiGRU over the emotion axis with a shared per-step binary classifier (eqs. 15-16)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="lem_keras")
class EmotionSequenceClassifier(keras.layers.Layer):
    """Reads the K per-emotion vectors as a sequence and predicts each emotion's probability.

    Eq. 15's ``R_total,k`` (one vector per emotion, built by the caller) forms a
    length-K sequence; a bidirectional GRU runs over it (emotion co-occurrence, eq. 16)
    and one dense sigmoid unit shared by all steps gives ``p_k``. The paper's per-step
    two-way softmax is equivalent to this sigmoid.

    Args:
        units: GRU units per direction.
        dropout: dropout rate on the GRU input and before the classifier.
        **kwargs: standard layer keywords.

    Call arguments:
        inputs: (batch, K, F) per-emotion features.
        training: Python bool (dropout).

    Output shape: (batch, K) probabilities.

    Example:
    >>> import numpy as np
    >>> tuple(EmotionSequenceClassifier(units=4)(np.ones((2, 3, 5), "float32")).shape)
    (2, 3)

    References:
        Fei et al. (AAAI 2020), eqs. 15-16.
    """

    def __init__(self, units: int = 128, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.dropout = float(dropout)
        self.input_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.bigru = keras.layers.Bidirectional(
            keras.layers.GRU(self.units, return_sequences=True, dtype=self.dtype_policy),
            dtype=self.dtype_policy,
            name="emotion_bigru",
        )
        self.output_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.classifier = keras.layers.Dense(
            1, activation="sigmoid", name="emotion_classifier", dtype=self.dtype_policy
        )

    def build(self, input_shape):
        self.bigru.build(tuple(input_shape))
        self.classifier.build((None, None, 2 * self.units))

    def call(self, inputs, training=None):
        hidden = self.bigru(self.input_dropout(inputs, training=training), training=training)
        probabilities = self.classifier(self.output_dropout(hidden, training=training))
        return ops.squeeze(probabilities, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "dropout": self.dropout})
        return config
