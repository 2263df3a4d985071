"""A BERT sentence encoder with a logistic-regression head: the sentence-embedding member."""

import math

import keras
from keras import ops


class _Block(keras.layers.Layer):
    """One post-LayerNorm BERT encoder block (self-attention, then a GELU feed-forward)."""

    def __init__(self, hidden_size: int, num_heads: int, intermediate_size: int, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.head_size = num_heads, hidden_size // num_heads
        self.query, self.key, self.value, self.attention_output = (
            keras.layers.Dense(hidden_size, name=n) for n in ("query", "key", "value", "attention_output")
        )
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-12, name="attention_norm")
        self.intermediate = keras.layers.Dense(intermediate_size, name="intermediate")
        self.output_dense = keras.layers.Dense(hidden_size, name="output")
        self.output_norm = keras.layers.LayerNormalization(epsilon=1e-12, name="output_norm")

    def build(self, input_shape):
        hidden = input_shape[-1]
        for layer in (self.query, self.key, self.value, self.attention_output):
            layer.build(input_shape)
        self.attention_norm.build(input_shape)
        self.intermediate.build(input_shape)
        self.output_dense.build((*input_shape[:-1], self.intermediate.units))
        self.output_norm.build(input_shape)
        self.hidden = hidden
        self.built = True

    def _heads(self, x):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        return ops.transpose(ops.reshape(x, (batch, length, self.num_heads, self.head_size)), (0, 2, 1, 3))

    def call(self, x, bias):
        q, k, v = (self._heads(layer(x)) for layer in (self.query, self.key, self.value))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(self.head_size) + bias
        context = ops.matmul(ops.softmax(scores, axis=-1), v)
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (batch, length, -1))
        x = self.attention_norm(x + self.attention_output(context))
        hidden = keras.activations.gelu(self.intermediate(x), approximate=False)
        return self.output_norm(x + self.output_dense(hidden))


