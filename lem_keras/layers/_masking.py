"""Numerically safe masked softmax shared by the attention layers (not public)."""

from keras import ops


def masked_softmax(scores, mask, axis: int = -1):
    """Softmax of ``scores`` over ``axis`` restricted to positions where ``mask`` is true.

    A slice whose mask is all false (e.g. an all-padding sentence) yields zeros, never NaN.
    """
    mask = ops.cast(mask, "bool")
    floor = -1e9 if ops.dtype(scores) in ("float32", "float64") else -3e4
    scores = ops.where(mask, scores, ops.full_like(scores, floor))
    # `initial`: the same maximum (masked scores sit at the floor), but defined for an empty
    # batch too, where Keras's eager ops.max refuses "the max of an empty tensor".
    scores = scores - ops.stop_gradient(ops.max(scores, axis=axis, keepdims=True, initial=floor))
    weights = ops.exp(scores) * ops.cast(mask, scores.dtype)
    total = ops.sum(weights, axis=axis, keepdims=True)
    return weights / ops.maximum(total, ops.cast(1e-9 if floor == -1e9 else 1e-4, scores.dtype))
