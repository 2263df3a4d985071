"""Reparameterised Gaussian sample of the latent emotion variable (eq. 2's Z')."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="lem_keras")
class GaussianSampling(keras.layers.Layer):
    """Draws ``Z' = mu + exp(log_sigma) * eps`` in training and returns ``mu`` at inference.

    Args:
        seed: Optional integer seed of the noise.
        **kwargs: Standard layer keywords (``name``, ``dtype``).

    Call arguments:
        inputs: Tuple ``(mu, log_sigma)``, each of shape ``(batch, K)``.
        training: Python bool; noise is added only when true.

    Input shape: two tensors ``(batch, K)``.
    Output shape: ``(batch, K)``.

    Example:
    >>> import numpy as np
    >>> mu = np.zeros((2, 3), "float32")
    >>> tuple(GaussianSampling()((mu, mu), training=False).shape)
    (2, 3)

    References:
        Fei et al. (AAAI 2020), the definition of Z' just before eq. 2;
        Kingma & Welling (2014), the reparameterisation trick.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        mu, log_sigma = inputs
        if not training:
            return mu
        noise = keras.random.normal(ops.shape(mu), dtype=mu.dtype, seed=self.seed_generator)
        return mu + ops.exp(log_sigma) * noise

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config