@keras.saving.register_keras_serializable(package="lem_keras")
class SentenceEncoder(keras.layers.Layer):
    """A frozen BERT encoder, mean-pooled and L2-normalised, with one logit per emotion.

    The architecture of sentence-transformers' ``all-MiniLM-L6-v2`` (a BERT encoder, the mean
    of its last hidden states over the text's WordPiece tokens, L2-normalised) followed by a
    linear head: a logistic regression per emotion on the sentence embedding
    (``training.fit_sentence_member`` fits it). Its weights are set with
    :meth:`set_bert_weights`; nothing in it is trained by gradient.

    Args:
        num_emotions: K, the head's outputs.
        vocab_size, hidden_size, num_layers, num_heads, intermediate_size, max_positions: the
            BERT configuration (``all-MiniLM-L6-v2``: 30522, 384, 6, 12, 1536, 512).
        pad_id: the WordPiece id of padding (masked out).

    Call arguments:
        ids: int (batch, L) WordPiece ids (``[CLS] ... [SEP]`` then padding), L <= max_positions.

    Returns:
        float (batch, K) logits; :meth:`embed` gives the (batch, hidden_size) embeddings.

    Example:
    >>> import numpy as np
    >>> encoder = SentenceEncoder(3, vocab_size=10, hidden_size=8, num_layers=1, num_heads=2,
    ...                           intermediate_size=16, max_positions=6)
    >>> ids = np.array([[2, 5, 3, 0, 0], [2, 5, 6, 7, 3]])
    >>> emb = np.asarray(encoder.embed(ids))
    >>> emb.shape, bool(np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5))
    ((2, 8), True)
    """

    def __init__(
        self,
        num_emotions: int,
        vocab_size: int = 30522,
        hidden_size: int = 384,
        num_layers: int = 6,
        num_heads: int = 12,
        intermediate_size: int = 1536,
        max_positions: int = 512,
        pad_id: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_emotions, self.vocab_size, self.hidden_size = (
            int(num_emotions),
            int(vocab_size),
            int(hidden_size),
        )
        self.num_layers, self.num_heads = int(num_layers), int(num_heads)
        self.intermediate_size, self.max_positions, self.pad_id = (
            int(intermediate_size),
            int(max_positions),
            int(pad_id),
        )
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {hidden_size} is not a multiple of num_heads {num_heads}")
        self.trainable = False
        self.blocks = [
            _Block(self.hidden_size, self.num_heads, self.intermediate_size, name=f"block_{i}")
            for i in range(self.num_layers)
        ]
        self.embedding_norm = keras.layers.LayerNormalization(epsilon=1e-12, name="embedding_norm")

    def build(self, input_shape=None):
        h = self.hidden_size
        self.word_embeddings = self.add_weight(shape=(self.vocab_size, h), name="word_embeddings")
        self.position_embeddings = self.add_weight(shape=(self.max_positions, h), name="position_embeddings")
        self.type_embedding = self.add_weight(shape=(h,), initializer="zeros", name="type_embedding")
        self.embedding_norm.build((None, None, h))
        for block in self.blocks:
            block.build((None, None, h))
        self.kernel = self.add_weight(shape=(h, self.num_emotions), initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=(self.num_emotions,), initializer="zeros", name="bias")
        self.built = True

    def embed(self, ids):
        if not self.built:
            self.build()
        ids = ops.convert_to_tensor(ids, "int32")
        mask = ops.cast(ops.not_equal(ids, self.pad_id), "float32")
        # Only the columns some text of the batch uses (the featurizer pads to a fixed width).
        width = ops.cast(ops.max(ops.sum(mask, axis=1), initial=1.0), "int32")  # 1 for an empty batch
        ids, mask = ids[:, :width], mask[:, :width]
        positions = ops.arange(ops.shape(ids)[1])
        x = (
            ops.take(self.word_embeddings, ids, axis=0)
            + ops.take(self.position_embeddings, positions, axis=0)[None]
            + self.type_embedding
        )
        x = self.embedding_norm(x)
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        for block in self.blocks:
            x = block(x, bias)
        pooled = ops.sum(x * mask[:, :, None], axis=1) / ops.maximum(
            ops.sum(mask, axis=1, keepdims=True), 1e-9
        )
        return pooled / ops.maximum(ops.norm(pooled, axis=1, keepdims=True), 1e-12)

    def call(self, ids):
        return ops.matmul(self.embed(ids), self.kernel) + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_emotions)

    def set_bert_weights(self, tensors: dict) -> None:
        """Set the encoder from a Hugging Face ``BertModel`` state dict of numpy arrays
        (``embeddings.*`` and ``encoder.layer.{i}.*`` keys; linear weights are (out, in))."""
        if not self.built:
            self.build()

        def get(key):
            if key not in tensors:
                raise ValueError(f"the BERT weights lack {key}")
            return tensors[key]

        expected = (self.vocab_size, self.hidden_size)
        if tuple(get("embeddings.word_embeddings.weight").shape) != expected:
            raise ValueError(
                f"word embeddings of shape {get('embeddings.word_embeddings.weight').shape}, "
                f"expected {expected}"
            )
        self.word_embeddings.assign(get("embeddings.word_embeddings.weight"))
        self.position_embeddings.assign(get("embeddings.position_embeddings.weight")[: self.max_positions])
        self.type_embedding.assign(get("embeddings.token_type_embeddings.weight")[0])
        self.embedding_norm.set_weights(
            [get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias")]
        )

        def dense(layer, prefix):
            layer.set_weights([get(f"{prefix}.weight").T, get(f"{prefix}.bias")])

        for i, block in enumerate(self.blocks):
            p = f"encoder.layer.{i}."
            for layer, name in (
                (block.query, "attention.self.query"),
                (block.key, "attention.self.key"),
                (block.value, "attention.self.value"),
                (block.attention_output, "attention.output.dense"),
                (block.intermediate, "intermediate.dense"),
                (block.output_dense, "output.dense"),
            ):
                dense(layer, p + name)
            block.attention_norm.set_weights(
                [get(p + "attention.output.LayerNorm.weight"), get(p + "attention.output.LayerNorm.bias")]
            )
            block.output_norm.set_weights(
                [get(p + "output.LayerNorm.weight"), get(p + "output.LayerNorm.bias")]
            )

    def set_head(self, kernel, bias) -> None:
        """The logistic regressions: kernel (hidden_size, K), bias (K,)."""
        if not self.built:
            self.build()
        self.kernel.assign(kernel)
        self.bias.assign(bias)

    def get_config(self):
        return {
            **super().get_config(),
            "num_emotions": self.num_emotions,
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_size": self.intermediate_size,
            "max_positions": self.max_positions,
            "pad_id": self.pad_id,
        }
