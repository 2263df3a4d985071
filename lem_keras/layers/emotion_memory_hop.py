"""One memory hop of all K private emotion memory modules, batched (eqs. 8-14)."""

import keras
from keras import ops

from lem_keras import defaults
from lem_keras.layers._masking import masked_softmax


@keras.saving.register_keras_serializable(package="lem_keras")
class EmotionMemoryHop(keras.layers.Layer):
    """One hop of the K private memory modules, computed for all emotions in one pass.

    Every weight has a leading emotion axis K (the paper's "private" modules); no loop
    over emotions. Emotion k's token states are ``x_i + c_k`` where ``c_k`` is the sum of
    the earlier hops' memory reads (eq. 13 adds R_output to every token; carrying
    ``c_k`` avoids a (batch, K, L, E) tensor).

    * Eq. 8 (additive attention, masked over padding):
      ``score_ki = v_k^T tanh(W_k (x_i + c_k) + U_k R^le_k + b_k)``,
      ``alpha_input = softmax_i(score)``. ``use_emotion_query=False`` drops
      ``U_k R^le_k`` (the paper's LEM-Rle ablation).
    * Eq. 9: ``R_input_k = sum_i alpha_ki (x_i + c_k)``.
    * Eq. 10: memory ``M_k = W_ef B_k`` with private ``B_k`` (E_ef, E); one slot per eBoW word.
    * Eq. 11: ``alpha_output = softmax_j(R_input_k . M_kj / sqrt(E_ef))``.
    * Eq. 12 (end-to-end memory network reading): ``R_output_k = sum_j alpha_output_j M_kj``.
    * Eqs. 13-14: ``c_k <- c_k + R_output_k`` feeds the next hop.

    M is never materialised: ``q = R_input B_k^T``, scores ``q W_ef^T``, read
    ``(alpha_output W_ef) B_k``.

    Args:
        attention_dim: A, hidden size of the additive attention.
        use_emotion_query: include ``U_k R^le_k`` in eq. 8.
        kernel_initializer: initializer of all kernels.
        **kwargs: standard layer keywords.

    Call arguments:
        tokens: token states X, (batch, L, E).
        token_mask: bool (batch, L), true for real tokens.
        context: ``c``, (batch, K, E): sum of the previous hops' R_output (zeros at hop 1).
        emotion_queries: R^le, (batch, K, D).
        feature_embedding: W_ef, (V, E_ef) (the latent module's variable, shared).

    Returns:
        dict with ``context`` (batch, K, E) (updated c), ``input_attention`` (batch, K, L),
        ``input_summary`` (R_input, (batch, K, E)), ``memory_read`` (R_output, (batch, K, E))
        and ``memory_attention`` (batch, K, V).

    Example:
    >>> import numpy as np
    >>> hop = EmotionMemoryHop(attention_dim=8)
    >>> out = hop(np.ones((2, 5, 6), "float32"), np.ones((2, 5), bool),
    ...           np.zeros((2, 3, 6), "float32"), np.ones((2, 3, 4), "float32"),
    ...           np.ones((20, 7), "float32"))
    >>> tuple(out["context"].shape), tuple(out["input_attention"].shape)
    ((2, 3, 6), (2, 3, 5))

    References:
        Fei et al. (AAAI 2020), eqs. 8-14; Sukhbaatar et al. (2015), end-to-end memory
        networks; Bahdanau et al. (2015), additive attention.
    """

    def __init__(
        self,
        attention_dim: int = defaults.ATTENTION_DIM,
        use_emotion_query: bool = True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.attention_dim = int(attention_dim)
        self.use_emotion_query = bool(use_emotion_query)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(
        self,
        tokens_shape,
        token_mask_shape=None,
        context_shape=None,
        emotion_queries_shape=None,
        feature_embedding_shape=None,
    ):
        if context_shape is None or emotion_queries_shape is None or feature_embedding_shape is None:
            raise ValueError("EmotionMemoryHop.build needs the shapes of all five inputs.")
        token_dim = int(tokens_shape[-1])
        num_emotions = int(context_shape[1])
        query_dim = int(emotion_queries_shape[-1])
        feature_dim = int(feature_embedding_shape[-1])
        k, a = num_emotions, self.attention_dim
        init = self.kernel_initializer
        self.token_kernel = self.add_weight(shape=(k, token_dim, a), initializer=init, name="token_kernel")
        if self.use_emotion_query:
            self.query_kernel = self.add_weight(
                shape=(k, query_dim, a), initializer=init, name="query_kernel"
            )
        self.attention_bias = self.add_weight(shape=(k, a), initializer="zeros", name="attention_bias")
        self.score_vector = self.add_weight(shape=(k, a), initializer=init, name="score_vector")
        self.memory_kernel = self.add_weight(
            shape=(k, feature_dim, token_dim), initializer=init, name="memory_kernel"
        )

    def call(self, tokens, token_mask, context, emotion_queries, feature_embedding):
        dtype = self.compute_dtype
        tokens = ops.cast(tokens, dtype)
        context = ops.cast(context, dtype)
        feature_embedding = ops.cast(feature_embedding, dtype)
        k, e, a = ops.shape(self.token_kernel)
        batch, length = ops.shape(tokens)[0], ops.shape(tokens)[1]

        # Eq. 8: one (B*L, E) x (E, K*A) matmul projects the tokens for every emotion.
        flat_kernel = ops.reshape(ops.transpose(self.token_kernel, (1, 0, 2)), (e, k * a))
        token_proj = ops.reshape(ops.matmul(tokens, flat_kernel), (batch, length, k, a))
        emotion_term = ops.einsum("bke,kea->bka", context, self.token_kernel) + self.attention_bias
        if self.use_emotion_query:
            emotion_term = emotion_term + ops.einsum(
                "bkd,kda->bka", ops.cast(emotion_queries, dtype), self.query_kernel
            )
        hidden = ops.tanh(token_proj + ops.expand_dims(emotion_term, 1))
        scores = ops.einsum("blka,ka->bkl", hidden, self.score_vector)
        input_attention = masked_softmax(scores, ops.expand_dims(token_mask, 1), axis=-1)

        # Eq. 9 (attention weights sum to one over the real tokens, so c_k adds once).
        input_summary = ops.matmul(input_attention, tokens) + context

        # Eqs. 10-12 without materialising M_k = W_ef B_k.
        query = ops.einsum("bke,kfe->bkf", input_summary, self.memory_kernel)
        feature_dim = ops.shape(feature_embedding)[-1]
        memory_scores = ops.matmul(query, ops.transpose(feature_embedding)) / ops.sqrt(
            ops.cast(feature_dim, dtype)
        )
        memory_attention = ops.softmax(memory_scores, axis=-1)
        memory_read = ops.einsum(
            "bkf,kfe->bke", ops.matmul(memory_attention, feature_embedding), self.memory_kernel
        )
        return {
            "context": context + memory_read,
            "input_attention": input_attention,
            "input_summary": input_summary,
            "memory_read": memory_read,
            "memory_attention": memory_attention,
        }

    def compute_output_spec(self, tokens, token_mask, context, emotion_queries, feature_embedding):
        batch, length = tokens.shape[0], tokens.shape[1]
        k, e = context.shape[1], context.shape[2]
        spec = keras.KerasTensor
        return {
            "context": spec((batch, k, e), self.compute_dtype),
            "input_attention": spec((batch, k, length), self.compute_dtype),
            "input_summary": spec((batch, k, e), self.compute_dtype),
            "memory_read": spec((batch, k, e), self.compute_dtype),
            "memory_attention": spec((batch, k, feature_embedding.shape[0]), self.compute_dtype),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "attention_dim": self.attention_dim,
                "use_emotion_query": self.use_emotion_query,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
