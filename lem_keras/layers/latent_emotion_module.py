"""The latent emotion module: a VAE over the emotion bag-of-words (eqs. 1-6)."""

import keras
from keras import ops

from lem_keras import defaults
from lem_keras.layers.gaussian_sampling import GaussianSampling


@keras.saving.register_keras_serializable(package="lem_keras")
class LatentEmotionModule(keras.layers.Layer):
    """Variational autoencoder that infers a sentence's latent emotion distribution Z.

    Encoder (eq. 1): word dropout on the eBoW vector x (training only: each entry is
    zeroed with probability ``word_dropout`` and the row is rescaled to its original
    mass), two ReLU dense layers of ``hidden_dim`` plus a linear shortcut from the input,
    then linear heads ``mu`` and ``log_sigma`` in R^K. Eq. 2: ``Z' = mu + sigma * eps``
    (``mu`` at inference) and ``Z = softmax(Z')``. Decoder: eq. 3 ``R_led = Z W_led``
    with ``W_led`` of shape (K, E_led); eq. 4 ``R_ef = tanh(Dense_E_ef(R_led))``;
    eq. 5 ``x_hat = softmax(R_ef W_ef^T + b)`` where ``W_ef`` (V, E_ef) is the emotion
    feature embedding, one row per eBoW word, later read as the memory (eq. 10).
    Eq. 6 is returned as two per-sentence terms: the reconstruction NLL
    ``-sum_v x_v log x_hat_v`` summed over the sentence's eBoW words (an empty eBoW row
    contributes 0), and ``KL(N(mu, sigma^2) || N(0, I))``. ``kl_weight`` is a
    non-trainable variable (annealed by the training schedule without retracing).

    Args:
        num_emotions: K, the size of the latent variable.
        hidden_dim: width of the two encoder layers (the paper's code uses 300).
        latent_embedding_dim: E_led, columns of ``W_led``.
        feature_embedding_dim: E_ef, columns of ``W_ef``.
        word_dropout: probability of dropping an eBoW entry in the encoder input.
        seed: optional seed for word dropout and sampling.
        **kwargs: standard layer keywords.

    Call arguments:
        ebow: float tensor (batch, V), the presence (0/1) of each eBoW word, as
            ``TextFeaturizer`` emits it; used as given. Presence, as in bag-of-words
            VAEs: normalised counts give encoder inputs of ~1/n and a reconstruction
            term of one word's worth, and with both the KL term wins and the posterior
            collapses (Z carries nothing).
        training: Python bool; enables word dropout and sampling.

    Returns:
        dict with ``mu``, ``log_sigma``, ``z_sample`` (Z'), ``latent_distribution`` (Z),
        each (batch, K); ``reconstruction_logits`` (batch, V);
        ``reconstruction_loss`` and ``kl_loss``, each (batch,); ``kl_per_dimension``
        (batch, K), the KL of each latent dimension (``kl_loss`` is its row sum).

    Attributes:
        latent_embedding: ``W_led`` variable (K, E_led).
        feature_embedding: ``W_ef`` variable (V, E_ef).
        kl_weight: scalar non-trainable variable.

    Example:
    >>> import numpy as np
    >>> vae = LatentEmotionModule(num_emotions=4, hidden_dim=8)
    >>> out = vae((np.random.rand(2, 30) < 0.2).astype("float32"))
    >>> tuple(out["latent_distribution"].shape), tuple(out["reconstruction_loss"].shape)
    ((2, 4), (2,))

    References:
        Fei et al. (AAAI 2020), eqs. 1-6; Bowman et al. (2016) for KL annealing and
        word dropout.
    """

    def __init__(
        self,
        num_emotions: int,
        hidden_dim: int = defaults.LATENT_HIDDEN,
        latent_embedding_dim: int = defaults.LED_DIM,
        feature_embedding_dim: int = defaults.EF_DIM,
        word_dropout: float = defaults.WORD_DROPOUT,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_emotions = int(num_emotions)
        self.hidden_dim = int(hidden_dim)
        self.latent_embedding_dim = int(latent_embedding_dim)
        self.feature_embedding_dim = int(feature_embedding_dim)
        self.word_dropout = float(word_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        dense = {"dtype": self.dtype_policy}
        self.encoder_hidden_1 = keras.layers.Dense(hidden_dim, "relu", name="encoder_hidden_1", **dense)
        self.encoder_hidden_2 = keras.layers.Dense(hidden_dim, "relu", name="encoder_hidden_2", **dense)
        self.encoder_shortcut = keras.layers.Dense(
            hidden_dim, use_bias=False, name="encoder_shortcut", **dense
        )
        self.mu_head = keras.layers.Dense(num_emotions, name="mu", **dense)
        self.log_sigma_head = keras.layers.Dense(
            num_emotions, kernel_initializer="zeros", bias_initializer="zeros", name="log_sigma", **dense
        )
        self.sampling = GaussianSampling(
            seed=None if seed is None else seed + 1, name="sampling", dtype=self.dtype_policy
        )
        self.feature_decoder = keras.layers.Dense(
            feature_embedding_dim, "tanh", name="feature_decoder", **dense
        )

    def build(self, ebow_shape):
        vocab = int(ebow_shape[-1])
        self.ebow_size = vocab
        self.encoder_hidden_1.build((None, vocab))
        self.encoder_hidden_2.build((None, self.hidden_dim))
        self.encoder_shortcut.build((None, vocab))
        self.mu_head.build((None, self.hidden_dim))
        self.log_sigma_head.build((None, self.hidden_dim))
        self.sampling.build(((None, self.num_emotions), (None, self.num_emotions)))
        self.latent_embedding = self.add_weight(
            shape=(self.num_emotions, self.latent_embedding_dim),
            initializer="glorot_uniform",
            name="latent_embedding",
        )
        self.feature_decoder.build((None, self.latent_embedding_dim))
        self.feature_embedding = self.add_weight(
            shape=(vocab, self.feature_embedding_dim),
            initializer="glorot_uniform",
            name="feature_embedding",
        )
        self.reconstruction_bias = self.add_weight(
            shape=(vocab,), initializer="zeros", name="reconstruction_bias"
        )
        self.kl_weight = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="kl_weight", dtype="float32"
        )

    def call(self, ebow, training=None):
        ebow = ops.cast(ebow, self.compute_dtype)
        mass = ops.sum(ebow, axis=-1, keepdims=True)
        encoder_input = ebow
        if training and self.word_dropout > 0:
            keep = keras.random.uniform(ops.shape(ebow), seed=self.seed_generator) >= self.word_dropout
            dropped = ops.where(keep, ebow, ops.zeros_like(ebow))
            kept_mass = ops.sum(dropped, axis=-1, keepdims=True)
            encoder_input = dropped * (mass / ops.maximum(kept_mass, ops.cast(1e-6, ebow.dtype)))
        hidden = self.encoder_hidden_2(self.encoder_hidden_1(encoder_input)) + self.encoder_shortcut(
            encoder_input
        )
        mu = self.mu_head(hidden)
        log_sigma = ops.clip(self.log_sigma_head(hidden), -10.0, 5.0)
        z_sample = self.sampling((mu, log_sigma), training=training)
        latent_distribution = ops.softmax(z_sample, axis=-1)
        latent_rep = ops.matmul(latent_distribution, ops.cast(self.latent_embedding, self.compute_dtype))
        feature_rep = self.feature_decoder(latent_rep)
        logits = ops.matmul(feature_rep, ops.transpose(ops.cast(self.feature_embedding, self.compute_dtype)))
        logits = logits + ops.cast(self.reconstruction_bias, self.compute_dtype)

        # Losses in float32 whatever the compute dtype.
        target = ops.cast(ebow, "float32")
        log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
        reconstruction_loss = -ops.sum(target * log_probs, axis=-1)
        mu32 = ops.cast(mu, "float32")
        log_sigma32 = ops.cast(log_sigma, "float32")
        kl_per_dimension = 0.5 * (
            ops.square(mu32) + ops.exp(2.0 * log_sigma32) - 1.0 - 2.0 * log_sigma32
        )
        kl_loss = ops.sum(kl_per_dimension, axis=-1)
        return {
            "mu": mu,
            "log_sigma": log_sigma,
            "z_sample": z_sample,
            "latent_distribution": latent_distribution,
            "reconstruction_logits": logits,
            "reconstruction_loss": reconstruction_loss,
            "kl_loss": kl_loss,
            "kl_per_dimension": kl_per_dimension,
        }

    def compute_output_spec(self, ebow, training=None):
        batch, vocab = ebow.shape[0], ebow.shape[-1]
        k = self.num_emotions
        spec = keras.KerasTensor
        return {
            "mu": spec((batch, k), self.compute_dtype),
            "log_sigma": spec((batch, k), self.compute_dtype),
            "z_sample": spec((batch, k), self.compute_dtype),
            "latent_distribution": spec((batch, k), self.compute_dtype),
            "reconstruction_logits": spec((batch, vocab), self.compute_dtype),
            "reconstruction_loss": spec((batch,), "float32"),
            "kl_loss": spec((batch,), "float32"),
            "kl_per_dimension": spec((batch, k), "float32"),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_emotions": self.num_emotions,
                "hidden_dim": self.hidden_dim,
                "latent_embedding_dim": self.latent_embedding_dim,
                "feature_embedding_dim": self.feature_embedding_dim,
                "word_dropout": self.word_dropout,
                "seed": self.seed,
            }
        )
        return config
