"""A linear model over sparse weighted terms (the TF-IDF member's logits)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="lem_keras")
class SparseLinear(keras.layers.Layer):
    """``logits = sum_t values[t] * kernel[ids[t]] + bias``: a dense layer on a sparse input
    given as its non-zero entries, as a logistic regression on TF-IDF features scores.

    Args:
        num_terms: number of term ids, padding (id 0) included.
        units: number of outputs K.
        **kwargs: Standard layer keywords (``name``, ``dtype``).

    Call arguments:
        inputs: Tuple ``(ids, values)``: int ``(batch, T)`` term ids (0: padding, whose
            kernel row is never read as its value is 0) and float ``(batch, T)`` weights.

    Output shape: ``(batch, units)``.

    Example:
    >>> import numpy as np
    >>> layer = SparseLinear(num_terms=4, units=2)
    >>> layer.build(None)
    >>> layer.set_weights([np.arange(8, dtype="float32").reshape(4, 2), np.ones(2, "float32")])
    >>> ids, values = np.array([[1, 3, 0]]), np.array([[0.5, 2.0, 0.0]], "float32")
    >>> np.asarray(layer((ids, values))).tolist()
    [[14.0, 16.5]]
    """

    def __init__(self, num_terms: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.num_terms = int(num_terms)
        self.units = int(units)

    def build(self, input_shape=None):
        self.kernel = self.add_weight(shape=(self.num_terms, self.units), initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.built = True

    def call(self, inputs):
        ids, values = inputs
        rows = ops.take(self.kernel, ops.cast(ids, "int32"), axis=0)  # (batch, T, K)
        return ops.einsum("bt,btk->bk", ops.cast(values, rows.dtype), rows) + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"num_terms": self.num_terms, "units": self.units})
        return config
