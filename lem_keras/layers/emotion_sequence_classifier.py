"""BiGRU over the emotion axis with a per-step binary classifier (eqs. 15-16)."""

import contextlib
import warnings

import keras
from keras import ops

from lem_keras import defaults

_SHARING_MAPS = ("shared_objects/id_to_obj_map", "shared_objects/id_to_config_map")


@contextlib.contextmanager
def _outside_object_sharing():
    """Suspends the object-sharing scope that ``keras.saving.load_model`` opens.

    ``Bidirectional.__init__`` serialises its template GRU twice inside that scope, which keys
    objects by ``id()``. Once a template is freed, the next layer's template can get the same
    ``id()``, and its forward GRU is then the previous layer's backward GRU ("Forward layer and
    backward layer should have different `go_backwards` value"): loading a seed ensemble failed
    at random. Our layers share no objects, so nothing is lost by building them outside it.
    """
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # a Keras without the private module: say so, and build as Keras does
        warnings.warn("keras.src.backend.common.global_state is gone: loading a seed ensemble may "
                      "fail at random (see lem_keras.layers.emotion_sequence_classifier)", stacklevel=2)
        yield
        return
    saved = [global_state.get_global_attribute(key) for key in _SHARING_MAPS]
    for key in _SHARING_MAPS:
        global_state.set_global_attribute(key, None)
    try:
        yield
    finally:
        for key, value in zip(_SHARING_MAPS, saved):
            global_state.set_global_attribute(key, value)


@keras.saving.register_keras_serializable(package="lem_keras")
class EmotionSequenceClassifier(keras.layers.Layer):
    """Reads the K per-emotion vectors as a sequence and predicts each emotion's probability.

    Eq. 15's ``R_total,k`` (one vector per emotion, built by the caller) forms a
    length-K sequence; a bidirectional GRU runs over it (emotion co-occurrence, eq. 16)
    and one dense sigmoid unit shared by all steps gives ``p_k``. The paper's per-step
    two-way softmax is equivalent to this sigmoid.

    With ``residual`` the classifier reads ``[BiGRU_k ; R_total,k]``, the BiGRU output
    concatenated with the step's own input (as the authors' code does), so each emotion's
    own evidence reaches its output directly. With ``private_output`` the classifier of
    step k is emotion k's own (kernel (K, F), bias (K,)): eq. 16's "softmax at the k-th time step" read as one
    softmax per step, the way the memory modules are private. A shared unit can only
    score how much evidence step k found; a private one also says which evidence counts
    for emotion k.

    Args:
        units: GRU units per direction.
        dropout: dropout rate on the GRU input and before the classifier.
        residual: concatenate the step inputs to the BiGRU outputs.
        private_output: one classifier per emotion instead of one shared by all steps.
        **kwargs: standard layer keywords.

    Call arguments:
        inputs: (batch, K, F) per-emotion features.
        training: Python bool (dropout).
        logit_offset: optional (batch, K) term added to the logits before the sigmoid
            (the model's wide linear path).

    Output shape: (batch, K) probabilities.

    Example:
    >>> import numpy as np
    >>> tuple(EmotionSequenceClassifier(units=4)(np.ones((2, 3, 5), "float32")).shape)
    (2, 3)

    References:
        Fei et al. (AAAI 2020), eqs. 15-16.
    """

    def __init__(self, units: int = defaults.GRU_UNITS, dropout: float = defaults.DROPOUT,
                 residual: bool = False, private_output: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.dropout = float(dropout)
        self.residual = bool(residual)
        self.private_output = bool(private_output)
        self.input_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        with _outside_object_sharing():
            self.bigru = keras.layers.Bidirectional(
                keras.layers.GRU(self.units, return_sequences=True, dtype=self.dtype_policy),
                dtype=self.dtype_policy,
                name="emotion_bigru",
            )
        self.output_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        if not self.private_output:
            self.classifier = keras.layers.Dense(1, name="emotion_classifier", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.bigru.build(tuple(input_shape))
        features = 2 * self.units + (int(input_shape[-1]) if self.residual else 0)
        if self.private_output and input_shape[1] is None:
            raise ValueError("private_output needs a known number of emotions (axis 1 of the input)")
        if self.private_output:
            self.private_kernel = self.add_weight(
                shape=(int(input_shape[1]), features), initializer="glorot_uniform", name="private_kernel"
            )
            self.private_bias = self.add_weight(
                shape=(int(input_shape[1]),), initializer="zeros", name="private_bias"
            )
        else:
            self.classifier.build((None, None, features))

    def call(self, inputs, training=None, logit_offset=None):
        steps = self.input_dropout(inputs, training=training)
        hidden = self.bigru(steps, training=training)
        if self.residual:
            hidden = ops.concatenate([hidden, steps], axis=-1)
        hidden = self.output_dropout(hidden, training=training)
        if self.private_output:
            kernel = ops.cast(self.private_kernel, hidden.dtype)
            logits = ops.einsum("bkf,kf->bk", hidden, kernel) + ops.cast(self.private_bias, hidden.dtype)
        else:
            logits = ops.squeeze(self.classifier(hidden), axis=-1)
        if logit_offset is not None:
            logits = logits + ops.cast(logit_offset, logits.dtype)
        return ops.sigmoid(logits)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "dropout": self.dropout, "residual": self.residual,
                       "private_output": self.private_output})
        return config
