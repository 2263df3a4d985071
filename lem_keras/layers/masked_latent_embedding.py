"""Per-emotion latent embedding R^le_k for all K emotions at once (eq. 7)."""

import keras
from keras import ops

from lem_keras import defaults


@keras.saving.register_keras_serializable(package="lem_keras")
class MaskedLatentEmbedding(keras.layers.Layer):
    """Selects each emotion's row of diag(Z) W_led and maps it to R^le_k with a private dense.

    Eq. 7's mask picks row k of the latent embedding. Reading it on the sentence's
    latent embedding ``diag(Z) W_led`` makes Z reach the classifier: the selected row
    is ``z_k W_led,k``. Emotion k's private dense layer (kernel ``(K, E_led, D)``,
    bias ``(K, D)``, tanh) then gives ``R^le_k``. All K rows are computed in one batched
    contraction; the scaled rows are returned as well because eq. 15 concatenates them.

    Args:
        units: D, the size of R^le_k.
        kernel_initializer: initializer of the (K, E_led, D) kernel.
        **kwargs: standard layer keywords.

    Call arguments:
        latent_distribution: Z, shape (batch, K).
        latent_embedding: W_led, shape (K, E_led) (the latent module's variable).

    Returns:
        tuple ``(emotion_queries, scaled_rows)``: R^le of shape (batch, K, D) and
        ``z_k W_led,k`` of shape (batch, K, E_led).

    Example:
    >>> import numpy as np
    >>> layer = MaskedLatentEmbedding(units=6)
    >>> r_le, rows = layer(np.full((2, 4), 0.25, "float32"), np.ones((4, 5), "float32"))
    >>> tuple(r_le.shape), tuple(rows.shape)
    ((2, 4, 6), (2, 4, 5))

    References:
        Fei et al. (AAAI 2020), eq. 7 and the sentence after it; eq. 15.
    """

    def __init__(self, units: int = defaults.LE_DIM, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, latent_distribution_shape, latent_embedding_shape=None):
        if latent_embedding_shape is None:
            raise ValueError("MaskedLatentEmbedding needs the shape of W_led.")
        num_emotions, embedding_dim = int(latent_embedding_shape[0]), int(latent_embedding_shape[1])
        self.kernel = self.add_weight(
            shape=(num_emotions, embedding_dim, self.units),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        self.bias = self.add_weight(shape=(num_emotions, self.units), initializer="zeros", name="bias")

    def call(self, latent_distribution, latent_embedding):
        z = ops.cast(latent_distribution, self.compute_dtype)
        rows = ops.expand_dims(z, -1) * ops.cast(latent_embedding, self.compute_dtype)[None]
        queries = ops.tanh(ops.einsum("bke,ked->bkd", rows, self.kernel) + self.bias)
        return queries, rows

    def compute_output_shape(self, latent_distribution_shape, latent_embedding_shape):
        batch = latent_distribution_shape[0]
        k, e = latent_embedding_shape
        return (batch, k, self.units), (batch, k, e)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"units": self.units, "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
        )
        return config
